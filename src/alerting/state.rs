//! The alert state machine of one alerting rule, as a pure function of the
//! previous state, this evaluation's results and the evaluation time. Ported
//! from prometheus/prometheus: rules/alerting.go (`AlertingRule.Eval`, v3.5).

use super::serde_util::{float_string, labels_map};
use crate::model::Labels;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

/// How long a resolved alert is kept (and re-sent as resolved) before it is
/// forgotten. Keeping it lets a resolved notification survive a lost send
/// or an Alertmanager restart (Prometheus's `resolvedRetention`).
pub const RESOLVED_RETENTION_MS: i64 = 15 * 60 * 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    Inactive,
    Pending,
    Firing,
}

impl AlertState {
    pub fn as_str(&self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
        }
    }
}

/// One alert instance. Times are ms since the epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Identity: series labels without `__name__`, plus the rule's rendered
    /// labels, plus `alertname`.
    #[serde(with = "labels_map")]
    pub labels: Labels,
    pub annotations: BTreeMap<String, String>,
    pub state: AlertState,
    #[serde(with = "float_string")]
    pub value: f64,
    pub active_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fired_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<i64>,
    /// Set while a firing alert is kept firing by `keep_firing_for` after its
    /// condition stopped holding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_firing_since: Option<i64>,
}

impl Alert {
    /// The labels sent to Alertmanager: the alert's labels plus the
    /// external labels it does not already have (Prometheus's notifier adds
    /// them the same way; rule and series labels win).
    pub fn labels_with_external(&self, external: &Labels) -> Labels {
        let mut out = self.labels.clone();
        for l in external {
            if !out.contains(&l.name) {
                out.set(l.name.clone(), l.value.clone());
            }
        }
        out
    }
}

/// The active alerts of one rule, keyed by their labels.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleState {
    #[serde(with = "alerts_as_list")]
    pub alerts: BTreeMap<Labels, Alert>,
}

mod alerts_as_list {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(m: &BTreeMap<Labels, Alert>, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(m.values())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<Labels, Alert>, D::Error> {
        let v = Vec::<Alert>::deserialize(d)?;
        Ok(v.into_iter().map(|a| (a.labels.clone(), a)).collect())
    }
}

/// The rule parameters the state machine needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AlertSpec {
    pub for_ms: i64,
    pub keep_firing_for_ms: i64,
    /// The group's `limit`; 0 or less means none.
    pub limit: i64,
}

/// One element of the rule's query result, already turned into an alert
/// identity (labels rendered, `alertname` set). Identities must be unique.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub labels: Labels,
    pub annotations: BTreeMap<String, String>,
    pub value: f64,
}

/// A state change of one alert during a step.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub labels: Labels,
    pub from: AlertState,
    pub to: AlertState,
    pub at: i64,
}

/// More alerts were pending or firing than the group's `limit` allows. As in
/// Prometheus, the rule's state has been cleared.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("exceeded limit of {limit} with {count} alerts")]
pub struct LimitExceeded {
    pub limit: i64,
    pub count: usize,
}

/// Advances `state` to evaluation time `now` given the rule's results.
///
/// New results start pending (active since `now`); a pending alert fires once
/// it has been active for `for`; an alert whose result disappeared resolves
/// (pending ones are dropped at once), unless it was firing and
/// `keep_firing_for` has not run out since the result disappeared; resolved
/// alerts are kept for [`RESOLVED_RETENTION_MS`].
pub fn step(
    state: &mut RuleState,
    results: Vec<Candidate>,
    now: i64,
    spec: &AlertSpec,
) -> Result<Vec<Transition>, LimitExceeded> {
    let before: BTreeMap<Labels, AlertState> = state
        .alerts
        .iter()
        .map(|(k, a)| (k.clone(), a.state))
        .collect();
    let present: HashSet<Labels> = results.iter().map(|c| c.labels.clone()).collect();

    for c in results {
        match state.alerts.get_mut(&c.labels) {
            Some(a) if a.state != AlertState::Inactive => {
                a.value = c.value;
                a.annotations = c.annotations;
            }
            _ => {
                let a = Alert {
                    labels: c.labels.clone(),
                    annotations: c.annotations,
                    state: AlertState::Pending,
                    value: c.value,
                    active_at: now,
                    fired_at: None,
                    resolved_at: None,
                    keep_firing_since: None,
                };
                state.alerts.insert(c.labels, a);
            }
        }
    }

    let mut remove = Vec::new();
    let mut active_count = 0usize;
    for (k, a) in state.alerts.iter_mut() {
        if !present.contains(k) {
            let mut keep_firing = false;
            if a.state == AlertState::Firing && spec.keep_firing_for_ms > 0 {
                let since = *a.keep_firing_since.get_or_insert(now);
                keep_firing = now - since < spec.keep_firing_for_ms;
            }
            let expired = a
                .resolved_at
                .is_some_and(|r| now - r > RESOLVED_RETENTION_MS);
            if a.state == AlertState::Pending || expired {
                remove.push(k.clone());
            }
            if a.state != AlertState::Inactive && !keep_firing {
                a.state = AlertState::Inactive;
                a.resolved_at = Some(now);
            }
            if !keep_firing {
                continue;
            }
        } else {
            a.keep_firing_since = None;
        }
        active_count += 1;
        if a.state == AlertState::Pending && now - a.active_at >= spec.for_ms {
            a.state = AlertState::Firing;
            a.fired_at = Some(now);
        }
    }

    let mut transitions = Vec::new();
    for (k, a) in &state.alerts {
        let from = before.get(k).copied().unwrap_or(AlertState::Inactive);
        if from != a.state {
            transitions.push(Transition {
                labels: k.clone(),
                from,
                to: a.state,
                at: now,
            });
        }
    }
    for k in remove {
        state.alerts.remove(&k);
    }

    if spec.limit > 0 && active_count as i64 > spec.limit {
        state.alerts.clear();
        return Err(LimitExceeded {
            limit: spec.limit,
            count: active_count,
        });
    }
    Ok(transitions)
}

impl RuleState {
    /// Alerts that are pending or firing (resolved ones are retained too, but
    /// are not "active" for reporting).
    pub fn active(&self) -> impl Iterator<Item = &Alert> {
        self.alerts
            .values()
            .filter(|a| a.state != AlertState::Inactive)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: i64 = 60_000;

    fn cand(inst: &str, v: f64) -> Candidate {
        Candidate {
            labels: Labels::from_pairs([("alertname", "A"), ("instance", inst)]),
            annotations: BTreeMap::new(),
            value: v,
        }
    }

    fn spec(for_ms: i64, kff: i64) -> AlertSpec {
        AlertSpec {
            for_ms,
            keep_firing_for_ms: kff,
            limit: 0,
        }
    }

    fn only(s: &RuleState) -> &Alert {
        assert_eq!(s.alerts.len(), 1);
        s.alerts.values().next().unwrap()
    }

    #[test]
    fn pending_fires_exactly_at_for() {
        let mut s = RuleState::default();
        let sp = spec(5 * M, 0);
        let t = step(&mut s, vec![cand("a", 1.0)], 0, &sp).unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(
            (t[0].from, t[0].to),
            (AlertState::Inactive, AlertState::Pending)
        );
        for i in 1..5 {
            step(&mut s, vec![cand("a", 1.0)], i * M, &sp).unwrap();
            assert_eq!(only(&s).state, AlertState::Pending, "at {i}m");
        }
        let t = step(&mut s, vec![cand("a", 2.0)], 5 * M, &sp).unwrap();
        assert_eq!(
            (t[0].from, t[0].to),
            (AlertState::Pending, AlertState::Firing)
        );
        let a = only(&s);
        assert_eq!(a.state, AlertState::Firing);
        assert_eq!(a.fired_at, Some(5 * M));
        assert_eq!(a.active_at, 0);
        assert_eq!(a.value, 2.0);
    }

    #[test]
    fn zero_for_fires_on_first_evaluation() {
        let mut s = RuleState::default();
        let t = step(&mut s, vec![cand("a", 1.0)], 0, &spec(0, 0)).unwrap();
        assert_eq!(
            (t[0].from, t[0].to),
            (AlertState::Inactive, AlertState::Firing)
        );
    }

    #[test]
    fn pending_alert_that_disappears_is_dropped() {
        let mut s = RuleState::default();
        step(&mut s, vec![cand("a", 1.0)], 0, &spec(5 * M, 0)).unwrap();
        let t = step(&mut s, vec![], M, &spec(5 * M, 0)).unwrap();
        assert!(s.alerts.is_empty());
        assert_eq!(
            (t[0].from, t[0].to),
            (AlertState::Pending, AlertState::Inactive)
        );
        // Coming back starts the `for` clock again.
        step(&mut s, vec![cand("a", 1.0)], 2 * M, &spec(5 * M, 0)).unwrap();
        assert_eq!(only(&s).active_at, 2 * M);
    }

    #[test]
    fn resolved_alert_is_kept_fifteen_minutes() {
        let mut s = RuleState::default();
        let sp = spec(0, 0);
        step(&mut s, vec![cand("a", 1.0)], 0, &sp).unwrap();
        let t = step(&mut s, vec![], M, &sp).unwrap();
        assert_eq!(
            (t[0].from, t[0].to),
            (AlertState::Firing, AlertState::Inactive)
        );
        assert_eq!(only(&s).resolved_at, Some(M));
        // Still kept at exactly 15m after resolution, gone after.
        step(&mut s, vec![], M + RESOLVED_RETENTION_MS, &sp).unwrap();
        assert_eq!(only(&s).state, AlertState::Inactive);
        step(&mut s, vec![], 2 * M + RESOLVED_RETENTION_MS, &sp).unwrap();
        assert!(s.alerts.is_empty());
    }

    #[test]
    fn resolved_alert_that_returns_starts_over() {
        let mut s = RuleState::default();
        let sp = spec(2 * M, 0);
        for i in 0..3 {
            step(&mut s, vec![cand("a", 1.0)], i * M, &sp).unwrap();
        }
        assert_eq!(only(&s).state, AlertState::Firing);
        step(&mut s, vec![], 3 * M, &sp).unwrap();
        let t = step(&mut s, vec![cand("a", 1.0)], 4 * M, &sp).unwrap();
        let a = only(&s);
        assert_eq!(
            (a.state, a.active_at, a.resolved_at),
            (AlertState::Pending, 4 * M, None)
        );
        assert_eq!(
            (t[0].from, t[0].to),
            (AlertState::Inactive, AlertState::Pending)
        );
    }

    #[test]
    fn keep_firing_for_holds_a_firing_alert() {
        let mut s = RuleState::default();
        let sp = spec(0, 3 * M);
        step(&mut s, vec![cand("a", 1.0)], 0, &sp).unwrap();
        // The clock starts at the first evaluation without a result (1m);
        // the alert resolves once `now - since` reaches keep_firing_for.
        for i in 1..=4 {
            let t = step(&mut s, vec![], i * M, &sp).unwrap();
            if i < 4 {
                assert!(t.is_empty());
                assert_eq!(only(&s).state, AlertState::Firing, "at {i}m");
                assert_eq!(only(&s).keep_firing_since, Some(M));
            } else {
                assert_eq!(
                    (t[0].from, t[0].to),
                    (AlertState::Firing, AlertState::Inactive)
                );
                assert_eq!(only(&s).resolved_at, Some(4 * M));
            }
        }
    }

    #[test]
    fn keep_firing_for_resets_when_condition_returns() {
        let mut s = RuleState::default();
        let sp = spec(0, 2 * M);
        step(&mut s, vec![cand("a", 1.0)], 0, &sp).unwrap();
        step(&mut s, vec![], M, &sp).unwrap();
        step(&mut s, vec![cand("a", 1.0)], 2 * M, &sp).unwrap();
        assert_eq!(only(&s).keep_firing_since, None);
        step(&mut s, vec![], 3 * M, &sp).unwrap();
        step(&mut s, vec![], 4 * M, &sp).unwrap();
        assert_eq!(only(&s).state, AlertState::Firing);
        step(&mut s, vec![], 5 * M, &sp).unwrap();
        assert_eq!(only(&s).state, AlertState::Inactive);
    }

    #[test]
    fn keep_firing_for_does_not_apply_to_pending() {
        let mut s = RuleState::default();
        let sp = spec(5 * M, 10 * M);
        step(&mut s, vec![cand("a", 1.0)], 0, &sp).unwrap();
        step(&mut s, vec![], M, &sp).unwrap();
        assert!(s.alerts.is_empty());
    }

    #[test]
    fn limit_counts_pending_and_firing_and_clears_state() {
        let mut s = RuleState::default();
        let sp = AlertSpec {
            for_ms: 0,
            keep_firing_for_ms: 0,
            limit: 1,
        };
        assert!(step(&mut s, vec![cand("a", 1.0)], 0, &sp).is_ok());
        let err = step(&mut s, vec![cand("a", 1.0), cand("b", 1.0)], M, &sp).unwrap_err();
        assert_eq!(err.to_string(), "exceeded limit of 1 with 2 alerts");
        assert!(s.alerts.is_empty());
    }

    #[test]
    fn external_labels_never_override_alert_labels() {
        let mut s = RuleState::default();
        step(&mut s, vec![cand("a", 1.0)], 0, &spec(0, 0)).unwrap();
        let ext = Labels::from_pairs([("instance", "ext"), ("cluster", "eu")]);
        let l = only(&s).labels_with_external(&ext);
        assert_eq!(l.get("instance"), Some("a"));
        assert_eq!(l.get("cluster"), Some("eu"));
        assert_eq!(l.get("alertname"), Some("A"));
    }

    #[test]
    fn state_round_trips_through_json() {
        let mut s = RuleState::default();
        step(&mut s, vec![cand("a", f64::INFINITY)], 0, &spec(M, 0)).unwrap();
        let j = serde_json::to_string(&s).unwrap();
        assert!(j.contains(r#""value":"+Inf""#), "{j}");
        assert!(j.contains(r#""state":"pending""#), "{j}");
        let back: RuleState = serde_json::from_str(&j).unwrap();
        assert_eq!(back, s);
    }
}
