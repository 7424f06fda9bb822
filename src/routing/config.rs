//! The routing part of `alertgate.yml`, in Alertmanager's format: raw serde
//! structs that mirror the YAML (strict about unknown fields, like upstream),
//! then a pure validation pass that reports every problem with `file:line:col`
//! and builds a [`RoutingConfig`].
//!
//! The same file also carries alertgate's own top-level sections; those keys
//! ([`RESERVED_KEYS`]) are accepted here and left to their owners.

use serde::de::IgnoredAny;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use super::duration::parse_duration;
use super::inhibit::InhibitRule;
use super::matchers::{parse_matchers, sort_matchers};
use super::receivers::{RawGlobal, RawReceiver, Receiver};
use super::route::{Route, RouteOpts};
use super::timeinterval::{RawTimeInterval, TimeInterval};
use crate::model::{MatchOp, Matcher};
use crate::yaml::Positions;

/// alertgate's own top-level sections, ignored by the routing loader.
pub const RESERVED_KEYS: &[&str] = &[
    "rule_files",
    "datasource",
    "scrape_configs",
    "scrape_interval",
    "scrape_timeout",
    "evaluation_interval",
    "external_url",
    "external_labels",
    "state_dir",
    "notify",
    "web",
    "canary",
];

/// A YAML scalar read as text, the way Go's yaml.v2 fills a `string` field
/// from `2` or `true`. Null reads as "".
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_unit<E>(self) -> Result<Scalar, E> {
                Ok(Scalar(String::new()))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub global: Option<RawGlobal>,
    pub route: Option<RawRoute>,
    pub inhibit_rules: Option<Vec<RawInhibitRule>>,
    pub receivers: Option<Vec<RawReceiver>>,
    pub templates: Option<Vec<String>>,
    pub mute_time_intervals: Option<Vec<RawNamedInterval>>,
    pub time_intervals: Option<Vec<RawNamedInterval>>,
    // Upstream sections that do not affect routing.
    pub tracing: Option<IgnoredAny>,
    pub event_recorder: Option<IgnoredAny>,
    // alertgate's own sections (see RESERVED_KEYS).
    pub rule_files: Option<IgnoredAny>,
    pub datasource: Option<IgnoredAny>,
    pub scrape_configs: Option<IgnoredAny>,
    pub scrape_interval: Option<IgnoredAny>,
    pub scrape_timeout: Option<IgnoredAny>,
    pub evaluation_interval: Option<IgnoredAny>,
    pub external_url: Option<IgnoredAny>,
    pub external_labels: Option<IgnoredAny>,
    pub state_dir: Option<IgnoredAny>,
    pub notify: Option<IgnoredAny>,
    pub web: Option<IgnoredAny>,
    pub canary: Option<IgnoredAny>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    pub receiver: Option<String>,
    pub group_by: Option<Vec<String>>,
    #[serde(rename = "match")]
    pub match_: Option<BTreeMap<String, Scalar>>,
    pub match_re: Option<BTreeMap<String, Option<Scalar>>>,
    pub matchers: Option<Vec<String>>,
    pub mute_time_intervals: Option<Vec<String>>,
    pub active_time_intervals: Option<Vec<String>>,
    #[serde(rename = "continue")]
    pub continue_: Option<bool>,
    pub routes: Option<Vec<RawRoute>>,
    pub group_wait: Option<String>,
    pub group_interval: Option<String>,
    pub repeat_interval: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInhibitRule {
    pub name: Option<String>,
    pub source_match: Option<BTreeMap<String, Scalar>>,
    pub source_match_re: Option<BTreeMap<String, Option<Scalar>>>,
    pub source_matchers: Option<Vec<String>>,
    pub target_match: Option<BTreeMap<String, Scalar>>,
    pub target_match_re: Option<BTreeMap<String, Option<Scalar>>>,
    pub target_matchers: Option<Vec<String>>,
    pub equal: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNamedInterval {
    pub name: Option<String>,
    pub time_intervals: Option<Vec<RawTimeInterval>>,
}

/// The validated routing configuration.
#[derive(Debug, Clone)]
pub struct RoutingConfig {
    pub route: Route,
    pub receivers: Vec<Receiver>,
    pub inhibit_rules: Vec<InhibitRule>,
    pub time_intervals: HashMap<String, Vec<TimeInterval>>,
    pub templates: Vec<String>,
    /// `global.resolve_timeout` (default 5m): how long an alert without an
    /// end time stays firing.
    pub resolve_timeout_ms: i64,
}

impl RoutingConfig {
    pub fn receiver(&self, name: &str) -> Option<&Receiver> {
        self.receivers.iter().find(|r| r.name == name)
    }
}

/// Config problems (codes `routing/...`) share the YAML loaders' types.
pub use crate::yaml::{ConfigError, Diagnostic};

/// Reads and validates a config file.
pub fn load_file(path: &Path) -> Result<RoutingConfig, ConfigError> {
    let src = crate::yaml::read_file(path, "routing/io")?;
    parse_str(&src, &path.display().to_string())
}

/// Parses and validates config text; `file` names it in diagnostics.
pub fn parse_str(src: &str, file: &str) -> Result<RoutingConfig, ConfigError> {
    let raw: RawConfig = crate::yaml::parse_or_default(src, file, "routing/yaml")?;
    let positions = Positions::index(src);
    let mut v = Validator {
        pos: &positions,
        diags: Vec::new(),
    };
    let built = v.config(&raw);
    if !v.diags.is_empty() {
        return Err(ConfigError {
            file: file.to_string(),
            diagnostics: v.diags,
        });
    }
    Ok(built.expect("no diagnostics means built"))
}

struct Validator<'a> {
    pos: &'a Positions,
    diags: Vec<Diagnostic>,
}

/// Classic label names, as `model.LabelNameRE` (used for `match` keys).
fn is_classic_label(n: &str) -> bool {
    let mut c = n.chars();
    matches!(c.next(), Some(f) if f.is_ascii_alphabetic() || f == '_')
        && c.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// In fallback mode upstream accepts any non-empty UTF-8 label name in
/// `group_by` and `equal`.
fn is_utf8_label(n: &str) -> bool {
    !n.is_empty()
}

impl Validator<'_> {
    fn err(&mut self, path: &str, code: &'static str, message: impl Into<String>) {
        let pos = self.pos.nearest(path);
        self.diags.push(Diagnostic {
            pos,
            code,
            message: message.into(),
        });
    }

    fn config(&mut self, raw: &RawConfig) -> Option<RoutingConfig> {
        let global = raw.global.clone().unwrap_or_default();
        let resolve_timeout_ms = match &global.resolve_timeout {
            None => 5 * 60_000,
            Some(s) => self.duration("global.resolve_timeout", s).unwrap_or(0),
        };
        // Receivers.
        let mut receivers = Vec::new();
        let mut names = HashSet::new();
        for (i, r) in raw.receivers.iter().flatten().enumerate() {
            let base = format!("receivers.{i}");
            match r.build(&global) {
                Ok(rc) => {
                    if !names.insert(rc.name.clone()) {
                        self.err(
                            &format!("{base}.name"),
                            "routing/duplicate-receiver",
                            format!("notification config name {:?} is not unique", rc.name),
                        );
                    }
                    receivers.push(rc);
                }
                Err(problems) => {
                    for (p, m) in problems {
                        self.err(&format!("{base}.{p}"), "routing/invalid-receiver", m);
                    }
                    if let Some(n) = &r.name {
                        names.insert(n.clone());
                    }
                }
            }
        }
        // Time intervals: legacy list first, then the current one.
        let mut intervals: HashMap<String, Vec<TimeInterval>> = HashMap::new();
        for (key, list) in [
            ("mute_time_intervals", &raw.mute_time_intervals),
            ("time_intervals", &raw.time_intervals),
        ] {
            for (i, ni) in list.iter().flatten().enumerate() {
                let base = format!("{key}.{i}");
                let what = if key == "mute_time_intervals" {
                    "mute time interval"
                } else {
                    "time interval"
                };
                let name = ni.name.clone().unwrap_or_default();
                if name.is_empty() {
                    self.err(
                        &base,
                        "routing/invalid-time-interval",
                        format!("missing name in {what}"),
                    );
                    continue;
                }
                let mut specs = Vec::new();
                for (j, spec) in ni.time_intervals.iter().flatten().enumerate() {
                    match spec.build() {
                        Ok(s) => specs.push(s),
                        Err(es) => {
                            for (p, e) in es {
                                self.err(
                                    &format!("{base}.time_intervals.{j}.{p}"),
                                    "routing/invalid-time-interval",
                                    e.to_string(),
                                );
                            }
                        }
                    }
                }
                if intervals.insert(name.clone(), specs).is_some() {
                    self.err(
                        &format!("{base}.name"),
                        "routing/duplicate-time-interval",
                        format!("{what} {name:?} is not unique"),
                    );
                }
            }
        }
        // Inhibit rules.
        let mut inhibit_rules = Vec::new();
        for (i, r) in raw.inhibit_rules.iter().flatten().enumerate() {
            let base = format!("inhibit_rules.{i}");
            let source = self.all_matchers(
                &base,
                ("source_match", &r.source_match),
                ("source_match_re", &r.source_match_re),
                ("source_matchers", &r.source_matchers),
            );
            let target = self.all_matchers(
                &base,
                ("target_match", &r.target_match),
                ("target_match_re", &r.target_match_re),
                ("target_matchers", &r.target_matchers),
            );
            let mut equal = Vec::new();
            for (j, l) in r.equal.iter().flatten().enumerate() {
                if !is_utf8_label(l) {
                    self.err(
                        &format!("{base}.equal.{j}"),
                        "routing/invalid-label-name",
                        format!("invalid label name {l:?} in equal list"),
                    );
                }
                equal.push(l.clone());
            }
            inhibit_rules.push(InhibitRule {
                name: r.name.clone(),
                source,
                target,
                equal,
            });
        }
        // Route tree.
        let route = match &raw.route {
            None => {
                self.err("", "routing/no-route", "no route provided in config");
                None
            }
            Some(root) => {
                if root.continue_ == Some(true) {
                    self.err(
                        "route.continue",
                        "routing/root-route",
                        "cannot have continue in root route",
                    );
                }
                if root.receiver.as_deref().unwrap_or("").is_empty() {
                    self.err(
                        "route",
                        "routing/root-route",
                        "root route must specify a default receiver",
                    );
                }
                let has = |m: &Option<BTreeMap<String, Scalar>>| {
                    m.as_ref().is_some_and(|m| !m.is_empty())
                };
                if has(&root.match_)
                    || root.match_re.as_ref().is_some_and(|m| !m.is_empty())
                    || root.matchers.as_ref().is_some_and(|m| !m.is_empty())
                {
                    self.err(
                        "route",
                        "routing/root-route",
                        "root route must not have any matchers",
                    );
                }
                if root
                    .mute_time_intervals
                    .as_ref()
                    .is_some_and(|m| !m.is_empty())
                {
                    self.err(
                        "route.mute_time_intervals",
                        "routing/root-route",
                        "root route must not have any mute time intervals",
                    );
                }
                if root
                    .active_time_intervals
                    .as_ref()
                    .is_some_and(|m| !m.is_empty())
                {
                    self.err(
                        "route.active_time_intervals",
                        "routing/root-route",
                        "root route must not have any active time intervals",
                    );
                }
                let mut counter = 0;
                Some(self.route(
                    "route",
                    root,
                    &RouteOpts::default(),
                    &names,
                    &intervals,
                    &mut counter,
                ))
            }
        };
        let route = route?;
        if !self.diags.is_empty() {
            return None;
        }
        Some(RoutingConfig {
            route,
            receivers,
            inhibit_rules,
            time_intervals: intervals,
            templates: raw.templates.clone().unwrap_or_default(),
            resolve_timeout_ms,
        })
    }

    /// Like `err`, but points at the key (for values that are missing or null).
    fn err_key(&mut self, path: &str, code: &'static str, message: impl Into<String>) {
        let pos = self.pos.key(path).or_else(|| self.pos.nearest(path));
        self.diags.push(Diagnostic {
            pos,
            code,
            message: message.into(),
        });
    }

    fn duration(&mut self, path: &str, s: &str) -> Option<i64> {
        match parse_duration(s) {
            Ok(d) => Some(d),
            Err(e) => {
                self.err(path, "routing/invalid-duration", e.to_string());
                None
            }
        }
    }

    /// Collects `match`, `match_re` and `matchers` into one sorted list.
    fn all_matchers(
        &mut self,
        base: &str,
        eq: (&str, &Option<BTreeMap<String, Scalar>>),
        re: (&str, &Option<BTreeMap<String, Option<Scalar>>>),
        list: (&str, &Option<Vec<String>>),
    ) -> Vec<Matcher> {
        let mut out = Vec::new();
        for (k, v) in eq.1.iter().flatten() {
            if !is_classic_label(k) {
                self.err(
                    &format!("{base}.{}.{k}", eq.0),
                    "routing/invalid-label-name",
                    format!("invalid label name {k:?}"),
                );
                continue;
            }
            out.push(Matcher::equal(k.clone(), v.0.clone()));
        }
        for (k, v) in re.1.iter().flatten() {
            let path = format!("{base}.{}.{k}", re.0);
            if !is_classic_label(k) {
                self.err(
                    &path,
                    "routing/invalid-label-name",
                    format!("invalid label name {k:?}"),
                );
                continue;
            }
            let Some(v) = v else {
                self.err_key(
                    &path,
                    "routing/invalid-regex",
                    format!("invalid regexp value for {k:?}"),
                );
                continue;
            };
            // Upstream anchors the pattern when loading and again when it
            // builds the route's matcher; the printed form shows both.
            match Matcher::new(k.clone(), MatchOp::Regex, format!("^(?:{})$", v.0)) {
                Ok(m) => out.push(m),
                Err(e) => self.err(
                    &path,
                    "routing/invalid-regex",
                    format!("invalid regexp value for {k:?}: {e}"),
                ),
            }
        }
        for (i, line) in list.1.iter().flatten().enumerate() {
            match parse_matchers(line) {
                Ok(ms) => out.extend(ms),
                Err(e) => self.err(
                    &format!("{base}.{}.{i}", list.0),
                    "routing/invalid-matcher",
                    format!("{line:?}: {e}"),
                ),
            }
        }
        sort_matchers(&mut out);
        out
    }

    fn route(
        &mut self,
        path: &str,
        raw: &RawRoute,
        parent: &RouteOpts,
        receivers: &HashSet<String>,
        intervals: &HashMap<String, Vec<TimeInterval>>,
        counter: &mut usize,
    ) -> Route {
        let mut opts = parent.clone();
        if let Some(r) = raw.receiver.as_ref().filter(|r| !r.is_empty()) {
            if !receivers.contains(r) {
                self.err(
                    &format!("{path}.receiver"),
                    "routing/undefined-receiver",
                    format!("undefined receiver {r:?} used in route"),
                );
            }
            opts.receiver = r.clone();
        }
        if let Some(gb) = &raw.group_by {
            let mut all = false;
            let mut labels: Vec<String> = Vec::new();
            for (i, l) in gb.iter().enumerate() {
                let p = format!("{path}.group_by.{i}");
                if l == "..." {
                    all = true;
                } else if !is_utf8_label(l) {
                    self.err(
                        &p,
                        "routing/invalid-label-name",
                        format!("invalid label name {l:?} in group_by list"),
                    );
                } else if labels.contains(l) {
                    self.err(
                        &p,
                        "routing/invalid-group-by",
                        format!("duplicated label {l:?} in group_by"),
                    );
                } else {
                    labels.push(l.clone());
                }
            }
            if all && !labels.is_empty() {
                self.err(
                    &format!("{path}.group_by"),
                    "routing/invalid-group-by",
                    "cannot have wildcard group_by (`...`) and other labels at the same time",
                );
            }
            // An explicit list (even empty) replaces the inherited one; a
            // list with only '...' sets "all" (upstream's GroupBy stays nil then).
            if all {
                opts.group_by_all = true;
                opts.group_by = Vec::new();
            } else {
                labels.sort();
                opts.group_by = labels;
                opts.group_by_all = false;
            }
        }
        for (field, value, slot, zero_ok) in [
            ("group_wait", &raw.group_wait, 0, true),
            ("group_interval", &raw.group_interval, 1, false),
            ("repeat_interval", &raw.repeat_interval, 2, false),
        ] {
            let Some(s) = value else { continue };
            let p = format!("{path}.{field}");
            if let Some(d) = self.duration(&p, s) {
                if d == 0 && !zero_ok {
                    self.err(
                        &p,
                        "routing/zero-interval",
                        format!("{field} cannot be zero"),
                    );
                }
                match slot {
                    0 => opts.group_wait_ms = d,
                    1 => opts.group_interval_ms = d,
                    _ => opts.repeat_interval_ms = d,
                }
            }
        }
        for (field, list) in [
            ("mute_time_intervals", &raw.mute_time_intervals),
            ("active_time_intervals", &raw.active_time_intervals),
        ] {
            for (i, n) in list.iter().flatten().enumerate() {
                if !intervals.contains_key(n) {
                    self.err(
                        &format!("{path}.{field}.{i}"),
                        "routing/undefined-time-interval",
                        format!("undefined time interval {n:?} used in route"),
                    );
                }
            }
        }
        // Not inherited: matchers, continue and the interval lists.
        opts.mute_time_intervals = raw.mute_time_intervals.clone().unwrap_or_default();
        opts.active_time_intervals = raw.active_time_intervals.clone().unwrap_or_default();
        let matchers = self.all_matchers(
            path,
            ("match", &raw.match_),
            ("match_re", &raw.match_re),
            ("matchers", &raw.matchers),
        );
        let routes = raw
            .routes
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, r)| {
                self.route(
                    &format!("{path}.routes.{i}"),
                    r,
                    &opts,
                    receivers,
                    intervals,
                    counter,
                )
            })
            .collect();
        // Post-order index, as upstream numbers routes.
        let idx = *counter;
        *counter += 1;
        Route {
            opts,
            matchers,
            continue_: raw.continue_.unwrap_or(false),
            routes,
            idx,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(src: &str) -> Result<RoutingConfig, ConfigError> {
        parse_str(src, "t.yml")
    }

    fn errors(src: &str) -> String {
        load(src).unwrap_err().to_string()
    }

    const BASE: &str = "receivers:\n  - name: a\n  - name: b\n";

    #[test]
    fn minimal_config_and_defaults() {
        let c = load(&format!("route:\n  receiver: a\n{BASE}")).unwrap();
        assert_eq!(c.route.opts.receiver, "a");
        assert_eq!(c.route.opts.group_wait_ms, 30_000);
        assert_eq!(c.route.opts.group_interval_ms, 300_000);
        assert_eq!(c.route.opts.repeat_interval_ms, 4 * 3_600_000);
        assert_eq!(c.resolve_timeout_ms, 300_000);
    }

    #[test]
    fn inheritance_from_parent() {
        let c = load(&format!(
            "route:\n  receiver: a\n  group_by: [x]\n  group_wait: 10s\n  routes:\n    - matchers: [t=1]\n      group_interval: 1m\n      routes:\n        - matchers: [u=1]\n          receiver: b\n          group_by: []\n    - matchers: [t=2]\n      group_by: ['...']\n{BASE}"
        ))
        .unwrap();
        let c1 = &c.route.routes[0];
        assert_eq!(
            (
                c1.opts.receiver.as_str(),
                c1.opts.group_wait_ms,
                c1.opts.group_interval_ms
            ),
            ("a", 10_000, 60_000)
        );
        assert_eq!(c1.opts.group_by, vec!["x".to_string()]);
        let g = &c1.routes[0];
        assert_eq!(
            (g.opts.receiver.as_str(), g.opts.group_interval_ms),
            ("b", 60_000)
        );
        assert!(g.opts.group_by.is_empty() && !g.opts.group_by_all);
        assert!(c.route.routes[1].opts.group_by_all);
    }

    #[test]
    fn reserved_keys_ignored_unknown_rejected() {
        assert!(load(&format!("rule_files: [a.yml]\nevaluation_interval: 1m\nstate_dir: /x\nroute:\n  receiver: a\n{BASE}")).is_ok());
        let e = errors(&format!("route:\n  receiver: a\nbogus: 1\n{BASE}"));
        assert!(e.contains("unknown field `bogus`"), "{e}");
        assert!(e.starts_with("t.yml:3:"), "{e}");
        let e = errors(&format!(
            "route:\n  receiver: a\n  labels: {{a: b}}\n{BASE}"
        ));
        assert!(e.contains("unknown field `labels`"), "{e}");
    }

    #[test]
    fn semantic_errors_with_positions() {
        let e = errors(&format!(
            "route:\n  receiver: a\n  routes:\n    - receiver: nope\n{BASE}"
        ));
        assert_eq!(
            e,
            "t.yml:4:17: routing/undefined-receiver: undefined receiver \"nope\" used in route"
        );
        let e = errors(&format!(
            "route:\n  receiver: a\n  group_interval: 0s\n  group_by: [a, a]\n{BASE}"
        ));
        assert!(e.contains("t.yml:3:19: routing/zero-interval"), "{e}");
        assert!(e.contains("duplicated label \"a\" in group_by"), "{e}");
    }

    #[test]
    fn root_route_rules() {
        assert!(
            errors(&format!("route:\n  receiver: a\n  continue: true\n{BASE}"))
                .contains("cannot have continue in root route")
        );
        assert!(
            errors(&format!("route:\n  receiver: a\n  matchers: [x=1]\n{BASE}"))
                .contains("must not have any matchers")
        );
        assert!(errors(BASE).contains("no route provided"));
        assert!(errors(&format!("route:\n  group_by: [x]\n{BASE}")).contains("default receiver"));
        assert!(errors(&format!(
            "route:\n  receiver: a\n  group_by: ['...', x]\n{BASE}"
        ))
        .contains("wildcard"));
    }

    #[test]
    fn time_interval_references() {
        let ok = format!(
            "time_intervals:\n  - name: w\n    time_intervals: [{{weekdays: [monday]}}]\nroute:\n  receiver: a\n  routes:\n    - matchers: [x=1]\n      mute_time_intervals: [w]\n{BASE}"
        );
        assert!(load(&ok).is_ok());
        assert!(errors(&ok.replace("[w]", "[nope]")).contains("undefined time interval \"nope\""));
        let dup = format!("mute_time_intervals:\n  - name: w\ntime_intervals:\n  - name: w\nroute:\n  receiver: a\n{BASE}");
        assert!(errors(&dup).contains("is not unique"));
    }
}
