//! The range of values an expression can take, found statically, so that
//! comparisons which can never be true (`count(x) < 0`, a ratio clamped to
//! [0, 1] compared `> 1`) are caught. Unknown stays unknown: only functions
//! whose output range Prometheus guarantees narrow it.

use promql_parser::parser::{Call, Expr};
use std::collections::HashMap;

/// A closed interval; infinities for open ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    pub lo: f64,
    pub hi: f64,
}

impl Range {
    pub const fn new(lo: f64, hi: f64) -> Range {
        Range { lo, hi }
    }

    const NONNEG: Range = Range::new(0.0, f64::INFINITY);
    const ONE: Range = Range::new(1.0, 1.0);

    fn point(v: f64) -> Range {
        Range::new(v, v)
    }

    fn union(self, o: Range) -> Range {
        Range::new(self.lo.min(o.lo), self.hi.max(o.hi))
    }

    fn is_point(&self) -> bool {
        self.lo == self.hi
    }
}

impl std::fmt::Display for Range {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = |v: f64| {
            if v == f64::INFINITY {
                "+Inf".to_string()
            } else if v == f64::NEG_INFINITY {
                "-Inf".to_string()
            } else {
                format!("{v}")
            }
        };
        if self.is_point() {
            write!(f, "{}", n(self.lo))
        } else {
            write!(f, "[{}, {}]", n(self.lo), n(self.hi))
        }
    }
}

/// Ranges of recorded series, by record name.
pub type Recorded = HashMap<String, Range>;

/// The range of `e`'s values, when known.
pub fn range(e: &Expr, rec: &Recorded) -> Option<Range> {
    match e {
        Expr::NumberLiteral(n) if !n.val.is_nan() => Some(Range::point(n.val)),
        Expr::Paren(p) => range(&p.expr, rec),
        Expr::Subquery(s) => range(&s.expr, rec),
        Expr::VectorSelector(vs) => vs.name.as_ref().and_then(|n| rec.get(n)).copied(),
        Expr::MatrixSelector(ms) => ms.vs.name.as_ref().and_then(|n| rec.get(n)).copied(),
        Expr::Unary(u) => range(&u.expr, rec).map(|r| Range::new(-r.hi, -r.lo)),
        Expr::Aggregate(a) => {
            let inner = range(&a.expr, rec);
            match a.op.to_string().as_str() {
                // count of nothing is no series at all, never 0.
                "count" => Some(Range::new(1.0, f64::INFINITY)),
                "group" => Some(Range::ONE),
                "min" | "max" | "avg" | "topk" | "bottomk" | "quantile" | "limitk"
                | "limit_ratio" => inner,
                "sum" => inner.and_then(|r| {
                    if r.lo >= 0.0 {
                        Some(Range::NONNEG)
                    } else if r.hi <= 0.0 {
                        Some(Range::new(f64::NEG_INFINITY, 0.0))
                    } else {
                        None
                    }
                }),
                "stddev" | "stdvar" => Some(Range::NONNEG),
                _ => None,
            }
        }
        Expr::Call(c) => call(c, rec),
        Expr::Binary(b) => {
            let op = b.op.to_string();
            if b.modifier.as_ref().is_some_and(|m| m.return_bool) {
                return Some(Range::new(0.0, 1.0));
            }
            let (l, r) = (range(&b.lhs, rec), range(&b.rhs, rec));
            match op.as_str() {
                // A filter keeps the left side's values.
                "==" | "!=" | ">" | "<" | ">=" | "<=" | "and" | "unless" => l,
                "or" => Some(l?.union(r?)),
                "+" => {
                    let (l, r) = (l?, r?);
                    Some(Range::new(l.lo + r.lo, l.hi + r.hi))
                }
                "-" => {
                    let (l, r) = (l?, r?);
                    Some(Range::new(l.lo - r.hi, l.hi - r.lo))
                }
                "*" => {
                    let (l, r) = (l?, r?);
                    let p = [l.lo * r.lo, l.lo * r.hi, l.hi * r.lo, l.hi * r.hi];
                    if p.iter().any(|x| x.is_nan()) {
                        return None;
                    }
                    Some(Range::new(
                        p.iter().cloned().fold(f64::INFINITY, f64::min),
                        p.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
                    ))
                }
                "/" => {
                    let (l, r) = (l?, r?);
                    // Non-negative over positive stays non-negative (x/0 is +Inf or NaN).
                    (l.lo >= 0.0 && r.lo >= 0.0).then_some(Range::new(0.0, f64::INFINITY))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

fn arg(c: &Call, i: usize) -> Option<&Expr> {
    c.args.args.get(i).map(|b| b.as_ref())
}

fn num(c: &Call, i: usize) -> Option<f64> {
    match arg(c, i) {
        Some(Expr::NumberLiteral(n)) => Some(n.val),
        Some(Expr::Unary(u)) => match u.expr.as_ref() {
            Expr::NumberLiteral(n) => Some(-n.val),
            _ => None,
        },
        _ => None,
    }
}

fn call(c: &Call, rec: &Recorded) -> Option<Range> {
    let first = || arg(c, 0).and_then(|a| range(a, rec));
    match c.func.name {
        "absent" | "absent_over_time" | "present_over_time" => Some(Range::ONE),
        "count_over_time" => Some(Range::new(1.0, f64::INFINITY)),
        "rate" | "irate" | "increase" | "changes" | "resets" | "abs" | "sqrt" | "exp"
        | "stddev_over_time" | "stdvar_over_time" | "mad_over_time" => Some(Range::NONNEG),
        "sgn" => Some(Range::new(-1.0, 1.0)),
        "histogram_fraction" => Some(Range::new(0.0, 1.0)),
        "day_of_week" => Some(Range::new(0.0, 6.0)),
        "day_of_month" => Some(Range::new(1.0, 31.0)),
        "day_of_year" => Some(Range::new(1.0, 366.0)),
        "days_in_month" => Some(Range::new(28.0, 31.0)),
        "hour" => Some(Range::new(0.0, 23.0)),
        "minute" => Some(Range::new(0.0, 59.0)),
        "month" => Some(Range::new(1.0, 12.0)),
        "clamp" => {
            let (lo, hi) = (num(c, 1)?, num(c, 2)?);
            // clamp with min > max returns no series at all.
            (lo <= hi).then_some(Range::new(lo, hi))
        }
        "clamp_min" => {
            let lo = num(c, 1)?;
            let hi = first().map(|r| r.hi.max(lo)).unwrap_or(f64::INFINITY);
            Some(Range::new(lo, hi))
        }
        "clamp_max" => {
            let hi = num(c, 1)?;
            let lo = first().map(|r| r.lo.min(hi)).unwrap_or(f64::NEG_INFINITY);
            Some(Range::new(lo, hi))
        }
        "ceil" | "floor" | "round" => first().map(|r| Range::new(r.lo.floor(), r.hi.ceil())),
        "avg_over_time" | "min_over_time" | "max_over_time" | "last_over_time"
        | "label_replace" | "label_join" | "sort" | "sort_desc" | "sort_by_label"
        | "sort_by_label_desc" | "vector" | "scalar" => first(),
        "quantile_over_time" => arg(c, 1).and_then(|a| range(a, rec)),
        "sum_over_time" => first().and_then(|r| (r.lo >= 0.0).then_some(Range::NONNEG)),
        _ => None,
    }
}

/// Why `lhs op rhs` can never be true, or None.
pub fn never_true(op: &str, l: Range, r: Range) -> bool {
    match op {
        ">" => l.hi <= r.lo,
        ">=" => l.hi < r.lo,
        "<" => l.lo >= r.hi,
        "<=" => l.lo > r.hi,
        "==" => l.hi < r.lo || r.hi < l.lo,
        "!=" => l.is_point() && r.is_point() && l.lo == r.lo,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use promql_parser::parser::Expr;

    fn check(q: &str) -> Option<bool> {
        let Expr::Binary(b) = crate::promql::parse(q).unwrap() else {
            panic!("{q}")
        };
        let rec = Recorded::new();
        let (l, r) = (range(&b.lhs, &rec)?, range(&b.rhs, &rec)?);
        Some(never_true(&b.op.to_string(), l, r))
    }

    #[test]
    fn never_true_comparisons() {
        for q in [
            "count(up) < 0",
            "count(up) == 0",
            "clamp(x, 0, 1) > 1",
            "clamp_max(sum(a) / sum(b), 1) > 1",
            "rate(x_total[5m]) < 0",
            "absent(up) != 1",
            "hour() > 23",
            "sum(rate(x_total[5m])) / sum(rate(y_total[5m])) < 0",
            "1 > bool 2",
        ] {
            assert_eq!(check(q), Some(true), "{q}");
        }
    }

    #[test]
    fn possible_comparisons() {
        for q in [
            "count(up) < 3",
            "clamp(x, 0, 1) > 0.5",
            "clamp(x, 0, 1) >= 1",
            "increase(x_total[5m]) == 0",
            "increase(x_total[5m]) > 0",
            "rate(x_total[5m]) > 0.1",
            "hour() >= 23",
        ] {
            assert_eq!(check(q), Some(false), "{q}");
        }
        // Unknown ranges decide nothing.
        assert_eq!(check("x > 1"), None);
        assert_eq!(check("deriv(x[5m]) < 0"), None);
    }

    #[test]
    fn recorded_ranges_are_used() {
        let mut rec = Recorded::new();
        rec.insert("job:ratio:clamped".into(), Range::new(0.0, 1.0));
        let Expr::Binary(b) = crate::promql::parse("job:ratio:clamped > 1").unwrap() else {
            panic!()
        };
        let (l, r) = (range(&b.lhs, &rec).unwrap(), range(&b.rhs, &rec).unwrap());
        assert!(never_true(">", l, r));
    }
}
