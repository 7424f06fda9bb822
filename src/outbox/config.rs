//! `notify.outbox` in `alertgate.yml`: retry budget, backoff, per-receiver
//! concurrency and circuit. Every key is optional; unknown keys are errors.
//!
//! ```yaml
//! notify:
//!   outbox:
//!     max_attempts: 20        # then the dead-letter queue
//!     max_age: 12h            # or when the oldest attempt is this old
//!     initial_backoff: 1s
//!     max_backoff: 5m
//!     concurrency: 32         # requests in flight per receiver
//!     circuit_failures: 5     # consecutive failures that open the circuit
//!     circuit_open_for: 30s   # before one probe request is let through
//! ```

use serde::Deserialize;

use super::error::OutboxError;
use crate::routing::duration::parse_duration;

#[derive(Debug, Clone, PartialEq)]
pub struct OutboxConfig {
    pub max_attempts: u32,
    pub max_age_ms: i64,
    pub initial_backoff_ms: i64,
    pub max_backoff_ms: i64,
    pub concurrency: usize,
    pub circuit_failures: u32,
    pub circuit_open_ms: i64,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig {
            max_attempts: 20,
            // Alertmanager gives up at the next group interval; a page that
            // is half a day late is still better in the DLQ than gone.
            max_age_ms: 12 * 3_600_000,
            initial_backoff_ms: 1_000,
            max_backoff_ms: 5 * 60_000,
            // Alertmanager has no limit; 32 keeps a burst of groups moving
            // without a thread per notification.
            concurrency: 32,
            circuit_failures: 5,
            circuit_open_ms: 30_000,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct RawTop {
    notify: Option<RawNotify>,
}

/// Other keys under `notify:` belong to other loaders.
#[derive(Debug, Default, Deserialize)]
struct RawNotify {
    outbox: Option<RawOutbox>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutbox {
    max_attempts: Option<u32>,
    max_age: Option<String>,
    initial_backoff: Option<String>,
    max_backoff: Option<String>,
    concurrency: Option<usize>,
    circuit_failures: Option<u32>,
    circuit_open_for: Option<String>,
}

impl OutboxConfig {
    /// Reads `notify.outbox` from the text of `alertgate.yml`; every problem
    /// is reported, one per line.
    pub fn from_yaml(src: &str) -> Result<OutboxConfig, OutboxError> {
        if src.trim().is_empty() {
            return Ok(OutboxConfig::default());
        }
        let top: RawTop =
            yaml_serde::from_str(src).map_err(|e| OutboxError::Config(e.to_string()))?;
        let raw = top.notify.and_then(|n| n.outbox).unwrap_or_default();
        let mut c = OutboxConfig::default();
        let mut problems = Vec::new();
        let mut dur = |key: &str, v: &Option<String>, out: &mut i64| {
            if let Some(s) = v {
                match parse_duration(s) {
                    Ok(ms) if ms > 0 => *out = ms,
                    Ok(_) => problems.push(format!("notify.outbox.{key}: must be positive")),
                    Err(e) => problems.push(format!("notify.outbox.{key}: {e}")),
                }
            }
        };
        dur("max_age", &raw.max_age, &mut c.max_age_ms);
        dur(
            "initial_backoff",
            &raw.initial_backoff,
            &mut c.initial_backoff_ms,
        );
        dur("max_backoff", &raw.max_backoff, &mut c.max_backoff_ms);
        dur(
            "circuit_open_for",
            &raw.circuit_open_for,
            &mut c.circuit_open_ms,
        );
        if let Some(n) = raw.max_attempts {
            c.max_attempts = n;
        }
        if let Some(n) = raw.concurrency {
            c.concurrency = n;
        }
        if let Some(n) = raw.circuit_failures {
            c.circuit_failures = n;
        }
        if c.max_attempts == 0 {
            problems.push("notify.outbox.max_attempts: must be at least 1".into());
        }
        if c.concurrency == 0 {
            problems.push("notify.outbox.concurrency: must be at least 1".into());
        }
        if c.circuit_failures == 0 {
            problems.push("notify.outbox.circuit_failures: must be at least 1".into());
        }
        if c.max_backoff_ms < c.initial_backoff_ms {
            problems.push("notify.outbox.max_backoff: must not be below initial_backoff".into());
        }
        if problems.is_empty() {
            Ok(c)
        } else {
            Err(OutboxError::Config(problems.join("\n")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        assert_eq!(
            OutboxConfig::from_yaml("route: {receiver: a}\n").unwrap(),
            OutboxConfig::default()
        );
        let c = OutboxConfig::from_yaml(
            "notify:\n  outbox:\n    max_attempts: 3\n    max_age: 10m\n    initial_backoff: 50ms\n    concurrency: 2\n",
        )
        .unwrap();
        assert_eq!(
            (
                c.max_attempts,
                c.max_age_ms,
                c.initial_backoff_ms,
                c.concurrency
            ),
            (3, 600_000, 50, 2)
        );
    }

    #[test]
    fn every_problem_reported() {
        let e = OutboxConfig::from_yaml(
            "notify:\n  outbox:\n    max_attempts: 0\n    max_age: soon\n    concurrency: 0\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("max_attempts"), "{e}");
        assert!(e.contains("max_age"), "{e}");
        assert!(e.contains("concurrency"), "{e}");
        let e = OutboxConfig::from_yaml("notify:\n  outbox:\n    retries: 3\n").unwrap_err();
        assert!(e.to_string().contains("retries"), "{e}");
    }
}
