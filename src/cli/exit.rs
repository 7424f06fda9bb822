//! Exit codes, decided in one place. `check`: 0 clean, 1 breach, 2 bad input.
//! `test`: 0 all pass, 1 a failure, 2 bad input.

/// Nothing to report.
pub const OK: u8 = 0;
/// A breach (`check`), a failing test (`test`), lint errors (`lint`).
pub const BREACH: u8 = 1;
/// Bad input: unreadable or malformed files, bad flags, unreachable datasource.
pub const BAD_INPUT: u8 = 2;

/// Prints a one-line error for the user and returns [`BAD_INPUT`].
pub fn bad_input(err: &anyhow::Error) -> u8 {
    // `{:#}` joins the context chain on one line.
    let msg = format!("{err:#}").replace('\n', " ");
    eprintln!("alertgate: error: {msg}");
    BAD_INPUT
}

/// `canary decide`: a severe breach, back out (runbook 001).
pub const BACKOUT: u8 = 3;

/// `run` (service and `--once`): a config or runtime error (runbook 003);
/// a clean or idle run, and a stop by SIGTERM, exit [`OK`].
pub const RUN_ERROR: u8 = 1;
