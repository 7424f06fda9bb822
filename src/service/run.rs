//! Entry points: [`serve`] runs until SIGTERM/SIGINT and then stops within
//! the runbook's 10 s (stop loops, stop taking requests, give the outbox a
//! few seconds, persist what is left, save state); [`run_once`] is the
//! timer mode: one scrape, evaluation and delivery round.

use super::config::ServiceConfig;
use super::deliver::{Deliver, NotifyDeliver};
use super::runtime::Runtime;
use super::{eval_loop, feed, outbox, reload, scrape, signals};
use anyhow::{Context, Result};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Time the outbox gets to drain at shutdown; the rest of the 10 s budget
/// is for the HTTP server and writing state.
const DRAIN_ON_STOP: Duration = Duration::from_secs(5);
/// How often alert state is written while running.
const SAVE_EVERY: Duration = Duration::from_secs(30);

pub struct ServeOptions {
    /// Overrides `web.listen_address`.
    pub listen: Option<String>,
    pub deliver: Arc<dyn Deliver>,
    pub now: fn() -> i64,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            listen: None,
            deliver: Arc::new(NotifyDeliver::default()),
            now: crate::clock::now_ms,
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
    reload::start_tasks(&rt);
    let ticker = tokio::spawn(feed::run_ticker(rt.clone()));
    let worker = tokio::spawn(outbox::run_worker(rt.clone(), opts.deliver.clone()));
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
    let _ = stop_tx.send(());
    if !rt.outbox.drain(DRAIN_ON_STOP).await {
        tracing::warn!(
            left = rt.outbox.depth(),
            "Outbox not drained in time; the rest is saved."
        );
    }
    worker.abort();
    rt.outbox.persist().context("cannot save the outbox")?;
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
    pub undelivered: usize,
}

/// Timer mode: scrape once, evaluate every group once at now, flush the
/// dispatcher as if `group_wait` had passed, deliver, save state.
pub async fn run_once(
    cfg: ServiceConfig,
    deliver: Arc<dyn Deliver>,
    now_fn: fn() -> i64,
) -> Result<OnceReport> {
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
    let dead_before = rt.outbox.dlq_len();
    let worker = tokio::spawn(outbox::run_worker(rt.clone(), deliver));
    let drained = rt.outbox.drain(Duration::from_secs(60)).await;
    worker.abort();
    report.undelivered =
        rt.outbox.dlq_len() - dead_before + if drained { 0 } else { rt.outbox.depth() };
    rt.outbox.persist().context("cannot save the outbox")?;
    rt.save_state()?;
    Ok(report)
}
