//! Slack settings beyond the routing config: template parts, colours and
//! the limits Slack documents for Block Kit.

use super::super::ctx::NotifyCtx;
use super::super::error::NotifyError;
use super::super::severity::Severity;
use super::super::template::{load_source, Part, TemplateSet, SLACK_DEFAULT};
use crate::routing::receivers::SlackConfig;

/// Where app tokens post (upstream's `app_url` default).
pub const POST_MESSAGE_URL: &str = "https://slack.com/api/chat.postMessage";
/// `header` block text: plain_text, at most 150 characters.
pub const HEADER_MAX: usize = 150;
/// `section` block text: at most 3000 characters.
pub const SECTION_MAX: usize = 3000;

pub fn templates(cfg: &SlackConfig) -> Result<TemplateSet, NotifyError> {
    let (name, src) = load_source(SLACK_DEFAULT, "slack", cfg.template_file.as_ref())
        .map_err(|e| NotifyError::Template(e.to_string()))?;
    TemplateSet::compile(
        &name,
        &src,
        vec![
            Part::file("title", false).or_inline("title", cfg.title.as_ref()),
            Part::file("text", false).or_inline("text", cfg.text.as_ref()),
        ],
    )
    .map_err(|e| NotifyError::Template(e.to_string()))
}

/// Green when resolved; red, orange or blue by the highest firing severity.
pub fn color(ctx: &NotifyCtx) -> &'static str {
    if ctx.firing.is_empty() {
        return "#2eb886";
    }
    match Severity::of(ctx) {
        Some(Severity::Critical) | Some(Severity::Error) => "#a30200",
        Some(Severity::Warning) => "#daa038",
        Some(Severity::Info) => "#439fe0",
        None => "#a30200",
    }
}
