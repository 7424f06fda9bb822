//! `canary.yml`: the gate's KPIs and thresholds, rollout steps, file layout
//! and release windows. Parsed into raw serde structs (unknown keys are
//! errors), then validated purely, with every problem reported as
//! `file:line:col: code: message`. Environment overrides
//! (`CANARY_THRESHOLD_<NAME>`) are applied from a map the caller passes in.

use super::threshold::{parse_number, Op, Threshold};
use crate::routing::timeinterval::{RawTimeInterval, TimeInterval};
use crate::yaml::Positions;
use promql_parser::parser::Expr;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The gate of runbook 001 ("Mahnwesen Canary Rollout Playbook"), used when
/// no `canary.yml` exists: its thresholds table, steps and file layout.
pub const DEFAULT_CONFIG: &str = r#"# Runbook 001 defaults.
paths:
  root: artifacts/reports/mahnwesen
steps: [10, 25, 50, 100]
severe_factor: 2
min_volume:
  field: notices_sent
  min: 3
kpis:
  - name: error_rate
    field: error_rate
    pass: "<= 2%"
    severity: critical
  - name: hard_bounce_rate
    ratio: { numerator: hard_bounces, denominator: notices_sent }
    pass: "<= 5%"
    severity: critical
  - name: dlq_depth
    field: dlq_depth
    pass: "<= 10"
    severity: critical
  - name: retry_depth
    field: retry_depth
    pass: "<= 50"
    severity: critical
"#;

/// Prefix of the environment variables that override thresholds.
pub const ENV_PREFIX: &str = "CANARY_THRESHOLD_";
/// Override names that are not KPIs.
const MIN_VOLUME_NAME: &str = "min_volume";
const SEVERE_FACTOR_NAME: &str = "severe_factor";

// ------------------------------------------------------------------ raw

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    paths: Option<RawPaths>,
    steps: Option<Vec<u32>>,
    severe_factor: Option<f64>,
    min_volume: Option<RawMinVolume>,
    kpis: Option<Vec<RawKpi>>,
    release_windows: Option<Vec<RawTimeInterval>>,
    change_freeze: Option<Vec<RawTimeInterval>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPaths {
    root: Option<String>,
    kpi: Option<String>,
    blocklist: Option<String>,
    state: Option<String>,
    canary_dir: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMinVolume {
    field: Option<String>,
    query: Option<String>,
    min: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKpi {
    name: Option<String>,
    field: Option<String>,
    ratio: Option<RawRatio>,
    query: Option<String>,
    blocklist: Option<String>,
    pass: Option<String>,
    severe: Option<String>,
    severity: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRatio {
    numerator: String,
    denominator: String,
}

// ------------------------------------------------------------ validated

/// Where a KPI's value comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A number in the tenant's KPI JSON; `a.b` walks into objects.
    Field(String),
    /// `numerator / denominator`, both fields of the KPI JSON.
    Ratio {
        numerator: String,
        denominator: String,
    },
    /// A PromQL expression, evaluated through the datasource at `now`.
    Query { text: String, expr: Box<Expr> },
    /// The number of entries in the tenant's blocklist.
    BlocklistCount,
}

impl Source {
    pub fn describe(&self) -> String {
        match self {
            Source::Field(f) => format!("field {f}"),
            Source::Ratio {
                numerator,
                denominator,
            } => format!("{numerator} / {denominator}"),
            Source::Query { text, .. } => format!("query {}", text.trim()),
            Source::BlocklistCount => "blocklist entries".into(),
        }
    }
}

/// Alert severity of a plain breach; a severe breach is always critical.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Critical,
}

/// Where a threshold's number came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Config,
    Env(String),
}

#[derive(Debug, Clone)]
pub struct KpiSpec {
    pub name: String,
    pub source: Source,
    /// What passes (GO criterion).
    pub pass: Threshold,
    /// A value matching this is a severe breach (BACKOUT). None: derived
    /// from `severe_factor`.
    pub severe: Option<Threshold>,
    pub severity: Severity,
    pub origin: Origin,
}

#[derive(Debug, Clone)]
pub struct MinVolume {
    pub source: Source,
    pub min: f64,
    pub origin: Origin,
}

/// File layout templates; `{root}`, `{tenant}` and `{date}` are replaced.
#[derive(Debug, Clone)]
pub struct Paths {
    /// Already resolved against the config's directory.
    pub root: PathBuf,
    pub kpi: String,
    pub blocklist: String,
    pub state: String,
    pub canary_dir: String,
}

/// The files of one tenant (and day).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantPaths {
    pub kpi: PathBuf,
    pub blocklist: PathBuf,
    pub state: PathBuf,
    pub canary_dir: PathBuf,
}

impl Paths {
    /// The files of `tenant` on `date` (YYYY-MM-DD). `tenant` must have
    /// passed [`check_tenant`].
    pub fn for_tenant(&self, tenant: &str, date: &str) -> TenantPaths {
        let root = self.root.to_string_lossy();
        let fill = |t: &str| {
            PathBuf::from(
                t.replace("{root}", &root)
                    .replace("{tenant}", tenant)
                    .replace("{date}", date),
            )
        };
        TenantPaths {
            kpi: fill(&self.kpi),
            blocklist: fill(&self.blocklist),
            state: fill(&self.state),
            canary_dir: fill(&self.canary_dir),
        }
    }
}

#[derive(Debug, Clone)]
pub struct CanaryConfig {
    /// Name of the file in messages.
    pub file: String,
    pub paths: Paths,
    /// Rollout steps, strictly increasing; the first is where BACKOUT lands.
    pub steps: Vec<u32>,
    pub severe_factor: f64,
    pub min_volume: Option<MinVolume>,
    pub kpis: Vec<KpiSpec>,
    /// A GO applies only inside one of these (empty: always).
    pub release_windows: Vec<TimeInterval>,
    /// A GO never applies inside one of these.
    pub change_freeze: Vec<TimeInterval>,
}

// ---------------------------------------------------------- diagnostics

/// Gate config problems (codes `canary/...`) share the YAML loaders' types.
pub use crate::yaml::{ConfigError, Diagnostic};

struct Diags<'a> {
    pos: &'a Positions,
    out: Vec<Diagnostic>,
}

impl Diags<'_> {
    fn push(&mut self, path: &str, code: &'static str, message: impl Into<String>) {
        self.out.push(Diagnostic {
            pos: self.pos.nearest(path),
            code,
            message: message.into(),
        });
    }
}

// -------------------------------------------------------------- loading

/// Reads and validates a gate config; relative paths in it resolve against
/// the file's directory.
pub fn load_file(path: &Path) -> Result<CanaryConfig, ConfigError> {
    let src = crate::yaml::read_file(path, "canary/io")?;
    let base = path.parent().unwrap_or(Path::new("")).to_path_buf();
    parse_str(&src, &path.display().to_string(), &base)
}

/// The built-in runbook-001 gate, with paths relative to `base`.
pub fn default_config(base: &Path) -> CanaryConfig {
    parse_str(DEFAULT_CONFIG, "<built-in runbook-001 gate>", base)
        .expect("the built-in gate is valid")
}

/// Parses and validates `src`; `file` names it in messages, `base` is the
/// directory relative paths resolve against.
pub fn parse_str(src: &str, file: &str, base: &Path) -> Result<CanaryConfig, ConfigError> {
    let raw: RawConfig = crate::yaml::parse_or_default(src, file, "canary/yaml")?;
    let positions = Positions::index(src);
    let mut d = Diags {
        pos: &positions,
        out: Vec::new(),
    };
    let cfg = validate(raw, base, file, &mut d);
    if d.out.is_empty() {
        Ok(cfg)
    } else {
        Err(ConfigError {
            file: file.to_string(),
            diagnostics: d.out,
        })
    }
}

fn validate(raw: RawConfig, base: &Path, file: &str, d: &mut Diags) -> CanaryConfig {
    let rp = raw.paths.unwrap_or_default();
    let root = PathBuf::from(
        rp.root
            .unwrap_or_else(|| "artifacts/reports/mahnwesen".into()),
    );
    let root = if root.is_absolute() {
        root
    } else {
        base.join(root)
    };
    let paths = Paths {
        root,
        kpi: rp
            .kpi
            .unwrap_or_else(|| "{root}/{tenant}/{date}.json".into()),
        blocklist: rp
            .blocklist
            .unwrap_or_else(|| "{root}/{tenant}/ops/blocklist.json".into()),
        state: rp
            .state
            .unwrap_or_else(|| "{root}/{tenant}/operate/operate_state.json".into()),
        canary_dir: rp
            .canary_dir
            .unwrap_or_else(|| "{root}/{tenant}/canary".into()),
    };
    for (key, t) in [("state", &paths.state), ("canary_dir", &paths.canary_dir)] {
        if !t.contains("{tenant}") {
            d.push(
                &format!("paths.{key}"),
                "canary/path-without-tenant",
                format!("paths.{key} must contain {{tenant}}: tenants must not share state"),
            );
        }
    }

    let steps = raw.steps.unwrap_or_else(|| vec![10, 25, 50, 100]);
    if steps.is_empty() {
        d.push("steps", "canary/bad-steps", "steps must not be empty");
    } else if steps.windows(2).any(|w| w[0] >= w[1]) {
        d.push(
            "steps",
            "canary/bad-steps",
            "steps must be strictly increasing",
        );
    }

    let severe_factor = raw.severe_factor.unwrap_or(2.0);
    if !(severe_factor.is_finite() && severe_factor > 1.0) {
        d.push(
            "severe_factor",
            "canary/bad-severe-factor",
            format!("severe_factor must be greater than 1, got {severe_factor}"),
        );
    }

    let min_volume = raw.min_volume.and_then(|m| {
        let source = match (m.field, m.query) {
            (Some(f), None) => Some(Source::Field(f)),
            (None, Some(q)) => query_source(&q, "min_volume.query", d),
            _ => {
                d.push(
                    "min_volume",
                    "canary/bad-source",
                    "min_volume needs exactly one of field or query",
                );
                None
            }
        };
        let min = match m.min {
            Some(v) if v.is_finite() && v >= 0.0 => Some(v),
            _ => {
                d.push(
                    "min_volume.min",
                    "canary/bad-min-volume",
                    "min_volume.min must be a number >= 0",
                );
                None
            }
        };
        Some(MinVolume {
            source: source?,
            min: min?,
            origin: Origin::Config,
        })
    });

    let mut kpis = Vec::new();
    let raw_kpis = raw.kpis.unwrap_or_default();
    if raw_kpis.is_empty() {
        d.push("kpis", "canary/no-kpis", "a gate needs at least one kpi");
    }
    for (i, k) in raw_kpis.into_iter().enumerate() {
        let at = |f: &str| format!("kpis.{i}.{f}");
        let name = match k.name {
            Some(n) if valid_name(&n) => n,
            Some(n) => {
                d.push(
                    &at("name"),
                    "canary/bad-kpi-name",
                    format!("kpi name {n:?} must be lower-case letters, digits and _"),
                );
                continue;
            }
            None => {
                d.push(
                    &format!("kpis.{i}"),
                    "canary/bad-kpi-name",
                    "kpi without name",
                );
                continue;
            }
        };
        if name == MIN_VOLUME_NAME || name == SEVERE_FACTOR_NAME {
            d.push(
                &at("name"),
                "canary/bad-kpi-name",
                format!("kpi name {name:?} is reserved"),
            );
        }
        if kpis.iter().any(|x: &KpiSpec| x.name == name) {
            d.push(
                &at("name"),
                "canary/duplicate-kpi",
                format!("kpi {name:?} is defined twice"),
            );
        }
        let n_sources = [
            k.field.is_some(),
            k.ratio.is_some(),
            k.query.is_some(),
            k.blocklist.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        let source = if n_sources != 1 {
            d.push(
                &format!("kpis.{i}"),
                "canary/bad-source",
                format!("kpi {name:?} needs exactly one of field, ratio, query, blocklist"),
            );
            None
        } else if let Some(f) = k.field {
            Some(Source::Field(f))
        } else if let Some(r) = k.ratio {
            Some(Source::Ratio {
                numerator: r.numerator,
                denominator: r.denominator,
            })
        } else if let Some(q) = k.query {
            query_source(&q, &at("query"), d)
        } else {
            match k.blocklist.as_deref() {
                Some("count") => Some(Source::BlocklistCount),
                other => {
                    d.push(
                        &at("blocklist"),
                        "canary/bad-source",
                        format!("blocklist: {other:?} is not supported (only \"count\")"),
                    );
                    None
                }
            }
        };
        let pass = match k.pass.as_deref().map(Threshold::parse) {
            Some(Ok(t)) => Some(t),
            Some(Err(e)) => {
                d.push(&at("pass"), "canary/bad-threshold", e);
                None
            }
            None => {
                d.push(
                    &format!("kpis.{i}"),
                    "canary/bad-threshold",
                    format!("kpi {name:?} needs a pass threshold"),
                );
                None
            }
        };
        let severe = match k.severe.as_deref().map(Threshold::parse) {
            Some(Ok(t)) => Some(t),
            Some(Err(e)) => {
                d.push(&at("severe"), "canary/bad-threshold", e);
                None
            }
            None => None,
        };
        let severity = match k.severity.as_deref() {
            None | Some("warning") => Severity::Warning,
            Some("critical") => Severity::Critical,
            Some(s) => {
                d.push(
                    &at("severity"),
                    "canary/bad-severity",
                    format!("severity {s:?} must be warning or critical"),
                );
                Severity::Warning
            }
        };
        if let (Some(source), Some(pass)) = (source, pass) {
            let spec = KpiSpec {
                name,
                source,
                pass,
                severe,
                severity,
                origin: Origin::Config,
            };
            if let Err(e) = check_severe(&spec) {
                d.push(&at("severe"), "canary/bad-threshold", e);
            }
            kpis.push(spec);
        }
    }

    let mut windows = |list: Option<Vec<RawTimeInterval>>, key: &str| {
        let mut out = Vec::new();
        for (i, r) in list.unwrap_or_default().iter().enumerate() {
            match r.build() {
                Ok(t) => out.push(t),
                Err(es) => {
                    for (field, e) in es {
                        d.push(
                            &format!("{key}.{i}.{field}"),
                            "canary/bad-time-interval",
                            e.0,
                        );
                    }
                }
            }
        }
        out
    };
    let release_windows = windows(raw.release_windows, "release_windows");
    let change_freeze = windows(raw.change_freeze, "change_freeze");

    CanaryConfig {
        file: file.to_string(),
        paths,
        steps,
        severe_factor,
        min_volume,
        kpis,
        release_windows,
        change_freeze,
    }
}

fn query_source(q: &str, path: &str, d: &mut Diags) -> Option<Source> {
    match crate::promql::parse(q) {
        Ok(expr) => Some(Source::Query {
            text: q.to_string(),
            expr: Box::new(expr),
        }),
        Err(e) => {
            d.push(
                path,
                "canary/invalid-expr",
                format!("parse error in query: {}", e.replace('\n', " ")),
            );
            None
        }
    }
}

fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A severe threshold must never match a passing value; otherwise a value
/// could be GO and BACKOUT at once.
fn check_severe(k: &KpiSpec) -> Result<(), String> {
    let Some(s) = k.severe else { return Ok(()) };
    let consistent = if k.pass.op.upper_bound() {
        matches!(s.op, Op::Gt | Op::Ge) && s.value >= k.pass.value
    } else {
        matches!(s.op, Op::Lt | Op::Le) && s.value <= k.pass.value
    };
    if consistent && !(s.value == k.pass.value && overlaps_at_edge(k.pass.op, s.op)) {
        Ok(())
    } else {
        Err(format!(
            "kpi {}: severe {} overlaps pass {}",
            k.name, s, k.pass
        ))
    }
}

/// Both thresholds include the common edge value.
fn overlaps_at_edge(pass: Op, severe: Op) -> bool {
    matches!(
        (pass, severe),
        (Op::Le, Op::Ge) | (Op::Ge, Op::Le) | (Op::Eq, Op::Ge) | (Op::Eq, Op::Le)
    )
}

/// The environment variable that overrides `name`'s threshold.
pub fn env_name(name: &str) -> String {
    format!("{ENV_PREFIX}{}", name.to_ascii_uppercase())
}

/// A tenant id is used in file paths, so it must be one plain name.
pub fn check_tenant(t: &str) -> Result<(), String> {
    let ok = !t.is_empty()
        && t != "."
        && t != ".."
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "tenant {t:?} must be letters, digits, '-', '_' or '.' (it names directories)"
        ))
    }
}

impl CanaryConfig {
    /// Applies `CANARY_THRESHOLD_<NAME>` overrides from `env` (all
    /// variables of the process, or a test's map). The number replaces the
    /// pass threshold (the operator stays), `MIN_VOLUME` the minimum volume,
    /// `SEVERE_FACTOR` the factor. An override naming nothing is an error:
    /// a misspelt threshold must not silently fall back to the default.
    pub fn apply_env(&mut self, env: &BTreeMap<String, String>) -> Result<(), String> {
        let mut problems = Vec::new();
        for (var, val) in env.range(ENV_PREFIX.to_string()..) {
            let Some(name) = var.strip_prefix(ENV_PREFIX) else {
                break;
            };
            let name = name.to_ascii_lowercase();
            let v = match parse_number(val) {
                Ok(v) => v,
                Err(e) => {
                    problems.push(format!("{var}: {e}"));
                    continue;
                }
            };
            let origin = Origin::Env(var.clone());
            if name == MIN_VOLUME_NAME {
                match &mut self.min_volume {
                    Some(m) if v >= 0.0 => {
                        m.min = v;
                        m.origin = origin;
                    }
                    Some(_) => problems.push(format!("{var}: must be >= 0")),
                    None => problems.push(format!("{var}: the gate has no min_volume")),
                }
            } else if name == SEVERE_FACTOR_NAME {
                if v > 1.0 {
                    self.severe_factor = v;
                } else {
                    problems.push(format!("{var}: must be greater than 1"));
                }
            } else if let Some(k) = self.kpis.iter_mut().find(|k| k.name == name) {
                k.pass.value = v;
                k.origin = origin;
                if let Err(e) = check_severe(k) {
                    problems.push(format!("{var}: {e}"));
                }
            } else {
                let known: Vec<String> = self.kpis.iter().map(|k| env_name(&k.name)).collect();
                problems.push(format!(
                    "{var}: no kpi {name:?} in {} (known: {}, {ENV_PREFIX}MIN_VOLUME, {ENV_PREFIX}SEVERE_FACTOR)",
                    self.file,
                    known.join(", ")
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    /// Does any KPI (or the volume) need a datasource?
    pub fn needs_querier(&self) -> bool {
        self.kpis
            .iter()
            .map(|k| &k.source)
            .chain(self.min_volume.as_ref().map(|m| &m.source))
            .any(|s| matches!(s, Source::Query { .. }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> Result<CanaryConfig, ConfigError> {
        parse_str(src, "canary.yml", Path::new("/base"))
    }

    #[test]
    fn built_in_gate_has_the_runbook_001_table() {
        let c = default_config(Path::new("/repo"));
        assert_eq!(c.steps, vec![10, 25, 50, 100]);
        let m = c.min_volume.as_ref().unwrap();
        assert_eq!(m.min, 3.0);
        let t: Vec<(String, String)> = c
            .kpis
            .iter()
            .map(|k| (k.name.clone(), k.pass.to_string()))
            .collect();
        assert_eq!(
            t,
            [
                ("error_rate", "<= 0.02"),
                ("hard_bounce_rate", "<= 0.05"),
                ("dlq_depth", "<= 10"),
                ("retry_depth", "<= 50"),
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        let p = c.paths.for_tenant("acme", "2025-03-04");
        assert_eq!(
            p.kpi,
            PathBuf::from("/repo/artifacts/reports/mahnwesen/acme/2025-03-04.json")
        );
        assert_eq!(
            p.state,
            PathBuf::from("/repo/artifacts/reports/mahnwesen/acme/operate/operate_state.json")
        );
        assert_eq!(
            p.blocklist,
            PathBuf::from("/repo/artifacts/reports/mahnwesen/acme/ops/blocklist.json")
        );
        assert_eq!(
            p.canary_dir,
            PathBuf::from("/repo/artifacts/reports/mahnwesen/acme/canary")
        );
    }

    #[test]
    fn unknown_key_is_located() {
        let e = parse("steps: [10, 100]\nkpis:\n  - name: a\n    field: a\n    pass: \"< 1\"\n    thresold: 3\n")
            .unwrap_err();
        let s = e.to_string();
        assert!(
            s.starts_with("canary.yml:6:5: canary/yaml: kpis[0]: unknown field `thresold`"),
            "{s}"
        );
    }

    #[test]
    fn every_semantic_problem_is_reported_with_its_line() {
        let src = "steps: [10, 10]\nkpis:\n  - name: a\n    field: a\n    pass: 0.02\n  - name: B\n    field: b\n    pass: \"< 1\"\n  - name: c\n    query: \"rate(x[5m]\"\n    pass: \"< 1\"\n";
        let e = parse(src).unwrap_err();
        let lines: Vec<String> = e.to_string().lines().map(String::from).collect();
        assert_eq!(lines.len(), 4, "{lines:#?}");
        assert!(
            lines[0].starts_with("canary.yml:1:8: canary/bad-steps"),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].starts_with("canary.yml:5:11: canary/bad-threshold"),
            "{}",
            lines[1]
        );
        assert!(
            lines[2].starts_with("canary.yml:6:11: canary/bad-kpi-name"),
            "{}",
            lines[2]
        );
        assert!(
            lines[3].starts_with("canary.yml:10:12: canary/invalid-expr"),
            "{}",
            lines[3]
        );
    }

    #[test]
    fn severe_must_not_overlap_pass() {
        let e =
            parse("kpis:\n  - name: a\n    field: a\n    pass: \"<= 10\"\n    severe: \">= 10\"\n")
                .unwrap_err();
        assert!(e.to_string().contains("overlaps pass"), "{e}");
        assert!(parse(
            "kpis:\n  - name: a\n    field: a\n    pass: \"< 3\"\n    severe: \">= 3\"\n"
        )
        .is_ok());
    }

    #[test]
    fn env_overrides_replace_the_number_and_reject_typos() {
        let mut c = default_config(Path::new("/"));
        let env: BTreeMap<String, String> = [
            ("CANARY_THRESHOLD_ERROR_RATE", "0.05"),
            ("CANARY_THRESHOLD_MIN_VOLUME", "10"),
            ("OTHER", "1"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        c.apply_env(&env).unwrap();
        let k = &c.kpis[0];
        assert_eq!((k.pass.op, k.pass.value), (Op::Le, 0.05));
        assert_eq!(k.origin, Origin::Env("CANARY_THRESHOLD_ERROR_RATE".into()));
        assert_eq!(c.min_volume.as_ref().unwrap().min, 10.0);

        let mut c = default_config(Path::new("/"));
        let bad: BTreeMap<String, String> =
            [("CANARY_THRESHOLD_EROR_RATE".to_string(), "0.05".to_string())].into();
        let e = c.apply_env(&bad).unwrap_err();
        assert!(e.contains("no kpi \"eror_rate\""), "{e}");
        let nan: BTreeMap<String, String> =
            [("CANARY_THRESHOLD_DLQ_DEPTH".to_string(), "ten".to_string())].into();
        assert!(c.apply_env(&nan).unwrap_err().contains("not a number"));
    }

    #[test]
    fn tenants_are_plain_names() {
        assert!(check_tenant("acme-01.eu").is_ok());
        for bad in ["", "..", "a/b", "a b"] {
            assert!(check_tenant(bad).is_err(), "{bad:?}");
        }
    }
}
