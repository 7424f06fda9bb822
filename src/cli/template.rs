//! `alertgate template render`: prints exactly what each integration of a
//! receiver would send for the alerts in a JSON file (secrets as
//! `<secret>`). Building the notifiers compiles every template, so a broken
//! template exits 2 here, as it does when the service loads the config.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{anyhow, Context};
use clap::{Args, Subcommand};
use serde::Deserialize;

use super::exit;
use crate::model::Labels;
use crate::notify::{build::build_receiver, NotifyCtx};
use crate::routing::Alert;

#[derive(Debug, Args)]
pub struct TemplateArgs {
    #[command(subcommand)]
    pub command: TemplateCommand,
}

#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// Print what RECEIVER would send for the alerts in FILE.json.
    Render(RenderArgs),
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// alertgate.yml / alertmanager.yml with the receivers.
    #[arg(long, default_value = "alertgate.yml")]
    pub config: PathBuf,
    #[arg(long)]
    pub receiver: String,
    /// Alerts: a JSON list in Alertmanager's API format (labels,
    /// annotations, startsAt, endsAt, generatorURL), a webhook payload, or
    /// `alertgate check --format json` output.
    #[arg(long)]
    pub alerts: PathBuf,
    /// Notification time: RFC 3339 or Unix seconds (default: now).
    #[arg(long)]
    pub at: Option<String>,
    #[arg(long = "external-url", default_value = "")]
    pub external_url: String,
}

pub fn run(args: &TemplateArgs) -> u8 {
    match &args.command {
        TemplateCommand::Render(a) => match render(a) {
            Ok(out) => {
                print!("{out}");
                exit::OK
            }
            Err(e) => exit::bad_input(&e),
        },
    }
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum AlertsFile {
    List(Vec<InAlert>),
    Wrapped { alerts: Vec<InAlert> },
}

#[derive(Debug, Deserialize)]
struct InAlert {
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default, rename = "startsAt", alias = "active_at")]
    starts_at: Option<String>,
    #[serde(default, rename = "endsAt")]
    ends_at: Option<String>,
    #[serde(default, rename = "generatorURL")]
    generator_url: String,
    #[serde(default)]
    status: Option<String>,
    /// `check --format json` keeps the alert name apart.
    #[serde(default)]
    name: Option<String>,
}

fn time(s: &str) -> anyhow::Result<Option<i64>> {
    if s.is_empty() || s.starts_with("0001-01-01") {
        return Ok(None);
    }
    crate::model::time::parse_time(s)
        .map(Some)
        .map_err(|e| anyhow!("bad time {s:?}: {e}"))
}

fn render(a: &RenderArgs) -> anyhow::Result<String> {
    let now = match &a.at {
        Some(s) => crate::model::time::parse_time(s).with_context(|| "--at")?,
        None => crate::clock::now_ms(),
    };
    let cfg = crate::routing::load_file(&a.config).map_err(|e| anyhow!("{e}"))?;
    let receiver = cfg
        .receiver(&a.receiver)
        .ok_or_else(|| anyhow!("no receiver {:?} in {}", a.receiver, a.config.display()))?;
    let (built, problems) = build_receiver(receiver);
    if !problems.is_empty() {
        let lines: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        return Err(anyhow!("{}", lines.join("; ")));
    }
    let src =
        std::fs::read_to_string(&a.alerts).with_context(|| format!("{}", a.alerts.display()))?;
    let file: AlertsFile = serde_json::from_str(&src)
        .with_context(|| format!("{}: not an alerts JSON", a.alerts.display()))?;
    let list = match file {
        AlertsFile::List(l) | AlertsFile::Wrapped { alerts: l } => l,
    };
    let (mut firing, mut resolved) = (Vec::new(), Vec::new());
    for x in list {
        let mut labels = Labels::from_pairs(x.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        if let (Some(n), false) = (&x.name, labels.contains("alertname")) {
            labels.set("alertname", n.clone());
        }
        let mut alert = Alert::firing(
            labels,
            time(x.starts_at.as_deref().unwrap_or(""))?.unwrap_or(now),
        );
        alert.annotations = x.annotations;
        alert.generator_url = x.generator_url;
        alert.ends_at = time(x.ends_at.as_deref().unwrap_or(""))?;
        if x.status.as_deref() == Some("resolved") && alert.ends_at.is_none() {
            alert.ends_at = Some(now);
        }
        if alert.resolved_at(now) {
            resolved.push(alert);
        } else {
            firing.push(alert);
        }
    }
    // Group labels: those the alerts share among the root route's group_by.
    let group_by: Vec<String> = cfg.route.opts.group_by.clone();
    let group_labels = firing
        .first()
        .or(resolved.first())
        .map(|x| x.labels.keep(&group_by))
        .unwrap_or_default();
    let ctx = NotifyCtx::new(
        &a.receiver,
        &format!("{{}}:{group_labels}"),
        group_labels,
        firing,
        resolved,
        now,
        &a.external_url,
    );
    let mut out = String::new();
    for b in built {
        let Some(c) = ctx.for_send_resolved(b.notifier.send_resolved()) else {
            out.push_str(&format!(
                "# {}/{}: nothing to send (send_resolved: false)\n\n",
                a.receiver, b.name
            ));
            continue;
        };
        for r in b
            .notifier
            .render(&c)
            .map_err(|e| anyhow!("{}: {e}", b.name))?
        {
            out.push_str(&format!("# {}/{} -> {}\n", a.receiver, b.name, r.target));
            for (k, v) in &r.headers {
                out.push_str(&format!("{k}: {v}\n"));
            }
            out.push('\n');
            out.push_str(r.body.trim_end());
            out.push_str("\n\n");
        }
    }
    Ok(out)
}
