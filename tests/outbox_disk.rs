//! Issue [durable]: a full disk or an unwritable store is reported on
//! stderr and in readiness, and never taken for a delivery. Uses small
//! tmpfs mounts (needs root); elsewhere it skips, unless CI=true.

use std::process::Command;
use std::sync::Arc;

use alertgate::outbox::{Outbox, StoreProblem};

use super::outbox_support::{bin, enqueue, notifications, write_config, Mount, Receiver};

#[test]
fn disk_full_is_an_error_and_not_ready() {
    let dir = tempfile::tempdir().unwrap();
    let Some(_m) = Mount::tmpfs(&dir.path().join("full"), "160k") else {
        return;
    };
    let db = dir.path().join("full/outbox.db");
    let ob = Outbox::open(&db, Arc::new(|| 0)).unwrap();
    let hook = |_: &str| vec!["webhook_configs.0".to_string()];
    let mut acked = 0;
    let mut err = None;
    for batch in notifications(2000).chunks(10) {
        match ob.enqueue(batch, &hook) {
            Ok(e) => acked += e.queued,
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    let err = err.expect("a 160k disk fills up");
    assert_eq!(err.problem(), Some(StoreProblem::DiskFull), "{err}");
    assert!(err.to_string().contains("disk full"), "{err}");
    let not_ready = ob.readiness().unwrap_err();
    assert_eq!(not_ready.problem, StoreProblem::DiskFull);
    assert!(acked > 0);
    // Everything acknowledged before the disk filled up is still there.
    drop(ob);
    let s = alertgate::outbox::store::Store::open_read_only(&db).unwrap();
    assert_eq!(s.depth().unwrap().queued, acked);
}

#[test]
fn unwritable_store_sends_nothing_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let Some(m) = Mount::tmpfs(&dir.path().join("state"), "4m") else {
        return;
    };
    let rx = Receiver::start(0);
    let cfg = write_config(dir.path(), rx.port, "    initial_backoff: 10ms\n");
    enqueue(&dir.path().join("state"), &notifications(3));
    m.remount("ro");

    let out = Command::new(bin())
        .args(["outbox", "drain", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("outbox store") && err.contains("not writable"),
        "{err}"
    );
    assert_eq!(rx.requests(), 0, "nothing is sent that cannot be recorded");

    let out = Command::new(bin())
        .args(["outbox", "status", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ready: no"));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not writable"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Writable again: everything is still there and goes out.
    m.remount("rw");
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
    assert_eq!(rx.accepted().len(), 3);
}
