//! Email settings beyond the routing config: template parts, the
//! smarthost split and SMTP error mapping.

use super::super::error::NotifyError;
use super::super::template::{load_source, Part, TemplateSet, EMAIL_DEFAULT};
use crate::routing::receivers::EmailConfig;

pub fn templates(cfg: &EmailConfig) -> Result<TemplateSet, NotifyError> {
    let (name, src) = load_source(EMAIL_DEFAULT, "email", cfg.template_file.as_ref())
        .map_err(|e| NotifyError::Template(e.to_string()))?;
    TemplateSet::compile(
        &name,
        &src,
        vec![
            Part::file("subject", false),
            Part::file("text", false).or_inline("text", cfg.text.as_ref()),
            Part::file("html", true).or_inline("html", cfg.html.as_ref()),
        ],
    )
    .map_err(|e| NotifyError::Template(e.to_string()))
}

/// `host:port`, `[v6]:port`.
pub fn split_host_port(s: &str) -> Result<(String, u16), NotifyError> {
    let (h, p) = s
        .rsplit_once(':')
        .ok_or_else(|| NotifyError::Invalid(format!("smarthost {s:?}: missing port")))?;
    let port = p
        .parse()
        .map_err(|_| NotifyError::Invalid(format!("smarthost {s:?}: bad port")))?;
    Ok((
        h.trim_start_matches('[').trim_end_matches(']').to_string(),
        port,
    ))
}

pub fn smtp_error(
    e: &lettre::transport::smtp::Error,
    timeout_ms: i64,
    secrets: &[&str],
) -> NotifyError {
    if e.is_timeout() {
        return NotifyError::Timeout { ms: timeout_ms };
    }
    let mut msg = e.to_string();
    let mut timed_out = false;
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        // A socket read timeout surfaces as WouldBlock (EAGAIN) on Unix.
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            timed_out |= matches!(
                io.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            );
        }
        src = s.source();
    }
    if timed_out {
        return NotifyError::Timeout { ms: timeout_ms };
    }
    let code = e.status().and_then(|c| c.to_string().parse().ok());
    let message = super::clean(&msg, secrets);
    if code.is_none() && (e.is_client() || e.is_response()) {
        return NotifyError::Smtp {
            code: None,
            message,
        };
    }
    match code {
        Some(_) => NotifyError::Smtp { code, message },
        None => NotifyError::Transport(message),
    }
}
