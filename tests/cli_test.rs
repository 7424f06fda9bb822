//! `alertgate test`: rule unit tests in promtool's format. Every passing
//! file here also passes under `promtool test rules` (checked when promtool
//! is present), so the expectations are Prometheus's, not ours: the alert
//! lifecycle with `for` and `keep_firing_for`, the `ALERTS` and
//! `ALERTS_FOR_STATE` series, templates with external labels, URL and
//! `query`. Failures print like promtool; bad input exits 2.

use std::path::Path;
use std::process::{Command, Output};

fn alertgate(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_alertgate"))
        .current_dir(dir)
        .arg("test")
        .args(args)
        .output()
        .expect("run alertgate")
}

fn promtool(dir: &Path, args: &[&str]) -> Option<Output> {
    let p = crate::support::peer("promtool")?;
    Some(
        Command::new(p)
            .current_dir(dir)
            .args(["test", "rules"])
            .args(args)
            .output()
            .expect("run promtool"),
    )
}

fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
}

/// Runs the test file under both tools; both must pass.
fn passes_under_both(files: &[(&str, &str)]) {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), files);
    let ours = alertgate(d.path(), &["t.yml"]);
    assert_eq!(
        ours.status.code(),
        Some(0),
        "alertgate:\n{}",
        describe(&ours)
    );
    assert_eq!(String::from_utf8_lossy(&ours.stdout), "  SUCCESS\n\n");
    if let Some(theirs) = promtool(d.path(), &["t.yml"]) {
        assert_eq!(
            theirs.status.code(),
            Some(0),
            "promtool:\n{}",
            describe(&theirs)
        );
    }
}

const LIFECYCLE_RULES: &str = r#"groups:
  - name: g
    rules:
      - alert: Down
        expr: up == 0
        for: 3m
        keep_firing_for: 2m
        labels: {severity: page, instance: '{{ $labels.instance }}-x'}
        annotations:
          summary: '{{ $labels.instance }} down, value {{ $value }}'
"#;

#[test]
fn for_and_keep_firing_for_follow_prometheus() {
    // Down from 1m to 6m; pending 1m-3m, firing 4m-6m, kept firing while
    // less than 2m have passed since the condition stopped (7m, 8m).
    let t = r#"rule_files: [r.yml]
tests:
  - interval: 1m
    input_series:
      - series: 'up{instance="a"}'
        values: '1 0 0 0 0 0 0 1 1 1 1 1'
    alert_rule_test:
      - {eval_time: 3m, alertname: Down, exp_alerts: []}
      - eval_time: 4m
        alertname: Down
        exp_alerts:
          - exp_labels: {severity: page, instance: a-x}
            exp_annotations: {summary: 'a down, value 0'}
      - eval_time: 8m
        alertname: Down
        exp_alerts:
          - exp_labels: {severity: page, instance: a-x}
            exp_annotations: {summary: 'a down, value 0'}
      - {eval_time: 9m, alertname: Down, exp_alerts: []}
"#;
    passes_under_both(&[("r.yml", LIFECYCLE_RULES), ("t.yml", t)]);
}

#[test]
fn alerts_series_are_written_back() {
    // ALERTS carries the state; ALERTS_FOR_STATE the active-since time in
    // seconds; both go away once the alert is resolved.
    let t = r#"rule_files: [r.yml]
tests:
  - interval: 1m
    input_series:
      - series: 'up{instance="a"}'
        values: '1 0 0 0 0 0 0 1 1 1 1 1'
    promql_expr_test:
      - expr: ALERTS
        eval_time: 2m
        exp_samples:
          - labels: 'ALERTS{alertname="Down", alertstate="pending", instance="a-x", severity="page"}'
            value: 1
      - expr: ALERTS
        eval_time: 5m
        exp_samples:
          - labels: 'ALERTS{alertname="Down", alertstate="firing", instance="a-x", severity="page"}'
            value: 1
      - expr: ALERTS_FOR_STATE
        eval_time: 5m
        exp_samples:
          - labels: 'ALERTS_FOR_STATE{alertname="Down", instance="a-x", severity="page"}'
            value: 60
      - expr: ALERTS
        eval_time: 9m
        exp_samples: []
"#;
    passes_under_both(&[("r.yml", LIFECYCLE_RULES), ("t.yml", t)]);
}

#[test]
fn templates_see_external_labels_url_and_query() {
    let r = r#"groups:
  - name: g
    rules:
      - alert: Busy
        expr: load > 1
        annotations:
          where: '{{ $externalLabels.cluster }} {{ $externalURL }}'
          total: '{{ query "sum(load)" | first | value | humanize }}'
          label: '{{ with query "load" }}{{ . | first | label "host" }}{{ end }}'
"#;
    let t = r#"rule_files: [r.yml]
tests:
  - interval: 1m
    external_labels: {cluster: eu1}
    external_url: https://prom.example/
    input_series:
      - series: 'load{host="h1"}'
        values: '2500'
    alert_rule_test:
      - eval_time: 0m
        alertname: Busy
        exp_alerts:
          - exp_labels: {host: h1}
            exp_annotations:
              where: 'eu1 https://prom.example/'
              total: '2.5k'
              label: 'h1'
"#;
    passes_under_both(&[("r.yml", r), ("t.yml", t)]);
}

#[test]
fn failure_output_matches_promtool() {
    let d = tempfile::tempdir().unwrap();
    let t = r#"rule_files: [r.yml]
tests:
  - name: wrong
    interval: 1m
    input_series:
      - series: 'up{instance="a"}'
        values: '0x10'
    alert_rule_test:
      - eval_time: 5m
        alertname: Down
        exp_alerts: []
    promql_expr_test:
      - expr: up
        eval_time: 1m
        exp_samples:
          - labels: 'up{instance="b"}'
            value: 0.5
"#;
    write(d.path(), &[("r.yml", LIFECYCLE_RULES), ("t.yml", t)]);
    let ours = alertgate(d.path(), &["t.yml"]);
    assert_eq!(ours.status.code(), Some(1), "{}", describe(&ours));
    let want = r#"  FAILED:
    name: wrong,
    alertname: Down, time: 5m, 
        exp:[], 
        got:[
            0:
              Labels:{alertname="Down", instance="a-x", severity="page"}
              Annotations:{summary="a down, value 0"}
            ]
    expr: "up", time: 1m,
        exp: {__name__="up", instance="b"} 5E-01
        got: {__name__="up", instance="a"} 0E+00
"#;
    assert_eq!(String::from_utf8_lossy(&ours.stderr), want);
    assert_eq!(String::from_utf8_lossy(&ours.stdout), "\n\n\n");
    if let Some(theirs) = promtool(d.path(), &["t.yml"]) {
        assert_eq!(theirs.status.code(), Some(1));
        assert_eq!(String::from_utf8_lossy(&theirs.stderr), want);
        assert_eq!(theirs.stdout, ours.stdout);
    }
}

#[test]
fn template_errors_are_rejected_at_load_time_with_location() {
    let d = tempfile::tempdir().unwrap();
    let bad_var = "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n        annotations:\n          summary: '{{ $label.instance }}'\n";
    let unsupported = "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n        labels:\n          x: '{{ template \"t\" }}'\n";
    let unknown_fn = "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n        annotations:\n          s: '{{ $value | nosuchfunc }}'\n";
    for (rules, want) in [
        (bad_var, "undefined variable \"$label\""),
        (unsupported, "template"),
        (unknown_fn, "nosuchfunc"),
    ] {
        // No test at all needs the template: it fails when the file loads.
        write(
            d.path(),
            &[
                ("r.yml", rules),
                ("t.yml", "rule_files: [r.yml]\ntests: []\n"),
            ],
        );
        let out = alertgate(d.path(), &["t.yml"]);
        assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("r.yml:7:"), "{err}");
        assert!(err.contains("rules/invalid-template"), "{err}");
        assert!(err.contains(want), "want {want:?} in {err}");
    }
}

#[test]
fn bad_input_exits_2() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        &[
            (
                "unknown-key.yml",
                "tests:\n  - name: x\n    start_timestamp: 0\n",
            ),
            ("bad-duration.yml", "evaluation_interval: 1x\n"),
            ("repeated-order.yml", "group_eval_order: [a, a]\n"),
        ],
    );
    for (file, want) in [
        ("missing.yml", "cannot read"),
        ("unknown-key.yml", "unknown field `start_timestamp`"),
        ("bad-duration.yml", "bad-duration.yml:1:"),
        (
            "repeated-order.yml",
            "group name repeated in evaluation order: a",
        ),
    ] {
        let out = alertgate(d.path(), &[file]);
        assert_eq!(out.status.code(), Some(2), "{file}: {}", describe(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{file}: want {want:?} in {err}");
    }
}

#[test]
fn group_eval_order_decides_which_recording_is_visible() {
    // `b` reads what `a` records at the same step only when `a` runs first.
    let r = "groups:\n  - name: b\n    rules:\n      - record: copy\n        expr: first\n  - name: a\n    rules:\n      - record: first\n        expr: vector(1)\n";
    let t = "rule_files: [r.yml]\ngroup_eval_order: [a, b]\ntests:\n  - promql_expr_test:\n      - expr: copy\n        eval_time: 0m\n        exp_samples:\n          - labels: copy\n            value: 1\n";
    passes_under_both(&[("r.yml", r), ("t.yml", t)]);
}
