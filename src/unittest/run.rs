//! Runs one unit-test file the way `promtool test rules` 3.5 does
//! (prometheus/prometheus: cmd/promtool/unittest.go, `testGroup.test`):
//! evaluation from time 0 at every `evaluation_interval` up to the largest
//! `eval_time`, input samples appended up to each step just before it,
//! alert checks against the step at or before their time, expression
//! checks after the last step.

use super::check::{validate, AlertTest, ExprTest, Pairs, TestFile, TestGroup};
use super::file::parse_file;
use super::format::{float_e, go_duration, go_quote, indent_lines, labels_string, model_duration};
use super::histogram::HistogramSeries;
use super::UnitTestError;
use crate::alerting::AlertState;
use crate::datasource::{Appender, EmbeddedQuerier, Querier};
use crate::model::{Labels, MemStore};
use crate::promql::{Engine, EngineOptions, QueryValue};
use crate::promqltest::{parse_label_set, SequenceValue};
use crate::rules::{
    eval_group, parse_rule_file_with, EvalContext, Group, GroupState, Problem, Rule, RuleFile,
    ValidateOptions,
};
use regex::Regex;
use std::path::{Path, PathBuf};

/// How to run test files (the flags of `alertgate test`).
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Only test groups whose name matches (unanchored); None runs all.
    pub run: Option<Regex>,
    /// Drop unknown keys of the rule files the tests load.
    pub ignore_unknown_fields: bool,
    pub experimental_functions: bool,
    pub delayed_name_removal: bool,
}

/// The result of one test file.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Success,
    /// Failed checks or evaluation errors, each a promtool-shaped block.
    Failed(Vec<String>),
}

/// What running one file printed and decided.
#[derive(Debug, Clone)]
pub struct FileReport {
    pub outcome: Outcome,
    /// Rule-file patterns that matched nothing (promtool only warns).
    pub warnings: Vec<String>,
    /// Every test group of the file in order, for per-test reports.
    pub groups: Vec<GroupReport>,
}

/// The result of one test group (`tests:` entry).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupReport {
    /// The group's `name` (may be empty).
    pub name: String,
    /// Not selected by `--run`.
    pub skipped: bool,
    /// Failed checks, each a promtool-shaped block; empty when it passed.
    pub failures: Vec<String>,
}

/// Runs every selected test group of the file at `path`. `Err` is bad
/// input: the test file or a rule file it names cannot be read or loaded.
pub fn run_file(path: &Path, opts: &RunOptions) -> Result<FileReport, UnitTestError> {
    let name = path.display().to_string();
    let src = std::fs::read_to_string(path).map_err(|e| UnitTestError::Read {
        file: name.clone(),
        msg: e.to_string(),
    })?;
    let raw = parse_file(&src).map_err(|msg| UnitTestError::Yaml {
        file: name.clone(),
        msg,
    })?;
    let tf = validate(&name, &src, raw).map_err(|problems| UnitTestError::Invalid { problems })?;
    let base = path.parent().unwrap_or(Path::new(""));
    let (rule_paths, warnings) = resolve_rule_files(base, &tf.rule_files)?;
    let vopts = ValidateOptions {
        experimental_functions: opts.experimental_functions,
    };
    let mut files = Vec::new();
    for p in &rule_paths {
        files.push(load_rule_file(p, &vopts, opts.ignore_unknown_fields)?);
    }
    let groups = ordered_groups(&files, &tf.group_eval_order);
    let mut errs = Vec::new();
    let mut reports = Vec::new();
    for g in &tf.groups {
        if let Some(re) = &opts.run {
            if !re.is_match(&g.name) {
                reports.push(GroupReport {
                    name: g.name.clone(),
                    skipped: true,
                    failures: Vec::new(),
                });
                continue;
            }
        }
        let failures = run_group(&tf, g, &groups, opts);
        errs.extend(failures.iter().cloned());
        reports.push(GroupReport {
            name: g.name.clone(),
            skipped: false,
            failures,
        });
    }
    let outcome = if errs.is_empty() {
        Outcome::Success
    } else {
        Outcome::Failed(errs)
    };
    Ok(FileReport {
        outcome,
        warnings,
        groups: reports,
    })
}

/// Joins relative patterns to the test file's folder and expands globs.
fn resolve_rule_files(
    base: &Path,
    patterns: &[String],
) -> Result<(Vec<PathBuf>, Vec<String>), UnitTestError> {
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    for p in patterns {
        let full = if p.is_empty() || Path::new(p).is_absolute() {
            PathBuf::from(p)
        } else {
            base.join(p)
        };
        let pat = full.to_string_lossy().into_owned();
        let matches = glob::glob(&pat).map_err(|e| UnitTestError::Read {
            file: pat.clone(),
            msg: format!("invalid glob pattern: {e}"),
        })?;
        let mut found: Vec<PathBuf> = matches.filter_map(Result::ok).collect();
        found.sort();
        if found.is_empty() {
            warnings.push(format!("no file match pattern {pat}"));
        }
        out.extend(found);
    }
    Ok((out, warnings))
}

fn load_rule_file(
    path: &Path,
    vopts: &ValidateOptions,
    ignore_unknown: bool,
) -> Result<RuleFile, UnitTestError> {
    let name = path.display().to_string();
    let src = std::fs::read_to_string(path).map_err(|e| UnitTestError::Read {
        file: name.clone(),
        msg: e.to_string(),
    })?;
    let problems = match parse_rule_file_with(&name, &src, vopts) {
        Ok(f) => return Ok(f),
        Err(p) => p,
    };
    if ignore_unknown && problems.iter().any(is_unknown_field) {
        if let Some(stripped) = strip_unknown_fields(&src) {
            return parse_rule_file_with(&name, &stripped, vopts).map_err(rule_error);
        }
    }
    Err(rule_error(problems))
}

fn is_unknown_field(p: &Problem) -> bool {
    p.code == crate::rules::Code::UnknownField
}

fn rule_error(problems: Vec<Problem>) -> UnitTestError {
    UnitTestError::Rules {
        problems: problems.iter().map(|p| p.to_string()).collect(),
    }
}

/// The rule file with every key a rule file does not define removed
/// (`--ignore-unknown-fields`). None when the text is not YAML.
fn strip_unknown_fields(src: &str) -> Option<String> {
    use yaml_serde::Value;
    const GROUP: [&str; 6] = [
        "name",
        "interval",
        "query_offset",
        "limit",
        "rules",
        "labels",
    ];
    const RULE: [&str; 7] = [
        "record",
        "alert",
        "expr",
        "for",
        "keep_firing_for",
        "labels",
        "annotations",
    ];
    fn keep(v: &mut Value, allowed: &[&str]) {
        if let Value::Mapping(m) = v {
            m.retain(|k, _| k.as_str().is_some_and(|k| allowed.contains(&k)));
        }
    }
    let mut doc: Value = yaml_serde::from_str(src).ok()?;
    keep(&mut doc, &["groups"]);
    if let Some(Value::Sequence(groups)) = doc.get_mut("groups") {
        for g in groups {
            keep(g, &GROUP);
            if let Some(Value::Sequence(rules)) = g.get_mut("rules") {
                for r in rules {
                    keep(r, &RULE);
                }
            }
        }
    }
    yaml_serde::to_string(&doc).ok()
}

/// Groups listed in `group_eval_order` first, in that order; the others
/// after them, in file order.
fn ordered_groups<'a>(files: &'a [RuleFile], order: &[String]) -> Vec<&'a Group> {
    let all: Vec<&Group> = files.iter().flat_map(|f| &f.groups).collect();
    let rank = |g: &Group| {
        order
            .iter()
            .position(|n| n == &g.name)
            .unwrap_or(order.len())
    };
    let mut v = all;
    v.sort_by_key(|g| rank(g));
    v
}

/// One input float series: labels, samples, index of the next to append.
type FloatInput = (Labels, Vec<(i64, f64)>, usize);

/// Input samples appended step by step, as promtool's lazy loader does.
struct Inputs {
    /// Float samples per series, with the index of the next one to append.
    floats: Vec<FloatInput>,
    hist: HistogramSeries,
}

impl Inputs {
    fn new(g: &TestGroup) -> Inputs {
        let mut floats = Vec::new();
        let mut hist = HistogramSeries::default();
        for s in &g.series {
            let mut f = Vec::new();
            for (n, v) in s.values.iter().enumerate() {
                let t = n as i64 * g.interval_ms;
                match v {
                    SequenceValue::Omitted => {}
                    SequenceValue::Float(x) => f.push((t, *x)),
                    SequenceValue::Histogram(h) => hist.push(&s.labels, t, (**h).clone()),
                }
            }
            if !f.is_empty() {
                floats.push((s.labels.clone(), f, 0));
            }
        }
        Inputs { floats, hist }
    }

    fn append_till(&mut self, ds: &EmbeddedQuerier, ts: i64) {
        for (labels, samples, next) in &mut self.floats {
            while *next < samples.len() && samples[*next].0 <= ts {
                let (t, v) = samples[*next];
                let _ = ds.append(labels, t, v);
                *next += 1;
            }
        }
        self.hist.load_till(ts);
    }
}

fn run_group(tf: &TestFile, g: &TestGroup, groups: &[&Group], opts: &RunOptions) -> Vec<String> {
    let interval = tf.eval_interval_ms;
    let engine = Engine::new(EngineOptions {
        lookback_delta_ms: 5 * 60_000,
        default_subquery_step_ms: interval,
        max_samples: 10_000,
        experimental_functions: opts.experimental_functions,
        delayed_name_removal: opts.delayed_name_removal,
    });
    let ds = EmbeddedQuerier::new(MemStore::new(), engine);
    let mut inputs = Inputs::new(g);
    let ctx = EvalContext {
        querier: &ds,
        appender: &ds,
        external_labels: g.external_labels.clone(),
        external_url: g.external_url.clone(),
    };
    let mut states = vec![GroupState::default(); groups.len()];
    let mut alert_times: Vec<i64> = g.alert_tests.iter().map(|a| a.eval_ms).collect();
    alert_times.sort();
    alert_times.dedup();
    let mut curr = 0;
    let maxt = g.max_eval_time();
    let mut errs = Vec::new();
    let mut ts = 0i64;
    while ts <= maxt {
        inputs.append_till(&ds, ts);
        let mut eval_errs = Vec::new();
        for (gi, grp) in groups.iter().enumerate() {
            let out = eval_group(grp, &mut states[gi], &ctx, ts);
            for e in out.errors {
                eval_errs.push(format!(
                    "    rule: {}, time: {}, err: {}",
                    e.rule,
                    go_duration(ts),
                    e.message
                ));
            }
        }
        if !eval_errs.is_empty() {
            errs.extend(eval_errs);
            return errs;
        }
        while curr < alert_times.len()
            && ts <= alert_times[curr]
            && alert_times[curr] < ts + interval
        {
            let t = alert_times[curr];
            for at in g.alert_tests.iter().filter(|a| a.eval_ms == t) {
                if let Some(e) = check_alerts(g, at, groups, &states) {
                    errs.push(e);
                }
            }
            curr += 1;
        }
        ts = match ts.checked_add(interval) {
            Some(t) => t,
            None => break,
        };
    }
    for et in &g.expr_tests {
        if let Some(e) = check_expr(tf, et, &ds, &inputs.hist) {
            errs.push(e);
        }
    }
    errs
}

/// Firing alerts of every alerting rule named `at.alertname`, compared with
/// the expectation; pending alerts are invisible, as in promtool.
fn check_alerts(
    g: &TestGroup,
    at: &AlertTest,
    groups: &[&Group],
    states: &[GroupState],
) -> Option<String> {
    let mut got: Vec<(Pairs, Pairs)> = Vec::new();
    for (gi, grp) in groups.iter().enumerate() {
        for (ri, r) in grp.rules.iter().enumerate() {
            let Rule::Alerting(a) = r else { continue };
            if a.name != at.alertname {
                continue;
            }
            let Some(rs) = states[gi].rules.get(ri) else {
                continue;
            };
            for al in rs.alerts.alerts.values() {
                if al.state != AlertState::Firing {
                    continue;
                }
                let labels = al
                    .labels
                    .iter()
                    .map(|l| (l.name.clone(), l.value.clone()))
                    .collect();
                let ann = al
                    .annotations
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                got.push((labels, ann));
            }
        }
    }
    let mut exp = at.exp.clone();
    got.sort();
    exp.sort();
    if got == exp {
        return None;
    }
    let name = if g.name.is_empty() {
        String::new()
    } else {
        format!("    name: {},\n", g.name)
    };
    Some(format!(
        "{name}    alertname: {}, time: {}, \n        exp:{}, \n        got:{}",
        at.alertname,
        model_duration(at.eval_ms),
        indent_lines(&alerts_string(&exp), "            "),
        indent_lines(&alerts_string(&got), "            ")
    ))
}

fn pairs_string(p: &Pairs) -> String {
    labels_string(p.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// promtool's `labelsAndAnnotations.String`.
fn alerts_string(v: &[(Pairs, Pairs)]) -> String {
    if v.is_empty() {
        return "[]".into();
    }
    let one = |(l, a): &(Pairs, Pairs)| {
        indent_lines(
            &format!(
                "\nLabels:{}\nAnnotations:{}",
                pairs_string(l),
                pairs_string(a)
            ),
            "  ",
        )
    };
    let mut s = format!("[\n0:{}", one(&v[0]));
    for (i, x) in v[1..].iter().enumerate() {
        s.push_str(&format!(",\n{}:{}", i + 1, one(x)));
    }
    s.push_str("\n]");
    s
}

/// A sample as promtool compares it: labels, value, histogram text.
#[derive(Debug, Clone, PartialEq)]
struct Parsed {
    labels: Pairs,
    value: f64,
    histogram: String,
}

impl Parsed {
    fn text(&self) -> String {
        if self.histogram.is_empty() {
            format!("{} {}", pairs_string(&self.labels), float_e(self.value))
        } else {
            format!("{} {}", pairs_string(&self.labels), self.histogram)
        }
    }
}

fn samples_string(v: &[Parsed]) -> String {
    if v.is_empty() {
        return "nil".into();
    }
    v.iter().map(Parsed::text).collect::<Vec<_>>().join(", ")
}

fn labels_pairs(l: &Labels) -> Pairs {
    l.iter()
        .map(|l| (l.name.clone(), l.value.clone()))
        .collect()
}

fn floats_equal(a: f64, b: f64, fuzzy: bool) -> bool {
    a == b
        || (fuzzy && (next_toward(a, f64::NEG_INFINITY) == b || next_toward(a, f64::INFINITY) == b))
}

/// Go's `math.Nextafter(x, toward)` for infinite `toward`.
fn next_toward(x: f64, toward: f64) -> f64 {
    if x.is_nan() || x == toward {
        return x;
    }
    if x == 0.0 {
        let tiny = f64::from_bits(1);
        return if toward > 0.0 { tiny } else { -tiny };
    }
    let bits = x.to_bits();
    let up = (toward > x) == (x > 0.0);
    f64::from_bits(if up { bits + 1 } else { bits - 1 })
}

fn check_expr(
    tf: &TestFile,
    et: &ExprTest,
    ds: &EmbeddedQuerier,
    hist: &HistogramSeries,
) -> Option<String> {
    let head = format!(
        "    expr: {}, time: {}",
        go_quote(&et.expr),
        model_duration(et.eval_ms)
    );
    let got = match query(&et.expr, ds, hist, et.eval_ms) {
        Ok(v) => v,
        Err(e) => return Some(format!("{head}, err: {e}")),
    };
    let mut exp = Vec::new();
    for s in &et.exp {
        let parsed = parse_metric(&s.labels).and_then(|labels| {
            let histogram = match &s.histogram {
                None => String::new(),
                Some(h) => super::histogram::normalize(h)?,
            };
            Ok(Parsed {
                labels,
                value: s.value,
                histogram,
            })
        });
        match parsed {
            Ok(p) => exp.push(p),
            Err(e) => return Some(format!("{head}, err: labels {}: {e}", go_quote(&s.labels))),
        }
    }
    let mut got = got;
    exp.sort_by(|a, b| a.labels.cmp(&b.labels));
    got.sort_by(|a, b| a.labels.cmp(&b.labels));
    let equal = exp.len() == got.len()
        && exp.iter().zip(&got).all(|(e, g)| {
            e.labels == g.labels
                && e.histogram == g.histogram
                && floats_equal(e.value, g.value, tf.fuzzy_compare)
        });
    if equal {
        return None;
    }
    Some(format!(
        "{head},\n        exp: {}\n        got: {}",
        samples_string(&exp),
        samples_string(&got)
    ))
}

/// Go's `parser.ParseMetric`: `name`, `name{...}` or `{...}`; empty is `{}`.
fn parse_metric(s: &str) -> Result<Pairs, String> {
    if s.trim().is_empty() {
        return Ok(Vec::new());
    }
    let (labels, rest) = parse_label_set(s).map_err(|e| e.to_string())?;
    if !rest.trim().is_empty() {
        return Err(format!("unexpected {:?} after the label set", rest.trim()));
    }
    Ok(labels_pairs(&labels))
}

/// An instant query as promtool's `query`: a vector, or a scalar as one
/// sample without labels.
fn query(
    expr: &str,
    ds: &EmbeddedQuerier,
    hist: &HistogramSeries,
    t: i64,
) -> Result<Vec<Parsed>, String> {
    let parsed = crate::promql::parse(expr)?;
    if let Some(samples) = hist.answer(&parsed, t) {
        return Ok(samples
            .into_iter()
            .map(|(labels, h)| Parsed {
                labels: labels_pairs(&labels),
                value: 0.0,
                histogram: h,
            })
            .collect());
    }
    let out = ds.instant(&parsed, expr, t).map_err(|e| e.to_string())?;
    match out.value {
        QueryValue::Vector(v) => Ok(v
            .into_iter()
            .map(|(l, value)| Parsed {
                labels: labels_pairs(&l),
                value,
                histogram: String::new(),
            })
            .collect()),
        QueryValue::Scalar { v, .. } => Ok(vec![Parsed {
            labels: Vec::new(),
            value: v,
            histogram: String::new(),
        }]),
        _ => Err("rule result is not a vector or scalar".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_toward_steps_one_ulp() {
        let x = 3.0f64;
        assert_eq!(next_toward(x, f64::INFINITY), 3.0000000000000004);
        assert_eq!(next_toward(x, f64::NEG_INFINITY), 2.9999999999999996);
        assert!(floats_equal(3.0, 3.0000000000000004, true));
        assert!(!floats_equal(3.0, 3.0000000000000004, false));
        assert!(!floats_equal(3.0, 3.0000000000000013, true));
        assert!(!floats_equal(f64::NAN, f64::NAN, true));
    }

    #[test]
    fn alerts_print_like_promtool() {
        let l = vec![("alertname".to_string(), "Test".to_string())];
        let s = indent_lines(&alerts_string(&[(l, vec![])]), "            ");
        assert_eq!(
            s,
            "[\n            0:\n              Labels:{alertname=\"Test\"}\n              Annotations:{}\n            ]"
        );
    }

    #[test]
    fn metrics_parse_like_go() {
        assert_eq!(parse_metric("").unwrap(), vec![]);
        assert_eq!(
            parse_metric("a{b=\"c\"}").unwrap(),
            vec![
                ("__name__".to_string(), "a".to_string()),
                ("b".to_string(), "c".to_string())
            ]
        );
        assert!(parse_metric("a{b=\"c\"} x").is_err());
    }
}
