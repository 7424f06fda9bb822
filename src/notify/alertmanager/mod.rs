//! Forwarding to Alertmanager: POST `/api/v2/alerts` to every configured
//! Alertmanager, as Prometheus's notifier does; an HA cluster dedups what
//! its peers receive twice. Route the alerts to a receiver with
//! `alertmanager_configs` (e.g. a `continue: true` route at the top) and
//! keep its `repeat_interval` below Alertmanager's `resolve_timeout`: firing
//! alerts carry no end time and are re-sent at every repeat.

pub mod config;
pub mod payload;
#[cfg(test)]
mod tests;

use super::ctx::NotifyCtx;
use super::error::NotifyError;
use super::http::HttpSender;
use super::notifier::{Delivery, Notifier, Rendered};
use crate::routing::receivers::AlertmanagerConfig;

pub struct AlertmanagerNotifier {
    cfg: AlertmanagerConfig,
    http: HttpSender,
}

impl AlertmanagerNotifier {
    pub fn build(cfg: &AlertmanagerConfig) -> Result<Self, NotifyError> {
        Ok(AlertmanagerNotifier {
            http: HttpSender::new(cfg.timeout_ms)?,
            cfg: cfg.clone(),
        })
    }
}

impl Notifier for AlertmanagerNotifier {
    fn kind(&self) -> &'static str {
        "alertmanager"
    }

    fn send_resolved(&self) -> bool {
        self.cfg.send_resolved
    }

    fn timeout_ms(&self) -> i64 {
        self.cfg.timeout_ms
    }

    fn render(&self, ctx: &NotifyCtx) -> Result<Vec<Rendered>, NotifyError> {
        let body = serde_json::to_string_pretty(&payload::alerts(ctx)).unwrap_or_default();
        Ok(self
            .cfg
            .urls
            .iter()
            .map(|u| Rendered {
                target: format!("POST {}", config::alerts_url(u)),
                headers: vec![("Content-Type".into(), "application/json".into())],
                body: body.clone(),
            })
            .collect())
    }

    /// Succeeds when at least one Alertmanager accepted the alerts; the
    /// cluster gossips them to the others.
    fn notify(&self, ctx: &NotifyCtx) -> Result<Delivery, NotifyError> {
        let body = serde_json::to_vec(&payload::alerts(ctx))
            .map_err(|e| NotifyError::Invalid(e.to_string()))?;
        let mut ok = None;
        let mut first_err = None;
        for u in &self.cfg.urls {
            match self
                .http
                .post_json(&config::alerts_url(u), &[], body.clone(), &[])
            {
                Ok(d) => ok = ok.or(Some(d)),
                Err(e) => {
                    tracing::warn!(alertmanager = %u, error = %e, "Forwarding to an Alertmanager failed.");
                    first_err = first_err.or(Some(e));
                }
            }
        }
        match (ok, first_err) {
            (Some(d), _) => Ok(d),
            (None, Some(e)) => Err(e),
            (None, None) => Err(NotifyError::Invalid("no Alertmanager configured".into())),
        }
    }
}
