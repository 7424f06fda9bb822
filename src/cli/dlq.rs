//! `alertgate dlq list|show|replay|purge`: the dead-letter queue of the
//! durable outbox (`crate::outbox`) in the config's `state_dir`.
//!
//! Exit codes: `list` 0 when the DLQ is empty, 1 when it is not (runbooks
//! treat any dead letter as a hard stop), 2 on bad input; `replay` 0 when
//! everything replayed was delivered (or handed to a running service), 1
//! when some failed again; `purge` refuses without `--yes` (2).

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use super::exit;
use crate::notify::ctx::rfc3339;
use crate::outbox::{NotifierSender, Outbox, OutboxConfig, OutboxError, Worker};

#[derive(Debug, Args)]
pub struct DlqArgs {
    #[command(subcommand)]
    pub command: DlqCommand,
}

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// List dead letters (exit 1 when there are any).
    List {
        #[arg(long, default_value = "alertgate.yml")]
        config: PathBuf,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Show one dead letter with its last error and alerts.
    Show {
        id: i64,
        #[arg(long, default_value = "alertgate.yml")]
        config: PathBuf,
    },
    /// Queue dead letters again with a fresh retry budget and deliver them.
    Replay {
        ids: Vec<i64>,
        #[arg(long)]
        all: bool,
        #[arg(long, default_value = "alertgate.yml")]
        config: PathBuf,
    },
    /// Delete dead letters for good (needs --yes).
    Purge {
        ids: Vec<i64>,
        #[arg(long)]
        all: bool,
        /// Confirm: purged notifications are never sent.
        #[arg(long)]
        yes: bool,
        #[arg(long, default_value = "alertgate.yml")]
        config: PathBuf,
    },
}

/// What the outbox commands need from `alertgate.yml`.
pub(crate) struct OutboxSetup {
    pub db: PathBuf,
    pub cfg: OutboxConfig,
    pub sender: NotifierSender,
}

/// Reads `state_dir`, receivers and `notify.outbox` from the config file.
pub(crate) fn setup(config: &Path) -> Result<OutboxSetup> {
    let svc = crate::service::config::load(config)?;
    let Some(dir) = svc.state_dir.clone() else {
        bail!(
            "{}: state_dir is not set, so there is no outbox",
            config.display()
        );
    };
    let src = std::fs::read_to_string(config)
        .with_context(|| format!("cannot read {}", config.display()))?;
    let cfg = OutboxConfig::from_yaml(&src)?;
    let notifiers = match &svc.routing {
        Some(r) => crate::notify::build_receivers(r)?,
        None => Default::default(),
    };
    Ok(OutboxSetup {
        db: Outbox::path_in(&dir),
        cfg,
        sender: NotifierSender {
            notifiers,
            external_url: svc.external_url.clone(),
        },
    })
}

pub(crate) fn open(db: &Path) -> Result<Arc<Outbox>, OutboxError> {
    Outbox::open(db, Arc::new(crate::clock::now_ms)).map(Arc::new)
}

fn err(e: anyhow::Error) -> u8 {
    exit::bad_input(&e)
}

pub fn run(a: &DlqArgs) -> u8 {
    match &a.command {
        DlqCommand::List { config, json } => list(config, *json).unwrap_or_else(err),
        DlqCommand::Show { id, config } => show(config, *id).unwrap_or_else(err),
        DlqCommand::Replay { ids, all, config } => replay(config, ids, *all).unwrap_or_else(err),
        DlqCommand::Purge {
            ids,
            all,
            yes,
            config,
        } => purge(config, ids, *all, *yes).unwrap_or_else(err),
    }
}

fn read_store(config: &Path) -> Result<crate::outbox::store::Store> {
    let svc = crate::service::config::load(config)?;
    let Some(dir) = svc.state_dir else {
        bail!(
            "{}: state_dir is not set, so there is no outbox",
            config.display()
        );
    };
    let db = Outbox::path_in(&dir);
    if !db.exists() {
        bail!("no outbox at {}", db.display());
    }
    // Read-only, so listing works on a full disk too.
    Ok(crate::outbox::store::Store::open_read_only(&db)?)
}

fn list(config: &Path, json: bool) -> Result<u8> {
    let store = read_store(config)?;
    let dead = store.dead()?;
    for j in &dead {
        if json {
            let v = serde_json::json!({
                "id": j.id, "receiver": j.receiver, "integration": j.integration,
                "group_key": j.group_key, "dedup_key": j.dedup_key, "attempts": j.attempts,
                "status": j.last_status, "error": j.last_error, "created_at": rfc3339(j.created_at),
                "dead_at": j.dead_at.map(rfc3339),
            });
            println!("{v}");
        } else {
            println!(
                "{}\t{}\t{}\t{}\tattempts={}\t{}",
                j.id,
                j.dead_at.map(rfc3339).unwrap_or_default(),
                j.receiver,
                j.integration,
                j.attempts,
                j.last_error.as_deref().unwrap_or("")
            );
        }
    }
    if !json {
        eprintln!("{} dead letter(s)", dead.len());
    }
    Ok(if dead.is_empty() {
        exit::OK
    } else {
        exit::BREACH
    })
}

fn show(config: &Path, id: i64) -> Result<u8> {
    let store = read_store(config)?;
    let j = store
        .get(id)?
        .filter(|j| j.state == crate::outbox::JobState::Dead)
        .ok_or(OutboxError::NoSuchDeadLetter(id))?;
    let n = &j.notification;
    println!("id:          {}", j.id);
    println!("receiver:    {} ({})", j.receiver, j.integration);
    println!("group_key:   {}", j.group_key);
    println!("dedup_key:   {}", j.dedup_key);
    println!("created_at:  {}", rfc3339(j.created_at));
    println!(
        "dead_at:     {}",
        j.dead_at.map(rfc3339).unwrap_or_default()
    );
    println!("attempts:    {}", j.attempts);
    if let Some(s) = j.last_status {
        println!("last_status: {s}");
    }
    println!("last_error:  {}", j.last_error.as_deref().unwrap_or(""));
    println!("firing:      {}", n.firing.len());
    for a in &n.firing {
        println!("  {}", a.labels);
    }
    println!("resolved:    {}", n.resolved.len());
    for a in &n.resolved {
        println!("  {}", a.labels);
    }
    Ok(exit::OK)
}

fn selection<'a>(ids: &'a [i64], all: bool, verb: &str) -> Result<Option<&'a [i64]>> {
    match (ids.is_empty(), all) {
        (true, false) => bail!("dlq {verb}: give dead-letter ids or --all"),
        (false, true) => bail!("dlq {verb}: give ids or --all, not both"),
        (true, true) => Ok(None),
        (false, false) => Ok(Some(ids)),
    }
}

fn replay(config: &Path, ids: &[i64], all: bool) -> Result<u8> {
    let sel = selection(ids, all, "replay")?;
    let s = setup(config)?;
    let outbox = open(&s.db)?;
    let moved = outbox.store().replay(sel, outbox.now())?;
    if let Some(ids) = sel {
        let missing: Vec<String> = ids
            .iter()
            .filter(|i| !moved.contains(i))
            .map(|i| i.to_string())
            .collect();
        if !missing.is_empty() {
            eprintln!(
                "alertgate: not in the DLQ (or already queued): {}",
                missing.join(", ")
            );
        }
    }
    eprintln!("{} dead letter(s) queued again", moved.len());
    let worker = match Worker::new(outbox.clone(), Arc::new(s.sender), s.cfg) {
        Ok(w) => w,
        Err(OutboxError::WorkerActive(_)) => {
            eprintln!("a running alertgate delivers from this outbox; it sends them now");
            return Ok(exit::OK);
        }
        Err(e) => return Err(e.into()),
    };
    let r = worker.drain(&AtomicBool::new(false))?;
    eprintln!(
        "{} delivered, {} back in the DLQ",
        r.delivered, r.dead_lettered
    );
    let still_dead = outbox
        .store()
        .dead()?
        .iter()
        .filter(|j| moved.contains(&j.id))
        .count();
    Ok(if still_dead == 0 {
        exit::OK
    } else {
        exit::BREACH
    })
}

fn purge(config: &Path, ids: &[i64], all: bool, yes: bool) -> Result<u8> {
    let sel = selection(ids, all, "purge")?;
    if !yes {
        bail!("dlq purge deletes notifications for good; add --yes to confirm");
    }
    let s = setup(config)?;
    let outbox = open(&s.db)?;
    let n = outbox.store().purge(sel)?;
    eprintln!("{n} dead letter(s) purged");
    Ok(exit::OK)
}
