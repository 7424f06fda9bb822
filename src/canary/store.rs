//! Files of a tenant: reading the state (a corrupt file is reported and
//! never touched), the per-tenant lock that serialises writers, atomic
//! writes (temporary file, fsync, rename, fsync of the directory), and
//! finding the latest decision.

use super::error::CanaryError;
use super::state::OperateState;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Reads the state; `Ok(None)` when there is none yet.
pub fn read_state(path: &Path, tenant: &str) -> Result<Option<OperateState>, CanaryError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(CanaryError::io(path, e)),
    };
    let corrupt = |message: String| CanaryError::CorruptState {
        path: path.display().to_string(),
        message,
    };
    let s: OperateState = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
    if s.tenant != tenant {
        return Err(corrupt(format!(
            "belongs to tenant {:?}, not {tenant:?}",
            s.tenant
        )));
    }
    Ok(Some(s))
}

/// The state as written: pretty JSON with a final newline. Deterministic,
/// so equal states are equal bytes.
pub fn encode_state(s: &OperateState) -> Vec<u8> {
    let mut v = serde_json::to_vec_pretty(s).unwrap_or_default();
    v.push(b'\n');
    v
}

/// Writes `bytes` to `path` so that readers see the old or the new file,
/// never a part: a temporary file in the same directory, fsync, rename,
/// fsync of the directory (so the rename survives a crash).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CanaryError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| CanaryError::io(dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    let res = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        #[cfg(unix)]
        File::open(dir)?.sync_all()?;
        Ok(())
    })();
    res.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        CanaryError::io(path, e)
    })
}

/// Writes `bytes` to `dir/<stem><ext>`, or `<stem>-1<ext>`, ... if taken.
/// Call with the tenant lock held, so the name stays ours until written.
pub fn write_new(dir: &Path, stem: &str, ext: &str, bytes: &[u8]) -> Result<PathBuf, CanaryError> {
    let mut p = dir.join(format!("{stem}{ext}"));
    let mut i = 1;
    while p.exists() {
        p = dir.join(format!("{stem}-{i}{ext}"));
        i += 1;
    }
    write_atomic(&p, bytes)?;
    Ok(p)
}

/// The tenant's lock, held while alive. A lock file created with
/// `create_new`, which is atomic on local file systems; the file holds the
/// owner's pid for whoever finds a stale one.
#[derive(Debug)]
pub struct TenantLock {
    path: PathBuf,
}

impl TenantLock {
    /// Takes the lock next to `state`, waiting up to `timeout`.
    pub fn acquire(state: &Path, timeout: Duration) -> Result<TenantLock, CanaryError> {
        let mut os = state.as_os_str().to_owned();
        os.push(".lock");
        let path = PathBuf::from(os);
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|e| CanaryError::io(dir, e))?;
        }
        let start = Instant::now();
        let mut wait = Duration::from_millis(2);
        loop {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut f) => {
                    let _ = writeln!(f, "{}", std::process::id());
                    return Ok(TenantLock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if start.elapsed() >= timeout {
                        return Err(CanaryError::Locked {
                            path: path.display().to_string(),
                            waited_ms: timeout.as_millis() as u64,
                        });
                    }
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(Duration::from_millis(50));
                }
                Err(e) => return Err(CanaryError::io(&path, e)),
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TenantLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// The newest `*_decision.json` in `dir` (names start with a sortable
/// time stamp), if any.
pub fn latest_decision(dir: &Path) -> Result<Option<PathBuf>, CanaryError> {
    let rd = match fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(CanaryError::io(dir, e)),
    };
    let mut best: Option<PathBuf> = None;
    for e in rd {
        let p = e.map_err(|e| CanaryError::io(dir, e))?.path();
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.ends_with("_decision.json")
            && !name.starts_with('.')
            && best.as_ref().is_none_or(|b| p > *b)
        {
            best = Some(p);
        }
    }
    Ok(best)
}

/// Reads a decision file.
pub fn read_decision(path: &Path) -> Result<super::decide::Decision, CanaryError> {
    let bytes = fs::read(path).map_err(|e| CanaryError::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| CanaryError::BadFile {
        path: path.display().to_string(),
        message: format!("not a decision file: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/state.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(p.parent().unwrap()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn lock_is_exclusive_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("operate_state.json");
        let l = TenantLock::acquire(&state, Duration::from_millis(10)).unwrap();
        assert!(l.path().exists());
        let e = TenantLock::acquire(&state, Duration::from_millis(30)).unwrap_err();
        assert!(matches!(e, CanaryError::Locked { .. }), "{e}");
        drop(l);
        assert!(TenantLock::acquire(&state, Duration::from_millis(10)).is_ok());
    }

    #[test]
    fn corrupt_state_is_an_error_and_missing_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("operate_state.json");
        assert!(read_state(&p, "acme").unwrap().is_none());
        fs::write(&p, b"{\"tenant\": \"acme\", \"step\": ").unwrap();
        let e = read_state(&p, "acme").unwrap_err();
        assert!(e.to_string().contains("corrupt state file"), "{e}");
        fs::write(&p, b"{\"tenant\": \"other\", \"step\": 10}").unwrap();
        assert!(read_state(&p, "acme")
            .unwrap_err()
            .to_string()
            .contains("tenant \"other\""));
    }

    #[test]
    fn latest_decision_sorts_by_stamp() {
        let dir = tempfile::tempdir().unwrap();
        assert!(latest_decision(&dir.path().join("none")).unwrap().is_none());
        for n in [
            "20250304T073000Z_decision.json",
            "20250305T073000Z_decision.json",
            "20250305T073000Z_decision.md",
            "20250306T073000Z_rollout_log.json",
        ] {
            fs::write(dir.path().join(n), b"{}").unwrap();
        }
        assert_eq!(
            latest_decision(dir.path())
                .unwrap()
                .unwrap()
                .file_name()
                .unwrap(),
            "20250305T073000Z_decision.json"
        );
    }
}
