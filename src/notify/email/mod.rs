//! Email over SMTP with lettre: STARTTLS (`require_tls`) or implicit TLS
//! (port 465 or `force_implicit_tls`), optional auth, From/To/Cc, a
//! templated subject and text/plain + text/html parts.

pub mod config;
pub mod payload;
#[cfg(test)]
mod tests;

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{SmtpTransport, Transport};
use std::time::Duration;

use super::ctx::NotifyCtx;
use super::error::NotifyError;
use super::http::redact;
use super::notifier::{Delivery, Notifier, Rendered};
use super::template::TemplateSet;
use crate::routing::receivers::EmailConfig;

pub struct EmailNotifier {
    cfg: EmailConfig,
    templates: TemplateSet,
    host: String,
    port: u16,
}

impl EmailNotifier {
    pub fn build(cfg: &EmailConfig) -> Result<Self, NotifyError> {
        let (host, port) = config::split_host_port(&cfg.smarthost)?;
        Ok(EmailNotifier {
            templates: config::templates(cfg)?,
            cfg: cfg.clone(),
            host,
            port,
        })
    }

    fn transport(&self) -> Result<(SmtpTransport, Vec<String>), NotifyError> {
        let mut b = SmtpTransport::builder_dangerous(self.host.as_str())
            .port(self.port)
            .timeout(Some(Duration::from_millis(
                self.cfg.timeout_ms.max(1) as u64
            )))
            .hello_name(ClientId::Domain(self.cfg.hello.clone()));
        let tls = || {
            TlsParameters::new(self.host.clone())
                .map_err(|e| NotifyError::Invalid(format!("TLS: {e}")))
        };
        b = if self.port == 465 || self.cfg.force_implicit_tls {
            b.tls(Tls::Wrapper(tls()?))
        } else if self.cfg.require_tls {
            b.tls(Tls::Required(tls()?))
        } else {
            b.tls(Tls::None)
        };
        let mut secrets = Vec::new();
        if let (Some(user), Some(pw)) = (&self.cfg.auth_username, &self.cfg.auth_password) {
            let pw = pw.resolve()?;
            secrets.push(pw.expose().to_string());
            b = b.credentials(Credentials::new(user.clone(), pw.expose().to_string()));
        }
        Ok((b.build(), secrets))
    }
}

impl Notifier for EmailNotifier {
    fn kind(&self) -> &'static str {
        "email"
    }

    fn send_resolved(&self) -> bool {
        self.cfg.send_resolved
    }

    fn timeout_ms(&self) -> i64 {
        self.cfg.timeout_ms
    }

    fn render(&self, ctx: &NotifyCtx) -> Result<Vec<Rendered>, NotifyError> {
        let m = payload::message(&self.cfg, &self.templates, ctx)?;
        Ok(vec![Rendered {
            target: format!("SMTP {}", self.cfg.smarthost),
            headers: vec![
                (
                    "MAIL FROM".into(),
                    m.envelope()
                        .from()
                        .map(|a| a.to_string())
                        .unwrap_or_default(),
                ),
                (
                    "RCPT TO".into(),
                    m.envelope()
                        .to()
                        .iter()
                        .map(|a| a.to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
            ],
            body: String::from_utf8_lossy(&m.formatted()).into_owned(),
        }])
    }

    fn notify(&self, ctx: &NotifyCtx) -> Result<Delivery, NotifyError> {
        let m = payload::message(&self.cfg, &self.templates, ctx)?;
        let (t, secrets) = self.transport()?;
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        match t.send(&m) {
            Ok(r) => Ok(Delivery {
                status: r.code().to_string().parse().ok(),
            }),
            Err(e) => Err(config::smtp_error(&e, self.cfg.timeout_ms, &secrets)),
        }
    }
}

/// Removes secrets from an SMTP error text.
fn clean(msg: &str, secrets: &[&str]) -> String {
    redact(msg, "", secrets)
}
