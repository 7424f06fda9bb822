//! PromQL conformance runner: executes Prometheus's own test scripts
//! (`shared/conformance/promql/*.test`) against the embedded engine and
//! compares every `eval` with Prometheus's rules (see
//! `alertgate::promqltest`). A checked-in baseline
//! (`tests/conformance/baseline.txt`) lists the statements that pass; a
//! statement of the baseline that fails now fails the run.
//!
//! Environment:
//! * `CONFORMANCE_FILE=functions.test` (or `functions`): run one file only;
//! * `CONFORMANCE_VERBOSE=1`: print every failure (expected vs got) and skip;
//! * `UPDATE_BASELINE=1`: rewrite the baseline (and, for a full run,
//!   `docs/conformance.md`) from the current results;
//! * `CONFORMANCE_EXTRA=1`: also run the `@`-pinned re-runs and the
//!   range-mode cross-check of README 1.11 for instant evals;
//! * `CONFORMANCE_DIR`: where the scripts live (default `../shared/conformance/promql`);
//! * `CONFORMANCE_TIMEOUT_SECS`: per-statement time limit (default 30).
//!
//! The last stdout line is always `N passed, N failed, N skipped`.

mod conformance {
    pub mod extra;
    pub mod report;
    pub mod runner;
}

use conformance::{report, runner};
use std::process::ExitCode;

fn main() -> ExitCode {
    let opts = runner::Options::from_env();
    let results = match runner::run_all(&opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("conformance: {e}");
            println!("0 passed, 0 failed, 0 skipped");
            return ExitCode::FAILURE;
        }
    };
    let ok = report::report(&opts, &results);
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
