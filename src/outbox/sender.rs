//! The seam between the worker and the notifiers: send one queued job to
//! its integration. [`NotifierSender`] uses the receivers built by
//! `crate::notify`; tests plug in their own.

use super::store::Job;
use crate::notify::pipeline::deliver;
use crate::notify::{Notifiers, NotifyCtx, NotifyError};

/// Why a send failed, with what the retry logic needs.
#[derive(Debug, Clone, PartialEq)]
pub struct SendFailure {
    /// Short text without payload, URL or secret (`NotifyError`'s).
    pub message: String,
    /// False when trying again cannot help (a 4xx, a template error).
    pub retryable: bool,
    pub status: Option<u16>,
    /// The server's `Retry-After`, in milliseconds.
    pub retry_after_ms: Option<i64>,
}

impl SendFailure {
    pub fn from_notify(e: &NotifyError) -> SendFailure {
        SendFailure {
            message: e.to_string(),
            retryable: e.is_retryable(),
            status: e.status_code(),
            // A 429 without `Retry-After` still waits `MIN_BACKOFF_ON_429_MS`.
            retry_after_ms: e.retry_after_ms(),
        }
    }

    /// Whether the failure says the endpoint is unwell (counts for its
    /// circuit): transport errors, timeouts, 5xx and 429, not a 4xx about
    /// this one message.
    pub fn endpoint_unwell(&self) -> bool {
        self.retryable
    }
}

/// Sends one job. Called from worker threads, at most `concurrency` at a
/// time per receiver; blocks for about the integration's timeout at most.
/// `Ok` means the receiver accepted the message (or the integration does
/// not want it, e.g. resolved-only for one without `send_resolved`).
pub trait Sender: Send + Sync {
    fn send(&self, job: &Job) -> Result<(), SendFailure>;
}

/// Sends through the notifiers of the current routing config.
pub struct NotifierSender {
    pub notifiers: Notifiers,
    pub external_url: String,
}

impl NotifierSender {
    /// The integration names of `receiver`, for enqueueing.
    pub fn integrations(&self, receiver: &str) -> Vec<String> {
        self.notifiers
            .get(receiver)
            .iter()
            .map(|b| b.name.clone())
            .collect()
    }
}

impl Sender for NotifierSender {
    fn send(&self, job: &Job) -> Result<(), SendFailure> {
        let Some(b) = self
            .notifiers
            .get(&job.receiver)
            .iter()
            .find(|b| b.name == job.integration)
        else {
            // Kept, not dropped: a reload removed the integration, an
            // operator decides in the DLQ.
            return Err(SendFailure {
                message: format!(
                    "receiver {:?} has no {} any more",
                    job.receiver, job.integration
                ),
                retryable: false,
                status: None,
                retry_after_ms: None,
            });
        };
        // The notification's own time, so payload, trace id and dedup key
        // are the same on every attempt.
        let ctx = NotifyCtx::from_notification(&job.notification, &self.external_url);
        match deliver(b.notifier.as_ref(), &ctx) {
            None | Some(Ok(_)) => Ok(()),
            Some(Err(e)) => Err(SendFailure::from_notify(&e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Labels;
    use crate::outbox::{Outbox, OutboxConfig, Worker};
    use crate::routing::{Alert, Notification, NotifyReason};
    use std::io::{BufRead, BufReader, Read, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// A local receiver answering every request `429` with `Retry-After: 7`.
    fn too_many_requests() -> (u16, Arc<AtomicUsize>) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        std::thread::spawn(move || {
            for conn in l.incoming() {
                let Ok(conn) = conn else { continue };
                let mut w = conn.try_clone().unwrap();
                let mut r = BufReader::new(conn);
                let mut len = 0;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = line.split_once(':') {
                        if k.eq_ignore_ascii_case("content-length") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                    }
                }
                let mut body = vec![0; len];
                let _ = r.read_exact(&mut body);
                h.fetch_add(1, Ordering::SeqCst);
                let _ = w.write_all(
                    b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
        (port, hits)
    }

    #[test]
    fn a_429_with_retry_after_from_a_real_receiver_sets_the_next_attempt() {
        let (port, hits) = too_many_requests();
        let routing = crate::routing::parse_str(
            &format!("route: {{receiver: team}}\nreceivers:\n- name: team\n  webhook_configs: [{{url: 'http://127.0.0.1:{port}/'}}]\n"),
            "alertgate.yml",
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let outbox =
            Arc::new(Outbox::open(&dir.path().join("outbox.db"), Arc::new(|| 1_000)).unwrap());
        let sender = NotifierSender {
            notifiers: crate::notify::build_receivers(&routing).unwrap(),
            external_url: String::new(),
        };
        let n = Notification {
            at: 1_000,
            receiver: "team".into(),
            route_idx: 0,
            group_key: "{}:{}".into(),
            group_labels: Labels::new(),
            firing: vec![Alert::firing(Labels::from_pairs([("alertname", "A")]), 0)],
            resolved: vec![],
            reason: NotifyReason::FirstNotification,
        };
        outbox.enqueue(&[n], &|r| sender.integrations(r)).unwrap();
        let cfg = OutboxConfig {
            initial_backoff_ms: 10,
            max_backoff_ms: 20,
            ..Default::default()
        };
        let w = Worker::new(outbox.clone(), Arc::new(sender), cfg).unwrap();
        assert_eq!(w.run_pass().unwrap().failed_attempts, 1);
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        let j = &outbox.store().queued().unwrap()[0];
        // The server's 7 s, not the configured 10-20 ms backoff.
        assert_eq!((j.last_status, j.next_at), (Some(429), 8_000));
        // Not due before then: nothing more is sent.
        assert_eq!(w.run_pass().unwrap().failed_attempts, 0);
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }
}
