//! Slack incoming webhooks (or `chat.postMessage` with an app token): the
//! title as `text`, Block Kit blocks for the body, an attachment for the
//! colour bar, coloured by severity and status.

pub mod config;
pub mod payload;
#[cfg(test)]
mod tests;

use super::ctx::NotifyCtx;
use super::error::NotifyError;
use super::http::HttpSender;
use super::notifier::{Delivery, Notifier, Rendered};
use super::template::TemplateSet;
use crate::routing::receivers::SlackConfig;

pub struct SlackNotifier {
    cfg: SlackConfig,
    templates: TemplateSet,
    http: HttpSender,
}

impl SlackNotifier {
    /// Compiles the templates (reads `template_file`); no secret is read.
    pub fn build(cfg: &SlackConfig) -> Result<Self, NotifyError> {
        Ok(SlackNotifier {
            templates: config::templates(cfg)?,
            http: HttpSender::new(cfg.timeout_ms)?,
            cfg: cfg.clone(),
        })
    }

    fn message(&self, ctx: &NotifyCtx) -> Result<payload::SlackMessage, NotifyError> {
        let data = ctx.template_data();
        let title = self.templates.render("title", &data)?;
        let text = self.templates.render("text", &data)?;
        let color = match &self.cfg.color {
            Some(c) if !c.is_empty() => {
                super::template::render_inline(c, &data).map_err(NotifyError::Template)?
            }
            _ => config::color(ctx).to_string(),
        };
        Ok(payload::SlackMessage::new(
            &self.cfg, ctx, title, text, color,
        ))
    }
}

impl Notifier for SlackNotifier {
    fn kind(&self) -> &'static str {
        "slack"
    }

    fn send_resolved(&self) -> bool {
        self.cfg.send_resolved
    }

    fn timeout_ms(&self) -> i64 {
        self.cfg.timeout_ms
    }

    fn render(&self, ctx: &NotifyCtx) -> Result<Vec<Rendered>, NotifyError> {
        let msg = self.message(ctx)?;
        let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
        if self.cfg.app_token.is_some() {
            headers.push(("Authorization".into(), "Bearer <secret>".into()));
        }
        Ok(vec![Rendered {
            target: format!(
                "POST {}",
                if self.cfg.app_token.is_some() && self.cfg.api_url.is_none() {
                    config::POST_MESSAGE_URL
                } else {
                    "<secret>"
                }
            ),
            headers,
            body: serde_json::to_string_pretty(&msg).unwrap_or_default(),
        }])
    }

    fn notify(&self, ctx: &NotifyCtx) -> Result<Delivery, NotifyError> {
        let body = serde_json::to_vec(&self.message(ctx)?)
            .map_err(|e| NotifyError::Invalid(e.to_string()))?;
        match (&self.cfg.api_url, &self.cfg.app_token) {
            (Some(url), _) => {
                let url = url.resolve()?;
                self.http.post_json(url.expose(), &[], body, &[])
            }
            (None, Some(token)) => {
                let token = token.resolve()?;
                let auth = format!("Bearer {}", token.expose());
                self.http.post_json(
                    config::POST_MESSAGE_URL,
                    &[("Authorization".into(), auth)],
                    body,
                    &[token.expose()],
                )
            }
            (None, None) => Err(NotifyError::Invalid(
                "no Slack API URL nor app token".into(),
            )),
        }
    }
}
