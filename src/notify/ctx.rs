//! The typed context every notifier receives: one group's alerts for one
//! receiver, plus what templates need (upstream's `template.Data`, with the
//! runbook-000 fields `tenant_id`, `trace_id`, `metric`, `threshold`,
//! `value`, `severity` and `text` on every alert).

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

use crate::model::{Labels, Timestamp};
use crate::routing::{Alert, Notification};

/// One notification as the notifiers see it.
#[derive(Debug, Clone, PartialEq)]
pub struct NotifyCtx {
    pub receiver: String,
    /// Upstream's group key; stable for the life of the group.
    pub group_key: String,
    pub group_labels: Labels,
    pub firing: Vec<Alert>,
    pub resolved: Vec<Alert>,
    /// When the notification is made.
    pub now: Timestamp,
    pub external_url: String,
    /// 32 hex digits (W3C trace-id size), derived from group and time so a
    /// rendered preview and the real send agree.
    pub trace_id: String,
}

impl NotifyCtx {
    pub fn from_notification(n: &Notification, external_url: &str) -> Self {
        NotifyCtx::new(
            &n.receiver,
            &n.group_key,
            n.group_labels.clone(),
            n.firing.clone(),
            n.resolved.clone(),
            n.at,
            external_url,
        )
    }

    pub fn new(
        receiver: &str,
        group_key: &str,
        group_labels: Labels,
        firing: Vec<Alert>,
        resolved: Vec<Alert>,
        now: Timestamp,
        external_url: &str,
    ) -> Self {
        let trace = hex::encode(Sha256::digest(format!("{group_key}\u{ff}{now}")));
        NotifyCtx {
            receiver: receiver.to_string(),
            group_key: group_key.to_string(),
            group_labels,
            firing,
            resolved,
            now,
            external_url: external_url.to_string(),
            trace_id: trace[..32].to_string(),
        }
    }

    /// `firing` while any alert fires (upstream `Alerts.Status`).
    pub fn status(&self) -> &'static str {
        if self.firing.is_empty() {
            "resolved"
        } else {
            "firing"
        }
    }

    /// Firing alerts first, then resolved ones.
    pub fn alerts(&self) -> impl Iterator<Item = &Alert> {
        self.firing.iter().chain(self.resolved.iter())
    }

    pub fn alert_count(&self) -> usize {
        self.firing.len() + self.resolved.len()
    }

    /// The context for an integration that does not send resolved alerts:
    /// None when nothing fires, as upstream skips such a send.
    pub fn for_send_resolved(&self, send_resolved: bool) -> Option<NotifyCtx> {
        if send_resolved {
            return Some(self.clone());
        }
        if self.firing.is_empty() {
            return None;
        }
        let mut c = self.clone();
        c.resolved.clear();
        Some(c)
    }

    /// One stable key per alert group: PagerDuty's `dedup_key`, so trigger
    /// and resolve of a group meet (upstream hashes the group key too).
    pub fn dedup_key(&self) -> String {
        hex::encode(Sha256::digest(self.group_key.as_bytes()))
    }

    /// Labels every alert shares (upstream `CommonLabels`).
    pub fn common_labels(&self) -> BTreeMap<String, String> {
        common(self.alerts().map(|a| {
            a.labels
                .iter()
                .map(|l| (l.name.clone(), l.value.clone()))
                .collect()
        }))
    }

    pub fn common_annotations(&self) -> BTreeMap<String, String> {
        common(self.alerts().map(|a| a.annotations.clone()))
    }

    /// The handlebars data: upstream's fields in their upstream spelling,
    /// plus `trace_id`, `dedup_key`, `firing` and `resolved` lists.
    pub fn template_data(&self) -> Value {
        let alerts: Vec<Value> = self.alerts().map(|a| self.alert_data(a)).collect();
        let (firing, resolved): (Vec<Value>, Vec<Value>) = alerts
            .iter()
            .cloned()
            .partition(|a| a["status"] == "firing");
        json!({
            "receiver": self.receiver,
            "status": self.status(),
            "alerts": alerts,
            "firing": firing,
            "resolved": resolved,
            "groupLabels": labels_map(&self.group_labels),
            "commonLabels": self.common_labels(),
            "commonAnnotations": self.common_annotations(),
            "externalURL": self.external_url,
            "groupKey": self.group_key,
            "truncatedAlerts": 0,
            "trace_id": self.trace_id,
            "dedup_key": self.dedup_key(),
            "now": rfc3339(self.now),
        })
    }

    /// One alert in the webhook/template shape, with the runbook fields.
    pub fn alert_data(&self, a: &Alert) -> Value {
        let mut v = alert_json(a, self.now);
        let label = |n: &str| a.labels.get(n).unwrap_or("").to_string();
        let ann = |n: &str| a.annotations.get(n).cloned().unwrap_or_default();
        let threshold = a
            .labels
            .get("threshold")
            .map(str::to_string)
            .unwrap_or_else(|| ann("threshold"));
        let runbook = json!({
            "tenant_id": label("tenant_id"),
            "trace_id": self.trace_id,
            "metric": label("metric"),
            "threshold": threshold,
            "value": ann("value"),
            "severity": label("severity"),
            "text": ann("summary"),
        });
        if let (Value::Object(m), Value::Object(r)) = (&mut v, &runbook) {
            for (k, x) in r {
                m.insert(k.clone(), x.clone());
            }
            m.insert("runbook".into(), runbook.clone());
        }
        v
    }
}

/// An alert as upstream's webhook and template data spell it. `endsAt` of
/// a firing alert is Go's zero time, as upstream sends it.
pub fn alert_json(a: &Alert, now: Timestamp) -> Value {
    let firing = !a.resolved_at(now);
    let mut m = Map::new();
    m.insert(
        "status".into(),
        json!(if firing { "firing" } else { "resolved" }),
    );
    m.insert("labels".into(), json!(labels_map(&a.labels)));
    m.insert("annotations".into(), json!(a.annotations));
    m.insert("startsAt".into(), json!(rfc3339(a.starts_at)));
    m.insert(
        "endsAt".into(),
        json!(match a.ends_at {
            Some(e) if !firing => rfc3339(e),
            _ => "0001-01-01T00:00:00Z".to_string(),
        }),
    );
    m.insert("generatorURL".into(), json!(a.generator_url));
    m.insert("fingerprint".into(), json!(fingerprint(&a.labels)));
    Value::Object(m)
}

pub fn labels_map(l: &Labels) -> BTreeMap<String, String> {
    l.iter()
        .map(|x| (x.name.clone(), x.value.clone()))
        .collect()
}

fn common(mut sets: impl Iterator<Item = BTreeMap<String, String>>) -> BTreeMap<String, String> {
    let Some(mut acc) = sets.next() else {
        return BTreeMap::new();
    };
    for s in sets {
        acc.retain(|k, v| s.get(k) == Some(v));
    }
    acc
}

/// RFC 3339 in UTC with the fraction only when there is one.
pub fn rfc3339(ms: Timestamp) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        .unwrap_or_default()
}

/// Prometheus's label-set fingerprint: FNV-1a 64 over sorted names and
/// values, each followed by 0xff (prometheus/common: model/signature.go).
pub fn fingerprint(l: &Labels) -> String {
    const OFFSET: u64 = 14695981039346656037;
    const PRIME: u64 = 1099511628211;
    let mut pairs: Vec<(&str, &str)> = l
        .iter()
        .map(|x| (x.name.as_str(), x.value.as_str()))
        .collect();
    pairs.sort();
    let mut h = OFFSET;
    let mut add = |b: u8| {
        h ^= b as u64;
        h = h.wrapping_mul(PRIME);
    };
    for (n, v) in pairs {
        n.bytes().for_each(&mut add);
        add(0xff);
        v.bytes().for_each(&mut add);
        add(0xff);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(pairs: &[(&str, &str)], ends: Option<i64>) -> Alert {
        let mut a = Alert::firing(Labels::from_pairs(pairs.iter().copied()), 0);
        a.ends_at = ends;
        a
    }

    #[test]
    fn fingerprint_matches_prometheus_common() {
        // Empty label set: the FNV-1a offset basis, as model.LabelSet{}.Fingerprint().
        assert_eq!(fingerprint(&Labels::new()), "cbf29ce484222325");
        // Order of insertion does not matter.
        let a = Labels::from_pairs([("b", "2"), ("a", "1")]);
        let b = Labels::from_pairs([("a", "1"), ("b", "2")]);
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(
            fingerprint(&a),
            fingerprint(&Labels::from_pairs([("a", "1")]))
        );
    }

    #[test]
    fn status_common_labels_and_runbook_fields() {
        let mut f = alert(
            &[("alertname", "A"), ("tenant_id", "t1"), ("severity", "P1")],
            None,
        );
        f.annotations.insert("value".into(), "0.035".into());
        f.annotations.insert("summary".into(), "short".into());
        let r = alert(&[("alertname", "A"), ("tenant_id", "t2")], Some(5));
        let ctx = NotifyCtx::new(
            "rcv",
            "{}:{alertname=\"A\"}",
            Labels::new(),
            vec![f],
            vec![r],
            10,
            "",
        );
        assert_eq!(ctx.status(), "firing");
        let d = ctx.template_data();
        assert_eq!(d["commonLabels"], json!({"alertname": "A"}));
        assert_eq!(d["alerts"][0]["tenant_id"], "t1");
        assert_eq!(d["alerts"][0]["value"], "0.035");
        assert_eq!(d["alerts"][0]["text"], "short");
        assert_eq!(d["alerts"][0]["trace_id"].as_str().unwrap().len(), 32);
        assert_eq!(d["alerts"][1]["status"], "resolved");
        assert_eq!(d["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
        assert_eq!(d["alerts"][1]["endsAt"], "1970-01-01T00:00:00.005Z");
        assert!(ctx.for_send_resolved(false).unwrap().resolved.is_empty());
        let only_resolved = NotifyCtx {
            firing: vec![],
            ..ctx.clone()
        };
        assert_eq!(only_resolved.status(), "resolved");
        assert!(only_resolved.for_send_resolved(false).is_none());
        assert_eq!(ctx.dedup_key(), only_resolved.dedup_key());
    }
}
