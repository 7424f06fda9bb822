//! The datasource the service evaluates against: the embedded store that the
//! scraper fills, or a remote Prometheus-compatible API. Every query's
//! outcome is recorded, so `/readyz` can tell whether the datasource
//! answered lately. Also computes how much history the rules need.

use crate::datasource::{Appender, HttpQuerier, Querier, QueryError};
use crate::model::{Labels, MemStore};
use crate::promql::{Engine, QueryOutput};
use crate::rules::{parse_duration_ms, RuleFile};
use promql_parser::parser::Expr;
use std::sync::{Arc, Mutex, RwLock};

/// The embedded store, shared by the scraper, the evaluator and the API.
pub type SharedStore = Arc<RwLock<MemStore>>;

/// Last outcome of talking to the datasource.
#[derive(Debug, Clone, Default)]
pub struct DsHealth {
    pub last_ok: Option<i64>,
    /// The error of the most recent attempt, if it failed.
    pub last_error: Option<String>,
}

/// Where queries go.
pub enum Backend {
    Embedded { store: SharedStore, engine: Engine },
    Remote(OffThread<Box<HttpQuerier>>),
}

/// Owns a value holding a blocking HTTP client and drops it on a plain
/// thread: dropping (or building) one on an async worker thread panics, and
/// a config replaced by a reload may be released anywhere.
pub struct OffThread<T: Send + 'static>(Option<T>);

impl<T: Send + 'static> OffThread<T> {
    pub fn new(v: T) -> Self {
        OffThread(Some(v))
    }
}

impl<T: Send + 'static> std::ops::Deref for OffThread<T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.0.as_ref().expect("present until dropped")
    }
}

impl<T: Send + 'static> Drop for OffThread<T> {
    fn drop(&mut self) {
        if let Some(v) = self.0.take() {
            std::thread::spawn(move || drop(v));
        }
    }
}

/// A [`Querier`] + [`Appender`] that records the health of each query.
pub struct ServiceQuerier {
    pub backend: Backend,
    pub health: Arc<Mutex<DsHealth>>,
    /// Reads the clock (tests pass a fixed one).
    pub now: fn() -> i64,
}

impl ServiceQuerier {
    fn record(&self, r: &Result<QueryOutput, QueryError>) {
        let mut h = self.health.lock().unwrap_or_else(|e| e.into_inner());
        match r {
            Ok(_) | Err(QueryError::Eval(_)) => {
                h.last_ok = Some((self.now)());
                h.last_error = None;
            }
            Err(e) => h.last_error = Some(e.to_string()),
        }
    }
}

impl Querier for ServiceQuerier {
    fn instant(&self, expr: &Expr, expr_text: &str, t_ms: i64) -> Result<QueryOutput, QueryError> {
        let r = match &self.backend {
            Backend::Embedded { store, engine } => {
                let s = store.read().unwrap_or_else(|e| e.into_inner());
                engine.instant(&s, expr, t_ms).map_err(QueryError::from)
            }
            Backend::Remote(h) => h.instant(expr, expr_text, t_ms),
        };
        // Only a remote datasource can be "down"; the scraper reports the
        // health of the embedded one.
        if matches!(self.backend, Backend::Remote(_)) {
            self.record(&r);
        }
        r
    }
}

impl Appender for ServiceQuerier {
    fn append(&self, labels: &Labels, t_ms: i64, v: f64) -> Result<(), QueryError> {
        match &self.backend {
            Backend::Embedded { store, .. } => {
                let mut s = store.write().unwrap_or_else(|e| e.into_inner());
                s.insert(labels, t_ms, v);
                Ok(())
            }
            Backend::Remote(h) => h.append(labels, t_ms, v),
        }
    }
}

/// An upper bound of how far back `expr_text` reads: the sum of every
/// range, subquery window and offset written in it. A textual scan is
/// enough: it only sizes the retention window, and an over-estimate just
/// keeps a little more history.
fn longest_range_ms(expr_text: &str) -> i64 {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(
            r"\[\s*([0-9][0-9a-z]*)\s*(?::\s*([0-9][0-9a-z]*)?\s*)?\]|offset\s+-?([0-9][0-9a-z]*)",
        )
        .unwrap()
    });
    re.captures_iter(expr_text)
        .flat_map(|c| [c.get(1), c.get(3)])
        .flatten()
        .filter_map(|m| parse_duration_ms(m.as_str()).ok())
        .sum()
}

/// How much history the embedded store must keep: the longest range any
/// rule reads, plus the lookback of instant selectors, plus one evaluation
/// interval so a late evaluation still sees its window.
pub fn retention_ms(files: &[RuleFile], lookback_ms: i64, default_interval_ms: i64) -> i64 {
    let mut longest = 0;
    let mut interval = default_interval_ms;
    for g in files.iter().flat_map(|f| &f.groups) {
        interval = interval.max(g.interval_or(default_interval_ms));
        for r in &g.rules {
            longest = longest.max(longest_range_ms(r.expr_text()) + g.query_offset());
        }
    }
    longest + lookback_ms + interval
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_range_reads_ranges_subqueries_and_offsets() {
        assert_eq!(longest_range_ms("up"), 0);
        assert_eq!(longest_range_ms("rate(x[5m])"), 300_000);
        assert_eq!(
            longest_range_ms("max_over_time(rate(x[1m])[1h:5m])"),
            3_660_000
        );
        assert_eq!(longest_range_ms("x offset 2h"), 7_200_000);
        assert_eq!(longest_range_ms("rate(x[10m] offset 1h)"), 4_200_000);
    }

    #[test]
    fn retention_covers_longest_rule_plus_lookback_and_interval() {
        let src = "groups:\n- name: g\n  interval: 30s\n  rules:\n  - record: a\n    expr: rate(x[10m])\n  - alert: B\n    expr: up == 0\n";
        let f = crate::rules::parse_rule_file("r.yml", src).unwrap();
        assert_eq!(
            retention_ms(&[f], 300_000, 15_000),
            600_000 + 300_000 + 30_000
        );
    }
}
