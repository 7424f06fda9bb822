//! Checks on one PromQL expression, without data: counters used as gauges
//! and gauges as counters, comparisons that can never be true, regex
//! matchers that are really equality, and vector matches that can never
//! find a partner.

use super::finding::Severity;
use super::labels::matching_conflict;
use super::range::{never_true, range, Recorded};
use promql_parser::label::{MatchOp, Matchers};
use promql_parser::parser::{Expr, VectorSelector};
use promql_parser::util::{walk_expr, ExprVisitor};

/// A problem in an expression: severity, check name, message.
pub type ExprProblem = (Severity, &'static str, String);

pub const RATE_NON_COUNTER: &str = "promql/rate-non-counter";
pub const COUNTER_COMPARED_RAW: &str = "promql/counter-compared-raw";
pub const IMPOSSIBLE_COMPARISON: &str = "promql/impossible-comparison";
pub const REGEX_EQUALITY: &str = "promql/regex-equality";
pub const IMPOSSIBLE_MATCH: &str = "promql/impossible-match";

/// Counter names by Prometheus's naming conventions (and the series a
/// classic histogram or summary exposes).
pub fn looks_like_counter(name: &str) -> bool {
    ["_total", "_count", "_sum", "_bucket"]
        .iter()
        .any(|s| name.ends_with(s))
}

/// Recording-rule outputs (`level:metric:ops`) say nothing about type by
/// their suffix, so the counter heuristics leave them alone.
fn is_recorded_name(name: &str) -> bool {
    name.contains(':')
}

struct Visitor<'a> {
    recorded: &'a Recorded,
    out: Vec<ExprProblem>,
}

fn selector_text(vs: &VectorSelector) -> String {
    vs.name.clone().unwrap_or_else(|| "{...}".into())
}

/// The counter a side of a comparison reads raw, looking through
/// parentheses and aggregations that keep values (`sum`, `max`, ...).
fn raw_counter(e: &Expr) -> Option<String> {
    match e {
        Expr::Paren(p) => raw_counter(&p.expr),
        Expr::Aggregate(a)
            if matches!(
                a.op.to_string().as_str(),
                "sum" | "min" | "max" | "avg" | "topk" | "bottomk"
            ) =>
        {
            raw_counter(&a.expr)
        }
        Expr::VectorSelector(vs) => vs
            .name
            .as_ref()
            .filter(|n| looks_like_counter(n) && !is_recorded_name(n))
            .cloned(),
        _ => None,
    }
}

const REGEX_META: &[char] = &[
    '.', '+', '*', '?', '(', ')', '[', ']', '{', '}', '|', '^', '$', '\\',
];

impl Visitor<'_> {
    fn matchers(&mut self, sel: &str, ms: &Matchers) {
        for m in ms.matchers.iter().chain(ms.or_matchers.iter().flatten()) {
            let (re, eq) = match &m.op {
                MatchOp::Re(_) => ("=~", "="),
                MatchOp::NotRe(_) => ("!~", "!="),
                _ => continue,
            };
            if !m.value.contains(REGEX_META) {
                self.out.push((
                    Severity::Warning,
                    REGEX_EQUALITY,
                    format!(
                        "{sel}: {}{re}{:?} is an exact match (regexes are anchored); write {}{eq}{:?}",
                        m.name, m.value, m.name, m.value
                    ),
                ));
            }
        }
    }
}

impl ExprVisitor for Visitor<'_> {
    type Error = std::convert::Infallible;

    fn pre_visit(&mut self, e: &Expr) -> Result<bool, Self::Error> {
        match e {
            Expr::VectorSelector(vs) => self.matchers(&selector_text(vs), &vs.matchers),
            Expr::MatrixSelector(ms) => self.matchers(&selector_text(&ms.vs), &ms.vs.matchers),
            Expr::Call(c) if matches!(c.func.name, "rate" | "irate" | "increase") => {
                if let Some(Expr::MatrixSelector(ms)) = c.args.args.first().map(|a| a.as_ref()) {
                    if let Some(n) = &ms.vs.name {
                        if !looks_like_counter(n) && !is_recorded_name(n) {
                            self.out.push((
                                Severity::Warning,
                                RATE_NON_COUNTER,
                                format!(
                                    "{}() over {n:?}, whose name does not look like a counter (_total, _count, _sum, _bucket); on a gauge use deriv() or delta()",
                                    c.func.name
                                ),
                            ));
                        }
                    }
                }
            }
            Expr::Binary(b) => {
                let op = b.op.to_string();
                if b.op.is_comparison_operator() {
                    for side in [&b.lhs, &b.rhs] {
                        if let Some(n) = raw_counter(side) {
                            self.out.push((
                                Severity::Warning,
                                COUNTER_COMPARED_RAW,
                                format!(
                                    "counter {n:?} is compared raw with {op:?}: its value only grows and resets on restart; compare rate() or increase()"
                                ),
                            ));
                        }
                    }
                    if let (Some(l), Some(r)) =
                        (range(&b.lhs, self.recorded), range(&b.rhs, self.recorded))
                    {
                        if never_true(&op, l, r) {
                            let bool_note = if b.modifier.as_ref().is_some_and(|m| m.return_bool) {
                                " (with bool it is always 0)"
                            } else {
                                ""
                            };
                            self.out.push((
                                Severity::Error,
                                IMPOSSIBLE_COMPARISON,
                                format!(
                                    "comparison {op:?} can never be true: the left side is always {l}, the right side {r}{bool_note}"
                                ),
                            ));
                        }
                    }
                }
                if let Some(why) = matching_conflict(b) {
                    self.out.push((Severity::Warning, IMPOSSIBLE_MATCH, why));
                }
            }
            _ => {}
        }
        Ok(true)
    }
}

/// Every problem in `e`. `recorded` gives the value ranges of recorded
/// series (for rules that compare a recorded ratio).
pub fn check_expr(e: &Expr, recorded: &Recorded) -> Vec<ExprProblem> {
    let mut v = Visitor {
        recorded,
        out: Vec::new(),
    };
    let _ = walk_expr(&mut v, e);
    v.out
}

/// True when `e` calls `absent()` anywhere.
pub fn uses_absent(e: &Expr) -> bool {
    struct Find(bool);
    impl ExprVisitor for Find {
        type Error = std::convert::Infallible;
        fn pre_visit(&mut self, e: &Expr) -> Result<bool, Self::Error> {
            if matches!(e, Expr::Call(c) if c.func.name == "absent") {
                self.0 = true;
            }
            Ok(!self.0)
        }
    }
    let mut f = Find(false);
    let _ = walk_expr(&mut f, e);
    f.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checks(q: &str) -> Vec<&'static str> {
        check_expr(&crate::promql::parse(q).unwrap(), &Recorded::new())
            .into_iter()
            .map(|(_, c, _)| c)
            .collect()
    }

    #[test]
    fn rate_over_gauges() {
        assert_eq!(checks("rate(queue_depth[5m])"), [RATE_NON_COUNTER]);
        assert_eq!(checks("increase(memory_bytes[1h]) > 0"), [RATE_NON_COUNTER]);
        assert!(checks("rate(http_requests_total[5m])").is_empty());
        assert!(checks("rate(x_bucket[5m])").is_empty());
        assert!(checks("rate(job:x:sum[5m])").is_empty());
    }

    #[test]
    fn counters_compared_raw() {
        assert_eq!(checks("http_requests_total > 100"), [COUNTER_COMPARED_RAW]);
        assert_eq!(
            checks("sum by (job) (errors_total) > 0"),
            [COUNTER_COMPARED_RAW]
        );
        assert!(checks("rate(http_requests_total[5m]) > 100").is_empty());
        assert!(checks("queue_depth > 100").is_empty());
    }

    #[test]
    fn impossible_comparisons() {
        assert_eq!(checks("count(up) < 0"), [IMPOSSIBLE_COMPARISON]);
        assert_eq!(
            checks("clamp(sum(a) / sum(b), 0, 1) > 1"),
            [IMPOSSIBLE_COMPARISON]
        );
        assert!(checks("count(up) < 3").is_empty());
        assert!(checks("clamp(sum(a) / sum(b), 0, 1) > 0.9").is_empty());
    }

    #[test]
    fn regexes_that_are_equality() {
        assert_eq!(checks("up{job=~\"api\"}"), [REGEX_EQUALITY]);
        assert_eq!(checks("rate(x_total{code!~\"500\"}[5m])"), [REGEX_EQUALITY]);
        assert!(checks("up{job=~\"api|web\"}").is_empty());
        assert!(checks("up{code=~\"5..\"}").is_empty());
        assert!(checks("up{job=\"api\"}").is_empty());
    }

    #[test]
    fn impossible_matches() {
        assert_eq!(
            checks("sum by (env) (a) / sum by (job) (b)"),
            [IMPOSSIBLE_MATCH]
        );
        assert!(checks("sum by (env) (a) / sum by (env) (b)").is_empty());
    }

    #[test]
    fn absent_is_found() {
        assert!(uses_absent(
            &crate::promql::parse("absent(up{job=\"a\"})").unwrap()
        ));
        assert!(!uses_absent(
            &crate::promql::parse("absent_over_time(up[5m])").unwrap()
        ));
    }
}
