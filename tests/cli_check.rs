//! `alertgate check`: malformed rule files (one defect each, golden stderr,
//! also rejected by `promtool check rules`), exit codes, text and JSON output.
//! Regenerate the goldens with `UPDATE_GOLDEN=1` and read the diff.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rules")
}

fn alertgate(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_alertgate"))
        .current_dir(dir)
        .arg("check")
        .args(args)
        .output()
        .expect("run alertgate")
}

/// promtool from `.peers/bin`; missing: a failure under `CI=true`, else a skip.
fn promtool() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".peers/bin/promtool");
    if p.is_file() {
        return Some(p);
    }
    assert!(
        std::env::var("CI").map_or(true, |v| v != "true"),
        "{} is missing",
        p.display()
    );
    eprintln!("skipped promtool comparison: {} not found", p.display());
    None
}

fn promtool_check(promtool: &Path, file: &Path) -> i32 {
    let out = Command::new(promtool)
        .args(["check", "rules"])
        .arg(file)
        .output()
        .expect("run promtool");
    out.status.code().unwrap_or(-1)
}

fn bad_fixtures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".bad.yaml"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_malformed_rule_file_exits_2_with_one_located_line() {
    let bad = bad_fixtures();
    assert!(
        bad.len() >= 12,
        "want at least 12 malformed rule files, have {}",
        bad.len()
    );
    let update = std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1");
    let mut failures = Vec::new();
    for path in &bad {
        let name = path.file_name().unwrap().to_str().unwrap();
        let out = alertgate(&fixtures(), &["--rules", name, "--at", "0"]);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let golden = path.with_extension("").with_extension("stderr");
        if update {
            std::fs::write(&golden, &stderr).unwrap();
        }
        let want = std::fs::read_to_string(&golden).unwrap_or_default();
        let one_line = stderr.lines().count() == 1;
        let located = stderr
            .strip_prefix(&format!("{name}:"))
            .and_then(|rest| rest.split(':').next())
            .is_some_and(|line| line.parse::<usize>().is_ok_and(|n| n > 0));
        if out.status.code() != Some(2)
            || !one_line
            || !located
            || stderr != want
            || !out.stdout.is_empty()
        {
            failures.push(format!(
                "{name}: exit {:?}, stderr {stderr:?}, golden {want:?}",
                out.status.code()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn malformed_rule_files_are_also_rejected_by_promtool() {
    let Some(pt) = promtool() else { return };
    for path in bad_fixtures() {
        assert_eq!(
            promtool_check(&pt, &path),
            1,
            "promtool accepts {}",
            path.display()
        );
    }
    let good = fixtures().join("good.yaml");
    assert_eq!(promtool_check(&pt, &good), 0);
    alertgate::rules::load_paths(&[good.to_string_lossy().into_owned()]).expect("good.yaml loads");
}

#[test]
fn problems_of_several_files_are_all_reported() {
    let out = alertgate(
        &fixtures(),
        &[
            "--rules",
            "bad-expr.bad.yaml",
            "--rules",
            "duplicate-group.bad.yaml",
            "missing.yaml",
            "--at",
            "0",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{stderr}");
    assert!(
        lines[0].starts_with("missing.yaml: rules/read:"),
        "{stderr}"
    );
}

#[test]
fn bad_flags_and_snapshots_exit_2() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("r.yml"), "groups: []\n").unwrap();
    for args in [
        vec!["--rules", "r.yml", "--at", "yesterday"],
        vec![
            "--rules",
            "r.yml",
            "--snapshot",
            "missing.prom",
            "--at",
            "0",
        ],
        vec!["--rules", "r.yml", "--eval-interval", "5", "--at", "0"],
    ] {
        let out = alertgate(d.path(), &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    }
}

const RULES: &str = r#"groups:
  - name: svc
    rules:
      - record: job:errors:ratio
        expr: errors_total / requests_total
      - alert: HighErrorRatio
        expr: job:errors:ratio > 0.1
        for: 5m
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.job }} error ratio is {{ $value | humanizePercentage }}"
      - alert: NewlyBroken
        expr: broken == 1
        for: 10m
      - alert: AllFine
        expr: errors_total > 1000
"#;

/// Samples every minute from T-10m to T (T = 600s): `api` has a 20% error
/// ratio throughout; `broken` turned 1 three minutes before T.
fn snapshot() -> String {
    let mut s = String::new();
    for m in 0..=10 {
        let t = m * 60;
        s.push_str(&format!("errors_total{{job=\"api\"}} 20 {}\n", t * 1000));
        s.push_str(&format!("requests_total{{job=\"api\"}} 100 {}\n", t * 1000));
        s.push_str(&format!(
            "broken{{job=\"db\"}} {} {}\n",
            if m >= 7 { 1 } else { 0 },
            t * 1000
        ));
    }
    s
}

fn scenario() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("rules.yml"), RULES).unwrap();
    std::fs::write(d.path().join("data.prom"), snapshot()).unwrap();
    d
}

#[test]
fn reports_firing_and_pending_alerts_in_text() {
    let d = scenario();
    let out = alertgate(
        d.path(),
        &[
            "--rules",
            "rules.yml",
            "--snapshot",
            "data.prom",
            "--at",
            "600",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(r#"FIRING  HighErrorRatio{job="api", severity="page"} value=0.2"#),
        "{stdout}"
    );
    assert!(
        stdout.contains("    summary: api error ratio is 20%"),
        "{stdout}"
    );
    assert!(
        stdout.contains(r#"PENDING NewlyBroken{job="db"} value=1 (for 7m left)"#),
        "{stdout}"
    );
    assert!(!stdout.contains("AllFine"), "{stdout}");
}

#[test]
fn json_output_is_stable() {
    let d = scenario();
    let out = alertgate(
        d.path(),
        &[
            "--rules",
            "rules.yml",
            "--snapshot",
            "data.prom",
            "--at",
            "1970-01-01T00:10:00Z",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["evaluated_at"], "1970-01-01T00:10:00Z");
    assert_eq!(
        (v["firing"].as_u64(), v["pending"].as_u64()),
        (Some(1), Some(1))
    );
    let a = &v["alerts"][0];
    assert_eq!(a["name"], "HighErrorRatio");
    assert_eq!(a["state"], "firing");
    assert_eq!(a["labels"]["alertname"], "HighErrorRatio");
    assert_eq!(a["labels"]["severity"], "page");
    assert_eq!(a["value"], "0.2");
    assert_eq!(a["for_remaining_seconds"], serde_json::Value::Null);
    assert_eq!(a["annotations"]["summary"], "api error ratio is 20%");
    assert_eq!(
        (a["group"].as_str(), a["file"].as_str()),
        (Some("svc"), Some("rules.yml"))
    );
    let p = &v["alerts"][1];
    assert_eq!(
        (p["name"].as_str(), p["state"].as_str()),
        (Some("NewlyBroken"), Some("pending"))
    );
    assert_eq!(p["active_at"], "1970-01-01T00:07:00Z");
    assert_eq!(p["for_remaining_seconds"], 420.0);
    assert_eq!(v["rule_errors"], serde_json::json!([]));
}

#[test]
fn nothing_firing_exits_0() {
    let d = scenario();
    let out = alertgate(
        d.path(),
        &[
            "--rules",
            "rules.yml",
            "--snapshot",
            "data.prom",
            "--at",
            "60",
        ],
    );
    // At 1m, HighErrorRatio is pending (4m left) and NewlyBroken inactive.
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("PENDING HighErrorRatio"), "{stdout}");
    assert!(stdout.contains("0 firing, 1 pending"), "{stdout}");
}

#[test]
fn a_failing_rule_is_bad_input_not_all_clear() {
    let d = tempfile::tempdir().unwrap();
    // Many-to-many matching fails at evaluation time (promtool's
    // bad-rules-error.yml case).
    std::fs::write(
        d.path().join("r.yml"),
        "groups:\n  - name: g\n    rules:\n      - alert: Joined\n        expr: join_1 + on(a) join_2\n",
    )
    .unwrap();
    std::fs::write(
        d.path().join("s.prom"),
        "join_1{a=\"1\",b=\"2\"} 1\njoin_2{a=\"1\",b=\"3\"} 1\njoin_2{a=\"1\",b=\"4\"} 1\n",
    )
    .unwrap();
    let out = alertgate(
        d.path(),
        &["--rules", "r.yml", "--snapshot", "s.prom", "--at", "0"],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(r#"r.yml: group "g": rule "Joined""#),
        "{stderr}"
    );
}

/// Our replay decides "firing" as `promtool test rules` does: for several
/// evaluation times, the firing alerts `check` reports (labels and rendered
/// annotations) become the expectations of a promtool unit test over the
/// same data, which promtool must pass.
#[test]
fn firing_alerts_match_promtool_test_rules() {
    let Some(pt) = promtool() else { return };
    let d = scenario();
    let mut tests = String::new();
    let mut firing_somewhere = 0;
    for minutes in [0, 1, 4, 5, 6, 7, 9, 10] {
        let at = (minutes * 60).to_string();
        let out = alertgate(
            d.path(),
            &[
                "--rules",
                "rules.yml",
                "--snapshot",
                "data.prom",
                "--at",
                &at,
                "--format",
                "json",
            ],
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
        for name in ["HighErrorRatio", "NewlyBroken", "AllFine"] {
            tests.push_str(&format!(
                "      - eval_time: {minutes}m\n        alertname: {name}\n        exp_alerts:\n"
            ));
            let mut n = 0;
            for a in v["alerts"].as_array().unwrap() {
                if a["name"] != name || a["state"] != "firing" {
                    continue;
                }
                n += 1;
                // JSON strings are valid YAML flow scalars.
                let labels = a["labels"].as_object().unwrap();
                let labels: Vec<String> = labels
                    .iter()
                    .filter(|(k, _)| *k != "alertname")
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect();
                let ann: Vec<String> = a["annotations"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect();
                tests.push_str(&format!(
                    "          - exp_labels: {{{}}}\n            exp_annotations: {{{}}}\n",
                    labels.join(", "),
                    ann.join(", ")
                ));
            }
            if n == 0 {
                tests.push_str("          []\n");
            }
            firing_somewhere += n;
        }
    }
    assert!(
        firing_somewhere > 0,
        "the scenario should fire at some time"
    );
    let unit = format!(
        "rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n      - series: 'errors_total{{job=\"api\"}}'\n        values: '20x10'\n      - series: 'requests_total{{job=\"api\"}}'\n        values: '100x10'\n      - series: 'broken{{job=\"db\"}}'\n        values: '0x6 1x3'\n    alert_rule_test:\n{tests}"
    );
    std::fs::write(d.path().join("unit.yml"), &unit).unwrap();
    let out = Command::new(pt)
        .current_dir(d.path())
        .args(["test", "rules", "unit.yml"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "promtool disagrees:\n{}\n{}\n{unit}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn experimental_functions_need_enable_feature_like_promtool() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("r.yml"),
        "groups:\n  - name: g\n    rules:\n      - record: sorted\n        expr: sort_by_label(up, \"job\")\n",
    )
    .unwrap();
    let out = alertgate(d.path(), &["--rules", "r.yml", "--at", "0"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("r.yml:5:15: rules/invalid-expr:"),
        "{stderr}"
    );
    let out = alertgate(
        d.path(),
        &[
            "--rules",
            "r.yml",
            "--at",
            "0",
            "--enable-feature",
            "promql-experimental-functions",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    if let Some(pt) = promtool() {
        assert_eq!(promtool_check(&pt, &d.path().join("r.yml")), 1);
    }
}
