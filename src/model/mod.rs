//! Core data model shared by every layer: labels, matchers, samples and the
//! in-memory series store. Nothing here knows about PromQL, rules or routing.

pub mod labels;
pub mod matcher;
pub mod sample;
pub mod store;
pub mod time;

pub use labels::{Label, Labels, METRIC_NAME};
pub use matcher::{MatchOp, Matcher, MatcherError};
pub use sample::{is_stale_nan, Sample, Series, STALE_NAN};
pub use store::{MemStore, SeriesMemo};
pub use time::Timestamp;
