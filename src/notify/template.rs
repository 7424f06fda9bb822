//! Notification templates: handlebars files in `templates/`, one default per
//! receiver kind (compiled into the binary), overridable per integration
//! with `template_file:` or per part with the upstream text fields. A file
//! defines its parts as inline partials (`{{#*inline "title"}}…{{/inline}}`).
//! Templates are compiled and rendered once against sample data when the
//! config is built, so a broken template fails the load, not a page.
//!
//! Helpers: Prometheus's `humanize`, `humanize1024`, `humanizeDuration`,
//! `humanizePercentage`, `humanizeTimestamp`; `date`, `join`, `toUpper`,
//! `toLower`, `title`, `truncate`, `json`; plus handlebars's built-ins.

use handlebars::{handlebars_helper, no_escape, Handlebars};
use serde_json::Value;
use std::path::{Path, PathBuf};

use super::ctx::NotifyCtx;
use crate::model::Labels;
use crate::routing::Alert;
use crate::template as promfuncs;

pub const SLACK_DEFAULT: &str = include_str!("../../templates/slack.hbs");
pub const EMAIL_DEFAULT: &str = include_str!("../../templates/email.hbs");
pub const PAGERDUTY_DEFAULT: &str = include_str!("../../templates/pagerduty.hbs");

/// A template that does not compile or render; found at config build.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{source_name}: part {part:?}: {message}")]
pub struct TemplateError {
    /// The file, or `default <kind> template`, or the config field.
    pub source_name: String,
    pub part: String,
    pub message: String,
}

/// Where a part's text comes from.
#[derive(Debug, Clone)]
pub enum PartSource {
    /// `{{> part}}` of the kind's file (default or `template_file`).
    File,
    /// An inline handlebars string from the config (e.g. slack `title:`).
    Inline { field: String, text: String },
}

/// One part to compile: name, HTML escaping, source.
#[derive(Debug, Clone)]
pub struct Part {
    pub name: &'static str,
    pub html: bool,
    pub source: PartSource,
}

impl Part {
    pub fn file(name: &'static str, html: bool) -> Part {
        Part {
            name,
            html,
            source: PartSource::File,
        }
    }

    /// Uses the config field's text when set, else the file's part.
    pub fn or_inline(mut self, field: &str, text: Option<&String>) -> Part {
        if let Some(t) = text.filter(|t| !t.is_empty()) {
            self.source = PartSource::Inline {
                field: field.to_string(),
                text: t.clone(),
            };
        }
        self
    }
}

/// The compiled parts of one integration.
pub struct TemplateSet {
    plain: Handlebars<'static>,
    html: Handlebars<'static>,
    parts: Vec<Part>,
}

impl std::fmt::Debug for TemplateSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemplateSet")
            .field(
                "parts",
                &self.parts.iter().map(|p| p.name).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Reads `template_file` or returns the default; I/O happens at build.
pub fn load_source(
    default: &'static str,
    kind: &str,
    file: Option<&PathBuf>,
) -> Result<(String, String), TemplateError> {
    match file {
        None => Ok((format!("default {kind} template"), default.to_string())),
        Some(p) => std::fs::read_to_string(p)
            .map(|s| (p.display().to_string(), s))
            .map_err(|e| TemplateError {
                source_name: p.display().to_string(),
                part: String::new(),
                message: format!("cannot read template file: {e}"),
            }),
    }
}

impl TemplateSet {
    /// Compiles every part and renders it once against sample data.
    pub fn compile(
        source_name: &str,
        file_src: &str,
        parts: Vec<Part>,
    ) -> Result<Self, TemplateError> {
        let mut plain = registry();
        plain.register_escape_fn(no_escape);
        let mut html = registry();
        for p in &parts {
            let (name, src) = match &p.source {
                PartSource::File => (
                    source_name.to_string(),
                    format!("{file_src}{{{{> {}}}}}", p.name),
                ),
                PartSource::Inline { field, text } => {
                    (format!("config field {field}"), text.clone())
                }
            };
            let reg = if p.html { &mut html } else { &mut plain };
            // A template may not share its name with the partial it calls.
            reg.register_template_string(&reg_name(p.name), src)
                .map_err(|e| TemplateError {
                    source_name: name.clone(),
                    part: p.name.to_string(),
                    message: e.to_string(),
                })?;
        }
        let set = TemplateSet { plain, html, parts };
        let sample = sample_ctx().template_data();
        for p in &set.parts {
            set.render_part(p, &sample)
                .map_err(|message| TemplateError {
                    source_name: match &p.source {
                        PartSource::File => source_name.to_string(),
                        PartSource::Inline { field, .. } => format!("config field {field}"),
                    },
                    part: p.name.to_string(),
                    message,
                })?;
        }
        Ok(set)
    }

    fn render_part(&self, p: &Part, data: &Value) -> Result<String, String> {
        let reg = if p.html { &self.html } else { &self.plain };
        reg.render(&reg_name(p.name), data)
            .map(|s| s.trim().to_string())
            .map_err(|e| e.to_string())
    }

    /// Renders part `name` (trimmed).
    pub fn render(&self, name: &str, data: &Value) -> Result<String, super::NotifyError> {
        let p = self
            .parts
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| super::NotifyError::Template(format!("no part {name:?}")))?;
        self.render_part(p, data)
            .map_err(super::NotifyError::Template)
    }
}

fn reg_name(part: &str) -> String {
    format!("alertgate:{part}")
}

/// Renders one handlebars string with the helpers (email headers).
pub fn render_inline(text: &str, data: &Value) -> Result<String, String> {
    let mut r = registry();
    r.register_escape_fn(no_escape);
    r.render_template(text, data).map_err(|e| e.to_string())
}

/// A context with one firing alert that has every field templates use.
pub fn sample_ctx() -> NotifyCtx {
    let labels = Labels::from_pairs([
        ("alertname", "SampleAlert"),
        ("env", "production"),
        ("service", "api"),
        ("severity", "critical"),
        ("tenant_id", "tenant-1"),
        ("metric", "error_rate"),
        ("threshold", "0.01"),
    ]);
    let mut a = Alert::firing(labels.clone(), 1_700_000_000_000);
    for (k, v) in [
        ("summary", "Sample summary"),
        ("description", "Sample description"),
        ("value", "0.035"),
        ("threshold", "0.01"),
    ] {
        a.annotations.insert(k.into(), v.into());
    }
    a.generator_url = "http://alertgate.example/graph".into();
    NotifyCtx::new(
        "sample",
        "{}:{alertname=\"SampleAlert\"}",
        labels.keep(&["alertname".to_string()]),
        vec![a],
        vec![],
        1_700_000_060_000,
        "http://alertgate.example",
    )
}

fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => crate::alerting::serde_util::parse_float(s.trim()),
        _ => None,
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Formats a number with `f`, or passes a non-number through unchanged,
/// as Prometheus's humanize functions do with strings they cannot parse.
fn number_or(v: &Value, f: impl Fn(f64) -> String) -> String {
    num(v).map(f).unwrap_or_else(|| text(v))
}

/// RFC 3339 strings, or Unix seconds as numbers.
fn to_time(v: &Value) -> Option<chrono::DateTime<chrono::Utc>> {
    match v {
        Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|d| d.with_timezone(&chrono::Utc))
            .or_else(|| {
                num(v).and_then(|x| chrono::DateTime::from_timestamp_millis((x * 1000.0) as i64))
            }),
        Value::Number(n) => n
            .as_f64()
            .and_then(|x| chrono::DateTime::from_timestamp_millis((x * 1000.0) as i64)),
        _ => None,
    }
}

handlebars_helper!(humanize: |v: Json| number_or(v, promfuncs::humanize));
handlebars_helper!(humanize1024: |v: Json| number_or(v, promfuncs::humanize1024));
handlebars_helper!(humanize_duration: |v: Json| number_or(v, promfuncs::humanize_duration));
handlebars_helper!(humanize_percentage: |v: Json| number_or(v, promfuncs::humanize_percentage));
handlebars_helper!(humanize_timestamp: |v: Json| match num(v) {
    Some(x) => promfuncs::humanize_timestamp(x).unwrap_or_else(|_| text(v)),
    None => text(v),
});
handlebars_helper!(date: |v: Json, {format: str = "%Y-%m-%d %H:%M:%S UTC"}| match to_time(v) {
    Some(t) => t.format(format).to_string(),
    None => text(v),
});
handlebars_helper!(join: |v: Json, sep: str| match v {
    Value::Array(a) => a.iter().map(text).collect::<Vec<_>>().join(sep),
    Value::Object(m) => m.iter().map(|(k, x)| format!("{k}={}", text(x))).collect::<Vec<_>>().join(sep),
    other => text(other),
});
handlebars_helper!(to_upper: |s: Json| text(s).to_uppercase());
handlebars_helper!(to_lower: |s: Json| text(s).to_lowercase());
handlebars_helper!(title_case: |s: Json| promfuncs::title(&text(s)));
handlebars_helper!(truncate: |s: Json, n: u64| {
    let s = text(s);
    match s.char_indices().nth(n as usize) {
        Some((i, _)) => s[..i].to_string(),
        None => s,
    }
});
handlebars_helper!(to_json: |v: Json| v.to_string());

fn registry() -> Handlebars<'static> {
    let mut r = Handlebars::new();
    r.register_helper("humanize", Box::new(humanize));
    r.register_helper("humanize1024", Box::new(humanize1024));
    r.register_helper("humanizeDuration", Box::new(humanize_duration));
    r.register_helper("humanizePercentage", Box::new(humanize_percentage));
    r.register_helper("humanizeTimestamp", Box::new(humanize_timestamp));
    r.register_helper("date", Box::new(date));
    r.register_helper("join", Box::new(join));
    r.register_helper("toUpper", Box::new(to_upper));
    r.register_helper("toLower", Box::new(to_lower));
    r.register_helper("title", Box::new(title_case));
    r.register_helper("truncate", Box::new(truncate));
    r.register_helper("json", Box::new(to_json));
    r
}

/// The parts each templated kind defines, for `template_file` authors.
pub fn kind_parts(kind: &str) -> &'static [&'static str] {
    match kind {
        "slack" => &["title", "text"],
        "email" => &["subject", "text", "html"],
        "pagerduty" => &["summary"],
        _ => &[],
    }
}

/// True when `p` exists; used by tests and `template render`.
pub fn exists(p: &Path) -> bool {
    p.is_file()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(src: &str) -> String {
        render_inline(src, &json!({"v": 0.035, "s": "1234.5", "t": "2025-03-04T09:10:00Z", "l": {"a": "1", "b": "2"}, "xs": ["x", "y"]})).unwrap()
    }

    #[test]
    fn helpers_follow_prometheus() {
        assert_eq!(render("{{humanizePercentage v}}"), "3.5%");
        assert_eq!(render("{{humanize s}}"), "1.234k");
        assert_eq!(render("{{humanizeDuration 90}}"), "1m 30s");
        assert_eq!(render("{{date t}}"), "2025-03-04 09:10:00 UTC");
        assert_eq!(render("{{date t format=\"%H:%M\"}}"), "09:10");
        assert_eq!(
            render("{{join l \", \"}}|{{join xs \"-\"}}"),
            "a=1, b=2|x-y"
        );
        assert_eq!(
            render("{{toUpper \"firing\"}} {{truncate \"abcdef\" 3}}"),
            "FIRING abc"
        );
        assert_eq!(render("{{json l}}"), r#"{"a":"1","b":"2"}"#);
        // Not a number: passed through.
        assert_eq!(render("{{humanize \"n/a\"}}"), "n/a");
    }

    #[test]
    fn defaults_compile_and_render() {
        let data = sample_ctx().template_data();
        for (kind, src) in [
            ("slack", SLACK_DEFAULT),
            ("email", EMAIL_DEFAULT),
            ("pagerduty", PAGERDUTY_DEFAULT),
        ] {
            let parts = kind_parts(kind)
                .iter()
                .map(|p| Part::file(p, *p == "html"))
                .collect();
            let set = TemplateSet::compile(kind, src, parts).unwrap();
            for p in kind_parts(kind) {
                let out = set.render(p, &data).unwrap();
                assert!(out.contains("SampleAlert"), "{kind}/{p}: {out}");
            }
        }
    }

    #[test]
    fn broken_templates_fail_at_compile() {
        // Syntax error.
        let e = TemplateSet::compile("f.hbs", "{{#if x}}", vec![Part::file("title", false)])
            .unwrap_err();
        assert_eq!(e.part, "title");
        // Missing part: found by the dry run.
        let e = TemplateSet::compile(
            "f.hbs",
            "{{#*inline \"text\"}}x{{/inline}}",
            vec![Part::file("title", false)],
        )
        .unwrap_err();
        assert!(e.message.to_lowercase().contains("partial"), "{e}");
        // Unknown helper with arguments.
        let e = TemplateSet::compile(
            "f.hbs",
            "",
            vec![Part::file("title", false)
                .or_inline("title", Some(&"{{nohelper status 1}}".to_string()))],
        )
        .unwrap_err();
        assert_eq!(e.source_name, "config field title");
    }

    #[test]
    fn html_part_is_escaped_plain_is_not() {
        let src = "{{#*inline \"h\"}}{{x}}{{/inline}}{{#*inline \"p\"}}{{x}}{{/inline}}";
        let set = TemplateSet::compile(
            "f",
            src,
            vec![Part::file("h", true), Part::file("p", false)],
        );
        // The dry run has no `x`; rendering empty is fine.
        let set = set.unwrap();
        let d = json!({"x": "<b>&"});
        assert_eq!(set.render("h", &d).unwrap(), "&lt;b&gt;&amp;");
        assert_eq!(set.render("p", &d).unwrap(), "<b>&");
    }
}
