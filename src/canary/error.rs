//! The one error type of the canary gate. Every variant is "bad input" for
//! the CLI (exit 2); breaches are decisions, not errors.

use super::config::ConfigError;

#[derive(Debug, thiserror::Error)]
pub enum CanaryError {
    /// The gate config does not parse or validate (every problem, located).
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The state file exists but is not a valid state; it is never rewritten.
    #[error("{path}: corrupt state file (left untouched): {message}")]
    CorruptState { path: String, message: String },
    /// A KPI, blocklist or decision file is malformed.
    #[error("{path}: {message}")]
    BadFile { path: String, message: String },
    /// Another rollout held the tenant's lock for longer than we waited.
    #[error("{path}: locked by another run for more than {waited_ms} ms (remove the lock file if no canary command is running)")]
    Locked { path: String, waited_ms: u64 },
    /// A PromQL KPI could not be evaluated.
    #[error("kpi {kpi}: {message}")]
    Query { kpi: String, message: String },
    /// A bad argument or environment override, or a decision that no longer
    /// fits the state.
    #[error("{0}")]
    Invalid(String),
}

impl CanaryError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> CanaryError {
        CanaryError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}
