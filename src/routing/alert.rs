//! The alert as routing sees it: labels identify it, annotations ride along,
//! and `ends_at` says when it stops firing.

use std::collections::BTreeMap;

use crate::model::{Labels, Timestamp};

#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub labels: Labels,
    pub annotations: BTreeMap<String, String>,
    pub starts_at: Timestamp,
    /// None: firing until told otherwise. The layer that feeds alerts in
    /// applies `global.resolve_timeout` to senders that give no end time.
    pub ends_at: Option<Timestamp>,
    pub generator_url: String,
}

impl Alert {
    /// A firing alert with no end time.
    pub fn firing(labels: Labels, starts_at: Timestamp) -> Self {
        Alert {
            labels,
            annotations: BTreeMap::new(),
            starts_at,
            ends_at: None,
            generator_url: String::new(),
        }
    }

    /// Resolved once `now` reaches the end time.
    pub fn resolved_at(&self, now: Timestamp) -> bool {
        self.ends_at.is_some_and(|e| e <= now)
    }
}
