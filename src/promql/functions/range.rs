//! Range-vector functions over counters and gauges: `rate`, `increase`,
//! `delta`, `irate`, `idelta`, `deriv`, `predict_linear`, `resets`,
//! `changes` and `double_exponential_smoothing`.
//!
//! Ports of Prometheus 3.5 `promql/functions.go` (`extrapolatedRate`,
//! `instantValue`, `linearRegression`, `funcResets`, ...), floats only.

use super::over_time::kahan_sum_inc;
use super::{out, FnCtx};
use crate::model::{Labels, Sample, METRIC_NAME};
use crate::promql::value::{Annotations, EvalError, Matrix, VSample};
use std::collections::HashSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Rate,
    Increase,
    Delta,
}

/// Applies `f` to the points of every series with at least one point in the
/// window; `Some(v)` becomes an output sample whose name is to be dropped.
fn per_series(
    m: Matrix,
    ctx: &FnCtx<'_>,
    mut f: impl FnMut(&[Sample]) -> Option<f64>,
) -> Vec<VSample> {
    let mut res = Vec::with_capacity(m.series.len());
    for s in m.series {
        if s.points.is_empty() {
            continue;
        }
        if let Some(v) = f(&s.points) {
            res.push(out(s.labels, v, ctx, true));
        }
    }
    res
}

/// `rate`, `increase` and `delta`: Prometheus 3's `extrapolatedRate`.
pub(super) fn rate(m: Matrix, ctx: &mut FnCtx<'_>, kind: Kind) -> Vec<VSample> {
    let mut state = RateState::new(kind, m.range_start, m.range_end);
    let mut res = Vec::with_capacity(m.series.len());
    for s in m.series {
        if let Some(v) = state.series(&s.labels, &s.points, ctx.annotations) {
            res.push(out(s.labels, v, ctx, true));
        }
    }
    res
}

/// `rate`, `increase` or `delta` over one window, fed one series at a time,
/// so the engine can also run it straight over the store's samples.
pub(crate) struct RateState {
    kind: Kind,
    start: i64,
    end: i64,
    /// Names already reported: many series of one gauge cost one formatted
    /// annotation, not one each.
    reported: HashSet<String>,
}

impl RateState {
    pub(crate) fn new(kind: Kind, range_start: i64, range_end: i64) -> Self {
        RateState {
            kind,
            start: range_start,
            end: range_end,
            reported: HashSet::new(),
        }
    }

    /// The result for one series' points in the window (stale markers
    /// removed), or `None` when it has no result.
    pub(crate) fn series(
        &mut self,
        labels: &Labels,
        points: &[Sample],
        annotations: &mut Annotations,
    ) -> Option<f64> {
        self.series_named(|| labels.get(METRIC_NAME), points, annotations)
    }

    /// Like [`RateState::series`], with the series' metric name given by
    /// `name` (called only when the name is needed).
    pub(crate) fn series_named<'n>(
        &mut self,
        name: impl FnOnce() -> Option<&'n str>,
        points: &[Sample],
        annotations: &mut Annotations,
    ) -> Option<f64> {
        let is_counter = self.kind != Kind::Delta;
        let v = extrapolated_rate(
            points,
            self.start,
            self.end,
            is_counter,
            self.kind == Kind::Rate,
        )?;
        // Prometheus's engine adds this hint for rate/increase only.
        if is_counter {
            if let Some(name) = name() {
                if !is_counter_name(name) && !self.reported.contains(name) {
                    annotations.info(format!(
                        "PromQL info: metric might not be a counter, name does not end in \
                         _total/_sum/_count/_bucket: {name:?}"
                    ));
                    self.reported.insert(name.to_string());
                }
            }
        }
        Some(v)
    }
}

fn is_counter_name(name: &str) -> bool {
    ["_total", "_sum", "_count", "_bucket"]
        .iter()
        .any(|sfx| name.ends_with(sfx))
}

/// The increase (or change) over the window `(range_start, range_end]`,
/// extrapolated towards the window's edges, per second when `is_rate`.
/// `None` when fewer than two points lie in the window.
pub(super) fn extrapolated_rate(
    points: &[Sample],
    range_start: i64,
    range_end: i64,
    is_counter: bool,
    is_rate: bool,
) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let first = points[0];
    let last = points[points.len() - 1];
    let mut result = last.v - first.v;
    if is_counter {
        // A drop is a counter reset: the counter restarted from zero, so the
        // value before the drop was gained too.
        let mut prev = first.v;
        for p in &points[1..] {
            if p.v < prev {
                result += prev;
            }
            prev = p.v;
        }
    }

    let mut to_start = (first.t - range_start) as f64 / 1000.0;
    let mut to_end = (range_end - last.t) as f64 / 1000.0;
    let sampled = (last.t - first.t) as f64 / 1000.0;
    let avg_step = sampled / (points.len() - 1) as f64;

    // Extrapolate to a window edge only if a sample could be expected there
    // (within 110% of the average spacing); otherwise assume the series
    // starts or ends half a spacing beyond its first or last sample.
    let threshold = avg_step * 1.1;
    if to_start >= threshold {
        to_start = avg_step / 2.0;
    }
    if is_counter && result > 0.0 && first.v >= 0.0 {
        // Counters are never negative: do not extrapolate below zero.
        let to_zero = sampled * (first.v / result);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    if to_end >= threshold {
        to_end = avg_step / 2.0;
    }
    let mut factor = (sampled + to_start + to_end) / sampled;
    if is_rate {
        factor /= (range_end - range_start) as f64 / 1000.0;
    }
    Some(result * factor)
}

/// `irate` (`is_rate`) and `idelta`: from the last two points only.
pub(super) fn instant_rate(m: Matrix, ctx: &FnCtx<'_>, is_rate: bool) -> Vec<VSample> {
    per_series(m, ctx, |p| {
        if p.len() < 2 {
            return None;
        }
        let (prev, last) = (p[p.len() - 2], p[p.len() - 1]);
        let interval = last.t - prev.t;
        if interval == 0 {
            return None;
        }
        // On a counter reset irate takes the new value as the increase.
        let mut v = if is_rate && last.v < prev.v {
            last.v
        } else {
            last.v - prev.v
        };
        if is_rate {
            v /= interval as f64 / 1000.0;
        }
        Some(v)
    })
}

/// Least-squares fit of the points; returns (slope per second, intercept at
/// `intercept_t`). Kahan-compensated sums, as Prometheus does.
pub(super) fn linear_regression(points: &[Sample], intercept_t: i64) -> (f64, f64) {
    let (mut n, mut sum_x, mut c_x, mut sum_y, mut c_y) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut sum_xy, mut c_xy, mut sum_x2, mut c_x2) = (0.0, 0.0, 0.0, 0.0);
    let init_y = points[0].v;
    let mut const_y = true;
    for (i, p) in points.iter().enumerate() {
        if const_y && i > 0 && p.v != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = (p.t - intercept_t) as f64 / 1e3;
        (sum_x, c_x) = kahan_sum_inc(x, sum_x, c_x);
        (sum_y, c_y) = kahan_sum_inc(p.v, sum_y, c_y);
        (sum_xy, c_xy) = kahan_sum_inc(x * p.v, sum_xy, c_xy);
        (sum_x2, c_x2) = kahan_sum_inc(x * x, sum_x2, c_x2);
    }
    if const_y {
        // A flat line is exact; avoids rounding noise in the slope.
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    sum_x += c_x;
    sum_y += c_y;
    sum_xy += c_xy;
    sum_x2 += c_x2;
    let cov_xy = sum_xy - sum_x * sum_y / n;
    let var_x = sum_x2 - sum_x * sum_x / n;
    let slope = cov_xy / var_x;
    let intercept = sum_y / n - slope * sum_x / n;
    (slope, intercept)
}

pub(super) fn deriv(m: Matrix, ctx: &FnCtx<'_>) -> Vec<VSample> {
    per_series(m, ctx, |p| {
        // Intercept at the first sample keeps x small (prometheus#2674).
        (p.len() >= 2).then(|| linear_regression(p, p[0].t).0)
    })
}

pub(super) fn predict_linear(m: Matrix, duration_s: f64, ctx: &FnCtx<'_>) -> Vec<VSample> {
    let t = ctx.t;
    per_series(m, ctx, |p| {
        (p.len() >= 2).then(|| {
            let (slope, intercept) = linear_regression(p, t);
            slope * duration_s + intercept
        })
    })
}

pub(super) fn resets(m: Matrix, ctx: &FnCtx<'_>) -> Vec<VSample> {
    per_series(m, ctx, |p| {
        Some(p.windows(2).filter(|w| w[1].v < w[0].v).count() as f64)
    })
}

pub(super) fn changes(m: Matrix, ctx: &FnCtx<'_>) -> Vec<VSample> {
    per_series(m, ctx, |p| {
        let n = p
            .windows(2)
            .filter(|w| w[1].v != w[0].v && !(w[1].v.is_nan() && w[0].v.is_nan()))
            .count();
        Some(n as f64)
    })
}

/// Holt's linear (double exponential) smoothing; `sf` weighs new values,
/// `tf` weighs the trend. Both must lie strictly between 0 and 1, checked
/// only when a series has points, as in Prometheus.
pub(super) fn double_exponential_smoothing(
    m: Matrix,
    sf: f64,
    tf: f64,
    ctx: &FnCtx<'_>,
) -> Result<Vec<VSample>, EvalError> {
    if m.series.iter().any(|s| !s.points.is_empty()) {
        if sf <= 0.0 || sf >= 1.0 || sf.is_nan() {
            return Err(EvalError::Execution(format!(
                "invalid smoothing factor. Expected: 0 < sf < 1, got: {sf:.6}"
            )));
        }
        if tf <= 0.0 || tf >= 1.0 || tf.is_nan() {
            return Err(EvalError::Execution(format!(
                "invalid trend factor. Expected: 0 < tf < 1, got: {tf:.6}"
            )));
        }
    }
    Ok(per_series(m, ctx, |p| {
        if p.len() < 2 {
            return None;
        }
        let (mut s0, mut s1) = (0.0, p[0].v);
        let mut b = p[1].v - p[0].v;
        for (i, pt) in p.iter().enumerate().skip(1) {
            let x = sf * pt.v;
            // The trend starts as the first difference, then is smoothed.
            if i > 1 {
                b = tf * (s1 - s0) + (1.0 - tf) * b;
            }
            let y = (1.0 - sf) * (s1 + b);
            (s0, s1) = (s1, x + y);
        }
        Some(s1)
    }))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::promql::value::{EvalError, Value};

    /// `start+step x n` in the .test notation: n+1 values.
    fn seq(start: f64, step: f64, n: usize) -> Vec<f64> {
        (0..=n).map(|i| start + step * i as f64).collect()
    }

    // From functions.test "Tests for increase()", 5m spacing.
    fn http() -> Vec<crate::promql::value::RangeSeries> {
        let mut bar = seq(0.0, 18.0, 5);
        bar.extend(seq(0.0, 18.0, 5));
        vec![
            series(
                &[("__name__", "http_requests_total"), ("path", "/foo")],
                300,
                &seq(0.0, 10.0, 10),
            ),
            series(
                &[("__name__", "http_requests_total"), ("path", "/bar")],
                300,
                &bar,
            ),
            series(
                &[("__name__", "http_requests_total"), ("path", "/dings")],
                300,
                &seq(10.0, 10.0, 10),
            ),
            series(
                &[("__name__", "http_requests_total"), ("path", "/bumms")],
                300,
                &seq(1.0, 10.0, 10),
            ),
        ]
    }

    fn check(got: Vec<(String, f64)>, want: &[(&str, f64)]) {
        assert_eq!(got.len(), want.len(), "{got:?}");
        for ((l, v), (wl, wv)) in got.iter().zip(want) {
            assert_eq!(l, wl);
            assert!(approx(*v, *wv), "{l}: {v} != {wv}");
        }
    }

    #[test]
    fn increase_extrapolates_like_prometheus() {
        let (r, ann) = run("increase", vec![window(&http(), 3000, 3000)], 3000);
        check(
            vec_of(r),
            &[
                (r#"http_requests_total{path="/bar"}"#, 160.0),
                (r#"http_requests_total{path="/bumms"}"#, 100.0),
                (r#"http_requests_total{path="/dings"}"#, 100.0),
                (r#"http_requests_total{path="/foo"}"#, 100.0),
            ],
        );
        assert!(ann.infos.is_empty(), "_total names are counters");
        // [100m]: extrapolation towards the start stops at the zero point.
        let (r, _) = run("increase", vec![window(&http(), 3000, 6000)], 3000);
        check(
            vec_of(r),
            &[
                (r#"http_requests_total{path="/bar"}"#, 162.0),
                (r#"http_requests_total{path="/bumms"}"#, 101.0),
                (r#"http_requests_total{path="/dings"}"#, 105.0),
                (r#"http_requests_total{path="/foo"}"#, 100.0),
            ],
        );
    }

    #[test]
    fn rate_with_counter_reset_and_zero_point() {
        // functions.test: 0 1 2 3 2 3 4 -> increase(...[30m]) at 30m is 7.
        let s = vec![series(
            &[("__name__", "x_total")],
            300,
            &[0.0, 1.0, 2.0, 3.0, 2.0, 3.0, 4.0],
        )];
        let (r, _) = run("increase", vec![window(&s, 1800, 1800)], 1800);
        assert!(approx(one(r), 7.0));
        // testcounter_reset_middle_total 0+27x4 0+27x5: rate[50m] at 50m = 0.08.
        let mut v = seq(0.0, 27.0, 4);
        v.extend(seq(0.0, 27.0, 5));
        let s = vec![series(&[("__name__", "x_total")], 300, &v)];
        let (r, _) = run("rate", vec![window(&s, 3000, 3000)], 3000);
        assert!(approx(one(r), 0.08));
        // Zero cutoff (4m spacing): rate(...[20m]) at 10m per start offset.
        for (start, want) in [(0.0, 0.5), (60.0, 0.55), (120.0, 0.6), (300.0, 0.6)] {
            let s = vec![series(
                &[("__name__", "z_total")],
                240,
                &seq(start, 240.0, 10),
            )];
            let (r, _) = run("rate", vec![window(&s, 600, 1200)], 600);
            assert!(approx(one(r), want), "start {start}");
        }
    }

    #[test]
    fn non_counter_name_gets_info_annotation() {
        let s = vec![series(&[("__name__", "foo")], 60, &[1.0, 2.0, 3.0])];
        let (r, ann) = run("rate", vec![window(&s, 120, 180)], 120);
        assert_eq!(vec_of(r).len(), 1);
        assert_eq!(
            ann.infos,
            vec![
                r#"PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "foo""#
            ]
        );
        let (_, ann) = run("delta", vec![window(&s, 120, 180)], 120);
        assert!(ann.infos.is_empty(), "delta is for gauges");
    }

    #[test]
    fn rate_needs_two_points_and_drops_name() {
        let s = vec![series(&[("__name__", "x_total")], 60, &[1.0, 2.0])];
        let (r, _) = run("rate", vec![window(&s, 0, 60)], 0);
        assert!(vec_of(r).is_empty());
        let (r, _) = run("rate", vec![window(&s, 60, 120)], 60);
        match r.unwrap() {
            Value::Vector(v) => assert!(v[0].drop_name && v[0].t == 60_000),
            _ => panic!(),
        }
    }

    #[test]
    fn delta_extrapolates_without_counter_logic() {
        // A gauge falling 10 per minute, window exactly covering 4 samples
        // at 1m spacing within (0, 4m]: points at 1..4m -> change -30 over
        // 3m, to_start 1m < 1.1m -> extrapolate fully: -30 * 4/3 = -40.
        let s = vec![series(
            &[("__name__", "g")],
            60,
            &[100.0, 90.0, 80.0, 70.0, 60.0],
        )];
        let (r, _) = run("delta", vec![window(&s, 240, 240)], 240);
        assert!(approx(one(r), -40.0));
    }

    #[test]
    fn irate_and_idelta() {
        // functions.test: irate(http_requests_total[50m]) at 50m: /foo 0+10x10 gives 10/300.
        let (r, _) = run("irate", vec![window(&http()[0..1], 3000, 3000)], 3000);
        assert!(approx(one(r), 10.0 / 300.0));
        // A reset right at the end takes the new value as the increase.
        let s = vec![series(&[("__name__", "c")], 60, &[5.0, 2.0])];
        let (r, _) = run("irate", vec![window(&s, 60, 120)], 60);
        assert!(approx(one(r), 2.0 / 60.0));
        let (r, _) = run("idelta", vec![window(&s, 60, 120)], 60);
        assert!(approx(one(r), -3.0));
    }

    #[test]
    fn deriv_and_predict_linear() {
        // functions.test: testcounter_reset_middle 0+10x4 0+10x5 at 5m steps,
        // deriv(...[100m]) at 50m = 0.010606060606060607.
        let mut v: Vec<f64> = (0..=4).map(|i| 10.0 * i as f64).collect();
        v.extend((0..=5).map(|i| 10.0 * i as f64));
        let s = vec![series(
            &[("__name__", "testcounter_reset_middle_total")],
            300,
            &v,
        )];
        let (r, _) = run("deriv", vec![window(&s, 3000, 6000)], 3000);
        assert!(approx(one(r), 0.010606060606060607));
        // predict_linear(...[50m], 3600) at 50m = 70.
        let (r, _) = run(
            "predict_linear",
            vec![window(&s, 3000, 3000), Value::Scalar(3600.0)],
            3000,
        );
        assert!(approx(one(r), 70.0));
        // With `@ 3000` and [55m] at 10m: the intercept moves to 600+3600.
        let (r, _) = run(
            "predict_linear",
            vec![window(&s, 3000, 3300), Value::Scalar(3600.0)],
            600,
        );
        assert!(approx(one(r), 51.36363636363637));
    }

    #[test]
    fn resets_and_changes() {
        let s = vec![series(
            &[("__name__", "x")],
            60,
            &[1.0, 2.0, 1.0, 1.0, f64::NAN, f64::NAN, 0.0],
        )];
        let (r, _) = run("resets", vec![window(&s, 360, 600)], 360);
        assert_eq!(one(r), 1.0, "only 2 -> 1 is a drop; NaN compares false");
        let (r, _) = run("changes", vec![window(&s, 360, 600)], 360);
        // 1->2, 2->1, 1->NaN, NaN->0 (NaN->NaN is not a change).
        assert_eq!(one(r), 4.0);
    }

    #[test]
    fn double_exponential_smoothing_values_and_errors() {
        // Constant slope: smoothing a straight line reproduces it.
        let s = vec![series(
            &[("__name__", "x")],
            60,
            &[0.0, 10.0, 20.0, 30.0, 40.0],
        )];
        let (r, _) = run(
            "double_exponential_smoothing",
            vec![window(&s, 240, 300), Value::Scalar(0.5), Value::Scalar(0.5)],
            240,
        );
        assert!(approx(one(r), 40.0));
        let (r, _) = run(
            "double_exponential_smoothing",
            vec![window(&s, 240, 300), Value::Scalar(1.0), Value::Scalar(0.5)],
            240,
        );
        assert_eq!(
            r,
            Err(EvalError::Execution(
                "invalid smoothing factor. Expected: 0 < sf < 1, got: 1.000000".into()
            ))
        );
    }
}
