//! Label sets as written in test scripts and promtool tests:
//! `name{l1="v1", l2='v2',}`, `name`, `{l="v"}`, `{}` or `{"utf8.name"}`,
//! with PromQL string literals (double, single or back quotes).

use super::NotationError;
use crate::model::{Labels, METRIC_NAME};

fn is_name_start(c: u8, colon: bool) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || (colon && c == b':')
}

fn is_name_char(c: u8, colon: bool) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || (colon && c == b':')
}

/// Length of the identifier at the start of `s` (metric names may hold `:`).
fn ident_len(s: &str, colon: bool) -> usize {
    let b = s.as_bytes();
    if b.is_empty() || !is_name_start(b[0], colon) {
        return 0;
    }
    b.iter().take_while(|&&c| is_name_char(c, colon)).count()
}

/// Parses one PromQL string literal at the start of `input` and returns its
/// value and the rest of the input. Double- and single-quoted strings take
/// Go escapes (`\n \t \\ \" \' \xFF \377 \u00e9 \U0001F600 \a \b \f \r \v`);
/// back-quoted strings are raw. Byte escapes that do not form UTF-8 are
/// replaced with U+FFFD, since our label values are Rust strings.
pub fn parse_string_literal(input: &str) -> Result<(String, &str), NotationError> {
    let err = |reason: &str| NotationError::String {
        input: input.to_string(),
        reason: reason.to_string(),
    };
    let mut chars = input.char_indices();
    let quote = match chars.next() {
        Some((_, q @ ('"' | '\'' | '`'))) => q,
        _ => return Err(err("expected a quote")),
    };
    let mut out: Vec<u8> = Vec::new();
    let mut buf = [0u8; 4];
    while let Some((i, c)) = chars.next() {
        if c == quote {
            let s = String::from_utf8(out)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
            return Ok((s, &input[i + 1..]));
        }
        if c == '\\' && quote != '`' {
            let (_, e) = chars.next().ok_or_else(|| err("unterminated escape"))?;
            let mut hex = |n: usize| -> Result<u32, NotationError> {
                let mut v = 0u32;
                for _ in 0..n {
                    let (_, h) = chars.next().ok_or_else(|| err("short escape"))?;
                    v = v * 16
                        + h.to_digit(16)
                            .ok_or_else(|| err("bad hex digit in escape"))?;
                }
                Ok(v)
            };
            match e {
                'a' => out.push(0x07),
                'b' => out.push(0x08),
                'f' => out.push(0x0c),
                'n' => out.push(b'\n'),
                'r' => out.push(b'\r'),
                't' => out.push(b'\t'),
                'v' => out.push(0x0b),
                '\\' | '"' | '\'' => out.push(e as u8),
                'x' => out.push(hex(2)? as u8),
                'u' | 'U' => {
                    let v = hex(if e == 'u' { 4 } else { 8 })?;
                    let ch = char::from_u32(v).ok_or_else(|| err("invalid unicode escape"))?;
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                '0'..='7' => {
                    let mut v = e.to_digit(8).unwrap_or(0);
                    for _ in 0..2 {
                        let (_, o) = chars.next().ok_or_else(|| err("short octal escape"))?;
                        v = v * 8
                            + o.to_digit(8)
                                .ok_or_else(|| err("bad octal digit in escape"))?;
                    }
                    if v > 255 {
                        return Err(err("octal escape out of range"));
                    }
                    out.push(v as u8);
                }
                _ => return Err(err("unknown escape sequence")),
            }
            continue;
        }
        if c == '\n' && quote != '`' {
            return Err(err("newline in string"));
        }
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }
    Err(err("unterminated string"))
}

/// Parses the label-set part of a series description at the start of
/// `input` (leading white space allowed) and returns it with the rest of the
/// input. Only `=` is allowed; a trailing comma is fine; metric names may be
/// PromQL keywords; a lone quoted string inside the braces is the metric
/// name. A later duplicate label wins; empty values mean "absent".
pub fn parse_label_set(input: &str) -> Result<(Labels, &str), NotationError> {
    let err = |reason: &str| NotationError::Labels {
        input: input.to_string(),
        reason: reason.to_string(),
    };
    let mut labels = Labels::new();
    let mut rest = input.trim_start();
    let n = ident_len(rest, true);
    if n > 0 {
        labels.set(METRIC_NAME, &rest[..n]);
        rest = &rest[n..];
        // `name {a="b"}` is a label set, `name {{...}}` is a histogram value.
        let after = rest.trim_start();
        if !after.starts_with('{') || after.starts_with("{{") {
            return Ok((labels, rest));
        }
        rest = after;
    }
    rest = rest
        .strip_prefix('{')
        .ok_or_else(|| err("expected a metric name or '{'"))?;
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix('}') {
            return Ok((labels, r));
        }
        let name: String;
        let quoted = rest.starts_with(['"', '\'', '`']);
        if quoted {
            let (s, r) = parse_string_literal(rest)?;
            name = s;
            rest = r.trim_start();
        } else {
            let n = ident_len(rest, false);
            if n == 0 {
                return Err(err("expected a label name"));
            }
            name = rest[..n].to_string();
            rest = rest[n..].trim_start();
        }
        if let Some(r) = rest.strip_prefix('=') {
            if r.starts_with('~') {
                return Err(err("only '=' is allowed in a series description"));
            }
            let (value, r) = parse_string_literal(r.trim_start())?;
            labels.set(name, value);
            rest = r.trim_start();
        } else if quoted {
            // `{"my.metric", ...}`: a quoted name on its own is the metric name.
            labels.set(METRIC_NAME, name);
        } else {
            return Err(err("expected '=' after label name"));
        }
        if let Some(r) = rest.strip_prefix(',') {
            rest = r;
        } else if !rest.starts_with('}') {
            return Err(err("expected ',' or '}'"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn name_only_and_braces() {
        let (l, rest) = parse_label_set("up 1 2").unwrap();
        assert_eq!(l, labels(&[("__name__", "up")]));
        assert_eq!(rest, " 1 2");
        let (l, rest) =
            parse_label_set(r#"http_requests{job="api", instance='0',} 0+1x2"#).unwrap();
        assert_eq!(
            l,
            labels(&[
                ("__name__", "http_requests"),
                ("job", "api"),
                ("instance", "0")
            ])
        );
        assert_eq!(rest, " 0+1x2");
        let (l, _) = parse_label_set(r#"{job="a"} 1"#).unwrap();
        assert_eq!(l, labels(&[("job", "a")]));
        let (l, rest) = parse_label_set("{} 1").unwrap();
        assert!(l.is_empty());
        assert_eq!(rest, " 1");
    }

    #[test]
    fn keywords_colons_and_space_before_brace() {
        let (l, _) = parse_label_set("sum 1").unwrap();
        assert_eq!(l.metric_name(), Some("sum"));
        let (l, _) = parse_label_set("job:rate5m:sum 1").unwrap();
        assert_eq!(l.metric_name(), Some("job:rate5m:sum"));
        let (l, rest) = parse_label_set(r#"foo {a="b"} 1"#).unwrap();
        assert_eq!(l, labels(&[("__name__", "foo"), ("a", "b")]));
        assert_eq!(rest, " 1");
        // A histogram value right after the name is not a label set.
        let (l, rest) = parse_label_set("foo {{sum:1}}").unwrap();
        assert_eq!(l, labels(&[("__name__", "foo")]));
        assert_eq!(rest, " {{sum:1}}");
    }

    #[test]
    fn quoted_utf8_names_and_label_override() {
        let (l, _) = parse_label_set(r#"{"my.metric", "a.b"="c"} 1"#).unwrap();
        assert_eq!(l, labels(&[("__name__", "my.metric"), ("a.b", "c")]));
        let (l, _) = parse_label_set(r#"{__name__="x", a="1", a="2"}"#).unwrap();
        assert_eq!(l, labels(&[("__name__", "x"), ("a", "2")]));
        // An empty value is an absent label, as in Prometheus.
        let (l, _) = parse_label_set(r#"x{a=""}"#).unwrap();
        assert_eq!(l, labels(&[("__name__", "x")]));
    }

    #[test]
    fn string_escapes() {
        let cases = [
            (r#""a\nb""#, "a\nb"),
            (r#""tab\there""#, "tab\there"),
            (r#""q\"q""#, "q\"q"),
            (r#"'s\'s'"#, "s's"),
            (r#""back\\slash""#, "back\\slash"),
            (r#""\x41\102\u00e9\U0001F600""#, "AB\u{e9}\u{1F600}"),
            (r#""\a\b\f\r\v""#, "\x07\x08\x0c\r\x0b"),
            (r#"`raw\n`"#, "raw\\n"),
            (r#""ünïcode""#, "ünïcode"),
        ];
        for (lit, want) in cases {
            let (got, rest) = parse_string_literal(lit).unwrap();
            assert_eq!(got, want, "{lit}");
            assert_eq!(rest, "");
        }
        // Invalid UTF-8 from byte escapes is replaced, not an error.
        assert_eq!(parse_string_literal(r#""a\xc5z""#).unwrap().0, "a\u{fffd}z");
    }

    #[test]
    fn rejects_bad_label_sets() {
        for bad in [
            r#"{a="b""#,
            r#"{a=~"b"}"#,
            r#"{a!="b"}"#,
            r#"{a="b" c="d"}"#,
            r#"{a}"#,
            r#"{1a="b"}"#,
            r#"{a="\q"}"#,
            r#"{a="unterminated}"#,
            "1foo",
        ] {
            assert!(parse_label_set(bad).is_err(), "{bad} should be rejected");
        }
    }
}
