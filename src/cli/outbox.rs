//! `alertgate outbox drain|status`: the durable outbox in the config's
//! `state_dir` without the service. `drain` is timer mode (runbook 003):
//! it delivers what is queued, retrying as configured, and exits 0 when
//! the queue is empty, 1 when something went to the dead-letter queue or
//! the store failed (the message says which). `status` is a readiness
//! probe: 0 when the store takes writes, 1 when not.

use anyhow::Result;
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use super::dlq::{open, setup};
use super::exit;
use crate::outbox::Worker;

#[derive(Debug, Args)]
pub struct OutboxArgs {
    #[command(subcommand)]
    pub command: OutboxCommand,
}

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Deliver everything queued, then exit (0 empty, 1 DLQ or store error).
    Drain {
        #[arg(long, default_value = "alertgate.yml")]
        config: PathBuf,
    },
    /// Queue and DLQ depth, and whether the store takes writes (exit 1 if not).
    Status {
        #[arg(long, default_value = "alertgate.yml")]
        config: PathBuf,
    },
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ALERTGATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn fail(e: &anyhow::Error) -> u8 {
    eprintln!("alertgate: error: {}", format!("{e:#}").replace('\n', "; "));
    exit::RUN_ERROR
}

pub fn run(a: &OutboxArgs) -> u8 {
    init_logging();
    let r = match &a.command {
        OutboxCommand::Drain { config } => drain(config),
        OutboxCommand::Status { config } => status(config),
    };
    r.unwrap_or_else(|e| fail(&e))
}

fn drain(config: &Path) -> Result<u8> {
    let s = setup(config)?;
    let outbox = open(&s.db)?;
    let worker = Worker::new(outbox.clone(), Arc::new(s.sender), s.cfg)?;
    let r = worker.drain(&AtomicBool::new(false))?;
    eprintln!(
        "alertgate: outbox: {} delivered, {} failed attempts, {} moved to the dead-letter queue",
        r.delivered, r.failed_attempts, r.dead_lettered
    );
    Ok(if r.dead_lettered > 0 {
        exit::RUN_ERROR
    } else {
        exit::OK
    })
}

fn status(config: &Path) -> Result<u8> {
    let s = setup(config)?;
    let outbox = match open(&s.db) {
        Ok(o) => o,
        Err(e) => {
            println!("ready: no");
            eprintln!("alertgate: not ready: {e}");
            return Ok(exit::RUN_ERROR);
        }
    };
    let d = outbox.depth()?;
    println!("queued: {}", d.queued);
    println!("dead: {}", d.dead);
    match outbox.probe() {
        Ok(()) => {
            println!("ready: yes");
            Ok(exit::OK)
        }
        Err(e) => {
            println!("ready: no");
            eprintln!("alertgate: not ready: {e}");
            Ok(exit::RUN_ERROR)
        }
    }
}
