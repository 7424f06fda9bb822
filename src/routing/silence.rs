//! Silences: matchers plus a time window, created by someone with a comment,
//! persisted as JSON (atomic write: temp file, fsync, rename). The file uses
//! the field names of Alertmanager's API v2 silence objects.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::matchers::format_matchers;
use super::mute::{MuteReason, Muter};
use crate::model::{Labels, MatchOp, Matcher, Timestamp};

#[derive(Debug, thiserror::Error)]
pub enum SilenceError {
    #[error("cannot read silences file {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("cannot write silences file {path}: {reason}")]
    Write { path: PathBuf, reason: String },
    #[error("silences file {path} is not valid: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("silence {0} not found")]
    NotFound(String),
    #[error("silence {0} is already expired")]
    AlreadyExpired(String),
    #[error("invalid silence: {0}")]
    Invalid(String),
}

/// Where a silence is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SilenceState {
    Pending,
    Active,
    Expired,
}

impl SilenceState {
    pub fn as_str(&self) -> &'static str {
        match self {
            SilenceState::Pending => "pending",
            SilenceState::Active => "active",
            SilenceState::Expired => "expired",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Silence {
    pub id: String,
    pub matchers: Vec<Matcher>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub updated_at: Timestamp,
    pub created_by: String,
    pub comment: String,
}

impl Silence {
    /// Active from `starts_at` (inclusive) to `ends_at` (exclusive).
    pub fn state(&self, now: Timestamp) -> SilenceState {
        if now >= self.ends_at {
            SilenceState::Expired
        } else if now < self.starts_at {
            SilenceState::Pending
        } else {
            SilenceState::Active
        }
    }

    pub fn matches(&self, labels: &Labels) -> bool {
        self.matchers.iter().all(|m| m.matches(labels))
    }

    /// Checks a new silence the way upstream's `validateSilence` does.
    pub fn validate(&self) -> Result<(), SilenceError> {
        if self.matchers.is_empty() {
            return Err(SilenceError::Invalid(
                "at least one matcher required".into(),
            ));
        }
        if self.matchers.iter().all(|m| m.matches_empty()) {
            return Err(SilenceError::Invalid(
                "at least one matcher must not match the empty string".into(),
            ));
        }
        if self.ends_at <= self.starts_at {
            return Err(SilenceError::Invalid(
                "end time must not be before start time".into(),
            ));
        }
        if self.created_by.is_empty() {
            return Err(SilenceError::Invalid("creator information required".into()));
        }
        if self.comment.is_empty() {
            return Err(SilenceError::Invalid("comment required".into()));
        }
        Ok(())
    }
}

// JSON shape (Alertmanager API v2).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonMatcher {
    name: String,
    value: String,
    is_regex: bool,
    #[serde(default = "yes")]
    is_equal: bool,
}

fn yes() -> bool {
    true
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonSilence {
    id: String,
    matchers: Vec<JsonMatcher>,
    starts_at: String,
    ends_at: String,
    updated_at: String,
    created_by: String,
    comment: String,
}

fn rfc3339(ms: Timestamp) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

fn parse_ts(s: &str) -> Result<Timestamp, String> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|d| d.timestamp_millis())
        .map_err(|e| format!("{s:?}: {e}"))
}

impl From<&Silence> for JsonSilence {
    fn from(s: &Silence) -> Self {
        JsonSilence {
            id: s.id.clone(),
            matchers: s
                .matchers
                .iter()
                .map(|m| JsonMatcher {
                    name: m.name.clone(),
                    value: m.value.clone(),
                    is_regex: matches!(m.op, MatchOp::Regex | MatchOp::NotRegex),
                    is_equal: matches!(m.op, MatchOp::Equal | MatchOp::Regex),
                })
                .collect(),
            starts_at: rfc3339(s.starts_at),
            ends_at: rfc3339(s.ends_at),
            updated_at: rfc3339(s.updated_at),
            created_by: s.created_by.clone(),
            comment: s.comment.clone(),
        }
    }
}

impl TryFrom<JsonSilence> for Silence {
    type Error = String;
    fn try_from(j: JsonSilence) -> Result<Self, String> {
        let matchers = j
            .matchers
            .into_iter()
            .map(|m| {
                let op = match (m.is_regex, m.is_equal) {
                    (false, true) => MatchOp::Equal,
                    (false, false) => MatchOp::NotEqual,
                    (true, true) => MatchOp::Regex,
                    (true, false) => MatchOp::NotRegex,
                };
                Matcher::new(m.name, op, m.value).map_err(|e| e.to_string())
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Silence {
            id: j.id,
            matchers,
            starts_at: parse_ts(&j.starts_at)?,
            ends_at: parse_ts(&j.ends_at)?,
            updated_at: parse_ts(&j.updated_at)?,
            created_by: j.created_by,
            comment: j.comment,
        })
    }
}

/// The silences, optionally backed by a file.
#[derive(Debug, Clone, Default)]
pub struct Silences {
    path: Option<PathBuf>,
    items: Vec<Silence>,
}

/// A random-looking UUID v4 string, without a dependency: std's RandomState
/// is seeded randomly per process, mixed with the time and a counter.
fn new_id(now: Timestamp) -> String {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut words = [0u64; 2];
    for (i, w) in words.iter_mut().enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_i64(now);
        h.write_u64(n);
        h.write_usize(i);
        h.write_u32(std::process::id());
        *w = h.finish();
    }
    let (a, b) = (words[0], words[1]);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0x0fff,
        ((b >> 48) & 0x3fff) | 0x8000,
        b & 0xffff_ffff_ffff
    )
}

impl Silences {
    /// An in-memory store (tests, dry runs).
    pub fn in_memory() -> Self {
        Silences::default()
    }

    /// Opens the file store; a missing file is an empty store.
    pub fn open(path: &Path) -> Result<Self, SilenceError> {
        let items = match std::fs::read_to_string(path) {
            Ok(text) if text.trim().is_empty() => Vec::new(),
            Ok(text) => {
                let corrupt = |reason: String| SilenceError::Corrupt {
                    path: path.to_path_buf(),
                    reason,
                };
                let raw: Vec<JsonSilence> =
                    serde_json::from_str(&text).map_err(|e| corrupt(e.to_string()))?;
                raw.into_iter()
                    .map(Silence::try_from)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(corrupt)?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => {
                return Err(SilenceError::Read {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                })
            }
        };
        Ok(Silences {
            path: Some(path.to_path_buf()),
            items,
        })
    }

    pub fn all(&self) -> &[Silence] {
        &self.items
    }

    pub fn get(&self, id: &str) -> Option<&Silence> {
        self.items.iter().find(|s| s.id == id)
    }

    /// Validates and stores a new silence, assigning its id; saves the file.
    pub fn add(&mut self, mut s: Silence, now: Timestamp) -> Result<String, SilenceError> {
        s.validate()?;
        if s.ends_at <= now {
            return Err(SilenceError::Invalid(
                "end time can't be in the past".into(),
            ));
        }
        // A silence never starts in the past: upstream moves the start to now.
        s.starts_at = s.starts_at.max(now);
        s.updated_at = now;
        s.id = new_id(now);
        let id = s.id.clone();
        self.items.push(s);
        self.save()?;
        Ok(id)
    }

    /// Ends a silence now (a pending one ends before it starts); saves the file.
    pub fn expire(&mut self, id: &str, now: Timestamp) -> Result<(), SilenceError> {
        let s = self
            .items
            .iter_mut()
            .find(|s| s.id == id)
            .ok_or_else(|| SilenceError::NotFound(id.to_string()))?;
        match s.state(now) {
            SilenceState::Expired => return Err(SilenceError::AlreadyExpired(id.to_string())),
            SilenceState::Pending => {
                s.starts_at = now;
                s.ends_at = now;
            }
            SilenceState::Active => s.ends_at = now,
        }
        s.updated_at = now;
        self.save()
    }

    /// Writes the file atomically: a crash leaves the old or the new file,
    /// never a torn one.
    pub fn save(&self) -> Result<(), SilenceError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let werr = |e: std::io::Error| SilenceError::Write {
            path: path.clone(),
            reason: e.to_string(),
        };
        let json: Vec<JsonSilence> = self.items.iter().map(JsonSilence::from).collect();
        let text = serde_json::to_string_pretty(&json).map_err(|e| SilenceError::Write {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(werr)?;
        let tmp = dir.join(format!(
            ".{}.tmp{}",
            path.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("silences"),
            std::process::id()
        ));
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp).map_err(werr)?;
            f.write_all(text.as_bytes()).map_err(werr)?;
            f.write_all(b"\n").map_err(werr)?;
            f.sync_all().map_err(werr)?;
        }
        std::fs::rename(&tmp, path).map_err(werr)?;
        // Make the rename itself durable.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// Ids of active silences matching `labels`, sorted.
    pub fn matching(&self, labels: &Labels, now: Timestamp) -> Vec<String> {
        let mut ids: Vec<String> = self
            .items
            .iter()
            .filter(|s| s.state(now) == SilenceState::Active && s.matches(labels))
            .map(|s| s.id.clone())
            .collect();
        ids.sort();
        ids
    }
}

impl Muter for Silences {
    fn mutes(&self, labels: &Labels, now: Timestamp) -> Option<MuteReason> {
        let ids = self.matching(labels, now);
        (!ids.is_empty()).then_some(MuteReason::Silenced { ids })
    }
}

impl<T: Muter> Muter for std::sync::RwLock<T> {
    fn mutes(&self, labels: &Labels, now: Timestamp) -> Option<MuteReason> {
        self.read().ok()?.mutes(labels, now)
    }
}

impl<T: Muter + ?Sized> Muter for std::sync::Arc<T> {
    fn mutes(&self, labels: &Labels, now: Timestamp) -> Option<MuteReason> {
        (**self).mutes(labels, now)
    }
}

/// A table like `amtool silence query`: ID, matchers, end, creator, comment.
pub fn render_table(silences: &[&Silence]) -> String {
    let rows: Vec<[String; 5]> = silences
        .iter()
        .map(|s| {
            let ends = chrono::DateTime::from_timestamp_millis(s.ends_at)
                .map(|d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                .unwrap_or_default();
            let m = format_matchers(&s.matchers);
            [
                s.id.clone(),
                m[1..m.len() - 1].replace(',', " "),
                ends,
                s.created_by.clone(),
                s.comment.clone(),
            ]
        })
        .collect();
    let header = ["ID", "Matchers", "Ends At", "Created By", "Comment"].map(String::from);
    let mut widths = header.clone().map(|h| h.chars().count());
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in std::iter::once(&header).chain(rows.iter()) {
        let line: Vec<String> = r
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn silence(matchers: &str, start: Timestamp, end: Timestamp) -> Silence {
        Silence {
            id: String::new(),
            matchers: super::super::matchers::parse_matchers(matchers).unwrap(),
            starts_at: start,
            ends_at: end,
            updated_at: 0,
            created_by: "ops".into(),
            comment: "deploy".into(),
        }
    }

    fn l(p: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(p.iter().copied())
    }

    #[test]
    fn matches_only_while_active() {
        let mut s = Silences::in_memory();
        let id = s
            .add(
                silence(r#"{env="prod",alertname=~"Http.*"}"#, 1000, 5000),
                0,
            )
            .unwrap();
        let a = l(&[("env", "prod"), ("alertname", "Http5xx")]);
        assert_eq!(s.mutes(&a, 999), None, "pending");
        assert_eq!(
            s.mutes(&a, 1000),
            Some(MuteReason::Silenced {
                ids: vec![id.clone()]
            })
        );
        assert_eq!(
            s.mutes(&l(&[("env", "staging"), ("alertname", "Http5xx")]), 1000),
            None
        );
        assert_eq!(s.mutes(&a, 5000), None, "expired at its end");
    }

    #[test]
    fn expire_ends_it_now() {
        let mut s = Silences::in_memory();
        let id = s.add(silence("a=b", 0, 10_000), 0).unwrap();
        s.expire(&id, 4000).unwrap();
        assert_eq!(s.get(&id).unwrap().state(4000), SilenceState::Expired);
        assert!(s.mutes(&l(&[("a", "b")]), 4000).is_none());
        assert!(matches!(
            s.expire(&id, 5000),
            Err(SilenceError::AlreadyExpired(_))
        ));
        assert!(matches!(
            s.expire("nope", 5000),
            Err(SilenceError::NotFound(_))
        ));
        let pending = s.add(silence("a=b", 20_000, 30_000), 5000).unwrap();
        s.expire(&pending, 6000).unwrap();
        assert_eq!(s.get(&pending).unwrap().ends_at, 6000);
    }

    #[test]
    fn invalid_silences_rejected() {
        let mut s = Silences::in_memory();
        assert!(
            s.add(silence("a=~.*", 0, 10), 0).is_err(),
            "matches everything"
        );
        assert!(s.add(silence("a=b", 10, 5), 0).is_err());
        let mut no_comment = silence("a=b", 0, 10);
        no_comment.comment.clear();
        assert!(s.add(no_comment, 0).is_err());
        assert!(s.add(silence("a=b", 0, 10), 20).is_err(), "already over");
    }

    #[test]
    fn persisted_across_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/silences.json");
        let mut s = Silences::open(&path).unwrap();
        let id = s
            .add(
                silence(
                    r#"{service="api",severity!="critical",x!~"a|b"}"#,
                    0,
                    3_600_000,
                ),
                0,
            )
            .unwrap();
        let id2 = s.add(silence("a=b", 0, 3_600_000), 0).unwrap();
        s.expire(&id2, 1000).unwrap();
        drop(s);
        let again = Silences::open(&path).unwrap();
        assert_eq!(again.all().len(), 2);
        let got = again.get(&id).unwrap();
        assert_eq!(got.matchers.len(), 3);
        let a = l(&[("service", "api"), ("severity", "warning")]);
        assert!(again.mutes(&a, 2000).is_some());
        assert!(again
            .mutes(&l(&[("service", "api"), ("severity", "critical")]), 2000)
            .is_none());
        assert_eq!(again.get(&id2).unwrap().state(1000), SilenceState::Expired);
        // No temp files left behind.
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn corrupt_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        std::fs::write(&path, "{not json").unwrap();
        assert!(matches!(
            Silences::open(&path),
            Err(SilenceError::Corrupt { .. })
        ));
    }
}
