//! Timestamps are milliseconds since the Unix epoch, as in Prometheus.

/// Milliseconds since the Unix epoch.
pub type Timestamp = i64;

/// A time argument that is neither RFC 3339 nor a Unix timestamp.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("cannot parse {0:?} to a valid timestamp")]
pub struct TimeParseError(pub String);

/// Parses a time the way the Prometheus HTTP API does (`parseTime` in
/// web/api/v1/api.go): Unix seconds as a float (rounded to the millisecond)
/// or RFC 3339 with optional fractional seconds.
pub fn parse_time(s: &str) -> Result<Timestamp, TimeParseError> {
    let s = s.trim();
    if let Ok(f) = s.parse::<f64>() {
        // Same bounds as Go's int64 nanoseconds would allow, and no NaN/Inf.
        if !f.is_finite() || f.abs() > 9.2e15 {
            return Err(TimeParseError(s.to_string()));
        }
        let secs = f.trunc();
        let frac_ms = ((f - secs) * 1000.0).round();
        return Ok(secs as i64 * 1000 + frac_ms as i64);
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|d| d.timestamp_millis())
        .map_err(|_| TimeParseError(s.to_string()))
}

#[cfg(test)]
mod parse_time_tests {
    use super::*;

    #[test]
    fn unix_seconds_and_rfc3339() {
        assert_eq!(parse_time("1435781451.781"), Ok(1_435_781_451_781));
        assert_eq!(parse_time("0"), Ok(0));
        assert_eq!(parse_time("-1.5"), Ok(-1500));
        assert_eq!(parse_time("2015-07-01T20:10:51.781Z"), Ok(1_435_781_451_781));
        assert_eq!(parse_time("2015-07-01T22:10:51+02:00"), Ok(1_435_781_451_000));
        assert!(parse_time("yesterday").is_err());
        assert!(parse_time("NaN").is_err());
    }
}
