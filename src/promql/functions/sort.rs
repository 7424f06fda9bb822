//! `sort`, `sort_desc`, `sort_by_label` and `sort_by_label_desc`.
//! Ordering only matters for instant queries; the engine returns range
//! results sorted by labels anyway.

use crate::promql::value::VSample;
use std::cmp::Ordering;

/// By value, NaN last in both directions (as Prometheus). Stable, which
/// matches Go's insertion sort on the small vectors tests use.
pub(super) fn by_value(mut v: Vec<VSample>, desc: bool) -> Vec<VSample> {
    v.sort_by(|a, b| match (a.v.is_nan(), b.v.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => {
            let o = a.v.partial_cmp(&b.v).expect("not NaN");
            if desc {
                o.reverse()
            } else {
                o
            }
        }
    });
    v
}

/// By the given labels in natural order, then by the full label set.
pub(super) fn by_label(mut v: Vec<VSample>, names: &[String], desc: bool) -> Vec<VSample> {
    v.sort_by(|a, b| {
        for n in names {
            let (x, y) = (a.labels.get_or_empty(n), b.labels.get_or_empty(n));
            if x == y {
                continue;
            }
            let o = if natural_less(x, y) {
                Ordering::Less
            } else {
                Ordering::Greater
            };
            return if desc { o.reverse() } else { o };
        }
        let o = a.labels.cmp(&b.labels);
        if desc {
            o.reverse()
        } else {
            o
        }
    });
    v
}

/// Natural ("human") string order as the `facette/natsort` package used by
/// Prometheus defines it: runs of ASCII digits compare as numbers (leading
/// zeros skipped, a longer run is larger), everything else byte-wise.
pub(crate) fn natural_less(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    loop {
        if i >= a.len() {
            return j < b.len();
        }
        if j >= b.len() {
            return false;
        }
        let (ca, cb) = (a[i], b[j]);
        if ca.is_ascii_digit() && cb.is_ascii_digit() {
            let (sa, la) = digit_run(a, i);
            let (sb, lb) = digit_run(b, j);
            if la != lb {
                return la < lb;
            }
            match a[sa..sa + la].cmp(&b[sb..sb + lb]) {
                Ordering::Less => return true,
                Ordering::Greater => return false,
                Ordering::Equal => {}
            }
            i = sa + la;
            j = sb + lb;
            continue;
        }
        if ca != cb {
            return ca < cb;
        }
        i += 1;
        j += 1;
    }
}

/// Start and length of the numeric run at `pos` after skipping leading
/// zeros. Mirrors natsort exactly, including its quirk that a zero
/// followed by a non-digit is skipped too (the run is then that byte).
fn digit_run(s: &[u8], mut pos: usize) -> (usize, usize) {
    let mut len = 1;
    let mut cur = s[pos];
    while pos + len < s.len() {
        let x = s[pos + len];
        if cur == b'0' {
            pos += 1;
            cur = x;
            continue;
        }
        if x.is_ascii_digit() {
            len += 1;
        } else {
            break;
        }
    }
    (pos, len)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use crate::promql::value::Value;

    fn ordered(v: Result<Value, crate::promql::value::EvalError>) -> Vec<String> {
        match v.unwrap() {
            Value::Vector(v) => v.iter().map(|s| format!("{}={}", s.labels, s.v)).collect(),
            _ => panic!(),
        }
    }

    #[test]
    fn sort_puts_nan_last() {
        let v = || {
            Value::Vector(vec![
                vsample(&[("i", "a")], 2.0),
                vsample(&[("i", "b")], f64::NAN),
                vsample(&[("i", "c")], 1.0),
                vsample(&[("i", "d")], 3.0),
            ])
        };
        assert_eq!(
            ordered(run("sort", vec![v()], 0).0),
            [
                r#"{i="c"}=1"#,
                r#"{i="a"}=2"#,
                r#"{i="d"}=3"#,
                r#"{i="b"}=NaN"#
            ]
        );
        assert_eq!(
            ordered(run("sort_desc", vec![v()], 0).0),
            [
                r#"{i="d"}=3"#,
                r#"{i="a"}=2"#,
                r#"{i="c"}=1"#,
                r#"{i="b"}=NaN"#
            ]
        );
    }

    #[test]
    fn natural_order() {
        assert!(natural_less("a2", "a10"));
        assert!(!natural_less("a10", "a2"));
        assert!(natural_less("a02", "a3"), "leading zeros skipped");
        assert!(natural_less("abc", "abd"));
        assert!(natural_less("ab", "abc"));
        assert!(!natural_less("x", "x"));
        // functions.test sort_by_label on instance "1".."10" style values.
        let mut v = vec!["10", "9", "1", "2"];
        v.sort_by(|a, b| {
            if natural_less(a, b) {
                Ordering::Less
            } else {
                Ordering::Greater
            }
        });
        assert_eq!(v, ["1", "2", "9", "10"]);
    }

    #[test]
    fn sort_by_label_then_full_labels() {
        let v = || {
            Value::Vector(vec![
                vsample(&[("group", "production"), ("instance", "10")], 1.0),
                vsample(&[("group", "canary"), ("instance", "2")], 1.0),
                vsample(&[("group", "canary"), ("instance", "10")], 1.0),
                vsample(&[("group", "production"), ("instance", "2")], 1.0),
            ])
        };
        let s = |x: &str| Value::String(x.into());
        assert_eq!(
            ordered(run("sort_by_label", vec![v(), s("instance")], 0).0),
            [
                r#"{group="canary", instance="2"}=1"#,
                r#"{group="production", instance="2"}=1"#,
                r#"{group="canary", instance="10"}=1"#,
                r#"{group="production", instance="10"}=1"#,
            ]
        );
        assert_eq!(
            ordered(
                run(
                    "sort_by_label_desc",
                    vec![v(), s("group"), s("instance")],
                    0
                )
                .0
            ),
            [
                r#"{group="production", instance="10"}=1"#,
                r#"{group="production", instance="2"}=1"#,
                r#"{group="canary", instance="10"}=1"#,
                r#"{group="canary", instance="2"}=1"#,
            ]
        );
    }
}
