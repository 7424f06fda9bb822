//! `check --format junit|markdown|github`: the evaluation as a CI report,
//! one suite per rule file and one case per rule (classname: the group).
//! A rule with a firing alert fails; one with only pending alerts fails
//! with `--fail-on pending` and is a warning otherwise; a rule that could
//! not be evaluated is an error. Cases point at the rule's line so GitHub
//! annotates it.

use super::{alert_labels, eval_error_line, format_duration_ms, FailOn};
use crate::alerting::serde_util::format_float;
use crate::alerting::AlertState;
use crate::report::{Case, Failure, Outcome, Report, Suite};
use crate::rules::{AlertReport, ReplayReport, Rule, RuleFile};
use std::collections::HashMap;

pub fn build(files: &[RuleFile], r: &ReplayReport, fail_on: FailOn) -> Report {
    let mut suites = Vec::new();
    for f in files {
        let mut lines = RuleLines::read(&f.path);
        let mut cases = Vec::new();
        for g in &f.groups {
            for (idx, rule) in g.rules.iter().enumerate() {
                let (kind, name) = match rule {
                    Rule::Alerting(a) => ("alert", a.name.as_str()),
                    Rule::Recording(x) => ("record", x.name.as_str()),
                };
                let line = lines.next(kind, name);
                let alerts: Vec<&AlertReport> = r
                    .alerts
                    .iter()
                    .filter(|a| a.file == f.path && a.group == g.name && a.rule == name)
                    .collect();
                let error = r
                    .errors
                    .iter()
                    .find(|e| e.file == f.path && e.group == g.name && e.index == idx);
                let outcome = match error {
                    Some(e) => Outcome::Error(Failure::new(
                        "eval-error",
                        e.message.replace('\n', " "),
                        eval_error_line(e),
                    )),
                    None => alert_outcome(&alerts, r.evaluated_at, fail_on),
                };
                cases.push(Case::new(name, g.name.clone(), outcome).at(Some(f.path.clone()), line));
            }
        }
        suites.push(Suite {
            name: f.path.clone(),
            file: Some(f.path.clone()),
            cases,
            log: Vec::new(),
        });
    }
    Report {
        title: "alertgate check".into(),
        timestamp_ms: r.evaluated_at,
        suites,
        notes: Vec::new(),
    }
}

fn alert_outcome(alerts: &[&AlertReport], at: i64, fail_on: FailOn) -> Outcome {
    let firing = alerts
        .iter()
        .filter(|a| a.alert.state == AlertState::Firing)
        .count();
    let pending = alerts.len() - firing;
    if alerts.is_empty() {
        return Outcome::Passed;
    }
    let mut parts = Vec::new();
    if firing > 0 {
        parts.push(format!("{firing} firing"));
    }
    if pending > 0 {
        parts.push(format!("{pending} pending"));
    }
    // The first alert's summary says more than a count.
    let summary = alerts
        .iter()
        .find_map(|a| a.alert.annotations.get("summary"))
        .map(|s| format!(": {}", s.replace('\n', " ")))
        .unwrap_or_default();
    let message = format!("{}{summary}", parts.join(", "));
    let detail = alerts
        .iter()
        .map(|a| alert_line(a, at))
        .collect::<Vec<_>>()
        .join("\n");
    if firing > 0 {
        Outcome::Failed(Failure::new("firing", message, detail))
    } else if fail_on == FailOn::Pending {
        Outcome::Failed(Failure::new("pending", message, detail))
    } else {
        Outcome::Warning(Failure::new("pending", message, detail))
    }
}

/// `FIRING {labels} value=3` plus the time a pending alert has left.
fn alert_line(a: &AlertReport, at: i64) -> String {
    let state = if a.alert.state == AlertState::Firing {
        "FIRING"
    } else {
        "PENDING"
    };
    let labels = alert_labels(a);
    let mut s = format!(
        "{state} {}{} value={}",
        a.rule,
        if labels.is_empty() {
            String::new()
        } else {
            labels.to_string()
        },
        format_float(a.alert.value)
    );
    if let Some(left) = a.for_remaining_ms(at) {
        s.push_str(&format!(" (for {} left)", format_duration_ms(left)));
    }
    s
}

/// The lines of `alert: NAME` / `record: NAME` in a rule file, handed out
/// in order so that two rules of one name get their own lines. Rule files
/// keep no positions after loading, so the text is scanned again; a file
/// that cannot be read gives no lines.
struct RuleLines {
    found: HashMap<(String, String), Vec<usize>>,
}

impl RuleLines {
    fn read(path: &str) -> RuleLines {
        let mut found: HashMap<(String, String), Vec<usize>> = HashMap::new();
        let text = std::fs::read_to_string(path).unwrap_or_default();
        for (i, line) in text.lines().enumerate() {
            let t = line.trim_start().trim_start_matches('-').trim_start();
            for kind in ["alert", "record"] {
                let Some(rest) = t.strip_prefix(kind) else {
                    continue;
                };
                let Some(value) = rest.trim_start().strip_prefix(':') else {
                    continue;
                };
                let value = value.split(" #").next().unwrap_or("").trim();
                let value = value.trim_matches(|c| c == '"' || c == '\'');
                found
                    .entry((kind.to_string(), value.to_string()))
                    .or_default()
                    .push(i + 1);
            }
        }
        for v in found.values_mut() {
            v.reverse();
        }
        RuleLines { found }
    }

    fn next(&mut self, kind: &str, name: &str) -> Option<usize> {
        self.found
            .get_mut(&(kind.to_string(), name.to_string()))?
            .pop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_lines_follow_the_file_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.yml");
        std::fs::write(
            &p,
            "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n  - record: 'r:x'\n    expr: up\n  - alert: \"A\"  # again\n    expr: up\n",
        )
        .unwrap();
        let mut l = RuleLines::read(p.to_str().unwrap());
        assert_eq!(l.next("alert", "A"), Some(4));
        assert_eq!(l.next("record", "r:x"), Some(6));
        assert_eq!(l.next("alert", "A"), Some(8));
        assert_eq!(l.next("alert", "A"), None);
    }
}
