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

/// A value for messages: at most 6 decimals (files keep the exact value).
pub fn fmt_value(v: f64) -> String {
    if v.abs() < 1e9 {
        format!("{}", (v * 1e6).round() / 1e6)
    } else {
        format!("{v}")
    }
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
                    state
                        .kill_switch
                        .reason
                        .as_deref()
                        .unwrap_or("no reason recorded")
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
    let value = c.value.map(fmt_value).unwrap_or_else(|| "no data".into());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canary::config::{default_config, parse_str};
    use std::path::Path;

    /// Decides the built-in runbook-001 gate over a KPI JSON object.
    fn run(cfg: &CanaryConfig, kpis: serde_json::Value, state: &OperateState) -> Decision {
        let dir = tempfile::tempdir().unwrap();
        let mut paths = cfg.paths.for_tenant("acme", "2025-03-04");
        paths.kpi = dir.path().join("kpi.json");
        std::fs::write(&paths.kpi, kpis.to_string()).unwrap();
        let measured = crate::canary::kpi::measure(cfg, &paths, None, 0).unwrap();
        decide(&DecideInput {
            cfg,
            tenant: "acme",
            date: "2025-03-04",
            measured: &measured,
            state,
            now_ms: 1_741_073_400_000,
            trace_id: "t-1",
        })
    }

    fn kpis(error_rate: f64, bounces: f64, sent: f64, dlq: f64, retry: f64) -> serde_json::Value {
        serde_json::json!({
            "error_rate": error_rate, "hard_bounces": bounces, "notices_sent": sent,
            "dlq_depth": dlq, "retry_depth": retry
        })
    }

    fn at(step: u32) -> OperateState {
        let mut s = OperateState::initial("acme", &[10, 25, 50, 100]);
        s.step = step;
        s
    }

    fn rb001() -> CanaryConfig {
        default_config(Path::new("/"))
    }

    #[test]
    fn go_walks_the_steps_and_stays_at_the_last() {
        let c = rb001();
        let clean = kpis(0.004, 3.0, 250.0, 0.0, 12.0);
        for (from, want) in [(10, 25), (25, 50), (50, 100), (100, 100)] {
            let d = run(&c, clean.clone(), &at(from));
            assert_eq!(d.decision, Verdict::Go(want), "{:?}", d.reasons);
            assert_eq!((d.current_step, d.target_step), (from, want));
        }
        let d = run(&c, clean, &at(100));
        assert!(d
            .reasons
            .iter()
            .any(|r| r == "already at the last step 100"));
        assert!(d.alerts.is_empty());
    }

    #[test]
    fn runbook_001_thresholds_hold_at_the_edge_and_hold_beyond() {
        let c = rb001();
        // Each limit exactly: GO (all are "<=").
        let edge = kpis(0.02, 5.0, 100.0, 10.0, 50.0);
        assert_eq!(run(&c, edge, &at(10)).decision, Verdict::Go(25));
        // Just beyond each one, alone: HOLD with that reason.
        for (k, want) in [
            (
                kpis(0.021, 5.0, 100.0, 10.0, 50.0),
                "error_rate 0.021 breaches <= 0.02",
            ),
            (
                kpis(0.02, 6.0, 100.0, 10.0, 50.0),
                "hard_bounce_rate 0.06 breaches <= 0.05",
            ),
            (
                kpis(0.02, 5.0, 100.0, 11.0, 50.0),
                "dlq_depth 11 breaches <= 10",
            ),
            (
                kpis(0.02, 5.0, 100.0, 10.0, 51.0),
                "retry_depth 51 breaches <= 50",
            ),
        ] {
            let d = run(&c, k, &at(25));
            assert_eq!(d.decision, Verdict::Hold);
            assert_eq!(d.target_step, 25);
            assert_eq!(d.reasons, vec![want.to_string()]);
            assert_eq!(d.alerts.len(), 1);
            assert_eq!(d.alerts[0].severity, Severity::Critical);
        }
    }

    #[test]
    fn every_reason_is_listed() {
        let d = run(&rb001(), kpis(0.03, 7.0, 100.0, 12.0, 60.0), &at(25));
        assert_eq!(d.decision, Verdict::Hold);
        assert_eq!(d.reasons.len(), 4, "{:?}", d.reasons);
        let a = &d.alerts[0];
        assert_eq!(
            (
                a.tenant_id.as_str(),
                a.trace_id.as_str(),
                a.metric.as_str(),
                a.threshold,
                a.value
            ),
            ("acme", "t-1", "error_rate", 0.02, Some(0.03))
        );
        assert_eq!(
            a.text,
            "[acme] error_rate 0.03 (breach, pass <= 0.02): HOLD"
        );
    }

    #[test]
    fn severe_factor_turns_hold_into_backout() {
        let c = rb001();
        // factor 2: error rate > 4 % is severe; exactly 4 % is a plain breach.
        let d = run(&c, kpis(0.04, 0.0, 100.0, 0.0, 0.0), &at(50));
        assert_eq!(d.decision, Verdict::Hold);
        let d = run(&c, kpis(0.0401, 0.0, 100.0, 0.0, 0.0), &at(50));
        assert_eq!(d.decision, Verdict::Backout);
        assert_eq!(d.target_step, 10);
        assert_eq!(d.checks[0].status, CheckStatus::Severe);
        assert_eq!(d.checks[0].severe.as_deref(), Some("> 0.04"));
        assert!(d.reasons[0].starts_with("error_rate 0.0401 is a severe breach"));
        // DLQ 21 > 2 x 10 as well.
        let d = run(&c, kpis(0.0, 0.0, 100.0, 21.0, 0.0), &at(50));
        assert_eq!(d.decision, Verdict::Backout);
    }

    #[test]
    fn minimum_volume_holds_and_a_missing_value_is_no_data() {
        let c = rb001();
        assert_eq!(
            run(&c, kpis(0.0, 0.0, 3.0, 0.0, 0.0), &at(10)).decision,
            Verdict::Go(25)
        );
        let d = run(&c, kpis(0.0, 0.0, 2.0, 0.0, 0.0), &at(10));
        assert_eq!(d.decision, Verdict::Hold);
        assert_eq!(
            d.reasons,
            vec!["volume 2 (field notices_sent) below minimum 3"]
        );
        // No sends at all: the bounce ratio has no data either.
        let d = run(&c, kpis(0.0, 0.0, 0.0, 0.0, 0.0), &at(10));
        assert_eq!(d.decision, Verdict::Hold);
        assert!(d
            .reasons
            .contains(&"hard_bounce_rate: no data (notices_sent is 0)".to_string()));
        let d = run(
            &c,
            serde_json::json!({"error_rate": 0.0, "notices_sent": 10, "hard_bounces": 0, "dlq_depth": 0}),
            &at(10),
        );
        assert_eq!(d.decision, Verdict::Hold);
        assert!(
            d.reasons[0].starts_with("retry_depth: no data (retry_depth missing in"),
            "{:?}",
            d.reasons
        );
    }

    #[test]
    fn a_severe_breach_backs_out_even_at_low_volume() {
        let d = run(&rb001(), kpis(0.5, 0.0, 2.0, 0.0, 0.0), &at(25));
        assert_eq!(d.decision, Verdict::Backout);
    }

    #[test]
    fn env_override_changes_the_outcome() {
        let mut c = rb001();
        let k = kpis(0.025, 0.0, 100.0, 0.0, 0.0);
        assert_eq!(run(&c, k.clone(), &at(10)).decision, Verdict::Hold);
        c.apply_env(&[("CANARY_THRESHOLD_ERROR_RATE".to_string(), "3%".to_string())].into())
            .unwrap();
        let d = run(&c, k, &at(10));
        assert_eq!(d.decision, Verdict::Go(25));
        assert_eq!(d.checks[0].threshold_from, "CANARY_THRESHOLD_ERROR_RATE");
        assert_eq!(d.checks[0].pass, "<= 0.03");
        // The severe limit follows the override (2 x 3 %).
        assert_eq!(d.checks[0].severe.as_deref(), Some("> 0.06"));
    }

    #[test]
    fn go_with_kill_switch_on_says_the_rollout_turns_it_off() {
        let mut s = at(10);
        s.kill_switch.active = true;
        s.kill_switch.reason = Some("BACKOUT: error_rate".into());
        let d = run(&rb001(), kpis(0.0, 0.0, 100.0, 0.0, 0.0), &s);
        assert_eq!(d.decision, Verdict::Go(25));
        assert!(d.kill_switch);
        assert!(d
            .reasons
            .last()
            .unwrap()
            .starts_with("kill switch is on (BACKOUT: error_rate)"));
    }

    #[test]
    fn zero_threshold_breach_is_hold_not_backout() {
        // Runbook 000: any DLQ message blocks the upgrade (HOLD).
        let c = parse_str(
            "kpis:\n  - name: dlq_depth\n    field: dlq_depth\n    pass: \"<= 0\"\n",
            "g.yml",
            Path::new("/"),
        )
        .unwrap();
        let d = run(&c, serde_json::json!({"dlq_depth": 500}), &at(10));
        assert_eq!(d.decision, Verdict::Hold);
    }
}

/// Release windows and change freeze of runbook 002 (Tue/Thu 20-22 CET,
/// freeze 08-18 CET), in Europe/Berlin, across the 2025 spring DST switch
/// (30 March: 02:00 CET -> 03:00 CEST).
#[cfg(test)]
mod window_tests {
    use super::*;
    use crate::canary::config::parse_str;
    use std::path::Path;

    const WINDOWS: &str = "kpis:\n  - name: e\n    field: e\n    pass: \"<= 1\"\nrelease_windows:\n  - weekdays: [tuesday, thursday]\n    times: [{start_time: \"20:00\", end_time: \"22:00\"}]\n    location: Europe/Berlin\n";
    const FREEZE: &str = "kpis:\n  - name: e\n    field: e\n    pass: \"<= 1\"\nchange_freeze:\n  - times: [{start_time: \"08:00\", end_time: \"18:00\"}]\n    location: Europe/Berlin\n";

    fn verdict(src: &str, now: &str) -> (Verdict, Vec<String>) {
        let cfg = parse_str(src, "g.yml", Path::new("/")).unwrap();
        let mut m = Measurements::default();
        m.kpis.insert("e".into(), Measured::value(0.0));
        let state = OperateState::initial("acme", &cfg.steps);
        let d = decide(&DecideInput {
            cfg: &cfg,
            tenant: "acme",
            date: "d",
            measured: &m,
            state: &state,
            now_ms: crate::model::time::parse_time(now).unwrap(),
            trace_id: "t",
        });
        (d.decision, d.reasons)
    }

    fn go(src: &str, now: &str) -> bool {
        verdict(src, now).0 == Verdict::Go(25)
    }

    #[test]
    fn release_window_edges_in_winter_and_summer_time() {
        // Tuesday 25 March 2025, CET (UTC+1): 20:00-22:00 = 19:00-21:00Z.
        assert!(!go(WINDOWS, "2025-03-25T18:59:59Z"));
        assert!(go(WINDOWS, "2025-03-25T19:00:00Z"));
        assert!(go(WINDOWS, "2025-03-25T20:59:59Z"));
        assert!(!go(WINDOWS, "2025-03-25T21:00:00Z"));
        // Tuesday 1 April 2025, CEST (UTC+2): 20:00-22:00 = 18:00-20:00Z.
        assert!(!go(WINDOWS, "2025-04-01T17:59:59Z"));
        assert!(go(WINDOWS, "2025-04-01T18:00:00Z"));
        assert!(go(WINDOWS, "2025-04-01T19:59:59Z"));
        assert!(!go(WINDOWS, "2025-04-01T20:00:00Z"));
        // Wednesday at 20:30 local: not a release day.
        let (v, reasons) = verdict(WINDOWS, "2025-03-26T19:30:00Z");
        assert_eq!(v, Verdict::Hold);
        assert_eq!(reasons, vec!["outside release window"]);
    }

    #[test]
    fn change_freeze_edges_across_the_dst_switch() {
        // Friday 28 March (CET): 08:00-18:00 = 07:00-17:00Z.
        assert!(go(FREEZE, "2025-03-28T06:59:59Z"));
        let (v, reasons) = verdict(FREEZE, "2025-03-28T07:00:00Z");
        assert_eq!(
            (v, reasons),
            (Verdict::Hold, vec!["change freeze".to_string()])
        );
        assert!(!go(FREEZE, "2025-03-28T16:59:59Z"));
        assert!(go(FREEZE, "2025-03-28T17:00:00Z"));
        // Monday 31 March (CEST): 08:00-18:00 = 06:00-16:00Z.
        assert!(go(FREEZE, "2025-03-31T05:59:59Z"));
        assert!(!go(FREEZE, "2025-03-31T06:00:00Z"));
        assert!(!go(FREEZE, "2025-03-31T15:59:59Z"));
        assert!(go(FREEZE, "2025-03-31T16:00:00Z"));
        // 07:00Z is 08:00 CET on Saturday 29 March but 09:00 CEST on Sunday 30.
        assert!(!go(FREEZE, "2025-03-30T06:30:00Z"));
    }

    #[test]
    fn windows_only_turn_go_into_hold() {
        let cfg = format!("{FREEZE}severe_factor: 2\n");
        let c = parse_str(&cfg, "g.yml", Path::new("/")).unwrap();
        let mut m = Measurements::default();
        m.kpis.insert("e".into(), Measured::value(5.0));
        let state = OperateState::initial("acme", &c.steps);
        let d = decide(&DecideInput {
            cfg: &c,
            tenant: "acme",
            date: "d",
            measured: &m,
            state: &state,
            now_ms: crate::model::time::parse_time("2025-03-28T12:00:00Z").unwrap(),
            trace_id: "t",
        });
        // A backout is never delayed by a freeze.
        assert_eq!(d.decision, Verdict::Backout);
    }
}
