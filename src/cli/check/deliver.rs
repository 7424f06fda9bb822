//! `check --notify --config alertgate.yml`: route what fires through the
//! configured receivers once, as the service would on its first
//! evaluation, and wait until every send has returned.
//!
//! Groups are flushed without waiting out `group_wait` in real time: the
//! dispatcher runs on a manual clock up to the longest `group_wait` of the
//! tree, so one run sends exactly the first notification of every group.
//! Silences, inhibition and time intervals apply as configured. A failed
//! delivery is printed on stderr (receiver, integration, reason; never a
//! payload or secret) and does not change the exit code: a cron job must
//! still say "breach" when Slack is down. There is no dead-letter queue in
//! a one-shot run: the service's durable outbox owns that.

use super::CheckArgs;
use crate::notify::{build_receivers, Attempt, Pipeline};
use crate::routing::{self, Route};
use crate::rules::ReplayReport;
use anyhow::anyhow;
use std::sync::Arc;

/// Sends and reports; `Err` only when the config cannot be used (exit 2).
pub fn notify(args: &CheckArgs, report: &ReplayReport) -> anyhow::Result<Vec<Attempt>> {
    let path = args
        .remote
        .config
        .as_ref()
        .ok_or_else(|| anyhow!("--notify needs --config FILE"))?;
    let cfg = routing::load_file(path).map_err(|e| anyhow!("{e}"))?;
    let notifiers = build_receivers(&cfg).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let wait = longest_group_wait(&cfg.route);
    let at = report.evaluated_at;
    let mut pipeline = Pipeline::new(Arc::new(cfg), notifiers, &args.external_url);
    let mut attempts = pipeline.evaluate(
        report.alerts.iter().map(|a| &a.alert),
        &args.external_url,
        at,
    );
    attempts.extend(pipeline.run_until(at + wait));
    for a in attempts.iter().filter(|a| !a.ok()) {
        eprintln!(
            "alertgate: error: notify: receiver {:?}: {}: delivery failed{}: {}",
            a.receiver,
            a.integration,
            if a.retryable { " (retryable)" } else { "" },
            a.error.as_deref().unwrap_or("unknown error")
        );
    }
    let failed = attempts.iter().filter(|a| !a.ok()).count();
    if failed > 0 {
        eprintln!(
            "alertgate: notify: {} of {} deliveries failed (not queued: one-shot runs keep no outbox)",
            failed,
            attempts.len()
        );
    }
    Ok(attempts)
}

fn longest_group_wait(r: &Route) -> i64 {
    r.routes
        .iter()
        .map(longest_group_wait)
        .fold(r.opts.group_wait_ms, i64::max)
}
