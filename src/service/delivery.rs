//! The service's side of the durable outbox (`crate::outbox`): every
//! notification the dispatcher flushes is written to `state_dir/outbox.db`
//! before anything is sent, and one worker thread delivers from there.
//!
//! A notification the store did not take (disk full, unwritable state
//! dir) is held in memory and offered again every few seconds; while any
//! is held, or the store is failing, the service is not ready and says
//! why. Nothing held counts as sent. A store that cannot be opened at
//! start is opened again until it works (the caller then restores the
//! notification log into the dispatcher).
//!
//! Without a `state_dir` the store lives in a temporary directory removed
//! at exit: the same code path, but nothing survives a restart.

use crate::outbox::{DrainReport, Job};
use crate::outbox::{
    NotifierSender, Outbox, OutboxConfig, OutboxError, SendFailure, Sender, Worker,
};
use crate::routing::{Notification, RoutingConfig};
use anyhow::{Context, Result};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// How often a failed enqueue is tried again (and logged), at most.
const RETRY_HELD: Duration = Duration::from_secs(2);
/// Notifications held while the store fails; beyond this the oldest are
/// dropped, loudly (memory is not a queue; the disk is).
const MAX_HELD: usize = 100_000;

/// The notifiers of the current config, swapped whole on reload. Sending
/// clones the inner `Arc`, so a reload never waits for a slow receiver.
pub struct LiveSender {
    inner: RwLock<Arc<NotifierSender>>,
}

impl LiveSender {
    /// Builds the notifiers of `routing`. Blocking (HTTP clients): call it
    /// off the async threads.
    pub fn build(routing: Option<&RoutingConfig>, external_url: &str) -> Result<NotifierSender> {
        let notifiers = match routing {
            Some(r) => crate::notify::build_receivers(r).context("cannot build receivers")?,
            None => Default::default(),
        };
        Ok(NotifierSender {
            notifiers,
            external_url: external_url.to_string(),
        })
    }

    fn current(&self) -> Arc<NotifierSender> {
        self.inner.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The integration names of `receiver` (`webhook_configs.0`, ...).
    pub fn integrations(&self, receiver: &str) -> Vec<String> {
        // Read under the lock: no clone of the Arc is dropped here, so the
        // blocking clients are never dropped on an async thread.
        self.inner
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .integrations(receiver)
    }
}

impl Sender for LiveSender {
    fn send(&self, job: &Job) -> Result<(), SendFailure> {
        self.current().send(job)
    }
}

impl Drop for LiveSender {
    fn drop(&mut self) {
        // Blocking HTTP clients must not be dropped on an async thread, and
        // this value may be dropped there at exit: leak them instead.
        let empty = Arc::new(NotifierSender {
            notifiers: Default::default(),
            external_url: String::new(),
        });
        let old = std::mem::replace(
            self.inner.get_mut().unwrap_or_else(|e| e.into_inner()),
            empty,
        );
        std::mem::forget(old);
    }
}

#[derive(Default)]
struct Held {
    items: VecDeque<Notification>,
    last_try: Option<Instant>,
    dropped: u64,
}

pub struct Delivery {
    path: PathBuf,
    /// The directory to remove at exit when there is no `state_dir`.
    temp_dir: Option<PathBuf>,
    outbox: RwLock<Option<Arc<Outbox>>>,
    /// Why the store could not be opened, while it cannot.
    open_error: Mutex<Option<String>>,
    pub sender: Arc<LiveSender>,
    cfg: Mutex<OutboxConfig>,
    held: Mutex<Held>,
    worker: Mutex<Option<Arc<Worker>>>,
    stop: AtomicBool,
    /// Stops the current worker so the thread builds a new one (reload).
    generation: Mutex<Arc<AtomicBool>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    now: fn() -> i64,
}

/// The right to submit next (see [`Delivery::queue`]).
pub struct SubmitQueue<'a>(std::sync::MutexGuard<'a, Held>);

/// What a bounded drain (`--once`, shutdown) left behind.
#[derive(Debug, Default, Clone, Copy)]
pub struct Leftover {
    pub report: DrainReport,
    /// Still queued when the time was up (delivered at the next start).
    pub queued: usize,
    /// Not even written to the store.
    pub held: usize,
}

impl Delivery {
    /// Opens the store in `state_dir` (or a temporary one) and builds the
    /// notifiers. Blocking. A store that cannot be opened is reported on
    /// stderr and retried later by [`Delivery::try_open`]; a bad receiver
    /// config is an error.
    pub fn new(
        state_dir: Option<&Path>,
        routing: Option<&RoutingConfig>,
        external_url: &str,
        cfg: OutboxConfig,
        now: fn() -> i64,
    ) -> Result<Delivery> {
        let (path, temp_dir) = match state_dir {
            Some(d) => (Outbox::path_in(d), None),
            None => {
                let d = std::env::temp_dir().join(format!("alertgate-{}", std::process::id()));
                // A directory of an earlier process with the same pid.
                let _ = std::fs::remove_dir_all(&d);
                tracing::warn!(
                    "No state_dir: queued notifications are lost when the process stops."
                );
                (Outbox::path_in(&d), Some(d))
            }
        };
        let sender = LiveSender::build(routing, external_url)?;
        let d = Delivery {
            path,
            temp_dir,
            outbox: RwLock::new(None),
            open_error: Mutex::new(None),
            sender: Arc::new(LiveSender {
                inner: RwLock::new(Arc::new(sender)),
            }),
            cfg: Mutex::new(cfg),
            held: Mutex::new(Held::default()),
            worker: Mutex::new(None),
            stop: AtomicBool::new(false),
            generation: Mutex::new(Arc::new(AtomicBool::new(false))),
            thread: Mutex::new(None),
            now,
        };
        d.try_open();
        Ok(d)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The store, once it is open.
    pub fn outbox(&self) -> Option<Arc<Outbox>> {
        self.outbox
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Opens the store if it is not open yet; returns it when this call
    /// opened it (the caller restores the notification log). Blocking.
    pub fn try_open(&self) -> Option<Arc<Outbox>> {
        if self.outbox().is_some() {
            return None;
        }
        let now = self.now;
        match Outbox::open(&self.path, Arc::new(now)) {
            Ok(o) => {
                let o = Arc::new(o);
                *self.outbox.write().unwrap_or_else(|e| e.into_inner()) = Some(o.clone());
                if self
                    .open_error
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take()
                    .is_some()
                {
                    tracing::info!(path = %self.path.display(), "Outbox store is writable again.");
                }
                Some(o)
            }
            Err(e) => {
                let msg = e.to_string();
                let mut last = self.open_error.lock().unwrap_or_else(|e| e.into_inner());
                if last.as_deref() != Some(msg.as_str()) {
                    // Once per distinct problem: stderr is the operator's.
                    tracing::error!(error = %msg, "Cannot open the outbox store; notifications are held, not sent.");
                    eprintln!("alertgate: error: {msg}; notifications are held, not sent");
                }
                *last = Some(msg);
                None
            }
        }
    }

    /// Hands flushed notifications to the store, after any held earlier
    /// (order kept). Returns true when everything is on disk; otherwise
    /// the rest is held and offered again within [`RETRY_HELD`].
    pub fn submit(&self, ns: Vec<Notification>) -> bool {
        self.submit_in(self.queue(), ns)
    }

    /// Takes the store's queue: submissions made through it reach the
    /// store in the order the queue was taken.
    pub fn queue(&self) -> SubmitQueue<'_> {
        SubmitQueue(self.held.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// [`Delivery::submit`] through a queue taken earlier.
    pub fn submit_in(&self, q: SubmitQueue<'_>, ns: Vec<Notification>) -> bool {
        let mut held = q.0;
        if ns.is_empty() && held.items.is_empty() {
            return true;
        }
        let waiting = !held.items.is_empty();
        held.items.extend(ns);
        if waiting && held.last_try.is_some_and(|t| t.elapsed() < RETRY_HELD) {
            return self.cap(&mut held);
        }
        held.last_try = Some(Instant::now());
        let Some(ob) = self.outbox() else {
            return self.cap(&mut held);
        };
        let batch: Vec<Notification> = held.items.iter().cloned().collect();
        match ob.enqueue(&batch, &|r| self.sender.integrations(r)) {
            Ok(_) => {
                if waiting {
                    tracing::info!(
                        notifications = batch.len(),
                        "Held notifications are queued now."
                    );
                }
                held.items.clear();
                true
            }
            Err(e) => {
                if !waiting {
                    eprintln!("alertgate: error: {e}; notifications are held, not sent");
                }
                self.cap(&mut held)
            }
        }
    }

    fn cap(&self, held: &mut Held) -> bool {
        while held.items.len() > MAX_HELD {
            held.items.pop_front();
            held.dropped += 1;
        }
        if held.dropped > 0 {
            tracing::error!(
                dropped = held.dropped,
                "Outbox store failing for long; oldest held notifications dropped."
            );
            held.dropped = 0;
        }
        false
    }

    /// Notifications the store has not taken yet.
    pub fn held(&self) -> usize {
        self.held
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .items
            .len()
    }

    /// Writes a heartbeat, so a store that fails while idle shows up.
    pub fn probe(&self) {
        if let Some(ob) = self.outbox() {
            if let Err(e) = ob.probe() {
                tracing::warn!(error = %e, "Outbox store probe failed.");
            }
        }
    }

    /// `Err(reason)` while the store cannot be opened or written, or
    /// notifications wait in memory.
    pub fn readiness(&self) -> Result<(), String> {
        if let Some(e) = self
            .open_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
        {
            return Err(format!("outbox: {e}"));
        }
        if let Some(ob) = self.outbox() {
            if let Err(u) = ob.readiness() {
                return Err(format!("outbox: {}: {}", u.problem, u.detail));
            }
        }
        match self.held() {
            0 => Ok(()),
            n => Err(format!(
                "outbox: {n} notification(s) not yet written to the store"
            )),
        }
    }

    /// Swaps in the notifiers of a new config and restarts the worker with
    /// a new `notify.outbox`. Blocking: the old notifiers may be dropped here.
    pub fn reconfigure(&self, sender: NotifierSender, cfg: OutboxConfig) {
        let old = std::mem::replace(
            &mut *self.sender.inner.write().unwrap_or_else(|e| e.into_inner()),
            Arc::new(sender),
        );
        drop(old);
        let mut c = self.cfg.lock().unwrap_or_else(|e| e.into_inner());
        if *c != cfg {
            *c = cfg;
            self.generation
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .store(true, Ordering::SeqCst);
            if let Some(ob) = self.outbox() {
                ob.notify_work();
            }
        }
    }

    /// Starts the worker thread (service mode).
    pub fn start_worker(self: &Arc<Self>) {
        let me = self.clone();
        let t = std::thread::Builder::new()
            .name("outbox-worker".into())
            .spawn(move || me.worker_loop())
            .expect("spawn the outbox worker");
        *self.thread.lock().unwrap_or_else(|e| e.into_inner()) = Some(t);
    }

    fn worker_loop(&self) {
        let mut last_err: Option<String> = None;
        while !self.stop.load(Ordering::SeqCst) {
            let Some(ob) = self.outbox() else {
                std::thread::sleep(Duration::from_millis(200));
                continue;
            };
            let generation = Arc::new(AtomicBool::new(false));
            *self.generation.lock().unwrap_or_else(|e| e.into_inner()) = generation.clone();
            if self.stop.load(Ordering::SeqCst) {
                break;
            }
            let cfg = self.cfg.lock().unwrap_or_else(|e| e.into_inner()).clone();
            match Worker::new(ob, self.sender.clone(), cfg) {
                Ok(w) => {
                    last_err = None;
                    let w = Arc::new(w);
                    *self.worker.lock().unwrap_or_else(|e| e.into_inner()) = Some(w.clone());
                    w.run(&generation);
                    *self.worker.lock().unwrap_or_else(|e| e.into_inner()) = None;
                }
                Err(e) => {
                    let msg = e.to_string();
                    if last_err.as_deref() != Some(msg.as_str()) {
                        // `alertgate dlq replay` or `outbox drain` delivering:
                        // this worker takes over when they are done.
                        tracing::warn!(error = %msg, "Outbox worker waits.");
                    }
                    last_err = Some(msg);
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        }
    }

    /// Endpoints whose circuit is open, for metrics.
    pub fn open_circuits(&self) -> Vec<(String, String)> {
        self.worker
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|w| w.open_circuits())
            .unwrap_or_default()
    }

    /// Service shutdown: gives the worker up to `drain` to send what is due
    /// now, then stops it and waits up to `join` for requests in flight.
    /// What is left stays in the store for the next start. Blocking.
    pub fn shutdown(&self, drain: Duration, join: Duration) -> Leftover {
        let deadline = Instant::now() + drain;
        let ob = self.outbox();
        if let Some(ob) = &ob {
            while Instant::now() < deadline
                && ob
                    .store()
                    .next_due()
                    .ok()
                    .flatten()
                    .is_some_and(|t| t <= ob.now())
            {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        self.stop.store(true, Ordering::SeqCst);
        self.generation
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .store(true, Ordering::SeqCst);
        if let Some(ob) = &ob {
            ob.notify_work();
        }
        let t = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(t) = t {
            let until = Instant::now() + join;
            while !t.is_finished() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(10));
            }
            if t.is_finished() {
                let _ = t.join();
            } else {
                tracing::warn!("Outbox worker still sending at exit; those notifications are sent again at the next start.");
            }
        }
        self.leftover(DrainReport::default())
    }

    /// Timer mode: delivers what is queued, retrying as configured, for at
    /// most `bound`. Blocking.
    pub fn drain(&self, bound: Duration) -> Result<Leftover, OutboxError> {
        let Some(ob) = self.outbox() else {
            return Ok(self.leftover(DrainReport::default()));
        };
        let cfg = self.cfg.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let worker = Worker::new(ob, self.sender.clone(), cfg)?;
        let stop = Arc::new(AtomicBool::new(false));
        let (s2, done) = (stop.clone(), Arc::new(AtomicBool::new(false)));
        let d2 = done.clone();
        let timer = std::thread::spawn(move || {
            let until = Instant::now() + bound;
            while Instant::now() < until && !d2.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(20));
            }
            s2.store(true, Ordering::SeqCst);
        });
        let r = worker.drain(&stop);
        done.store(true, Ordering::SeqCst);
        let _ = timer.join();
        Ok(self.leftover(r?))
    }

    fn leftover(&self, report: DrainReport) -> Leftover {
        Leftover {
            report,
            queued: self
                .outbox()
                .and_then(|o| o.depth().ok())
                .map_or(0, |d| d.queued),
            held: self.held(),
        }
    }

    /// Forgets notification-log entries older than `before`.
    pub fn gc_log(&self, before: i64) {
        if let Some(ob) = self.outbox() {
            match ob.gc_log(before) {
                Ok(n) if n > 0 => tracing::debug!(entries = n, "Notification log pruned."),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "Cannot prune the notification log."),
            }
        }
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        if let Some(d) = &self.temp_dir {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Labels;
    use crate::routing::{Alert, NotifyReason};

    fn n(g: &str) -> Notification {
        Notification {
            at: 1_000,
            receiver: "team".into(),
            route_idx: 0,
            group_key: format!("{{}}:{{g=\"{g}\"}}"),
            group_labels: Labels::from_pairs([("g", g)]),
            firing: vec![Alert::firing(Labels::from_pairs([("g", g)]), 0)],
            resolved: vec![],
            reason: NotifyReason::FirstNotification,
        }
    }

    fn routing() -> RoutingConfig {
        crate::routing::parse_str(
            "route: {receiver: team}\nreceivers:\n- name: team\n  webhook_configs: [{url: 'http://127.0.0.1:9/'}]\n",
            "alertgate.yml",
        )
        .unwrap()
    }

    fn now() -> i64 {
        1_000
    }

    #[test]
    fn unwritable_store_holds_notifications_until_it_opens() {
        let d = tempfile::tempdir().unwrap();
        // A file where the state directory should be: nothing can be created.
        let blocked = d.path().join("state");
        std::fs::write(&blocked, b"").unwrap();
        let r = routing();
        let dl = Delivery::new(Some(&blocked), Some(&r), "", OutboxConfig::default(), now).unwrap();
        assert!(dl.outbox().is_none());
        assert!(!dl.submit(vec![n("a")]));
        assert_eq!(dl.held(), 1);
        let why = dl.readiness().unwrap_err();
        assert!(why.starts_with("outbox: outbox store"), "{why}");

        std::fs::remove_file(&blocked).unwrap();
        assert!(dl.try_open().is_some());
        assert!(dl.readiness().is_err(), "still holding one");
        // Within RETRY_HELD a new submission only queues behind the held one.
        assert!(!dl.submit(vec![n("b")]));
        dl.held.lock().unwrap().last_try = None;
        assert!(dl.submit(vec![]));
        assert_eq!(dl.held(), 0);
        assert!(dl.readiness().is_ok());
        let q = dl.outbox().unwrap().store().queued().unwrap();
        let groups: Vec<&str> = q.iter().map(|j| j.group_key.as_str()).collect();
        assert_eq!(groups, ["{}:{g=\"a\"}", "{}:{g=\"b\"}"], "order kept");
        assert!(q.iter().all(|j| j.integration == "webhook_configs.0"));
    }
}
