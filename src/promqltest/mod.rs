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
//!
//! ```
//! use alertgate::model::MemStore;
//! use alertgate::promqltest::{load_into, parse_script, parse_series, Command, SequenceValue};
//!
//! // promtool-style input series: `a+bxN`, `_`, `stale`.
//! let s = parse_series(r#"up{job="api"} -2+4x2 _ stale"#).unwrap();
//! assert_eq!(s.values[..3], [SequenceValue::Float(-2.0), SequenceValue::Float(2.0), SequenceValue::Float(6.0)]);
//! assert!(s.values[4].is_stale());
//!
//! let script = parse_script("load 1m\n  up{job=\"api\"} 1 0 1\n").unwrap();
//! let mut store = MemStore::new();
//! if let Command::Load(l) = &script.commands[0] {
//!     load_into(&mut store, l).unwrap();
//! }
//! assert_eq!(store.series()[0].samples.len(), 3);
//! ```

pub mod compare;
pub mod duration;
pub mod error;
pub mod expr;
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
    parse_script, AnnotationExpect, Command, EvalCmd, EvalQuery, ExpectedResult, ExpectedSeries,
    LoadCmd, MessageMatch, Script,
};
pub use series::{parse_number, parse_series, parse_values, SequenceValue, SeriesDesc};
