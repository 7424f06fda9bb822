//! What labels an expression's output series can carry, found statically.
//! Used to catch templates that read a label the aggregation removed, and
//! binary operations whose sides can never match.
//!
//! The rules follow Prometheus's evaluator (promql/engine.go): `by` keeps
//! only its labels, `without` drops its labels, one-to-one matching with
//! `on(...)` keeps only the `on` labels (`resultMetric`), `absent()` returns
//! the equality matchers of its selector, `histogram_quantile` drops `le`.

use promql_parser::label::MatchOp;
use promql_parser::parser::value::ValueType;
use promql_parser::parser::{
    AggregateExpr, BinaryExpr, Call, Expr, LabelModifier, VectorMatchCardinality, VectorSelector,
};
use std::collections::{BTreeMap, BTreeSet};

const NAME: &str = "__name__";

/// The label names output series may have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelSet {
    /// At most these labels.
    Only(BTreeSet<String>),
    /// Any label except these (which are certainly absent).
    AnyExcept(BTreeSet<String>),
}

impl LabelSet {
    pub fn none() -> LabelSet {
        LabelSet::Only(BTreeSet::new())
    }

    pub fn any() -> LabelSet {
        LabelSet::AnyExcept(BTreeSet::new())
    }

    /// False when series can never carry `label`.
    pub fn may_have(&self, label: &str) -> bool {
        match self {
            LabelSet::Only(s) => s.contains(label),
            LabelSet::AnyExcept(ex) => !ex.contains(label),
        }
    }

    fn remove<'a>(&self, ls: impl IntoIterator<Item = &'a String>) -> LabelSet {
        match self {
            LabelSet::Only(s) => {
                let mut s = s.clone();
                for l in ls {
                    s.remove(l);
                }
                LabelSet::Only(s)
            }
            LabelSet::AnyExcept(ex) => {
                let mut ex = ex.clone();
                ex.extend(ls.into_iter().cloned());
                LabelSet::AnyExcept(ex)
            }
        }
    }

    fn add<'a>(&self, ls: impl IntoIterator<Item = &'a String>) -> LabelSet {
        match self {
            LabelSet::Only(s) => {
                let mut s = s.clone();
                s.extend(ls.into_iter().cloned());
                LabelSet::Only(s)
            }
            LabelSet::AnyExcept(ex) => {
                let mut ex = ex.clone();
                for l in ls {
                    ex.remove(l);
                }
                LabelSet::AnyExcept(ex)
            }
        }
    }

    fn keep(&self, ls: &BTreeSet<String>) -> LabelSet {
        LabelSet::Only(ls.iter().filter(|l| self.may_have(l)).cloned().collect())
    }

    fn union(&self, o: &LabelSet) -> LabelSet {
        match (self, o) {
            (LabelSet::Only(a), LabelSet::Only(b)) => LabelSet::Only(a.union(b).cloned().collect()),
            (LabelSet::AnyExcept(a), LabelSet::AnyExcept(b)) => {
                LabelSet::AnyExcept(a.intersection(b).cloned().collect())
            }
            (LabelSet::Only(a), LabelSet::AnyExcept(ex))
            | (LabelSet::AnyExcept(ex), LabelSet::Only(a)) => {
                LabelSet::AnyExcept(ex.difference(a).cloned().collect())
            }
        }
    }
}

/// Output labels of an expression, and the labels whose value is known
/// (from equality matchers that survive to the output).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub labels: LabelSet,
    pub fixed: BTreeMap<String, String>,
}

impl Output {
    fn none() -> Output {
        Output {
            labels: LabelSet::none(),
            fixed: BTreeMap::new(),
        }
    }

    fn with(labels: LabelSet, fixed: &BTreeMap<String, String>) -> Output {
        let fixed = fixed
            .iter()
            .filter(|(k, _)| labels.may_have(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Output { labels, fixed }
    }

    /// The value of `label` on every output series when known: `Some("")`
    /// means the label is certainly absent.
    pub fn known_value(&self, label: &str) -> Option<&str> {
        if !self.labels.may_have(label) {
            return Some("");
        }
        self.fixed.get(label).map(String::as_str)
    }
}

/// Labels with a value fixed by `label="value"` matchers, and the labels
/// certainly absent (`label=""`).
fn selector(vs: &VectorSelector) -> Output {
    let mut fixed = BTreeMap::new();
    let mut absent = BTreeSet::new();
    absent.insert(NAME.to_string());
    if vs.matchers.or_matchers.is_empty() {
        for m in &vs.matchers.matchers {
            if m.name == NAME || !matches!(m.op, MatchOp::Equal) {
                continue;
            }
            if m.value.is_empty() {
                absent.insert(m.name.clone());
            } else {
                fixed.insert(m.name.clone(), m.value.clone());
            }
        }
    }
    Output {
        labels: LabelSet::AnyExcept(absent),
        fixed,
    }
}

fn names(ls: &promql_parser::label::Labels) -> BTreeSet<String> {
    ls.labels.iter().cloned().collect()
}

/// The output labels of `e`.
pub fn output(e: &Expr) -> Output {
    match e {
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) => Output::none(),
        Expr::VectorSelector(vs) => selector(vs),
        Expr::MatrixSelector(ms) => selector(&ms.vs),
        Expr::Paren(p) => output(&p.expr),
        Expr::Unary(u) => output(&u.expr),
        Expr::Subquery(s) => output(&s.expr),
        Expr::Aggregate(a) => aggregate(a),
        Expr::Call(c) => call(c),
        Expr::Binary(b) => binary(b),
        Expr::Extension(_) => Output::with(LabelSet::any(), &BTreeMap::new()),
    }
}

fn aggregate(a: &AggregateExpr) -> Output {
    let inner = output(&a.expr);
    let op = a.op.to_string();
    if matches!(op.as_str(), "topk" | "bottomk" | "limitk" | "limit_ratio") {
        return inner;
    }
    let mut labels = match &a.modifier {
        None => LabelSet::none(),
        Some(LabelModifier::Include(ls)) => inner.labels.keep(&names(ls)),
        Some(LabelModifier::Exclude(ls)) => inner.labels.remove(&names(ls)),
    };
    if op == "count_values" {
        if let Some(Expr::StringLiteral(s)) = a.param.as_deref() {
            labels = labels.add([&s.val]);
        }
    }
    Output::with(labels, &inner.fixed)
}

fn string_arg(c: &Call, i: usize) -> Option<&String> {
    match c.args.args.get(i).map(|b| b.as_ref()) {
        Some(Expr::StringLiteral(s)) => Some(&s.val),
        _ => None,
    }
}

fn call(c: &Call) -> Output {
    let args = &c.args.args;
    match c.func.name {
        "absent" | "absent_over_time" => {
            let sel = match args.first().map(|b| b.as_ref()) {
                Some(Expr::VectorSelector(vs)) => Some(selector(vs)),
                Some(Expr::MatrixSelector(ms)) => Some(selector(&ms.vs)),
                _ => None,
            };
            match sel {
                Some(s) => {
                    let keys = s.fixed.keys().cloned().collect();
                    Output::with(LabelSet::Only(keys), &s.fixed)
                }
                None => Output::none(),
            }
        }
        "label_replace" | "label_join" => {
            let inner = args.first().map(|a| output(a)).unwrap_or_else(Output::none);
            match string_arg(c, 1) {
                Some(dst) => {
                    let mut fixed = inner.fixed.clone();
                    fixed.remove(dst);
                    Output::with(inner.labels.add([dst]), &fixed)
                }
                None => inner,
            }
        }
        "histogram_quantile" => {
            let inner = args.get(1).map(|a| output(a)).unwrap_or_else(Output::none);
            let le = "le".to_string();
            Output::with(inner.labels.remove([&le]), &inner.fixed)
        }
        "vector" | "scalar" | "time" | "pi" => Output::none(),
        "info" => Output::with(LabelSet::any(), &BTreeMap::new()),
        _ => args
            .iter()
            .find(|a| matches!(a.value_type(), ValueType::Vector | ValueType::Matrix))
            .map(|a| output(a))
            .unwrap_or_else(Output::none),
    }
}

fn is_scalar(e: &Expr) -> bool {
    matches!(e.value_type(), ValueType::Scalar | ValueType::String)
}

fn binary(b: &BinaryExpr) -> Output {
    let (l, r) = (output(&b.lhs), output(&b.rhs));
    match (is_scalar(&b.lhs), is_scalar(&b.rhs)) {
        (true, true) => return Output::none(),
        (true, false) => return r,
        (false, true) => return l,
        _ => {}
    }
    let op = b.op.to_string();
    match op.as_str() {
        "and" | "unless" => return l,
        "or" => {
            let fixed = l
                .fixed
                .iter()
                .filter(|(k, v)| r.fixed.get(*k) == Some(v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            return Output::with(l.labels.union(&r.labels), &fixed);
        }
        _ => {}
    }
    let modifier = b.modifier.as_ref();
    let card = modifier.map(|m| &m.card);
    match card {
        Some(VectorMatchCardinality::ManyToOne(incl)) => {
            Output::with(l.labels.add(&names(incl)), &l.fixed)
        }
        Some(VectorMatchCardinality::OneToMany(incl)) => {
            Output::with(r.labels.add(&names(incl)), &r.fixed)
        }
        _ => match modifier.and_then(|m| m.matching.as_ref()) {
            Some(LabelModifier::Include(on)) => Output::with(l.labels.keep(&names(on)), &l.fixed),
            Some(LabelModifier::Exclude(ign)) => {
                Output::with(l.labels.remove(&names(ign)), &l.fixed)
            }
            None => l,
        },
    }
}

/// Why a vector-to-vector operation can never find a match, if it cannot.
/// Only definite conflicts count (a label with different known values on
/// the two sides, or present on one side and absent on the other), plus
/// one likely one: both sides aggregated to different label sets without
/// `on`/`ignoring`.
pub fn matching_conflict(b: &BinaryExpr) -> Option<String> {
    if is_scalar(&b.lhs) || is_scalar(&b.rhs) {
        return None;
    }
    let op = b.op.to_string();
    if matches!(op.as_str(), "or" | "unless") {
        return None;
    }
    let (l, r) = (output(&b.lhs), output(&b.rhs));
    let matching = b.modifier.as_ref().and_then(|m| m.matching.as_ref());
    let (labels, ignored): (BTreeSet<String>, BTreeSet<String>) = match matching {
        Some(LabelModifier::Include(on)) => (names(on), BTreeSet::new()),
        Some(LabelModifier::Exclude(ign)) => {
            let mut all: BTreeSet<String> = l.fixed.keys().chain(r.fixed.keys()).cloned().collect();
            for s in [&l.labels, &r.labels] {
                if let LabelSet::Only(x) = s {
                    all.extend(x.iter().cloned());
                }
            }
            let ign = names(ign);
            (all.difference(&ign).cloned().collect(), ign)
        }
        None => {
            let mut all: BTreeSet<String> = l.fixed.keys().chain(r.fixed.keys()).cloned().collect();
            for s in [&l.labels, &r.labels] {
                if let LabelSet::Only(x) = s {
                    all.extend(x.iter().cloned());
                }
            }
            (all, BTreeSet::new())
        }
    };
    for label in &labels {
        if let (Some(a), Some(b)) = (l.known_value(label), r.known_value(label)) {
            if a != b {
                let show = |v: &str| {
                    if v.is_empty() {
                        "no such label".to_string()
                    } else {
                        format!("{label}={v:?}")
                    }
                };
                return Some(format!(
                    "label {label:?} differs between the sides of {op:?} (left: {}, right: {}), so no series can match",
                    show(a),
                    show(b)
                ));
            }
        }
    }
    if matching.is_none() || matches!(matching, Some(LabelModifier::Exclude(_))) {
        if let (LabelSet::Only(a), LabelSet::Only(b)) = (&l.labels, &r.labels) {
            let a: BTreeSet<_> = a.difference(&ignored).collect();
            let b: BTreeSet<_> = b.difference(&ignored).collect();
            if a != b {
                let list = |s: &BTreeSet<&String>| {
                    s.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(", ")
                };
                return Some(format!(
                    "the sides of {op:?} have different labels (left: ({}), right: ({})); one-to-one matching needs identical label sets, so they only match where the extra labels are empty: use on(...) or ignoring(...)",
                    list(&a),
                    list(&b)
                ));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(q: &str) -> Output {
        output(&crate::promql::parse(q).unwrap())
    }

    fn only(ls: &[&str]) -> LabelSet {
        LabelSet::Only(ls.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn aggregations_keep_or_drop_labels() {
        assert_eq!(
            out("sum by (env) (rate(x_total[5m]))").labels,
            only(&["env"])
        );
        assert_eq!(out("sum(x)").labels, only(&[]));
        let w = out("sum without (instance) (x)").labels;
        assert!(!w.may_have("instance") && w.may_have("job"));
        assert_eq!(out("topk(3, sum by (a) (x))").labels, only(&["a"]));
        assert_eq!(
            out("count_values(\"v\", sum by (a) (x))").labels,
            only(&[]).add(&["v".to_string()])
        );
        assert_eq!(out("sum by (a) (sum by (b) (x))").labels, only(&[]));
    }

    #[test]
    fn functions_and_operators() {
        assert_eq!(
            out("absent(up{job=\"a\", env=~\"p\"})").labels,
            only(&["job"])
        );
        assert_eq!(
            out("histogram_quantile(0.9, sum by (le, env) (rate(x_bucket[5m])))").labels,
            only(&["env"])
        );
        assert_eq!(
            out("label_replace(sum(x), \"dst\", \"$1\", \"a\", \"(.*)\")").labels,
            only(&["dst"])
        );
        assert_eq!(out("sum by (a) (x) > 3").labels, only(&["a"]));
        assert_eq!(
            out("sum by (a, b) (x) / on (a) sum by (a) (y)").labels,
            only(&["a"])
        );
        assert_eq!(
            out("sum by (a) (x) * on (a) group_left (c) max by (a, c) (y)").labels,
            only(&["a", "c"])
        );
        assert_eq!(
            out("sum by (a) (x) or sum by (b) (y)").labels,
            only(&["a", "b"])
        );
        assert!(out("x{job=\"\"}").labels.may_have("env"));
        assert!(!out("x{job=\"\"}").labels.may_have("job"));
        assert_eq!(
            out("x{job=\"a\"} + 1").fixed.get("job").map(String::as_str),
            Some("a")
        );
    }

    fn conflict(q: &str) -> Option<String> {
        match crate::promql::parse(q).unwrap() {
            Expr::Binary(b) => matching_conflict(&b),
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn impossible_matches() {
        assert!(conflict("x{phase=\"a\"} / y{phase=\"b\"}").is_some());
        assert!(conflict("sum by (env) (x) / sum by (job) (y)").is_some());
        assert!(conflict("sum by (env) (x) / on (env) y{env=\"\"}").is_none());
        assert!(conflict("sum by (env) (x) / on (job) sum by (env) (y)").is_none());
        assert!(conflict("sum by (env) (x{env=\"p\"}) / on (env) y{env=\"s\"}").is_some());
        assert!(conflict("sum by (env, job) (x) / ignoring (job) sum by (env) (y)").is_none());
        // The stage-0 runbook rule: the right side may carry phase="total".
        assert!(conflict(
            "increase(a_total{phase=\"total\"}[60m]) / clamp_min(increase(b_total[60m]), 1)"
        )
        .is_none());
        assert!(conflict("x / y").is_none());
        assert!(conflict("x{a=\"1\"} or y{a=\"2\"}").is_none());
    }
}
