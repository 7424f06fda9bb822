//! The `stdout` receiver: one JSON object per alert on standard output,
//! with runbook 000's alert fields (`tenant_id`, `trace_id`, `metric`,
//! `threshold`, `value`, `severity`, `text`), for cron logs and pipes
//! (`alertgate check --notify ... | jq`). A notification's lines are
//! written with one call under the stdout lock, so they never interleave.

pub mod config;
pub mod payload;
#[cfg(test)]
mod tests;

use std::io::Write;
use std::sync::{Arc, Mutex};

use super::ctx::NotifyCtx;
use super::error::NotifyError;
use super::notifier::{Delivery, Notifier, Rendered};
use crate::routing::receivers::StdoutConfig;

/// Where the lines go: the process's stdout, or a buffer in tests.
type Sink = Arc<Mutex<Vec<u8>>>;

pub struct StdoutNotifier {
    cfg: StdoutConfig,
    capture: Option<Sink>,
}

impl StdoutNotifier {
    pub fn build(cfg: &StdoutConfig) -> Result<Self, NotifyError> {
        Ok(StdoutNotifier {
            cfg: cfg.clone(),
            capture: None,
        })
    }

    /// Writes into `buf` instead of stdout (tests).
    pub fn capturing(cfg: &StdoutConfig, buf: Sink) -> Self {
        StdoutNotifier {
            cfg: cfg.clone(),
            capture: Some(buf),
        }
    }
}

impl Notifier for StdoutNotifier {
    fn kind(&self) -> &'static str {
        "stdout"
    }

    fn send_resolved(&self) -> bool {
        self.cfg.send_resolved
    }

    fn timeout_ms(&self) -> i64 {
        config::TIMEOUT_MS
    }

    fn render(&self, ctx: &NotifyCtx) -> Result<Vec<Rendered>, NotifyError> {
        Ok(vec![Rendered {
            target: "STDOUT".into(),
            headers: Vec::new(),
            body: payload::json_lines(ctx)?,
        }])
    }

    fn notify(&self, ctx: &NotifyCtx) -> Result<Delivery, NotifyError> {
        let body = payload::json_lines(ctx)?;
        match &self.capture {
            Some(buf) => buf
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend_from_slice(body.as_bytes()),
            None => {
                let mut out = std::io::stdout().lock();
                out.write_all(body.as_bytes())
                    .and_then(|_| out.flush())
                    .map_err(|e| NotifyError::Transport(format!("stdout: {}", e.kind())))?;
            }
        }
        Ok(Delivery { status: None })
    }
}
