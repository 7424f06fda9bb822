//! Alertmanager's webhook payload, version 4
//! (prometheus/alertmanager: notify/webhook/webhook.go, `Message`).

use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

use crate::notify::ctx::{alert_json, labels_map, NotifyCtx};

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub receiver: String,
    pub status: &'static str,
    pub alerts: Vec<Value>,
    pub group_labels: BTreeMap<String, String>,
    pub common_labels: BTreeMap<String, String>,
    pub common_annotations: BTreeMap<String, String>,
    #[serde(rename = "externalURL")]
    pub external_url: String,
    pub version: &'static str,
    pub group_key: String,
    pub truncated_alerts: u64,
}

impl Message {
    /// Upstream truncates first and computes the common labels over the
    /// alerts that are sent; `max_alerts` 0 means all.
    pub fn new(ctx: &NotifyCtx, max_alerts: u64) -> Message {
        let total = ctx.alert_count() as u64;
        let keep = if max_alerts == 0 {
            total
        } else {
            total.min(max_alerts)
        };
        let mut sent = ctx.clone();
        let mut left = keep as usize;
        sent.firing.truncate(left);
        left -= sent.firing.len();
        sent.resolved.truncate(left);
        Message {
            receiver: ctx.receiver.clone(),
            // The status is the group's, whatever was cut.
            status: ctx.status(),
            alerts: sent.alerts().map(|a| alert_json(a, ctx.now)).collect(),
            group_labels: labels_map(&ctx.group_labels),
            common_labels: sent.common_labels(),
            common_annotations: sent.common_annotations(),
            external_url: ctx.external_url.clone(),
            version: "4",
            group_key: ctx.group_key.clone(),
            truncated_alerts: total - keep,
        }
    }
}
