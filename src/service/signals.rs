//! Signals: SIGTERM and SIGINT stop the service, SIGHUP reloads it.

use super::runtime::Runtime;
use std::sync::Arc;
use tokio::signal::unix::{signal, SignalKind};

/// Returns when SIGTERM or SIGINT arrives; reloads on every SIGHUP.
pub async fn wait_for_stop(rt: Arc<Runtime>) -> std::io::Result<&'static str> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    loop {
        tokio::select! {
            _ = term.recv() => return Ok("SIGTERM"),
            _ = int.recv() => return Ok("SIGINT"),
            _ = hup.recv() => {
                // The outcome is logged and shown by /readyz and metrics.
                let _ = super::reload::reload(&rt).await;
            }
        }
    }
}
