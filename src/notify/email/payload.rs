//! The MIME message: headers from the config (templated like upstream's),
//! subject from the template unless `headers.Subject` is set, and a
//! multipart/alternative body with text and HTML.

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailboxes, MultiPart};
use lettre::Message;

use super::super::ctx::NotifyCtx;
use super::super::error::NotifyError;
use super::super::template::{render_inline, TemplateSet};
use crate::routing::receivers::EmailConfig;

/// Headers set from dedicated fields; the rest of `headers` is added raw.
const OWN: [&str; 4] = ["From", "To", "Cc", "Subject"];

fn mailboxes(field: &str, v: &str) -> Result<Mailboxes, NotifyError> {
    v.parse::<Mailboxes>()
        .map_err(|e| NotifyError::Invalid(format!("{field}: {e}")))
}

pub fn message(
    cfg: &EmailConfig,
    t: &TemplateSet,
    ctx: &NotifyCtx,
) -> Result<Message, NotifyError> {
    let data = ctx.template_data();
    let header = |name: &str| -> Result<Option<String>, NotifyError> {
        cfg.headers
            .get(name)
            .map(|v| render_inline(v, &data).map_err(NotifyError::Template))
            .transpose()
    };
    let to =
        header("To")?.unwrap_or_else(|| render_inline(&cfg.to, &data).unwrap_or(cfg.to.clone()));
    let from = header("From")?.unwrap_or_else(|| cfg.from.clone());
    let subject = match header("Subject")? {
        Some(s) => s,
        None => t.render("subject", &data)?,
    };
    let mut b = Message::builder().subject(subject.replace(['\r', '\n'], " "));
    for m in mailboxes("from", &from)? {
        b = b.from(m);
    }
    for m in mailboxes("to", &to)? {
        b = b.to(m);
    }
    if let Some(cc) = header("Cc")? {
        for m in mailboxes("Cc", &cc)? {
            b = b.cc(m);
        }
    }
    for (k, v) in &cfg.headers {
        if OWN.contains(&k.as_str()) {
            continue;
        }
        let name = HeaderName::new_from_ascii(k.clone())
            .map_err(|e| NotifyError::Invalid(format!("header {k:?}: {e}")))?;
        let v = render_inline(v, &data).map_err(NotifyError::Template)?;
        b = b.raw_header(HeaderValue::new(name, v));
    }
    let trace = HeaderName::new_from_ascii_str("X-Alertgate-Trace-Id");
    b = b.raw_header(HeaderValue::new(trace, ctx.trace_id.clone()));
    let text = t.render("text", &data)?;
    let html = t.render("html", &data)?;
    b.multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| NotifyError::Invalid(e.to_string()))
}
