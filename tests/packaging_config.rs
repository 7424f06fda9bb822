//! Packaging (issue [packaging]): docs/configuration.md cannot drift from the
//! config types.
//!
//! Its ```` ```yaml alertgate.yml ```` blocks are complete files and must
//! load cleanly through the real loaders (a key the code does not know fails,
//! since every section denies unknown fields). The other direction needs
//! the code's field lists without touching the structs: serde reports them
//! itself. Each mapping of each block gets an extra key `zz_probe`; a struct
//! answers "unknown field `zz_probe`, expected one of `a`, `b`, ...", a free
//! map (labels, headers) accepts it. Every field so listed must appear as a
//! key at the same place in some block. The ```` ```yaml rules.yml ```` block
//! is checked the same way against the rule file parser.

use alertgate::outbox::OutboxConfig;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use yaml_serde::Value;

const PROBE: &str = "zz_probe";
/// Info string of examples that must be refused (keys known but rejected).
const REJECTED: &str = "yaml alertgate.yml rejected";

fn doc() -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/configuration.md");
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The fenced blocks whose info string is exactly `info`, with their line.
fn blocks(doc: &str, info: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in doc.lines().enumerate() {
        match current.as_mut() {
            None if line.trim_end() == format!("```{info}") => {
                current = Some((i + 1, String::new()))
            }
            None => {}
            Some(_) if line.trim_end() == "```" => out.push(current.take().unwrap()),
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    assert!(current.is_none(), "unclosed ```{info} block");
    out
}

/// A directory holding what the examples point at: the rule files of
/// `rule_files: [rules/*.yml]`, taken from the doc's rules.yml block.
fn workdir(doc: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("rules")).unwrap();
    let (_, rules) = blocks(doc, "yaml rules.yml")
        .pop()
        .expect("a rules.yml block");
    std::fs::write(dir.path().join("rules/example.yml"), rules).unwrap();
    dir
}

/// Every problem the whole-file loaders find in `src`, one string each.
fn config_problems(dir: &Path, src: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Err(e) = alertgate::service::config::parse(src, &dir.join("alertgate.yml")) {
        out.push(format!("{e:#}"));
    }
    // `alertgate routes` reads the same file with the routing loader alone.
    let has_route = yaml_serde::from_str::<Value>(src)
        .ok()
        .and_then(|v| v.get("route").cloned())
        .is_some();
    if has_route {
        if let Err(e) = alertgate::routing::parse_str(src, "alertgate.yml") {
            out.push(e.to_string());
        }
    }
    if let Err(e) = alertgate::datasource::config::parse_str(src, "alertgate.yml") {
        out.push(e.to_string());
    }
    if let Err(e) = OutboxConfig::from_yaml(src) {
        out.push(e.to_string());
    }
    out
}

fn rules_problems(src: &str) -> Vec<String> {
    match alertgate::rules::parse_rule_file("rules.yml", src) {
        Ok(_) => Vec::new(),
        Err(ps) => ps.iter().map(|p| p.to_string()).collect(),
    }
}

#[derive(Clone, Debug)]
enum Seg {
    Key(String),
    Index(usize),
}

/// `receivers[].email_configs[]`: the place of a mapping, whatever element.
fn place(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(_) => s.push_str("[]"),
        }
    }
    if s.is_empty() {
        "(top level)".into()
    } else {
        s
    }
}

/// Every mapping in `v` with its path, and the keys written at each place.
fn mappings(v: &Value, path: &mut Vec<Seg>, out: &mut Vec<(Vec<Seg>, BTreeSet<String>)>) {
    match v {
        Value::Mapping(m) => {
            let keys = m
                .keys()
                .filter_map(|k| k.as_str().map(String::from))
                .collect();
            out.push((path.clone(), keys));
            for (k, child) in m {
                if let Some(k) = k.as_str() {
                    path.push(Seg::Key(k.to_string()));
                    mappings(child, path, out);
                    path.pop();
                }
            }
        }
        Value::Sequence(s) => {
            for (i, child) in s.iter().enumerate() {
                path.push(Seg::Index(i));
                mappings(child, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

fn at_mut<'a>(v: &'a mut Value, path: &[Seg]) -> &'a mut Value {
    path.iter().fold(v, |v, seg| match seg {
        Seg::Key(k) => v.get_mut(k.as_str()).expect("path exists"),
        Seg::Index(i) => v.get_mut(*i).expect("path exists"),
    })
}

/// The field names serde lists for the struct that rejected `zz_probe`;
/// None when no loader rejected it (a free map, or an ignored section).
fn expected_fields(problems: &[String]) -> Option<BTreeSet<String>> {
    let marker = format!("unknown field `{PROBE}`, ");
    let mut found: Option<BTreeSet<String>> = None;
    for text in problems {
        for (i, _) in text.match_indices(&marker) {
            let rest = &text[i + marker.len()..];
            let rest = rest.lines().next().unwrap_or("");
            let set = found.get_or_insert_with(BTreeSet::new);
            // "expected one of `a`, `b`", "expected `a` or `b`", "there are no fields"
            set.extend(rest.split('`').skip(1).step_by(2).map(String::from));
        }
    }
    found
}

/// For one kind of block: place -> (fields the code knows, keys the doc writes).
struct Coverage {
    known: BTreeMap<String, BTreeSet<String>>,
    written: BTreeMap<String, BTreeSet<String>>,
}

fn coverage(sources: &[(usize, String)], problems: &dyn Fn(&str) -> Vec<String>) -> Coverage {
    let mut cov = Coverage {
        known: BTreeMap::new(),
        written: BTreeMap::new(),
    };
    for (line, src) in sources {
        let root: Value =
            yaml_serde::from_str(src).unwrap_or_else(|e| panic!("block at line {line}: {e}"));
        let mut found = Vec::new();
        mappings(&root, &mut Vec::new(), &mut found);
        for (path, keys) in found {
            let where_ = place(&path);
            cov.written.entry(where_.clone()).or_default().extend(keys);
            let mut probed = root.clone();
            if let Value::Mapping(m) = at_mut(&mut probed, &path) {
                m.insert(Value::from(PROBE), Value::from(1));
            }
            let text = yaml_serde::to_string(&probed).unwrap();
            if let Some(fields) = expected_fields(&problems(&text)) {
                cov.known.entry(where_).or_default().extend(fields);
            }
        }
    }
    cov
}

/// Fields in the code but not in the doc, and the other way round. Places
/// with the same field list are one struct (`route` and `route.routes[]`,
/// `time_intervals[]` and `mute_time_intervals[]`), so a key written at
/// any of them counts for all.
fn drift(cov: &Coverage) -> Vec<String> {
    let mut by_struct: BTreeMap<&BTreeSet<String>, (Vec<&str>, BTreeSet<String>)> = BTreeMap::new();
    for (where_, known) in &cov.known {
        let entry = by_struct.entry(known).or_default();
        entry.0.push(where_);
        entry
            .1
            .extend(cov.written.get(where_).into_iter().flatten().cloned());
    }
    let mut out = Vec::new();
    for (known, (places, written)) in by_struct {
        let places = places.join(", ");
        for f in known.difference(&written) {
            out.push(format!(
                "{places}: `{f}` is in the code but not in docs/configuration.md"
            ));
        }
        for f in written.difference(known) {
            out.push(format!(
                "{places}: `{f}` is in docs/configuration.md but not in the code"
            ));
        }
    }
    out
}

#[test]
fn every_example_in_the_reference_loads_cleanly() {
    let doc = doc();
    let dir = workdir(&doc);
    let examples = blocks(&doc, "yaml alertgate.yml");
    assert!(examples.len() >= 3, "too few alertgate.yml examples");
    let mut failures = Vec::new();
    for (line, src) in &examples {
        for p in config_problems(dir.path(), src) {
            failures.push(format!("docs/configuration.md block at line {line}:\n{p}"));
        }
    }
    // Keys the code knows but refuses (e.g. PagerDuty's v1 service_key) are
    // documented in blocks that must fail, and not as unknown keys.
    for (line, src) in blocks(&doc, REJECTED) {
        let ps = config_problems(dir.path(), &src);
        if ps.is_empty() || ps.iter().any(|p| p.contains("unknown field")) {
            failures.push(format!("docs/configuration.md block at line {line} should be refused for a documented reason:\n{}", ps.join("\n")));
        }
    }
    for (line, src) in blocks(&doc, "yaml rules.yml") {
        for p in rules_problems(&src) {
            failures.push(format!("docs/configuration.md block at line {line}:\n{p}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn reference_names_every_config_field_and_no_other() {
    let doc = doc();
    let dir = workdir(&doc);
    let problems = |src: &str| config_problems(dir.path(), src);
    let mut examples = blocks(&doc, "yaml alertgate.yml");
    examples.extend(blocks(&doc, REJECTED));
    let cov = coverage(&examples, &problems);
    // The probe must actually see the structs, or this test proves nothing.
    for place in [
        "(top level)",
        "route",
        "receivers[]",
        "receivers[].email_configs[]",
        "datasource",
        "web",
        "notify.outbox",
    ] {
        assert!(
            cov.known.contains_key(place),
            "no field list found for {place}"
        );
    }
    let d = drift(&cov);
    assert!(d.is_empty(), "config reference drift:\n{}", d.join("\n"));
}

#[test]
fn reference_names_every_rule_file_field_and_no_other() {
    let doc = doc();
    let cov = coverage(&blocks(&doc, "yaml rules.yml"), &rules_problems);
    for place in ["(top level)", "groups[]", "groups[].rules[]"] {
        assert!(
            cov.known.contains_key(place),
            "no field list found for {place}"
        );
    }
    let d = drift(&cov);
    assert!(d.is_empty(), "rule file reference drift:\n{}", d.join("\n"));
}

#[test]
fn drift_check_notices_an_undocumented_field() {
    // Guards the checks above: drop one documented key and it is reported.
    let doc = doc();
    let dir = workdir(&doc);
    let problems = |src: &str| config_problems(dir.path(), src);
    let without: Vec<(usize, String)> = blocks(&doc, "yaml alertgate.yml")
        .into_iter()
        .map(|(l, s)| (l, s.replace("    honor_labels: false", "")))
        .collect();
    let d = drift(&coverage(&without, &problems));
    assert!(
        d.iter()
            .any(|m| m.contains("`honor_labels` is in the code")),
        "{d:?}"
    );
}

#[test]
fn every_top_level_key_loads_next_to_a_route() {
    // One file feeds every loader (`run`, `routes`, `check --config`), so a
    // top-level key one loader knows must not be an unknown field to another.
    let doc = doc();
    let dir = workdir(&doc);
    let problems = |src: &str| config_problems(dir.path(), src);
    let examples = blocks(&doc, "yaml alertgate.yml");
    let cov = coverage(&examples, &problems);
    let mut values: BTreeMap<String, Value> = BTreeMap::new();
    for (_, src) in &examples {
        if let Value::Mapping(m) = yaml_serde::from_str::<Value>(src).unwrap() {
            for (k, v) in m {
                if let Some(k) = k.as_str() {
                    values.entry(k.to_string()).or_insert(v);
                }
            }
        }
    }
    let mut failures = Vec::new();
    for key in &cov.known["(top level)"] {
        let mut file = yaml_serde::Mapping::new();
        file.insert(
            Value::from("route"),
            yaml_serde::from_str("{receiver: r}").unwrap(),
        );
        file.insert(
            Value::from("receivers"),
            yaml_serde::from_str("[{name: r}]").unwrap(),
        );
        if let Some(v) = values.get(key) {
            file.insert(Value::from(key.as_str()), v.clone());
        }
        let src = yaml_serde::to_string(&Value::Mapping(file)).unwrap();
        let marker = format!("unknown field `{key}`");
        for p in config_problems(dir.path(), &src) {
            if p.contains(&marker) {
                failures.push(format!("`{key}`: {p}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
