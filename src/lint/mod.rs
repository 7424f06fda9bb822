//! `alertgate lint`: finds rules and configs that are broken, or that will
//! never fire, before they page (or fail to). Every problem is a
//! [`Finding`] with a stable check name and `file:line:col`.
//!
//! Offline checks read the rule files (`promql`, `labels`, `range`,
//! `alerts`), config checks read `alertgate.yml` and the environment for
//! its secrets (`config`), online checks ask a datasource whether the
//! series a rule selects exist (`series`).

pub mod config;
pub mod finding;
pub mod labels;
pub mod promql;
pub mod range;
pub mod rules;
pub mod series;
pub mod source;

pub use finding::{Finding, Severity};
pub use rules::RuleOptions;
pub use series::{SeriesCheck, SeriesError};
pub use source::RuleSource;
