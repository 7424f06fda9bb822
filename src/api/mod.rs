//! Prometheus-compatible HTTP API encodings (query results as JSON).
