//! Prometheus rule files: raw YAML structs with source positions,
//! validation that reports every problem as `file:line:col`, and group evaluation.
