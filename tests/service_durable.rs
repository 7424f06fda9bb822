//! Issue [durable] in service mode: `alertgate run` queues every
//! notification in `state_dir/outbox.db` before sending it. SIGKILL during
//! a burst loses nothing, a restart does not page again for an unchanged
//! group, a dead receiver's notifications go to the DLQ and `dlq replay`
//! hands them back to the running service, and an unwritable or full store
//! is reported on stderr and in `/readyz` and never taken for a delivery.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::outbox_support::{bin, key_of_body, Mount, Receiver as FlakyReceiver};
use super::service_support::{get, request, wait_until, Alertgate, Receiver};

const JSON: (&str, &str) = ("Content-Type", "application/json");

/// A config with one webhook receiver at `port`, the given route options
/// and a fast retry budget; no rules, alerts come in over the API.
fn write_config(dir: &Path, port: u16, route: &str, outbox: &str) -> PathBuf {
    let p = dir.join("alertgate.yml");
    std::fs::write(
        &p,
        format!(
            "state_dir: state\nroute:\n  receiver: hook\n{route}receivers:\n- name: hook\n  webhook_configs: [{{url: 'http://127.0.0.1:{port}/', timeout: 5s}}]\nnotify:\n  outbox:\n{outbox}"
        ),
    )
    .unwrap();
    p
}

fn post_alerts(ag: &Alertgate, alerts: &[serde_json::Value]) {
    let body = serde_json::to_string(alerts).unwrap();
    let (s, b) = request(ag.port, "POST", "/api/v2/alerts", &[JSON], &body).unwrap();
    assert_eq!(s, 200, "{b}");
}

fn metric(ag: &Alertgate, series: &str) -> Option<f64> {
    get(ag.port, "/metrics")
        .1
        .lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
}

#[test]
fn sigkill_during_a_burst_of_1000_loses_nothing_in_run_mode() {
    let d = tempfile::tempdir().unwrap();
    let rx = FlakyReceiver::start(3);
    let cfg = write_config(
        d.path(),
        rx.port,
        "  group_by: [id]\n  group_wait: 0s\n  group_interval: 1h\n  repeat_interval: 1h\n",
        "    initial_backoff: 10ms\n    max_backoff: 50ms\n    max_attempts: 50\n    concurrency: 4\n    circuit_failures: 10\n",
    );
    let mut ag = Alertgate::start(&cfg, &[]);
    let alerts: Vec<serde_json::Value> = (0..1000)
        .map(|i| serde_json::json!({"labels": {"alertname": "Burst", "id": i.to_string()}}))
        .collect();
    // group_wait 0: the post flushes 1000 groups, queued before it returns.
    post_alerts(&ag, &alerts);
    let t0 = Instant::now();
    while rx.requests() < 300 {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "only {} requests",
            rx.requests()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    ag.child.kill().unwrap(); // SIGKILL
    let st = ag.child.wait().unwrap();
    assert_eq!(st.signal(), Some(9), "{st:?}");
    let before = rx.accepted().len();
    assert!(before < 1000, "the kill came mid-burst ({before} accepted)");

    // The restarted service has no alerts in memory (they came over the
    // API); what it sends comes from the store alone.
    let ag2 = Alertgate::start(&cfg, &[]);
    let expected: BTreeSet<String> = (0..1000).map(|i| format!("{{}}:{{id=\"{i}\"}}")).collect();
    let by_group = wait_until(Duration::from_secs(90), "all 1000 delivered", || {
        let mut by_group: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for b in rx.accepted() {
            let v: serde_json::Value = serde_json::from_str(&b).unwrap();
            let g = v["groupKey"].as_str().unwrap().to_string();
            by_group.entry(g).or_default().push(b);
        }
        (by_group.len() >= expected.len()).then_some(by_group)
    });
    let got: BTreeSet<String> = by_group.keys().cloned().collect();
    assert_eq!(got, expected, "every notification delivered at least once");
    let mut dups = 0;
    for (g, bodies) in &by_group {
        let keys: BTreeSet<String> = bodies.iter().map(|b| key_of_body(b)).collect();
        assert_eq!(keys.len(), 1, "duplicates of {g} carry one dedup key");
        dups += bodies.len() - 1;
    }
    let failed = rx
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.status != 200)
        .count();
    assert!(failed > 0, "the receiver failed every third request");
    eprintln!("{before} accepted before the kill, {dups} duplicates, {failed} failed requests");
    wait_until(Duration::from_secs(30), "queue empty", || {
        (metric(&ag2, "alertgate_notification_queue_length ") == Some(0.0)).then_some(())
    });
    assert_eq!(
        metric(&ag2, "alertgate_notification_dlq_length "),
        Some(0.0)
    );
}

const ALWAYS: &str = "groups:\n- name: g\n  rules:\n  - alert: Always\n    expr: vector(1)\n    labels: {severity: page}\n";

#[test]
fn restart_between_evaluations_sends_no_duplicate_page() {
    let d = tempfile::tempdir().unwrap();
    let rx = Receiver::start();
    std::fs::write(d.path().join("rules.yml"), ALWAYS).unwrap();
    let cfg = d.path().join("alertgate.yml");
    std::fs::write(
        &cfg,
        format!("rule_files: [rules.yml]\nevaluation_interval: 1s\nstate_dir: state\nroute:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 0s\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n- name: hook\n  webhook_configs: [{{url: '{}'}}]\n", rx.url()),
    )
    .unwrap();
    let within = Duration::from_secs(30);
    let mut ag = Alertgate::start(&cfg, &[]);
    rx.wait_for("firing", "Always", within);
    ag.child.kill().unwrap(); // SIGKILL: no state saved on the way out
    ag.child.wait().unwrap();
    assert_eq!(rx.all().len(), 1);

    let ag2 = Alertgate::start(&cfg, &[]);
    // The alert fires again in the new process and reaches its dispatcher...
    wait_until(within, "alert in the dispatcher", || {
        let (_, b) = get(ag2.port, "/api/v2/alerts");
        b.contains("\"Always\"").then_some(())
    });
    // ...over several evaluations and group intervals, without a page.
    std::thread::sleep(Duration::from_secs(4));
    let evals: f64 = get(ag2.port, "/metrics")
        .1
        .lines()
        .filter(|l| l.starts_with("alertgate_rule_group_evaluations_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert!(evals >= 3.0, "{evals} evaluations after the restart");
    assert_eq!(rx.all().len(), 1, "no second page: {:?}", rx.all());
}

#[test]
fn dead_receiver_fills_the_dlq_and_replay_reaches_the_running_service() {
    let d = tempfile::tempdir().unwrap();
    let rx = FlakyReceiver::start(0);
    rx.down.store(true, Ordering::SeqCst);
    let cfg = write_config(
        d.path(),
        rx.port,
        "  group_by: [alertname]\n  group_wait: 0s\n  group_interval: 1h\n  repeat_interval: 1h\n",
        "    initial_backoff: 10ms\n    max_backoff: 20ms\n    max_attempts: 3\n",
    );
    let ag = Alertgate::start(&cfg, &[]);
    post_alerts(&ag, &[serde_json::json!({"labels": {"alertname": "Dead"}})]);
    wait_until(Duration::from_secs(30), "dead letter", || {
        (metric(&ag, "alertgate_notification_dlq_length ") == Some(1.0)).then_some(())
    });
    assert_eq!(rx.requests(), 3, "the whole retry budget was used");
    assert_eq!(
        metric(
            &ag,
            "alertgate_notifications_failed_total{receiver=\"hook\"} "
        ),
        Some(1.0)
    );
    let out = Command::new(bin())
        .args(["dlq", "list", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "a dead letter is listed");
    assert!(String::from_utf8_lossy(&out.stdout).contains("gave up after 3 attempts"));

    rx.down.store(false, Ordering::SeqCst);
    let out = Command::new(bin())
        .args(["dlq", "replay", "--all", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("a running alertgate delivers"), "{err}");
    wait_until(Duration::from_secs(30), "replayed delivery", || {
        (rx.accepted().len() == 1).then_some(())
    });
    wait_until(Duration::from_secs(10), "DLQ empty", || {
        (metric(&ag, "alertgate_notification_dlq_length ") == Some(0.0)).then_some(())
    });
}

#[test]
fn unwritable_or_full_store_is_reported_and_nothing_claimed_sent() {
    let d = tempfile::tempdir().unwrap();
    let Some(m) = Mount::tmpfs(&d.path().join("state"), "4m") else {
        return;
    };
    m.remount("ro");
    let rx = FlakyReceiver::start(0);
    let cfg = write_config(
        d.path(),
        rx.port,
        "  group_by: [alertname]\n  group_wait: 0s\n  group_interval: 1s\n  repeat_interval: 1h\n",
        "    initial_backoff: 10ms\n",
    );
    let ag = Alertgate::start(&cfg, &[]);
    let within = Duration::from_secs(30);
    let (s, body) = get(ag.port, "/readyz");
    assert_eq!(s, 503, "{body}");
    assert!(body.contains("not writable"), "{body}");
    assert!(ag.log_text().contains("not writable"), "{}", ag.log_text());

    post_alerts(&ag, &[serde_json::json!({"labels": {"alertname": "A"}})]);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(rx.requests(), 0, "nothing sent that is not on disk");
    assert_eq!(
        metric(&ag, "alertgate_notifications_total{receiver=\"hook\"} "),
        None,
        "nothing counted as delivered"
    );
    assert_eq!(
        metric(&ag, "alertgate_notification_queue_length "),
        Some(1.0)
    );

    // Writable again: the held notification is queued and delivered.
    m.remount("rw");
    wait_until(within, "delivered after the store opened", || {
        (rx.accepted().len() == 1).then_some(())
    });
    wait_until(within, "ready", || {
        (get(ag.port, "/readyz").0 == 200).then_some(())
    });

    // Disk full while running: a big notification does not fit.
    let filler = d.path().join("state/filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.sync_all();
    }
    let note = "x".repeat(2048);
    let big: Vec<serde_json::Value> = (0..1000)
        .map(|i| serde_json::json!({"labels": {"alertname": "B", "i": i.to_string()}, "annotations": {"note": note}}))
        .collect();
    post_alerts(&ag, &big);
    let body = wait_until(within, "not ready on a full disk", || {
        let (s, b) = get(ag.port, "/readyz");
        (s == 503).then_some(b)
    });
    assert!(body.contains("disk full"), "{body}");
    assert!(ag.log_text().contains("disk full"), "{}", ag.log_text());
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(rx.accepted().len(), 1, "the big one is not sent");

    std::fs::remove_file(&filler).unwrap();
    wait_until(within, "big notification delivered", || {
        (rx.accepted().len() == 2).then_some(())
    });
    wait_until(within, "ready again", || {
        (get(ag.port, "/readyz").0 == 200).then_some(())
    });
}
