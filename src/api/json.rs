//! JSON primitives written the way Prometheus's Go encoder writes them:
//! strings escaped like `encoding/json` (HTML-safe, except in labels),
//! sample values as Go `strconv.FormatFloat` strings, timestamps as seconds
//! with millisecond precision. Expected outputs in the tests were checked
//! against a running Prometheus 3.5.

use std::fmt::Write;

/// Appends `s` as a JSON string the way Go's `encoding/json` writes it with
/// HTML escaping on, which is what Prometheus's reflection-based encoding
/// (error messages, warnings, infos, string results) does: `<`, `>`, `&`,
/// U+2028 and U+2029 become `\u` escapes.
pub fn write_string(out: &mut String, s: &str) {
    write_escaped(out, s, true);
}

/// Appends a label name or value as Prometheus's hand-written label encoder
/// (jsoniter `Stream.WriteString`) writes it: like [`write_string`] but
/// without the HTML escapes; non-ASCII is written as is.
pub fn write_label_string(out: &mut String, s: &str) {
    write_escaped(out, s, false);
}

fn write_escaped(out: &mut String, s: &str, html: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' if html => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A vector or matrix sample value as Prometheus's `jsonutil.MarshalFloat`
/// prints it: Go `FormatFloat` with the shortest round-trip digits, in `'e'`
/// form below 1e-6 and from 1e21 on (`1.5e-07`, `1e+21`), else `'f'` form;
/// `+Inf`, `-Inf`, `NaN`.
pub fn format_value(v: f64) -> String {
    let abs = v.abs();
    if v.is_finite() && abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        format_go_e(v)
    } else {
        format_go_f(v)
    }
}

/// Go `strconv.FormatFloat(v, 'f', -1, 64)`: shortest round-trip digits,
/// never an exponent. Prometheus prints scalar results this way.
pub fn format_go_f(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        // Rust's Display is also shortest round-trip without an exponent.
        format!("{v}")
    }
}

/// Go `strconv.FormatFloat(v, 'e', -1, 64)` for finite `v`: `1.5e-07`.
fn format_go_e(v: f64) -> String {
    let e = format!("{v:e}");
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exp.abs())
}

/// Appends `v` as Go's `encoding/json` writes a float64 number: shortest
/// digits, `'f'` form unless below 1e-6 or from 1e21 on. Used for the
/// timestamps of scalar and string results, which Prometheus marshals as
/// `float64(t) / 1000` (so `1435781451.78`, not `.780`).
pub fn write_json_float(out: &mut String, v: f64) {
    let abs = v.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        out.push_str(&format_go_e(v));
    } else {
        let _ = write!(out, "{v}");
    }
}

/// Appends a timestamp (ms) as Prometheus's `marshalTimestamp` does: whole
/// seconds, then `.` and exactly three digits when there is a fraction
/// (`1435781451.781`, `1435781451.780`, `1435781451`).
pub fn write_timestamp(out: &mut String, t: i64) {
    let (sign, t) = if t < 0 {
        ("-", t.unsigned_abs())
    } else {
        ("", t as u64)
    };
    let (secs, ms) = (t / 1000, t % 1000);
    if ms == 0 {
        let _ = write!(out, "{sign}{secs}");
    } else {
        let _ = write!(out, "{sign}{secs}.{ms:03}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(t: i64) -> String {
        let mut s = String::new();
        write_timestamp(&mut s, t);
        s
    }

    fn js(v: &str) -> String {
        let mut s = String::new();
        write_string(&mut s, v);
        s
    }

    #[test]
    fn values_like_go_format_float() {
        assert_eq!(format_value(1.0), "1");
        assert_eq!(format_value(0.035), "0.035");
        assert_eq!(format_value(-0.0), "-0");
        assert_eq!(format_value(1e21), "1e+21");
        assert_eq!(
            format_value(123456789012345678901.0),
            "123456789012345680000"
        );
        assert_eq!(format_value(1.5e-7), "1.5e-07");
        assert_eq!(format_value(1e-6), "0.000001");
        assert_eq!(format_go_f(1.5e-7), "0.00000015");
        assert_eq!(format_go_f(1e21), "1000000000000000000000");
        assert_eq!(format_value(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_value(f64::NAN), "NaN");
    }

    #[test]
    fn timestamps_like_marshal_timestamp() {
        assert_eq!(ts(1_435_781_451_781), "1435781451.781");
        assert_eq!(ts(1_435_781_451_780), "1435781451.780");
        assert_eq!(ts(1_435_781_451_005), "1435781451.005");
        assert_eq!(ts(1_435_781_451_000), "1435781451");
        assert_eq!(ts(0), "0");
        assert_eq!(ts(-1500), "-1.500");
    }

    #[test]
    fn strings_like_go_encoding_json() {
        assert_eq!(js("plain"), r#""plain""#);
        assert_eq!(js("a\"b\\c\nd\te\r"), r#""a\"b\\c\nd\te\r""#);
        assert_eq!(js("<a&b>"), r#""\u003ca\u0026b\u003e""#);
        assert_eq!(js("\u{1}\u{2028}é"), "\"\\u0001\\u2028é\"");
    }

    /// Checked against Prometheus 3.5: `label_replace(vector(1), "x",
    /// "\x01\x1f\t\r\b\f\u2028é<&", "", "")` answers with this label value.
    #[test]
    fn label_strings_like_prometheus_label_encoder() {
        let mut s = String::new();
        write_label_string(&mut s, "\u{1}\u{1f}\t\r\u{8}\u{c}\u{2028}é<&\"\n");
        assert_eq!(
            s,
            "\"\\u0001\\u001f\\t\\r\\u0008\\u000c\u{2028}é<&\\\"\\n\""
        );
    }
}
