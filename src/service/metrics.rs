//! Self-metrics in the Prometheus text format: a small registry of counter
//! and gauge families keyed by label set, rendered at `/metrics`. Families
//! are declared once with their help text so every scrape shows them, even
//! at zero.

use crate::model::Labels;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
}

struct Family {
    help: &'static str,
    kind: Kind,
    series: BTreeMap<Labels, f64>,
}

/// Names of every self-metric, declared in [`Metrics::new`].
pub mod names {
    pub const BUILD_INFO: &str = "alertgate_build_info";
    pub const EVALS: &str = "alertgate_rule_group_evaluations_total";
    pub const EVAL_FAILURES: &str = "alertgate_rule_group_evaluation_failures_total";
    pub const EVAL_DURATION: &str = "alertgate_rule_group_last_duration_seconds";
    pub const MISSED: &str = "alertgate_rule_group_iterations_missed_total";
    pub const ALERTS: &str = "alertgate_alerts";
    pub const SENT: &str = "alertgate_notifications_total";
    pub const FAILED: &str = "alertgate_notifications_failed_total";
    pub const QUEUE: &str = "alertgate_notification_queue_length";
    pub const DLQ: &str = "alertgate_notification_dlq_length";
    pub const RECEIVED: &str = "alertgate_alerts_received_total";
    pub const SCRAPES: &str = "alertgate_scrapes_total";
    pub const SCRAPE_FAILURES: &str = "alertgate_scrape_failures_total";
    pub const RELOAD_OK: &str = "alertgate_config_last_reload_successful";
    pub const RELOAD_TS: &str = "alertgate_config_last_reload_success_timestamp_seconds";
    pub const SILENCES: &str = "alertgate_silences";
}

pub struct Metrics {
    families: Mutex<BTreeMap<&'static str, Family>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        use names::*;
        let decl: [(&'static str, Kind, &'static str); 16] = [
            (
                BUILD_INFO,
                Kind::Gauge,
                "Build information; the value is 1.",
            ),
            (EVALS, Kind::Counter, "Rule group evaluations."),
            (
                EVAL_FAILURES,
                Kind::Counter,
                "Rule evaluations that failed, per group.",
            ),
            (
                EVAL_DURATION,
                Kind::Gauge,
                "Duration of the last evaluation of the group.",
            ),
            (
                MISSED,
                Kind::Counter,
                "Evaluation ticks skipped because the previous one was still running.",
            ),
            (ALERTS, Kind::Gauge, "Alerts of alerting rules by state."),
            (
                SENT,
                Kind::Counter,
                "Notifications delivered, per receiver.",
            ),
            (
                FAILED,
                Kind::Counter,
                "Notifications that failed after retries, per receiver.",
            ),
            (QUEUE, Kind::Gauge, "Notifications waiting for delivery."),
            (
                DLQ,
                Kind::Gauge,
                "Notifications given up on, kept in the dead-letter queue.",
            ),
            (
                RECEIVED,
                Kind::Counter,
                "Alerts received through POST /api/v2/alerts.",
            ),
            (SCRAPES, Kind::Counter, "Scrapes of targets, per job."),
            (
                SCRAPE_FAILURES,
                Kind::Counter,
                "Failed scrapes of targets, per job.",
            ),
            (
                RELOAD_OK,
                Kind::Gauge,
                "Whether the last configuration reload succeeded.",
            ),
            (
                RELOAD_TS,
                Kind::Gauge,
                "Time of the last successful configuration load.",
            ),
            (SILENCES, Kind::Gauge, "Silences by state."),
        ];
        let mut m = BTreeMap::new();
        for (name, kind, help) in decl {
            m.insert(
                name,
                Family {
                    help,
                    kind,
                    series: BTreeMap::new(),
                },
            );
        }
        let me = Metrics {
            families: Mutex::new(m),
        };
        me.set(BUILD_INFO, &[("version", env!("CARGO_PKG_VERSION"))], 1.0);
        me
    }

    fn with<F: FnOnce(&mut Family)>(&self, name: &str, f: F) {
        let mut fams = self.families.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(fam) = fams.get_mut(name) {
            f(fam);
        }
    }

    pub fn inc(&self, name: &str, labels: &[(&str, &str)], by: f64) {
        let l = Labels::from_pairs(labels.iter().copied());
        self.with(name, |f| *f.series.entry(l).or_insert(0.0) += by);
    }

    pub fn set(&self, name: &str, labels: &[(&str, &str)], v: f64) {
        let l = Labels::from_pairs(labels.iter().copied());
        self.with(name, |f| {
            f.series.insert(l, v);
        });
    }

    /// Replaces all series of a gauge family (for values recomputed at
    /// render time, so label sets that vanished disappear).
    pub fn replace(&self, name: &str, series: Vec<(Labels, f64)>) {
        self.with(name, |f| f.series = series.into_iter().collect());
    }

    /// The current value, if the series exists (tests, status page).
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let l = Labels::from_pairs(labels.iter().copied());
        let fams = self.families.lock().unwrap_or_else(|e| e.into_inner());
        fams.get(name).and_then(|f| f.series.get(&l).copied())
    }

    /// The text exposition format 0.0.4.
    pub fn render(&self) -> String {
        let fams = self.families.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        for (name, f) in fams.iter() {
            let kind = match f.kind {
                Kind::Counter => "counter",
                Kind::Gauge => "gauge",
            };
            let _ = writeln!(out, "# HELP {name} {}", f.help);
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for (labels, v) in &f.series {
                out.push_str(name);
                if !labels.is_empty() {
                    out.push('{');
                    for (i, l) in labels.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        let esc = l
                            .value
                            .replace('\\', "\\\\")
                            .replace('"', "\\\"")
                            .replace('\n', "\\n");
                        let _ = write!(out, "{}=\"{esc}\"", l.name);
                    }
                    out.push('}');
                }
                let _ = writeln!(out, " {}", crate::api::json::format_go_f(*v));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::exposition::{parse, Format};

    #[test]
    fn renders_parseable_text_format() {
        let m = Metrics::new();
        m.inc(names::EVALS, &[("rule_group", "a.yml;g")], 1.0);
        m.inc(names::EVALS, &[("rule_group", "a.yml;g")], 1.0);
        m.set(names::QUEUE, &[], 3.0);
        let text = m.render();
        let samples = parse(&text, Format::Text).unwrap();
        let find = |n: &str| {
            samples
                .iter()
                .find(|s| s.labels.get("__name__") == Some(n))
                .map(|s| s.v)
        };
        assert_eq!(find(names::EVALS), Some(2.0));
        assert_eq!(find(names::QUEUE), Some(3.0));
        assert_eq!(find(names::BUILD_INFO), Some(1.0));
        assert!(text.contains("# TYPE alertgate_rule_group_evaluations_total counter"));
    }
}
