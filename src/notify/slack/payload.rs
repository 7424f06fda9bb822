//! The JSON Slack's incoming webhooks and `chat.postMessage` accept.

use serde::Serialize;
use serde_json::{json, Value};

use super::config::{HEADER_MAX, SECTION_MAX};
use crate::notify::ctx::NotifyCtx;
use crate::routing::receivers::SlackConfig;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SlackMessage {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icon_emoji: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icon_url: Option<String>,
    /// Shown in notifications and where blocks cannot be.
    pub text: String,
    pub blocks: Vec<Value>,
    /// Carries the colour bar, which blocks cannot.
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Attachment {
    pub color: String,
    pub fallback: String,
    pub text: String,
    pub mrkdwn_in: Vec<&'static str>,
}

/// At most `n` characters, with an ellipsis when cut.
pub fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn nonempty(s: &Option<String>) -> Option<String> {
    s.clone().filter(|s| !s.is_empty())
}

impl SlackMessage {
    pub fn new(
        cfg: &SlackConfig,
        ctx: &NotifyCtx,
        title: String,
        text: String,
        color: String,
    ) -> Self {
        let title = if title.is_empty() {
            ctx.status().to_string()
        } else {
            title
        };
        let body = if text.is_empty() { title.clone() } else { text };
        let blocks = vec![
            json!({"type": "header", "text": {"type": "plain_text", "text": cut(&title, HEADER_MAX), "emoji": true}}),
            json!({"type": "section", "text": {"type": "mrkdwn", "text": cut(&body, SECTION_MAX)}}),
            json!({"type": "context", "elements": [
                {"type": "mrkdwn", "text": format!("{} firing, {} resolved · receiver `{}` · trace `{}`",
                    ctx.firing.len(), ctx.resolved.len(), ctx.receiver, ctx.trace_id)}
            ]}),
        ];
        SlackMessage {
            channel: nonempty(&cfg.channel),
            username: nonempty(&cfg.username),
            icon_emoji: nonempty(&cfg.icon_emoji),
            icon_url: nonempty(&cfg.icon_url),
            attachments: vec![Attachment {
                color,
                fallback: cut(&title, SECTION_MAX),
                text: format!("{} · {}", ctx.status(), ctx.group_labels),
                mrkdwn_in: vec!["text"],
            }],
            text: title,
            blocks,
        }
    }
}
