//! Issue [durable]: a receiver down for the whole retry budget sends its
//! notifications to the DLQ; `dlq replay` delivers them once it is back.

use std::collections::BTreeSet;
use std::process::{Command, Output};
use std::sync::atomic::Ordering;

use super::outbox_support::{bin, enqueue, key_of_body, notifications, write_config, Receiver};

fn ag(args: &[&str], cfg: &std::path::Path) -> Output {
    Command::new(bin())
        .args(args)
        .arg("--config")
        .arg(cfg)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn receiver_down_for_whole_budget_then_replay() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::start(0);
    rx.down.store(true, Ordering::SeqCst);
    let cfg = write_config(
        dir.path(),
        rx.port,
        "    initial_backoff: 10ms\n    max_backoff: 20ms\n    max_attempts: 3\n    circuit_failures: 100\n",
    );
    let ns = notifications(5);
    enqueue(&dir.path().join("state"), &ns);

    let out = ag(&["outbox", "drain"], &cfg);
    assert_eq!(
        out.status.code(),
        Some(1),
        "DLQ is a hard stop: {}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stderr).contains("5 moved to the dead-letter queue"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(rx.requests(), 15, "3 attempts each");

    let out = ag(&["dlq", "list"], &cfg);
    assert_eq!(out.status.code(), Some(1));
    let list = text(&out.stdout);
    assert_eq!(list.lines().count(), 5, "{list}");
    assert!(
        list.lines()
            .all(|l| l.contains("hook\twebhook_configs.0\tattempts=3")
                && l.contains("gave up after 3 attempts: unexpected status code 503")),
        "{list}"
    );
    let id = list
        .lines()
        .next()
        .unwrap()
        .split('\t')
        .next()
        .unwrap()
        .to_string();
    let out = Command::new(bin())
        .args(["dlq", "show", &id, "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        text(&out.stdout).contains("last_status: 503"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stdout).contains("alertname=\"burst-0\""),
        "{}",
        text(&out.stdout)
    );

    let out = ag(&["dlq", "purge", "--all"], &cfg);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--yes"), "{}", text(&out.stderr));
    assert_eq!(
        text(&ag(&["dlq", "list"], &cfg).stdout).lines().count(),
        5,
        "nothing purged"
    );

    rx.down.store(false, Ordering::SeqCst);
    let out = ag(&["dlq", "replay", "--all"], &cfg);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let got: BTreeSet<String> = rx.accepted().iter().map(|b| key_of_body(b)).collect();
    let want: BTreeSet<String> = ns
        .iter()
        .map(alertgate::outbox::record::notification_key)
        .collect();
    assert_eq!(got, want);
    assert_eq!(rx.accepted().len(), 5);
    let out = ag(&["dlq", "list"], &cfg);
    assert_eq!(
        (out.status.code(), text(&out.stdout)),
        (Some(0), String::new())
    );
}

#[test]
fn purge_with_yes_deletes_dead_letters() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::start(0);
    rx.down.store(true, Ordering::SeqCst);
    let cfg = write_config(
        dir.path(),
        rx.port,
        "    initial_backoff: 10ms\n    max_backoff: 10ms\n    max_attempts: 1\n",
    );
    enqueue(&dir.path().join("state"), &notifications(2));
    assert_eq!(ag(&["outbox", "drain"], &cfg).status.code(), Some(1));
    let out = ag(&["dlq", "purge", "--all", "--yes"], &cfg);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("2 dead letter(s) purged"));
    assert_eq!(ag(&["dlq", "list"], &cfg).status.code(), Some(0));
}
