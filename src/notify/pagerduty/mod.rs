//! PagerDuty Events API v2: `trigger` while anything fires, `resolve` when
//! all is resolved, both with one `dedup_key` per alert group so the
//! incident opened by the trigger is the one the resolve closes.

pub mod config;
pub mod payload;
#[cfg(test)]
mod tests;

use super::ctx::NotifyCtx;
use super::error::NotifyError;
use super::http::HttpSender;
use super::notifier::{Delivery, Notifier, Rendered};
use super::template::TemplateSet;
use crate::routing::receivers::PagerdutyConfig;

pub struct PagerdutyNotifier {
    cfg: PagerdutyConfig,
    templates: TemplateSet,
    http: HttpSender,
}

impl PagerdutyNotifier {
    pub fn build(cfg: &PagerdutyConfig) -> Result<Self, NotifyError> {
        if cfg.routing_key.is_none() {
            return Err(NotifyError::Invalid(
                "service_key (Events API v1) is not supported, set routing_key (Events API v2)"
                    .into(),
            ));
        }
        Ok(PagerdutyNotifier {
            templates: config::templates(cfg)?,
            http: HttpSender::new(cfg.timeout_ms)?,
            cfg: cfg.clone(),
        })
    }
}

impl Notifier for PagerdutyNotifier {
    fn kind(&self) -> &'static str {
        "pagerduty"
    }

    fn send_resolved(&self) -> bool {
        self.cfg.send_resolved
    }

    fn timeout_ms(&self) -> i64 {
        self.cfg.timeout_ms
    }

    fn render(&self, ctx: &NotifyCtx) -> Result<Vec<Rendered>, NotifyError> {
        let ev = payload::event(&self.cfg, &self.templates, ctx, "<secret>")?;
        Ok(vec![Rendered {
            target: format!("POST {}", self.cfg.url),
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: serde_json::to_string_pretty(&ev).unwrap_or_default(),
        }])
    }

    fn notify(&self, ctx: &NotifyCtx) -> Result<Delivery, NotifyError> {
        let key = self
            .cfg
            .routing_key
            .as_ref()
            .ok_or_else(|| NotifyError::Invalid("no routing_key".into()))?
            .resolve()?;
        let ev = payload::event(&self.cfg, &self.templates, ctx, key.expose())?;
        let body = serde_json::to_vec(&ev).map_err(|e| NotifyError::Invalid(e.to_string()))?;
        self.http
            .post_json(&self.cfg.url, &[], body, &[key.expose()])
    }
}
