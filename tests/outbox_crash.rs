//! Issue [durable]: SIGKILL during a burst of 1000 notifications to a
//! receiver that fails every third request loses nothing; duplicates carry
//! the same dedup key.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::outbox_support::{bin, enqueue, key_of_body, notifications, write_config, Receiver};

#[test]
fn sigkill_during_burst_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::start(3);
    let cfg = write_config(
        dir.path(),
        rx.port,
        "    initial_backoff: 10ms\n    max_backoff: 50ms\n    max_attempts: 50\n    concurrency: 4\n    circuit_failures: 10\n",
    );
    let ns = notifications(1000);
    enqueue(&dir.path().join("state"), &ns);
    let expected: BTreeSet<String> = ns
        .iter()
        .map(alertgate::outbox::record::notification_key)
        .collect();
    assert_eq!(expected.len(), 1000);

    let mut child = Command::new(bin())
        .args(["outbox", "drain", "--config"])
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while rx.requests() < 300 {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "only {} requests",
            rx.requests()
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "drain ended before the kill"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL
    let st = child.wait().unwrap();
    assert_eq!(st.signal(), Some(9), "{st:?}");
    let accepted_before = rx.accepted().len();
    assert!(accepted_before < 1000, "the kill came mid-burst");

    let out = Command::new(bin())
        .args(["outbox", "drain", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut by_key: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for b in rx.accepted() {
        by_key.entry(key_of_body(&b)).or_default().push(b);
    }
    let got: BTreeSet<String> = by_key.keys().cloned().collect();
    assert_eq!(got, expected, "every notification delivered at least once");
    let dups: usize = by_key.values().map(|v| v.len() - 1).sum();
    for (k, bodies) in &by_key {
        // Same key, same message: a resend, not a new page.
        assert!(
            bodies.iter().all(|b| b == &bodies[0]),
            "duplicate {k} differs"
        );
    }
    let failed = rx
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.status == 500)
        .count();
    eprintln!(
        "outbox crash test: {} accepted before the kill, {} accepted in all, {} duplicates, {} requests failed on purpose",
        accepted_before,
        rx.accepted().len(),
        dups,
        failed
    );
    assert!(failed > 0);
    assert_eq!(rx.accepted().len(), 1000 + dups);
    // Nothing left behind.
    let ob = alertgate::outbox::store::Store::open_read_only(&dir.path().join("state/outbox.db"))
        .unwrap();
    let d = ob.depth().unwrap();
    assert_eq!((d.queued, d.dead), (0, 0));
}
