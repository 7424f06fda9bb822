//! The embedded datasource: the crate's PromQL engine over an in-memory
//! store that rule outputs are written back into.

use super::querier::{Appender, Querier, QueryError};
use crate::model::{Labels, MemStore};
use crate::promql::{Engine, QueryOutput};
use promql_parser::parser::Expr;
use std::sync::RwLock;

/// Owns the store behind a lock, so the same value serves queries and takes
/// recording-rule output (both through `&self`), and stays `Sync` for the
/// service mode.
#[derive(Debug)]
pub struct EmbeddedQuerier {
    store: RwLock<MemStore>,
    engine: Engine,
    /// Stores of at least this many series answer rules from two threads
    /// (see [`Querier::as_sync`]).
    parallel_from: usize,
}

impl Default for EmbeddedQuerier {
    fn default() -> Self {
        EmbeddedQuerier::new(MemStore::default(), Engine::default())
    }
}

/// Below this many series a query takes microseconds, and handing rules to
/// another thread costs more than it saves (`alertgate test` on 2k series
/// got slower).
const PARALLEL_FROM_SERIES: usize = 20_000;

impl EmbeddedQuerier {
    pub fn new(store: MemStore, engine: Engine) -> Self {
        EmbeddedQuerier {
            store: RwLock::new(store),
            engine,
            parallel_from: PARALLEL_FROM_SERIES,
        }
    }

    /// Lets rules run side by side from `series` series on (tests use 0).
    pub fn parallel_from(mut self, series: usize) -> Self {
        self.parallel_from = series;
        self
    }

    /// Gives the store back (e.g. to inspect what the rules recorded).
    pub fn into_store(self) -> MemStore {
        self.store.into_inner().unwrap_or_else(|e| e.into_inner())
    }
}

impl Querier for EmbeddedQuerier {
    fn instant(&self, expr: &Expr, _expr_text: &str, t_ms: i64) -> Result<QueryOutput, QueryError> {
        let store = self.store.read().unwrap_or_else(|e| e.into_inner());
        Ok(self.engine.instant(&store, expr, t_ms)?)
    }

    fn as_sync(&self) -> Option<&(dyn Querier + Sync)> {
        let store = self.store.read().unwrap_or_else(|e| e.into_inner());
        (store.len() >= self.parallel_from).then_some(self as &(dyn Querier + Sync))
    }
}

impl Appender for EmbeddedQuerier {
    fn append(&self, labels: &Labels, t_ms: i64, v: f64) -> Result<(), QueryError> {
        let mut store = self.store.write().unwrap_or_else(|e| e.into_inner());
        // `insert` rather than `append`: snapshot data may already hold later
        // samples of a recorded name, and a rule result must still land.
        store.insert(labels, t_ms, v);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appended_samples_are_stored() {
        let q = EmbeddedQuerier::new(MemStore::new(), Engine::default());
        let l = Labels::from_pairs([("__name__", "x")]);
        q.append(&l, 10, 1.0).unwrap();
        q.append(&l, 20, 2.0).unwrap();
        let s = q.into_store();
        assert_eq!(s.series().len(), 1);
        assert_eq!(s.series()[0].samples.len(), 2);
    }
}
