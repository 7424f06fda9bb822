//! Metric snapshots: Prometheus text exposition 0.0.4, OpenMetrics 1.0,
//! Prometheus query-API JSON and flat/nested KPI JSON, loaded into a
//! [`MemStore`](crate::model::MemStore) that the engine queries.
//!
//! Public API (used by `alertgate check` and `alertgate query`):
//!
//! ```no_run
//! use alertgate::snapshot::{load, parse_label_args, SnapshotSpec};
//! let specs = vec![SnapshotSpec::parse("scrape.prom@2024-01-01T00:00:00Z").unwrap()];
//! let extra = parse_label_args(&["tenant=acme"]).unwrap();
//! let store = load(&specs, 1_704_067_200_000, &extra)?;
//! # Ok::<(), alertgate::snapshot::SnapshotError>(())
//! ```
//!
//! - [`SnapshotSpec::parse`] reads `PATH` or `PATH@TIME` (RFC 3339 or Unix
//!   seconds, see [`crate::model::time::parse_time`]). A directory stands for
//!   the regular, non-hidden files directly inside it, sorted by name.
//! - [`load`] reads every spec. A sample without a timestamp is taken at its
//!   spec's time, else at `default_at` (the command's `--at`, default now), so
//!   several plain scrapes make a series `rate()` can use. Explicit
//!   timestamps (OpenMetrics history, query-API JSON) are kept as written.
//!   `extra_labels` (`--label k=v`, see [`parse_label_args`]) are added to
//!   every sample that does not already have the label.
//! - Every [`SnapshotError`] displays as one line: `path:line: message` for a
//!   malformed line, `path: message` otherwise. The CLI exits 2 on any.
//! - Format: `.json` or a leading `{` is JSON; `.om`/`.openmetrics` or a
//!   `# EOF` line is OpenMetrics; anything else is the text format
//!   ([`detect_format`]). Exposition details are in [`exposition`], JSON in
//!   [`json`].

pub mod error;
pub mod exposition;
pub mod json;
pub mod load;
pub mod scrape;
pub mod spec;

pub use error::SnapshotError;
pub use load::{detect_format, load, load_into, parse_file, parse_file_as, SnapshotFormat};
pub use spec::{parse_label_arg, parse_label_args, SnapshotSpec};
