//! The Events API v2 JSON (developer.pagerduty.com, "Send an Alert Event").

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::config::{severity, SUMMARY_MAX};
use crate::notify::ctx::{rfc3339, NotifyCtx};
use crate::notify::error::NotifyError;
use crate::notify::slack::payload::cut;
use crate::notify::template::{render_inline, TemplateSet};
use crate::routing::receivers::PagerdutyConfig;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Event {
    pub routing_key: String,
    /// `trigger` or `resolve`.
    pub event_action: &'static str,
    pub dedup_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<Payload>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_url: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Payload {
    pub summary: String,
    pub source: String,
    pub severity: &'static str,
    pub timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    pub custom_details: Map<String, Value>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Link {
    pub href: String,
    pub text: String,
}

fn opt(t: &Option<String>, data: &Value) -> Result<Option<String>, NotifyError> {
    match t.as_ref().filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => render_inline(s, data)
            .map(|v| Some(v).filter(|v| !v.is_empty()))
            .map_err(NotifyError::Template),
    }
}

/// The event for `ctx`; `routing_key` is the real key or `<secret>`.
pub fn event(
    cfg: &PagerdutyConfig,
    t: &TemplateSet,
    ctx: &NotifyCtx,
    routing_key: &str,
) -> Result<Event, NotifyError> {
    let data = ctx.template_data();
    let trigger = !ctx.firing.is_empty();
    let mut links = Vec::new();
    for (href, text) in &cfg.links {
        links.push(Link {
            href: render_inline(href, &data).map_err(NotifyError::Template)?,
            text: render_inline(text, &data).map_err(NotifyError::Template)?,
        });
    }
    let payload = if trigger {
        let mut details = Map::new();
        details.insert("num_firing".into(), json!(ctx.firing.len()));
        details.insert("num_resolved".into(), json!(ctx.resolved.len()));
        details.insert("trace_id".into(), json!(ctx.trace_id));
        details.insert("group_key".into(), json!(ctx.group_key));
        details.insert(
            "alerts".into(),
            Value::Array(
                data["alerts"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|a| a["runbook"].clone())
                    .collect(),
            ),
        );
        for (k, v) in &cfg.details {
            details.insert(
                k.clone(),
                json!(render_inline(v, &data).map_err(NotifyError::Template)?),
            );
        }
        let start = ctx
            .firing
            .iter()
            .map(|a| a.starts_at)
            .min()
            .unwrap_or(ctx.now);
        Some(Payload {
            summary: cut(&t.render("summary", &data)?, SUMMARY_MAX),
            source: opt(&cfg.source, &data)?.unwrap_or_else(|| "alertgate".into()),
            severity: severity(cfg, ctx, &data)?.as_str(),
            timestamp: rfc3339(start),
            component: opt(&cfg.component, &data)?,
            group: opt(&cfg.group, &data)?,
            class: opt(&cfg.class, &data)?,
            custom_details: details,
        })
    } else {
        None
    };
    Ok(Event {
        routing_key: routing_key.to_string(),
        event_action: if trigger { "trigger" } else { "resolve" },
        dedup_key: ctx.dedup_key(),
        payload,
        links,
        client: Some(opt(&cfg.client, &data)?.unwrap_or_else(|| "alertgate".into())),
        client_url: opt(&cfg.client_url, &data)?
            .or_else(|| Some(ctx.external_url.clone()).filter(|u| !u.is_empty())),
    })
}
