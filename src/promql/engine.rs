//! Expression evaluation: the query entry points ([`Engine::instant`],
//! [`Engine::range`]) and the evaluator that walks the `promql-parser` AST.
//!
//! A range query is evaluated as one instant evaluation per step. That is
//! simpler than Prometheus's column-wise evaluator and gives the same results:
//! every PromQL node's value at a step depends only on that step's time (the
//! `@` modifier pins selectors to absolute times either way).
//! Semantics follow Prometheus 3.5 `promql/engine.go`.

use super::functions::{self, FnCtx};
use super::fxhash::FxHashMap as HashMap;
use super::ivalue::{ESample, EValue};
use super::selector;
use super::value::{Annotations, EvalError, Matrix, QueryOutput, QueryValue, RangeSeries};
use crate::model::{Labels, MemStore, Sample, Series, METRIC_NAME};
use promql_parser::parser::token::{T_LIMITK, T_LIMIT_RATIO};
use promql_parser::parser::value::ValueType;
use promql_parser::parser::{Expr, MatrixSelector, SubqueryExpr, VectorSelector};
use std::borrow::Cow;
use std::rc::Rc;

#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// How far back an instant selector looks for a sample (default 5m).
    pub lookback_delta_ms: i64,
    /// Step of a subquery written without one (default 1m).
    pub default_subquery_step_ms: i64,
    /// Maximum samples a query may hold at once.
    pub max_samples: usize,
    /// Allow experimental functions and limitk/limit_ratio.
    pub experimental_functions: bool,
    /// Delay `__name__` removal to the end of evaluation (Prometheus feature flag).
    pub delayed_name_removal: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            lookback_delta_ms: 5 * 60 * 1000,
            default_subquery_step_ms: 60 * 1000,
            max_samples: 50_000_000,
            experimental_functions: true,
            delayed_name_removal: true,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Engine {
    pub opts: EngineOptions,
}

/// The error Prometheus raises when a result holds two series with one label set.
pub(crate) const DUPLICATE_LABELSET: &str = "vector cannot contain metrics with the same labelset";

/// Functions that Prometheus 3.5 only accepts with
/// `--enable-feature=promql-experimental-functions`.
const EXPERIMENTAL_FUNCTIONS: &[&str] = &[
    "double_exponential_smoothing",
    "info",
    "mad_over_time",
    "sort_by_label",
    "sort_by_label_desc",
    "ts_of_last_over_time",
    "ts_of_max_over_time",
    "ts_of_min_over_time",
];

impl Engine {
    pub fn new(opts: EngineOptions) -> Self {
        Engine { opts }
    }

    /// Evaluates `expr` at time `t` (ms).
    pub fn instant(&self, store: &MemStore, expr: &Expr, t: i64) -> Result<QueryOutput, EvalError> {
        self.check_features(expr)?;
        let mut ev = Evaluator::new(store, &self.opts, t, t);
        let value = ev.eval(expr, t)?;
        let value = match value {
            EValue::Scalar(v) => QueryValue::Scalar { t, v },
            EValue::String(s) => QueryValue::String { t, s },
            EValue::Vector(v) => QueryValue::Vector(finish_vector(v)?),
            EValue::Matrix(m) => QueryValue::Matrix(finish_matrix(m.series)?),
        };
        Ok(QueryOutput {
            value,
            annotations: ev.annotations,
        })
    }

    /// Evaluates `expr` at every step from `start` to `end` inclusive (ms).
    pub fn range(
        &self,
        store: &MemStore,
        expr: &Expr,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<QueryOutput, EvalError> {
        self.check_features(expr)?;
        match expr.value_type() {
            ValueType::Scalar | ValueType::Vector => {}
            other => {
                let name = match other {
                    ValueType::Matrix => "range vector",
                    ValueType::String => "string",
                    _ => "scalar",
                };
                return Err(EvalError::Execution(format!(
                    "invalid expression type \"{name}\" for range query, must be Scalar or instant Vector"
                )));
            }
        }
        if step <= 0 {
            return Err(EvalError::Execution(
                "zero or negative query resolution step widths are not accepted. Try a positive integer".into(),
            ));
        }
        let mut ev = Evaluator::new(store, &self.opts, start, end);
        let mut acc = StepAccumulator::default();
        let mut t = start;
        while t <= end {
            match ev.eval(expr, t)? {
                EValue::Scalar(v) => acc.push(Labels::new(), false, t, v)?,
                EValue::Vector(samples) => {
                    for s in samples {
                        acc.push_cow(s.labels, s.drop_name, t, s.v)?;
                    }
                }
                _ => {
                    return Err(EvalError::Execution(
                        "unexpected value type in range query".into(),
                    ))
                }
            }
            t += step;
        }
        let series = finish_matrix(acc.series)?;
        Ok(QueryOutput {
            value: QueryValue::Matrix(series),
            annotations: ev.annotations,
        })
    }

    /// Rejects what Prometheus's parser rejects when a feature is off.
    fn check_features(&self, expr: &Expr) -> Result<(), EvalError> {
        if self.opts.experimental_functions {
            return Ok(());
        }
        walk(expr, &mut |e| {
            match e {
            Expr::Aggregate(a) if matches!(a.op.id(), T_LIMITK | T_LIMIT_RATIO) => Err(EvalError::Execution(format!(
                "{}() is experimental and must be enabled with --enable-feature=promql-experimental-functions",
                a.op
            ))),
            Expr::Call(c) if c.func.experimental || EXPERIMENTAL_FUNCTIONS.contains(&c.func.name) => {
                Err(EvalError::Execution(format!(
                    "function \"{}\" is not enabled; enable it with --enable-feature=promql-experimental-functions",
                    c.func.name
                )))
            }
            _ => Ok(()),
        }
        })
    }
}

/// The metric names `expr` can read: `None` when a selector names no
/// single metric (`{job="x"}`, `{__name__=~"a|b"}`), so it can read any.
pub fn read_metric_names(expr: &Expr) -> Option<Vec<String>> {
    let mut names = Vec::new();
    let mut any = false;
    let _ = walk(expr, &mut |e| {
        let vs = match e {
            Expr::VectorSelector(vs) => vs,
            Expr::MatrixSelector(ms) => &ms.vs,
            _ => return Ok(()),
        };
        let by_matcher = vs.matchers.matchers.iter().find_map(|m| {
            (m.name == METRIC_NAME && matches!(m.op, promql_parser::label::MatchOp::Equal))
                .then(|| m.value.clone())
        });
        match vs.name.clone().or(by_matcher) {
            Some(n) => names.push(n),
            None => any = true,
        }
        Ok(())
    });
    (!any).then_some(names)
}

/// Calls `f` on every node of `expr`, parents first.
fn walk(expr: &Expr, f: &mut dyn FnMut(&Expr) -> Result<(), EvalError>) -> Result<(), EvalError> {
    f(expr)?;
    match expr {
        Expr::Aggregate(a) => {
            if let Some(p) = &a.param {
                walk(p, f)?;
            }
            walk(&a.expr, f)
        }
        Expr::Unary(u) => walk(&u.expr, f),
        Expr::Binary(b) => {
            walk(&b.lhs, f)?;
            walk(&b.rhs, f)
        }
        Expr::Paren(p) => walk(&p.expr, f),
        Expr::Subquery(s) => walk(&s.expr, f),
        Expr::Call(c) => c.args.args.iter().try_for_each(|a| walk(a, f)),
        _ => Ok(()),
    }
}

/// Collects the per-step vectors of a range query (or subquery) into series.
#[derive(Default)]
struct StepAccumulator {
    index: HashMap<Labels, usize>,
    series: Vec<RangeSeries>,
}

impl StepAccumulator {
    /// Like [`Self::push`], copying borrowed labels only for a new series.
    fn push_cow(
        &mut self,
        labels: Cow<'_, Labels>,
        drop_name: bool,
        t: i64,
        v: f64,
    ) -> Result<(), EvalError> {
        match self.index.get(labels.as_ref()) {
            Some(&i) => {
                let s = &mut self.series[i];
                if s.points.last().is_some_and(|p| p.t == t) {
                    return Err(EvalError::Execution(DUPLICATE_LABELSET.into()));
                }
                s.points.push(Sample { t, v });
                Ok(())
            }
            None => self.push(labels.into_owned(), drop_name, t, v),
        }
    }

    fn push(&mut self, labels: Labels, drop_name: bool, t: i64, v: f64) -> Result<(), EvalError> {
        match self.index.get(&labels) {
            Some(&i) => {
                let s = &mut self.series[i];
                // Two samples with one label set at one step.
                if s.points.last().is_some_and(|p| p.t == t) {
                    return Err(EvalError::Execution(DUPLICATE_LABELSET.into()));
                }
                s.points.push(Sample { t, v });
            }
            None => {
                self.index.insert(labels.clone(), self.series.len());
                self.series.push(RangeSeries {
                    labels,
                    points: vec![Sample { t, v }],
                    drop_name,
                });
            }
        }
        Ok(())
    }
}

/// Applies delayed name removal to an instant vector result and checks that
/// label sets stay unique.
fn finish_vector(v: Vec<ESample<'_>>) -> Result<Vec<(Labels, f64)>, EvalError> {
    let out: Vec<(Labels, f64)> = v
        .into_iter()
        .map(|s| {
            (
                if s.drop_name {
                    s.labels.without_metric_name()
                } else {
                    s.labels.into_owned()
                },
                s.v,
            )
        })
        .collect();
    if out.len() > 1 {
        let mut seen =
            super::fxhash::FxHashSet::with_capacity_and_hasher(out.len(), Default::default());
        for (l, _) in &out {
            if !seen.insert(l) {
                return Err(EvalError::Execution(DUPLICATE_LABELSET.into()));
            }
        }
    }
    Ok(out)
}

/// Applies delayed name removal to a matrix result, checks that label sets
/// stay unique and sorts the series by labels, as Prometheus does.
fn finish_matrix(series: Vec<RangeSeries>) -> Result<Vec<RangeSeries>, EvalError> {
    let mut out: Vec<RangeSeries> = series
        .into_iter()
        .map(|mut s| {
            if s.drop_name {
                s.labels = s.labels.without_metric_name();
                s.drop_name = false;
            }
            s
        })
        .collect();
    out.sort_by(|a, b| a.labels.cmp(&b.labels));
    if out.windows(2).any(|w| w[0].labels == w[1].labels) {
        return Err(EvalError::Execution(DUPLICATE_LABELSET.into()));
    }
    Ok(out)
}

/// Selections at least this large are read by two threads in
/// [`Evaluator::rate_over_store`].
const PARALLEL_SERIES: usize = 16_384;

/// What one part of a selection gives in [`Evaluator::rate_over_store`].
struct RateChunk {
    /// `(position in the selection, value)`.
    values: Vec<(u32, f64)>,
    /// Most samples in one window, and the series with any (for the
    /// sample limit).
    largest: usize,
    loaded: usize,
    annotations: Annotations,
}

/// `rate`-like results of `series` (each with its position in the
/// selection) over `(mint, maxt]`. `name` is the selector's metric name, if
/// it has one.
fn rate_chunk(
    series: &[(u32, &Series)],
    name: Option<&str>,
    kind: functions::RateKind,
    mint: i64,
    maxt: i64,
) -> RateChunk {
    let mut state = functions::RateState::new(kind, mint, maxt);
    let mut annotations = Annotations::default();
    let mut values = Vec::with_capacity(series.len());
    let mut largest = 0;
    let mut loaded = 0;
    let mut buf = Vec::new();
    for &(pos, s) in series {
        let points = selector::window(&s.samples, mint, maxt, &mut buf);
        if points.is_empty() {
            continue;
        }
        largest = largest.max(points.len());
        loaded += 1;
        // A selector with a metric name selects only series of that name.
        let name = || name.or_else(|| s.labels.get(METRIC_NAME));
        if let Some(v) = state.series_named(name, points, &mut annotations) {
            values.push((pos, v));
        }
    }
    RateChunk {
        values,
        largest,
        loaded,
        annotations,
    }
}

/// State of one query evaluation.
pub(crate) struct Evaluator<'a> {
    pub(crate) store: &'a MemStore,
    pub(crate) opts: &'a EngineOptions,
    /// Bounds of the query (`@ start()` / `@ end()`); equal for instant queries.
    pub(crate) start: i64,
    pub(crate) end: i64,
    pub(crate) annotations: Annotations,
    /// Selected series per selector node, so a range query or subquery looks
    /// series up once rather than at every step.
    selections: HashMap<*const VectorSelector, Rc<Vec<&'a Series>>>,
    /// Set while a range-vector argument of a function is evaluated:
    /// Prometheus then holds one series' points at a time, so the sample
    /// limit counts the largest series plus the output, not the whole matrix.
    in_function_arg: bool,
}

impl<'a> Evaluator<'a> {
    pub(crate) fn new(store: &'a MemStore, opts: &'a EngineOptions, start: i64, end: i64) -> Self {
        Evaluator {
            store,
            opts,
            start,
            end,
            annotations: Annotations::default(),
            selections: HashMap::default(),
            in_function_arg: false,
        }
    }

    /// Evaluates `expr` at time `t`.
    pub(crate) fn eval(&mut self, expr: &Expr, t: i64) -> Result<EValue<'a>, EvalError> {
        let v = self.eval_node(expr, t)?;
        if !self.opts.delayed_name_removal {
            return Ok(drop_names_now(v));
        }
        Ok(v)
    }

    /// Like [`Self::eval`], but leaves a pending name removal of the result
    /// to the caller, which must apply it or show that the name is unseen.
    pub(crate) fn eval_keeping_name(
        &mut self,
        expr: &Expr,
        t: i64,
    ) -> Result<EValue<'a>, EvalError> {
        self.eval_node(expr, t)
    }

    fn eval_node(&mut self, expr: &Expr, t: i64) -> Result<EValue<'a>, EvalError> {
        match expr {
            Expr::NumberLiteral(n) => Ok(EValue::Scalar(n.val)),
            Expr::StringLiteral(s) => Ok(EValue::String(s.val.clone())),
            Expr::Paren(p) => self.eval(&p.expr, t),
            Expr::Unary(u) => match self.eval(&u.expr, t)? {
                EValue::Scalar(v) => Ok(EValue::Scalar(-v)),
                EValue::Vector(mut vs) => {
                    for s in &mut vs {
                        s.v = -s.v;
                        s.t = t;
                        s.drop_name = true;
                    }
                    Ok(EValue::Vector(vs))
                }
                _ => Err(EvalError::Execution(
                    "unary expression only allowed on expressions of type scalar or instant vector"
                        .into(),
                )),
            },
            Expr::Binary(b) => super::binary::eval_binary(self, b, t),
            Expr::Aggregate(a) => super::aggregate::eval_aggregate(self, a, t),
            Expr::VectorSelector(vs) => {
                let series = self.selection(vs)?;
                let ref_t = selector::at_ms(&vs.at, self.start, self.end).unwrap_or(t)
                    - selector::offset_ms(&vs.offset);
                let out = selector::instant_vector(&series, ref_t, self.opts.lookback_delta_ms);
                self.check_samples(out.len())?;
                Ok(EValue::Vector(out))
            }
            Expr::MatrixSelector(ms) => {
                let series = self.selection(&ms.vs)?;
                let ref_t = selector::at_ms(&ms.vs.at, self.start, self.end).unwrap_or(t)
                    - selector::offset_ms(&ms.vs.offset);
                let range = selector::duration_ms(&ms.range);
                let out = selector::range_vector(&series, ref_t, range);
                if self.in_function_arg {
                    let largest = out.iter().map(|s| s.points.len()).max().unwrap_or(0);
                    self.check_samples(largest + out.len())?;
                } else {
                    self.check_samples(out.iter().map(|s| s.points.len()).sum())?;
                }
                Ok(EValue::Matrix(Matrix {
                    series: out,
                    range_start: ref_t - range,
                    range_end: ref_t,
                }))
            }
            Expr::Subquery(sq) => Ok(EValue::Matrix(self.subquery(sq, t)?)),
            Expr::Call(c) => {
                if let (Some(kind), [arg]) = (rate_kind(c.func.name), c.args.args.as_slice()) {
                    if let Expr::MatrixSelector(ms) = &**arg {
                        return self.rate_over_store(ms, kind, t);
                    }
                }
                let mut args = Vec::with_capacity(c.args.args.len());
                for a in &c.args.args {
                    self.in_function_arg = matches!(**a, Expr::MatrixSelector(_));
                    let v = self.eval(a, t);
                    self.in_function_arg = false;
                    args.push(v?.into_value());
                }
                let mut ctx = FnCtx {
                    t,
                    arg_exprs: &c.args.args,
                    annotations: &mut self.annotations,
                };
                functions::call(c.func.name, args, &mut ctx).map(EValue::from_value)
            }
            Expr::Extension(_) => Err(EvalError::Unsupported("extension expressions".into())),
        }
    }

    /// `rate`, `increase` or `delta` of a matrix selector, read straight
    /// from the store's samples: no range vector is built, and the output
    /// borrows the store's label sets. Same results, annotations and
    /// sample-limit check as evaluating the selector and calling the
    /// function.
    fn rate_over_store(
        &mut self,
        ms: &MatrixSelector,
        kind: functions::RateKind,
        t: i64,
    ) -> Result<EValue<'a>, EvalError> {
        let series = self.selection(&ms.vs)?;
        let ref_t = selector::at_ms(&ms.vs.at, self.start, self.end).unwrap_or(t)
            - selector::offset_ms(&ms.vs.offset);
        let range = selector::duration_ms(&ms.range);
        let name = ms.vs.name.as_deref();
        // Series in memory order: their samples were allocated in that
        // order, so the reads run ahead of each other instead of missing
        // the cache once per series. Without a metric name the annotations
        // depend on the order, so the selection's order is kept.
        let mut order: Vec<(u32, &Series)> = (0u32..).zip(series.iter().copied()).collect();
        if name.is_some() {
            order.sort_unstable_by_key(|&(_, s)| s as *const Series as usize);
        }
        let chunk = |part: &[(u32, &Series)]| rate_chunk(part, name, kind, ref_t - range, ref_t);
        // Two threads halve a large selection's reads. The halves keep their
        // order, so the annotations are the same as from one pass.
        let parts = if order.len() >= PARALLEL_SERIES {
            let (a, b) = order.split_at(order.len() / 2);
            let (a, b) = crate::parallel::join(|| chunk(a), || chunk(b));
            vec![a, b]
        } else {
            vec![chunk(&order)]
        };
        // The sample limit counts the largest window plus the output, as
        // Prometheus holds one series' points at a time.
        let largest = parts.iter().map(|p| p.largest).max().unwrap_or(0);
        let loaded: usize = parts.iter().map(|p| p.loaded).sum();
        self.check_samples(largest + loaded)?;
        let mut values = vec![None; series.len()];
        for p in parts {
            for (pos, v) in p.values {
                values[pos as usize] = Some(v);
            }
            for m in p.annotations.warnings {
                self.annotations.warn(m);
            }
            for m in p.annotations.infos {
                self.annotations.info(m);
            }
        }
        let out = series
            .iter()
            .zip(values)
            .filter_map(|(&s, v)| {
                Some(ESample {
                    labels: Cow::Borrowed(&s.labels),
                    t,
                    v: v?,
                    drop_name: true,
                })
            })
            .collect();
        Ok(EValue::Vector(out))
    }

    fn check_samples(&self, n: usize) -> Result<(), EvalError> {
        if n > self.opts.max_samples {
            return Err(EvalError::TooManySamples);
        }
        Ok(())
    }

    /// The series a selector matches, looked up once per query.
    fn selection(&mut self, vs: &VectorSelector) -> Result<Rc<Vec<&'a Series>>, EvalError> {
        let key = vs as *const VectorSelector;
        if let Some(s) = self.selections.get(&key) {
            return Ok(Rc::clone(s));
        }
        let groups = selector::convert_matchers(vs)?;
        let sel = Rc::new(selector::select(self.store, &groups));
        self.selections.insert(key, Rc::clone(&sel));
        Ok(sel)
    }

    /// Evaluates a subquery at `t`: the inner expression at every multiple of
    /// the step (counted from the epoch) in `(t - offset - range, t - offset]`.
    fn subquery(&mut self, sq: &SubqueryExpr, t: i64) -> Result<Matrix, EvalError> {
        let ref_t = selector::at_ms(&sq.at, self.start, self.end).unwrap_or(t)
            - selector::offset_ms(&sq.offset);
        let range = selector::duration_ms(&sq.range);
        let step = sq
            .step
            .as_ref()
            .map(selector::duration_ms)
            .unwrap_or(self.opts.default_subquery_step_ms);
        if step <= 0 {
            return Err(EvalError::Execution(
                "subquery step must be positive".into(),
            ));
        }
        let mint = ref_t - range;
        // Go's truncating division, as in Prometheus.
        let mut ts = step * (mint / step);
        if ts <= mint {
            ts += step;
        }
        let mut acc = StepAccumulator::default();
        let mut total = 0usize;
        while ts <= ref_t {
            match self.eval(&sq.expr, ts)? {
                EValue::Vector(samples) => {
                    total += samples.len();
                    for s in samples {
                        acc.push_cow(s.labels, s.drop_name, ts, s.v)?;
                    }
                }
                EValue::Scalar(v) => acc.push(Labels::new(), false, ts, v)?,
                _ => {
                    return Err(EvalError::Execution(
                        "subquery is only allowed on instant vector".into(),
                    ))
                }
            }
            self.check_samples(total)?;
            ts += step;
        }
        Ok(Matrix {
            series: acc.series,
            range_start: mint,
            range_end: ref_t,
        })
    }
}

/// The range functions [`Evaluator::rate_over_store`] runs.
fn rate_kind(name: &str) -> Option<functions::RateKind> {
    match name {
        "rate" => Some(functions::RateKind::Rate),
        "increase" => Some(functions::RateKind::Increase),
        "delta" => Some(functions::RateKind::Delta),
        _ => None,
    }
}

/// Immediate name removal, used when delayed removal is off.
fn drop_names_now(v: EValue<'_>) -> EValue<'_> {
    match v {
        EValue::Vector(mut vs) => {
            for s in &mut vs {
                if s.drop_name {
                    s.labels = Cow::Owned(s.labels.without_metric_name());
                    s.drop_name = false;
                }
            }
            EValue::Vector(vs)
        }
        EValue::Matrix(mut m) => {
            for s in &mut m.series {
                if s.drop_name {
                    s.labels = s.labels.without_metric_name();
                    s.drop_name = false;
                }
            }
            EValue::Matrix(m)
        }
        other => other,
    }
}
