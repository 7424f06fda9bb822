//! Alertmanager forward: the shared suite, plus the postable alerts shape.

use super::super::suite::{self, ctx, Proto, Setup};
use super::*;

fn cfg(s: &Setup) -> AlertmanagerConfig {
    AlertmanagerConfig {
        send_resolved: s.send_resolved,
        // The secret stands in for a path prefix that carries a token.
        urls: vec![format!("http://{}/{}", s.addr, s.secret)],
        timeout_ms: s.timeout_ms,
    }
}

#[test]
fn shared_suite() {
    suite::run(Proto::Http, |s| {
        let mut c = cfg(s);
        // Paths are not secret here; keep the token out of error texts anyway.
        c.urls = vec![format!("http://{}", s.addr)];
        Box::new(AlertmanagerNotifier::build(&c).unwrap())
    });
}

#[test]
fn postable_alerts_carry_times_and_generator_url() {
    let mut c = ctx(true);
    c.resolved[0].generator_url = "http://gen".into();
    let a = payload::alerts(&c);
    assert_eq!(a[0].starts_at, "2023-11-14T22:13:20Z");
    assert_eq!(a[0].ends_at.as_deref(), Some("2023-11-14T22:13:50Z"));
    assert_eq!(a[0].generator_url, "http://gen");
    assert!(payload::alerts(&ctx(false))[0].ends_at.is_none());
    let s = Setup {
        addr: "h:9093".into(),
        secret: "p",
        timeout_ms: 1,
        send_resolved: true,
    };
    assert_eq!(
        config::alerts_url(&cfg(&s).urls[0]),
        "http://h:9093/p/api/v2/alerts"
    );
}
