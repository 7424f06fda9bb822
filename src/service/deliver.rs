//! Delivery of routed notifications: one small [`Deliver`] seam, so the
//! notifiers of `crate::notify` plug in once they are wired. Until then the
//! built-in implementation posts Alertmanager's webhook payload (version 4)
//! to a receiver's `webhook_configs`; other integrations are reported as
//! not delivered.

use crate::model::Labels;
use crate::routing::receivers::{Integration, Receiver, WebhookConfig};
use crate::routing::{Alert, Notification};
use serde_json::{json, Map, Value};
use std::time::Duration;

/// Sends one notification to its receiver.
///
/// Called by the outbox worker from a blocking thread, once per attempt; it
/// may block for about the integration's timeout. `Err` carries a short
/// reason without payloads or secrets; the outbox retries and finally puts
/// the notification in the dead-letter queue.
pub trait Deliver: Send + Sync {
    fn deliver(&self, n: &Notification, receiver: &Receiver, external_url: &str) -> Result<(), String>;
}

/// Posts webhook payloads with a blocking client.
#[derive(Debug, Default)]
pub struct WebhookDeliver;

fn client() -> &'static reqwest::blocking::Client {
    // Kept for the life of the process: a blocking client must not be
    // dropped inside the async runtime.
    static C: std::sync::OnceLock<reqwest::blocking::Client> = std::sync::OnceLock::new();
    C.get_or_init(|| {
        reqwest::blocking::Client::builder()
            .user_agent(concat!("alertgate/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("HTTP client")
    })
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

fn labels_json(l: &Labels) -> Value {
    Value::Object(l.iter().map(|x| (x.name.clone(), Value::String(x.value.clone()))).collect())
}

fn common(alerts: &[&Alert], get: impl Fn(&Alert) -> Vec<(String, String)>) -> Value {
    let mut it = alerts.iter();
    let Some(first) = it.next() else { return json!({}) };
    let mut m: Vec<(String, String)> = get(first);
    for a in it {
        let other = get(a);
        m.retain(|kv| other.contains(kv));
    }
    Value::Object(m.into_iter().map(|(k, v)| (k, Value::String(v))).collect::<Map<_, _>>())
}

/// Alertmanager's webhook body for `n` (firing alerts first).
pub fn webhook_payload(n: &Notification, external_url: &str, max_alerts: u64, send_resolved: bool) -> Value {
    let mut alerts: Vec<(&Alert, bool)> = n.firing.iter().map(|a| (a, false)).collect();
    if send_resolved {
        alerts.extend(n.resolved.iter().map(|a| (a, true)));
    }
    let all: Vec<&Alert> = alerts.iter().map(|(a, _)| *a).collect();
    let truncated = if max_alerts > 0 && alerts.len() as u64 > max_alerts {
        let t = alerts.len() as u64 - max_alerts;
        alerts.truncate(max_alerts as usize);
        t
    } else {
        0
    };
    let list: Vec<Value> = alerts
        .iter()
        .map(|(a, resolved)| {
            json!({
                "status": if *resolved { "resolved" } else { "firing" },
                "labels": labels_json(&a.labels),
                "annotations": a.annotations,
                "startsAt": rfc3339(a.starts_at),
                "endsAt": if *resolved { rfc3339(a.ends_at.unwrap_or(n.at)) } else { "0001-01-01T00:00:00Z".to_string() },
                "generatorURL": a.generator_url,
                "fingerprint": format!("{:016x}", a.labels.hash64()),
            })
        })
        .collect();
    json!({
        "version": "4",
        "groupKey": n.group_key,
        "truncatedAlerts": truncated,
        "status": if n.firing.is_empty() { "resolved" } else { "firing" },
        "receiver": n.receiver,
        "groupLabels": labels_json(&n.group_labels),
        "commonLabels": common(&all, |a| a.labels.iter().map(|l| (l.name.clone(), l.value.clone())).collect()),
        "commonAnnotations": common(&all, |a| a.annotations.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        "externalURL": external_url,
        "alerts": list,
    })
}

fn post_webhook(c: &WebhookConfig, n: &Notification, external_url: &str) -> Result<(), String> {
    if n.firing.is_empty() && !c.send_resolved {
        return Ok(());
    }
    let url = c.url.resolve().map_err(|e| e.to_string())?;
    let body = webhook_payload(n, external_url, c.max_alerts, c.send_resolved);
    let mut req = client()
        .post(url.expose())
        .timeout(Duration::from_millis(c.timeout_ms.max(1) as u64))
        .json(&body);
    for (k, v) in &c.headers {
        let v = v.resolve().map_err(|e| e.to_string())?;
        req = req.header(k.as_str(), v.expose());
    }
    // The URL may carry a secret: report only the status or error kind.
    let resp = req.send().map_err(|e| {
        if e.is_timeout() {
            "webhook: timeout".to_string()
        } else {
            "webhook: connection failed".to_string()
        }
    })?;
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(format!("webhook: HTTP {}", resp.status().as_u16()))
    }
}

impl Deliver for WebhookDeliver {
    fn deliver(&self, n: &Notification, receiver: &Receiver, external_url: &str) -> Result<(), String> {
        let mut errors = Vec::new();
        for i in &receiver.integrations {
            let r = match i {
                Integration::Webhook(c) => post_webhook(c, n, external_url),
                other => Err(format!("{}: not supported by the service yet", other.kind())),
            };
            if let Err(e) = r {
                errors.push(e);
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::NotifyReason;

    #[test]
    fn payload_has_alertmanager_webhook_shape() {
        let mut a = Alert::firing(Labels::from_pairs([("alertname", "A"), ("env", "prod"), ("i", "1")]), 1_000);
        a.annotations.insert("summary".into(), "s".into());
        let mut b = a.clone();
        b.labels.set("i", "2");
        b.ends_at = Some(5_000);
        let n = Notification {
            at: 6_000,
            receiver: "team".into(),
            route_idx: 0,
            group_key: "{}:{}".into(),
            group_labels: Labels::from_pairs([("alertname", "A")]),
            firing: vec![a],
            resolved: vec![b],
            reason: NotifyReason::FirstNotification,
        };
        let p = webhook_payload(&n, "http://x", 0, true);
        assert_eq!(p["status"], "firing");
        assert_eq!(p["alerts"].as_array().unwrap().len(), 2);
        assert_eq!(p["alerts"][1]["status"], "resolved");
        assert_eq!(p["alerts"][1]["endsAt"], "1970-01-01T00:00:05.000Z");
        assert_eq!(p["commonLabels"], json!({"alertname": "A", "env": "prod"}));
        let p = webhook_payload(&n, "http://x", 1, true);
        assert_eq!(p["truncatedAlerts"], 1);
        let p = webhook_payload(&n, "http://x", 0, false);
        assert_eq!(p["alerts"].as_array().unwrap().len(), 1);
    }
}
