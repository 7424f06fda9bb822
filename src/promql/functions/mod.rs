//! PromQL functions. The engine evaluates the arguments and calls [`call`].
//!
//! Semantics follow Prometheus 3.5 (`promql/functions.go` and
//! `promql/quantile.go`), floats only: this engine has no native histograms.
//! Name handling assumes delayed `__name__` removal: value-changing functions
//! set [`VSample::drop_name`] and the engine removes the name at the end.

mod date;
mod histogram;
mod labels;
mod math;
mod over_time;
mod range;
mod sort;

pub(crate) use range::{Kind as RateKind, RateState};

use super::value::{Annotations, EvalError, Matrix, VSample, Value};
use promql_parser::parser::Expr;

/// What a function needs besides its evaluated arguments.
pub struct FnCtx<'a> {
    /// Evaluation time (ms).
    pub t: i64,
    /// The argument expressions as written (absent() reads their matchers).
    pub arg_exprs: &'a [Box<Expr>],
    pub annotations: &'a mut Annotations,
}

/// Calls the function `name` on evaluated arguments. Range-vector arguments
/// arrive as [`Value::Matrix`] holding the window `(range_start, range_end]`;
/// series without points in the window are skipped like Prometheus does.
///
/// Vector results carry `t = ctx.t`; `time()`, `pi()` and `scalar()` return
/// [`Value::Scalar`].
pub fn call(name: &str, args: Vec<Value>, ctx: &mut FnCtx<'_>) -> Result<Value, EvalError> {
    let mut a = Args { name, vals: args };
    let mut out = match name {
        // Range-vector functions over counters and gauges.
        "rate" => range::rate(a.matrix(0)?, ctx, range::Kind::Rate),
        "increase" => range::rate(a.matrix(0)?, ctx, range::Kind::Increase),
        "delta" => range::rate(a.matrix(0)?, ctx, range::Kind::Delta),
        "irate" => range::instant_rate(a.matrix(0)?, ctx, true),
        "idelta" => range::instant_rate(a.matrix(0)?, ctx, false),
        "deriv" => range::deriv(a.matrix(0)?, ctx),
        "predict_linear" => range::predict_linear(a.matrix(0)?, a.scalar(1)?, ctx),
        "resets" => range::resets(a.matrix(0)?, ctx),
        "changes" => range::changes(a.matrix(0)?, ctx),
        "double_exponential_smoothing" => {
            range::double_exponential_smoothing(a.matrix(0)?, a.scalar(1)?, a.scalar(2)?, ctx)?
        }

        // Aggregations over time.
        "avg_over_time" => over_time::avg(a.matrix(0)?, ctx),
        "sum_over_time" => over_time::sum(a.matrix(0)?, ctx),
        "count_over_time" => over_time::count(a.matrix(0)?, ctx),
        "min_over_time" => over_time::min(a.matrix(0)?, ctx),
        "max_over_time" => over_time::max(a.matrix(0)?, ctx),
        "last_over_time" => over_time::last(a.matrix(0)?, ctx),
        "present_over_time" => over_time::present(a.matrix(0)?, ctx),
        "absent_over_time" => over_time::absent(a.matrix(0)?, ctx),
        "quantile_over_time" => over_time::quantile(a.scalar(0)?, a.matrix(1)?, ctx),
        "stddev_over_time" => over_time::stddev(a.matrix(0)?, ctx),
        "stdvar_over_time" => over_time::stdvar(a.matrix(0)?, ctx),
        "mad_over_time" => over_time::mad(a.matrix(0)?, ctx),
        "ts_of_last_over_time" => over_time::ts_of_last(a.matrix(0)?, ctx),
        "ts_of_min_over_time" => over_time::ts_of_min(a.matrix(0)?, ctx),
        "ts_of_max_over_time" => over_time::ts_of_max(a.matrix(0)?, ctx),

        // Element-wise math.
        "abs" | "ceil" | "floor" | "exp" | "sqrt" | "ln" | "log2" | "log10" | "sgn" | "sin"
        | "cos" | "tan" | "asin" | "acos" | "atan" | "sinh" | "cosh" | "tanh" | "asinh"
        | "acosh" | "atanh" | "deg" | "rad" => {
            let f = math::simple_fn(name).expect("listed above");
            math::map_values(a.vector(0)?, ctx, f)
        }
        "round" => {
            let to_nearest = if a.len() > 1 { a.scalar(1)? } else { 1.0 };
            math::round(a.vector(0)?, to_nearest, ctx)
        }
        "clamp" => math::clamp(a.vector(0)?, a.scalar(1)?, a.scalar(2)?, ctx),
        "clamp_min" => math::clamp(a.vector(0)?, a.scalar(1)?, f64::INFINITY, ctx),
        "clamp_max" => math::clamp(a.vector(0)?, f64::NEG_INFINITY, a.scalar(1)?, ctx),
        "timestamp" => math::timestamp(a.vector(0)?, ctx),
        "vector" => math::vector(a.scalar(0)?, ctx),
        "scalar" => return Ok(Value::Scalar(math::scalar(&a.vector(0)?))),
        "time" => return Ok(Value::Scalar(ctx.t as f64 / 1000.0)),
        "pi" => return Ok(Value::Scalar(std::f64::consts::PI)),

        // Calendar functions of a timestamp in seconds (or of the eval time).
        "day_of_month" | "day_of_week" | "day_of_year" | "days_in_month" | "hour" | "minute"
        | "month" | "year" => {
            let f = date::date_fn(name).expect("listed above");
            let v = if a.len() > 0 {
                Some(a.vector(0)?)
            } else {
                None
            };
            date::apply(v, ctx, f)
        }

        // Label manipulation and presence.
        "label_replace" => labels::label_replace(
            a.vector(0)?,
            &a.string(1)?,
            &a.string(2)?,
            &a.string(3)?,
            &a.string(4)?,
            ctx,
        )?,
        "label_join" => {
            let srcs = (3..a.len())
                .map(|i| a.string(i))
                .collect::<Result<Vec<_>, _>>()?;
            labels::label_join(a.vector(0)?, &a.string(1)?, &a.string(2)?, &srcs, ctx)?
        }
        "absent" => labels::absent(&a.vector(0)?, ctx),

        // Ordering.
        "sort" => sort::by_value(a.vector(0)?, false),
        "sort_desc" => sort::by_value(a.vector(0)?, true),
        "sort_by_label" | "sort_by_label_desc" => {
            let names = (1..a.len())
                .map(|i| a.string(i))
                .collect::<Result<Vec<_>, _>>()?;
            sort::by_label(a.vector(0)?, &names, name == "sort_by_label_desc")
        }

        // Classic (`le`-bucket) histograms.
        "histogram_quantile" => histogram::quantile(a.scalar(0)?, a.vector(1)?, ctx),
        "histogram_fraction" => histogram::fraction(a.scalar(0)?, a.scalar(1)?, a.vector(2)?, ctx),
        // These read native histograms only; float samples are ignored.
        "histogram_count" | "histogram_sum" | "histogram_avg" | "histogram_stddev"
        | "histogram_stdvar" => {
            a.vector(0)?;
            Vec::new()
        }

        _ => return Err(EvalError::Unsupported(format!("function {name}"))),
    };
    // Every function result sits at the evaluation time (`timestamp()` of a
    // function result reads it).
    for s in &mut out {
        s.t = ctx.t;
    }
    Ok(Value::Vector(out))
}

/// The evaluated arguments of one call, taken out by position.
struct Args<'n> {
    name: &'n str,
    vals: Vec<Value>,
}

impl Args<'_> {
    fn len(&self) -> usize {
        self.vals.len()
    }

    fn take(&mut self, i: usize) -> Result<Value, EvalError> {
        match self.vals.get_mut(i) {
            Some(v) => Ok(std::mem::replace(v, Value::Scalar(f64::NAN))),
            None => Err(self.bad(i, "missing")),
        }
    }

    fn bad(&self, i: usize, what: &str) -> EvalError {
        EvalError::Execution(format!(
            "invalid argument {} to function {}: {what}",
            i + 1,
            self.name
        ))
    }

    fn matrix(&mut self, i: usize) -> Result<Matrix, EvalError> {
        match self.take(i)? {
            Value::Matrix(m) => Ok(m),
            _ => Err(self.bad(i, "expected a range vector")),
        }
    }

    fn vector(&mut self, i: usize) -> Result<Vec<VSample>, EvalError> {
        match self.take(i)? {
            Value::Vector(v) => Ok(v),
            _ => Err(self.bad(i, "expected an instant vector")),
        }
    }

    fn scalar(&self, i: usize) -> Result<f64, EvalError> {
        match self.vals.get(i) {
            Some(Value::Scalar(f)) => Ok(*f),
            _ => Err(self.bad(i, "expected a scalar")),
        }
    }

    fn string(&self, i: usize) -> Result<String, EvalError> {
        match self.vals.get(i) {
            Some(Value::String(s)) => Ok(s.clone()),
            _ => Err(self.bad(i, "expected a string")),
        }
    }
}

/// Builds an output sample at the evaluation time.
fn out(labels: crate::model::Labels, v: f64, ctx: &FnCtx<'_>, drop_name: bool) -> VSample {
    VSample {
        labels,
        t: ctx.t,
        v,
        drop_name,
    }
}

/// Go's `%g` for annotation texts (shortest representation, exponent
/// outside [-4, 6) like `strconv.FormatFloat(f, 'g', -1, 64)`).
fn go_g(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "1.5e-7".
    let e = format!("{f:e}");
    let (mant, exp) = e.split_once('e').expect("exponent form");
    let exp: i32 = exp.parse().expect("exponent");
    if (-4..6).contains(&exp) {
        format!("{f}")
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    }
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Builders for function tests, in the units the .test scripts use.
    use super::*;
    use crate::model::{Labels, Sample};
    use crate::promql::value::RangeSeries;

    pub fn lbl(s: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(s.iter().copied())
    }

    /// A series of `values` spaced `step_s` seconds apart from time 0.
    pub fn series(labels: &[(&str, &str)], step_s: i64, values: &[f64]) -> RangeSeries {
        RangeSeries {
            labels: lbl(labels),
            points: values
                .iter()
                .enumerate()
                .map(|(i, &v)| Sample {
                    t: i as i64 * step_s * 1000,
                    v,
                })
                .collect(),
            drop_name: false,
        }
    }

    /// Restricts a series to the window `(t - range, t]` (seconds), like a
    /// matrix selector `x[range]` evaluated at `t`.
    pub fn window(series: &[RangeSeries], t_s: i64, range_s: i64) -> Value {
        let (start, end) = ((t_s - range_s) * 1000, t_s * 1000);
        Value::Matrix(Matrix {
            series: series
                .iter()
                .map(|s| RangeSeries {
                    labels: s.labels.clone(),
                    points: s
                        .points
                        .iter()
                        .copied()
                        .filter(|p| p.t > start && p.t <= end)
                        .collect(),
                    drop_name: s.drop_name,
                })
                .collect(),
            range_start: start,
            range_end: end,
        })
    }

    pub fn vsample(labels: &[(&str, &str)], v: f64) -> VSample {
        VSample {
            labels: lbl(labels),
            t: 0,
            v,
            drop_name: false,
        }
    }

    /// Calls `name` at `t_s` seconds and returns the vector result with the
    /// annotations.
    pub fn run(name: &str, args: Vec<Value>, t_s: i64) -> (Result<Value, EvalError>, Annotations) {
        let mut ann = Annotations::default();
        let exprs: Vec<Box<Expr>> = Vec::new();
        let r = {
            let mut ctx = FnCtx {
                t: t_s * 1000,
                arg_exprs: &exprs,
                annotations: &mut ann,
            };
            call(name, args, &mut ctx)
        };
        (r, ann)
    }

    /// The (labels as text, value) pairs of a vector result, sorted.
    pub fn vec_of(v: Result<Value, EvalError>) -> Vec<(String, f64)> {
        match v.expect("call failed") {
            Value::Vector(v) => {
                let mut r: Vec<_> = v.into_iter().map(|s| (s.labels.to_string(), s.v)).collect();
                r.sort_by(|a, b| a.0.cmp(&b.0));
                r
            }
            other => panic!("expected a vector, got {other:?}"),
        }
    }

    pub fn approx(a: f64, b: f64) -> bool {
        (a.is_nan() && b.is_nan()) || a == b || ((a - b).abs() / (a.abs() + b.abs())) < 1e-9
    }

    /// The single value of a one-sample vector result.
    pub fn one(v: Result<Value, EvalError>) -> f64 {
        let v = vec_of(v);
        assert_eq!(v.len(), 1, "expected one sample, got {v:?}");
        v[0].1
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::*;

    #[test]
    fn go_g_matches_go_formatting() {
        assert_eq!(go_g(1.5), "1.5");
        assert_eq!(go_g(-0.5), "-0.5");
        assert_eq!(go_g(1e6), "1e+06");
        assert_eq!(go_g(999999.5), "999999.5");
        assert_eq!(go_g(1234567.0), "1.234567e+06");
        assert_eq!(go_g(0.00001), "1e-05");
        assert_eq!(go_g(f64::NAN), "NaN");
        assert_eq!(go_g(f64::NEG_INFINITY), "-Inf");
    }

    #[test]
    fn unknown_function_is_unsupported() {
        let (r, _) = run("nope", vec![], 0);
        assert!(matches!(r, Err(EvalError::Unsupported(_))));
    }

    #[test]
    fn wrong_argument_type_is_an_error() {
        let (r, _) = run("rate", vec![Value::Scalar(1.0)], 0);
        assert!(matches!(r, Err(EvalError::Execution(_))));
    }

    #[test]
    fn time_and_pi_are_scalars() {
        assert_eq!(run("time", vec![], 5).0, Ok(Value::Scalar(5.0)));
        assert_eq!(
            run("pi", vec![], 0).0,
            Ok(Value::Scalar(std::f64::consts::PI))
        );
    }

    /// Values printed by promtool 3.5.3 (`promtool test rules
    /// --enable-feature=promql-experimental-functions`) for the series
    /// `g{a="1"} 1 2 4 8 9 1 3` at 1m spacing, evaluated at 6m.
    #[test]
    fn matches_prometheus_on_a_sample_series() {
        let g = vec![series(
            &[("__name__", "g"), ("a", "1")],
            60,
            &[1.0, 2.0, 4.0, 8.0, 9.0, 1.0, 3.0],
        )];
        let w10 = || window(&g, 360, 600);
        let sc = Value::Scalar;
        let cases: Vec<(&str, Vec<Value>, f64)> = vec![
            (
                "double_exponential_smoothing",
                vec![w10(), sc(0.3), sc(0.6)],
                6.337233087999998,
            ),
            ("mad_over_time", vec![w10()], 2.0),
            ("ts_of_max_over_time", vec![w10()], 240.0),
            (
                "quantile_over_time",
                vec![sc(0.3), w10()],
                1.7999999999999998,
            ),
            ("stddev_over_time", vec![w10()], 3.0237157840738176),
            ("predict_linear", vec![w10(), sc(120.0)], 5.607142857142858),
            ("rate", vec![window(&g, 360, 300)], 3.333333333333333e-02),
        ];
        for (name, args, want) in cases {
            let got = one(run(name, args, 360).0);
            assert!(approx(got, want), "{name}: {got} != {want}");
        }
    }

    /// Go's template expansion as label_replace uses it (checked with
    /// promtool 3.5.3): `$1x` names a group "1x", `$$` is a dollar, a
    /// trailing `$` stays.
    #[test]
    fn label_replace_expansion_matches_go() {
        let v = Value::Vector(vec![vsample(&[("__name__", "n"), ("a", "src-7")], 1.0)]);
        let s = |x: &str| Value::String(x.into());
        let got = vec_of(
            run(
                "label_replace",
                vec![v, s("d"), s("$1x-${1}y-$$-$2-$"), s("a"), s("src-(.*)")],
                0,
            )
            .0,
        );
        assert_eq!(got[0].0, r#"n{a="src-7", d="-7y-$--$"}"#);
    }
}
