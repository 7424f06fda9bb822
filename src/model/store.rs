//! The in-memory series store the embedded engine reads: series with sorted
//! samples, and a postings index from label pair to series for fast selection.

use super::{matcher::Matcher, Labels, Sample, Series};
use std::collections::HashMap;

#[derive(Debug, Default, Clone)]
pub struct MemStore {
    series: Vec<Series>,
    by_labels: HashMap<Labels, usize>,
    /// (label name, label value) -> ids of series having it, ascending.
    postings: HashMap<(String, String), Vec<usize>>,
    /// Series ids in label-set order, brought up to date on first use after
    /// series were added (see [`MemStore::select_sorted`]).
    label_rank: LabelRank,
}

/// The label-set order of the series, kept incrementally: rule evaluation
/// adds a few series (recordings, `ALERTS`) between queries over 100k
/// others, and re-sorting them all each time cost most of a `check` run.
#[derive(Debug, Default)]
struct LabelRank(std::sync::Mutex<RankCache>);

#[derive(Debug, Default, Clone)]
struct RankCache {
    /// Ids `0..covered` in label-set order.
    order: Vec<u32>,
    /// Position of each id in `order`.
    rank: Vec<u32>,
    covered: usize,
}

impl Clone for LabelRank {
    fn clone(&self) -> Self {
        LabelRank(std::sync::Mutex::new(self.lock().clone()))
    }
}

impl LabelRank {
    fn lock(&self) -> std::sync::MutexGuard<'_, RankCache> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl RankCache {
    /// Adds the ids from `covered` to `series.len()`: sorts only the new
    /// ones and merges them in, O(n + k log n) instead of O(n log n).
    fn update(&mut self, series: &[Series]) {
        if self.covered == series.len() {
            return;
        }
        let labels = |id: u32| &series[id as usize].labels;
        let mut new: Vec<u32> = (self.covered as u32..series.len() as u32).collect();
        new.sort_unstable_by(|&a, &b| labels(a).cmp(labels(b)));
        if self.order.is_empty() {
            self.order = new;
        } else {
            let mut merged = Vec::with_capacity(self.order.len() + new.len());
            let mut from = 0;
            for id in new {
                let at = from + self.order[from..].partition_point(|&o| labels(o) < labels(id));
                merged.extend_from_slice(&self.order[from..at]);
                merged.push(id);
                from = at;
            }
            merged.extend_from_slice(&self.order[from..]);
            self.order = merged;
        }
        self.rank.resize(series.len(), 0);
        for (pos, &id) in self.order.iter().enumerate() {
            self.rank[id as usize] = pos as u32;
        }
        self.covered = series.len();
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AppendError {
    #[error("out of order sample for {labels} at {t}")]
    OutOfOrder { labels: String, t: i64 },
}

impl MemStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.series.len()
    }

    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    pub fn clear(&mut self) {
        *self = Self::default();
    }

    fn series_id(&mut self, labels: &Labels) -> usize {
        if let Some(&id) = self.by_labels.get(labels) {
            return id;
        }
        let id = self.series.len();
        for l in labels {
            self.postings
                .entry((l.name.clone(), l.value.clone()))
                .or_default()
                .push(id);
        }
        self.by_labels.insert(labels.clone(), id);
        self.series.push(Series {
            labels: labels.clone(),
            samples: Vec::new(),
        });
        id
    }

    /// Appends one sample. A sample at the same time as the last one replaces
    /// it; an older one is rejected, like Prometheus's TSDB.
    pub fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<(), AppendError> {
        let id = self.series_id(labels);
        let s = &mut self.series[id];
        match s.samples.last_mut() {
            Some(last) if last.t == t => last.v = v,
            Some(last) if last.t > t => {
                return Err(AppendError::OutOfOrder {
                    labels: labels.to_string(),
                    t,
                });
            }
            _ => s.samples.push(Sample { t, v }),
        }
        Ok(())
    }

    /// Inserts a sample anywhere in time (used when merging snapshots that
    /// may arrive in any order); replaces a sample at the same time.
    pub fn insert(&mut self, labels: &Labels, t: i64, v: f64) {
        let id = self.series_id(labels);
        let s = &mut self.series[id].samples;
        match s.binary_search_by(|x| x.t.cmp(&t)) {
            Ok(i) => s[i].v = v,
            Err(i) => s.insert(i, Sample { t, v }),
        }
    }

    /// Replaces all samples of a series (test-script `load` semantics).
    pub fn replace_series(&mut self, labels: &Labels, samples: Vec<Sample>) {
        let id = self.series_id(labels);
        self.series[id].samples = samples;
    }

    pub fn series(&self) -> &[Series] {
        &self.series
    }

    /// All series matching every matcher, in id order. Equality matchers use
    /// the postings index; the rest filter.
    pub fn select(&self, matchers: &[Matcher]) -> Vec<&Series> {
        self.select_ids(matchers)
            .into_iter()
            .map(|id| &self.series[id])
            .collect()
    }

    fn select_ids(&self, matchers: &[Matcher]) -> Vec<usize> {
        let mut candidates: Option<Vec<usize>> = None;
        for m in matchers {
            if m.op == super::MatchOp::Equal && !m.value.is_empty() {
                let ids = self
                    .postings
                    .get(&(m.name.clone(), m.value.clone()))
                    .map(|v| v.as_slice())
                    .unwrap_or(&[]);
                candidates = Some(match candidates {
                    None => ids.to_vec(),
                    Some(c) => intersect(&c, ids),
                });
            }
        }
        let iter: Box<dyn Iterator<Item = usize>> = match candidates {
            Some(c) => Box::new(c.into_iter()),
            None => Box::new(0..self.series.len()),
        };
        iter.filter(|&id| matchers.iter().all(|m| m.matches(&self.series[id].labels)))
            .collect()
    }

    /// Like [`MemStore::select`], but ordered by label set, the order in which
    /// Prometheus's storage returns series (PromQL results such as topk ties
    /// depend on it). Uses a cached rank that new series are merged into, so
    /// large selections are not re-sorted by label comparison on every query.
    pub fn select_sorted(&self, matchers: &[Matcher]) -> Vec<&Series> {
        let mut ids = self.select_ids(matchers);
        if ids.len() < 2 {
            return ids.into_iter().map(|id| &self.series[id]).collect();
        }
        let mut cache = self.label_rank.lock();
        cache.update(&self.series);
        ids.sort_unstable_by_key(|&id| cache.rank[id]);
        drop(cache);
        ids.into_iter().map(|id| &self.series[id]).collect()
    }

    /// Drops every sample older than `t` (ms), keeping the series and their
    /// index: a long-running service keeps only the window its rules read.
    pub fn drop_before(&mut self, t: i64) {
        for s in &mut self.series {
            let keep_from = s.samples.partition_point(|x| x.t < t);
            if keep_from > 0 {
                s.samples.drain(..keep_from);
            }
        }
    }

    /// Label names present in the store, sorted.
    pub fn label_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.postings.keys().map(|(n, _)| n.clone()).collect();
        v.sort();
        v.dedup();
        v
    }
}

fn intersect(a: &[usize], b: &[usize]) -> Vec<usize> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MatchOp;

    fn l(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn select_uses_all_matchers() {
        let mut s = MemStore::new();
        s.append(&l(&[("__name__", "up"), ("job", "a")]), 0, 1.0)
            .unwrap();
        s.append(&l(&[("__name__", "up"), ("job", "b")]), 0, 0.0)
            .unwrap();
        s.append(&l(&[("__name__", "down"), ("job", "a")]), 0, 0.0)
            .unwrap();
        let m = vec![
            Matcher::equal("__name__", "up"),
            Matcher::new("job", MatchOp::NotEqual, "b").unwrap(),
        ];
        let got = s.select(&m);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].labels.get("job"), Some("a"));
    }

    #[test]
    fn select_sorted_orders_by_labels_after_additions() {
        let mut s = MemStore::new();
        s.append(&l(&[("__name__", "up"), ("job", "b")]), 0, 1.0)
            .unwrap();
        s.append(&l(&[("__name__", "up"), ("job", "a")]), 0, 1.0)
            .unwrap();
        let jobs = |s: &MemStore| -> Vec<String> {
            s.select_sorted(&[Matcher::equal("__name__", "up")])
                .iter()
                .map(|x| x.labels.get("job").unwrap().to_string())
                .collect()
        };
        assert_eq!(jobs(&s), vec!["a", "b"]);
        s.append(&l(&[("__name__", "up"), ("job", "0")]), 0, 1.0)
            .unwrap();
        assert_eq!(jobs(&s), vec!["0", "a", "b"]);
    }

    #[test]
    fn select_sorted_merges_batches_of_new_series() {
        let mut s = MemStore::new();
        let mut expect: Vec<String> = Vec::new();
        // Batches that land before, between and after earlier series.
        for (batch, n) in [(0, 50), (1, 3), (2, 1), (3, 20)] {
            for i in 0..n {
                let job = format!("{:03}", (i * 37 + batch * 11) % 101);
                let inst = format!("b{batch}");
                s.append(
                    &l(&[("__name__", "up"), ("job", &job), ("i", &inst)]),
                    0,
                    1.0,
                )
                .unwrap();
                expect.push(format!("{inst}/{job}"));
            }
            // Labels sort by name first: `i` before `job`.
            expect.sort();
            let got: Vec<String> = s
                .select_sorted(&[Matcher::equal("__name__", "up")])
                .iter()
                .map(|x| {
                    format!(
                        "{}/{}",
                        x.labels.get("i").unwrap(),
                        x.labels.get("job").unwrap()
                    )
                })
                .collect();
            assert_eq!(got, expect, "after batch {batch}");
        }
    }

    #[test]
    fn out_of_order_rejected_same_time_replaced() {
        let mut s = MemStore::new();
        let lb = l(&[("__name__", "x")]);
        s.append(&lb, 10, 1.0).unwrap();
        s.append(&lb, 10, 2.0).unwrap();
        assert!(s.append(&lb, 5, 1.0).is_err());
        assert_eq!(s.series()[0].samples, vec![Sample { t: 10, v: 2.0 }]);
    }
}
