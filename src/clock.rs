//! The only place that reads the system clock. Everything else takes a
//! timestamp, so tests can run on simulated time.

/// Current time in milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    d.as_millis() as i64
}
