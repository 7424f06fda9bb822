//! Why an alert is not notified. Every muting source (silences, inhibition,
//! time intervals) answers with a reason instead of a bare yes/no, so the
//! dispatcher and status views can show it.

use crate::model::{Labels, Timestamp};

/// The reason an alert or a whole group is held back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MuteReason {
    /// Matched by these active silences (ids, sorted).
    Silenced { ids: Vec<String> },
    /// A firing source alert matched an inhibit rule.
    Inhibited {
        rule: Option<String>,
        rule_index: usize,
        source: Labels,
    },
    /// The route is inside one of its `mute_time_intervals`.
    MuteTimeInterval { names: Vec<String> },
    /// The route has `active_time_intervals` and is outside all of them.
    OutsideActiveTimeInterval { names: Vec<String> },
}

impl std::fmt::Display for MuteReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MuteReason::Silenced { ids } => write!(f, "silenced by {}", ids.join(",")),
            MuteReason::Inhibited {
                rule,
                rule_index,
                source,
            } => match rule {
                Some(n) => write!(f, "inhibited by {source} (rule {n:?})"),
                None => write!(f, "inhibited by {source} (inhibit_rules.{rule_index})"),
            },
            MuteReason::MuteTimeInterval { names } => {
                write!(f, "muted by time interval {}", names.join(","))
            }
            MuteReason::OutsideActiveTimeInterval { names } => {
                write!(f, "outside active time intervals {}", names.join(","))
            }
        }
    }
}

/// Something that can hold an alert back.
///
/// Called by the dispatcher at every flush of a group, once per alert, with
/// the flush time; the answer may change between calls (a silence expires, a
/// source alert resolves). `None` means "not muted by me". Implementations
/// must not read the clock themselves.
pub trait Muter {
    fn mutes(&self, labels: &Labels, now: Timestamp) -> Option<MuteReason>;
}
