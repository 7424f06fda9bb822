//! `alertgate check --notify --config alertgate.yml`: what fires goes once
//! through the configured receivers (a local webhook; the stdout and file
//! receivers with runbook 000's fields); a failed delivery is reported and
//! leaves the exit code alone.

use crate::gate_http::{alertgate, describe, root, stderr, stdout, Server};
use std::path::Path;

const AT: &str = "2025-03-04T09:10:00Z";

fn check_outbox(dir: &Path, config: &str) -> std::process::Output {
    std::fs::write(dir.join("alertgate.yml"), config).unwrap();
    let rules = root()
        .join("rules/outbox-hardening.yml")
        .display()
        .to_string();
    let snap = root()
        .join("examples/outbox-hardening/breach.om")
        .display()
        .to_string();
    alertgate(
        dir,
        &[
            "check",
            "--rules",
            &rules,
            "--snapshot",
            &snap,
            "--at",
            AT,
            "--notify",
            "--config",
            "alertgate.yml",
        ],
        &[],
    )
}

#[test]
fn notify_delivers_to_a_local_webhook_once_per_group() {
    let srv = Server::start(|_| (200, "text/plain".into(), "ok".into()));
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "route:\n  receiver: ops\n  group_by: [alertname]\nreceivers:\n  - name: ops\n    webhook_configs:\n      - url: {}\n",
        srv.url("/hook")
    );
    let out = check_outbox(dir.path(), &config);
    // Exit code of the evaluation: three alerts fire.
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        !stderr(&out).contains("delivery failed"),
        "{}",
        describe(&out)
    );
    let got = srv.received();
    assert_eq!(got.len(), 3, "one notification per alertname group");
    let mut names = Vec::new();
    for r in &got {
        assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/hook"));
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v["version"], "4");
        assert_eq!(v["status"], "firing");
        assert_eq!(v["receiver"], "ops");
        assert_eq!(v["alerts"].as_array().unwrap().len(), 1);
        names.push(
            v["alerts"][0]["labels"]["alertname"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    names.sort();
    assert_eq!(
        names,
        [
            "InboxParseFailuresRising",
            "OutboxDLQNotEmpty",
            "OutboxPublisherLagHigh"
        ]
    );
}

#[test]
fn a_failed_delivery_is_reported_and_keeps_the_exit_code() {
    let srv = Server::start(|_| (500, "text/plain".into(), "boom".into()));
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "route:\n  receiver: ops\nreceivers:\n  - name: ops\n    webhook_configs:\n      - url: {}\n",
        srv.url("/hook?key=webhook-secret-1")
    );
    let out = check_outbox(dir.path(), &config);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = stderr(&out);
    assert!(
        err.contains("alertgate: error: notify: receiver \"ops\": webhook_configs.0: delivery failed (retryable): unexpected status code 500"),
        "{err}"
    );
    assert!(
        !describe(&out).contains("webhook-secret-1"),
        "{}",
        describe(&out)
    );
    assert!(
        err.contains("1 of 1 deliveries failed; not queued: the config names no state_dir"),
        "{err}"
    );
    assert_eq!(srv.received().len(), 1, "one group, one attempt");
    let body: serde_json::Value = serde_json::from_str(&srv.received()[0].body).unwrap();
    assert_eq!(
        body["alerts"].as_array().unwrap().len(),
        3,
        "the group holds all three"
    );

    // With the service's state_dir, the failure lands in its dead-letter queue.
    let out = check_outbox(dir.path(), &format!("state_dir: state\n{config}"));
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let db = alertgate::outbox::Outbox::path_in(&dir.path().join("state"));
    assert!(
        stderr(&out).contains(&format!(
            "moved to the dead-letter queue in {}",
            alertgate::outbox::Outbox::path_in(Path::new("state")).display()
        )),
        "{}",
        describe(&out)
    );
    let store = alertgate::outbox::store::Store::open_read_only(&db).unwrap();
    let dead = store.dead().unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(
        (dead[0].receiver.as_str(), dead[0].integration.as_str()),
        ("ops", "webhook_configs.0")
    );
    assert_eq!(dead[0].last_status, Some(500));
    assert_eq!(dead[0].notification.firing.len(), 3);
    assert!(store.queued().unwrap().is_empty());

    // Nothing fires: nothing is sent, exit 0.
    let srv = Server::start(|_| (200, "text/plain".into(), "ok".into()));
    let config = format!("route:\n  receiver: ops\nreceivers:\n  - name: ops\n    webhook_configs:\n      - url: {}\n", srv.url("/hook"));
    std::fs::write(dir.path().join("alertgate.yml"), config).unwrap();
    let rules = root()
        .join("rules/outbox-hardening.yml")
        .display()
        .to_string();
    let snap = root()
        .join("examples/outbox-hardening/clean.om")
        .display()
        .to_string();
    let out = alertgate(
        dir.path(),
        &[
            "check",
            "--rules",
            &rules,
            "--snapshot",
            &snap,
            "--at",
            AT,
            "--notify",
            "--config",
            "alertgate.yml",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(srv.received().is_empty());
}

#[test]
fn notify_needs_a_config_and_a_valid_one() {
    let dir = tempfile::tempdir().unwrap();
    let rules = root()
        .join("rules/outbox-hardening.yml")
        .display()
        .to_string();
    let out = alertgate(dir.path(), &["check", "--rules", &rules, "--notify"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let out = check_outbox(dir.path(), "route:\n  receiver: nobody\n");
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
}

#[test]
fn stdout_and_file_receivers_write_runbook_000_json() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("alertgate.yml"),
        "route:\n  receiver: log\n  group_by: [alertname, tenant_id]\nreceivers:\n  - name: log\n    stdout_configs:\n      - {}\n    file_configs:\n      - path: alerts.jsonl\n",
    )
    .unwrap();
    let rules = root().join("rules/dunning-kpis.yml").display().to_string();
    let snap = root()
        .join("examples/dunning-kpis/breach.json")
        .display()
        .to_string();
    let out = alertgate(
        dir.path(),
        &[
            "check",
            "--rules",
            &rules,
            "--snapshot",
            &snap,
            "--label",
            "tenant_id=acme",
            "--at",
            AT,
            "--format",
            "json",
            "--notify",
            "--config",
            "alertgate.yml",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let text = stdout(&out);
    // The report (one JSON document), then one JSON line per alert.
    let mut stream = serde_json::Deserializer::from_str(&text).into_iter::<serde_json::Value>();
    let report = stream.next().unwrap().unwrap();
    let lines: Vec<serde_json::Value> = stream.map(Result::unwrap).collect();
    let firing: Vec<&serde_json::Value> = report["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["state"] == "firing")
        .collect();
    assert!(!firing.is_empty(), "{text}");
    assert_eq!(lines.len(), firing.len(), "{text}");
    for a in &firing {
        let name = a["name"].as_str().unwrap();
        let l = lines
            .iter()
            .find(|l| l["alertname"] == name)
            .unwrap_or_else(|| panic!("no line for {name}: {text}"));
        assert_eq!(l["tenant_id"], "acme");
        assert_eq!(l["metric"], a["labels"]["metric"]);
        assert_eq!(l["threshold"], a["labels"]["threshold"]);
        assert_eq!(l["severity"], a["labels"]["severity"]);
        assert_eq!(l["value"], a["annotations"]["value"]);
        assert_eq!(l["text"], a["annotations"]["summary"]);
        assert_eq!(l["status"], "firing");
        let trace = l["trace_id"].as_str().unwrap();
        assert!(
            trace.len() == 32 && trace.chars().all(|c| c.is_ascii_hexdigit()),
            "{trace}"
        );
    }
    // The file receiver appended the same lines.
    let file = std::fs::read_to_string(dir.path().join("alerts.jsonl")).unwrap();
    let from_file: Vec<serde_json::Value> = file
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut a: Vec<String> = lines.iter().map(|v| v.to_string()).collect();
    let mut b: Vec<String> = from_file.iter().map(|v| v.to_string()).collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
}
