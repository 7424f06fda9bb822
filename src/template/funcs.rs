//! The function map: Go's builtins plus Prometheus's functions as of v3.5.3
//! (`toDuration`, `now` and `urlQueryEscape` came later and are rejected at
//! parse time, as `promtool check rules` 3.5 rejects them). Each function
//! declares its Go parameter types so argument errors read like Go's.

use std::collections::BTreeMap;
use std::rc::Rc;

use super::builtins;
use super::promfuncs as prom;
use super::value::{Data, Value};
use super::TemplateQuerier;

/// A Go parameter type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    /// `interface{}` / `reflect.Value`
    Any,
    /// `string`
    Str,
    /// `*template.sample`
    Sample,
    /// `template.queryResult`
    Samples,
}

impl Param {
    pub fn go_name(self) -> &'static str {
        match self {
            Param::Any => "interface {}",
            Param::Str => "string",
            Param::Sample => "*template.sample",
            Param::Samples => "template.queryResult",
        }
    }
}

/// A function's signature: fixed parameters, then an optional variadic one.
#[derive(Debug, Clone, Copy)]
pub struct Sig {
    pub fixed: &'static [Param],
    pub variadic: Option<Param>,
}

use Param::{Any, Sample, Samples, Str};

const fn sig(fixed: &'static [Param], variadic: Option<Param>) -> Sig {
    Sig { fixed, variadic }
}

/// Every function a rule template may call.
const FUNCS: &[(&str, Sig)] = &[
    // Go text/template builtins.
    ("and", sig(&[Any], Some(Any))),
    ("or", sig(&[Any], Some(Any))),
    ("not", sig(&[Any], None)),
    ("len", sig(&[Any], None)),
    ("index", sig(&[Any], Some(Any))),
    ("slice", sig(&[Any], Some(Any))),
    ("print", sig(&[], Some(Any))),
    ("printf", sig(&[Str], Some(Any))),
    ("println", sig(&[], Some(Any))),
    ("html", sig(&[], Some(Any))),
    ("js", sig(&[], Some(Any))),
    ("urlquery", sig(&[], Some(Any))),
    ("call", sig(&[Any], Some(Any))),
    ("eq", sig(&[Any], Some(Any))),
    ("ne", sig(&[Any, Any], None)),
    ("lt", sig(&[Any, Any], None)),
    ("le", sig(&[Any, Any], None)),
    ("gt", sig(&[Any, Any], None)),
    ("ge", sig(&[Any, Any], None)),
    // Prometheus (template/template.go).
    ("query", sig(&[Str], None)),
    ("first", sig(&[Samples], None)),
    ("label", sig(&[Str, Sample], None)),
    ("value", sig(&[Sample], None)),
    ("strvalue", sig(&[Sample], None)),
    ("args", sig(&[], Some(Any))),
    ("reReplaceAll", sig(&[Str, Str, Str], None)),
    ("safeHtml", sig(&[Str], None)),
    ("match", sig(&[Str, Str], None)),
    ("title", sig(&[Str], None)),
    ("toUpper", sig(&[Str], None)),
    ("toLower", sig(&[Str], None)),
    ("graphLink", sig(&[Str], None)),
    ("tableLink", sig(&[Str], None)),
    ("sortByLabel", sig(&[Str, Samples], None)),
    ("stripPort", sig(&[Str], None)),
    ("stripDomain", sig(&[Str], None)),
    ("humanize", sig(&[Any], None)),
    ("humanize1024", sig(&[Any], None)),
    ("humanizeDuration", sig(&[Any], None)),
    ("humanizePercentage", sig(&[Any], None)),
    ("humanizeTimestamp", sig(&[Any], None)),
    ("toTime", sig(&[Any], None)),
    ("pathPrefix", sig(&[], None)),
    ("externalURL", sig(&[], None)),
    ("parseDuration", sig(&[Str], None)),
];

pub fn is_function(name: &str) -> bool {
    signature(name).is_some()
}

pub fn signature(name: &str) -> Option<Sig> {
    FUNCS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// What functions can reach besides their arguments.
pub struct Env<'a> {
    pub data: &'a Data,
    pub querier: Option<&'a dyn TemplateQuerier>,
}

fn str_arg(v: &Value) -> &str {
    // Arguments were checked against the signature before the call.
    v.as_str().unwrap_or_default()
}

fn sample_arg(v: &Value) -> Result<&super::value::Sample, String> {
    match v {
        Value::Sample(s) => Ok(s),
        _ => Err("runtime error: invalid memory address or nil pointer dereference".into()),
    }
}

fn samples_arg(v: &Value) -> Vec<Rc<super::value::Sample>> {
    match v {
        Value::Samples(s) => s.as_ref().clone(),
        _ => Vec::new(),
    }
}

fn regex(pattern: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(pattern).map_err(|e| {
        let detail = e.to_string();
        let last = detail
            .lines()
            .last()
            .unwrap_or("")
            .trim()
            .trim_start_matches("error: ")
            .to_string();
        format!("error parsing regexp: {last}: `{pattern}`")
    })
}

/// Calls `name` (never `and`/`or`, which exec evaluates lazily) on
/// arguments already checked against its signature. `Err` is the message Go
/// would wrap as "error calling NAME: ...".
pub fn call(name: &str, args: &[Value], env: &Env) -> Result<Value, String> {
    let a = |i: usize| &args[i];
    let s = |i: usize| str_arg(&args[i]);
    Ok(match name {
        "not" => Value::Bool(!a(0).truth()),
        "len" => builtins::len(a(0))?,
        "index" => builtins::index(a(0), &args[1..])?,
        "slice" => builtins::slice(a(0), &args[1..])?,
        "print" => Value::Str(builtins::sprint(args)),
        "printf" => Value::Str(builtins::sprintf(s(0), &args[1..])),
        "println" => Value::Str(builtins::sprintln(args)),
        "html" => Value::Str(builtins::html(args)),
        "js" => Value::Str(builtins::js(args)),
        "urlquery" => Value::Str(builtins::urlquery(args)),
        "call" => {
            return Err(match a(0) {
                Value::Nil => "call of nil".into(),
                v => format!("non-function of type {}", v.type_name()),
            })
        }
        "eq" => Value::Bool(builtins::eq(a(0), &args[1..])?),
        "ne" => Value::Bool(!builtins::eq(a(0), &args[1..2])?),
        "lt" => Value::Bool(builtins::lt(a(0), a(1))?),
        "le" => Value::Bool(builtins::le(a(0), a(1))?),
        "gt" => Value::Bool(!builtins::le(a(0), a(1))?),
        "ge" => Value::Bool(!builtins::lt(a(0), a(1))?),
        "query" => {
            let q = env
                .querier
                .ok_or("no querier available to run the query function")?;
            let res = q.query(s(0))?;
            let samples = res
                .into_iter()
                .map(|r| {
                    Rc::new(super::value::Sample {
                        labels: r
                            .labels
                            .iter()
                            .map(|l| (l.name.clone(), l.value.clone()))
                            .collect(),
                        value: r.value,
                    })
                })
                .collect();
            Value::Samples(Rc::new(samples))
        }
        "first" => match samples_arg(a(0)).first() {
            Some(s) => Value::Sample(s.clone()),
            None => return Err("first() called on vector with no elements".into()),
        },
        "label" => Value::Str(
            sample_arg(a(1))?
                .labels
                .get(s(0))
                .cloned()
                .unwrap_or_default(),
        ),
        "value" => Value::Float(sample_arg(a(0))?.value),
        "strvalue" => Value::Str(
            sample_arg(a(0))?
                .labels
                .get("__value__")
                .cloned()
                .unwrap_or_default(),
        ),
        "args" => {
            let m: BTreeMap<String, Value> = args
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("arg{i}"), v.clone()))
                .collect();
            Value::AnyMap(Rc::new(m))
        }
        "reReplaceAll" => {
            let re = regex(s(0)).map_err(|e| format!("regexp: Compile(`{}`): {e}", s(0)))?;
            Value::Str(re.replace_all(s(2), s(1)).into_owned())
        }
        "safeHtml" => Value::Html(s(0).to_string()),
        "match" => Value::Bool(regex(s(0))?.is_match(s(1))),
        "title" => Value::Str(prom::title(s(0))),
        "toUpper" => Value::Str(prom::map_case(s(0), true)),
        "toLower" => Value::Str(prom::map_case(s(0), false)),
        "graphLink" => Value::Str(prom::graph_link(s(0))),
        "tableLink" => Value::Str(prom::table_link(s(0))),
        "sortByLabel" => {
            let mut v = samples_arg(a(1));
            let label = s(0);
            v.sort_by(|x, y| {
                let get =
                    |s: &super::value::Sample| s.labels.get(label).cloned().unwrap_or_default();
                get(x).cmp(&get(y))
            });
            Value::Samples(Rc::new(v))
        }
        "stripPort" => Value::Str(prom::strip_port(s(0))),
        "stripDomain" => Value::Str(prom::strip_domain(s(0))),
        "humanize" => Value::Str(prom::humanize(prom::to_float(a(0))?)),
        "humanize1024" => Value::Str(prom::humanize1024(prom::to_float(a(0))?)),
        "humanizeDuration" => Value::Str(prom::humanize_duration(prom::to_float(a(0))?)),
        "humanizePercentage" => Value::Str(prom::humanize_percentage(prom::to_float(a(0))?)),
        "humanizeTimestamp" => Value::Str(prom::humanize_timestamp(prom::to_float(a(0))?)?),
        "toTime" => Value::Time(prom::float_to_time(prom::to_float(a(0))?)?),
        "pathPrefix" => Value::Str(prom::url_path(&env.data.external_url)),
        "externalURL" => Value::Str(env.data.external_url.clone()),
        "parseDuration" => Value::Float(prom::parse_duration(s(0))?),
        other => return Err(format!("{other:?} is not a defined function")),
    })
}
