//! `alertgate check` and `query` with a remote datasource, end to end.
//!
//! Every shipped rule pack gives the same alerts with `--prometheus URL` as
//! with `--snapshot` over the same data, against a real Prometheus 3.5 (data
//! written with `promtool tsdb create-blocks-from openmetrics`) and a real
//! VictoriaMetrics single-node (data sent to its `/api/v1/import`). Each
//! example is loaded with alertgate's own snapshot loader first, so JSON KPI
//! snapshots (and their `--label`s) reach the servers too.
//!
//! And the failure modes through the binary: unreachable datasources exit 2
//! with `datasource unreachable: URL: reason`, bad queries name the rule and
//! file, and secrets stay out of the output.

use crate::datasource_http::{json, Reply, TestServer, VECTOR_OK};
use crate::support::{peer, root, Prometheus, VictoriaMetrics};
use alertgate::model::MemStore;
use alertgate::snapshot::{self, SnapshotSpec};
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::{Command, Output};
use std::time::Duration;

const AT: &str = "2025-03-04T09:10:00Z";
const AT_MS: i64 = 1_741_079_400_000;

/// Every example of every pack (see tests/rule_packs.rs), with its labels.
const CASES: &[(&str, &str, &[&str])] = &[
    ("stage0-canary", "examples/stage0-canary/breach.om", &[]),
    ("stage0-canary", "examples/stage0-canary/clean.om", &[]),
    ("golive", "examples/golive/breach.om", &[]),
    ("golive", "examples/golive/clean.om", &[]),
    (
        "outbox-hardening",
        "examples/outbox-hardening/breach.om",
        &[],
    ),
    (
        "outbox-hardening",
        "examples/outbox-hardening/clean.om",
        &[],
    ),
    (
        "outbox-hardening",
        "examples/outbox-hardening/breach.json",
        &["service=0admin"],
    ),
    (
        "outbox-hardening",
        "examples/outbox-hardening/clean.json",
        &["service=0admin"],
    ),
    (
        "dunning-kpis",
        "examples/dunning-kpis/breach.json",
        &["tenant_id=acme"],
    ),
    (
        "dunning-kpis",
        "examples/dunning-kpis/clean.json",
        &["tenant_id=acme"],
    ),
];

fn load(snapshot_path: &str, labels: &[&str]) -> MemStore {
    let extra = snapshot::parse_label_args(labels).expect("labels");
    let spec = SnapshotSpec::new(root().join(snapshot_path));
    snapshot::load(&[spec], AT_MS, &extra).expect("load example")
}

fn alertgate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_alertgate"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("run alertgate")
}

fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `check --format json` on one pack, with the data from `source`
/// (`--snapshot PATH [--label ..]` or `--prometheus URL`).
fn check(pack: &str, source: &[&str]) -> (Output, Value) {
    let rules = format!("rules/{pack}.yml");
    let mut args = vec!["check", "--rules", &rules, "--at", AT, "--format", "json"];
    args.extend_from_slice(source);
    let out = alertgate(&args);
    let doc = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("check {args:?}: {e}\n{}", describe(&out)));
    (out, doc)
}

/// Alerts keyed by (name, state, labels), with value and annotations.
type Alerts = BTreeMap<(String, String, String), (f64, Value, Value)>;

fn alerts(doc: &Value) -> Alerts {
    doc["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .map(|a| {
            let key = (
                a["name"].as_str().unwrap_or_default().to_string(),
                a["state"].as_str().unwrap_or_default().to_string(),
                a["labels"].to_string(),
            );
            let value = a["value"]
                .as_str()
                .and_then(|v| v.parse().ok())
                .or_else(|| a["value"].as_f64())
                .unwrap_or(f64::NAN);
            (
                key,
                (value, a["annotations"].clone(), a["active_at"].clone()),
            )
        })
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

/// Compares the remote run with the snapshot run of one example. `exact`:
/// values, annotations and activation times must match too (Prometheus);
/// otherwise only which alerts fire and pending, with which labels.
fn compare(pack: &str, snap: &str, labels: &[&str], remote_url: &str, exact: bool) -> Vec<String> {
    let mut source = vec!["--snapshot", snap];
    for l in labels {
        source.extend(["--label", l]);
    }
    let (want_out, want) = check(pack, &source);
    let (got_out, got) = check(pack, &["--prometheus", remote_url]);
    let mut problems = Vec::new();
    let ctx = || {
        format!(
            "\nsnapshot: {}\nremote: {}",
            describe(&want_out),
            describe(&got_out)
        )
    };
    if want_out.status.code() != got_out.status.code() {
        problems.push(format!("{snap}: exit codes differ{}", ctx()));
    }
    if got["rule_errors"].as_array().map(Vec::len) != Some(0) {
        problems.push(format!(
            "{snap}: rule errors with the remote datasource{}",
            ctx()
        ));
    }
    let (w, g) = (alerts(&want), alerts(&got));
    if w.keys().collect::<Vec<_>>() != g.keys().collect::<Vec<_>>() {
        problems.push(format!("{snap}: different alerts{}", ctx()));
    } else if exact {
        for (k, (wv, wa, wt)) in &w {
            let (gv, ga, gt) = &g[k];
            if !close(*wv, *gv) || wa != ga || wt != gt {
                problems.push(format!(
                    "{snap}: {k:?}: want {wv} {wa} {wt}, got {gv} {ga} {gt}"
                ));
            }
        }
    }
    problems
}

fn report(problems: Vec<String>, firing: usize) {
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    // Guards against comparing empty results only (e.g. data not loaded).
    assert!(
        firing >= 15,
        "only {firing} firing alerts across the breach examples"
    );
}

fn firing(pack: &str, snap: &str, labels: &[&str]) -> usize {
    let mut source = vec!["--snapshot", snap];
    for l in labels {
        source.extend(["--label", l]);
    }
    check(pack, &source).1["firing"].as_u64().unwrap_or(0) as usize
}

#[test]
fn rule_packs_give_the_same_alerts_on_prometheus_as_on_snapshots() {
    let (Some(promtool), Some(prometheus)) = (peer("promtool"), peer("prometheus")) else {
        return;
    };
    let mut problems = Vec::new();
    let mut fired = 0;
    for (pack, snap, labels) in CASES {
        let dir = tempfile::tempdir().expect("tempdir");
        let prom = Prometheus::serve_store(&promtool, &prometheus, &load(snap, labels), dir.path());
        problems.extend(compare(pack, snap, labels, &prom.url(), true));
        fired += firing(pack, snap, labels);
    }
    report(problems, fired);
}

#[test]
fn rule_packs_give_the_same_alerts_on_victoriametrics_as_on_snapshots() {
    let Some(vm_bin) = peer("victoria-metrics") else {
        return;
    };
    let mut problems = Vec::new();
    let mut fired = 0;
    for (pack, snap, labels) in CASES {
        let dir = tempfile::tempdir().expect("tempdir");
        let vm = VictoriaMetrics::start(&vm_bin, dir.path());
        vm.import(&load(snap, labels));
        problems.extend(compare(pack, snap, labels, &vm.url(), false));
        fired += firing(pack, snap, labels);
    }
    report(problems, fired);
}

/// `alertgate query --prometheus` prints the server's own JSON.
#[test]
fn query_prints_the_servers_json() {
    let (Some(promtool), Some(prometheus)) = (peer("promtool"), peer("prometheus")) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let store = load("examples/outbox-hardening/breach.om", &[]);
    let prom = Prometheus::serve_store(&promtool, &prometheus, &store, dir.path());
    let expr = "dlq_size > 0";
    let path = format!(
        "/api/v1/query?query=dlq_size%20%3E%200&time={}",
        AT_MS / 1000
    );
    let (status, direct) = crate::support::http_get(prom.port, &path).expect("direct query");
    assert_eq!(status, 200, "{direct}");
    let out = alertgate(&[
        "query",
        expr,
        "--prometheus",
        &prom.url(),
        "--at",
        AT,
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let got: Value = serde_json::from_slice(&out.stdout).expect("json");
    let want: Value = serde_json::from_str(&direct).expect("json");
    assert_eq!(got, want);
    assert_eq!(
        want["data"]["result"].as_array().map(Vec::len),
        Some(1),
        "{want}"
    );

    // A bad query: the server's error, exit 2.
    let out = alertgate(&[
        "query",
        "dlq_size >",
        "--prometheus",
        &prom.url(),
        "--at",
        AT,
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let err: Value = serde_json::from_slice(&out.stdout).expect("error json");
    assert_eq!(err["status"], "error");
    assert_eq!(err["errorType"], "bad_data");
}

fn write_rules(dir: &std::path::Path) -> String {
    let p = dir.join("r.yml");
    std::fs::write(
        &p,
        "groups:\n- name: g\n  rules:\n  - alert: Up\n    expr: up == 1\n    labels: {severity: page}\n",
    )
    .unwrap();
    p.display().to_string()
}

fn check_with(args: &[&str]) -> Output {
    let mut all = vec!["check", "--at", AT];
    all.extend_from_slice(args);
    alertgate(&all)
}

#[test]
fn check_exits_2_when_the_datasource_refuses_connections() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write_rules(dir.path());
    let port = crate::support::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let out = check_with(&["--rules", &rules, "--prometheus", &url]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "datasource unreachable: {url}: connection refused"
        )),
        "{}",
        describe(&out)
    );
}

#[test]
fn check_exits_2_after_retrying_a_503() {
    let srv = TestServer::start(|_, _| json(503, ""));
    let dir = tempfile::tempdir().unwrap();
    let rules = write_rules(dir.path());
    let out = check_with(&["--rules", &rules, "--prometheus", &srv.url()]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(srv.requests().len() >= 2, "not retried");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "datasource unreachable: {}: HTTP 503 Service Unavailable",
            srv.url()
        )),
        "{}",
        describe(&out)
    );
}

#[test]
fn check_exits_2_after_a_hang_past_the_timeout() {
    let srv = TestServer::start(|_, _| Reply::Hang(Duration::from_secs(10)));
    let dir = tempfile::tempdir().unwrap();
    let rules = write_rules(dir.path());
    let cfg = dir.path().join("alertgate.yml");
    std::fs::write(
        &cfg,
        format!("datasource:\n  url: {}\n  timeout: 300ms\n", srv.url()),
    )
    .unwrap();
    let cfg = cfg.display().to_string();
    let out = check_with(&["--rules", &rules, "--config", &cfg]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(srv.requests().len() >= 2, "not retried");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "datasource unreachable: {}: timeout after 300ms",
            srv.url()
        )),
        "{}",
        describe(&out)
    );
}

#[test]
fn check_names_rule_and_file_for_a_bad_query_and_shows_warnings() {
    let srv = TestServer::start(|_, req| {
        if req.form("query").as_deref() == Some("up == 1") {
            json(
                422,
                r#"{"status":"error","errorType":"execution","error":"query processing would load too many samples into memory in query execution"}"#,
            )
        } else {
            json(
                200,
                r#"{"status":"success","data":{"resultType":"vector","result":[]},"warnings":["PromQL warning: metric might not be a counter"]}"#,
            )
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("r.yml");
    std::fs::write(
        &rules,
        "groups:\n- name: g\n  rules:\n  - alert: Up\n    expr: up == 1\n  - alert: Rate\n    expr: rate(x[5m]) > 1\n",
    )
    .unwrap();
    let rules = rules.display().to_string();
    let out = check_with(&["--rules", &rules, "--prometheus", &srv.url()]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&rules) && stderr.contains("\"Up\""),
        "{}",
        describe(&out)
    );
    assert!(
        stderr.contains("execution: query processing would load too many samples"),
        "{}",
        describe(&out)
    );
    assert!(
        !stderr.contains("datasource unreachable"),
        "{}",
        describe(&out)
    );
    assert!(
        stderr.contains("warning")
            && stderr.contains("PromQL warning: metric might not be a counter"),
        "{}",
        describe(&out)
    );
}

#[test]
fn check_sends_configured_credentials_and_never_prints_them() {
    const TOKEN: &str = "cli-t0ken-S3CRET";
    let srv = TestServer::start(|_, _| json(200, VECTOR_OK));
    let dir = tempfile::tempdir().unwrap();
    let rules = write_rules(dir.path());
    std::fs::write(dir.path().join("token"), TOKEN).unwrap();
    let cfg = dir.path().join("alertgate.yml");
    std::fs::write(
        &cfg,
        format!(
            "datasource:\n  url: {}\n  bearer_token_file: {}\n  headers: {{X-Scope-OrgID: tenant-7}}\n",
            srv.url(),
            dir.path().join("token").display()
        ),
    )
    .unwrap();
    let cfg = cfg.display().to_string();
    let out = check_with(&["--rules", &rules, "--config", &cfg]);
    // up == 1 answers one series: it fires.
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let r = &srv.requests()[0];
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(r.header("x-scope-orgid"), Some("tenant-7"));
    assert!(!describe(&out).contains(TOKEN));

    // Unreachable with the same credentials: still not printed.
    drop(srv);
    std::thread::sleep(Duration::from_millis(200));
    let out = check_with(&["--rules", &rules, "--config", &cfg]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(!describe(&out).contains(TOKEN), "{}", describe(&out));
}

/// `for` is reconstructed from one range query per rule over the replay
/// window, at the group's interval and ending exactly at `--at`.
#[test]
fn check_reconstructs_for_from_one_range_query_per_rule() {
    let at = AT_MS / 1000;
    // Held at every step from at-6m: the 5m `for` has elapsed.
    let points: Vec<String> = (0..=6)
        .map(|k| format!("[{},\"1\"]", at - 360 + 60 * k))
        .collect();
    let matrix = format!(
        r#"{{"status":"success","data":{{"resultType":"matrix","result":[{{"metric":{{"instance":"a"}},"values":[{}]}}]}}}}"#,
        points.join(",")
    );
    let srv = TestServer::start(move |_, req| {
        if req.target.ends_with("/api/v1/query_range") {
            json(200, &matrix)
        } else {
            json(
                400,
                r#"{"status":"error","errorType":"bad_data","error":"unexpected instant query"}"#,
            )
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("r.yml");
    std::fs::write(
        &rules,
        "groups:\n- name: g\n  rules:\n  - alert: Held\n    expr: x > 0\n    for: 5m\n",
    )
    .unwrap();
    let rules = rules.display().to_string();
    let out = check_with(&[
        "--rules",
        &rules,
        "--prometheus",
        &srv.url(),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["alerts"][0]["state"], "firing", "{doc}");
    assert_eq!(
        doc["alerts"][0]["active_at"], "2025-03-04T09:04:00Z",
        "{doc}"
    );
    let seen = srv.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].form("query").as_deref(), Some("x > 0"));
    assert_eq!(seen[0].form("start"), Some((at - 360).to_string()));
    assert_eq!(seen[0].form("end"), Some(at.to_string()));
    assert_eq!(seen[0].form("step").as_deref(), Some("60"));
}
