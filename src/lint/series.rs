//! Online checks: does each selector of each rule match series in the
//! datasource? A metric that does not exist at all is almost always a typo
//! and the rule can never fire (error); a metric that exists but whose
//! label matchers match nothing may be normal (no 5xx right now), so that
//! is a warning naming the matchers that filter everything out.
//!
//! Asks through the [`Querier`] seam, so the embedded engine over
//! snapshots and a remote Prometheus answer the same questions.

use super::finding::Finding;
use super::source::RuleSource;
use crate::datasource::{Querier, QueryError};
use crate::promql::QueryValue;
use crate::rules::Rule;
use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::{Expr, VectorSelector};
use promql_parser::util::{walk_expr, ExprVisitor};
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

pub const METRIC_MISSING: &str = "series/metric-missing";
pub const NO_MATCH: &str = "series/no-match";

/// Why the online checks could not run.
#[derive(Debug, thiserror::Error)]
pub enum SeriesError {
    #[error("query {query:?}: {source}")]
    Query { query: String, source: QueryError },
}

/// Asks `q` about the selectors of every rule, at `at_ms`, looking back
/// `lookback_ms`. `source` names the datasource in messages.
pub struct SeriesCheck<'a> {
    pub querier: &'a dyn Querier,
    pub source: String,
    pub at_ms: i64,
    pub lookback_ms: i64,
    cache: RefCell<HashMap<String, bool>>,
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn matcher_text(m: &Matcher) -> String {
    let op = match &m.op {
        MatchOp::Equal => "=",
        MatchOp::NotEqual => "!=",
        MatchOp::Re(_) => "=~",
        MatchOp::NotRe(_) => "!~",
    };
    format!("{}{op}\"{}\"", m.name, escape(&m.value))
}

fn classic_name(n: &str) -> bool {
    let mut c = n.chars();
    matches!(c.next(), Some(f) if f.is_ascii_alphabetic() || f == '_')
        && c.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The selectors of `e` with a metric name, without offset or `@`.
fn selectors(e: &Expr) -> Vec<(String, Vec<Matcher>)> {
    struct V(Vec<(String, Vec<Matcher>)>);
    impl ExprVisitor for V {
        type Error = std::convert::Infallible;
        fn pre_visit(&mut self, e: &Expr) -> Result<bool, Self::Error> {
            let vs: Option<&VectorSelector> = match e {
                Expr::VectorSelector(vs) => Some(vs),
                Expr::MatrixSelector(ms) => Some(&ms.vs),
                _ => None,
            };
            if let Some(vs) = vs {
                let name = vs.name.clone().or_else(|| {
                    vs.matchers
                        .matchers
                        .iter()
                        .find(|m| m.name == "__name__" && matches!(m.op, MatchOp::Equal))
                        .map(|m| m.value.clone())
                });
                if let Some(n) = name.filter(|_| vs.matchers.or_matchers.is_empty()) {
                    let ms: Vec<Matcher> = vs
                        .matchers
                        .matchers
                        .iter()
                        .filter(|m| m.name != "__name__" && classic_name(&m.name))
                        .cloned()
                        .collect();
                    self.0.push((n, ms));
                }
            }
            Ok(true)
        }
    }
    let mut v = V(Vec::new());
    let _ = walk_expr(&mut v, e);
    v.0
}

impl<'a> SeriesCheck<'a> {
    pub fn new(querier: &'a dyn Querier, source: &str, at_ms: i64, lookback_ms: i64) -> Self {
        SeriesCheck {
            querier,
            source: source.to_string(),
            at_ms,
            lookback_ms,
            cache: RefCell::new(HashMap::new()),
        }
    }

    fn window(&self) -> String {
        let s = (self.lookback_ms / 1000).max(1);
        if s % 3600 == 0 {
            format!("{}h", s / 3600)
        } else if s % 60 == 0 {
            format!("{}m", s / 60)
        } else {
            format!("{s}s")
        }
    }

    /// True when `{__name__="name", matchers...}` had a sample in the window.
    fn exists(&self, name: &str, ms: &[&Matcher]) -> Result<bool, SeriesError> {
        let mut parts = vec![format!("__name__=\"{}\"", escape(name))];
        parts.extend(ms.iter().map(|m| matcher_text(m)));
        let q = format!(
            "count(last_over_time({{{}}}[{}]))",
            parts.join(","),
            self.window()
        );
        if let Some(v) = self.cache.borrow().get(&q) {
            return Ok(*v);
        }
        let expr = crate::promql::parse(&q).map_err(|e| SeriesError::Query {
            query: q.clone(),
            source: QueryError::Unavailable(e.to_string()),
        })?;
        let out = self
            .querier
            .instant(&expr, &q, self.at_ms)
            .map_err(|source| SeriesError::Query {
                query: q.clone(),
                source,
            })?;
        let found = match out.value {
            QueryValue::Vector(v) => !v.is_empty(),
            QueryValue::Matrix(m) => !m.is_empty(),
            _ => true,
        };
        self.cache.borrow_mut().insert(q, found);
        Ok(found)
    }

    /// Findings for every rule of every file. Metrics that a linted
    /// recording rule produces are skipped: they exist once it runs.
    pub fn check(&self, sources: &[RuleSource]) -> Result<Vec<Finding>, SeriesError> {
        let recorded: BTreeSet<&str> = sources
            .iter()
            .flat_map(|s| &s.file.groups)
            .flat_map(|g| &g.rules)
            .filter_map(|r| match r {
                Rule::Recording(r) => Some(r.name.as_str()),
                Rule::Alerting(_) => None,
            })
            .collect();
        let mut out = Vec::new();
        for s in sources {
            for (gi, g) in s.file.groups.iter().enumerate() {
                for (ri, r) in g.rules.iter().enumerate() {
                    let expr = match r {
                        Rule::Alerting(a) => &a.expr,
                        Rule::Recording(rr) => &rr.expr,
                    };
                    let at = s.rule_pos(gi, ri, "expr");
                    let who = format!("group {:?}, rule {:?}", g.name, r.name());
                    let mut seen = BTreeSet::new();
                    for (name, ms) in selectors(expr) {
                        let text = if ms.is_empty() {
                            name.clone()
                        } else {
                            format!(
                                "{name}{{{}}}",
                                ms.iter().map(matcher_text).collect::<Vec<_>>().join(",")
                            )
                        };
                        if recorded.contains(name.as_str()) || !seen.insert(text.clone()) {
                            continue;
                        }
                        let all: Vec<&Matcher> = ms.iter().collect();
                        if self.exists(&name, &all)? {
                            continue;
                        }
                        if !self.exists(&name, &[])? {
                            out.push(Finding::error(
                                s.path(),
                                at,
                                METRIC_MISSING,
                                format!(
                                    "{who}: metric {name:?} has no series on {} in the last {}: misspelt, or not scraped? The rule can never fire",
                                    self.source,
                                    self.window()
                                ),
                            ));
                            continue;
                        }
                        let mut culprits = Vec::new();
                        for m in &ms {
                            if !self.exists(&name, &[m])? {
                                culprits.push(matcher_text(m));
                            }
                        }
                        let why = if culprits.is_empty() {
                            "no series matches all matchers together".to_string()
                        } else {
                            format!("no series matches {}", culprits.join(", "))
                        };
                        out.push(Finding::warning(
                            s.path(),
                            at,
                            NO_MATCH,
                            format!(
                                "{who}: selector {text} matches no series on {} in the last {}; metric {name:?} exists, but {why}",
                                self.source,
                                self.window()
                            ),
                        ));
                    }
                }
            }
        }
        Ok(out)
    }
}
