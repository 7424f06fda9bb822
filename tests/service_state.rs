//! `alertgate run` keeps alert state in `state_dir/alerts-state.json`, in
//! the format `check --state` writes: an alert pending before a SIGKILL
//! fires `for:` after it went pending, not `for:` after the restart; a
//! state file written by `check --state` is continued by `run` (and the
//! other way round); a corrupt file stops the start with one line on
//! stderr and is left as it was.

use super::service_support::{binary, free_port, wait_until, Alertgate};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// One always-true alert with the given `for:`, evaluated every second.
fn setup(for_: &str) -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("rules.yml"),
        format!("groups:\n- name: g\n  rules:\n  - alert: Held\n    expr: vector(1)\n    for: {for_}\n    labels: {{severity: page}}\n"),
    )
    .unwrap();
    let cfg = d.path().join("alertgate.yml");
    std::fs::write(
        &cfg,
        "rule_files: [rules.yml]\nevaluation_interval: 1s\nstate_dir: state\n",
    )
    .unwrap();
    (d, cfg)
}

fn state_path(dir: &Path) -> PathBuf {
    dir.join("state/alerts-state.json")
}

/// The `Held` alert in the state file: (state, active_at, fired_at).
fn saved(dir: &Path) -> Option<(String, i64, Option<i64>)> {
    let text = std::fs::read_to_string(state_path(dir)).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    assert_eq!(v["format"], "alertgate-alert-state", "{text}");
    assert_eq!(v["version"], 1, "{text}");
    let g = v["groups"].as_array()?.first()?;
    assert_eq!(g["file"], "rules.yml", "{text}");
    assert_eq!(g["group"], "g", "{text}");
    let a = &g["rules"].as_array()?.first()?["alerts"][0];
    Some((
        a["state"].as_str()?.to_string(),
        a["active_at"].as_i64()?,
        a["fired_at"].as_i64(),
    ))
}

fn check(dir: &Path, at_s: i64) -> Output {
    Command::new(binary())
        .current_dir(dir)
        .args(["check", "--rules", "rules.yml", "--at"])
        .arg(at_s.to_string())
        .args(["--state", "state/alerts-state.json"])
        .output()
        .unwrap()
}

#[test]
fn for_holds_across_a_sigkill_of_run() {
    const FOR_MS: i64 = 8_000;
    let (d, cfg) = setup("8s");
    let mut ag = Alertgate::start(&cfg, &[]);
    let (state, active_at, _) = wait_until(Duration::from_secs(30), "pending in the file", || {
        saved(d.path())
    });
    assert_eq!(state, "pending");
    // Killed a few seconds into `for`, long before the 30 s periodic save:
    // only the save after each evaluation can have written the file.
    while now_ms() < active_at + 3_000 {
        std::thread::sleep(Duration::from_millis(50));
    }
    ag.child.kill().unwrap();
    ag.child.wait().unwrap();
    let (state, kept, _) = saved(d.path()).unwrap();
    assert_eq!((state.as_str(), kept), ("pending", active_at));

    let restarted = now_ms();
    let ag2 = Alertgate::start(&cfg, &[]);
    let a = wait_until(Duration::from_secs(30), "restored alert", || {
        ag2.alerts().into_iter().next()
    });
    assert_eq!(a["state"], "pending", "{a}");
    let (state, kept, fired_at) = wait_until(Duration::from_secs(30), "firing", || {
        saved(d.path()).filter(|s| s.0 == "firing")
    });
    assert_eq!(state, "firing");
    assert_eq!(kept, active_at, "the restart did not start the alert over");
    let fired_at = fired_at.unwrap();
    // At the first evaluation `for` after it went pending (a slow machine
    // may miss a tick), and well before `for` after the restart.
    assert!(
        (active_at + FOR_MS..=active_at + FOR_MS + 2_000).contains(&fired_at),
        "active {active_at}, fired {fired_at}"
    );
    assert!(
        fired_at < restarted + FOR_MS,
        "restart {restarted}, fired {fired_at}"
    );
    assert_eq!(ag2.alerts()[0]["state"], "firing");
}

#[test]
fn run_continues_the_state_check_wrote_and_check_continues_runs() {
    const FOR_MS: i64 = 150_000;
    let (d, cfg) = setup("150s");
    // A cron job's `check --state` saw the alert go pending 140 s ago.
    let at = now_ms() / 1000 - 140;
    std::fs::create_dir_all(d.path().join("state")).unwrap();
    let out = check(d.path(), at);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("PENDING Held"));
    assert_eq!(saved(d.path()).unwrap().1, at * 1000);

    let mut ag = Alertgate::start(&cfg, &[]);
    let started = now_ms();
    let (_, active_at, fired_at) = wait_until(Duration::from_secs(60), "firing", || {
        saved(d.path()).filter(|s| s.0 == "firing")
    });
    assert_eq!(active_at, at * 1000);
    let fired_at = fired_at.unwrap();
    assert!(fired_at >= active_at + FOR_MS, "fired {fired_at}");
    assert!(
        fired_at <= (active_at + FOR_MS).max(started) + 2_000,
        "active {active_at}, started {started}, fired {fired_at}"
    );

    // And the other way: `check --state` continues what `run` saved.
    ag.signal("TERM");
    let (status, _) = ag.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{}", ag.log_text());
    let out = check(d.path(), now_ms() / 1000);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("FIRING  Held"),
        "{out:?}"
    );
    let (state, kept, fired) = saved(d.path()).unwrap();
    assert_eq!(
        (state.as_str(), kept, fired),
        ("firing", active_at, Some(fired_at))
    );
}

/// Runs `alertgate run` expecting it to stop by itself within 30 s.
fn run_to_exit(cfg: &Path) -> (Option<i32>, String) {
    let err = cfg.with_extension("err");
    let mut child = Command::new(binary())
        .arg("run")
        .arg("--config")
        .arg(cfg)
        .arg(format!("--web.listen-address=127.0.0.1:{}", free_port()))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("alertgate run did not stop on a bad state file");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (status.code(), std::fs::read_to_string(&err).unwrap())
}

#[test]
fn a_corrupt_or_foreign_state_file_stops_the_start_and_is_left_alone() {
    let (d, cfg) = setup("1m");
    std::fs::create_dir_all(d.path().join("state")).unwrap();
    for (text, want) in [
        (
            "{\"format\": \"alertgate-alert-state\", \"version\": 1, \"gro",
            "corrupt state file",
        ),
        ("{\"groups\": []}\n", "not an alertgate state file"),
        (
            "{\"format\": \"alertgate-alert-state\", \"version\": 7}\n",
            "version 7 is not supported",
        ),
    ] {
        std::fs::write(state_path(d.path()), text).unwrap();
        let (code, err) = run_to_exit(&cfg);
        assert_eq!(code, Some(1), "{err}");
        let lines: Vec<&str> = err.lines().filter(|l| l.contains(want)).collect();
        assert_eq!(lines.len(), 1, "{text:?}: {err}");
        assert!(lines[0].starts_with("alertgate: error: "), "{err}");
        assert!(lines[0].contains("alerts-state.json"), "{err}");
        assert_eq!(std::fs::read_to_string(state_path(d.path())).unwrap(), text);
    }
}
