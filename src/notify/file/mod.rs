//! The `file` receiver: appends one JSON line per alert (the `stdout`
//! receiver's lines) to a file, for cron jobs and log shippers. The file is
//! created if missing (mode 0600 on Unix: alert texts may be internal);
//! the parent directory must exist. A notification's lines are written with
//! one `write` on a file opened for appending, so concurrent writers (two
//! cron runs) do not interleave lines.

pub mod config;
pub mod payload;
#[cfg(test)]
mod tests;

use std::io::Write;

use super::ctx::NotifyCtx;
use super::error::NotifyError;
use super::notifier::{Delivery, Notifier, Rendered};
use crate::routing::receivers::FileConfig;

pub struct FileNotifier {
    cfg: FileConfig,
}

impl FileNotifier {
    pub fn build(cfg: &FileConfig) -> Result<Self, NotifyError> {
        Ok(FileNotifier { cfg: cfg.clone() })
    }
}

impl Notifier for FileNotifier {
    fn kind(&self) -> &'static str {
        "file"
    }

    fn send_resolved(&self) -> bool {
        self.cfg.send_resolved
    }

    fn timeout_ms(&self) -> i64 {
        config::TIMEOUT_MS
    }

    fn render(&self, ctx: &NotifyCtx) -> Result<Vec<Rendered>, NotifyError> {
        Ok(vec![Rendered {
            target: format!("APPEND {}", self.cfg.path.display()),
            headers: Vec::new(),
            body: payload::json_lines(ctx)?,
        }])
    }

    fn notify(&self, ctx: &NotifyCtx) -> Result<Delivery, NotifyError> {
        let body = payload::json_lines(ctx)?;
        let mut f = config::open_append(&self.cfg.path).map_err(|e| {
            NotifyError::Transport(format!(
                "cannot open {}: {}",
                self.cfg.path.display(),
                e.kind()
            ))
        })?;
        f.write_all(body.as_bytes())
            .and_then(|_| f.flush())
            .map_err(|e| {
                NotifyError::Transport(format!(
                    "cannot write {}: {}",
                    self.cfg.path.display(),
                    e.kind()
                ))
            })?;
        Ok(Delivery { status: None })
    }
}
