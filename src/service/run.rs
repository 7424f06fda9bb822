//! Entry points: [`serve`] runs until SIGTERM/SIGINT and then stops within
//! the runbook's 10 s (stop loops, stop taking requests, give the outbox a
//! few seconds, persist what is left, save state); [`run_once`] is the
//! timer mode: one scrape, evaluation and delivery round.

use super::config::ServiceConfig;
use super::runtime::{restore_log, Runtime};
use super::{eval_loop, feed, reload, scrape, signals};
use anyhow::{Context, Result};
use std::collections::HashMap;
use std::time::Duration;

/// Time the outbox gets to send what is due at shutdown, and to finish
/// requests in flight; the rest of the 10 s budget is for the HTTP server
/// and writing state. Whatever is left stays queued on disk.
const DRAIN_ON_STOP: Duration = Duration::from_secs(4);
const JOIN_ON_STOP: Duration = Duration::from_secs(2);
/// How often alert state is written while running.
const SAVE_EVERY: Duration = Duration::from_secs(30);
/// How often the outbox store is checked (opened again, heartbeat) and
/// its notification log pruned.
const MAINTAIN_EVERY: Duration = Duration::from_secs(1);
const PROBE_EVERY_TICKS: u64 = 5;
const GC_EVERY_TICKS: u64 = 600;
/// Notification-log entries are kept this long past the longest
/// `repeat_interval` (upstream keeps its log for 120h by default).
const LOG_MARGIN_MS: i64 = 3_600_000;
/// Longest `--once` delivery round.
const ONCE_DRAIN: Duration = Duration::from_secs(60);

pub struct ServeOptions {
    /// Overrides `web.listen_address`.
    pub listen: Option<String>,
    pub now: fn() -> i64,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            listen: None,
            now: crate::clock::now_ms,
        }
    }
}

/// Opens a store that could not be opened at start, heartbeats it, and
/// prunes the notification log. Blocking.
fn maintain(rt: &Runtime, tick: u64) {
    let d = &rt.delivery;
    if let Some(ob) = d.try_open() {
        // Opened late: what was notified before the outage still counts.
        let mut guard = rt.dispatcher.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(disp) = guard.as_mut() {
            restore_log(&ob, disp);
        }
        d.submit(Vec::new());
    }
    if tick % PROBE_EVERY_TICKS == 0 {
        d.probe();
    }
    if tick % GC_EVERY_TICKS == 0 {
        if let Some(r) = &rt.loaded().config.routing {
            let keep = feed::max_repeat_interval(&r.route) + LOG_MARGIN_MS;
            d.gc_log((rt.now)() - keep);
        }
    }
}

/// Runs the service until SIGTERM or SIGINT.
pub async fn serve(cfg: ServiceConfig, opts: ServeOptions) -> Result<()> {
    let now = opts.now;
    let rt = tokio::task::spawn_blocking(move || Runtime::new(cfg, now)).await??;
    let addr = opts
        .listen
        .unwrap_or_else(|| rt.loaded().config.web.listen_address.clone());
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    tracing::info!(address = %local, groups = rt.loaded().groups.len(), "Listening.");
    eprintln!("alertgate: listening on {local}");
    rt.delivery.start_worker();
    reload::start_tasks(&rt);
    let ticker = tokio::spawn(feed::run_ticker(rt.clone()));
    let maintainer = {
        let rt = rt.clone();
        tokio::spawn(async move {
            let mut iv = tokio::time::interval(MAINTAIN_EVERY);
            iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            for tick in 1u64.. {
                iv.tick().await;
                let rt = rt.clone();
                let _ = tokio::task::spawn_blocking(move || maintain(&rt, tick)).await;
            }
        })
    };
    let saver = {
        let rt = rt.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(SAVE_EVERY).await;
                if let Err(e) = rt.save_state() {
                    tracing::warn!(error = %format!("{e:#}"), "Cannot save state.");
                }
            }
        })
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let app = super::http::router(rt.clone());
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stop_rx.await;
            })
            .await
    });
    let sig = signals::wait_for_stop(rt.clone()).await?;
    tracing::info!(signal = sig, "Stopping.");
    rt.stop_tasks();
    ticker.abort();
    saver.abort();
    maintainer.abort();
    let _ = stop_tx.send(());
    let d = rt.delivery.clone();
    let left = tokio::task::spawn_blocking(move || d.shutdown(DRAIN_ON_STOP, JOIN_ON_STOP))
        .await
        .context("outbox shutdown failed")?;
    if left.queued > 0 || left.held > 0 {
        tracing::warn!(
            queued = left.queued,
            held = left.held,
            "Outbox not drained in time; queued notifications are sent at the next start."
        );
    }
    rt.save_state()?;
    // In-flight requests get what is left of the budget.
    let _ = tokio::time::timeout(Duration::from_secs(2), server).await;
    tracing::info!("Stopped.");
    Ok(())
}

/// What a one-shot round did.
#[derive(Debug, Default)]
pub struct OnceReport {
    pub rule_errors: usize,
    /// Moved to the dead-letter queue, still queued when the round ended,
    /// or not written to the store at all.
    pub undelivered: usize,
}

/// Timer mode: scrape once, evaluate every group once at now, flush the
/// dispatcher as if `group_wait` had passed, deliver (retrying for at most
/// a minute), save state. What is not delivered stays queued in the store
/// for the next round.
pub async fn run_once(cfg: ServiceConfig, now_fn: fn() -> i64) -> Result<OnceReport> {
    let rt = tokio::task::spawn_blocking(move || Runtime::new(cfg, now_fn)).await??;
    let loaded = rt.loaded();
    let now = now_fn();
    let client = reqwest::Client::new();
    for sc in &loaded.config.scrape_configs {
        scrape::scrape_job_once(&rt, &client, sc, now, &mut HashMap::new()).await;
    }
    let mut report = OnceReport::default();
    for g in &loaded.groups {
        let errs = eval_loop::eval_once(&rt, &loaded, g, now, true).await;
        for e in &errs {
            eprintln!("alertgate: {e}");
        }
        report.rule_errors += errs.len();
    }
    if let Some(r) = &loaded.config.routing {
        feed::tick(&rt, now + feed::max_group_wait(&r.route));
    }
    let d = rt.delivery.clone();
    let left = tokio::task::spawn_blocking(move || d.drain(ONCE_DRAIN))
        .await
        .context("outbox drain failed")??;
    report.undelivered = left.report.dead_lettered + left.queued + left.held;
    rt.save_state()?;
    Ok(report)
}
