//! `--prometheus URL` and `--config alertgate.yml` (its `datasource:`
//! section) for `check` and `query`: evaluate against a Prometheus-compatible
//! HTTP API instead of snapshots.
//!
//! `check` replays each group over the same steps as with snapshots; each
//! rule's steps are announced to the client, which fetches them with one
//! range query. Recording rules cannot write back to a query API: their
//! output is dropped (as vmalert without remote write), so rules that read
//! recorded series need the server to record them itself.

use crate::datasource::config::{self, DatasourceConfig};
use crate::datasource::HttpQuerier;
use crate::rules::{self, ReplayOptions, ReplayReport, RuleFile};
use anyhow::anyhow;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Clone, Default, Args)]
pub struct RemoteArgs {
    /// Query this Prometheus-compatible server (Prometheus, VictoriaMetrics,
    /// Thanos, Mimir) instead of snapshots.
    #[arg(long, value_name = "URL", conflicts_with = "snapshots")]
    pub prometheus: Option<String>,
    /// alertgate.yml whose `datasource:` section names the server (headers,
    /// credentials, TLS, timeout). `--prometheus` overrides its URL.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// The configured remote datasource, if any.
pub fn datasource_config(args: &RemoteArgs) -> anyhow::Result<Option<DatasourceConfig>> {
    let from_file = match &args.config {
        Some(path) => config::load_file(path)?,
        None => None,
    };
    Ok(match (from_file, &args.prometheus) {
        (None, None) => None,
        (None, Some(url)) => Some(DatasourceConfig::from_url(url)?),
        (Some(cfg), None) => Some(cfg),
        (Some(mut cfg), Some(url)) => {
            let u = DatasourceConfig::from_url(url)?;
            cfg.url = u.url;
            cfg.query_params.extend(u.query_params);
            Some(cfg)
        }
    })
}

/// Builds the client for a one-shot command: after the first unreachable
/// answer every later query fails at once.
pub fn client(cfg: &DatasourceConfig) -> anyhow::Result<HttpQuerier> {
    let q = HttpQuerier::new(cfg).map_err(|e| anyhow!("datasource unreachable: {e}"))?;
    Ok(q.with_sticky_unreachable(true))
}

/// `check` against the server. An unreachable server is an error (exit 2),
/// never an empty "all clear" report; server warnings go to stderr with the
/// rules whose expression drew them.
pub fn replay(
    files: &[RuleFile],
    cfg: &DatasourceConfig,
    at: i64,
    opts: &ReplayOptions,
) -> anyhow::Result<ReplayReport> {
    let q = client(cfg)?;
    plan_ranges(&q, files, at, opts);
    let report = rules::replay(files, &q, at, opts);
    if let Some(e) = q.unreachable() {
        return Err(anyhow!("datasource unreachable: {e}"));
    }
    for (expr, warning) in q.take_warnings() {
        let mut named = false;
        for g in files.iter().flat_map(|f| &f.groups) {
            for r in g.rules.iter().filter(|r| r.expr_text() == expr) {
                eprintln!(
                    "alertgate: warning: {}: group {:?}: rule {:?}: {warning}",
                    g.file,
                    g.name,
                    r.name()
                );
                named = true;
            }
        }
        if !named {
            eprintln!("alertgate: warning: query {expr:?}: {warning}");
        }
    }
    Ok(report)
}

/// Tells the client the steps at which the replay will ask each rule, so
/// that it asks the server once per rule with a range query. The same grid
/// as `rules::replay`; where they differ the client falls back to instant
/// queries, so this only saves requests.
fn plan_ranges(q: &HttpQuerier, files: &[RuleFile], at: i64, opts: &ReplayOptions) {
    let window = rules::replay::replay_window_ms(files, opts.default_interval_ms);
    for g in files.iter().flat_map(|f| &f.groups) {
        let interval = g.interval_or(opts.default_interval_ms).max(1);
        let steps = ((window + interval - 1) / interval).min(rules::replay::MAX_REPLAY_STEPS);
        let end = at - g.query_offset();
        for r in &g.rules {
            q.plan_range(r.expr_text(), end - steps * interval, end, interval);
        }
    }
}
