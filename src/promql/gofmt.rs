//! Text formatting that matches Go's, for error messages and label values
//! that Prometheus builds with `fmt`/`strconv` and that users compare
//! byte for byte (e.g. `count_values` label values, duplicate-series errors).

use crate::model::Labels;

/// Go's `strconv.Quote` for the characters label values normally contain.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn is_legacy_label_name(n: &str) -> bool {
    let mut chars = n.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Prometheus's `labels.Labels.String()`: `{__name__="up", job="x"}`.
pub(crate) fn labels_string(ls: &Labels) -> String {
    let mut out = String::from("{");
    for (i, l) in ls.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        if is_legacy_label_name(&l.name) {
            out.push_str(&l.name);
        } else {
            out.push_str(&quote(&l.name));
        }
        out.push('=');
        out.push_str(&quote(&l.value));
    }
    out.push('}');
    out
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)`: shortest digits, no exponent.
pub(crate) fn format_float_f(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        // Rust's Display prints the shortest round-trip digits without exponent.
        format!("{f}")
    }
}

/// Go's `%g` / `%v` for a float64: shortest digits, exponent form when the
/// decimal exponent is < -4 or >= 6 (what `strconv` does for the shortest
/// precision).
pub(crate) fn format_float_g(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let sci = format!("{f:e}"); // e.g. "-1.2345e-7"
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_like_go() {
        let l = Labels::from_pairs([("__name__", "up"), ("job", "a\"b")]);
        assert_eq!(labels_string(&l), r#"{__name__="up", job="a\"b"}"#);
        assert_eq!(labels_string(&Labels::new()), "{}");
    }

    #[test]
    fn floats_like_go() {
        assert_eq!(format_float_f(1e21), "1000000000000000000000");
        assert_eq!(format_float_f(f64::INFINITY), "+Inf");
        assert_eq!(format_float_f(0.1), "0.1");
        assert_eq!(format_float_g(1.5), "1.5");
        assert_eq!(format_float_g(1e21), "1e+21");
        assert_eq!(format_float_g(100000.0), "100000");
        assert_eq!(format_float_g(1e6), "1e+06");
        assert_eq!(format_float_g(1e-5), "1e-05");
        assert_eq!(format_float_g(123456789.0), "1.23456789e+08");
        assert_eq!(format_float_g(f64::NAN), "NaN");
        assert_eq!(format_float_g(-2.0), "-2");
    }
}
