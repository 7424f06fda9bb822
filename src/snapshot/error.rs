//! The one error type of the snapshot module. Every variant displays as a
//! single line that starts with the file (and line) it is about, so the CLI
//! can print it as is.

/// Why snapshots could not be loaded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SnapshotError {
    /// The file or directory could not be read.
    #[error("{path}: {msg}")]
    Io { path: String, msg: String },
    /// A malformed line in an exposition file, or a JSON syntax error.
    #[error("{path}:{line}: {msg}")]
    Syntax {
        path: String,
        line: usize,
        msg: String,
    },
    /// Well-formed input that cannot be loaded (wrong JSON shape, duplicate
    /// samples across the file, ...).
    #[error("{path}: {msg}")]
    Invalid { path: String, msg: String },
    /// A bad `--snapshot PATH@TIME` argument.
    #[error("invalid snapshot argument {arg:?}: {msg}")]
    Spec { arg: String, msg: String },
    /// A bad `--label k=v` argument.
    #[error("invalid label {arg:?}: {msg}")]
    Label { arg: String, msg: String },
}
