//! The optional engine-consistency checks of README 1.11
//! (`CONFORMANCE_EXTRA=1`), as upstream's promqltest runs them for every
//! instant eval: `@`-pinned re-runs at other evaluation times, and the
//! range-mode cross-check (a range query around the eval time must contain
//! the instant result at its middle step).

use super::runner::run_query;
use alertgate::model::MemStore;
use alertgate::promql::{Annotations, QueryOutput, QueryValue};
use alertgate::promqltest::expr::{calls_time_dependent, pin_at};
use alertgate::promqltest::{check_eval, AnnotationExpect, EvalCmd, EvalQuery, ExpectedResult};
use promql_parser::parser::Expr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// How many `@`-pinned re-runs and range cross-checks were executed.
pub static PINNED_RUNS: AtomicUsize = AtomicUsize::new(0);
pub static RANGE_CHECKS: AtomicUsize = AtomicUsize::new(0);
use std::time::Duration;

/// Runs the extra checks for an instant eval that passed; `Err` is the reason.
pub fn check_extra(
    e: &EvalCmd,
    expr: &Expr,
    store: &Arc<MemStore>,
    timeout: Duration,
) -> Result<(), String> {
    let EvalQuery::Instant { at: t } = e.query else {
        return Ok(());
    };
    range_check(e, expr, t, store, timeout).map_err(|r| format!("range-mode cross-check: {r}"))?;
    if calls_time_dependent(expr) {
        return Ok(());
    }
    let mut pinned = expr.clone();
    pin_at(&mut pinned, t);
    let times: Vec<i64> = if t == 0 {
        vec![-1000, 0, 1000]
    } else {
        vec![-10 * t, 0, t / 5, t, 10 * t]
    };
    for ts in times {
        PINNED_RUNS.fetch_add(1, Ordering::Relaxed);
        let got = run_query(store, &pinned, EvalQuery::Instant { at: ts }, timeout)
            .map_err(|r| format!("@-pinned re-run at {ts}ms: {r}"))?;
        check_eval(e, &got)
            .result
            .map_err(|r| format!("@-pinned re-run at {ts}ms: {r}"))?;
        range_check(e, &pinned, ts, store, timeout)
            .map_err(|r| format!("range-mode cross-check of the @-pinned re-run at {ts}ms: {r}"))?;
    }
    Ok(())
}

/// The same expression as a range query from t-1m to t+1m, step 1m, must
/// succeed with a sorted matrix whose points at t equal the expectation.
fn range_check(
    e: &EvalCmd,
    expr: &Expr,
    t: i64,
    store: &Arc<MemStore>,
    timeout: Duration,
) -> Result<(), String> {
    if e.fail {
        return Ok(());
    }
    RANGE_CHECKS.fetch_add(1, Ordering::Relaxed);
    let q = EvalQuery::Range {
        start: t - 60_000,
        end: t + 60_000,
        step: 60_000,
    };
    let out = run_query(store, expr, q, timeout)?.map_err(|err| format!("error: {err}"))?;
    if e.ordered {
        // Ordering is not defined for range queries.
        return Ok(());
    }
    let QueryValue::Matrix(series) = out.value else {
        return Err("range query did not return a matrix".into());
    };
    if series.windows(2).any(|w| w[0].labels > w[1].labels) {
        return Err("matrix result is not sorted by label set".into());
    }
    let vec: Vec<_> = series
        .iter()
        .filter_map(|s| {
            s.points
                .iter()
                .find(|p| p.t == t)
                .map(|p| (s.labels.clone(), p.v))
        })
        .collect();
    let value = match e.expected {
        ExpectedResult::Scalar(_) => match vec.first() {
            Some((_, v)) => QueryValue::Scalar { t, v: *v },
            None => return Err("no point at the eval time for a scalar expression".into()),
        },
        ExpectedResult::Series(_) => QueryValue::Vector(vec),
    };
    // Annotations are not checked in this mode.
    let mut plain = e.clone();
    plain.warn = AnnotationExpect::default();
    plain.info = AnnotationExpect::default();
    plain.query = EvalQuery::Instant { at: t };
    check_eval(
        &plain,
        &Ok(QueryOutput {
            value,
            annotations: Annotations::default(),
        }),
    )
    .result
}
