//! The HTTP API (axum): health, readiness and self-metrics, the
//! Prometheus-compatible read API, the Alertmanager-compatible alert and
//! silence API, reload, and the status page. Writes (POST, PUT, DELETE;
//! queries excepted) need the `web.auth` bearer token when one is set.
//! Bodies are limited and every request has a timeout.

pub mod am_api;
pub mod health;
pub mod prom_api;

use super::runtime::Runtime;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use std::sync::Arc;
use std::time::Duration;

pub type AppState = Arc<Runtime>;

/// One error type for handlers: the client gets a short message and the
/// status; details stay in the log.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn bad_request(m: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: m.into(),
        }
    }
    pub fn not_found(m: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message: m.into(),
        }
    }
    pub fn internal(m: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: m.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"status": "error", "error": self.message});
        (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response()
    }
}

pub fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Compares without an early exit, so timing does not reveal the token.
fn token_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn is_write(method: &Method, path: &str) -> bool {
    let write = matches!(
        *method,
        Method::POST | Method::PUT | Method::DELETE | Method::PATCH
    );
    // Prometheus clients POST queries as forms; they are reads.
    write && !path.starts_with("/api/v1/query")
}

async fn auth(State(rt): State<AppState>, req: Request, next: Next) -> Response {
    if is_write(req.method(), req.uri().path()) {
        if let Some(token) = rt.loaded().write_token.clone() {
            let given = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or("");
            if !token_eq(given.as_bytes(), token.as_bytes()) {
                return Response::builder()
                    .status(StatusCode::UNAUTHORIZED)
                    .header(header::WWW_AUTHENTICATE, "Bearer")
                    .body(Body::from("unauthorized\n"))
                    .unwrap_or_default();
            }
        }
    }
    next.run(req).await
}

async fn timeout(State(rt): State<AppState>, req: Request, next: Next) -> Response {
    let ms = rt.loaded().config.web.request_timeout_ms.max(1) as u64;
    match tokio::time::timeout(Duration::from_millis(ms), next.run(req)).await {
        Ok(r) => r,
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "request timed out\n").into_response(),
    }
}

async fn status_page(State(rt): State<AppState>) -> Response {
    let html = super::status_page::render(&rt, (rt.now)());
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

/// The whole API.
pub fn router(rt: AppState) -> Router {
    let limit = rt.loaded().config.web.max_request_bytes;
    Router::new()
        .route("/", get(status_page))
        .route("/healthz", get(health::healthz))
        .route("/-/healthy", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/-/ready", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/-/reload", post(health::reload))
        .route("/api/v1/rules", get(prom_api::rules))
        .route("/api/v1/alerts", get(prom_api::alerts))
        .route(
            "/api/v1/query",
            get(prom_api::query_get).post(prom_api::query_post),
        )
        .route(
            "/api/v1/query_range",
            get(prom_api::range_get).post(prom_api::range_post),
        )
        .route(
            "/api/v2/alerts",
            post(am_api::post_alerts).get(am_api::get_alerts),
        )
        .route(
            "/api/v2/silences",
            get(am_api::get_silences).post(am_api::post_silence),
        )
        .route("/api/v2/silences/{id}", delete(am_api::delete_silence))
        .route(
            "/api/v2/silence/{id}",
            get(am_api::get_silence).delete(am_api::delete_silence),
        )
        .route("/api/v2/status", get(am_api::status))
        .layer(middleware::from_fn_with_state(rt.clone(), auth))
        .layer(middleware::from_fn_with_state(rt.clone(), timeout))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(rt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_need_the_token_but_queries_do_not() {
        assert!(is_write(&Method::POST, "/api/v2/alerts"));
        assert!(is_write(&Method::DELETE, "/api/v2/silence/x"));
        assert!(!is_write(&Method::POST, "/api/v1/query"));
        assert!(!is_write(&Method::GET, "/api/v2/silences"));
        assert!(token_eq(b"abc", b"abc"));
        assert!(!token_eq(b"abc", b"abd"));
        assert!(!token_eq(b"abc", b"ab"));
    }
}
