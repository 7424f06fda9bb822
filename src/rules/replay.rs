//! Deciding what is pending and firing at time T without saved state: replay
//! every group at its interval over a window ending exactly at T, running the
//! full state machine, so that an alert with `for: D` fires only when the
//! data shows its condition held at every step across D. This is what
//! `promtool test rules` decides for the same data (prometheus/prometheus:
//! cmd/promtool/unittest.go evaluates from time 0 at each interval).

use super::eval::{eval_group, EvalContext, GroupState, RuleEvalError};
use super::group::{Rule, RuleFile, DEFAULT_INTERVAL_MS};
use crate::alerting::{Alert, AlertState};
use crate::datasource::{Appender, Querier};
use crate::model::Labels;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// Interval of groups that set none (Prometheus's global default: 1m).
    pub default_interval_ms: i64,
    pub external_labels: Labels,
    pub external_url: String,
    /// Time of the earliest input sample, when known. The replay starts at
    /// the first step at or after it: promtool evaluates from the start of
    /// its data too, and a `for: 1y` must not cost a year of steps.
    pub data_start_ms: Option<i64>,
}

/// Upper bound on the steps replayed per group, whatever `for` says.
pub const MAX_REPLAY_STEPS: i64 = 100_000;

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            default_interval_ms: DEFAULT_INTERVAL_MS,
            external_labels: Labels::new(),
            external_url: String::new(),
            data_start_ms: None,
        }
    }
}

/// A pending or firing alert at the end of the replay.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertReport {
    pub file: String,
    pub group: String,
    pub rule: String,
    pub for_ms: i64,
    pub alert: Alert,
}

impl AlertReport {
    /// Time left before a pending alert fires (if it keeps holding); None
    /// when firing.
    pub fn for_remaining_ms(&self, at: i64) -> Option<i64> {
        (self.alert.state == AlertState::Pending)
            .then(|| (self.alert.active_at + self.for_ms - at).max(0))
    }
}

#[derive(Debug, Clone, Default)]
pub struct ReplayReport {
    pub evaluated_at: i64,
    /// Firing and pending alerts, in file, group, rule and label order.
    pub alerts: Vec<AlertReport>,
    /// The most recent failure of each rule that failed at any step.
    pub errors: Vec<RuleEvalError>,
}

impl ReplayReport {
    pub fn firing(&self) -> impl Iterator<Item = &AlertReport> {
        self.alerts
            .iter()
            .filter(|a| a.alert.state == AlertState::Firing)
    }
}

/// How far back the replay starts: long enough for the longest `for` plus
/// `keep_firing_for` to play out, plus one interval so that the first step
/// that matters is not the first step replayed.
pub fn replay_window_ms(files: &[RuleFile], default_interval_ms: i64) -> i64 {
    let mut longest = 0;
    let mut max_interval = 0;
    for g in files.iter().flat_map(|f| &f.groups) {
        max_interval = max_interval.max(g.interval_or(default_interval_ms));
        for r in &g.rules {
            if let Rule::Alerting(a) = r {
                longest = longest.max(a.for_ms.saturating_add(a.keep_firing_for_ms));
            }
        }
    }
    longest.saturating_add(max_interval)
}

/// Replays every group of `files` up to `at` (ms) against `ds`, which both
/// answers queries and stores what recording rules (and `ALERTS`) produce.
pub fn replay<D: Querier + Appender>(
    files: &[RuleFile],
    ds: &D,
    at: i64,
    opts: &ReplayOptions,
) -> ReplayReport {
    let window = replay_window_ms(files, opts.default_interval_ms);
    let groups: Vec<_> = files.iter().flat_map(|f| &f.groups).collect();
    // (time, group index): all groups step through time together, and at
    // equal times in file order, so one group's recordings are visible to
    // the groups after it.
    let mut schedule = Vec::new();
    for (gi, g) in groups.iter().enumerate() {
        let interval = g.interval_or(opts.default_interval_ms).max(1);
        let mut steps = (window + interval - 1) / interval;
        if let Some(start) = opts.data_start_ms {
            // The first grid point at or after the first sample.
            steps = steps.min((at - start).div_euclid(interval).max(0));
        }
        let steps = steps.min(MAX_REPLAY_STEPS);
        for k in (0..=steps).rev() {
            schedule.push((at - k * interval, gi));
        }
    }
    schedule.sort();

    let ctx = EvalContext {
        querier: ds,
        appender: ds,
        external_labels: opts.external_labels.clone(),
        external_url: opts.external_url.clone(),
    };
    let mut states = vec![GroupState::default(); groups.len()];
    let mut errors: BTreeMap<(usize, usize), RuleEvalError> = BTreeMap::new();
    for (t, gi) in schedule {
        let outcome = eval_group(groups[gi], &mut states[gi], &ctx, t);
        for e in outcome.errors {
            errors.insert((gi, e.index), e);
        }
    }

    let mut alerts = Vec::new();
    for (gi, g) in groups.iter().enumerate() {
        for (ri, r) in g.rules.iter().enumerate() {
            let Rule::Alerting(a) = r else { continue };
            let Some(rs) = states[gi].rules.get(ri) else {
                continue;
            };
            for al in rs.alerts.active() {
                alerts.push(AlertReport {
                    file: g.file.clone(),
                    group: g.name.clone(),
                    rule: a.name.clone(),
                    for_ms: a.for_ms,
                    alert: al.clone(),
                });
            }
        }
    }
    ReplayReport {
        evaluated_at: at,
        alerts,
        errors: errors.into_values().collect(),
    }
}

/// Saved state is from a later time than the evaluation asked for.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("group {group:?} of {file} was last evaluated at {last_eval} ms, after the requested time {at} ms; alert state cannot go back in time")]
pub struct StateFromFuture {
    pub file: String,
    pub group: String,
    pub last_eval: i64,
    pub at: i64,
}

/// One evaluation of every group at `at`, continuing from `state` (what a
/// previous run saved) instead of replaying history: `check --state` run by
/// cron every interval steps each alert exactly as a Prometheus server
/// evaluating at those times would. `state` is updated in place; groups and
/// rules that no longer exist are dropped from it.
pub fn evaluate_with_state<D: Querier + Appender>(
    files: &[RuleFile],
    ds: &D,
    at: i64,
    opts: &ReplayOptions,
    state: &mut crate::alerting::StateFile,
) -> Result<ReplayReport, StateFromFuture> {
    use crate::alerting::{GroupRecord, RuleRecord};
    let groups: Vec<_> = files.iter().flat_map(|f| &f.groups).collect();
    for g in &groups {
        if let Some(rec) = state.group(&g.file, &g.name) {
            if rec.last_eval > at {
                return Err(StateFromFuture {
                    file: g.file.clone(),
                    group: g.name.clone(),
                    last_eval: rec.last_eval,
                    at,
                });
            }
        }
    }
    let ctx = EvalContext {
        querier: ds,
        appender: ds,
        external_labels: opts.external_labels.clone(),
        external_url: opts.external_url.clone(),
    };
    let mut records = Vec::with_capacity(groups.len());
    let mut alerts = Vec::new();
    let mut errors = Vec::new();
    for g in &groups {
        let rec = state.group(&g.file, &g.name);
        let mut gs = GroupState::default();
        for (i, r) in g.rules.iter().enumerate() {
            let mut rs = super::eval::RuleRunState::default();
            if let (Rule::Alerting(a), Some(rec)) = (r, rec) {
                if let Some(saved) = rec.rule(i, &a.name) {
                    rs.alerts = saved.clone();
                }
            }
            gs.rules.push(rs);
        }
        let outcome = eval_group(g, &mut gs, &ctx, at);
        errors.extend(outcome.errors);
        let mut rules = Vec::new();
        for (i, r) in g.rules.iter().enumerate() {
            let Rule::Alerting(a) = r else { continue };
            let rs = &gs.rules[i].alerts;
            for al in rs.active() {
                alerts.push(AlertReport {
                    file: g.file.clone(),
                    group: g.name.clone(),
                    rule: a.name.clone(),
                    for_ms: a.for_ms,
                    alert: al.clone(),
                });
            }
            if !rs.alerts.is_empty() {
                rules.push(RuleRecord {
                    index: i,
                    name: a.name.clone(),
                    state: rs.clone(),
                });
            }
        }
        records.push(GroupRecord {
            file: g.file.clone(),
            group: g.name.clone(),
            last_eval: at,
            rules,
        });
    }
    state.groups = records;
    state.saved_at = at;
    Ok(ReplayReport {
        evaluated_at: at,
        alerts,
        errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasource::QueryError;
    use crate::promql::{Annotations, QueryOutput, QueryValue};
    use crate::rules::parse_rule_file;
    use promql_parser::parser::Expr;
    use std::cell::RefCell;

    const M: i64 = 60_000;
    const T: i64 = 1_000 * M;

    type Answer = Box<dyn Fn(i64) -> Result<Vec<(Labels, f64)>, String>>;

    /// Answers each expression (by text) with a function of the query time,
    /// and serves what was appended when asked for a recorded name.
    #[derive(Default)]
    struct Fake {
        answers: Vec<(String, Answer)>,
        appended: RefCell<Vec<(Labels, i64, f64)>>,
        asked: RefCell<Vec<(String, i64)>>,
    }

    impl Fake {
        fn on(
            mut self,
            expr: &str,
            f: impl Fn(i64) -> Result<Vec<(Labels, f64)>, String> + 'static,
        ) -> Self {
            self.answers.push((expr.to_string(), Box::new(f)));
            self
        }
    }

    impl Querier for Fake {
        fn instant(&self, _e: &Expr, text: &str, t: i64) -> Result<QueryOutput, QueryError> {
            self.asked.borrow_mut().push((text.to_string(), t));
            let v = match self.answers.iter().find(|(e, _)| e == text) {
                Some((_, f)) => f(t).map_err(QueryError::Unavailable)?,
                // A recorded series, read back at exactly this time.
                None => self
                    .appended
                    .borrow()
                    .iter()
                    .filter(|(l, at, v)| {
                        l.metric_name() == Some(text) && *at == t && !crate::model::is_stale_nan(*v)
                    })
                    .map(|(l, _, v)| (l.clone(), *v))
                    .collect(),
            };
            Ok(QueryOutput {
                value: QueryValue::Vector(v),
                annotations: Annotations::default(),
            })
        }
    }

    impl Appender for Fake {
        fn append(&self, labels: &Labels, t: i64, v: f64) -> Result<(), QueryError> {
            self.appended.borrow_mut().push((labels.clone(), t, v));
            Ok(())
        }
    }

    fn inst(i: &str) -> Labels {
        Labels::from_pairs([("__name__", "up"), ("instance", i)])
    }

    fn files(src: &str) -> Vec<RuleFile> {
        vec![parse_rule_file("r.yaml", src).unwrap()]
    }

    fn alert_rule(for_: &str) -> Vec<RuleFile> {
        files(&format!("groups:\n- name: g\n  rules:\n  - alert: Down\n    expr: cond\n    for: {for_}\n    labels: {{severity: page}}\n"))
    }

    #[test]
    fn replay_starts_no_earlier_than_the_data() {
        let src = "groups:\n- name: g\n  rules:\n  - alert: Down\n    expr: cond\n    for: 100y\n";
        let ds = Fake::default().on("cond", |_| Ok(vec![(inst("a"), 1.0)]));
        let opts = ReplayOptions {
            data_start_ms: Some(T - 150_000),
            ..ReplayOptions::default()
        };
        let r = replay(&files(src), &ds, T, &opts);
        let times: Vec<i64> = ds.asked.borrow().iter().map(|(_, t)| T - t).collect();
        assert_eq!(times, vec![120_000, 60_000, 0]);
        assert_eq!(r.alerts[0].alert.state, AlertState::Pending);
    }

    #[test]
    fn templates_see_labels_value_and_external_data() {
        let src = "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: cond\n    labels: {sev: '{{ if gt $value 5.0 }}page{{ else }}ticket{{ end }}'}\n    annotations:\n      s: '{{ $labels.instance }} {{ $value | humanize }} {{ $externalLabels.dc }} {{ $externalURL }}'\n";
        let ds = Fake::default().on("cond", |_| Ok(vec![(inst("a"), 12345.0)]));
        let opts = ReplayOptions {
            external_labels: Labels::from_pairs([("dc", "eu1")]),
            external_url: "http://x".into(),
            ..ReplayOptions::default()
        };
        let r = replay(&files(src), &ds, T, &opts);
        let a = &r.alerts[0].alert;
        assert_eq!(a.labels.get("sev"), Some("page"));
        assert_eq!(a.annotations["s"], "a 12.35k eu1 http://x");
    }

    fn run(f: &[RuleFile], ds: &Fake) -> ReplayReport {
        replay(f, ds, T, &ReplayOptions::default())
    }

    #[test]
    fn fires_when_condition_held_at_every_step_across_for() {
        let ds = Fake::default().on("cond", |t| {
            Ok(if t >= T - 5 * M {
                vec![(inst("a"), 0.0)]
            } else {
                vec![]
            })
        });
        let r = run(&alert_rule("5m"), &ds);
        assert!(r.errors.is_empty());
        assert_eq!(r.alerts.len(), 1);
        let a = &r.alerts[0];
        assert_eq!(a.alert.state, AlertState::Firing);
        assert_eq!(a.alert.active_at, T - 5 * M);
        assert_eq!(
            a.alert.labels.to_string(),
            r#"{alertname="Down", instance="a", severity="page"}"#
        );
        assert_eq!(a.for_remaining_ms(T), None);
    }

    #[test]
    fn pending_when_condition_is_younger_than_for() {
        let ds = Fake::default().on("cond", |t| {
            Ok(if t >= T - 3 * M {
                vec![(inst("a"), 1.0)]
            } else {
                vec![]
            })
        });
        let r = run(&alert_rule("5m"), &ds);
        let a = &r.alerts[0];
        assert_eq!(a.alert.state, AlertState::Pending);
        assert_eq!(a.for_remaining_ms(T), Some(2 * M));
        assert_eq!(r.firing().count(), 0);
    }

    #[test]
    fn a_gap_restarts_the_for_clock() {
        // Held for 10 minutes except at T-2m: promtool would say pending.
        let ds = Fake::default().on("cond", |t| {
            Ok(if t == T - 2 * M {
                vec![]
            } else {
                vec![(inst("a"), 1.0)]
            })
        });
        let r = run(&alert_rule("5m"), &ds);
        assert_eq!(r.alerts[0].alert.state, AlertState::Pending);
        assert_eq!(r.alerts[0].alert.active_at, T - M);
    }

    #[test]
    fn keep_firing_for_keeps_a_recently_resolved_condition_firing() {
        let src = "groups:\n- name: g\n  rules:\n  - alert: Down\n    expr: cond\n    for: 2m\n    keep_firing_for: 5m\n";
        let ds = Fake::default().on("cond", |t| {
            Ok(if t <= T - 3 * M {
                vec![(inst("a"), 1.0)]
            } else {
                vec![]
            })
        });
        let r = run(&files(src), &ds);
        assert_eq!(r.alerts.len(), 1);
        assert_eq!(r.alerts[0].alert.state, AlertState::Firing);
        // Window: 2m + 5m + 1m, so the first step is T-8m.
        assert_eq!(r.alerts[0].alert.active_at, T - 8 * M);
    }

    #[test]
    fn steps_are_aligned_to_end_exactly_at_t() {
        let src = "groups:\n- name: g\n  interval: 20s\n  rules:\n  - alert: Down\n    expr: cond\n    for: 1m\n";
        let ds = Fake::default().on("cond", |_| Ok(vec![]));
        run(&files(src), &ds);
        let times: Vec<i64> = ds.asked.borrow().iter().map(|(_, t)| T - t).collect();
        // for (60s) + interval (20s) = 80s: 4 steps back, 5 evaluations.
        assert_eq!(times, vec![80_000, 60_000, 40_000, 20_000, 0]);
    }

    #[test]
    fn recording_output_is_visible_to_later_rules_at_the_same_step() {
        let src = "groups:\n- name: g\n  rules:\n  - record: job:x\n    expr: src\n    labels: {origin: rec}\n  - alert: High\n    expr: job:x\n";
        let ds = Fake::default().on("src", |_| Ok(vec![(inst("a"), 7.0)]));
        let r = run(&files(src), &ds);
        assert_eq!(r.firing().count(), 1);
        let a = &r.alerts[0].alert;
        assert_eq!(a.value, 7.0);
        assert_eq!(
            a.labels.to_string(),
            r#"{alertname="High", instance="a", origin="rec"}"#
        );
        // ALERTS and ALERTS_FOR_STATE are written too, as Prometheus does.
        let appended = ds.appended.borrow();
        assert!(appended.iter().any(|(l, t, _)| *t == T
            && l.to_string()
                == r#"ALERTS{alertname="High", alertstate="firing", instance="a", origin="rec"}"#));
    }

    #[test]
    fn later_groups_see_earlier_groups_recordings() {
        let src = "groups:\n- name: a\n  rules:\n  - record: job:x\n    expr: src\n- name: b\n  rules:\n  - alert: High\n    expr: job:x\n";
        let ds = Fake::default().on("src", |_| Ok(vec![(inst("a"), 1.0)]));
        assert_eq!(run(&files(src), &ds).firing().count(), 1);
    }

    #[test]
    fn query_offset_shifts_query_time_and_output_time() {
        let src =
            "groups:\n- name: g\n  query_offset: 30s\n  rules:\n  - record: job:x\n    expr: src\n";
        let ds = Fake::default().on("src", |_| Ok(vec![(inst("a"), 1.0)]));
        run(&files(src), &ds);
        assert_eq!(ds.asked.borrow().last().unwrap().1, T - 30_000);
        assert_eq!(ds.appended.borrow().last().unwrap().1, T - 30_000);
    }

    #[test]
    fn vanished_recorded_series_get_a_stale_marker() {
        let src = "groups:\n- name: g\n  rules:\n  - record: job:x\n    expr: src\n";
        let ds = Fake::default().on("src", |t| {
            Ok(if t < T {
                vec![(inst("a"), 1.0)]
            } else {
                vec![]
            })
        });
        run(&files(src), &ds);
        let appended = ds.appended.borrow();
        let last = appended.last().unwrap();
        assert_eq!(last.1, T);
        assert!(crate::model::is_stale_nan(last.2));
    }

    #[test]
    fn query_errors_are_reported_per_rule_not_as_all_clear() {
        let src = "groups:\n- name: g\n  rules:\n  - alert: Down\n    expr: cond\n";
        let ds = Fake::default().on("cond", |_| Err("connection refused".into()));
        let r = run(&files(src), &ds);
        assert!(r.alerts.is_empty());
        assert_eq!(r.errors.len(), 1);
        assert_eq!(r.errors[0].rule, "Down");
        assert_eq!(r.errors[0].at, T);
        assert!(r.errors[0].message.contains("connection refused"));
    }

    #[test]
    fn limit_is_enforced_like_prometheus() {
        let src = "groups:\n- name: g\n  limit: 1\n  rules:\n  - record: job:x\n    expr: two\n  - alert: Two\n    expr: two\n";
        let ds = Fake::default().on("two", |_| Ok(vec![(inst("a"), 1.0), (inst("b"), 1.0)]));
        let r = run(&files(src), &ds);
        let msgs: Vec<&str> = r.errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(
            msgs,
            vec![
                "exceeded limit of 1 with 2 series",
                "exceeded limit of 1 with 2 alerts"
            ]
        );
        assert!(r.alerts.is_empty());
    }

    #[test]
    fn labelset_collisions_are_errors() {
        let src = "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: cond\n";
        // Same labels once __name__ is dropped.
        let ds = Fake::default().on("cond", |_| {
            Ok(vec![
                (Labels::from_pairs([("__name__", "x"), ("i", "1")]), 1.0),
                (Labels::from_pairs([("__name__", "y"), ("i", "1")]), 1.0),
            ])
        });
        let r = run(&files(src), &ds);
        assert!(r.errors[0]
            .message
            .contains("same labelset after applying alert labels"));
    }
}
