//! One lint finding and the three ways to print a list of them: text
//! (`file:line:col: severity: check: message`), JSON and GitHub workflow
//! annotations.
//!
//! The JSON document is stable (`version` changes if a field is removed or
//! changes meaning; new fields may be added):
//!
//! ```json
//! {
//!   "version": 1,
//!   "errors": 1,
//!   "warnings": 0,
//!   "problems": [
//!     {"file": "rules/a.yml", "line": 7, "column": 15, "severity": "error",
//!      "check": "promql/impossible-comparison", "message": "..."}
//!   ]
//! }
//! ```
//!
//! `line` and `column` are 1-based, or `null` when the problem has no
//! position (a missing file, a datasource answer).

use crate::yaml::Pos;
use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Fails `lint` (exit 1).
    Error,
    /// Printed; fails only with `--strict`.
    Warning,
}

impl Severity {
    pub fn as_str(&self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One problem, with a stable check name such as `alerts/absent-without-for`.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub file: String,
    pub pos: Option<Pos>,
    pub severity: Severity,
    pub check: String,
    /// One line.
    pub message: String,
}

impl Finding {
    pub fn new(
        file: &str,
        pos: Option<Pos>,
        severity: Severity,
        check: impl Into<String>,
        message: impl Into<String>,
    ) -> Finding {
        let message = message
            .into()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        Finding {
            file: file.to_string(),
            pos,
            severity,
            check: check.into(),
            message,
        }
    }

    pub fn error(file: &str, pos: Option<Pos>, check: &str, message: impl Into<String>) -> Finding {
        Finding::new(file, pos, Severity::Error, check, message)
    }

    pub fn warning(
        file: &str,
        pos: Option<Pos>,
        check: &str,
        message: impl Into<String>,
    ) -> Finding {
        Finding::new(file, pos, Severity::Warning, check, message)
    }
}

/// `file:line:col: severity: check: message` (position left out when unknown).
impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pos {
            Some(p) => write!(f, "{}:{}:{}: ", self.file, p.line, p.col)?,
            None => write!(f, "{}: ", self.file)?,
        }
        write!(
            f,
            "{}: {}: {}",
            self.severity.as_str(),
            self.check,
            self.message
        )
    }
}

/// Sorts by file, then position (positionless first), then check name.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        let key = |x: &Finding| (x.pos.map(|p| (p.line, p.col)),);
        (
            a.file.as_str(),
            key(a),
            a.check.as_str(),
            a.message.as_str(),
        )
            .cmp(&(
                b.file.as_str(),
                key(b),
                b.check.as_str(),
                b.message.as_str(),
            ))
    });
}

/// One finding per line.
pub fn render_text(findings: &[Finding]) -> String {
    findings.iter().map(|f| format!("{f}\n")).collect()
}

#[derive(Serialize)]
struct JsonDoc<'a> {
    version: u32,
    errors: usize,
    warnings: usize,
    problems: Vec<JsonProblem<'a>>,
}

#[derive(Serialize)]
struct JsonProblem<'a> {
    file: &'a str,
    line: Option<usize>,
    column: Option<usize>,
    severity: Severity,
    check: &'a str,
    message: &'a str,
}

/// The stable JSON document described in the module docs.
pub fn render_json(findings: &[Finding]) -> String {
    let doc = JsonDoc {
        version: 1,
        errors: count(findings, Severity::Error),
        warnings: count(findings, Severity::Warning),
        problems: findings
            .iter()
            .map(|f| JsonProblem {
                file: &f.file,
                line: f.pos.map(|p| p.line),
                column: f.pos.map(|p| p.col),
                severity: f.severity,
                check: &f.check,
                message: &f.message,
            })
            .collect(),
    };
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

/// GitHub Actions workflow commands (`::error file=...,line=...,col=...::msg`),
/// one per finding and titled by check, through the shared annotation
/// format. Unlike `check`'s report there is no summary line: the counts go
/// to stderr.
pub fn render_github(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| {
            crate::report::github::Annotation {
                level: f.severity.as_str(),
                file: Some(&f.file),
                line: f.pos.map(|p| p.line),
                col: f.pos.map(|p| p.col),
                title: &f.check,
                message: &f.message,
            }
            .render()
        })
        .collect()
}

pub fn count(findings: &[Finding], sev: Severity) -> usize {
    findings.iter().filter(|f| f.severity == sev).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Finding> {
        vec![
            Finding::error(
                "r.yml",
                Some(Pos { line: 3, col: 9 }),
                "alerts/value-in-label",
                "label \"v\" uses $value",
            ),
            Finding::warning("a,b:c.yml", None, "rules/record-name", "50% off\nnext"),
        ]
    }

    #[test]
    fn text_is_one_line_each() {
        assert_eq!(
            render_text(&sample()),
            "r.yml:3:9: error: alerts/value-in-label: label \"v\" uses $value\na,b:c.yml: warning: rules/record-name: 50% off next\n"
        );
    }

    #[test]
    fn github_annotations_are_escaped() {
        let mut f = sample();
        f[1].message = "50% off\nnext".into();
        assert_eq!(
            render_github(&f),
            "::error file=r.yml,line=3,col=9,title=alerts/value-in-label::label \"v\" uses $value\n::warning file=a%2Cb%3Ac.yml,title=rules/record-name::50%25 off%0Anext\n"
        );
    }

    #[test]
    fn json_has_the_documented_shape() {
        let v: serde_json::Value = serde_json::from_str(&render_json(&sample())).unwrap();
        assert_eq!(v["version"], 1);
        assert_eq!(
            (v["errors"].as_u64(), v["warnings"].as_u64()),
            (Some(1), Some(1))
        );
        let p = &v["problems"][0];
        assert_eq!(p["line"], 3);
        assert_eq!(p["column"], 9);
        assert_eq!(p["severity"], "error");
        assert_eq!(p["check"], "alerts/value-in-label");
        assert!(v["problems"][1]["line"].is_null());
    }
}
