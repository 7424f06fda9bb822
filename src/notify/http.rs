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
        // Drain the body so the connection can be reused; never log it.
        let _ = resp.bytes();
        if (200..300).contains(&code) {
            Ok(Delivery { status: Some(code) })
        } else {
            Err(NotifyError::Status { code })
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
