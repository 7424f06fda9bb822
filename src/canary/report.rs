//! What the gate writes for people and tools: the decision as Markdown, the
//! rollout log, and time stamps for file names.

use super::decide::{CheckStatus, Decision};
use super::verdict::Verdict;
use serde::{Deserialize, Serialize};

/// `2025-03-04T07:30:00Z`.
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        .unwrap_or_else(|| ms.to_string())
}

/// `20250304T073000Z`: sorts like time, safe in file names.
pub fn file_stamp(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.format("%Y%m%dT%H%M%SZ").to_string())
        .unwrap_or_else(|| ms.to_string())
}

/// `2025-03-04` in UTC.
pub fn utc_date(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

fn num(v: Option<f64>) -> String {
    v.map(|v| format!("{v}")).unwrap_or_else(|| "–".into())
}

/// The decision for a human reader (runbook 001: "JSON + Markdown").
pub fn decision_markdown(d: &Decision) -> String {
    let mut s = format!(
        "# Canary decision {} for tenant {}\n\n\
         - Decision: **{}**\n- KPI date: {}\n- Decided at: {}\n- Trace id: `{}`\n\
         - Step: {} -> {}\n- Kill switch when deciding: {}\n\n## Reasons\n\n",
        d.decision,
        d.tenant,
        d.decision,
        d.date,
        d.decided_at,
        d.trace_id,
        d.current_step,
        d.target_step,
        if d.kill_switch { "on" } else { "off" },
    );
    for r in &d.reasons {
        s.push_str(&format!("- {r}\n"));
    }
    s.push_str("\n## Checks\n\n| KPI | value | pass | severe | status | threshold from |\n| --- | --- | --- | --- | --- | --- |\n");
    for c in d.checks.iter().chain(d.volume.as_ref()) {
        let status = match c.status {
            CheckStatus::Ok => "ok",
            CheckStatus::Breach => "breach",
            CheckStatus::Severe => "SEVERE",
            CheckStatus::NoData => "no data",
        };
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            c.metric,
            num(c.value),
            c.pass,
            c.severe.as_deref().unwrap_or("–"),
            status,
            c.threshold_from
        ));
    }
    if !d.alerts.is_empty() {
        s.push_str("\n## Alerts\n\n");
        for a in &d.alerts {
            s.push_str(&format!("- {:?}: {}\n", a.severity, a.text));
        }
    }
    s
}

/// One rollout run (`<stamp>_rollout_log.json`), written even when nothing
/// changed, so every run leaves a trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RolloutLog {
    pub tenant: String,
    pub at: String,
    pub trace_id: String,
    pub decision: Verdict,
    pub decision_file: String,
    pub changed: bool,
    pub from_step: u32,
    pub to_step: u32,
    pub kill_switch_before: bool,
    pub kill_switch_after: bool,
    pub reasons: Vec<String>,
}
