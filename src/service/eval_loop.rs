//! The evaluation loop: one task per rule group, evaluating on ticks
//! aligned to the group's interval (multiples of it since the epoch).
//! Evaluation runs on a blocking thread, so a slow group (or a slow remote
//! datasource) never delays another; ticks that pass while an evaluation
//! runs are counted as missed, not queued. Alert state is saved after
//! each evaluation.

use super::feed;
use super::metrics::names;
use super::runtime::{GroupRun, Loaded, Runtime};
use super::store::Backend;
use crate::alerting::AlertState;
use crate::model::Labels;
use crate::rules::{eval_group, EvalContext, RuleEvalError};
use std::sync::Arc;
use std::time::Duration;

/// The first aligned tick strictly after `now`.
pub fn next_tick(now: i64, interval_ms: i64) -> i64 {
    (now.div_euclid(interval_ms) + 1) * interval_ms
}

/// Ticks that were due between `ts` (exclusive) and `done` (inclusive) and
/// were skipped because the evaluation of `ts` was still running.
pub fn missed_ticks(ts: i64, done: i64, interval_ms: i64) -> i64 {
    ((done - ts) / interval_ms).max(0)
}

/// Evaluates `g` once at `ts`, records status and metrics, and pushes the
/// group's alerts to the dispatcher. Returns the rule errors.
pub async fn eval_once(
    rt: &Arc<Runtime>,
    loaded: &Arc<Loaded>,
    g: &Arc<GroupRun>,
    ts: i64,
    open_ended: bool,
) -> Vec<RuleEvalError> {
    let started = (rt.now)();
    let (l2, g2) = (loaded.clone(), g.clone());
    let res = tokio::task::spawn_blocking(move || {
        let external = Labels::from_pairs(
            l2.config
                .external_labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        let ctx = EvalContext {
            querier: &*l2.querier,
            appender: &*l2.querier,
            external_labels: external,
            external_url: l2.config.external_url.clone(),
        };
        let mut st = g2.state.lock().unwrap_or_else(|e| e.into_inner());
        let out = eval_group(&g2.group, &mut st, &ctx, ts);
        // The client collects the server's warnings; drain them each round.
        if let Backend::Remote(h) = &l2.querier.backend {
            for (expr, w) in h.take_warnings() {
                tracing::debug!(group = %g2.key, expr = %expr, warning = %w, "Datasource warning.");
            }
        }
        out
    })
    .await;
    let outcome = match res {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(group = %g.key, error = %e, "Rule group evaluation panicked.");
            return vec![];
        }
    };
    let done = (rt.now)();
    let dur = (done - started) as f64 / 1000.0;
    {
        let mut s = g.status.lock().unwrap_or_else(|e| e.into_inner());
        s.last_eval = Some(ts);
        s.duration_s = dur;
        s.rule_errors = vec![None; g.group.rules.len()];
        for e in &outcome.errors {
            if let Some(slot) = s.rule_errors.get_mut(e.index) {
                *slot = Some(e.message.clone());
            }
        }
    }
    let key = g.key.as_str();
    rt.metrics.inc(names::EVALS, &[("rule_group", key)], 1.0);
    if !outcome.errors.is_empty() {
        rt.metrics.inc(
            names::EVAL_FAILURES,
            &[("rule_group", key)],
            outcome.errors.len() as f64,
        );
        for e in &outcome.errors {
            tracing::warn!(group = %g.key, rule = %e.rule, error = %e.message, "Rule evaluation failed.");
        }
    }
    rt.metrics
        .set(names::EVAL_DURATION, &[("rule_group", key)], dur);
    let alerts = feed::routing_alerts(
        g,
        ts,
        &loaded.config.external_labels,
        &loaded.config.external_url,
        open_ended,
    );
    feed::push_alerts(rt, alerts, done);
    update_alert_gauges(rt, loaded);
    outcome.errors
}

/// Recomputes `alertgate_alerts{state}` over all groups.
pub fn update_alert_gauges(rt: &Runtime, loaded: &Loaded) {
    let (mut pending, mut firing) = (0.0, 0.0);
    for g in &loaded.groups {
        let st = g.state.lock().unwrap_or_else(|e| e.into_inner());
        for a in st.rules.iter().flat_map(|r| r.alerts.alerts.values()) {
            match a.state {
                AlertState::Pending => pending += 1.0,
                AlertState::Firing => firing += 1.0,
                AlertState::Inactive => {}
            }
        }
    }
    rt.metrics
        .set(names::ALERTS, &[("state", "pending")], pending);
    rt.metrics
        .set(names::ALERTS, &[("state", "firing")], firing);
}

/// Runs one group until the task is aborted.
pub async fn run_group(rt: Arc<Runtime>, loaded: Arc<Loaded>, g: Arc<GroupRun>) {
    let iv = g.interval_ms;
    let mut ts = next_tick((rt.now)(), iv);
    loop {
        let now = (rt.now)();
        if ts > now {
            tokio::time::sleep(Duration::from_millis((ts - now) as u64)).await;
        }
        eval_once(&rt, &loaded, &g, ts, false).await;
        // Saved after every evaluation, so even a SIGKILL keeps `for:`.
        let rt2 = rt.clone();
        let _ = tokio::task::spawn_blocking(move || rt2.save_alert_state()).await;
        let done = (rt.now)();
        let missed = missed_ticks(ts, done, iv);
        if missed > 0 {
            rt.metrics
                .inc(names::MISSED, &[("rule_group", &g.key)], missed as f64);
            tracing::warn!(group = %g.key, missed, "Rule group evaluation took longer than its interval.");
        }
        ts = next_tick(done.max(ts), iv);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_aligned_and_missed_ones_counted() {
        assert_eq!(next_tick(0, 15_000), 15_000);
        assert_eq!(next_tick(14_999, 15_000), 15_000);
        assert_eq!(next_tick(15_000, 15_000), 30_000);
        // An evaluation at 15s that ends at 47s skipped the ticks at 30s and 45s.
        assert_eq!(missed_ticks(15_000, 47_000, 15_000), 2);
        assert_eq!(missed_ticks(15_000, 16_000, 15_000), 0);
        assert_eq!(next_tick(47_000, 15_000), 60_000);
    }
}
