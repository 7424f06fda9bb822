//! Persisted alert state: what `check --state FILE` and `alertgate run`
//! (`state_dir/alerts-state.json`) keep between evaluations so that `for:`
//! and `keep_firing_for:` hold across process restarts and one-shot runs.
//! Both write this one format, so either can continue the other's state.
//!
//! The file is JSON with a format marker and a version, so a file written by
//! something else is recognised and never overwritten. Saving is atomic:
//! a temporary file in the same folder is written, fsynced and renamed over
//! the old one, so a crash leaves either the old or the new state.

use super::state::RuleState;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The value of the `format` field; anything else is a foreign file.
pub const FORMAT: &str = "alertgate-alert-state";
/// The layout version this build reads and writes.
pub const VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: cannot read state file: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: cannot write state file: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: corrupt state file (left unchanged): {msg}")]
    Corrupt { path: String, msg: String },
    #[error("{path}: not an alertgate state file (left unchanged): {msg}")]
    Foreign { path: String, msg: String },
    #[error("{path}: state file version {found} is not supported (this build reads version {VERSION}; left unchanged)")]
    Version { path: String, found: u64 },
}

/// Alert state of every rule group, as saved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateFile {
    pub format: String,
    pub version: u32,
    /// Time of the evaluation the state belongs to (ms).
    pub saved_at: i64,
    pub groups: Vec<GroupRecord>,
}

impl Default for StateFile {
    fn default() -> Self {
        StateFile {
            format: FORMAT.into(),
            version: VERSION,
            saved_at: 0,
            groups: Vec::new(),
        }
    }
}

/// One rule group, identified by its file and name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupRecord {
    pub file: String,
    pub group: String,
    /// When the group was last evaluated (ms).
    pub last_eval: i64,
    pub rules: Vec<RuleRecord>,
}

/// One alerting rule's alerts. A rule is matched by position and name, so
/// an edited rule file never hands one rule's state to another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleRecord {
    pub index: usize,
    pub name: String,
    #[serde(flatten)]
    pub state: RuleState,
}

impl StateFile {
    pub fn group(&self, file: &str, group: &str) -> Option<&GroupRecord> {
        self.groups
            .iter()
            .find(|g| g.file == file && g.group == group)
    }
}

impl GroupRecord {
    pub fn rule(&self, index: usize, name: &str) -> Option<&RuleState> {
        self.rules
            .iter()
            .find(|r| r.index == index && r.name == name)
            .map(|r| &r.state)
    }
}

/// Reads and writes one state file.
#[derive(Debug, Clone)]
pub struct StateStore {
    path: PathBuf,
}

impl StateStore {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        StateStore { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn name(&self) -> String {
        self.path.display().to_string()
    }

    /// The saved state; `None` when the file does not exist yet. A file
    /// that exists but is not a valid state file of this version is an
    /// error (the caller must not overwrite it).
    pub fn load(&self) -> Result<Option<StateFile>, StoreError> {
        let text = match std::fs::read(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StoreError::Read {
                    path: self.name(),
                    source,
                })
            }
        };
        decode(&text, &self.name()).map(Some)
    }

    /// Saves atomically: temporary file in the same folder, fsync, rename,
    /// then fsync of the folder so the rename itself is durable.
    pub fn save(&self, state: &StateFile) -> Result<(), StoreError> {
        let err = |source| StoreError::Write {
            path: self.name(),
            source,
        };
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let file_name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "state".into());
        // Unique per save, so two threads saving at once never share one.
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let seq = SEQ.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{file_name}.tmp-{}-{seq}", std::process::id()));
        let body = serde_json::to_vec_pretty(state).map_err(|e| err(std::io::Error::other(e)))?;
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&body)?;
            f.write_all(b"\n")?;
            f.sync_all()?;
            drop(f);
            std::fs::rename(&tmp, &self.path)?;
            // Not every platform can open a folder; the rename is done then.
            if let Ok(d) = std::fs::File::open(&dir) {
                let _ = d.sync_all();
            }
            Ok(())
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            err(e)
        })
    }
}

/// Checks the marker and version before the layout, so that a foreign or
/// newer file gets a message that says so rather than a serde error.
fn decode(text: &[u8], path: &str) -> Result<StateFile, StoreError> {
    let corrupt = |msg: String| StoreError::Corrupt {
        path: path.to_string(),
        msg,
    };
    let v: serde_json::Value =
        serde_json::from_slice(text).map_err(|e| corrupt(format!("not JSON: {e}")))?;
    let obj = v.as_object().ok_or_else(|| StoreError::Foreign {
        path: path.to_string(),
        msg: "the top level is not an object".into(),
    })?;
    match obj.get("format").and_then(|f| f.as_str()) {
        Some(FORMAT) => {}
        other => {
            return Err(StoreError::Foreign {
                path: path.to_string(),
                msg: match other {
                    Some(f) => format!("format is {f:?}, expected {FORMAT:?}"),
                    None => format!("no \"format\": {FORMAT:?} marker"),
                },
            })
        }
    }
    match obj.get("version").and_then(|v| v.as_u64()) {
        Some(n) if n == VERSION as u64 => {}
        Some(found) => {
            return Err(StoreError::Version {
                path: path.to_string(),
                found,
            })
        }
        None => return Err(corrupt("no numeric \"version\"".into())),
    }
    serde_json::from_value(v).map_err(|e| corrupt(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::{step, AlertSpec, AlertState, Candidate};
    use crate::model::Labels;
    use std::collections::BTreeMap;

    fn sample_state() -> StateFile {
        let mut rs = RuleState::default();
        let c = Candidate {
            labels: Labels::from_pairs([("alertname", "A"), ("instance", "x")]),
            annotations: BTreeMap::from([("summary".to_string(), "s".to_string())]),
            value: f64::NAN,
        };
        step(&mut rs, vec![c], 60_000, &AlertSpec::default()).unwrap();
        StateFile {
            saved_at: 60_000,
            groups: vec![GroupRecord {
                file: "r.yml".into(),
                group: "g".into(),
                last_eval: 60_000,
                rules: vec![RuleRecord {
                    index: 0,
                    name: "A".into(),
                    state: rs,
                }],
            }],
            ..StateFile::default()
        }
    }

    #[test]
    fn save_then_load_round_trips() {
        let d = tempfile::tempdir().unwrap();
        let store = StateStore::new(d.path().join("s.json"));
        assert_eq!(store.load().unwrap(), None);
        let s = sample_state();
        store.save(&s).unwrap();
        let back = store.load().unwrap().unwrap();
        assert_eq!(back.saved_at, 60_000);
        let rs = back.group("r.yml", "g").unwrap().rule(0, "A").unwrap();
        let a = rs.alerts.values().next().unwrap();
        assert_eq!(a.state, AlertState::Firing);
        assert!(a.value.is_nan());
        assert!(back.group("r.yml", "g").unwrap().rule(0, "B").is_none());
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec!["s.json"]);
    }

    #[test]
    fn corrupt_and_foreign_files_are_refused_and_kept() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("s.json");
        let store = StateStore::new(&p);
        for (text, want) in [
            (
                "{\"format\": \"alertgate-alert-state\", \"version\"",
                "corrupt state file",
            ),
            ("{\"groups\": []}", "not an alertgate state file"),
            ("[1, 2]", "not an alertgate state file"),
            (
                "{\"format\": \"other\", \"version\": 1}",
                "format is \"other\"",
            ),
            (
                "{\"format\": \"alertgate-alert-state\", \"version\": 9}",
                "version 9 is not supported",
            ),
            (
                "{\"format\": \"alertgate-alert-state\", \"version\": 1, \"saved_at\": \"x\"}",
                "corrupt state file",
            ),
        ] {
            std::fs::write(&p, text).unwrap();
            let e = store.load().unwrap_err().to_string();
            assert!(e.contains(want), "{text}: {e}");
            assert!(e.contains("left unchanged"), "{e}");
            assert_eq!(std::fs::read_to_string(&p).unwrap(), text);
        }
    }

    #[test]
    fn concurrent_saves_never_share_a_temporary_file() {
        let d = tempfile::tempdir().unwrap();
        let store = StateStore::new(d.path().join("s.json"));
        std::thread::scope(|s| {
            for t in 0..4 {
                let store = &store;
                s.spawn(move || {
                    for i in 0..25 {
                        let st = StateFile {
                            saved_at: t * 100 + i,
                            ..sample_state()
                        };
                        store.save(&st).unwrap();
                    }
                });
            }
        });
        assert!(store.load().unwrap().is_some());
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn save_into_missing_folder_fails_cleanly() {
        let d = tempfile::tempdir().unwrap();
        let store = StateStore::new(d.path().join("no/such/dir/s.json"));
        let e = store.save(&StateFile::default()).unwrap_err();
        assert!(e.to_string().contains("cannot write state file"), "{e}");
    }
}
