//! Slack: the shared suite, plus the message shape.

use super::super::suite::{self, ctx, Proto, Setup};
use super::*;
use crate::routing::receivers::{Secret, SecretSource};

fn cfg(s: &Setup) -> SlackConfig {
    SlackConfig {
        send_resolved: s.send_resolved,
        api_url: Some(SecretSource::Inline(Secret::new(format!(
            "http://{}/services/{}",
            s.addr, s.secret
        )))),
        app_token: None,
        channel: Some("#ops".into()),
        username: Some("alertgate".into()),
        title: None,
        text: None,
        color: None,
        icon_emoji: Some(":rotating_light:".into()),
        icon_url: None,
        timeout_ms: s.timeout_ms,
        template_file: None,
    }
}

#[test]
fn shared_suite() {
    suite::run(Proto::Http, |s| {
        Box::new(SlackNotifier::build(&cfg(s)).unwrap())
    });
}

#[test]
fn message_has_text_blocks_and_status_colour() {
    let s = Setup {
        addr: "x".into(),
        secret: "k",
        timeout_ms: 1000,
        send_resolved: true,
    };
    let n = SlackNotifier::build(&cfg(&s)).unwrap();
    let m = n.message(&ctx(false)).unwrap();
    assert_eq!(m.channel.as_deref(), Some("#ops"));
    assert!(m.text.starts_with("[FIRING:1] Suite"), "{}", m.text);
    assert_eq!(m.blocks[0]["type"], "header");
    assert!(m.blocks[1]["text"]["text"]
        .as_str()
        .unwrap()
        .contains("suite summary"));
    assert_eq!(m.attachments[0].color, "#a30200", "critical firing is red");
    let m = n.message(&ctx(true)).unwrap();
    assert!(m.text.starts_with("[RESOLVED]"), "{}", m.text);
    assert_eq!(m.attachments[0].color, "#2eb886", "resolved is green");
}
