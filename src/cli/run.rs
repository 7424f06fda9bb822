//! `alertgate run`: the service (evaluation loop, scraping, HTTP API), or
//! with `--once` the timer mode. Exit codes (runbook 003): 0 after a clean
//! or idle round or a stop by SIGTERM/SIGINT, 1 on a config or runtime error.

use super::exit;
use crate::service::{self, ServeOptions};
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The configuration file (rule_files, scrape_configs, routing, web, ...).
    #[arg(long, default_value = "alertgate.yml")]
    pub config: PathBuf,
    /// One scrape, evaluation and delivery round, then exit.
    #[arg(long)]
    pub once: bool,
    /// Listen address, overriding `web.listen_address`.
    #[arg(long = "web.listen-address", value_name = "HOST:PORT")]
    pub listen: Option<String>,
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ALERTGATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn fail(msg: &str) -> u8 {
    eprintln!("alertgate: error: {}", msg.replace('\n', "; "));
    exit::RUN_ERROR
}

pub fn run(a: &RunArgs) -> u8 {
    init_logging();
    let cfg = match service::config::load(&a.config) {
        Ok(c) => c,
        Err(e) => return fail(&format!("{e:#}")),
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(&e.to_string()),
    };
    let code = rt.block_on(async {
        if a.once {
            match service::run_once(cfg, crate::clock::now_ms).await {
                Ok(r) if r.rule_errors == 0 && r.undelivered == 0 => exit::OK,
                Ok(r) => fail(&format!(
                    "{} rule evaluation errors, {} notifications not delivered",
                    r.rule_errors, r.undelivered
                )),
                Err(e) => fail(&format!("{e:#}")),
            }
        } else {
            let opts = ServeOptions {
                listen: a.listen.clone(),
                ..ServeOptions::default()
            };
            match service::serve(cfg, opts).await {
                Ok(()) => exit::OK,
                Err(e) => fail(&format!("{e:#}")),
            }
        }
    });
    // Blocking delivery threads may still be running; do not wait for them.
    rt.shutdown_timeout(std::time::Duration::from_millis(500));
    code
}
