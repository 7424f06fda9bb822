//! PromQL functions. The engine evaluates the arguments and calls [`call`].

use super::value::{Annotations, EvalError, Value};
use promql_parser::parser::Expr;

/// What a function needs besides its evaluated arguments.
pub struct FnCtx<'a> {
    /// Evaluation time (ms).
    pub t: i64,
    /// The argument expressions as written (absent() reads their matchers).
    pub arg_exprs: &'a [Box<Expr>],
    pub annotations: &'a mut Annotations,
}

/// Calls the function `name` on evaluated arguments. Range-vector arguments
/// arrive as [`Value::Matrix`] holding the window `(range_start, range_end]`.
pub fn call(name: &str, _args: Vec<Value>, _ctx: &mut FnCtx<'_>) -> Result<Value, EvalError> {
    Err(EvalError::Unsupported(format!("function {name}")))
}
