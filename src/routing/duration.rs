//! Prometheus duration strings (`30s`, `5m`, `1h30m`, `1d`), as
//! `model.ParseDuration` in prometheus/common reads them for Alertmanager's
//! `group_wait`, `group_interval` and `repeat_interval`.

/// A duration string that is not `[0-9]+(y|w|d|h|m|s|ms)` in descending units.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid duration string: {0:?}")]
pub struct DurationError(pub String);

/// Parses a duration into milliseconds. `0` alone is allowed, the empty
/// string is not; units must appear at most once and from largest to smallest.
pub fn parse_duration(s: &str) -> Result<i64, DurationError> {
    crate::model::time::parse_duration_ms(s).map_err(|_| DurationError(s.to_string()))
}

/// Formats milliseconds like Prometheus (`1h30m`, `0s`).
pub fn format_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    let mut rest = ms;
    for (u, mult) in [
        ("y", 365 * 24 * 3_600_000i64),
        ("w", 7 * 24 * 3_600_000),
        ("d", 24 * 3_600_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ] {
        if rest >= mult {
            out.push_str(&format!("{}{}", rest / mult, u));
            rest %= mult;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_prometheus() {
        assert_eq!(parse_duration("30s"), Ok(30_000));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(parse_duration("0s"), Ok(0));
        assert_eq!(parse_duration("1d"), Ok(86_400_000));
        assert_eq!(parse_duration("100ms"), Ok(100));
        for bad in ["", "5", "1m1h", "1s1s", "-1s", "1.5h", "1 h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formats() {
        assert_eq!(format_duration(5_400_000), "1h30m");
        assert_eq!(format_duration(0), "0s");
    }
}
