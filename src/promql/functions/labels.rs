//! Label manipulation (`label_replace`, `label_join`) and `absent`.

use super::{out, FnCtx};
use crate::model::{Labels, METRIC_NAME};
use crate::promql::value::{EvalError, VSample};
use promql_parser::label::MatchOp;
use promql_parser::parser::Expr;
use regex::Regex;
use std::cell::RefCell;
use std::collections::HashMap;

/// Compiled `label_replace` regexes: a range query calls the function once
/// per step with the same pattern.
const REGEX_CACHE_MAX: usize = 64;

thread_local! {
    static REGEX_CACHE: RefCell<HashMap<String, Regex>> = RefCell::new(HashMap::new());
}

fn anchored_regex(pattern: &str) -> Result<Regex, regex::Error> {
    REGEX_CACHE.with(|c| {
        if let Some(r) = c.borrow().get(pattern) {
            return Ok(r.clone());
        }
        // Fully anchored, `.` matching newlines, as Prometheus compiles it.
        let r = Regex::new(&format!("^(?s:{pattern})$"))?;
        let mut c = c.borrow_mut();
        if c.len() >= REGEX_CACHE_MAX {
            c.clear();
        }
        c.insert(pattern.to_string(), r.clone());
        Ok(r)
    })
}

/// Prometheus 3 validates label names as UTF-8 (which a Rust string
/// already is), so only the empty name is invalid.
fn valid_label_name(name: &str) -> bool {
    !name.is_empty()
}

/// The error Prometheus raises when relabelling merges two series.
fn check_unique(v: &[VSample]) -> Result<(), EvalError> {
    let mut seen = std::collections::HashSet::with_capacity(v.len());
    for s in v {
        if !seen.insert(&s.labels) {
            return Err(EvalError::Execution(
                "vector cannot contain metrics with the same labelset".into(),
            ));
        }
    }
    Ok(())
}

/// Sets `dst` on a sample; writing `__name__` makes the name a kept one.
fn set_label(s: &mut VSample, dst: &str, value: &str) {
    s.labels.set(dst, value);
    if dst == METRIC_NAME {
        s.drop_name = false;
    }
}

pub(super) fn label_replace(
    mut v: Vec<VSample>,
    dst: &str,
    repl: &str,
    src: &str,
    pattern: &str,
    ctx: &FnCtx<'_>,
) -> Result<Vec<VSample>, EvalError> {
    let re = anchored_regex(pattern).map_err(|_| {
        EvalError::Execution(format!(
            "invalid regular expression in label_replace(): {pattern}"
        ))
    })?;
    if !valid_label_name(dst) {
        return Err(EvalError::Execution(format!(
            "invalid destination label name in label_replace(): {dst}"
        )));
    }
    let mut buf = String::new();
    for s in &mut v {
        s.t = ctx.t;
        let src_val = s.labels.get_or_empty(src);
        if let Some(caps) = re.captures(src_val) {
            buf.clear();
            caps.expand(repl, &mut buf);
            set_label(s, dst, &buf);
        }
    }
    check_unique(&v)?;
    Ok(v)
}

pub(super) fn label_join(
    mut v: Vec<VSample>,
    dst: &str,
    sep: &str,
    srcs: &[String],
    ctx: &FnCtx<'_>,
) -> Result<Vec<VSample>, EvalError> {
    if let Some(bad) = srcs.iter().find(|s| !valid_label_name(s)) {
        return Err(EvalError::Execution(format!(
            "invalid source label name in label_join(): {bad}"
        )));
    }
    if !valid_label_name(dst) {
        return Err(EvalError::Execution(format!(
            "invalid destination label name in label_join(): {dst}"
        )));
    }
    let mut buf = String::new();
    for s in &mut v {
        s.t = ctx.t;
        buf.clear();
        for (i, src) in srcs.iter().enumerate() {
            if i > 0 {
                buf.push_str(sep);
            }
            buf.push_str(s.labels.get_or_empty(src));
        }
        set_label(s, dst, &buf);
    }
    check_unique(&v)?;
    Ok(v)
}

/// 1 with the labels of the argument's equality matchers when the argument
/// is empty; nothing otherwise.
pub(super) fn absent(v: &[VSample], ctx: &FnCtx<'_>) -> Vec<VSample> {
    if !v.is_empty() {
        return Vec::new();
    }
    let labels = ctx
        .arg_exprs
        .first()
        .map(|e| absent_labels(e))
        .unwrap_or_default();
    vec![out(labels, 1.0, ctx, false)]
}

/// The labels `absent(expr)` reports: those fixed by exactly one equality
/// matcher of a (parenthesised) selector. A label matched more than once or
/// by any other matcher is left out (Prometheus's historic behaviour).
pub(super) fn absent_labels(expr: &Expr) -> Labels {
    let mut e = expr;
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    let matchers = match e {
        Expr::VectorSelector(vs) => &vs.matchers.matchers,
        Expr::MatrixSelector(ms) => &ms.vs.matchers.matchers,
        _ => return Labels::new(),
    };
    let mut labels = Labels::new();
    let mut has: Vec<&str> = Vec::new();
    for m in matchers {
        if m.name == METRIC_NAME {
            continue;
        }
        if matches!(m.op, MatchOp::Equal) && !has.contains(&m.name.as_str()) {
            labels.set(m.name.as_str(), m.value.as_str());
            has.push(&m.name);
        } else {
            labels.remove(&m.name);
        }
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::{call, FnCtx};
    use crate::promql::value::{Annotations, EvalError, VSample, Value};

    fn testmetric() -> Value {
        // functions.test "Tests for label_replace".
        Value::Vector(vec![
            vsample(
                &[
                    ("__name__", "testmetric"),
                    ("src", "source-value-10"),
                    ("dst", "original-destination-value"),
                ],
                0.0,
            ),
            vsample(
                &[
                    ("__name__", "testmetric"),
                    ("src", "source-value-20"),
                    ("dst", "original-destination-value"),
                ],
                1.0,
            ),
        ])
    }

    fn s(x: &str) -> Value {
        Value::String(x.into())
    }

    fn replace(dst: &str, repl: &str, src: &str, re: &str) -> Result<Value, EvalError> {
        run(
            "label_replace",
            vec![testmetric(), s(dst), s(repl), s(src), s(re)],
            0,
        )
        .0
    }

    #[test]
    fn label_replace_cases_from_functions_test() {
        let got = vec_of(replace(
            "dst",
            "destination-value-$1",
            "src",
            "source-value-(.*)",
        ));
        assert_eq!(
            got[0].0,
            r#"testmetric{dst="destination-value-10", src="source-value-10"}"#
        );
        // Partial matches do not count: the regex is anchored.
        let got = vec_of(replace("dst", "destination-value-$1", "src", "value-(.*)"));
        assert_eq!(
            got[0].0,
            r#"testmetric{dst="original-destination-value", src="source-value-10"}"#
        );
        let got = vec_of(replace("dst", "$1-value-$2", "src", "(.*)-value-(.*)"));
        assert_eq!(
            got[1].0,
            r#"testmetric{dst="source-value-20", src="source-value-20"}"#
        );
        // A missing source label is "" and can match.
        let got = vec_of(replace("dst", "value-$1", "nonexistent-src", "(.*)"));
        assert_eq!(
            got[0].0,
            r#"testmetric{dst="value-", src="source-value-10"}"#
        );
        // Setting an empty value drops the label.
        let got = vec_of(replace("dst", "", "dst", ".*"));
        assert_eq!(got[0].0, r#"testmetric{src="source-value-10"}"#);
    }

    #[test]
    fn label_replace_errors() {
        assert_eq!(
            replace("dst", "value-$1", "src", "(.*"),
            Err(EvalError::Execution(
                "invalid regular expression in label_replace(): (.*".into()
            ))
        );
        assert_eq!(
            replace("src", "", "", ""),
            Err(EvalError::Execution(
                "vector cannot contain metrics with the same labelset".into()
            ))
        );
        assert!(replace("", "", "src", "(.*)").is_err());
    }

    #[test]
    fn label_replace_of_name_keeps_it() {
        let v = Value::Vector(vec![VSample {
            drop_name: true,
            ..vsample(&[("__name__", "m")], 1.0)
        }]);
        let r = run(
            "label_replace",
            vec![
                v.clone(),
                s("__name__"),
                s("rate_$1"),
                s("__name__"),
                s("(.+)"),
            ],
            0,
        )
        .0;
        match r.unwrap() {
            Value::Vector(v) => {
                assert_eq!(v[0].labels.to_string(), "rate_m");
                assert!(!v[0].drop_name);
            }
            _ => panic!(),
        }
        let r = run(
            "label_replace",
            vec![v, s("x"), s("$1"), s("__name__"), s("(.+)")],
            0,
        )
        .0;
        match r.unwrap() {
            Value::Vector(v) => assert!(v[0].drop_name, "other labels keep the mark"),
            _ => panic!(),
        }
    }

    #[test]
    fn label_join_cases() {
        let v = Value::Vector(vec![vsample(
            &[("src", "a"), ("src1", "b"), ("src2", "c")],
            0.0,
        )]);
        let got = vec_of(
            run(
                "label_join",
                vec![v.clone(), s("dst"), s("-"), s("src"), s("src3"), s("src1")],
                0,
            )
            .0,
        );
        assert_eq!(got[0].0, r#"{dst="a--b", src="a", src1="b", src2="c"}"#);
        let got = vec_of(run("label_join", vec![v, s("dst"), s(", ")], 0).0);
        assert_eq!(got[0].0, r#"{src="a", src1="b", src2="c"}"#);
        let dup = Value::Vector(vec![
            vsample(&[("__name__", "dup"), ("label", "a"), ("this", "a")], 1.0),
            vsample(&[("__name__", "dup"), ("label", "b"), ("this", "a")], 1.0),
        ]);
        assert_eq!(
            run("label_join", vec![dup, s("label"), s(""), s("this")], 0).0,
            Err(EvalError::Execution(
                "vector cannot contain metrics with the same labelset".into()
            ))
        );
    }

    fn absent_of(expr: &str, v: Vec<VSample>) -> Vec<(String, f64)> {
        let e = promql_parser::parser::parse(&format!("absent({expr})")).unwrap();
        let args = match e {
            promql_parser::parser::Expr::Call(c) => c.args.args,
            _ => panic!(),
        };
        let mut ann = Annotations::default();
        let mut ctx = FnCtx {
            t: 0,
            arg_exprs: &args,
            annotations: &mut ann,
        };
        vec_of(call("absent", vec![Value::Vector(v)], &mut ctx))
    }

    #[test]
    fn absent_labels_from_matchers() {
        // functions.test "Tests for absent()".
        assert_eq!(
            absent_of(
                r#"nonexistent{job="testjob", instance="testinstance", method=~".x"}"#,
                vec![]
            ),
            vec![(
                r#"{instance="testinstance", job="testjob"}"#.to_string(),
                1.0
            )]
        );
        assert_eq!(
            absent_of(
                r#"nonexistent{job="testjob",job="testjob2",foo="bar"}"#,
                vec![]
            ),
            vec![(r#"{foo="bar"}"#.to_string(), 1.0)]
        );
        assert_eq!(
            absent_of(r#"(nonexistent{job="a"})"#, vec![]),
            vec![(r#"{job="a"}"#.to_string(), 1.0)]
        );
        assert_eq!(
            absent_of(r#"sum(nonexistent{job="a"})"#, vec![]),
            vec![("{}".to_string(), 1.0)]
        );
        assert!(absent_of("x", vec![vsample(&[], 1.0)]).is_empty());
    }
}
