//! Validates a decoded unit-test file into what the runner needs: durations
//! in ms, input series parsed with the shared test-notation parser, expected
//! labels sorted. Every defect is reported, with `file:line:col` when known.

use super::file::{parse_yaml_float, Scalar, UnitTestFile};
use crate::model::Labels;
use crate::promqltest::{parse_duration, parse_script, Command, SeriesDesc};
use crate::yaml::Positions;
use std::collections::BTreeMap;

/// promtool's default `evaluation_interval`.
pub const DEFAULT_EVAL_INTERVAL_MS: i64 = 60_000;

/// A label or annotation set as promtool compares it: sorted pairs, empty
/// values kept (Go's `labels.FromMap` keeps them).
pub type Pairs = Vec<(String, String)>;

#[derive(Debug, Clone)]
pub struct TestFile {
    /// Rule file patterns as written (relative to the test file).
    pub rule_files: Vec<String>,
    pub eval_interval_ms: i64,
    pub group_eval_order: Vec<String>,
    pub fuzzy_compare: bool,
    pub groups: Vec<TestGroup>,
}

#[derive(Debug, Clone)]
pub struct TestGroup {
    /// Index in the file, for `unnamed#N`.
    pub index: usize,
    /// Empty when the file names none.
    pub name: String,
    /// Spacing of input samples.
    pub interval_ms: i64,
    pub series: Vec<SeriesDesc>,
    pub alert_tests: Vec<AlertTest>,
    pub expr_tests: Vec<ExprTest>,
    pub external_labels: Labels,
    pub external_url: String,
}

impl TestGroup {
    /// The largest `eval_time` of any check (0 without checks).
    pub fn max_eval_time(&self) -> i64 {
        let a = self.alert_tests.iter().map(|t| t.eval_ms);
        let e = self.expr_tests.iter().map(|t| t.eval_ms);
        a.chain(e).max().unwrap_or(0).max(0)
    }
}

#[derive(Debug, Clone)]
pub struct AlertTest {
    pub eval_ms: i64,
    pub alertname: String,
    /// Expected firing alerts, `alertname` already added to the labels.
    pub exp: Vec<(Pairs, Pairs)>,
}

#[derive(Debug, Clone)]
pub struct ExprTest {
    pub expr: String,
    pub eval_ms: i64,
    pub exp: Vec<ExpSample>,
}

#[derive(Debug, Clone)]
pub struct ExpSample {
    /// As written; parsed when the test runs, as promtool does.
    pub labels: String,
    pub value: f64,
    /// The `{{...}}` literal, when given (then `value` is ignored).
    pub histogram: Option<String>,
}

struct Ctx<'a> {
    file: &'a str,
    pos: Positions,
    problems: Vec<String>,
}

impl Ctx<'_> {
    fn report(&mut self, path: &str, msg: impl std::fmt::Display) {
        let at = match self.pos.nearest(path) {
            Some(p) => format!("{}:{}:{}", self.file, p.line, p.col),
            None => self.file.to_string(),
        };
        self.problems.push(format!("{at}: {path}: {msg}"));
    }

    fn duration(&mut self, path: &str, s: &Option<Scalar>, default: i64) -> i64 {
        let Some(s) = s else { return default };
        if s.0.is_empty() {
            return default;
        }
        match parse_duration(&s.0) {
            Ok(ms) => ms,
            Err(e) => {
                self.report(path, e);
                default
            }
        }
    }
}

fn pairs(m: &Option<BTreeMap<String, Scalar>>) -> Pairs {
    m.iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect()
}

/// Validates `raw` (decoded from `src`, named `file` in messages).
pub fn validate(file: &str, src: &str, raw: UnitTestFile) -> Result<TestFile, Vec<String>> {
    let mut cx = Ctx {
        file,
        pos: Positions::index(src),
        problems: Vec::new(),
    };
    let eval_interval_ms = match cx.duration(
        "evaluation_interval",
        &raw.evaluation_interval,
        DEFAULT_EVAL_INTERVAL_MS,
    ) {
        0 => DEFAULT_EVAL_INTERVAL_MS,
        ms => ms,
    };
    let order = raw.group_eval_order.unwrap_or_default();
    for (i, g) in order.iter().enumerate() {
        if order[..i].contains(g) {
            cx.report(
                &format!("group_eval_order.{i}"),
                format!("group name repeated in evaluation order: {g}"),
            );
        }
    }
    let mut groups = Vec::new();
    for (gi, t) in raw.tests.unwrap_or_default().into_iter().enumerate() {
        let gp = format!("tests.{gi}");
        let name = t.name.unwrap_or_default();
        let interval_ms = match cx.duration(&format!("{gp}.interval"), &t.interval, 0) {
            0 => eval_interval_ms,
            ms => ms,
        };
        // One `load` block, as promtool builds it, parsed by the shared
        // test-notation parser.
        let inputs = t.input_series.unwrap_or_default();
        let mut series = Vec::new();
        for (si, s) in inputs.iter().enumerate() {
            let sp = format!("{gp}.input_series.{si}");
            let text = s.series.clone().unwrap_or_default().0;
            let values = s.values.clone().unwrap_or_default().0;
            let script = format!("load {interval_ms}ms\n  {text} {values}\n");
            match parse_script(&script) {
                Ok(sc) => match sc.commands.into_iter().next() {
                    Some(Command::Load(mut l)) if l.series.len() == 1 => {
                        series.push(l.series.remove(0).1)
                    }
                    _ => cx.report(&format!("{sp}.series"), "not a series description"),
                },
                Err(e) => cx.report(&format!("{sp}.series"), e),
            }
        }
        let mut alert_tests = Vec::new();
        for (ai, a) in t
            .alert_rule_test
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            let ap = format!("{gp}.alert_rule_test.{ai}");
            let eval_ms = cx.duration(&format!("{ap}.eval_time"), &a.eval_time, 0);
            let alertname = a.alertname.unwrap_or_default();
            if alertname.is_empty() {
                let in_group = if name.is_empty() {
                    String::new()
                } else {
                    format!(" (in TestGroup {name})")
                };
                cx.report(
                    &ap,
                    format!(
                        "an item under alert_rule_test misses required attribute alertname at eval_time {}{in_group}",
                        super::format::model_duration(eval_ms)
                    ),
                );
            }
            let exp = a
                .exp_alerts
                .unwrap_or_default()
                .iter()
                .map(|e| {
                    let mut l = pairs(&e.exp_labels);
                    l.retain(|(k, _)| k != "alertname");
                    l.push(("alertname".into(), alertname.clone()));
                    l.sort();
                    (l, pairs(&e.exp_annotations))
                })
                .collect();
            alert_tests.push(AlertTest {
                eval_ms,
                alertname,
                exp,
            });
        }
        let mut expr_tests = Vec::new();
        for (ei, e) in t
            .promql_expr_test
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            let ep = format!("{gp}.promql_expr_test.{ei}");
            let eval_ms = cx.duration(&format!("{ep}.eval_time"), &e.eval_time, 0);
            let mut exp = Vec::new();
            for (xi, s) in e.exp_samples.unwrap_or_default().into_iter().enumerate() {
                let raw_v = s.value.unwrap_or_default().0;
                let value = parse_yaml_float(&raw_v).unwrap_or_else(|| {
                    cx.report(
                        &format!("{ep}.exp_samples.{xi}.value"),
                        format!("cannot read {raw_v:?} as a float"),
                    );
                    0.0
                });
                exp.push(ExpSample {
                    labels: s.labels.unwrap_or_default().0,
                    value,
                    histogram: s.histogram.filter(|h| !h.is_empty()),
                });
            }
            expr_tests.push(ExprTest {
                expr: e.expr.unwrap_or_default(),
                eval_ms,
                exp,
            });
        }
        groups.push(TestGroup {
            index: gi,
            name,
            interval_ms,
            series,
            alert_tests,
            expr_tests,
            external_labels: Labels::from_pairs(pairs(&t.external_labels)),
            external_url: t.external_url.unwrap_or_default(),
        });
    }
    if !cx.problems.is_empty() {
        return Err(cx.problems);
    }
    Ok(TestFile {
        rule_files: raw.rule_files.unwrap_or_default(),
        eval_interval_ms,
        group_eval_order: order,
        fuzzy_compare: raw.fuzzy_compare.unwrap_or(false),
        groups,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unittest::file::parse_file;

    fn check(src: &str) -> Result<TestFile, Vec<String>> {
        validate("t.yml", src, parse_file(src).unwrap())
    }

    #[test]
    fn defaults_follow_promtool() {
        let f = check("tests:\n- input_series:\n  - series: up\n    values: 1+1x2\n").unwrap();
        assert_eq!(f.eval_interval_ms, 60_000);
        let g = &f.groups[0];
        assert_eq!(g.interval_ms, 60_000);
        assert_eq!(g.series[0].values.len(), 3);
        assert_eq!(g.max_eval_time(), 0);
    }

    #[test]
    fn bad_series_and_missing_alertname_are_located() {
        let src = "tests:\n  - input_series:\n      - series: 'up{job=\"a\"'\n        values: '0'\n    alert_rule_test:\n      - eval_time: 5m\n        exp_alerts: []\n";
        let p = check(src).unwrap_err();
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].starts_with("t.yml:3:"), "{}", p[0]);
        assert!(
            p[1].ends_with("misses required attribute alertname at eval_time 5m"),
            "{}",
            p[1]
        );
    }

    #[test]
    fn repeated_group_in_eval_order_is_an_error() {
        let p = check("group_eval_order: [a, b, a]\n").unwrap_err();
        assert!(p[0].contains("group name repeated in evaluation order: a"));
    }

    #[test]
    fn alertname_is_added_to_expected_labels() {
        let src = "tests:\n- alert_rule_test:\n  - eval_time: 1m\n    alertname: X\n    exp_alerts:\n    - exp_labels: {b: '2', a: ''}\n";
        let f = check(src).unwrap();
        let (l, a) = &f.groups[0].alert_tests[0].exp[0];
        let names: Vec<&str> = l.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, vec!["a", "alertname", "b"]);
        assert!(a.is_empty());
    }
}
