//! `alertgate check --scrape URL`: one-shot scrapes of a local endpoint in
//! each format (chosen by Content-Type), headers and bearer token, an
//! endpoint that is down (exit 2, never "all clear"), and two scrapes
//! `--interval` apart so `increase()` has two samples.

use crate::gate_http::{alertgate, closed_port, describe, root, stderr, stdout, Server};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

const OM: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
const JSON: &str = "application/json";

fn rules() -> String {
    root()
        .join("rules/outbox-hardening.yml")
        .display()
        .to_string()
}

fn check(args: &[&str]) -> std::process::Output {
    let mut all = vec!["check", "--rules"];
    let r = rules();
    all.push(&r);
    all.extend_from_slice(args);
    alertgate(&root(), &all, &[])
}

#[test]
fn each_format_is_parsed_by_its_content_type() {
    let srv = Server::start(|r| match r.path.as_str() {
        "/text" => (
            200,
            TEXT.into(),
            "# TYPE dlq_size gauge\ndlq_size 3\npublisher_lag_ms 1200\n".into(),
        ),
        "/om" => (
            200,
            OM.into(),
            "# TYPE publisher_lag_ms gauge\npublisher_lag_ms 451200\n# EOF\n".into(),
        ),
        "/ops/clean" => (
            200,
            JSON.into(),
            r#"{"publisher": {"lag_ms": 1200}, "dlq": {"size": 0}}"#.into(),
        ),
        "/ops/breach" => (
            200,
            JSON.into(),
            r#"{"publisher": {"lag_ms": 451200}, "dlq": {"size": 3}}"#.into(),
        ),
        // Text in an OpenMetrics envelope: the OpenMetrics parser must
        // refuse it (no `# EOF`), proving the header picked the parser.
        "/om-lie" => (200, OM.into(), "dlq_size 3\n".into()),
        "/login" => (
            200,
            "text/html; charset=utf-8".into(),
            "<html>sign in</html>".into(),
        ),
        _ => (404, TEXT.into(), "not found\n".into()),
    });

    let out = check(&["--scrape", &srv.url("/text")]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        stdout(&out).contains("FIRING  OutboxDLQNotEmpty{severity=\"critical\"} value=3"),
        "{}",
        describe(&out)
    );
    assert!(
        !stdout(&out).contains("OutboxPublisherLagHigh"),
        "{}",
        describe(&out)
    );

    let out = check(&["--scrape", &srv.url("/om")]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        stdout(&out).contains("FIRING  OutboxPublisherLagHigh{severity=\"warning\"} value=451200"),
        "{}",
        describe(&out)
    );

    let out = check(&[
        "--scrape",
        &srv.url("/ops/clean"),
        "--label",
        "service=0admin",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(
        stdout(&out).starts_with("0 firing, 0 pending at "),
        "{}",
        describe(&out)
    );

    // Runbook 003's checker: the JSON ops endpoint, nested keys joined.
    let out = check(&[
        "--scrape",
        &srv.url("/ops/breach"),
        "--label",
        "service=0admin",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let s = stdout(&out);
    assert!(
        s.contains("FIRING  OutboxDLQNotEmpty{service=\"0admin\", severity=\"critical\"} value=3"),
        "{s}"
    );
    assert!(
        s.contains(
            "FIRING  OutboxPublisherLagHigh{service=\"0admin\", severity=\"warning\"} value=451200"
        ),
        "{s}"
    );

    let out = check(&["--scrape", &srv.url("/om-lie")]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        stderr(&out).contains(&srv.url("/om-lie")),
        "{}",
        describe(&out)
    );

    // A login page is no metrics page, whatever its body.
    let out = check(&["--scrape", &srv.url("/login")]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        stderr(&out).contains("unsupported content type \"text/html; charset=utf-8\""),
        "{}",
        describe(&out)
    );

    // Prometheus's Accept header, with JSON for ops endpoints.
    let accept = srv.received()[0].header("accept").unwrap_or("").to_string();
    assert!(
        accept.contains("application/openmetrics-text") && accept.contains("application/json"),
        "{accept}"
    );
}

#[test]
fn headers_and_bearer_token_come_from_flags_env_and_file() {
    const TOKEN: &str = "tok-7f3a9c";
    let srv = Server::start(|r| {
        let ok = r.header("authorization") == Some("Bearer tok-7f3a9c")
            && r.header("x-scope-orgid") == Some("team-a");
        if ok {
            (200, TEXT.into(), "dlq_size 1\n".into())
        } else {
            (401, TEXT.into(), "unauthorized\n".into())
        }
    });
    let url = srv.url("/metrics");
    let r = rules();
    let base = [
        "check",
        "--rules",
        &r,
        "--scrape",
        &url,
        "--scrape-header",
        "X-Scope-OrgID: team-a",
    ];

    let mut args = base.to_vec();
    args.extend(["--scrape-bearer-token-env", "GATE_TEST_TOKEN"]);
    let out = alertgate(&root(), &args, &[("GATE_TEST_TOKEN", TOKEN)]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, format!("{TOKEN}\n")).unwrap();
    let mut args = base.to_vec();
    let f = file.display().to_string();
    args.extend(["--scrape-bearer-token-file", &f]);
    let out = alertgate(&root(), &args, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));

    // Unset variable: named, bad input.
    let mut args = base.to_vec();
    args.extend(["--scrape-bearer-token-env", "GATE_TEST_TOKEN_UNSET"]);
    let out = alertgate(&root(), &args, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        stderr(&out).contains("GATE_TEST_TOKEN_UNSET"),
        "{}",
        describe(&out)
    );

    // Wrong token: the endpoint refuses; the token never reaches output.
    let mut args = base.to_vec();
    args.extend(["--scrape-bearer-token-env", "GATE_TEST_TOKEN"]);
    let out = alertgate(&root(), &args, &[("GATE_TEST_TOKEN", "wrong-secret-99")]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        stderr(&out).contains("HTTP status 401"),
        "{}",
        describe(&out)
    );
    assert!(
        !describe(&out).contains("wrong-secret-99"),
        "{}",
        describe(&out)
    );
}

#[test]
fn an_endpoint_that_is_down_exits_2() {
    let url = format!("http://127.0.0.1:{}/metrics", closed_port());
    let out = check(&["--scrape", &url]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let err = stderr(&out);
    assert!(
        err.starts_with(&format!("alertgate: error: scrape {url}: endpoint down: ")),
        "{err}"
    );
    assert_eq!(stdout(&out), "", "no report for a run that saw no data");

    let srv = Server::start(|_| (503, TEXT.into(), "overloaded\n".into()));
    let out = check(&["--scrape", &srv.url("/metrics?token=abc")]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        stderr(&out).contains("endpoint down: server returned HTTP status 503"),
        "{}",
        describe(&out)
    );
    assert!(
        !stderr(&out).contains("token=abc"),
        "query strings may hold secrets: {}",
        describe(&out)
    );
}

#[test]
fn two_scrapes_an_interval_apart_make_increase_work() {
    // A counter that rises by 20 between scrapes.
    let n = Arc::new(AtomicU64::new(0));
    let c = n.clone();
    let srv = Server::start(move |_| {
        let v = 100 + 20 * c.fetch_add(1, Ordering::SeqCst);
        (
            200,
            TEXT.into(),
            format!("# TYPE parse_failures_total counter\nparse_failures_total {v}\n"),
        )
    });
    let url = srv.url("/metrics");

    // One scrape: increase() needs two samples, nothing to say.
    let out = check(&["--scrape", &url]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));

    // Two scrapes 1s apart: 20 more failures. Prometheus extrapolates the
    // increase by half a sample interval towards the window start (the
    // start is far, the counter's zero point 5 intervals back), so
    // 20 * 1.5 = 30 > 10: the alert fires.
    let out = check(&["--scrape", &url, "--scrape", &url, "--interval", "1s"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let s = stdout(&out);
    let line = s
        .lines()
        .find(|l| l.starts_with("FIRING  InboxParseFailuresRising"))
        .unwrap_or_else(|| panic!("{s}"));
    let value: f64 = line.rsplit("value=").next().unwrap().parse().unwrap();
    assert!((value - 30.0).abs() < 1e-6, "{line}");
    assert_eq!(n.load(Ordering::SeqCst), 3, "one scrape, then two");
    let times: Vec<_> = srv.received().iter().map(|r| r.path.clone()).collect();
    assert_eq!(times.len(), 3);

    // A repeated URL without --interval is a mistake, not a silent double.
    let out = check(&["--scrape", &url, "--scrape", &url]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        stderr(&out).contains("needs --interval"),
        "{}",
        describe(&out)
    );
}
