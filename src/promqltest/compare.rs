//! Judging a query result against an eval's expectations, with Prometheus's
//! comparison rules (README 1.10; upstream promql/promqltest/test.go
//! `compareResult` and util/almost `Equal`): relative float tolerance 1e-6,
//! NaN equals NaN, stale NaN only equals stale NaN, order only where asked,
//! matrices must be sorted by label set.

use super::{AnnotationExpect, EvalCmd, EvalQuery, ExpectedResult, ExpectedSeries, SequenceValue};
use crate::model::{is_stale_nan, Labels, Sample};
use crate::promql::{EvalError, QueryOutput, QueryValue, RangeSeries};

/// Tolerance used by the upstream test runner (`defaultEpsilon`).
pub const EPSILON: f64 = 1e-6;

/// The outcome of checking one eval.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// `Err` holds a one-line reason for the failure.
    pub result: Result<(), String>,
    /// Mismatches we report but do not fail on (annotation texts).
    pub advisories: Vec<String>,
}

/// Float equality as in Prometheus's `almost.Equal(a, b, 1e-6)`, plus the
/// rule that a stale marker only equals a stale marker.
pub fn almost_equal(a: f64, b: f64) -> bool {
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
    if a == 0.0 || b == 0.0 || abs_sum < f64::MIN_POSITIVE {
        return diff < EPSILON * f64::MIN_POSITIVE;
    }
    diff / abs_sum.min(f64::MAX) < EPSILON
}

/// Formats a float the way Go's `%v` mostly does (`+Inf`, `NaN`, `stale`).
pub fn fmt_float(v: f64) -> String {
    if is_stale_nan(v) {
        "stale".into()
    } else if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

/// A short human description of a result, for failure messages.
pub fn describe_value(v: &QueryValue) -> String {
    match v {
        QueryValue::Scalar { v, .. } => format!("scalar {}", fmt_float(*v)),
        QueryValue::String { s, .. } => format!("string {s:?}"),
        QueryValue::Vector(samples) => {
            let items: Vec<String> = samples
                .iter()
                .map(|(l, v)| format!("{l} {}", fmt_float(*v)))
                .collect();
            format!("vector [{}]", items.join(", "))
        }
        QueryValue::Matrix(series) => {
            let items: Vec<String> = series
                .iter()
                .map(|s| {
                    let pts: Vec<String> = s
                        .points
                        .iter()
                        .map(|p| format!("{}@{}", fmt_float(p.v), p.t))
                        .collect();
                    format!("{} [{}]", s.labels, pts.join(" "))
                })
                .collect();
            format!("matrix [{}]", items.join(", "))
        }
    }
}

/// Checks the outcome of running `cmd` (its original query) against its
/// expectations. Annotation *texts* (`msg:`/`regex:`) are advisory: only the
/// presence or absence of each kind can fail the eval.
pub fn check_eval(cmd: &EvalCmd, got: &Result<QueryOutput, EvalError>) -> Verdict {
    let mut advisories = Vec::new();
    let result = match got {
        Err(e) => check_error(cmd, e),
        Ok(_) if cmd.fail => Err(format!(
            "expected the query to fail, got {}",
            got.as_ref()
                .map(|o| describe_value(&o.value))
                .unwrap_or_default()
        )),
        Ok(out) => check_annotations(
            "warning",
            &cmd.warn,
            &out.annotations.warnings,
            &mut advisories,
        )
        .and_then(|()| {
            check_annotations("info", &cmd.info, &out.annotations.infos, &mut advisories)
        })
        .and_then(|()| check_value(cmd, &out.value)),
    };
    Verdict { result, advisories }
}

fn check_error(cmd: &EvalCmd, e: &EvalError) -> Result<(), String> {
    if !cmd.fail {
        return Err(format!("unexpected error: {e}"));
    }
    match &cmd.fail_message {
        Some(m) if !m.matches(&e.to_string()) => {
            Err(format!("expected error {m:?}, got {:?}", e.to_string()))
        }
        _ => Ok(()),
    }
}

fn check_annotations(
    kind: &str,
    exp: &AnnotationExpect,
    got: &[String],
    advisories: &mut Vec<String>,
) -> Result<(), String> {
    if exp.forbidden && !got.is_empty() {
        return Err(format!("unexpected {kind}: {}", got[0]));
    }
    if (exp.required || !exp.lines.is_empty()) && got.is_empty() {
        return Err(format!("expected a {kind} annotation, got none"));
    }
    for m in exp.lines.iter().flatten() {
        if !got.iter().any(|g| m.matches(g)) {
            advisories.push(format!("no {kind} matches {m:?} (got {got:?})"));
        }
    }
    if !exp.lines.is_empty() {
        for g in got {
            if !exp
                .lines
                .iter()
                .any(|m| m.as_ref().is_none_or(|m| m.matches(g)))
            {
                advisories.push(format!("{kind} not matched by any expect line: {g:?}"));
            }
        }
    }
    Ok(())
}

fn check_value(cmd: &EvalCmd, v: &QueryValue) -> Result<(), String> {
    match (&cmd.query, &cmd.expected, v) {
        (
            EvalQuery::Instant { .. },
            ExpectedResult::Scalar(want),
            QueryValue::Scalar { v: got, .. },
        ) => {
            if almost_equal(*want, *got) {
                Ok(())
            } else {
                Err(format!(
                    "expected scalar {}, got {}",
                    fmt_float(*want),
                    fmt_float(*got)
                ))
            }
        }
        (_, ExpectedResult::Scalar(want), other) => Err(format!(
            "expected scalar {}, got {}",
            fmt_float(*want),
            shorten(&describe_value(other))
        )),
        (EvalQuery::Instant { .. }, ExpectedResult::Series(exp), QueryValue::Vector(samples)) => {
            check_vector(exp, samples, cmd.ordered)
        }
        (
            EvalQuery::Range { start, end, step },
            ExpectedResult::Series(exp),
            QueryValue::Matrix(series),
        ) => check_matrix(exp, series, *start, *end, *step),
        (EvalQuery::Instant { .. }, _, other) => Err(format!(
            "expected an instant vector, got {}",
            shorten(&describe_value(other))
        )),
        (EvalQuery::Range { .. }, _, other) => Err(format!(
            "expected a matrix, got {}",
            shorten(&describe_value(other))
        )),
    }
}

/// Cuts long descriptions so a failure stays on one readable line.
pub fn shorten(s: &str) -> String {
    const MAX: usize = 160;
    if s.chars().count() <= MAX {
        return s.to_string();
    }
    let cut: String = s.chars().take(MAX).collect();
    format!("{cut}...")
}

fn find<'a>(exp: &'a [ExpectedSeries], labels: &Labels) -> Option<(usize, &'a ExpectedSeries)> {
    // The last line wins when a label set is listed twice, as upstream.
    exp.iter()
        .enumerate()
        .rev()
        .find(|(_, e)| &e.desc.labels == labels)
}

fn check_vector(
    exp: &[ExpectedSeries],
    got: &[(Labels, f64)],
    ordered: bool,
) -> Result<(), String> {
    let mut seen = vec![false; exp.len()];
    for (pos, (labels, v)) in got.iter().enumerate() {
        let Some((i, e)) = find(exp, labels) else {
            return Err(format!(
                "unexpected series {labels} {} in result",
                fmt_float(*v)
            ));
        };
        if seen[i] {
            return Err(format!("series {labels} returned twice"));
        }
        seen[i] = true;
        match e.desc.values.first() {
            Some(SequenceValue::Float(want)) => {
                if !almost_equal(*want, *v) {
                    return Err(format!(
                        "{labels}: expected {}, got {}",
                        fmt_float(*want),
                        fmt_float(*v)
                    ));
                }
            }
            Some(SequenceValue::Histogram(_)) => {
                return Err(format!("{labels}: expected a histogram, got a float"))
            }
            _ => {
                return Err(format!(
                    "unexpected series {labels} {} (expected no value)",
                    fmt_float(*v)
                ))
            }
        }
        if ordered && i != pos {
            return Err(format!(
                "expected {labels} at position {}, got it at {}",
                i + 1,
                pos + 1
            ));
        }
    }
    for (i, e) in exp.iter().enumerate() {
        let has_value = e
            .desc
            .values
            .iter()
            .any(|v| !matches!(v, SequenceValue::Omitted));
        if !seen[i] && has_value && find(exp, &e.desc.labels).map(|f| f.0) == Some(i) {
            return Err(format!(
                "missing series {} (got {} series)",
                e.desc.labels,
                got.len()
            ));
        }
    }
    Ok(())
}

fn check_matrix(
    exp: &[ExpectedSeries],
    got: &[RangeSeries],
    start: i64,
    end: i64,
    step: i64,
) -> Result<(), String> {
    if got.windows(2).any(|w| w[0].labels > w[1].labels) {
        return Err("matrix result is not sorted by label set".into());
    }
    let steps = ((end - start) / step + 1) as usize;
    let mut seen = vec![false; exp.len()];
    for s in got {
        let Some((i, e)) = find(exp, &s.labels) else {
            return Err(format!(
                "unexpected series {} in result ({} points)",
                s.labels,
                s.points.len()
            ));
        };
        if seen[i] {
            return Err(format!("series {} returned twice", s.labels));
        }
        seen[i] = true;
        if e.desc.values.len() > steps {
            return Err(format!(
                "{}: expectation has {} values for {steps} steps",
                s.labels,
                e.desc.values.len()
            ));
        }
        let mut want: Vec<Sample> = Vec::new();
        for (k, v) in e.desc.values.iter().enumerate() {
            match v {
                SequenceValue::Omitted => {}
                SequenceValue::Float(f) => want.push(Sample {
                    t: start + k as i64 * step,
                    v: *f,
                }),
                SequenceValue::Histogram(_) => {
                    return Err(format!("{}: expected histograms, got floats", s.labels));
                }
            }
        }
        let fmt_pts = |p: &[Sample]| -> String {
            let v: Vec<String> = p
                .iter()
                .map(|x| format!("{}@{}", fmt_float(x.v), x.t / 1000))
                .collect();
            shorten(&v.join(" "))
        };
        let mismatch = want.len() != s.points.len()
            || want
                .iter()
                .zip(&s.points)
                .any(|(w, g)| w.t != g.t || !almost_equal(w.v, g.v));
        if mismatch {
            return Err(format!(
                "{}: expected [{}], got [{}] (value@seconds)",
                s.labels,
                fmt_pts(&want),
                fmt_pts(&s.points)
            ));
        }
    }
    for (i, e) in exp.iter().enumerate() {
        let has_value = e
            .desc
            .values
            .iter()
            .any(|v| !matches!(v, SequenceValue::Omitted));
        if !seen[i] && has_value && find(exp, &e.desc.labels).map(|f| f.0) == Some(i) {
            return Err(format!(
                "missing series {} (got {} series)",
                e.desc.labels,
                got.len()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::STALE_NAN;
    use crate::promql::Annotations;
    use crate::promqltest::{parse_script, Command};

    fn cmd(text: &str) -> EvalCmd {
        match parse_script(text).unwrap().commands.remove(0) {
            Command::Eval(e) => *e,
            c => panic!("{c:?}"),
        }
    }

    fn l(s: &str) -> Labels {
        crate::promqltest::parse_label_set(s).unwrap().0
    }

    fn out(value: QueryValue) -> Result<QueryOutput, EvalError> {
        Ok(QueryOutput {
            value,
            annotations: Annotations::default(),
        })
    }

    fn vector(items: &[(&str, f64)]) -> Result<QueryOutput, EvalError> {
        out(QueryValue::Vector(
            items.iter().map(|(s, v)| (l(s), *v)).collect(),
        ))
    }

    fn check(c: &EvalCmd, got: Result<QueryOutput, EvalError>) -> Result<(), String> {
        check_eval(c, &got).result
    }

    #[test]
    fn almost_equal_rules() {
        assert!(almost_equal(f64::NAN, f64::NAN));
        assert!(!almost_equal(f64::NAN, 1.0));
        assert!(almost_equal(STALE_NAN, STALE_NAN));
        assert!(!almost_equal(STALE_NAN, f64::NAN));
        assert!(!almost_equal(f64::NAN, STALE_NAN));
        assert!(almost_equal(f64::INFINITY, f64::INFINITY));
        assert!(!almost_equal(f64::INFINITY, f64::NEG_INFINITY));
        assert!(almost_equal(0.0, -0.0));
        assert!(almost_equal(1.0, 1.0 + 1e-7));
        assert!(!almost_equal(1.0, 1.0 + 1e-5));
        assert!(almost_equal(1e300, 1e300 * (1.0 + 1e-7)));
        // Zero must match (practically) exactly.
        assert!(!almost_equal(0.0, 1e-300));
        assert!(almost_equal(0.0, 1e-320));
    }

    #[test]
    fn vector_ignores_order_unless_ordered() {
        let c = cmd("eval instant at 0 x\n  x{a=\"1\"} 1\n  x{a=\"2\"} 2\n");
        assert!(check(&c, vector(&[("x{a=\"2\"}", 2.0), ("x{a=\"1\"}", 1.0)])).is_ok());
        assert!(check(&c, vector(&[("x{a=\"1\"}", 1.0)]))
            .unwrap_err()
            .contains("missing series"));
        assert!(check(&c, vector(&[("x{a=\"1\"}", 1.0), ("x{a=\"2\"}", 2.1)])).is_err());
        // The name is part of the identity.
        assert!(
            check(&c, vector(&[("{a=\"1\"}", 1.0), ("x{a=\"2\"}", 2.0)]))
                .unwrap_err()
                .contains("unexpected")
        );
        let o = cmd("eval_ordered instant at 0 x\n  x{a=\"1\"} 1\n  x{a=\"2\"} 2\n");
        assert!(check(&o, vector(&[("x{a=\"1\"}", 1.0), ("x{a=\"2\"}", 2.0)])).is_ok());
        assert!(
            check(&o, vector(&[("x{a=\"2\"}", 2.0), ("x{a=\"1\"}", 1.0)]))
                .unwrap_err()
                .contains("position")
        );
    }

    #[test]
    fn empty_and_scalar_expectations() {
        let empty = cmd("eval instant at 0 x\n");
        assert!(check(&empty, vector(&[])).is_ok());
        assert!(check(&empty, vector(&[("x", 1.0)])).is_err());
        assert!(check(&empty, out(QueryValue::Scalar { t: 0, v: 1.0 })).is_err());
        let s = cmd("eval instant at 0 1\n  NaN\n");
        assert!(check(&s, out(QueryValue::Scalar { t: 0, v: f64::NAN })).is_ok());
        assert!(check(&s, vector(&[])).is_err());
    }

    #[test]
    fn range_points_and_sorting() {
        let c = cmd("eval range from 0 to 3m step 1m x\n  x{a=\"1\"} 1 _ 3\n  x{a=\"2\"} 0+1x3\n");
        let pts = |v: &[(i64, f64)]| {
            v.iter()
                .map(|&(t, v)| Sample { t: t * 60_000, v })
                .collect::<Vec<_>>()
        };
        let rs = |lb: &str, p: Vec<Sample>| RangeSeries {
            labels: l(lb),
            points: p,
            drop_name: false,
        };
        let good = vec![
            rs("x{a=\"1\"}", pts(&[(0, 1.0), (2, 3.0)])),
            rs("x{a=\"2\"}", pts(&[(0, 0.0), (1, 1.0), (2, 2.0), (3, 3.0)])),
        ];
        assert!(check(&c, out(QueryValue::Matrix(good.clone()))).is_ok());
        let mut unsorted = good.clone();
        unsorted.reverse();
        assert!(check(&c, out(QueryValue::Matrix(unsorted)))
            .unwrap_err()
            .contains("sorted"));
        // A point beyond the expected values ("fewer values than steps": rest must be empty).
        let mut extra = good.clone();
        extra[0].points.push(Sample { t: 180_000, v: 4.0 });
        assert!(check(&c, out(QueryValue::Matrix(extra))).is_err());
        // A point at the wrong step.
        let mut shifted = good;
        shifted[0].points[1].t = 60_000;
        assert!(check(&c, out(QueryValue::Matrix(shifted))).is_err());
    }

    #[test]
    fn failures_and_messages() {
        let c = cmd("eval_fail instant at 0 x\n  expected_fail_message boom\n");
        assert!(check(&c, Err(EvalError::Execution("boom".into()))).is_ok());
        assert!(check(&c, Err(EvalError::Execution("bang".into()))).is_err());
        assert!(check(&c, vector(&[]))
            .unwrap_err()
            .contains("expected the query to fail"));
        let plain = cmd("eval instant at 0 x\n");
        assert!(check(&plain, Err(EvalError::Execution("boom".into())))
            .unwrap_err()
            .contains("boom"));
    }

    #[test]
    fn annotations_kind_is_checked_text_is_advisory() {
        let w = cmd("eval_warn instant at 0 x\n");
        assert!(check(&w, vector(&[])).unwrap_err().contains("warning"));
        let mut with_warn = vector(&[]).unwrap();
        with_warn.annotations.warn("PromQL warning: something");
        assert!(check_eval(&w, &Ok(with_warn.clone())).result.is_ok());
        let m = cmd(
            "eval instant at 0 x\n  expect warn msg: PromQL warning: other\n  expect no_info\n",
        );
        let v = check_eval(&m, &Ok(with_warn.clone()));
        assert!(v.result.is_ok());
        assert_eq!(v.advisories.len(), 2);
        let mut with_info = with_warn;
        with_info.annotations.info("PromQL info: x");
        assert!(check_eval(&m, &Ok(with_info.clone()))
            .result
            .unwrap_err()
            .contains("unexpected info"));
        // A plain eval does not check annotations at all.
        assert!(check_eval(&cmd("eval instant at 0 x\n"), &Ok(with_info))
            .result
            .is_ok());
    }
}
