//! Prometheus durations (`1m30s`, `20s500ms`, `0`), as used for times,
//! intervals and steps in test scripts (`model.ParseDuration`).

use super::NotationError;

/// Parses a duration into milliseconds. Parts must come largest unit first,
/// each unit at most once; a bare `0` is allowed; no sign, no fractions.
pub fn parse_duration(input: &str) -> Result<i64, NotationError> {
    crate::model::time::parse_duration_ms(input).map_err(|e| NotationError::Duration {
        input: e.input,
        reason: e.reason.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_compound_durations() {
        assert_eq!(parse_duration("0").unwrap(), 0);
        assert_eq!(parse_duration("5m").unwrap(), 300_000);
        assert_eq!(parse_duration("1m30s").unwrap(), 90_000);
        assert_eq!(parse_duration("20s500ms").unwrap(), 20_500);
        assert_eq!(parse_duration("10s53ms").unwrap(), 10_053);
        assert_eq!(parse_duration("5m0s").unwrap(), 300_000);
        assert_eq!(parse_duration("0h").unwrap(), 0);
        assert_eq!(parse_duration("1y").unwrap(), 365 * 86_400_000);
        assert_eq!(parse_duration("2w1d").unwrap(), 15 * 86_400_000);
        assert_eq!(parse_duration("1ms").unwrap(), 1);
    }

    #[test]
    fn rejects_malformed_durations() {
        for bad in [
            "", "5", "1.5m", "-1m", "30s1m", "1m1m", "1 m", "m", "5x", "1ms1s",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad} should be rejected");
        }
    }
}
