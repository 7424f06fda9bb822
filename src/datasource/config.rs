//! The `datasource:` section of `alertgate.yml` (and `--prometheus URL`):
//! which Prometheus-compatible server answers queries, and how to reach it.
//!
//! Raw serde structs mirror the YAML (unknown keys are errors); [`validate`]
//! is pure and reports every problem with `file:line:col`; secrets are only
//! read when the HTTP client is built (`datasource::build`).
//!
//! ```yaml
//! datasource:
//!   url: https://mimir.example/prometheus
//!   headers: {X-Scope-OrgID: team-a}
//!   bearer_token_file: /run/secrets/token     # or bearer_token_env: NAME
//!   basic_auth: {username: u, password_env: PROM_PASSWORD}
//!   tls_config: {ca_file: ca.pem, cert_file: c.pem, key_file: k.pem, insecure_skip_verify: false}
//!   timeout: 30s
//!   query_params: {nocache: "1"}
//! ```

use crate::yaml::Positions;
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::Url;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Per-request timeout when the config sets none (Prometheus's default
/// `query.timeout` is 2m; a sidecar should give up well before that).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Where a secret comes from. Printed as `<secret>` whatever it holds, so
/// a config dump or a `{:?}` in a log line never reveals where to look.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// The name of an environment variable holding the secret.
    Env(String),
    /// A file holding the secret (trailing newlines are trimmed).
    File(PathBuf),
}

impl std::fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<secret>")
    }
}

impl std::fmt::Display for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<secret>")
    }
}

/// A secret that could not be read. Names the variable or file, never the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("environment variable {0} is not set")]
    Env(String),
    #[error("cannot read secret file {path}: {reason}")]
    File { path: PathBuf, reason: String },
}

impl SecretSource {
    /// Reads the secret (I/O). `Env` with an empty value counts as unset.
    pub fn resolve(&self) -> Result<String, SecretError> {
        match self {
            SecretSource::Env(name) => std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| SecretError::Env(name.clone())),
            SecretSource::File(path) => std::fs::read_to_string(path)
                .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
                .map_err(|e| SecretError::File {
                    path: path.clone(),
                    reason: e.kind().to_string(),
                }),
        }
    }
}

// ------------------------------------------------------------------- raw

/// The `datasource:` section as written.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDatasourceConfig {
    pub url: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub bearer_token_env: Option<String>,
    pub bearer_token_file: Option<PathBuf>,
    pub basic_auth: Option<RawBasicAuth>,
    pub tls_config: Option<RawTlsConfig>,
    pub timeout: Option<String>,
    #[serde(default)]
    pub query_params: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBasicAuth {
    pub username: Option<String>,
    pub password_env: Option<String>,
    pub password_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTlsConfig {
    pub ca_file: Option<PathBuf>,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    #[serde(default)]
    pub insecure_skip_verify: bool,
}

// ------------------------------------------------------------- validated

/// A validated datasource: everything checked that can be checked without
/// reading files or the environment. `{:?}` shows header and query
/// parameter names only: their values may be API keys.
#[derive(Clone, PartialEq)]
pub struct DatasourceConfig {
    /// Base URL (`http://host:9090`, `https://host/prometheus`), without
    /// credentials or query string; `/api/v1/...` is appended to it.
    pub url: Url,
    /// Extra request headers (e.g. `X-Scope-OrgID`).
    pub headers: Vec<(String, String)>,
    pub auth: Option<Auth>,
    pub tls: TlsConfig,
    pub timeout: Duration,
    /// Extra query-string parameters sent with every request (the URL's own
    /// query string is moved here).
    pub query_params: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Auth {
    Bearer(SecretSource),
    Basic {
        username: String,
        password: SecretSource,
    },
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TlsConfig {
    pub ca_file: Option<PathBuf>,
    /// Client certificate and key, always set together.
    pub client_cert: Option<(PathBuf, PathBuf)>,
    pub insecure_skip_verify: bool,
}

impl std::fmt::Debug for DatasourceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = |v: &[(String, String)]| {
            v.iter()
                .map(|(k, _)| format!("{k}=<redacted>"))
                .collect::<Vec<_>>()
        };
        f.debug_struct("DatasourceConfig")
            .field("url", &self.display_url())
            .field("headers", &names(&self.headers))
            .field("auth", &self.auth)
            .field("tls", &self.tls)
            .field("timeout", &self.timeout)
            .field("query_params", &names(&self.query_params))
            .finish()
    }
}

impl DatasourceConfig {
    /// A datasource from just a URL (`--prometheus URL`).
    pub fn from_url(url: &str) -> Result<DatasourceConfig, ConfigError> {
        validate(
            &RawDatasourceConfig {
                url: Some(url.to_string()),
                ..Default::default()
            },
            &Positions::default(),
            "--prometheus",
        )
    }

    /// The base URL as it may appear in messages: no credentials, no query.
    pub fn display_url(&self) -> String {
        self.url.as_str().trim_end_matches('/').to_string()
    }
}

// ------------------------------------------------------------ diagnostics

/// Section problems (codes `datasource/...`) share the YAML loaders' types.
pub use crate::yaml::{ConfigError, Diagnostic};

/// Reads the `datasource:` section of an `alertgate.yml`; `Ok(None)` when
/// the file has none. Other sections are left to their owners.
pub fn load_file(path: &Path) -> Result<Option<DatasourceConfig>, ConfigError> {
    let src = crate::yaml::read_file(path, "datasource/io")?;
    parse_str(&src, &path.display().to_string())
}

/// Like [`load_file`], from text; `file` names it in diagnostics.
pub fn parse_str(src: &str, file: &str) -> Result<Option<DatasourceConfig>, ConfigError> {
    #[derive(Default, Deserialize)]
    struct Top {
        datasource: Option<RawDatasourceConfig>,
    }
    // serde ignores the other top-level keys here (no deny_unknown_fields on
    // `Top`), but is strict inside `datasource:`. An empty file has none.
    let top: Top = crate::yaml::parse_or_default(src, file, "datasource/yaml")?;
    match top.datasource {
        None => Ok(None),
        Some(raw) => validate(&raw, &Positions::index(src), file).map(Some),
    }
}

/// Checks a raw section and returns every problem at once. Pure: no files
/// or environment are read.
pub fn validate(
    raw: &RawDatasourceConfig,
    positions: &Positions,
    file: &str,
) -> Result<DatasourceConfig, ConfigError> {
    let mut diags = Vec::new();
    let mut err = |path: &str, code: &'static str, message: String| {
        diags.push(Diagnostic {
            pos: positions.nearest(&format!("datasource.{path}")),
            code,
            message,
        });
    };

    let mut query_params: Vec<(String, String)> = Vec::new();
    let url = match raw.url.as_deref().map(str::trim) {
        None | Some("") => {
            err("url", "datasource/missing-url", "url is required".into());
            None
        }
        // The URL itself is never echoed: it may carry credentials.
        Some(s) => match Url::parse(s) {
            Err(e) => {
                err("url", "datasource/invalid-url", format!("invalid url: {e}"));
                None
            }
            Ok(u) if !matches!(u.scheme(), "http" | "https") => {
                err(
                    "url",
                    "datasource/invalid-url",
                    format!(
                        "unsupported url scheme {:?} (want http or https)",
                        u.scheme()
                    ),
                );
                None
            }
            Ok(u) if !u.username().is_empty() || u.password().is_some() => {
                err(
                    "url",
                    "datasource/credentials-in-url",
                    "url must not contain credentials; use basic_auth".into(),
                );
                None
            }
            Ok(mut u) => {
                query_params.extend(
                    u.query_pairs()
                        .map(|(k, v)| (k.into_owned(), v.into_owned())),
                );
                u.set_query(None);
                u.set_fragment(None);
                Some(u)
            }
        },
    };

    let mut headers = Vec::new();
    for (name, value) in &raw.headers {
        let path = format!("headers.{name}");
        if HeaderName::from_bytes(name.as_bytes()).is_err() {
            err(
                &path,
                "datasource/invalid-header",
                format!("invalid header name {name:?}"),
            );
        } else if HeaderValue::from_str(value).is_err() {
            err(
                &path,
                "datasource/invalid-header",
                format!("invalid value for header {name:?}"),
            );
        } else if name.eq_ignore_ascii_case("authorization") {
            err(
                &path,
                "datasource/invalid-header",
                "set Authorization with bearer_token_env/_file or basic_auth".into(),
            );
        } else {
            headers.push((name.clone(), value.clone()));
        }
    }

    let bearer = match (&raw.bearer_token_env, &raw.bearer_token_file) {
        (Some(_), Some(_)) => {
            err(
                "bearer_token_env",
                "datasource/conflicting-secret",
                "at most one of bearer_token_env & bearer_token_file must be configured".into(),
            );
            None
        }
        (Some(n), None) => secret_env(n, "bearer_token_env", &mut err),
        (None, Some(p)) => Some(SecretSource::File(p.clone())),
        (None, None) => None,
    };
    let basic = raw.basic_auth.as_ref().and_then(|b| {
        let username = b.username.clone().unwrap_or_default();
        if username.is_empty() {
            err(
                "basic_auth.username",
                "datasource/missing-username",
                "basic_auth needs a username".into(),
            );
        }
        let password = match (&b.password_env, &b.password_file) {
            (Some(_), Some(_)) => {
                err(
                    "basic_auth.password_env",
                    "datasource/conflicting-secret",
                    "at most one of basic_auth password_env & password_file must be configured"
                        .into(),
                );
                None
            }
            (Some(n), None) => secret_env(n, "basic_auth.password_env", &mut err),
            (None, Some(p)) => Some(SecretSource::File(p.clone())),
            (None, None) => {
                err(
                    "basic_auth",
                    "datasource/missing-password",
                    "basic_auth needs password_env or password_file".into(),
                );
                None
            }
        };
        Some(Auth::Basic {
            username,
            password: password?,
        })
    });
    let auth = match (bearer, basic) {
        (Some(_), Some(_)) => {
            err(
                "basic_auth",
                "datasource/conflicting-auth",
                "at most one of basic_auth & bearer_token_env/_file must be configured".into(),
            );
            None
        }
        (Some(b), None) => Some(Auth::Bearer(b)),
        (None, b) => b,
    };

    let raw_tls = raw.tls_config.clone().unwrap_or_default();
    let client_cert = match (raw_tls.cert_file, raw_tls.key_file) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        _ => {
            err(
                "tls_config",
                "datasource/incomplete-client-cert",
                "tls_config needs both cert_file and key_file".into(),
            );
            None
        }
    };
    let tls = TlsConfig {
        ca_file: raw_tls.ca_file,
        client_cert,
        insecure_skip_verify: raw_tls.insecure_skip_verify,
    };

    let timeout = match raw.timeout.as_deref() {
        None => DEFAULT_TIMEOUT,
        Some(s) => match promql_parser::util::parse_duration(s) {
            Ok(d) if !d.is_zero() => d,
            Ok(_) => {
                err(
                    "timeout",
                    "datasource/invalid-timeout",
                    "timeout must be greater than zero".into(),
                );
                DEFAULT_TIMEOUT
            }
            Err(_) => {
                err(
                    "timeout",
                    "datasource/invalid-timeout",
                    format!("invalid duration {s:?}"),
                );
                DEFAULT_TIMEOUT
            }
        },
    };

    for (k, v) in &raw.query_params {
        if matches!(k.as_str(), "query" | "time" | "start" | "end" | "step") {
            err(
                &format!("query_params.{k}"),
                "datasource/reserved-param",
                format!("query parameter {k:?} is set by alertgate"),
            );
        } else {
            query_params.push((k.clone(), v.clone()));
        }
    }

    match url {
        Some(url) if diags.is_empty() => Ok(DatasourceConfig {
            url,
            headers,
            auth,
            tls,
            timeout,
            query_params,
        }),
        _ => Err(ConfigError {
            file: file.to_string(),
            diagnostics: diags,
        }),
    }
}

fn secret_env(
    name: &str,
    path: &str,
    err: &mut impl FnMut(&str, &'static str, String),
) -> Option<SecretSource> {
    let mut c = name.chars();
    let valid = matches!(c.next(), Some(f) if f.is_ascii_alphabetic() || f == '_')
        && c.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Some(SecretSource::Env(name.to_string()))
    } else {
        err(
            path,
            "datasource/invalid-env-name",
            format!("invalid environment variable name {name:?}"),
        );
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> Result<Option<DatasourceConfig>, ConfigError> {
        parse_str(src, "alertgate.yml")
    }

    #[test]
    fn full_section_parses() {
        let src = "\
route: {receiver: x}
datasource:
  url: https://mimir.example/prometheus?tenant=a
  headers: {X-Scope-OrgID: team-a}
  bearer_token_file: /run/token
  tls_config: {ca_file: ca.pem, cert_file: c.pem, key_file: k.pem, insecure_skip_verify: true}
  timeout: 1m30s
  query_params: {nocache: '1'}
";
        let c = parse(src).unwrap().unwrap();
        assert_eq!(c.display_url(), "https://mimir.example/prometheus");
        assert_eq!(c.headers, vec![("X-Scope-OrgID".into(), "team-a".into())]);
        assert_eq!(
            c.auth,
            Some(Auth::Bearer(SecretSource::File("/run/token".into())))
        );
        assert_eq!(c.tls.client_cert, Some(("c.pem".into(), "k.pem".into())));
        assert!(c.tls.insecure_skip_verify);
        assert_eq!(c.timeout, Duration::from_secs(90));
        assert_eq!(
            c.query_params,
            vec![
                ("tenant".into(), "a".into()),
                ("nocache".into(), "1".into())
            ]
        );
    }

    #[test]
    fn no_section_is_none() {
        assert_eq!(parse("route: {receiver: x}\n").unwrap(), None);
        assert_eq!(parse("").unwrap(), None);
    }

    #[test]
    fn every_problem_is_reported_with_its_position() {
        let src = "\
datasource:
  url: ftp://x
  bearer_token_env: A
  bearer_token_file: /t
  basic_auth: {username: u}
  tls_config: {cert_file: c.pem}
  timeout: soon
  query_params: {query: up}
";
        let e = parse(src).unwrap_err();
        let codes: Vec<&str> = e.diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(
            codes,
            vec![
                "datasource/invalid-url",
                "datasource/conflicting-secret",
                "datasource/missing-password",
                "datasource/incomplete-client-cert",
                "datasource/invalid-timeout",
                "datasource/reserved-param",
            ]
        );
        let text = e.to_string();
        assert!(
            text.starts_with("alertgate.yml:2:8: datasource/invalid-url: "),
            "{text}"
        );
        assert!(
            text.contains("alertgate.yml:7:12: datasource/invalid-timeout"),
            "{text}"
        );
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let e = parse("datasource:\n  url: http://x\n  bearer_token: abc\n").unwrap_err();
        assert_eq!(e.diagnostics[0].code, "datasource/yaml");
        assert!(e.diagnostics[0]
            .message
            .contains("unknown field `bearer_token`"));
    }

    #[test]
    fn credentials_in_url_are_refused_without_echoing_them() {
        let e = DatasourceConfig::from_url("http://user:hunter2@localhost:9090").unwrap_err();
        assert_eq!(e.diagnostics[0].code, "datasource/credentials-in-url");
        assert!(!e.to_string().contains("hunter2"));
    }

    #[test]
    fn bearer_and_basic_together_conflict() {
        let src = "datasource:\n  url: http://x\n  bearer_token_env: T\n  basic_auth: {username: u, password_env: P}\n";
        let e = parse(src).unwrap_err();
        assert_eq!(e.diagnostics[0].code, "datasource/conflicting-auth");
    }

    #[test]
    fn authorization_header_must_use_the_auth_fields() {
        let src = "datasource:\n  url: http://x\n  headers: {Authorization: Bearer abc}\n";
        let e = parse(src).unwrap_err();
        assert_eq!(e.diagnostics[0].code, "datasource/invalid-header");
        assert!(!e.to_string().contains("abc"));
    }

    #[test]
    fn secrets_print_as_placeholder() {
        let s = SecretSource::Env("PROM_TOKEN".into());
        assert_eq!(format!("{s}"), "<secret>");
        let c =
            parse("datasource:\n  url: http://x\n  basic_auth: {username: u, password_file: /p}\n")
                .unwrap()
                .unwrap();
        let dbg = format!("{c:?}");
        assert!(dbg.contains("password: <secret>"), "{dbg}");
        assert!(!dbg.contains("/p\""), "{dbg}");
    }

    #[test]
    fn secrets_resolve_from_env_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tok");
        std::fs::write(&p, "s3cret\n").unwrap();
        assert_eq!(SecretSource::File(p).resolve().unwrap(), "s3cret");
        let missing = SecretSource::Env("ALERTGATE_TEST_SURELY_UNSET_VAR".into());
        assert_eq!(
            missing.resolve().unwrap_err().to_string(),
            "environment variable ALERTGATE_TEST_SURELY_UNSET_VAR is not set"
        );
    }
}
