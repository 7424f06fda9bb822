//! `histogram_quantile` and `histogram_fraction` over classic histograms:
//! series that differ only in their `le` (upper bound) label form one
//! histogram. Ports of Prometheus 3.5 `promql/quantile.go`
//! (`BucketQuantile`, `BucketFraction`).

use super::{go_g, out, FnCtx};
use crate::model::{is_stale_nan, Labels, METRIC_NAME};
use crate::promql::value::VSample;
use std::collections::HashMap;

/// Relative difference below which neighbouring cumulative counts are
/// treated as equal: such deltas come from float rounding, not data.
const SMALL_DELTA_TOLERANCE: f64 = 1e-12;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    upper: f64,
    count: f64,
}

/// One classic histogram: its labels without `le` and its buckets.
struct Histogram {
    labels: Labels,
    buckets: Vec<Bucket>,
}

/// Groups samples into histograms by their labels without `le` (the metric
/// name included). Samples without a parsable `le` are reported and skipped.
fn group(v: Vec<VSample>, ctx: &mut FnCtx<'_>) -> Vec<Histogram> {
    let mut out: Vec<Histogram> = Vec::new();
    let mut index: HashMap<Labels, usize> = HashMap::new();
    for s in v {
        let le = s.labels.get_or_empty("le");
        let Some(upper) = parse_go_float(le) else {
            ctx.annotations.warn(format!(
                "PromQL warning: bucket label \"le\" is missing or has a malformed value of {:?} for metric name {:?}",
                le,
                s.labels.get_or_empty(METRIC_NAME)
            ));
            continue;
        };
        let mut labels = s.labels;
        labels.remove("le");
        let b = Bucket { upper, count: s.v };
        match index.get(&labels) {
            Some(&i) => out[i].buckets.push(b),
            None => {
                index.insert(labels.clone(), out.len());
                out.push(Histogram {
                    labels,
                    buckets: vec![b],
                });
            }
        }
    }
    out
}

/// Go's `strconv.ParseFloat` for the spellings `le` values use
/// (`+Inf`, `Inf`, `NaN`, decimal and exponent forms).
fn parse_go_float(s: &str) -> Option<f64> {
    if s.is_empty() || s.contains(|c: char| c.is_whitespace()) {
        return None;
    }
    s.parse::<f64>().ok()
}

pub(super) fn quantile(q: f64, v: Vec<VSample>, ctx: &mut FnCtx<'_>) -> Vec<VSample> {
    if q.is_nan() || !(0.0..=1.0).contains(&q) {
        ctx.annotations.warn(format!(
            "PromQL warning: quantile value should be between 0 and 1, got {}",
            go_g(q)
        ));
    }
    let mut res = Vec::new();
    for mut h in group(v, ctx) {
        let (value, forced) = bucket_quantile(q, &mut h.buckets);
        if forced {
            ctx.annotations.info(format!(
                "PromQL info: input to histogram_quantile needed to be fixed for monotonicity (see \
                 https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) \
                 for metric name {:?}",
                h.labels.get_or_empty(METRIC_NAME)
            ));
        }
        res.push(out(h.labels, value, ctx, true));
    }
    res
}

pub(super) fn fraction(
    lower: f64,
    upper: f64,
    v: Vec<VSample>,
    ctx: &mut FnCtx<'_>,
) -> Vec<VSample> {
    let mut res = Vec::new();
    for mut h in group(v, ctx) {
        let value = bucket_fraction(lower, upper, &mut h.buckets);
        res.push(out(h.labels, value, ctx, true));
    }
    res
}

fn sort_buckets(b: &mut [Bucket]) {
    b.sort_by(|x, y| {
        x.upper
            .partial_cmp(&y.upper)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
}

/// Merges buckets with the same upper bound (input sorted); returns the new length.
fn coalesce(b: &mut [Bucket]) -> usize {
    let mut last = b[0];
    let mut n = 0;
    for i in 1..b.len() {
        if b[i].upper == last.upper {
            last.count += b[i].count;
        } else {
            b[n] = last;
            last = b[i];
            n += 1;
        }
    }
    b[n] = last;
    n + 1
}

/// Prometheus's `almost.Equal`.
fn almost_equal(a: f64, b: f64, epsilon: f64) -> bool {
    const MIN_NORMAL: f64 = f64::MIN_POSITIVE;
    if is_stale_nan(a) || is_stale_nan(b) {
        return is_stale_nan(a) && is_stale_nan(b);
    }
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < MIN_NORMAL {
        return diff < epsilon * MIN_NORMAL;
    }
    diff / abs_sum.min(f64::MAX) < epsilon
}

/// Ignores rounding-sized differences, then removes any decrease between
/// successive cumulative counts. Returns whether a real decrease was fixed.
fn ensure_monotonic(b: &mut [Bucket]) -> bool {
    let mut forced = false;
    let mut prev = b[0].count;
    for bucket in b.iter_mut().skip(1) {
        let curr = bucket.count;
        if curr == prev {
            continue;
        }
        if almost_equal(prev, curr, SMALL_DELTA_TOLERANCE) || curr < prev {
            forced |= curr < prev && !almost_equal(prev, curr, SMALL_DELTA_TOLERANCE);
            bucket.count = prev;
            continue;
        }
        prev = curr;
    }
    forced
}

/// The `q`-quantile, interpolating linearly inside the bucket it falls in
/// (from 0 for a positive lowest bucket); the highest finite bound if it
/// falls into the +Inf bucket. Returns (value, monotonicity was forced).
fn bucket_quantile(q: f64, b: &mut [Bucket]) -> (f64, bool) {
    if q.is_nan() {
        return (f64::NAN, false);
    }
    if q < 0.0 {
        return (f64::NEG_INFINITY, false);
    }
    if q > 1.0 {
        return (f64::INFINITY, false);
    }
    sort_buckets(b);
    if b[b.len() - 1].upper != f64::INFINITY {
        return (f64::NAN, false);
    }
    let n = coalesce(b);
    let b = &mut b[..n];
    let forced = ensure_monotonic(b);
    if b.len() < 2 {
        return (f64::NAN, false);
    }
    let observations = b[b.len() - 1].count;
    if observations == 0.0 {
        return (f64::NAN, false);
    }
    let mut rank = q * observations;
    // First bucket (excluding +Inf) whose cumulative count reaches the rank.
    let idx = go_search(b.len() - 1, |i| b[i].count >= rank);
    if idx == b.len() - 1 {
        return (b[b.len() - 2].upper, forced);
    }
    if idx == 0 && b[0].upper <= 0.0 {
        return (b[0].upper, forced);
    }
    let (mut start, end, mut count) = (0.0, b[idx].upper, b[idx].count);
    if idx > 0 {
        start = b[idx - 1].upper;
        count -= b[idx - 1].count;
        rank -= b[idx - 1].count;
    }
    (start + (end - start) * (rank / count), forced)
}

/// Go's `sort.Search`: the smallest i in [0, n) with `f(i)`, or n. Kept
/// verbatim (not `partition_point`) so NaN counts probe the same buckets.
fn go_search(n: usize, f: impl Fn(usize) -> bool) -> usize {
    let (mut i, mut j) = (0, n);
    while i < j {
        let h = (i + j) / 2;
        if !f(h) {
            i = h + 1;
        } else {
            j = h;
        }
    }
    i
}

/// The fraction of observations between `lower` and `upper`, interpolating
/// linearly within buckets.
fn bucket_fraction(lower: f64, upper: f64, b: &mut [Bucket]) -> f64 {
    sort_buckets(b);
    if b[b.len() - 1].upper != f64::INFINITY {
        return f64::NAN;
    }
    let n = coalesce(b);
    let b = &b[..n];
    let count = b[b.len() - 1].count;
    if count == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    let (mut rank, mut lower_rank, mut upper_rank) = (0.0, 0.0, 0.0);
    let (mut lower_set, mut upper_set) = (false, false);
    for (i, bk) in b.iter().enumerate() {
        let lo = if i > 0 {
            b[i - 1].upper
        } else {
            f64::NEG_INFINITY
        };
        let hi = bk.upper;
        let interpolate = |v: f64| rank + (bk.count - rank) * (v - lo) / (hi - lo);
        if !lower_set && lo >= lower {
            lower_rank = rank;
            lower_set = true;
        }
        if !upper_set && lo >= upper {
            upper_rank = rank;
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        if !lower_set && lo < lower && hi > lower {
            lower_rank = interpolate(lower);
            lower_set = true;
        }
        if !upper_set && lo < upper && hi > upper {
            upper_rank = interpolate(upper);
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        rank = bk.count;
    }
    if !lower_set || lower_rank > count {
        lower_rank = count;
    }
    if !upper_set || upper_rank > count {
        upper_rank = count;
    }
    (upper_rank - lower_rank) / count
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::promql::value::Value;

    /// `testhistogram_bucket` from histograms.test at 50m, after
    /// `rate(...[5m])`: counts per bucket per second are the 0+Nx10 slopes.
    fn buckets(name: &str, start: &str, bounds: &[(&str, f64)]) -> Value {
        Value::Vector(
            bounds
                .iter()
                .map(|(le, v)| vsample(&[("__name__", name), ("le", le), ("start", start)], *v))
                .collect(),
        )
    }

    fn positive() -> Value {
        // histograms.test: testhistogram_bucket{start="positive"} 0+5x10,
        // 0+7x10, 0+8x10, 0+9x10 for le 0.1, .2, +Inf (plus 1e-1 dup bucket
        // 0.1 with 0+2x10 spelled "1e-1" ... omitted here).
        buckets(
            "testhistogram_bucket",
            "positive",
            &[("0.1", 50.0), (".2", 70.0), ("1e0", 80.0), ("+Inf", 90.0)],
        )
    }

    fn hq(q: f64, v: Value) -> Vec<(String, f64)> {
        vec_of(run("histogram_quantile", vec![Value::Scalar(q), v], 0).0)
    }

    #[test]
    fn quantile_interpolates_within_buckets() {
        // rank 45 of 90 lies in (0, 0.1] holding 50: 0.1 * 45/50.
        let r = hq(0.5, positive());
        assert_eq!(r[0].0, r#"testhistogram_bucket{start="positive"}"#);
        assert!(approx(r[0].1, 0.09));
        // rank 63 in (0.1, 0.2] holding 20 from 50: 0.1 + 0.1 * 13/20.
        assert!(approx(hq(0.7, positive())[0].1, 0.165));
        // Into the +Inf bucket: the highest finite bound.
        assert_eq!(hq(0.99, positive())[0].1, 1.0);
        assert_eq!(hq(-1.0, positive())[0].1, f64::NEG_INFINITY);
        assert_eq!(hq(2.0, positive())[0].1, f64::INFINITY);
    }

    #[test]
    fn quantile_special_cases() {
        // Negative lowest bound: the bound itself.
        let neg = buckets(
            "h",
            "negative",
            &[("-0.2", 1.0), ("-0.1", 2.0), ("0.3", 2.0), ("+Inf", 2.0)],
        );
        assert_eq!(hq(0.1, neg)[0].1, -0.2);
        // No +Inf bucket, zero observations: NaN.
        assert!(hq(0.5, buckets("h", "x", &[("1", 1.0)]))[0].1.is_nan());
        assert!(hq(0.5, buckets("h", "x", &[("1", 0.0), ("+Inf", 0.0)]))[0]
            .1
            .is_nan());
        // Only the +Inf bucket: fewer than two buckets.
        assert!(hq(0.5, buckets("h", "x", &[("+Inf", 3.0)]))[0].1.is_nan());
    }

    #[test]
    fn quantile_fixes_monotonicity_with_info() {
        // histograms.test "nonmonotonic_bucket": counts dip in the middle.
        let v = buckets(
            "nonmonotonic_bucket",
            "x",
            &[
                ("0.1", 0.0),
                ("1", 10.0),
                ("10", 8.0),
                ("100", 9.0),
                ("1000", 11.0),
                ("+Inf", 12.0),
            ],
        );
        let (r, ann) = run("histogram_quantile", vec![Value::Scalar(0.5), v], 0);
        // Fixed counts 0,10,10,10,11,12: rank 6 in (0.1,1] -> 0.1 + 0.9*6/10.
        assert!(approx(one(r), 0.64));
        assert_eq!(ann.infos.len(), 1);
        assert!(ann.infos[0].starts_with(
            "PromQL info: input to histogram_quantile needed to be fixed for monotonicity"
        ));
        assert!(ann.infos[0].ends_with(r#"for metric name "nonmonotonic_bucket""#));
    }

    #[test]
    fn bad_le_and_invalid_quantile_warn() {
        let v = Value::Vector(vec![vsample(
            &[("__name__", "x_bucket"), ("le", "abc")],
            1.0,
        )]);
        let (r, ann) = run("histogram_quantile", vec![Value::Scalar(1.5), v], 0);
        assert!(vec_of(r).is_empty());
        assert_eq!(ann.warnings, vec![
            "PromQL warning: quantile value should be between 0 and 1, got 1.5".to_string(),
            r#"PromQL warning: bucket label "le" is missing or has a malformed value of "abc" for metric name "x_bucket""#
                .to_string(),
        ]);
    }

    #[test]
    fn duplicate_bounds_are_merged() {
        // "0.1" and "1e-1" are the same bound: their counts add up.
        let v = buckets("h", "x", &[("0.1", 1.0), ("1e-1", 1.0), ("+Inf", 4.0)]);
        // counts 2, 4: rank 1 in (0, 0.1] -> 0.05.
        assert!(approx(hq(0.25, v)[0].1, 0.05));
    }

    #[test]
    fn fraction_of_classic_histogram() {
        let f = |lo: f64, hi: f64| {
            one(run(
                "histogram_fraction",
                vec![Value::Scalar(lo), Value::Scalar(hi), positive()],
                0,
            )
            .0)
        };
        // Everything up to 0.1 (the lowest bucket starts at -Inf).
        assert!(approx(f(f64::NEG_INFINITY, 0.1), 50.0 / 90.0));
        // Half of (0.1, 0.2]: 10 of 90.
        assert!(approx(f(0.1, 0.15), 10.0 / 90.0));
        assert_eq!(f(0.2, 0.1), 0.0);
        assert!(approx(f(f64::NEG_INFINITY, f64::INFINITY), 1.0));
    }
}
