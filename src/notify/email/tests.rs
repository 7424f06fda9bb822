//! Email: the shared suite against a minimal SMTP server, plus the MIME
//! message. The real-server test is tests/notify_e2e.rs (aiosmtpd).

use super::super::suite::{self, ctx, Proto, Setup};
use super::*;
use crate::routing::receivers::{Secret, SecretSource};
use std::collections::BTreeMap;

fn cfg(s: &Setup) -> EmailConfig {
    EmailConfig {
        send_resolved: s.send_resolved,
        to: "team@example.org, lead@example.org".into(),
        from: "alertgate@example.org".into(),
        hello: "localhost".into(),
        smarthost: s.addr.clone(),
        auth_username: Some("user".into()),
        auth_password: Some(SecretSource::Inline(Secret::new(s.secret))),
        auth_secret: None,
        auth_identity: None,
        headers: BTreeMap::from([("Cc".to_string(), "cc@example.org".to_string())]),
        html: None,
        text: None,
        require_tls: false,
        force_implicit_tls: false,
        timeout_ms: s.timeout_ms,
        template_file: None,
    }
}

#[test]
fn shared_suite() {
    suite::run(Proto::Smtp, |s| {
        Box::new(EmailNotifier::build(&cfg(s)).unwrap())
    });
}

#[test]
fn message_has_recipients_subject_and_both_parts() {
    let s = Setup {
        addr: "h:25".into(),
        secret: "pw",
        timeout_ms: 1000,
        send_resolved: true,
    };
    let n = EmailNotifier::build(&cfg(&s)).unwrap();
    let r = &n.render(&ctx(false)).unwrap()[0];
    assert_eq!(
        r.headers[1].1,
        "team@example.org, lead@example.org, cc@example.org"
    );
    assert!(r.body.contains("Subject: [FIRING:1] Suite"), "{}", r.body);
    assert!(r.body.contains("Content-Type: multipart/alternative"));
    assert!(r.body.contains("Content-Type: text/plain"));
    assert!(r.body.contains("Content-Type: text/html"));
    assert!(!r.body.contains("pw"));
}
