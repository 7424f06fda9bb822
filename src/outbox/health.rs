//! Whether the store takes writes, for readiness: set by every store
//! operation the outbox makes, so a full disk shows up at once and clears
//! when a write succeeds again.

use std::sync::Mutex;

use super::error::{OutboxError, StoreProblem};

#[derive(Debug, Clone, PartialEq)]
pub struct Unhealthy {
    pub problem: StoreProblem,
    /// The error text (store path and SQLite's message; no payloads).
    pub detail: String,
    pub since: i64,
}

#[derive(Debug, Default)]
pub struct Health {
    state: Mutex<Option<Unhealthy>>,
}

impl Health {
    pub fn ok(&self) {
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Records a failed store operation; other errors leave health alone.
    pub fn record(&self, e: &OutboxError, now: i64) {
        let Some(problem) = e.problem() else { return };
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let since = st.as_ref().map_or(now, |u| u.since);
        *st = Some(Unhealthy {
            problem,
            detail: e.to_string(),
            since,
        });
    }

    /// `Err` with the reason while the store fails: for `/readyz`.
    pub fn readiness(&self) -> Result<(), Unhealthy> {
        match self.state.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            None => Ok(()),
            Some(u) => Err(u),
        }
    }
}
