//! The decision, as a pure function of the measured KPIs, the gate, the
//! tenant's state and the time (runbook 001, "Entscheidungslogik"):
//! every threshold met and enough volume -> GO to the next step; a breach,
//! missing data or too little volume -> HOLD; a severe breach -> BACKOUT.
//! A GO outside the release windows or inside a change freeze becomes HOLD.

use super::config::{CanaryConfig, KpiSpec, Origin, Severity, Source};
use super::state::OperateState;
use super::threshold::{Op, Threshold};
use super::verdict::Verdict;
use crate::routing::timeinterval::any_contains;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One measured value; `None` with a note saying why there is none.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    pub value: Option<f64>,
    pub note: Option<String>,
}

impl Measured {
    pub fn value(v: f64) -> Measured {
        Measured {
            value: Some(v),
            note: None,
        }
    }
    pub fn missing(note: impl Into<String>) -> Measured {
        Measured {
            value: None,
            note: Some(note.into()),
        }
    }
}

/// What the KPI loader measured, by KPI name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Measurements {
    pub kpis: BTreeMap<String, Measured>,
    pub volume: Option<Measured>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Ok,
    Breach,
    Severe,
    NoData,
}

/// One KPI against its thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub metric: String,
    pub source: String,
    pub value: Option<f64>,
    /// The pass condition, e.g. `<= 0.02`.
    pub pass: String,
    pub threshold: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severe: Option<String>,
    /// `config` or the environment variable that set the threshold.
    pub threshold_from: String,
    pub status: CheckStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// An alert in runbook 000's shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub tenant_id: String,
    pub trace_id: String,
    pub metric: String,
    pub threshold: f64,
    pub value: Option<f64>,
    pub severity: Severity,
    /// Short text for Slack and email.
    pub text: String,
}

/// A decision with everything that led to it. Written as
/// `<stamp>_decision.json` and read back by `rollout`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub tenant: String,
    pub date: String,
    pub decided_at: String,
    pub decision: Verdict,
    /// The state's step when deciding.
    pub current_step: u32,
    /// The step after a rollout of this decision.
    pub target_step: u32,
    pub kill_switch: bool,
    pub trace_id: String,
    pub reasons: Vec<String>,
    pub checks: Vec<Check>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<Check>,
    pub alerts: Vec<Alert>,
}

/// Everything a decision depends on.
pub struct DecideInput<'a> {
    pub cfg: &'a CanaryConfig,
    pub tenant: &'a str,
    pub date: &'a str,
    pub measured: &'a Measurements,
    pub state: &'a OperateState,
    pub now_ms: i64,
    pub trace_id: &'a str,
}

/// The severe-breach threshold of `k`: its own, or `severe_factor` times
/// beyond the pass threshold. A zero threshold has no multiple (DLQ depth
/// 0 in runbook 000 blocks the upgrade but is not by itself a backout).
pub fn severe_threshold(k: &KpiSpec, factor: f64) -> Option<Threshold> {
    if k.severe.is_some() {
        return k.severe;
    }
    let t = k.pass.value;
    if t == 0.0 {
        return None;
    }
    match k.pass.op {
        Op::Lt | Op::Le => Some(Threshold {
            op: Op::Gt,
            value: t * factor,
        }),
        Op::Gt | Op::Ge => Some(Threshold {
            op: Op::Lt,
            value: t / factor,
        }),
        Op::Eq => None,
    }
}

fn origin(o: &Origin) -> String {
    match o {
        Origin::Config => "config".into(),
        Origin::Env(v) => v.clone(),
    }
}

fn fmt_value(v: f64) -> String {
    // Shortest round-trip form; rates like 0.035 stay readable.
    format!("{v}")
}

/// Decides. Pure: same input, same decision.
pub fn decide(inp: &DecideInput) -> Decision {
    let cfg = inp.cfg;
    let mut reasons = Vec::new();
    let mut checks = Vec::new();
    for k in &cfg.kpis {
        let m = inp
            .measured
            .kpis
            .get(&k.name)
            .cloned()
            .unwrap_or_else(|| Measured::missing("not measured"));
        let severe = severe_threshold(k, cfg.severe_factor);
        let status = match m.value {
            None => CheckStatus::NoData,
            Some(v) if k.pass.holds(v) => CheckStatus::Ok,
            Some(v) if severe.is_some_and(|s| s.holds(v)) => CheckStatus::Severe,
            Some(_) => CheckStatus::Breach,
        };
        let from = match &k.origin {
            Origin::Config => String::new(),
            Origin::Env(v) => format!(" (from {v})"),
        };
        match (status, m.value) {
            (CheckStatus::NoData, _) => reasons.push(format!(
                "{}: no data ({})",
                k.name,
                m.note.as_deref().unwrap_or("no value")
            )),
            (CheckStatus::Breach, Some(v)) => reasons.push(format!(
                "{} {} breaches {}{from}",
                k.name,
                fmt_value(v),
                k.pass
            )),
            (CheckStatus::Severe, Some(v)) => reasons.push(format!(
                "{} {} is a severe breach ({}; pass {}{from})",
                k.name,
                fmt_value(v),
                severe.map(|s| s.to_string()).unwrap_or_default(),
                k.pass
            )),
            _ => {}
        }
        checks.push(Check {
            metric: k.name.clone(),
            source: k.source.describe(),
            value: m.value,
            pass: k.pass.to_string(),
            threshold: k.pass.value,
            severe: severe.map(|s| s.to_string()),
            threshold_from: origin(&k.origin),
            status,
            note: m.note,
        });
    }

    let mut low_volume = false;
    let volume = cfg.min_volume.as_ref().map(|mv| {
        let m = inp
            .measured
            .volume
            .clone()
            .unwrap_or_else(|| Measured::missing("not measured"));
        let pass = Threshold {
            op: Op::Ge,
            value: mv.min,
        };
        let status = match m.value {
            None => CheckStatus::NoData,
            Some(v) if pass.holds(v) => CheckStatus::Ok,
            Some(_) => CheckStatus::Breach,
        };
        let from = match &mv.origin {
            Origin::Config => String::new(),
            Origin::Env(v) => format!(" (from {v})"),
        };
        match m.value {
            None => reasons.push(format!(
                "volume: no data ({})",
                m.note.as_deref().unwrap_or("no value")
            )),
            Some(v) if status == CheckStatus::Breach => reasons.push(format!(
                "volume {} ({}) below minimum {}{from}",
                fmt_value(v),
                mv.source.describe(),
                fmt_value(mv.min)
            )),
            _ => {}
        }
        low_volume = status != CheckStatus::Ok;
        Check {
            metric: "volume".into(),
            source: mv.source.describe(),
            value: m.value,
            pass: pass.to_string(),
            threshold: mv.min,
            severe: None,
            threshold_from: origin(&mv.origin),
            status,
            note: m.note,
        }
    });

    let state = inp.state;
    let any = |s: CheckStatus| checks.iter().any(|c| c.status == s);
    let first = cfg.steps.first().copied().unwrap_or(0);
    let (decision, target_step) = if any(CheckStatus::Severe) {
        // Safety first: a severe breach backs out even at low volume; the
        // kill switch is cheap to undo, a bad rollout is not.
        reasons.push(format!(
            "severe breach: kill switch on, back to step {first}"
        ));
        (Verdict::Backout, first)
    } else if any(CheckStatus::Breach) || any(CheckStatus::NoData) || low_volume {
        (Verdict::Hold, state.step)
    } else {
        let next = cfg
            .steps
            .iter()
            .copied()
            .find(|&s| s > state.step)
            .unwrap_or_else(|| cfg.steps.last().copied().unwrap_or(state.step));
        let mut blocked = false;
        if !cfg.release_windows.is_empty() && !any_contains(&cfg.release_windows, inp.now_ms) {
            reasons.push("outside release window".into());
            blocked = true;
        }
        if any_contains(&cfg.change_freeze, inp.now_ms) {
            reasons.push("change freeze".into());
            blocked = true;
        }
        if blocked {
            (Verdict::Hold, state.step)
        } else {
            reasons.push(format!("all {} KPIs within thresholds", checks.len()));
            if let Some(v) = volume.as_ref().and_then(|c| c.value) {
                reasons.push(format!(
                    "volume {} >= {}",
                    fmt_value(v),
                    fmt_value(cfg.min_volume.as_ref().map_or(0.0, |m| m.min))
                ));
            }
            if next == state.step {
                reasons.push(format!("already at the last step {next}"));
            } else {
                reasons.push(format!("step {} -> {next}", state.step));
            }
            if state.kill_switch.active {
                reasons.push(format!(
                    "kill switch is on ({}); a rollout of this GO turns it off",
                    state.kill_switch.reason.as_deref().unwrap_or("no reason recorded")
                ));
            }
            (Verdict::Go(next), next)
        }
    };

    let alerts = checks
        .iter()
        .zip(&cfg.kpis)
        .filter(|(c, _)| c.status != CheckStatus::Ok)
        .map(|(c, k)| alert(inp, c, k, decision))
        .collect();

    Decision {
        tenant: inp.tenant.to_string(),
        date: inp.date.to_string(),
        decided_at: super::report::rfc3339(inp.now_ms),
        decision,
        current_step: state.step,
        target_step,
        kill_switch: state.kill_switch.active,
        trace_id: inp.trace_id.to_string(),
        reasons,
        checks,
        volume,
        alerts,
    }
}

fn alert(inp: &DecideInput, c: &Check, k: &KpiSpec, d: Verdict) -> Alert {
    let severity = if c.status == CheckStatus::Severe {
        Severity::Critical
    } else {
        k.severity
    };
    let value = c
        .value
        .map(fmt_value)
        .unwrap_or_else(|| "no data".into());
    let what = match c.status {
        CheckStatus::Severe => "severe breach",
        CheckStatus::NoData => "missing",
        _ => "breach",
    };
    Alert {
        tenant_id: inp.tenant.to_string(),
        trace_id: inp.trace_id.to_string(),
        metric: c.metric.clone(),
        threshold: c.threshold,
        value: c.value,
        severity,
        text: format!(
            "[{}] {} {} ({what}, pass {}): {d}",
            inp.tenant, c.metric, value, c.pass
        ),
    }
}

/// A KPI source that needs the tenant's KPI JSON.
pub fn needs_kpi_json(s: &Source) -> bool {
    matches!(s, Source::Field(_) | Source::Ratio { .. })
}
