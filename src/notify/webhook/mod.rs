//! Generic webhooks with Alertmanager's payload (version 4), so receivers
//! written for Alertmanager work unchanged; `max_alerts` truncates, extra
//! headers come only from an allowlist, and an optional HMAC-SHA256 header
//! signs the body.

pub mod config;
pub mod payload;
#[cfg(test)]
mod tests;

use super::ctx::NotifyCtx;
use super::error::NotifyError;
use super::http::HttpSender;
use super::notifier::{Delivery, Notifier, Rendered};
use crate::routing::receivers::WebhookConfig;

pub struct WebhookNotifier {
    cfg: WebhookConfig,
    http: HttpSender,
}

impl WebhookNotifier {
    pub fn build(cfg: &WebhookConfig) -> Result<Self, NotifyError> {
        Ok(WebhookNotifier {
            http: HttpSender::new(cfg.timeout_ms)?,
            cfg: cfg.clone(),
        })
    }
}

impl Notifier for WebhookNotifier {
    fn kind(&self) -> &'static str {
        "webhook"
    }

    fn send_resolved(&self) -> bool {
        self.cfg.send_resolved
    }

    fn timeout_ms(&self) -> i64 {
        self.cfg.timeout_ms
    }

    fn render(&self, ctx: &NotifyCtx) -> Result<Vec<Rendered>, NotifyError> {
        let msg = payload::Message::new(ctx, self.cfg.max_alerts);
        let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
        for k in self.cfg.headers.keys() {
            headers.push((k.clone(), "<secret>".into()));
        }
        if self.cfg.hmac_secret.is_some() {
            headers.push((config::SIGNATURE_HEADER.into(), "sha256=<signature>".into()));
        }
        Ok(vec![Rendered {
            target: "POST <secret>".into(),
            headers,
            body: serde_json::to_string_pretty(&msg).unwrap_or_default(),
        }])
    }

    fn notify(&self, ctx: &NotifyCtx) -> Result<Delivery, NotifyError> {
        let msg = payload::Message::new(ctx, self.cfg.max_alerts);
        let body = serde_json::to_vec(&msg).map_err(|e| NotifyError::Invalid(e.to_string()))?;
        let url = self.cfg.url.resolve()?;
        let mut secrets = vec![url.expose().to_string()];
        let mut headers = Vec::new();
        for (k, v) in &self.cfg.headers {
            let v = v.resolve()?;
            secrets.push(v.expose().to_string());
            headers.push((k.clone(), v.expose().to_string()));
        }
        if let Some(s) = &self.cfg.hmac_secret {
            let s = s.resolve()?;
            secrets.push(s.expose().to_string());
            headers.push((
                config::SIGNATURE_HEADER.into(),
                config::sign(s.expose().as_bytes(), &body),
            ));
        }
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        self.http.post_json(url.expose(), &headers, body, &secrets)
    }
}
