//! Timestamps are milliseconds since the Unix epoch, as in Prometheus.

/// Milliseconds since the Unix epoch.
pub type Timestamp = i64;
