//! Native-histogram input series for unit tests. The engine stores floats
//! only, so histogram samples are kept here and answer the one query shape
//! promtool's own tests use them with: a plain selector (no function, offset
//! or `@`). Values print as Prometheus's `FloatHistogram.TestExpression`,
//! including the counter-reset hint the TSDB attaches when reading back
//! (the first sample of a series: unknown; later ones: not_reset, or reset
//! after a decrease).

use crate::model::Labels;
use crate::promqltest::expr::selector_matchers;
use crate::promqltest::{parse_series, HistogramLiteral, SequenceValue};
use promql_parser::parser::Expr;

/// Prometheus's default lookback delta, which promtool uses.
const LOOKBACK_MS: i64 = 5 * 60_000;

#[derive(Debug, Clone, Default)]
pub struct HistogramSeries {
    series: Vec<(Labels, Vec<(i64, HistogramLiteral)>)>,
    /// Samples up to this time have been "appended" (promtool loads lazily).
    loaded_till: Option<i64>,
}

impl HistogramSeries {
    pub fn push(&mut self, labels: &Labels, t: i64, h: HistogramLiteral) {
        match self.series.iter_mut().find(|(l, _)| l == labels) {
            Some((_, v)) => v.push((t, h)),
            None => self.series.push((labels.clone(), vec![(t, h)])),
        }
    }

    pub fn load_till(&mut self, ts: i64) {
        self.loaded_till = Some(self.loaded_till.map_or(ts, |t| t.max(ts)));
    }

    /// Answers `e` at `t` when it is a plain selector matching a histogram
    /// series; None otherwise (the engine answers).
    pub fn answer(&self, e: &Expr, t: i64) -> Option<Vec<(Labels, String)>> {
        let Expr::VectorSelector(vs) = e else {
            return None;
        };
        if vs.offset.is_some() || vs.at.is_some() {
            return None;
        }
        let alts = selector_matchers(vs);
        let till = self.loaded_till?;
        let mut out = Vec::new();
        let mut matched = false;
        for (labels, samples) in &self.series {
            if !alts.iter().any(|ms| ms.iter().all(|m| m.matches(labels))) {
                continue;
            }
            matched = true;
            let visible = samples
                .iter()
                .enumerate()
                .rev()
                .find(|(_, (st, _))| *st <= t && *st <= till && *st > t - LOOKBACK_MS);
            if let Some((i, (_, h))) = visible {
                let mut h = h.clone();
                h.counter_reset_hint = read_back_hint(samples, i);
                out.push((labels.clone(), test_expression(&h)));
            }
        }
        matched.then_some(out)
    }
}

/// The hint a TSDB read returns for sample `i` of a series.
fn read_back_hint(samples: &[(i64, HistogramLiteral)], i: usize) -> String {
    let h = &samples[i].1;
    if h.counter_reset_hint == "gauge" {
        return "gauge".into();
    }
    if i == 0 {
        return String::new();
    }
    let p = &samples[i - 1].1;
    if p.schema != h.schema {
        // A new chunk starts; its first sample carries no hint.
        return String::new();
    }
    let decreased = |a: i32, av: &[f64], b: i32, bv: &[f64]| {
        av.iter().enumerate().any(|(j, v)| {
            let idx = a + j as i32 - b;
            let now = if idx >= 0 {
                bv.get(idx as usize).copied().unwrap_or(0.0)
            } else {
                0.0
            };
            now < *v
        })
    };
    let reset = h.count < p.count
        || h.zero_count < p.zero_count
        || decreased(
            p.positive_offset,
            &p.positive_buckets,
            h.positive_offset,
            &h.positive_buckets,
        )
        || decreased(
            p.negative_offset,
            &p.negative_buckets,
            h.negative_offset,
            &h.negative_buckets,
        );
    if reset { "reset" } else { "not_reset" }.into()
}

/// The `{{...}}` literal `h` written as Prometheus's `TestExpression`, the
/// form promtool compares (so `{{sum:3 count:2}}` equals `{{count:2 sum:3}}`).
pub fn normalize(h: &str) -> Result<String, String> {
    let s = parse_series(&format!("{{}} {h}")).map_err(|e| e.to_string())?;
    match s.values.as_slice() {
        [SequenceValue::Histogram(h)] => Ok(test_expression(h)),
        [_] => Err(format!("expected histogram, got {h}")),
        v => Err(format!("expected 1 value, got {}", v.len())),
    }
}

/// Drops empty buckets at both ends of a span (Prometheus's `Compact`).
fn compact(offset: i32, buckets: &[f64]) -> (i32, &[f64]) {
    let start = buckets.iter().position(|v| *v != 0.0);
    let Some(start) = start else {
        return (0, &[]);
    };
    let end = buckets.iter().rposition(|v| *v != 0.0).unwrap_or(start);
    (offset + start as i32, &buckets[start..=end])
}

pub fn test_expression(h: &HistogramLiteral) -> String {
    let mut res = Vec::new();
    if h.schema != 0 {
        res.push(format!("schema:{}", h.schema));
    }
    if h.count != 0.0 {
        res.push(format!("count:{}", go_g(h.count)));
    }
    if h.sum != 0.0 {
        res.push(format!("sum:{}", go_g(h.sum)));
    }
    if h.zero_count != 0.0 {
        res.push(format!("z_bucket:{}", go_g(h.zero_count)));
    }
    if h.zero_threshold != 0.0 {
        res.push(format!("z_bucket_w:{}", go_g(h.zero_threshold)));
    }
    if h.schema == crate::promqltest::histogram::CUSTOM_SCHEMA {
        let v: Vec<String> = h.custom_values.iter().map(|v| go_g(*v)).collect();
        res.push(format!("custom_values:[{}]", v.join(" ")));
    }
    match h.counter_reset_hint.as_str() {
        "reset" => res.push("counter_reset_hint:reset".into()),
        "not_reset" => res.push("counter_reset_hint:not_reset".into()),
        "gauge" => res.push("counter_reset_hint:gauge".into()),
        _ => {}
    }
    for (bkey, okey, off, b) in [
        ("buckets", "offset", h.positive_offset, &h.positive_buckets),
        (
            "n_buckets",
            "n_offset",
            h.negative_offset,
            &h.negative_buckets,
        ),
    ] {
        let (off, b) = compact(off, b);
        if b.is_empty() {
            continue;
        }
        if off != 0 {
            res.push(format!("{okey}:{off}"));
        }
        let v: Vec<String> = b.iter().map(|v| go_g(*v)).collect();
        res.push(format!("{bkey}:[{}]", v.join(" ")));
    }
    format!("{{{{{}}}}}", res.join(" "))
}

/// Go's `%g` for a float64: shortest digits, exponent form below 1e-4 and
/// from 1e6 on (Go's shortest `%g` switches at exponent 6, `%v` at 21).
fn go_g(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let e = format!("{v:e}");
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if v != 0.0 && !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mant}e{sign}{:02}", exp.abs());
    }
    format!("{v}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promqltest::parse_series;

    fn lit(s: &str) -> HistogramLiteral {
        match &parse_series(&format!("{{}} {s}")).unwrap().values[0] {
            SequenceValue::Histogram(h) => (**h).clone(),
            _ => panic!(),
        }
    }

    #[test]
    fn test_expression_matches_prometheus_order() {
        // From promtool's unittest.yml: expected and given spellings agree.
        let h = "{{schema:1 sum:-0.3 count:32.1 z_bucket:7.1 z_bucket_w:0.05 buckets:[5.1 10 7] offset:-3 n_buckets:[4.1 5] n_offset:-5}}";
        assert_eq!(
            normalize(h).unwrap(),
            "{{schema:1 count:32.1 sum:-0.3 z_bucket:7.1 z_bucket_w:0.05 offset:-3 buckets:[5.1 10 7] n_offset:-5 n_buckets:[4.1 5]}}"
        );
        assert_eq!(
            normalize("{{count:2 sum:3 counter_reset_hint:not_reset buckets:[2]}}").unwrap(),
            "{{count:2 sum:3 counter_reset_hint:not_reset buckets:[2]}}"
        );
    }

    #[test]
    fn compact_drops_empty_edge_buckets() {
        assert_eq!(
            test_expression(&lit("{{buckets:[0 1 0 2 0] offset:1}}")),
            "{{offset:2 buckets:[1 0 2]}}"
        );
    }

    #[test]
    fn read_back_hints() {
        let mut hs = HistogramSeries::default();
        let l = Labels::from_pairs([("__name__", "h")]);
        hs.push(&l, 0, lit("{{count:2 buckets:[2]}}"));
        hs.push(&l, 60_000, lit("{{count:3 buckets:[3]}}"));
        hs.push(&l, 120_000, lit("{{count:1 buckets:[1]}}"));
        hs.load_till(120_000);
        let e = crate::promql::parse("h").unwrap();
        let at = |t| hs.answer(&e, t).unwrap()[0].1.clone();
        assert_eq!(at(0), "{{count:2 buckets:[2]}}");
        assert_eq!(
            at(60_000),
            "{{count:3 counter_reset_hint:not_reset buckets:[3]}}"
        );
        assert_eq!(
            at(120_000),
            "{{count:1 counter_reset_hint:reset buckets:[1]}}"
        );
        // Lookback: gone 5m after the last sample.
        assert!(hs.answer(&e, 420_000).unwrap().is_empty());
        assert!(hs.answer(&crate::promql::parse("x").unwrap(), 0).is_none());
    }

    #[test]
    fn go_g_format() {
        assert_eq!(go_g(5.6), "5.6");
        assert_eq!(go_g(1e6), "1e+06");
        assert_eq!(go_g(123456.0), "123456");
        assert_eq!(go_g(0.0001), "0.0001");
        assert_eq!(go_g(0.00001), "1e-05");
    }
}
