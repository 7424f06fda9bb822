//! The status page at `/` rendered by headless Chromium (Debian package
//! `chromium`; scripts/test.sh installs it): groups, rules with their last
//! evaluation and error, alerts and silences are visible.

use crate::service_support::*;
use std::process::Command;
use std::time::Duration;

fn chromium() -> Option<std::path::PathBuf> {
    let found = ["chromium", "chromium-browser"]
        .iter()
        .map(|n| std::path::Path::new("/usr/bin").join(n))
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "chromium is missing (scripts/test.sh installs it)"
        );
        eprintln!("skipped: chromium not found");
    }
    found
}

#[test]
fn status_page_renders_in_headless_chromium_with_alerts() {
    let Some(chrome) = chromium() else { return };
    let d = tempfile::tempdir().unwrap();
    let target = Target::start("queue_depth{queue=\"orders\"} 50\n");
    std::fs::write(
        d.path().join("rules.yml"),
        "groups:\n- name: shop\n  rules:\n  - alert: QueueHigh\n    expr: queue_depth > 10\n  - record: broken:ratio\n    expr: abs({__name__=~\"up|scrape_samples_scraped\"})\n",
    )
    .unwrap();
    let cfg = d.path().join("alertgate.yml");
    std::fs::write(
        &cfg,
        format!("rule_files: [rules.yml]\nevaluation_interval: 1s\nscrape_interval: 1s\nscrape_configs:\n- job_name: shop\n  static_configs: [{{targets: ['127.0.0.1:{}']}}]\n", target.server.port),
    )
    .unwrap();
    let ag = Alertgate::start(&cfg, &[]);
    wait_until(Duration::from_secs(30), "firing alert", || {
        ag.alerts().into_iter().find(|a| a["state"] == "firing")
    });
    let silence = r#"{"matchers":[{"name":"queue","value":"orders","isRegex":false}],"endsAt":"2999-01-01T00:00:00Z","createdBy":"ops","comment":"planned <maintenance>"}"#;
    let (s, body) = request(
        ag.port,
        "POST",
        "/api/v2/silences",
        &[("Content-Type", "application/json")],
        silence,
    )
    .unwrap();
    assert_eq!(s, 200);
    let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["silenceID"]
        .as_str()
        .unwrap()
        .to_string();

    let shot = d.path().join("page.png");
    let profile = d.path().join("profile");
    let url = format!("http://127.0.0.1:{}/", ag.port);
    let run = |extra: &[String]| {
        Command::new(&chrome)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(extra)
            .arg(&url)
            .output()
            .expect("run chromium")
    };
    wait_until(Duration::from_secs(10), "rule error", || {
        get(ag.port, "/").1.contains("same labelset").then_some(())
    });
    let out = run(&["--dump-dom".to_string()]);
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dom.contains("1 firing, 0 pending"), "{dom}");
    assert!(dom.contains("<td>firing</td>"), "{dom}");
    assert!(dom.contains("QueueHigh"), "{dom}");
    assert!(dom.contains("queue=\"orders\""), "{dom}");
    // The broken rule's error is shown, escaped.
    assert!(dom.contains("broken:ratio"), "{dom}");
    assert!(dom.contains("same labelset"), "{dom}");
    assert!(dom.contains("planned &lt;maintenance&gt;"), "{dom}");
    assert!(dom.contains("ops"), "{dom}");
    // The alert row names the silence that mutes it.
    assert!(dom.contains(&format!("<td>{id}</td></tr>")), "{dom}");
    let out = run(&[
        format!("--screenshot={}", shot.display()),
        "--window-size=1200,900".into(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(&shot).expect("screenshot written");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    if let Ok(keep) = std::env::var("ALERTGATE_KEEP_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }
}
