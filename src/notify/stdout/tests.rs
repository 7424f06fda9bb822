//! Stdout: the runbook-000 fields of every alert, one JSON line each, and
//! send_resolved. The shared suite's HTTP/SMTP checks (retry table,
//! timeout, redaction on the wire) do not apply: there is no server and no
//! secret.

use super::super::suite::ctx;
use super::*;

fn captured(send_resolved: bool, ctx: &NotifyCtx) -> Option<String> {
    let buf = Arc::new(Mutex::new(Vec::new()));
    let n = StdoutNotifier::capturing(&StdoutConfig { send_resolved }, buf.clone());
    super::super::pipeline::deliver(&n, ctx)?.unwrap();
    let out = buf.lock().unwrap().clone();
    Some(String::from_utf8(out).unwrap())
}

#[test]
fn one_json_line_per_alert_with_the_runbook_fields() {
    let mut c = ctx(false);
    let a = &mut c.firing[0];
    a.labels.set("tenant_id", "acme");
    a.labels.set("metric", "error_rate");
    a.labels.set("severity", "critical");
    a.labels.set("threshold", "0.01");
    a.annotations.insert("value".into(), "0.035".into());
    a.annotations
        .insert("summary".into(), "[acme] error_rate 3.5 % > 1 %".into());
    let mut b = c.firing[0].clone();
    b.labels.set("tenant_id", "globex");
    c.firing.push(b);
    let out = captured(true, &c).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), c.alert_count(), "{out}");
    let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(v["tenant_id"], "acme");
    assert_eq!(v["metric"], "error_rate");
    assert_eq!(v["threshold"], "0.01");
    assert_eq!(v["value"], "0.035");
    assert_eq!(v["severity"], "critical");
    assert_eq!(v["text"], "[acme] error_rate 3.5 % > 1 %");
    assert_eq!(v["status"], "firing");
    assert_eq!(v["trace_id"], c.trace_id.as_str());
    assert_eq!(v["trace_id"].as_str().unwrap().len(), 32);
    let second: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(second["tenant_id"], "globex");
    // The runbook's fields lead each line, in the runbook's order.
    assert!(
        lines[0].starts_with("{\"tenant_id\":\"acme\",\"trace_id\":"),
        "{}",
        lines[0]
    );
}

#[test]
fn resolved_only_is_skipped_without_send_resolved() {
    let c = ctx(true);
    assert!(captured(false, &c).is_none());
    let out = captured(true, &c).unwrap();
    let v: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(v["status"], "resolved");
}
