//! CI report formats of `check` and `test`: JUnit XML checked against the
//! required elements and attributes of the Ant JUnit schema
//! (windyroad/JUnit-Schema: JUnit.xsd), and Markdown and GitHub annotations
//! compared with samples written from what the rules say, plus
//! `--fail-on pending`.

use crate::gate_http::{alertgate, describe, root, stdout};
use std::path::Path;

const RULES: &str = "\
groups:
  - name: gate
    rules:
      - alert: QueueFull
        expr: queue_depth > 10
        labels: {severity: critical}
        annotations: {summary: 'queue holds {{ $value }}'}
      - alert: QueueGrowing
        expr: queue_depth > 5
        for: 10m
        annotations: {summary: 'queue above 5'}
      - alert: WorkerDown
        expr: up == 0
";

const AT: &str = "2025-03-04T09:10:00Z";

fn setup(queue_depth: u32) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rules.yml"), RULES).unwrap();
    std::fs::write(
        dir.path().join("now.prom"),
        format!("queue_depth {queue_depth}\nup 1\n"),
    )
    .unwrap();
    dir
}

fn check(dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "check",
        "--rules",
        "rules.yml",
        "--snapshot",
        "now.prom",
        "--at",
        AT,
    ];
    args.extend_from_slice(extra);
    alertgate(dir, &args, &[])
}

/// Every element and attribute JUnit.xsd requires, with its types: the
/// `testsuites` root; per suite `name` and `package` (non-empty tokens),
/// `id` (int, counting from 0), `timestamp` (ISO 8601 without zone),
/// `hostname`, `tests`/`failures`/`errors` (int, matching the cases),
/// `time` (decimal), children `properties`, `testcase`*, `system-out`,
/// `system-err` in that order; per case `name`, `classname`, `time` and at
/// most one of `skipped`, `error`, `failure`, the latter two with `type`.
fn assert_valid_junit(xml: &str) -> roxmltree::Document<'_> {
    let doc = roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("not XML: {e}\n{xml}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    assert_eq!(
        root.attributes().count(),
        0,
        "testsuites has no attributes in the schema"
    );
    let decimal = |s: &str| {
        !s.is_empty()
            && s.chars().all(|c| c.is_ascii_digit() || c == '.')
            && s.parse::<f64>().is_ok()
    };
    let timestamp = regex::Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$").unwrap();
    for (i, s) in root.children().filter(|n| n.is_element()).enumerate() {
        assert_eq!(s.tag_name().name(), "testsuite");
        for a in ["name", "package", "hostname"] {
            assert!(
                !s.attribute(a).unwrap_or("").trim().is_empty(),
                "testsuite needs {a}"
            );
        }
        assert_eq!(s.attribute("id"), Some(i.to_string().as_str()));
        assert!(
            timestamp.is_match(s.attribute("timestamp").unwrap_or("")),
            "timestamp {:?}",
            s.attribute("timestamp")
        );
        assert!(decimal(s.attribute("time").unwrap_or("")), "time");
        let kids: Vec<_> = s.children().filter(|n| n.is_element()).collect();
        let names: Vec<&str> = kids.iter().map(|n| n.tag_name().name()).collect();
        assert_eq!(names.first(), Some(&"properties"), "{names:?}");
        assert_eq!(
            &names[names.len() - 2..],
            ["system-out", "system-err"],
            "{names:?}"
        );
        assert!(
            names[1..names.len() - 2].iter().all(|n| *n == "testcase"),
            "{names:?}"
        );
        let (mut failures, mut errors) = (0, 0);
        for p in kids[0].children().filter(|n| n.is_element()) {
            assert_eq!(p.tag_name().name(), "property");
            assert!(
                p.attribute("name").is_some_and(|n| !n.is_empty())
                    && p.attribute("value").is_some()
            );
        }
        for c in &kids[1..kids.len() - 2] {
            for a in ["name", "classname"] {
                assert!(
                    !c.attribute(a).unwrap_or("").trim().is_empty(),
                    "testcase needs {a}"
                );
            }
            assert!(decimal(c.attribute("time").unwrap_or("")), "testcase time");
            let allowed = ["name", "classname", "time"];
            assert!(
                c.attributes().all(|a| allowed.contains(&a.name())),
                "extra testcase attribute"
            );
            let results: Vec<_> = c.children().filter(|n| n.is_element()).collect();
            assert!(results.len() <= 1, "at most one result per testcase");
            if let Some(r) = results.first() {
                match r.tag_name().name() {
                    "failure" => failures += 1,
                    "error" => errors += 1,
                    "skipped" => {}
                    other => panic!("unexpected <{other}> in testcase"),
                }
                if r.tag_name().name() != "skipped" {
                    assert!(
                        r.attribute("type").is_some_and(|t| !t.is_empty()),
                        "failure/error need type"
                    );
                }
            }
        }
        assert_eq!(
            s.attribute("tests"),
            Some((kids.len() - 3).to_string().as_str())
        );
        assert_eq!(s.attribute("failures"), Some(failures.to_string().as_str()));
        assert_eq!(s.attribute("errors"), Some(errors.to_string().as_str()));
    }
    doc
}

fn case<'a>(doc: &'a roxmltree::Document<'a>, name: &str) -> roxmltree::Node<'a, 'a> {
    doc.descendants()
        .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some(name))
        .unwrap_or_else(|| panic!("no testcase {name}"))
}

#[test]
fn check_junit_has_one_valid_case_per_rule() {
    let out = alertgate(
        &root(),
        &[
            "check",
            "--rules",
            "rules/outbox-hardening.yml",
            "--snapshot",
            "examples/outbox-hardening/breach.om",
            "--at",
            AT,
            "--format",
            "junit",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let xml = stdout(&out);
    let doc = assert_valid_junit(&xml);
    let suite = doc
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .unwrap();
    assert_eq!(suite.attribute("name"), Some("rules/outbox-hardening.yml"));
    assert_eq!(suite.attribute("tests"), Some("3"));
    assert_eq!(suite.attribute("timestamp"), Some("2025-03-04T09:10:00"));
    let dlq = case(&doc, "OutboxDLQNotEmpty");
    assert_eq!(dlq.attribute("classname"), Some("outbox-hardening"));
    let f = dlq.children().find(|n| n.has_tag_name("failure")).unwrap();
    assert_eq!(f.attribute("type"), Some("firing"));
    assert_eq!(
        f.attribute("message"),
        Some("1 firing: Dead-letter queue holds 3 message(s)")
    );
    assert!(
        f.text()
            .unwrap()
            .starts_with("rules/outbox-hardening.yml:26\n"),
        "{xml}"
    );

    // Clean data: every case passes, still a valid document.
    let out = alertgate(
        &root(),
        &[
            "check",
            "--rules",
            "rules/outbox-hardening.yml",
            "--snapshot",
            "examples/outbox-hardening/clean.om",
            "--at",
            AT,
            "--format",
            "junit",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let xml = stdout(&out);
    let doc = assert_valid_junit(&xml);
    assert_eq!(
        doc.descendants()
            .filter(|n| n.has_tag_name("failure"))
            .count(),
        0,
        "{xml}"
    );
}

// queue_depth 12 at AT, from one snapshot: QueueFull (> 10, no `for`)
// fires; QueueGrowing (> 5) became active at AT and has its whole 10m
// `for` left; WorkerDown (up == 0) does not match. The rules start on
// lines 4, 8 and 12 of RULES.
const MARKDOWN: &str = "\
### ❌ alertgate check: 1 failed, 1 warnings, 1 passed

| Status | Case | Group | Message | Location |
| --- | --- | --- | --- | --- |
| ❌ failed | QueueFull | gate | 1 firing: queue holds 12 | `rules.yml:4` |
| ⚠️ warning | QueueGrowing | gate | 1 pending: queue above 5 | `rules.yml:8` |

<details><summary>QueueFull</summary>

```
FIRING QueueFull{severity=\"critical\"} value=12
```

</details>

<details><summary>QueueGrowing</summary>

```
PENDING QueueGrowing value=12 (for 10m left)
```

</details>
";

const GITHUB: &str = "\
::error file=rules.yml,line=4,title=gate%3A QueueFull::1 firing: queue holds 12%0AFIRING QueueFull{severity=\"critical\"} value=12
::warning file=rules.yml,line=8,title=gate%3A QueueGrowing::1 pending: queue above 5%0APENDING QueueGrowing value=12 (for 10m left)
alertgate check: 1 passed, 1 failed, 0 errors, 1 warnings
";

#[test]
fn check_markdown_and_github_match_the_samples() {
    let dir = setup(12);
    let out = check(dir.path(), &["--format", "markdown"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert_eq!(stdout(&out), MARKDOWN);
    let out = check(dir.path(), &["--format", "github"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert_eq!(stdout(&out), GITHUB);
}

#[test]
fn fail_on_pending_turns_a_pending_alert_into_a_breach() {
    // queue_depth 7: only QueueGrowing, pending.
    let dir = setup(7);
    let out = check(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(
        stdout(&out).contains("PENDING QueueGrowing value=7 (for 10m left)"),
        "{}",
        describe(&out)
    );
    let out = check(dir.path(), &["--fail-on", "pending"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let out = check(dir.path(), &["--fail-on", "pending", "--format", "github"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        stdout(&out).starts_with(
            "::error file=rules.yml,line=8,title=gate%3A QueueGrowing::1 pending: queue above 5"
        ),
        "{}",
        describe(&out)
    );
    let out = check(dir.path(), &["--fail-on", "firing", "--format", "junit"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let xml = stdout(&out);
    let doc = assert_valid_junit(&xml);
    // A pending alert passes under --fail-on firing; the suite log says why.
    assert_eq!(
        case(&doc, "QueueGrowing")
            .children()
            .filter(|n| n.is_element())
            .count(),
        0
    );
    assert!(
        xml.contains("<system-out>WARNING QueueGrowing: 1 pending: queue above 5</system-out>"),
        "{xml}"
    );
}

const UNIT: &str = "\
rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - name: full queue fires
    interval: 1m
    input_series:
      - series: queue_depth
        values: '12'
    alert_rule_test:
      - eval_time: 0m
        alertname: QueueFull
        exp_alerts:
          - exp_labels: {severity: critical}
            exp_annotations: {summary: 'queue holds 12'}
  - name: wrong expectation
    interval: 1m
    input_series:
      - series: queue_depth
        values: '1'
    alert_rule_test:
      - eval_time: 0m
        alertname: QueueFull
        exp_alerts:
          - exp_labels: {severity: critical}
";

#[test]
fn test_reports_one_case_per_test_group() {
    let dir = setup(0);
    std::fs::write(dir.path().join("unit.yml"), UNIT).unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["test", "unit.yml"];
        args.extend_from_slice(extra);
        alertgate(dir.path(), &args, &[])
    };
    let out = run(&["--format", "junit"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let xml = stdout(&out);
    let doc = assert_valid_junit(&xml);
    assert_eq!(
        doc.descendants()
            .filter(|n| n.has_tag_name("testcase"))
            .count(),
        2,
        "{xml}"
    );
    assert_eq!(
        case(&doc, "full queue fires")
            .children()
            .filter(|n| n.is_element())
            .count(),
        0
    );
    let f = case(&doc, "wrong expectation")
        .children()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    assert_eq!(f.attribute("type"), Some("test-failure"));
    assert_eq!(
        f.attribute("message"),
        Some("1 failed check(s): alertname: QueueFull, time: 0s")
    );
    // The failure text is promtool's block.
    assert!(f.text().unwrap().contains("exp:"), "{xml}");

    let out = run(&["--format", "markdown"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let md = stdout(&out);
    assert!(
        md.starts_with("### ❌ alertgate test: 1 failed, 1 passed\n"),
        "{md}"
    );
    assert!(md.contains("| ❌ failed | wrong expectation | unit.yml | 1 failed check(s): alertname: QueueFull, time: 0s | `unit.yml` |"), "{md}");

    let out = run(&["--format", "github"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let gh = stdout(&out);
    assert!(gh.starts_with("::error file=unit.yml,title=unit.yml%3A wrong expectation::1 failed check(s): alertname: QueueFull, time: 0s%0A"), "{gh}");

    // --run leaves the other group out: a skipped case, and a pass.
    let out = run(&["--format", "junit", "--run", "full"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let xml = stdout(&out);
    let doc = assert_valid_junit(&xml);
    assert!(
        case(&doc, "wrong expectation")
            .children()
            .any(|n| n.has_tag_name("skipped")),
        "{xml}"
    );

    // A file that cannot be run is an error case and exit 2.
    std::fs::write(dir.path().join("broken.yml"), "tests: [").unwrap();
    let out = alertgate(
        dir.path(),
        &["test", "broken.yml", "--format", "junit"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let xml = stdout(&out);
    let doc = assert_valid_junit(&xml);
    assert_eq!(
        doc.descendants()
            .filter(|n| n.has_tag_name("error"))
            .count(),
        1,
        "{xml}"
    );
}
