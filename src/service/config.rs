//! The whole `alertgate.yml` as the service reads it: the service keys
//! (`rule_files`, `evaluation_interval`, `scrape_configs`, `web`, ...) are
//! parsed here; `datasource:` and the Alertmanager sections go through
//! their own loaders, so one file serves `check`, `routes` and `run` alike.
//! Loading is all-or-nothing: a reload swaps only a fully built config.

use crate::datasource::DatasourceConfig;
use crate::routing::RoutingConfig;
use crate::rules::{parse_duration_ms, RuleFile};
use anyhow::{anyhow, bail, Context, Result};
use serde::de::IgnoredAny;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Mirrors the top level of `alertgate.yml`. Keys owned by other loaders
/// are accepted and skipped here (never read, hence `dead_code`).
#[allow(dead_code)]
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTop {
    rule_files: Option<Vec<String>>,
    evaluation_interval: Option<String>,
    scrape_interval: Option<String>,
    scrape_timeout: Option<String>,
    external_labels: Option<BTreeMap<String, String>>,
    external_url: Option<String>,
    scrape_configs: Option<Vec<RawScrapeConfig>>,
    state_dir: Option<String>,
    web: Option<RawWeb>,
    // Owned by datasource::config and routing::config.
    datasource: Option<IgnoredAny>,
    global: Option<IgnoredAny>,
    route: Option<IgnoredAny>,
    inhibit_rules: Option<IgnoredAny>,
    receivers: Option<IgnoredAny>,
    templates: Option<IgnoredAny>,
    mute_time_intervals: Option<IgnoredAny>,
    time_intervals: Option<IgnoredAny>,
    tracing: Option<IgnoredAny>,
    event_recorder: Option<IgnoredAny>,
    notify: Option<IgnoredAny>,
    canary: Option<IgnoredAny>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWeb {
    listen_address: Option<String>,
    auth: Option<RawWebAuth>,
    max_request_bytes: Option<usize>,
    request_timeout: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebAuth {
    bearer_token_env: Option<String>,
    bearer_token_file: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScrapeConfig {
    job_name: Option<String>,
    scrape_interval: Option<String>,
    scrape_timeout: Option<String>,
    metrics_path: Option<String>,
    scheme: Option<String>,
    honor_labels: Option<bool>,
    static_configs: Option<Vec<RawTargetGroup>>,
    file_sd_configs: Option<Vec<RawFileSd>>,
    basic_auth: Option<RawBasicAuth>,
    bearer_token: Option<String>,
    bearer_token_file: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTargetGroup {
    pub(crate) targets: Option<Vec<String>>,
    pub(crate) labels: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFileSd {
    files: Option<Vec<String>>,
    refresh_interval: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBasicAuth {
    username: Option<String>,
    password: Option<String>,
    password_file: Option<String>,
}

/// Where a secret comes from; never printed.
#[derive(Clone, PartialEq)]
pub enum SecretSource {
    Inline(String),
    Env(String),
    File(PathBuf),
}

impl std::fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretSource::Inline(_) => write!(f, "<secret>"),
            SecretSource::Env(n) => write!(f, "env:{n}"),
            SecretSource::File(p) => write!(f, "file:{}", p.display()),
        }
    }
}

impl SecretSource {
    /// Reads the secret (trailing newline of a file dropped).
    pub fn resolve(&self) -> Result<String> {
        match self {
            SecretSource::Inline(s) => Ok(s.clone()),
            SecretSource::Env(n) => {
                std::env::var(n).map_err(|_| anyhow!("environment variable {n} is not set"))
            }
            SecretSource::File(p) => std::fs::read_to_string(p)
                .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
                .with_context(|| format!("cannot read secret file {}", p.display())),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ScrapeAuth {
    Basic {
        username: String,
        password: Option<SecretSource>,
    },
    Bearer(SecretSource),
}

/// One `file_sd_configs` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct FileSd {
    pub files: Vec<String>,
    pub refresh_ms: i64,
}

/// One validated `scrape_configs` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ScrapeConfig {
    pub job_name: String,
    pub interval_ms: i64,
    pub timeout_ms: i64,
    pub metrics_path: String,
    pub scheme: String,
    pub honor_labels: bool,
    /// `(targets, labels)` of each static group.
    pub static_configs: Vec<(Vec<String>, BTreeMap<String, String>)>,
    pub file_sd: Vec<FileSd>,
    pub auth: Option<ScrapeAuth>,
}

/// The `web:` section.
#[derive(Debug, Clone, PartialEq)]
pub struct WebConfig {
    pub listen_address: String,
    /// Bearer token required on writes (POST/DELETE), when set.
    pub write_token: Option<SecretSource>,
    pub max_request_bytes: usize,
    pub request_timeout_ms: i64,
}

/// The whole validated file.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    pub path: PathBuf,
    /// Rule file paths and globs, resolved against the config's directory.
    pub rule_file_patterns: Vec<String>,
    pub rule_files: Vec<RuleFile>,
    pub evaluation_interval_ms: i64,
    pub external_labels: BTreeMap<String, String>,
    pub external_url: String,
    pub scrape_configs: Vec<ScrapeConfig>,
    pub datasource: Option<DatasourceConfig>,
    pub state_dir: Option<PathBuf>,
    pub web: WebConfig,
    /// None when the file has no `route:` (alerts are evaluated, not sent).
    pub routing: Option<RoutingConfig>,
    /// `notify.outbox`: retries, concurrency and circuit of the outbox.
    pub outbox: crate::outbox::OutboxConfig,
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:9095";
const DEFAULT_BODY_LIMIT: usize = 4 << 20;

fn dur(field: &str, v: &Option<String>, default: i64, problems: &mut Vec<String>) -> i64 {
    match v {
        None => default,
        Some(s) => match parse_duration_ms(s) {
            Ok(ms) if ms > 0 => ms,
            Ok(_) => {
                problems.push(format!("{field}: must be greater than zero"));
                default
            }
            Err(e) => {
                problems.push(format!("{field}: {e}"));
                default
            }
        },
    }
}

fn resolve_rel(base: &Path, p: &str) -> String {
    let path = Path::new(p);
    if path.is_absolute() {
        p.to_string()
    } else {
        base.join(path).to_string_lossy().into_owned()
    }
}

/// Reads and validates the file at `path`, loads its rule files and routing.
pub fn load(path: &Path) -> Result<ServiceConfig> {
    let src = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config {}", path.display()))?;
    parse(&src, path)
}

/// Validates config text as if read from `path` (relative paths resolve
/// against its directory). Every problem is reported, one per line.
pub fn parse(src: &str, path: &Path) -> Result<ServiceConfig> {
    let file = path.display().to_string();
    let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let raw: RawTop = if src.trim().is_empty() {
        RawTop::default()
    } else {
        yaml_serde::from_str(src).map_err(|e| anyhow!("{file}: {e}"))?
    };
    let mut problems = Vec::new();
    let eval_ms = dur(
        "evaluation_interval",
        &raw.evaluation_interval,
        60_000,
        &mut problems,
    );
    let scrape_default = dur(
        "scrape_interval",
        &raw.scrape_interval,
        60_000,
        &mut problems,
    );
    let timeout_default = dur("scrape_timeout", &raw.scrape_timeout, 10_000, &mut problems);
    let mut jobs = std::collections::HashSet::new();
    let mut scrape_configs = Vec::new();
    for (i, sc) in raw.scrape_configs.iter().flatten().enumerate() {
        let at = format!("scrape_configs.{i}");
        let Some(job) = sc.job_name.clone().filter(|j| !j.is_empty()) else {
            problems.push(format!("{at}.job_name: is required"));
            continue;
        };
        if !jobs.insert(job.clone()) {
            problems.push(format!("{at}.job_name: {job:?} is not unique"));
        }
        let interval = dur(
            &format!("{at}.scrape_interval"),
            &sc.scrape_interval,
            scrape_default,
            &mut problems,
        );
        let timeout = dur(
            &format!("{at}.scrape_timeout"),
            &sc.scrape_timeout,
            timeout_default.min(interval),
            &mut problems,
        );
        if timeout > interval {
            problems.push(format!("{at}.scrape_timeout: greater than scrape_interval"));
        }
        let scheme = sc.scheme.clone().unwrap_or_else(|| "http".into());
        if scheme != "http" && scheme != "https" {
            problems.push(format!(
                "{at}.scheme: must be http or https, not {scheme:?}"
            ));
        }
        let auth = match (&sc.basic_auth, &sc.bearer_token, &sc.bearer_token_file) {
            (None, None, None) => None,
            (Some(b), None, None) => {
                let password = match (&b.password, &b.password_file) {
                    (Some(p), None) => Some(SecretSource::Inline(p.clone())),
                    (None, Some(f)) => Some(SecretSource::File(resolve_rel(&base, f).into())),
                    (None, None) => None,
                    _ => {
                        problems.push(format!(
                            "{at}.basic_auth: at most one of password and password_file"
                        ));
                        None
                    }
                };
                Some(ScrapeAuth::Basic {
                    username: b.username.clone().unwrap_or_default(),
                    password,
                })
            }
            (None, Some(t), None) => Some(ScrapeAuth::Bearer(SecretSource::Inline(t.clone()))),
            (None, None, Some(f)) => Some(ScrapeAuth::Bearer(SecretSource::File(
                resolve_rel(&base, f).into(),
            ))),
            _ => {
                problems.push(format!(
                    "{at}: at most one of basic_auth, bearer_token and bearer_token_file"
                ));
                None
            }
        };
        let mut static_configs = Vec::new();
        for (j, g) in sc.static_configs.iter().flatten().enumerate() {
            let targets = g.targets.clone().unwrap_or_default();
            for t in &targets {
                if t.is_empty() || t.contains('/') {
                    problems.push(format!(
                        "{at}.static_configs.{j}: invalid target {t:?} (want host:port)"
                    ));
                }
            }
            static_configs.push((targets, g.labels.clone().unwrap_or_default()));
        }
        let mut file_sd = Vec::new();
        for (j, f) in sc.file_sd_configs.iter().flatten().enumerate() {
            let files: Vec<String> = f
                .files
                .iter()
                .flatten()
                .map(|p| resolve_rel(&base, p))
                .collect();
            if files.is_empty() {
                problems.push(format!(
                    "{at}.file_sd_configs.{j}.files: at least one file is required"
                ));
            }
            let refresh_ms = dur(
                &format!("{at}.file_sd_configs.{j}.refresh_interval"),
                &f.refresh_interval,
                300_000,
                &mut problems,
            );
            file_sd.push(FileSd { files, refresh_ms });
        }
        scrape_configs.push(ScrapeConfig {
            job_name: job,
            interval_ms: interval,
            timeout_ms: timeout,
            metrics_path: sc.metrics_path.clone().unwrap_or_else(|| "/metrics".into()),
            scheme,
            honor_labels: sc.honor_labels.unwrap_or(false),
            static_configs,
            file_sd,
            auth,
        });
    }
    let web_raw = raw.web.unwrap_or_default();
    let write_token = match web_raw
        .auth
        .as_ref()
        .map(|a| (&a.bearer_token_env, &a.bearer_token_file))
    {
        None | Some((None, None)) => None,
        Some((Some(e), None)) => Some(SecretSource::Env(e.clone())),
        Some((None, Some(f))) => Some(SecretSource::File(resolve_rel(&base, f).into())),
        Some(_) => {
            problems.push("web.auth: at most one of bearer_token_env and bearer_token_file".into());
            None
        }
    };
    let web = WebConfig {
        listen_address: web_raw
            .listen_address
            .unwrap_or_else(|| DEFAULT_LISTEN.into()),
        write_token,
        max_request_bytes: web_raw.max_request_bytes.unwrap_or(DEFAULT_BODY_LIMIT),
        request_timeout_ms: dur(
            "web.request_timeout",
            &web_raw.request_timeout,
            30_000,
            &mut problems,
        ),
    };
    let datasource = match crate::datasource::config::parse_str(src, &file) {
        Ok(d) => d,
        Err(e) => {
            problems.push(e.to_string());
            None
        }
    };
    if datasource.is_some() && !scrape_configs.is_empty() {
        problems.push("datasource and scrape_configs: choose one (a remote datasource or the embedded scraper)".into());
    }
    let routing = if raw.route.is_some() {
        match crate::routing::parse_str(src, &file) {
            Ok(r) => {
                // Compiles every notification template now, so a broken one
                // fails the load (and a reload keeps the old config). The
                // notifiers are built again where they send.
                if let Err(e) = crate::notify::build_receivers(&r) {
                    problems.push(e.to_string());
                }
                Some(r)
            }
            Err(e) => {
                problems.push(e.to_string());
                None
            }
        }
    } else {
        None
    };
    let outbox = crate::outbox::OutboxConfig::from_yaml(src).unwrap_or_else(|e| {
        problems.push(e.to_string());
        Default::default()
    });
    let rule_file_patterns: Vec<String> = raw
        .rule_files
        .iter()
        .flatten()
        .map(|p| resolve_rel(&base, p))
        .collect();
    let rule_files = if rule_file_patterns.is_empty() {
        Vec::new()
    } else {
        match crate::rules::load_paths(&rule_file_patterns) {
            Ok(r) => r,
            Err(e) => {
                problems.extend(e.problems.iter().map(|p| p.to_string()));
                Vec::new()
            }
        }
    };
    if !problems.is_empty() {
        bail!("{file}: invalid config:\n{}", problems.join("\n"));
    }
    Ok(ServiceConfig {
        path: path.to_path_buf(),
        rule_file_patterns,
        rule_files,
        evaluation_interval_ms: eval_ms,
        external_labels: raw.external_labels.unwrap_or_default(),
        external_url: raw.external_url.unwrap_or_default(),
        scrape_configs,
        datasource,
        state_dir: raw.state_dir.map(|d| PathBuf::from(resolve_rel(&base, &d))),
        web,
        routing,
        outbox,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_in(dir: &Path, src: &str) -> Result<ServiceConfig> {
        parse(src, &dir.join("alertgate.yml"))
    }

    #[test]
    fn full_file_with_routing_and_scrapes() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("r.yml"),
            "groups:\n- name: g\n  rules:\n  - alert: Down\n    expr: up == 0\n",
        )
        .unwrap();
        let src = "rule_files: [r.yml]\nevaluation_interval: 15s\nscrape_interval: 5s\nexternal_labels: {replica: a}\nscrape_configs:\n- job_name: app\n  static_configs: [{targets: ['127.0.0.1:9'], labels: {env: prod}}]\n  basic_auth: {username: u, password_file: pw}\nweb:\n  listen_address: 127.0.0.1:0\n  auth: {bearer_token_env: TOKEN}\nroute: {receiver: team}\nreceivers: [{name: team}]\n";
        let c = parse_in(d.path(), src).unwrap();
        assert_eq!(c.evaluation_interval_ms, 15_000);
        assert_eq!(c.rule_files.len(), 1);
        let sc = &c.scrape_configs[0];
        assert_eq!((sc.interval_ms, sc.timeout_ms), (5_000, 5_000));
        assert_eq!(sc.metrics_path, "/metrics");
        assert!(
            matches!(&sc.auth, Some(ScrapeAuth::Basic { password: Some(SecretSource::File(p)), .. }) if p.ends_with("pw"))
        );
        assert_eq!(c.web.write_token, Some(SecretSource::Env("TOKEN".into())));
        assert!(c.routing.is_some());
    }

    #[test]
    fn every_problem_is_reported() {
        let d = tempfile::tempdir().unwrap();
        let src = "evaluation_interval: soon\nscrape_configs:\n- static_configs: []\n- job_name: a\n  scheme: ftp\nrule_files: [missing.yml]\n";
        let e = format!("{:#}", parse_in(d.path(), src).unwrap_err());
        for want in [
            "evaluation_interval",
            "job_name: is required",
            "scheme",
            "missing.yml",
        ] {
            assert!(e.contains(want), "{want} not in {e}");
        }
    }

    #[test]
    fn example_config_is_valid() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/service/alertgate.yml");
        let c = load(&p).unwrap();
        assert!(c.rule_files[0]
            .groups
            .iter()
            .any(|g| g.name == "stage0-canary"));
        assert_eq!(c.scrape_configs[0].interval_ms, 15_000);
        assert_eq!(c.scrape_configs[0].file_sd[0].refresh_ms, 60_000);
        assert_eq!(c.routing.unwrap().receivers.len(), 2);
    }

    #[test]
    fn unknown_key_is_an_error_and_secrets_do_not_print() {
        let d = tempfile::tempdir().unwrap();
        assert!(parse_in(d.path(), "rule_file: [x]\n").is_err());
        let s = SecretSource::Inline("hunter2".into());
        assert_eq!(format!("{s:?}"), "<secret>");
    }
}
