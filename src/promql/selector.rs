//! Series selection for vector and matrix selectors: converting the parser's
//! matchers once per selector, and reading the samples an instant or range
//! selector sees at one evaluation time.

use super::ivalue::ESample;
use super::value::{EvalError, RangeSeries};
use crate::model::{is_stale_nan, MatchOp, Matcher, MemStore, Sample, Series, METRIC_NAME};
use promql_parser::label::{MatchOp as PMatchOp, Matcher as PMatcher};
use promql_parser::parser::{AtModifier, Offset, VectorSelector};
use std::time::{Duration, SystemTime};

/// Converts the parser's matchers of `vs` into groups of our matchers; the
/// selector matches a series that satisfies every matcher of any group (the
/// groups come from `or` inside braces, which is usually absent).
pub(crate) fn convert_matchers(vs: &VectorSelector) -> Result<Vec<Vec<Matcher>>, EvalError> {
    let mut base = Vec::with_capacity(vs.matchers.matchers.len() + 1);
    if let Some(name) = &vs.name {
        base.push(Matcher::equal(METRIC_NAME, name.clone()));
    }
    for m in &vs.matchers.matchers {
        base.push(convert_one(m)?);
    }
    if vs.matchers.or_matchers.is_empty() {
        return Ok(vec![base]);
    }
    let mut groups = Vec::with_capacity(vs.matchers.or_matchers.len());
    for group in &vs.matchers.or_matchers {
        let mut g = base.clone();
        for m in group {
            g.push(convert_one(m)?);
        }
        groups.push(g);
    }
    Ok(groups)
}

fn convert_one(m: &PMatcher) -> Result<Matcher, EvalError> {
    let op = match m.op {
        PMatchOp::Equal => MatchOp::Equal,
        PMatchOp::NotEqual => MatchOp::NotEqual,
        PMatchOp::Re(_) => MatchOp::Regex,
        PMatchOp::NotRe(_) => MatchOp::NotRegex,
    };
    Matcher::new(m.name.clone(), op, m.value.clone())
        .map_err(|e| EvalError::Execution(e.to_string()))
}

/// Selects the series of a selector, sorted by label set like the series sets
/// Prometheus's storage returns (topk ties and limitk depend on this order).
pub(crate) fn select<'a>(store: &'a MemStore, groups: &[Vec<Matcher>]) -> Vec<&'a Series> {
    if groups.len() == 1 {
        return store.select_sorted(&groups[0]);
    }
    let mut all: Vec<&'a Series> = Vec::new();
    for g in groups {
        all.extend(store.select(g));
    }
    all.sort_unstable_by(|a, b| a.labels.cmp(&b.labels));
    all.dedup_by(|a, b| a.labels == b.labels);
    all
}

/// Milliseconds of a parser duration.
pub(crate) fn duration_ms(d: &Duration) -> i64 {
    d.as_millis() as i64
}

/// Signed milliseconds of an `offset` (0 when absent).
pub(crate) fn offset_ms(o: &Option<Offset>) -> i64 {
    match o {
        None => 0,
        Some(Offset::Pos(d)) => duration_ms(d),
        Some(Offset::Neg(d)) => -duration_ms(d),
    }
}

/// The time an `@` modifier pins evaluation to, if any. `start()` and `end()`
/// refer to the range query's bounds (both are the evaluation time of an
/// instant query).
pub(crate) fn at_ms(at: &Option<AtModifier>, query_start: i64, query_end: i64) -> Option<i64> {
    match at {
        None => None,
        Some(AtModifier::Start) => Some(query_start),
        Some(AtModifier::End) => Some(query_end),
        Some(AtModifier::At(st)) => Some(system_time_ms(st)),
    }
}

fn system_time_ms(st: &SystemTime) -> i64 {
    match st.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i64,
        Err(e) => -(e.duration().as_millis() as i64),
    }
}

/// The newest sample in `(ref_t - lookback, ref_t]`, unless it is a stale marker.
pub(crate) fn sample_at(samples: &[Sample], ref_t: i64, lookback: i64) -> Option<Sample> {
    let idx = samples.partition_point(|s| s.t <= ref_t);
    if idx == 0 {
        return None;
    }
    let s = samples[idx - 1];
    if s.t <= ref_t - lookback || is_stale_nan(s.v) {
        return None;
    }
    Some(s)
}

/// The samples in `(mint, maxt]` without stale markers.
pub(crate) fn samples_in(samples: &[Sample], mint: i64, maxt: i64) -> Vec<Sample> {
    let lo = samples.partition_point(|s| s.t <= mint);
    let hi = samples.partition_point(|s| s.t <= maxt);
    if lo >= hi {
        return Vec::new();
    }
    let window = &samples[lo..hi];
    // Stale markers are rare: copy the window in one exact allocation.
    if !window.iter().any(|s| is_stale_nan(s.v)) {
        return window.to_vec();
    }
    window
        .iter()
        .filter(|s| !is_stale_nan(s.v))
        .copied()
        .collect()
}

/// The samples in `(mint, maxt]` without stale markers, borrowed from
/// `samples` unless a stale marker has to be skipped (then copied to `buf`).
pub(crate) fn window<'s>(
    samples: &'s [Sample],
    mint: i64,
    maxt: i64,
    buf: &'s mut Vec<Sample>,
) -> &'s [Sample] {
    let lo = samples.partition_point(|s| s.t <= mint);
    let hi = samples.partition_point(|s| s.t <= maxt);
    if lo >= hi {
        return &[];
    }
    let w = &samples[lo..hi];
    if !w.iter().any(|s| is_stale_nan(s.v)) {
        return w;
    }
    buf.clear();
    buf.extend(w.iter().filter(|s| !is_stale_nan(s.v)));
    buf
}

/// An instant vector selector over already selected series at `ref_t`.
/// Each sample keeps the stored timestamp so `timestamp()` can report it.
/// The labels stay borrowed from the store.
pub(crate) fn instant_vector<'a>(
    series: &[&'a Series],
    ref_t: i64,
    lookback: i64,
) -> Vec<ESample<'a>> {
    let mut out = Vec::with_capacity(series.len());
    for s in series {
        if let Some(p) = sample_at(&s.samples, ref_t, lookback) {
            out.push(ESample {
                labels: std::borrow::Cow::Borrowed(&s.labels),
                t: p.t,
                v: p.v,
                drop_name: false,
            });
        }
    }
    out
}

/// A range selector over already selected series: the window `(maxt - range, maxt]`.
/// Series without samples in the window are left out.
pub(crate) fn range_vector(series: &[&Series], maxt: i64, range: i64) -> Vec<RangeSeries> {
    let mut out = Vec::with_capacity(series.len());
    for s in series {
        let points = samples_in(&s.samples, maxt - range, maxt);
        if !points.is_empty() {
            out.push(RangeSeries {
                labels: s.labels.clone(),
                points,
                drop_name: false,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::STALE_NAN;

    fn samples(v: &[(i64, f64)]) -> Vec<Sample> {
        v.iter().map(|&(t, v)| Sample { t, v }).collect()
    }

    #[test]
    fn lookback_window_is_left_open() {
        let s = samples(&[(0, 1.0), (60_000, 2.0)]);
        let lb = 300_000;
        assert_eq!(sample_at(&s, 60_000, lb).unwrap().v, 2.0);
        assert_eq!(sample_at(&s, 359_999, lb).unwrap().v, 2.0);
        // Exactly 5 minutes old: not visible.
        assert!(sample_at(&s, 360_000, lb).is_none());
        assert!(sample_at(&s, -1, lb).is_none());
    }

    #[test]
    fn stale_marker_hides_series() {
        let s = samples(&[(0, 1.0), (60_000, STALE_NAN)]);
        assert!(sample_at(&s, 90_000, 300_000).is_none());
        assert_eq!(sample_at(&s, 30_000, 300_000).unwrap().v, 1.0);
    }

    #[test]
    fn range_window_left_open_without_stale() {
        let s = samples(&[
            (0, 1.0),
            (60_000, 2.0),
            (120_000, STALE_NAN),
            (180_000, 4.0),
        ]);
        let got = samples_in(&s, 0, 180_000);
        assert_eq!(got, samples(&[(60_000, 2.0), (180_000, 4.0)]));
        assert!(samples_in(&s, 180_000, 200_000).is_empty());
    }

    #[test]
    fn negative_at_times() {
        let st = SystemTime::UNIX_EPOCH - Duration::from_millis(1500);
        assert_eq!(system_time_ms(&st), -1500);
    }
}
