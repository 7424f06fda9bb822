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
//! still say "breach" when Slack is down. When the config names a
//! `state_dir`, the failed notification also lands in the dead-letter queue
//! of the service's durable outbox there, for `alertgate dlq` to show and
//! replay; the one-shot run itself does not retry.

use super::CheckArgs;
use crate::notify::{build_receivers, AlertFeed, Attempt, Pipeline};
use crate::outbox::store::Store;
use crate::outbox::Outbox;
use crate::routing::{self, Dispatcher, Notification, Route};
use crate::rules::ReplayReport;
use anyhow::anyhow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Sends and reports; `Err` only when the config cannot be used (exit 2).
pub fn notify(args: &CheckArgs, report: &ReplayReport) -> anyhow::Result<Vec<Attempt>> {
    let path = args
        .remote
        .config
        .as_ref()
        .ok_or_else(|| anyhow!("--notify needs --config FILE"))?;
    let cfg = Arc::new(routing::load_file(path).map_err(|e| anyhow!("{e}"))?);
    let notifiers = build_receivers(&cfg).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let state_dir = state_dir(path)?;
    let at = report.evaluated_at;
    let until = at + longest_group_wait(&cfg.route);

    let mut dispatcher = Dispatcher::new(cfg.clone());
    let mut notifications = Vec::new();
    let alerts = AlertFeed::default().update(
        report.alerts.iter().map(|a| &a.alert),
        &args.external_url,
        at,
    );
    // One batch: a group due at once goes out with all of its alerts.
    notifications.extend(dispatcher.push_batch(alerts, at));
    while let Some(t) = dispatcher.next_due().filter(|t| *t <= until) {
        notifications.extend(dispatcher.tick(t));
    }

    let pipeline = Pipeline::new(cfg, notifiers, &args.external_url);
    let mut attempts = Vec::new();
    let mut failed: Vec<(&Notification, Attempt)> = Vec::new();
    for n in &notifications {
        for a in pipeline.deliver(n) {
            if !a.ok() {
                eprintln!(
                    "alertgate: error: notify: receiver {:?}: {}: delivery failed{}: {}",
                    a.receiver,
                    a.integration,
                    if a.retryable { " (retryable)" } else { "" },
                    a.error.as_deref().unwrap_or("unknown error")
                );
                failed.push((n, a.clone()));
            }
            attempts.push(a);
        }
    }
    if !failed.is_empty() {
        let fate = match &state_dir {
            None => "not queued: the config names no state_dir".to_string(),
            Some(dir) => match dead_letter(dir, &failed) {
                Ok(db) => format!("moved to the dead-letter queue in {db} (see `alertgate dlq`)"),
                Err(e) => {
                    eprintln!("alertgate: error: notify: dead-letter queue: {e:#}");
                    "not queued".to_string()
                }
            },
        };
        eprintln!(
            "alertgate: notify: {} of {} deliveries failed; {fate}",
            failed.len(),
            attempts.len()
        );
    }
    Ok(attempts)
}

/// The config's `state_dir`, relative to the config's folder as the
/// service reads it. Only that key is read here; the rest belongs to its
/// owners and was checked by the routing loader.
fn state_dir(config: &Path) -> anyhow::Result<Option<PathBuf>> {
    #[derive(serde::Deserialize)]
    struct Top {
        state_dir: Option<String>,
    }
    let src = std::fs::read_to_string(config).map_err(|e| anyhow!("{}: {e}", config.display()))?;
    let top: Top = yaml_serde::from_str(&src).map_err(|e| anyhow!("{}: {e}", config.display()))?;
    Ok(top.state_dir.filter(|d| !d.is_empty()).map(|d| {
        let base = config.parent().unwrap_or(Path::new(""));
        base.join(d)
    }))
}

/// Queues each failed (notification, integration) in the outbox of
/// `state_dir` and moves it straight to the dead-letter queue with its
/// error. One the service already has queued is left to the service.
fn dead_letter(state_dir: &Path, failed: &[(&Notification, Attempt)]) -> anyhow::Result<String> {
    let db = Outbox::path_in(state_dir);
    let now = crate::clock::now_ms();
    let store = Store::open(&db, now)?;
    for (n, a) in failed {
        let added = store.enqueue(&[((*n).clone(), vec![a.integration.clone()])], now)?;
        if added.queued == 0 {
            continue;
        }
        let job = store
            .queued()?
            .into_iter()
            .filter(|j| {
                j.receiver == a.receiver
                    && j.integration == a.integration
                    && j.group_key == a.group_key
            })
            .max_by_key(|j| j.id);
        if let Some(j) = job {
            let error = a.error.as_deref().unwrap_or("delivery failed");
            store.kill(j.id, 1, a.status, error, now)?;
        }
    }
    Ok(db.display().to_string())
}

fn longest_group_wait(r: &Route) -> i64 {
    r.routes
        .iter()
        .map(longest_group_wait)
        .fold(r.opts.group_wait_ms, i64::max)
}
