//! A circuit per receiver endpoint: after `circuit_failures` failures in a
//! row it opens and requests stop; after `circuit_open_for` one probe goes
//! through (half-open); its success closes the circuit, its failure opens
//! it again for twice as long (capped at the max backoff). Pure, on the
//! caller's clock.

use super::config::OutboxConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CircuitState {
    Closed,
    /// No requests until the given time.
    Open {
        until: i64,
    },
    /// One probe is in flight.
    HalfOpen,
}

#[derive(Debug, Clone)]
pub struct Circuit {
    state: CircuitState,
    failures: u32,
    open_ms: i64,
}

impl Circuit {
    pub fn new(cfg: &OutboxConfig) -> Self {
        Circuit {
            state: CircuitState::Closed,
            failures: 0,
            open_ms: cfg.circuit_open_ms,
        }
    }

    pub fn state(&self) -> CircuitState {
        self.state
    }

    /// How many requests may start now: `limit` when closed, one probe
    /// when the open time has passed, none otherwise. A probe moves the
    /// circuit to half-open.
    pub fn admit(&mut self, now: i64, limit: usize) -> usize {
        match self.state {
            CircuitState::Closed => limit,
            CircuitState::Open { until } if now >= until => {
                self.state = CircuitState::HalfOpen;
                1
            }
            CircuitState::Open { .. } | CircuitState::HalfOpen => 0,
        }
    }

    /// When requests may start again, if the circuit is open.
    pub fn reopens_at(&self) -> Option<i64> {
        match self.state {
            CircuitState::Open { until } => Some(until),
            _ => None,
        }
    }

    pub fn success(&mut self, cfg: &OutboxConfig) {
        self.failures = 0;
        self.open_ms = cfg.circuit_open_ms;
        self.state = CircuitState::Closed;
    }

    /// Records a failure that says the endpoint is unwell (not a 4xx that
    /// only this message gets).
    pub fn failure(&mut self, cfg: &OutboxConfig, now: i64) {
        self.failures += 1;
        match self.state {
            CircuitState::HalfOpen => {
                self.open_ms = (self.open_ms * 2).min(cfg.max_backoff_ms.max(cfg.circuit_open_ms));
                self.state = CircuitState::Open {
                    until: now + self.open_ms,
                };
            }
            CircuitState::Closed if self.failures >= cfg.circuit_failures => {
                self.state = CircuitState::Open {
                    until: now + self.open_ms,
                };
            }
            _ => {}
        }
    }

    /// A probe ended without an answer about the endpoint (e.g. the row was
    /// dropped); let the next one through.
    pub fn release_probe(&mut self, now: i64) {
        if self.state == CircuitState::HalfOpen {
            self.state = CircuitState::Open { until: now };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_failures_probes_and_closes() {
        let cfg = OutboxConfig {
            circuit_failures: 3,
            circuit_open_ms: 1_000,
            max_backoff_ms: 10_000,
            ..Default::default()
        };
        let mut c = Circuit::new(&cfg);
        assert_eq!(c.admit(0, 4), 4);
        c.failure(&cfg, 0);
        c.failure(&cfg, 0);
        assert_eq!(c.state(), CircuitState::Closed);
        c.failure(&cfg, 10);
        assert_eq!(c.state(), CircuitState::Open { until: 1_010 });
        assert_eq!(c.admit(500, 4), 0, "open: nothing goes out");
        assert_eq!(c.admit(1_010, 4), 1, "one probe");
        assert_eq!(c.admit(1_010, 4), 0, "only one probe");
        c.failure(&cfg, 1_100);
        assert_eq!(
            c.state(),
            CircuitState::Open { until: 3_100 },
            "twice as long"
        );
        assert_eq!(c.admit(3_100, 4), 1);
        c.success(&cfg);
        assert_eq!(c.admit(3_200, 4), 4);
        // A success in between resets the count of failures in a row.
        c.failure(&cfg, 0);
        c.failure(&cfg, 0);
        c.success(&cfg);
        c.failure(&cfg, 0);
        assert_eq!(c.state(), CircuitState::Closed);
    }
}
