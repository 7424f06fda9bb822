//! Expression evaluation.

use super::value::{EvalError, QueryOutput};
use crate::model::MemStore;
use promql_parser::parser::Expr;

#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// How far back an instant selector looks for a sample (default 5m).
    pub lookback_delta_ms: i64,
    /// Step of a subquery written without one (default 1m).
    pub default_subquery_step_ms: i64,
    /// Maximum samples a query may hold at once.
    pub max_samples: usize,
    /// Allow experimental functions and limitk/limit_ratio.
    pub experimental_functions: bool,
    /// Delay `__name__` removal to the end of evaluation (Prometheus feature flag).
    pub delayed_name_removal: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            lookback_delta_ms: 5 * 60 * 1000,
            default_subquery_step_ms: 60 * 1000,
            max_samples: 50_000_000,
            experimental_functions: true,
            delayed_name_removal: true,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Engine {
    pub opts: EngineOptions,
}

impl Engine {
    pub fn new(opts: EngineOptions) -> Self {
        Engine { opts }
    }

    /// Evaluates `expr` at time `t` (ms).
    pub fn instant(&self, _store: &MemStore, _expr: &Expr, _t: i64) -> Result<QueryOutput, EvalError> {
        Err(EvalError::Unsupported("engine not implemented yet".into()))
    }

    /// Evaluates `expr` at every step from `start` to `end` inclusive (ms).
    pub fn range(
        &self,
        _store: &MemStore,
        _expr: &Expr,
        _start: i64,
        _end: i64,
        _step: i64,
    ) -> Result<QueryOutput, EvalError> {
        Err(EvalError::Unsupported("engine not implemented yet".into()))
    }
}
