//! The in-memory series store the embedded engine reads: series with sorted
//! samples, and a postings index from label pair to series for fast selection.

use super::{matcher::Matcher, Labels, MatchOp, Sample, Series};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// Ascending series ids.
type Ids = Vec<u32>;

#[derive(Debug, Default, Clone)]
pub struct MemStore {
    series: Vec<Series>,
    /// Label-set hash -> series with that hash. The label sets themselves
    /// live only in `series`, so the index costs no second copy of them.
    by_hash: HashMap<u64, HashIds, FxBuild>,
    /// Label name -> value -> ids of the series having that pair, ascending.
    postings: Postings,
    /// Series ids in label-set order, brought up to date on first use after
    /// series were added (see [`MemStore::select_sorted`]).
    label_rank: LabelRank,
    /// Per-series values the engine derives from label sets (see
    /// [`MemStore::with_memo`]).
    memos: Memos,
}

/// Memos by name, behind a lock so that queries (`&MemStore`) can fill
/// them. A copy of the store starts with none.
#[derive(Debug, Default)]
struct Memos(std::sync::Mutex<HashMap<String, SeriesMemo, FxBuild>>);

impl Clone for Memos {
    fn clone(&self) -> Self {
        Memos::default()
    }
}

/// A value per series id, derived from the series' labels by a rule the
/// caller names, plus an interning table for those values (for instance
/// the aggregation group key of a `by (...)` clause and its index). Label
/// sets never change in the store, so a derived value stays valid; reading
/// it touches no label string.
#[derive(Debug, Default)]
pub struct SeriesMemo {
    values: Vec<u32>,
    interned: HashMap<String, u32, FxBuild>,
}

impl SeriesMemo {
    /// Interned keys beyond which a memo starts over (it is only a cache).
    const MAX_KEYS: usize = 1 << 20;

    /// The value recorded for series `id`.
    pub fn get(&self, id: usize) -> Option<u32> {
        self.values.get(id).copied().filter(|&v| v != u32::MAX)
    }

    pub fn set(&mut self, id: usize, v: u32) {
        if id >= self.values.len() {
            self.values.resize(id + 1, u32::MAX);
        }
        self.values[id] = v;
    }

    /// The number of `key`, the same for equal keys.
    pub fn intern(&mut self, key: &str) -> u32 {
        if let Some(&k) = self.interned.get(key) {
            return k;
        }
        let k = self.interned.len() as u32;
        self.interned.insert(key.to_string(), k);
        k
    }
}

/// The ids under one label-set hash: nearly always exactly one.
#[derive(Debug, Clone)]
enum HashIds {
    One(u32),
    Many(Vec<u32>),
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
        sort_by_labels(&mut new, series);
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

    /// Puts `ids` (all covered) in label-set order. Large selections mark
    /// their ranks in a bitmap and read it back in order, O(k + n/64),
    /// instead of sorting by an indirect key.
    fn sort(&self, ids: &mut [u32]) {
        if ids.len() < 64 {
            ids.sort_unstable_by_key(|&id| self.rank[id as usize]);
            return;
        }
        let mut bits = vec![0u64; self.order.len().div_ceil(64)];
        for &id in ids.iter() {
            let r = self.rank[id as usize] as usize;
            bits[r / 64] |= 1 << (r % 64);
        }
        let mut out = ids.iter_mut();
        for (w, &word) in bits.iter().enumerate() {
            let mut word = word;
            while word != 0 {
                let b = word.trailing_zeros() as usize;
                word &= word - 1;
                if let Some(slot) = out.next() {
                    *slot = self.order[w * 64 + b];
                }
            }
        }
    }
}

/// Batches at least this large are sorted in two halves at once.
const PARALLEL_SORT: usize = 1 << 15;

/// Sorts `ids` by label set. Large batches compare flat keys instead
/// (`name 0 value 0 ...` in one buffer, which order like the label sets
/// as long as no string holds a NUL byte): one comparison of nearby bytes
/// instead of a string comparison per label over scattered allocations.
fn sort_by_labels(ids: &mut [u32], series: &[Series]) {
    let labels = |id: u32| &series[id as usize].labels;
    if ids.len() < 1024 {
        ids.sort_unstable_by(|&a, &b| labels(a).cmp(labels(b)));
        return;
    }
    let mut buf: Vec<u8> = Vec::new();
    let mut ends: Vec<usize> = Vec::with_capacity(ids.len() + 1);
    ends.push(0);
    let mut nul_free = true;
    for &id in ids.iter() {
        for l in labels(id) {
            for part in [l.name.as_bytes(), l.value.as_bytes()] {
                nul_free &= !part.contains(&0);
                buf.extend_from_slice(part);
                buf.push(0);
            }
        }
        ends.push(buf.len());
    }
    if !nul_free {
        ids.sort_unstable_by(|&a, &b| labels(a).cmp(labels(b)));
        return;
    }
    let key = |pos: u32| &buf[ends[pos as usize]..ends[pos as usize + 1]];
    let cmp = |a: &u32, b: &u32| key(*a).cmp(key(*b));
    let mut perm: Vec<u32> = (0..ids.len() as u32).collect();
    if perm.len() < PARALLEL_SORT {
        perm.sort_unstable_by(cmp);
    } else {
        // Both halves sorted at once, then merged.
        let (lo, hi) = perm.split_at_mut(ids.len() / 2);
        crate::parallel::join(|| lo.sort_unstable_by(cmp), || hi.sort_unstable_by(cmp));
        let (lo, hi) = perm.split_at(ids.len() / 2);
        let mut merged = Vec::with_capacity(perm.len());
        let (mut i, mut j) = (0, 0);
        while i < lo.len() && j < hi.len() {
            if cmp(&hi[j], &lo[i]).is_lt() {
                merged.push(hi[j]);
                j += 1;
            } else {
                merged.push(lo[i]);
                i += 1;
            }
        }
        merged.extend_from_slice(&lo[i..]);
        merged.extend_from_slice(&hi[j..]);
        perm = merged;
    }
    let sorted: Vec<u32> = perm.iter().map(|&p| ids[p as usize]).collect();
    ids.copy_from_slice(&sorted);
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

    fn find(&self, labels: &Labels, hash: u64) -> Option<usize> {
        match self.by_hash.get(&hash)? {
            HashIds::One(id) => Some(*id as usize).filter(|&id| self.series[id].labels == *labels),
            HashIds::Many(ids) => ids
                .iter()
                .map(|&id| id as usize)
                .find(|&id| self.series[id].labels == *labels),
        }
    }

    fn series_id(&mut self, labels: &Labels) -> usize {
        let hash = hash_labels(labels);
        if let Some(id) = self.find(labels, hash) {
            return id;
        }
        let id = self.series.len();
        let id32 = u32::try_from(id).expect("fewer than 2^32 series");
        add_postings(&mut self.postings, labels, id32);
        add_hash(&mut self.by_hash, hash, id32);
        self.series.push(Series {
            labels: labels.clone(),
            samples: Vec::new(),
        });
        id
    }

    /// A store of `series`, whose label sets must be distinct (a parsed
    /// file's series are). The hash index and the postings are built on
    /// two threads: bulk loading a large snapshot spent most of its
    /// single-threaded time here.
    pub fn from_distinct_series(mut series: Vec<Series>) -> MemStore {
        assert!(
            u32::try_from(series.len()).is_ok(),
            "fewer than 2^32 series"
        );
        for s in &mut series {
            if !s.samples.windows(2).all(|w| w[0].t < w[1].t) {
                let unsorted = std::mem::take(&mut s.samples);
                for x in unsorted {
                    insert_sample(&mut s.samples, x);
                }
            }
        }
        let (by_hash, postings) = crate::parallel::join(
            || {
                let mut by_hash = HashMap::default();
                for (id, s) in series.iter().enumerate() {
                    add_hash(&mut by_hash, hash_labels(&s.labels), id as u32);
                }
                by_hash
            },
            || {
                let mut postings = HashMap::default();
                for (id, s) in series.iter().enumerate() {
                    add_postings(&mut postings, &s.labels, id as u32);
                }
                postings
            },
        );
        MemStore {
            series,
            by_hash,
            postings,
            ..MemStore::default()
        }
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
        insert_sample(&mut self.series[id].samples, Sample { t, v });
    }

    /// Like [`MemStore::insert`] for several samples of one series, looking
    /// the series up once (bulk loading).
    pub fn insert_many(&mut self, labels: &Labels, samples: impl IntoIterator<Item = Sample>) {
        let id = self.series_id(labels);
        let s = &mut self.series[id].samples;
        let samples = samples.into_iter();
        if s.is_empty() {
            // A new series (bulk loading): one exact allocation, and in time
            // order, as files usually are, no search either.
            s.extend(samples);
            if !s.windows(2).all(|w| w[0].t < w[1].t) {
                let unsorted = std::mem::take(s);
                for x in unsorted {
                    insert_sample(s, x);
                }
            }
            return;
        }
        for x in samples {
            insert_sample(s, x);
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

    /// All series matching every matcher, in id order. Matchers are turned
    /// into postings lists (see [`MemStore::select_ids`]).
    pub fn select(&self, matchers: &[Matcher]) -> Vec<&Series> {
        self.select_ids(matchers)
            .into_iter()
            .map(|id| &self.series[id as usize])
            .collect()
    }

    /// Ids of the series matching every matcher, ascending: the postings
    /// of `=` matchers are intersected first; every other matcher is
    /// evaluated once per distinct value of its label and applied as a
    /// union of postings (or its complement, when the matcher also accepts
    /// a missing label), unless the candidates are already fewer than the
    /// label's values, in which case they are filtered directly.
    fn select_ids(&self, matchers: &[Matcher]) -> Ids {
        let mut eq: Vec<&[u32]> = Vec::new();
        let mut rest: Vec<&Matcher> = Vec::new();
        for m in matchers {
            if m.op == MatchOp::Equal && !m.value.is_empty() {
                match self
                    .postings
                    .get(m.name.as_str())
                    .and_then(|v| v.get(m.value.as_str()))
                {
                    Some(ids) => eq.push(ids),
                    None => return Vec::new(),
                }
            } else {
                rest.push(m);
            }
        }
        eq.sort_by_key(|ids| ids.len());
        let mut cand: Option<Ids> = None;
        for ids in eq {
            cand = Some(match cand {
                None => ids.to_vec(),
                Some(c) => intersect(&c, ids),
            });
        }
        // Matchers that need the label first: they narrow, the others subtract.
        rest.sort_by_key(|m| m.matches_empty());
        for m in rest {
            if cand.as_ref().is_some_and(|c| c.is_empty()) {
                break;
            }
            let values = self.postings.get(m.name.as_str());
            let distinct = values.map_or(0, |v| v.len());
            if let Some(c) = &mut cand {
                if c.len() <= distinct {
                    c.retain(|&id| m.matches(&self.series[id as usize].labels));
                    continue;
                }
            }
            let wanted = !m.matches_empty();
            let mut lists: Vec<&[u32]> = Vec::new();
            if let Some(values) = values {
                for (v, ids) in values {
                    if m.matches_value(v) == wanted {
                        lists.push(ids);
                    }
                }
            }
            let set = union(lists);
            cand = Some(match (cand, wanted) {
                (None, true) => set,
                (Some(c), true) => intersect(&c, &set),
                (None, false) => subtract_from_all(self.series.len(), &set),
                (Some(c), false) => subtract(&c, &set),
            });
        }
        cand.unwrap_or_else(|| (0..self.series.len() as u32).collect())
    }

    /// Like [`MemStore::select`], but ordered by label set, the order in which
    /// Prometheus's storage returns series (PromQL results such as topk ties
    /// depend on it). Uses a cached rank that new series are merged into, so
    /// large selections are not re-sorted by label comparison on every query.
    pub fn select_sorted(&self, matchers: &[Matcher]) -> Vec<&Series> {
        let mut ids = self.select_ids(matchers);
        if ids.len() >= 2 {
            let mut cache = self.label_rank.lock();
            cache.update(&self.series);
            cache.sort(&mut ids);
        }
        ids.into_iter()
            .map(|id| &self.series[id as usize])
            .collect()
    }

    /// The id of the series whose label set `labels` is (the very value in
    /// the store, not an equal copy), found by its address.
    pub fn id_of(&self, labels: &Labels) -> Option<usize> {
        let base = self.series.as_ptr() as usize + std::mem::offset_of!(Series, labels);
        let off = (labels as *const Labels as usize).checked_sub(base)?;
        let size = std::mem::size_of::<Series>();
        let id = off / size;
        (off % size == 0 && id < self.series.len() && std::ptr::eq(&self.series[id].labels, labels))
            .then_some(id)
    }

    /// Runs `f` on the memo named `name` (created empty on first use).
    pub fn with_memo<R>(&self, name: &str, f: impl FnOnce(&mut SeriesMemo) -> R) -> R {
        let mut memos = self.memos.0.lock().unwrap_or_else(|e| e.into_inner());
        if !memos.contains_key(name) {
            memos.insert(name.to_string(), SeriesMemo::default());
        }
        let memo = memos.get_mut(name).expect("inserted above");
        if memo.interned.len() > SeriesMemo::MAX_KEYS {
            *memo = SeriesMemo::default();
        }
        f(memo)
    }

    /// Does any series have a label called `name`?
    pub fn has_label_name(&self, name: &str) -> bool {
        self.postings.contains_key(name)
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
        let mut v: Vec<String> = self.postings.keys().cloned().collect();
        v.sort();
        v
    }
}

type Postings = HashMap<String, HashMap<String, Ids, FxBuild>, FxBuild>;

/// Adds series `id` to the postings of each of its label pairs.
fn add_postings(postings: &mut Postings, labels: &Labels, id: u32) {
    for l in labels {
        let values = match postings.get_mut(l.name.as_str()) {
            Some(v) => v,
            None => postings.entry(l.name.clone()).or_default(),
        };
        match values.get_mut(l.value.as_str()) {
            Some(ids) => ids.push(id),
            None => {
                values.insert(l.value.clone(), vec![id]);
            }
        }
    }
}

/// Adds series `id` under its label-set hash.
fn add_hash(by_hash: &mut HashMap<u64, HashIds, FxBuild>, hash: u64, id: u32) {
    match by_hash.get_mut(&hash) {
        None => {
            by_hash.insert(hash, HashIds::One(id));
        }
        Some(HashIds::One(other)) => {
            let other = *other;
            by_hash.insert(hash, HashIds::Many(vec![other, id]));
        }
        Some(HashIds::Many(ids)) => ids.push(id),
    }
}

/// Inserts `x` in time order; replaces a sample at the same time. Appending
/// after the last sample, the common case, needs no search.
fn insert_sample(s: &mut Vec<Sample>, x: Sample) {
    match s.last_mut() {
        None => s.push(x),
        Some(last) if last.t < x.t => s.push(x),
        Some(last) if last.t == x.t => last.v = x.v,
        _ => match s.binary_search_by(|y| y.t.cmp(&x.t)) {
            Ok(i) => s[i].v = x.v,
            Err(i) => s.insert(i, x),
        },
    }
}

/// The rustc "Fx" hash: the store's maps are keyed by label data it already
/// holds, and SipHash showed in load profiles.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.write_u64(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            self.write_u64(u64::from_le_bytes(buf));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.write_u64(i as u64);
    }

    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }

    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) type FxBuild = BuildHasherDefault<FxHasher>;

pub(crate) fn hash_labels(labels: &Labels) -> u64 {
    let mut h = FxHasher::default();
    labels.hash(&mut h);
    h.finish()
}

/// The union of disjoint ascending lists (a series has one value per label
/// name, so the postings of different values never share an id).
fn union(lists: Vec<&[u32]>) -> Ids {
    match lists.len() {
        0 => Vec::new(),
        1 => lists[0].to_vec(),
        _ => {
            let mut out: Ids = Vec::with_capacity(lists.iter().map(|l| l.len()).sum());
            for l in lists {
                out.extend_from_slice(l);
            }
            out.sort_unstable();
            out
        }
    }
}

fn intersect(a: &[u32], b: &[u32]) -> Ids {
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

/// `a` without the ids in `b` (both ascending).
fn subtract(a: &[u32], b: &[u32]) -> Ids {
    let mut j = 0;
    let mut out = Vec::with_capacity(a.len());
    for &x in a {
        while j < b.len() && b[j] < x {
            j += 1;
        }
        if j < b.len() && b[j] == x {
            continue;
        }
        out.push(x);
    }
    out
}

/// `0..n` without the ids in `b` (ascending).
fn subtract_from_all(n: usize, b: &[u32]) -> Ids {
    let mut out = Vec::with_capacity(n.saturating_sub(b.len()));
    let mut j = 0;
    for x in 0..n as u32 {
        if j < b.len() && b[j] == x {
            j += 1;
            continue;
        }
        out.push(x);
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

    /// Postings-based selection gives what filtering every series gives,
    /// for every kind of matcher, with and without `=` candidates, on labels
    /// with few and with many values.
    #[test]
    fn select_matches_brute_force() {
        let mut s = MemStore::new();
        for i in 0..300 {
            let code = ["200", "404", "500", "503"][i % 4];
            let mut pairs = vec![
                ("__name__", if i % 3 == 0 { "a" } else { "b" }.to_string()),
                ("code", code.to_string()),
                ("inst", format!("i{i}")),
            ];
            if i % 5 == 0 {
                pairs.push(("env", "prod".to_string()));
            }
            s.append(&Labels::from_pairs(pairs), 0, i as f64).unwrap();
        }
        let m = |n: &str, op: MatchOp, v: &str| Matcher::new(n, op, v).unwrap();
        let sets: Vec<Vec<Matcher>> = vec![
            vec![m("code", MatchOp::Regex, "5..")],
            vec![
                m("__name__", MatchOp::Equal, "a"),
                m("code", MatchOp::Regex, "5.."),
            ],
            vec![
                m("__name__", MatchOp::Equal, "b"),
                m("code", MatchOp::NotEqual, "200"),
            ],
            vec![
                m("__name__", MatchOp::Equal, "b"),
                m("env", MatchOp::NotEqual, "prod"),
            ],
            vec![
                m("__name__", MatchOp::Equal, "b"),
                m("env", MatchOp::Equal, ""),
            ],
            vec![m("env", MatchOp::Regex, "prod|")],
            vec![m("env", MatchOp::NotRegex, "p.*")],
            vec![m("inst", MatchOp::Regex, "i1.")],
            vec![
                m("__name__", MatchOp::Equal, "a"),
                m("inst", MatchOp::NotRegex, "i1.*"),
            ],
            vec![
                m("__name__", MatchOp::Equal, "a"),
                m("code", MatchOp::Equal, "404"),
            ],
            vec![
                m("__name__", MatchOp::Equal, "a"),
                m("missing", MatchOp::Equal, "x"),
            ],
            vec![
                m("__name__", MatchOp::Regex, ".+"),
                m("code", MatchOp::NotRegex, "2..|4.."),
            ],
            vec![m("nolabel", MatchOp::NotEqual, "x")],
        ];
        for ms in sets {
            let want: Vec<f64> = s
                .series()
                .iter()
                .filter(|x| ms.iter().all(|m| m.matches(&x.labels)))
                .map(|x| x.samples[0].v)
                .collect();
            let got: Vec<f64> = s.select(&ms).iter().map(|x| x.samples[0].v).collect();
            assert_eq!(got, want, "{ms:?}");
        }
    }

    /// The flat-key sort of large batches orders like `Labels::cmp`,
    /// including label sets that are prefixes of others and NUL bytes.
    #[test]
    fn large_batches_sort_like_label_sets() {
        // One batch sorted in one piece, one in two halves merged.
        for n in [3000u32, PARALLEL_SORT as u32 + 5000] {
            large_batch_sorts_like_label_sets(n);
        }
    }

    fn large_batch_sorts_like_label_sets(n: u32) {
        let mut series = Vec::new();
        for i in 0..n {
            let mut pairs = vec![("__name__", format!("m{}", i % 7))];
            if i % 3 != 0 {
                pairs.push(("a", format!("{}", (i * 7919) % 1000)));
            }
            if i % 5 == 0 {
                pairs.push(("b", "x".to_string()));
            }
            series.push(Series {
                labels: Labels::from_pairs(pairs),
                samples: Vec::new(),
            });
        }
        let check = |series: &[Series]| {
            let mut ids: Vec<u32> = (0..series.len() as u32).rev().collect();
            sort_by_labels(&mut ids, series);
            for w in ids.windows(2) {
                let (a, b) = (&series[w[0] as usize].labels, &series[w[1] as usize].labels);
                assert!(a <= b, "{a} > {b}");
            }
        };
        check(&series);
        series.push(Series {
            labels: Labels::from_pairs([("__name__", "m1"), ("a", "1\u{0}2")]),
            samples: Vec::new(),
        });
        check(&series);
    }

    #[test]
    fn a_store_from_distinct_series_is_the_store_built_one_by_one() {
        let mut one_by_one = MemStore::new();
        let mut series = Vec::new();
        for i in 0..500u32 {
            let labels = l(&[
                ("__name__", if i % 3 == 0 { "a" } else { "b" }),
                ("job", &format!("j{}", i % 7)),
                ("i", &i.to_string()),
            ]);
            // Out of order for some series: both ways sort them.
            let ts: Vec<i64> = if i % 5 == 0 {
                vec![30, 10, 20]
            } else {
                vec![10, 20, 30]
            };
            let samples: Vec<Sample> = ts
                .iter()
                .map(|&t| Sample {
                    t,
                    v: f64::from(i) + t as f64,
                })
                .collect();
            one_by_one.insert_many(&labels, samples.clone());
            series.push(Series { labels, samples });
        }
        let bulk = MemStore::from_distinct_series(series);
        let dump = |s: &MemStore, m: &[Matcher]| {
            s.select_sorted(m)
                .iter()
                .map(|x| format!("{} {:?}", x.labels, x.samples))
                .collect::<Vec<_>>()
        };
        let m = |n: &str, op: MatchOp, v: &str| Matcher::new(n, op, v).unwrap();
        for sel in [
            vec![m("__name__", MatchOp::Equal, "a")],
            vec![
                m("job", MatchOp::Equal, "j3"),
                m("i", MatchOp::Regex, "1.*"),
            ],
            vec![
                m("__name__", MatchOp::NotEqual, "a"),
                m("job", MatchOp::NotRegex, "j[0-4]"),
            ],
        ] {
            let got = dump(&bulk, &sel);
            assert!(!got.is_empty());
            assert_eq!(got, dump(&one_by_one, &sel));
        }
        assert_eq!(bulk.label_names(), one_by_one.label_names());
        // A later insert finds the bulk-loaded series in the hash index.
        let mut bulk = bulk;
        let first = one_by_one.series()[0].labels.clone();
        bulk.insert(&first, 40, 1.0);
        assert_eq!(bulk.len(), 500);
    }

    #[test]
    fn id_of_finds_only_the_stored_value() {
        let mut s = MemStore::new();
        for job in ["a", "b", "c"] {
            s.append(&l(&[("job", job)]), 0, 1.0).unwrap();
        }
        assert_eq!(s.id_of(&s.series()[2].labels), Some(2));
        assert_eq!(s.id_of(&s.series()[0].labels), Some(0));
        // An equal copy elsewhere in memory is not the stored value.
        let copy = s.series()[1].labels.clone();
        assert_eq!(s.id_of(&copy), None);
    }

    #[test]
    fn memo_values_and_interning() {
        let s = MemStore::new();
        s.with_memo("m", |m| {
            assert_eq!(m.intern("x"), 0);
            assert_eq!(m.intern("y"), 1);
            assert_eq!(m.intern("x"), 0);
            m.set(5, 1);
        });
        s.with_memo("m", |m| {
            assert_eq!(m.get(5), Some(1));
            assert_eq!(m.get(4), None);
            assert_eq!(m.get(99), None);
        });
        s.with_memo("other", |m| assert_eq!(m.get(5), None));
    }

    #[test]
    fn insert_many_merges_in_time_order() {
        let mut s = MemStore::new();
        let lb = l(&[("__name__", "x")]);
        s.insert_many(&lb, [10, 30, 20].map(|t| Sample { t, v: t as f64 }));
        s.insert_many(&lb, [Sample { t: 20, v: 2.0 }, Sample { t: 40, v: 4.0 }]);
        let ts: Vec<(i64, f64)> = s.series()[0].samples.iter().map(|x| (x.t, x.v)).collect();
        assert_eq!(ts, vec![(10, 10.0), (20, 2.0), (30, 30.0), (40, 4.0)]);
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
