//! Delivery of routed notifications through the notifiers of
//! `crate::notify`, behind one small [`Deliver`] seam so tests and
//! embedders can plug in their own.

use super::runtime::Loaded;
use crate::notify::pipeline::deliver as send_one;
use crate::notify::{build_receivers, Notifiers, NotifyCtx};
use crate::routing::Notification;
use std::sync::Mutex;

/// Why a delivery failed, and whether trying again may help.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliverError {
    /// Short, without payloads or secrets.
    pub message: String,
    pub retryable: bool,
}

/// Sends one notification to its receiver.
///
/// Called by the outbox worker from a blocking thread (never from async
/// code: notifiers use blocking HTTP clients), once per attempt, with the
/// config current at that moment; it may block for about the integrations'
/// timeouts. On a retryable error the outbox tries again later and finally
/// moves the notification to the dead-letter queue; a non-retryable one
/// goes there at once.
pub trait Deliver: Send + Sync {
    fn deliver(&self, n: &Notification, loaded: &Loaded) -> Result<(), DeliverError>;
}

/// Sends through every integration of the receiver (each trimmed for its
/// `send_resolved`); fails if any integration failed. The notifiers are
/// built on the delivery thread and rebuilt when the routing config changes.
#[derive(Default)]
pub struct NotifyDeliver {
    cache: Mutex<Option<(String, Notifiers)>>,
}

impl Deliver for NotifyDeliver {
    fn deliver(&self, n: &Notification, loaded: &Loaded) -> Result<(), DeliverError> {
        let Some(routing) = &loaded.config.routing else {
            return Ok(());
        };
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache
            .as_ref()
            .is_none_or(|(fp, _)| *fp != loaded.routing_fp)
        {
            let built = build_receivers(routing).map_err(|e| DeliverError {
                message: e.to_string(),
                retryable: false,
            })?;
            *cache = Some((loaded.routing_fp.clone(), built));
        }
        let notifiers = &cache.as_ref().expect("just built").1;
        let ctx = NotifyCtx::from_notification(n, &loaded.config.external_url);
        let mut errors = Vec::new();
        let mut retryable = false;
        for b in notifiers.get(&n.receiver) {
            if let Some(Err(e)) = send_one(&*b.notifier, &ctx) {
                retryable |= e.is_retryable();
                errors.push(format!("{}: {e}", b.name));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(DeliverError {
                message: errors.join("; "),
                retryable,
            })
        }
    }
}

impl Drop for NotifyDeliver {
    fn drop(&mut self) {
        // Blocking HTTP clients must not be dropped on an async thread, and
        // this value may be dropped there at exit: leak them instead.
        if let Some(c) = self.cache.get_mut().ok().and_then(Option::take) {
            std::mem::forget(c);
        }
    }
}
