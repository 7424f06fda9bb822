//! The service's alert state on disk: `state_dir/alerts-state.json`, in the
//! one format of `crate::alerting::store` that `check --state` also writes,
//! so `for:` holds across restarts of `run` exactly as across cron runs of
//! `check --state`, and either can continue the other's state.
//!
//! What is service-specific lives here: the file name, turning the running
//! groups into records and back, finding a saved group when `check` named
//! its file differently (`rules.yml` against `/etc/alertgate/rules.yml`),
//! reading the file the service wrote before this format once, and saving
//! after every evaluation without rewriting a file that would not change.

use super::runtime::{GroupRun, Loaded};
use crate::alerting::{GroupRecord, RuleRecord, RuleState, StateFile, StateStore, StoreError};
use crate::rules::Rule;
use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

/// The file name inside `state_dir`.
pub const FILE_NAME: &str = "alerts-state.json";

/// The state file of a `state_dir`.
pub fn path_in(state_dir: &Path) -> PathBuf {
    state_dir.join(FILE_NAME)
}

/// How a group's file is named in the state file: relative to the config's
/// folder when it lies below it, as `check --rules rules.yml` run from that
/// folder names it.
fn record_file(l: &Loaded, g: &GroupRun) -> String {
    let base = l.config.path.parent().unwrap_or(Path::new(""));
    if base.as_os_str().is_empty() {
        return g.group.file.clone();
    }
    match Path::new(&g.group.file).strip_prefix(base) {
        Ok(rel) => rel.to_string_lossy().into_owned(),
        Err(_) => g.group.file.clone(),
    }
}

/// The alert state of every group of `l`. `last_evals` supplies the time
/// of groups not evaluated yet by this process (what was restored).
pub fn snapshot(l: &Loaded, last_evals: &HashMap<String, i64>, saved_at: i64) -> StateFile {
    let mut groups = Vec::with_capacity(l.groups.len());
    for g in &l.groups {
        let last_eval = g
            .status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .last_eval
            .or_else(|| last_evals.get(&g.key).copied())
            .unwrap_or(0);
        let st = g.state.lock().unwrap_or_else(|e| e.into_inner());
        let rules = g
            .group
            .rules
            .iter()
            .zip(&st.rules)
            .enumerate()
            .filter_map(|(i, (r, s))| match r {
                Rule::Alerting(a) if !s.alerts.alerts.is_empty() => Some(RuleRecord {
                    index: i,
                    name: a.name.clone(),
                    state: s.alerts.clone(),
                }),
                _ => None,
            })
            .collect();
        groups.push(GroupRecord {
            file: record_file(l, g),
            group: g.group.name.clone(),
            last_eval,
            rules,
        });
    }
    StateFile {
        saved_at,
        groups,
        ..StateFile::default()
    }
}

/// The normal components of a path, without `.` and the root.
fn components(p: &str) -> Vec<String> {
    Path::new(p)
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect()
}

/// Whether two names may be the same file seen from different folders:
/// one's components end with all of the other's.
fn same_file(a: &str, b: &str) -> bool {
    let (a, b) = (components(a), components(b));
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    !short.is_empty() && long.ends_with(&short)
}

/// For each group of `l`, the index of its record in `saved`: the record
/// of the same file name and group name, else the only record of that
/// group name whose file name ends like the group's (or the reverse) when
/// no other group of `l` claims it too.
fn match_groups(l: &Loaded, saved: &StateFile) -> Vec<Option<usize>> {
    let names: Vec<(String, &str)> = l
        .groups
        .iter()
        .map(|g| (record_file(l, g), g.group.file.as_str()))
        .collect();
    let exact = |gi: usize, r: &GroupRecord| {
        r.group == l.groups[gi].group.name && (r.file == names[gi].0 || r.file == names[gi].1)
    };
    let loose = |gi: usize, r: &GroupRecord| {
        r.group == l.groups[gi].group.name && same_file(&r.file, names[gi].1)
    };
    let mut out = Vec::with_capacity(l.groups.len());
    for gi in 0..l.groups.len() {
        if let Some(ri) = saved.groups.iter().position(|r| exact(gi, r)) {
            out.push(Some(ri));
            continue;
        }
        let cands: Vec<usize> = (0..saved.groups.len())
            .filter(|&ri| loose(gi, &saved.groups[ri]))
            .collect();
        let unique = match cands.as_slice() {
            [ri] => {
                let r = &saved.groups[*ri];
                // No other group matches it exactly or loosely.
                (0..l.groups.len())
                    .filter(|&o| o != gi)
                    .all(|o| !exact(o, r) && !loose(o, r))
                    .then_some(*ri)
            }
            _ => None,
        };
        out.push(unique);
    }
    out
}

/// The saved state of alerting rule `i` named `name`: the record at the
/// same position with the same name, else (the rule moved) the only record
/// of that name when the group has one alerting rule of that name.
fn match_rule<'a>(
    g: &GroupRun,
    rec: &'a GroupRecord,
    i: usize,
    name: &str,
) -> Option<&'a RuleState> {
    if let Some(s) = rec.rule(i, name) {
        return Some(s);
    }
    let same_name = g
        .group
        .rules
        .iter()
        .filter(|r| matches!(r, Rule::Alerting(a) if a.name == name))
        .count();
    let mut saved = rec.rules.iter().filter(|r| r.name == name);
    match (same_name, saved.next(), saved.next()) {
        (1, Some(r), None) => Some(&r.state),
        _ => None,
    }
}

/// What [`restore`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Restored {
    pub groups: usize,
    pub rules: usize,
    /// Group key -> time of its last saved evaluation.
    pub last_evals: HashMap<String, i64>,
}

/// Puts saved alert state into the groups and rules of `l` that still
/// exist; the rest of `saved` is dropped (and gone at the next save).
pub fn restore(l: &Loaded, saved: &StateFile) -> Restored {
    let mut done = Restored::default();
    for (g, ri) in l.groups.iter().zip(match_groups(l, saved)) {
        let Some(rec) = ri.map(|ri| &saved.groups[ri]) else {
            continue;
        };
        done.groups += 1;
        done.last_evals.insert(g.key.clone(), rec.last_eval);
        let mut st = g.state.lock().unwrap_or_else(|e| e.into_inner());
        for (i, r) in g.group.rules.iter().enumerate() {
            let Rule::Alerting(a) = r else { continue };
            if let (Some(s), Some(slot)) = (match_rule(g, rec, i, &a.name), st.rules.get_mut(i)) {
                slot.alerts = s.clone();
                done.rules += 1;
            }
        }
    }
    done
}

/// The layout the service wrote before it used `crate::alerting::store`:
/// `{"<file>;<group>": [{"rule": name, "state": {...}}]}`.
#[derive(serde::Deserialize)]
struct LegacyRule {
    rule: String,
    state: RuleState,
}

/// Reads the old layout, when `text` is exactly that, as a [`StateFile`]
/// for the groups of `l` (only they can be told apart in its keys). Rules
/// are found by name, as the old service did.
fn from_legacy(l: &Loaded, text: &[u8]) -> Option<StateFile> {
    let old: BTreeMap<String, Vec<LegacyRule>> = serde_json::from_slice(text).ok()?;
    if old.keys().any(|k| !k.contains(';')) {
        return None;
    }
    let mut groups = Vec::new();
    for g in &l.groups {
        let Some(rules) = old.get(&g.key) else {
            continue;
        };
        let rules = rules
            .iter()
            .filter_map(|s| {
                let index = g
                    .group
                    .rules
                    .iter()
                    .position(|r| matches!(r, Rule::Alerting(a) if a.name == s.rule))?;
                Some(RuleRecord {
                    index,
                    name: s.rule.clone(),
                    state: s.state.clone(),
                })
            })
            .collect();
        groups.push(GroupRecord {
            file: g.group.file.clone(),
            group: g.group.name.clone(),
            last_eval: 0,
            rules,
        });
    }
    Some(StateFile {
        groups,
        ..StateFile::default()
    })
}

/// Reads the state file of `dir`: `None` when there is none yet. A file in
/// the service's old layout is read once (the next save rewrites it in the
/// shared format); anything else that is not a valid state file is an
/// error, and the file is left as it is.
pub fn load(l: &Loaded, dir: &Path) -> Result<Option<StateFile>, StoreError> {
    let store = StateStore::new(path_in(dir));
    match store.load() {
        Err(e @ StoreError::Foreign { .. }) => {
            let text = std::fs::read(store.path()).map_err(|source| StoreError::Read {
                path: store.path().display().to_string(),
                source,
            })?;
            match from_legacy(l, &text) {
                Some(s) => {
                    tracing::info!(path = %store.path().display(), "Read alert state in the old layout; it is rewritten in the shared format at the next save.");
                    Ok(Some(s))
                }
                None => Err(e),
            }
        }
        other => other,
    }
}

/// Saves alert state for the running service: one save at a time (group
/// loops finish evaluations concurrently), and an evaluation that changed
/// no alert does not rewrite the file.
#[derive(Default)]
pub struct Saver {
    /// Held across snapshot and write, so an older snapshot never replaces
    /// a newer one. Holds the last written state, evaluation times zeroed.
    written: Mutex<Option<StateFile>>,
    /// Evaluation times of restored groups, until they evaluate here.
    last_evals: Mutex<HashMap<String, i64>>,
    /// The last save error, so a failing disk is logged once, not per save.
    last_error: Mutex<Option<String>>,
}

/// `s` without the times that change at every evaluation.
fn timeless(s: &StateFile) -> StateFile {
    let mut s = s.clone();
    s.saved_at = 0;
    for g in &mut s.groups {
        g.last_eval = 0;
    }
    s
}

impl Saver {
    /// Restores `dir`'s state into `l` and remembers what it read.
    pub fn restore(&self, l: &Loaded, dir: &Path) -> Result<Restored, StoreError> {
        let Some(saved) = load(l, dir)? else {
            return Ok(Restored::default());
        };
        let done = restore(l, &saved);
        tracing::info!(
            groups = done.groups,
            rules = done.rules,
            "Alert state restored."
        );
        *self.last_evals.lock().unwrap_or_else(|e| e.into_inner()) = done.last_evals.clone();
        Ok(done)
    }

    /// Writes the state of `l` to `dir` atomically. Unless `force`, skips
    /// the write when no alert changed since the last one. Returns whether
    /// it wrote.
    pub fn save(&self, l: &Loaded, dir: &Path, now: i64, force: bool) -> Result<bool, StoreError> {
        let mut written = self.written.lock().unwrap_or_else(|e| e.into_inner());
        let state = {
            let le = self.last_evals.lock().unwrap_or_else(|e| e.into_inner());
            snapshot(l, &le, now)
        };
        let key = timeless(&state);
        if !force && written.as_ref() == Some(&key) {
            return Ok(false);
        }
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Write {
            path: dir.display().to_string(),
            source,
        })?;
        let r = StateStore::new(path_in(dir)).save(&state);
        let mut last_error = self.last_error.lock().unwrap_or_else(|e| e.into_inner());
        match r {
            Ok(()) => {
                if last_error.take().is_some() {
                    tracing::info!("Alert state saved again.");
                }
                *written = Some(key);
                Ok(true)
            }
            Err(e) => {
                let msg = e.to_string();
                if last_error.as_deref() != Some(msg.as_str()) {
                    tracing::error!(error = %msg, "Cannot save alert state; `for:` restarts from zero if the service restarts now.");
                }
                *last_error = Some(msg);
                *written = None;
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::{step, AlertSpec, AlertState, Candidate};
    use crate::model::Labels;
    use crate::service::runtime::build_loaded;

    fn now() -> i64 {
        1_700_000_000_000
    }

    /// A config in `dir` whose rule files are `files` (name, text).
    fn loaded(dir: &Path, files: &[(&str, &str)]) -> Loaded {
        let mut names = Vec::new();
        for (name, text) in files {
            let p = dir.join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, text).unwrap();
            names.push(format!("'{name}'"));
        }
        let cfg = dir.join("alertgate.yml");
        std::fs::write(
            &cfg,
            format!("rule_files: [{}]\nstate_dir: state\n", names.join(", ")),
        )
        .unwrap();
        let c = crate::service::config::load(&cfg).unwrap();
        build_loaded(c, &Default::default(), &Default::default(), None, now).unwrap()
    }

    /// Makes rule `ri` of group `gi` pending for `instance`, active at `at`.
    fn set_pending(l: &Loaded, gi: usize, ri: usize, instance: &str, at: i64) {
        let g = &l.groups[gi];
        let mut st = g.state.lock().unwrap();
        let c = Candidate {
            labels: Labels::from_pairs([("alertname", g.group.rules[ri].name()), ("i", instance)]),
            annotations: Default::default(),
            value: 1.0,
        };
        let spec = AlertSpec {
            for_ms: 3_600_000,
            ..AlertSpec::default()
        };
        step(&mut st.rules[ri].alerts, vec![c], at, &spec).unwrap();
    }

    /// (rule index, instance, active_at) of every alert of group `gi`.
    fn alerts(l: &Loaded, gi: usize) -> Vec<(usize, String, i64)> {
        let st = l.groups[gi].state.lock().unwrap();
        let mut v = Vec::new();
        for (ri, r) in st.rules.iter().enumerate() {
            for a in r.alerts.alerts.values() {
                assert_eq!(a.state, AlertState::Pending);
                v.push((ri, a.labels.get("i").unwrap().to_string(), a.active_at));
            }
        }
        v
    }

    const TWO: &str = "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: vector(1)\n    for: 1h\n  - record: r\n    expr: vector(1)\n  - alert: B\n    expr: vector(1)\n    for: 1h\n";

    #[test]
    fn saved_state_is_restored_into_a_new_process() {
        let d = tempfile::tempdir().unwrap();
        let l = loaded(d.path(), &[("rules.yml", TWO)]);
        set_pending(&l, 0, 0, "x", 1_000);
        set_pending(&l, 0, 2, "y", 2_000);
        let dir = l.config.state_dir.clone().unwrap();
        let saver = Saver::default();
        assert!(saver.save(&l, &dir, 5_000, false).unwrap());

        // The shared format, with the file named as `check` run from the
        // config's folder names it.
        let f = StateStore::new(path_in(&dir)).load().unwrap().unwrap();
        assert_eq!(f.saved_at, 5_000);
        assert_eq!(f.groups[0].file, "rules.yml");
        assert_eq!(f.groups[0].group, "g");
        let rules: Vec<(usize, &str)> = f.groups[0]
            .rules
            .iter()
            .map(|r| (r.index, r.name.as_str()))
            .collect();
        assert_eq!(rules, vec![(0, "A"), (2, "B")]);

        let l2 = loaded(d.path(), &[("rules.yml", TWO)]);
        let done = Saver::default().restore(&l2, &dir).unwrap();
        assert_eq!((done.groups, done.rules), (1, 2));
        assert_eq!(
            alerts(&l2, 0),
            vec![(0, "x".into(), 1_000), (2, "y".into(), 2_000)]
        );
    }

    #[test]
    fn unchanged_state_is_not_rewritten_unless_forced() {
        let d = tempfile::tempdir().unwrap();
        let l = loaded(d.path(), &[("rules.yml", TWO)]);
        let dir = l.config.state_dir.clone().unwrap();
        let saver = Saver::default();
        assert!(saver.save(&l, &dir, 1_000, false).unwrap());
        assert!(!saver.save(&l, &dir, 2_000, false).unwrap());
        assert!(saver.save(&l, &dir, 3_000, true).unwrap());
        set_pending(&l, 0, 0, "x", 4_000);
        assert!(saver.save(&l, &dir, 4_000, false).unwrap());
        let f = StateStore::new(path_in(&dir)).load().unwrap().unwrap();
        assert_eq!(f.saved_at, 4_000);
        assert_eq!(f.groups[0].rules.len(), 1);
    }

    #[test]
    fn groups_are_found_when_check_named_the_file_differently() {
        let d = tempfile::tempdir().unwrap();
        let l = loaded(d.path(), &[("rules/a.yml", TWO)]);
        let mut f = StateFile::default();
        let mut rs = RuleState::default();
        let c = Candidate {
            labels: Labels::from_pairs([("alertname", "A"), ("i", "x")]),
            annotations: Default::default(),
            value: 1.0,
        };
        let spec = AlertSpec {
            for_ms: 3_600_000,
            ..AlertSpec::default()
        };
        step(&mut rs, vec![c], 7_000, &spec).unwrap();
        let rec = |file: &str| GroupRecord {
            file: file.into(),
            group: "g".into(),
            last_eval: 7_000,
            rules: vec![RuleRecord {
                index: 0,
                name: "A".into(),
                state: rs.clone(),
            }],
        };
        // The tail of the path matches: restored.
        for file in ["./a.yml", "a.yml", "rules/a.yml"] {
            f.groups = vec![rec(file)];
            assert_eq!(restore(&l, &f).rules, 1, "{file}");
        }
        // Another folder, another file, or another group: not restored.
        for file in ["other/a.yml", "b.yml", "/x/rules/b.yml"] {
            f.groups = vec![rec(file)];
            assert_eq!(restore(&l, &f).rules, 0, "{file}");
        }
        let mut other = rec("a.yml");
        other.group = "h".into();
        f.groups = vec![other];
        assert_eq!(restore(&l, &f).rules, 0);

        // Two files of the same name with a group `g` each: `a.yml` is
        // ambiguous, so neither gets it.
        let d2 = tempfile::tempdir().unwrap();
        let l2 = loaded(d2.path(), &[("x/a.yml", TWO), ("y/a.yml", TWO)]);
        f.groups = vec![rec("a.yml")];
        assert_eq!(restore(&l2, &f).rules, 0);
        f.groups = vec![rec("y/a.yml")];
        let done = restore(&l2, &f);
        assert_eq!(done.rules, 1);
        assert!(alerts(&l2, 0).is_empty());
        assert_eq!(alerts(&l2, 1), vec![(0, "x".into(), 7_000)]);
    }

    #[test]
    fn a_rule_that_moved_keeps_its_state_unless_its_name_is_ambiguous() {
        let d = tempfile::tempdir().unwrap();
        let l = loaded(d.path(), &[("rules.yml", TWO)]);
        set_pending(&l, 0, 0, "x", 1_000);
        let dir = l.config.state_dir.clone().unwrap();
        Saver::default().save(&l, &dir, 1_000, true).unwrap();

        // A rule inserted before A: A is found by its name.
        let moved = "groups:\n- name: g\n  rules:\n  - alert: C\n    expr: vector(1)\n  - alert: A\n    expr: vector(1)\n    for: 1h\n";
        let l2 = loaded(d.path(), &[("rules.yml", moved)]);
        Saver::default().restore(&l2, &dir).unwrap();
        assert_eq!(alerts(&l2, 0), vec![(1, "x".into(), 1_000)]);

        // Two rules named A, neither at the saved position: which one the
        // state belonged to is unknown, so neither gets it.
        let twice = "groups:\n- name: g\n  rules:\n  - alert: C\n    expr: vector(1)\n  - alert: A\n    expr: vector(1)\n  - alert: A\n    expr: vector(2)\n";
        let l3 = loaded(d.path(), &[("rules.yml", twice)]);
        Saver::default().restore(&l3, &dir).unwrap();
        assert!(alerts(&l3, 0).is_empty());

        // A recording rule now at A's position never takes its state.
        let recording = "groups:\n- name: g\n  rules:\n  - record: A\n    expr: vector(1)\n";
        let l4 = loaded(d.path(), &[("rules.yml", recording)]);
        assert_eq!(Saver::default().restore(&l4, &dir).unwrap().rules, 0);
    }

    #[test]
    fn the_old_service_layout_is_read_once_and_rewritten() {
        let d = tempfile::tempdir().unwrap();
        let l = loaded(d.path(), &[("rules.yml", TWO)]);
        let dir = l.config.state_dir.clone().unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        let key = &l.groups[0].key;
        let old = format!(
            r#"{{"{key}": [{{"rule": "B", "state": {{"alerts": [{{"labels": {{"alertname": "B", "i": "z"}}, "annotations": {{}}, "state": "pending", "value": "1", "active_at": 3000}}]}}}}], "gone.yml;g": []}}"#
        );
        std::fs::write(path_in(&dir), &old).unwrap();
        let saver = Saver::default();
        assert_eq!(saver.restore(&l, &dir).unwrap().rules, 1);
        assert_eq!(alerts(&l, 0), vec![(2, "z".into(), 3_000)]);
        saver.save(&l, &dir, 4_000, false).unwrap();
        let f = StateStore::new(path_in(&dir)).load().unwrap().unwrap();
        assert_eq!(f.groups[0].rules[0].index, 2);
    }

    #[test]
    fn corrupt_or_foreign_files_are_errors_and_left_alone() {
        let d = tempfile::tempdir().unwrap();
        let l = loaded(d.path(), &[("rules.yml", TWO)]);
        let dir = l.config.state_dir.clone().unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        for (text, want) in [
            (
                "{\"format\": \"alertgate-alert-state\", \"ver",
                "corrupt state file",
            ),
            ("{\"groups\": []}", "not an alertgate state file"),
            ("{\"a;g\": [{\"rule\": 1}]}", "not an alertgate state file"),
        ] {
            std::fs::write(path_in(&dir), text).unwrap();
            let e = Saver::default().restore(&l, &dir).unwrap_err().to_string();
            assert!(e.contains(want), "{text}: {e}");
            assert!(e.contains(FILE_NAME), "{e}");
            assert!(!e.contains('\n'), "{e}");
            assert_eq!(std::fs::read_to_string(path_in(&dir)).unwrap(), text);
        }
    }
}
