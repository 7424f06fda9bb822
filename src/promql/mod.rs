//! The embedded PromQL engine: evaluates `promql-parser` ASTs over a
//! [`MemStore`](crate::model::MemStore) with Prometheus 3 semantics.
//! Imports only `crate::model`.

mod aggregate;
mod aggregate_k;
mod binary;
pub mod duration_expr;
pub mod engine;
pub mod functions;
mod fxhash;
mod gofmt;
mod ivalue;
mod selector;
#[cfg(test)]
mod tests;
pub mod value;
mod xxhash;

pub use engine::{read_metric_names, Engine, EngineOptions};
pub use value::{Annotations, EvalError, QueryOutput, QueryValue, RangeSeries, VSample};

/// Parses a PromQL expression with the crate's parser, mapping its error text.
pub fn parse(expr: &str) -> Result<promql_parser::parser::Expr, String> {
    promql_parser::parser::parse(expr)
}

/// Parses with duration expressions enabled (Prometheus's opt-in feature
/// `promql-duration-expr`): `x[26m+4m]`, `x offset (2 * 2)`.
pub fn parse_with_duration_exprs(expr: &str) -> Result<promql_parser::parser::Expr, String> {
    let expanded = duration_expr::expand(expr)?;
    promql_parser::parser::parse(&expanded)
}
