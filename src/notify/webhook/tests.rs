//! Webhook: the shared suite, plus payload v4, truncation and signature.

use super::super::suite::{self, ctx, Proto, Server, Setup};
use super::*;
use crate::routing::receivers::{Secret, SecretSource};
use std::collections::BTreeMap;

fn cfg(s: &Setup) -> WebhookConfig {
    WebhookConfig {
        send_resolved: s.send_resolved,
        url: SecretSource::Inline(Secret::new(format!("http://{}/hook/{}", s.addr, s.secret))),
        max_alerts: 0,
        timeout_ms: s.timeout_ms,
        headers: BTreeMap::from([(
            "Authorization".to_string(),
            SecretSource::Inline(Secret::new(format!("Bearer {}", s.secret))),
        )]),
        hmac_secret: Some(SecretSource::Inline(Secret::new(s.secret))),
    }
}

#[test]
fn shared_suite() {
    suite::run(Proto::Http, |s| {
        Box::new(WebhookNotifier::build(&cfg(s)).unwrap())
    });
}

#[test]
fn payload_headers_and_signature() {
    let srv = Server::start(Proto::Http, 200, std::time::Duration::ZERO);
    let s = Setup {
        addr: srv.addr.clone(),
        secret: "hk",
        timeout_ms: 5000,
        send_resolved: true,
    };
    let mut c = cfg(&s);
    c.max_alerts = 1;
    let mut two = ctx(false);
    let mut b = two.firing[0].clone();
    b.labels.set("instance", "b");
    two.firing.push(b);
    WebhookNotifier::build(&c).unwrap().notify(&two).unwrap();
    let r = &srv.received()[0];
    assert_eq!(r.path, "/hook/hk");
    assert_eq!(r.header("authorization"), Some("Bearer hk"));
    assert_eq!(
        r.header(config::SIGNATURE_HEADER),
        Some(config::sign(b"hk", r.body.as_bytes()).as_str())
    );
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["version"], "4");
    assert_eq!(v["truncatedAlerts"], 1);
    assert_eq!(v["alerts"].as_array().unwrap().len(), 1);
    assert_eq!(v["status"], "firing");
    for k in [
        "receiver",
        "groupLabels",
        "commonLabels",
        "commonAnnotations",
        "externalURL",
        "groupKey",
    ] {
        assert!(v.get(k).is_some(), "{k}");
    }
}

#[test]
fn signature_is_rfc_4231_hmac_sha256() {
    // RFC 4231 test case 2.
    assert_eq!(
        config::sign(b"Jefe", b"what do ya want for nothing?"),
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}
