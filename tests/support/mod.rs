//! Helpers shared by the integration tests that start real peers: finding
//! the binaries, free loopback ports, a plain HTTP GET, and Prometheus and
//! VictoriaMetrics processes serving known data (killed on drop).

#![allow(dead_code)]

use alertgate::model::{is_stale_nan, MemStore};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A peer from `.peers/bin`; missing: a failure under `CI=true`, else a skip.
pub fn peer(name: &str) -> Option<PathBuf> {
    let p = root().join(".peers/bin").join(name);
    if p.is_file() {
        return Some(p);
    }
    assert!(
        std::env::var("CI").map_or(true, |v| v != "true"),
        "{} is missing (run scripts/fetch-peers.sh)",
        p.display()
    );
    eprintln!(
        "skipped: {} not found (run scripts/fetch-peers.sh)",
        p.display()
    );
    None
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// A plain HTTP/1.0 GET: the server answers without chunking and closes.
pub fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    http_request(port, "GET", path, "")
}

/// A plain HTTP/1.0 request with a body.
pub fn http_request(
    port: u16,
    method: &str,
    path: &str,
    body: &str,
) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = String::new();
    s.read_to_string(&mut raw)?;
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw.as_str(), ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((status, body.to_string()))
}

/// Polls `path` until it answers 200, or panics after 60 s (or if the
/// process exits).
fn wait_ready(child: &mut Child, port: u16, path: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if matches!(http_get(port, path), Ok((200, _))) {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited early: {status}");
        }
        assert!(Instant::now() < deadline, "{what} not ready after 60s");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A Prometheus process over one data directory, killed on drop.
pub struct Prometheus {
    child: Child,
    pub port: u16,
}

impl Prometheus {
    pub fn start(binary: &Path, data: &Path, dir: &Path) -> Prometheus {
        let config = dir.join("prometheus.yml");
        std::fs::write(&config, "scrape_configs: []\n").expect("write config");
        let port = free_port();
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            // The examples are from 2025; keep every block whatever the date.
            .arg("--storage.tsdb.retention.time=100y")
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus");
        let mut prom = Prometheus { child, port };
        wait_ready(&mut prom.child, port, "/-/ready", "prometheus");
        prom
    }

    /// Builds a TSDB from `store` with `promtool tsdb create-blocks-from
    /// openmetrics` in `dir` and serves it.
    pub fn serve_store(promtool: &Path, binary: &Path, store: &MemStore, dir: &Path) -> Prometheus {
        let om = dir.join("data.om");
        std::fs::write(&om, to_openmetrics(store)).expect("write openmetrics");
        let data = dir.join("data");
        create_blocks(promtool, &om, &data);
        Prometheus::start(binary, &data, dir)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `promtool tsdb create-blocks-from openmetrics SRC DATA`.
pub fn create_blocks(promtool: &Path, src: &Path, data: &Path) {
    let out = Command::new(promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(src)
        .arg(data)
        .output()
        .expect("run promtool");
    assert!(
        out.status.success(),
        "promtool tsdb create-blocks-from openmetrics {}: {}",
        src.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A single-node VictoriaMetrics, killed on drop.
pub struct VictoriaMetrics {
    child: Child,
    pub port: u16,
}

impl VictoriaMetrics {
    pub fn start(binary: &Path, dir: &Path) -> VictoriaMetrics {
        let port = free_port();
        let child = Command::new(binary)
            .arg(format!("-storageDataPath={}", dir.join("vm").display()))
            .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
            // Old example data must be neither dropped nor hidden.
            .arg("-retentionPeriod=100y")
            .arg("-search.disableCache")
            .arg("-search.latencyOffset=0s")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start victoria-metrics");
        let mut vm = VictoriaMetrics { child, port };
        wait_ready(&mut vm.child, port, "/health", "victoria-metrics");
        vm
    }

    /// Imports `store` through `/api/v1/import` (JSON lines) and flushes it
    /// so queries see it at once.
    pub fn import(&self, store: &MemStore) {
        let (status, body) =
            http_request(self.port, "POST", "/api/v1/import", &to_vm_import(store))
                .expect("import");
        assert!(status / 100 == 2, "import: HTTP {status}: {body}");
        let (status, body) = http_get(self.port, "/internal/force_flush").expect("flush");
        assert_eq!(status, 200, "force_flush: {body}");
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for VictoriaMetrics {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Seconds with millisecond precision.
fn seconds(ms: i64) -> String {
    let (s, f) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    if f == 0 {
        s.to_string()
    } else {
        format!("{s}.{f:03}")
    }
}

fn float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v:?}")
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The store as OpenMetrics text (untyped families, one sample per line,
/// each family's lines together), without stale markers.
pub fn to_openmetrics(store: &MemStore) -> String {
    let mut series: Vec<_> = store.series().iter().collect();
    series.sort_by(|a, b| {
        (a.labels.metric_name(), &a.labels).cmp(&(b.labels.metric_name(), &b.labels))
    });
    let mut out = String::new();
    for s in series {
        let name = s.labels.metric_name().expect("series without a name");
        let labels: Vec<String> = s
            .labels
            .iter()
            .filter(|l| l.name != "__name__")
            .map(|l| format!("{}=\"{}\"", l.name, escape(&l.value)))
            .collect();
        let labels = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{}}}", labels.join(","))
        };
        for p in s.samples.iter().filter(|p| !is_stale_nan(p.v)) {
            out.push_str(&format!("{name}{labels} {} {}\n", float(p.v), seconds(p.t)));
        }
    }
    out.push_str("# EOF\n");
    out
}

/// The store in VictoriaMetrics's JSON-lines import format.
pub fn to_vm_import(store: &MemStore) -> String {
    let mut out = String::new();
    for s in store.series() {
        let metric: serde_json::Map<String, serde_json::Value> = s
            .labels
            .iter()
            .map(|l| (l.name.clone(), serde_json::Value::String(l.value.clone())))
            .collect();
        let points: Vec<_> = s.samples.iter().filter(|p| p.v.is_finite()).collect();
        if points.is_empty() {
            continue;
        }
        let line = serde_json::json!({
            "metric": metric,
            "values": points.iter().map(|p| p.v).collect::<Vec<_>>(),
            "timestamps": points.iter().map(|p| p.t).collect::<Vec<_>>(),
        });
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out
}
