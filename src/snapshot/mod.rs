//! Metric snapshots: Prometheus text exposition 0.0.4, OpenMetrics 1.0,
//! Prometheus query-API JSON and flat/nested KPI JSON, loaded into a `MemStore`.
