//! Binary operators: arithmetic, comparisons (filtering and `bool`), set
//! operators, and vector matching with `on`/`ignoring`/`group_left`/`group_right`.
//! Ports `VectorBinop`, `VectorscalarBinop`, `VectorAnd/Or/Unless`,
//! `resultMetric` and `signatureFunc` of Prometheus 3.5 `promql/engine.go`.

use super::engine::Evaluator;
use super::fxhash::{FxHashMap as HashMap, FxHashSet as HashSet};
use super::gofmt::labels_string;
use super::ivalue::{ESample, EValue};
use super::value::EvalError;
use crate::model::{Labels, METRIC_NAME};
use promql_parser::parser::token::{
    TokenId, T_ADD, T_ATAN2, T_DIV, T_EQLC, T_GTE, T_GTR, T_LAND, T_LOR, T_LSS, T_LTE, T_LUNLESS,
    T_MOD, T_MUL, T_NEQ, T_POW, T_SUB,
};
use promql_parser::parser::{BinaryExpr, LabelModifier, VectorMatchCardinality};
use std::borrow::Cow;

/// How the two sides of a vector-vector operation are matched.
struct Matching {
    card: Card,
    /// `on(...)` when true, `ignoring(...)` (or nothing) when false.
    on: bool,
    /// Sorted matching label names.
    names: Vec<String>,
    /// Extra labels of `group_left(...)` / `group_right(...)`.
    include: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Card {
    OneToOne,
    ManyToOne,
    OneToMany,
    ManyToMany,
}

fn matching_of(b: &BinaryExpr) -> Matching {
    let op = b.op.id();
    let set_op = matches!(op, T_LAND | T_LOR | T_LUNLESS);
    let (card, include) = match b.modifier.as_ref().map(|m| &m.card) {
        _ if set_op => (Card::ManyToMany, Vec::new()),
        Some(VectorMatchCardinality::ManyToOne(l)) => (Card::ManyToOne, l.labels.clone()),
        Some(VectorMatchCardinality::OneToMany(l)) => (Card::OneToMany, l.labels.clone()),
        Some(VectorMatchCardinality::ManyToMany) => (Card::ManyToMany, Vec::new()),
        _ => (Card::OneToOne, Vec::new()),
    };
    let (on, mut names) = match b.modifier.as_ref().and_then(|m| m.matching.as_ref()) {
        Some(LabelModifier::Include(l)) => (true, l.labels.clone()),
        Some(LabelModifier::Exclude(l)) => (false, l.labels.clone()),
        None => (false, Vec::new()),
    };
    names.sort();
    names.dedup();
    Matching {
        card,
        on,
        names,
        include,
    }
}

fn is_comparison(op: TokenId) -> bool {
    matches!(op, T_EQLC | T_NEQ | T_GTR | T_LSS | T_GTE | T_LTE)
}

/// Operations whose result is no longer the input metric (drop `__name__`).
fn changes_metric_schema(op: TokenId) -> bool {
    matches!(op, T_ADD | T_SUB | T_MUL | T_DIV | T_POW | T_MOD | T_ATAN2)
}

/// Go's `math.Mod`: result has the sign of the dividend (same as Rust's `%`).
fn go_mod(a: f64, b: f64) -> f64 {
    a % b
}

/// Evaluates a binary expression at `t`.
pub(crate) fn eval_binary<'a>(
    ev: &mut Evaluator<'a>,
    b: &BinaryExpr,
    t: i64,
) -> Result<EValue<'a>, EvalError> {
    let lhs = ev.eval(&b.lhs, t)?;
    let rhs = ev.eval(&b.rhs, t)?;
    let op = b.op.id();
    let return_bool = b.modifier.as_ref().is_some_and(|m| m.return_bool);
    match (lhs, rhs) {
        (EValue::Scalar(l), EValue::Scalar(r)) => Ok(EValue::Scalar(scalar_binop(op, l, r)?)),
        (EValue::Vector(v), EValue::Scalar(s)) => Ok(EValue::Vector(vector_scalar(
            op,
            v,
            s,
            false,
            return_bool,
            t,
        )?)),
        (EValue::Scalar(s), EValue::Vector(v)) => Ok(EValue::Vector(vector_scalar(
            op,
            v,
            s,
            true,
            return_bool,
            t,
        )?)),
        (EValue::Vector(l), EValue::Vector(r)) => {
            let m = matching_of(b);
            let mut out = match op {
                T_LAND => vector_and(l, r, &m),
                T_LOR => vector_or(l, r, &m),
                T_LUNLESS => vector_unless(l, r, &m),
                _ => vector_binop(op, l, r, &m, return_bool, t)?,
            };
            for s in &mut out {
                s.t = t;
            }
            Ok(EValue::Vector(out))
        }
        _ => Err(EvalError::Execution(
            "binary expression must contain only scalar and instant vector types".into(),
        )),
    }
}

/// Result of an operator on two floats: the value and, for comparisons,
/// whether the comparison holds (arithmetic always "keeps").
fn elem_binop(op: TokenId, l: f64, r: f64) -> Result<(f64, bool), EvalError> {
    Ok(match op {
        T_ADD => (l + r, true),
        T_SUB => (l - r, true),
        T_MUL => (l * r, true),
        T_DIV => (l / r, true),
        T_POW => (l.powf(r), true),
        T_MOD => (go_mod(l, r), true),
        T_ATAN2 => (l.atan2(r), true),
        T_EQLC => (l, l == r),
        T_NEQ => (l, l != r),
        T_GTR => (l, l > r),
        T_LSS => (l, l < r),
        T_GTE => (l, l >= r),
        T_LTE => (l, l <= r),
        _ => {
            return Err(EvalError::Execution(format!(
                "operator {op} not allowed for operations between vectors"
            )))
        }
    })
}

fn scalar_binop(op: TokenId, l: f64, r: f64) -> Result<f64, EvalError> {
    let (v, keep) = elem_binop(op, l, r)?;
    Ok(if is_comparison(op) { btos(keep) } else { v })
}

fn btos(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

fn vector_scalar<'a>(
    op: TokenId,
    v: Vec<ESample<'a>>,
    s: f64,
    swap: bool,
    return_bool: bool,
    t: i64,
) -> Result<Vec<ESample<'a>>, EvalError> {
    let cmp = is_comparison(op);
    let mut out = Vec::with_capacity(v.len());
    for mut sample in v {
        let (l, r) = if swap { (s, sample.v) } else { (sample.v, s) };
        let (mut val, mut keep) = elem_binop(op, l, r)?;
        // A comparison always yields the vector element's value, even when
        // the scalar is on the left.
        if cmp && swap {
            val = r;
        }
        if return_bool {
            val = btos(keep);
            keep = true;
        }
        if keep {
            sample.v = val;
            sample.t = t;
            if changes_metric_schema(op) || return_bool {
                sample.drop_name = true;
            }
            out.push(sample);
        }
    }
    Ok(out)
}

/// The matching signature of a label set: the `on` labels, or every label
/// except the `ignoring` ones and `__name__`. Written into `sig` (cleared
/// first) so lookups do not allocate.
fn signature_into(labels: &Labels, m: &Matching, sig: &mut String) {
    sig.clear();
    for l in labels {
        let listed = m.names.binary_search(&l.name).is_ok();
        let take = if m.on {
            listed
        } else {
            !listed && l.name != METRIC_NAME
        };
        if take {
            sig.push_str(&l.name);
            sig.push('\u{ff}');
            sig.push_str(&l.value);
            sig.push('\u{ff}');
        }
    }
}

fn signature(labels: &Labels, m: &Matching) -> String {
    let mut sig = String::new();
    signature_into(labels, m, &mut sig);
    sig
}

/// Signatures of one side, for set operators.
fn signature_set(v: &[ESample<'_>], m: &Matching) -> HashSet<String> {
    v.iter().map(|s| signature(&s.labels, m)).collect()
}

/// Keeps the samples of `l` whose signature is (or is not) in `set`.
fn filter_by_set<'a>(
    l: Vec<ESample<'a>>,
    set: &HashSet<String>,
    m: &Matching,
    keep_if: bool,
) -> Vec<ESample<'a>> {
    let mut buf = String::new();
    l.into_iter()
        .filter(|s| {
            signature_into(&s.labels, m, &mut buf);
            set.contains(buf.as_str()) == keep_if
        })
        .collect()
}

fn vector_and<'a>(l: Vec<ESample<'a>>, r: Vec<ESample<'a>>, m: &Matching) -> Vec<ESample<'a>> {
    if l.is_empty() || r.is_empty() {
        return Vec::new();
    }
    filter_by_set(l, &signature_set(&r, m), m, true)
}

fn vector_or<'a>(mut l: Vec<ESample<'a>>, r: Vec<ESample<'a>>, m: &Matching) -> Vec<ESample<'a>> {
    if l.is_empty() {
        return r;
    }
    if r.is_empty() {
        return l;
    }
    let left = signature_set(&l, m);
    l.extend(filter_by_set(r, &left, m, false));
    l
}

fn vector_unless<'a>(l: Vec<ESample<'a>>, r: Vec<ESample<'a>>, m: &Matching) -> Vec<ESample<'a>> {
    if l.is_empty() || r.is_empty() {
        return l;
    }
    filter_by_set(l, &signature_set(&r, m), m, false)
}

/// Labels `{...}` that a series matches on, for error messages
/// (Prometheus's `Labels.MatchLabels`).
fn match_labels(labels: &Labels, m: &Matching) -> Labels {
    labels
        .iter()
        .filter(|l| {
            let listed = m.names.binary_search(&l.name).is_ok();
            if m.on {
                listed
            } else {
                !listed && l.name != METRIC_NAME
            }
        })
        .cloned()
        .collect()
}

fn result_metric(lhs: &Labels, rhs: &Labels, op: TokenId, m: &Matching) -> Labels {
    let mut out = if changes_metric_schema(op) {
        lhs.without_metric_name()
    } else {
        lhs.clone()
    };
    if m.card == Card::OneToOne {
        out = if m.on {
            out.keep(&m.names)
        } else {
            out.drop_names(&m.names)
        };
    }
    for name in &m.include {
        match rhs.get(name) {
            Some(v) => {
                let v = v.to_string();
                out.set(name.clone(), v);
            }
            None => out.remove(name),
        }
    }
    out
}

fn vector_binop<'a>(
    op: TokenId,
    lhs: Vec<ESample<'a>>,
    rhs: Vec<ESample<'a>>,
    m: &Matching,
    return_bool: bool,
    t: i64,
) -> Result<Vec<ESample<'a>>, EvalError> {
    if lhs.is_empty() || rhs.is_empty() {
        return Ok(Vec::new());
    }
    // For one-to-many, swap sides so the right side is always the "one" side.
    let swapped = m.card == Card::OneToMany;
    let (lhs, rhs) = if swapped { (rhs, lhs) } else { (lhs, rhs) };

    let mut right: HashMap<String, usize> =
        HashMap::with_capacity_and_hasher(rhs.len(), Default::default());
    for (i, rs) in rhs.iter().enumerate() {
        let sig = signature(&rs.labels, m);
        if let Some(&dup) = right.get(&sig) {
            let side = if swapped { "left" } else { "right" };
            return Err(EvalError::Execution(format!(
                "found duplicate series for the match group {} on the {side} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                labels_string(&match_labels(&rs.labels, m)),
                labels_string(&rs.labels),
                labels_string(&rhs[dup].labels),
            )));
        }
        right.insert(sig, i);
    }

    // Right-hand samples already matched (one-to-one), or (right sample,
    // result label hash) pairs already produced (many-to-one); Prometheus
    // also compares result hashes here.
    let mut matched_one: HashSet<usize> = HashSet::default();
    let mut matched_many: HashSet<(usize, u64)> = HashSet::default();
    let mut out = Vec::new();
    let mut sig = String::new();
    for ls in &lhs {
        signature_into(&ls.labels, m, &mut sig);
        let Some(&ri) = right.get(sig.as_str()) else {
            continue;
        };
        let rs = &rhs[ri];
        let (fl, fr) = if swapped { (rs.v, ls.v) } else { (ls.v, rs.v) };
        let (mut val, keep) = elem_binop(op, fl, fr)?;
        if return_bool {
            val = btos(keep);
        } else if !keep {
            continue;
        }
        let metric = result_metric(&ls.labels, &rs.labels, op, m);
        if m.card == Card::OneToOne {
            if !matched_one.insert(ri) {
                return Err(EvalError::Execution(
                    "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"
                        .into(),
                ));
            }
        } else if !matched_many.insert((ri, metric.hash64())) {
            return Err(EvalError::Execution(
                "multiple matches for labels: grouping labels must ensure unique matches".into(),
            ));
        }
        out.push(ESample {
            labels: Cow::Owned(metric),
            t,
            v: val,
            drop_name: return_bool,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vs(pairs: &[(&str, &str)], v: f64) -> ESample<'static> {
        ESample {
            labels: Cow::Owned(Labels::from_pairs(pairs.iter().copied())),
            t: 0,
            v,
            drop_name: false,
        }
    }

    fn ignoring(names: &[&str]) -> Matching {
        Matching {
            card: Card::OneToOne,
            on: false,
            names: names.iter().map(|s| s.to_string()).collect(),
            include: vec![],
        }
    }

    #[test]
    fn arithmetic_drops_name_comparison_keeps_it() {
        let l = vec![vs(&[("__name__", "a"), ("x", "1")], 3.0)];
        let r = vec![vs(&[("__name__", "b"), ("x", "1")], 2.0)];
        let m = ignoring(&[]);
        let sum = vector_binop(T_ADD, l.clone(), r.clone(), &m, false, 0).unwrap();
        assert_eq!(*sum[0].labels, Labels::from_pairs([("x", "1")]));
        assert_eq!(sum[0].v, 5.0);
        let gt = vector_binop(T_GTR, l, r, &m, false, 0).unwrap();
        assert_eq!(gt[0].labels.get("__name__"), Some("a"));
        assert_eq!(gt[0].v, 3.0);
    }

    #[test]
    fn duplicate_right_side_is_an_error() {
        let l = vec![vs(&[("x", "1"), ("y", "a")], 1.0)];
        let r = vec![
            vs(&[("x", "1"), ("y", "a")], 1.0),
            vs(&[("x", "1"), ("y", "b")], 1.0),
        ];
        let m = Matching {
            card: Card::OneToOne,
            on: true,
            names: vec!["x".into()],
            include: vec![],
        };
        let err = vector_binop(T_ADD, l, r, &m, false, 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"found duplicate series for the match group {x="1"} on the right hand-side of the operation: [{x="1", y="b"}, {x="1", y="a"}];many-to-many matching not allowed: matching labels must be unique on one side"#
        );
    }

    #[test]
    fn group_left_copies_include_labels() {
        let l = vec![
            vs(&[("i", "1"), ("j", "x")], 2.0),
            vs(&[("i", "2"), ("j", "x")], 3.0),
        ];
        let r = vec![vs(&[("j", "x"), ("v", "9")], 10.0)];
        let m = Matching {
            card: Card::ManyToOne,
            on: true,
            names: vec!["j".into()],
            include: vec!["v".into()],
        };
        let out = vector_binop(T_MUL, l, r, &m, false, 0).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(
            *out[0].labels,
            Labels::from_pairs([("i", "1"), ("j", "x"), ("v", "9")])
        );
        assert_eq!(out[1].v, 30.0);
    }

    #[test]
    fn scalar_comparison_on_left_keeps_vector_value() {
        let v = vec![vs(&[("x", "1")], 5.0), vs(&[("x", "2")], 1.0)];
        let out = vector_scalar(T_LSS, v, 2.0, true, false, 7).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].v, 5.0);
        assert!(!out[0].drop_name);
        assert_eq!(out[0].t, 7);
    }

    #[test]
    fn set_operators() {
        let m = Matching {
            card: Card::ManyToMany,
            on: false,
            names: vec![],
            include: vec![],
        };
        let l = vec![vs(&[("x", "1")], 1.0), vs(&[("x", "2")], 2.0)];
        let r = vec![vs(&[("x", "2")], 20.0), vs(&[("x", "3")], 30.0)];
        assert_eq!(vector_and(l.clone(), r.clone(), &m).len(), 1);
        let or = vector_or(l.clone(), r.clone(), &m);
        assert_eq!(
            or.iter().map(|s| s.v).collect::<Vec<_>>(),
            vec![1.0, 2.0, 30.0]
        );
        let unless = vector_unless(l, r, &m);
        assert_eq!(unless.iter().map(|s| s.v).collect::<Vec<_>>(), vec![1.0]);
    }
}
