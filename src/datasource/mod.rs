//! Where query results come from: the `Querier` seam, with the embedded
//! engine over snapshots and (later) a Prometheus HTTP client behind it.
