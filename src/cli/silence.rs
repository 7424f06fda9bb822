//! `alertgate silence add|list|expire`, with amtool's flags. Silences live in
//! a JSON file: `--silences-file`, else `<state_dir>/silences.json` from
//! `--config`.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use clap::{Args, Subcommand};

use super::exit;
use crate::routing::matchers::{parse_matcher, parse_matchers};
use crate::routing::silence::{render_table, SilenceState};
use crate::routing::{Silence, Silences};

#[derive(Debug, Args)]
pub struct SilenceArgs {
    #[command(subcommand)]
    pub command: SilenceCommand,
}

#[derive(Debug, Args)]
pub struct StoreArgs {
    /// alertgate.yml whose `state_dir` holds silences.json.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The silences file (takes precedence over --config).
    #[arg(long = "silences-file")]
    pub silences_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum SilenceCommand {
    /// Add a silence; prints its id. The first argument may be a bare alert name.
    Add {
        #[command(flatten)]
        store: StoreArgs,
        /// How long the silence lasts (from --start, default now).
        #[arg(long, short = 'd', default_value = "1h")]
        duration: String,
        /// Start time (RFC 3339); default now.
        #[arg(long)]
        start: Option<String>,
        /// End time (RFC 3339); overrides --duration.
        #[arg(long)]
        end: Option<String>,
        #[arg(long, short = 'c')]
        comment: String,
        /// Creator; default $USER.
        #[arg(long, short = 'a')]
        author: Option<String>,
        /// Matchers such as `env=prod` or `alertname=~"Http.*"`.
        #[arg(required = true)]
        matchers: Vec<String>,
    },
    /// List silences (active and pending; --expired for expired ones).
    List {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        expired: bool,
        /// Only print ids.
        #[arg(long, short = 'q')]
        quiet: bool,
    },
    /// Expire silences by id.
    Expire {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(required = true)]
        ids: Vec<String>,
    },
}

fn store_path(s: &StoreArgs) -> anyhow::Result<PathBuf> {
    if let Some(p) = &s.silences_file {
        return Ok(p.clone());
    }
    let Some(cfg) = &s.config else {
        bail!("one of --silences-file or --config is required")
    };
    state_dir_silences(cfg)
}

fn state_dir_silences(cfg: &Path) -> anyhow::Result<PathBuf> {
    let text =
        std::fs::read_to_string(cfg).with_context(|| format!("cannot read {}", cfg.display()))?;
    let v: yaml_serde::Value = yaml_serde::from_str(&text)
        .with_context(|| format!("{} is not valid YAML", cfg.display()))?;
    let dir = v
        .get("state_dir")
        .and_then(|d| d.as_str())
        .ok_or_else(|| anyhow!("{} has no state_dir; pass --silences-file", cfg.display()))?;
    let dir = Path::new(dir);
    let dir = if dir.is_relative() {
        cfg.parent().unwrap_or(Path::new(".")).join(dir)
    } else {
        dir.to_path_buf()
    };
    Ok(dir.join("silences.json"))
}

fn ts(s: &str) -> anyhow::Result<i64> {
    crate::model::time::parse_time(s).map_err(|e| anyhow!("{e}"))
}

fn add(
    store: &StoreArgs,
    duration: &str,
    start: Option<&str>,
    end: Option<&str>,
    comment: &str,
    author: Option<&str>,
    args: &[String],
) -> anyhow::Result<()> {
    let now = crate::clock::now_ms();
    let mut matchers = Vec::new();
    for (i, a) in args.iter().enumerate() {
        // amtool: a first argument without an operator is an alert name.
        if i == 0 && !a.contains(['=', '~']) {
            matchers.push(crate::model::Matcher::equal("alertname", a.clone()));
            continue;
        }
        match parse_matcher(a) {
            Ok(m) => matchers.push(m),
            Err(_) => matchers
                .extend(parse_matchers(a).map_err(|e| anyhow!("invalid matcher {a:?}: {e}"))?),
        }
    }
    let starts_at = start.map(ts).transpose()?.unwrap_or(now);
    let ends_at = match end {
        Some(e) => ts(e)?,
        None => {
            starts_at
                + crate::routing::duration::parse_duration(duration)
                    .map_err(|e| anyhow!("--duration: {e}"))?
        }
    };
    let author = author
        .map(str::to_string)
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_default();
    let path = store_path(store)?;
    let mut silences = Silences::open(&path)?;
    let silence = Silence {
        id: String::new(),
        matchers,
        starts_at,
        ends_at,
        updated_at: now,
        created_by: author,
        comment: comment.into(),
    };
    let id = silences.add(silence, now)?;
    println!("{id}");
    Ok(())
}

pub fn run(args: &SilenceArgs) -> u8 {
    let result = match &args.command {
        SilenceCommand::Add {
            store,
            duration,
            start,
            end,
            comment,
            author,
            matchers,
        } => add(
            store,
            duration,
            start.as_deref(),
            end.as_deref(),
            comment,
            author.as_deref(),
            matchers,
        ),
        SilenceCommand::List {
            store,
            expired,
            quiet,
        } => (|| {
            let now = crate::clock::now_ms();
            let silences = Silences::open(&store_path(store)?)?;
            let shown: Vec<&Silence> = silences
                .all()
                .iter()
                .filter(|s| (s.state(now) == SilenceState::Expired) == *expired)
                .collect();
            if *quiet {
                for s in shown {
                    println!("{}", s.id);
                }
            } else {
                print!("{}", render_table(&shown));
            }
            Ok(())
        })(),
        SilenceCommand::Expire { store, ids } => (|| {
            let now = crate::clock::now_ms();
            let mut silences = Silences::open(&store_path(store)?)?;
            for id in ids {
                silences.expire(id, now)?;
            }
            Ok(())
        })(),
    };
    match result {
        Ok(()) => exit::OK,
        Err(e) => exit::bad_input(&e),
    }
}
