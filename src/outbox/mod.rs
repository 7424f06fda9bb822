//! The durable notification outbox: nothing acknowledged is ever lost.
//!
//! Every notification the dispatcher flushes is written to a local SQLite
//! store (`store`) before anything is sent, one row per receiver
//! integration, and removed only after the receiver accepted it. The
//! `worker` sends due rows with exponential backoff and jitter (`backoff`),
//! honours `429` and `Retry-After`, limits concurrency per receiver and
//! stops hammering a dead endpoint (`circuit`). A row that runs out of
//! attempts or age, or fails for good, moves to the dead-letter queue with
//! its last error (`alertgate dlq`). The same transaction that queues a
//! notification records it in the notification log (`store`, table `nflog`), so a restart
//! neither pages twice for an unchanged group nor resets `repeat_interval`.
//! Self-metrics (`metrics`) and store health (`health`) are read by the
//! service for `/metrics` and readiness.
//!
//! Why SQLite (rusqlite, bundled): one file, no server, decades of
//! crash-safety testing; in WAL mode with `synchronous=FULL` a committed
//! transaction survives SIGKILL and power loss, and several processes (the
//! service and `alertgate dlq`) can open the same file safely. redb would
//! do too, but SQLite lets an operator inspect the queue with the `sqlite3`
//! shell in an incident, and reports a full disk as its own error code.

pub mod backoff;
pub mod circuit;
pub mod config;
pub mod error;
pub mod handle;
pub mod health;
pub mod metrics;
pub mod record;
pub mod sender;
pub mod store;
pub mod worker;

pub use config::OutboxConfig;
pub use error::{OutboxError, StoreProblem};
pub use handle::Outbox;
pub use record::dedup_key;
pub use sender::{NotifierSender, SendFailure, Sender};
pub use store::{Job, JobState};
pub use worker::{DrainReport, Worker};
