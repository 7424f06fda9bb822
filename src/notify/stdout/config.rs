//! Stdout settings beyond the routing config: none but the send bound.

/// Writing a few lines to a pipe; a reader that stalls longer than this
/// blocks us anyway, so the value only feeds the pipeline's bookkeeping.
pub const TIMEOUT_MS: i64 = 10_000;
