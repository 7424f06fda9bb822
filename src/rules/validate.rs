//! From rule-file text to validated groups. Accepts what `promtool check
//! rules` 3.5 accepts (prometheus/prometheus: model/rulefmt/rulefmt.go,
//! `RuleGroups.Validate` and `Rule.Validate`) and reports every problem at
//! once, each with the position of the offending node.

use super::error::{Code, Problem};
use super::group::{AlertingRule, Group, RecordingRule, Rule, RuleFile};
use super::raw::{RawFile, RawGroup, RawRule, StrictMap};
use crate::model::{Labels, METRIC_NAME};
use crate::template::Template;
use crate::yaml::{Pos, Positions};
use promql_parser::parser::token::{T_LIMITK, T_LIMIT_RATIO};
use promql_parser::parser::Expr;
use promql_parser::util::{walk_expr, ExprVisitor};
use serde::Deserialize;
use std::collections::HashSet;

/// What validation accepts beyond Prometheus's defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ValidateOptions {
    /// Accept experimental PromQL functions and `limitk`/`limit_ratio`
    /// (`--enable-feature=promql-experimental-functions`).
    pub experimental_functions: bool,
}

/// Parses and validates one rule file with Prometheus's default features.
/// `file` names it in problems.
pub fn parse_rule_file(file: &str, src: &str) -> Result<RuleFile, Vec<Problem>> {
    parse_rule_file_with(file, src, &ValidateOptions::default())
}

/// [`parse_rule_file`] with options.
pub fn parse_rule_file_with(
    file: &str,
    src: &str,
    opts: &ValidateOptions,
) -> Result<RuleFile, Vec<Problem>> {
    let raw = decode(file, src).map_err(|p| vec![p])?;
    let pos = Positions::index(src);
    let mut v = Validator {
        file,
        pos: &pos,
        opts: *opts,
        problems: Vec::new(),
    };
    let groups = v.groups(raw.groups.unwrap_or_default());
    // File order reads best; positionless problems keep their place.
    v.problems
        .sort_by_key(|p| p.pos.map(|p| (p.line, p.col)).unwrap_or((usize::MAX, 0)));
    if v.problems.is_empty() {
        Ok(RuleFile {
            path: file.to_string(),
            groups,
        })
    } else {
        Err(v.problems)
    }
}

/// Parses a Prometheus duration (`1m30s`, `0`, `1d`) into milliseconds.
pub fn parse_duration_ms(s: &str) -> Result<i64, String> {
    crate::model::time::parse_duration_ms(s)
        .map_err(|_| format!("not a valid duration string: {s:?}"))
}

/// Decodes the first YAML document only: promtool 3.5 ignores the rest.
/// An empty document is a file without groups, as in promtool.
fn decode(file: &str, src: &str) -> Result<RawFile, Problem> {
    let Some(doc) = yaml_serde::Deserializer::from_str(src).next() else {
        return Ok(RawFile::default());
    };
    match Option::<RawFile>::deserialize(doc) {
        Ok(f) => Ok(f.unwrap_or_default()),
        Err(e) => Err(yaml_problem(file, &e)),
    }
}

fn yaml_problem(file: &str, e: &yaml_serde::Error) -> Problem {
    let pos = e.location().map(|l| Pos {
        line: l.line(),
        col: l.column(),
    });
    let text = e.to_string();
    // The position is printed in front already; drop serde's copies of it.
    let re = regex::Regex::new(r" at line \d+ column \d+").expect("static regex");
    let msg = re.replace_all(&text, "").into_owned();
    let code = if msg.contains("unknown field") {
        Code::UnknownField
    } else {
        Code::Yaml
    };
    Problem::new(file, pos, code, msg)
}

/// Functions marked `Experimental: true` in prometheus/prometheus:
/// promql/parser/functions.go (v3.5); promql-parser does not flag them all.
const EXPERIMENTAL_FUNCTIONS: [&str; 8] = [
    "double_exponential_smoothing",
    "info",
    "mad_over_time",
    "sort_by_label",
    "sort_by_label_desc",
    "ts_of_last_over_time",
    "ts_of_max_over_time",
    "ts_of_min_over_time",
];

fn is_experimental(name: &str) -> bool {
    EXPERIMENTAL_FUNCTIONS.contains(&name)
}

/// The first experimental feature `e` uses, worded like Prometheus's parser.
fn experimental_use(e: &Expr) -> Option<String> {
    struct Find(Option<String>);
    impl ExprVisitor for Find {
        type Error = std::convert::Infallible;
        fn pre_visit(&mut self, e: &Expr) -> Result<bool, Self::Error> {
            match e {
                Expr::Call(c) if c.func.experimental || is_experimental(c.func.name) => {
                    self.0 = Some(format!("function {:?} is not enabled", c.func.name));
                }
                Expr::Aggregate(a) if matches!(a.op.id(), T_LIMITK | T_LIMIT_RATIO) => {
                    self.0 = Some(format!(
                        "{}() is experimental and must be enabled with --enable-feature=promql-experimental-functions",
                        a.op
                    ));
                }
                _ => {}
            }
            Ok(self.0.is_none())
        }
    }
    let mut f = Find(None);
    let _ = walk_expr(&mut f, e);
    f.0
}

struct Validator<'a> {
    file: &'a str,
    pos: &'a Positions,
    opts: ValidateOptions,
    problems: Vec<Problem>,
}

/// A label name valid under Prometheus 3's UTF-8 name validation (any
/// non-empty UTF-8 string); `__name__` is reserved for the record name.
fn valid_label_name(n: &str) -> bool {
    !n.is_empty() && n != METRIC_NAME
}

impl Validator<'_> {
    fn report(&mut self, at: Option<Pos>, code: Code, msg: impl Into<String>) {
        self.problems.push(Problem::new(self.file, at, code, msg));
    }

    fn duration(&mut self, path: &str, who: &str, what: &str, v: &Option<String>) -> Option<i64> {
        let s = v.as_deref()?;
        match parse_duration_ms(s) {
            Ok(ms) => Some(ms),
            Err(e) => {
                self.report(
                    self.pos.nearest(path),
                    Code::InvalidDuration,
                    format!("{who}: {what}: {e}"),
                );
                None
            }
        }
    }

    fn groups(&mut self, raw: Vec<RawGroup>) -> Vec<Group> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for (gi, g) in raw.into_iter().enumerate() {
            let gp = format!("groups.{gi}");
            let name = g.name.clone().unwrap_or_default();
            if name.is_empty() {
                let at = self
                    .pos
                    .key(&format!("{gp}.name"))
                    .or_else(|| self.pos.nearest(&gp));
                self.report(at, Code::EmptyGroupName, "group name must not be empty");
            } else if !seen.insert(name.clone()) {
                self.report(
                    self.pos.nearest(&format!("{gp}.name")),
                    Code::DuplicateGroup,
                    format!("group name {name:?} is repeated in the same file"),
                );
            }
            let gwho = format!("group {name:?}");
            let interval = self.duration(&format!("{gp}.interval"), &gwho, "interval", &g.interval);
            let query_offset = self.duration(
                &format!("{gp}.query_offset"),
                &gwho,
                "query_offset",
                &g.query_offset,
            );
            let glabels = g.labels.clone().unwrap_or_default();
            self.label_map(&format!("{gp}.labels"), &glabels, &gwho);
            let mut rules = Vec::new();
            for (ri, r) in g.rules.unwrap_or_default().into_iter().enumerate() {
                if let Some(rule) = self.rule(&name, &format!("{gp}.rules.{ri}"), ri, r, &glabels) {
                    rules.push(rule);
                }
            }
            out.push(Group {
                name,
                file: self.file.to_string(),
                interval_ms: interval.filter(|&ms| ms != 0),
                query_offset_ms: query_offset,
                limit: g.limit.unwrap_or(0),
                rules,
            });
        }
        out
    }

    fn label_map(&mut self, path: &str, m: &StrictMap, whose: &str) {
        for k in m.0.keys() {
            if !valid_label_name(k) {
                let at = self
                    .pos
                    .key(&format!("{path}.{k}"))
                    .or_else(|| self.pos.nearest(path));
                self.report(
                    at,
                    Code::InvalidLabelName,
                    format!("{whose}: invalid label name: {k:?}"),
                );
            }
        }
    }

    fn rule(
        &mut self,
        group: &str,
        rp: &str,
        ri: usize,
        r: RawRule,
        glabels: &StrictMap,
    ) -> Option<Rule> {
        let before = self.problems.len();
        let record = r.record.clone().unwrap_or_default();
        let alert = r.alert.clone().unwrap_or_default();
        // A mapping's own mark is unreliable (the parser reports it after the
        // first key), so point at the rule's first identifying key instead.
        let rule_at = ["record", "alert", "expr"]
            .iter()
            .find_map(|k| self.pos.key(&format!("{rp}.{k}")))
            .or_else(|| self.pos.nearest(rp));
        let name = if alert.is_empty() { &record } else { &alert };
        let who = format!("group {group:?}, rule {} {name:?}", ri + 1);
        if !record.is_empty() && !alert.is_empty() {
            self.report(
                self.pos.nearest(&format!("{rp}.record")),
                Code::RecordAndAlert,
                format!("{who}: only one of 'record' and 'alert' must be set"),
            );
        }
        if record.is_empty() && alert.is_empty() {
            self.report(
                rule_at,
                Code::NoRecordOrAlert,
                format!("{who}: one of 'record' or 'alert' must be set"),
            );
        }
        let expr_text = r.expr.clone().unwrap_or_default();
        let expr_at = self.pos.value(&format!("{rp}.expr")).or(rule_at);
        let expr = if expr_text.is_empty() {
            self.report(
                expr_at,
                Code::MissingExpr,
                format!("{who}: field 'expr' must be set in rule"),
            );
            None
        } else {
            match crate::promql::parse(&expr_text) {
                Ok(e) => match (self.opts.experimental_functions, experimental_use(&e)) {
                    (false, Some(what)) => {
                        self.report(
                            expr_at,
                            Code::InvalidExpr,
                            format!("{who}: could not parse expression: {what}"),
                        );
                        None
                    }
                    _ => Some(e),
                },
                Err(e) => {
                    self.report(
                        expr_at,
                        Code::InvalidExpr,
                        format!("{who}: could not parse expression: {e}"),
                    );
                    None
                }
            }
        };
        let for_ms = self.duration(&format!("{rp}.for"), &who, "for", &r.for_);
        let kff_ms = self.duration(
            &format!("{rp}.keep_firing_for"),
            &who,
            "keep_firing_for",
            &r.keep_firing_for,
        );
        let labels = r.labels.clone().unwrap_or_default();
        let annotations = r.annotations.clone().unwrap_or_default();
        self.label_map(&format!("{rp}.labels"), &labels, &who);
        for k in annotations.0.keys() {
            if k.is_empty() {
                let at = self.pos.key(&format!("{rp}.annotations.{k}")).or(rule_at);
                self.report(
                    at,
                    Code::InvalidAnnotationName,
                    format!("{who}: invalid annotation name: {k:?}"),
                );
            }
        }

        if !record.is_empty() {
            let rec_at = self.pos.nearest(&format!("{rp}.record"));
            // Prometheus checks these only by value (`For != 0`), so `for: 0` passes.
            let not_allowed = [
                ("annotations", !annotations.0.is_empty(), "annotations"),
                ("for", for_ms.unwrap_or(0) != 0, "for"),
                (
                    "keep_firing_for",
                    kff_ms.unwrap_or(0) != 0,
                    "keep_firing_for",
                ),
            ];
            for (key, bad, field) in not_allowed {
                if bad {
                    let at = self.pos.key(&format!("{rp}.{key}")).or(rec_at);
                    self.report(
                        at,
                        Code::FieldNotAllowed,
                        format!("{who}: invalid field '{field}' in recording rule"),
                    );
                }
            }
            // Prometheus 3 accepts any UTF-8 metric name, but braces are
            // almost always a selector pasted into the wrong field.
            if record.contains('{') || record.contains('}') {
                self.report(
                    rec_at,
                    Code::InvalidRecordName,
                    format!("{who}: braces present in the recording rule name; should it be in expr?: {record}"),
                );
            }
        }

        // Merged labels: rule labels override group labels (`FromMaps`).
        let mut merged = glabels.0.clone();
        merged.extend(labels.0.clone());

        let mut tlabels = Vec::new();
        let mut tannotations = Vec::new();
        if !alert.is_empty() {
            for (k, v) in &merged {
                let path = if labels.0.contains_key(k) {
                    format!("{rp}.labels.{k}")
                } else {
                    format!("{rp}.labels")
                };
                if let Some(t) = self.template(&path, &who, "label", k, v) {
                    tlabels.push((k.clone(), t));
                }
            }
            for (k, v) in &annotations.0 {
                if let Some(t) =
                    self.template(&format!("{rp}.annotations.{k}"), &who, "annotation", k, v)
                {
                    tannotations.push((k.clone(), t));
                }
            }
        }

        if self.problems.len() != before {
            return None;
        }
        let expr = expr?;
        if !alert.is_empty() {
            Some(Rule::Alerting(AlertingRule {
                name: alert,
                expr,
                expr_text,
                for_ms: for_ms.unwrap_or(0),
                keep_firing_for_ms: kff_ms.unwrap_or(0),
                labels: tlabels,
                annotations: tannotations,
            }))
        } else {
            Some(Rule::Recording(RecordingRule {
                name: record,
                expr,
                expr_text,
                labels: Labels::from_pairs(merged),
            }))
        }
    }

    fn template(
        &mut self,
        path: &str,
        who: &str,
        kind: &str,
        k: &str,
        v: &str,
    ) -> Option<Template> {
        match Template::parse(v) {
            Ok(t) => Some(t),
            Err(e) => {
                let at = self.pos.nearest(path);
                self.report(
                    at,
                    Code::InvalidTemplate,
                    format!("{who}: {kind} {k:?}: {e}"),
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(src: &str) -> Vec<Problem> {
        parse_rule_file("r.yaml", src).expect_err("should be rejected")
    }

    fn one(src: &str) -> Problem {
        let p = problems(src);
        assert_eq!(p.len(), 1, "{p:?}");
        p.into_iter().next().unwrap()
    }

    fn rule(body: &str) -> String {
        format!("groups:\n  - name: g\n    rules:\n      - {body}\n")
    }

    #[test]
    fn accepts_a_full_file() {
        let src = "groups:\n  - name: g\n    interval: 30s\n    query_offset: 1m\n    limit: 3\n    labels: {team: x}\n    rules:\n      - record: job:up:sum\n        expr: sum by (job) (up)\n        labels: {a: b}\n      - alert: Down\n        expr: up == 0\n        for: 1m30s\n        keep_firing_for: 0\n        labels: {severity: page, team: y}\n        annotations: {summary: 'x {{ $labels.job }}'}\n";
        let f = parse_rule_file("r.yaml", src).unwrap();
        let g = &f.groups[0];
        assert_eq!(
            (g.interval_ms, g.query_offset_ms, g.limit),
            (Some(30_000), Some(60_000), 3)
        );
        let Rule::Recording(r) = &g.rules[0] else {
            panic!()
        };
        assert_eq!(r.labels.to_string(), r#"{a="b", team="x"}"#);
        let Rule::Alerting(a) = &g.rules[1] else {
            panic!()
        };
        assert_eq!(a.for_ms, 90_000);
        // Rule labels override group labels.
        let labels: Vec<_> = a
            .labels
            .iter()
            .map(|(k, t)| (k.as_str(), t.source()))
            .collect();
        assert_eq!(labels, vec![("severity", "page"), ("team", "y")]);
    }

    #[test]
    fn empty_file_and_null_groups_have_no_groups() {
        assert!(parse_rule_file("r.yaml", "").unwrap().groups.is_empty());
        assert!(parse_rule_file("r.yaml", "# nothing\n")
            .unwrap()
            .groups
            .is_empty());
        assert!(parse_rule_file("r.yaml", "groups:\n")
            .unwrap()
            .groups
            .is_empty());
    }

    #[test]
    fn only_the_first_document_counts() {
        let f = parse_rule_file("r.yaml", "groups: []\n---\nfoo: 1\n").unwrap();
        assert!(f.groups.is_empty());
    }

    #[test]
    fn zero_interval_means_default() {
        let f =
            parse_rule_file("r.yaml", "groups:\n- name: a\n  interval: 0\n  rules: []\n").unwrap();
        assert_eq!(f.groups[0].interval_ms, None);
    }

    #[test]
    fn unknown_field_points_at_the_key() {
        let p = one(&rule("alert: A\n        expr: up\n        severity: page"));
        assert_eq!(p.code, Code::UnknownField);
        assert_eq!(p.pos, Some(Pos { line: 6, col: 9 }));
        assert!(p.message.contains("severity"), "{}", p.message);
    }

    #[test]
    fn syntax_error_has_a_position() {
        let p = one("groups:\n  - name: [\n");
        assert_eq!(p.code, Code::Yaml);
        assert!(p.pos.is_some());
    }

    #[test]
    fn wrong_shape_is_a_yaml_problem() {
        assert_eq!(one("groups:\n  name: g\n").code, Code::Yaml);
        assert_eq!(
            one("groups:\n  - name: g\n    limit: ten\n").code,
            Code::Yaml
        );
        assert_eq!(one("- a\n").code, Code::Yaml);
    }

    #[test]
    fn duplicate_keys_are_rejected() {
        assert_eq!(
            one(&rule("alert: A\n        expr: up\n        expr: down")).code,
            Code::Yaml
        );
        let p = one(&rule(
            "alert: A\n        expr: up\n        labels: {a: x, a: y}",
        ));
        assert!(p.message.contains("already defined"), "{}", p.message);
    }

    #[test]
    fn each_semantic_defect_has_its_code() {
        let cases: Vec<(String, Code)> = vec![
            (
                rule("record: a\n        alert: A\n        expr: up"),
                Code::RecordAndAlert,
            ),
            (rule("expr: up"), Code::NoRecordOrAlert),
            (rule("alert: A"), Code::MissingExpr),
            (rule("alert: A\n        expr: sum(up"), Code::InvalidExpr),
            (
                rule("alert: A\n        expr: up\n        for: 5"),
                Code::InvalidDuration,
            ),
            (
                rule("alert: A\n        expr: up\n        keep_firing_for: 1m1h"),
                Code::InvalidDuration,
            ),
            (
                rule("record: a\n        expr: up\n        for: 1m"),
                Code::FieldNotAllowed,
            ),
            (
                rule("record: a\n        expr: up\n        keep_firing_for: 1m"),
                Code::FieldNotAllowed,
            ),
            (
                rule("record: a\n        expr: up\n        annotations: {a: b}"),
                Code::FieldNotAllowed,
            ),
            (
                rule("record: 'a{b=\"c\"}'\n        expr: up"),
                Code::InvalidRecordName,
            ),
            (
                rule("alert: A\n        expr: up\n        labels: {__name__: x}"),
                Code::InvalidLabelName,
            ),
            (
                rule("alert: A\n        expr: up\n        labels: {'': x}"),
                Code::InvalidLabelName,
            ),
            (
                rule("alert: A\n        expr: up\n        annotations: {'': x}"),
                Code::InvalidAnnotationName,
            ),
            (
                "groups:\n  - name: ''\n    rules: []\n".into(),
                Code::EmptyGroupName,
            ),
            (
                "groups:\n  - name: g\n  - name: g\n".into(),
                Code::DuplicateGroup,
            ),
            (
                "groups:\n  - name: g\n    interval: 1x\n".into(),
                Code::InvalidDuration,
            ),
            (
                "groups:\n  - name: g\n    query_offset: '-1m'\n".into(),
                Code::InvalidDuration,
            ),
            (
                "groups:\n  - name: g\n    labels: {__name__: x}\n".into(),
                Code::InvalidLabelName,
            ),
        ];
        for (src, code) in cases {
            let p = one(&src);
            assert_eq!(p.code, code, "{src}\n{p}");
            assert!(p.pos.is_some(), "no position for {src}");
        }
    }

    #[test]
    fn accepts_what_promtool_accepts() {
        // `for: 0` on a recording rule is "not set" for Prometheus; UTF-8
        // label, annotation and metric names are valid in Prometheus 3;
        // label templates of recording rules are not parsed.
        for body in [
            "record: a\n        expr: up\n        for: 0",
            "record: foo-bar:x\n        expr: up\n        labels: {'foo-bar': '{{ bad'}",
            "alert: A\n        expr: up\n        annotations: {'a b': x}",
            "alert: A\n        expr: '1'\n        labels: {a: null, b: 1.0, c: true}",
        ] {
            parse_rule_file("r.yaml", &rule(body)).unwrap_or_else(|e| panic!("{body}: {e:?}"));
        }
    }

    #[test]
    fn experimental_functions_need_the_feature() {
        let src = rule("record: a\n        expr: sort_by_label(up, 'job')");
        let p = one(&src);
        assert_eq!(p.code, Code::InvalidExpr);
        assert!(
            p.message
                .ends_with(r#"function "sort_by_label" is not enabled"#),
            "{}",
            p.message
        );
        let on = ValidateOptions {
            experimental_functions: true,
        };
        assert!(parse_rule_file_with("r.yaml", &src, &on).is_ok());
        assert_eq!(
            one(&rule("record: a\n        expr: limitk(1, up)")).code,
            Code::InvalidExpr
        );
    }

    #[test]
    fn reports_every_problem() {
        let src = "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: sum(\n      - record: b\n        expr: up\n        for: 1m\n  - name: g\n    rules: []\n";
        let codes: Vec<Code> = problems(src).into_iter().map(|p| p.code).collect();
        // In file order.
        assert_eq!(
            codes,
            vec![
                Code::InvalidExpr,
                Code::FieldNotAllowed,
                Code::DuplicateGroup
            ]
        );
    }

    #[test]
    fn problem_prints_file_line_col_and_code() {
        let p = one(&rule("alert: A\n        expr: sum(up"));
        assert_eq!(p.pos, Some(Pos { line: 5, col: 15 }));
        assert!(p.to_string().starts_with("r.yaml:5:15: rules/invalid-expr: group \"g\", rule 1 \"A\": could not parse expression:"), "{p}");
    }
}
