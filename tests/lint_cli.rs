//! `alertgate lint` through the binary: the shipped rules and examples lint
//! clean, a fixture with one rule per defect class matches its golden
//! output, a missing or empty secret fails naming the variable and the
//! receiver (never the value), output formats and exit codes.
//! Regenerate the golden with `UPDATE_GOLDEN=1` and read the diff.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> String {
    format!("tests/fixtures/lint/{name}")
}

/// Runs `alertgate lint ARGS` in the crate root; `env` sets (Some) or
/// removes (None) variables.
fn lint(args: &[&str], env: &[(&str, Option<&str>)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_alertgate"));
    c.current_dir(root()).arg("lint").args(args);
    for (k, v) in env {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    c.output().expect("run alertgate")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn describe(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        o.status.code(),
        stdout(o),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The routing example with its secret paths moved into `dir` (files
/// written there), so that it can lint with every secret present.
fn routing_example_in(dir: &Path) -> PathBuf {
    let src = std::fs::read_to_string(root().join("examples/routing/alertgate.yml")).unwrap();
    let secrets = dir.join("secrets");
    std::fs::create_dir_all(&secrets).unwrap();
    for f in [
        "smtp-password",
        "slack-staging-webhook",
        "slack-prod-webhook",
    ] {
        std::fs::write(secrets.join(f), "value\n").unwrap();
    }
    let cfg = dir.join("alertgate.yml");
    let src = src.replace("/etc/alertgate/secrets", &secrets.display().to_string());
    std::fs::write(&cfg, src).unwrap();
    cfg
}

#[test]
fn shipped_rules_lint_clean() {
    let out = lint(&["--rules", "rules/", "--strict"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert_eq!(stdout(&out), "");
}

#[test]
fn shipped_rules_lint_clean_against_their_examples() {
    for (pack, snap, labels) in [
        ("golive", "examples/golive/breach.om", ""),
        ("stage0-canary", "examples/stage0-canary/breach.om", ""),
        (
            "outbox-hardening",
            "examples/outbox-hardening/breach.om",
            "",
        ),
        (
            "dunning-kpis",
            "examples/dunning-kpis/breach.json",
            "tenant_id=acme",
        ),
    ] {
        let rules = format!("rules/{pack}.yml");
        let mut args = vec![
            "--rules",
            &rules,
            "--snapshot",
            snap,
            "--at",
            "2025-03-04T09:10:00Z",
            "--strict",
        ];
        if !labels.is_empty() {
            args.extend(["--label", labels]);
        }
        let out = lint(&args, &[]);
        assert_eq!(out.status.code(), Some(0), "{pack}: {}", describe(&out));
    }
}

#[test]
fn routing_example_lints_clean_with_its_secrets_present() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = routing_example_in(dir.path());
    let cfg = cfg.display().to_string();
    let out = lint(
        &["--config", &cfg, "--rules", "rules/", "--strict"],
        &[("PAGERDUTY_ROUTING_KEY", Some("pd-key"))],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert_eq!(stdout(&out), "");
    // As shipped (secrets under /etc), only the secrets are missing.
    let out = lint(
        &[
            "--config",
            "examples/routing/alertgate.yml",
            "--rules",
            "rules/",
        ],
        &[("PAGERDUTY_ROUTING_KEY", None)],
    );
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    for line in stdout(&out).lines() {
        assert!(line.contains(": error: config/missing-secret: "), "{line}");
    }
    let out = lint(
        &[
            "--config",
            "examples/routing/alertgate.yml",
            "--rules",
            "rules/",
            "--disable",
            "config/missing-secret",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
}

#[test]
fn every_defect_matches_the_golden_output() {
    let out = lint(&["--rules", &fixture("every-defect.bad.yml")], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let golden = root().join(fixture("every-defect.bad.stdout"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, stdout(&out)).unwrap();
    }
    let want = std::fs::read_to_string(&golden).expect("golden file (UPDATE_GOLDEN=1 writes it)");
    assert_eq!(stdout(&out), want);
}

/// The fixture config with its file secret in `dir`.
fn secret_config(dir: &Path, file_secret: &str) -> String {
    std::fs::write(dir.join("smtp-password"), file_secret).unwrap();
    let src = std::fs::read_to_string(root().join(fixture("alertgate.yml"))).unwrap();
    let cfg = dir.join("alertgate.yml");
    std::fs::write(&cfg, src.replace("SECRET_DIR", &dir.display().to_string())).unwrap();
    cfg.display().to_string()
}

#[test]
fn missing_or_empty_secret_fails_naming_variable_and_receiver() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = secret_config(dir.path(), "smtp-hunter2\n");
    let out = lint(&["--config", &cfg], &[("ALERTGATE_LINT_PD_KEY", None)]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert_eq!(
        stdout(&out),
        format!("{cfg}:18:22: error: config/missing-secret: receiver \"prod-pager\": pagerduty_configs.0.routing_key: environment variable ALERTGATE_LINT_PD_KEY is not set\n")
    );
    let out = lint(&["--config", &cfg], &[("ALERTGATE_LINT_PD_KEY", Some(""))]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        stdout(&out).contains("environment variable ALERTGATE_LINT_PD_KEY is empty"),
        "{}",
        describe(&out)
    );
    let out = lint(
        &["--config", &cfg],
        &[("ALERTGATE_LINT_PD_KEY", Some("pd-hunter2"))],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    // An empty secret file fails too; no value is ever printed.
    let cfg = secret_config(dir.path(), "\n");
    for fmt in ["text", "json", "github"] {
        let out = lint(
            &["--config", &cfg, "--format", fmt],
            &[("ALERTGATE_LINT_PD_KEY", Some("pd-hunter2"))],
        );
        assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
        let all = describe(&out);
        assert!(
            all.contains("receiver") && all.contains("team-email"),
            "{all}"
        );
        assert!(all.contains("smtp-password is empty"), "{all}");
        assert!(!all.contains("hunter2"), "{all}");
    }
}

#[test]
fn json_and_github_formats() {
    let out = lint(
        &[
            "--rules",
            &fixture("every-defect.bad.yml"),
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["version"], 1);
    let problems = doc["problems"].as_array().unwrap();
    assert_eq!(
        doc["errors"].as_u64().unwrap() + doc["warnings"].as_u64().unwrap(),
        problems.len() as u64
    );
    let p = problems
        .iter()
        .find(|p| p["check"] == "alerts/value-in-label")
        .expect("value-in-label");
    assert_eq!(
        (p["line"].as_u64(), p["column"].as_u64()),
        (Some(21), Some(18))
    );
    assert_eq!(p["severity"], "error");

    let out = lint(
        &[
            "--rules",
            &fixture("every-defect.bad.yml"),
            "--format",
            "github",
        ],
        &[],
    );
    let text = stdout(&out);
    assert!(
        text.lines().any(|l| l.starts_with(
            "::error file=tests/fixtures/lint/every-defect.bad.yml,line=21,col=18,title=alerts/value-in-label::"
        )),
        "{text}"
    );
    assert!(
        text.lines()
            .all(|l| l.starts_with("::error ") || l.starts_with("::warning ")),
        "{text}"
    );
}

#[test]
fn exit_codes_strict_and_disable() {
    // Warnings only: 0, or 1 with --strict.
    let dir = tempfile::tempdir().unwrap();
    let warn = dir.path().join("warn.yml");
    std::fs::write(&warn, "groups:\n  - name: g\n    rules:\n      - record: http_errors\n        expr: sum(rate(http_errors_total[5m]))\n").unwrap();
    let warn = warn.display().to_string();
    let out = lint(&["--rules", &warn], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(
        stdout(&out).contains(": warning: rules/record-name: "),
        "{}",
        describe(&out)
    );
    assert_eq!(
        lint(&["--rules", &warn, "--strict"], &[]).status.code(),
        Some(1)
    );
    let out = lint(
        &[
            "--rules",
            &warn,
            "--strict",
            "--disable",
            "rules/record-name",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert_eq!(stdout(&out), "");
    // A whole family, and the required-label list.
    let out = lint(
        &[
            "--rules",
            &fixture("every-defect.bad.yml"),
            "--disable",
            "promql/,alerts/",
            "--disable",
            "rules/record-name",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let out = lint(
        &[
            "--rules",
            "rules/",
            "--required-labels",
            "severity,team",
            "--strict",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("alert has no \"team\" label"),
        "{}",
        describe(&out)
    );
    // Unreadable input: 2, and the other files are still linted.
    let out = lint(
        &[
            "--rules",
            "no/such/file.yml",
            &fixture("every-defect.bad.yml"),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("no/such/file.yml: error: rules/read: no such file or directory\n"),
        "{text}"
    );
    assert!(text.contains("alerts/value-in-label"), "{text}");
    // A rule file that does not validate is a lint error, with its position.
    let broken = dir.path().join("broken.yml");
    std::fs::write(
        &broken,
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: sum(up\n",
    )
    .unwrap();
    let out = lint(&["--rules", &broken.display().to_string()], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        stdout(&out).contains("broken.yml:5:15: error: rules/invalid-expr: "),
        "{}",
        describe(&out)
    );
    // Bad flags.
    assert_eq!(
        lint(&["--rules", "rules/", "--disable", "nonsense"], &[])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(lint(&[], &[]).status.code(), Some(2));
}

#[test]
fn snapshot_finds_a_misspelt_metric() {
    let out = lint(
        &[
            "--rules",
            &fixture("misspelt-metric.yml"),
            "--snapshot",
            "examples/golive/clean.om",
            "--at",
            "2025-03-04T09:10:00Z",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let text = stdout(&out);
    assert!(text.contains(":7:15: error: series/metric-missing: group \"golive-typos\", rule \"GoLive5xxRatioHigh\": metric \"http_request_total\" has no series"), "{text}");
    assert!(
        text.contains(":14:15: warning: series/no-match: ")
            && text.contains("no series matches env=\"prodution\""),
        "{text}"
    );
}

#[test]
fn junit_and_markdown_formats() {
    let out = lint(
        &[
            "--rules",
            &fixture("every-defect.bad.yml"),
            "--format",
            "junit",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let xml = stdout(&out);
    let doc = roxmltree::Document::parse(&xml).expect("well-formed JUnit XML");
    let suite = doc
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .expect("a testsuite");
    assert_eq!(
        suite.attribute("name"),
        Some("tests/fixtures/lint/every-defect.bad.yml")
    );
    let failed: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .filter(|c| c.children().any(|f| f.has_tag_name("failure")))
        .map(|c| c.attribute("name").unwrap_or("").to_string())
        .collect();
    assert!(failed.iter().any(|n| n == "alerts/value-in-label"), "{xml}");

    let out = lint(
        &[
            "--rules",
            &fixture("every-defect.bad.yml"),
            "--format",
            "markdown",
        ],
        &[],
    );
    let md = stdout(&out);
    assert!(md.contains("alerts/value-in-label"), "{md}");
    assert!(md.lines().any(|l| l.starts_with('|')), "a table: {md}");

    // A clean run is one passing case.
    let out = lint(
        &["--rules", "rules/outbox-hardening.yml", "--format", "junit"],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let xml = stdout(&out);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    assert!(
        !doc.descendants().any(|n| n.has_tag_name("failure")),
        "{xml}"
    );
}
