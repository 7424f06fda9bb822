//! `topk`, `bottomk`, `limitk` and `limit_ratio`: aggregations that keep
//! input series. Ports `aggregationK` of Prometheus 3.5 `promql/engine.go`,
//! including Go's `container/heap` algorithm and small-slice insertion sort,
//! because the output order and the choice among equal values follow them.

use super::aggregate::Grouping;
use super::fxhash::FxHashMap as HashMap;
use super::gofmt::format_float_g;
use super::ivalue::ESample;
use super::value::EvalError;
use super::xxhash::xxh64;
use crate::model::Labels;
use promql_parser::parser::token::{T_BOTTOMK, T_LIMITK, T_LIMIT_RATIO, T_TOPK};

/// Largest float that converts to an int64 without overflow (Prometheus's `maxInt64`).
const MAX_INT64: f64 = 9_223_372_036_854_774_784.0;
const MIN_INT64: f64 = -9_223_372_036_854_775_808.0;

/// `vectorByValueHeap.Less`: NaN is smallest.
fn less_by_value(a: f64, b: f64) -> bool {
    a.is_nan() || a < b
}

/// `vectorByReverseValueHeap.Less`: NaN is "smallest" too, otherwise reversed.
fn less_by_reverse_value(a: f64, b: f64) -> bool {
    a.is_nan() || a > b
}

type Less = fn(f64, f64) -> bool;

/// Go's `heap.Push`.
fn heap_push<'a>(h: &mut Vec<ESample<'a>>, s: ESample<'a>, less: Less) {
    h.push(s);
    let last = h.len() - 1;
    heap_up(h, last, less);
}

fn heap_up(h: &mut [ESample<'_>], mut j: usize, less: Less) {
    while j > 0 {
        let i = (j - 1) / 2;
        if !less(h[j].v, h[i].v) {
            break;
        }
        h.swap(i, j);
        j = i;
    }
}

fn heap_down(h: &mut [ESample<'_>], i0: usize, less: Less) -> bool {
    let n = h.len();
    let mut i = i0;
    loop {
        let j1 = 2 * i + 1;
        if j1 >= n {
            break;
        }
        let mut j = j1;
        let j2 = j1 + 1;
        if j2 < n && less(h[j2].v, h[j1].v) {
            j = j2;
        }
        if !less(h[j].v, h[i].v) {
            break;
        }
        h.swap(i, j);
        i = j;
    }
    i > i0
}

/// Go's `heap.Fix`.
fn heap_fix(h: &mut [ESample<'_>], i: usize, less: Less) {
    if !heap_down(h, i, less) {
        heap_up(h, i, less);
    }
}

/// `sort.Sort(sort.Reverse(h))`. Go sorts slices of up to 12 elements by
/// insertion sort, which decides the order of equal values; larger slices use
/// a stable sort with the same ordering.
fn sort_reverse(h: &mut [ESample<'_>], less: Less) {
    let rev_less = |a: f64, b: f64| less(b, a);
    if h.len() <= 12 {
        for i in 1..h.len() {
            let mut j = i;
            while j > 0 && rev_less(h[j].v, h[j - 1].v) {
                h.swap(j, j - 1);
                j -= 1;
            }
        }
    } else {
        h.sort_by(|a, b| {
            // NaN last, then the reversed order of `less`.
            match (a.v.is_nan(), b.v.is_nan()) {
                (true, true) => std::cmp::Ordering::Equal,
                (true, false) => std::cmp::Ordering::Greater,
                (false, true) => std::cmp::Ordering::Less,
                _ if rev_less(a.v, b.v) => std::cmp::Ordering::Less,
                _ if rev_less(b.v, a.v) => std::cmp::Ordering::Greater,
                _ => std::cmp::Ordering::Equal,
            }
        });
    }
}

/// Prometheus's `Labels.Hash()`: xxhash64 of `name\xffvalue\xff...`.
fn labels_hash(labels: &Labels) -> u64 {
    let mut b = Vec::with_capacity(256);
    for l in labels {
        b.extend_from_slice(l.name.as_bytes());
        b.push(0xff);
        b.extend_from_slice(l.value.as_bytes());
        b.push(0xff);
    }
    xxh64(&b, 0)
}

/// `HashRatioSampler.AddRatioSample`: a deterministic pick by label hash.
fn add_ratio_sample(ratio: f64, s: &ESample<'_>) -> bool {
    let offset = labels_hash(&s.labels) as f64 / u64::MAX as f64;
    (ratio >= 0.0 && offset < ratio) || (ratio < 0.0 && offset >= 1.0 + ratio)
}

/// Evaluates one of the k-aggregations with parameter `p` at `t`.
pub(crate) fn eval_k<'a>(
    op: u16,
    input: Vec<ESample<'a>>,
    grouping: &Grouping,
    p: f64,
    t: i64,
) -> Result<Vec<ESample<'a>>, EvalError> {
    if input.is_empty() {
        return Ok(Vec::new());
    }
    let mut k: usize = 0;
    let mut ratio = 0.0;
    if op == T_LIMIT_RATIO {
        if p.is_nan() {
            return Err(EvalError::Execution(format!(
                "Ratio value {} is NaN",
                format_float_g(p)
            )));
        }
        if p == 0.0 {
            return Ok(Vec::new());
        }
        ratio = p.clamp(-1.0, 1.0);
    } else {
        // NaN is not in the range either.
        if !(MIN_INT64..=MAX_INT64).contains(&p) {
            return Err(EvalError::Execution(format!(
                "Scalar value {} overflows int64",
                format_float_g(p)
            )));
        }
        let ki = (p as i64).min(input.len() as i64);
        if ki < 1 {
            return Ok(Vec::new());
        }
        k = ki as usize;
    }

    let mut index: HashMap<String, usize> = HashMap::default();
    let mut heaps: Vec<Vec<ESample<'a>>> = Vec::new();
    let mut key = String::new();
    for s in input {
        grouping.key(&s.labels, &mut key);
        let gi = match index.get(key.as_str()) {
            Some(&gi) => gi,
            None => {
                index.insert(key.clone(), heaps.len());
                let mut h = Vec::with_capacity(k.min(16));
                match op {
                    T_LIMIT_RATIO => {
                        if add_ratio_sample(ratio, &s) {
                            heap_push(&mut h, s, less_by_value);
                        }
                    }
                    T_BOTTOMK => heap_push(&mut h, s, less_by_reverse_value),
                    _ => heap_push(&mut h, s, less_by_value),
                }
                heaps.push(h);
                continue;
            }
        };
        let h = &mut heaps[gi];
        match op {
            T_TOPK => {
                if h.len() < k {
                    heap_push(h, s, less_by_value);
                } else if h[0].v < s.v || (h[0].v.is_nan() && !s.v.is_nan()) {
                    h[0] = s;
                    if k > 1 {
                        heap_fix(h, 0, less_by_value);
                    }
                }
            }
            T_BOTTOMK => {
                if h.len() < k {
                    heap_push(h, s, less_by_reverse_value);
                } else if h[0].v > s.v || (h[0].v.is_nan() && !s.v.is_nan()) {
                    h[0] = s;
                    if k > 1 {
                        heap_fix(h, 0, less_by_reverse_value);
                    }
                }
            }
            T_LIMITK => {
                if h.len() < k {
                    heap_push(h, s, less_by_value);
                }
            }
            _ => {
                if add_ratio_sample(ratio, &s) {
                    heap_push(h, s, less_by_value);
                }
            }
        }
    }

    let mut out = Vec::new();
    for mut h in heaps {
        match op {
            T_TOPK => sort_reverse(&mut h, less_by_value),
            T_BOTTOMK => sort_reverse(&mut h, less_by_reverse_value),
            _ => {}
        }
        for mut s in h {
            s.t = t;
            out.push(s);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(values: &[f64]) -> Vec<ESample<'static>> {
        values
            .iter()
            .enumerate()
            .map(|(i, &v)| ESample {
                labels: std::borrow::Cow::Owned(Labels::from_pairs([("i", i.to_string())])),
                t: 0,
                v,
                drop_name: false,
            })
            .collect()
    }

    fn values(v: &[ESample<'_>]) -> Vec<f64> {
        v.iter().map(|s| s.v).collect()
    }

    fn no_grouping() -> Grouping {
        Grouping {
            without: false,
            names: vec![],
        }
    }

    #[test]
    fn topk_and_bottomk_order() {
        let out = eval_k(T_TOPK, input(&[1.0, 5.0, 3.0, 4.0]), &no_grouping(), 3.0, 0).unwrap();
        assert_eq!(values(&out), vec![5.0, 4.0, 3.0]);
        let out = eval_k(
            T_BOTTOMK,
            input(&[1.0, 5.0, 3.0, 4.0]),
            &no_grouping(),
            2.0,
            0,
        )
        .unwrap();
        assert_eq!(values(&out), vec![1.0, 3.0]);
    }

    #[test]
    fn topk_prefers_numbers_over_nan() {
        let out = eval_k(T_TOPK, input(&[f64::NAN, 2.0, 1.0]), &no_grouping(), 2.0, 0).unwrap();
        assert_eq!(values(&out), vec![2.0, 1.0]);
        let out = eval_k(
            T_BOTTOMK,
            input(&[f64::NAN, 2.0, 1.0]),
            &no_grouping(),
            2.0,
            0,
        )
        .unwrap();
        assert_eq!(values(&out), vec![1.0, 2.0]);
    }

    #[test]
    fn k_parameter_errors_and_bounds() {
        let err = eval_k(T_TOPK, input(&[1.0]), &no_grouping(), f64::NAN, 0).unwrap_err();
        assert_eq!(err.to_string(), "Scalar value NaN overflows int64");
        assert!(eval_k(T_TOPK, input(&[1.0]), &no_grouping(), 0.5, 0)
            .unwrap()
            .is_empty());
        assert_eq!(
            eval_k(T_TOPK, input(&[1.0, 2.0]), &no_grouping(), 1e9, 0)
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn limit_ratio_splits_series_by_hash() {
        let inp = input(&[1.0; 50]);
        let some = eval_k(T_LIMIT_RATIO, inp.clone(), &no_grouping(), 0.5, 0).unwrap();
        let rest = eval_k(T_LIMIT_RATIO, inp.clone(), &no_grouping(), -0.5, 0).unwrap();
        // A ratio r and its complement -(1-r) partition the input.
        assert_eq!(some.len() + rest.len(), 50);
        assert!(some
            .iter()
            .all(|s| !rest.iter().any(|r| r.labels == s.labels)));
        assert_eq!(
            eval_k(T_LIMIT_RATIO, inp, &no_grouping(), 1.0, 0)
                .unwrap()
                .len(),
            50
        );
    }
}
