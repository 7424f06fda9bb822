//! Runtime values of the template evaluator, standing in for the Go types
//! Prometheus templates see (`float64`, `map[string]string`, `*sample`, ...),
//! with Go's truth rules and `fmt.Sprint` printing.

use std::collections::BTreeMap;
use std::rc::Rc;

use super::gofmt::format_float_v;

/// `map[string]string`, printed with sorted keys as Go does.
pub type StrMap = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A nil interface or missing value.
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// `html/template.HTML` (from `safeHtml`): a string that is not a `string`.
    Html(String),
    StrMap(Rc<StrMap>),
    /// `map[string]interface {}` (from `args`).
    AnyMap(Rc<BTreeMap<String, Value>>),
    Sample(Rc<Sample>),
    /// Prometheus's `queryResult` (`[]*sample`).
    Samples(Rc<Vec<Rc<Sample>>>),
    Time(Time),
    /// The data a rule template runs on.
    Data(Rc<Data>),
}

/// Prometheus's template `sample`: labels and a value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: StrMap,
    pub value: f64,
}

/// `struct { Labels; ExternalLabels; ExternalURL; Value }` of rules/alerting.go.
#[derive(Debug, Clone, PartialEq)]
pub struct Data {
    pub labels: Rc<StrMap>,
    pub external_labels: Rc<StrMap>,
    pub external_url: String,
    pub value: f64,
}

/// A UTC instant (what `toTime` returns), to nanosecond precision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Time {
    pub secs: i64,
    pub nanos: u32,
}

impl Time {
    /// Go's `time.Time.String()` in UTC: `2015-06-23 13:19:44.128 +0000 UTC`.
    pub fn go_string(&self) -> String {
        let mut s = self.format("%Y-%m-%d %H:%M:%S");
        if self.nanos > 0 {
            let frac = format!("{:09}", self.nanos);
            s.push('.');
            s.push_str(frac.trim_end_matches('0'));
        }
        s.push_str(" +0000 UTC");
        s
    }

    fn datetime(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        chrono::DateTime::from_timestamp(self.secs, self.nanos)
    }

    /// strftime-style formatting through chrono.
    pub fn format(&self, fmt: &str) -> String {
        match self.datetime() {
            Some(dt) => dt.format(fmt).to_string(),
            None => format!("{}s", self.secs),
        }
    }

    /// Go's `Time.Format` for the common layout elements.
    pub fn go_format(&self, layout: &str) -> String {
        // Longest elements first so "2006" wins over "2", "January" over "Jan".
        const ELEMS: [(&str, &str); 27] = [
            ("January", "%B"),
            ("Monday", "%A"),
            ("2006", "%Y"),
            ("-07:00", "+00:00"),
            ("Z07:00", "Z"),
            ("-0700", "+0000"),
            ("Z0700", "Z"),
            (".000000000", ".%9f"),
            (".000000", ".%6f"),
            (".000", ".%3f"),
            ("MST", "UTC"),
            ("Jan", "%b"),
            ("Mon", "%a"),
            ("002", "%j"),
            ("01", "%m"),
            ("02", "%d"),
            ("_2", "%e"),
            ("15", "%H"),
            ("03", "%I"),
            ("04", "%M"),
            ("05", "%S"),
            ("06", "%y"),
            ("PM", "%p"),
            ("pm", "%P"),
            ("1", "%-m"),
            ("2", "%-d"),
            ("3", "%-I"),
        ];
        let mut out = String::new();
        let mut rest = layout;
        'outer: while !rest.is_empty() {
            // Go's ".999..." trims trailing zeros of the fraction.
            if let Some(r) = rest.strip_prefix(".9") {
                let n = 1 + r.bytes().take_while(|b| *b == b'9').count();
                let frac = format!("{:09}", self.nanos);
                let frac = frac[..n].trim_end_matches('0');
                if !frac.is_empty() {
                    out.push('.');
                    out.push_str(frac);
                }
                rest = &rest[1 + n..];
                continue;
            }
            for (go, strf) in ELEMS {
                if let Some(r) = rest.strip_prefix(go) {
                    out.push_str(&self.format(strf));
                    rest = r;
                    continue 'outer;
                }
            }
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
        out
    }
}

impl Value {
    /// The Go type name, as it appears in Go's error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::Html(_) => "template.HTML",
            Value::StrMap(_) => "map[string]string",
            Value::AnyMap(_) => "map[string]interface {}",
            Value::Sample(_) => "*template.sample",
            Value::Samples(_) => "template.queryResult",
            Value::Time(_) => "*time.Time",
            Value::Data(_) => {
                "struct { Labels map[string]string; ExternalLabels map[string]string; \
                 ExternalURL string; Value interface {} }"
            }
        }
    }

    /// Go's template truth: false, 0, "", empty map or slice, nil are false.
    pub fn truth(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) | Value::Html(s) => !s.is_empty(),
            Value::StrMap(m) => !m.is_empty(),
            Value::AnyMap(m) => !m.is_empty(),
            Value::Samples(v) => !v.is_empty(),
            Value::Sample(_) | Value::Time(_) | Value::Data(_) => true,
        }
    }

    /// The string inside a `string` or `template.HTML`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) | Value::Html(s) => Some(s),
            _ => None,
        }
    }

    /// What `{{ x }}` prints (text/template's printValue: pointers are
    /// dereferenced first, a missing value is "<no value>").
    pub fn print(&self) -> String {
        match self {
            Value::Nil => "<no value>".into(),
            Value::Sample(s) => sample_struct(s),
            other => other.sprint(),
        }
    }

    /// `fmt.Sprint(x)` / `%v`.
    pub fn sprint(&self) -> String {
        match self {
            Value::Nil => "<nil>".into(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => format_float_v(*f),
            Value::Str(s) | Value::Html(s) => s.clone(),
            Value::StrMap(m) => go_map(m.iter().map(|(k, v)| (k.as_str(), v.clone()))),
            Value::AnyMap(m) => go_map(m.iter().map(|(k, v)| (k.as_str(), v.sprint()))),
            Value::Sample(s) => format!("&{}", sample_struct(s)),
            Value::Samples(v) => {
                let items: Vec<String> =
                    v.iter().map(|s| format!("&{}", sample_struct(s))).collect();
                format!("[{}]", items.join(" "))
            }
            Value::Time(t) => t.go_string(),
            Value::Data(d) => format!(
                "{{{} {} {} {}}}",
                go_map(d.labels.iter().map(|(k, v)| (k.as_str(), v.clone()))),
                go_map(
                    d.external_labels
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.clone()))
                ),
                d.external_url,
                format_float_v(d.value)
            ),
        }
    }
}

fn go_map<'a>(entries: impl Iterator<Item = (&'a str, String)>) -> String {
    let parts: Vec<String> = entries.map(|(k, v)| format!("{k}:{v}")).collect();
    format!("map[{}]", parts.join(" "))
}

fn sample_struct(s: &Sample) -> String {
    format!(
        "{{{} {}}}",
        go_map(s.labels.iter().map(|(k, v)| (k.as_str(), v.clone()))),
        format_float_v(s.value)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_time_string() {
        // Confirmed with promtool 3.5.3: humanizeTimestamp 1435065584.128.
        let t = Time {
            secs: 1435065584,
            nanos: 128_000_000,
        };
        assert_eq!(t.go_string(), "2015-06-23 13:19:44.128 +0000 UTC");
        assert_eq!(
            t.go_format("2006-01-02T15:04:05Z07:00"),
            "2015-06-23T13:19:44Z"
        );
        assert_eq!(t.go_format("Jan _2 15:04:05.000"), "Jun 23 13:19:44.128");
        assert_eq!(t.go_format("3:04PM .999999"), "1:19PM .128");
    }

    #[test]
    fn printing_maps_and_samples() {
        let m: StrMap = [
            ("b".to_string(), "2".to_string()),
            ("a".to_string(), "1".to_string()),
        ]
        .into();
        assert_eq!(Value::StrMap(Rc::new(m.clone())).sprint(), "map[a:1 b:2]");
        let s = Value::Sample(Rc::new(Sample {
            labels: m,
            value: 1.5,
        }));
        assert_eq!(s.print(), "{map[a:1 b:2] 1.5}");
        assert_eq!(s.sprint(), "&{map[a:1 b:2] 1.5}");
        assert_eq!(Value::Nil.print(), "<no value>");
    }

    #[test]
    fn truth() {
        assert!(!Value::Float(0.0).truth());
        assert!(Value::Float(f64::NAN).truth());
        assert!(!Value::Str(String::new()).truth());
        assert!(!Value::Samples(Rc::new(vec![])).truth());
    }
}
