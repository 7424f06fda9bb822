//! `<aggregation>_over_time` functions: one value per series from the
//! points of its window. Ports of Prometheus 3.5 `promql/functions.go`
//! (`funcAvgOverTime`, `compareOverTime`, `varianceOverTime`, ...).

use super::{go_g, labels::absent_labels, out, FnCtx};
use crate::model::Sample;
use crate::promql::value::{Matrix, VSample};

/// One step of Kahan-Babuška-Neumaier summation: adds `inc` to `sum`
/// with compensation `c`. Returns the new (sum, compensation).
pub(super) fn kahan_sum_inc(inc: f64, sum: f64, mut c: f64) -> (f64, f64) {
    let t = sum + inc;
    if t.is_infinite() {
        c = 0.0;
    } else if sum.abs() >= inc.abs() {
        c += (sum - t) + inc;
    } else {
        c += (inc - t) + sum;
    }
    (t, c)
}

/// The `q`-quantile of `values` by linear interpolation between closest
/// ranks (Prometheus's `quantile`); sorts `values`. NaN sorts first, like
/// Prometheus's comparator.
pub(super) fn quantile_of(q: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    values.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        _ => a.partial_cmp(b).expect("not NaN"),
    });
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    values[lower as usize] * (1.0 - weight) + values[upper as usize] * weight
}

/// Applies `f` to every series with points; outputs drop the metric name.
fn each(m: Matrix, ctx: &FnCtx<'_>, mut f: impl FnMut(&[Sample]) -> f64) -> Vec<VSample> {
    let mut res = Vec::with_capacity(m.series.len());
    for s in m.series {
        if !s.points.is_empty() {
            let v = f(&s.points);
            res.push(out(s.labels, v, ctx, true));
        }
    }
    res
}

pub(super) fn avg(m: Matrix, ctx: &FnCtx<'_>) -> Vec<VSample> {
    each(m, ctx, |p| {
        // Direct mean with Kahan summation while the sum stays finite, then
        // an incremental mean so that huge inputs do not overflow.
        let (mut sum, mut count) = (p[0].v, 1.0);
        let (mut mean, mut c) = (0.0, 0.0);
        let mut incremental = false;
        for (i, s) in p[1..].iter().enumerate() {
            count = (i + 2) as f64;
            if !incremental {
                let (ns, nc) = kahan_sum_inc(s.v, sum, c);
                if !ns.is_infinite() {
                    (sum, c) = (ns, nc);
                    continue;
                }
                incremental = true;
                mean = sum / (count - 1.0);
                c /= count - 1.0;
            }
            let q = (count - 1.0) / count;
            (mean, c) = kahan_sum_inc(s.v / count, q * mean, q * c);
        }
        if incremental {
            mean + c
        } else {
            sum / count + c / count
        }
    })
}

pub(super) fn sum(m: Matrix, ctx: &FnCtx<'_>) -> Vec<VSample> {
    each(m, ctx, |p| {
        let (mut sum, mut c) = (0.0, 0.0);
        for s in p {
            (sum, c) = kahan_sum_inc(s.v, sum, c);
        }
        if sum.is_infinite() {
            sum
        } else {
            sum + c
        }
    })
}

pub(super) fn count(m: Matrix, ctx: &FnCtx<'_>) -> Vec<VSample> {
    each(m, ctx, |p| p.len() as f64)
}

/// The first point that wins `better(candidate, current)` scanning in time
/// order; a NaN current value always loses.
fn pick(p: &[Sample], better: impl Fn(f64, f64) -> bool) -> Sample {
    let mut best = p[0];
    for s in p {
        if better(s.v, best.v) || best.v.is_nan() {
            best = *s;
        }
    }
    best
}

pub(super) fn min(m: Matrix, ctx: &FnCtx<'_>) -> Vec<VSample> {
    each(m, ctx, |p| pick(p, |a, b| a < b).v)
}

pub(super) fn max(m: Matrix, ctx: &FnCtx<'_>) -> Vec<VSample> {
    each(m, ctx, |p| pick(p, |a, b| a > b).v)
}

/// Timestamp (seconds) of the last minimum.
pub(super) fn ts_of_min(m: Matrix, ctx: &FnCtx<'_>) -> Vec<VSample> {
    each(m, ctx, |p| pick(p, |a, b| a <= b).t as f64 / 1000.0)
}

/// Timestamp (seconds) of the last maximum.
pub(super) fn ts_of_max(m: Matrix, ctx: &FnCtx<'_>) -> Vec<VSample> {
    each(m, ctx, |p| pick(p, |a, b| a >= b).t as f64 / 1000.0)
}

pub(super) fn ts_of_last(m: Matrix, ctx: &FnCtx<'_>) -> Vec<VSample> {
    each(m, ctx, |p| p[p.len() - 1].t as f64 / 1000.0)
}

/// `last_over_time` acts like an offset and keeps the metric name. The
/// series' own mark is kept: Prometheus always keeps the name here, but
/// with delayed removal that would resurrect a name dropped inside a
/// subquery (`last_over_time(rate(x[1m])[5m:])`), which non-delayed
/// Prometheus never shows.
pub(super) fn last(m: Matrix, ctx: &FnCtx<'_>) -> Vec<VSample> {
    let mut res = Vec::with_capacity(m.series.len());
    for s in m.series {
        if let Some(p) = s.points.last() {
            res.push(out(s.labels, p.v, ctx, s.drop_name));
        }
    }
    res
}

pub(super) fn present(m: Matrix, ctx: &FnCtx<'_>) -> Vec<VSample> {
    each(m, ctx, |_| 1.0)
}

/// 1 with the labels of the argument's equality matchers when no series has
/// a point in the window; nothing otherwise.
pub(super) fn absent(m: Matrix, ctx: &FnCtx<'_>) -> Vec<VSample> {
    if m.series.iter().any(|s| !s.points.is_empty()) {
        return Vec::new();
    }
    let labels = ctx
        .arg_exprs
        .first()
        .map(|e| absent_labels(e))
        .unwrap_or_default();
    vec![out(labels, 1.0, ctx, true)]
}

pub(super) fn quantile(q: f64, m: Matrix, ctx: &mut FnCtx<'_>) -> Vec<VSample> {
    if (q.is_nan() || !(0.0..=1.0).contains(&q)) && m.series.iter().any(|s| !s.points.is_empty()) {
        ctx.annotations.warn(format!(
            "PromQL warning: quantile value should be between 0 and 1, got {}",
            go_g(q)
        ));
    }
    let mut scratch = Vec::new();
    each(m, ctx, |p| {
        scratch.clear();
        scratch.extend(p.iter().map(|s| s.v));
        quantile_of(q, &mut scratch)
    })
}

/// Population variance by Welford's method with Kahan-compensated sums.
fn variance(p: &[Sample]) -> f64 {
    let (mut count, mut mean, mut c_mean, mut aux, mut c_aux) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for s in p {
        count += 1.0;
        let delta = s.v - (mean + c_mean);
        (mean, c_mean) = kahan_sum_inc(delta / count, mean, c_mean);
        (aux, c_aux) = kahan_sum_inc(delta * (s.v - (mean + c_mean)), aux, c_aux);
    }
    (aux + c_aux) / count
}

pub(super) fn stdvar(m: Matrix, ctx: &FnCtx<'_>) -> Vec<VSample> {
    each(m, ctx, variance)
}

pub(super) fn stddev(m: Matrix, ctx: &FnCtx<'_>) -> Vec<VSample> {
    each(m, ctx, |p| variance(p).sqrt())
}

/// Median absolute deviation from the median.
pub(super) fn mad(m: Matrix, ctx: &FnCtx<'_>) -> Vec<VSample> {
    let mut scratch = Vec::new();
    each(m, ctx, |p| {
        scratch.clear();
        scratch.extend(p.iter().map(|s| s.v));
        let median = quantile_of(0.5, &mut scratch);
        scratch.clear();
        scratch.extend(p.iter().map(|s| (s.v - median).abs()));
        quantile_of(0.5, &mut scratch)
    })
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use crate::promql::value::Value;

    fn run1(name: &str, values: &[f64]) -> f64 {
        // 10s steps from 0; the window (−10s, last] holds every point.
        let s = vec![series(&[("__name__", "m")], 10, values)];
        let end = (values.len() as i64 - 1) * 10;
        one(run(name, vec![window(&s, end, end + 10)], end).0)
    }

    #[test]
    fn kahan_compensates() {
        // 1 + 1e100 + 1 - 1e100 = 2 exactly with compensation.
        let (mut s, mut c) = (0.0, 0.0);
        for v in [1.0, 1e100, 1.0, -1e100] {
            (s, c) = kahan_sum_inc(v, s, c);
        }
        assert_eq!(s + c, 2.0);
    }

    #[test]
    fn aggregations_over_time() {
        // functions.test "Tests for *_over_time": metric 1 2 3 0 -1 ... here a
        // small hand-checked set.
        let v = [4.0, 2.0, 9.0, 2.0, 3.0];
        assert_eq!(run1("avg_over_time", &v), 4.0);
        assert_eq!(run1("sum_over_time", &v), 20.0);
        assert_eq!(run1("count_over_time", &v), 5.0);
        assert_eq!(run1("min_over_time", &v), 2.0);
        assert_eq!(run1("max_over_time", &v), 9.0);
        assert_eq!(run1("last_over_time", &v), 3.0);
        assert_eq!(run1("present_over_time", &v), 1.0);
        // Population variance: mean 4, squares 0+4+25+4+1 = 34 / 5.
        assert!(approx(run1("stdvar_over_time", &v), 6.8));
        assert!(approx(run1("stddev_over_time", &v), 6.8f64.sqrt()));
        // Median 3, deviations 1,1,6,1,0 -> median 1.
        assert_eq!(run1("mad_over_time", &v), 1.0);
        // ts_of_min picks the last minimum (t=30s), ts_of_max the only one.
        assert_eq!(run1("ts_of_min_over_time", &v), 30.0);
        assert_eq!(run1("ts_of_max_over_time", &v), 20.0);
        assert_eq!(run1("ts_of_last_over_time", &v), 40.0);
    }

    #[test]
    fn nan_handling_in_min_max() {
        // A leading NaN is replaced by the first number; later NaNs are ignored.
        assert_eq!(run1("max_over_time", &[f64::NAN, 1.0, f64::NAN, 3.0]), 3.0);
        assert_eq!(run1("min_over_time", &[f64::NAN, 1.0, f64::NAN, 3.0]), 1.0);
        assert!(run1("max_over_time", &[f64::NAN]).is_nan());
    }

    #[test]
    fn avg_survives_overflow() {
        // functions.test: avg_over_time of values near f64::MAX stays finite.
        let big = 1.7976931348623157e308;
        assert!(approx(run1("avg_over_time", &[big, big, big]), big));
        assert_eq!(run1("avg_over_time", &[f64::INFINITY, 1.0]), f64::INFINITY);
    }

    #[test]
    fn quantile_over_time_interpolates_and_warns() {
        // functions.test: quantile_over_time(0.5, data{test="two samples"}[1m])
        // over 0 and 1 is 0.5; 0.75 gives 0.75; >1 gives +Inf with a warning.
        let s = vec![series(&[("__name__", "data")], 30, &[0.0, 1.0])];
        let q = |q: f64| {
            run(
                "quantile_over_time",
                vec![Value::Scalar(q), window(&s, 30, 60)],
                30,
            )
        };
        assert_eq!(one(q(0.5).0), 0.5);
        assert_eq!(one(q(0.75).0), 0.75);
        let (r, ann) = q(2.0);
        assert_eq!(one(r), f64::INFINITY);
        assert_eq!(
            ann.warnings,
            vec!["PromQL warning: quantile value should be between 0 and 1, got 2"]
        );
    }

    #[test]
    fn last_keeps_name_others_drop_it() {
        let s = vec![series(&[("__name__", "m")], 10, &[1.0])];
        for (f, drop) in [
            ("last_over_time", false),
            ("max_over_time", true),
            ("ts_of_last_over_time", true),
        ] {
            match run(f, vec![window(&s, 0, 10)], 0).0.unwrap() {
                Value::Vector(v) => assert_eq!(v[0].drop_name, drop, "{f}"),
                _ => panic!(),
            }
        }
    }

    #[test]
    fn absent_over_time_only_without_points() {
        let s = vec![series(&[("__name__", "m")], 10, &[1.0])];
        assert!(vec_of(run("absent_over_time", vec![window(&s, 0, 10)], 0).0).is_empty());
        let got = vec_of(run("absent_over_time", vec![window(&s, 100, 10)], 100).0);
        assert_eq!(got, vec![("{}".to_string(), 1.0)]);
    }

    #[test]
    fn empty_windows_produce_nothing() {
        let s = vec![series(&[("__name__", "m")], 10, &[1.0])];
        assert!(vec_of(run("count_over_time", vec![window(&s, 100, 10)], 100).0).is_empty());
    }
}
