//! Go text/template's builtin functions (text/template/funcs.go) on our
//! values: comparisons, `len`, `index`, `slice`, `print*`, `printf` and the
//! `html`/`js`/`urlquery` escapers. `and`/`or` short-circuit and live in exec.

use std::rc::Rc;

use super::gofmt::{is_print, quote, Spec};
use super::value::Value;

const ERR_BAD_COMPARISON_TYPE: &str = "invalid type for comparison";

/// Go 1.24's message names both types.
fn bad_comparison(a: &Value, b: &Value) -> String {
    format!(
        "incompatible types for comparison: {} and {}",
        a.type_name(),
        b.type_name()
    )
}
/// The comparable "basic kinds" of Go's funcs.go.
#[derive(PartialEq)]
enum Basic<'a> {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a str),
}

fn basic(v: &Value) -> Option<Basic<'_>> {
    match v {
        Value::Bool(b) => Some(Basic::Bool(*b)),
        Value::Int(i) => Some(Basic::Int(*i)),
        Value::Float(f) => Some(Basic::Float(*f)),
        Value::Str(s) | Value::Html(s) => Some(Basic::Str(s)),
        _ => None,
    }
}

fn same_kind(a: &Basic, b: &Basic) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

/// `eq arg1 arg2...`: true if arg1 equals any of the others.
pub fn eq(arg1: &Value, rest: &[Value]) -> Result<bool, String> {
    if rest.is_empty() {
        return Err("missing argument for comparison".into());
    }
    for arg in rest {
        let truth = match (basic(arg1), basic(arg)) {
            (Some(a), Some(b)) => {
                if !same_kind(&a, &b) {
                    return Err(bad_comparison(arg1, arg));
                }
                a == b
            }
            (_, _) if matches!(arg1, Value::Nil) || matches!(arg, Value::Nil) => {
                matches!(arg1, Value::Nil) && matches!(arg, Value::Nil)
            }
            (Some(_), None) | (None, Some(_)) => return Err(bad_comparison(arg1, arg)),
            (None, None) => match (arg1, arg) {
                (Value::Sample(a), Value::Sample(b)) => Rc::ptr_eq(a, b),
                (Value::Time(a), Value::Time(b)) => a == b,
                _ if arg1.type_name() != arg.type_name() => return Err(bad_comparison(arg1, arg)),
                _ => {
                    return Err(format!(
                        "non-comparable type {}: {}",
                        arg.sprint(),
                        arg.type_name()
                    ))
                }
            },
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `lt a b`.
pub fn lt(a: &Value, b: &Value) -> Result<bool, String> {
    match (basic(a), basic(b)) {
        (Some(x), Some(y)) => {
            if !same_kind(&x, &y) {
                return Err(bad_comparison(a, b));
            }
            Ok(match (x, y) {
                (Basic::Int(x), Basic::Int(y)) => x < y,
                (Basic::Float(x), Basic::Float(y)) => x < y,
                (Basic::Str(x), Basic::Str(y)) => x < y,
                _ => return Err(ERR_BAD_COMPARISON_TYPE.into()),
            })
        }
        (None, _) | (_, None) if basic(a).is_some() != basic(b).is_some() => {
            Err(bad_comparison(a, b))
        }
        _ => Err(ERR_BAD_COMPARISON_TYPE.into()),
    }
}

pub fn le(a: &Value, b: &Value) -> Result<bool, String> {
    Ok(lt(a, b)? || eq(a, std::slice::from_ref(b))?)
}

/// `len x`: bytes of a string, entries of a map or result.
pub fn len(v: &Value) -> Result<Value, String> {
    let n = match v {
        Value::Str(s) | Value::Html(s) => s.len(),
        Value::StrMap(m) => m.len(),
        Value::AnyMap(m) => m.len(),
        Value::Samples(s) => s.len(),
        Value::Nil => return Err("len of nil pointer".into()),
        other => return Err(format!("len of type {}", other.type_name())),
    };
    Ok(Value::Int(n as i64))
}

fn index_arg(idx: &Value, cap: usize) -> Result<usize, String> {
    let x = match idx {
        Value::Int(i) => *i,
        Value::Nil => return Err("cannot index slice/array with nil".into()),
        other => {
            return Err(format!(
                "cannot index slice/array with type {}",
                other.type_name()
            ))
        }
    };
    if x < 0 || x as u64 > cap as u64 {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

/// `index x k1 k2...`.
pub fn index(item: &Value, indexes: &[Value]) -> Result<Value, String> {
    let mut item = item.clone();
    if matches!(item, Value::Nil) {
        return Err("index of untyped nil".into());
    }
    for idx in indexes {
        item = match &item {
            Value::Str(s) | Value::Html(s) => {
                let i = index_arg(idx, s.len())?;
                let b = s
                    .as_bytes()
                    .get(i)
                    .ok_or_else(|| format!("index out of range: {i}"))?;
                Value::Int(*b as i64)
            }
            Value::Samples(v) => {
                let i = index_arg(idx, v.len())?;
                Value::Sample(
                    v.get(i)
                        .ok_or_else(|| format!("index out of range: {i}"))?
                        .clone(),
                )
            }
            Value::StrMap(m) => {
                let k = map_key(idx)?;
                Value::Str(m.get(k).cloned().unwrap_or_default())
            }
            Value::AnyMap(m) => {
                let k = map_key(idx)?;
                m.get(k).cloned().unwrap_or(Value::Nil)
            }
            other => return Err(format!("can't index item of type {}", other.type_name())),
        };
    }
    Ok(item)
}

fn map_key(idx: &Value) -> Result<&str, String> {
    match idx {
        Value::Str(s) => Ok(s),
        other => Err(format!(
            "value has type {}; should be string",
            other.type_name()
        )),
    }
}

/// `slice x i j`: substrings and sub-results.
pub fn slice(item: &Value, indexes: &[Value]) -> Result<Value, String> {
    if indexes.len() > 3 {
        return Err(format!("too many slice indexes: {}", indexes.len()));
    }
    let len = match item {
        Value::Str(s) => s.len(),
        Value::Samples(v) => v.len(),
        Value::Nil => return Err("slice of untyped nil".into()),
        other => return Err(format!("can't slice item of type {}", other.type_name())),
    };
    if indexes.len() == 3 {
        return Err("cannot 3-index slice a string".into());
    }
    let mut idx = [0, len];
    for (i, v) in indexes.iter().enumerate() {
        idx[i] = index_arg(v, len)?;
    }
    if idx[0] > idx[1] {
        return Err(format!("invalid slice index: {} > {}", idx[0], idx[1]));
    }
    Ok(match item {
        Value::Str(s) => Value::Str(
            s.get(idx[0]..idx[1])
                .ok_or("slice splits a UTF-8 character")?
                .to_string(),
        ),
        Value::Samples(v) => Value::Samples(Rc::new(v[idx[0]..idx[1]].to_vec())),
        _ => unreachable!("checked above"),
    })
}

fn is_string(v: &Value) -> bool {
    matches!(v, Value::Str(_) | Value::Html(_))
}

/// `fmt.Sprint`: spaces between operands when neither side is a string.
pub fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 && !is_string(a) && !is_string(&args[i - 1]) {
            out.push(' ');
        }
        out.push_str(&a.sprint());
    }
    out
}

/// `fmt.Sprintln`: always spaces, then a newline.
pub fn sprintln(args: &[Value]) -> String {
    let parts: Vec<String> = args.iter().map(Value::sprint).collect();
    format!("{}\n", parts.join(" "))
}

/// The text the escapers work on (text/template's evalArgs).
fn eval_args(args: &[Value]) -> String {
    if let [Value::Str(s)] = args {
        return s.clone();
    }
    let printable: Vec<Value> = args
        .iter()
        .map(|a| match a {
            Value::Sample(_) => Value::Str(a.print()),
            other => other.clone(),
        })
        .collect();
    sprint(&printable)
}

/// Go's `template.HTMLEscapeString`.
pub fn html(args: &[Value]) -> String {
    let s = eval_args(args);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Go's `template.JSEscapeString`.
pub fn js(args: &[Value]) -> String {
    let s = eval_args(args);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c if (c as u32) < 0x80 || is_print(c) => out.push(c),
            c => out.push_str(&format!("\\u{:04X}", c as u32)),
        }
    }
    out
}

/// Go's `url.QueryEscape`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub fn urlquery(args: &[Value]) -> String {
    query_escape(&eval_args(args))
}

/// `fmt.Sprintf` for the verbs templates use, with Go's `%!verb(type=value)`
/// markers for mismatches and `%!d(MISSING)` / `%!(EXTRA ...)` for arity.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut next_arg = 0;
    let mut chars = format.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&(_, f)) = chars.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '#' => spec.sharp = true,
                ' ' => spec.space = true,
                '0' => spec.zero = !spec.minus,
                _ => break,
            }
            chars.next();
        }
        let num = |chars: &mut std::iter::Peekable<std::str::CharIndices>| {
            let mut n: Option<usize> = None;
            while let Some(&(_, d)) = chars.peek() {
                let Some(v) = d.to_digit(10) else { break };
                n = Some(n.unwrap_or(0).saturating_mul(10).saturating_add(v as usize));
                chars.next();
            }
            n
        };
        spec.width = num(&mut chars);
        if let Some(&(_, '.')) = chars.peek() {
            chars.next();
            spec.prec = Some(num(&mut chars).unwrap_or(0));
        }
        // Go refuses sizes above 1e6 rather than allocate them.
        if spec.width.is_some_and(|w| w > 1_000_000) {
            out.push_str("%!(BADWIDTH)");
            spec.width = None;
        }
        if spec.prec.is_some_and(|p| p > 1_000_000) {
            out.push_str("%!(BADPREC)");
            spec.prec = None;
        }
        let Some((_, verb)) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(next_arg) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        next_arg += 1;
        out.push_str(&format_one(&spec, verb, arg));
    }
    if next_arg < args.len() {
        let extra: Vec<String> = args[next_arg..]
            .iter()
            .map(|a| match a {
                Value::Nil => "<nil>".to_string(),
                a => format!("{}={}", a.type_name(), a.sprint()),
            })
            .collect();
        out.push_str(&format!("%!(EXTRA {})", extra.join(", ")));
    }
    out
}

fn bad_verb(verb: char, arg: &Value) -> String {
    match arg {
        Value::Nil => format!("%!{verb}(<nil>)"),
        a => format!("%!{verb}({}={})", a.type_name(), a.sprint()),
    }
}

fn format_one(spec: &Spec, verb: char, arg: &Value) -> String {
    if verb == 'T' {
        return spec.pad(arg.type_name());
    }
    match arg {
        Value::Float(f) => match verb {
            'v' => spec.float(*f, 'g'),
            'e' | 'E' | 'f' | 'F' | 'g' | 'G' => spec.float(*f, verb),
            _ => bad_verb(verb, arg),
        },
        Value::Int(i) => match verb {
            'v' | 'd' => spec.int(*i, 'd'),
            'x' | 'X' | 'o' | 'b' => spec.int(*i, verb),
            'c' => spec.pad(&char::from_u32(*i as u32).unwrap_or('\u{FFFD}').to_string()),
            'q' => spec.pad(&format!(
                "'{}'",
                char::from_u32(*i as u32).unwrap_or('\u{FFFD}')
            )),
            'U' => spec.pad(&format!("U+{:04X}", i)),
            _ => bad_verb(verb, arg),
        },
        Value::Bool(b) => match verb {
            'v' | 't' => spec.pad(&b.to_string()),
            _ => bad_verb(verb, arg),
        },
        Value::Str(s) | Value::Html(s) => match verb {
            'v' | 's' => {
                let s = match spec.prec {
                    Some(p) => s.chars().take(p).collect(),
                    None => s.clone(),
                };
                spec.pad(&s)
            }
            'q' => spec.pad(&quote(s)),
            'x' | 'X' => {
                let hex: Vec<String> = s
                    .bytes()
                    .map(|b| {
                        if verb == 'x' {
                            format!("{b:02x}")
                        } else {
                            format!("{b:02X}")
                        }
                    })
                    .collect();
                spec.pad(&hex.join(if spec.space { " " } else { "" }))
            }
            _ => bad_verb(verb, arg),
        },
        Value::Time(t) => match verb {
            'v' | 's' => spec.pad(&t.go_string()),
            'q' => spec.pad(&quote(&t.go_string())),
            _ => bad_verb(verb, arg),
        },
        Value::Nil => match verb {
            'v' => spec.pad("<nil>"),
            _ => bad_verb(verb, arg),
        },
        other => match verb {
            'v' | 's' => spec.pad(&other.sprint()),
            _ => bad_verb(verb, arg),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Value {
        Value::Str(x.into())
    }

    #[test]
    fn comparisons_follow_go_kinds() {
        assert_eq!(
            eq(&Value::Float(1.0), &[Value::Int(1)]),
            Err("incompatible types for comparison: float64 and int".into())
        );
        assert_eq!(eq(&s("a"), &[s("b"), s("a")]), Ok(true));
        assert_eq!(lt(&Value::Float(1.0), &Value::Float(2.0)), Ok(true));
        assert_eq!(
            lt(&Value::Bool(true), &Value::Bool(false)),
            Err(ERR_BAD_COMPARISON_TYPE.into())
        );
        // gt is !le, so NaN compares "greater" than anything, as in Go.
        assert_eq!(le(&Value::Float(f64::NAN), &Value::Float(1.0)), Ok(false));
    }

    #[test]
    fn printf_verbs() {
        let v = Value::Float(0.035);
        assert_eq!(
            sprintf(
                "%.2f|%g|%e|%v",
                &[v.clone(), v.clone(), v.clone(), v.clone()]
            ),
            "0.04|0.035|3.500000e-02|0.035"
        );
        assert_eq!(
            sprintf("%d", std::slice::from_ref(&v)),
            "%!d(float64=0.035)"
        );
        assert_eq!(sprintf("%s %d", &[s("a")]), "a %!d(MISSING)");
        assert_eq!(sprintf("%s", &[s("a"), Value::Int(1)]), "a%!(EXTRA int=1)");
        assert_eq!(
            sprintf(
                "%5.1f%%|%-4s|%q|%x|%05d",
                &[
                    Value::Float(12.34),
                    s("ab"),
                    s("q\""),
                    Value::Int(255),
                    Value::Int(42)
                ]
            ),
            " 12.3%|ab  |\"q\\\"\"|ff|00042"
        );
        assert_eq!(sprintf("%T %T", &[v, s("x")]), "float64 string");
    }

    #[test]
    fn print_spacing() {
        assert_eq!(
            sprint(&[Value::Int(1), Value::Int(2), s("a"), Value::Int(3)]),
            "1 2a3"
        );
        assert_eq!(sprintln(&[s("a"), s("b")]), "a b\n");
    }

    #[test]
    fn escapers() {
        assert_eq!(
            html(&[s("<a href='x'>&\"")]),
            "&lt;a href=&#39;x&#39;&gt;&amp;&#34;"
        );
        assert_eq!(
            js(&[s("a'b\"c<>=&\\\n")]),
            "a\\'b\\\"c\\u003C\\u003E\\u003D\\u0026\\\\\\u000A"
        );
        assert_eq!(urlquery(&[s("a b&c=d/é")]), "a+b%26c%3Dd%2F%C3%A9");
    }

    #[test]
    fn index_and_len() {
        let m = Value::StrMap(Rc::new([("a".to_string(), "1".to_string())].into()));
        assert_eq!(index(&m, &[s("a")]), Ok(s("1")));
        assert_eq!(index(&m, &[s("zz")]), Ok(s("")));
        assert_eq!(len(&m), Ok(Value::Int(1)));
        assert_eq!(len(&Value::Float(1.0)), Err("len of type float64".into()));
        assert_eq!(
            slice(&s("hello"), &[Value::Int(1), Value::Int(3)]),
            Ok(s("el"))
        );
    }
}
