//! Why a send failed, and whether trying again can help. The retry decision
//! belongs to the error and comes from one status-code table, as upstream's
//! `Retrier.Check` (prometheus/alertmanager: notify/util.go).

use crate::routing::receivers::SecretError;

/// A failed send. Messages never carry a URL, payload or secret.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The server answered with a status outside 2xx; `retry_after_ms` is
    /// its `Retry-After` (a 429 or 503 asking to come back later).
    #[error("unexpected status code {code}")]
    Status {
        code: u16,
        retry_after_ms: Option<i64>,
    },
    #[error("request timed out after {ms}ms")]
    Timeout { ms: i64 },
    /// Connection refused, reset, DNS, TLS: the request may not have arrived.
    #[error("transport error: {0}")]
    Transport(String),
    /// The SMTP server rejected the message; `code` is the reply code.
    #[error("SMTP error{}: {message}", code.map(|c| format!(" {c}")).unwrap_or_default())]
    Smtp { code: Option<u16>, message: String },
    #[error("template error: {0}")]
    Template(String),
    #[error("{0}")]
    Secret(#[from] SecretError),
    /// The message could not be built (bad address, header).
    #[error("invalid message: {0}")]
    Invalid(String),
}

/// What a status code means for a retry. 408 and 429 ask to come back
/// later; other 4xx mean the request itself is wrong and will stay wrong.
pub fn status_is_retryable(code: u16) -> bool {
    matches!(code, 408 | 429 | 500..=599)
}

/// SMTP reply codes: 4yz are transient, 5yz permanent (RFC 5321 4.2.1).
pub fn smtp_is_retryable(code: u16) -> bool {
    (400..500).contains(&code)
}

impl NotifyError {
    pub fn is_retryable(&self) -> bool {
        match self {
            NotifyError::Status { code, .. } => status_is_retryable(*code),
            NotifyError::Timeout { .. } | NotifyError::Transport(_) => true,
            NotifyError::Smtp { code, .. } => code.is_none_or(smtp_is_retryable),
            NotifyError::Template(_) | NotifyError::Secret(_) | NotifyError::Invalid(_) => false,
        }
    }

    /// The HTTP or SMTP status code, when there was an answer.
    pub fn status_code(&self) -> Option<u16> {
        match self {
            NotifyError::Status { code, .. } => Some(*code),
            NotifyError::Smtp { code, .. } => *code,
            _ => None,
        }
    }

    /// How long the server asked us to wait (`Retry-After`), if it did.
    pub fn retry_after_ms(&self) -> Option<i64> {
        match self {
            NotifyError::Status { retry_after_ms, .. } => *retry_after_ms,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_table() {
        for c in [408, 429, 500, 502, 503, 504] {
            assert!(status_is_retryable(c), "{c}");
        }
        for c in [200, 204, 301, 400, 401, 403, 404, 413, 422] {
            assert!(!status_is_retryable(c), "{c}");
        }
        assert!(NotifyError::Timeout { ms: 1 }.is_retryable());
        assert!(!NotifyError::Template("x".into()).is_retryable());
        assert!(NotifyError::Smtp {
            code: Some(451),
            message: String::new()
        }
        .is_retryable());
        assert!(!NotifyError::Smtp {
            code: Some(550),
            message: String::new()
        }
        .is_retryable());
    }
}
