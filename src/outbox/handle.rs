//! [`Outbox`]: the store with its health and metrics, as the dispatcher's
//! caller and the worker share it. `enqueue` is the acknowledgement: once
//! it returns `Ok`, the notification is on disk and will be delivered or
//! end in the DLQ; when it returns `Err`, nothing was written and the
//! caller must not treat the notification as sent.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::error::OutboxError;
use super::health::{Health, Unhealthy};
use super::metrics::{MetricFamily, OutboxMetrics};
use super::store::{Depth, Enqueued, Store, DB_FILE};
use crate::routing::{Dispatcher, Notification};

/// The time source: milliseconds since the epoch (`crate::clock::now_ms`
/// in production, a manual clock in tests).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

pub struct Outbox {
    store: Store,
    pub metrics: OutboxMetrics,
    health: Health,
    work: (Mutex<bool>, Condvar),
    clock: Clock,
}

impl Outbox {
    /// Opens the store at `path`; fails when it cannot be written.
    pub fn open(path: &Path, clock: Clock) -> Result<Outbox, OutboxError> {
        let store = Store::open(path, clock())?;
        Ok(Outbox {
            store,
            metrics: OutboxMetrics::default(),
            health: Health::default(),
            work: (Mutex::new(false), Condvar::new()),
            clock,
        })
    }

    /// The store file of a `state_dir`.
    pub fn path_in(state_dir: &Path) -> PathBuf {
        state_dir.join(DB_FILE)
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn now(&self) -> i64 {
        (self.clock)()
    }

    /// Records the outcome of a store write in health and metrics: only a
    /// committed write proves the store healthy again.
    pub(crate) fn track<T>(&self, r: Result<T, OutboxError>) -> Result<T, OutboxError> {
        if r.is_ok() {
            self.health.ok();
        }
        self.track_read(r)
    }

    /// Like [`Outbox::track`] for a read: a failure counts, a success
    /// proves nothing (a full disk still reads).
    pub(crate) fn track_read<T>(&self, r: Result<T, OutboxError>) -> Result<T, OutboxError> {
        if let Err(e) = &r {
            if e.problem().is_some() {
                self.metrics.store_error();
                self.health.record(e, self.now());
            }
        }
        r
    }

    /// Queues notifications for the integrations `integrations(receiver)`
    /// names, and records them in the notification log, in one
    /// transaction. A receiver without integrations only gets the log
    /// entry (nothing to send, but nothing to repeat either).
    pub fn enqueue(
        &self,
        ns: &[Notification],
        integrations: &dyn Fn(&str) -> Vec<String>,
    ) -> Result<Enqueued, OutboxError> {
        if ns.is_empty() {
            return Ok(Enqueued::default());
        }
        let items: Vec<(Notification, Vec<String>)> = ns
            .iter()
            .map(|n| (n.clone(), integrations(&n.receiver)))
            .collect();
        let started = std::time::Instant::now();
        let r = self.track(self.store.enqueue(&items, self.now()));
        tracing::debug!(
            notifications = ns.len(),
            us = started.elapsed().as_micros() as u64,
            "Queued."
        );
        match &r {
            Ok(e) if e.queued > 0 => self.notify_work(),
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %e, notifications = ns.len(), "Cannot queue notifications; they are not acknowledged.")
            }
        }
        r
    }

    /// Feeds the persisted notification log to a fresh dispatcher; returns
    /// how many entries still match a route.
    pub fn restore_log(&self, d: &mut Dispatcher) -> Result<usize, OutboxError> {
        let log = self.track_read(self.store.sent_log())?;
        Ok(log.iter().filter(|r| d.restore_sent(r)).count())
    }

    /// Writes a heartbeat and reports whether the store takes writes.
    pub fn probe(&self) -> Result<(), OutboxError> {
        self.track(self.store.probe(self.now()))
    }

    /// `Err` with the reason while the last store operation failed.
    pub fn readiness(&self) -> Result<(), Unhealthy> {
        self.health.readiness()
    }

    /// Forgets notification-log entries last written before `before`.
    pub fn gc_log(&self, before: i64) -> Result<usize, OutboxError> {
        self.track(self.store.gc_log(before))
    }

    pub fn depth(&self) -> Result<Depth, OutboxError> {
        self.store.depth()
    }

    /// Self-metrics, with depths read from the store now.
    pub fn metric_families(&self, open_circuits: &[(String, String)]) -> Vec<MetricFamily> {
        let depth = self.store.depth_by_receiver().unwrap_or_default();
        self.metrics.families(&depth, open_circuits)
    }

    /// Wakes a worker waiting in [`Outbox::wait_for_work`].
    pub fn notify_work(&self) {
        let (m, cv) = &self.work;
        *m.lock().unwrap_or_else(|e| e.into_inner()) = true;
        cv.notify_all();
    }

    /// Sleeps until new work is queued or `timeout` passed.
    pub fn wait_for_work(&self, timeout: Duration) {
        let (m, cv) = &self.work;
        let g = m.lock().unwrap_or_else(|e| e.into_inner());
        let (mut g, _) = cv
            .wait_timeout_while(g, timeout, |w| !*w)
            .unwrap_or_else(|e| e.into_inner());
        *g = false;
    }
}
