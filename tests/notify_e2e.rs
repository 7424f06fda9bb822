//! End to end: dunning KPI rules breach on a snapshot, the runbook routing
//! (examples/routing/alertgate.yml, secrets and hosts pointed at local
//! servers, plus a webhook on the pager receiver) sends to Slack, email,
//! PagerDuty and the webhook; the data recovers and resolved notifications
//! follow. Email goes through a real SMTP server (aiosmtpd), the HTTP
//! targets to local receivers that check the documented required fields,
//! and forwarding to a real Alertmanager 0.33.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alertgate::datasource::EmbeddedQuerier;
use alertgate::notify::{build_receivers, Pipeline};
use alertgate::promql::{Engine, EngineOptions};
use alertgate::rules::{self, ReplayOptions};
use alertgate::snapshot::{self, SnapshotSpec};
use serde_json::Value;

use crate::support::{free_port, http_get, peer, root};

#[derive(Debug, Clone)]
struct Req {
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Req {
    fn header(&self, n: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("{}: {e}: {}", self.path, self.body))
    }
}

/// Records every request; answers like Slack (200 ok), PagerDuty (202) or
/// a webhook receiver (200).
fn receivers() -> (u16, Arc<Mutex<Vec<Req>>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let reqs = Arc::new(Mutex::new(Vec::new()));
    let r = reqs.clone();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let mut rd = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            rd.read_line(&mut line).unwrap();
            let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
            let mut headers = Vec::new();
            loop {
                line.clear();
                rd.read_line(&mut line).unwrap();
                let l = line.trim_end();
                if l.is_empty() {
                    break;
                }
                if let Some((k, v)) = l.split_once(':') {
                    headers.push((k.trim().to_string(), v.trim().to_string()));
                }
            }
            let len: usize = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; len];
            rd.read_exact(&mut body).unwrap();
            let (code, resp) = if path.starts_with("/pd/") {
                (202, r#"{"status":"success","message":"Event processed"}"#)
            } else {
                (200, "ok")
            };
            r.lock().unwrap().push(Req {
                path,
                headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
            let mut s = s;
            let _ = write!(
                s,
                "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{resp}",
                resp.len()
            );
        }
    });
    (port, reqs)
}

struct Smtp(Child);
impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// aiosmtpd via tests/support/smtp_sink.py; None (skip) when it is missing
/// outside CI.
fn smtp(port: u16, dir: &std::path::Path) -> Option<Smtp> {
    let ok = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "aiosmtpd missing (scripts/test.sh installs it)"
        );
        eprintln!("skipped: aiosmtpd not installed");
        return None;
    }
    let mut c = Command::new("python3")
        .arg(root().join("tests/support/smtp_sink.py"))
        .args([
            &port.to_string(),
            dir.to_str().unwrap(),
            "alertgate",
            "smtp-pw-123",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start smtp sink");
    let mut line = String::new();
    BufReader::new(c.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    Some(Smtp(c))
}

const RULES: &str = r#"
groups:
  - name: dunning-kpis
    rules:
      - alert: DunningErrorRateHigh
        expr: error_rate > 0.01
        labels: {severity: P1, env: production, service: dunning, metric: error_rate, threshold: "0.01"}
        annotations:
          value: "{{ $value }}"
          summary: "[{{ $labels.tenant_id }}] error_rate {{ $value | humanizePercentage }} > 1 %: HOLD/backout"
      - alert: DunningSuccessRateLow
        expr: success_rate < 0.97
        labels: {severity: P3, env: production, service: dunning, metric: success_rate, threshold: "0.97"}
        annotations:
          value: "{{ $value }}"
          summary: "[{{ $labels.tenant_id }}] success_rate {{ $value | humanizePercentage }} < 97 %: HOLD"
"#;

fn evaluate(file: &str, at: i64) -> rules::ReplayReport {
    let rf = rules::parse_rule_file("dunning.yml", RULES).unwrap();
    let spec = SnapshotSpec::parse(
        root()
            .join("examples/dunning-kpis")
            .join(file)
            .to_str()
            .unwrap(),
    )
    .unwrap();
    let extra = snapshot::parse_label_args(&["tenant_id=acme".to_string()]).unwrap();
    let store = snapshot::load(&[spec], at, &extra).unwrap();
    let ds = EmbeddedQuerier::new(store, Engine::new(EngineOptions::default()));
    let opts = ReplayOptions {
        data_start_ms: Some(at),
        ..ReplayOptions::default()
    };
    rules::replay(&[rf], &ds, at, &opts)
}

fn utc(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap()
        .timestamp_millis()
}

fn wait_files(dir: &std::path::Path, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        if files.len() >= n || Instant::now() > deadline {
            files.sort();
            return files
                .iter()
                .map(|p| std::fs::read_to_string(p).unwrap())
                .collect();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn check_slack(r: &Req) {
    let v = r.json();
    // An incoming webhook needs `text` (the fallback when blocks are given).
    assert!(v["text"].as_str().is_some_and(|t| !t.is_empty()), "{v}");
    for b in v["blocks"].as_array().unwrap() {
        let ty = b["type"].as_str().unwrap();
        assert!(["header", "section", "context"].contains(&ty));
        if ty == "header" {
            assert_eq!(b["text"]["type"], "plain_text");
            assert!(b["text"]["text"].as_str().unwrap().chars().count() <= 150);
        }
        if ty == "section" {
            assert!(b["text"]["text"].as_str().unwrap().chars().count() <= 3000);
        }
    }
    assert_eq!(v["channel"], "#wimmelwelt-prod");
    assert_eq!(r.header("content-type"), Some("application/json"));
}

fn check_pagerduty(r: &Req) {
    let v = r.json();
    assert_eq!(v["routing_key"], "pd-routing-key-0123456789abcdef");
    let action = v["event_action"].as_str().unwrap();
    assert!(["trigger", "resolve"].contains(&action));
    assert!(v["dedup_key"]
        .as_str()
        .is_some_and(|k| !k.is_empty() && k.len() <= 255));
    if action == "trigger" {
        let p = &v["payload"];
        assert!(p["summary"]
            .as_str()
            .is_some_and(|s| !s.is_empty() && s.chars().count() <= 1024));
        assert!(p["source"].as_str().is_some_and(|s| !s.is_empty()));
        assert!(["critical", "error", "warning", "info"].contains(&p["severity"].as_str().unwrap()));
    }
}

fn check_webhook(r: &Req) {
    let sig = alertgate::notify::webhook::config::sign(b"whsec-1", r.body.as_bytes());
    assert_eq!(r.header("x-alertgate-signature"), Some(sig.as_str()));
    let v = r.json();
    assert_eq!(v["version"], "4");
    for k in [
        "receiver",
        "status",
        "alerts",
        "groupLabels",
        "commonLabels",
        "commonAnnotations",
        "externalURL",
        "groupKey",
        "truncatedAlerts",
    ] {
        assert!(v.get(k).is_some(), "webhook payload lacks {k}: {v}");
    }
    for a in v["alerts"].as_array().unwrap() {
        for k in [
            "status",
            "labels",
            "annotations",
            "startsAt",
            "endsAt",
            "generatorURL",
            "fingerprint",
        ] {
            assert!(a.get(k).is_some(), "alert lacks {k}");
        }
    }
}

#[test]
fn runbook_routing_fires_and_resolves_on_every_receiver() {
    let dir = tempfile::tempdir().unwrap();
    let mail = dir.path().join("mail");
    std::fs::create_dir(&mail).unwrap();
    let smtp_port = free_port();
    let Some(_smtp) = smtp(smtp_port, &mail) else {
        return;
    };
    let (hp, reqs) = receivers();

    let secret = |name: &str, v: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, format!("{v}\n")).unwrap();
        p.display().to_string()
    };
    std::env::set_var("ALERTGATE_E2E_PD_KEY", "pd-routing-key-0123456789abcdef");
    let slack_url = format!("http://127.0.0.1:{hp}/slack/T000/B000/slack-token-xyz");
    let mut cfg = std::fs::read_to_string(root().join("examples/routing/alertgate.yml")).unwrap();
    for (from, to) in [
        ("smtp.example.org:587".to_string(), format!("127.0.0.1:{smtp_port}")),
        ("/etc/alertgate/secrets/smtp-password".into(), secret("smtp", "smtp-pw-123")),
        ("/etc/alertgate/secrets/slack-prod-webhook".into(), secret("slack", &slack_url)),
        ("/etc/alertgate/secrets/slack-staging-webhook".into(), secret("slack", &slack_url)),
        ("  resolve_timeout: 5m".into(), "  resolve_timeout: 5m\n  smtp_require_tls: false".into()),
        (
            "routing_key: '${PAGERDUTY_ROUTING_KEY}'".into(),
            format!("routing_key: '${{ALERTGATE_E2E_PD_KEY}}'\n        url: 'http://127.0.0.1:{hp}/pd/v2/enqueue'"),
        ),
    ] {
        assert!(cfg.contains(&from), "{from}");
        cfg = cfg.replace(&from, &to);
    }
    cfg.push_str(&format!("    webhook_configs:\n      - url: 'http://127.0.0.1:{hp}/hook'\n        hmac_secret: 'whsec-1'\n"));
    let cfg_path = dir.path().join("alertgate.yml");
    std::fs::write(&cfg_path, &cfg).unwrap();
    let config = Arc::new(alertgate::routing::load_file(&cfg_path).unwrap());
    let notifiers = build_receivers(&config).unwrap();
    let mut p = Pipeline::new(config, notifiers, "http://alertgate.test");

    // Tuesday 19:10 Berlin: outside the change freeze.
    let t1 = utc("2025-03-04T18:10:00Z");
    let breach = evaluate("breach.json", t1);
    let names: Vec<_> = breach.firing().map(|a| a.rule.as_str()).collect();
    assert_eq!(names, ["DunningErrorRateHigh", "DunningSuccessRateLow"]);
    let mut attempts = p.evaluate(
        breach.alerts.iter().map(|a| &a.alert),
        "http://alertgate.test/graph",
        t1,
    );
    attempts.extend(p.run_until(t1 + 60_000));
    let sent: Vec<_> = attempts
        .iter()
        .map(|a| (a.receiver.as_str(), a.integration.as_str()))
        .collect();
    assert_eq!(
        sent,
        [
            ("prod-pager", "slack_configs.0"),
            ("prod-pager", "pagerduty_configs.0"),
            ("prod-pager", "webhook_configs.0"),
            ("prod-email-slack", "email_configs.0"),
            ("prod-email-slack", "slack_configs.0"),
        ]
    );
    assert!(attempts.iter().all(|a| a.ok()), "{attempts:?}");
    assert_eq!(attempts[1].status, Some(202));

    // Ten minutes later the data is clean.
    let t2 = t1 + 10 * 60_000;
    let clean = evaluate("clean.json", t2);
    assert_eq!(clean.firing().count(), 0);
    let mut resolved = p.evaluate(
        clean.alerts.iter().map(|a| &a.alert),
        "http://alertgate.test/graph",
        t2,
    );
    resolved.extend(p.run_until(t2 + 10 * 60_000));
    assert_eq!(resolved.len(), 5, "{resolved:?}");
    assert!(
        resolved
            .iter()
            .all(|a| a.ok() && a.firing == 0 && a.resolved == 1),
        "{resolved:?}"
    );

    let reqs = reqs.lock().unwrap().clone();
    let slack: Vec<_> = reqs
        .iter()
        .filter(|r| r.path.starts_with("/slack/"))
        .collect();
    let pd: Vec<_> = reqs.iter().filter(|r| r.path == "/pd/v2/enqueue").collect();
    let hook: Vec<_> = reqs.iter().filter(|r| r.path == "/hook").collect();
    assert_eq!((slack.len(), pd.len(), hook.len()), (4, 2, 2));
    slack.iter().for_each(|r| check_slack(r));
    pd.iter().for_each(|r| check_pagerduty(r));
    hook.iter().for_each(|r| check_webhook(r));
    assert_eq!(slack[0].path, "/slack/T000/B000/slack-token-xyz");
    assert!(slack[0].json()["text"]
        .as_str()
        .unwrap()
        .starts_with("[FIRING:1] DunningErrorRateHigh"));
    assert!(slack[3].json()["text"]
        .as_str()
        .unwrap()
        .starts_with("[RESOLVED] DunningSuccessRateLow"));
    let (trig, res) = (pd[0].json(), pd[1].json());
    assert_eq!(
        (trig["event_action"].as_str(), res["event_action"].as_str()),
        (Some("trigger"), Some("resolve"))
    );
    assert_eq!(
        trig["dedup_key"], res["dedup_key"],
        "resolve closes the triggered incident"
    );
    assert_eq!(trig["payload"]["severity"], "critical");
    let details = &trig["payload"]["custom_details"]["alerts"][0];
    assert_eq!(details["tenant_id"], "acme");
    assert_eq!(details["metric"], "error_rate");
    assert_eq!(details["threshold"], "0.01");
    assert_eq!(details["value"], "0.035");
    assert_eq!(details["severity"], "P1");
    assert_eq!(details["trace_id"].as_str().unwrap().len(), 32);
    assert_eq!(hook[0].json()["status"], "firing");
    assert_eq!(hook[1].json()["status"], "resolved");
    assert_eq!(
        hook[1].json()["alerts"][0]["endsAt"],
        "2025-03-04T18:20:00Z"
    );

    // Email: firing then resolved, through the real SMTP server.
    let mails = wait_files(&mail, 2);
    assert_eq!(mails.len(), 2);
    for (m, status) in mails.iter().zip(["FIRING:1", "RESOLVED"]) {
        let head = m.split("\r\n\r\n").next().unwrap();
        assert!(head.contains("X-Auth-Login: alertgate"), "{head}");
        assert!(
            head.contains("X-Envelope-To: wimmelwelt-team@example.org"),
            "{head}"
        );
        assert!(head.contains("From: alertgate@example.org"), "{head}");
        assert!(head.contains("To: wimmelwelt-team@example.org"), "{head}");
        assert!(
            head.contains(&format!(
                "Subject: [{status}] DunningSuccessRateLow tenant acme (P3)"
            )),
            "{head}"
        );
        assert!(head.contains("multipart/alternative"), "{head}");
        assert!(m.contains("Content-Type: text/plain; charset=utf-8"), "{m}");
        assert!(m.contains("Content-Type: text/html; charset=utf-8"), "{m}");
        assert!(m.contains("success_rate"), "{m}");
    }
    // Nothing of a secret in what the pipeline kept for the log.
    for a in attempts.iter().chain(&resolved) {
        let s = format!("{a:?}");
        assert!(
            !s.contains("slack-token-xyz")
                && !s.contains("pd-routing-key")
                && !s.contains("smtp-pw"),
            "{s}"
        );
    }
}

struct Am(Child);
impl Drop for Am {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn forwards_to_a_real_alertmanager() {
    let Some(bin) = peer("alertmanager") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("am.yml"),
        "route: {receiver: x}\nreceivers: [{name: x}]\n",
    )
    .unwrap();
    let port = free_port();
    let args = [
        format!("--config.file={}", dir.path().join("am.yml").display()),
        format!("--storage.path={}", dir.path().join("data").display()),
        format!("--web.listen-address=127.0.0.1:{port}"),
        "--cluster.listen-address=".to_string(),
    ];
    // Debian's build reads its default template from a fixed path under
    // /usr/share; when only .peers/root has it, show it there in a private
    // mount namespace (the process execs in place, so killing it works).
    let share = root().join(".peers/root/usr/share");
    let mut cmd = if std::path::Path::new("/usr/share/prometheus/alertmanager/default.tmpl")
        .is_file()
        || !share.join("prometheus/alertmanager/default.tmpl").is_file()
    {
        let mut c = Command::new(&bin);
        c.args(&args);
        c
    } else {
        let mut c = Command::new("unshare");
        c.args(["-m", "--propagation", "private", "sh", "-c"])
            .arg(format!(
                "mount --bind '{}' /usr/share && exec '{}' {}",
                share.display(),
                bin.display(),
                args.map(|a| format!("'{a}'")).join(" ")
            ));
        c
    };
    let mut am = Am(cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start alertmanager"));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !matches!(http_get(port, "/-/ready"), Ok((200, _))) {
        assert!(am.0.try_wait().unwrap().is_none(), "alertmanager exited");
        assert!(Instant::now() < deadline, "alertmanager not ready");
        std::thread::sleep(Duration::from_millis(200));
    }

    let cfg = format!(
        "route:\n  receiver: am\n  group_wait: 0s\nreceivers:\n  - name: am\n    alertmanager_configs:\n      - static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n        timeout: 5s\n"
    );
    let config = Arc::new(alertgate::routing::parse_str(&cfg, "am.yml").unwrap());
    let mut p = Pipeline::new(config.clone(), build_receivers(&config).unwrap(), "");
    let now = alertgate::clock::now_ms();
    let mut a = alertgate::routing::Alert::firing(
        alertgate::model::Labels::from_pairs([("alertname", "Forwarded"), ("tenant_id", "acme")]),
        now - 60_000,
    );
    a.annotations
        .insert("summary".into(), "via alertgate".into());
    a.generator_url = "http://alertgate.test/graph?g0.expr=up".into();
    let attempts = p.push(vec![a], now);
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert!(attempts[0].ok(), "{attempts:?}");

    let (code, body) = http_get(port, "/api/v2/alerts").unwrap();
    assert_eq!(code, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let got = v
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["labels"]["alertname"] == "Forwarded")
        .expect("alert in Alertmanager");
    assert_eq!(got["labels"]["tenant_id"], "acme");
    assert_eq!(got["annotations"]["summary"], "via alertgate");
    assert_eq!(
        got["generatorURL"],
        "http://alertgate.test/graph?g0.expr=up"
    );
    assert_eq!(got["status"]["state"], "active");
    let starts = chrono::DateTime::parse_from_rfc3339(got["startsAt"].as_str().unwrap())
        .unwrap()
        .timestamp_millis();
    assert_eq!(starts / 1000, (now - 60_000) / 1000);
}
