//! The blocking HTTP POST every HTTP notifier uses: one client per
//! notifier with its timeout, status mapped through the retry table, and
//! errors stripped of URLs (webhook URLs carry tokens).

use std::time::Duration;

use super::error::NotifyError;
use super::notifier::Delivery;

pub const USER_AGENT: &str = concat!("alertgate/", env!("CARGO_PKG_VERSION"));

#[derive(Debug, Clone)]
pub struct HttpSender {
    client: reqwest::blocking::Client,
    timeout_ms: i64,
}

impl HttpSender {
    pub fn new(timeout_ms: i64) -> Result<Self, NotifyError> {
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_millis(timeout_ms.max(1) as u64))
            .user_agent(USER_AGENT)
            .build()
            .map_err(|e| NotifyError::Transport(e.without_url().to_string()))?;
        Ok(HttpSender { client, timeout_ms })
    }

    /// POSTs `body` as JSON. `secrets` are removed from any error text.
    pub fn post_json(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: Vec<u8>,
        secrets: &[&str],
    ) -> Result<Delivery, NotifyError> {
        let mut req = self
            .client
            .post(url)
            .header("Content-Type", "application/json")
            .body(body);
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let resp = req.send().map_err(|e| self.error(e, url, secrets))?;
        let code = resp.status().as_u16();
        let retry_after_ms = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, crate::clock::now_ms()));
        // Drain the body so the connection can be reused; never log it.
        let _ = resp.bytes();
        if (200..300).contains(&code) {
            Ok(Delivery { status: Some(code) })
        } else {
            Err(NotifyError::Status {
                code,
                retry_after_ms,
            })
        }
    }

    fn error(&self, e: reqwest::Error, url: &str, secrets: &[&str]) -> NotifyError {
        if e.is_timeout() {
            return NotifyError::Timeout {
                ms: self.timeout_ms,
            };
        }
        let e = e.without_url();
        let mut msg = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            src = s.source();
        }
        if msg.to_lowercase().contains("timed out") {
            return NotifyError::Timeout {
                ms: self.timeout_ms,
            };
        }
        NotifyError::Transport(redact(&msg, url, secrets))
    }
}

/// Parses `Retry-After` (RFC 9110 10.2.3): delta seconds, or an HTTP date
/// taken relative to `now`; a date in the past means "now".
pub fn parse_retry_after(value: &str, now: i64) -> Option<i64> {
    let v = value.trim();
    if let Ok(s) = v.parse::<i64>() {
        return Some(s.max(0).saturating_mul(1000));
    }
    let t = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    Some((t.timestamp_millis() - now).max(0))
}

/// Removes the URL and every secret from `msg`.
pub fn redact(msg: &str, url: &str, secrets: &[&str]) -> String {
    let mut out = msg.to_string();
    for s in std::iter::once(&url).chain(secrets.iter()) {
        if !s.is_empty() {
            out = out.replace(s, "<secret>");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};

    /// A one-shot server answering every request with `answer`.
    fn serve(answer: &'static str) -> String {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (conn, _) = l.accept().unwrap();
            let mut w = conn.try_clone().unwrap();
            let mut r = BufReader::new(conn);
            let mut len = 0;
            loop {
                let mut h = String::new();
                r.read_line(&mut h).unwrap();
                if h.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = h.split_once(':') {
                    if k.eq_ignore_ascii_case("content-length") {
                        len = v.trim().parse().unwrap();
                    }
                }
            }
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            w.write_all(answer.as_bytes()).unwrap();
        });
        format!("http://127.0.0.1:{port}/hook")
    }

    #[test]
    fn retry_after_of_a_429_reaches_the_error() {
        let url =
            serve("HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\nContent-Length: 0\r\n\r\n");
        let e = HttpSender::new(5_000)
            .unwrap()
            .post_json(&url, &[], b"{}".to_vec(), &[])
            .unwrap_err();
        assert!(e.is_retryable());
        assert_eq!(e.status_code(), Some(429));
        assert_eq!(e.retry_after_ms(), Some(7_000));
        let url = serve("HTTP/1.1 503 Unavailable\r\nContent-Length: 0\r\n\r\n");
        let e = HttpSender::new(5_000)
            .unwrap()
            .post_json(&url, &[], b"{}".to_vec(), &[])
            .unwrap_err();
        assert_eq!((e.status_code(), e.retry_after_ms()), (Some(503), None));
    }

    #[test]
    fn retry_after_seconds_or_date() {
        assert_eq!(parse_retry_after(" 7 ", 0), Some(7_000));
        assert_eq!(parse_retry_after("-3", 0), Some(0));
        // RFC 9110's example date, 2 seconds after `now`.
        let now = chrono::DateTime::parse_from_rfc2822("Wed, 21 Oct 2015 07:27:58 GMT")
            .unwrap()
            .timestamp_millis();
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(2_000)
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(0)
        );
        assert_eq!(parse_retry_after("soon", 0), None);
    }
}
