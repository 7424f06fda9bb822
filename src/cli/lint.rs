//! `alertgate lint`: every problem in rule files and `alertgate.yml`, one
//! per line as `file:line:col: severity: check: message`, all at once.
//! Exit 0 clean (warnings allowed unless `--strict`), 1 when a problem of
//! severity error (or, with `--strict`, any) is found, 2 when a file cannot
//! be read, a flag is wrong or the datasource cannot be asked.

use super::exit;
use crate::datasource::EmbeddedQuerier;
use crate::lint::{self, finding, Finding, RuleOptions, RuleSource, SeriesCheck, Severity};
use crate::promql::{Engine, EngineOptions};
use crate::rules::{parse_duration_ms, ValidateOptions};
use crate::snapshot::{self, SnapshotSpec};
use anyhow::{anyhow, bail, Context};
use clap::{Args, ValueEnum};

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Rule files, directories (their *.yml/*.yaml) or globs; repeatable.
    /// Default: the `rule_files` of --config.
    #[arg(long = "rules", value_name = "PATH", num_args = 1..)]
    pub rules: Vec<String>,
    /// Snapshots to check selectors against (`PATH` or `PATH@TIME`), instead of --prometheus.
    #[arg(long = "snapshot", value_name = "PATH[@TIME]", num_args = 1..)]
    pub snapshots: Vec<String>,
    /// Label added to every series of KPI JSON snapshots (`name=value`); repeatable.
    #[arg(long = "label", value_name = "NAME=VALUE")]
    pub labels: Vec<String>,
    /// `--prometheus URL`: check that selectors match series on this server;
    /// `--config FILE`: lint this alertgate.yml (routes, receivers, secrets,
    /// templates) and take its `rule_files`.
    #[command(flatten)]
    pub remote: super::remote::RemoteArgs,
    /// Time of the online checks: RFC 3339 or Unix seconds (default: now).
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// How far back a selector must have matched a sample to count as existing.
    #[arg(long, value_name = "DURATION", default_value = "1h")]
    pub lookback: String,
    /// Interval of rule groups that set none (default: --config's
    /// `evaluation_interval`, else 1m).
    #[arg(long = "eval-interval", value_name = "DURATION")]
    pub eval_interval: Option<String>,
    /// Labels every alerting rule must set (comma-separated; "" for none).
    #[arg(
        long = "required-labels",
        value_name = "NAMES",
        default_value = "severity"
    )]
    pub required_labels: String,
    /// Annotations every alerting rule should set (comma-separated; "" for none).
    #[arg(
        long = "required-annotations",
        value_name = "NAMES",
        default_value = "summary,description"
    )]
    pub required_annotations: String,
    /// Turn a check off (`alerts/absent-without-for`) or a family (`promql/`); repeatable.
    #[arg(long = "disable", value_name = "CHECK", value_delimiter = ',')]
    pub disable: Vec<String>,
    /// Warnings fail too (exit 1).
    #[arg(long)]
    pub strict: bool,
    /// Accept `--enable-feature=promql-experimental-functions` expressions.
    #[arg(long = "enable-feature", value_name = "NAME", value_delimiter = ',')]
    pub enable_features: Vec<String>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    /// GitHub Actions workflow annotations.
    Github,
    /// JUnit XML, one test case per finding, for CI test tabs.
    Junit,
    /// A Markdown table for a pull-request comment or job summary.
    Markdown,
}

/// The check families `lint` reports, for `--disable` validation.
const FAMILIES: [&str; 6] = [
    "rules/", "promql/", "alerts/", "config/", "series/", "routing/",
];

pub fn run(args: &LintArgs) -> u8 {
    match lint_all(args) {
        Ok(findings) => report(args, findings),
        Err(e) => exit::bad_input(&e),
    }
}

fn names(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn lint_all(args: &LintArgs) -> anyhow::Result<Vec<Finding>> {
    if let Some(f) = args
        .enable_features
        .iter()
        .find(|f| *f != "promql-experimental-functions")
    {
        bail!("--enable-feature: unknown feature {f:?} (known: promql-experimental-functions)");
    }
    if let Some(d) = args
        .disable
        .iter()
        .find(|d| !FAMILIES.iter().any(|f| d.starts_with(f)))
    {
        bail!(
            "--disable: {d:?} is not a check name (families: {})",
            FAMILIES.join(", ")
        );
    }
    let mut findings = Vec::new();
    let config = match &args.remote.config {
        None => None,
        Some(p) => match std::fs::read_to_string(p) {
            Ok(src) => Some((p.clone(), src)),
            Err(e) => {
                findings.push(Finding::error(
                    &p.display().to_string(),
                    None,
                    lint::source::READ,
                    format!("cannot read config file: {e}"),
                ));
                None
            }
        },
    };
    let (cfg_rules, cfg_interval) = match &config {
        Some((p, src)) => lint::config::rule_settings(p, src),
        None => (Vec::new(), None),
    };
    let rule_paths = if args.rules.is_empty() {
        cfg_rules
    } else {
        args.rules.clone()
    };
    if rule_paths.is_empty() && args.remote.config.is_none() {
        bail!("nothing to lint: give --rules PATH or --config FILE");
    }
    let interval = match args.eval_interval.as_ref().or(cfg_interval.as_ref()) {
        Some(s) => parse_duration_ms(s).map_err(|e| anyhow!("evaluation interval: {e}"))?,
        None => crate::rules::DEFAULT_INTERVAL_MS,
    };
    let lookback = parse_duration_ms(&args.lookback).map_err(|e| anyhow!("--lookback: {e}"))?;
    if lookback <= 0 || interval <= 0 {
        bail!("--lookback and the evaluation interval must be greater than zero");
    }
    let vopts = ValidateOptions {
        experimental_functions: !args.enable_features.is_empty(),
    };
    let (sources, load_findings) = lint::source::load(&rule_paths, &vopts);
    findings.extend(load_findings);
    let opts = RuleOptions {
        default_interval_ms: interval,
        required_labels: names(&args.required_labels),
        required_annotations: names(&args.required_annotations),
    };
    let recorded = lint::rules::recorded_ranges(&sources);
    for s in &sources {
        findings.extend(lint::rules::check_file(s, &opts, &recorded));
    }
    if let Some((p, src)) = &config {
        findings.extend(lint::config::check(&p.display().to_string(), src, &sources));
    }
    findings.extend(online(args, &sources)?);
    Ok(findings)
}

/// Selector checks against `--prometheus` or `--snapshot`, if given.
fn online(args: &LintArgs, sources: &[RuleSource]) -> anyhow::Result<Vec<Finding>> {
    if args.remote.prometheus.is_none() && args.snapshots.is_empty() {
        return Ok(Vec::new());
    }
    let at = match &args.at {
        Some(s) => crate::model::time::parse_time(s).with_context(|| "--at")?,
        None => crate::clock::now_ms(),
    };
    let lookback = parse_duration_ms(&args.lookback).map_err(|e| anyhow!("--lookback: {e}"))?;
    if args.remote.prometheus.is_some() {
        let cfg = super::remote::datasource_config(&args.remote)?
            .ok_or_else(|| anyhow!("--prometheus: no datasource"))?;
        let q = super::remote::client(&cfg)?;
        let check = SeriesCheck::new(&q, &cfg.display_url(), at, lookback);
        let out = check.check(sources);
        if let Some(e) = q.unreachable() {
            bail!("datasource unreachable: {e}");
        }
        return Ok(out?);
    }
    let specs = args
        .snapshots
        .iter()
        .map(|s| SnapshotSpec::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    let extra = snapshot::parse_label_args(&args.labels)?;
    let store = snapshot::load(&specs, at, &extra)?;
    let q = EmbeddedQuerier::new(
        store,
        Engine::new(EngineOptions {
            experimental_functions: true,
            ..EngineOptions::default()
        }),
    );
    let check = SeriesCheck::new(&q, "the snapshots", at, lookback);
    Ok(check.check(sources)?)
}

fn disabled(args: &LintArgs, check: &str) -> bool {
    args.disable
        .iter()
        .any(|d| d == check || (d.ends_with('/') && check.starts_with(d.as_str())))
}

fn report(args: &LintArgs, mut findings: Vec<Finding>) -> u8 {
    // A file that cannot be read is never silenced.
    findings.retain(|f| f.check == lint::source::READ || !disabled(args, &f.check));
    finding::sort(&mut findings);
    let out = match args.format {
        Format::Text => finding::render_text(&findings),
        Format::Json => finding::render_json(&findings),
        Format::Github => finding::render_github(&findings),
        Format::Junit => {
            crate::report::render(&ci_report(&findings), crate::report::CiFormat::Junit)
        }
        Format::Markdown => {
            crate::report::render(&ci_report(&findings), crate::report::CiFormat::Markdown)
        }
    };
    print!("{out}");
    let errors = finding::count(&findings, Severity::Error);
    let warnings = finding::count(&findings, Severity::Warning);
    if !findings.is_empty() {
        eprintln!("alertgate: lint: {errors} error(s), {warnings} warning(s)");
    }
    if findings.iter().any(|f| f.check == lint::source::READ) {
        exit::BAD_INPUT
    } else if errors > 0 || (args.strict && warnings > 0) {
        exit::BREACH
    } else {
        exit::OK
    }
}

/// The findings as the shared CI report: one suite per file, one case per
/// finding (errors fail, warnings warn); a clean run is one passed case.
fn ci_report(findings: &[Finding]) -> crate::report::Report {
    use crate::report::{Case, Failure, Outcome, Report, Suite};
    let mut suites: Vec<Suite> = Vec::new();
    for f in findings {
        let failure = Failure::new(&f.check, f.message.clone(), String::new());
        let outcome = match f.severity {
            Severity::Error => Outcome::Failed(failure),
            Severity::Warning => Outcome::Warning(failure),
        };
        let case = Case::new(f.check.clone(), f.file.clone(), outcome)
            .at(Some(f.file.clone()), f.pos.map(|p| p.line));
        match suites.iter_mut().find(|s| s.name == f.file) {
            Some(s) => s.cases.push(case),
            None => suites.push(Suite {
                name: f.file.clone(),
                file: Some(f.file.clone()),
                cases: vec![case],
                log: Vec::new(),
            }),
        }
    }
    if suites.is_empty() {
        suites.push(Suite {
            name: "lint".into(),
            file: None,
            cases: vec![Case::new("lint", "lint", Outcome::Passed)],
            log: Vec::new(),
        });
    }
    Report {
        title: "alertgate lint".into(),
        timestamp_ms: crate::clock::now_ms(),
        suites,
        notes: Vec::new(),
    }
}
