//! PagerDuty settings beyond the routing config: template parts, the
//! severity choice and the field limits of Events API v2.

use super::super::ctx::NotifyCtx;
use super::super::error::NotifyError;
use super::super::severity::Severity;
use super::super::template::{load_source, render_inline, Part, TemplateSet, PAGERDUTY_DEFAULT};
use crate::routing::receivers::PagerdutyConfig;
use serde_json::Value;

/// `payload.summary` is limited to 1024 characters.
pub const SUMMARY_MAX: usize = 1024;
/// `dedup_key` is limited to 255 characters (ours is 64 hex digits).
pub const DEDUP_KEY_MAX: usize = 255;

pub fn templates(cfg: &PagerdutyConfig) -> Result<TemplateSet, NotifyError> {
    let (name, src) = load_source(PAGERDUTY_DEFAULT, "pagerduty", cfg.template_file.as_ref())
        .map_err(|e| NotifyError::Template(e.to_string()))?;
    TemplateSet::compile(
        &name,
        &src,
        vec![Part::file("summary", false).or_inline("description", cfg.description.as_ref())],
    )
    .map_err(|e| NotifyError::Template(e.to_string()))
}

/// The configured `severity` (rendered, then mapped like a label value),
/// else the highest severity label of the alerts, else upstream's `error`.
pub fn severity(
    cfg: &PagerdutyConfig,
    ctx: &NotifyCtx,
    data: &Value,
) -> Result<Severity, NotifyError> {
    if let Some(s) = cfg.severity.as_ref().filter(|s| !s.is_empty()) {
        let s = render_inline(s, data).map_err(NotifyError::Template)?;
        if let Some(v) = Severity::from_label(&s) {
            return Ok(v);
        }
    }
    Ok(Severity::of(ctx).unwrap_or(Severity::Error))
}
