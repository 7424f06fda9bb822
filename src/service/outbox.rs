//! The notification outbox: a queue between the dispatcher and delivery,
//! drained by one worker with retries; what keeps failing goes to a
//! dead-letter queue. On shutdown the worker gets a few seconds to drain,
//! then whatever is left (queue and dead letters) is written to
//! `state_dir/outbox.json` and queued again at the next start.

use super::deliver::{Deliver, DeliverError};
use super::metrics::names;
use super::runtime::Runtime;
use crate::model::Labels;
use crate::routing::{Alert, Notification, NotifyReason};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const OUTBOX_FILE: &str = "outbox.json";
/// Attempts per notification before it goes to the dead-letter queue.
const ATTEMPTS: u32 = 3;
const BACKOFF_MS: u64 = 500;

pub struct Outbox {
    queue: Mutex<VecDeque<Notification>>,
    wake: tokio::sync::Notify,
    in_flight: AtomicUsize,
    pub dlq: Mutex<Vec<(Notification, String)>>,
    state_dir: Option<PathBuf>,
}

impl Outbox {
    pub fn new(state_dir: Option<PathBuf>) -> Self {
        let me = Outbox {
            queue: Default::default(),
            wake: tokio::sync::Notify::new(),
            in_flight: AtomicUsize::new(0),
            dlq: Default::default(),
            state_dir,
        };
        me.restore();
        me
    }

    pub fn push(&self, ns: Vec<Notification>) {
        if ns.is_empty() {
            return;
        }
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(ns);
        self.wake.notify_one();
    }

    /// Waiting plus being sent.
    pub fn depth(&self) -> usize {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).len()
            + self.in_flight.load(Ordering::SeqCst)
    }

    pub fn dlq_len(&self) -> usize {
        self.dlq.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    fn pop(&self) -> Option<Notification> {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let n = q.pop_front();
        if n.is_some() {
            self.in_flight.fetch_add(1, Ordering::SeqCst);
        }
        n
    }

    /// Waits until the queue is empty or `timeout` passed; true when empty.
    pub async fn drain(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.depth() > 0 {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        true
    }

    /// Writes the queue and the dead letters to `state_dir`.
    pub fn persist(&self) -> std::io::Result<()> {
        let Some(d) = &self.state_dir else {
            return Ok(());
        };
        let queued: Vec<Value> = self
            .queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(to_json)
            .collect();
        let dead: Vec<Value> = self
            .dlq
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(n, e)| json!({"notification": to_json(n), "error": e}))
            .collect();
        std::fs::create_dir_all(d)?;
        let tmp = d.join(format!(".{OUTBOX_FILE}.tmp"));
        std::fs::write(
            &tmp,
            serde_json::to_vec_pretty(&json!({"queued": queued, "dead": dead}))?,
        )?;
        std::fs::rename(tmp, d.join(OUTBOX_FILE))
    }

    fn restore(&self) {
        let Some(d) = &self.state_dir else { return };
        let Ok(text) = std::fs::read_to_string(d.join(OUTBOX_FILE)) else {
            return;
        };
        let Ok(v) = serde_json::from_str::<Value>(&text) else {
            tracing::warn!(path = %d.join(OUTBOX_FILE).display(), "Outbox file is not valid, ignored.");
            return;
        };
        let queued = v["queued"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(from_json);
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(queued);
        let dead = v["dead"].as_array().into_iter().flatten().filter_map(|d| {
            Some((
                from_json(&d["notification"])?,
                d["error"].as_str().unwrap_or_default().to_string(),
            ))
        });
        self.dlq
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(dead);
    }
}

/// Delivers queued notifications until the task is aborted.
pub async fn run_worker(rt: Arc<Runtime>, deliver: Arc<dyn Deliver>) {
    loop {
        let Some(n) = rt.outbox.pop() else {
            // Re-check after a short while even without a wake-up.
            let _ =
                tokio::time::timeout(Duration::from_millis(200), rt.outbox.wake.notified()).await;
            continue;
        };
        deliver_one(&rt, &deliver, n).await;
        rt.outbox.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn deliver_one(rt: &Arc<Runtime>, deliver: &Arc<dyn Deliver>, n: Notification) {
    let mut last_err = String::new();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(BACKOFF_MS << (attempt - 1))).await;
        }
        // The config current at each attempt: a reload may fix a receiver.
        let loaded = rt.loaded();
        let (d, n2) = (deliver.clone(), n.clone());
        let res = tokio::task::spawn_blocking(move || d.deliver(&n2, &loaded))
            .await
            .unwrap_or_else(|e| {
                Err(DeliverError {
                    message: format!("delivery task failed: {e}"),
                    retryable: false,
                })
            });
        match res {
            Ok(()) => {
                rt.metrics
                    .inc(names::SENT, &[("receiver", &n.receiver)], 1.0);
                return;
            }
            Err(e) => {
                tracing::warn!(receiver = %n.receiver, attempt = attempt + 1, error = %e.message, "Notify attempt failed.");
                last_err = e.message;
                if !e.retryable {
                    break;
                }
            }
        }
    }
    rt.metrics
        .inc(names::FAILED, &[("receiver", &n.receiver)], 1.0);
    tracing::error!(receiver = %n.receiver, error = %last_err, "Notification moved to the dead-letter queue.");
    rt.outbox
        .dlq
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((n, last_err));
}

fn labels_to(l: &Labels) -> Value {
    Value::Object(
        l.iter()
            .map(|x| (x.name.clone(), Value::String(x.value.clone())))
            .collect(),
    )
}

fn labels_from(v: &Value) -> Option<Labels> {
    Some(Labels::from_pairs(v.as_object()?.iter().map(|(k, v)| {
        (k.clone(), v.as_str().unwrap_or_default().to_string())
    })))
}

fn alert_to(a: &Alert) -> Value {
    json!({"labels": labels_to(&a.labels), "annotations": a.annotations, "starts_at": a.starts_at,
           "ends_at": a.ends_at, "generator_url": a.generator_url})
}

fn alert_from(v: &Value) -> Option<Alert> {
    Some(Alert {
        labels: labels_from(&v["labels"])?,
        annotations: serde_json::from_value(v["annotations"].clone()).unwrap_or_default(),
        starts_at: v["starts_at"].as_i64()?,
        ends_at: v["ends_at"].as_i64(),
        generator_url: v["generator_url"].as_str().unwrap_or_default().to_string(),
    })
}

fn to_json(n: &Notification) -> Value {
    json!({"at": n.at, "receiver": n.receiver, "route_idx": n.route_idx, "group_key": n.group_key,
           "group_labels": labels_to(&n.group_labels),
           "firing": n.firing.iter().map(alert_to).collect::<Vec<_>>(),
           "resolved": n.resolved.iter().map(alert_to).collect::<Vec<_>>()})
}

fn from_json(v: &Value) -> Option<Notification> {
    let alerts =
        |k: &str| -> Option<Vec<Alert>> { v[k].as_array()?.iter().map(alert_from).collect() };
    Some(Notification {
        at: v["at"].as_i64()?,
        receiver: v["receiver"].as_str()?.to_string(),
        route_idx: v["route_idx"].as_u64()? as usize,
        group_key: v["group_key"].as_str()?.to_string(),
        group_labels: labels_from(&v["group_labels"])?,
        firing: alerts("firing")?,
        resolved: alerts("resolved")?,
        // The reason is not persisted: a restored message is sent as is.
        reason: NotifyReason::FirstNotification,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_and_dead_letters_survive_a_restart() {
        let d = tempfile::tempdir().unwrap();
        let mut a = Alert::firing(Labels::from_pairs([("alertname", "A")]), 1_000);
        a.annotations.insert("summary".into(), "x".into());
        let n = Notification {
            at: 2_000,
            receiver: "team".into(),
            route_idx: 3,
            group_key: "{}:{}".into(),
            group_labels: Labels::new(),
            firing: vec![a],
            resolved: vec![],
            reason: NotifyReason::FirstNotification,
        };
        let o = Outbox::new(Some(d.path().to_path_buf()));
        o.push(vec![n.clone()]);
        o.dlq.lock().unwrap().push((n.clone(), "HTTP 500".into()));
        o.persist().unwrap();
        let back = Outbox::new(Some(d.path().to_path_buf()));
        assert_eq!(back.depth(), 1);
        assert_eq!(back.pop(), Some(n.clone()));
        assert_eq!(back.dlq.lock().unwrap()[0], (n, "HTTP 500".to_string()));
    }
}
