//! A real Prometheus 3.5 talks to `alertgate run`: it names alertgate as
//! its Alertmanager, so its alerts arrive through `POST /api/v2/alerts` and
//! are routed to a webhook; and it scrapes alertgate's `/metrics`.

use crate::service_support::*;
use crate::support::peer;
use std::process::{Command, Stdio};
use std::time::Duration;

struct Kill(std::process::Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn prometheus_sends_alerts_to_alertgate_and_scrapes_its_metrics() {
    let Some(prom_bin) = peer("prometheus") else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let rx = Receiver::start();
    let cfg = d.path().join("alertgate.yml");
    std::fs::write(
        &cfg,
        format!(
            "route:\n  receiver: default\n  group_by: [alertname]\n  group_wait: 0s\n  group_interval: 1s\n  routes:\n  - matchers: ['severity=\"page\"']\n    receiver: pager\nreceivers:\n- name: default\n- name: pager\n  webhook_configs: [{{url: '{}'}}]\n",
            rx.url()
        ),
    )
    .unwrap();
    let ag = Alertgate::start(&cfg, &[]);

    std::fs::write(
        d.path().join("prom-rules.yml"),
        "groups:\n- name: p\n  rules:\n  - alert: FromPrometheus\n    expr: vector(1)\n    labels: {severity: page}\n    annotations: {summary: sent by prometheus}\n",
    )
    .unwrap();
    std::fs::write(
        d.path().join("prometheus.yml"),
        format!(
            "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\nrule_files: [prom-rules.yml]\nalerting:\n  alertmanagers:\n  - static_configs: [{{targets: ['127.0.0.1:{p}']}}]\nscrape_configs:\n- job_name: alertgate\n  static_configs: [{{targets: ['127.0.0.1:{p}']}}]\n",
            p = ag.port
        ),
    )
    .unwrap();
    let prom_port = free_port();
    let _prom = Kill(
        Command::new(prom_bin)
            .arg(format!(
                "--config.file={}",
                d.path().join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                d.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
            // Prometheus's first send waits for the resend delay (1m).
            .arg("--rules.alert.resend-delay=1s")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus"),
    );

    // Routed by alertgate's tree to the pager webhook.
    let n = rx.wait_for("firing", "FromPrometheus", Duration::from_secs(60));
    assert_eq!(n["receiver"], "pager");
    assert_eq!(
        n["alerts"][0]["annotations"]["summary"],
        "sent by prometheus"
    );
    assert!(n["alerts"][0]["generatorURL"]
        .as_str()
        .unwrap()
        .contains("/graph?g0.expr="));
    let am = get_json(ag.port, "/api/v2/alerts");
    assert_eq!(am[0]["labels"]["alertname"], "FromPrometheus");
    assert_eq!(am[0]["receivers"][0]["name"], "pager");

    // Prometheus scraped /metrics: the target is up and the counter of
    // received alerts is visible through Prometheus's own query API.
    let q = |expr: &str| -> Option<String> {
        let (s, body) = request(
            prom_port,
            "GET",
            &format!("/api/v1/query?query={expr}"),
            &[],
            "",
        )
        .ok()?;
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        (s == 200)
            .then(|| {
                v["data"]["result"][0]["value"][1]
                    .as_str()
                    .map(String::from)
            })
            .flatten()
    };
    wait_until(Duration::from_secs(60), "up{job=alertgate} == 1", || {
        (q("up%7Bjob%3D%22alertgate%22%7D").as_deref() == Some("1")).then_some(())
    });
    wait_until(
        Duration::from_secs(60),
        "alertgate_alerts_received_total > 0",
        || {
            q("alertgate_alerts_received_total")
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|v| *v > 0.0)
        },
    );
    let info = wait_until(Duration::from_secs(30), "build info", || {
        q("alertgate_build_info")
    });
    assert_eq!(info, "1");
}
