//! Label sets: sorted by name, unique names, like Prometheus's `labels.Labels`.
//! A set is shared behind an `Arc` and copied on write, so the engine can
//! hand the store's label sets around (selectors, range vectors, results)
//! without copying strings.

use std::fmt;
use std::sync::Arc;

/// The label that carries the metric name.
pub const METRIC_NAME: &str = "__name__";

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Label {
    pub name: String,
    pub value: String,
}

/// A label set kept sorted by name. Empty values are dropped on construction,
/// because Prometheus treats an empty label value as an absent label.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Labels(Arc<Vec<Label>>);

impl Labels {
    pub fn new() -> Self {
        Labels::default()
    }

    /// Wraps labels that are already sorted by name, unique and non-empty.
    fn from_sorted(v: Vec<Label>) -> Self {
        Labels(Arc::new(v))
    }

    /// Builds a label set from pairs; later duplicates win, empty values are dropped.
    pub fn from_pairs<I, N, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (N, V)>,
        N: Into<String>,
        V: Into<String>,
    {
        let mut b: Vec<Label> = Vec::new();
        for (n, v) in pairs {
            set_in(&mut b, n.into(), v.into());
        }
        Labels::from_sorted(b)
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Label> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        // Label sets are small: a scan that rejects on length first beats a
        // binary search of string comparisons (this is the engine's hottest
        // label lookup).
        if self.0.len() <= 16 {
            return self
                .0
                .iter()
                .find(|l| l.name.len() == name.len() && l.name == name)
                .map(|l| l.value.as_str());
        }
        self.0
            .binary_search_by(|l| l.name.as_str().cmp(name))
            .ok()
            .map(|i| self.0[i].value.as_str())
    }

    /// True when the set holds `__type__` or `__unit__`, the metadata labels
    /// that go together with `__name__` (see [`Labels::without_metric_name`]).
    pub fn has_name_metadata(&self) -> bool {
        // Sorted by name: `__type__` and `__unit__` sort before every name
        // that starts with a byte after `_`, so stop at the first such name.
        self.0
            .iter()
            .take_while(|l| l.name.as_bytes().first().is_some_and(|&b| b <= b'_'))
            .any(|l| matches!(l.name.as_str(), "__type__" | "__unit__"))
    }

    /// Value of `name`, or "" when absent (Prometheus's `Labels.Get`).
    pub fn get_or_empty(&self, name: &str) -> &str {
        self.get(name).unwrap_or("")
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Sets a label; an empty value removes it.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        let value = value.into();
        let found = self.0.binary_search_by(|l| l.name.as_str().cmp(&name));
        // Only copy a shared set when the change does something.
        match found {
            Ok(i) if self.0[i].value == value => {}
            Err(_) if value.is_empty() => {}
            _ => set_in(Arc::make_mut(&mut self.0), name, value),
        }
    }

    pub fn remove(&mut self, name: &str) {
        if let Ok(i) = self.0.binary_search_by(|l| l.name.as_str().cmp(name)) {
            Arc::make_mut(&mut self.0).remove(i);
        }
    }

    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    /// A copy without `__name__` (and the `__type__`/`__unit__` metadata labels
    /// that Prometheus drops together with the name).
    pub fn without_metric_name(&self) -> Labels {
        let dropped = |l: &Label| {
            l.name.starts_with("__")
                && matches!(l.name.as_str(), METRIC_NAME | "__type__" | "__unit__")
        };
        if !self.0.iter().any(dropped) {
            return self.clone();
        }
        Labels::from_sorted(
            self.0
                .iter()
                .filter(|l| !matches!(l.name.as_str(), METRIC_NAME | "__type__" | "__unit__"))
                .cloned()
                .collect(),
        )
    }

    /// Keeps only the named labels.
    pub fn keep(&self, names: &[String]) -> Labels {
        Labels::from_sorted(
            self.0
                .iter()
                .filter(|l| names.iter().any(|n| n == &l.name))
                .cloned()
                .collect(),
        )
    }

    /// Drops the named labels.
    pub fn drop_names(&self, names: &[String]) -> Labels {
        Labels::from_sorted(
            self.0
                .iter()
                .filter(|l| !names.iter().any(|n| n == &l.name))
                .cloned()
                .collect(),
        )
    }

    pub fn into_vec(self) -> Vec<Label> {
        Arc::try_unwrap(self.0).unwrap_or_else(|shared| (*shared).clone())
    }

    /// True when both sets share one allocation (so are equal without
    /// comparing strings).
    pub fn ptr_eq(&self, other: &Labels) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    pub fn as_slice(&self) -> &[Label] {
        &self.0
    }

    /// A stable 64-bit hash of the label set, for grouping and map keys.
    pub fn hash64(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.hash(&mut h);
        h.finish()
    }
}

/// Sets `name` to `value` in a sorted label vector; an empty value removes it.
fn set_in(v: &mut Vec<Label>, name: String, value: String) {
    match v.binary_search_by(|l| l.name.as_str().cmp(&name)) {
        Ok(i) => {
            if value.is_empty() {
                v.remove(i);
            } else {
                v[i].value = value;
            }
        }
        Err(i) => {
            if !value.is_empty() {
                v.insert(i, Label { name, value });
            }
        }
    }
}

impl PartialOrd for Labels {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Prometheus's `labels.Compare`: name by name, then value by value, then length.
impl Ord for Labels {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        if self.ptr_eq(other) {
            return std::cmp::Ordering::Equal;
        }
        for (a, b) in self.0.iter().zip(other.0.iter()) {
            let c = a.name.cmp(&b.name);
            if c != std::cmp::Ordering::Equal {
                return c;
            }
            let c = a.value.cmp(&b.value);
            if c != std::cmp::Ordering::Equal {
                return c;
            }
        }
        self.0.len().cmp(&other.0.len())
    }
}

impl<'a> IntoIterator for &'a Labels {
    type Item = &'a Label;
    type IntoIter = std::slice::Iter<'a, Label>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl FromIterator<Label> for Labels {
    fn from_iter<T: IntoIterator<Item = Label>>(iter: T) -> Self {
        Labels::from_pairs(iter.into_iter().map(|l| (l.name, l.value)))
    }
}

/// Prints like Prometheus: `name{a="1", b="2"}` or `{a="1"}`.
impl fmt::Display for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.metric_name();
        if let Some(n) = name {
            f.write_str(n)?;
        }
        let rest: Vec<&Label> = self.0.iter().filter(|l| l.name != METRIC_NAME).collect();
        if rest.is_empty() && name.is_some() {
            return Ok(());
        }
        f.write_str("{")?;
        for (i, l) in rest.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}={:?}", l.name, l.value)?;
        }
        f.write_str("}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_and_empty_values_dropped() {
        let l = Labels::from_pairs([("b", "2"), ("a", "1"), ("c", "")]);
        assert_eq!(l.to_string(), r#"{a="1", b="2"}"#);
        assert_eq!(l.get("a"), Some("1"));
        assert_eq!(l.get("c"), None);
    }

    #[test]
    fn display_with_name() {
        let l = Labels::from_pairs([("__name__", "up"), ("job", "x")]);
        assert_eq!(l.to_string(), r#"up{job="x"}"#);
        assert_eq!(Labels::from_pairs([("__name__", "up")]).to_string(), "up");
    }

    #[test]
    fn clones_share_until_written() {
        let a = Labels::from_pairs([("__name__", "up"), ("job", "x")]);
        let mut b = a.clone();
        assert!(a.ptr_eq(&b));
        b.set("job", "x");
        assert!(a.ptr_eq(&b), "setting the same value copies nothing");
        b.set("job", "y");
        b.remove("__name__");
        assert_eq!(a.to_string(), r#"up{job="x"}"#);
        assert_eq!(b.to_string(), r#"{job="y"}"#);
        assert!(!a.ptr_eq(&b));
    }

    #[test]
    fn without_metric_name_and_metadata() {
        let plain = Labels::from_pairs([("job", "x")]);
        assert!(plain.without_metric_name().ptr_eq(&plain));
        assert!(!plain.has_name_metadata());
        let meta =
            Labels::from_pairs([("__name__", "m"), ("__unit__", "s"), ("Z", "1"), ("a", "2")]);
        assert!(meta.has_name_metadata());
        assert_eq!(meta.without_metric_name().to_string(), r#"{Z="1", a="2"}"#);
        assert!(Labels::from_pairs([("__type__", "gauge")]).has_name_metadata());
    }

    #[test]
    fn get_on_small_and_large_sets() {
        let small = Labels::from_pairs([("instance", "i"), ("__name__", "n")]);
        assert_eq!(small.get("__name__"), Some("n"));
        assert_eq!(small.get("instance"), Some("i"));
        assert_eq!(small.get("job"), None);
        let large = Labels::from_pairs((0..40).map(|i| (format!("l{i:02}"), format!("v{i}"))));
        assert_eq!(large.get("l17"), Some("v17"));
        assert_eq!(large.get("l40"), None);
    }

    #[test]
    fn compare_like_prometheus() {
        let a = Labels::from_pairs([("a", "1")]);
        let b = Labels::from_pairs([("a", "1"), ("b", "1")]);
        assert!(a < b);
    }
}
