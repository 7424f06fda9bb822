//! `postableAlerts` of Alertmanager's API v2 (api/v2/openapi.yaml).

use serde::Serialize;
use std::collections::BTreeMap;

use crate::notify::ctx::{labels_map, rfc3339, NotifyCtx};

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PostableAlert {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub starts_at: String,
    /// Omitted while firing with no known end: Alertmanager then applies
    /// its `resolve_timeout`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<String>,
    #[serde(rename = "generatorURL", skip_serializing_if = "String::is_empty")]
    pub generator_url: String,
}

pub fn alerts(ctx: &NotifyCtx) -> Vec<PostableAlert> {
    ctx.alerts()
        .map(|a| PostableAlert {
            labels: labels_map(&a.labels),
            annotations: a.annotations.clone(),
            starts_at: rfc3339(a.starts_at),
            ends_at: a.ends_at.map(rfc3339),
            generator_url: a.generator_url.clone(),
        })
        .collect()
}
