//! Validated rule groups, ready to evaluate: durations in milliseconds,
//! expressions parsed, templates compiled, group labels merged into rules.

use crate::model::Labels;
use crate::template::Template;
use promql_parser::parser::Expr;

/// Prometheus's default evaluation interval (`global.evaluation_interval`).
pub const DEFAULT_INTERVAL_MS: i64 = 60_000;

#[derive(Debug, Clone)]
pub struct RuleFile {
    /// The path as the user gave it (or as a glob/directory expanded it).
    pub path: String,
    pub groups: Vec<Group>,
}

#[derive(Debug, Clone)]
pub struct Group {
    pub name: String,
    /// The file the group comes from; (file, name) identifies a group.
    pub file: String,
    /// `interval`, when set and non-zero.
    pub interval_ms: Option<i64>,
    /// `query_offset`, when set.
    pub query_offset_ms: Option<i64>,
    /// `limit`; 0 or negative means no limit, as in Prometheus.
    pub limit: i64,
    pub rules: Vec<Rule>,
}

impl Group {
    /// The group's interval, or `default_ms` when the file sets none.
    pub fn interval_or(&self, default_ms: i64) -> i64 {
        self.interval_ms.unwrap_or(default_ms)
    }

    pub fn query_offset(&self) -> i64 {
        self.query_offset_ms.unwrap_or(0)
    }
}

#[derive(Debug, Clone)]
pub enum Rule {
    Recording(RecordingRule),
    Alerting(AlertingRule),
}

impl Rule {
    pub fn name(&self) -> &str {
        match self {
            Rule::Recording(r) => &r.name,
            Rule::Alerting(a) => &a.name,
        }
    }

    pub fn expr_text(&self) -> &str {
        match self {
            Rule::Recording(r) => &r.expr_text,
            Rule::Alerting(a) => &a.expr_text,
        }
    }
}

#[derive(Debug, Clone)]
pub struct RecordingRule {
    pub name: String,
    pub expr: Expr,
    pub expr_text: String,
    /// Group labels overridden by rule labels; not templated.
    pub labels: Labels,
}

#[derive(Debug, Clone)]
pub struct AlertingRule {
    pub name: String,
    pub expr: Expr,
    pub expr_text: String,
    pub for_ms: i64,
    pub keep_firing_for_ms: i64,
    /// Group labels overridden by rule labels, each a template, sorted by name.
    pub labels: Vec<(String, Template)>,
    /// Sorted by name.
    pub annotations: Vec<(String, Template)>,
}

impl RuleFile {
    /// Rules of this file that share a name and labels (group labels merged,
    /// label templates compared as written), each reported once. Prometheus
    /// loads such files but the series or alerts collide; `promtool check
    /// rules` reports them as a lint warning (cmd/promtool: `checkDuplicates`).
    pub fn duplicate_rules(&self) -> Vec<(String, Labels)> {
        let mut seen: Vec<(String, Labels)> = Vec::new();
        let mut dups: Vec<(String, Labels)> = Vec::new();
        for r in self.groups.iter().flat_map(|g| &g.rules) {
            let key = match r {
                Rule::Recording(r) => (r.name.clone(), r.labels.clone()),
                Rule::Alerting(a) => (
                    a.name.clone(),
                    Labels::from_pairs(
                        a.labels
                            .iter()
                            .map(|(k, t)| (k.clone(), t.source().to_string())),
                    ),
                ),
            };
            if seen.contains(&key) {
                if !dups.contains(&key) {
                    dups.push(key);
                }
            } else {
                seen.push(key);
            }
        }
        dups
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::parse_rule_file;

    #[test]
    fn duplicate_rules_like_promtool() {
        // promtool's rules_duplicates.yml: recorded twice in one group and
        // once more in another, reported once, without labels.
        let src = "groups:\n- name: a\n  rules:\n  - record: x\n    expr: up\n  - record: x\n    expr: down\n  - record: x\n    expr: up\n    labels: {l: v}\n- name: b\n  rules:\n  - record: x\n    expr: up\n  - alert: A\n    expr: up\n    labels: {s: '{{ $value }}'}\n  - alert: A\n    expr: down\n    labels: {s: '{{ $value }}'}\n";
        let f = parse_rule_file("r.yaml", src).unwrap();
        let d: Vec<String> = f
            .duplicate_rules()
            .iter()
            .map(|(n, l)| format!("{n}{l}"))
            .collect();
        assert_eq!(
            d,
            vec!["x{}".to_string(), r#"A{s="{{ $value }}"}"#.to_string()]
        );
    }
}
