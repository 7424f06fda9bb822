//! Series descriptions: a label set followed by value items, e.g.
//! `http_requests{job="api"} 0+10x5 _ stale 1e3 -Inf _x2 {{sum:1}}x3`.
//!
//! Items (README 1.4): `N`; `stale`; `_`; `_xK` (K empty steps); `NxK`
//! (K+1 copies); `N+DxK` / `N-DxK` (K+1 values, adding D each step, with the
//! same float accumulation as Prometheus); `{{H}}`, `{{H}}xK`,
//! `{{A}}+{{B}}xK`, `{{A}}-{{B}}xK`. Items are separated by white space, so
//! `1 -1` is two items while `1-1x3` is one.

use super::{parse_label_set, HistogramLiteral, NotationError};
use crate::model::{is_stale_nan, Labels, STALE_NAN};

/// One step of a series description.
#[derive(Debug, Clone, PartialEq)]
pub enum SequenceValue {
    /// `_`: no sample at this step.
    Omitted,
    /// A float sample; `stale` is [`STALE_NAN`].
    Float(f64),
    /// A native-histogram sample.
    Histogram(Box<HistogramLiteral>),
}

impl SequenceValue {
    /// True for a staleness marker (`stale`).
    pub fn is_stale(&self) -> bool {
        matches!(self, SequenceValue::Float(v) if is_stale_nan(*v))
    }
}

/// A parsed series description line.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesDesc {
    /// The label set, `__name__` included.
    pub labels: Labels,
    /// The i-th value belongs to step i.
    pub values: Vec<SequenceValue>,
}

impl SeriesDesc {
    /// True if any value is a native histogram.
    pub fn has_histograms(&self) -> bool {
        self.values
            .iter()
            .any(|v| matches!(v, SequenceValue::Histogram(_)))
    }
}

/// Parses a whole series description line (labels, then values).
pub fn parse_series(line: &str) -> Result<SeriesDesc, NotationError> {
    let (labels, rest) = parse_label_set(line)?;
    if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
        return Err(NotationError::Labels {
            input: line.to_string(),
            reason: "expected white space between labels and values".into(),
        });
    }
    Ok(SeriesDesc {
        labels,
        values: parse_values(rest)?,
    })
}

/// Parses a float: decimal or scientific with optional sign (`-1.5`, `.2`,
/// `1e-3`), or `Inf`/`NaN` in any case, optionally signed. No hexadecimal.
pub fn parse_number(s: &str) -> Result<f64, NotationError> {
    match take_number(s) {
        Some((v, n)) if n == s.len() => Ok(v),
        _ => Err(NotationError::Value {
            item: s.to_string(),
            reason: "not a number".into(),
        }),
    }
}

/// Reads a number at the start of `s`; returns it and its length in bytes.
fn take_number(s: &str) -> Option<(f64, usize)> {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let word = s.get(i..i + 3).map(|w| w.to_ascii_lowercase());
    if let Some(w @ ("inf" | "nan")) = word.as_deref() {
        let mut end = i + 3;
        if w == "inf"
            && s.get(end..end + 5)
                .is_some_and(|r| r.eq_ignore_ascii_case("inity"))
        {
            end += 5;
        }
        let v = if w == "nan" {
            f64::NAN
        } else if b[0] == b'-' {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
        return Some((v, end));
    }
    let digits_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut ndigits = i - digits_start;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let frac = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        ndigits += i - frac;
    }
    if ndigits == 0 {
        return None;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        let exp = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j > exp {
            i = j;
        }
    }
    s[..i].parse::<f64>().ok().map(|v| (v, i))
}

fn bad(item: &str, reason: &str) -> NotationError {
    NotationError::Value {
        item: item.to_string(),
        reason: reason.to_string(),
    }
}

/// Parses `xK` (the whole rest of an item).
fn parse_times(item: &str, rest: &str) -> Result<u64, NotationError> {
    let k = rest
        .strip_prefix('x')
        .ok_or_else(|| bad(item, "expected 'x<count>'"))?;
    if k.is_empty() || !k.bytes().all(|c| c.is_ascii_digit()) {
        return Err(bad(item, "expected an unsigned count after 'x'"));
    }
    k.parse().map_err(|_| bad(item, "count too large"))
}

/// Length of a `{{...}}` literal at the start of `s`.
fn histogram_len(s: &str) -> Option<usize> {
    s.strip_prefix("{{")?.find("}}").map(|end| end + 4)
}

/// Splits the values part into items: white-space separated, except that a
/// `{{...}}` literal may contain spaces.
fn split_items(s: &str) -> Result<Vec<&str>, NotationError> {
    let mut items = Vec::new();
    let mut rest = s.trim_start();
    while !rest.is_empty() {
        let mut end = 0;
        loop {
            let tail = &rest[end..];
            if tail.starts_with("{{") {
                end += histogram_len(tail).ok_or_else(|| bad(rest, "unterminated '{{'"))?;
            } else if let Some(c) = tail.chars().next().filter(|c| !c.is_whitespace()) {
                end += c.len_utf8();
            } else {
                break;
            }
        }
        items.push(&rest[..end]);
        rest = rest[end..].trim_start();
    }
    Ok(items)
}

/// Parses the value items of a series description into one value per step.
pub fn parse_values(s: &str) -> Result<Vec<SequenceValue>, NotationError> {
    let mut out = Vec::new();
    for item in split_items(s)? {
        parse_item(item, &mut out)?;
    }
    Ok(out)
}

fn parse_item(item: &str, out: &mut Vec<SequenceValue>) -> Result<(), NotationError> {
    if item == "_" {
        out.push(SequenceValue::Omitted);
        return Ok(());
    }
    if let Some(rest) = item.strip_prefix('_') {
        // `_xK` yields exactly K empty steps (all other `xK` forms give K+1).
        let k = parse_times(item, rest)?;
        out.extend((0..k).map(|_| SequenceValue::Omitted));
        return Ok(());
    }
    if item == "stale" {
        out.push(SequenceValue::Float(STALE_NAN));
        return Ok(());
    }
    if item.starts_with("{{") {
        return parse_histogram_item(item, out);
    }
    let (start, n) =
        take_number(item).ok_or_else(|| bad(item, "expected a number, '_', 'stale' or '{{'"))?;
    let rest = &item[n..];
    if rest.is_empty() {
        out.push(SequenceValue::Float(start));
        return Ok(());
    }
    if rest.starts_with('x') {
        let k = parse_times(item, rest)?;
        out.extend((0..=k).map(|_| SequenceValue::Float(start)));
        return Ok(());
    }
    if !rest.starts_with(['+', '-']) {
        return Err(bad(item, "unexpected characters after number"));
    }
    let (delta, m) =
        take_number(rest).ok_or_else(|| bad(item, "expected a number after the sign"))?;
    let k = parse_times(item, &rest[m..])?;
    // Accumulate like Prometheus (`v += d`), not `start + i*d`: the rounding
    // of the stored values must match what the scripts expect.
    let mut v = start;
    for _ in 0..=k {
        out.push(SequenceValue::Float(v));
        v += delta;
    }
    Ok(())
}

fn parse_histogram_item(item: &str, out: &mut Vec<SequenceValue>) -> Result<(), NotationError> {
    let n = histogram_len(item).ok_or_else(|| bad(item, "unterminated '{{'"))?;
    let base = HistogramLiteral::parse(&item[..n])?;
    let rest = &item[n..];
    if rest.is_empty() {
        out.push(SequenceValue::Histogram(Box::new(base)));
        return Ok(());
    }
    if rest.starts_with('x') {
        let k = parse_times(item, rest)?;
        out.extend((0..=k).map(|_| SequenceValue::Histogram(Box::new(base.clone()))));
        return Ok(());
    }
    let sign = match rest.as_bytes()[0] {
        b'+' => 1.0,
        b'-' => -1.0,
        _ => return Err(bad(item, "expected 'x', '+' or '-' after a histogram")),
    };
    let inc_text = &rest[1..];
    let m = histogram_len(inc_text).ok_or_else(|| bad(item, "expected a histogram increment"))?;
    let inc = HistogramLiteral::parse(&inc_text[..m])?;
    let k = parse_times(item, &inc_text[m..])?;
    for i in 0..=k {
        out.push(SequenceValue::Histogram(Box::new(
            base.add_scaled(&inc, sign * i as f64)?,
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use SequenceValue::{Float as F, Omitted as O};

    fn vals(s: &str) -> Vec<SequenceValue> {
        parse_values(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn plain_numbers() {
        assert_eq!(
            vals("1 -1.5 .2 1e-3 9.98e+307 +4"),
            vec![F(1.0), F(-1.5), F(0.2), F(0.001), F(9.98e307), F(4.0)]
        );
        let v = vals("Inf -Inf +inf NaN nan -NaN");
        assert_eq!(
            v[..3],
            [F(f64::INFINITY), F(f64::NEG_INFINITY), F(f64::INFINITY)]
        );
        for x in &v[3..] {
            assert!(matches!(x, F(f) if f.is_nan() && !is_stale_nan(*f)));
        }
    }

    #[test]
    fn stale_and_omitted() {
        let v = vals("1 _ stale 5");
        assert_eq!(v.len(), 4);
        assert_eq!(v[1], O);
        assert!(v[2].is_stale());
        assert!(!v[0].is_stale());
    }

    #[test]
    fn omitted_times_k_is_k_steps_but_value_times_k_is_k_plus_one() {
        assert_eq!(vals("_x3"), vec![O, O, O]);
        assert_eq!(vals("_x0"), vec![]);
        assert_eq!(vals("1x3"), vec![F(1.0); 4]);
        assert_eq!(vals("1x0"), vec![F(1.0)]);
    }

    #[test]
    fn increasing_and_decreasing_sequences() {
        assert_eq!(vals("0+10x3"), vec![F(0.0), F(10.0), F(20.0), F(30.0)]);
        assert_eq!(vals("1-1x3"), vec![F(1.0), F(0.0), F(-1.0), F(-2.0)]);
        assert_eq!(vals("-2+4x3"), vec![F(-2.0), F(2.0), F(6.0), F(10.0)]);
        assert_eq!(vals("-2-4x1"), vec![F(-2.0), F(-6.0)]);
        assert_eq!(vals("1e3+1e2x1"), vec![F(1000.0), F(1100.0)]);
        // `1 -1` is two items, not a sequence.
        assert_eq!(vals("1 -1"), vec![F(1.0), F(-1.0)]);
    }

    #[test]
    fn sequence_accumulates_like_prometheus() {
        // 0.1 added three times is not 0.3 in binary floating point.
        let v = vals("0+0.1x3");
        assert_eq!(v[3], F(0.1 + 0.1 + 0.1));
        assert_ne!(v[3], F(0.3));
    }

    #[test]
    fn hex_is_not_a_number_here() {
        // `0x10` reads as `0` repeated 10+1 times, as upstream does.
        assert_eq!(vals("0x10"), vec![F(0.0); 11]);
    }

    #[test]
    fn mixed_line() {
        let d =
            parse_series(r#"http_requests{job="api", instance="0"}  0+10x2 _ stale 1e3 -Inf _x2"#)
                .unwrap();
        assert_eq!(d.labels.get("job"), Some("api"));
        assert_eq!(d.values.len(), 3 + 1 + 1 + 1 + 1 + 2);
        assert_eq!(d.values[5], F(1000.0));
        assert_eq!(d.values[6], F(f64::NEG_INFINITY));
        assert!(!d.has_histograms());
    }

    #[test]
    fn histogram_items() {
        let d = parse_series("h {{schema:0 sum:5 count:4 buckets:[1 2 1]}} {{}}x2").unwrap();
        assert_eq!(d.labels.metric_name(), Some("h"));
        assert_eq!(d.values.len(), 4);
        assert!(d.has_histograms());
        let v = vals("{{sum:2 count:2}}+{{sum:3 count:3}}x2");
        let sums: Vec<f64> = v
            .iter()
            .map(|x| match x {
                SequenceValue::Histogram(h) => h.sum,
                _ => f64::NAN,
            })
            .collect();
        assert_eq!(sums, vec![2.0, 5.0, 8.0]);
        let v = vals("{{count:10}}-{{count:1}}x1");
        assert!(matches!(&v[1], SequenceValue::Histogram(h) if h.count == 9.0));
    }

    #[test]
    fn rejects_bad_items() {
        for bad in [
            "1+",
            "1+2",
            "1+2x",
            "1x-1",
            "abc",
            "1y",
            "_y",
            "_x",
            "stalex2",
            "{{sum:1",
            "{{sum:1}}y",
            "1..2",
        ] {
            assert!(parse_values(bad).is_err(), "{bad} should be rejected");
        }
        assert!(parse_series(r#"x{a="b"}1"#).is_err());
    }
}
