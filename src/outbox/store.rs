//! The SQLite store behind the outbox: one table of jobs (one row per
//! notification and receiver integration, `queued` or `dead`), the
//! notification log, and a little metadata. Every operation is one
//! transaction; the file is in WAL mode with `synchronous=FULL`, so what a
//! call reported as written survives SIGKILL and power loss.

use rusqlite::{params, Connection, OpenFlags, TransactionBehavior};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::error::OutboxError;
use super::record::{decode, encode, labels_from_map, labels_to_map, notification_key};
use crate::model::{Labels, Timestamp};
use crate::routing::{Notification, SentRecord};

/// The file name under `state_dir`.
pub const DB_FILE: &str = "outbox.db";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    state TEXT NOT NULL CHECK (state IN ('queued', 'dead')),
    dedup_key TEXT NOT NULL,
    receiver TEXT NOT NULL,
    integration TEXT NOT NULL,
    group_key TEXT NOT NULL,
    notification TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    enqueued_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at INTEGER NOT NULL,
    last_status INTEGER,
    last_error TEXT,
    dead_at INTEGER
);
CREATE INDEX IF NOT EXISTS jobs_due ON jobs (state, next_at);
-- The same state for the same integration is queued once: repeats pile
-- up no backlog while a receiver is down.
CREATE UNIQUE INDEX IF NOT EXISTS jobs_queued_once
    ON jobs (dedup_key, receiver, integration) WHERE state = 'queued';
CREATE TABLE IF NOT EXISTS nflog (
    receiver TEXT NOT NULL,
    group_key TEXT NOT NULL,
    route_idx INTEGER NOT NULL,
    group_labels TEXT NOT NULL,
    dedup_key TEXT NOT NULL,
    firing TEXT NOT NULL,
    resolved TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (receiver, group_key)
);
INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', '1');
";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Queued,
    Dead,
}

/// One notification for one integration of its receiver.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: i64,
    pub state: JobState,
    pub dedup_key: String,
    pub receiver: String,
    /// `webhook_configs.0`, as the config spells it.
    pub integration: String,
    pub group_key: String,
    pub notification: Notification,
    /// When the dispatcher handed it over.
    pub created_at: Timestamp,
    /// When it was (re)queued: `max_age` counts from here.
    pub enqueued_at: Timestamp,
    pub attempts: u32,
    pub next_at: Timestamp,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub dead_at: Option<Timestamp>,
}

/// What one enqueue call wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Enqueued {
    /// Rows written.
    pub queued: usize,
    /// Rows skipped because the same state was still queued.
    pub already_queued: usize,
}

/// Queue and DLQ depth of one receiver.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Depth {
    pub queued: usize,
    pub dead: usize,
}

pub struct Store {
    path: String,
    conn: Mutex<Connection>,
}

fn open_conn(path: &Path, flags: OpenFlags) -> Result<Connection, rusqlite::Error> {
    let c = Connection::open_with_flags(path, flags)?;
    c.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(c)
}

impl Store {
    /// Opens (creating) the store for reading and writing, and proves that
    /// a write commits: an unwritable store fails here, not at the first
    /// notification.
    pub fn open(path: &Path, now: Timestamp) -> Result<Store, OutboxError> {
        Self::open_inner(path, now).map_err(|e| match e.problem() {
            // SQLite says only "unable to open" (it cannot create the WAL
            // index); the OS says why.
            Some(super::error::StoreProblem::CannotOpen) => {
                let probe = path.with_extension("db-probe");
                match std::fs::write(&probe, b"") {
                    Err(io) => OutboxError::io(&path.display().to_string(), io),
                    Ok(()) => {
                        let _ = std::fs::remove_file(&probe);
                        e
                    }
                }
            }
            _ => e,
        })
    }

    fn open_inner(path: &Path, now: Timestamp) -> Result<Store, OutboxError> {
        let p = path.display().to_string();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| OutboxError::io(&p, e))?;
        }
        let err = |e| OutboxError::store(&p, e);
        let c = open_conn(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        )
        .map_err(err)?;
        let mode: String = c
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(OutboxError::Store {
                path: p,
                problem: super::error::StoreProblem::Other,
                detail: format!("cannot switch to WAL mode (got {mode})"),
            });
        }
        // FULL: the WAL is synced at every commit, not only at checkpoints,
        // so a committed row survives power loss too.
        c.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")
            .map_err(err)?;
        c.execute_batch(&format!("BEGIN IMMEDIATE; {SCHEMA} COMMIT;"))
            .map_err(err)?;
        let s = Store {
            path: p,
            conn: Mutex::new(c),
        };
        s.probe(now)?;
        Ok(s)
    }

    /// Opens an existing store read-only (for `dlq list` on a full disk).
    pub fn open_read_only(path: &Path) -> Result<Store, OutboxError> {
        let p = path.display().to_string();
        let c = open_conn(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| OutboxError::store(&p, e))?;
        Ok(Store {
            path: p,
            conn: Mutex::new(c),
        })
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    fn err(&self, e: rusqlite::Error) -> OutboxError {
        OutboxError::store(&self.path, e)
    }

    /// Runs `f` in one IMMEDIATE transaction (the write lock is taken at
    /// the start, so two processes never deadlock upgrading).
    fn write<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction) -> Result<T, rusqlite::Error>,
    ) -> Result<T, OutboxError> {
        let mut c = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let tx = c
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let out = f(&tx).map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(out)
    }

    fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, rusqlite::Error>,
    ) -> Result<T, OutboxError> {
        let c = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        f(&c).map_err(|e| self.err(e))
    }

    /// Writes a heartbeat: proves that the store takes writes right now.
    pub fn probe(&self, now: Timestamp) -> Result<(), OutboxError> {
        self.write(|tx| {
            tx.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('heartbeat', ?1)",
                params![now.to_string()],
            )
            .map(|_| ())
        })
    }

    /// Queues each notification for each of the integrations given with
    /// it, and records it in the notification log, all in one transaction:
    /// when this returns `Ok` the notification is acknowledged.
    pub fn enqueue(
        &self,
        items: &[(Notification, Vec<String>)],
        now: Timestamp,
    ) -> Result<Enqueued, OutboxError> {
        self.write(|tx| {
            let mut out = Enqueued::default();
            let mut ins = tx.prepare_cached(
                "INSERT OR IGNORE INTO jobs (state, dedup_key, receiver, integration, group_key, notification,
                     created_at, enqueued_at, attempts, next_at)
                 VALUES ('queued', ?1, ?2, ?3, ?4, ?5, ?6, ?6, 0, ?6)",
            )?;
            let mut log = tx.prepare_cached(
                "INSERT INTO nflog (receiver, group_key, route_idx, group_labels, dedup_key, firing, resolved, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (receiver, group_key) DO UPDATE SET
                     route_idx = excluded.route_idx, group_labels = excluded.group_labels,
                     dedup_key = excluded.dedup_key, firing = excluded.firing,
                     resolved = excluded.resolved, at = excluded.at
                 WHERE excluded.at >= nflog.at",
            )?;
            for (n, integrations) in items {
                let key = notification_key(n);
                let body = encode(n);
                for i in integrations {
                    match ins.execute(params![key, n.receiver, i, n.group_key, body, now])? {
                        0 => out.already_queued += 1,
                        _ => out.queued += 1,
                    }
                }
                log.execute(params![
                    n.receiver,
                    n.group_key,
                    n.route_idx as i64,
                    labels_json(&n.group_labels),
                    key,
                    labels_list_json(n.firing.iter().map(|a| &a.labels)),
                    labels_list_json(n.resolved.iter().map(|a| &a.labels)),
                    n.at,
                ])?;
            }
            Ok(out)
        })
    }

    /// Queued jobs due at `now`, oldest first.
    pub fn due(&self, now: Timestamp, limit: usize) -> Result<Vec<Job>, OutboxError> {
        self.jobs(
            "WHERE state = 'queued' AND next_at <= ?1 ORDER BY next_at, id LIMIT ?2",
            params![now, limit as i64],
        )
    }

    /// Every queued job (tests, status).
    pub fn queued(&self) -> Result<Vec<Job>, OutboxError> {
        self.jobs("WHERE state = 'queued' ORDER BY id", params![])
    }

    /// The dead-letter queue, oldest first.
    pub fn dead(&self) -> Result<Vec<Job>, OutboxError> {
        self.jobs("WHERE state = 'dead' ORDER BY id", params![])
    }

    pub fn get(&self, id: i64) -> Result<Option<Job>, OutboxError> {
        Ok(self.jobs("WHERE id = ?1", params![id])?.pop())
    }

    fn jobs(&self, filter: &str, p: impl rusqlite::Params) -> Result<Vec<Job>, OutboxError> {
        let rows: Vec<(RawJob, String)> = self.read(|c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT id, state, dedup_key, receiver, integration, group_key, created_at, enqueued_at,
                        attempts, next_at, last_status, last_error, dead_at, notification
                 FROM jobs {filter}"
            ))?;
            let it = st.query_map(p, |r| {
                Ok((
                    RawJob {
                        id: r.get(0)?,
                        state: r.get(1)?,
                        dedup_key: r.get(2)?,
                        receiver: r.get(3)?,
                        integration: r.get(4)?,
                        group_key: r.get(5)?,
                        created_at: r.get(6)?,
                        enqueued_at: r.get(7)?,
                        attempts: r.get(8)?,
                        next_at: r.get(9)?,
                        last_status: r.get(10)?,
                        last_error: r.get(11)?,
                        dead_at: r.get(12)?,
                    },
                    r.get(13)?,
                ))
            })?;
            it.collect()
        })?;
        rows.into_iter()
            .map(|(j, text)| {
                let notification = decode(&text).map_err(|e| OutboxError::BadRow {
                    id: j.id,
                    detail: e.to_string(),
                })?;
                Ok(Job {
                    id: j.id,
                    state: if j.state == "dead" {
                        JobState::Dead
                    } else {
                        JobState::Queued
                    },
                    dedup_key: j.dedup_key,
                    receiver: j.receiver,
                    integration: j.integration,
                    group_key: j.group_key,
                    notification,
                    created_at: j.created_at,
                    enqueued_at: j.enqueued_at,
                    attempts: j.attempts.max(0) as u32,
                    next_at: j.next_at,
                    last_status: j.last_status.map(|s: i64| s as u16),
                    last_error: j.last_error,
                    dead_at: j.dead_at,
                })
            })
            .collect()
    }

    /// The receiver accepted the job: it leaves the store. False when the
    /// row was already gone (purged meanwhile).
    pub fn delivered(&self, id: i64) -> Result<bool, OutboxError> {
        Ok(self.delivered_many(&[id])? > 0)
    }

    /// The receiver accepted these jobs: they leave the store, in one
    /// transaction committed with `synchronous=NORMAL` (no fsync of its
    /// own; the next `FULL` commit or checkpoint syncs it). Losing an
    /// acknowledgement to a power cut only sends that notification again
    /// (same dedup key); `enqueue` stays `FULL`, so nothing queued is lost.
    /// Returns how many rows were still queued.
    pub fn delivered_many(&self, ids: &[i64]) -> Result<usize, OutboxError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let mut c = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        c.execute_batch("PRAGMA synchronous=NORMAL")
            .map_err(|e| self.err(e))?;
        let r = (|| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut n = 0;
            {
                let mut del =
                    tx.prepare_cached("DELETE FROM jobs WHERE id = ?1 AND state = 'queued'")?;
                for id in ids {
                    n += del.execute(params![id])?;
                }
            }
            tx.commit()?;
            Ok(n)
        })();
        // Every other write commits with FULL again, whatever happened.
        let back = c.execute_batch("PRAGMA synchronous=FULL");
        let n = r.map_err(|e| self.err(e))?;
        back.map_err(|e| self.err(e))?;
        Ok(n)
    }

    /// A failed attempt that will be retried at `next_at`.
    pub fn retry_later(
        &self,
        id: i64,
        attempts: u32,
        next_at: Timestamp,
        status: Option<u16>,
        error: &str,
    ) -> Result<(), OutboxError> {
        self.write(|tx| {
            tx.execute(
                "UPDATE jobs SET attempts = ?2, next_at = ?3, last_status = ?4, last_error = ?5
                 WHERE id = ?1 AND state = 'queued'",
                params![id, attempts, next_at, status, error],
            )
            .map(|_| ())
        })
    }

    /// Moves a job to the dead-letter queue with its last error.
    pub fn kill(
        &self,
        id: i64,
        attempts: u32,
        status: Option<u16>,
        error: &str,
        now: Timestamp,
    ) -> Result<(), OutboxError> {
        self.write(|tx| {
            tx.execute(
                "UPDATE jobs SET state = 'dead', attempts = ?2, last_status = ?3, last_error = ?4, dead_at = ?5
                 WHERE id = ?1 AND state = 'queued'",
                params![id, attempts, status, error, now],
            )
            .map(|_| ())
        })
    }

    /// Moves dead letters back to the queue, due now, with a fresh retry
    /// budget; `None` replays all. Returns the ids queued again. A dead
    /// letter whose state is queued already is dropped instead (the queued
    /// one says the same).
    pub fn replay(&self, ids: Option<&[i64]>, now: Timestamp) -> Result<Vec<i64>, OutboxError> {
        self.write(|tx| {
            let wanted: Vec<i64> = match ids {
                Some(ids) => ids.to_vec(),
                None => {
                    let mut st = tx.prepare("SELECT id FROM jobs WHERE state = 'dead' ORDER BY id")?;
                    let v = st.query_map([], |r| r.get(0))?.collect::<Result<Vec<i64>, _>>()?;
                    v
                }
            };
            let mut out = Vec::new();
            for id in wanted {
                tx.execute(
                    "DELETE FROM jobs WHERE id = ?1 AND state = 'dead' AND EXISTS (
                        SELECT 1 FROM jobs q WHERE q.state = 'queued' AND q.dedup_key = jobs.dedup_key
                          AND q.receiver = jobs.receiver AND q.integration = jobs.integration)",
                    params![id],
                )?;
                let n = tx.execute(
                    "UPDATE jobs SET state = 'queued', attempts = 0, next_at = ?2, enqueued_at = ?2, dead_at = NULL
                     WHERE id = ?1 AND state = 'dead'",
                    params![id, now],
                )?;
                if n > 0 {
                    out.push(id);
                }
            }
            Ok(out)
        })
    }

    /// Deletes dead letters; `None` purges all. Returns how many.
    pub fn purge(&self, ids: Option<&[i64]>) -> Result<usize, OutboxError> {
        self.write(|tx| match ids {
            None => tx.execute("DELETE FROM jobs WHERE state = 'dead'", []),
            Some(ids) => {
                let mut n = 0;
                for id in ids {
                    n += tx.execute(
                        "DELETE FROM jobs WHERE id = ?1 AND state = 'dead'",
                        params![id],
                    )?;
                }
                Ok(n)
            }
        })
    }

    /// The earliest `next_at` of the queue.
    pub fn next_due(&self) -> Result<Option<Timestamp>, OutboxError> {
        self.read(|c| {
            c.query_row(
                "SELECT MIN(next_at) FROM jobs WHERE state = 'queued'",
                [],
                |r| r.get(0),
            )
        })
    }

    /// Queue and DLQ depth per receiver.
    pub fn depth_by_receiver(&self) -> Result<BTreeMap<String, Depth>, OutboxError> {
        let rows: Vec<(String, String, i64)> = self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT receiver, state, COUNT(*) FROM jobs GROUP BY receiver, state",
            )?;
            let v = st
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect();
            v
        })?;
        let mut out: BTreeMap<String, Depth> = BTreeMap::new();
        for (recv, state, n) in rows {
            let d = out.entry(recv).or_default();
            if state == "dead" {
                d.dead = n as usize;
            } else {
                d.queued = n as usize;
            }
        }
        Ok(out)
    }

    /// Total queued and dead rows.
    pub fn depth(&self) -> Result<Depth, OutboxError> {
        Ok(self
            .depth_by_receiver()?
            .values()
            .fold(Depth::default(), |a, d| Depth {
                queued: a.queued + d.queued,
                dead: a.dead + d.dead,
            }))
    }

    /// The notification log: what was last queued per receiver and group.
    pub fn sent_log(&self) -> Result<Vec<SentRecord>, OutboxError> {
        type Row = (String, String, i64, String, String, String, i64);
        let rows: Vec<Row> = self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT receiver, group_key, route_idx, group_labels, firing, resolved, at FROM nflog ORDER BY receiver, group_key",
            )?;
            let v = st
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)))?
                .collect();
            v
        })?;
        rows.into_iter()
            .map(|(receiver, group_key, route_idx, gl, f, r, at)| {
                let bad = |e: serde_json::Error| OutboxError::BadRow {
                    id: 0,
                    detail: format!("nflog {group_key}: {e}"),
                };
                Ok(SentRecord {
                    group_labels: labels_from_map(serde_json::from_str(&gl).map_err(bad)?),
                    firing: labels_list_from(&f).map_err(bad)?,
                    resolved: labels_list_from(&r).map_err(bad)?,
                    receiver,
                    group_key: group_key.clone(),
                    route_idx: route_idx.max(0) as usize,
                    at,
                })
            })
            .collect()
    }

    /// Forgets log entries last written before `before` (upstream keeps
    /// its log for `--data.retention`, 120h by default).
    pub fn gc_log(&self, before: Timestamp) -> Result<usize, OutboxError> {
        self.write(|tx| tx.execute("DELETE FROM nflog WHERE at < ?1", params![before]))
    }
}

struct RawJob {
    id: i64,
    state: String,
    dedup_key: String,
    receiver: String,
    integration: String,
    group_key: String,
    created_at: i64,
    enqueued_at: i64,
    attempts: i64,
    next_at: i64,
    last_status: Option<i64>,
    last_error: Option<String>,
    dead_at: Option<i64>,
}

fn labels_json(l: &Labels) -> String {
    serde_json::to_string(&labels_to_map(l)).expect("labels serialise")
}

fn labels_list_json<'a>(it: impl Iterator<Item = &'a Labels>) -> String {
    let v: Vec<BTreeMap<String, String>> = it.map(labels_to_map).collect();
    serde_json::to_string(&v).expect("labels serialise")
}

fn labels_list_from(s: &str) -> Result<Vec<Labels>, serde_json::Error> {
    let v: Vec<BTreeMap<String, String>> = serde_json::from_str(s)?;
    Ok(v.into_iter().map(labels_from_map).collect())
}

/// While held, this process is the one that delivers from a store: an
/// exclusive SQLite lock on a side file, released by the OS when the
/// process dies (so SIGKILL never leaves a stale lock).
pub struct WorkerLock {
    // In a Mutex only to make the lock Sync; it is never used again.
    _conn: Mutex<Connection>,
    path: PathBuf,
}

impl WorkerLock {
    /// Takes the lock for the store at `db`, or says who holds it.
    pub fn acquire(db: &Path) -> Result<WorkerLock, OutboxError> {
        let mut path = db.as_os_str().to_owned();
        path.push(".lock");
        let path = PathBuf::from(path);
        let p = path.display().to_string();
        let c = Connection::open(&path).map_err(|e| OutboxError::store(&p, e))?;
        c.busy_timeout(std::time::Duration::ZERO)
            .map_err(|e| OutboxError::store(&p, e))?;
        // EXCLUSIVE locking mode keeps the lock after the first write.
        let taken = c.execute_batch(
            "PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS holder (pid INTEGER); \
             DELETE FROM holder; INSERT INTO holder VALUES (0); COMMIT;",
        );
        match taken {
            Ok(()) => Ok(WorkerLock {
                _conn: Mutex::new(c),
                path,
            }),
            Err(e)
                if matches!(
                    e.sqlite_error_code(),
                    Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
                ) =>
            {
                Err(OutboxError::WorkerActive(db.display().to_string()))
            }
            Err(e) => Err(OutboxError::store(&p, e)),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::{Alert, NotifyReason};

    fn n(group: &str, instances: &[&str], at: i64) -> Notification {
        Notification {
            at,
            receiver: "team".into(),
            route_idx: 0,
            group_key: format!("{{}}:{{alertname=\"{group}\"}}"),
            group_labels: Labels::from_pairs([("alertname", group)]),
            firing: instances
                .iter()
                .map(|i| {
                    Alert::firing(
                        Labels::from_pairs([("alertname", group), ("instance", i)]),
                        0,
                    )
                })
                .collect(),
            resolved: vec![],
            reason: NotifyReason::FirstNotification,
        }
    }

    fn hooks() -> Vec<String> {
        vec!["webhook_configs.0".into(), "slack_configs.0".into()]
    }

    #[test]
    fn queued_rows_survive_reopen_and_leave_only_when_delivered() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join(DB_FILE);
        let s = Store::open(&path, 0).unwrap();
        let e = s
            .enqueue(
                &[(n("A", &["1"], 10), hooks()), (n("B", &["1"], 10), hooks())],
                10,
            )
            .unwrap();
        assert_eq!(
            e,
            Enqueued {
                queued: 4,
                already_queued: 0
            }
        );
        // The same state again is not queued twice.
        let e = s.enqueue(&[(n("A", &["1"], 20), hooks())], 20).unwrap();
        assert_eq!(
            e,
            Enqueued {
                queued: 0,
                already_queued: 2
            }
        );
        drop(s);
        let s = Store::open(&path, 30).unwrap();
        let due = s.due(30, 100).unwrap();
        assert_eq!(due.len(), 4);
        assert_eq!(due[0].notification, n("A", &["1"], 10));
        assert!(s.delivered(due[0].id).unwrap());
        assert!(!s.delivered(due[0].id).unwrap(), "gone once delivered");
        s.retry_later(due[1].id, 1, 1_000, Some(503), "unexpected status code 503")
            .unwrap();
        assert_eq!(s.due(999, 100).unwrap().len(), 2);
        assert_eq!(s.next_due().unwrap(), Some(10));
        assert_eq!(s.depth().unwrap(), Depth { queued: 3, dead: 0 });
    }

    #[test]
    fn delivered_many_removes_queued_rows_only_and_keeps_commits_full() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join(DB_FILE);
        let s = Store::open(&path, 0).unwrap();
        s.enqueue(
            &[(n("A", &["1"], 10), hooks()), (n("B", &["1"], 10), hooks())],
            10,
        )
        .unwrap();
        let due = s.due(10, 100).unwrap();
        assert_eq!(due.len(), 4);
        s.kill(due[3].id, 1, Some(400), "bad", 11).unwrap();
        // A dead letter and an unknown id are not "delivered".
        let ids = [due[0].id, due[1].id, due[3].id, 9_999];
        assert_eq!(s.delivered_many(&ids).unwrap(), 2);
        assert_eq!(s.delivered_many(&[]).unwrap(), 0);
        let sync: i64 = s
            .read(|c| c.query_row("PRAGMA synchronous", [], |r| r.get(0)))
            .unwrap();
        assert_eq!(sync, 2, "back to FULL for everything else");
        drop(s);
        let s = Store::open(&path, 20).unwrap();
        let left: Vec<i64> = s.queued().unwrap().iter().map(|j| j.id).collect();
        assert_eq!(left, [due[2].id]);
        assert_eq!(s.depth().unwrap(), Depth { queued: 1, dead: 1 });
    }

    #[test]
    fn dead_letters_replay_and_purge() {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open(&d.path().join(DB_FILE), 0).unwrap();
        s.enqueue(&[(n("A", &["1"], 0), hooks())], 0).unwrap();
        let jobs = s.due(0, 10).unwrap();
        s.kill(jobs[0].id, 3, Some(500), "unexpected status code 500", 50)
            .unwrap();
        s.kill(jobs[1].id, 3, None, "transport error", 50).unwrap();
        let dead = s.dead().unwrap();
        assert_eq!(dead.len(), 2);
        assert_eq!(
            (dead[0].attempts, dead[0].last_status, dead[0].dead_at),
            (3, Some(500), Some(50))
        );
        assert!(
            s.due(1_000, 10).unwrap().is_empty(),
            "dead letters are not retried"
        );
        // The same state arrives again while dead: queued anew.
        s.enqueue(
            &[(n("A", &["1"], 60), vec!["webhook_configs.0".into()])],
            60,
        )
        .unwrap();
        let replayed = s.replay(None, 100).unwrap();
        // The webhook dead letter is dropped: a queued row says the same.
        assert_eq!(replayed, vec![jobs[1].id]);
        let q = s.queued().unwrap();
        assert_eq!(q.len(), 2);
        let back = q.iter().find(|j| j.id == jobs[1].id).unwrap();
        assert_eq!(
            (back.attempts, back.next_at, back.enqueued_at),
            (0, 100, 100)
        );
        s.kill(back.id, 1, None, "x", 200).unwrap();
        assert_eq!(s.purge(Some(&[back.id, 999])).unwrap(), 1);
        assert_eq!(s.depth().unwrap(), Depth { queued: 1, dead: 0 });
    }

    #[test]
    fn notification_log_keeps_latest_per_group() {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open(&d.path().join(DB_FILE), 0).unwrap();
        s.enqueue(&[(n("A", &["1", "2"], 100), vec![])], 100)
            .unwrap();
        s.enqueue(&[(n("A", &["1"], 50), vec![])], 100).unwrap();
        let log = s.sent_log().unwrap();
        assert_eq!(log.len(), 1);
        assert_eq!(
            log[0].at, 100,
            "an older record does not overwrite a newer one"
        );
        assert_eq!(log[0].firing.len(), 2);
        assert_eq!(
            log[0].group_labels,
            Labels::from_pairs([("alertname", "A")])
        );
        assert_eq!(s.gc_log(101).unwrap(), 1);
    }

    #[test]
    fn one_worker_per_store() {
        let d = tempfile::tempdir().unwrap();
        let db = d.path().join(DB_FILE);
        let l = WorkerLock::acquire(&db).unwrap();
        assert!(matches!(
            WorkerLock::acquire(&db),
            Err(OutboxError::WorkerActive(_))
        ));
        drop(l);
        WorkerLock::acquire(&db).unwrap();
    }
}
