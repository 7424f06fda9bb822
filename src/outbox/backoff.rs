//! When to try again: exponential backoff with full jitter, capped, and a
//! server's `Retry-After` (or a 429 without one) taking precedence. Pure:
//! the jitter comes in as a number in [0, 1) so tests can pin it.

use super::config::OutboxConfig;

/// `429 Too Many Requests` without `Retry-After`: wait at least this long,
/// since the server told us we are too fast, not that it is broken.
pub const MIN_BACKOFF_ON_429_MS: i64 = 5_000;

/// The delay before attempt `attempts + 1`, after `attempts` failed ones.
///
/// Without a hint the delay is `initial * 2^(attempts-1)`, capped at
/// `max_backoff`, with "equal jitter": half fixed, half random, so retries
/// of many notifications spread out but never collapse to zero. A
/// `Retry-After` is honoured as given (a server asking for an hour gets an
/// hour, up to the notification's max age, which the caller enforces).
pub fn next_delay(
    cfg: &OutboxConfig,
    attempts: u32,
    status: Option<u16>,
    retry_after_ms: Option<i64>,
    jitter: f64,
) -> i64 {
    if let Some(ra) = retry_after_ms {
        return ra.max(0);
    }
    let exp = attempts.saturating_sub(1).min(40);
    let base = cfg
        .initial_backoff_ms
        .saturating_mul(1i64 << exp.min(30))
        .min(cfg.max_backoff_ms);
    let half = base / 2;
    let jitter = jitter.clamp(0.0, 1.0);
    let d = half + ((base - half) as f64 * jitter) as i64;
    if status == Some(429) {
        d.max(MIN_BACKOFF_ON_429_MS.min(cfg.max_backoff_ms))
    } else {
        d
    }
}

/// A deterministic number in [0, 1) from a seed (job id, attempt): jitter
/// without a random source or the clock, different for every job.
pub fn jitter(seed: u64) -> f64 {
    // splitmix64
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// Parses `Retry-After`; the HTTP senders of `crate::notify` use it.
pub use crate::notify::http::parse_retry_after;

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> OutboxConfig {
        OutboxConfig {
            initial_backoff_ms: 1_000,
            max_backoff_ms: 60_000,
            ..Default::default()
        }
    }

    #[test]
    fn doubles_with_jitter_and_caps() {
        let c = cfg();
        // jitter 0 gives the lower half, jitter ~1 the full delay.
        assert_eq!(next_delay(&c, 1, None, None, 0.0), 500);
        assert_eq!(next_delay(&c, 1, None, None, 0.999_999), 999);
        assert_eq!(next_delay(&c, 2, None, None, 0.0), 1_000);
        assert_eq!(next_delay(&c, 3, None, None, 0.0), 2_000);
        assert_eq!(next_delay(&c, 30, None, None, 0.0), 30_000);
        assert!(next_delay(&c, 30, None, None, 0.999) <= 60_000);
    }

    #[test]
    fn retry_after_wins_and_429_waits() {
        let c = cfg();
        assert_eq!(next_delay(&c, 1, Some(503), Some(120_000), 0.5), 120_000);
        assert_eq!(
            next_delay(&c, 1, Some(429), None, 0.0),
            MIN_BACKOFF_ON_429_MS
        );
        assert_eq!(parse_retry_after("7", 0), Some(7_000));
        // RFC 7231 example date, 2 seconds after `now`.
        let now = chrono::DateTime::parse_from_rfc2822("Wed, 21 Oct 2015 07:27:58 GMT")
            .unwrap()
            .timestamp_millis();
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(2_000)
        );
        assert_eq!(parse_retry_after("soon", 0), None);
    }

    #[test]
    fn jitter_spreads_and_stays_in_range() {
        let xs: Vec<f64> = (0..1000).map(jitter).collect();
        assert!(xs.iter().all(|x| (0.0..1.0).contains(x)));
        let low = xs.iter().filter(|x| **x < 0.5).count();
        assert!((400..600).contains(&low), "{low}");
    }
}
