//! Prometheus durations (`1m30s`, `20s500ms`, `0`), as used for times,
//! intervals and steps in test scripts (`model.ParseDuration`).

use super::NotationError;

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

/// Parses a duration into milliseconds. Parts must come largest unit first,
/// each unit at most once; a bare `0` is allowed; no sign, no fractions.
pub fn parse_duration(input: &str) -> Result<i64, NotationError> {
    let err = |reason: &str| NotationError::Duration {
        input: input.to_string(),
        reason: reason.to_string(),
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
