//! Aggregation operators (`sum`, `avg`, `min`, `max`, `count`, `group`,
//! `stddev`, `stdvar`, `quantile`, `count_values`) with `by`/`without`.
//! The float semantics (Kahan summation, the overflow fallback of `avg`, NaN
//! handling of `min`/`max`) port `aggregation()` of Prometheus 3.5
//! `promql/engine.go`. `topk`/`bottomk`/`limitk`/`limit_ratio` live in
//! [`super::aggregate_k`].

use super::aggregate_k;
use super::engine::Evaluator;
use super::fxhash::FxHashMap as HashMap;
use super::gofmt::{format_float_f, format_float_g};
use super::ivalue::{ESample, EValue};
use super::value::EvalError;
use crate::model::{Labels, MemStore, METRIC_NAME};
use promql_parser::parser::token::{
    T_AVG, T_BOTTOMK, T_COUNT, T_COUNT_VALUES, T_GROUP, T_LIMITK, T_LIMIT_RATIO, T_MAX, T_MIN,
    T_QUANTILE, T_STDDEV, T_STDVAR, T_SUM, T_TOPK,
};
use promql_parser::parser::{AggregateExpr, LabelModifier};
use std::borrow::Cow;

/// `by (...)` / `without (...)` of an aggregation, names sorted.
pub(crate) struct Grouping {
    pub(crate) without: bool,
    pub(crate) names: Vec<String>,
}

impl Grouping {
    fn of(a: &AggregateExpr) -> Self {
        let (without, mut names) = match &a.modifier {
            None => (false, Vec::new()),
            Some(LabelModifier::Include(l)) => (false, l.labels.clone()),
            Some(LabelModifier::Exclude(l)) => (true, l.labels.clone()),
        };
        names.sort();
        names.dedup();
        Grouping { without, names }
    }

    fn listed(&self, name: &str) -> bool {
        // Few names: compare lengths before bytes.
        self.names
            .iter()
            .any(|n| n.len() == name.len() && n == name)
    }

    /// Writes the grouping key of `labels` into `buf` (cleared first).
    pub(crate) fn key(&self, labels: &Labels, buf: &mut String) {
        buf.clear();
        let mut push = |name: &str, value: &str| {
            buf.push_str(name);
            buf.push('\u{ff}');
            buf.push_str(value);
            buf.push('\u{ff}');
        };
        if self.without {
            for l in labels {
                if l.name != METRIC_NAME && !self.listed(&l.name) {
                    push(&l.name, &l.value);
                }
            }
        } else {
            // `names` is sorted like the labels, so the key comes out in the
            // same order as when walking the labels.
            for n in &self.names {
                if let Some(v) = labels.get(n) {
                    push(n, v);
                }
            }
        }
    }

    /// The labels of the output series of a group.
    fn labels(&self, labels: &Labels) -> Labels {
        if self.without {
            let mut out = labels.drop_names(&self.names);
            out.remove(METRIC_NAME);
            out
        } else if self.names.is_empty() {
            Labels::new()
        } else {
            labels.keep(&self.names)
        }
    }
}

/// Evaluates an aggregation at `t`.
pub(crate) fn eval_aggregate<'a>(
    ev: &mut Evaluator<'a>,
    a: &AggregateExpr,
    t: i64,
) -> Result<EValue<'a>, EvalError> {
    let op = a.op.id();
    let param = match &a.param {
        Some(p) => Some(ev.eval(p, t)?),
        None => None,
    };
    let grouping = Grouping::of(a);
    // An aggregation that neither groups by `__name__` nor outputs its input
    // labels never sees the name, so a pending name removal on its input
    // need not copy every label set first (only `__type__`/`__unit__`,
    // removed with the name, can still be observed).
    let name_unseen = !ev.opts.delayed_name_removal
        && !matches!(
            op,
            T_COUNT_VALUES | T_TOPK | T_BOTTOMK | T_LIMITK | T_LIMIT_RATIO
        )
        && (grouping.without || !grouping.listed(METRIC_NAME));
    let evaluated = if name_unseen {
        ev.eval_keeping_name(&a.expr, t)?
    } else {
        ev.eval(&a.expr, t)?
    };
    let mut input = match evaluated {
        EValue::Vector(v) => v,
        _ => {
            return Err(EvalError::Execution(format!(
                "expected instant vector argument for {}",
                a.op
            )))
        }
    };
    if name_unseen {
        // Label sets of the store need no look if no series has the labels.
        let store_meta = ev.store.has_label_name("__type__") || ev.store.has_label_name("__unit__");
        for s in &mut input {
            if s.drop_name {
                let meta = match &s.labels {
                    Cow::Borrowed(l) if ev.store.id_of(l).is_some() => {
                        store_meta && l.has_name_metadata()
                    }
                    l => l.has_name_metadata(),
                };
                if meta {
                    s.labels = Cow::Owned(s.labels.without_metric_name());
                }
                s.drop_name = false;
            }
        }
    }
    let scalar_param = || match &param {
        Some(EValue::Scalar(v)) => Ok(*v),
        _ => Err(EvalError::Execution(format!(
            "expected scalar parameter for {}",
            a.op
        ))),
    };
    let out = match op {
        T_COUNT_VALUES => {
            let label = match &param {
                Some(EValue::String(s)) => s.clone(),
                _ => {
                    return Err(EvalError::Execution(
                        "expected string parameter for count_values".into(),
                    ))
                }
            };
            count_values(&input, &grouping, &label, t)?
        }
        T_TOPK | T_BOTTOMK | T_LIMITK | T_LIMIT_RATIO => {
            let p = scalar_param()?;
            if op == T_LIMIT_RATIO {
                if p > 1.0 {
                    ev.annotations.warn(format!(
                        "PromQL warning: ratio value should be between -1 and 1, got {}, capping to 1",
                        format_float_g(p)
                    ));
                } else if p < -1.0 {
                    ev.annotations.warn(format!(
                        "PromQL warning: ratio value should be between -1 and 1, got {}, capping to -1",
                        format_float_g(p)
                    ));
                }
            }
            aggregate_k::eval_k(op, input, &grouping, p, t)?
        }
        _ => {
            let q = if op == T_QUANTILE {
                let q = scalar_param()?;
                if q.is_nan() || !(0.0..=1.0).contains(&q) {
                    ev.annotations.warn(format!(
                        "PromQL warning: quantile value should be between 0 and 1, got {}",
                        format_float_g(q)
                    ));
                }
                q
            } else {
                0.0
            };
            simple_in(Some(ev.store), op, &input, &grouping, q, t)?
        }
    };
    Ok(EValue::Vector(out))
}

/// Running state of one output group.
struct Group {
    labels: Labels,
    value: f64,
    mean: f64,
    kahan_c: f64,
    count: f64,
    incremental_mean: bool,
    values: Vec<f64>,
}

/// Prometheus's `kahanSumInc` (Neumaier's variant of Kahan summation).
pub(crate) fn kahan_sum_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

/// The group key of every input sample, as a number (equal keys, equal
/// numbers). Samples that carry a store series' own label set take the
/// number from the store's memo for this grouping, computed once per
/// series across queries, without reading label strings.
fn group_keys(store: Option<&MemStore>, input: &[ESample<'_>], grouping: &Grouping) -> Vec<u32> {
    let mut buf = String::new();
    let Some(store) = store else {
        let mut index: HashMap<String, u32> = HashMap::default();
        return input
            .iter()
            .map(|s| {
                grouping.key(&s.labels, &mut buf);
                let next = index.len() as u32;
                *index.entry(buf.clone()).or_insert(next)
            })
            .collect();
    };
    let memo_name = format!(
        "promql.group_key without={} {:?}",
        grouping.without, grouping.names
    );
    store.with_memo(&memo_name, |memo| {
        input
            .iter()
            .map(|s| {
                let id = match &s.labels {
                    Cow::Borrowed(l) => store.id_of(l),
                    Cow::Owned(_) => None,
                };
                if let Some(k) = id.and_then(|id| memo.get(id)) {
                    return k;
                }
                grouping.key(&s.labels, &mut buf);
                let k = memo.intern(&buf);
                if let Some(id) = id {
                    memo.set(id, k);
                }
                k
            })
            .collect()
    })
}

#[cfg(test)]
fn simple<'a>(
    op: u16,
    input: &[ESample<'_>],
    grouping: &Grouping,
    q: f64,
    t: i64,
) -> Result<Vec<ESample<'a>>, EvalError> {
    simple_in(None, op, input, grouping, q, t)
}

fn simple_in<'a>(
    store: Option<&MemStore>,
    op: u16,
    input: &[ESample<'_>],
    grouping: &Grouping,
    q: f64,
    t: i64,
) -> Result<Vec<ESample<'a>>, EvalError> {
    let keys = group_keys(store, input, grouping);
    let mut index: HashMap<u32, usize> = HashMap::default();
    let mut groups: Vec<Group> = Vec::new();
    for (s, &key) in input.iter().zip(&keys) {
        let f = s.v;
        let gi = match index.get(&key) {
            Some(&gi) => gi,
            None => {
                index.insert(key, groups.len());
                let value = match op {
                    T_STDVAR | T_STDDEV if f.is_nan() || f.is_infinite() => f64::NAN,
                    T_STDVAR | T_STDDEV => 0.0,
                    T_GROUP => 1.0,
                    _ => f,
                };
                groups.push(Group {
                    labels: grouping.labels(&s.labels),
                    value,
                    mean: f,
                    kahan_c: 0.0,
                    count: 1.0,
                    incremental_mean: false,
                    values: if op == T_QUANTILE {
                        vec![f]
                    } else {
                        Vec::new()
                    },
                });
                continue;
            }
        };
        let g = &mut groups[gi];
        match op {
            T_SUM => (g.value, g.kahan_c) = kahan_sum_inc(f, g.value, g.kahan_c),
            T_AVG => {
                g.count += 1.0;
                if !g.incremental_mean {
                    let (nv, nc) = kahan_sum_inc(f, g.value, g.kahan_c);
                    if !nv.is_infinite() {
                        g.value = nv;
                        g.kahan_c = nc;
                        continue;
                    }
                    // The direct sum would overflow: switch to an incremental mean.
                    g.incremental_mean = true;
                    g.mean = g.value / (g.count - 1.0);
                    g.kahan_c /= g.count - 1.0;
                }
                let q = (g.count - 1.0) / g.count;
                (g.mean, g.kahan_c) = kahan_sum_inc(f / g.count, q * g.mean, q * g.kahan_c);
            }
            T_MAX => {
                if g.value < f || g.value.is_nan() {
                    g.value = f;
                }
            }
            T_MIN => {
                if g.value > f || g.value.is_nan() {
                    g.value = f;
                }
            }
            T_COUNT => g.count += 1.0,
            T_GROUP => {}
            T_STDVAR | T_STDDEV => {
                g.count += 1.0;
                let delta = f - g.mean;
                g.mean += delta / g.count;
                g.value += delta * (f - g.mean);
            }
            T_QUANTILE => g.values.push(f),
            _ => {
                return Err(EvalError::Execution(format!(
                    "unknown aggregation operator {op}"
                )))
            }
        }
    }

    let mut out = Vec::with_capacity(groups.len());
    for (gi, g) in groups.into_iter().enumerate() {
        let v = match op {
            T_SUM => g.value + g.kahan_c,
            T_AVG if g.incremental_mean => g.mean + g.kahan_c,
            T_AVG => g.value / g.count + g.kahan_c / g.count,
            T_COUNT => g.count,
            T_STDVAR => g.value / g.count,
            T_STDDEV => (g.value / g.count).sqrt(),
            T_QUANTILE => quantile(q, g.values),
            _ => g.value,
        };
        // Prometheus takes the flag from the input series at the group's
        // index; it only matters for `by (__name__)`.
        let drop_name = input.get(gi).is_some_and(|s| s.drop_name);
        out.push(ESample {
            labels: Cow::Owned(g.labels),
            t,
            v,
            drop_name,
        });
    }
    Ok(out)
}

/// Prometheus's `quantile` over the values of one group.
pub(crate) fn quantile(q: f64, mut values: Vec<f64>) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    // NaNs sort first, as with Prometheus's vectorByValueHeap ordering.
    values.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        _ => a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal),
    });
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (n - 1.0).min(lower + 1.0);
    let weight = rank - rank.floor();
    values[lower as usize] * (1.0 - weight) + values[upper as usize] * weight
}

fn count_values<'a>(
    input: &[ESample<'_>],
    grouping: &Grouping,
    label: &str,
    t: i64,
) -> Result<Vec<ESample<'a>>, EvalError> {
    if label.is_empty() {
        return Err(EvalError::Execution(format!(
            "invalid label name {}",
            super::gofmt::quote(label)
        )));
    }
    // With `by`, the value label is part of the grouping.
    let grouping = if grouping.without {
        Grouping {
            without: true,
            names: grouping.names.clone(),
        }
    } else {
        let mut names = grouping.names.clone();
        names.push(label.to_string());
        names.sort();
        names.dedup();
        Grouping {
            without: false,
            names,
        }
    };
    let mut index: HashMap<String, usize> = HashMap::default();
    let mut out: Vec<ESample<'a>> = Vec::new();
    let mut key = String::new();
    for s in input {
        let mut labels = s.labels.clone().into_owned();
        labels.set(label, format_float_f(s.v));
        grouping.key(&labels, &mut key);
        match index.get(key.as_str()) {
            Some(&i) => out[i].v += 1.0,
            None => {
                index.insert(key.clone(), out.len());
                out.push(ESample {
                    labels: Cow::Owned(grouping.labels(&labels)),
                    t,
                    v: 1.0,
                    drop_name: false,
                });
            }
        }
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

    fn by(names: &[&str]) -> Grouping {
        Grouping {
            without: false,
            names: names.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn kahan_sum_is_exact_where_naive_is_not() {
        let input = vec![
            vs(&[("a", "1")], 1.0),
            vs(&[("a", "2")], 1e100),
            vs(&[("a", "3")], 1.0),
            vs(&[("a", "4")], -1e100),
        ];
        let out = simple(T_SUM, &input, &by(&[]), 0.0, 0).unwrap();
        assert_eq!(out[0].v, 2.0);
        let avg = simple(T_AVG, &input, &by(&[]), 0.0, 0).unwrap();
        assert_eq!(avg[0].v, 0.5);
    }

    #[test]
    fn avg_falls_back_to_incremental_mean_on_overflow() {
        let input = vec![vs(&[("a", "1")], f64::MAX), vs(&[("a", "2")], f64::MAX)];
        let out = simple(T_AVG, &input, &by(&[]), 0.0, 0).unwrap();
        assert_eq!(out[0].v, f64::MAX);
    }

    #[test]
    fn max_replaces_nan() {
        let input = vec![vs(&[("a", "1")], f64::NAN), vs(&[("a", "2")], 3.0)];
        assert_eq!(simple(T_MAX, &input, &by(&[]), 0.0, 0).unwrap()[0].v, 3.0);
        assert_eq!(simple(T_MIN, &input, &by(&[]), 0.0, 0).unwrap()[0].v, 3.0);
    }

    #[test]
    fn grouping_by_and_without() {
        let input = vec![
            vs(&[("__name__", "x"), ("job", "a"), ("i", "1")], 1.0),
            vs(&[("__name__", "x"), ("job", "a"), ("i", "2")], 2.0),
            vs(&[("__name__", "x"), ("job", "b"), ("i", "1")], 4.0),
        ];
        let out = simple(T_SUM, &input, &by(&["job"]), 0.0, 0).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(*out[0].labels, Labels::from_pairs([("job", "a")]));
        assert_eq!(out[0].v, 3.0);
        let without = Grouping {
            without: true,
            names: vec!["i".into()],
        };
        let out = simple(T_COUNT, &input, &without, 0.0, 0).unwrap();
        assert_eq!(*out[0].labels, Labels::from_pairs([("job", "a")]));
        assert_eq!(out[0].v, 2.0);
    }

    #[test]
    fn stddev_and_quantile() {
        let input: Vec<ESample> = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]
            .iter()
            .enumerate()
            .map(|(i, &v)| vs(&[("i", &i.to_string())], v))
            .collect();
        assert_eq!(
            simple(T_STDDEV, &input, &by(&[]), 0.0, 0).unwrap()[0].v,
            2.0
        );
        assert_eq!(
            simple(T_QUANTILE, &input, &by(&[]), 0.5, 0).unwrap()[0].v,
            4.5
        );
        assert_eq!(quantile(2.0, vec![1.0]), f64::INFINITY);
    }

    #[test]
    fn count_values_labels_values() {
        let input = vec![
            vs(&[("i", "1")], 1.0),
            vs(&[("i", "2")], 1.0),
            vs(&[("i", "3")], 2.5),
        ];
        let out = count_values(&input, &by(&[]), "value", 0).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(*out[0].labels, Labels::from_pairs([("value", "1")]));
        assert_eq!(out[0].v, 2.0);
        assert_eq!(*out[1].labels, Labels::from_pairs([("value", "2.5")]));
    }
}
