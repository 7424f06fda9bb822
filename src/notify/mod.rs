//! Notifiers: turn a routed [`Notification`](crate::routing::Notification)
//! into Slack, email, PagerDuty, webhook and Alertmanager deliveries.
//!
//! Every notifier implements one [`Notifier`] trait and has the same shape,
//! `notify/<name>/{mod.rs, config.rs, payload.rs, tests.rs}`; they all pass
//! the shared suite in `suite.rs`. Pipeline data travels in a typed
//! [`NotifyCtx`]; message texts come from handlebars templates (`templates/`).
//! Sends are blocking and bounded by a timeout; the service calls them from
//! `spawn_blocking`. Nothing of a payload or a secret is logged.

pub mod alertmanager;
pub mod build;
pub mod ctx;
pub mod email;
pub mod error;
pub mod file;
pub mod http;
pub mod notifier;
pub mod pagerduty;
pub mod pipeline;
pub mod severity;
pub mod slack;
pub mod stdout;
pub mod template;
pub mod webhook;

#[cfg(test)]
mod suite;

pub use build::{build_receivers, BuildError, Notifiers};
pub use ctx::NotifyCtx;
pub use error::NotifyError;
pub use notifier::{Delivery, Notifier, Rendered};
pub use pipeline::{AlertFeed, Attempt, Pipeline};
