//! Rule-file problems (one per defect, with a stable code and `file:line:col`)
//! and the module's error type.

use crate::yaml::Pos;
use std::fmt;

/// Stable problem codes; printed as `rules/<code>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// The file could not be read, or a path matched no file.
    Read,
    /// Not YAML, or a value of the wrong shape (serde's message).
    Yaml,
    UnknownField,
    InvalidDuration,
    EmptyGroupName,
    DuplicateGroup,
    RecordAndAlert,
    NoRecordOrAlert,
    MissingExpr,
    InvalidExpr,
    /// `annotations`, `for` or `keep_firing_for` on a recording rule.
    FieldNotAllowed,
    InvalidRecordName,
    InvalidLabelName,
    InvalidLabelValue,
    InvalidAnnotationName,
    InvalidTemplate,
}

impl Code {
    pub fn as_str(&self) -> &'static str {
        match self {
            Code::Read => "read",
            Code::Yaml => "yaml",
            Code::UnknownField => "unknown-field",
            Code::InvalidDuration => "invalid-duration",
            Code::EmptyGroupName => "empty-group-name",
            Code::DuplicateGroup => "duplicate-group",
            Code::RecordAndAlert => "record-and-alert",
            Code::NoRecordOrAlert => "no-record-or-alert",
            Code::MissingExpr => "missing-expr",
            Code::InvalidExpr => "invalid-expr",
            Code::FieldNotAllowed => "field-not-allowed",
            Code::InvalidRecordName => "invalid-record-name",
            Code::InvalidLabelName => "invalid-label-name",
            Code::InvalidLabelValue => "invalid-label-value",
            Code::InvalidAnnotationName => "invalid-annotation-name",
            Code::InvalidTemplate => "invalid-template",
        }
    }
}

/// One defect in one rule file.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub file: String,
    pub pos: Option<Pos>,
    pub code: Code,
    /// One line; newlines from wrapped parser messages are folded.
    pub message: String,
}

impl Problem {
    pub fn new(file: &str, pos: Option<Pos>, code: Code, message: impl Into<String>) -> Self {
        let message = message
            .into()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        Problem {
            file: file.to_string(),
            pos,
            code,
            message,
        }
    }
}

/// `file:line:col: rules/<code>: message` (position omitted when unknown).
impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pos {
            Some(p) => write!(f, "{}:{}:{}: ", self.file, p.line, p.col)?,
            None => write!(f, "{}: ", self.file)?,
        }
        write!(f, "rules/{}: {}", self.code.as_str(), self.message)
    }
}

/// Loading failed; holds every problem found, in file order.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", .problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n"))]
pub struct RuleError {
    pub problems: Vec<Problem>,
}
