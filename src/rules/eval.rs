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
    for (i, rule) in group.rules.iter().enumerate() {
        let rs = &mut state.rules[i];
        let produced = match rule {
            Rule::Recording(r) => eval_recording(r, group.limit, ctx, query_ts),
            Rule::Alerting(a) => {
                eval_alerting(a, group.limit, rs, ctx, ts, query_ts).map(|(v, tr)| {
                    out.transitions.extend(tr.into_iter().map(|t| (i, t)));
                    v
                })
            }
        };
        let err = |message: String| RuleEvalError {
            file: group.file.clone(),
            group: group.name.clone(),
            rule: rule.name().to_string(),
            index: i,
            at: ts,
            message,
        };
        let samples = match produced {
            Ok(s) => s,
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
    out
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
