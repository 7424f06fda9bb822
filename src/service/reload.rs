//! Starting the config-bound tasks and reloading atomically: the new file
//! is read and validated completely first; only then are the old group
//! loops and scrapers stopped, the new config built (copying alert state of
//! rules that stay) and started. A bad file, or one that fails to build,
//! leaves the old config running; the failure shows in the log, in
//! `/readyz` and in `alertgate_config_last_reload_successful`.

use super::config;
use super::feed;
use super::metrics::names;
use super::runtime::{build_loaded, new_dispatcher, Runtime};
use std::sync::Arc;

/// Spawns one task per rule group and per scrape job of the current config.
pub fn start_tasks(rt: &Arc<Runtime>) {
    let loaded = rt.loaded();
    let mut tasks = rt.tasks.lock().unwrap_or_else(|e| e.into_inner());
    for g in &loaded.groups {
        tasks.push(tokio::spawn(super::eval_loop::run_group(
            rt.clone(),
            loaded.clone(),
            g.clone(),
        )));
    }
    for sc in &loaded.config.scrape_configs {
        tasks.push(tokio::spawn(super::scrape::run_job(
            rt.clone(),
            sc.clone(),
            loaded.retention_ms,
        )));
    }
}

/// Reloads the config file the service was started with.
pub async fn reload(rt: &Arc<Runtime>) -> Result<(), String> {
    let _one = rt.reload_lock.lock().await;
    let path = rt.loaded().config.path.clone();
    let parsed = tokio::task::spawn_blocking(move || config::load(&path))
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| format!("{e:#}")));
    let cfg = match parsed {
        Ok(c) => c,
        Err(e) => return Err(fail(rt, e)),
    };
    rt.stop_tasks();
    let prev = rt.loaded();
    let (store, health, now, prev2) =
        (rt.store.clone(), rt.ds_health.clone(), rt.now, prev.clone());
    let built =
        tokio::task::spawn_blocking(move || build_loaded(cfg, &store, &health, Some(&prev2), now))
            .await
            .unwrap_or_else(|e| Err(anyhow::anyhow!("reload task failed: {e}")));
    let new = match built {
        Ok(n) => Arc::new(n),
        Err(e) => {
            start_tasks(rt);
            return Err(fail(rt, format!("{e:#}")));
        }
    };
    let routing_changed = new.routing_fp != prev.routing_fp;
    *rt.loaded.write().unwrap_or_else(|e| e.into_inner()) = new.clone();
    // New receivers (and `notify.outbox`) for what is queued from now on;
    // the old notifiers are dropped off the async threads.
    let (d, routing, url, ocfg) = (
        rt.delivery.clone(),
        new.config.routing.clone(),
        new.config.external_url.clone(),
        new.config.outbox.clone(),
    );
    let swapped = tokio::task::spawn_blocking(move || {
        let s = super::delivery::LiveSender::build(routing.as_ref(), &url)?;
        d.reconfigure(s, ocfg);
        anyhow::Ok(())
    })
    .await
    .unwrap_or_else(|e| Err(anyhow::anyhow!("reload task failed: {e}")));
    if let Err(e) = swapped {
        // Validation built these receivers already; keep the old ones.
        tracing::error!(error = %format!("{e:#}"), "Cannot build the new receivers; the old ones stay.");
    }
    if routing_changed {
        // The new tree starts with the persisted notification log: groups
        // of routes that stayed are not notified again; alerts of new or
        // changed routes are notified once through them.
        *rt.dispatcher.lock().unwrap_or_else(|e| e.into_inner()) =
            new_dispatcher(new.config.routing.as_ref(), &rt.silences, &rt.delivery);
        let now = (rt.now)();
        for g in &new.groups {
            let ts = g
                .status
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .last_eval
                .unwrap_or(now);
            let alerts = feed::routing_alerts(
                g,
                ts,
                &new.config.external_labels,
                &new.config.external_url,
                false,
            )
            .into_iter()
            .filter(|a| a.ends_at.is_none_or(|e| e > now))
            .collect();
            feed::push_alerts(rt, alerts, now);
        }
    }
    start_tasks(rt);
    *rt.reload_error.lock().unwrap_or_else(|e| e.into_inner()) = None;
    rt.metrics.set(names::RELOAD_OK, &[], 1.0);
    rt.metrics
        .set(names::RELOAD_TS, &[], (rt.now)() as f64 / 1000.0);
    tracing::info!(
        groups = new.groups.len(),
        routing_changed,
        "Configuration reloaded."
    );
    Ok(())
}

fn fail(rt: &Runtime, msg: String) -> String {
    tracing::error!(error = %msg, "Reload failed, keeping the running configuration.");
    rt.metrics.set(names::RELOAD_OK, &[], 0.0);
    *rt.reload_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(msg.clone());
    msg
}
