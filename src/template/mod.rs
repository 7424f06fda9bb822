//! The subset of Go text/template that Prometheus rule labels and
//! annotations use (`{{ $labels.x }}`, `{{ $value | humanize }}`, ...).
//!
//! Templates are parsed once at rule-load time ([`Template::parse`]) so bad
//! syntax, unknown functions and unsupported constructs (`define`,
//! `template`, `block`) are reported before any rule runs. Rendering
//! ([`Template::render`]) follows Go's exec rules and Prometheus's function
//! map (prometheus/prometheus: template/template.go, v3.5.3), including
//! the variables Prometheus predefines (`$labels`, `$value`,
//! `$externalLabels`, `$externalURL`).

mod builtins;
mod exec;
mod funcs;
mod gofmt;
mod lex;
mod parse;
mod promfuncs;
pub mod refs;
mod value;

#[cfg(test)]
mod promtool_cases;
#[cfg(test)]
mod tests;

use std::rc::Rc;

use crate::model::Labels;

pub use promfuncs::{
    humanize, humanize1024, humanize_duration, humanize_percentage, humanize_timestamp, title,
};
/// Prometheus's humanize functions, shared with the notification templates.
pub use refs::{template_refs, TemplateRefs};

/// Prometheus prepends this to every rule template (rules/alerting.go); Go
/// error positions on the first line count it, so we add its length when
/// writing Prometheus's message.
const PROMETHEUS_PRELUDE: &str =
    "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}";

/// A parse or render failure. Positions are 1-based line and column
/// (in characters) within the template text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TemplateError {
    #[error("{line}:{col}: {msg}")]
    Parse {
        line: usize,
        col: usize,
        msg: String,
    },
    #[error("{line}:{col}: executing at <{context}>: {msg}")]
    Exec {
        line: usize,
        col: usize,
        /// Byte offset within the line, as Go reports it (without the prelude).
        go_col: usize,
        context: String,
        msg: String,
    },
}

impl TemplateError {
    /// The message Prometheus logs and puts in `<error expanding template: ...>`
    /// for a rule named `alert_name`.
    pub fn prometheus_message(&self, alert_name: &str) -> String {
        let name = format!("__alert_{alert_name}");
        match self {
            TemplateError::Parse { line, msg, .. } => {
                format!("error parsing template {name}: template: {name}:{line}: {msg}")
            }
            TemplateError::Exec {
                line,
                go_col,
                context,
                msg,
                ..
            } => {
                let col = if *line == 1 {
                    go_col + PROMETHEUS_PRELUDE.len()
                } else {
                    *go_col
                };
                format!(
                    "error executing template {name}: template: {name}:{line}:{col}: executing \"{name}\" at <{context}>: {msg}"
                )
            }
        }
    }
}

/// Line, 1-based char column and Go's 0-based byte column of a byte offset.
fn position(src: &str, pos: usize) -> (usize, usize, usize) {
    let pos = pos.min(src.len());
    let before = &src[..pos];
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let line = 1 + before.matches('\n').count();
    let col = before[line_start..].chars().count() + 1;
    (line, col, pos - line_start)
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    src: String,
    nodes: Vec<parse::Node>,
}

impl Template {
    /// Parses once at rule-file load time; unknown functions, bad syntax and
    /// unsupported constructs are errors that say what and where.
    pub fn parse(src: &str) -> Result<Template, TemplateError> {
        match parse::parse(src) {
            Ok(nodes) => Ok(Template {
                src: src.to_string(),
                nodes,
            }),
            Err(e) => {
                let (line, col, _) = position(src, e.pos);
                Err(TemplateError::Parse {
                    line,
                    col,
                    msg: e.msg,
                })
            }
        }
    }

    /// Renders on `data`; `querier` serves the `query` function.
    pub fn render(
        &self,
        data: &TemplateData,
        querier: Option<&dyn TemplateQuerier>,
    ) -> Result<String, TemplateError> {
        if self.is_static() {
            return Ok(self.nodes_text());
        }
        let map = |l: &Labels| {
            Rc::new(
                l.iter()
                    .map(|l| (l.name.clone(), l.value.clone()))
                    .collect(),
            )
        };
        let d = Rc::new(value::Data {
            labels: map(&data.labels),
            external_labels: map(&data.external_labels),
            external_url: data.external_url.clone(),
            value: data.value,
        });
        exec::execute(&self.nodes, d, querier).map_err(|e| {
            let (line, col, go_col) = position(&self.src, e.pos);
            TemplateError::Exec {
                line,
                col,
                go_col,
                context: e.context,
                msg: e.msg,
            }
        })
    }

    /// True when the template has no actions at all (comments count as none).
    pub fn is_static(&self) -> bool {
        self.nodes.iter().all(|n| matches!(n, parse::Node::Text(_)))
    }

    /// The template text as written.
    pub fn source(&self) -> &str {
        &self.src
    }

    fn nodes_text(&self) -> String {
        self.nodes
            .iter()
            .map(|n| match n {
                parse::Node::Text(t) => t.as_str(),
                _ => "",
            })
            .collect()
    }
}

/// What a rule template sees: `.Labels`, `.Value`, `.ExternalLabels`, `.ExternalURL`.
#[derive(Debug, Clone, Default)]
pub struct TemplateData {
    pub labels: Labels,
    pub value: f64,
    pub external_labels: Labels,
    pub external_url: String,
}

/// Runs the `query` template function at the rule's evaluation time.
/// Called synchronously during [`Template::render`]; an `Err` becomes the
/// template's error ("error calling query: ...").
pub trait TemplateQuerier {
    fn query(&self, expr: &str) -> Result<Vec<QueryResult>, String>;
}

/// One sample of a `query` result.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    pub labels: Labels,
    pub value: f64,
}

/// Renders like Prometheus's alerting rule: on error, the text
/// `<error expanding template: ...>` so one bad annotation never fails a rule.
/// `alert_name` goes into the message as Prometheus's template name does.
pub fn expand_or_error_text(
    tmpl: &Template,
    alert_name: &str,
    data: &TemplateData,
    querier: Option<&dyn TemplateQuerier>,
) -> String {
    match tmpl.render(data, querier) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(alert = alert_name, err = %e, "Expanding alert template failed.");
            format!(
                "<error expanding template: {}>",
                e.prometheus_message(alert_name)
            )
        }
    }
}
