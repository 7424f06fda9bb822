//! Evaluates one rule group at one time, rules in order, the way
//! prometheus/prometheus: rules/group.go (`Group.Eval`), recording.go and
//! alerting.go do: a recording rule's output is appended before the next
//! rule runs; alerting rules advance their state machine and write `ALERTS`
//! and `ALERTS_FOR_STATE`; series a rule stopped producing get a stale marker.

use super::group::{AlertingRule, Group, RecordingRule, Rule};
use crate::alerting::{step, AlertSpec, Candidate, RuleState, Transition};
use crate::datasource::{Appender, Querier, QueryError};
use crate::model::{Labels, METRIC_NAME, STALE_NAN};
use crate::promql::QueryValue;
use crate::template::{expand_or_error_text, QueryResult, TemplateData, TemplateQuerier};
use std::collections::{BTreeMap, HashSet};

/// The label that names an alert.
pub const ALERT_NAME: &str = "alertname";

/// What evaluation reads from and writes to, and what templates see.
pub struct EvalContext<'a> {
    pub querier: &'a dyn Querier,
    pub appender: &'a dyn Appender,
    pub external_labels: Labels,
    pub external_url: String,
}

/// Per-rule memory between evaluations of a group.
#[derive(Debug, Clone, Default)]
pub struct RuleRunState {
    /// Alert instances (alerting rules only).
    pub alerts: RuleState,
    /// Series written at the previous evaluation, to mark stale when gone.
    pub last_series: HashSet<Labels>,
}

/// Memory of a group between evaluations: one entry per rule, by index.
#[derive(Debug, Clone, Default)]
pub struct GroupState {
    pub rules: Vec<RuleRunState>,
}

/// A rule that could not be evaluated at some time.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}: group {group:?}: rule {rule:?} at {at}: {message}")]
pub struct RuleEvalError {
    pub file: String,
    pub group: String,
    pub rule: String,
    /// Position of the rule in its group (0-based).
    pub index: usize,
    /// Evaluation time (ms).
    pub at: i64,
    pub message: String,
}

/// What one evaluation of a group did.
#[derive(Debug, Clone, Default)]
pub struct GroupOutcome {
    /// Alert state changes, with the index of the rule.
    pub transitions: Vec<(usize, Transition)>,
    pub errors: Vec<RuleEvalError>,
}

/// Evaluates every rule of `group` at `ts` (ms), in order.
pub fn eval_group(
    group: &Group,
    state: &mut GroupState,
    ctx: &EvalContext,
    ts: i64,
) -> GroupOutcome {
    state
        .rules
        .resize_with(group.rules.len(), RuleRunState::default);
    let query_ts = ts - group.query_offset();
    let mut out = GroupOutcome::default();
    for batch in independent_batches(group) {
        let produced = produce_batch(group, batch.clone(), state, ctx, ts, query_ts);
        for (i, produced) in batch.zip(produced) {
            let rule = &group.rules[i];
            let rs = &mut state.rules[i];
            let err = |message: String| RuleEvalError {
                file: group.file.clone(),
                group: group.name.clone(),
                rule: rule.name().to_string(),
                index: i,
                at: ts,
                message,
            };
            let samples = match produced {
                Ok((s, transitions)) => {
                    out.transitions
                        .extend(transitions.into_iter().map(|t| (i, t)));
                    s
                }
                Err(e) => {
                    out.errors.push(err(e));
                    continue;
                }
            };
            let mut written = HashSet::with_capacity(samples.len());
            for (labels, v) in samples {
                if let Err(e) = ctx.appender.append(&labels, query_ts, v) {
                    out.errors.push(err(e.to_string()));
                    continue;
                }
                written.insert(labels);
            }
            for gone in rs.last_series.difference(&written) {
                // Best effort, as in Prometheus: another rule may own the series.
                let _ = ctx.appender.append(gone, query_ts, STALE_NAN);
            }
            rs.last_series = written;
        }
    }
    out
}

/// Runs of consecutive rules none of which reads what an earlier one of
/// the run writes. The rules of a run can be queried at once; their output
/// is appended in rule order after the run, before the next run starts, so
/// every rule still sees every earlier rule's output as in Prometheus.
fn independent_batches(group: &Group) -> Vec<std::ops::Range<usize>> {
    let mut batches = Vec::new();
    let mut start = 0;
    let mut written: HashSet<&str> = HashSet::new();
    for (i, rule) in group.rules.iter().enumerate() {
        let reads_written = match rule_reads(rule) {
            Some(names) => names.iter().any(|n| written.contains(n.as_str())),
            None => true,
        };
        if reads_written && i > start {
            batches.push(start..i);
            start = i;
            written.clear();
        }
        match rule {
            Rule::Recording(r) => {
                written.insert(&r.name);
            }
            Rule::Alerting(_) => {
                written.extend(["ALERTS", "ALERTS_FOR_STATE"]);
            }
        }
    }
    if start < group.rules.len() {
        batches.push(start..group.rules.len());
    }
    batches
}

/// The metric names a rule's evaluation can read; `None` for any. A
/// template that runs `query` can read anything.
fn rule_reads(rule: &Rule) -> Option<Vec<String>> {
    match rule {
        Rule::Recording(r) => crate::promql::read_metric_names(&r.expr),
        Rule::Alerting(a) => {
            let queries = a
                .labels
                .iter()
                .chain(&a.annotations)
                .any(|(_, t)| t.source().contains("query"));
            if queries {
                return None;
            }
            crate::promql::read_metric_names(&a.expr)
        }
    }
}

/// What a rule gives before its output is appended: samples and, for an
/// alerting rule, its state changes.
type Produced = Result<(Vec<(Labels, f64)>, Vec<Transition>), String>;

/// Queries the rules of `batch` (see [`independent_batches`]) and advances
/// their alert state, on two threads when the querier allows it.
fn produce_batch(
    group: &Group,
    batch: std::ops::Range<usize>,
    state: &mut GroupState,
    ctx: &EvalContext,
    ts: i64,
    query_ts: i64,
) -> Vec<Produced> {
    let produce = |i: usize, rs: &mut RuleRunState, ctx: &EvalContext| -> Produced {
        match &group.rules[i] {
            Rule::Recording(r) => {
                eval_recording(r, group.limit, ctx, query_ts).map(|s| (s, Vec::new()))
            }
            Rule::Alerting(a) => eval_alerting(a, group.limit, rs, ctx, ts, query_ts),
        }
    };
    let rules = &mut state.rules[batch.clone()];
    let sync = ctx.querier.as_sync();
    let (Some(querier), true) = (sync, rules.len() > 1 && crate::parallel::cores() > 1) else {
        return batch
            .zip(rules.iter_mut())
            .map(|(i, rs)| produce(i, rs, ctx))
            .collect();
    };
    // Two workers take the next rule in turn, so a slow rule does not hold
    // up the ones after it.
    let slots: Vec<std::sync::Mutex<(&mut RuleRunState, Option<Produced>)>> = rules
        .iter_mut()
        .map(|rs| std::sync::Mutex::new((rs, None)))
        .collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let (labels, url) = (&ctx.external_labels, &ctx.external_url);
    let work = || {
        let ctx = EvalContext {
            querier,
            appender: &NoAppend,
            external_labels: labels.clone(),
            external_url: url.clone(),
        };
        loop {
            let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(slot) = slots.get(k) else { break };
            let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
            let (rs, out) = &mut *slot;
            *out = Some(produce(batch.start + k, rs, &ctx));
        }
    };
    crate::parallel::join(work, work);
    slots
        .into_iter()
        .map(|slot| {
            let (_, out) = slot.into_inner().unwrap_or_else(|e| e.into_inner());
            out.unwrap_or_else(|| Err("rule was not evaluated".into()))
        })
        .collect()
}

/// Rule queries never append; appends happen after the batch.
struct NoAppend;

impl Appender for NoAppend {
    fn append(&self, _: &Labels, _: i64, _: f64) -> Result<(), QueryError> {
        Err(QueryError::Append("appending during a query".into()))
    }
}

/// Runs the rule's query; a scalar counts as one sample without labels.
fn query_vector(
    q: &dyn Querier,
    expr: &promql_parser::parser::Expr,
    text: &str,
    t: i64,
) -> Result<Vec<(Labels, f64)>, String> {
    let out = q
        .instant(expr, text, t)
        .map_err(|e: QueryError| e.to_string())?;
    match out.value {
        QueryValue::Vector(v) => Ok(v),
        QueryValue::Scalar { v, .. } => Ok(vec![(Labels::new(), v)]),
        _ => Err("rule result is not a vector or scalar".into()),
    }
}

fn eval_recording(
    r: &RecordingRule,
    limit: i64,
    ctx: &EvalContext,
    t: i64,
) -> Result<Vec<(Labels, f64)>, String> {
    let mut v = query_vector(ctx.querier, &r.expr, &r.expr_text, t)?;
    let mut seen = HashSet::with_capacity(v.len());
    for (labels, _) in v.iter_mut() {
        labels.set(METRIC_NAME, r.name.clone());
        for l in &r.labels {
            labels.set(l.name.clone(), l.value.clone());
        }
        if !seen.insert(labels.clone()) {
            return Err(
                "vector contains metrics with the same labelset after applying rule labels".into(),
            );
        }
    }
    if limit > 0 && v.len() as i64 > limit {
        return Err(format!("exceeded limit of {limit} with {} series", v.len()));
    }
    Ok(v)
}

/// The `query` template function, answered at the evaluation time.
struct TemplateQueries<'a> {
    q: &'a dyn Querier,
    t: i64,
}

impl TemplateQuerier for TemplateQueries<'_> {
    fn query(&self, expr: &str) -> Result<Vec<QueryResult>, String> {
        let parsed = crate::promql::parse(expr)?;
        let v = query_vector(self.q, &parsed, expr, self.t)?;
        Ok(v.into_iter()
            .map(|(labels, value)| QueryResult { labels, value })
            .collect())
    }
}

type AlertOutput = (Vec<(Labels, f64)>, Vec<Transition>);

fn eval_alerting(
    a: &AlertingRule,
    limit: i64,
    rs: &mut RuleRunState,
    ctx: &EvalContext,
    ts: i64,
    query_ts: i64,
) -> Result<AlertOutput, String> {
    let res = query_vector(ctx.querier, &a.expr, &a.expr_text, query_ts)?;
    let tq = TemplateQueries {
        q: ctx.querier,
        t: ts,
    };
    let mut candidates = Vec::with_capacity(res.len());
    let mut seen = HashSet::with_capacity(res.len());
    for (labels, value) in res {
        let data = TemplateData {
            labels: labels.clone(),
            value,
            external_labels: ctx.external_labels.clone(),
            external_url: ctx.external_url.clone(),
        };
        let mut id = labels.without_metric_name();
        for (k, t) in &a.labels {
            id.set(
                k.clone(),
                expand_or_error_text(t, &a.name, &data, Some(&tq)),
            );
        }
        id.set(ALERT_NAME, a.name.clone());
        let annotations: BTreeMap<String, String> = a
            .annotations
            .iter()
            .map(|(k, t)| {
                (
                    k.clone(),
                    expand_or_error_text(t, &a.name, &data, Some(&tq)),
                )
            })
            .collect();
        if !seen.insert(id.clone()) {
            return Err(
                "vector contains metrics with the same labelset after applying alert labels".into(),
            );
        }
        candidates.push(Candidate {
            labels: id,
            annotations,
            value,
        });
    }
    let spec = AlertSpec {
        for_ms: a.for_ms,
        keep_firing_for_ms: a.keep_firing_for_ms,
        limit,
    };
    let transitions = step(&mut rs.alerts, candidates, ts, &spec).map_err(|e| e.to_string())?;
    let mut series = Vec::new();
    for al in rs.alerts.active() {
        let mut l = al.labels.clone();
        l.set(METRIC_NAME, "ALERTS");
        l.set("alertstate", al.state.as_str());
        series.push((l, 1.0));
        let mut f = al.labels.clone();
        f.set(METRIC_NAME, "ALERTS_FOR_STATE");
        series.push((f, al.active_at.div_euclid(1000) as f64));
    }
    Ok((series, transitions))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasource::EmbeddedQuerier;
    use crate::model::MemStore;
    use crate::promql::{Engine, QueryOutput};
    use crate::rules::parse_rule_file;

    fn group(src: &str) -> Group {
        let mut f = parse_rule_file("r.yaml", src).unwrap();
        f.groups.remove(0)
    }

    #[test]
    fn batches_break_before_a_rule_that_reads_an_earlier_output() {
        let g = group(
            r#"groups:
- name: g
  rules:
  - record: a:sum
    expr: sum(x)
  - record: b:sum
    expr: sum(y)
  - record: c:ratio
    expr: a:sum / b:sum
  - alert: High
    expr: x > 1
  - alert: Many
    expr: count(ALERTS) > 3
  - record: d
    expr: sum(x)
  - record: e
    expr: '{job="j"}'
  - record: f
    expr: sum(x)
  - alert: Q
    expr: x > 0
    annotations: {s: '{{ query "x" }}'}
  - record: g
    expr: sum(x)
"#,
        );
        // c reads a; Many reads ALERTS; e and Q can read anything.
        assert_eq!(independent_batches(&g), vec![0..2, 2..4, 4..6, 6..8, 8..10]);
    }

    /// The embedded querier without [`Querier::as_sync`]: rules one at a time.
    struct OneAtATime(EmbeddedQuerier);

    impl Querier for OneAtATime {
        fn instant(
            &self,
            e: &promql_parser::parser::Expr,
            s: &str,
            t: i64,
        ) -> Result<QueryOutput, QueryError> {
            self.0.instant(e, s, t)
        }
    }

    impl Appender for OneAtATime {
        fn append(&self, l: &Labels, t: i64, v: f64) -> Result<(), QueryError> {
            self.0.append(l, t, v)
        }
    }

    #[test]
    fn rules_run_side_by_side_give_what_one_at_a_time_gives() {
        let g = group(
            r#"groups:
- name: g
  rules:
  - record: job:x:sum
    expr: sum by (job) (x)
  - record: job:y:sum
    expr: sum by (job) (y)
  - record: job:xy:ratio
    expr: job:x:sum / job:y:sum
  - alert: RatioHigh
    expr: job:xy:ratio > 1
    for: 1m
  - alert: XHigh
    expr: x > 5
    annotations: {v: '{{ $value }} on {{ $labels.i }}'}
  - alert: Broken
    expr: x + on(job) y
  - record: ratio:count
    expr: count(job:xy:ratio)
  - alert: AlertsMany
    expr: count(ALERTS) > 2
"#,
        );
        let mut store = MemStore::new();
        for (i, job) in (0..40).map(|i| (i, format!("j{}", i % 4))) {
            for t in 0..4 {
                let x = Labels::from_pairs([
                    ("__name__", "x"),
                    ("job", job.as_str()),
                    ("i", &i.to_string()),
                ]);
                let y = Labels::from_pairs([
                    ("__name__", "y"),
                    ("job", job.as_str()),
                    ("i", &i.to_string()),
                ]);
                store.insert(&x, t * 60_000, f64::from(i % 9 + t as i32));
                store.insert(&y, t * 60_000, f64::from(i % 5 + 1));
            }
        }
        let parallel = EmbeddedQuerier::new(store.clone(), Engine::default()).parallel_from(0);
        let serial = OneAtATime(EmbeddedQuerier::new(store, Engine::default()));
        assert!(parallel.as_sync().is_some() && serial.as_sync().is_none());
        // A store this small is not worth a second thread by default.
        assert!(EmbeddedQuerier::new(MemStore::new(), Engine::default())
            .as_sync()
            .is_none());
        let run = |q: &dyn Querier, a: &dyn Appender| {
            let ctx = EvalContext {
                querier: q,
                appender: a,
                external_labels: Labels::new(),
                external_url: String::new(),
            };
            let mut state = GroupState::default();
            let mut outcomes = Vec::new();
            for t in 0..4 {
                let o = eval_group(&g, &mut state, &ctx, t * 60_000);
                outcomes.push(format!("{:?} {:?}", o.transitions, o.errors));
            }
            (
                outcomes,
                format!(
                    "{:?}",
                    state.rules.iter().map(|r| &r.alerts).collect::<Vec<_>>()
                ),
            )
        };
        let a = run(&parallel, &parallel);
        let b = run(&serial, &serial);
        assert_eq!(a, b);
        // The run did something: alerts fired, the bad rule failed each time.
        assert!(
            a.1.contains("RatioHigh") && a.1.contains("XHigh") && a.1.contains("AlertsMany"),
            "{}",
            a.1
        );
        assert_eq!(a.0.iter().filter(|o| o.contains("Broken")).count(), 4);
        let (sp, ss) = (parallel.into_store(), serial.0.into_store());
        let dump = |s: &MemStore| {
            let mut v: Vec<String> = s
                .series()
                .iter()
                .map(|x| format!("{} {:?}", x.labels, x.samples))
                .collect();
            v.sort();
            v
        };
        assert_eq!(dump(&sp), dump(&ss));
    }
}
