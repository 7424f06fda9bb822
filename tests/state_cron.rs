//! `check --state` run like a cron job, once per minute of simulated time:
//! each run sees the data scraped so far and continues from the saved
//! state. Alerts must go pending, firing and resolved at the same minutes
//! as in promtool's unit test of the same rule and series (the expected
//! timeline below is checked against promtool itself), `keep_firing_for`
//! holds, resolved alerts stay in the state for 15 minutes, and a corrupt
//! or foreign state file stops the run with exit 2 and is left untouched.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A minute boundary, so simulated minute m is Unix second BASE + 60 m.
const BASE: i64 = 1_700_000_040;
const LAST_MINUTE: i64 = 26;

const RULES: &str = r#"groups:
  - name: cron
    rules:
      - alert: QueueStuck
        expr: queue_depth > 10
        for: 5m
        labels: {severity: page}
        annotations: {summary: "depth {{ $value }}"}
      - alert: QueueStuckSticky
        expr: queue_depth > 10
        for: 5m
        keep_firing_for: 3m
"#;

/// The queue is over the limit from minute 2 to minute 9.
fn depth(m: i64) -> f64 {
    if (2..=9).contains(&m) {
        20.0
    } else {
        0.0
    }
}

/// (alert, state) active at minute m, as promtool decides (verified below).
fn expected(m: i64) -> Vec<(&'static str, &'static str)> {
    let mut v = Vec::new();
    match m {
        2..=6 => v.push(("QueueStuck", "pending")),
        7..=9 => v.push(("QueueStuck", "firing")),
        _ => {}
    }
    match m {
        2..=6 => v.push(("QueueStuckSticky", "pending")),
        // Condition gone at 10; kept firing while less than 3m have passed.
        7..=12 => v.push(("QueueStuckSticky", "firing")),
        _ => {}
    }
    v
}

fn alertgate(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_alertgate"))
        .current_dir(dir)
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

/// A promtool unit test asserting the expected timeline through `ALERTS`
/// at every minute (promtool's alert tests only show firing alerts).
fn unit_test_yaml() -> String {
    let mut y = String::from(
        "rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n      - series: 'queue_depth{queue=\"q1\"}'\n        values: '",
    );
    let vals: Vec<String> = (0..=LAST_MINUTE).map(|m| depth(m).to_string()).collect();
    y.push_str(&vals.join(" "));
    y.push_str("'\n    promql_expr_test:\n");
    for m in 0..=LAST_MINUTE {
        y.push_str(&format!(
            "      - expr: ALERTS\n        eval_time: {m}m\n        exp_samples:\n"
        ));
        for (name, state) in expected(m) {
            let sev = if name == "QueueStuck" {
                ", severity=\"page\""
            } else {
                ""
            };
            y.push_str(&format!(
                "          - labels: 'ALERTS{{alertname=\"{name}\", alertstate=\"{state}\", queue=\"q1\"{sev}}}'\n            value: 1\n"
            ));
        }
    }
    y
}

fn setup() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("rules.yml"), RULES).unwrap();
    std::fs::write(d.path().join("timeline.test.yml"), unit_test_yaml()).unwrap();
    d
}

/// What a scraper has collected by minute m, as OpenMetrics.
fn write_snapshot(dir: &Path, m: i64) -> PathBuf {
    let mut s = String::from("# TYPE queue_depth gauge\n");
    for i in 0..=m {
        s.push_str(&format!(
            "queue_depth{{queue=\"q1\"}} {} {}\n",
            depth(i),
            BASE + 60 * i
        ));
    }
    s.push_str("# EOF\n");
    let p = dir.join("scrape.om");
    std::fs::write(&p, s).unwrap();
    p
}

fn check_at(dir: &Path, m: i64) -> Output {
    write_snapshot(dir, m);
    let at = (BASE + 60 * m).to_string();
    alertgate(
        dir,
        &[
            "check",
            "--rules",
            "rules.yml",
            "--snapshot",
            "scrape.om",
            "--at",
            &at,
            "--state",
            "s.json",
            "--format",
            "json",
        ],
    )
}

fn active(out: &Output) -> Vec<(String, String)> {
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", describe(out)));
    let mut v: Vec<(String, String)> = doc["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_string(),
                a["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

fn saved_alerts(dir: &Path, rule: &str) -> Vec<Value> {
    let s: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("s.json")).unwrap()).unwrap();
    s["groups"][0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["name"] == rule)
        .flat_map(|r| r["alerts"].as_array().unwrap().clone())
        .collect()
}

#[test]
fn expected_timeline_is_promtools() {
    let d = setup();
    let ours = alertgate(d.path(), &["test", "timeline.test.yml"]);
    assert!(
        ours.status.success(),
        "alertgate test:\n{}",
        describe(&ours)
    );
    let Some(promtool) = crate::support::peer("promtool") else {
        return;
    };
    let theirs = Command::new(promtool)
        .current_dir(d.path())
        .args(["test", "rules", "timeline.test.yml"])
        .output()
        .unwrap();
    assert!(theirs.status.success(), "promtool:\n{}", describe(&theirs));
}

#[test]
fn cron_check_with_state_follows_promtools_timeline() {
    let d = setup();
    for m in 0..=LAST_MINUTE {
        let out = check_at(d.path(), m);
        let want: Vec<(String, String)> = expected(m)
            .into_iter()
            .map(|(a, s)| (a.to_string(), s.to_string()))
            .collect();
        assert_eq!(active(&out), want, "minute {m}:\n{}", describe(&out));
        let firing = want.iter().any(|(_, s)| s == "firing");
        assert_eq!(
            out.status.code(),
            Some(if firing { 1 } else { 0 }),
            "minute {m}:\n{}",
            describe(&out)
        );
        // `for` counts from the first pending run, not from this run.
        if m == 7 {
            let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
            let a = &doc["alerts"][0];
            assert_eq!(a["active_at"], "2023-11-14T22:16:00Z", "{a}");
        }
        // Resolved at minute 10; kept (inactive) for 15 minutes after.
        let kept = saved_alerts(d.path(), "QueueStuck");
        match m {
            10..=25 => {
                assert_eq!(kept.len(), 1, "minute {m}: {kept:?}");
                assert_eq!(kept[0]["state"], "inactive");
                assert_eq!(kept[0]["resolved_at"], (BASE + 600) * 1000);
            }
            26 => assert!(kept.is_empty(), "minute 26: {kept:?}"),
            _ => {}
        }
    }
}

#[test]
fn state_survives_only_through_the_file() {
    // Without --state each run replays history; with a fresh state file
    // the first run starts the `for` clock, so nothing fires yet.
    let d = setup();
    let out = check_at(d.path(), 8);
    assert_eq!(
        active(&out),
        vec![
            ("QueueStuck".to_string(), "pending".to_string()),
            ("QueueStuckSticky".to_string(), "pending".to_string())
        ],
        "{}",
        describe(&out)
    );
}

#[test]
fn corrupt_or_foreign_state_file_exits_2_and_is_left_alone() {
    let d = setup();
    for (text, want) in [
        (
            "{\"format\": \"alertgate-alert-state\", \"vers",
            "corrupt state file",
        ),
        ("{\"groups\": []}\n", "not an alertgate state file"),
        ("alerts: []\n", "corrupt state file"),
    ] {
        std::fs::write(d.path().join("s.json"), text).unwrap();
        let out = check_at(d.path(), 3);
        assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{text:?}: {err}");
        assert!(err.contains("s.json"), "{err}");
        assert_eq!(
            std::fs::read_to_string(d.path().join("s.json")).unwrap(),
            text
        );
    }
}

#[test]
fn state_from_a_later_time_is_refused() {
    let d = setup();
    assert!(check_at(d.path(), 5).status.code().is_some());
    let saved = std::fs::read_to_string(d.path().join("s.json")).unwrap();
    let out = check_at(d.path(), 4);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot go back in time"));
    assert_eq!(
        std::fs::read_to_string(d.path().join("s.json")).unwrap(),
        saved
    );
}
