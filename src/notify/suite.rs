//! The shared notifier test suite: every notifier passes the same checks
//! (retry table, secret redaction, timeout, send_resolved) against a local
//! HTTP or SMTP server, as upstream's notify/test/test.go does.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::ctx::NotifyCtx;
use super::error::NotifyError;
use super::notifier::Notifier;
use super::pipeline::deliver;
use crate::model::Labels;
use crate::routing::Alert;

/// A request as a local server received it.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Answers every request with `code` after `delay`, recording it.
pub struct Server {
    pub addr: String,
    pub requests: Arc<Mutex<Vec<Request>>>,
}

#[derive(Clone, Copy, PartialEq)]
pub enum Proto {
    Http,
    Smtp,
}

impl Server {
    pub fn start(proto: Proto, code: u16, delay: Duration) -> Server {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let r = requests.clone();
        std::thread::spawn(move || {
            for s in l.incoming().flatten() {
                let r = r.clone();
                std::thread::spawn(move || {
                    let _ = match proto {
                        Proto::Http => serve_http(s, code, delay, &r),
                        Proto::Smtp => serve_smtp(s, code, delay, &r),
                    };
                });
            }
        });
        Server { addr, requests }
    }

    pub fn received(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

fn serve_http(
    s: TcpStream,
    code: u16,
    delay: Duration,
    rec: &Mutex<Vec<Request>>,
) -> std::io::Result<()> {
    let mut rd = BufReader::new(s.try_clone()?);
    let mut line = String::new();
    rd.read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        line.clear();
        rd.read_line(&mut line)?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    rd.read_exact(&mut body)?;
    rec.lock().unwrap().push(Request {
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    std::thread::sleep(delay);
    let mut s = s;
    write!(
        s,
        "HTTP/1.1 {code} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
    )
}

/// A minimal SMTP server; `code` answers RCPT (250 accepts).
fn serve_smtp(
    s: TcpStream,
    code: u16,
    delay: Duration,
    rec: &Mutex<Vec<Request>>,
) -> std::io::Result<()> {
    std::thread::sleep(delay);
    let mut w = s.try_clone()?;
    let mut rd = BufReader::new(s);
    write!(w, "220 fake ESMTP\r\n")?;
    let mut line = String::new();
    loop {
        line.clear();
        if rd.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let cmd = line.to_ascii_uppercase();
        if cmd.starts_with("EHLO") {
            write!(w, "250-fake\r\n250 AUTH PLAIN LOGIN\r\n")?;
        } else if cmd.starts_with("AUTH") {
            write!(w, "235 ok\r\n")?;
        } else if cmd.starts_with("RCPT") {
            write!(w, "{code} rcpt\r\n")?;
        } else if cmd.starts_with("DATA") {
            write!(w, "354 go\r\n")?;
            let mut body = String::new();
            loop {
                line.clear();
                rd.read_line(&mut line)?;
                if line == ".\r\n" || line.is_empty() {
                    break;
                }
                body.push_str(&line);
            }
            rec.lock().unwrap().push(Request {
                body,
                ..Default::default()
            });
            write!(w, "250 queued\r\n")?;
        } else if cmd.starts_with("QUIT") {
            write!(w, "221 bye\r\n")?;
            return Ok(());
        } else {
            write!(w, "250 ok\r\n")?;
        }
    }
}

/// What a notifier factory gets.
pub struct Setup {
    /// `127.0.0.1:PORT` of the local server.
    pub addr: String,
    /// Put this secret where the notifier keeps one (URL, key, password).
    pub secret: &'static str,
    pub timeout_ms: i64,
    pub send_resolved: bool,
}

pub const SECRET: &str = "s3cr3t-token-abc123";

pub fn ctx(resolved_only: bool) -> NotifyCtx {
    let mut a = Alert::firing(
        Labels::from_pairs([
            ("alertname", "Suite"),
            ("severity", "critical"),
            ("tenant_id", "t1"),
        ]),
        1_700_000_000_000,
    );
    a.annotations
        .insert("summary".into(), "suite summary".into());
    let (firing, resolved) = if resolved_only {
        a.ends_at = Some(1_700_000_030_000);
        (vec![], vec![a])
    } else {
        (vec![a], vec![])
    };
    NotifyCtx::new(
        "suite",
        "{}:{alertname=\"Suite\"}",
        Labels::from_pairs([("alertname", "Suite")]),
        firing,
        resolved,
        1_700_000_060_000,
        "http://alertgate.test",
    )
}

fn assert_clean(e: &NotifyError) {
    for s in [e.to_string(), format!("{e:?}")] {
        assert!(!s.contains(SECRET), "secret leaked: {s}");
    }
}

fn setup(addr: &str, timeout_ms: i64, send_resolved: bool) -> Setup {
    Setup {
        addr: addr.to_string(),
        secret: SECRET,
        timeout_ms,
        send_resolved,
    }
}

/// Runs every shared check against notifiers from `make`.
pub fn run(proto: Proto, make: impl Fn(&Setup) -> Box<dyn Notifier>) {
    let (ok, table): (u16, &[(u16, bool)]) = match proto {
        Proto::Http => (
            200,
            &[
                (500, true),
                (503, true),
                (429, true),
                (408, true),
                (400, false),
                (404, false),
            ],
        ),
        Proto::Smtp => (250, &[(451, true), (421, true), (550, false), (553, false)]),
    };

    // Success.
    let srv = Server::start(proto, ok, Duration::ZERO);
    let n = make(&setup(&srv.addr, 5_000, true));
    let d = n.notify(&ctx(false)).expect("send");
    assert_eq!(d.status.map(|c| c / 100), Some(2), "{:?}", d);
    assert_eq!(srv.received().len(), 1);
    // Rendering shows no secret.
    for r in n.render(&ctx(false)).unwrap() {
        assert!(!format!("{r:?}").contains(SECRET), "render leaked: {r:?}");
    }

    // Retry table, and no secret in any error.
    for (code, retry) in table {
        let srv = Server::start(proto, *code, Duration::ZERO);
        let e = make(&setup(&srv.addr, 5_000, true))
            .notify(&ctx(false))
            .unwrap_err();
        assert_eq!(e.is_retryable(), *retry, "{code}: {e}");
        assert_eq!(e.status_code(), Some(*code), "{e}");
        assert_clean(&e);
    }

    // Connection refused: retryable, clean.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = make(&setup(&format!("127.0.0.1:{port}"), 5_000, true))
        .notify(&ctx(false))
        .unwrap_err();
    assert!(e.is_retryable(), "{e}");
    assert_clean(&e);

    // Timeout.
    let srv = Server::start(proto, ok, Duration::from_secs(3));
    let n = make(&setup(&srv.addr, 300, true));
    assert_eq!(n.timeout_ms(), 300);
    let t0 = Instant::now();
    let e = n.notify(&ctx(false)).unwrap_err();
    assert!(
        t0.elapsed() < Duration::from_millis(2_500),
        "took {:?}",
        t0.elapsed()
    );
    assert!(matches!(e, NotifyError::Timeout { .. }), "{e:?}");
    assert!(e.is_retryable());

    // send_resolved.
    let srv = Server::start(proto, ok, Duration::ZERO);
    let n = make(&setup(&srv.addr, 5_000, false));
    assert!(!n.send_resolved());
    assert!(deliver(n.as_ref(), &ctx(true)).is_none());
    assert!(srv.received().is_empty());
    let n = make(&setup(&srv.addr, 5_000, true));
    assert!(deliver(n.as_ref(), &ctx(true)).expect("sent").is_ok());
    let got = srv.received();
    assert_eq!(got.len(), 1);
    // Resolved is spelled out, or the end time is given.
    let b = &got[0].body;
    assert!(
        b.to_lowercase().contains("resolve") || b.contains("22:13:50"),
        "{b}"
    );
}
