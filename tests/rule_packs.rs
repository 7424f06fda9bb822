//! The rule packs in `rules/` (from the runbooks, see the README): promtool
//! accepts every file, their unit tests in `tests/rules/` pass under promtool
//! and `alertgate test`, the stage-0 expressions are the runbook's, the
//! examples are what `examples/gen.py` writes, and `alertgate check` exits 1
//! naming the expected alerts on each pack's breach example and 0 on its clean
//! example.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Evaluation time of every example (the last sample of the OpenMetrics
/// examples; JSON KPI snapshots are taken at this time).
const AT: &str = "2025-03-04T09:10:00Z";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// A peer binary from `.peers/bin` (or PATH). Missing: a failure under
/// `CI=true`, a skip (None) otherwise.
fn peer(name: &str) -> Option<PathBuf> {
    let local = root().join(".peers/bin").join(name);
    if local.is_file() {
        return Some(local);
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name))
        .find(|p| p.is_file());
    if on_path.is_none() {
        assert!(
            !under_ci(),
            "{name} is missing (run scripts/fetch-peers.sh)"
        );
        eprintln!("skipped: {name} not found (run scripts/fetch-peers.sh)");
    }
    on_path
}

/// Files in `dir` (relative to the crate root) whose name ends with `suffix`, sorted.
fn files(dir: &str, suffix: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(suffix))
        })
        .collect();
    out.sort();
    out
}

fn rule_files() -> Vec<PathBuf> {
    let f = files("rules", ".yml");
    assert!(!f.is_empty(), "no rule packs in rules/");
    f
}

fn rule_tests() -> Vec<PathBuf> {
    let f = files("tests/rules", ".test.yml");
    assert!(!f.is_empty(), "no rule unit tests in tests/rules/");
    f
}

fn pack_name(p: &Path) -> String {
    p.file_name()
        .and_then(|n| n.to_str())
        .expect("file name")
        .trim_end_matches(".yml")
        .to_string()
}

fn run(cmd: &mut Command) -> Output {
    cmd.current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"))
}

fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn promtool_accepts_every_rule_pack() {
    let Some(promtool) = peer("promtool") else {
        return;
    };
    for file in rule_files() {
        let out = run(Command::new(&promtool).arg("check").arg("rules").arg(&file));
        assert!(
            out.status.success(),
            "promtool check rules {}:\n{}",
            file.display(),
            describe(&out)
        );
    }
}

#[test]
fn rule_pack_unit_tests_pass_under_promtool() {
    let Some(promtool) = peer("promtool") else {
        return;
    };
    let out = run(Command::new(&promtool)
        .args(["test", "rules"])
        .args(rule_tests()));
    assert!(
        out.status.success(),
        "promtool test rules tests/rules/*.test.yml:\n{}",
        describe(&out)
    );
}

#[test]
fn rule_pack_unit_tests_pass_under_alertgate() {
    let out = run(Command::new(env!("CARGO_BIN_EXE_alertgate"))
        .arg("test")
        .args(rule_tests()));
    assert!(
        out.status.success(),
        "alertgate test tests/rules/*.test.yml:\n{}",
        describe(&out)
    );
}

/// Every pack has unit tests, a breaching and a clean example; every unit
/// test file belongs to a pack.
#[test]
fn every_rule_pack_has_unit_tests_and_examples() {
    let packs: Vec<String> = rule_files().iter().map(|p| pack_name(p)).collect();
    for pack in &packs {
        let test = root().join("tests/rules").join(format!("{pack}.test.yml"));
        assert!(test.is_file(), "{pack}: missing {}", test.display());
        let text = std::fs::read_to_string(&test).expect("read unit test");
        assert!(
            text.contains(&format!("../../rules/{pack}.yml")),
            "{}: does not load rules/{pack}.yml",
            test.display()
        );
        for kind in ["breach", "clean"] {
            let found = ["om", "json"].iter().any(|ext| {
                root()
                    .join(format!("examples/{pack}/{kind}.{ext}"))
                    .is_file()
            });
            assert!(found, "{pack}: missing examples/{pack}/{kind}.om or .json");
        }
        assert!(
            EXAMPLES.iter().any(|e| e.pack == pack.as_str()),
            "{pack}: no `alertgate check` test below"
        );
    }
    for test in rule_tests() {
        let name = test
            .file_name()
            .and_then(|n| n.to_str())
            .expect("name")
            .trim_end_matches(".test.yml")
            .to_string();
        assert!(
            packs.contains(&name),
            "{}: no rules/{name}.yml",
            test.display()
        );
    }
}

/// Runbook 004 requires its PromQL verbatim (section 1, "Stage-0 Monitoring").
#[test]
fn stage0_expressions_are_the_runbooks() {
    const RUNBOOK_004: [(&str, &str); 7] = [
        ("Stage0BudgetOverrunWarn", r#"increase(solver_budget_overrun_total{phase="total"}[30m]) > 0"#),
        (
            "Stage0OverrunRateStop",
            r#"(
  increase(solver_budget_overrun_total{phase="total"}[60m])
  /
  clamp_min(increase(solver_signature_runs_total[60m]), 1)
) > 0.02"#,
        ),
        (
            "Stage0RuntimeP95Stop",
            r#"histogram_quantile(0.95,
  sum by (le) (rate(solver_phase_duration_seconds_bucket{phase="total"}[10m]))
) > 126"#,
        ),
        ("Stage0AbsoluteOverrunsStop", r#"increase(solver_budget_overrun_total{phase="total"}[60m]) >= 3"#),
        (
            "instance:solver_infeasible:ratio_increase10m",
            "increase(solver_infeasible_total[10m]) / clamp_min(increase(solver_signature_runs_total[10m]), 1)",
        ),
        (
            "instance:solver_signature_unique:ratio_increase10m",
            "increase(solver_signature_unique_total[10m]) / clamp_min(increase(solver_signature_runs_total[10m]), 1)",
        ),
        (
            "instance_status:solver_set_partitioning:increase10m",
            r#"increase(solver_set_partitioning_total{status=~"timeout|fallback"}[10m])"#,
        ),
    ];
    let text =
        std::fs::read_to_string(root().join("rules/stage0-canary.yml")).expect("read stage0 pack");
    let doc: yaml_serde::Value = yaml_serde::from_str(&text).expect("parse stage0 pack");
    let mut exprs = Vec::new();
    for group in doc["groups"].as_sequence().expect("groups") {
        for rule in group["rules"].as_sequence().expect("rules") {
            let name = rule
                .get("alert")
                .or_else(|| rule.get("record"))
                .and_then(|v| v.as_str())
                .expect("rule name");
            let expr = rule["expr"].as_str().expect("expr").trim_end().to_string();
            exprs.push((name.to_string(), expr));
        }
    }
    let want: Vec<(String, String)> = RUNBOOK_004
        .iter()
        .map(|(n, e)| (n.to_string(), e.to_string()))
        .collect();
    assert_eq!(exprs, want);
}

/// The committed examples are exactly what the generator writes.
#[test]
fn examples_are_generated_by_gen_py() {
    let Some(python) = peer("python3") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(Command::new(python)
        .arg("examples/gen.py")
        .arg("--out")
        .arg(dir.path()));
    assert!(out.status.success(), "examples/gen.py:\n{}", describe(&out));
    let mut compared = 0;
    for pack in std::fs::read_dir(dir.path()).expect("read generated") {
        let pack = pack.expect("entry").path();
        for file in std::fs::read_dir(&pack).expect("read generated pack") {
            let file = file.expect("entry").path();
            let rel = file.strip_prefix(dir.path()).expect("relative");
            let committed = std::fs::read(root().join("examples").join(rel)).unwrap_or_else(|e| {
                panic!(
                    "examples/{}: {e}; run python3 examples/gen.py",
                    rel.display()
                )
            });
            assert!(
                committed == std::fs::read(&file).expect("read generated file"),
                "examples/{} is stale; run python3 examples/gen.py",
                rel.display()
            );
            compared += 1;
        }
    }
    assert!(compared >= 8, "generator wrote only {compared} files");
}

/// One example snapshot and what `alertgate check` must report on it.
struct Example {
    pack: &'static str,
    snapshot: &'static str,
    labels: &'static [&'static str],
    /// Firing alerts as (alertname, value of the `env` label or "").
    firing: &'static [(&'static str, &'static str)],
}

const EXAMPLES: &[Example] = &[
    // Three overruns at minutes 45, 55, 65, p95 147.6 s. The overrun-rate STOP
    // stays silent: the runs counter has no phase label (see the pack).
    Example {
        pack: "stage0-canary",
        snapshot: "examples/stage0-canary/breach.om",
        labels: &[],
        firing: &[
            ("Stage0AbsoluteOverrunsStop", ""),
            ("Stage0BudgetOverrunWarn", ""),
            ("Stage0RuntimeP95Stop", ""),
        ],
    },
    Example {
        pack: "stage0-canary",
        snapshot: "examples/stage0-canary/clean.om",
        labels: &[],
        firing: &[],
    },
    // Staging 3 % 5xx; production 1.5 % 5xx, 0.3 % readiness failures,
    // MongoDB p95 450 ms, 4 % push failures, info logs silent for 15 min,
    // request p95 750 ms (P1 rollback trigger). Staging's other values are
    // the same as production's but within the staging limits.
    Example {
        pack: "golive",
        snapshot: "examples/golive/breach.om",
        labels: &[],
        firing: &[
            ("GoLive5xxRatioHigh", "production"),
            ("GoLive5xxRatioHigh", "staging"),
            ("GoLiveLoggingSilence", "production"),
            ("GoLiveMongoDBLatencyP95High", "production"),
            ("GoLivePushFailureRatioHigh", "production"),
            ("GoLiveReadinessErrorRatioHigh", "production"),
            ("GoLiveRollbackLatencyP95", "production"),
        ],
    },
    Example {
        pack: "golive",
        snapshot: "examples/golive/clean.om",
        labels: &[],
        firing: &[],
    },
    // Lag 451 s, 3 messages in the DLQ, parse failures +4/min.
    Example {
        pack: "outbox-hardening",
        snapshot: "examples/outbox-hardening/breach.om",
        labels: &[],
        firing: &[
            ("InboxParseFailuresRising", ""),
            ("OutboxDLQNotEmpty", ""),
            ("OutboxPublisherLagHigh", ""),
        ],
    },
    Example {
        pack: "outbox-hardening",
        snapshot: "examples/outbox-hardening/clean.om",
        labels: &[],
        firing: &[],
    },
    // The runbook's JSON checker: one sample per key, so no parse-failure delta.
    Example {
        pack: "outbox-hardening",
        snapshot: "examples/outbox-hardening/breach.json",
        labels: &["service=0admin"],
        firing: &[("OutboxDLQNotEmpty", ""), ("OutboxPublisherLagHigh", "")],
    },
    Example {
        pack: "outbox-hardening",
        snapshot: "examples/outbox-hardening/clean.json",
        labels: &["service=0admin"],
        firing: &[],
    },
    // Runbook 000's example alarms plus a 95.5 % success rate; Brevo lag 95 s is fine.
    Example {
        pack: "dunning-kpis",
        snapshot: "examples/dunning-kpis/breach.json",
        labels: &["tenant_id=acme"],
        firing: &[
            ("DunningDLQNotEmpty", ""),
            ("DunningErrorRateHigh", ""),
            ("DunningHardBounceRateHigh", ""),
            ("DunningRetryDepthHigh", ""),
            ("DunningSuccessRateLow", ""),
        ],
    },
    Example {
        pack: "dunning-kpis",
        snapshot: "examples/dunning-kpis/clean.json",
        labels: &["tenant_id=acme"],
        firing: &[],
    },
];

fn check_cmd(ex: &Example, format: &str) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_alertgate"));
    cmd.arg("check")
        .arg("--rules")
        .arg(format!("rules/{}.yml", ex.pack))
        .arg("--snapshot")
        .arg(ex.snapshot)
        .arg("--at")
        .arg(AT)
        .arg("--format")
        .arg(format);
    for l in ex.labels {
        cmd.arg("--label").arg(l);
    }
    run(&mut cmd)
}

/// Runs `alertgate check` on one example in text and JSON format and checks
/// the exit code, the alert names in the text output and the exact set of
/// firing alerts (name and env) in the JSON output.
fn check_example(snapshot: &str) {
    let ex = EXAMPLES
        .iter()
        .find(|e| e.snapshot == snapshot)
        .expect("example listed in EXAMPLES");
    let breach = !ex.firing.is_empty();

    let text = check_cmd(ex, "text");
    assert_eq!(
        text.status.code(),
        Some(if breach { 1 } else { 0 }),
        "check {snapshot}:\n{}",
        describe(&text)
    );
    let stdout = String::from_utf8_lossy(&text.stdout);
    for (name, _) in ex.firing {
        assert!(
            stdout.contains(name),
            "check {snapshot}: {name} not named:\n{}",
            describe(&text)
        );
    }

    let json = check_cmd(ex, "json");
    assert_eq!(
        json.status.code(),
        text.status.code(),
        "check --format json {snapshot}:\n{}",
        describe(&json)
    );
    let doc: Value = serde_json::from_slice(&json.stdout)
        .unwrap_or_else(|e| panic!("check --format json {snapshot}: {e}\n{}", describe(&json)));
    let alerts = doc["alerts"].as_array().expect("alerts array");
    let got: BTreeSet<(String, String)> = alerts
        .iter()
        .filter(|a| a["state"] == "firing")
        .map(|a| {
            let name = a["name"].as_str().expect("alert name").to_string();
            (name, a["labels"]["env"].as_str().unwrap_or("").to_string())
        })
        .collect();
    let want: BTreeSet<(String, String)> = ex
        .firing
        .iter()
        .map(|(n, e)| (n.to_string(), e.to_string()))
        .collect();
    assert_eq!(
        got,
        want,
        "check {snapshot}: firing alerts\n{}",
        describe(&json)
    );
    assert_eq!(
        doc["rule_errors"].as_array().map(Vec::len),
        Some(0),
        "check {snapshot}: rule errors\n{}",
        describe(&json)
    );
    // Every alert carries a severity, its annotations are expanded, and
    // labels given with --label reach it.
    for a in alerts {
        for (k, v) in a["annotations"].as_object().into_iter().flatten() {
            let v = v.as_str().unwrap_or_default();
            assert!(
                !v.contains("{{") && !v.contains("<error expanding template"),
                "check {snapshot}: annotation {k} not expanded: {v}"
            );
        }
        assert!(
            a["labels"]["severity"].is_string(),
            "check {snapshot}: alert without severity: {a}"
        );
        for l in ex.labels {
            let (k, v) = l.split_once('=').expect("k=v");
            assert_eq!(a["labels"][k], v, "check {snapshot}: label {k} lost: {a}");
        }
    }
}

#[test]
fn check_stage0_canary_breach() {
    check_example("examples/stage0-canary/breach.om");
}

#[test]
fn check_stage0_canary_clean() {
    check_example("examples/stage0-canary/clean.om");
}

#[test]
fn check_golive_breach() {
    check_example("examples/golive/breach.om");
}

#[test]
fn check_golive_clean() {
    check_example("examples/golive/clean.om");
}

#[test]
fn check_outbox_hardening_breach() {
    check_example("examples/outbox-hardening/breach.om");
}

#[test]
fn check_outbox_hardening_clean() {
    check_example("examples/outbox-hardening/clean.om");
}

#[test]
fn check_outbox_hardening_breach_json() {
    check_example("examples/outbox-hardening/breach.json");
}

#[test]
fn check_outbox_hardening_clean_json() {
    check_example("examples/outbox-hardening/clean.json");
}

#[test]
fn check_dunning_kpis_breach() {
    check_example("examples/dunning-kpis/breach.json");
}

/// Runbook 000: every alarm carries tenant_id, metric, threshold, value,
/// severity and a short text for Slack/email. The expected text is the one
/// promtool renders in tests/rules/dunning-kpis.test.yml.
#[test]
fn dunning_alerts_carry_the_runbook_000_fields() {
    let ex = EXAMPLES
        .iter()
        .find(|e| e.snapshot == "examples/dunning-kpis/breach.json")
        .expect("dunning breach example");
    let out = check_cmd(ex, "json");
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("check --format json: {e}\n{}", describe(&out)));
    let alert = doc["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["name"] == "DunningErrorRateHigh")
        .unwrap_or_else(|| panic!("no DunningErrorRateHigh:\n{}", describe(&out)));
    let labels = &alert["labels"];
    assert_eq!(labels["tenant_id"], "acme");
    assert_eq!(labels["metric"], "error_rate");
    assert_eq!(labels["threshold"], "0.01");
    assert_eq!(labels["severity"], "critical");
    let ann = &alert["annotations"];
    assert_eq!(ann["value"], "0.035");
    assert_eq!(ann["threshold"], "0.01");
    assert_eq!(ann["summary"], "[acme] error_rate 3.5% > 1 %: HOLD/backout");
}

#[test]
fn check_dunning_kpis_clean() {
    check_example("examples/dunning-kpis/clean.json");
}
