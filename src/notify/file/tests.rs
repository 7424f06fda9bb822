//! File: lines are appended (never truncated), one JSON object per alert;
//! an unwritable path is a non-secret transport error.

use super::super::suite::ctx;
use super::*;

#[test]
fn appends_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.jsonl");
    std::fs::write(&path, "{\"old\":true}\n").unwrap();
    let n = FileNotifier::build(&FileConfig {
        send_resolved: true,
        path: path.clone(),
    })
    .unwrap();
    n.notify(&ctx(false)).unwrap();
    n.notify(&ctx(true)).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[0], "{\"old\":true}");
    let a: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
    let b: serde_json::Value = serde_json::from_str(lines[2]).unwrap();
    assert_eq!(
        (a["status"].as_str(), a["tenant_id"].as_str()),
        (Some("firing"), Some("t1"))
    );
    assert_eq!(a["text"], "suite summary");
    assert_eq!(b["status"], "resolved");
}

#[test]
fn a_missing_directory_fails_without_payload() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope/alerts.jsonl");
    let n = FileNotifier::build(&FileConfig {
        send_resolved: true,
        path,
    })
    .unwrap();
    let e = n.notify(&ctx(false)).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("cannot open") && msg.contains("alerts.jsonl"),
        "{msg}"
    );
    assert!(!msg.contains("suite summary"), "{msg}");
}
