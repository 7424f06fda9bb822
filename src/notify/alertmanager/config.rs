//! Alertmanager settings beyond the routing config: the API path.

/// The v2 alerts endpoint under a base URL (`scheme://host:port/prefix`).
pub fn alerts_url(base: &str) -> String {
    format!("{}/api/v2/alerts", base.trim_end_matches('/'))
}
