//! Inhibition, as upstream `inhibit/inhibit.go`: an alert matching a rule's
//! target matchers is muted while another firing alert matches the source
//! matchers and has equal values for the `equal` labels (missing = "").
//! An alert never inhibits itself: when the target also matches the source
//! side, sources that match both sides are skipped.

use std::collections::HashMap;

use super::mute::{MuteReason, Muter};
use crate::model::{Labels, Matcher, Timestamp};

/// One validated `inhibit_rules` entry.
#[derive(Debug, Clone)]
pub struct InhibitRule {
    pub name: Option<String>,
    pub source: Vec<Matcher>,
    pub target: Vec<Matcher>,
    pub equal: Vec<String>,
}

fn all(ms: &[Matcher], l: &Labels) -> bool {
    ms.iter().all(|m| m.matches(l))
}

/// An alert as the inhibitor sees it: labels and when it stops firing.
#[derive(Debug, Clone)]
struct Source {
    labels: Labels,
    ends_at: Option<Timestamp>,
}

/// Evaluates inhibit rules against the alerts it has been shown.
#[derive(Debug, Clone, Default)]
pub struct Inhibitor {
    rules: Vec<InhibitRule>,
    /// Only alerts that match some rule's source side: no other can mute.
    alerts: HashMap<Labels, Source>,
    /// No alert here ends before this, so [`Inhibitor::gc`] has nothing to
    /// do until then (may be too early after an update, never too late).
    earliest_end: Option<Timestamp>,
}

impl Inhibitor {
    pub fn new(rules: Vec<InhibitRule>) -> Self {
        Inhibitor {
            rules,
            alerts: HashMap::new(),
            earliest_end: None,
        }
    }

    /// Records (or updates) an alert that may act as a source.
    pub fn observe(&mut self, labels: &Labels, ends_at: Option<Timestamp>) {
        if !self.rules.iter().any(|r| all(&r.source, labels)) {
            // Not a source of any rule; forget an earlier version if it was.
            self.alerts.remove(labels);
            return;
        }
        if let Some(e) = ends_at {
            self.earliest_end = Some(self.earliest_end.map_or(e, |x| x.min(e)));
        }
        self.alerts.insert(
            labels.clone(),
            Source {
                labels: labels.clone(),
                ends_at,
            },
        );
    }

    /// Drops alerts resolved before `now` (they can no longer inhibit).
    pub fn gc(&mut self, now: Timestamp) {
        if self.earliest_end.is_none_or(|e| e > now) {
            return;
        }
        self.alerts.retain(|_, s| s.ends_at.is_none_or(|e| e > now));
        self.earliest_end = self.alerts.values().filter_map(|s| s.ends_at).min();
    }

    pub fn rules(&self) -> &[InhibitRule] {
        &self.rules
    }
}

impl Muter for Inhibitor {
    fn mutes(&self, target: &Labels, now: Timestamp) -> Option<MuteReason> {
        for (i, rule) in self.rules.iter().enumerate() {
            if !all(&rule.target, target) {
                continue;
            }
            let target_is_source = all(&rule.source, target);
            // Deterministic pick when several sources qualify.
            let mut best: Option<&Labels> = None;
            for s in self.alerts.values() {
                let firing = s.ends_at.is_none_or(|e| e > now);
                if !firing || s.labels == *target || !all(&rule.source, &s.labels) {
                    continue;
                }
                if target_is_source && all(&rule.target, &s.labels) {
                    continue;
                }
                if !rule
                    .equal
                    .iter()
                    .all(|n| s.labels.get_or_empty(n) == target.get_or_empty(n))
                {
                    continue;
                }
                if best.is_none_or(|b| s.labels < *b) {
                    best = Some(&s.labels);
                }
            }
            if let Some(src) = best {
                return Some(MuteReason::Inhibited {
                    rule: rule.name.clone(),
                    rule_index: i,
                    source: src.clone(),
                });
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::super::config::parse_str;
    use super::*;

    fn inhibitor(rules: &str) -> Inhibitor {
        let c = parse_str(
            &format!("route: {{receiver: a}}\nreceivers: [{{name: a}}]\ninhibit_rules:\n{rules}"),
            "t",
        )
        .unwrap();
        Inhibitor::new(c.inhibit_rules)
    }

    fn l(p: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(p.iter().copied())
    }

    const RULE: &str = "  - source_matchers: [severity=critical]\n    target_matchers: [severity=warning]\n    equal: [alertname, env]\n";

    #[test]
    fn critical_mutes_warning_with_equal_labels() {
        let mut i = inhibitor(RULE);
        let crit = l(&[
            ("alertname", "Http5xx"),
            ("env", "prod"),
            ("severity", "critical"),
        ]);
        let warn = l(&[
            ("alertname", "Http5xx"),
            ("env", "prod"),
            ("severity", "warning"),
        ]);
        let other_env = l(&[
            ("alertname", "Http5xx"),
            ("env", "staging"),
            ("severity", "warning"),
        ]);
        assert_eq!(i.mutes(&warn, 0), None);
        i.observe(&crit, None);
        i.observe(&warn, None);
        assert!(
            matches!(i.mutes(&warn, 0), Some(MuteReason::Inhibited { rule_index: 0, ref source, .. }) if *source == crit)
        );
        assert_eq!(i.mutes(&other_env, 0), None, "equal labels differ");
        assert_eq!(i.mutes(&crit, 0), None, "not a target");
    }

    #[test]
    fn resolved_source_stops_inhibiting() {
        let mut i = inhibitor(RULE);
        let crit = l(&[("alertname", "A"), ("severity", "critical")]);
        let warn = l(&[("alertname", "A"), ("severity", "warning")]);
        i.observe(&crit, Some(1000));
        assert!(i.mutes(&warn, 999).is_some());
        assert!(i.mutes(&warn, 1000).is_none(), "resolved at its end time");
    }

    #[test]
    fn missing_equal_labels_count_as_empty() {
        let mut i = inhibitor(RULE);
        i.observe(&l(&[("severity", "critical")]), None);
        assert!(i.mutes(&l(&[("severity", "warning")]), 0).is_some());
        assert!(i
            .mutes(&l(&[("severity", "warning"), ("env", "x")]), 0)
            .is_none());
    }

    #[test]
    fn no_self_inhibition_when_matching_both_sides() {
        // Upstream TestInhibitRuleMatchers-style: source and target overlap.
        let mut i = inhibitor("  - source_matchers: ['s=~\"1|2\"']\n    target_matchers: ['s=~\"2|3\"']\n    equal: [e]\n");
        let s1 = l(&[("s", "1"), ("e", "x")]);
        let s2 = l(&[("s", "2"), ("e", "x")]);
        let s3 = l(&[("s", "3"), ("e", "x")]);
        i.observe(&s2, None);
        assert!(i.mutes(&s2, 0).is_none(), "alone, s=2 cannot mute itself");
        assert!(i.mutes(&s3, 0).is_some(), "s=2 mutes a pure target");
        i.observe(&s1, None);
        assert!(i.mutes(&s2, 0).is_some(), "s=1 (source only) mutes s=2");
    }

    #[test]
    fn legacy_match_fields() {
        let mut i = inhibitor("  - source_match: {severity: critical}\n    target_match_re: {severity: 'warn.*'}\n    equal: [service]\n");
        i.observe(&l(&[("severity", "critical"), ("service", "api")]), None);
        assert!(i
            .mutes(&l(&[("severity", "warning"), ("service", "api")]), 0)
            .is_some());
        assert!(i
            .mutes(&l(&[("severity", "info"), ("service", "api")]), 0)
            .is_none());
    }
}
