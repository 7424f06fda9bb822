//! How a notification is written to the store (JSON, stable field names)
//! and its dedup key: one key per receiver, group and alert set, the same
//! for every attempt and every restart.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

use crate::model::{Labels, Timestamp};
use crate::notify::ctx::fingerprint;
use crate::routing::{Alert, Notification, NotifyReason};

#[derive(Debug, Serialize, Deserialize)]
struct StoredAlert {
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    starts_at: Timestamp,
    ends_at: Option<Timestamp>,
    generator_url: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredNotification {
    at: Timestamp,
    receiver: String,
    route_idx: usize,
    group_key: String,
    group_labels: BTreeMap<String, String>,
    firing: Vec<StoredAlert>,
    resolved: Vec<StoredAlert>,
    reason: String,
}

pub fn labels_to_map(l: &Labels) -> BTreeMap<String, String> {
    l.iter()
        .map(|x| (x.name.clone(), x.value.clone()))
        .collect()
}

pub fn labels_from_map(m: BTreeMap<String, String>) -> Labels {
    Labels::from_pairs(m)
}

fn reason_str(r: NotifyReason) -> &'static str {
    match r {
        NotifyReason::FirstNotification => "first_notification",
        NotifyReason::NewAlertsInGroup => "new_alerts_in_group",
        NotifyReason::NewResolvedAlerts => "new_resolved_alerts",
        NotifyReason::AllAlertsResolved => "all_alerts_resolved",
        NotifyReason::RepeatIntervalElapsed => "repeat_interval_elapsed",
    }
}

fn reason_from(s: &str) -> NotifyReason {
    match s {
        "new_alerts_in_group" => NotifyReason::NewAlertsInGroup,
        "new_resolved_alerts" => NotifyReason::NewResolvedAlerts,
        "all_alerts_resolved" => NotifyReason::AllAlertsResolved,
        "repeat_interval_elapsed" => NotifyReason::RepeatIntervalElapsed,
        _ => NotifyReason::FirstNotification,
    }
}

fn alert_to(a: &Alert) -> StoredAlert {
    StoredAlert {
        labels: labels_to_map(&a.labels),
        annotations: a.annotations.clone(),
        starts_at: a.starts_at,
        ends_at: a.ends_at,
        generator_url: a.generator_url.clone(),
    }
}

fn alert_from(a: StoredAlert) -> Alert {
    Alert {
        labels: labels_from_map(a.labels),
        annotations: a.annotations,
        starts_at: a.starts_at,
        ends_at: a.ends_at,
        generator_url: a.generator_url,
    }
}

/// The JSON the store keeps for a notification.
pub fn encode(n: &Notification) -> String {
    let s = StoredNotification {
        at: n.at,
        receiver: n.receiver.clone(),
        route_idx: n.route_idx,
        group_key: n.group_key.clone(),
        group_labels: labels_to_map(&n.group_labels),
        firing: n.firing.iter().map(alert_to).collect(),
        resolved: n.resolved.iter().map(alert_to).collect(),
        reason: reason_str(n.reason).to_string(),
    };
    serde_json::to_string(&s).expect("a notification serialises")
}

pub fn decode(text: &str) -> Result<Notification, serde_json::Error> {
    let s: StoredNotification = serde_json::from_str(text)?;
    Ok(Notification {
        at: s.at,
        receiver: s.receiver,
        route_idx: s.route_idx,
        group_key: s.group_key,
        group_labels: labels_from_map(s.group_labels),
        firing: s.firing.into_iter().map(alert_from).collect(),
        resolved: s.resolved.into_iter().map(alert_from).collect(),
        reason: reason_from(&s.reason),
    })
}

/// The dedup key of a notification: 32 hex digits over receiver, group key
/// and the sorted fingerprints of its firing and of its resolved alerts.
/// A retry, a replay or a resend after a crash carries the same key; a new
/// alert or a resolution changes it. Receivers that see the same key twice
/// can drop the second message.
pub fn dedup_key<'a>(
    receiver: &str,
    group_key: &str,
    firing: impl IntoIterator<Item = &'a Labels>,
    resolved: impl IntoIterator<Item = &'a Labels>,
) -> String {
    let sorted = |it: &mut dyn Iterator<Item = &'a Labels>| {
        let mut v: Vec<String> = it.map(fingerprint).collect();
        v.sort();
        v.join(",")
    };
    let f = sorted(&mut firing.into_iter());
    let r = sorted(&mut resolved.into_iter());
    let h = Sha256::digest(format!("{receiver}\u{ff}{group_key}\u{ff}{f}\u{ff}{r}"));
    hex::encode(h)[..32].to_string()
}

/// [`dedup_key`] of a notification.
pub fn notification_key(n: &Notification) -> String {
    dedup_key(
        &n.receiver,
        &n.group_key,
        n.firing.iter().map(|a| &a.labels),
        n.resolved.iter().map(|a| &a.labels),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn notification(group: &str, instances: &[&str]) -> Notification {
        Notification {
            at: 5_000,
            receiver: "team".into(),
            route_idx: 0,
            group_key: format!("{{}}:{{alertname=\"{group}\"}}"),
            group_labels: Labels::from_pairs([("alertname", group)]),
            firing: instances
                .iter()
                .map(|i| {
                    Alert::firing(
                        Labels::from_pairs([("alertname", group), ("instance", i)]),
                        1_000,
                    )
                })
                .collect(),
            resolved: vec![],
            reason: NotifyReason::NewAlertsInGroup,
        }
    }

    #[test]
    fn round_trips() {
        let mut n = notification("A", &["1", "2"]);
        n.firing[0]
            .annotations
            .insert("summary".into(), "s \"q\"".into());
        let mut r = n.firing[1].clone();
        r.ends_at = Some(4_000);
        n.resolved.push(r);
        assert_eq!(decode(&encode(&n)).unwrap(), n);
    }

    #[test]
    fn dedup_key_is_per_alert_set() {
        let a = notification("A", &["1", "2"]);
        let b = notification("A", &["2", "1"]);
        assert_eq!(
            notification_key(&a),
            notification_key(&b),
            "order does not matter"
        );
        let mut later = a.clone();
        later.at += 60_000;
        assert_eq!(
            notification_key(&a),
            notification_key(&later),
            "same state, same key"
        );
        assert_ne!(
            notification_key(&a),
            notification_key(&notification("A", &["1"]))
        );
        let mut res = a.clone();
        res.resolved.push(res.firing.pop().unwrap());
        assert_ne!(
            notification_key(&a),
            notification_key(&res),
            "a resolution is news"
        );
        assert_ne!(
            notification_key(&a),
            notification_key(&notification("B", &["1", "2"]))
        );
        assert_eq!(notification_key(&a).len(), 32);
    }
}
