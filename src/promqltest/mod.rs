//! Parser for the PromQL test-script notation used by Prometheus's
//! `promql/promqltest` scripts, promtool rule unit tests and our snapshot
//! fixtures: durations (`1m30s`), label sets with PromQL string escapes
//! (`up{job="a\n"}`), series descriptions (`0+10x5 _ stale 1e3 -Inf`,
//! `_x3`, `{{schema:0 sum:1}}`), whole scripts (`load`, `clear`, `eval ...`
//! blocks with their expectations), loading into a
//! [`MemStore`](crate::model::MemStore), and Prometheus's rules for comparing
//! a query result with an expectation.
//!
//! The language is described in `shared/conformance/README.md` section 1 and
//! upstream in prometheus/prometheus: promql/promqltest/README.md.

pub mod compare;
pub mod duration;
pub mod error;
pub mod histogram;
pub mod labels;
pub mod load;
pub mod script;
pub mod series;

pub use compare::{almost_equal, check_eval, Verdict};
pub use duration::parse_duration;
pub use error::NotationError;
pub use histogram::HistogramLiteral;
pub use labels::{parse_label_set, parse_string_literal};
pub use load::{load_into, LoadOutcome};
pub use script::{
    parse_script, AnnotationExpect, Command, EvalCmd, EvalQuery, ExpectedResult, ExpectedSeries, LoadCmd,
    MessageMatch, Script,
};
pub use series::{parse_number, parse_series, parse_values, SequenceValue, SeriesDesc};
