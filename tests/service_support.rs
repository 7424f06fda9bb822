//! Helpers for the `alertgate run` tests: a scrape target whose metrics the
//! test changes (and can stop and restart on the same port), a webhook
//! receiver that records what it gets, HTTP/1.0 requests with headers, and
//! an `alertgate run` process (killed on drop).

#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use crate::support::free_port;

/// One parsed request: method, path, body.
pub type Req = (String, String, String);
type Handler = Arc<dyn Fn(&Req) -> (u16, String) + Send + Sync>;

fn read_request(s: &mut TcpStream) -> Option<Req> {
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut r = BufReader::new(s.try_clone().ok()?);
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        r.read_line(&mut h).ok()?;
        if h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    Some((method, path, String::from_utf8_lossy(&body).into_owned()))
}

/// A tiny HTTP server on a fixed port: one request per connection.
pub struct Server {
    pub port: u16,
    stop: Arc<AtomicBool>,
    handler: Handler,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    pub fn start(port: u16, handler: Handler) -> Server {
        let mut s = Server {
            port,
            stop: Arc::new(AtomicBool::new(false)),
            handler,
            thread: None,
        };
        s.listen();
        s
    }

    fn listen(&mut self) {
        let l = TcpListener::bind(("127.0.0.1", self.port)).expect("bind test server");
        l.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        self.stop = stop.clone();
        let h = self.handler.clone();
        self.thread = Some(std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                match l.accept() {
                    Ok((mut s, _)) => {
                        let _ = s.set_nonblocking(false);
                        let h = h.clone();
                        std::thread::spawn(move || {
                            if let Some(req) = read_request(&mut s) {
                                let (status, body) = h(&req);
                                let _ = write!(s, "HTTP/1.1 {status} X\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
                            }
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        }));
    }

    /// Closes the port: connections are refused until [`Server::restart`].
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    pub fn restart(&mut self) {
        self.listen();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A `/metrics` target serving whatever text the test sets.
pub struct Target {
    pub server: Server,
    pub text: Arc<Mutex<String>>,
}

impl Target {
    pub fn start(text: &str) -> Target {
        let t = Arc::new(Mutex::new(text.to_string()));
        let t2 = t.clone();
        let server = Server::start(
            free_port(),
            Arc::new(move |_r: &Req| (200, t2.lock().unwrap().clone())),
        );
        Target { server, text: t }
    }

    pub fn set(&self, text: &str) {
        *self.text.lock().unwrap() = text.to_string();
    }
}

/// A webhook receiver recording every JSON body posted to it.
pub struct Receiver {
    pub server: Server,
    pub got: Arc<Mutex<Vec<Value>>>,
}

impl Receiver {
    pub fn start() -> Receiver {
        let got = Arc::new(Mutex::new(Vec::new()));
        let g2 = got.clone();
        let server = Server::start(
            free_port(),
            Arc::new(move |r: &Req| {
                if let Ok(v) = serde_json::from_str(&r.2) {
                    g2.lock().unwrap().push(v);
                }
                (200, String::new())
            }),
        );
        Receiver { server, got }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.server.port)
    }

    pub fn all(&self) -> Vec<Value> {
        self.got.lock().unwrap().clone()
    }

    /// Waits until a notification with this `status` (firing/resolved) for
    /// `alertname` arrived.
    pub fn wait_for(&self, status: &str, alertname: &str, within: Duration) -> Value {
        wait_until(
            within,
            &format!("{status} notification for {alertname}"),
            || {
                self.all().into_iter().find(|v| {
                    v["status"] == status
                        && (v["groupLabels"]["alertname"] == alertname
                            || v["commonLabels"]["alertname"] == alertname)
                })
            },
        )
    }
}

/// Polls `f` every 100 ms until it returns Some, panicking after `within`.
pub fn wait_until<T>(within: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// An HTTP/1.0 request with extra headers; returns (status, body).
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    write!(s, "{head}\r\n{body}")?;
    let mut raw = String::new();
    s.read_to_string(&mut raw)?;
    let (h, b) = raw.split_once("\r\n\r\n").unwrap_or((raw.as_str(), ""));
    let status = h
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((status, b.to_string()))
}

pub fn get(port: u16, path: &str) -> (u16, String) {
    request(port, "GET", path, &[], "").unwrap_or((0, String::new()))
}

pub fn get_json(port: u16, path: &str) -> Value {
    let (status, body) = get(port, path);
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}

/// A running `alertgate run`.
pub struct Alertgate {
    pub child: Child,
    pub port: u16,
    pub log: PathBuf,
}

pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_alertgate")
}

impl Alertgate {
    /// Starts `alertgate run --config <config>` and waits for `/healthz`.
    pub fn start(config: &Path, env: &[(&str, &str)]) -> Alertgate {
        let port = free_port();
        let log = config.with_extension(format!("{port}.log"));
        let mut cmd = Command::new(binary());
        cmd.arg("run")
            .arg("--config")
            .arg(config)
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start alertgate");
        let mut ag = Alertgate { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(30);
        while get(port, "/healthz").0 != 200 {
            if let Ok(Some(s)) = ag.child.try_wait() {
                panic!("alertgate exited early ({s}): {}", ag.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "alertgate not healthy: {}",
                ag.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        ag
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// Waits for the process to exit, up to `within`; returns its status
    /// and how long it took.
    pub fn wait_exit(&mut self, within: Duration) -> (ExitStatus, Duration) {
        let start = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return (s, start.elapsed());
            }
            assert!(
                start.elapsed() < within,
                "alertgate did not exit within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn alerts(&self) -> Vec<Value> {
        get_json(self.port, "/api/v1/alerts")["data"]["alerts"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

impl Drop for Alertgate {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
