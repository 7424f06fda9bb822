//! The one seam every delivery target implements.

use super::ctx::NotifyCtx;
use super::error::NotifyError;

/// Exactly what a send would put on the wire, with secrets replaced by
/// `<secret>` (`alertgate template render` prints it).
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// `POST <url>` or `SMTP <host:port>`; a secret URL prints as `<secret>`.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// A successful send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    /// The HTTP status or SMTP reply code of the accepting answer.
    pub status: Option<u16>,
}

/// A configured delivery target: one entry of a receiver's `*_configs`.
///
/// Contract: the pipeline calls [`Notifier::notify`] once per notification
/// with the context already trimmed for [`Notifier::send_resolved`] (never
/// with resolved alerts when it is false, never with nothing firing and
/// nothing resolved). `notify` blocks for at most about
/// [`Notifier::timeout_ms`]; an `Err` means the message was not accepted,
/// and [`NotifyError::is_retryable`] says whether the same call may succeed
/// later. `render` does no I/O besides reading no secrets: it shows the
/// payload `notify` would send. Implementations must not log payloads or
/// secrets, and their errors must not contain them.
pub trait Notifier: Send + Sync {
    /// `slack`, `email`, `pagerduty`, `webhook` or `alertmanager`.
    fn kind(&self) -> &'static str;
    fn send_resolved(&self) -> bool;
    fn timeout_ms(&self) -> i64;
    /// What would be sent for `ctx`, one entry per request.
    fn render(&self, ctx: &NotifyCtx) -> Result<Vec<Rendered>, NotifyError>;
    /// Sends `ctx`.
    fn notify(&self, ctx: &NotifyCtx) -> Result<Delivery, NotifyError>;
}
