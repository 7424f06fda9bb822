//! Expression helpers the script runners need: which selectors of a query
//! can match a given set of series (to skip native-histogram statements),
//! and the `@`-pinning rewrite of upstream's extra checks (README 1.11).

use crate::model::{Labels, MatchOp as ModelOp, Matcher, METRIC_NAME};
use promql_parser::label::MatchOp;
use promql_parser::parser::{AtModifier, Expr, VectorSelector};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Functions whose result depends on the evaluation time; upstream skips
/// the `@`-pinned re-runs for expressions that call them.
pub const TIME_DEPENDENT_FUNCTIONS: [&str; 11] = [
    "days_in_month",
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "hour",
    "minute",
    "month",
    "year",
    "predict_linear",
    "time",
    "timestamp",
];

/// Calls `f` on every direct sub-expression of `e`.
fn children<'a>(e: &'a Expr, f: &mut dyn FnMut(&'a Expr)) {
    match e {
        Expr::Call(c) => c.args.args.iter().for_each(|a| f(a)),
        Expr::Aggregate(a) => {
            f(&a.expr);
            if let Some(p) = a.param.as_deref() {
                f(p);
            }
        }
        Expr::Unary(u) => f(&u.expr),
        Expr::Binary(b) => {
            f(&b.lhs);
            f(&b.rhs);
        }
        Expr::Paren(p) => f(&p.expr),
        Expr::Subquery(s) => f(&s.expr),
        Expr::NumberLiteral(_)
        | Expr::StringLiteral(_)
        | Expr::VectorSelector(_)
        | Expr::MatrixSelector(_)
        | Expr::Extension(_) => {}
    }
}

/// True if `e` calls one of [`TIME_DEPENDENT_FUNCTIONS`].
pub fn calls_time_dependent(e: &Expr) -> bool {
    if let Expr::Call(c) = e {
        if TIME_DEPENDENT_FUNCTIONS.contains(&c.func.name) {
            return true;
        }
    }
    let mut found = false;
    children(e, &mut |c| found = found || calls_time_dependent(c));
    found
}

/// The selector's matchers as model matchers, one list per `or` alternative
/// (`{a="1" or b="2"}`). The metric name becomes a `__name__` matcher.
pub fn selector_matchers(vs: &VectorSelector) -> Vec<Vec<Matcher>> {
    let convert = |ms: &[promql_parser::label::Matcher]| -> Vec<Matcher> {
        let mut out: Vec<Matcher> = ms
            .iter()
            .filter_map(|m| {
                let op = match m.op {
                    MatchOp::Equal => ModelOp::Equal,
                    MatchOp::NotEqual => ModelOp::NotEqual,
                    MatchOp::Re(_) => ModelOp::Regex,
                    MatchOp::NotRe(_) => ModelOp::NotRegex,
                };
                Matcher::new(m.name.clone(), op, m.value.clone()).ok()
            })
            .collect();
        if let Some(n) = &vs.name {
            if !out.iter().any(|m| m.name == METRIC_NAME) {
                out.push(Matcher::equal(METRIC_NAME, n.clone()));
            }
        }
        out
    };
    let mut alts = Vec::new();
    // With `or` alternatives the plain list is usually empty and must not
    // count as "match everything".
    if vs.matchers.or_matchers.is_empty() || !vs.matchers.matchers.is_empty() {
        alts.push(convert(&vs.matchers.matchers));
    }
    for or in &vs.matchers.or_matchers {
        alts.push(convert(or));
    }
    alts
}

/// The first of `series` that some vector or matrix selector of `e` can
/// match, by label matchers alone (time is not considered).
pub fn selects_any<'a>(e: &Expr, series: &'a [Labels]) -> Option<&'a Labels> {
    let vs = match e {
        Expr::VectorSelector(vs) => Some(vs),
        Expr::MatrixSelector(m) => Some(&m.vs),
        _ => None,
    };
    if let Some(vs) = vs {
        for alt in selector_matchers(vs) {
            if let Some(l) = series.iter().find(|l| alt.iter().all(|m| m.matches(l))) {
                return Some(l);
            }
        }
    }
    let mut found = None;
    children(e, &mut |c| {
        if found.is_none() {
            found = selects_any(c, series);
        }
    });
    found
}

fn system_time(ms: i64) -> SystemTime {
    if ms >= 0 {
        UNIX_EPOCH + Duration::from_millis(ms as u64)
    } else {
        UNIX_EPOCH - Duration::from_millis(ms.unsigned_abs())
    }
}

/// Gives every vector selector, matrix selector and subquery that has no
/// `@` yet an `@ <t_ms>`, like upstream's `setAtModifier`. The inside of a
/// subquery is left alone: it is pinned through the subquery.
pub fn pin_at(e: &mut Expr, t_ms: i64) {
    let at = system_time(t_ms);
    pin(e, at);
}

fn pin(e: &mut Expr, at: SystemTime) {
    match e {
        Expr::VectorSelector(vs) => {
            vs.at.get_or_insert(AtModifier::At(at));
        }
        Expr::MatrixSelector(ms) => {
            ms.vs.at.get_or_insert(AtModifier::At(at));
        }
        Expr::Subquery(s) => {
            s.at.get_or_insert(AtModifier::At(at));
        }
        Expr::Call(c) => c.args.args.iter_mut().for_each(|a| pin(a, at)),
        Expr::Aggregate(a) => {
            pin(&mut a.expr, at);
            if let Some(p) = a.param.as_deref_mut() {
                pin(p, at);
            }
        }
        Expr::Unary(u) => pin(&mut u.expr, at),
        Expr::Binary(b) => {
            pin(&mut b.lhs, at);
            pin(&mut b.rhs, at);
        }
        Expr::Paren(p) => pin(&mut p.expr, at),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use promql_parser::parser::parse;

    fn l(s: &str) -> Labels {
        crate::promqltest::parse_label_set(s).unwrap().0
    }

    #[test]
    fn finds_selectors_matching_series() {
        let hist = vec![l(r#"h{instance="histogram_1", job="a"}"#)];
        let q = |s: &str| selects_any(&parse(s).unwrap(), &hist).is_some();
        assert!(q("h"));
        assert!(q(r#"sum(rate({job="a"}[5m]))"#));
        assert!(q(r#"topk(1, x) or on() h offset 1m"#));
        assert!(q(r#"max_over_time(h[5m:1m])"#));
        assert!(!q("x"));
        assert!(!q(r#"h{instance!~"histogram_[0-9]"}"#));
        assert!(!q(r#"{job="b"}"#));
        assert!(q(r#"{__name__=~"h|x"}"#));
        assert!(q(r#"{job="b" or job="a"}"#));
        assert!(!q(r#"{job="b" or job="c"}"#));
        assert!(!q("1 + 2"));
    }

    #[test]
    fn time_dependent_functions() {
        assert!(calls_time_dependent(&parse("time()").unwrap()));
        assert!(calls_time_dependent(
            &parse("sum(x) + hour(vector(1))").unwrap()
        ));
        assert!(calls_time_dependent(
            &parse("max_over_time(timestamp(x)[5m:])").unwrap()
        ));
        assert!(!calls_time_dependent(&parse("rate(x[5m])").unwrap()));
    }

    #[test]
    fn pins_selectors_not_inside_subqueries() {
        let mut e = parse("rate(x[5m]) + y @ 10 + max_over_time(z[5m:1m])").unwrap();
        pin_at(&mut e, 60_000);
        let s = e.to_string();
        assert!(s.contains("x[5m] @ 60.000"), "{s}");
        assert!(s.contains("y @ 10.000"), "{s}");
        // The subquery is pinned, its inner selector is not.
        assert!(s.contains("z[5m:1m] @ 60.000") && !s.contains("z @"), "{s}");
        // Before the epoch (the parser's printer cannot show it, so look inside).
        let mut n = parse("x").unwrap();
        pin_at(&mut n, -1000);
        match n {
            Expr::VectorSelector(vs) => {
                assert_eq!(
                    vs.at,
                    Some(AtModifier::At(UNIX_EPOCH - Duration::from_secs(1)))
                )
            }
            other => panic!("{other:?}"),
        }
    }
}
