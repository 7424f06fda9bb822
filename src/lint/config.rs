//! Checks on `alertgate.yml`: the routing and datasource sections validate
//! (every route names an existing receiver, every time interval exists,
//! ...), every secret the file references resolves to a non-empty value in
//! the current environment (the go-live runbook's CI gate), notification
//! templates render against a sample alert, and inhibit rules compare
//! labels some rule produces.
//!
//! This is the only lint module that reads the environment and files
//! besides the rule files: secrets are checked where lint runs, which is
//! the point of running it in the target environment's CI job. A secret's
//! value is never printed, only the variable or file that holds it.

use super::finding::Finding;
use super::labels::output;
use super::source::RuleSource;
use crate::rules::Rule;
use crate::yaml::Positions;
use std::path::Path;
use yaml_serde::Value;

pub const MISSING_SECRET: &str = "config/missing-secret";
pub const TEMPLATE: &str = "config/template";
pub const INHIBIT_LABEL_UNUSED: &str = "config/inhibit-label-unused";
pub const YAML: &str = "config/yaml";

/// Every finding for the config text `src` (named `file`). `rules` are the
/// linted rule files, for the inhibit-rule check (skipped when empty).
pub fn check(file: &str, src: &str, rules: &[RuleSource]) -> Vec<Finding> {
    let mut out = Vec::new();
    let doc: Value = match yaml_serde::from_str(src) {
        Ok(v) => v,
        Err(e) => {
            let pos = e.location().map(|l| crate::yaml::Pos {
                line: l.line(),
                col: l.column(),
            });
            out.push(Finding::error(file, pos, YAML, e.to_string()));
            return out;
        }
    };
    let pos = Positions::index(src);
    let has = |k: &str| doc.get(k).is_some();
    if has("route") || has("receivers") {
        match crate::routing::parse_str(src, file) {
            Err(e) => {
                for d in e.diagnostics {
                    out.push(Finding::error(file, d.pos, d.code, d.message));
                }
            }
            Ok(cfg) => {
                if let Err(e) = crate::notify::build::build_receivers(&cfg) {
                    for p in e.problems {
                        let i = cfg.receivers.iter().position(|r| r.name == p.receiver);
                        let at = i
                            .and_then(|i| pos.nearest(&format!("receivers.{i}.{}", p.integration)));
                        out.push(Finding::error(
                            file,
                            at,
                            TEMPLATE,
                            format!("receiver {:?}: {}: {}", p.receiver, p.integration, p.error),
                        ));
                    }
                }
                if !rules.is_empty() {
                    inhibit_labels(file, &cfg, &pos, rules, &mut out);
                }
            }
        }
    }
    if has("datasource") {
        if let Err(e) = crate::datasource::config::parse_str(src, file) {
            for d in e.diagnostics {
                out.push(Finding::error(file, d.pos, d.code, d.message));
            }
        }
    }
    secrets(file, &doc, &pos, &mut out);
    out
}

/// `rule_files` (relative to the config's directory) and
/// `evaluation_interval` of an `alertgate.yml`, for `lint --config`
/// without `--rules`.
pub fn rule_settings(path: &Path, src: &str) -> (Vec<String>, Option<String>) {
    let doc: Value = yaml_serde::from_str(src).unwrap_or(Value::Null);
    let base = path.parent().unwrap_or(Path::new(""));
    let files = doc
        .get("rule_files")
        .and_then(Value::as_sequence)
        .map(|s| {
            s.iter()
                .filter_map(Value::as_str)
                .map(|p| {
                    if Path::new(p).is_absolute() {
                        p.to_string()
                    } else {
                        base.join(p).to_string_lossy().into_owned()
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let interval = doc
        .get("evaluation_interval")
        .and_then(Value::as_str)
        .map(str::to_string);
    (files, interval)
}

/// `${NAME}` as a whole value: alertgate's environment reference.
fn env_ref(v: &str) -> Option<&str> {
    let name = v.strip_prefix("${")?.strip_suffix('}')?;
    let mut c = name.chars();
    let first = c.next()?;
    ((first.is_ascii_alphabetic() || first == '_')
        && c.all(|c| c.is_ascii_alphanumeric() || c == '_'))
    .then_some(name)
}

/// Who owns `path`, for messages: `receiver "x": pagerduty_configs.0.routing_key`.
fn owner(doc: &Value, path: &[String]) -> String {
    if path.len() >= 2 && path[0] == "receivers" {
        let name = path[1]
            .parse::<usize>()
            .ok()
            .and_then(|i| {
                doc.get("receivers")?
                    .get(i)?
                    .get("name")?
                    .as_str()
                    .map(str::to_string)
            })
            .unwrap_or_default();
        return format!("receiver {name:?}: {}", path[2..].join("."));
    }
    path.join(".")
}

/// Walks the document for `*_env` keys, `*_file` keys (except
/// `template_file`, which the template check reads) and `${NAME}` values.
fn secrets(file: &str, doc: &Value, pos: &Positions, out: &mut Vec<Finding>) {
    let mut refs: Vec<(Vec<String>, Secret)> = Vec::new();
    walk(doc, &mut Vec::new(), &mut refs);
    for (path, secret) in refs {
        let problem = match &secret {
            Secret::Env(name) => match std::env::var_os(name) {
                None => Some(format!("environment variable {name} is not set")),
                Some(v) if v.is_empty() => Some(format!("environment variable {name} is empty")),
                Some(_) => None,
            },
            Secret::File(p) => match std::fs::read(p) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Some(format!("file {p} does not exist"))
                }
                Err(e) => Some(format!("cannot read file {p}: {}", e.kind())),
                Ok(b) if b.iter().all(|c| matches!(c, b'\n' | b'\r')) => {
                    Some(format!("file {p} is empty"))
                }
                Ok(_) => None,
            },
        };
        if let Some(msg) = problem {
            let dotted = path.join(".");
            out.push(Finding::error(
                file,
                pos.value(&dotted).or_else(|| pos.nearest(&dotted)),
                MISSING_SECRET,
                format!("{}: {msg}", owner(doc, &path)),
            ));
        }
    }
}

enum Secret {
    Env(String),
    File(String),
}

fn walk(v: &Value, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, Secret)>) {
    match v {
        Value::Mapping(m) => {
            for (k, x) in m {
                let Some(k) = k.as_str() else { continue };
                path.push(k.to_string());
                match x.as_str().filter(|s| !s.is_empty()) {
                    Some(s) if k.ends_with("_env") => {
                        out.push((path.clone(), Secret::Env(s.into())))
                    }
                    Some(s) if k.ends_with("_file") && k != "template_file" => {
                        out.push((path.clone(), Secret::File(s.into())))
                    }
                    _ => walk(x, path, out),
                }
                path.pop();
            }
        }
        Value::Sequence(s) => {
            for (i, x) in s.iter().enumerate() {
                path.push(i.to_string());
                walk(x, path, out);
                path.pop();
            }
        }
        Value::String(s) => {
            if let Some(name) = env_ref(s) {
                out.push((path.clone(), Secret::Env(name.into())));
            }
        }
        Value::Tagged(t) => walk(&t.value, path, out),
        _ => {}
    }
}

/// Inhibit rules whose `equal` labels no alerting rule can produce: both
/// sides then compare empty values, which is rarely what was meant.
fn inhibit_labels(
    file: &str,
    cfg: &crate::routing::RoutingConfig,
    pos: &Positions,
    rules: &[RuleSource],
    out: &mut Vec<Finding>,
) {
    let alerts: Vec<_> = rules
        .iter()
        .flat_map(|s| &s.file.groups)
        .flat_map(|g| &g.rules)
        .filter_map(|r| match r {
            Rule::Alerting(a) => Some(a),
            Rule::Recording(_) => None,
        })
        .collect();
    for (i, ir) in cfg.inhibit_rules.iter().enumerate() {
        for (j, l) in ir.equal.iter().enumerate() {
            if l == "alertname" {
                continue;
            }
            let produced = alerts.iter().any(|a| {
                a.labels.iter().any(|(k, _)| k == l) || output(&a.expr).labels.may_have(l)
            });
            if !produced {
                out.push(Finding::warning(
                    file,
                    pos.value(&format!("inhibit_rules.{i}.equal.{j}")),
                    INHIBIT_LABEL_UNUSED,
                    format!(
                        "inhibit rule {}: no alerting rule in the linted files sets label {l:?}, so `equal` compares empty values",
                        i + 1
                    ),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTES: &str = "route:\n  receiver: pager\n  routes:\n    - matchers: ['env=\"prod\"']\n      receiver: pager\n      mute_time_intervals: [freeze]\ntime_intervals:\n  - name: freeze\n    time_intervals: [{weekdays: ['saturday']}]\nreceivers:\n  - name: pager\n    pagerduty_configs:\n      - routing_key: '${ALERTGATE_LINT_TEST_KEY}'\n";

    fn checks(f: &[Finding]) -> Vec<&str> {
        f.iter().map(|f| f.check.as_str()).collect()
    }

    #[test]
    fn routes_must_name_existing_receivers_and_intervals() {
        let good = ROUTES.replace("${ALERTGATE_LINT_TEST_KEY}", "inline-key");
        assert!(
            check("a.yml", &good, &[]).is_empty(),
            "{:?}",
            check("a.yml", &good, &[])
        );
        let bad = good.replace("      receiver: pager\n", "      receiver: pagr\n");
        let f = check("a.yml", &bad, &[]);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].check.starts_with("routing/"), "{f:?}");
        assert!(f[0].message.contains("pagr"), "{f:?}");
        assert_eq!(f[0].pos.map(|p| p.line), Some(5));
        let bad = good.replace(
            "mute_time_intervals: [freeze]",
            "mute_time_intervals: [frieze]",
        );
        let f = check("a.yml", &bad, &[]);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].message.contains("frieze"), "{f:?}");
    }

    #[test]
    fn missing_and_empty_secrets_name_variable_and_receiver() {
        // Each test uses its own variable: tests run in parallel.
        let src = ROUTES.replace("ALERTGATE_LINT_TEST_KEY", "ALERTGATE_LINT_TEST_UNSET");
        let f = check("a.yml", &src, &[]);
        assert_eq!(checks(&f), [MISSING_SECRET]);
        assert_eq!(
            f[0].to_string(),
            "a.yml:13:22: error: config/missing-secret: receiver \"pager\": pagerduty_configs.0.routing_key: environment variable ALERTGATE_LINT_TEST_UNSET is not set"
        );
        let src = ROUTES.replace("ALERTGATE_LINT_TEST_KEY", "ALERTGATE_LINT_TEST_EMPTY");
        std::env::set_var("ALERTGATE_LINT_TEST_EMPTY", "");
        let f = check("a.yml", &src, &[]);
        assert!(
            f[0].message.ends_with("ALERTGATE_LINT_TEST_EMPTY is empty"),
            "{f:?}"
        );
        let src = ROUTES.replace("ALERTGATE_LINT_TEST_KEY", "ALERTGATE_LINT_TEST_SET");
        std::env::set_var("ALERTGATE_LINT_TEST_SET", "s3cr3t-value");
        let f = check("a.yml", &src, &[]);
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn secret_files_and_env_keys() {
        let d = tempfile::tempdir().unwrap();
        let full = d.path().join("full");
        let empty = d.path().join("empty");
        std::fs::write(&full, "hunter2\n").unwrap();
        std::fs::write(&empty, "\n").unwrap();
        let src = format!(
            "datasource:\n  url: http://127.0.0.1:9\n  bearer_token_file: {}\nweb:\n  auth: {{bearer_token_env: ALERTGATE_LINT_TEST_WEB}}\nscrape_configs:\n  - basic_auth: {{password_file: {}}}\n",
            full.display(),
            empty.display()
        );
        let f = check("a.yml", &src, &[]);
        let msgs: Vec<_> = f.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(checks(&f), [MISSING_SECRET, MISSING_SECRET], "{msgs:?}");
        assert!(
            msgs[0].starts_with(
                "web.auth.bearer_token_env: environment variable ALERTGATE_LINT_TEST_WEB"
            ),
            "{msgs:?}"
        );
        assert!(msgs[1].ends_with("is empty"), "{msgs:?}");
        assert!(!format!("{f:?}").contains("hunter2"));
    }

    #[test]
    fn templates_render_against_a_sample_alert() {
        let good = "route: {receiver: s}\nreceivers:\n  - name: s\n    slack_configs:\n      - api_url: 'http://127.0.0.1:9/'\n        title: '{{ commonLabels.alertname }}'\n";
        assert!(
            check("a.yml", good, &[]).is_empty(),
            "{:?}",
            check("a.yml", good, &[])
        );
        let bad = good.replace("{{ commonLabels.alertname }}", "{{#each}}");
        let f = check("a.yml", &bad, &[]);
        assert_eq!(checks(&f), [TEMPLATE], "{f:?}");
        assert!(
            f[0].message.starts_with("receiver \"s\": slack_configs.0:"),
            "{f:?}"
        );
        assert_eq!(f[0].pos.map(|p| p.line), Some(5));
    }

    #[test]
    fn inhibit_equal_labels_must_be_produced() {
        let rules = RuleSource::parse(
            "r.yml",
            "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: sum by (env) (x) > 1\n    labels: {severity: page}\n",
            &Default::default(),
        )
        .unwrap();
        let src = "route: {receiver: r}\nreceivers: [{name: r}]\ninhibit_rules:\n  - source_matchers: ['severity=\"page\"']\n    target_matchers: ['severity=\"ticket\"']\n    equal: [alertname, env, service]\n";
        let f = check("a.yml", src, std::slice::from_ref(&rules));
        assert_eq!(checks(&f), [INHIBIT_LABEL_UNUSED]);
        assert!(f[0].message.contains("\"service\""), "{f:?}");
        assert_eq!(f[0].pos.map(|p| (p.line, p.col)), Some((6, 29)));
        assert!(check("a.yml", src, &[]).is_empty());
    }
}
