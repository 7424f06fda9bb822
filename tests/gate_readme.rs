//! The README's GitHub Actions step and crontab line, run exactly as
//! written (the README copies them from here): the step's `run:` block
//! under bash as Actions runs it (`-eo pipefail`), the crontab command
//! under `sh` as cron runs it, with `alertgate` on PATH and a local
//! metrics endpoint standing in for the real one.

use crate::gate_http::{root, Server};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

/// README: "In CI (GitHub Actions)".
pub const GITHUB_STEP: &str = r#"- name: Alert rules gate
  env:
    METRICS_URL: ${{ vars.METRICS_URL }}
    METRICS_TOKEN: ${{ secrets.METRICS_TOKEN }}
  run: |
    alertgate test --format github tests/rules/*.test.yml
    alertgate check --rules rules/ --scrape "$METRICS_URL" --scrape "$METRICS_URL" --interval 10s \
      --scrape-bearer-token-env METRICS_TOKEN --format markdown >> "$GITHUB_STEP_SUMMARY"
"#;

/// README: "From cron": the crontab.
pub const CRONTAB: &str = r#"PATH=/usr/local/bin:/usr/bin:/bin
OPS_METRICS_URL=http://127.0.0.1:8080/api/v1/ops/metrics
*/5 * * * * cd "$HOME/alertgate" && alertgate check --rules rules/outbox-hardening.yml --scrape "$OPS_METRICS_URL" --label service=0admin --notify --config alertgate.yml >> alertgate.log 2>&1
"#;

/// README: "From cron": `$HOME/alertgate/alertgate.yml`.
pub const CRON_CONFIG: &str = "\
route:
  receiver: ops-log
  group_by: [alertname]
receivers:
  - name: ops-log
    stdout_configs:
      - send_resolved: false
";

/// A PATH with the built binary first.
fn path_with_alertgate() -> String {
    let bin = Path::new(env!("CARGO_BIN_EXE_alertgate"))
        .parent()
        .unwrap()
        .display()
        .to_string();
    format!("{bin}:{}", std::env::var("PATH").unwrap_or_default())
}

/// The outbox publisher's ops endpoint; `dlq` is the DLQ size it reports.
fn ops_endpoint(dlq: Arc<Mutex<u32>>, token: &'static str) -> Server {
    Server::start(move |r| {
        if r.header("authorization") != Some(&format!("Bearer {token}")) {
            return (401, "text/plain".into(), "unauthorized".into());
        }
        let body = format!(
            r#"{{"publisher": {{"lag_ms": 1200}}, "dlq": {{"size": {}}}, "parse_failures_total": 7}}"#,
            *dlq.lock().unwrap()
        );
        (200, "application/json".into(), body)
    })
}

fn copy(from: &str, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(root().join(from), to).unwrap();
}

#[test]
fn readme_github_actions_step_runs_as_written() {
    let step: yaml_serde::Value = yaml_serde::from_str(GITHUB_STEP).unwrap();
    let step = &step[0];
    let script = step["run"].as_str().unwrap();
    let env = step["env"].as_mapping().unwrap();
    assert!(env.contains_key("METRICS_URL") && env.contains_key("METRICS_TOKEN"));

    let repo = tempfile::tempdir().unwrap();
    copy(
        "rules/outbox-hardening.yml",
        &repo.path().join("rules/outbox-hardening.yml"),
    );
    copy(
        "tests/rules/outbox-hardening.test.yml",
        &repo.path().join("tests/rules/outbox-hardening.test.yml"),
    );
    let dlq = Arc::new(Mutex::new(0));
    let srv = ops_endpoint(dlq.clone(), "ci-token-5b1e");
    let summary = repo.path().join("summary.md");
    let run = || -> Output {
        Command::new("bash")
            .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
            .current_dir(repo.path())
            .env("PATH", path_with_alertgate())
            .env("METRICS_URL", srv.url("/api/v1/ops/metrics"))
            .env("METRICS_TOKEN", "ci-token-5b1e")
            .env("GITHUB_STEP_SUMMARY", &summary)
            .output()
            .unwrap()
    };
    let describe = |o: &Output| crate::gate_http::describe(o);

    let out = run();
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let log = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        log.contains("alertgate test: 2 passed, 0 failed, 0 errors, 0 warnings"),
        "{log}"
    );
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.starts_with("### ✅ alertgate check: 3 passed\n"), "{md}");

    *dlq.lock().unwrap() = 2;
    let out = run();
    assert_eq!(
        out.status.code(),
        Some(1),
        "the step fails on a breach: {}",
        describe(&out)
    );
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.contains("### ❌ alertgate check: 1 failed, 2 passed\n"),
        "{md}"
    );
    assert!(
        md.contains("| ❌ failed | OutboxDLQNotEmpty | outbox-hardening | 1 firing: Dead-letter queue holds 2 message(s) | `rules/outbox-hardening.yml:26` |"),
        "{md}"
    );
    // Two scrapes per run, each with the token.
    assert_eq!(srv.received().len(), 4);
}

#[test]
fn readme_crontab_line_runs_as_written() {
    let mut vars = Vec::new();
    let mut command = None;
    for line in CRONTAB.lines() {
        match line.split_once('=') {
            Some((k, v)) if !line.starts_with('*') && !k.contains(' ') => vars.push((k, v)),
            _ => {
                // Five schedule fields, then the command.
                let fields: Vec<&str> = line.splitn(6, ' ').collect();
                assert_eq!(fields[..5], ["*/5", "*", "*", "*", "*"]);
                command = Some(fields[5]);
            }
        }
    }
    let command = command.unwrap();
    assert_eq!(
        vars.iter().map(|v| v.0).collect::<Vec<_>>(),
        ["PATH", "OPS_METRICS_URL"]
    );

    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("alertgate");
    copy(
        "rules/outbox-hardening.yml",
        &dir.join("rules/outbox-hardening.yml"),
    );
    std::fs::write(dir.join("alertgate.yml"), CRON_CONFIG).unwrap();
    let dlq = Arc::new(Mutex::new(3));
    // The ops endpoint of runbook 003, reachable without a token.
    let srv = Server::start(move |_| {
        let body = format!(
            r#"{{"publisher": {{"lag_ms": 1200}}, "dlq": {{"size": {}}}}}"#,
            *dlq.lock().unwrap()
        );
        (200, "application/json".into(), body)
    });
    // cron: the crontab's variables, the command under /bin/sh. PATH and
    // the URL point at this build and the local endpoint instead.
    let run = || {
        Command::new("sh")
            .args(["-c", command])
            .env_clear()
            .env("HOME", home.path())
            .env("PATH", path_with_alertgate())
            .env("OPS_METRICS_URL", srv.url("/api/v1/ops/metrics"))
            .output()
            .unwrap()
    };
    let first = run();
    let second = run();
    for out in [&first, &second] {
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            crate::gate_http::describe(out)
        );
        assert!(
            out.stdout.is_empty() && out.stderr.is_empty(),
            "all output goes to the log"
        );
    }
    let log = std::fs::read_to_string(dir.join("alertgate.log")).unwrap();
    let reports: Vec<&str> = log
        .lines()
        .filter(|l| {
            l.starts_with(
                "FIRING  OutboxDLQNotEmpty{service=\"0admin\", severity=\"critical\"} value=3",
            )
        })
        .collect();
    assert_eq!(reports.len(), 2, "{log}");
    let alerts: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(alerts.len(), 2, "one alert JSON per run: {log}");
    for a in &alerts {
        assert_eq!(a["alertname"], "OutboxDLQNotEmpty");
        assert_eq!(a["severity"], "critical");
        assert_eq!(a["labels"]["service"], "0admin");
        assert_eq!(a["text"], "Dead-letter queue holds 3 message(s)");
        assert_eq!(a["trace_id"].as_str().unwrap().len(), 32);
    }
}
