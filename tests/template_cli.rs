//! `alertgate template render` as a user runs it: the built binary renders
//! the shipped templates in `templates/` (named with `template_file:`) for a
//! sample alert group, and bad input exits 2 with one line on stderr.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Notification time: five minutes after the firing alert started.
const AT: &str = "2024-05-01T10:05:00Z";

/// One firing and one resolved alert of the same group (alertname, tenant_id).
const ALERTS: &str = r#"[
  {"labels": {"alertname": "QueueFull", "tenant_id": "acme", "severity": "critical", "instance": "q1"},
   "annotations": {"summary": "queue is full", "description": "queue q1 holds 12 items"},
   "startsAt": "2024-05-01T10:00:00Z", "generatorURL": "http://prom.example/graph?g0.expr=up"},
  {"labels": {"alertname": "QueueFull", "tenant_id": "acme", "severity": "critical", "instance": "q2"},
   "annotations": {"summary": "queue is full", "description": "queue q2 holds 15 items"},
   "startsAt": "2024-05-01T09:00:00Z", "endsAt": "2024-05-01T09:30:00Z"}
]"#;

/// Secrets that must never be printed.
const SLACK_URL: &str = "http://127.0.0.1:9/services/T0/B0/slack-secret-path";
const PD_KEY: &str = "pd-routing-key-secret";

fn shipped(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("templates")
        .join(name)
}

/// A config whose receiver `team` uses the three shipped templates; `email`
/// replaces the email template's path.
fn config(dir: &Path, email: &Path) -> PathBuf {
    let yml = format!(
        r#"route:
  receiver: team
  group_by: [alertname, tenant_id]
receivers:
  - name: team
    slack_configs:
      - api_url: '{SLACK_URL}'
        template_file: '{}'
    pagerduty_configs:
      - routing_key: '{PD_KEY}'
        template_file: '{}'
    email_configs:
      - to: oncall@example.com
        from: alertgate@example.com
        smarthost: '127.0.0.1:25'
        template_file: '{}'
"#,
        shipped("slack.hbs").display(),
        shipped("pagerduty.hbs").display(),
        email.display()
    );
    let p = dir.join("alertgate.yml");
    std::fs::write(&p, yml).unwrap();
    p
}

fn render(config: &Path, receiver: &str, alerts: &str) -> Output {
    let dir = config.parent().unwrap();
    let file = dir.join("alerts.json");
    std::fs::write(&file, alerts).unwrap();
    Command::new(env!("CARGO_BIN_EXE_alertgate"))
        .args(["template", "render", "--config"])
        .arg(config)
        .args(["--receiver", receiver, "--alerts"])
        .arg(&file)
        .args(["--at", AT])
        .output()
        .expect("run alertgate")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The body printed under `# team/<integration> -> ...` (up to the next
/// section header).
fn section<'a>(out: &'a str, integration: &str) -> &'a str {
    let head = format!("# team/{integration} -> ");
    let start = out
        .find(&head)
        .unwrap_or_else(|| panic!("no {head} in:\n{out}"));
    let rest = &out[start..];
    let end = rest[1..].find("\n# team/").map_or(rest.len(), |i| i + 1);
    &rest[..end]
}

/// The JSON body of a section (after the headers' blank line).
fn json_body(sec: &str) -> serde_json::Value {
    let body = &sec[sec.find("\n\n").expect("headers end") + 2..];
    serde_json::from_str(body.trim()).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// Decodes quoted-printable text (RFC 2045: `=XX` and soft line breaks);
/// line ends are LF.
fn qp_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' {
            if b.get(i + 1) == Some(&b'\n') {
                i += 2;
                continue;
            }
            if let Some(h) = s.get(i + 1..i + 3) {
                if let Ok(v) = u8::from_str_radix(h, 16) {
                    out.push(v);
                    i += 3;
                    continue;
                }
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// One error line on stderr, nothing on stdout, exit 2.
fn assert_bad_input(o: &Output, needle: &str) {
    let err = stderr(o);
    assert_eq!(
        o.status.code(),
        Some(2),
        "stdout:\n{}\nstderr:\n{err}",
        stdout(o)
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("alertgate: error: "), "{err}");
    assert!(err.contains(needle), "want {needle:?} in {err}");
    assert_eq!(stdout(o), "");
}

#[test]
fn renders_every_shipped_template_for_a_group() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &shipped("email.hbs"));
    let o = render(&cfg, "team", ALERTS);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        !out.contains("slack-secret-path") && !out.contains(PD_KEY),
        "{out}"
    );

    // Slack (send_resolved false by default): only the firing alert.
    let slack = section(&out, "slack_configs.0");
    assert!(slack.starts_with("# team/slack_configs.0 -> POST <secret>\n"));
    let msg = json_body(slack);
    assert_eq!(msg["text"], "[FIRING:1] QueueFull tenant acme");
    let blocks = msg["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    assert_eq!(
        blocks[0]["text"]["text"],
        "[FIRING:1] QueueFull tenant acme"
    );
    let body = blocks[1]["text"]["text"].as_str().unwrap();
    assert!(
        body.starts_with(":red_circle: *QueueFull* `critical` tenant `acme`\nqueue is full\n"),
        "{body}"
    );
    assert!(body.contains("Since 2024-05-01 10:00:00 UTC"), "{body}");
    assert!(!body.contains("large_green_circle"), "{body}");

    // PagerDuty (send_resolved true): both alerts, the key redacted.
    let pd = section(&out, "pagerduty_configs.0");
    assert!(pd.starts_with(
        "# team/pagerduty_configs.0 -> POST https://events.pagerduty.com/v2/enqueue\n"
    ));
    let ev = json_body(pd);
    assert_eq!(ev["routing_key"], "<secret>");
    assert_eq!(ev["event_action"], "trigger");
    assert_eq!(
        ev["payload"]["summary"],
        "[FIRING:1] QueueFull tenant acme: queue is full"
    );
    assert_eq!(ev["payload"]["severity"], "critical");
    let details = &ev["payload"]["custom_details"];
    assert_eq!(
        (
            details["num_firing"].as_u64(),
            details["num_resolved"].as_u64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(details["alerts"].as_array().unwrap().len(), 2);

    // Email (send_resolved false): SMTP envelope, subject, both parts. The
    // message itself has CRLF line ends, as SMTP wants.
    let mail = section(&out, "email_configs.0").replace("\r\n", "\n");
    assert!(mail.starts_with("# team/email_configs.0 -> SMTP 127.0.0.1:25\n"));
    assert!(mail.contains("\nRCPT TO: oncall@example.com\n"), "{mail}");
    assert!(
        mail.contains("\nSubject: [FIRING:1] QueueFull tenant acme (critical)\n"),
        "{mail}"
    );
    let text = qp_decode(&mail);
    for want in [
        "[FIRING] QueueFull severity=critical\nqueue is full\nqueue q1 holds 12 items\n",
        "Labels: alertname=QueueFull, instance=q1, severity=critical, tenant_id=acme\n",
        "Started: 2024-05-01 10:00:00 UTC\n",
        "Source: http://prom.example/graph?g0.expr=up\n",
        "Status: 1 firing, 0 resolved for team.\n",
        // The HTML part.
        "<p>1 firing, 0 resolved for team.</p>",
        "<h3>[FIRING] QueueFull (critical)</h3>",
        "<tr><td>instance</td><td>q1</td></tr>",
    ] {
        assert!(text.contains(want), "want {want:?} in:\n{text}");
    }
    assert!(!text.contains("q2"), "{text}");
}

#[test]
fn a_resolved_group_resolves_in_pagerduty_and_is_not_sent_to_slack() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &shipped("email.hbs"));
    let resolved = r#"{"alerts": [{"labels": {"alertname": "QueueFull", "tenant_id": "acme"},
        "annotations": {"summary": "queue is full"}, "status": "resolved",
        "startsAt": "2024-05-01T09:00:00Z"}]}"#;
    let o = render(&cfg, "team", resolved);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        out.contains("# team/slack_configs.0: nothing to send (send_resolved: false)\n"),
        "{out}"
    );
    assert!(
        out.contains("# team/email_configs.0: nothing to send (send_resolved: false)\n"),
        "{out}"
    );
    let ev = json_body(section(&out, "pagerduty_configs.0"));
    assert_eq!(ev["event_action"], "resolve");
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();

    let missing = dir.path().join("no-such.hbs");
    let cfg = config(dir.path(), &missing);
    let o = render(&cfg, "team", ALERTS);
    assert_bad_input(&o, &format!("{}", missing.display()));
    assert!(stderr(&o).contains("cannot read template file"));

    let broken = dir.path().join("broken.hbs");
    std::fs::write(
        &broken,
        "{{~#*inline \"subject\"~}}{{#if status}}{{~/inline~}}",
    )
    .unwrap();
    let cfg = config(dir.path(), &broken);
    let o = render(&cfg, "team", ALERTS);
    assert_bad_input(&o, "broken.hbs");

    let cfg = config(dir.path(), &shipped("email.hbs"));
    assert_bad_input(
        &render(&cfg, "team", "{\"alerts\": [1, 2"),
        "not an alerts JSON",
    );
    assert_bad_input(&render(&cfg, "nobody", ALERTS), "no receiver \"nobody\"");
}
