//! The error type of the test-notation parser.

/// Why a piece of test notation could not be parsed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NotationError {
    #[error("invalid duration {input:?}: {reason}")]
    Duration { input: String, reason: String },
    #[error("invalid label set {input:?}: {reason}")]
    Labels { input: String, reason: String },
    #[error("invalid string literal {input:?}: {reason}")]
    String { input: String, reason: String },
    #[error("invalid series value {item:?}: {reason}")]
    Value { item: String, reason: String },
    #[error("invalid histogram {input:?}: {reason}")]
    Histogram { input: String, reason: String },
    /// A script-level problem (unknown command, misplaced line, ...).
    #[error("line {line}: {msg}")]
    Script { line: usize, msg: String },
    /// Data that parses but cannot be stored (e.g. out-of-order samples).
    #[error("line {line}: cannot load: {msg}")]
    Load { line: usize, msg: String },
    /// A lower-level error, located in a script.
    #[error("line {line}: {source}")]
    AtLine {
        line: usize,
        #[source]
        source: Box<NotationError>,
    },
}

impl NotationError {
    /// Attaches a 1-based script line number.
    pub fn at_line(self, line: usize) -> NotationError {
        match self {
            e @ (NotationError::Script { .. }
            | NotationError::Load { .. }
            | NotationError::AtLine { .. }) => e,
            e => NotationError::AtLine {
                line,
                source: Box::new(e),
            },
        }
    }
}
