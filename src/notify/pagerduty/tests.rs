//! PagerDuty: the shared suite, plus the Events API v2 shape.

use super::super::suite::{self, ctx, Proto, Setup};
use super::*;
use crate::routing::receivers::{Secret, SecretSource};
use std::collections::BTreeMap;

fn cfg(s: &Setup) -> PagerdutyConfig {
    PagerdutyConfig {
        send_resolved: s.send_resolved,
        routing_key: Some(SecretSource::Inline(Secret::new(s.secret))),
        service_key: None,
        url: format!("http://{}/v2/enqueue", s.addr),
        client: None,
        client_url: None,
        description: None,
        severity: None,
        details: BTreeMap::new(),
        source: None,
        class: None,
        component: None,
        group: None,
        links: vec![(
            "http://runbook/{{groupLabels.alertname}}".into(),
            "Runbook".into(),
        )],
        timeout_ms: s.timeout_ms,
        template_file: None,
    }
}

#[test]
fn shared_suite() {
    suite::run(Proto::Http, |s| {
        Box::new(PagerdutyNotifier::build(&cfg(s)).unwrap())
    });
}

#[test]
fn trigger_and_resolve_share_the_dedup_key() {
    let s = Setup {
        addr: "x".into(),
        secret: "key",
        timeout_ms: 1000,
        send_resolved: true,
    };
    let c = cfg(&s);
    let t = config::templates(&c).unwrap();
    let trig = payload::event(&c, &t, &ctx(false), "key").unwrap();
    let res = payload::event(&c, &t, &ctx(true), "key").unwrap();
    assert_eq!(
        (trig.event_action, res.event_action),
        ("trigger", "resolve")
    );
    assert_eq!(trig.dedup_key, res.dedup_key);
    assert!(trig.dedup_key.len() <= config::DEDUP_KEY_MAX);
    let p = trig.payload.unwrap();
    assert_eq!(p.severity, "critical");
    assert_eq!(p.custom_details["alerts"][0]["tenant_id"], "t1");
    assert_eq!(trig.links[0].href, "http://runbook/Suite");
    assert!(res.payload.is_none());
}

#[test]
fn summary_is_cut_to_1024_characters() {
    let s = Setup {
        addr: "x".into(),
        secret: "key",
        timeout_ms: 1000,
        send_resolved: true,
    };
    let mut c = cfg(&s);
    c.description = Some(format!("{}{{{{status}}}}", "x".repeat(2000)));
    let t = config::templates(&c).unwrap();
    let p = payload::event(&c, &t, &ctx(false), "key")
        .unwrap()
        .payload
        .unwrap();
    assert_eq!(p.summary.chars().count(), 1024);
}
