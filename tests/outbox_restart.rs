//! Issue [durable]: the notification log is persisted with the outbox, so a
//! restart between two evaluations sends no duplicate page for an
//! unchanged group, and repeat_interval holds across the restart.

use std::sync::Arc;

use alertgate::model::Labels;
use alertgate::outbox::Outbox;
use alertgate::routing::{parse_str, Alert, Dispatcher, NotifyReason, RoutingConfig};

const S: i64 = 1000;
const M: i64 = 60 * S;

fn config() -> Arc<RoutingConfig> {
    let src = "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 30s\n  group_interval: 5m\n  repeat_interval: 1h\nreceivers:\n  - name: hook\n    webhook_configs: [{url: 'http://127.0.0.1:1/'}]\n";
    Arc::new(parse_str(src, "alertgate.yml").unwrap())
}

fn alert(instance: &str) -> Alert {
    Alert::firing(
        Labels::from_pairs([("alertname", "Down"), ("instance", instance)]),
        0,
    )
}

fn hook(_: &str) -> Vec<String> {
    vec!["webhook_configs.0".into()]
}

fn open(dir: &std::path::Path) -> Outbox {
    Outbox::open(&dir.join("outbox.db"), Arc::new(|| 0)).unwrap()
}

/// Pushes an alert as an evaluation does, queueing what is flushed.
fn push(
    d: &mut Dispatcher,
    ob: &Outbox,
    a: Alert,
    now: i64,
) -> Vec<alertgate::routing::Notification> {
    let ns = d.push(a, now);
    ob.enqueue(&ns, &hook).unwrap();
    ns
}

/// Ticks at every due time up to `until`, queueing what is flushed.
fn run(d: &mut Dispatcher, ob: &Outbox, until: i64) -> Vec<alertgate::routing::Notification> {
    let mut out = Vec::new();
    while let Some(t) = d.next_due().filter(|t| *t <= until) {
        let ns = d.tick(t);
        ob.enqueue(&ns, &hook).unwrap();
        out.extend(ns);
    }
    out
}

#[test]
fn restart_between_evaluations_sends_no_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    {
        let ob = open(dir.path());
        let mut d = Dispatcher::new(config());
        d.push(alert("a"), 0);
        let sent = run(&mut d, &ob, 40 * S);
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].reason, NotifyReason::FirstNotification);
    } // the process stops here

    // Without the log a fresh dispatcher would page again: the control.
    let mut fresh = Dispatcher::new(config());
    assert_eq!(
        fresh.push(alert("a"), M).len(),
        1,
        "an old alert flushes at once"
    );

    let ob = open(dir.path());
    let mut d = Dispatcher::new(config());
    assert_eq!(ob.restore_log(&mut d).unwrap(), 1);
    // The next evaluation re-sends the unchanged alert: no page, not at
    // group_wait, not at any group_interval before repeat_interval.
    assert!(push(&mut d, &ob, alert("a"), M).is_empty());
    assert!(run(&mut d, &ob, 55 * M).is_empty());
    // repeat_interval counts from the send before the restart (30 s).
    let later = run(&mut d, &ob, 2 * 60 * M);
    assert_eq!(later.len(), 1, "{later:?}");
    assert_eq!(later[0].reason, NotifyReason::RepeatIntervalElapsed);
    assert!(
        later[0].at > 30 * S + 60 * M && later[0].at <= 30 * S + 65 * M + 30 * S,
        "{}",
        later[0].at
    );
    assert_eq!(
        ob.depth().unwrap().queued,
        1,
        "the same state is queued once"
    );
}

#[test]
fn restart_then_changed_group_pages() {
    let dir = tempfile::tempdir().unwrap();
    {
        let ob = open(dir.path());
        let mut d = Dispatcher::new(config());
        d.push(alert("a"), 0);
        assert_eq!(run(&mut d, &ob, 40 * S).len(), 1);
    }
    let ob = open(dir.path());
    let mut d = Dispatcher::new(config());
    ob.restore_log(&mut d).unwrap();
    let mut sent = push(&mut d, &ob, alert("a"), M);
    sent.extend(push(&mut d, &ob, alert("b"), M));
    // The new alert waits for the group's next group_interval tick.
    sent.extend(run(&mut d, &ob, 7 * M));
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].reason, NotifyReason::NewAlertsInGroup);
    assert_eq!(sent[0].firing.len(), 2);
}
