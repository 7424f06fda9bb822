//! The seam between rule evaluation and whatever answers queries.

use crate::model::Labels;
use crate::promql::{EvalError, QueryOutput};
use promql_parser::parser::Expr;

/// Answers instant queries for rule evaluation.
///
/// The rule evaluator calls [`Querier::instant`] once per rule and step, in
/// rule order, with the expression both parsed and as written (a remote
/// datasource sends the text, the embedded engine walks the tree). An `Err`
/// means "no answer": callers must report it and never treat it as an empty
/// result, because a failing datasource must not look like "all clear".
pub trait Querier {
    fn instant(&self, expr: &Expr, expr_text: &str, t_ms: i64) -> Result<QueryOutput, QueryError>;

    /// This querier, when it may answer queries from several threads at
    /// once: rule evaluation then runs rules that do not read each other's
    /// output side by side. `None` (the default) keeps them one at a time.
    fn as_sync(&self) -> Option<&(dyn Querier + Sync)> {
        None
    }
}

/// Takes the samples that recording rules produce, so that later rules (and
/// later steps) can read them back through the [`Querier`].
///
/// `append` is called with non-decreasing times per series; a datasource
/// that cannot store samples may drop them (then later rules will not see
/// recorded series). Takes `&self` so one value can be both the querier
/// and the appender of an evaluation.
pub trait Appender {
    fn append(&self, labels: &Labels, t_ms: i64, v: f64) -> Result<(), QueryError>;
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueryError {
    /// The engine rejected or failed the query.
    #[error("{0}")]
    Eval(#[from] EvalError),
    /// The datasource could not be asked (I/O, HTTP status, bad response).
    #[error("datasource unavailable: {0}")]
    Unavailable(String),
    /// A sample could not be stored.
    #[error("cannot store sample: {0}")]
    Append(String),
}
