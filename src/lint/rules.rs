//! Checks on loaded rule files: each expression (see `promql`), and what
//! only the whole rule shows: templates reading labels the expression
//! removed, `$value` in labels, `absent()` without `for`, `for` shorter than
//! the group interval, required labels and annotations, recording-rule
//! names, duplicate rules.

use super::finding::{Finding, Severity};
use super::labels::{output, LabelSet};
use super::promql::{check_expr, uses_absent};
use super::range::{range, Recorded};
use super::source::RuleSource;
use crate::model::Labels;
use crate::rules::{Group, Rule};
use crate::template::template_refs;

pub const TEMPLATE_LABEL_MISSING: &str = "alerts/template-label-missing";
pub const VALUE_IN_LABEL: &str = "alerts/value-in-label";
pub const ABSENT_WITHOUT_FOR: &str = "alerts/absent-without-for";
pub const FOR_SHORTER_THAN_INTERVAL: &str = "alerts/for-shorter-than-interval";
pub const MISSING_LABEL: &str = "alerts/missing-label";
pub const MISSING_ANNOTATION: &str = "alerts/missing-annotation";
pub const RECORD_NAME: &str = "rules/record-name";
pub const DUPLICATE_RULE: &str = "rules/duplicate-rule";

/// What the rule checks require; see `alertgate lint --help`.
#[derive(Debug, Clone)]
pub struct RuleOptions {
    /// Interval of groups that set none.
    pub default_interval_ms: i64,
    /// Labels every alerting rule must set (error when missing).
    pub required_labels: Vec<String>,
    /// Annotations every alerting rule must set (warning when missing).
    pub required_annotations: Vec<String>,
}

impl Default for RuleOptions {
    fn default() -> Self {
        RuleOptions {
            default_interval_ms: crate::rules::DEFAULT_INTERVAL_MS,
            required_labels: vec!["severity".into()],
            required_annotations: vec!["summary".into(), "description".into()],
        }
    }
}

/// Value ranges of every recorded series, so that an alert comparing a
/// recorded ratio is checked like one comparing the expression.
pub fn recorded_ranges(sources: &[RuleSource]) -> Recorded {
    let mut rec = Recorded::new();
    // Two passes: a recording rule may read another recorded below it.
    for _ in 0..2 {
        for r in sources
            .iter()
            .flat_map(|s| &s.file.groups)
            .flat_map(|g| &g.rules)
        {
            if let Rule::Recording(r) = r {
                if let Some(x) = range(&r.expr, &rec) {
                    rec.insert(r.name.clone(), x);
                }
            }
        }
    }
    rec
}

/// Every finding of the rule checks in one file.
pub fn check_file(s: &RuleSource, opts: &RuleOptions, recorded: &Recorded) -> Vec<Finding> {
    let mut out = Vec::new();
    let file = s.path();
    for (gi, g) in s.file.groups.iter().enumerate() {
        for (ri, r) in g.rules.iter().enumerate() {
            let expr_at = s.rule_pos(gi, ri, "expr");
            let expr = match r {
                Rule::Alerting(a) => &a.expr,
                Rule::Recording(rr) => &rr.expr,
            };
            for (sev, check, msg) in check_expr(expr, recorded) {
                out.push(Finding::new(
                    file,
                    expr_at,
                    sev,
                    check,
                    format!("{}: {msg}", who(g, r)),
                ));
            }
            match r {
                Rule::Alerting(_) => alert(s, gi, ri, g, r, opts, &mut out),
                Rule::Recording(rr) => {
                    let parts: Vec<&str> = rr.name.split(':').collect();
                    if parts.len() < 3 || parts.iter().any(|p| p.is_empty()) {
                        out.push(Finding::warning(
                            file,
                            s.rule_pos(gi, ri, "record"),
                            RECORD_NAME,
                            format!(
                                "{}: recording rule name {:?} does not follow level:metric:operations (e.g. job:http_requests:rate5m)",
                                who(g, r),
                                rr.name
                            ),
                        ));
                    }
                }
            }
        }
    }
    duplicates(s, &mut out);
    out
}

/// Prometheus's duration notation (`1m30s`).
fn fmt_dur(ms: i64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let mut rest = ms;
    let mut out = String::new();
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ] {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}

fn who(g: &Group, r: &Rule) -> String {
    format!("group {:?}, rule {:?}", g.name, r.name())
}

/// Where label `k` of rule (gi, ri) is written: the rule, else the group.
fn label_pos(s: &RuleSource, gi: usize, ri: usize, k: &str) -> Option<crate::yaml::Pos> {
    s.pos
        .value(&format!("groups.{gi}.rules.{ri}.labels.{k}"))
        .or_else(|| s.pos.value(&format!("groups.{gi}.labels.{k}")))
        .or_else(|| s.rule_pos(gi, ri, ""))
}

fn alert(
    s: &RuleSource,
    gi: usize,
    ri: usize,
    g: &Group,
    r: &Rule,
    opts: &RuleOptions,
    out: &mut Vec<Finding>,
) {
    let Rule::Alerting(a) = r else { return };
    let file = s.path();
    let who = who(g, r);
    let produced = output(&a.expr).labels;
    let have = match &produced {
        LabelSet::Only(s) if s.is_empty() => "its series carry no labels".to_string(),
        LabelSet::Only(s) => format!(
            "its series carry only ({})",
            s.iter().cloned().collect::<Vec<_>>().join(", ")
        ),
        LabelSet::AnyExcept(_) => "the expression removes it".to_string(),
    };
    let templates = a
        .labels
        .iter()
        .map(|(k, t)| ("label", k, t, label_pos(s, gi, ri, k)))
        .chain(a.annotations.iter().map(|(k, t)| {
            let at = s.rule_pos(gi, ri, &format!("annotations.{k}"));
            ("annotation", k, t, at)
        }));
    for (kind, k, t, at) in templates {
        let refs = template_refs(t);
        for l in &refs.labels {
            if !produced.may_have(l) {
                out.push(Finding::error(
                    file,
                    at,
                    TEMPLATE_LABEL_MISSING,
                    format!(
                        "{who}: {kind} {k:?} uses $labels.{l}, but {have}, so it renders empty"
                    ),
                ));
            }
        }
        if kind == "label" && refs.value {
            out.push(Finding::error(
                file,
                at,
                VALUE_IN_LABEL,
                format!("{who}: label {k:?} uses $value: every new value makes a new alert, so `for` never completes and alerts flap; put the value in an annotation"),
            ));
        }
    }
    let interval = g.interval_or(opts.default_interval_ms);
    if a.for_ms > 0 && a.for_ms < interval {
        out.push(Finding::warning(
            file,
            s.rule_pos(gi, ri, "for"),
            FOR_SHORTER_THAN_INTERVAL,
            format!(
                "{who}: for {} is shorter than the group interval {}: the alert fires only after one interval",
                fmt_dur(a.for_ms),
                fmt_dur(interval)
            ),
        ));
    }
    if a.for_ms == 0 && uses_absent(&a.expr) {
        out.push(Finding::warning(
            file,
            s.rule_pos(gi, ri, "expr"),
            ABSENT_WITHOUT_FOR,
            format!("{who}: absent() without `for` fires on the first missed scrape or restart; add for: (e.g. 5m)"),
        ));
    }
    for l in &opts.required_labels {
        if !a.labels.iter().any(|(k, _)| k == l) {
            out.push(Finding::error(
                file,
                s.rule_pos(gi, ri, ""),
                MISSING_LABEL,
                format!("{who}: alert has no {l:?} label, so routing cannot tell how urgent it is"),
            ));
        }
    }
    for n in &opts.required_annotations {
        if !a.annotations.iter().any(|(k, _)| k == n) {
            out.push(Finding::warning(
                file,
                s.rule_pos(gi, ri, ""),
                MISSING_ANNOTATION,
                format!("{who}: alert has no {n:?} annotation"),
            ));
        }
    }
}

/// The loader's duplicate detection (same name and labels), pointed at
/// each repeat.
fn duplicates(s: &RuleSource, out: &mut Vec<Finding>) {
    let dups = s.file.duplicate_rules();
    if dups.is_empty() {
        return;
    }
    let key = |r: &Rule| -> (String, Labels) {
        match r {
            Rule::Recording(r) => (r.name.clone(), r.labels.clone()),
            Rule::Alerting(a) => (
                a.name.clone(),
                Labels::from_pairs(
                    a.labels
                        .iter()
                        .map(|(k, t)| (k.clone(), t.source().to_string())),
                ),
            ),
        }
    };
    for d in &dups {
        let mut first = None;
        for (gi, g) in s.file.groups.iter().enumerate() {
            for (ri, r) in g.rules.iter().enumerate() {
                if key(r) != *d {
                    continue;
                }
                let at = s.rule_pos(gi, ri, "");
                match first {
                    None => first = at.or(Some(crate::yaml::Pos { line: 0, col: 0 })),
                    Some(f) => out.push(Finding::new(
                        s.path(),
                        at,
                        Severity::Warning,
                        DUPLICATE_RULE,
                        format!(
                            "{}: same name and labels as the rule at line {}: the series or alerts collide",
                            who(g, r),
                            f.line
                        ),
                    )),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::promql::{
        COUNTER_COMPARED_RAW, IMPOSSIBLE_COMPARISON, IMPOSSIBLE_MATCH, RATE_NON_COUNTER,
        REGEX_EQUALITY,
    };

    /// Findings for one group of rules (YAML list items, indented by 6).
    fn lint(rules: &str, group_extra: &str) -> Vec<Finding> {
        let src = format!("groups:\n  - name: g\n{group_extra}    rules:\n{rules}");
        let s = RuleSource::parse("r.yml", &src, &Default::default())
            .unwrap_or_else(|e| panic!("{src}\n{e:?}"));
        let rec = recorded_ranges(std::slice::from_ref(&s));
        check_file(&s, &RuleOptions::default(), &rec)
    }

    /// An alert with the required label and annotations, plus `extra` lines.
    fn alert(expr: &str, extra: &str) -> String {
        format!(
            "      - alert: A\n        expr: '{expr}'\n        labels:\n          severity: page\n{extra}        annotations:\n          summary: s\n          description: d\n"
        )
    }

    fn checks(f: &[Finding]) -> Vec<&str> {
        f.iter().map(|f| f.check.as_str()).collect()
    }

    #[test]
    fn each_check_triggers_on_its_defect_and_not_on_the_fix() {
        let cases: Vec<(&str, String, String)> = vec![
            (
                RATE_NON_COUNTER,
                alert("rate(queue_depth[5m]) > 1", ""),
                alert("deriv(queue_depth[5m]) > 1", ""),
            ),
            (
                COUNTER_COMPARED_RAW,
                alert("http_requests_total > 100", ""),
                alert("increase(http_requests_total[5m]) > 100", ""),
            ),
            (
                IMPOSSIBLE_COMPARISON,
                alert("count(up == 0) < 0", ""),
                alert("count(up == 0) > 0", ""),
            ),
            (
                REGEX_EQUALITY,
                alert("up{job=~\"api\"} == 0", ""),
                alert("up{job=~\"api|web\"} == 0", ""),
            ),
            (
                IMPOSSIBLE_MATCH,
                alert("sum by (env) (a) / sum by (job) (b) > 1", ""),
                alert("sum by (env) (a) / sum by (env) (b) > 1", ""),
            ),
            (
                ABSENT_WITHOUT_FOR,
                alert("absent(up{job=\"api\"})", ""),
                alert("absent(up{job=\"api\"})", "").replace("        labels:", "        for: 5m\n        labels:"),
            ),
            (
                TEMPLATE_LABEL_MISSING,
                alert("sum by (env) (up) == 0", "").replace("summary: s", "summary: '{{ $labels.instance }}'"),
                alert("sum by (env) (up) == 0", "").replace("summary: s", "summary: '{{ $labels.env }}'"),
            ),
            (
                VALUE_IN_LABEL,
                alert("up == 0", "          value: '{{ $value }}'\n"),
                alert("up == 0", "          job: '{{ $labels.job }}'\n"),
            ),
            (
                FOR_SHORTER_THAN_INTERVAL,
                alert("up == 0", "").replace("        labels:", "        for: 30s\n        labels:"),
                alert("up == 0", "").replace("        labels:", "        for: 1m\n        labels:"),
            ),
            (
                MISSING_LABEL,
                alert("up == 0", "").replace("          severity: page\n", "          team: a\n"),
                alert("up == 0", ""),
            ),
            (
                MISSING_ANNOTATION,
                alert("up == 0", "").replace("          description: d\n", ""),
                alert("up == 0", ""),
            ),
            (
                RECORD_NAME,
                "      - record: http_errors\n        expr: sum(rate(http_errors_total[5m]))\n".into(),
                "      - record: job:http_errors:rate5m\n        expr: sum by (job) (rate(http_errors_total[5m]))\n".into(),
            ),
            (
                DUPLICATE_RULE,
                format!("{}{}", alert("up == 0", ""), alert("up == 1", "")),
                format!("{}{}", alert("up == 0", ""), alert("up == 1", "          team: b\n")),
            ),
        ];
        for (check, bad, good) in cases {
            let f = lint(&bad, "");
            assert_eq!(checks(&f), [check], "bad case of {check}:\n{bad}\n{f:#?}");
            assert!(f[0].pos.is_some(), "{check}: no position");
            let f = lint(&good, "");
            assert!(f.is_empty(), "good case of {check}:\n{good}\n{f:#?}");
        }
    }

    #[test]
    fn severities() {
        let f = lint(&alert("count(up) < 0", "          v: '{{ $value }}'\n"), "");
        let sev: Vec<_> = f.iter().map(|f| (f.check.as_str(), f.severity)).collect();
        assert!(
            sev.contains(&(IMPOSSIBLE_COMPARISON, Severity::Error)),
            "{sev:?}"
        );
        assert!(sev.contains(&(VALUE_IN_LABEL, Severity::Error)), "{sev:?}");
        let f = lint(&alert("rate(queue_depth[5m]) > 1", ""), "");
        assert_eq!(f[0].severity, Severity::Warning);
    }

    #[test]
    fn group_interval_and_positions() {
        let rules =
            alert("up == 0", "").replace("        labels:", "        for: 1m\n        labels:");
        let f = lint(&rules, "    interval: 5m\n");
        assert_eq!(checks(&f), [FOR_SHORTER_THAN_INTERVAL]);
        // `for: 1m` is on line 7, its value at column 14.
        assert_eq!(f[0].pos.map(|p| (p.line, p.col)), Some((7, 14)));
        assert!(
            f[0].message
                .contains("for 1m is shorter than the group interval 5m"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn template_refs_use_expression_labels_not_rule_labels() {
        // Prometheus fills $labels from the sample, before rule labels are added.
        let rules =
            alert("sum(up) == 0", "").replace("summary: s", "summary: '{{ $labels.severity }}'");
        assert_eq!(checks(&lint(&rules, "")), [TEMPLATE_LABEL_MISSING]);
        let rules = alert("up == 0", "").replace("summary: s", "summary: '{{ $labels.instance }}'");
        assert!(lint(&rules, "").is_empty());
    }

    #[test]
    fn recorded_ratio_compared_out_of_range() {
        let rules = format!(
            "      - record: job:errors:ratio\n        expr: clamp_max(sum by (job) (rate(e_total[5m])) / sum by (job) (rate(r_total[5m])), 1)\n{}",
            alert("job:errors:ratio > 1", "")
        );
        assert_eq!(checks(&lint(&rules, "")), [IMPOSSIBLE_COMPARISON]);
    }
}
