//! One severity scale for colours (Slack) and PagerDuty's four levels,
//! read from the alerts' `severity` label. The runbooks use both words
//! (`critical`, `warning`) and priorities (P1 critical, P2 warning, P3
//! info, as rules/golive.yml defines them).

use super::ctx::NotifyCtx;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Warning,
    Error,
    Critical,
}

impl Severity {
    /// PagerDuty Events API v2 `payload.severity`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }

    /// Maps a `severity` label value; None for values we do not know.
    pub fn from_label(v: &str) -> Option<Severity> {
        Some(match v.trim().to_ascii_lowercase().as_str() {
            "critical" | "crit" | "page" | "p1" | "fatal" | "emergency" => Severity::Critical,
            "error" | "err" | "high" | "major" => Severity::Error,
            "warning" | "warn" | "p2" | "medium" | "minor" => Severity::Warning,
            "info" | "informational" | "p3" | "p4" | "p5" | "low" | "none" => Severity::Info,
            _ => return None,
        })
    }

    /// The highest known severity of the firing alerts (all alerts when
    /// none fires).
    pub fn of(ctx: &NotifyCtx) -> Option<Severity> {
        let pool: Vec<_> = if ctx.firing.is_empty() {
            ctx.resolved.iter().collect()
        } else {
            ctx.firing.iter().collect()
        };
        pool.iter()
            .filter_map(|a| a.labels.get("severity").and_then(Severity::from_label))
            .max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runbook_levels() {
        assert_eq!(Severity::from_label("P1"), Some(Severity::Critical));
        assert_eq!(Severity::from_label("P2"), Some(Severity::Warning));
        assert_eq!(Severity::from_label("P3"), Some(Severity::Info));
        assert_eq!(Severity::from_label("critical"), Some(Severity::Critical));
        assert_eq!(Severity::from_label("error"), Some(Severity::Error));
        assert_eq!(Severity::from_label("bogus"), None);
    }
}
