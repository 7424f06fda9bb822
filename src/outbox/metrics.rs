//! The outbox's self-metrics: queue and DLQ depth, delivery latency and
//! failures per receiver. The service reads [`OutboxMetrics::families`]
//! (or [`render_text`]) for `/metrics`; names carry the `alertgate_outbox_`
//! prefix so they never clash with the service's own.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use super::store::Depth;

/// Upper bounds of the latency histogram, in seconds: from a quick local
/// webhook to an hour-long outage.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    Counter,
    Gauge,
    Histogram,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetricSample {
    /// `""`, or `_bucket`, `_sum`, `_count` of a histogram.
    pub suffix: &'static str,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetricFamily {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: MetricKind,
    pub samples: Vec<MetricSample>,
}

pub mod names {
    pub const QUEUE: &str = "alertgate_outbox_queue_depth";
    pub const DLQ: &str = "alertgate_outbox_dlq_depth";
    pub const DELIVERED: &str = "alertgate_outbox_delivered_total";
    pub const FAILED: &str = "alertgate_outbox_failed_attempts_total";
    pub const DEAD: &str = "alertgate_outbox_dead_lettered_total";
    pub const LATENCY: &str = "alertgate_outbox_delivery_latency_seconds";
    pub const CIRCUIT: &str = "alertgate_outbox_circuit_open";
    pub const STORE_ERRORS: &str = "alertgate_outbox_store_errors_total";
}

type Key = (String, String);

#[derive(Debug, Default, Clone)]
struct Histogram {
    buckets: [u64; LATENCY_BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Debug, Default)]
struct Inner {
    delivered: BTreeMap<Key, u64>,
    failed: BTreeMap<Key, u64>,
    dead: BTreeMap<Key, u64>,
    latency: BTreeMap<String, Histogram>,
    store_errors: u64,
}

#[derive(Debug, Default)]
pub struct OutboxMetrics {
    inner: Mutex<Inner>,
}

fn key(receiver: &str, integration: &str) -> Key {
    (receiver.to_string(), integration.to_string())
}

impl OutboxMetrics {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// A job was accepted `latency_ms` after it was queued.
    pub fn delivered(&self, receiver: &str, integration: &str, latency_ms: i64) {
        self.with(|m| {
            *m.delivered.entry(key(receiver, integration)).or_default() += 1;
            let h = m.latency.entry(receiver.to_string()).or_default();
            let s = latency_ms.max(0) as f64 / 1000.0;
            for (i, le) in LATENCY_BUCKETS.iter().enumerate() {
                if s <= *le {
                    h.buckets[i] += 1;
                }
            }
            h.sum += s;
            h.count += 1;
        });
    }

    pub fn failed_attempt(&self, receiver: &str, integration: &str) {
        self.with(|m| *m.failed.entry(key(receiver, integration)).or_default() += 1);
    }

    pub fn dead_lettered(&self, receiver: &str, integration: &str) {
        self.with(|m| *m.dead.entry(key(receiver, integration)).or_default() += 1);
    }

    pub fn store_error(&self) {
        self.with(|m| m.store_errors += 1);
    }

    /// Delivered count of one integration (tests, status).
    pub fn delivered_count(&self, receiver: &str, integration: &str) -> u64 {
        self.with(|m| {
            m.delivered
                .get(&key(receiver, integration))
                .copied()
                .unwrap_or(0)
        })
    }

    pub fn failed_count(&self, receiver: &str, integration: &str) -> u64 {
        self.with(|m| {
            m.failed
                .get(&key(receiver, integration))
                .copied()
                .unwrap_or(0)
        })
    }

    /// Delivered jobs per receiver, summed over its integrations.
    pub fn delivered_by_receiver(&self) -> BTreeMap<String, u64> {
        self.with(|m| by_receiver(&m.delivered))
    }

    /// Dead-lettered jobs per receiver, summed over its integrations.
    pub fn dead_by_receiver(&self) -> BTreeMap<String, u64> {
        self.with(|m| by_receiver(&m.dead))
    }

    /// Every family, with the depths read from the store and the open
    /// circuits (`(receiver, integration)`) given by the caller.
    pub fn families(
        &self,
        depth: &BTreeMap<String, Depth>,
        open_circuits: &[(String, String)],
    ) -> Vec<MetricFamily> {
        let gauge = |name, help, f: &dyn Fn(&Depth) -> usize| MetricFamily {
            name,
            help,
            kind: MetricKind::Gauge,
            samples: depth
                .iter()
                .map(|(r, d)| sample("", &[("receiver", r)], f(d) as f64))
                .collect(),
        };
        let counter = |name, help, m: &BTreeMap<Key, u64>| MetricFamily {
            name,
            help,
            kind: MetricKind::Counter,
            samples: m
                .iter()
                .map(|((r, i), v)| sample("", &[("receiver", r), ("integration", i)], *v as f64))
                .collect(),
        };
        self.with(|m| {
            let mut lat = Vec::new();
            for (r, h) in &m.latency {
                for (i, le) in LATENCY_BUCKETS.iter().enumerate() {
                    lat.push(sample(
                        "_bucket",
                        &[("receiver", r), ("le", &fmt_le(*le))],
                        h.buckets[i] as f64,
                    ));
                }
                lat.push(sample(
                    "_bucket",
                    &[("receiver", r), ("le", "+Inf")],
                    h.count as f64,
                ));
                lat.push(sample("_sum", &[("receiver", r)], h.sum));
                lat.push(sample("_count", &[("receiver", r)], h.count as f64));
            }
            vec![
                gauge(
                    names::QUEUE,
                    "Notifications waiting for delivery, per receiver.",
                    &|d| d.queued,
                ),
                gauge(
                    names::DLQ,
                    "Notifications in the dead-letter queue, per receiver.",
                    &|d| d.dead,
                ),
                counter(
                    names::DELIVERED,
                    "Notifications accepted by the receiver.",
                    &m.delivered,
                ),
                counter(names::FAILED, "Delivery attempts that failed.", &m.failed),
                counter(
                    names::DEAD,
                    "Notifications moved to the dead-letter queue.",
                    &m.dead,
                ),
                MetricFamily {
                    name: names::LATENCY,
                    help: "Time from queueing a notification to its acceptance.",
                    kind: MetricKind::Histogram,
                    samples: lat,
                },
                MetricFamily {
                    name: names::CIRCUIT,
                    help: "1 while the circuit of a receiver integration is open.",
                    kind: MetricKind::Gauge,
                    samples: open_circuits
                        .iter()
                        .map(|(r, i)| sample("", &[("receiver", r), ("integration", i)], 1.0))
                        .collect(),
                },
                MetricFamily {
                    name: names::STORE_ERRORS,
                    help: "Outbox store operations that failed.",
                    kind: MetricKind::Counter,
                    samples: vec![sample("", &[], m.store_errors as f64)],
                },
            ]
        })
    }
}

fn by_receiver(m: &BTreeMap<Key, u64>) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for ((r, _), v) in m {
        *out.entry(r.clone()).or_default() += v;
    }
    out
}

fn sample(suffix: &'static str, labels: &[(&str, &str)], value: f64) -> MetricSample {
    MetricSample {
        suffix,
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        value,
    }
}

fn fmt_le(v: f64) -> String {
    let s = format!("{v}");
    if s.contains('.') {
        s
    } else {
        format!("{s}.0")
    }
}

/// The families in the Prometheus text format 0.0.4.
pub fn render_text(fams: &[MetricFamily]) -> String {
    let mut out = String::new();
    for f in fams {
        let kind = match f.kind {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        };
        let _ = writeln!(out, "# HELP {} {}", f.name, f.help);
        let _ = writeln!(out, "# TYPE {} {kind}", f.name);
        for s in &f.samples {
            out.push_str(f.name);
            out.push_str(s.suffix);
            if !s.labels.is_empty() {
                let parts: Vec<String> = s
                    .labels
                    .iter()
                    .map(|(k, v)| {
                        format!(
                            "{k}=\"{}\"",
                            v.replace('\\', "\\\\")
                                .replace('"', "\\\"")
                                .replace('\n', "\\n")
                        )
                    })
                    .collect();
                let _ = write!(out, "{{{}}}", parts.join(","));
            }
            let _ = writeln!(out, " {}", s.value);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::exposition::{parse, Format};

    #[test]
    fn families_render_as_parseable_text() {
        let m = OutboxMetrics::default();
        m.delivered("team", "webhook_configs.0", 200);
        m.delivered("team", "webhook_configs.0", 40_000);
        m.failed_attempt("team", "webhook_configs.0");
        let mut depth = BTreeMap::new();
        depth.insert("team".to_string(), Depth { queued: 3, dead: 1 });
        let text = render_text(&m.families(&depth, &[("team".into(), "webhook_configs.0".into())]));
        let samples = parse(&text, Format::Text).unwrap();
        let find = |name: &str, extra: Option<(&str, &str)>| {
            samples
                .iter()
                .find(|s| {
                    s.labels.get("__name__") == Some(name)
                        && extra.is_none_or(|(k, v)| s.labels.get(k) == Some(v))
                })
                .map(|s| s.v)
        };
        assert_eq!(find(names::QUEUE, None), Some(3.0));
        assert_eq!(find(names::DLQ, None), Some(1.0));
        assert_eq!(find(names::DELIVERED, None), Some(2.0));
        assert_eq!(find(names::FAILED, None), Some(1.0));
        assert_eq!(find(names::CIRCUIT, None), Some(1.0));
        // 0.2 s is within 0.25, 40 s is not within 30.
        assert_eq!(
            find(
                "alertgate_outbox_delivery_latency_seconds_bucket",
                Some(("le", "0.25"))
            ),
            Some(1.0)
        );
        assert_eq!(
            find(
                "alertgate_outbox_delivery_latency_seconds_bucket",
                Some(("le", "30.0"))
            ),
            Some(1.0)
        );
        assert_eq!(
            find(
                "alertgate_outbox_delivery_latency_seconds_bucket",
                Some(("le", "60.0"))
            ),
            Some(2.0)
        );
        assert_eq!(
            find("alertgate_outbox_delivery_latency_seconds_count", None),
            Some(2.0)
        );
    }
}
