//! `alertgate run` as a process: scraping a local target into alerts that
//! go pending, firing and resolved with notifications at a local webhook,
//! SIGTERM, reload, readiness and auth on writes, and `--once`.

use crate::service_support::*;
use std::path::Path;
use std::time::Duration;

const RULES: &str = "groups:\n- name: app\n  rules:\n  - alert: QueueHigh\n    expr: queue_depth > 10\n    for: 3s\n    labels: {severity: page}\n    annotations: {summary: 'queue is {{ $value }}'}\n  - record: job:queue_depth:max\n    expr: max by (job) (queue_depth)\n";

fn metrics(v: f64) -> String {
    format!("# TYPE queue_depth gauge\nqueue_depth{{queue=\"orders\"}} {v}\n")
}

fn write_config(dir: &Path, target_port: u16, receiver: &str, extra: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("rules.yml"), RULES).unwrap();
    let cfg = format!(
        "rule_files: [rules.yml]\nevaluation_interval: 1s\nscrape_interval: 1s\nexternal_labels: {{replica: a}}\nstate_dir: state\nscrape_configs:\n- job_name: app\n  static_configs: [{{targets: ['127.0.0.1:{target_port}']}}]\nroute:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 0s\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n- name: hook\n  webhook_configs: [{{url: '{receiver}'}}]\n{extra}"
    );
    let p = dir.join("alertgate.yml");
    std::fs::write(&p, cfg).unwrap();
    p
}

fn alert_state(ag: &Alertgate) -> Option<String> {
    ag.alerts()
        .first()
        .map(|a| a["state"].as_str().unwrap_or_default().to_string())
}

#[test]
fn scrape_mode_alert_goes_pending_firing_resolved_and_notifies() {
    let d = tempfile::tempdir().unwrap();
    let target = Target::start(&metrics(1.0));
    let rx = Receiver::start();
    let cfg = write_config(d.path(), target.server.port, &rx.url(), "");
    let ag = Alertgate::start(&cfg, &[]);
    let within = Duration::from_secs(30);
    wait_until(within, "readyz 200", || {
        (get(ag.port, "/readyz").0 == 200).then_some(())
    });
    // The recording rule reads the scraped series.
    wait_until(within, "recorded series", || {
        let v = get_json(ag.port, "/api/v1/query?query=job:queue_depth:max");
        (v["data"]["result"][0]["value"][1] == "1").then_some(())
    });
    assert!(ag.alerts().is_empty());

    target.set(&metrics(50.0));
    wait_until(within, "pending", || {
        (alert_state(&ag).as_deref() == Some("pending")).then_some(())
    });
    wait_until(within, "firing", || {
        (alert_state(&ag).as_deref() == Some("firing")).then_some(())
    });
    let a = &ag.alerts()[0];
    assert_eq!(a["labels"]["alertname"], "QueueHigh");
    assert_eq!(a["labels"]["job"], "app");
    assert_eq!(a["labels"]["queue"], "orders");
    assert_eq!(a["annotations"]["summary"], "queue is 50");
    let n = rx.wait_for("firing", "QueueHigh", within);
    assert_eq!(
        n["alerts"][0]["labels"]["replica"], "a",
        "external labels are sent"
    );
    assert_eq!(n["alerts"][0]["labels"]["severity"], "page");

    target.set(&metrics(2.0));
    wait_until(within, "alert resolved", || {
        ag.alerts().is_empty().then_some(())
    });
    let r = rx.wait_for("resolved", "QueueHigh", within);
    assert_eq!(r["alerts"][0]["status"], "resolved");
    // One firing and one resolved message, no repeats within repeat_interval.
    assert_eq!(rx.all().len(), 2, "{:?}", rx.all());

    let rules = get_json(ag.port, "/api/v1/rules");
    let rule = &rules["data"]["groups"][0]["rules"][0];
    assert_eq!(rule["name"], "QueueHigh");
    assert_eq!(rule["health"], "ok");
    assert_eq!(rule["duration"], 3.0);
    let (_, m) = get(ag.port, "/metrics");
    assert!(
        m.contains("alertgate_notifications_total{receiver=\"hook\"} 2"),
        "{m}"
    );
    assert!(
        m.contains("alertgate_rule_group_evaluations_total{rule_group="),
        "{m}"
    );
}

#[test]
fn sigterm_stops_within_ten_seconds_and_saves_state() {
    let d = tempfile::tempdir().unwrap();
    let target = Target::start(&metrics(50.0));
    let rx = Receiver::start();
    let cfg = write_config(d.path(), target.server.port, &rx.url(), "");
    let mut ag = Alertgate::start(&cfg, &[]);
    wait_until(Duration::from_secs(30), "pending", || alert_state(&ag));
    let active_at = ag.alerts()[0]["activeAt"].clone();
    ag.signal("TERM");
    let (status, took) = ag.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{}", ag.log_text());
    assert!(took < Duration::from_secs(10));
    let state = std::fs::read_to_string(d.path().join("state/alerts-state.json")).unwrap();
    assert!(state.contains("QueueHigh"), "{state}");
    assert!(d.path().join("state/outbox.db").exists());
    // A restart continues the same alert instead of starting it over.
    let ag2 = Alertgate::start(&cfg, &[]);
    let a = wait_until(Duration::from_secs(30), "restored alert", || {
        ag2.alerts().into_iter().next()
    });
    assert_eq!(a["activeAt"], active_at);
}

#[test]
fn reload_applies_a_good_config_and_keeps_the_old_on_a_bad_one() {
    let d = tempfile::tempdir().unwrap();
    let target = Target::start(&metrics(1.0));
    let rx = Receiver::start();
    let cfg = write_config(d.path(), target.server.port, &rx.url(), "");
    let ag = Alertgate::start(&cfg, &[]);
    let names = |port| -> Vec<String> {
        get_json(port, "/api/v1/rules")["data"]["groups"][0]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(ag.port), ["QueueHigh", "job:queue_depth:max"]);

    std::fs::write(
        d.path().join("rules.yml"),
        "groups:\n- name: app\n  rules:\n  - alert: QueueLow\n    expr: queue_depth < 5\n",
    )
    .unwrap();
    let (status, body) = request(ag.port, "POST", "/-/reload", &[], "").unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(names(ag.port), ["QueueLow"]);
    wait_until(Duration::from_secs(30), "new rule fires", || {
        ag.alerts()
            .into_iter()
            .find(|a| a["labels"]["alertname"] == "QueueLow")
    });

    std::fs::write(
        d.path().join("rules.yml"),
        "groups:\n- name: app\n  rules:\n  - alert: Broken\n    expr: sum(\n",
    )
    .unwrap();
    let (status, body) = request(ag.port, "POST", "/-/reload", &[], "").unwrap();
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("rules.yml"), "{body}");
    assert_eq!(names(ag.port), ["QueueLow"], "the old config keeps running");
    let (_, ready) = get(ag.port, "/readyz");
    assert!(ready.contains("last reload failed"), "{ready}");
    let (_, m) = get(ag.port, "/metrics");
    assert!(
        m.contains("alertgate_config_last_reload_successful 0"),
        "{m}"
    );

    // SIGHUP with a fixed file.
    std::fs::write(d.path().join("rules.yml"), RULES).unwrap();
    ag.signal("HUP");
    wait_until(Duration::from_secs(20), "reload by SIGHUP", || {
        get(ag.port, "/metrics")
            .1
            .contains("alertgate_config_last_reload_successful 1")
            .then_some(())
    });
    assert_eq!(names(ag.port), ["QueueHigh", "job:queue_depth:max"]);
    assert!(!get(ag.port, "/readyz").1.contains("failed"));
}

#[test]
fn readyz_follows_the_scrape_target() {
    let d = tempfile::tempdir().unwrap();
    let mut target = Target::start(&metrics(1.0));
    let rx = Receiver::start();
    let cfg = write_config(d.path(), target.server.port, &rx.url(), "");
    let ag = Alertgate::start(&cfg, &[]);
    let within = Duration::from_secs(30);
    wait_until(within, "ready", || {
        (get(ag.port, "/readyz").0 == 200).then_some(())
    });
    target.server.stop();
    let body = wait_until(within, "not ready", || {
        let (s, b) = get(ag.port, "/readyz");
        (s == 503).then_some(b)
    });
    assert!(
        body.contains("app/127.0.0.1:"),
        "the reason names the target: {body}"
    );
    let v = get_json(ag.port, "/api/v1/query?query=up");
    assert_eq!(v["data"]["result"][0]["value"][1], "0");
    target.server.restart();
    wait_until(within, "ready again", || {
        (get(ag.port, "/readyz").0 == 200).then_some(())
    });
}

#[test]
fn readyz_follows_a_remote_datasource() {
    let d = tempfile::tempdir().unwrap();
    let answer = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
    let mut api = Server::start(
        free_port(),
        std::sync::Arc::new(move |_r: &Req| (200, answer.to_string())),
    );
    std::fs::write(d.path().join("rules.yml"), RULES).unwrap();
    let cfg = d.path().join("alertgate.yml");
    std::fs::write(
        &cfg,
        format!("rule_files: [rules.yml]\nevaluation_interval: 1s\ndatasource:\n  url: http://127.0.0.1:{}\n  timeout: 2s\n", api.port),
    )
    .unwrap();
    let ag = Alertgate::start(&cfg, &[]);
    let within = Duration::from_secs(30);
    wait_until(within, "ready", || {
        (get(ag.port, "/readyz").0 == 200).then_some(())
    });
    api.stop();
    let body = wait_until(within, "not ready", || {
        let (s, b) = get(ag.port, "/readyz");
        (s == 503).then_some(b)
    });
    assert!(body.contains("datasource"), "{body}");
    // The failed query marks the datasource before the evaluation that
    // made it records its rule errors.
    wait_until(within, "rule health err", || {
        let rules = get_json(ag.port, "/api/v1/rules");
        (rules["data"]["groups"][0]["rules"][0]["health"] == "err").then_some(())
    });
    api.restart();
    wait_until(within, "ready again", || {
        (get(ag.port, "/readyz").0 == 200).then_some(())
    });
}

#[test]
fn writes_need_the_bearer_token() {
    let d = tempfile::tempdir().unwrap();
    let target = Target::start(&metrics(1.0));
    let rx = Receiver::start();
    let cfg = write_config(
        d.path(),
        target.server.port,
        &rx.url(),
        "web:\n  auth: {bearer_token_env: AG_TEST_TOKEN}\n",
    );
    let ag = Alertgate::start(&cfg, &[("AG_TEST_TOKEN", "s3cret-token")]);
    let silence = r#"{"matchers":[{"name":"alertname","value":"QueueHigh","isRegex":false}],"startsAt":"2020-01-01T00:00:00Z","endsAt":"2999-01-01T00:00:00Z","createdBy":"t","comment":"maintenance"}"#;
    let json = ("Content-Type", "application/json");
    let (s, _) = request(ag.port, "POST", "/api/v2/silences", &[json], silence).unwrap();
    assert_eq!(s, 401);
    let (s, _) = request(
        ag.port,
        "POST",
        "/api/v2/silences",
        &[json, ("Authorization", "Bearer wrong")],
        silence,
    )
    .unwrap();
    assert_eq!(s, 401);
    let (s, _) = request(ag.port, "POST", "/-/reload", &[], "").unwrap();
    assert_eq!(s, 401);
    let (s, _) = request(ag.port, "POST", "/api/v2/alerts", &[json], "[]").unwrap();
    assert_eq!(s, 401);
    let auth = ("Authorization", "Bearer s3cret-token");
    let (s, body) = request(ag.port, "POST", "/api/v2/silences", &[json, auth], silence).unwrap();
    assert_eq!(s, 200, "{body}");
    let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["silenceID"]
        .as_str()
        .unwrap()
        .to_string();
    // Reads need no token.
    let list = get_json(ag.port, "/api/v2/silences");
    assert_eq!(list[0]["id"], id.as_str());
    assert_eq!(list[0]["status"]["state"], "active");
    assert_eq!(get(ag.port, "/api/v1/query?query=1").0, 200);
    let (s, _) = request(ag.port, "DELETE", &format!("/api/v2/silence/{id}"), &[], "").unwrap();
    assert_eq!(s, 401);
    let (s, _) = request(
        ag.port,
        "DELETE",
        &format!("/api/v2/silence/{id}"),
        &[auth],
        "",
    )
    .unwrap();
    assert_eq!(s, 200);
    assert_eq!(
        get_json(ag.port, &format!("/api/v2/silence/{id}"))["status"]["state"],
        "expired"
    );
    assert!(!ag.log_text().contains("s3cret-token"));
}

#[test]
fn once_mode_evaluates_delivers_and_exits() {
    let d = tempfile::tempdir().unwrap();
    let target = Target::start(&metrics(50.0));
    let rx = Receiver::start();
    let cfg = write_config(d.path(), target.server.port, &rx.url(), "");
    // `for: 3s` keeps the first round pending: nothing to send, exit 0.
    let out = std::process::Command::new(binary())
        .args(["run", "--once", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(rx.all().is_empty());
    // The saved state carries the pending alert to the next round, which fires.
    std::thread::sleep(Duration::from_millis(3100));
    let out = std::process::Command::new(binary())
        .args(["run", "--once", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = rx.all();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["status"], "firing");

    // A config error exits 1.
    std::fs::write(d.path().join("bad.yml"), "rule_files: [missing.yml]\n").unwrap();
    let out = std::process::Command::new(binary())
        .args(["run", "--once", "--config"])
        .arg(d.path().join("bad.yml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.yml"));
}
