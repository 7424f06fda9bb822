//! `alertgate query` and snapshot loading, run as the built binary: malformed
//! snapshots exit 2 with one `file:line` line (golden `.stderr` files next to
//! the fixtures; regenerate with `UPDATE_GOLDEN=1`), JSON bodies are
//! Prometheus's, and the same OpenMetrics data loaded into a real Prometheus
//! (via `promtool tsdb create-blocks-from openmetrics`) gives the same raw
//! samples.

use crate::support::peer;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures() -> PathBuf {
    root().join("tests/fixtures/snapshots")
}

fn alertgate(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_alertgate"))
        .current_dir(dir)
        .arg("query")
        .args(args)
        .output()
        .expect("run alertgate")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).trim_end().to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[test]
fn every_malformed_snapshot_exits_2_with_one_located_line() {
    let dir = fixtures().join("bad");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e != "stderr"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 8,
        "expected at least 8 bad fixtures, found {}",
        files.len()
    );
    let update = std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1");
    for f in files {
        let name = f.file_name().unwrap().to_str().unwrap().to_string();
        let o = alertgate(
            &dir,
            &["vector(1)", "--snapshot", &name, "--at", "1700000000"],
        );
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert_eq!(
            err.lines().count(),
            1,
            "{name}: stderr must be one line: {err:?}"
        );
        // `alertgate: error: FILE:LINE: message`
        let located = err
            .strip_prefix(&format!("alertgate: error: {name}:"))
            .unwrap_or("");
        let line_no: String = located.chars().take_while(char::is_ascii_digit).collect();
        assert!(
            !line_no.is_empty() && located[line_no.len()..].starts_with(": "),
            "{name}: no file:line in {err:?}"
        );
        assert!(
            stdout(&o).is_empty(),
            "{name}: nothing on stdout in text mode"
        );
        let golden = f.with_extension(format!(
            "{}.stderr",
            f.extension().unwrap().to_str().unwrap()
        ));
        if update {
            std::fs::write(&golden, &err).unwrap();
        }
        let want = std::fs::read_to_string(&golden)
            .unwrap_or_else(|_| panic!("{} missing", golden.display()));
        assert_eq!(
            err,
            want,
            "{name}: stderr differs from {}",
            golden.display()
        );
    }
}

#[test]
fn good_snapshots_load_in_every_format_and_from_a_directory() {
    let dir = fixtures().join("good");
    for f in std::fs::read_dir(&dir).unwrap() {
        let f = f.unwrap().path();
        let o = alertgate(
            &dir,
            &[
                "vector(1)",
                "--snapshot",
                f.to_str().unwrap(),
                "--at",
                "1700000000",
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{}: {}", f.display(), stderr(&o));
    }
    let o = alertgate(
        &dir,
        &[
            "count({__name__=~\".+\"})",
            "--snapshot",
            ".",
            "--at",
            "1700000180",
            "--format",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // scrape.prom 15 series + history.om 14 + kpi.json 5 + 2 up + 1 dlq_size.
    assert_eq!(
        stdout(&o),
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000180,"37"]}]}}"#
    );
}

#[test]
fn kpi_document_becomes_gauges_with_labels() {
    let dir = fixtures().join("good");
    let o = alertgate(
        &dir,
        &[
            "{__name__=~\"dlq_depth|provider_.*|kill_switch\"}",
            "--snapshot",
            "kpi.json@1700000000",
            "--label",
            "tenant=acme",
            "--at",
            "1700000100",
            "--format",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let mut got: Vec<String> = doc["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| format!("{} {} {}", s["metric"], s["value"][0], s["value"][1]))
        .collect();
    got.sort();
    // Taken at the file's own time (100 s before --at, inside the 5m lookback).
    assert_eq!(
        got,
        vec![
            r#"{"__name__":"dlq_depth","tenant":"acme"} 1700000100 "12""#,
            r#"{"__name__":"kill_switch","tenant":"acme"} 1700000100 "0""#,
            r#"{"__name__":"provider_healthy","tenant":"acme"} 1700000100 "1""#,
            r#"{"__name__":"provider_lag_seconds","tenant":"acme"} 1700000100 "95""#,
        ]
    );
}

#[test]
fn plain_scrapes_at_different_times_make_a_counter_series() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("t0.prom"),
        "# TYPE req_total counter\nreq_total 10\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("t1.prom"),
        "# TYPE req_total counter\nreq_total 70\n",
    )
    .unwrap();
    let snaps = [
        "--snapshot",
        "t0.prom@1700000000",
        "--snapshot",
        "t1.prom@2023-11-14T22:14:20Z",
    ];
    let run = |expr: &str, extra: &[&str]| {
        let mut args = vec![expr];
        args.extend_from_slice(&snaps);
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--format", "json"]);
        let o = alertgate(dir.path(), &args);
        assert_eq!(o.status.code(), Some(0), "{expr}: {}", stderr(&o));
        stdout(&o)
    };
    // Expected bodies are Prometheus 3.5.3's for the same two samples
    // (backfilled with promtool) at the same times.
    assert_eq!(
        run("increase(req_total[5m])", &["--at", "1700000060"]),
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000060,"70"]}]}}"#
    );
    assert_eq!(
        run("rate(req_total[5m])", &["--at", "1700000060"]),
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000060,"0.23333333333333336"]}]}}"#
    );
    assert_eq!(
        run("req_total", &["--range", "1700000000", "1700000060", "30"]),
        r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"req_total"},"values":[[1700000000,"10"],[1700000030,"10"],[1700000060,"70"]]}]}}"#
    );
}

#[test]
fn text_output_by_default() {
    let dir = fixtures().join("good");
    let o = alertgate(
        &dir,
        &[
            "up",
            "--snapshot",
            "query-vector.json",
            "--at",
            "1700000000.5",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut lines: Vec<String> = stdout(&o).lines().map(str::to_string).collect();
    lines.sort();
    assert_eq!(
        lines,
        vec![
            r#"up{instance="localhost:9090", job="prometheus"} => 1 @[1700000000.5]"#,
            r#"up{instance="localhost:9100", job="node"} => 0 @[1700000000.5]"#,
        ]
    );
}

#[test]
fn bad_query_gives_prometheus_error_body_and_exit_2() {
    let o = alertgate(Path::new("."), &["sum(", "--at", "0", "--format", "json"]);
    assert_eq!(o.status.code(), Some(2));
    let doc: Value = serde_json::from_str(&stdout(&o)).expect("error body is JSON");
    assert_eq!(doc["status"], "error");
    assert_eq!(doc["errorType"], "bad_data");
    let msg = doc["error"].as_str().unwrap();
    assert!(msg.starts_with("invalid parameter \"query\": "), "{msg}");
    assert!(msg.contains("unclosed left parenthesis"), "{msg}");
    assert_eq!(doc.as_object().unwrap().len(), 3);
    assert_eq!(stderr(&o).lines().count(), 1);

    // Text mode: only the one-line message.
    let o = alertgate(Path::new("."), &["sum(", "--at", "0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stdout(&o).is_empty());
    assert!(
        stderr(&o).starts_with("alertgate: error: invalid parameter \"query\": "),
        "{}",
        stderr(&o)
    );
}

#[test]
fn bad_times_and_ranges_exit_2_with_prometheus_wording() {
    let cases: &[(&[&str], &str)] = &[
        (&["--at", "yesterday"], r#"invalid parameter "time": cannot parse "yesterday" to a valid timestamp"#),
        (&["--range", "100", "50", "10"], r#"invalid parameter "end": end timestamp must not be before start time"#),
        (&["--range", "0", "50", "0"], "zero or negative query resolution step widths are not accepted. Try a positive integer"),
        (&["--range", "0", "50", "soon"], r#"invalid parameter "step": cannot parse "soon" to a valid duration"#),
        (&["--range", "0", "86400", "1"], "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"),
        (&["--snapshot", "x.prom@someday", "--at", "0"], r#"invalid snapshot argument "x.prom@someday": cannot parse "someday" to a valid timestamp"#),
        (&["--label", "9x=1", "--at", "0"], r#"invalid label "9x=1": invalid label name"#),
        (&["--snapshot", "does-not-exist.prom", "--at", "0"], "does-not-exist.prom: No such file or directory (os error 2)"),
    ];
    for (args, want) in cases {
        let mut all = vec!["vector(1)", "--format", "json"];
        all.extend_from_slice(args);
        let o = alertgate(Path::new("."), &all);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let doc: Value = serde_json::from_str(&stdout(&o)).expect("error body is JSON");
        assert_eq!(doc["errorType"], "bad_data", "{args:?}");
        assert_eq!(doc["error"], *want, "{args:?}");
        assert_eq!(stderr(&o), format!("alertgate: error: {want}\n"));
    }
}

// ---- Against a real Prometheus -------------------------------------------

struct Prometheus {
    child: Child,
    port: u16,
}

impl Prometheus {
    fn start(binary: &Path, data: &Path, dir: &Path) -> Prometheus {
        let config = dir.join("prometheus.yml");
        std::fs::write(&config, "scrape_configs: []\n").unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg("--storage.tsdb.retention.time=100y")
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus");
        let mut prom = Prometheus { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !matches!(http_get(port, "/-/ready"), Ok((200, _))) {
            if let Ok(Some(status)) = prom.child.try_wait() {
                panic!("prometheus exited early: {status}");
            }
            assert!(Instant::now() < deadline, "prometheus not ready after 60s");
            std::thread::sleep(Duration::from_millis(200));
        }
        prom
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n")?;
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

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The result array sorted by metric, so engine output order does not matter.
fn sorted_result(body: &str) -> Value {
    let mut doc: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    if let Some(arr) = doc["data"]["result"].as_array_mut() {
        arr.sort_by_key(|s| s["metric"].to_string());
    }
    doc
}

/// The OpenMetrics fixture is valid promtool input, and every raw sample
/// (`{__name__=~".+"}[10m]`) and instant value we load equals what a real
/// Prometheus serves from the blocks promtool made: label escapes, `le`
/// and `quantile` normalisation, `_created` series, float-second
/// timestamps, exemplars dropped.
#[test]
fn openmetrics_fixture_loads_like_prometheus() {
    let (Some(promtool), Some(prometheus)) = (peer("promtool"), peer("prometheus")) else {
        return;
    };
    let fixture = fixtures().join("good/history.om");
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let out = Command::new(promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&fixture)
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool rejected {}: {}",
        fixture.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let prom = Prometheus::start(&prometheus, &data, tmp.path());
    let queries = [
        ("{__name__=~\".+\"}[10m]", "1700000180.251", 14),
        ("{__name__=~\".+\"}", "1700000180.251", 14),
        // Before the summary and the second histogram scrape exist.
        ("{__name__=~\".+\"}", "1700000060", 10),
    ];
    for (expr, at, series) in queries {
        let (status, want) = http_get(
            prom.port,
            &format!("/api/v1/query?query={}&time={at}", percent_encode(expr)),
        )
        .unwrap();
        assert_eq!(status, 200, "{want}");
        let o = alertgate(
            &root(),
            &[
                expr,
                "--snapshot",
                fixture.to_str().unwrap(),
                "--at",
                at,
                "--format",
                "json",
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let want = sorted_result(&want);
        assert_eq!(
            want["data"]["result"].as_array().map(Vec::len),
            Some(series),
            "{want}"
        );
        assert_eq!(sorted_result(&stdout(&o)), want, "{expr} at {at}");
    }
}

/// The malformed OpenMetrics fixtures are malformed for Prometheus too
/// (promtool reports them, though it exits 0). `duplicate-sample.om` is the
/// exception: promtool keeps one of the two values, we refuse to guess.
#[test]
fn malformed_openmetrics_fixtures_are_rejected_by_promtool() {
    let Some(promtool) = peer("promtool") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for f in std::fs::read_dir(fixtures().join("bad")).unwrap() {
        let f = f.unwrap().path();
        let name = f.file_name().unwrap().to_str().unwrap();
        if !name.ends_with(".om") || name == "duplicate-sample.om" {
            continue;
        }
        let out = Command::new(&promtool)
            .args(["tsdb", "create-blocks-from", "openmetrics"])
            .arg(&f)
            .arg(tmp.path().join(name))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("getting min and max timestamp"),
            "{name}: promtool accepted it: {err}"
        );
        checked += 1;
    }
    assert!(checked >= 4);
}
