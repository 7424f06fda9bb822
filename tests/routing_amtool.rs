//! Routing conformance against Alertmanager 0.33's amtool: every fixture in
//! shared/conformance/alertmanager loads or is rejected as upstream says, and
//! `alertgate routes test|show` print what `amtool config routes test|show`
//! print for the fixtures and the runbook routing.

use std::path::PathBuf;
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures() -> PathBuf {
    PathBuf::from("/work/shared/conformance/alertmanager")
}

/// amtool from `.peers/bin`; missing: a failure under `CI=true`, else a skip.
fn amtool() -> Option<PathBuf> {
    let p = root().join(".peers/bin/amtool");
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var("CI").map_or(true, |v| v != "true"),
        "amtool is missing (run scripts/fetch-peers.sh)"
    );
    eprintln!("skipped: amtool not found (run scripts/fetch-peers.sh)");
    None
}

fn alertgate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_alertgate"))
        .args(args)
        .output()
        .expect("run alertgate")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// amtool's stdout without its log lines (it logs the classic-parser
/// fallback warning to stdout as `time=... level=WARN ...`).
fn am_stdout(o: &Output) -> String {
    stdout(o)
        .split_inclusive('\n')
        .filter(|l| !l.starts_with("time="))
        .collect()
}

/// (fixture, valid?) as INDEX.md lists them.
const FIXTURES: &[(&str, bool)] = &[
    ("config/testdata/conf.good.yml", true),
    ("config/testdata/conf.empty-fields.yml", true),
    ("config/testdata/conf.group-by-all.yml", true),
    ("config/testdata/conf.nil-match_re-route.yml", false),
    (
        "config/testdata/conf.nil-source_match_re-inhibition.yml",
        false,
    ),
    (
        "config/testdata/conf.nil-target_match_re-inhibition.yml",
        false,
    ),
    ("cli/testdata/conf.good.yml", true),
    ("cli/testdata/conf.bad.yml", false),
    ("cli/testdata/conf.routing.yml", true),
    ("cli/testdata/conf.routing-reverted.yml", true),
];

#[test]
fn fixtures_load_or_are_rejected_as_upstream() {
    for (f, valid) in FIXTURES {
        let path = fixtures().join(f);
        let ours = alertgate::routing::load_file(&path);
        assert_eq!(
            ours.is_ok(),
            *valid,
            "{f}: {:?}",
            ours.err().map(|e| e.to_string())
        );
        let o = alertgate(&["routes", "check", "--config", path.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(if *valid { 0 } else { 2 }), "{f}");
        if !valid {
            // file:line:col on every diagnostic.
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(err.starts_with(&format!("{}:", path.display())), "{err}");
            assert!(
                err.split(':')
                    .nth(1)
                    .is_some_and(|l| l.parse::<usize>().is_ok()),
                "{err}"
            );
        }
    }
    // The three nil-regex fixtures name the offending label, as upstream.
    for (f, label) in [
        (
            "config/testdata/conf.nil-match_re-route.yml",
            "invalid_label",
        ),
        (
            "config/testdata/conf.nil-source_match_re-inhibition.yml",
            "invalid_source_label",
        ),
        (
            "config/testdata/conf.nil-target_match_re-inhibition.yml",
            "invalid_target_label",
        ),
    ] {
        let e = alertgate::routing::load_file(&fixtures().join(f))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&format!("invalid regexp value for \"{label}\"")),
            "{e}"
        );
    }
}

#[test]
fn check_config_agrees_with_amtool() {
    let Some(am) = amtool() else { return };
    let mut files: Vec<PathBuf> = FIXTURES.iter().map(|(f, _)| fixtures().join(f)).collect();
    files.push(root().join("examples/routing/alertgate.yml"));
    for path in files {
        let theirs = Command::new(&am)
            .arg("check-config")
            .arg(&path)
            .output()
            .unwrap();
        let ours = alertgate(&["routes", "check", "--config", path.to_str().unwrap()]);
        assert_eq!(
            theirs.status.success(),
            ours.status.success(),
            "{}: amtool {:?}, alertgate {:?}",
            path.display(),
            theirs.status,
            ours.status
        );
    }
}

/// Label sets per config file, relative to the fixtures dir ("@" = repo root).
fn cases() -> Vec<(&'static str, Vec<&'static str>)> {
    let good = "config/testdata/conf.good.yml";
    let routing = "cli/testdata/conf.routing.yml";
    let reverted = "cli/testdata/conf.routing-reverted.yml";
    let runbook = "@examples/routing/alertgate.yml";
    vec![
        (good, vec!["service=foo1"]),
        (good, vec!["service=foo1", "severity=critical"]),
        (good, vec!["service=baz", "severity=warning"]),
        (good, vec!["service=foo3", "severity=critical"]),
        (good, vec!["service=files"]),
        (good, vec!["service=files", "severity=critical"]),
        (good, vec!["service=database"]),
        (good, vec!["service=database", "owner2=team-X"]),
        (
            good,
            vec!["service=database", "owner2=team-X", "owner=team-Y"],
        ),
        (good, vec!["service=database", "owner=team-Y"]),
        (good, vec!["alertname=Foo"]),
        (good, vec!["service=\"foo2\"", "severity=\"critical\""]),
        (good, vec![]),
        (routing, vec!["test=1"]),
        (routing, vec!["test=2"]),
        (routing, vec!["test=volovina"]),
        (routing, vec!["test=12"]),
        (routing, vec!["test="]),
        (reverted, vec!["test=2"]),
        (reverted, vec!["test=1"]),
        (reverted, vec!["test=3"]),
        (
            "config/testdata/conf.empty-fields.yml",
            vec!["service=foo1"],
        ),
        ("config/testdata/conf.empty-fields.yml", vec!["service=bar"]),
        ("config/testdata/conf.group-by-all.yml", vec!["a=b"]),
        ("cli/testdata/conf.good.yml", vec!["foo=bar"]),
        (runbook, vec!["env=staging", "severity=P1"]),
        (runbook, vec!["env=staging", "severity=P2", "service=api"]),
        (runbook, vec!["env=staging", "severity=P3"]),
        (runbook, vec!["env=staging", "category=deploy"]),
        (
            runbook,
            vec!["env=production", "severity=P1", "service=api"],
        ),
        (runbook, vec!["env=production", "severity=P2"]),
        (runbook, vec!["env=production", "severity=P3"]),
        (runbook, vec!["env=production", "severity=P4"]),
        (runbook, vec!["env=production"]),
        (
            runbook,
            vec!["env=production", "category=deploy", "severity=P3"],
        ),
        (
            runbook,
            vec!["env=production", "category=deploy", "severity=P1"],
        ),
        (runbook, vec!["env=\"production\"", "severity=\"P1\""]),
        (runbook, vec!["env=dev", "severity=P1"]),
        (runbook, vec!["alertname=LoggingSilence"]),
    ]
}

fn config_path(f: &str) -> PathBuf {
    match f.strip_prefix('@') {
        Some(rel) => root().join(rel),
        None => fixtures().join(f),
    }
}

#[test]
fn routes_test_agrees_with_amtool() {
    let Some(am) = amtool() else { return };
    let cases = cases();
    assert!(cases.len() >= 30);
    for (f, labels) in cases {
        let path = config_path(f);
        let cfg = path.to_str().unwrap();
        let theirs = Command::new(&am)
            .args(["config", "routes", "test", "--config.file", cfg])
            .args(&labels)
            .output()
            .unwrap();
        let mut args = vec!["routes", "test", "--config", cfg];
        args.extend(&labels);
        let ours = alertgate(&args);
        assert!(
            theirs.status.success(),
            "amtool failed on {f} {labels:?}: {}",
            String::from_utf8_lossy(&theirs.stderr)
        );
        assert_eq!(stdout(&ours), am_stdout(&theirs), "{f} {labels:?}");
        assert_eq!(ours.status.code(), Some(0));
    }
}

#[test]
fn routes_tree_and_show_agree_with_amtool() {
    let Some(am) = amtool() else { return };
    for (f, labels) in cases().into_iter().step_by(3) {
        let cfg = config_path(f);
        let cfg = cfg.to_str().unwrap();
        let theirs = Command::new(&am)
            .args(["config", "routes", "test", "--tree", "--config.file", cfg])
            .args(&labels)
            .output()
            .unwrap();
        let mut args = vec!["routes", "test", "--tree", "--config", cfg];
        args.extend(&labels);
        assert_eq!(
            stdout(&alertgate(&args)),
            am_stdout(&theirs),
            "{f} {labels:?}"
        );
    }
    let mut files: Vec<PathBuf> = FIXTURES
        .iter()
        .filter(|(_, ok)| *ok)
        .map(|(f, _)| fixtures().join(f))
        .collect();
    files.push(root().join("examples/routing/alertgate.yml"));
    for path in files {
        let cfg = path.to_str().unwrap();
        let theirs = Command::new(&am)
            .args(["config", "routes", "show", "--config.file", cfg])
            .output()
            .unwrap();
        assert_eq!(
            stdout(&alertgate(&["routes", "show", "--config", cfg])),
            am_stdout(&theirs),
            "{cfg}"
        );
    }
}

/// The expectations INDEX.md records for the routing fixtures, independent of amtool.
#[test]
fn routing_fixture_expectations() {
    let run = |f: &str, l: &str| {
        stdout(&alertgate(&[
            "routes",
            "test",
            "--config",
            fixtures().join(f).to_str().unwrap(),
            l,
        ]))
    };
    assert_eq!(run("cli/testdata/conf.routing.yml", "test=1"), "test1\n");
    assert_eq!(
        run("cli/testdata/conf.routing.yml", "test=2"),
        "test1,test2\n"
    );
    assert_eq!(
        run("cli/testdata/conf.routing.yml", "test=volovina"),
        "default\n"
    );
    assert_eq!(
        run("cli/testdata/conf.routing-reverted.yml", "test=2"),
        "test2,test1\n"
    );
}

/// The runbook routing (seed 002) routes as the runbook says.
#[test]
fn runbook_routing() {
    let cfg = root().join("examples/routing/alertgate.yml");
    let c = alertgate::routing::load_file(&cfg).expect("runbook routing loads");
    let recv = |pairs: &[(&str, &str)]| {
        c.route
            .receivers_for(&alertgate::model::Labels::from_pairs(pairs.iter().copied()))
    };
    assert_eq!(
        recv(&[("env", "staging"), ("severity", "P1")]),
        ["staging-email-slack"],
        "staging never pages"
    );
    assert_eq!(
        recv(&[("env", "production"), ("severity", "P1")]),
        ["prod-pager"]
    );
    assert_eq!(
        recv(&[("env", "production"), ("severity", "P2")]),
        ["prod-pager"]
    );
    assert_eq!(
        recv(&[("env", "production"), ("severity", "P3")]),
        ["prod-email-slack"]
    );
    let pager = c.receiver("prod-pager").unwrap();
    let kinds: Vec<&str> = pager.integrations.iter().map(|i| i.kind()).collect();
    assert_eq!(kinds, ["slack", "pagerduty"]);
    let staging = c.receiver("staging-email-slack").unwrap();
    assert!(staging.integrations.iter().all(|i| i.kind() != "pagerduty"));
    // No inline secrets in the example.
    use alertgate::routing::receivers::{Integration, SecretSource};
    for r in &c.receivers {
        for i in &r.integrations {
            let secrets: Vec<&Option<SecretSource>> = match i {
                Integration::Slack(s) => vec![&s.api_url],
                Integration::Pagerduty(p) => vec![&p.routing_key, &p.service_key],
                Integration::Email(e) => vec![&e.auth_password],
                Integration::Webhook(_)
                | Integration::Alertmanager(_)
                | Integration::Stdout(_)
                | Integration::File(_) => vec![],
            };
            assert!(
                secrets
                    .iter()
                    .all(|s| !matches!(s, Some(SecretSource::Inline(_)))),
                "{} has an inline secret",
                r.name
            );
        }
    }
}

/// Matcher strings from `matchers:` lists, in both syntaxes and the fallback
/// cases; `routes show` prints the parsed matchers, so the outputs agree
/// only if both parsers read every string the same way.
const MATCHER_INPUTS: &[&str] = &[
    "foo=bar",
    r#"foo="bar""#,
    "foo!=bar",
    r#"foo=~"a|b""#,
    r#"foo!~"a.*""#,
    r#"{foo="bar"}"#,
    r#"{foo="bar",baz=~"x"}"#,
    r#"foo="bar,baz""#,
    "foo = bar",
    r#"foo="a\\b""#,
    r#"foo="a\nb""#,
    r#"foo="""#,
    "foo=",
    r#"foo="\d+""#,
    r#""foo bar"="x""#,
    r#"föö="bär""#,
    r#"{a="1",}"#,
    "foo=bar baz",
    "foo=~^[12]$",
    r#"foo="\u00e9""#,
    "foo=bar}",
    "a=1, b=2",
    r#"x="y\"z""#,
    r"foo=\d",
    r#"foo=~"[a-z]+\\d""#,
];

fn matcher_config(inputs: &[&str]) -> String {
    let mut s = String::from("route:\n  receiver: d\n  routes:\n");
    for m in inputs {
        // JSON strings are valid YAML double-quoted scalars.
        s.push_str(&format!(
            "    - matchers: [{}]\n      receiver: d\n",
            serde_json::to_string(m).unwrap()
        ));
    }
    s.push_str("receivers: [{name: d}]\n");
    s
}

#[test]
fn matcher_parsing_agrees_with_amtool() {
    let Some(am) = amtool() else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.yml");
    std::fs::write(&path, matcher_config(MATCHER_INPUTS)).unwrap();
    let cfg = path.to_str().unwrap();
    let theirs = Command::new(&am)
        .args(["config", "routes", "show", "--config.file", cfg])
        .output()
        .unwrap();
    assert!(theirs.status.success());
    assert_eq!(
        stdout(&alertgate(&["routes", "show", "--config", cfg])),
        am_stdout(&theirs)
    );
    // Inputs both must reject.
    for bad in [
        r#"foo="bar"#,
        "=bar",
        "foo",
        r#"foo=~"(""#,
        r#"foo="a"b""#,
        r#"{foo=~"a"}}"#,
    ] {
        std::fs::write(&path, matcher_config(&[bad])).unwrap();
        let theirs = Command::new(&am)
            .args(["check-config", cfg])
            .output()
            .unwrap();
        let ours = alertgate(&["routes", "check", "--config", cfg]);
        assert!(!theirs.status.success(), "amtool accepted {bad}");
        assert!(!ours.status.success(), "alertgate accepted {bad}");
    }
}
