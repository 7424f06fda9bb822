//! One JSON object per alert, one per line: runbook 000's fields first
//! (`tenant_id`, `trace_id`, `metric`, `threshold`, `value`, `severity`,
//! `text`: the short text is the `summary` annotation), then what a reader
//! needs to correlate (`status`, `alertname`, `receiver`, `labels`,
//! `annotations`, `startsAt`, `endsAt`, `fingerprint`, `generatorURL`).
//! Shared by the `file` receiver.

use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

use crate::notify::ctx::NotifyCtx;
use crate::notify::error::NotifyError;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Line {
    pub tenant_id: String,
    pub trace_id: String,
    pub metric: String,
    pub threshold: String,
    pub value: String,
    pub severity: String,
    pub text: String,
    pub status: String,
    pub alertname: String,
    pub receiver: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    #[serde(rename = "startsAt")]
    pub starts_at: String,
    #[serde(rename = "endsAt")]
    pub ends_at: String,
    pub fingerprint: String,
    #[serde(rename = "generatorURL")]
    pub generator_url: String,
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_string()
}

/// The lines for `ctx`: firing alerts first, then resolved ones.
pub fn lines(ctx: &NotifyCtx) -> Vec<Line> {
    ctx.alerts()
        .map(|a| {
            let d = ctx.alert_data(a);
            Line {
                tenant_id: text(&d, "tenant_id"),
                trace_id: text(&d, "trace_id"),
                metric: text(&d, "metric"),
                threshold: text(&d, "threshold"),
                value: text(&d, "value"),
                severity: text(&d, "severity"),
                text: text(&d, "text"),
                status: text(&d, "status"),
                alertname: a.labels.get("alertname").unwrap_or("").to_string(),
                receiver: ctx.receiver.clone(),
                labels: a
                    .labels
                    .iter()
                    .map(|l| (l.name.clone(), l.value.clone()))
                    .collect(),
                annotations: a.annotations.clone(),
                starts_at: text(&d, "startsAt"),
                ends_at: text(&d, "endsAt"),
                fingerprint: text(&d, "fingerprint"),
                generator_url: a.generator_url.clone(),
            }
        })
        .collect()
}

/// `lines` as JSON Lines text, each line ending in `\n`.
pub fn json_lines(ctx: &NotifyCtx) -> Result<String, NotifyError> {
    let mut out = String::new();
    for l in lines(ctx) {
        out.push_str(&serde_json::to_string(&l).map_err(|e| NotifyError::Invalid(e.to_string()))?);
        out.push('\n');
    }
    Ok(out)
}
