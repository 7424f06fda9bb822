//! Prometheus rule files: raw YAML structs with source positions,
//! validation that reports every problem as `file:line:col`, and group evaluation.

pub mod error;
pub mod eval;
pub mod group;
pub mod load;
pub mod raw;
pub mod replay;
pub mod validate;

pub use error::{Code, Problem, RuleError};
pub use eval::{eval_group, EvalContext, GroupOutcome, GroupState, RuleEvalError};
pub use group::{AlertingRule, Group, RecordingRule, Rule, RuleFile, DEFAULT_INTERVAL_MS};
pub use load::{load_paths, load_paths_with};
pub use replay::{replay, AlertReport, ReplayOptions, ReplayReport};
pub use validate::{parse_duration_ms, parse_rule_file, parse_rule_file_with, ValidateOptions};
