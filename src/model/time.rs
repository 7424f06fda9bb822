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

/// A duration that is not a Prometheus duration.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("not a valid duration string: {input:?} ({reason})")]
pub struct DurationError {
    pub input: String,
    pub reason: &'static str,
}

/// Units from largest to smallest, in milliseconds. `y` is 365 days, `w` 7.
const UNITS: [(&str, i64); 7] = [
    ("y", 365 * 24 * 3_600_000),
    ("w", 7 * 24 * 3_600_000),
    ("d", 24 * 3_600_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Parses a Prometheus duration (`model.ParseDuration`: `1m30s`, `20s500ms`,
/// `0`) into milliseconds. Parts come largest unit first, each at most once;
/// no sign, no fractions.
pub fn parse_duration_ms(input: &str) -> Result<i64, DurationError> {
    let err = |reason| DurationError {
        input: input.to_string(),
        reason,
    };
    if input == "0" {
        return Ok(0);
    }
    if input.is_empty() {
        return Err(err("empty"));
    }
    let b = input.as_bytes();
    let mut i = 0;
    let mut total: i64 = 0;
    // Index into UNITS of the last unit used; the next must be strictly smaller.
    let mut last: Option<usize> = None;
    while i < b.len() {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if start == i {
            return Err(err("expected a number"));
        }
        let n: i64 = input[start..i]
            .parse()
            .map_err(|_| err("number too large"))?;
        let ustart = i;
        while i < b.len() && b[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = &input[ustart..i];
        let idx = UNITS
            .iter()
            .position(|(u, _)| *u == unit)
            .ok_or_else(|| err("unknown or missing unit"))?;
        if last.is_some_and(|l| idx <= l) {
            return Err(err("units must be in decreasing order, each at most once"));
        }
        last = Some(idx);
        total = n
            .checked_mul(UNITS[idx].1)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| err("duration out of range"))?;
    }
    Ok(total)
}

#[cfg(test)]
mod parse_time_tests {
    use super::*;

    #[test]
    fn unix_seconds_and_rfc3339() {
        assert_eq!(parse_time("1435781451.781"), Ok(1_435_781_451_781));
        assert_eq!(parse_time("0"), Ok(0));
        assert_eq!(parse_time("-1.5"), Ok(-1500));
        assert_eq!(
            parse_time("2015-07-01T20:10:51.781Z"),
            Ok(1_435_781_451_781)
        );
        assert_eq!(
            parse_time("2015-07-01T22:10:51+02:00"),
            Ok(1_435_781_451_000)
        );
        assert!(parse_time("yesterday").is_err());
        assert!(parse_time("NaN").is_err());
    }
}
