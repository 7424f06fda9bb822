//! From rule evaluations to deliveries: [`AlertFeed`] turns each
//! evaluation's firing alerts into routing alerts (and the ones that
//! stopped firing into resolved ones), the [`Dispatcher`] groups them on
//! the caller's clock, and every notification goes to the receiver's
//! notifiers. Each send yields an [`Attempt`] (status code, error,
//! retryable) for the notification log; no payload is logged.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::build::Notifiers;
use super::ctx::NotifyCtx;
use super::error::NotifyError;
use super::notifier::{Delivery, Notifier};
use crate::alerting::AlertState;
use crate::model::{Labels, Timestamp};
use crate::routing::{Alert, Dispatcher, Notification, RoutingConfig};

/// The outcome of one send to one integration.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub at: Timestamp,
    pub receiver: String,
    /// `slack_configs.0`
    pub integration: String,
    pub kind: &'static str,
    pub group_key: String,
    pub firing: usize,
    pub resolved: usize,
    /// HTTP status or SMTP reply code, when there was an answer.
    pub status: Option<u16>,
    /// The error text (never a payload or secret); None on success.
    pub error: Option<String>,
    pub retryable: bool,
}

impl Attempt {
    pub fn ok(&self) -> bool {
        self.error.is_none()
    }
}

/// Sends `ctx` through `n` unless it only holds resolved alerts the
/// notifier does not want; None when skipped.
pub fn deliver(n: &dyn Notifier, ctx: &NotifyCtx) -> Option<Result<Delivery, NotifyError>> {
    let ctx = ctx.for_send_resolved(n.send_resolved())?;
    if ctx.alert_count() == 0 {
        return None;
    }
    Some(n.notify(&ctx))
}

/// Remembers what was sent as firing, so an alert missing from a later
/// evaluation is sent as resolved (a replay of new data starts from empty
/// state and cannot say so itself).
#[derive(Debug, Clone, Default)]
pub struct AlertFeed {
    firing: BTreeMap<Labels, Alert>,
}

impl AlertFeed {
    /// The routing alerts for one evaluation at `now`: every firing alert
    /// (pending ones wait), and every previously firing one that is gone,
    /// resolved at `now`.
    pub fn update<'a>(
        &mut self,
        alerts: impl IntoIterator<Item = &'a crate::alerting::Alert>,
        generator_url: &str,
        now: Timestamp,
    ) -> Vec<Alert> {
        let mut next = BTreeMap::new();
        for a in alerts.into_iter().filter(|a| a.state == AlertState::Firing) {
            let r = Alert {
                labels: a.labels.clone(),
                annotations: a.annotations.clone(),
                starts_at: a.active_at,
                ends_at: None,
                generator_url: generator_url.to_string(),
            };
            next.insert(r.labels.clone(), r);
        }
        let mut out: Vec<Alert> = next.values().cloned().collect();
        for (l, mut a) in std::mem::take(&mut self.firing) {
            if !next.contains_key(&l) {
                a.ends_at = Some(now);
                out.push(a);
            }
        }
        self.firing = next;
        out
    }
}

pub struct Pipeline {
    dispatcher: Dispatcher,
    notifiers: Notifiers,
    external_url: String,
    feed: AlertFeed,
}

impl Pipeline {
    pub fn new(config: Arc<RoutingConfig>, notifiers: Notifiers, external_url: &str) -> Self {
        Pipeline {
            dispatcher: Dispatcher::new(config),
            notifiers,
            external_url: external_url.to_string(),
            feed: AlertFeed::default(),
        }
    }

    pub fn dispatcher(&self) -> &Dispatcher {
        &self.dispatcher
    }

    /// Feeds one evaluation's alerts (e.g. `ReplayReport.alerts`) at `now`.
    pub fn evaluate<'a>(
        &mut self,
        alerts: impl IntoIterator<Item = &'a crate::alerting::Alert>,
        generator_url: &str,
        now: Timestamp,
    ) -> Vec<Attempt> {
        let routed = self.feed.update(alerts, generator_url, now);
        self.push(routed, now)
    }

    /// Pushes routing alerts and sends whatever is due at `now`.
    pub fn push(&mut self, alerts: Vec<Alert>, now: Timestamp) -> Vec<Attempt> {
        let mut out = Vec::new();
        for a in alerts {
            for n in self.dispatcher.push(a, now) {
                out.extend(self.deliver(&n));
            }
        }
        out
    }

    /// Flushes the groups due at `now` and sends their notifications.
    pub fn tick(&mut self, now: Timestamp) -> Vec<Attempt> {
        let ns = self.dispatcher.tick(now);
        ns.iter().flat_map(|n| self.deliver(n)).collect()
    }

    /// Ticks at every due time up to and including `until`.
    pub fn run_until(&mut self, until: Timestamp) -> Vec<Attempt> {
        let mut out = Vec::new();
        while let Some(t) = self.dispatcher.next_due().filter(|t| *t <= until) {
            out.extend(self.tick(t));
        }
        out
    }

    /// Sends one notification to every integration of its receiver.
    pub fn deliver(&self, n: &Notification) -> Vec<Attempt> {
        let ctx = NotifyCtx::from_notification(n, &self.external_url);
        let mut out = Vec::new();
        for b in self.notifiers.get(&n.receiver) {
            let Some(result) = deliver(b.notifier.as_ref(), &ctx) else {
                continue;
            };
            let (status, error, retryable) = match &result {
                Ok(d) => (d.status, None, false),
                Err(e) => (e.status_code(), Some(e.to_string()), e.is_retryable()),
            };
            match &error {
                None => {
                    tracing::info!(receiver = %n.receiver, integration = %b.name, status = ?status, "Notification sent.")
                }
                Some(e) => {
                    tracing::warn!(receiver = %n.receiver, integration = %b.name, status = ?status, retryable, error = %e, "Notification failed.")
                }
            }
            out.push(Attempt {
                at: n.at,
                receiver: n.receiver.clone(),
                integration: b.name.clone(),
                kind: b.notifier.kind(),
                group_key: n.group_key.clone(),
                firing: ctx.firing.len(),
                resolved: if b.notifier.send_resolved() {
                    ctx.resolved.len()
                } else {
                    0
                },
                status,
                error,
                retryable,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::Alert as RuleAlert;

    fn rule_alert(name: &str, state: AlertState) -> RuleAlert {
        RuleAlert {
            labels: Labels::from_pairs([("alertname", name)]),
            annotations: Default::default(),
            state,
            value: 1.0,
            active_at: 5,
            fired_at: None,
            resolved_at: None,
            keep_firing_since: None,
        }
    }

    #[test]
    fn feed_resolves_what_disappears_and_skips_pending() {
        let mut f = AlertFeed::default();
        let a = rule_alert("A", AlertState::Firing);
        let p = rule_alert("P", AlertState::Pending);
        let out = f.update([&a, &p], "http://g", 10);
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].starts_at, out[0].ends_at), (5, None));
        let out = f.update([], "http://g", 20);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].ends_at, Some(20));
        assert!(f.update([], "", 30).is_empty(), "resolved once");
    }
}
