//! The Prometheus HTTP datasource against a local HTTP server that records
//! what arrives and answers canned bodies: retry policy (400/422 at once,
//! 503/429/timeouts retried within the budget, connection refused at once),
//! credentials and headers sent as configured, range planning, and secrets
//! never reaching error messages or logs.

use alertgate::datasource::config::{parse_str, DatasourceConfig};
use alertgate::datasource::http::{HttpError, HttpQuerier, RetryPolicy};
use alertgate::datasource::{Querier, QueryError};
use alertgate::model::Labels;
use alertgate::promql::QueryValue;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// Path and query string.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A form field of the (url-encoded) body.
    pub fn form(&self, key: &str) -> Option<String> {
        self.body.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k == key).then(|| percent_decode(v))
        })
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// What the server does with a request.
pub enum Reply {
    /// Status, extra header lines, body.
    Status(u16, Vec<(String, String)>, String),
    /// Reads the request, then says nothing for this long.
    Hang(Duration),
}

pub fn json(status: u16, body: &str) -> Reply {
    Reply::Status(status, Vec::new(), body.to_string())
}

type Responder = dyn Fn(usize, &Seen) -> Reply + Send + Sync;

/// A loopback HTTP/1.1 server; one thread per connection; stops on drop.
pub struct TestServer {
    pub port: u16,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
}

impl TestServer {
    pub fn start(responder: impl Fn(usize, &Seen) -> Reply + Send + Sync + 'static) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let responder: Arc<Responder> = Arc::new(responder);
        let (seen2, stop2) = (seen.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let (seen, responder, stop) =
                            (seen2.clone(), responder.clone(), stop2.clone());
                        std::thread::spawn(move || serve(conn, &seen, &*responder, &stop));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        TestServer { port, seen, stop }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn serve(conn: TcpStream, seen: &Mutex<Vec<Seen>>, responder: &Responder, stop: &AtomicBool) {
    conn.set_nonblocking(false).ok();
    conn.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut reader = BufReader::new(conn.try_clone().expect("clone"));
    // Keep-alive: serve requests until the client closes.
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let target = parts.next().unwrap_or_default().to_string();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let req = Seen {
            method,
            target,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        };
        let n = {
            let mut s = seen.lock().unwrap();
            s.push(req.clone());
            s.len() - 1
        };
        match responder(n, &req) {
            Reply::Hang(d) => {
                let until = Instant::now() + d;
                while Instant::now() < until && !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(20));
                }
                return;
            }
            Reply::Status(code, extra, body) => {
                let mut out = format!(
                    "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
                    body.len()
                );
                for (k, v) in extra {
                    out.push_str(&format!("{k}: {v}\r\n"));
                }
                out.push_str("\r\n");
                out.push_str(&body);
                let mut w = &conn;
                if w.write_all(out.as_bytes()).is_err() {
                    return;
                }
            }
        }
    }
}

pub const VECTOR_OK: &str = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"a"},"value":[1741079400,"1"]}]}}"#;
const AT: i64 = 1_741_079_400_000;

fn config(yaml: &str) -> DatasourceConfig {
    parse_str(yaml, "alertgate.yml")
        .unwrap_or_else(|e| panic!("{e}"))
        .expect("datasource section")
}

fn quick_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        max_elapsed: Duration::from_secs(30),
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(50),
    }
}

fn querier(url: &str, extra: &str) -> HttpQuerier {
    HttpQuerier::new(&config(&format!("datasource:\n  url: {url}\n{extra}")))
        .expect("build")
        .with_retry(quick_retry())
}

fn ask(q: &HttpQuerier, expr: &str) -> Result<alertgate::promql::QueryOutput, QueryError> {
    let parsed =
        alertgate::promql::parse(expr).unwrap_or_else(|_| alertgate::promql::parse("up").unwrap());
    q.instant(&parsed, expr, AT)
}

#[test]
fn instant_query_sends_expression_and_time_and_decodes() {
    let srv = TestServer::start(|_, _| json(200, VECTOR_OK));
    let q = querier(&format!("{}/prom/", srv.url()), "");
    let out = ask(&q, "up == 1").expect("answer");
    assert_eq!(
        out.value,
        QueryValue::Vector(vec![(
            Labels::from_pairs([("__name__", "up"), ("job", "a")]),
            1.0
        )])
    );
    let r = &srv.requests()[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.target, "/prom/api/v1/query");
    assert_eq!(r.form("query").as_deref(), Some("up == 1"));
    assert_eq!(r.form("time").as_deref(), Some("1741079400"));
}

#[test]
fn bad_query_400_is_the_rules_error_and_not_retried() {
    let srv = TestServer::start(|_, _| {
        json(
            400,
            r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:4: parse error: unexpected end of input"}"#,
        )
    });
    let q = querier(&srv.url(), "");
    let e = ask(&q, "up +").unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"bad_data: invalid parameter "query": 1:4: parse error: unexpected end of input"#
    );
    assert!(matches!(e, QueryError::Eval(_)), "{e:?}");
    assert_eq!(srv.requests().len(), 1);
    assert_eq!(q.unreachable(), None);
}

#[test]
fn execution_error_422_is_the_rules_error_and_not_retried() {
    let srv = TestServer::start(|_, _| {
        json(
            422,
            r#"{"status":"error","errorType":"execution","error":"vector cannot contain metrics with the same labelset"}"#,
        )
    });
    let q = querier(&srv.url(), "");
    let e = ask(&q, "up").unwrap_err();
    assert_eq!(
        e.to_string(),
        "execution: vector cannot contain metrics with the same labelset"
    );
    assert_eq!(srv.requests().len(), 1);
    assert_eq!(q.unreachable(), None);
}

#[test]
fn unavailable_503_is_retried_then_unreachable() {
    let srv = TestServer::start(|_, _| {
        json(
            503,
            r#"{"status":"error","errorType":"unavailable","error":"TSDB not ready"}"#,
        )
    });
    let q = querier(&srv.url(), "");
    let e = ask(&q, "up").unwrap_err();
    assert_eq!(srv.requests().len(), 3);
    let u = q.unreachable().expect("unreachable");
    assert_eq!(
        u.to_string(),
        format!(
            "{}: HTTP 503 Service Unavailable: unavailable: TSDB not ready (3 attempts)",
            srv.url()
        )
    );
    assert_eq!(e.to_string(), format!("datasource unavailable: {u}"));
}

#[test]
fn a_transient_503_recovers() {
    let srv = TestServer::start(|n, _| {
        if n == 0 {
            json(503, "")
        } else {
            json(200, VECTOR_OK)
        }
    });
    let q = querier(&srv.url(), "");
    assert!(ask(&q, "up").is_ok());
    assert_eq!(srv.requests().len(), 2);
}

#[test]
fn too_many_requests_honours_retry_after() {
    let srv = TestServer::start(|n, _| {
        if n == 0 {
            Reply::Status(429, vec![("Retry-After".into(), "1".into())], String::new())
        } else {
            json(200, VECTOR_OK)
        }
    });
    let q = querier(&srv.url(), "");
    let t0 = Instant::now();
    assert!(ask(&q, "up").is_ok());
    // The backoff alone would be under 50ms.
    assert!(t0.elapsed() >= Duration::from_secs(1), "{:?}", t0.elapsed());
    assert_eq!(srv.requests().len(), 2);
}

#[test]
fn retry_after_beyond_the_budget_gives_up_at_once() {
    let srv = TestServer::start(|_, _| {
        Reply::Status(
            429,
            vec![("Retry-After".into(), "3600".into())],
            String::new(),
        )
    });
    let q = querier(&srv.url(), "");
    let t0 = Instant::now();
    let e = q.instant_query("up", AT).unwrap_err();
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert_eq!(srv.requests().len(), 1);
    assert!(e.to_string().contains("HTTP 429 Too Many Requests"), "{e}");
    assert!(e.to_string().contains("retry budget"), "{e}");
}

#[test]
fn a_hang_past_the_timeout_is_retried_then_unreachable() {
    let srv = TestServer::start(|_, _| Reply::Hang(Duration::from_secs(5)));
    let q = querier(&srv.url(), "  timeout: 300ms\n");
    let t0 = Instant::now();
    let e = q.instant_query("up", AT).unwrap_err();
    let took = t0.elapsed();
    assert_eq!(srv.requests().len(), 3);
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert_eq!(
        e.to_string(),
        format!("{}: timeout after 300ms (3 attempts)", srv.url())
    );
}

#[test]
fn connection_refused_is_reported_at_once() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let q = HttpQuerier::new(&config(&format!(
        "datasource:\n  url: http://127.0.0.1:{port}\n"
    )))
    .unwrap()
    .with_retry(RetryPolicy {
        initial_backoff: Duration::from_secs(10),
        max_backoff: Duration::from_secs(10),
        ..quick_retry()
    });
    let t0 = Instant::now();
    let e = q.instant_query("up", AT).unwrap_err();
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "retried: {:?}",
        t0.elapsed()
    );
    assert_eq!(
        e,
        HttpError::Unreachable {
            url: format!("http://127.0.0.1:{port}"),
            reason: "connection refused".into()
        }
    );
}

#[test]
fn dns_failure_is_reported_at_once() {
    // `.invalid` never resolves (RFC 2606), so no packet leaves the machine
    // beyond the local resolver.
    let q = querier("http://alertgate-test.invalid:9090", "");
    let t0 = Instant::now();
    let e = q.instant_query("up", AT).unwrap_err();
    assert!(t0.elapsed() < Duration::from_secs(10));
    assert!(e.is_unreachable(), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("http://alertgate-test.invalid:9090: DNS lookup failed"),
        "{e}"
    );
}

#[test]
fn after_unreachable_a_sticky_querier_fails_fast() {
    let srv = TestServer::start(|_, _| json(503, ""));
    let q = querier(&srv.url(), "").with_sticky_unreachable(true);
    assert!(ask(&q, "up").is_err());
    assert!(ask(&q, "down").is_err());
    assert_eq!(srv.requests().len(), 3);
}

#[test]
fn unauthorized_is_not_retried() {
    let srv = TestServer::start(|_, _| json(401, "no"));
    let q = querier(&srv.url(), "");
    let e = q.instant_query("up", AT).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{}: HTTP 401 Unauthorized", srv.url())
    );
    assert_eq!(srv.requests().len(), 1);
}

#[test]
fn bearer_token_from_env_and_headers_and_params_arrive() {
    std::env::set_var("ALERTGATE_TEST_BEARER_1", "tok-from-env");
    let srv = TestServer::start(|_, _| json(200, VECTOR_OK));
    let q = querier(
        &format!("{}/select/0/prometheus?tenant=t1", srv.url()),
        "  bearer_token_env: ALERTGATE_TEST_BEARER_1\n  headers: {X-Scope-OrgID: team-a, X-Extra: '1'}\n  query_params: {nocache: '1'}\n",
    );
    ask(&q, "up").unwrap();
    let r = &srv.requests()[0];
    assert_eq!(r.header("authorization"), Some("Bearer tok-from-env"));
    assert_eq!(r.header("x-scope-orgid"), Some("team-a"));
    assert_eq!(r.header("x-extra"), Some("1"));
    assert_eq!(
        r.target,
        "/select/0/prometheus/api/v1/query?tenant=t1&nocache=1"
    );
}

#[test]
fn bearer_token_and_basic_password_from_files_arrive() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), "tok-from-file\n").unwrap();
    std::fs::write(dir.path().join("pw"), "pa:ss wörd\n").unwrap();
    let srv = TestServer::start(|_, _| json(200, VECTOR_OK));
    let q = querier(
        &srv.url(),
        &format!(
            "  bearer_token_file: {}\n",
            dir.path().join("token").display()
        ),
    );
    ask(&q, "up").unwrap();
    let q = querier(
        &srv.url(),
        &format!(
            "  basic_auth:\n    username: alice\n    password_file: {}\n",
            dir.path().join("pw").display()
        ),
    );
    ask(&q, "up").unwrap();
    let seen = srv.requests();
    assert_eq!(
        seen[0].header("authorization"),
        Some("Bearer tok-from-file")
    );
    // base64("alice:pa:ss wörd"), computed independently (coreutils base64).
    assert_eq!(
        seen[1].header("authorization"),
        Some("Basic YWxpY2U6cGE6c3Mgd8O2cmQ=")
    );
}

#[test]
fn basic_auth_password_from_env_arrives() {
    std::env::set_var("ALERTGATE_TEST_BASIC_PW_1", "open sesame");
    let srv = TestServer::start(|_, _| json(200, VECTOR_OK));
    let q = querier(
        &srv.url(),
        "  basic_auth: {username: bob, password_env: ALERTGATE_TEST_BASIC_PW_1}\n",
    );
    ask(&q, "up").unwrap();
    // base64("bob:open sesame")
    assert_eq!(
        srv.requests()[0].header("authorization"),
        Some("Basic Ym9iOm9wZW4gc2VzYW1l")
    );
}

#[test]
fn range_plan_answers_steps_from_one_range_query() {
    let body = r#"{"status":"success","data":{"resultType":"matrix","result":[
        {"metric":{"i":"a"},"values":[[1741079340,"1"],[1741079400,"2"]]},
        {"metric":{"i":"b"},"values":[[1741079400,"3"]]}]}}"#;
    let srv = TestServer::start(move |_, _| json(200, body));
    let q = querier(&srv.url(), "");
    q.plan_range("x > 0", AT - 60_000, AT, 60_000);
    let first = ask(&q, "x > 0").unwrap();
    let second = ask(&q, "x > 0").unwrap();
    assert_eq!(first, second);
    let earlier = q
        .instant(
            &alertgate::promql::parse("x > 0").unwrap(),
            "x > 0",
            AT - 60_000,
        )
        .unwrap();
    assert_eq!(
        earlier.value,
        QueryValue::Vector(vec![(Labels::from_pairs([("i", "a")]), 1.0)])
    );
    let QueryValue::Vector(v) = first.value else {
        panic!()
    };
    assert_eq!(v.len(), 2);
    let seen = srv.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].target, "/api/v1/query_range");
    assert_eq!(seen[0].form("start").as_deref(), Some("1741079340"));
    assert_eq!(seen[0].form("end").as_deref(), Some("1741079400"));
    assert_eq!(seen[0].form("step").as_deref(), Some("60"));
}

#[test]
fn server_warnings_are_kept_for_the_caller() {
    let body = r#"{"status":"success","data":{"resultType":"vector","result":[]},"warnings":["PromQL warning: metric might not be a counter"]}"#;
    let srv = TestServer::start(move |_, _| json(200, body));
    let q = querier(&srv.url(), "");
    ask(&q, "rate(x[5m])").unwrap();
    assert_eq!(
        q.take_warnings(),
        vec![(
            "rate(x[5m])".to_string(),
            "PromQL warning: metric might not be a counter".to_string()
        )]
    );
}

/// Every failure mode, with a bearer token, a basic-auth password and a
/// secret query parameter configured: none of them may appear in an error
/// message, a `{:?}` of the config or client, or the logs.
#[test]
fn secrets_never_appear_in_errors_or_logs() {
    const TOKEN: &str = "tok-5ecret-XYZ";
    const PASSWORD: &str = "pw-5ecret-XYZ";
    const PARAM: &str = "param-5ecret-XYZ";
    std::env::set_var("ALERTGATE_TEST_LEAK_TOKEN", TOKEN);
    std::env::set_var("ALERTGATE_TEST_LEAK_PW", PASSWORD);
    let replies: [fn() -> Reply; 5] = [
        || {
            json(
                400,
                r#"{"status":"error","errorType":"bad_data","error":"bad"}"#,
            )
        },
        || json(503, ""),
        || json(401, ""),
        || json(200, "<html>"),
        || Reply::Hang(Duration::from_secs(2)),
    ];
    let logs = Arc::new(Mutex::new(Vec::<u8>::new()));
    let writer = {
        let logs = logs.clone();
        move || LogWriter(logs.clone())
    };
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(writer)
        .with_ansi(false)
        .finish();
    let mut texts = Vec::new();
    tracing::subscriber::with_default(subscriber, || {
        for reply in replies {
            let srv = TestServer::start(move |_, _| reply());
            for auth in [
                "  bearer_token_env: ALERTGATE_TEST_LEAK_TOKEN\n",
                "  basic_auth: {username: u, password_env: ALERTGATE_TEST_LEAK_PW}\n",
            ] {
                let cfg = config(&format!(
                    "datasource:\n  url: {}\n  timeout: 200ms\n{auth}  query_params: {{api_key: {PARAM}}}\n",
                    srv.url()
                ));
                texts.push(format!("{cfg:?}"));
                let q = HttpQuerier::new(&cfg).unwrap().with_retry(quick_retry());
                texts.push(format!("{q:?}"));
                let e = ask(&q, "up").unwrap_err();
                texts.push(e.to_string());
                texts.push(format!("{e:?}"));
                if let Some(u) = q.unreachable() {
                    texts.push(u.to_string());
                }
            }
            // The secrets did reach the server.
            let seen = srv.requests();
            assert!(seen
                .iter()
                .any(|r| r.header("authorization") == Some(&format!("Bearer {TOKEN}"))));
            assert!(seen.iter().all(|r| r.target.contains(PARAM)));
        }
    });
    texts.push(String::from_utf8_lossy(&logs.lock().unwrap()).into_owned());
    let all = texts.join("\n");
    assert!(
        all.contains("Datasource unreachable"),
        "no logs captured:\n{all}"
    );
    for secret in [TOKEN, PASSWORD, PARAM, "dTpwdy01ZWNyZXQtWFla"] {
        assert!(!all.contains(secret), "{secret} leaked:\n{all}");
    }
}

#[derive(Clone)]
struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
