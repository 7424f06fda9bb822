//! `alertgate check`: load rule files and snapshots (or scrape a metrics
//! endpoint once), evaluate every group at one time, print what is firing
//! and pending as text, JSON or a CI report (JUnit, Markdown, GitHub
//! annotations), and with `--notify` route what fires through the
//! configured receivers once. Exit 0 when nothing fires, 1 when something
//! does (or is pending, with `--fail-on pending`), 2 on bad input, an
//! endpoint that is down, or any rule that fails to evaluate (a failing rule
//! must never look like "all clear"). Delivery never changes the exit code.

mod ci;
mod deliver;
pub mod scrape;

use super::exit;
use crate::alerting::serde_util::format_float;
use crate::alerting::AlertState;
use crate::datasource::EmbeddedQuerier;
use crate::model::Labels;
use crate::promql::{Engine, EngineOptions};
use crate::report::{self, CiFormat};
use crate::rules::{
    self, AlertReport, ReplayOptions, ReplayReport, RuleEvalError, ValidateOptions,
};
use crate::snapshot::{self, SnapshotSpec};
use anyhow::{anyhow, Context};
use clap::{Args, ValueEnum};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Rule files, directories (their *.yml/*.yaml) or globs; repeatable.
    #[arg(long = "rules", value_name = "PATH", required = true, num_args = 1..)]
    pub rules: Vec<String>,
    /// Metric snapshots, `PATH` or `PATH@TIME`; repeatable.
    #[arg(long = "snapshot", value_name = "PATH[@TIME]", num_args = 1..)]
    pub snapshots: Vec<String>,
    /// Evaluation time: RFC 3339 or Unix seconds (default: now).
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Label added to every series of KPI JSON snapshots (`name=value`); repeatable.
    #[arg(long = "label", value_name = "NAME=VALUE")]
    pub labels: Vec<String>,
    /// Interval of rule groups that set none.
    #[arg(long = "eval-interval", value_name = "DURATION", default_value = "1m")]
    pub eval_interval: String,
    /// `$externalURL` in templates.
    #[arg(long = "external-url", value_name = "URL", default_value = "")]
    pub external_url: String,
    /// Prometheus feature flags: `promql-experimental-functions`,
    /// `promql-delayed-name-removal`; repeatable or comma-separated.
    #[arg(long = "enable-feature", value_name = "NAME", value_delimiter = ',')]
    pub enable_features: Vec<String>,
    /// Output: text, JSON, or a CI report (`junit`, `markdown`, `github`)
    /// with one case per rule.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// What makes the exit code 1: a firing alert (default), or already a
    /// pending one.
    #[arg(long = "fail-on", value_enum, default_value_t = FailOn::Firing)]
    pub fail_on: FailOn,
    /// `--scrape URL`, `--interval`, headers and token of the endpoint.
    #[command(flatten)]
    pub scrape: scrape::ScrapeArgs,
    /// Route what fires through the receivers of `--config` once and wait
    /// for delivery. A failed delivery is reported on stderr; the exit code
    /// stays that of the evaluation.
    #[arg(long, requires = "config")]
    pub notify: bool,
    /// Alert state file: restored before and saved (atomically) after this
    /// evaluation, so `for:` holds across runs (e.g. from cron). Without it,
    /// history is replayed from the snapshots instead.
    #[arg(long, value_name = "FILE")]
    pub state: Option<std::path::PathBuf>,
    /// `--prometheus URL` / `--config FILE`: a remote datasource instead of snapshots.
    #[command(flatten)]
    pub remote: super::remote::RemoteArgs,
}

/// Feature flags known to Prometheus 3.5 for rule evaluation.
const FEATURES: [&str; 2] = [
    "promql-experimental-functions",
    "promql-delayed-name-removal",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    /// JUnit XML, one test case per rule.
    Junit,
    /// A Markdown table for a pull-request comment or job summary.
    Markdown,
    /// GitHub Actions workflow annotations.
    Github,
}

impl Format {
    fn ci(self) -> Option<CiFormat> {
        match self {
            Format::Junit => Some(CiFormat::Junit),
            Format::Markdown => Some(CiFormat::Markdown),
            Format::Github => Some(CiFormat::Github),
            Format::Text | Format::Json => None,
        }
    }
}

/// The alert state that counts as a breach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Pending,
    Firing,
}

pub fn run(args: &CheckArgs) -> u8 {
    if let Some(f) = args
        .enable_features
        .iter()
        .find(|f| !FEATURES.contains(&f.as_str()))
    {
        return exit::bad_input(&anyhow!(
            "--enable-feature: unknown feature {f:?} (known: {})",
            FEATURES.join(", ")
        ));
    }
    let vopts = ValidateOptions {
        experimental_functions: has_feature(args, FEATURES[0]),
    };
    let files = match rules::load_paths_with(&args.rules, &vopts) {
        Ok(f) => f,
        Err(e) => {
            for p in &e.problems {
                eprintln!("{p}");
            }
            return exit::BAD_INPUT;
        }
    };
    for f in &files {
        for (name, labels) in f.duplicate_rules() {
            let labels = if labels.is_empty() {
                String::new()
            } else {
                labels.to_string()
            };
            eprintln!(
                "alertgate: warning: {}: duplicate rule {name}{labels}",
                f.path
            );
        }
    }
    let report = match evaluate(args, &files) {
        Ok(r) => r,
        Err(e) => return exit::bad_input(&e),
    };
    match args.format {
        Format::Text => print!("{}", render_text(&report)),
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&render_json(&report)).unwrap_or_default()
        ),
        f => {
            let doc = ci::build(&files, &report, args.fail_on);
            print!(
                "{}",
                report::render(&doc, f.ci().unwrap_or(CiFormat::Markdown))
            );
        }
    }
    for e in &report.errors {
        eprintln!("alertgate: error: {}", eval_error_line(e));
    }
    if args.notify {
        if let Err(e) = deliver::notify(args, &report) {
            return exit::bad_input(&e);
        }
    }
    let breach = match args.fail_on {
        FailOn::Firing => report.firing().next().is_some(),
        FailOn::Pending => !report.alerts.is_empty(),
    };
    if !report.errors.is_empty() {
        exit::BAD_INPUT
    } else if breach {
        exit::BREACH
    } else {
        exit::OK
    }
}

fn evaluate(args: &CheckArgs, files: &[rules::RuleFile]) -> anyhow::Result<ReplayReport> {
    let interval = rules::parse_duration_ms(&args.eval_interval)
        .map_err(|e| anyhow!("--eval-interval: {e}"))?;
    if interval <= 0 {
        return Err(anyhow!("--eval-interval: must be greater than zero"));
    }
    let extra = snapshot::parse_label_args(&args.labels)?;
    // Scrapes first: the last one's time is the evaluation time.
    let scraped = scrape::scrape_all(&args.scrape, &extra)?;
    let at = match (&args.at, &scraped) {
        (Some(s), _) => crate::model::time::parse_time(s).with_context(|| "--at")?,
        (None, Some(s)) => s.at,
        (None, None) => crate::clock::now_ms(),
    };
    // A scrape is the datasource: the config's `datasource:` is for the
    // service, not for this run.
    let remote = if scraped.is_some() {
        None
    } else {
        super::remote::datasource_config(&args.remote)?
    };
    if args.state.is_some() && remote.is_some() {
        return Err(anyhow!(
            "--state: not supported with a remote datasource yet"
        ));
    }
    if let Some(cfg) = remote {
        let opts = ReplayOptions {
            default_interval_ms: interval,
            external_url: args.external_url.clone(),
            ..ReplayOptions::default()
        };
        return super::remote::replay(files, &cfg, at, &opts);
    }
    let specs = args
        .snapshots
        .iter()
        .map(|s| SnapshotSpec::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    let mut store = snapshot::load(&specs, at, &extra)?;
    if let Some(s) = scraped {
        for (labels, t, v) in s.samples {
            store.insert(&labels, t, v);
        }
    }
    let data_start = store
        .series()
        .iter()
        .filter_map(|s| s.samples.first().map(|x| x.t))
        .min();
    // Prometheus 3.5's defaults, so results match a server with the same flags.
    let engine = Engine::new(EngineOptions {
        experimental_functions: has_feature(args, FEATURES[0]),
        delayed_name_removal: has_feature(args, FEATURES[1]),
        ..EngineOptions::default()
    });
    let ds = EmbeddedQuerier::new(store, engine);
    let opts = ReplayOptions {
        default_interval_ms: interval,
        external_labels: Labels::new(),
        external_url: args.external_url.clone(),
        // No data at all: nothing to replay, one evaluation at `at`.
        data_start_ms: Some(data_start.unwrap_or(at)),
    };
    let report = match &args.state {
        Some(path) => evaluate_with_state(files, &ds, at, &opts, path),
        None => Ok(rules::replay(files, &ds, at, &opts)),
    };
    // The process ends soon after: freeing every series of a large
    // snapshot one by one took ~4% of a run, the OS does it at once.
    std::mem::forget(ds);
    report
}

/// `--state FILE`: one evaluation continuing from the saved alert state. A
/// corrupt or foreign file is an error and is left as it was.
fn evaluate_with_state(
    files: &[rules::RuleFile],
    ds: &EmbeddedQuerier,
    at: i64,
    opts: &ReplayOptions,
    path: &std::path::Path,
) -> anyhow::Result<ReplayReport> {
    let store = crate::alerting::StateStore::new(path);
    let mut state = store.load()?.unwrap_or_default();
    let report = rules::replay::evaluate_with_state(files, ds, at, opts, &mut state)
        .map_err(|e| anyhow!("--state {}: {e}", path.display()))?;
    store.save(&state)?;
    Ok(report)
}

fn has_feature(args: &CheckArgs, name: &str) -> bool {
    args.enable_features.iter().any(|f| f == name)
}

fn eval_error_line(e: &RuleEvalError) -> String {
    format!(
        "{}: group {:?}: rule {:?}: evaluation at {} failed: {}",
        e.file,
        e.group,
        e.rule,
        rfc3339(e.at),
        e.message.replace('\n', " ")
    )
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        .unwrap_or_else(|| ms.to_string())
}

/// Prometheus's duration notation (`1h5m`, `30s`, `0s`).
pub fn format_duration_ms(ms: i64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let mut rest = ms.unsigned_abs();
    let mut out = String::new();
    if ms < 0 {
        out.push('-');
    }
    for (unit, size) in [
        ("y", 365 * 86_400_000u64),
        ("w", 7 * 86_400_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ] {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}

/// Labels without `alertname`, which is printed as the name.
fn alert_labels(a: &AlertReport) -> Labels {
    let mut l = a.alert.labels.clone();
    l.remove(rules::eval::ALERT_NAME);
    l
}

fn render_text(r: &ReplayReport) -> String {
    let mut out = String::new();
    for a in &r.alerts {
        let state = match a.alert.state {
            AlertState::Firing => "FIRING ",
            _ => "PENDING",
        };
        let labels = alert_labels(a);
        let labels = if labels.is_empty() {
            String::new()
        } else {
            labels.to_string()
        };
        out.push_str(&format!(
            "{state} {}{labels} value={}",
            a.rule,
            format_float(a.alert.value)
        ));
        if let Some(left) = a.for_remaining_ms(r.evaluated_at) {
            out.push_str(&format!(" (for {} left)", format_duration_ms(left)));
        }
        out.push('\n');
        for (k, v) in &a.alert.annotations {
            out.push_str(&format!("    {k}: {}\n", v.replace('\n', "\n      ")));
        }
    }
    let firing = r.firing().count();
    let pending = r.alerts.len() - firing;
    out.push_str(&format!(
        "{firing} firing, {pending} pending at {}{}\n",
        rfc3339(r.evaluated_at),
        if r.errors.is_empty() {
            String::new()
        } else {
            format!(", {} rule errors", r.errors.len())
        }
    ));
    out
}

/// The JSON document of `check --format json`. Field order and names are
/// documented in the README and must stay stable.
#[derive(Debug, Serialize)]
pub struct JsonReport {
    pub evaluated_at: String,
    pub firing: usize,
    pub pending: usize,
    pub alerts: Vec<JsonAlert>,
    pub rule_errors: Vec<JsonRuleError>,
}

#[derive(Debug, Serialize)]
pub struct JsonAlert {
    pub name: String,
    pub state: &'static str,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// A string, so that NaN and infinities survive (`"+Inf"`).
    pub value: String,
    pub active_at: String,
    pub for_remaining_seconds: Option<f64>,
    pub group: String,
    pub file: String,
}

#[derive(Debug, Serialize)]
pub struct JsonRuleError {
    pub file: String,
    pub group: String,
    pub rule: String,
    pub at: String,
    pub error: String,
}

pub fn render_json(r: &ReplayReport) -> JsonReport {
    let alerts: Vec<JsonAlert> = r
        .alerts
        .iter()
        .map(|a| JsonAlert {
            name: a.rule.clone(),
            state: a.alert.state.as_str(),
            labels: a
                .alert
                .labels
                .iter()
                .map(|l| (l.name.clone(), l.value.clone()))
                .collect(),
            annotations: a.alert.annotations.clone(),
            value: format_float(a.alert.value),
            active_at: rfc3339(a.alert.active_at),
            for_remaining_seconds: a
                .for_remaining_ms(r.evaluated_at)
                .map(|ms| ms as f64 / 1000.0),
            group: a.group.clone(),
            file: a.file.clone(),
        })
        .collect();
    let rule_errors = r
        .errors
        .iter()
        .map(|e| JsonRuleError {
            file: e.file.clone(),
            group: e.group.clone(),
            rule: e.rule.clone(),
            at: rfc3339(e.at),
            error: e.message.clone(),
        })
        .collect();
    let firing = r.firing().count();
    JsonReport {
        evaluated_at: rfc3339(r.evaluated_at),
        firing,
        pending: r.alerts.len() - firing,
        alerts,
        rule_errors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_like_prometheus() {
        assert_eq!(format_duration_ms(0), "0s");
        assert_eq!(format_duration_ms(180_000), "3m");
        assert_eq!(format_duration_ms(90_500), "1m30s500ms");
        assert_eq!(format_duration_ms(86_400_000 + 3_600_000), "1d1h");
    }
}
