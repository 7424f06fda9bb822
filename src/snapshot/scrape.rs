//! One-shot scrapes for `alertgate check --scrape URL`: fetch a metrics
//! endpoint once, choose the format by `Content-Type` (Prometheus text
//! exposition, OpenMetrics or JSON; the content decides when the server
//! sends none we know), and parse the body with the snapshot parsers so a
//! scrape behaves exactly like a snapshot file taken at the scrape's time.
//!
//! Only the caller reads the clock: [`scrape`] gets no time, the parsed
//! samples get the time the caller passes to [`Scraped::samples`]. Errors
//! name the URL without credentials or query string (a query may carry a
//! token) and never a header value or bearer token.

use super::load::{detect_format, parse_file_as, SnapshotFormat};
use super::SnapshotError;
use crate::datasource::config::SecretSource;
use crate::model::{Labels, Timestamp};
use reqwest::blocking::Client;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::Url;
use std::path::Path;
use std::time::Duration;

/// What Prometheus asks for, plus JSON for the ops endpoints of runbook 003.
const ACCEPT_HEADER: &str = "application/openmetrics-text;version=1.0.0;q=0.6,\
text/plain;version=0.0.4;q=0.5,application/json;q=0.4,*/*;q=0.1";

/// Default per-scrape timeout (Prometheus's `scrape_timeout` default).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Refuse bodies larger than this: a metrics page is not a download.
const MAX_BODY_BYTES: usize = 64 << 20;

/// How to reach an endpoint.
#[derive(Debug, Clone)]
pub struct ScrapeOptions {
    /// Extra request headers (`X-Scope-OrgID`, an API key header).
    pub headers: Vec<(String, String)>,
    /// Sent as `Authorization: Bearer <token>`.
    pub bearer_token: Option<SecretSource>,
    pub timeout: Duration,
}

impl Default for ScrapeOptions {
    fn default() -> Self {
        ScrapeOptions {
            headers: Vec::new(),
            bearer_token: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// Why a scrape failed. `Unreachable` and `Status` mean the endpoint is
/// down; the others are bad input. All are exit 2 for `check`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScrapeError {
    #[error("scrape {url}: invalid URL: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// Connection refused, DNS failure, timeout, reset.
    #[error("scrape {url}: endpoint down: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("scrape {url}: endpoint down: server returned HTTP status {status}")]
    Status { url: String, status: u16 },
    /// Headers, token or client could not be set up.
    #[error("scrape {url}: {reason}")]
    Setup { url: String, reason: String },
    /// The body is no metrics format (an HTML login page, say).
    #[error("scrape {url}: unsupported content type {content_type:?}")]
    ContentType { url: String, content_type: String },
}

/// A fetched body and the format it is in.
#[derive(Debug, Clone, PartialEq)]
pub struct Scraped {
    /// The URL as it may be shown: no credentials, no query.
    pub url: String,
    pub format: SnapshotFormat,
    pub body: String,
}

impl Scraped {
    /// The samples, those without a timestamp taken at `at`; `extra_labels`
    /// as `--label`. Errors point at `url:line`.
    pub fn samples(
        &self,
        at: Timestamp,
        extra_labels: &Labels,
    ) -> Result<Vec<(Labels, Timestamp, f64)>, SnapshotError> {
        parse_file_as(
            Path::new(&self.url),
            &self.body,
            self.format,
            at,
            extra_labels,
        )
    }
}

/// The URL without user info, query or fragment.
pub fn display_url(url: &Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

/// Parses and checks a `--scrape` URL (http or https only).
pub fn parse_url(raw: &str) -> Result<Url, ScrapeError> {
    let bad = |reason: String| ScrapeError::InvalidUrl {
        // Not echoed as given: it may hold credentials.
        url: Url::parse(raw)
            .map(|u| display_url(&u))
            .unwrap_or_else(|_| "<url>".into()),
        reason,
    };
    let url = Url::parse(raw).map_err(|e| bad(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad(format!(
            "unsupported scheme {:?} (want http or https)",
            url.scheme()
        )));
    }
    Ok(url)
}

/// What a `Content-Type` says about the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentKind {
    /// A metrics format we parse.
    Metrics(SnapshotFormat),
    /// Missing or generic (`application/octet-stream`): the content decides.
    Unknown,
    /// Certainly no metrics (an HTML login or error page).
    NotMetrics,
}

/// Classifies a `Content-Type` header value.
pub fn content_kind(ct: &str) -> ContentKind {
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/openmetrics-text" => ContentKind::Metrics(SnapshotFormat::OpenMetrics),
        "text/plain" => ContentKind::Metrics(SnapshotFormat::Text),
        "application/json" => ContentKind::Metrics(SnapshotFormat::Json),
        e if e.ends_with("+json") => ContentKind::Metrics(SnapshotFormat::Json),
        "text/html" | "application/xhtml+xml" => ContentKind::NotMetrics,
        _ => ContentKind::Unknown,
    }
}

/// A blocking client for one-shot scrapes (must not run inside an async
/// runtime). Reads the bearer token (I/O).
pub fn client(opts: &ScrapeOptions, url_for_errors: &str) -> Result<Client, ScrapeError> {
    let setup = |reason: String| ScrapeError::Setup {
        url: url_for_errors.to_string(),
        reason,
    };
    let mut headers = HeaderMap::new();
    for (k, v) in &opts.headers {
        let name = HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| setup(format!("invalid header name {k:?}")))?;
        if name == AUTHORIZATION {
            return Err(setup(
                "set Authorization with --scrape-bearer-token-env/-file".into(),
            ));
        }
        let mut value = HeaderValue::from_str(v)
            .map_err(|_| setup(format!("invalid value for header {k:?}")))?;
        value.set_sensitive(true);
        headers.insert(name, value);
    }
    if let Some(src) = &opts.bearer_token {
        let token = src
            .resolve()
            .map_err(|e| setup(format!("bearer token: {e}")))?;
        let mut v = HeaderValue::from_str(&format!("Bearer {}", token.trim()))
            .map_err(|_| setup("bearer token is not a valid header value".into()))?;
        v.set_sensitive(true);
        headers.insert(AUTHORIZATION, v);
    }
    headers.insert(ACCEPT, HeaderValue::from_static(ACCEPT_HEADER));
    Client::builder()
        .timeout(opts.timeout)
        .connect_timeout(opts.timeout)
        .default_headers(headers)
        .user_agent(concat!("alertgate/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| setup(format!("cannot build HTTP client: {}", innermost(&e))))
}

/// Fetches `url` once with `client` (see [`client`]).
pub fn scrape(client: &Client, url: &Url, timeout: Duration) -> Result<Scraped, ScrapeError> {
    let shown = display_url(url);
    let down = |reason: String| ScrapeError::Unreachable {
        url: shown.clone(),
        reason,
    };
    let resp = client.get(url.clone()).send().map_err(|e| {
        if e.is_timeout() {
            down(format!("timed out after {}", humantime(timeout)))
        } else {
            down(innermost(&e))
        }
    })?;
    let status = resp.status().as_u16();
    if !resp.status().is_success() {
        return Err(ScrapeError::Status { url: shown, status });
    }
    let content_type = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let named = match content_kind(&content_type) {
        ContentKind::Metrics(f) => Some(f),
        ContentKind::Unknown => None,
        ContentKind::NotMetrics => {
            return Err(ScrapeError::ContentType {
                url: shown,
                content_type,
            })
        }
    };
    if resp
        .content_length()
        .is_some_and(|n| n as usize > MAX_BODY_BYTES)
    {
        return Err(down(format!("body larger than {MAX_BODY_BYTES} bytes")));
    }
    let bytes = resp.bytes().map_err(|e| {
        if e.is_timeout() {
            down(format!("timed out after {}", humantime(timeout)))
        } else {
            down(format!("reading body: {}", innermost(&e)))
        }
    })?;
    if bytes.len() > MAX_BODY_BYTES {
        return Err(down(format!("body larger than {MAX_BODY_BYTES} bytes")));
    }
    let body = String::from_utf8_lossy(&bytes).into_owned();
    let format = named.unwrap_or_else(|| detect_format(Path::new(""), &body));
    Ok(Scraped {
        url: shown,
        format,
        body,
    })
}

fn humantime(d: Duration) -> String {
    let ms = d.as_millis();
    if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// The deepest cause of a reqwest error ("Connection refused (os error
/// 111)"), which says more than reqwest's own "error sending request".
fn innermost(e: &reqwest::Error) -> String {
    let mut cur: &dyn std::error::Error = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    let s = cur.to_string();
    if s.is_empty() {
        "request failed".into()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_choose_the_parser() {
        use ContentKind::*;
        assert_eq!(
            content_kind("application/openmetrics-text; version=1.0.0; charset=utf-8"),
            Metrics(SnapshotFormat::OpenMetrics)
        );
        assert_eq!(
            content_kind("text/plain; version=0.0.4"),
            Metrics(SnapshotFormat::Text)
        );
        assert_eq!(
            content_kind("Application/JSON"),
            Metrics(SnapshotFormat::Json)
        );
        assert_eq!(
            content_kind("application/vnd.ops+json"),
            Metrics(SnapshotFormat::Json)
        );
        assert_eq!(content_kind(""), Unknown);
        assert_eq!(content_kind("application/octet-stream"), Unknown);
        assert_eq!(content_kind("text/html; charset=utf-8"), NotMetrics);
    }

    #[test]
    fn urls_lose_credentials_and_query_in_messages() {
        let u = parse_url("http://user:pw@127.0.0.1:9/metrics?token=abc").unwrap();
        assert_eq!(display_url(&u), "http://127.0.0.1:9/metrics");
        let e = parse_url("ftp://user:pw@host/x").unwrap_err().to_string();
        assert!(e.contains("unsupported scheme"), "{e}");
        assert!(!e.contains("pw"), "{e}");
    }

    #[test]
    fn a_closed_port_is_unreachable() {
        // Bind, learn the port, close: nothing listens there now.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = parse_url(&format!("http://127.0.0.1:{port}/metrics")).unwrap();
        let opts = ScrapeOptions {
            timeout: Duration::from_secs(2),
            ..ScrapeOptions::default()
        };
        let c = client(&opts, "x").unwrap();
        let e = scrape(&c, &url, opts.timeout).unwrap_err();
        assert!(matches!(e, ScrapeError::Unreachable { .. }), "{e}");
    }

    #[test]
    fn a_missing_token_is_named_not_shown() {
        let opts = ScrapeOptions {
            bearer_token: Some(SecretSource::Env("ALERTGATE_TEST_NO_SUCH_TOKEN".into())),
            ..ScrapeOptions::default()
        };
        let e = client(&opts, "http://h/metrics").unwrap_err().to_string();
        assert!(e.contains("ALERTGATE_TEST_NO_SUCH_TOKEN"), "{e}");
    }

    #[test]
    fn scraped_text_parses_at_the_given_time() {
        let s = Scraped {
            url: "http://h/metrics".into(),
            format: SnapshotFormat::Text,
            body: "# TYPE up gauge\nup{job=\"a\"} 1\nold 2 1000\n".into(),
        };
        let got = s.samples(5_000, &Labels::new()).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].1, got[0].2), (5_000, 1.0));
        assert_eq!((got[1].1, got[1].2), (1_000, 2.0));
        let bad = Scraped {
            body: "up{ 1\n".into(),
            ..s
        };
        let e = bad.samples(0, &Labels::new()).unwrap_err().to_string();
        assert!(e.starts_with("http://h/metrics:1:"), "{e}");
    }
}
