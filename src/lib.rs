//! alertgate: a Prometheus-compatible rule evaluator and alert router.
//!
//! Data flows one way: ingest (`snapshot`, `datasource`) -> evaluate
//! (`promql`, `rules`) -> alert state (`alerting`) -> route (`routing`) ->
//! notify. Lower layers never import higher ones.

pub mod alerting;
pub mod api;
pub mod canary;
pub mod cli;
pub mod clock;
pub mod datasource;
pub mod lint;
pub mod model;
pub mod notify;
pub mod outbox;
pub(crate) mod parallel;
pub mod promql;
pub mod promqltest;
pub mod report;
pub mod routing;
pub mod rules;
pub mod service;
pub mod snapshot;
pub mod template;
pub mod unittest;
pub mod yaml;
