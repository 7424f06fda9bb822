//! `alertgate lint --prometheus URL` against a real Prometheus 3.5 serving
//! the go-live example data (written with `promtool tsdb
//! create-blocks-from openmetrics`): a misspelt metric name is an error, a
//! misspelt label value a warning, and the shipped pack lints clean.

use crate::support::{peer, root, Prometheus};
use alertgate::snapshot::{self, SnapshotSpec};
use std::process::Command;

const AT: &str = "2025-03-04T09:10:00Z";
const AT_MS: i64 = 1_741_079_400_000;

#[test]
fn prometheus_finds_a_misspelt_metric() {
    let (Some(promtool), Some(prometheus)) = (peer("promtool"), peer("prometheus")) else {
        return;
    };
    let store = snapshot::load(
        &[SnapshotSpec::new(root().join("examples/golive/clean.om"))],
        AT_MS,
        &Default::default(),
    )
    .expect("load example");
    let dir = tempfile::tempdir().unwrap();
    let prom = Prometheus::serve_store(&promtool, &prometheus, &store, dir.path());
    let url = prom.url();
    let run = |rules: &str| {
        Command::new(env!("CARGO_BIN_EXE_alertgate"))
            .current_dir(root())
            .args(["lint", "--rules", rules, "--prometheus", &url, "--at", AT])
            .output()
            .expect("run alertgate")
    };
    let out = run("tests/fixtures/lint/misspelt-metric.yml");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let all = format!("{text}{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        text.contains(&format!(
            "misspelt-metric.yml:7:15: error: series/metric-missing: group \"golive-typos\", rule \"GoLive5xxRatioHigh\": metric \"http_request_total\" has no series on {url} in the last 1h"
        )),
        "{all}"
    );
    assert!(
        text.contains("no series matches env=\"prodution\""),
        "{all}"
    );
    assert_eq!(text.lines().count(), 2, "{all}");

    let out = run("rules/golive.yml");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn unreachable_prometheus_exits_2() {
    let port = crate::support::free_port();
    let out = Command::new(env!("CARGO_BIN_EXE_alertgate"))
        .current_dir(root())
        .args(["lint", "--rules", "rules/golive.yml", "--prometheus"])
        .arg(format!("http://127.0.0.1:{port}"))
        .output()
        .expect("run alertgate");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("datasource unreachable"));
}
