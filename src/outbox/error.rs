//! Outbox errors. A store failure keeps its class (disk full, read-only,
//! locked by another worker) so stderr and readiness can say what to fix.

use std::fmt;

/// What is wrong with the store, for operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreProblem {
    /// SQLITE_FULL or ENOSPC: the disk (or quota) is full.
    DiskFull,
    /// The file or directory cannot be written.
    ReadOnly,
    /// The file cannot be opened or created.
    CannotOpen,
    /// Another process holds a lock for longer than the busy timeout.
    Busy,
    /// The file is not a database or is damaged.
    Corrupt,
    Other,
}

impl fmt::Display for StoreProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StoreProblem::DiskFull => "disk full",
            StoreProblem::ReadOnly => "store is not writable",
            StoreProblem::CannotOpen => "cannot open store",
            StoreProblem::Busy => "store is locked",
            StoreProblem::Corrupt => "store is damaged",
            StoreProblem::Other => "store error",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// A store operation failed; nothing of it was committed.
    #[error("outbox store {path}: {problem}: {detail}")]
    Store {
        path: String,
        problem: StoreProblem,
        detail: String,
    },
    /// A stored row could not be read back.
    #[error("outbox row {id}: {detail}")]
    BadRow { id: i64, detail: String },
    #[error("no dead letter with id {0}")]
    NoSuchDeadLetter(i64),
    /// Another process (e.g. `alertgate run`) is delivering from this store.
    #[error("another worker is delivering from {0}")]
    WorkerActive(String),
    #[error("outbox config: {0}")]
    Config(String),
}

impl OutboxError {
    pub(crate) fn store(path: &str, e: rusqlite::Error) -> OutboxError {
        OutboxError::Store {
            path: path.to_string(),
            problem: classify(&e),
            detail: e.to_string(),
        }
    }

    pub(crate) fn io(path: &str, e: std::io::Error) -> OutboxError {
        let problem = match e.raw_os_error() {
            Some(28) | Some(122) => StoreProblem::DiskFull, // ENOSPC, EDQUOT
            Some(30) | Some(13) | Some(1) => StoreProblem::ReadOnly, // EROFS, EACCES, EPERM
            _ => StoreProblem::CannotOpen,
        };
        OutboxError::Store {
            path: path.to_string(),
            problem,
            detail: e.to_string(),
        }
    }

    /// The store problem, when this is a store error.
    pub fn problem(&self) -> Option<StoreProblem> {
        match self {
            OutboxError::Store { problem, .. } => Some(*problem),
            _ => None,
        }
    }
}

fn classify(e: &rusqlite::Error) -> StoreProblem {
    use rusqlite::ErrorCode as C;
    let Some(code) = e.sqlite_error_code() else {
        return StoreProblem::Other;
    };
    match code {
        C::DiskFull => StoreProblem::DiskFull,
        C::ReadOnly | C::PermissionDenied => StoreProblem::ReadOnly,
        C::CannotOpen => StoreProblem::CannotOpen,
        C::DatabaseBusy | C::DatabaseLocked => StoreProblem::Busy,
        C::DatabaseCorrupt | C::NotADatabase => StoreProblem::Corrupt,
        _ => StoreProblem::Other,
    }
}
