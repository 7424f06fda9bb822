//! `promtool test rules` compatible rule unit tests: the test-file format
//! ([`file`], [`check`]), the runner that replays rule groups over the
//! input series ([`run`]) and promtool's output formats ([`format`]).

pub mod check;
pub mod file;
pub mod format;
pub mod histogram;
pub mod run;

pub use run::{run_file, FileReport, GroupReport, Outcome, RunOptions};

/// A test file that cannot be run at all (bad input, exit 2).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UnitTestError {
    #[error("{file}: cannot read: {msg}")]
    Read { file: String, msg: String },
    #[error("{file}: {msg}")]
    Yaml { file: String, msg: String },
    /// The file decodes but holds invalid values (one line each).
    #[error("{}", .problems.join("\n"))]
    Invalid { problems: Vec<String> },
    /// A rule file the test loads is invalid (one line each).
    #[error("{}", .problems.join("\n"))]
    Rules { problems: Vec<String> },
}
