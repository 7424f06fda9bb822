//! `/healthz` (the process answers), `/readyz` (config loaded and the
//! datasource answered lately), `/metrics` and `POST /-/reload`.

use super::{ApiError, AppState};
use crate::service::metrics::names;
use crate::service::runtime::Runtime;
use crate::service::store::Backend;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

pub async fn healthz() -> &'static str {
    "OK\n"
}

/// How long an answer counts as recent: one interval and a half plus a
/// second, so an evaluation or scrape finishing late does not flap.
fn window(interval_ms: i64) -> i64 {
    interval_ms + interval_ms / 2 + 1000
}

/// `Ok(detail)` when ready, `Err(reason)` when not.
pub fn readiness(rt: &Runtime, now: i64) -> Result<String, String> {
    let l = rt.loaded();
    let mut detail = String::from("config loaded");
    if let Some(e) = rt
        .reload_error
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
    {
        detail = format!("running the previous config; last reload failed: {e}");
    }
    match &l.querier.backend {
        Backend::Remote(_) if !l.groups.is_empty() => {
            let iv = l
                .groups
                .iter()
                .map(|g| g.interval_ms)
                .max()
                .unwrap_or(l.config.evaluation_interval_ms);
            let h = rt
                .ds_health
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            if let Some(e) = h.last_error {
                return Err(format!("{detail}; datasource: {e}"));
            }
            match h.last_ok {
                None => return Err(format!("{detail}; datasource has not answered yet")),
                Some(t) if t < now - window(iv) => {
                    return Err(format!(
                        "{detail}; datasource has not answered for {}s",
                        (now - t) / 1000
                    ))
                }
                Some(_) => {}
            }
        }
        Backend::Embedded { .. } if !l.config.scrape_configs.is_empty() => {
            let iv = l
                .config
                .scrape_configs
                .iter()
                .map(|s| s.interval_ms)
                .max()
                .unwrap_or(60_000);
            let targets = rt.targets.lock().unwrap_or_else(|e| e.into_inner());
            let fresh = targets
                .values()
                .any(|t| t.up && t.last_scrape.is_some_and(|s| s >= now - window(iv)));
            if !fresh {
                let errors: Vec<String> = targets
                    .iter()
                    .filter_map(|(k, t)| t.last_error.as_ref().map(|e| format!("{k}: {e}")))
                    .collect();
                return Err(if errors.is_empty() {
                    format!("{detail}; no scrape target has answered yet")
                } else {
                    format!("{detail}; no scrape target answered: {}", errors.join("; "))
                });
            }
        }
        _ => {}
    }
    if let Err(e) = rt.delivery.readiness() {
        return Err(format!("{detail}; {e}"));
    }
    Ok(detail)
}

pub async fn readyz(State(rt): State<AppState>) -> Response {
    match readiness(&rt, (rt.now)()) {
        Ok(d) => (StatusCode::OK, format!("ready: {d}\n")).into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {e}\n")).into_response(),
    }
}

pub async fn metrics(State(rt): State<AppState>) -> Response {
    // Read the store off the async threads (it may wait for a lock).
    let d = rt.delivery.clone();
    let outbox_text = tokio::task::spawn_blocking(move || outbox_metrics(&d))
        .await
        .unwrap_or_default();
    sync_notification_metrics(&rt);
    let now = (rt.now)();
    let (mut active, mut pending, mut expired) = (0.0, 0.0, 0.0);
    for s in rt.silences.read().unwrap_or_else(|e| e.into_inner()).all() {
        match s.state(now) {
            crate::routing::silence::SilenceState::Active => active += 1.0,
            crate::routing::silence::SilenceState::Pending => pending += 1.0,
            crate::routing::silence::SilenceState::Expired => expired += 1.0,
        }
    }
    for (st, v) in [
        ("active", active),
        ("pending", pending),
        ("expired", expired),
    ] {
        rt.metrics.set(names::SILENCES, &[("state", st)], v);
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        rt.metrics.render() + &outbox_text,
    )
        .into_response()
}

/// The outbox's own families (queue and DLQ depth per receiver, delivery
/// latency, failures, open circuits), in the text format.
fn outbox_metrics(d: &crate::service::delivery::Delivery) -> String {
    match d.outbox() {
        Some(ob) => crate::outbox::metrics::render_text(&ob.metric_families(&d.open_circuits())),
        None => String::new(),
    }
}

/// The service's summary families, derived from the outbox: totals of
/// queue and DLQ, delivered and dead-lettered per receiver.
fn sync_notification_metrics(rt: &Runtime) {
    let Some(ob) = rt.delivery.outbox() else {
        rt.metrics.set(names::QUEUE, &[], rt.delivery.held() as f64);
        return;
    };
    let depth = ob.depth().unwrap_or_default();
    rt.metrics.set(
        names::QUEUE,
        &[],
        (depth.queued + rt.delivery.held()) as f64,
    );
    rt.metrics.set(names::DLQ, &[], depth.dead as f64);
    for (r, n) in ob.metrics.delivered_by_receiver() {
        rt.metrics.set(names::SENT, &[("receiver", &r)], n as f64);
    }
    for (r, n) in ob.metrics.dead_by_receiver() {
        rt.metrics.set(names::FAILED, &[("receiver", &r)], n as f64);
    }
}

pub async fn reload(State(rt): State<AppState>) -> Result<&'static str, ApiError> {
    crate::service::reload::reload(&rt)
        .await
        .map(|_| "reloaded\n")
        .map_err(|e| ApiError::internal(format!("reload failed, previous config kept: {e}")))
}
