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
            // The notify layer does not report `Retry-After` yet; a 429
            // without it still waits `MIN_BACKOFF_ON_429_MS`.
            retry_after_ms: None,
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
