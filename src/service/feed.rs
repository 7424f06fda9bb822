//! Feeds the dispatcher: alerts of the rules (as Prometheus sends them to
//! an Alertmanager), alerts posted to `/api/v2/alerts`, and a ticker that
//! flushes each group into the durable outbox (`delivery`) at its due time.

use super::runtime::{GroupRun, Runtime};
use crate::alerting::AlertState;
use crate::model::{Labels, Timestamp};
use crate::routing::Alert;
use crate::rules::Rule;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// How long a firing alert stays valid without a new evaluation, as
/// Prometheus's `ValidUntil` (4 × max(interval, resend delay of 1m)): an
/// alert whose rule is gone after a reload resolves by itself.
pub fn valid_for(interval_ms: i64) -> i64 {
    4 * interval_ms.max(60_000)
}

/// The routing alerts for one group after an evaluation at `ts`: every
/// firing alert, and those that resolved at `ts`. External labels are added
/// where the alert has no such label. `open_ended` leaves firing alerts
/// without an end time (one-shot mode, where nothing refreshes them).
pub fn routing_alerts(
    g: &GroupRun,
    ts: Timestamp,
    external: &BTreeMap<String, String>,
    external_url: &str,
    open_ended: bool,
) -> Vec<Alert> {
    let st = g.state.lock().unwrap_or_else(|e| e.into_inner());
    let mut out = Vec::new();
    for (rule, rs) in g.group.rules.iter().zip(&st.rules) {
        let Rule::Alerting(ar) = rule else { continue };
        for a in rs.alerts.alerts.values() {
            let ends_at = match a.state {
                AlertState::Firing if open_ended => None,
                AlertState::Firing => Some(ts + valid_for(g.interval_ms)),
                AlertState::Inactive if a.resolved_at == Some(ts) && a.fired_at.is_some() => {
                    a.resolved_at
                }
                _ => continue,
            };
            let mut labels = a.labels.clone();
            for (k, v) in external {
                if !labels.contains(k) {
                    labels.set(k.clone(), v.clone());
                }
            }
            out.push(Alert {
                labels,
                annotations: a.annotations.clone(),
                starts_at: a.active_at,
                ends_at,
                generator_url: generator_url(external_url, &ar.expr_text),
            });
        }
    }
    out
}

fn generator_url(base: &str, expr: &str) -> String {
    let enc: String = expr
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!(
        "{}/graph?g0.expr={enc}&g0.tab=1",
        base.trim_end_matches('/')
    )
}

/// Longest sleep of the ticker: a group created meanwhile with a
/// `group_wait` shorter than this may flush up to this late; every other
/// group flushes at its due time.
const TICK_AT_LEAST_EVERY: Duration = Duration::from_millis(200);

/// Pushes alerts into the dispatcher (as one batch) and queues what it
/// flushes: one store transaction per call, and none when nothing is due
/// (held notifications are retried by the ticker), so a post that only
/// adds alerts never waits for the disk.
pub fn push_alerts(rt: &Runtime, alerts: Vec<Alert>, now: Timestamp) {
    let mut guard = rt.dispatcher.lock().unwrap_or_else(|e| e.into_inner());
    let Some(d) = guard.as_mut() else { return };
    let ns = d.push_batch(alerts, now);
    if ns.is_empty() {
        return;
    }
    // The store's queue is taken before the dispatcher is let go, so two
    // flushes of one group reach the store in the order they were made,
    // while the next post need not wait for this one's fsync.
    let q = rt.delivery.queue();
    drop(guard);
    rt.delivery.submit_in(q, ns);
}

/// Flushes due groups now (and offers held notifications to the store
/// again). Blocking (the store write).
pub fn tick(rt: &Runtime, now: Timestamp) {
    let mut guard = rt.dispatcher.lock().unwrap_or_else(|e| e.into_inner());
    let Some(d) = guard.as_mut() else { return };
    let ns = d.tick(now);
    if ns.is_empty() {
        // Nothing to order: retry what is held without blocking posts.
        drop(guard);
        rt.delivery.submit(ns);
        return;
    }
    let q = rt.delivery.queue();
    drop(guard);
    rt.delivery.submit_in(q, ns);
}

/// When the dispatcher's next group is due.
fn next_due(rt: &Runtime) -> Option<Timestamp> {
    let guard = rt.dispatcher.lock().unwrap_or_else(|e| e.into_inner());
    guard.as_ref().and_then(|d| d.next_due())
}

/// Flushes each group at its due time (at least every
/// [`TICK_AT_LEAST_EVERY`]) until aborted. The store write runs off the
/// async threads.
pub async fn run_ticker(rt: Arc<Runtime>) {
    loop {
        let wait = match next_due(&rt) {
            Some(t) => Duration::from_millis((t - (rt.now)()).max(0) as u64),
            None => TICK_AT_LEAST_EVERY,
        };
        tokio::time::sleep(wait.min(TICK_AT_LEAST_EVERY)).await;
        let rt2 = rt.clone();
        let _ = tokio::task::spawn_blocking(move || tick(&rt2, (rt2.now)())).await;
    }
}

/// The largest `group_wait` of the routing tree (one-shot mode flushes at
/// `now + group_wait` so a single round still notifies).
pub fn max_group_wait(r: &crate::routing::Route) -> i64 {
    r.routes
        .iter()
        .map(max_group_wait)
        .fold(r.opts.group_wait_ms, i64::max)
}

/// The largest `repeat_interval` of the routing tree: how long the
/// notification log must remember a group.
pub fn max_repeat_interval(r: &crate::routing::Route) -> i64 {
    r.routes
        .iter()
        .map(max_repeat_interval)
        .fold(r.opts.repeat_interval_ms, i64::max)
}

/// Labels without the external labels (for display).
pub fn strip_external(l: &Labels, external: &BTreeMap<String, String>) -> Labels {
    let names: Vec<String> = external.keys().cloned().collect();
    l.drop_names(&names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generator_url_escapes_the_expression() {
        assert_eq!(
            generator_url("http://ag:9095/", "up == 0"),
            "http://ag:9095/graph?g0.expr=up%20%3D%3D%200&g0.tab=1"
        );
    }

    #[test]
    fn firing_alerts_stay_valid_four_intervals_at_least_four_minutes() {
        assert_eq!(valid_for(15_000), 240_000);
        assert_eq!(valid_for(120_000), 480_000);
    }
}
