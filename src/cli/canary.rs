//! `alertgate canary`: the rollout gate of runbooks 000, 001 and 004.
//! `decide` exits 0 GO, 1 HOLD, 3 BACKOUT, 2 bad input; `rollout`,
//! `kill-switch` and `status` exit 0 on success and 2 on bad input
//! (including a corrupt state file, which is left untouched).

use super::exit;
use crate::canary::config::{self, CanaryConfig, TenantPaths};
use crate::canary::report::{decision_markdown, file_stamp, rfc3339, utc_date, RolloutLog};
use crate::canary::state::{apply_decision, set_kill_switch, OperateState};
use crate::canary::store::{self, TenantLock};
use crate::canary::{decide, kpi, DecideInput, Verdict};
use crate::datasource::{self, Datasource, DatasourceConfig, DatasourceSpec};
use crate::promql::Engine;
use crate::snapshot::{self, SnapshotSpec};
use anyhow::{anyhow, bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Args)]
pub struct CanaryArgs {
    #[command(subcommand)]
    pub command: CanaryCommand,
}

#[derive(Debug, Subcommand)]
pub enum CanaryCommand {
    /// Measure the KPIs and decide GO_<step> / HOLD / BACKOUT; writes
    /// `<stamp>_decision.json` and `.md` (exit 0 GO, 1 HOLD, 3 BACKOUT, 2 bad input).
    Decide(DecideArgs),
    /// Apply the latest decision to the tenant's state (idempotent).
    Rollout(RolloutArgs),
    /// Turn the tenant's kill switch on (or off with --off); idempotent.
    KillSwitch(KillSwitchArgs),
    /// Show step, kill switch, last decision and history.
    Status(StatusArgs),
}

#[derive(Debug, Args)]
pub struct Common {
    /// Gate config. Default: `canary.yml` if it exists, else the built-in
    /// runbook-001 gate with paths relative to the working directory.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Tenant id.
    #[arg(long)]
    pub tenant: String,
    /// Time of the run, RFC 3339 or Unix seconds (default: now).
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
}

#[derive(Debug, Args)]
pub struct DecideArgs {
    #[command(flatten)]
    pub common: Common,
    /// KPI day, YYYY-MM-DD (default: the UTC date of --now).
    #[arg(long)]
    pub date: Option<String>,
    /// Snapshot for PromQL KPIs, `PATH` or `PATH@TIME`; repeatable.
    #[arg(long = "snapshot", value_name = "PATH[@TIME]")]
    pub snapshots: Vec<String>,
    /// Label added to every snapshot series (`name=value`); repeatable.
    #[arg(long = "label", value_name = "NAME=VALUE")]
    pub labels: Vec<String>,
    /// Prometheus-compatible server for PromQL KPIs.
    #[arg(long, value_name = "URL", conflicts_with = "snapshots")]
    pub prometheus: Option<String>,
    /// Trace id of the decision (default: canary-<tenant>-<stamp>).
    #[arg(long)]
    pub trace_id: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct RolloutArgs {
    #[command(flatten)]
    pub common: Common,
    /// Decision to apply (default: the newest `*_decision.json`).
    #[arg(long, value_name = "FILE")]
    pub decision_file: Option<PathBuf>,
    /// Trace id of the rollout (default: the decision's).
    #[arg(long)]
    pub trace_id: Option<String>,
    /// Seconds to wait for another run on the same tenant.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub lock_timeout: f64,
}

#[derive(Debug, Args)]
pub struct KillSwitchArgs {
    #[command(flatten)]
    pub common: Common,
    /// Why (recorded in state and history).
    #[arg(long)]
    pub reason: String,
    #[arg(long)]
    pub trace_id: String,
    /// Turn the kill switch off instead of on.
    #[arg(long)]
    pub off: bool,
    /// Seconds to wait for another run on the same tenant.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub lock_timeout: f64,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub common: Common,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

pub fn run(args: &CanaryArgs) -> u8 {
    let res = match &args.command {
        CanaryCommand::Decide(a) => run_decide(a),
        CanaryCommand::Rollout(a) => run_rollout(a).map(|_| exit::OK),
        CanaryCommand::KillSwitch(a) => run_kill_switch(a).map(|_| exit::OK),
        CanaryCommand::Status(a) => run_status(a).map(|_| exit::OK),
    };
    res.unwrap_or_else(|e| exit::bad_input(&e))
}

/// Exit code of a decision.
pub fn decision_exit(v: Verdict) -> u8 {
    match v {
        Verdict::Go(_) => exit::OK,
        Verdict::Hold => exit::BREACH,
        Verdict::Backout => exit::BACKOUT,
    }
}

struct Ctx {
    cfg: CanaryConfig,
    now: i64,
}

fn context(c: &Common) -> anyhow::Result<Ctx> {
    config::check_tenant(&c.tenant).map_err(|e| anyhow!("--tenant: {e}"))?;
    let now = match &c.now {
        Some(s) => crate::model::time::parse_time(s).context("--now")?,
        None => crate::clock::now_ms(),
    };
    let default = Path::new("canary.yml");
    let cfg = match &c.config {
        Some(p) => config::load_file(p)?,
        None if default.exists() => config::load_file(default)?,
        None => config::default_config(Path::new("")),
    };
    Ok(Ctx { cfg, now })
}

fn env_vars() -> BTreeMap<String, String> {
    std::env::vars()
        .filter(|(k, _)| k.starts_with(config::ENV_PREFIX))
        .collect()
}

fn querier(a: &DecideArgs, now: i64) -> anyhow::Result<Option<Datasource>> {
    if !a.snapshots.is_empty() {
        let specs = a
            .snapshots
            .iter()
            .map(|s| SnapshotSpec::parse(s))
            .collect::<Result<Vec<_>, _>>()?;
        let extra = snapshot::parse_label_args(&a.labels)?;
        let store = snapshot::load(&specs, now, &extra)?;
        let ds = datasource::build(DatasourceSpec::Embedded {
            store,
            engine: Engine::default(),
        })?;
        return Ok(Some(ds));
    }
    if let Some(url) = &a.prometheus {
        let cfg = DatasourceConfig::from_url(url)?;
        return Ok(Some(datasource::build(DatasourceSpec::Remote(cfg))?));
    }
    Ok(None)
}

fn read_state(
    cfg: &CanaryConfig,
    paths: &TenantPaths,
    tenant: &str,
) -> anyhow::Result<OperateState> {
    Ok(store::read_state(&paths.state, tenant)?
        .unwrap_or_else(|| OperateState::initial(tenant, &cfg.steps)))
}

fn run_decide(a: &DecideArgs) -> anyhow::Result<u8> {
    let Ctx { mut cfg, now } = context(&a.common)?;
    let tenant = &a.common.tenant;
    cfg.apply_env(&env_vars()).map_err(|e| anyhow!(e))?;
    let date = match &a.date {
        Some(d) => {
            chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map_err(|_| anyhow!("--date: {d:?} is not YYYY-MM-DD"))?;
            d.clone()
        }
        None => utc_date(now),
    };
    let paths = cfg.paths.for_tenant(tenant, &date);
    let state = read_state(&cfg, &paths, tenant)?;
    if cfg.needs_querier() && a.snapshots.is_empty() && a.prometheus.is_none() {
        bail!(
            "{}: the gate has PromQL KPIs; give --snapshot or --prometheus",
            cfg.file
        );
    }
    let ds = querier(a, now)?;
    let measured = kpi::measure(
        &cfg,
        &paths,
        ds.as_ref().map(|d| d as &dyn crate::datasource::Querier),
        now,
    )?;
    let stamp = file_stamp(now);
    let trace_id = a
        .trace_id
        .clone()
        .unwrap_or_else(|| format!("canary-{tenant}-{stamp}"));
    let d = decide(&DecideInput {
        cfg: &cfg,
        tenant,
        date: &date,
        measured: &measured,
        state: &state,
        now_ms: now,
        trace_id: &trace_id,
    });
    let json = serde_json::to_string_pretty(&d)? + "\n";
    let jpath = paths.canary_dir.join(format!("{stamp}_decision.json"));
    let mpath = paths.canary_dir.join(format!("{stamp}_decision.md"));
    store::write_atomic(&jpath, json.as_bytes())?;
    store::write_atomic(&mpath, decision_markdown(&d).as_bytes())?;
    match a.format {
        Format::Json => print!("{json}"),
        Format::Text => {
            println!(
                "decision: {} (tenant {tenant}, KPIs of {date}, step {} -> {})",
                d.decision, d.current_step, d.target_step
            );
            for c in d.checks.iter().chain(d.volume.as_ref()) {
                let v = c
                    .value
                    .map_or("no data".to_string(), crate::canary::decide::fmt_value);
                let status = serde_json::to_value(c.status)?;
                println!(
                    "  {:<8} {} {v} (pass {})",
                    status.as_str().unwrap_or(""),
                    c.metric,
                    c.pass
                );
            }
            println!("reasons:");
            for r in &d.reasons {
                println!("  - {r}");
            }
            for al in &d.alerts {
                println!("alert: {}", serde_json::to_string(al)?);
            }
            println!("wrote: {}", jpath.display());
            println!("wrote: {}", mpath.display());
        }
    }
    Ok(decision_exit(d.decision))
}

fn lock_timeout(secs: f64) -> anyhow::Result<Duration> {
    if !(secs.is_finite() && secs >= 0.0) {
        bail!("--lock-timeout: must be a number of seconds >= 0");
    }
    Ok(Duration::from_secs_f64(secs))
}

fn run_rollout(a: &RolloutArgs) -> anyhow::Result<()> {
    let Ctx { cfg, now } = context(&a.common)?;
    let tenant = &a.common.tenant;
    let paths = cfg.paths.for_tenant(tenant, &utc_date(now));
    let _lock = TenantLock::acquire(&paths.state, lock_timeout(a.lock_timeout)?)?;
    let state = read_state(&cfg, &paths, tenant)?;
    let file = match &a.decision_file {
        Some(f) => f.clone(),
        None => store::latest_decision(&paths.canary_dir)?.ok_or_else(|| {
            anyhow!(
                "{}: no *_decision.json; run `alertgate canary decide` first",
                paths.canary_dir.display()
            )
        })?,
    };
    let d = store::read_decision(&file)?;
    if d.tenant != *tenant {
        bail!(
            "{}: decision is for tenant {:?}, not {tenant:?}",
            file.display(),
            d.tenant
        );
    }
    let trace_id = a.trace_id.clone().unwrap_or_else(|| d.trace_id.clone());
    let at = rfc3339(now);
    let t = apply_decision(
        &state,
        &d,
        &cfg.steps,
        &at,
        &trace_id,
        Some(file.display().to_string()),
    )
    .map_err(|e| anyhow!("{}: {e}", file.display()))?;
    if t.changed {
        store::write_atomic(&paths.state, &store::encode_state(&t.state))?;
    }
    let log = RolloutLog {
        tenant: tenant.clone(),
        at,
        trace_id: trace_id.clone(),
        decision: d.decision,
        decision_file: file.display().to_string(),
        changed: t.changed,
        from_step: t.from_step,
        to_step: t.to_step,
        kill_switch_before: t.kill_before,
        kill_switch_after: t.kill_after,
        reasons: d.reasons.clone(),
    };
    let log_path = store::write_new(
        &paths.canary_dir,
        &format!("{}_rollout_log", file_stamp(now)),
        ".json",
        (serde_json::to_string_pretty(&log)? + "\n").as_bytes(),
    )?;
    println!(
        "rollout: tenant={tenant} decision={} step={}->{} kill_switch={} changed={} trace_id={trace_id}",
        d.decision,
        t.from_step,
        t.to_step,
        on_off(t.kill_after),
        t.changed
    );
    println!("log: {}", log_path.display());
    Ok(())
}

fn on_off(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

fn run_kill_switch(a: &KillSwitchArgs) -> anyhow::Result<()> {
    let Ctx { cfg, now } = context(&a.common)?;
    let tenant = &a.common.tenant;
    if a.reason.trim().is_empty() || a.trace_id.trim().is_empty() {
        bail!("--reason and --trace-id must not be empty");
    }
    let paths = cfg.paths.for_tenant(tenant, &utc_date(now));
    let _lock = TenantLock::acquire(&paths.state, lock_timeout(a.lock_timeout)?)?;
    let state = read_state(&cfg, &paths, tenant)?;
    let t = set_kill_switch(&state, !a.off, &a.reason, &a.trace_id, &rfc3339(now));
    if t.changed {
        store::write_atomic(&paths.state, &store::encode_state(&t.state))?;
    }
    println!(
        "kill-switch: tenant={tenant} kill_switch={} step={} changed={} trace_id={}",
        on_off(t.kill_after),
        t.to_step,
        t.changed,
        a.trace_id
    );
    Ok(())
}

fn run_status(a: &StatusArgs) -> anyhow::Result<()> {
    let Ctx { cfg, now } = context(&a.common)?;
    let tenant = &a.common.tenant;
    let paths = cfg.paths.for_tenant(tenant, &utc_date(now));
    let stored = store::read_state(&paths.state, tenant)?;
    let state = stored
        .clone()
        .unwrap_or_else(|| OperateState::initial(tenant, &cfg.steps));
    let latest = store::latest_decision(&paths.canary_dir)?;
    let decision = latest
        .as_ref()
        .map(|p| store::read_decision(p))
        .transpose()?;
    match a.format {
        Format::Json => {
            let v = serde_json::json!({
                "state_file": paths.state.display().to_string(),
                "state_exists": stored.is_some(),
                "state": state,
                "latest_decision_file": latest.as_ref().map(|p| p.display().to_string()),
                "latest_decision": decision,
            });
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        Format::Text => {
            println!("tenant: {tenant}");
            println!(
                "state: {}{}",
                paths.state.display(),
                if stored.is_none() {
                    " (none yet: initial state)"
                } else {
                    ""
                }
            );
            println!("step: {} (steps {:?})", state.step, cfg.steps);
            let ks = &state.kill_switch;
            match (&ks.reason, &ks.trace_id) {
                (Some(r), Some(t)) => println!(
                    "kill switch: {} (reason: {r}; trace_id {t}; since {})",
                    on_off(ks.active),
                    ks.changed_at.as_deref().unwrap_or("?")
                ),
                _ => println!("kill switch: {}", on_off(ks.active)),
            }
            match &state.last_decision {
                Some(l) => println!(
                    "last applied decision: {} (decided {}, trace_id {})",
                    l.decision, l.decided_at, l.trace_id
                ),
                None => println!("last applied decision: none"),
            }
            match (&latest, &decision) {
                (Some(p), Some(d)) => println!(
                    "latest decision: {} for {} ({})",
                    d.decision,
                    d.date,
                    p.display()
                ),
                _ => println!("latest decision: none"),
            }
            println!("history:");
            if state.history.is_empty() {
                println!("  (empty)");
            }
            for h in &state.history {
                let what = h.decision.map(|d| format!(" {d}")).unwrap_or_default();
                println!(
                    "  {} {}{what} step {}->{} kill_switch={} trace_id={}: {}",
                    h.at,
                    h.action,
                    h.from_step,
                    h.to_step,
                    on_off(h.kill_switch),
                    h.trace_id,
                    h.reason
                );
            }
        }
    }
    Ok(())
}
