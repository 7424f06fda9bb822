//! Prometheus-compatible HTTP API encodings. Query results and errors are
//! written byte for byte as Prometheus's `/api/v1/query` and
//! `/api/v1/query_range` write them, so clients and diff-based tests can
//! compare the two. The HTTP server will reuse these bodies.

pub mod json;
pub mod query;

pub use query::{encode_error, encode_query_output, ApiError, ErrorType};
