//! Delivers what the outbox holds. One pass takes the due jobs, sends them
//! with at most `concurrency` requests in flight per receiver, skips
//! endpoints whose circuit is open, and records every outcome right after
//! the answer. Acceptances are group-committed: whichever sender finishes
//! while no commit runs removes every job accepted so far in one
//! transaction (so 1,000 deliveries cost a handful of commits, not 1,000
//! fsyncs). A crash loses at most the answers not yet committed, and
//! those jobs are sent again after a restart with the same dedup key (at
//! least once, never zero times).
//!
//! Only one worker delivers from a store at a time ([`WorkerLock`]).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::backoff::{jitter, next_delay};
use super::circuit::Circuit;
use super::config::OutboxConfig;
use super::error::OutboxError;
use super::handle::Outbox;
use super::sender::{SendFailure, Sender};
use super::store::{Job, WorkerLock};

/// Jobs taken per pass; the rest wait for the next one.
const BATCH: usize = 512;
/// Longest sleep between passes, so a job queued by another process
/// (`alertgate dlq replay`) is picked up soon.
const POLL: Duration = Duration::from_millis(500);

/// What passes did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DrainReport {
    pub delivered: usize,
    pub failed_attempts: usize,
    /// Jobs moved to the dead-letter queue.
    pub dead_lettered: usize,
    /// Jobs not tried because their endpoint's circuit was open.
    pub held_by_circuit: usize,
}

impl DrainReport {
    fn add(&mut self, o: DrainReport) {
        self.delivered += o.delivered;
        self.failed_attempts += o.failed_attempts;
        self.dead_lettered += o.dead_lettered;
        self.held_by_circuit += o.held_by_circuit;
    }
}

type Endpoint = (String, String);

pub struct Worker {
    outbox: Arc<Outbox>,
    sender: Arc<dyn Sender>,
    cfg: OutboxConfig,
    circuits: Mutex<HashMap<Endpoint, Circuit>>,
    _lock: WorkerLock,
}

enum Outcome {
    /// Accepted by the receiver; the row leaves with the next ack commit.
    Delivered(Ack),
    Failed,
    Dead,
    Held,
}

/// A job the receiver accepted, waiting for its ack commit.
struct Ack {
    id: i64,
    receiver: String,
    integration: String,
    latency_ms: i64,
}

/// Acceptances not committed yet, and who commits them.
#[derive(Default)]
struct Acks {
    pending: Mutex<Vec<Ack>>,
    committing: Mutex<()>,
}

impl Worker {
    /// Becomes the worker of `outbox`'s store; fails when another process
    /// delivers from it.
    pub fn new(
        outbox: Arc<Outbox>,
        sender: Arc<dyn Sender>,
        cfg: OutboxConfig,
    ) -> Result<Worker, OutboxError> {
        let lock = WorkerLock::acquire(std::path::Path::new(outbox.store().path()))?;
        Ok(Worker {
            outbox,
            sender,
            cfg,
            circuits: Mutex::new(HashMap::new()),
            _lock: lock,
        })
    }

    pub fn outbox(&self) -> &Arc<Outbox> {
        &self.outbox
    }

    /// Endpoints whose circuit is open now, for metrics.
    pub fn open_circuits(&self) -> Vec<(String, String)> {
        let mut v: Vec<Endpoint> = self
            .circuits
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|(_, c)| c.reopens_at().is_some())
            .map(|(k, _)| k.clone())
            .collect();
        v.sort();
        v
    }

    /// One pass over the jobs due now.
    pub fn run_pass(&self) -> Result<DrainReport, OutboxError> {
        let now = self.outbox.now();
        let started = std::time::Instant::now();
        let due = self
            .outbox
            .track_read(self.outbox.store().due(now, BATCH))?;
        tracing::debug!(
            due = due.len(),
            read_us = started.elapsed().as_micros() as u64,
            "Outbox pass."
        );
        let mut by_receiver: BTreeMap<String, VecDeque<Job>> = BTreeMap::new();
        for j in due {
            by_receiver
                .entry(j.receiver.clone())
                .or_default()
                .push_back(j);
        }
        let report = Mutex::new(DrainReport::default());
        let acks = Acks::default();
        // Once the store fails, nothing more is sent: an answer we cannot
        // record would be a delivery we cannot prove.
        let store_failed: Mutex<Option<OutboxError>> = Mutex::new(None);
        std::thread::scope(|s| {
            for jobs in by_receiver.into_values() {
                let threads = self.cfg.concurrency.min(jobs.len()).max(1);
                let queue = Arc::new(Mutex::new(jobs));
                for _ in 0..threads {
                    let queue = queue.clone();
                    let (report, store_failed, acks) = (&report, &store_failed, &acks);
                    s.spawn(move || loop {
                        if store_failed
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .is_some()
                        {
                            return;
                        }
                        let Some(job) = queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front()
                        else {
                            return;
                        };
                        let res = self.handle(job).and_then(|o| match o {
                            Outcome::Delivered(a) => {
                                acks.pending
                                    .lock()
                                    .unwrap_or_else(|e| e.into_inner())
                                    .push(a);
                                self.commit_acks(acks, false, report).map(|_| None)
                            }
                            o => Ok(Some(o)),
                        });
                        match res {
                            Ok(None) => {}
                            Ok(Some(o)) => {
                                let mut r = report.lock().unwrap_or_else(|e| e.into_inner());
                                match o {
                                    Outcome::Delivered(_) => {}
                                    Outcome::Failed => r.failed_attempts += 1,
                                    Outcome::Dead => {
                                        r.failed_attempts += 1;
                                        r.dead_lettered += 1
                                    }
                                    Outcome::Held => r.held_by_circuit += 1,
                                }
                            }
                            Err(e) => {
                                store_failed
                                    .lock()
                                    .unwrap_or_else(|e| e.into_inner())
                                    .get_or_insert(e);
                                return;
                            }
                        }
                    });
                }
            }
        });
        // What no sender committed (accepted while another commit ran).
        let last = self.commit_acks(&acks, true, &report);
        if let Some(e) = store_failed.into_inner().unwrap_or_else(|e| e.into_inner()) {
            return Err(e);
        }
        last?;
        Ok(report.into_inner().unwrap_or_else(|e| e.into_inner()))
    }

    /// Removes every accepted job pending in `acks` from the store, in one
    /// transaction per round, until none is pending. Without `wait`, a
    /// sender that finds a commit running goes on sending: the committer
    /// or the end of the pass takes its ack.
    fn commit_acks(
        &self,
        acks: &Acks,
        wait: bool,
        report: &Mutex<DrainReport>,
    ) -> Result<(), OutboxError> {
        let _turn = if wait {
            acks.committing.lock().unwrap_or_else(|e| e.into_inner())
        } else {
            match acks.committing.try_lock() {
                Ok(g) => g,
                Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) => return Ok(()),
            }
        };
        loop {
            let batch =
                std::mem::take(&mut *acks.pending.lock().unwrap_or_else(|e| e.into_inner()));
            if batch.is_empty() {
                return Ok(());
            }
            let ids: Vec<i64> = batch.iter().map(|a| a.id).collect();
            // If this write fails the jobs stay queued and are sent again:
            // duplicates with the same dedup key, never a loss.
            self.outbox
                .track(self.outbox.store().delivered_many(&ids))?;
            for a in &batch {
                self.outbox
                    .metrics
                    .delivered(&a.receiver, &a.integration, a.latency_ms);
                tracing::debug!(receiver = %a.receiver, integration = %a.integration, id = a.id, "Notification delivered.");
            }
            report.lock().unwrap_or_else(|e| e.into_inner()).delivered += batch.len();
        }
    }

    fn circuit<T>(&self, ep: &Endpoint, f: impl FnOnce(&mut Circuit) -> T) -> T {
        let mut m = self.circuits.lock().unwrap_or_else(|e| e.into_inner());
        f(m.entry(ep.clone())
            .or_insert_with(|| Circuit::new(&self.cfg)))
    }

    fn handle(&self, job: Job) -> Result<Outcome, OutboxError> {
        let store = self.outbox.store();
        let ep: Endpoint = (job.receiver.clone(), job.integration.clone());
        let now = self.outbox.now();
        if self.circuit(&ep, |c| c.admit(now, 1)) == 0 {
            let reopen = self
                .circuit(&ep, |c| c.reopens_at())
                .unwrap_or(now + self.cfg.initial_backoff_ms);
            if now - job.enqueued_at >= self.cfg.max_age_ms {
                let err = format!(
                    "expired after {} attempts, circuit open; last error: {}",
                    job.attempts,
                    last(&job)
                );
                return self.dead(&job, job.attempts, job.last_status, &err, now);
            }
            // Not an attempt: the row waits for the circuit, budget intact.
            self.outbox.track(store.retry_later(
                job.id,
                job.attempts,
                reopen.max(now + 1),
                job.last_status,
                job.last_error.as_deref().unwrap_or(""),
            ))?;
            return Ok(Outcome::Held);
        }
        let result = self.sender.send(&job);
        let done = self.outbox.now();
        match result {
            Ok(()) => {
                self.circuit(&ep, |c| c.success(&self.cfg));
                Ok(Outcome::Delivered(Ack {
                    id: job.id,
                    latency_ms: done - job.enqueued_at,
                    receiver: job.receiver,
                    integration: job.integration,
                }))
            }
            Err(f) => self.failed(&job, &ep, f, done),
        }
    }

    fn failed(
        &self,
        job: &Job,
        ep: &Endpoint,
        f: SendFailure,
        now: i64,
    ) -> Result<Outcome, OutboxError> {
        let attempts = job.attempts + 1;
        self.outbox
            .metrics
            .failed_attempt(&job.receiver, &job.integration);
        if f.endpoint_unwell() {
            self.circuit(ep, |c| c.failure(&self.cfg, now));
        } else {
            self.circuit(ep, |c| c.release_probe(now));
        }
        let expires = job.enqueued_at + self.cfg.max_age_ms;
        let why = if !f.retryable {
            Some(format!("not retryable: {}", f.message))
        } else if attempts >= self.cfg.max_attempts {
            Some(format!("gave up after {attempts} attempts: {}", f.message))
        } else if now >= expires {
            Some(format!("expired after {attempts} attempts: {}", f.message))
        } else {
            None
        };
        if let Some(err) = why {
            self.dead(job, attempts, f.status, &err, now)?;
            return Ok(Outcome::Dead);
        }
        let seed = (job.id as u64)
            .wrapping_mul(31)
            .wrapping_add(attempts as u64);
        let delay = next_delay(
            &self.cfg,
            attempts,
            f.status,
            f.retry_after_ms,
            jitter(seed),
        );
        // The last try happens at the end of the age budget, not after it.
        let next = (now + delay).min(expires);
        tracing::warn!(
            receiver = %job.receiver, integration = %job.integration, id = job.id, attempts,
            status = ?f.status, retry_in_ms = next - now, error = %f.message,
            "Notify attempt failed, will retry."
        );
        self.outbox.track(
            self.outbox
                .store()
                .retry_later(job.id, attempts, next, f.status, &f.message),
        )?;
        Ok(Outcome::Failed)
    }

    fn dead(
        &self,
        job: &Job,
        attempts: u32,
        status: Option<u16>,
        err: &str,
        now: i64,
    ) -> Result<Outcome, OutboxError> {
        self.outbox
            .track(self.outbox.store().kill(job.id, attempts, status, err, now))?;
        self.outbox
            .metrics
            .dead_lettered(&job.receiver, &job.integration);
        tracing::error!(
            receiver = %job.receiver, integration = %job.integration, id = job.id, attempts, error = %err,
            "Notification moved to the dead-letter queue."
        );
        Ok(Outcome::Dead)
    }

    /// Passes until the queue is empty (or `stop` is set), sleeping until
    /// the next retry is due: timer mode and `dlq replay`.
    pub fn drain(&self, stop: &AtomicBool) -> Result<DrainReport, OutboxError> {
        let mut total = DrainReport::default();
        while !stop.load(Ordering::SeqCst) {
            total.add(self.run_pass()?);
            let Some(next) = self.outbox.track_read(self.outbox.store().next_due())? else {
                break;
            };
            let wait = next - self.outbox.now();
            if wait > 0 {
                std::thread::sleep(Duration::from_millis(wait as u64).min(POLL));
            }
        }
        Ok(total)
    }

    /// Service mode: passes until `stop` is set. A store error is logged
    /// and shows in readiness; the worker keeps trying.
    pub fn run(&self, stop: &AtomicBool) {
        while !stop.load(Ordering::SeqCst) {
            if let Err(e) = self.run_pass() {
                tracing::error!(error = %e, "Outbox pass failed; notifications stay queued.");
                std::thread::sleep(POLL);
                continue;
            }
            let wait = match self.outbox.store().next_due() {
                Ok(Some(t)) => {
                    Duration::from_millis((t - self.outbox.now()).max(0) as u64).min(POLL)
                }
                _ => POLL,
            };
            if !wait.is_zero() {
                self.outbox.wait_for_work(wait);
            }
        }
    }
}

fn last(job: &Job) -> &str {
    job.last_error.as_deref().unwrap_or("none")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Labels;
    use crate::routing::{Alert, Notification, NotifyReason};
    use std::sync::atomic::{AtomicI64, AtomicUsize};

    fn n(group: &str) -> Notification {
        Notification {
            at: 0,
            receiver: "team".into(),
            route_idx: 0,
            group_key: format!("{{}}:{{g=\"{group}\"}}"),
            group_labels: Labels::from_pairs([("g", group)]),
            firing: vec![Alert::firing(Labels::from_pairs([("g", group)]), 0)],
            resolved: vec![],
            reason: NotifyReason::FirstNotification,
        }
    }

    /// Answers with the scripted failures in order, then accepts.
    struct Script {
        answers: Mutex<VecDeque<Option<SendFailure>>>,
        calls: AtomicUsize,
    }

    impl Sender for Script {
        fn send(&self, _: &Job) -> Result<(), SendFailure> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            match self.answers.lock().unwrap().pop_front().flatten() {
                None => Ok(()),
                Some(f) => Err(f),
            }
        }
    }

    fn fail(status: u16, retry_after_ms: Option<i64>) -> Option<SendFailure> {
        Some(SendFailure {
            message: format!("unexpected status code {status}"),
            retryable: crate::notify::error::status_is_retryable(status),
            status: Some(status),
            retry_after_ms,
        })
    }

    struct Setup {
        _dir: tempfile::TempDir,
        clock: Arc<AtomicI64>,
        worker: Worker,
        script: Arc<Script>,
    }

    fn setup(answers: Vec<Option<SendFailure>>, cfg: OutboxConfig) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(AtomicI64::new(0));
        let c = clock.clone();
        let outbox = Arc::new(
            Outbox::open(
                &dir.path().join("outbox.db"),
                Arc::new(move || c.load(Ordering::SeqCst)),
            )
            .unwrap(),
        );
        let script = Arc::new(Script {
            answers: Mutex::new(answers.into()),
            calls: AtomicUsize::new(0),
        });
        let worker = Worker::new(outbox, script.clone(), cfg).unwrap();
        Setup {
            _dir: dir,
            clock,
            worker,
            script,
        }
    }

    fn cfg() -> OutboxConfig {
        OutboxConfig {
            max_attempts: 4,
            max_age_ms: 3_600_000,
            initial_backoff_ms: 1_000,
            max_backoff_ms: 60_000,
            concurrency: 1,
            circuit_failures: 100,
            circuit_open_ms: 10_000,
        }
    }

    fn hook(_: &str) -> Vec<String> {
        vec!["webhook_configs.0".into()]
    }

    #[test]
    fn retries_with_backoff_then_delivers() {
        let s = setup(vec![fail(503, None), fail(500, None)], cfg());
        let ob = s.worker.outbox().clone();
        ob.enqueue(&[n("a")], &hook).unwrap();
        assert_eq!(s.worker.run_pass().unwrap().failed_attempts, 1);
        let j = &ob.store().queued().unwrap()[0];
        // First retry between half and all of initial_backoff.
        assert!((500..=1_000).contains(&j.next_at), "{}", j.next_at);
        assert_eq!(j.last_error.as_deref(), Some("unexpected status code 503"));
        assert_eq!(
            s.worker.run_pass().unwrap(),
            DrainReport::default(),
            "not due yet"
        );
        s.clock.store(1_000, Ordering::SeqCst);
        s.worker.run_pass().unwrap();
        let j = &ob.store().queued().unwrap()[0];
        assert!(
            (2_000..=3_000).contains(&j.next_at),
            "second delay doubles: {}",
            j.next_at
        );
        s.clock.store(3_000, Ordering::SeqCst);
        assert_eq!(s.worker.run_pass().unwrap().delivered, 1);
        assert_eq!(ob.depth().unwrap().queued, 0);
        assert_eq!(ob.metrics.delivered_count("team", "webhook_configs.0"), 1);
        assert_eq!(ob.metrics.failed_count("team", "webhook_configs.0"), 2);
    }

    #[test]
    fn concurrent_deliveries_are_all_acknowledged() {
        let s = setup(
            vec![None; 5].into_iter().chain([fail(503, None)]).collect(),
            OutboxConfig {
                concurrency: 8,
                ..cfg()
            },
        );
        let ob = s.worker.outbox().clone();
        let ns: Vec<Notification> = (0..200).map(|i| n(&format!("g{i}"))).collect();
        ob.enqueue(&ns, &hook).unwrap();
        let r = s.worker.run_pass().unwrap();
        assert_eq!((r.delivered, r.failed_attempts), (199, 1));
        assert_eq!(s.script.calls.load(Ordering::SeqCst), 200);
        // Only the failed one is left, and every acceptance was counted.
        let left = ob.store().queued().unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].attempts, 1);
        assert_eq!(ob.metrics.delivered_count("team", "webhook_configs.0"), 199);
    }

    #[test]
    fn retry_after_is_honoured_and_4xx_goes_to_dlq_at_once() {
        let s = setup(vec![fail(429, Some(90_000)), fail(400, None)], cfg());
        let ob = s.worker.outbox().clone();
        ob.enqueue(&[n("a")], &hook).unwrap();
        s.worker.run_pass().unwrap();
        assert_eq!(ob.store().queued().unwrap()[0].next_at, 90_000);
        s.clock.store(90_000, Ordering::SeqCst);
        assert_eq!(s.worker.run_pass().unwrap().dead_lettered, 1);
        let d = &ob.store().dead().unwrap()[0];
        assert_eq!((d.attempts, d.last_status), (2, Some(400)));
        assert!(
            d.last_error
                .as_deref()
                .unwrap()
                .starts_with("not retryable"),
            "{d:?}"
        );
    }

    #[test]
    fn attempts_budget_ends_in_dlq() {
        let s = setup(vec![fail(503, None); 10], cfg());
        let ob = s.worker.outbox().clone();
        ob.enqueue(&[n("a")], &hook).unwrap();
        let stop = AtomicBool::new(false);
        // Drain sleeps in real time; move the manual clock from a thread
        // until the drain returns, however slow the machine is.
        let c = s.clock.clone();
        let done = std::sync::Arc::new(AtomicBool::new(false));
        let done2 = done.clone();
        let t = std::thread::spawn(move || {
            while !done2.load(Ordering::SeqCst) {
                c.fetch_add(1_000, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        let r = s.worker.drain(&stop);
        done.store(true, Ordering::SeqCst);
        t.join().unwrap();
        let r = r.unwrap();
        assert_eq!((r.failed_attempts, r.dead_lettered, r.delivered), (4, 1, 0));
        let d = &ob.store().dead().unwrap()[0];
        assert_eq!(d.attempts, 4);
        assert!(
            d.last_error
                .as_deref()
                .unwrap()
                .contains("gave up after 4 attempts"),
            "{d:?}"
        );
        assert_eq!(s.script.calls.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn circuit_stops_hammering_and_age_ends_in_dlq() {
        let cfg = OutboxConfig {
            circuit_failures: 2,
            max_attempts: 100,
            max_age_ms: 60_000,
            ..cfg()
        };
        let s = setup(vec![fail(503, None); 100], cfg);
        let ob = s.worker.outbox().clone();
        ob.enqueue(&[n("a"), n("b"), n("c"), n("d")], &hook)
            .unwrap();
        let r = s.worker.run_pass().unwrap();
        // Two failures open the circuit; the other two wait, untried.
        assert_eq!((r.failed_attempts, r.held_by_circuit), (2, 2));
        assert_eq!(
            s.worker.open_circuits(),
            vec![("team".to_string(), "webhook_configs.0".to_string())]
        );
        let held: Vec<_> = ob
            .store()
            .queued()
            .unwrap()
            .into_iter()
            .filter(|j| j.attempts == 0)
            .collect();
        assert!(held.iter().all(|j| j.next_at == 10_000), "{held:?}");
        // After the open time one probe goes out per pass.
        s.clock.store(10_000, Ordering::SeqCst);
        let before = s.script.calls.load(Ordering::SeqCst);
        s.worker.run_pass().unwrap();
        assert_eq!(
            s.script.calls.load(Ordering::SeqCst) - before,
            1,
            "one probe"
        );
        // Past max_age everything lands in the DLQ, tried or not.
        s.clock.store(61_000, Ordering::SeqCst);
        for _ in 0..4 {
            s.worker.run_pass().unwrap();
            s.clock.fetch_add(60_000, Ordering::SeqCst);
        }
        assert_eq!(ob.depth().unwrap().queued, 0);
        assert_eq!(ob.depth().unwrap().dead, 4);
    }
}
