//! A tenant's rollout state (`operate_state.json`) and its pure
//! transitions: applying a decision and flipping the kill switch. A
//! transition that changes nothing says so (`changed == false`) and the
//! store then leaves the file alone, byte for byte.

use super::decide::Decision;
use super::verdict::Verdict;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperateState {
    pub tenant: String,
    /// Current rollout step (percent of traffic in runbook 001).
    pub step: u32,
    #[serde(default)]
    pub kill_switch: KillSwitch,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_decision: Option<AppliedDecision>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub history: Vec<HistoryEntry>,
    /// Keys written by other tools are kept as they are.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KillSwitch {
    pub active: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_at: Option<String>,
}

/// The decision a rollout last applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppliedDecision {
    pub decision: Verdict,
    pub decided_at: String,
    pub trace_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub at: String,
    /// `rollout`, `kill_switch_on` or `kill_switch_off`.
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Verdict>,
    pub from_step: u32,
    pub to_step: u32,
    pub kill_switch: bool,
    pub trace_id: String,
    pub reason: String,
}

impl OperateState {
    /// A tenant that has never been rolled out: first step, switch off.
    pub fn initial(tenant: &str, steps: &[u32]) -> OperateState {
        OperateState {
            tenant: tenant.to_string(),
            step: steps.first().copied().unwrap_or(0),
            kill_switch: KillSwitch::default(),
            last_decision: None,
            updated_at: None,
            history: Vec::new(),
            extra: serde_json::Map::new(),
        }
    }
}

/// The result of a transition.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub state: OperateState,
    pub changed: bool,
    pub from_step: u32,
    pub to_step: u32,
    pub kill_before: bool,
    pub kill_after: bool,
}

fn unchanged(s: &OperateState) -> Transition {
    Transition {
        state: s.clone(),
        changed: false,
        from_step: s.step,
        to_step: s.step,
        kill_before: s.kill_switch.active,
        kill_after: s.kill_switch.active,
    }
}

/// Applies `d` to `s` (runbook 001, "Rollout & Idempotenz"): GO sets the
/// step and turns the kill switch off, BACKOUT turns it on and drops to the
/// first step, HOLD changes nothing. A repeat is `changed == false`. A GO
/// decided at another step than the current one is refused: the state
/// moved since, and applying it could roll back a newer rollout. So is a
/// GO decided before the kill switch was turned on.
pub fn apply_decision(
    s: &OperateState,
    d: &Decision,
    steps: &[u32],
    now: &str,
    trace_id: &str,
    file: Option<String>,
) -> Result<Transition, String> {
    let (to_step, kill_after) = match d.decision {
        Verdict::Hold => return Ok(unchanged(s)),
        Verdict::Go(t) => {
            if !steps.contains(&t) {
                return Err(format!(
                    "decision {} names step {t}, which is not one of the configured steps {steps:?}",
                    d.decision
                ));
            }
            if s.step != t && s.step != d.current_step {
                return Err(format!(
                    "decision {} was made at step {} but the state is at step {}; decide again",
                    d.decision, d.current_step, s.step
                ));
            }
            // A GO ends a kill switch only if it was decided with the
            // switch on; one flipped on later stays until a new decision.
            if s.kill_switch.active && !d.kill_switch {
                return Err(format!(
                    "the kill switch was turned on after this decision ({}); decide again",
                    s.kill_switch
                        .reason
                        .as_deref()
                        .unwrap_or("no reason recorded")
                ));
            }
            (t, false)
        }
        Verdict::Backout => (steps.first().copied().unwrap_or(0), true),
    };
    if s.step == to_step && s.kill_switch.active == kill_after {
        return Ok(unchanged(s));
    }
    let reason = d.reasons.join("; ");
    let mut n = s.clone();
    n.step = to_step;
    if n.kill_switch.active != kill_after {
        n.kill_switch = KillSwitch {
            active: kill_after,
            reason: Some(format!("{}: {reason}", d.decision)),
            trace_id: Some(trace_id.to_string()),
            changed_at: Some(now.to_string()),
        };
    }
    n.last_decision = Some(AppliedDecision {
        decision: d.decision,
        decided_at: d.decided_at.clone(),
        trace_id: d.trace_id.clone(),
        file,
    });
    n.updated_at = Some(now.to_string());
    n.history.push(HistoryEntry {
        at: now.to_string(),
        action: "rollout".into(),
        decision: Some(d.decision),
        from_step: s.step,
        to_step,
        kill_switch: kill_after,
        trace_id: trace_id.to_string(),
        reason,
    });
    Ok(Transition {
        state: n,
        changed: true,
        from_step: s.step,
        to_step,
        kill_before: s.kill_switch.active,
        kill_after,
    })
}

/// Turns the kill switch on or off; the step stays. Already in that
/// position: `changed == false`, the reason of the first call is kept.
pub fn set_kill_switch(
    s: &OperateState,
    on: bool,
    reason: &str,
    trace_id: &str,
    now: &str,
) -> Transition {
    if s.kill_switch.active == on {
        return unchanged(s);
    }
    let mut n = s.clone();
    n.kill_switch = KillSwitch {
        active: on,
        reason: Some(reason.to_string()),
        trace_id: Some(trace_id.to_string()),
        changed_at: Some(now.to_string()),
    };
    n.updated_at = Some(now.to_string());
    n.history.push(HistoryEntry {
        at: now.to_string(),
        action: if on {
            "kill_switch_on"
        } else {
            "kill_switch_off"
        }
        .into(),
        decision: None,
        from_step: s.step,
        to_step: s.step,
        kill_switch: on,
        trace_id: trace_id.to_string(),
        reason: reason.to_string(),
    });
    Transition {
        state: n,
        changed: true,
        from_step: s.step,
        to_step: s.step,
        kill_before: !on,
        kill_after: on,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEPS: [u32; 4] = [10, 25, 50, 100];

    fn decision(v: Verdict, current: u32) -> Decision {
        Decision {
            tenant: "acme".into(),
            date: "2025-03-04".into(),
            decided_at: "2025-03-04T06:30:00Z".into(),
            decision: v,
            current_step: current,
            target_step: 0,
            kill_switch: false,
            trace_id: "d-1".into(),
            reasons: vec!["r1".into(), "r2".into()],
            checks: vec![],
            volume: None,
            alerts: vec![],
        }
    }

    #[test]
    fn go_advances_once_and_a_repeat_changes_nothing() {
        let s = OperateState::initial("acme", &STEPS);
        let d = decision(Verdict::Go(25), 10);
        let t = apply_decision(&s, &d, &STEPS, "now", "x", None).unwrap();
        assert!(t.changed);
        assert_eq!((t.from_step, t.to_step, t.state.step), (10, 25, 25));
        assert_eq!(t.state.history.len(), 1);
        assert_eq!(t.state.history[0].reason, "r1; r2");
        let again = apply_decision(&t.state, &d, &STEPS, "later", "y", None).unwrap();
        assert!(!again.changed);
        assert_eq!(again.state, t.state);
    }

    #[test]
    fn hold_changes_nothing_and_backout_kills_and_drops_to_the_first_step() {
        let mut s = OperateState::initial("acme", &STEPS);
        s.step = 50;
        let t = apply_decision(&s, &decision(Verdict::Hold, 50), &STEPS, "n", "x", None).unwrap();
        assert!(!t.changed);
        assert_eq!(t.state, s);
        let t =
            apply_decision(&s, &decision(Verdict::Backout, 50), &STEPS, "n", "x", None).unwrap();
        assert!(t.changed && t.kill_after && !t.kill_before);
        assert_eq!(t.state.step, 10);
        assert_eq!(
            t.state.kill_switch.reason.as_deref(),
            Some("BACKOUT: r1; r2")
        );
        assert_eq!(t.state.kill_switch.trace_id.as_deref(), Some("x"));
        let again = apply_decision(
            &t.state,
            &decision(Verdict::Backout, 50),
            &STEPS,
            "m",
            "y",
            None,
        )
        .unwrap();
        assert!(!again.changed);
        // A GO decided before the backout must not undo it ...
        let e = apply_decision(
            &t.state,
            &decision(Verdict::Go(25), 10),
            &STEPS,
            "m",
            "z",
            None,
        )
        .unwrap_err();
        assert!(
            e.contains("kill switch was turned on after this decision"),
            "{e}"
        );
        // ... one decided with the switch on turns it off.
        let mut d = decision(Verdict::Go(25), 10);
        d.kill_switch = true;
        let go = apply_decision(&t.state, &d, &STEPS, "m", "z", None).unwrap();
        assert!(go.changed && !go.kill_after);
        assert_eq!(go.state.step, 25);
    }

    #[test]
    fn stale_or_unknown_go_is_refused() {
        let mut s = OperateState::initial("acme", &STEPS);
        s.step = 50;
        let e =
            apply_decision(&s, &decision(Verdict::Go(25), 10), &STEPS, "n", "x", None).unwrap_err();
        assert!(
            e.contains("made at step 10 but the state is at step 50"),
            "{e}"
        );
        let e =
            apply_decision(&s, &decision(Verdict::Go(75), 50), &STEPS, "n", "x", None).unwrap_err();
        assert!(e.contains("not one of the configured steps"), "{e}");
    }

    #[test]
    fn kill_switch_is_idempotent_and_keeps_the_step() {
        let mut s = OperateState::initial("acme", &STEPS);
        s.step = 25;
        let on = set_kill_switch(&s, true, "incident 42", "k-1", "t1");
        assert!(on.changed);
        assert_eq!(on.state.step, 25);
        assert_eq!(on.state.history[0].action, "kill_switch_on");
        let again = set_kill_switch(&on.state, true, "other", "k-2", "t2");
        assert!(!again.changed);
        assert_eq!(
            again.state.kill_switch.reason.as_deref(),
            Some("incident 42")
        );
        let off = set_kill_switch(&on.state, false, "resolved", "k-3", "t3");
        assert!(off.changed && !off.state.kill_switch.active);
        assert_eq!(off.state.history.len(), 2);
    }

    #[test]
    fn foreign_keys_survive_a_round_trip() {
        let src = r#"{"tenant":"acme","step":25,"owner":"ops","history":[]}"#;
        let s: OperateState = serde_json::from_str(src).unwrap();
        let t = set_kill_switch(&s, true, "r", "t", "now");
        let out = serde_json::to_value(&t.state).unwrap();
        assert_eq!(out["owner"], "ops");
    }
}
