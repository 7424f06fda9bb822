//! Prometheus-compatible read API: `/api/v1/rules`, `/api/v1/alerts`, and
//! `/api/v1/query(_range)` on the embedded store (bodies encoded by
//! `crate::api`, as Prometheus writes them).

use super::{json_response, AppState};
use crate::alerting::{Alert, AlertState};
use crate::api::{encode_error, encode_query_output, ApiError as PromError};
use crate::model::time::parse_time;
use crate::model::Labels;
use crate::promql::Engine;
use crate::rules::Rule;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};
use std::collections::HashMap;

type Params = HashMap<String, String>;

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        .unwrap_or_default()
}

/// Go's `strconv.FormatFloat(v, 'e', -1, 64)`, as `/api/v1/alerts` prints values.
pub fn format_e(v: f64) -> String {
    if !v.is_finite() {
        return crate::api::json::format_go_f(v);
    }
    let e = format!("{v:e}");
    let (m, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    format!("{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
}

fn labels_json(l: &Labels) -> Value {
    Value::Object(
        l.iter()
            .map(|x| (x.name.clone(), Value::String(x.value.clone())))
            .collect(),
    )
}

fn alert_json(a: &Alert) -> Value {
    json!({
        "labels": labels_json(&a.labels),
        "annotations": a.annotations,
        "state": a.state.as_str(),
        "activeAt": rfc3339(a.active_at),
        "value": format_e(a.value),
    })
}

fn ok(data: Value) -> Response {
    json_response(
        StatusCode::OK,
        json!({"status": "success", "data": data}).to_string(),
    )
}

pub async fn alerts(State(rt): State<AppState>) -> Response {
    let l = rt.loaded();
    let mut out = Vec::new();
    for g in &l.groups {
        let st = g.state.lock().unwrap_or_else(|e| e.into_inner());
        out.extend(
            st.rules
                .iter()
                .flat_map(|r| r.alerts.active())
                .map(alert_json),
        );
    }
    ok(json!({"alerts": out}))
}

pub async fn rules(State(rt): State<AppState>) -> Response {
    let l = rt.loaded();
    let mut groups = Vec::new();
    for g in &l.groups {
        let st = g.state.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let status = g.status.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let last = status
            .last_eval
            .map(rfc3339)
            .unwrap_or_else(|| "0001-01-01T00:00:00Z".into());
        let mut rules = Vec::new();
        for (i, r) in g.group.rules.iter().enumerate() {
            let err = status.rule_errors.get(i).cloned().flatten();
            let health = match (&err, status.last_eval) {
                (Some(_), _) => "err",
                (None, None) => "unknown",
                (None, Some(_)) => "ok",
            };
            let mut v = match r {
                Rule::Alerting(a) => {
                    let alerts: Vec<&Alert> = st
                        .rules
                        .get(i)
                        .map(|s| s.alerts.active().collect())
                        .unwrap_or_default();
                    let state = if alerts.iter().any(|a| a.state == AlertState::Firing) {
                        "firing"
                    } else if alerts.is_empty() {
                        "inactive"
                    } else {
                        "pending"
                    };
                    json!({
                        "state": state, "name": a.name, "query": a.expr_text,
                        "duration": a.for_ms as f64 / 1000.0,
                        "keepFiringFor": a.keep_firing_for_ms as f64 / 1000.0,
                        "labels": a.labels.iter().map(|(k, t)| (k.clone(), t.source().to_string())).collect::<HashMap<_, _>>(),
                        "annotations": a.annotations.iter().map(|(k, t)| (k.clone(), t.source().to_string())).collect::<HashMap<_, _>>(),
                        "alerts": alerts.into_iter().map(alert_json).collect::<Vec<_>>(),
                        "type": "alerting",
                    })
                }
                Rule::Recording(rr) => json!({
                    "name": rr.name, "query": rr.expr_text, "labels": labels_json(&rr.labels), "type": "recording",
                }),
            };
            v["health"] = json!(health);
            v["lastError"] = json!(err.unwrap_or_default());
            v["lastEvaluation"] = json!(last);
            v["evaluationTime"] = json!(status.duration_s);
            rules.push(v);
        }
        groups.push(json!({
            "name": g.group.name, "file": g.group.file, "rules": rules,
            "interval": g.interval_ms as f64 / 1000.0, "limit": g.group.limit,
            "evaluationTime": status.duration_s, "lastEvaluation": last,
        }));
    }
    ok(json!({"groups": groups}))
}

fn err_response(e: PromError) -> Response {
    json_response(
        StatusCode::from_u16(e.kind.http_status()).unwrap_or(StatusCode::BAD_REQUEST),
        encode_error(&e),
    )
}

fn time_param(p: &Params, name: &str, default: i64) -> Result<i64, PromError> {
    match p.get(name).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(s) => parse_time(s).map_err(|e| PromError::invalid_param(name, e)),
    }
}

fn step_param(p: &Params) -> Result<i64, PromError> {
    let s = p
        .get("step")
        .ok_or_else(|| PromError::invalid_param("step", "cannot parse \"\" to a valid duration"))?;
    let ms = match s.parse::<f64>() {
        Ok(f) if f.is_finite() => (f * 1000.0).round() as i64,
        _ => crate::rules::parse_duration_ms(s).map_err(|e| PromError::invalid_param("step", e))?,
    };
    if ms <= 0 {
        return Err(PromError::invalid_param("step", "zero or negative query resolution step widths are not accepted. Try a positive integer"));
    }
    Ok(ms)
}

async fn run_query(rt: AppState, p: Params, range: bool) -> Response {
    let now = (rt.now)();
    let parsed = (|| {
        let q = p.get("query").cloned().unwrap_or_default();
        let expr = crate::promql::parse(&q).map_err(PromError::bad_query)?;
        if range {
            let start = time_param(&p, "start", now)?;
            let end = time_param(&p, "end", now)?;
            if end < start {
                return Err(PromError::invalid_param(
                    "end",
                    "end timestamp must not be before start time",
                ));
            }
            Ok((expr, start, end, step_param(&p)?))
        } else {
            let t = time_param(&p, "time", now)?;
            Ok((expr, t, t, 0))
        }
    })();
    let (expr, start, end, step) = match parsed {
        Ok(x) => x,
        Err(e) => return err_response(e),
    };
    let store = rt.store.clone();
    let res = tokio::task::spawn_blocking(move || {
        let s = store.read().unwrap_or_else(|e| e.into_inner());
        let engine = Engine::default();
        if range {
            engine.range(&s, &expr, start, end, step)
        } else {
            engine.instant(&s, &expr, start)
        }
    })
    .await;
    match res {
        Ok(Ok(out)) => json_response(StatusCode::OK, encode_query_output(&out, start)),
        Ok(Err(e)) => err_response(PromError::from(&e)),
        Err(e) => err_response(PromError::new(
            crate::api::ErrorType::Internal,
            e.to_string(),
        )),
    }
}

pub async fn query_get(State(rt): State<AppState>, Query(p): Query<Params>) -> Response {
    run_query(rt, p, false).await
}

pub async fn query_post(State(rt): State<AppState>, Form(p): Form<Params>) -> Response {
    run_query(rt, p, false).await
}

pub async fn range_get(State(rt): State<AppState>, Query(p): Query<Params>) -> Response {
    run_query(rt, p, true).await
}

pub async fn range_post(State(rt): State<AppState>, Form(p): Form<Params>) -> Response {
    run_query(rt, p, true).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_print_like_go_e_format() {
        assert_eq!(format_e(1.0), "1e+00");
        assert_eq!(format_e(0.25), "2.5e-01");
        assert_eq!(format_e(12345.0), "1.2345e+04");
        assert_eq!(format_e(f64::INFINITY), "+Inf");
    }
}
