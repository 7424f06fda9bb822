//! The embedded PromQL engine: evaluates `promql-parser` ASTs over a
//! [`MemStore`](crate::model::MemStore) with Prometheus 3 semantics.
//! Imports only `crate::model`.

pub mod engine;
pub mod functions;
pub mod value;

pub use engine::{Engine, EngineOptions};
pub use value::{Annotations, EvalError, QueryOutput, QueryValue, RangeSeries, VSample};

/// Parses a PromQL expression with the crate's parser, mapping its error text.
pub fn parse(expr: &str) -> Result<promql_parser::parser::Expr, String> {
    promql_parser::parser::parse(expr)
}
