//! Alertmanager-compatible API v2: a Prometheus can name alertgate as its
//! Alertmanager (`POST /api/v2/alerts`), and amtool-style clients manage
//! silences (`/api/v2/silences`, `/api/v2/silence/{id}`) and read status.

use super::{ApiError, AppState};
use crate::model::{Labels, MatchOp, Matcher, Timestamp};
use crate::routing::silence::{Silence, SilenceState};
use crate::routing::{Alert, MuteReason};
use crate::service::{feed, metrics::names};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// Parses an RFC 3339 time; Go's zero time (year 1) and empty mean "unset".
fn parse_opt_time(s: &Option<String>) -> Result<Option<Timestamp>, ApiError> {
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => {
            let d = chrono::DateTime::parse_from_rfc3339(t)
                .map_err(|e| ApiError::bad_request(format!("invalid time {t:?}: {e}")))?;
            Ok((d.timestamp_millis() > 0).then_some(d.timestamp_millis()))
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostableAlert {
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    starts_at: Option<String>,
    ends_at: Option<String>,
    #[serde(rename = "generatorURL", default)]
    generator_url: String,
}

/// Takes alerts like Alertmanager's `postAlertsHandler`: no start means
/// now; no end means firing for `global.resolve_timeout`.
pub async fn post_alerts(
    State(rt): State<AppState>,
    body: Result<Json<Vec<PostableAlert>>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(list) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let now = (rt.now)();
    let resolve_timeout = rt
        .loaded()
        .config
        .routing
        .as_ref()
        .map(|r| r.resolve_timeout_ms)
        .unwrap_or(300_000);
    let mut alerts = Vec::with_capacity(list.len());
    for a in list {
        if a.labels.is_empty() {
            return Err(ApiError::bad_request("alert has no labels"));
        }
        let starts_at = parse_opt_time(&a.starts_at)?.unwrap_or(now);
        let ends_at = parse_opt_time(&a.ends_at)?.unwrap_or(now.max(starts_at) + resolve_timeout);
        if ends_at < starts_at {
            return Err(ApiError::bad_request("start time must be before end time"));
        }
        alerts.push(Alert {
            labels: Labels::from_pairs(a.labels),
            annotations: a.annotations,
            starts_at,
            ends_at: Some(ends_at),
            generator_url: a.generator_url,
        });
    }
    rt.metrics.inc(names::RECEIVED, &[], alerts.len() as f64);
    feed::push_alerts(&rt, alerts, now);
    Ok(Json(json!({})))
}

fn labels_json(l: &Labels) -> Value {
    Value::Object(
        l.iter()
            .map(|x| (x.name.clone(), Value::String(x.value.clone())))
            .collect(),
    )
}

pub async fn get_alerts(State(rt): State<AppState>) -> Json<Value> {
    let now = (rt.now)();
    let list = rt
        .dispatcher
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .map(|d| d.alerts(now))
        .unwrap_or_default();
    let out: Vec<Value> = list
        .into_iter()
        .filter(|s| !s.alert.resolved_at(now))
        .map(|s| {
            let silenced: Vec<String> = s
                .muted
                .iter()
                .flat_map(|m| match m {
                    MuteReason::Silenced { ids } => ids.clone(),
                    _ => vec![],
                })
                .collect();
            let inhibited: Vec<String> = s
                .muted
                .iter()
                .filter_map(|m| match m {
                    MuteReason::Inhibited { source, .. } => {
                        Some(format!("{:016x}", source.hash64()))
                    }
                    _ => None,
                })
                .collect();
            json!({
                "labels": labels_json(&s.alert.labels),
                "annotations": s.alert.annotations,
                "startsAt": rfc3339(s.alert.starts_at),
                "endsAt": s.alert.ends_at.map(rfc3339),
                "updatedAt": rfc3339(now),
                "generatorURL": s.alert.generator_url,
                "fingerprint": format!("{:016x}", s.alert.labels.hash64()),
                "receivers": s.receivers.iter().map(|r| json!({"name": r})).collect::<Vec<_>>(),
                "status": {
                    "state": if s.muted.is_empty() { "active" } else { "suppressed" },
                    "silencedBy": silenced, "inhibitedBy": inhibited, "mutedBy": [],
                },
            })
        })
        .collect();
    Json(Value::Array(out))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostableMatcher {
    name: String,
    value: String,
    #[serde(default)]
    is_regex: bool,
    #[serde(default = "yes")]
    is_equal: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostableSilence {
    #[serde(default)]
    id: String,
    matchers: Vec<PostableMatcher>,
    starts_at: Option<String>,
    ends_at: Option<String>,
    #[serde(default)]
    created_by: String,
    #[serde(default)]
    comment: String,
}

fn silence_json(s: &Silence, now: Timestamp) -> Value {
    json!({
        "id": s.id,
        "status": {"state": s.state(now).as_str()},
        "updatedAt": rfc3339(s.updated_at),
        "matchers": s.matchers.iter().map(|m| json!({
            "name": m.name, "value": m.value,
            "isRegex": matches!(m.op, MatchOp::Regex | MatchOp::NotRegex),
            "isEqual": matches!(m.op, MatchOp::Equal | MatchOp::Regex),
        })).collect::<Vec<_>>(),
        "startsAt": rfc3339(s.starts_at),
        "endsAt": rfc3339(s.ends_at),
        "createdBy": s.created_by,
        "comment": s.comment,
    })
}

pub async fn get_silences(State(rt): State<AppState>) -> Json<Value> {
    let now = (rt.now)();
    let s = rt.silences.read().unwrap_or_else(|e| e.into_inner());
    Json(Value::Array(
        s.all().iter().map(|x| silence_json(x, now)).collect(),
    ))
}

pub async fn get_silence(
    State(rt): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let now = (rt.now)();
    let s = rt.silences.read().unwrap_or_else(|e| e.into_inner());
    s.get(&id)
        .map(|x| Json(silence_json(x, now)))
        .ok_or_else(|| ApiError::not_found(format!("silence {id} not found")))
}

/// Creates a silence; with the id of an existing one, replaces it (the old
/// one is expired, as Alertmanager does when a silence cannot be updated
/// in place).
pub async fn post_silence(
    State(rt): State<AppState>,
    body: Result<Json<PostableSilence>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(p) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let now = (rt.now)();
    let matchers = p
        .matchers
        .into_iter()
        .map(|m| {
            let op = match (m.is_regex, m.is_equal) {
                (false, true) => MatchOp::Equal,
                (false, false) => MatchOp::NotEqual,
                (true, true) => MatchOp::Regex,
                (true, false) => MatchOp::NotRegex,
            };
            Matcher::new(m.name, op, m.value).map_err(|e| ApiError::bad_request(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let s = Silence {
        id: String::new(),
        matchers,
        starts_at: parse_opt_time(&p.starts_at)?.unwrap_or(now),
        ends_at: parse_opt_time(&p.ends_at)?
            .ok_or_else(|| ApiError::bad_request("endsAt is required"))?,
        updated_at: now,
        created_by: p.created_by,
        comment: p.comment,
    };
    let mut store = rt.silences.write().unwrap_or_else(|e| e.into_inner());
    if !p.id.is_empty() {
        match store.get(&p.id).map(|x| x.state(now)) {
            None => return Err(ApiError::not_found(format!("silence {} not found", p.id))),
            Some(SilenceState::Expired) => {}
            Some(_) => store
                .expire(&p.id, now)
                .map_err(|e| ApiError::internal(e.to_string()))?,
        }
    }
    let id = store.add(s, now).map_err(|e| match e {
        crate::routing::SilenceError::Invalid(m) => ApiError::bad_request(m),
        other => ApiError::internal(other.to_string()),
    })?;
    Ok(Json(json!({"silenceID": id})))
}

pub async fn delete_silence(
    State(rt): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let now = (rt.now)();
    let mut store = rt.silences.write().unwrap_or_else(|e| e.into_inner());
    store.expire(&id, now).map_err(|e| match e {
        crate::routing::SilenceError::NotFound(_) => ApiError::not_found(e.to_string()),
        crate::routing::SilenceError::AlreadyExpired(_) => ApiError::bad_request(e.to_string()),
        other => ApiError::internal(other.to_string()),
    })?;
    Ok(StatusCode::OK)
}

pub async fn status(State(rt): State<AppState>) -> Json<Value> {
    let now = (rt.now)();
    Json(json!({
        "cluster": {"name": "", "status": "disabled", "peers": []},
        // The file may hold secrets: it is not echoed.
        "config": {"original": "# alertgate does not echo its configuration\n"},
        "uptime": rfc3339(rt.started_at),
        "versionInfo": {"version": env!("CARGO_PKG_VERSION"), "branch": "", "buildDate": "", "buildUser": "", "goVersion": "", "revision": ""},
        "now": rfc3339(now),
    }))
}
