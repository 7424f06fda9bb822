//! `alertgate canary` end to end: decide exit codes and files, rollout
//! idempotency (byte-identical state), kill switch, concurrent runs,
//! corrupt state, the shipped example cycle, and the shipped gates of
//! runbooks 000 and 004 against their rule packs.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn canary(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_alertgate"));
    c.current_dir(dir).arg("canary").args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run alertgate")
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A temp dir with the example gate (runbook 001) and one KPI day.
fn setup(kpi: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    fs::copy(
        root().join("examples/canary/canary.yml"),
        d.path().join("canary.yml"),
    )
    .unwrap();
    write_kpi(d.path(), "2025-03-04", kpi);
    d
}

fn write_kpi(dir: &Path, date: &str, kpi: &str) {
    let p = dir.join(format!("data/acme/{date}.json"));
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, kpi).unwrap();
}

fn state_path(dir: &Path) -> PathBuf {
    dir.join("data/acme/operate/operate_state.json")
}

const CLEAN: &str = r#"{"notices_sent": 100, "error_rate": 0.004, "hard_bounces": 2, "dlq_depth": 0, "retry_depth": 5}"#;
const HOLD: &str = r#"{"notices_sent": 100, "error_rate": 0.025, "hard_bounces": 2, "dlq_depth": 0, "retry_depth": 5}"#;
const SEVERE: &str = r#"{"notices_sent": 100, "error_rate": 0.09, "hard_bounces": 2, "dlq_depth": 0, "retry_depth": 5}"#;
const DECIDE: [&str; 6] = [
    "decide",
    "--tenant",
    "acme",
    "--date",
    "2025-03-04",
    "--now",
];

fn decide(dir: &Path, now: &str, env: &[(&str, &str)]) -> Output {
    let mut a = DECIDE.to_vec();
    a.push(now);
    canary(dir, &a, env)
}

#[test]
fn decide_exits_0_go_1_hold_3_backout_and_writes_json_and_markdown() {
    let d = setup(CLEAN);
    let o = decide(d.path(), "2025-03-04T06:30:00Z", &[]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let dir = d.path().join("data/acme/canary");
    let j: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("20250304T063000Z_decision.json")).unwrap())
            .unwrap();
    assert_eq!(j["decision"], "GO_25");
    assert_eq!(j["decided_at"], "2025-03-04T06:30:00Z");
    assert_eq!(j["trace_id"], "canary-acme-20250304T063000Z");
    let md = fs::read_to_string(dir.join("20250304T063000Z_decision.md")).unwrap();
    assert!(md.contains("Decision: **GO_25**"), "{md}");
    // Deciding never writes state.
    assert!(!state_path(d.path()).exists());

    write_kpi(d.path(), "2025-03-04", HOLD);
    let o = decide(d.path(), "2025-03-04T06:31:00Z", &[]);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(
        stdout(&o).contains("error_rate 0.025 breaches <= 0.02"),
        "{}",
        stdout(&o)
    );
    let alert_line = stdout(&o)
        .lines()
        .find(|l| l.starts_with("alert: "))
        .unwrap()
        .to_string();
    let alert: serde_json::Value = serde_json::from_str(&alert_line["alert: ".len()..]).unwrap();
    for k in [
        "tenant_id",
        "trace_id",
        "metric",
        "threshold",
        "value",
        "severity",
        "text",
    ] {
        assert!(alert.get(k).is_some(), "alert lacks {k}: {alert}");
    }

    // The override of runbook 001 turns the same KPIs into a GO.
    let o = decide(
        d.path(),
        "2025-03-04T06:32:00Z",
        &[("CANARY_THRESHOLD_ERROR_RATE", "0.03")],
    );
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let o = decide(
        d.path(),
        "2025-03-04T06:32:00Z",
        &[("CANARY_THRESHOLD_ERROR_RAT", "0.03")],
    );
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("CANARY_THRESHOLD_ERROR_RAT: no kpi"),
        "{}",
        stderr(&o)
    );

    write_kpi(d.path(), "2025-03-04", SEVERE);
    let o = decide(d.path(), "2025-03-04T06:33:00Z", &[]);
    assert_eq!(code(&o), 3, "{}", stdout(&o));
    assert!(stdout(&o).starts_with("decision: BACKOUT"));
}

#[test]
fn decide_bad_input_exits_2() {
    let d = setup(CLEAN);
    // No KPI file for that day.
    let o = canary(
        d.path(),
        &[
            "decide",
            "--tenant",
            "acme",
            "--date",
            "2025-03-09",
            "--now",
            "2025-03-09T06:30:00Z",
        ],
        &[],
    );
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("2025-03-09.json"), "{}", stderr(&o));
    // Malformed KPI JSON, a bad tenant, a bad date, a bad config line.
    write_kpi(d.path(), "2025-03-05", "{\"error_rate\": ");
    let o = canary(
        d.path(),
        &["decide", "--tenant", "acme", "--date", "2025-03-05"],
        &[],
    );
    assert_eq!(code(&o), 2);
    let o = canary(d.path(), &["decide", "--tenant", "../x"], &[]);
    assert_eq!(code(&o), 2);
    let o = canary(
        d.path(),
        &["decide", "--tenant", "acme", "--date", "4.3.2025"],
        &[],
    );
    assert_eq!(code(&o), 2);
    fs::write(
        d.path().join("bad.yml"),
        "kpis:\n  - name: e\n    field: e\n    pass: \"=< 1\"\n",
    )
    .unwrap();
    let o = canary(
        d.path(),
        &["decide", "--config", "bad.yml", "--tenant", "acme"],
        &[],
    );
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("bad.yml:4:11: canary/bad-threshold"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn rollout_repeat_reports_unchanged_and_leaves_state_byte_identical() {
    let d = setup(CLEAN);
    assert_eq!(code(&decide(d.path(), "2025-03-04T06:30:00Z", &[])), 0);
    let o = canary(
        d.path(),
        &[
            "rollout",
            "--tenant",
            "acme",
            "--now",
            "2025-03-04T06:35:00Z",
        ],
        &[],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("step=10->25 kill_switch=off changed=true"),
        "{}",
        stdout(&o)
    );
    let before = fs::read(state_path(d.path())).unwrap();
    let o = canary(
        d.path(),
        &[
            "rollout",
            "--tenant",
            "acme",
            "--now",
            "2025-03-04T06:40:00Z",
        ],
        &[],
    );
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("changed=false"), "{}", stdout(&o));
    assert_eq!(fs::read(state_path(d.path())).unwrap(), before);
    // Both runs left a rollout log with the trace id.
    let logs: Vec<_> = fs::read_dir(d.path().join("data/acme/canary"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with("_rollout_log.json"))
        .collect();
    assert_eq!(logs.len(), 2, "{logs:?}");

    // HOLD changes nothing.
    write_kpi(d.path(), "2025-03-04", HOLD);
    assert_eq!(code(&decide(d.path(), "2025-03-04T07:00:00Z", &[])), 1);
    let o = canary(
        d.path(),
        &[
            "rollout",
            "--tenant",
            "acme",
            "--now",
            "2025-03-04T07:05:00Z",
        ],
        &[],
    );
    assert!(
        stdout(&o).contains("decision=HOLD step=25->25 kill_switch=off changed=false"),
        "{}",
        stdout(&o)
    );
    assert_eq!(fs::read(state_path(d.path())).unwrap(), before);

    // BACKOUT: kill switch on, first step, recorded.
    write_kpi(d.path(), "2025-03-04", SEVERE);
    assert_eq!(code(&decide(d.path(), "2025-03-04T08:00:00Z", &[])), 3);
    let o = canary(
        d.path(),
        &[
            "rollout",
            "--tenant",
            "acme",
            "--now",
            "2025-03-04T08:01:00Z",
        ],
        &[],
    );
    assert!(
        stdout(&o).contains("decision=BACKOUT step=25->10 kill_switch=on changed=true"),
        "{}",
        stdout(&o)
    );
    let s: serde_json::Value =
        serde_json::from_slice(&fs::read(state_path(d.path())).unwrap()).unwrap();
    assert_eq!(s["step"], 10);
    assert_eq!(s["kill_switch"]["active"], true);
    assert_eq!(s["kill_switch"]["trace_id"], "canary-acme-20250304T080000Z");
    assert_eq!(s["history"].as_array().unwrap().len(), 2);

    // The GO decided before the backout must not undo it: refused,
    // state untouched.
    let before = fs::read(state_path(d.path())).unwrap();
    let o = canary(
        d.path(),
        &[
            "rollout",
            "--tenant",
            "acme",
            "--decision-file",
            "data/acme/canary/20250304T063000Z_decision.json",
        ],
        &[],
    );
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("decide again"), "{}", stderr(&o));
    assert_eq!(fs::read(state_path(d.path())).unwrap(), before);
    // A new GO, decided with the kill switch on, turns it off.
    write_kpi(d.path(), "2025-03-04", CLEAN);
    assert_eq!(code(&decide(d.path(), "2025-03-04T09:00:00Z", &[])), 0);
    let o = canary(
        d.path(),
        &[
            "rollout",
            "--tenant",
            "acme",
            "--now",
            "2025-03-04T09:01:00Z",
        ],
        &[],
    );
    assert!(
        stdout(&o).contains("decision=GO_25 step=10->25 kill_switch=off changed=true"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn kill_switch_is_idempotent_and_recorded() {
    let d = setup(CLEAN);
    let ks = |extra: &[&str]| {
        let mut a = vec![
            "kill-switch",
            "--tenant",
            "acme",
            "--reason",
            "incident 42",
            "--trace-id",
            "ks-1",
        ];
        a.extend_from_slice(extra);
        canary(d.path(), &a, &[])
    };
    let o = ks(&[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("kill_switch=on step=10 changed=true trace_id=ks-1"),
        "{}",
        stdout(&o)
    );
    let on = fs::read(state_path(d.path())).unwrap();
    let o = ks(&[]);
    assert!(stdout(&o).contains("changed=false"));
    assert_eq!(fs::read(state_path(d.path())).unwrap(), on);
    let o = ks(&["--off"]);
    assert!(
        stdout(&o).contains("kill_switch=off step=10 changed=true"),
        "{}",
        stdout(&o)
    );
    let off = fs::read(state_path(d.path())).unwrap();
    let o = ks(&["--off"]);
    assert!(stdout(&o).contains("changed=false"));
    assert_eq!(fs::read(state_path(d.path())).unwrap(), off);
    let s: serde_json::Value = serde_json::from_slice(&off).unwrap();
    let actions: Vec<&str> = s["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["kill_switch_on", "kill_switch_off"]);
    assert_eq!(s["history"][0]["reason"], "incident 42");
    let o = canary(d.path(), &["status", "--tenant", "acme"], &[]);
    assert!(
        stdout(&o).contains("kill switch: off (reason: incident 42;"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn concurrent_runs_on_one_tenant_neither_corrupt_nor_lose_state() {
    let d = setup(CLEAN);
    assert_eq!(code(&decide(d.path(), "2025-03-04T06:30:00Z", &[])), 0);
    let bin = env!("CARGO_BIN_EXE_alertgate");
    // 8 rollouts of one GO and 8 kill-switch flips, all at once. Without
    // the lock, two runs read the same state and the later write drops the
    // other's history entry.
    let mut kids = Vec::new();
    for i in 0..16 {
        let mut c = Command::new(bin);
        c.current_dir(d.path());
        if i % 2 == 1 {
            let t = format!("ks-{i}");
            c.args([
                "canary",
                "kill-switch",
                "--tenant",
                "acme",
                "--reason",
                "drill",
                "--trace-id",
                &t,
            ]);
            if i % 4 == 3 {
                c.arg("--off");
            }
        } else {
            c.args(["canary", "rollout", "--tenant", "acme"]);
        }
        c.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        kids.push((i, c.spawn().unwrap()));
    }
    let (mut changed, mut rollouts_changed) = (0, 0);
    for (i, k) in kids {
        let o = k.wait_with_output().unwrap();
        // A rollout after a kill switch is refused (exit 2), never applied.
        let refused = code(&o) == 2
            && i % 2 == 0
            && stderr(&o).contains("kill switch was turned on after this decision");
        assert!(
            code(&o) == 0 || refused,
            "run {i}: {}{}",
            stdout(&o),
            stderr(&o)
        );
        if stdout(&o).contains("changed=true") {
            changed += 1;
            if i % 2 == 0 {
                rollouts_changed += 1;
            }
        }
    }
    assert!(rollouts_changed <= 1, "one GO applies at most once");
    let s: serde_json::Value =
        serde_json::from_slice(&fs::read(state_path(d.path())).unwrap()).unwrap();
    assert_eq!(
        s["history"].as_array().unwrap().len(),
        changed,
        "every change is in the history: {s}"
    );
    let leftovers: Vec<_> = fs::read_dir(state_path(d.path()).parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        leftovers,
        ["operate_state.json"],
        "no lock or temporary file left"
    );
}

#[test]
fn a_rollout_waits_for_the_lock_and_gives_up_with_exit_2() {
    let d = setup(CLEAN);
    assert_eq!(code(&decide(d.path(), "2025-03-04T06:30:00Z", &[])), 0);
    let lock = d.path().join("data/acme/operate/operate_state.json.lock");
    fs::create_dir_all(lock.parent().unwrap()).unwrap();
    fs::write(&lock, "12345\n").unwrap();
    let o = canary(
        d.path(),
        &["rollout", "--tenant", "acme", "--lock-timeout", "0.2"],
        &[],
    );
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("locked by another run"),
        "{}",
        stderr(&o)
    );
    assert!(!state_path(d.path()).exists());
    fs::remove_file(&lock).unwrap();
    let o = canary(d.path(), &["rollout", "--tenant", "acme"], &[]);
    assert!(stdout(&o).contains("changed=true"), "{}", stdout(&o));
}

#[test]
fn corrupt_state_exits_2_and_is_left_untouched() {
    let d = setup(CLEAN);
    let p = state_path(d.path());
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    let junk = b"{\"tenant\": \"acme\", \"step\": 25, \"history\": [";
    fs::write(&p, junk).unwrap();
    for args in [
        vec!["decide", "--tenant", "acme", "--date", "2025-03-04"],
        vec!["rollout", "--tenant", "acme"],
        vec![
            "kill-switch",
            "--tenant",
            "acme",
            "--reason",
            "r",
            "--trace-id",
            "t",
        ],
        vec!["status", "--tenant", "acme"],
    ] {
        let o = canary(d.path(), &args, &[]);
        assert_eq!(code(&o), 2, "{args:?}: {}", stdout(&o));
        assert!(
            stderr(&o).contains("corrupt state file (left untouched)"),
            "{args:?}: {}",
            stderr(&o)
        );
        assert_eq!(fs::read(&p).unwrap(), junk);
    }
}

#[test]
fn example_cycle_goes_from_10_to_100_and_backs_out() {
    let o = Command::new("sh")
        .arg(root().join("examples/canary/run.sh"))
        .arg(env!("CARGO_BIN_EXE_alertgate"))
        .output()
        .unwrap();
    let out = stdout(&o);
    assert!(o.status.success(), "{out}{}", stderr(&o));
    let rollouts: Vec<&str> = out.lines().filter(|l| l.starts_with("rollout: ")).collect();
    let want = [
        "decision=GO_25 step=10->25 kill_switch=off changed=true",
        "decision=GO_50 step=25->50 kill_switch=off changed=true",
        "decision=GO_50 step=50->50 kill_switch=off changed=false",
        "decision=GO_100 step=50->100 kill_switch=off changed=true",
        "decision=BACKOUT step=100->10 kill_switch=on changed=true",
    ];
    assert_eq!(rollouts.len(), want.len(), "{out}");
    for (l, w) in rollouts.iter().zip(want) {
        assert!(l.contains(w), "{l} lacks {w}");
    }
    let exits: Vec<&str> = out.lines().filter(|l| l.starts_with("(exit ")).collect();
    // decide+rollout x2, the repeat, decide+rollout, BACKOUT (3) + rollout.
    assert_eq!(
        exits,
        [
            "(exit 0)", "(exit 0)", "(exit 0)", "(exit 0)", "(exit 0)", "(exit 0)", "(exit 0)",
            "(exit 3)", "(exit 0)"
        ]
    );
    // The example directory stays clean.
    assert!(!root().join("examples/canary/data/acme/canary").exists());
}

/// A copy of a shipped gate whose `../data` root lands in a temp dir.
fn gate(name: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    fs::create_dir_all(d.path().join("gates")).unwrap();
    fs::copy(
        root().join("examples/canary/gates").join(name),
        d.path().join("gates").join(name),
    )
    .unwrap();
    d
}

fn alertgate_check(rules: &str, snapshot: &Path, extra: &[&str]) -> i32 {
    let o = Command::new(env!("CARGO_BIN_EXE_alertgate"))
        .args(["check", "--rules"])
        .arg(root().join(rules))
        .arg("--snapshot")
        .arg(snapshot)
        .args(["--at", "2025-03-04T09:10:00Z"])
        .args(extra)
        .output()
        .unwrap();
    code(&o)
}

#[test]
fn stage0_gate_agrees_with_the_stage0_rule_pack() {
    let d = gate("stage0.yml");
    for (snap, want_exit, want_rule_exit) in [("clean.om", 0, 0), ("breach.om", 3, 1)] {
        let s = root().join("examples/stage0-canary").join(snap);
        let o = canary(
            d.path(),
            &[
                "decide",
                "--config",
                "gates/stage0.yml",
                "--tenant",
                "shift-optimizer",
                "--now",
                "2025-03-04T09:10:00Z",
                "--snapshot",
                s.to_str().unwrap(),
                "--format",
                "json",
            ],
            &[],
        );
        assert_eq!(code(&o), want_exit, "{snap}: {}{}", stdout(&o), stderr(&o));
        let j: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(
            alertgate_check("rules/stage0-canary.yml", &s, &[]),
            want_rule_exit,
            "{snap}"
        );
        let status = |m: &str| {
            j["checks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["metric"] == m)
                .unwrap()["status"]
                .clone()
        };
        if want_exit == 0 {
            assert_eq!(j["decision"], "GO_1");
            assert_eq!(status("api_errors_10m"), "ok");
        } else {
            // The three STOP rules fire on this snapshot; each is severe here.
            for m in ["overrun_rate", "runtime_p95_seconds", "overruns_60m"] {
                assert_eq!(status(m), "severe", "{m}: {j}");
            }
        }
    }
}

#[test]
fn runbook_000_gate_agrees_with_the_dunning_rule_pack() {
    let d = gate("runbook-000.yml");
    for (snap, want_exit, want_rule_exit) in [("clean.json", 0, 0), ("breach.json", 3, 1)] {
        let s = root().join("examples/dunning-kpis").join(snap);
        write_kpi(d.path(), "2025-03-04", &fs::read_to_string(&s).unwrap());
        let o = canary(
            d.path(),
            &[
                "decide",
                "--config",
                "gates/runbook-000.yml",
                "--tenant",
                "acme",
                "--date",
                "2025-03-04",
                "--now",
                "2025-03-04T09:10:00Z",
            ],
            &[],
        );
        assert_eq!(code(&o), want_exit, "{snap}: {}{}", stdout(&o), stderr(&o));
        assert_eq!(
            alertgate_check("rules/dunning-kpis.yml", &s, &["--label", "tenant_id=acme"]),
            want_rule_exit,
            "{snap}"
        );
        if want_exit == 0 {
            assert!(stdout(&o).starts_with("decision: GO_25"), "{}", stdout(&o));
        } else {
            let out = stdout(&o);
            for m in [
                "success_rate 0.955 breaches >= 0.97",
                "dlq_depth 12 breaches <= 0",
                "retry_depth 72 breaches <= 50",
                "hard_bounce_rate 0.08 breaches <= 0.05",
                "error_rate 0.035 is a severe breach",
            ] {
                assert!(out.contains(m), "missing {m:?} in {out}");
            }
        }
    }
}
