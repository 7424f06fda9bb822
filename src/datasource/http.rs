//! A remote datasource: any server that speaks the Prometheus HTTP query API
//! (Prometheus, VictoriaMetrics, Thanos, Mimir) answers the rule engine's
//! queries.
//!
//! Failure policy, decided in one table ([`classify_status`] plus the
//! transport checks in `attempt`): 5xx, 429 (honouring `Retry-After`) and
//! timeouts are retried with exponential backoff and jitter within a
//! bounded number of attempts and total time; connection refused, DNS
//! failure and other 4xx are reported at once. A 400/422 carrying
//! Prometheus's `{errorType, error}` body is the query's own error, not the
//! server's. Errors name the base URL only: never the query string (extra
//! parameters may hold secrets) nor any credential.
//!
//! The client is reqwest's blocking one, because [`Querier`] is sync; it must
//! not be created or used inside an async runtime.

use super::config::{Auth, DatasourceConfig, SecretError};
use super::querier::{Appender, Querier, QueryError};
use crate::model::{Labels, Sample};
use crate::promql::{Annotations, EvalError, QueryOutput, QueryValue, RangeSeries};
use promql_parser::parser::Expr;
use reqwest::blocking::{Client, Response};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, RETRY_AFTER};
use reqwest::Url;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How hard to try before calling the datasource unreachable.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// Time budget per request, attempts and waits included: no retry is
    /// started that would end past it.
    pub max_elapsed: Duration,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            max_elapsed: Duration::from_secs(60),
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` (attempt counts from 1), or None
    /// when the budget does not allow another. `jitter` in [0, 1) scales the
    /// exponential delay into its upper half so that clients spread out; a
    /// server's `Retry-After` is used as given.
    pub fn next_delay(
        &self,
        attempt: u32,
        elapsed: Duration,
        retry_after: Option<Duration>,
        jitter: f64,
    ) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let delay = retry_after.unwrap_or_else(|| {
            let exp = self
                .initial_backoff
                .saturating_mul(1u32 << (attempt - 1).min(16))
                .min(self.max_backoff);
            exp.mul_f64(0.5 + jitter.clamp(0.0, 1.0) / 2.0)
        });
        (elapsed + delay < self.max_elapsed).then_some(delay)
    }
}

/// What to do with an HTTP status: one table for every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusClass {
    Success,
    /// The server is overloaded or failing: try again later.
    Retry,
    /// The query is at fault (Prometheus's 400 `bad_data`, 422 `execution`).
    QueryError,
    /// Anything else (401, 403, 404, ...): asking again will not help.
    Fail,
}

pub fn classify_status(status: u16) -> StatusClass {
    match status {
        200..=299 => StatusClass::Success,
        429 | 500..=599 => StatusClass::Retry,
        400 | 422 => StatusClass::QueryError,
        _ => StatusClass::Fail,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// The server could not give an answer (after retries, where allowed).
    #[error("{url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// The server rejected the query with Prometheus's error body.
    #[error("{error_type}: {message}")]
    Query {
        status: u16,
        error_type: String,
        message: String,
    },
    /// The server answered something that is not a Prometheus API response.
    #[error("{url}: invalid response: {reason}")]
    BadResponse { url: String, reason: String },
    /// The client could not be built (TLS files, secrets).
    #[error("{url}: {reason}")]
    Build { url: String, reason: String },
}

impl HttpError {
    /// True when the datasource itself failed (as opposed to one query).
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            HttpError::Unreachable { .. } | HttpError::Build { .. }
        )
    }
}

impl From<HttpError> for QueryError {
    fn from(e: HttpError) -> Self {
        match e {
            HttpError::Query { .. } => QueryError::Eval(EvalError::Execution(e.to_string())),
            other => QueryError::Unavailable(other.to_string()),
        }
    }
}

/// A successful answer: the server's JSON as sent, and decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub body: String,
    pub output: QueryOutput,
}

/// One range query the caller will walk step by step (see
/// [`HttpQuerier::plan_range`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct RangePlan {
    start: i64,
    end: i64,
    step: i64,
}

impl RangePlan {
    fn covers(&self, t: i64) -> bool {
        t >= self.start && t <= self.end && (t - self.start) % self.step == 0
    }
}

type RangeKey = (String, RangePlan);

/// Prometheus HTTP API client behind the [`Querier`] seam.
pub struct HttpQuerier {
    client: Client,
    base: Url,
    display_url: String,
    timeout: Duration,
    query_params: Vec<(String, String)>,
    retry: RetryPolicy,
    /// Once the server is unreachable, fail every later query at once with
    /// the same error instead of spending the retry budget again (one-shot
    /// commands such as `check`).
    sticky_unreachable: bool,
    down: Mutex<Option<HttpError>>,
    plans: Mutex<HashMap<String, Vec<RangePlan>>>,
    ranges: Mutex<HashMap<RangeKey, Arc<Result<QueryOutput, HttpError>>>>,
    warnings: Mutex<Vec<(String, String)>>,
}

/// Shows no header or query-parameter values (they may be secrets).
impl std::fmt::Debug for HttpQuerier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpQuerier")
            .field("url", &self.display_url)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl HttpQuerier {
    /// Builds the client: reads secrets and TLS files (I/O).
    pub fn new(cfg: &DatasourceConfig) -> Result<HttpQuerier, HttpError> {
        let display_url = cfg.display_url();
        let build_err = |reason: String| HttpError::Build {
            url: display_url.clone(),
            reason,
        };
        let mut headers = HeaderMap::new();
        for (k, v) in &cfg.headers {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| build_err(format!("invalid header name {k:?}")))?;
            let mut value = HeaderValue::from_str(v)
                .map_err(|_| build_err(format!("invalid value for header {k:?}")))?;
            // Custom headers may carry API keys: keep them out of Debug output.
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        let secret = |r: Result<String, SecretError>| r.map_err(|e| build_err(e.to_string()));
        match &cfg.auth {
            None => {}
            Some(Auth::Bearer(src)) => {
                let token = secret(src.resolve())?;
                let mut v = HeaderValue::from_str(&format!("Bearer {token}"))
                    .map_err(|_| build_err("bearer token is not a valid header value".into()))?;
                v.set_sensitive(true);
                headers.insert(AUTHORIZATION, v);
            }
            Some(Auth::Basic { username, password }) => {
                let password = secret(password.resolve())?;
                let raw = format!("{username}:{password}");
                let mut v = HeaderValue::from_str(&format!("Basic {}", base64(raw.as_bytes())))
                    .map_err(|_| build_err("basic auth is not a valid header value".into()))?;
                v.set_sensitive(true);
                headers.insert(AUTHORIZATION, v);
            }
        }
        let mut builder = Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout)
            .default_headers(headers)
            .user_agent(concat!("alertgate/", env!("CARGO_PKG_VERSION")))
            .danger_accept_invalid_certs(cfg.tls.insecure_skip_verify);
        if let Some(ca) = &cfg.tls.ca_file {
            let pem = std::fs::read(ca).map_err(|e| {
                build_err(format!(
                    "cannot read ca_file {}: {}",
                    ca.display(),
                    e.kind()
                ))
            })?;
            for cert in reqwest::Certificate::from_pem_bundle(&pem).map_err(|_| {
                build_err(format!(
                    "ca_file {}: no valid PEM certificate",
                    ca.display()
                ))
            })? {
                builder = builder.add_root_certificate(cert);
            }
        }
        if let Some((cert, key)) = &cfg.tls.client_cert {
            let mut pem = std::fs::read(cert).map_err(|e| {
                build_err(format!(
                    "cannot read cert_file {}: {}",
                    cert.display(),
                    e.kind()
                ))
            })?;
            pem.push(b'\n');
            pem.extend(std::fs::read(key).map_err(|e| {
                build_err(format!(
                    "cannot read key_file {}: {}",
                    key.display(),
                    e.kind()
                ))
            })?);
            let id = reqwest::Identity::from_pem(&pem).map_err(|_| {
                build_err("cert_file/key_file: not a valid PEM certificate and key".into())
            })?;
            builder = builder.identity(id);
        }
        let client = builder
            .build()
            .map_err(|e| build_err(format!("cannot build HTTP client: {}", innermost(&e))))?;
        Ok(HttpQuerier {
            client,
            base: cfg.url.clone(),
            display_url,
            timeout: cfg.timeout,
            query_params: cfg.query_params.clone(),
            retry: RetryPolicy::default(),
            sticky_unreachable: false,
            down: Mutex::new(None),
            plans: Mutex::new(HashMap::new()),
            ranges: Mutex::new(HashMap::new()),
            warnings: Mutex::new(Vec::new()),
        })
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// After the first "unreachable", fail every later query at once.
    pub fn with_sticky_unreachable(mut self, sticky: bool) -> Self {
        self.sticky_unreachable = sticky;
        self
    }

    /// The base URL as shown in messages.
    pub fn url(&self) -> &str {
        &self.display_url
    }

    /// The error that made the datasource unreachable, if any query hit one.
    pub fn unreachable(&self) -> Option<HttpError> {
        lock(&self.down).clone()
    }

    /// Warnings the server sent, as (expression, warning), each once.
    pub fn take_warnings(&self) -> Vec<(String, String)> {
        std::mem::take(&mut *lock(&self.warnings))
    }

    /// Announces that `expr_text` will be asked at every `step` from `start`
    /// to `end`: the first such instant query fetches the whole range with
    /// one `/api/v1/query_range` request and later ones are answered from
    /// it. A range query evaluates exactly as instant queries at its steps
    /// do, so results do not change; only the number of requests does.
    pub fn plan_range(&self, expr_text: &str, start: i64, end: i64, step: i64) {
        if step <= 0 || end < start {
            return;
        }
        let plan = RangePlan { start, end, step };
        let mut plans = lock(&self.plans);
        let v = plans.entry(expr_text.to_string()).or_default();
        if !v.contains(&plan) {
            v.push(plan);
        }
    }

    /// `/api/v1/query` at `t_ms`.
    pub fn instant_query(&self, expr: &str, t_ms: i64) -> Result<Answer, HttpError> {
        let body = self.request(
            "/api/v1/query",
            &[("query", expr.to_string()), ("time", format_time(t_ms))],
        )?;
        let output = decode(&body, &self.display_url)?;
        self.note_warnings(expr, &output.annotations);
        Ok(Answer { body, output })
    }

    /// `/api/v1/query_range` from `start` to `end` every `step` (all ms).
    pub fn range_query(
        &self,
        expr: &str,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<Answer, HttpError> {
        let body = self.request(
            "/api/v1/query_range",
            &[
                ("query", expr.to_string()),
                ("start", format_time(start)),
                ("end", format_time(end)),
                ("step", format_time(step)),
            ],
        )?;
        let output = decode(&body, &self.display_url)?;
        self.note_warnings(expr, &output.annotations);
        Ok(Answer { body, output })
    }

    fn note_warnings(&self, expr: &str, ann: &Annotations) {
        let mut w = lock(&self.warnings);
        for msg in &ann.warnings {
            let item = (expr.to_string(), msg.clone());
            if !w.contains(&item) {
                w.push(item);
            }
        }
    }

    fn endpoint(&self, path: &str) -> Url {
        let mut u = self.base.clone();
        let joined = format!("{}{}", u.path().trim_end_matches('/'), path);
        u.set_path(&joined);
        if !self.query_params.is_empty() {
            u.query_pairs_mut().extend_pairs(self.query_params.iter());
        }
        u
    }

    /// One API request with the retry policy; returns the body of a 2xx.
    fn request(&self, path: &str, form: &[(&str, String)]) -> Result<String, HttpError> {
        if self.sticky_unreachable {
            if let Some(e) = lock(&self.down).clone() {
                return Err(e);
            }
        }
        let result = self.request_with_retries(path, form);
        if let Err(e) = &result {
            if e.is_unreachable() {
                tracing::warn!(url = %self.display_url, reason = %e, "Datasource unreachable.");
                lock(&self.down).get_or_insert_with(|| e.clone());
            }
        }
        result
    }

    fn request_with_retries(
        &self,
        path: &str,
        form: &[(&str, String)],
    ) -> Result<String, HttpError> {
        let url = self.endpoint(path);
        let started = Instant::now();
        let mut attempt = 1;
        loop {
            let (reason, retry_after) = match self.attempt(&url, form) {
                Outcome::Done(body) => return Ok(body),
                Outcome::Fail(e) => return Err(e),
                Outcome::Retry {
                    reason,
                    retry_after,
                } => (reason, retry_after),
            };
            let unreachable = |why: String| HttpError::Unreachable {
                url: self.display_url.clone(),
                reason: why,
            };
            match self
                .retry
                .next_delay(attempt, started.elapsed(), retry_after, jitter())
            {
                Some(delay) => {
                    tracing::debug!(url = %self.display_url, attempt, reason = %reason, ?delay, "Datasource request failed, will retry.");
                    std::thread::sleep(delay);
                    attempt += 1;
                }
                None if attempt >= self.retry.max_attempts => {
                    let plural = if attempt == 1 { "" } else { "s" };
                    return Err(unreachable(format!("{reason} ({attempt} attempt{plural})")));
                }
                None => {
                    return Err(unreachable(format!(
                        "{reason} (gave up after {attempt} attempts: retry budget of {:?} spent)",
                        self.retry.max_elapsed
                    )))
                }
            }
        }
    }

    fn attempt(&self, url: &Url, form: &[(&str, String)]) -> Outcome {
        let resp = match self.client.post(url.clone()).form(form).send() {
            Ok(r) => r,
            Err(e) => return self.transport_outcome(&e),
        };
        let status = resp.status().as_u16();
        let retry_after = retry_after(&resp);
        let reason_phrase = resp.status().canonical_reason().unwrap_or("").to_string();
        let body = match resp.text() {
            Ok(b) => b,
            Err(e) => return self.transport_outcome(&e),
        };
        let api_error = api_error(&body);
        let describe = || {
            let mut s = format!("HTTP {status} {reason_phrase}")
                .trim_end()
                .to_string();
            if let Some((t, m)) = &api_error {
                s.push_str(&format!(": {t}: {m}"));
            }
            s
        };
        match classify_status(status) {
            StatusClass::Success => Outcome::Done(body),
            StatusClass::Retry => Outcome::Retry {
                reason: describe(),
                retry_after,
            },
            StatusClass::QueryError => match api_error {
                Some((error_type, message)) => Outcome::Fail(HttpError::Query {
                    status,
                    error_type,
                    message,
                }),
                None => Outcome::Fail(HttpError::Unreachable {
                    url: self.display_url.clone(),
                    reason: describe(),
                }),
            },
            StatusClass::Fail => Outcome::Fail(HttpError::Unreachable {
                url: self.display_url.clone(),
                reason: describe(),
            }),
        }
    }

    fn transport_outcome(&self, e: &reqwest::Error) -> Outcome {
        if e.is_timeout() {
            return Outcome::Retry {
                reason: format!("timeout after {:?}", self.timeout),
                retry_after: None,
            };
        }
        let reason = innermost(e);
        if e.is_connect() {
            // Refused or DNS failure: nobody is there; retrying won't help.
            return Outcome::Fail(HttpError::Unreachable {
                url: self.display_url.clone(),
                reason,
            });
        }
        // Reset connections and cut-off bodies are transient.
        Outcome::Retry {
            reason,
            retry_after: None,
        }
    }

    fn planned_answer(&self, expr_text: &str, t_ms: i64) -> Option<Result<QueryOutput, HttpError>> {
        let plan = lock(&self.plans)
            .get(expr_text)?
            .iter()
            .find(|p| p.covers(t_ms))
            .copied()?;
        let key = (expr_text.to_string(), plan);
        let cached = lock(&self.ranges).get(&key).cloned();
        let range = match cached {
            Some(r) => r,
            None => {
                let r = Arc::new(
                    self.range_query(expr_text, plan.start, plan.end, plan.step)
                        .map(|a| a.output),
                );
                lock(&self.ranges).insert(key, r.clone());
                r
            }
        };
        Some(match &*range {
            Err(e) => Err(e.clone()),
            Ok(out) => Ok(at_step(out, t_ms)),
        })
    }
}

impl Querier for HttpQuerier {
    fn instant(&self, _expr: &Expr, expr_text: &str, t_ms: i64) -> Result<QueryOutput, QueryError> {
        if let Some(r) = self.planned_answer(expr_text, t_ms) {
            return r.map_err(QueryError::from);
        }
        Ok(self.instant_query(expr_text, t_ms)?.output)
    }
}

/// Recorded series cannot be written to a query API. They are dropped, as
/// vmalert does without remote write: rules that read recorded series need
/// the server to record them itself.
impl Appender for HttpQuerier {
    fn append(&self, _labels: &Labels, _t_ms: i64, _v: f64) -> Result<(), QueryError> {
        Ok(())
    }
}

enum Outcome {
    Done(String),
    Retry {
        reason: String,
        retry_after: Option<Duration>,
    },
    Fail(HttpError),
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The instant answer at `t` out of a range answer: every series with a
/// point at exactly `t`.
fn at_step(out: &QueryOutput, t: i64) -> QueryOutput {
    let value = match &out.value {
        QueryValue::Matrix(series) => QueryValue::Vector(
            series
                .iter()
                .filter_map(|s| {
                    s.points
                        .binary_search_by_key(&t, |p| p.t)
                        .ok()
                        .map(|i| (s.labels.clone(), s.points[i].v))
                })
                .collect(),
        ),
        other => other.clone(),
    };
    QueryOutput {
        value,
        annotations: out.annotations.clone(),
    }
}

/// Seconds with millisecond precision, as the API takes times and steps.
pub fn format_time(ms: i64) -> String {
    let (s, frac) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    if frac == 0 {
        s.to_string()
    } else {
        format!("{s}.{frac:03}")
    }
}

/// `Retry-After` in seconds (the HTTP-date form is rare for APIs; ignored).
fn retry_after(resp: &Response) -> Option<Duration> {
    let v = resp.headers().get(RETRY_AFTER)?.to_str().ok()?;
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// The deepest cause of a transport error. reqwest's own message embeds the
/// full URL, query string included, so it is never used.
fn innermost(e: &reqwest::Error) -> String {
    let mut cur: &dyn std::error::Error = e;
    let mut depth = 0;
    let mut dns = false;
    while let Some(next) = cur.source() {
        dns |= next.to_string().contains("dns error");
        cur = next;
        depth += 1;
    }
    if depth == 0 {
        return "request failed".into();
    }
    if let Some(io) = cur.downcast_ref::<std::io::Error>() {
        if io.kind() == std::io::ErrorKind::ConnectionRefused {
            return "connection refused".into();
        }
    }
    if dns {
        format!("DNS lookup failed: {cur}")
    } else {
        cur.to_string()
    }
}

/// A jitter factor in [0, 1) without a clock or an RNG crate: std's
/// randomly seeded hasher.
fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(0);
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Prometheus's `{"status": "error", "errorType": ..., "error": ...}`.
fn api_error(body: &str) -> Option<(String, String)> {
    let doc: Value = serde_json::from_str(body).ok()?;
    if doc.get("status")?.as_str()? != "error" {
        return None;
    }
    let t = doc
        .get("errorType")
        .and_then(Value::as_str)
        .unwrap_or("error");
    let m = doc.get("error").and_then(Value::as_str).unwrap_or("");
    Some((t.to_string(), m.to_string()))
}

/// Decodes a successful `/api/v1/query(_range)` body.
pub fn decode(body: &str, url: &str) -> Result<QueryOutput, HttpError> {
    let bad = |reason: String| HttpError::BadResponse {
        url: url.to_string(),
        reason,
    };
    let doc: Value = serde_json::from_str(body).map_err(|e| bad(format!("not JSON: {e}")))?;
    if doc.get("status").and_then(Value::as_str) != Some("success") {
        if let Some((t, m)) = api_error(body) {
            return Err(HttpError::Query {
                status: 200,
                error_type: t,
                message: m,
            });
        }
        return Err(bad("status is not \"success\"".into()));
    }
    let strings = |key: &str| -> Vec<String> {
        doc.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|w| w.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut annotations = Annotations::default();
    for w in strings("warnings") {
        annotations.warn(w);
    }
    for i in strings("infos") {
        annotations.info(i);
    }
    let data = doc.get("data").ok_or_else(|| bad("no data".into()))?;
    let result = data
        .get("result")
        .ok_or_else(|| bad("no data.result".into()))?;
    let value = match data.get("resultType").and_then(Value::as_str) {
        Some("vector") => {
            let mut v = Vec::new();
            for item in result
                .as_array()
                .ok_or_else(|| bad("vector result is not an array".into()))?
            {
                let labels = metric(item).map_err(&bad)?;
                let (_, x) = point(item.get("value"))
                    .ok_or_else(|| native_or_bad(item, "value"))
                    .map_err(&bad)?;
                v.push((labels, x));
            }
            QueryValue::Vector(v)
        }
        Some("matrix") => {
            let mut m = Vec::new();
            for item in result
                .as_array()
                .ok_or_else(|| bad("matrix result is not an array".into()))?
            {
                let labels = metric(item).map_err(&bad)?;
                let values = item
                    .get("values")
                    .and_then(Value::as_array)
                    .ok_or_else(|| native_or_bad(item, "values"))
                    .map_err(&bad)?;
                let points = values
                    .iter()
                    .map(|p| point(Some(p)).map(|(t, v)| Sample { t, v }))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| bad(format!("bad sample in {item}")))?;
                m.push(RangeSeries {
                    labels,
                    points,
                    drop_name: false,
                });
            }
            QueryValue::Matrix(m)
        }
        Some("scalar") => {
            let (t, v) = point(Some(result)).ok_or_else(|| bad(format!("bad scalar {result}")))?;
            QueryValue::Scalar { t, v }
        }
        Some("string") => {
            let pair = result.as_array().filter(|a| a.len() == 2);
            let (t, s) = pair
                .and_then(|a| Some((time_ms(&a[0])?, a[1].as_str()?.to_string())))
                .ok_or_else(|| bad(format!("bad string {result}")))?;
            QueryValue::String { t, s }
        }
        other => return Err(bad(format!("unknown resultType {other:?}"))),
    };
    Ok(QueryOutput { value, annotations })
}

fn native_or_bad(item: &Value, key: &str) -> String {
    if item.get("histogram").is_some() || item.get("histograms").is_some() {
        "native histogram samples are not supported".into()
    } else {
        format!("no {key} in {item}")
    }
}

fn metric(item: &Value) -> Result<Labels, String> {
    let m = item
        .get("metric")
        .and_then(Value::as_object)
        .ok_or_else(|| format!("no metric in {item}"))?;
    let mut pairs = Vec::with_capacity(m.len());
    for (k, v) in m {
        pairs.push((
            k.as_str(),
            v.as_str()
                .ok_or_else(|| format!("label {k} is not a string"))?,
        ));
    }
    Ok(Labels::from_pairs(pairs))
}

/// `[unix_seconds, "value"]`.
fn point(v: Option<&Value>) -> Option<(i64, f64)> {
    let a = v?.as_array()?;
    if a.len() != 2 {
        return None;
    }
    let t = time_ms(&a[0])?;
    let x = match a[1].as_str()? {
        "NaN" => f64::NAN,
        "+Inf" | "Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        s => s.parse().ok()?,
    };
    Some((t, x))
}

fn time_ms(v: &Value) -> Option<i64> {
    Some((v.as_f64()? * 1000.0).round() as i64)
}

/// Standard base64 (RFC 4648) for the basic-auth header.
fn base64(input: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_table() {
        assert_eq!(classify_status(200), StatusClass::Success);
        assert_eq!(classify_status(429), StatusClass::Retry);
        assert_eq!(classify_status(503), StatusClass::Retry);
        assert_eq!(classify_status(500), StatusClass::Retry);
        assert_eq!(classify_status(400), StatusClass::QueryError);
        assert_eq!(classify_status(422), StatusClass::QueryError);
        assert_eq!(classify_status(401), StatusClass::Fail);
        assert_eq!(classify_status(404), StatusClass::Fail);
    }

    #[test]
    fn backoff_grows_is_jittered_and_bounded() {
        let p = RetryPolicy {
            max_attempts: 5,
            max_elapsed: Duration::from_secs(10),
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(300),
        };
        let z = Duration::ZERO;
        assert_eq!(
            p.next_delay(1, z, None, 0.0),
            Some(Duration::from_millis(50))
        );
        assert_eq!(
            p.next_delay(1, z, None, 1.0),
            Some(Duration::from_millis(100))
        );
        assert_eq!(
            p.next_delay(2, z, None, 1.0),
            Some(Duration::from_millis(200))
        );
        // Capped at max_backoff.
        assert_eq!(
            p.next_delay(4, z, None, 1.0),
            Some(Duration::from_millis(300))
        );
        // Out of attempts.
        assert_eq!(p.next_delay(5, z, None, 0.0), None);
        // Retry-After is honoured as given...
        assert_eq!(
            p.next_delay(1, z, Some(Duration::from_secs(2)), 0.5),
            Some(Duration::from_secs(2))
        );
        // ...unless it would end past the budget.
        assert_eq!(
            p.next_delay(1, Duration::from_secs(9), Some(Duration::from_secs(2)), 0.5),
            None
        );
    }

    #[test]
    fn jitter_is_in_range() {
        for _ in 0..100 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j));
        }
    }

    #[test]
    fn decodes_vector_with_warnings() {
        let body = r#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"__name__":"up","job":"a"},"value":[1741079400.5,"1"]},
            {"metric":{},"value":[1741079400.5,"-Inf"]}]},
            "warnings":["PromQL warning: something"],"infos":["PromQL info: x"]}"#;
        let out = decode(body, "http://x").unwrap();
        let QueryValue::Vector(v) = &out.value else {
            panic!("{out:?}")
        };
        assert_eq!(v[0].0.to_string(), r#"up{job="a"}"#);
        assert_eq!(v[0].1, 1.0);
        assert_eq!(v[1].1, f64::NEG_INFINITY);
        assert_eq!(out.annotations.warnings, vec!["PromQL warning: something"]);
        assert_eq!(out.annotations.infos, vec!["PromQL info: x"]);
    }

    #[test]
    fn decodes_matrix_scalar_and_string() {
        let m = r#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"a":"b"},"values":[[60,"1"],[120,"NaN"]]}]}}"#;
        let out = decode(m, "u").unwrap();
        let QueryValue::Matrix(s) = &out.value else {
            panic!()
        };
        assert_eq!(s[0].points[0], Sample { t: 60_000, v: 1.0 });
        assert!(s[0].points[1].v.is_nan());
        let at = at_step(&out, 60_000);
        assert_eq!(
            at.value,
            QueryValue::Vector(vec![(Labels::from_pairs([("a", "b")]), 1.0)])
        );
        assert_eq!(at_step(&out, 90_000).value, QueryValue::Vector(vec![]));

        let s = r#"{"status":"success","data":{"resultType":"scalar","result":[1.5,"2"]}}"#;
        assert_eq!(
            decode(s, "u").unwrap().value,
            QueryValue::Scalar { t: 1500, v: 2.0 }
        );
        let s = r#"{"status":"success","data":{"resultType":"string","result":[1,"hi"]}}"#;
        assert_eq!(
            decode(s, "u").unwrap().value,
            QueryValue::String {
                t: 1000,
                s: "hi".into()
            }
        );
    }

    #[test]
    fn decode_rejects_garbage_and_native_histograms() {
        assert!(matches!(
            decode("<html>", "u"),
            Err(HttpError::BadResponse { .. })
        ));
        let h = r#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{},"histogram":[1,{"count":"1"}]}]}}"#;
        let e = decode(h, "u").unwrap_err();
        assert!(e.to_string().contains("native histogram"), "{e}");
    }

    #[test]
    fn api_errors_become_query_errors() {
        let body = r#"{"status":"error","errorType":"bad_data","error":"1:5: parse error"}"#;
        assert_eq!(
            api_error(body),
            Some(("bad_data".into(), "1:5: parse error".into()))
        );
        let e = HttpError::Query {
            status: 400,
            error_type: "bad_data".into(),
            message: "1:5: parse error".into(),
        };
        assert_eq!(
            QueryError::from(e).to_string(),
            "bad_data: 1:5: parse error"
        );
    }

    #[test]
    fn times_are_seconds() {
        assert_eq!(format_time(1_741_079_400_000), "1741079400");
        assert_eq!(format_time(1_500), "1.500");
        assert_eq!(format_time(60_005), "60.005");
    }

    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
    }

    #[test]
    fn range_plans_cover_their_grid_only() {
        let p = RangePlan {
            start: 0,
            end: 120,
            step: 60,
        };
        assert!(p.covers(0) && p.covers(60) && p.covers(120));
        assert!(!p.covers(30) && !p.covers(180) && !p.covers(-60));
    }
}
