//! Text the way promtool prints it: Go's duration, label-set, quoting and
//! `%E` float formats, so `alertgate test` failures read like promtool's.

/// Prometheus's `model.Duration.String`: `0s`, `5m`, `1d1h`, `1m30s500ms`;
/// years and weeks only when they divide the duration exactly.
pub fn model_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let mut rest = ms;
    let mut out = String::new();
    const DAY: i64 = 86_400_000;
    for (unit, size, exact) in [
        ("y", 365 * DAY, true),
        ("w", 7 * DAY, true),
        ("d", DAY, false),
        ("h", 3_600_000, false),
        ("m", 60_000, false),
        ("s", 1_000, false),
        ("ms", 1, false),
    ] {
        if exact && rest % size != 0 {
            continue;
        }
        let v = rest / size;
        if v > 0 {
            out.push_str(&format!("{v}{unit}"));
            rest -= v * size;
        }
    }
    out
}

/// Go's `time.Duration.String` for a whole number of milliseconds:
/// `0s`, `500ms`, `1m0s`, `1h0m0.5s`.
pub fn go_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let sign = if ms < 0 { "-" } else { "" };
    let a = ms.unsigned_abs();
    if a < 1000 {
        return format!("{sign}{a}ms");
    }
    let h = a / 3_600_000;
    let m = a / 60_000 % 60;
    let s = a / 1000 % 60;
    let frac = a % 1000;
    let secs = if frac == 0 {
        format!("{s}s")
    } else {
        let f = format!("{frac:03}");
        format!("{s}.{}s", f.trim_end_matches('0'))
    };
    if h > 0 {
        format!("{sign}{h}h{m}m{secs}")
    } else if m > 0 {
        format!("{sign}{m}m{secs}")
    } else {
        format!("{sign}{secs}")
    }
}

/// Go's `strconv.Quote`.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() => {
                let n = c as u32;
                if n <= 0xffff {
                    out.push_str(&format!("\\u{n:04x}"))
                } else {
                    out.push_str(&format!("\\U{n:08x}"))
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn is_legacy_name(n: &str) -> bool {
    let mut cs = n.chars();
    matches!(cs.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Go's `labels.Labels.String`: `{__name__="up", job="a"}`, pairs in the
/// order given (callers pass them sorted by name).
pub fn labels_string<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::from("{");
    for (i, (n, v)) in pairs.into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        if is_legacy_name(n) {
            out.push_str(n);
        } else {
            out.push_str(&go_quote(n));
        }
        out.push('=');
        out.push_str(&go_quote(v));
    }
    out.push('}');
    out
}

/// Go's `strconv.FormatFloat(v, 'E', -1, 64)`: shortest round-trip digits,
/// exponent with sign and at least two digits (`1E+00`, `2.5E-07`).
pub fn float_e(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let s = format!("{v:E}");
    let (mant, exp) = s.split_once('E').unwrap_or((&s, "0"));
    let (sign, digits) = match exp.strip_prefix('-') {
        Some(d) => ('-', d),
        None => ('+', exp),
    };
    format!("{mant}E{sign}{digits:0>2}")
}

/// promtool's `indentLines`: every line but the first gets `indent`.
pub fn indent_lines(s: &str, indent: &str) -> String {
    s.split('\n')
        .enumerate()
        .map(|(i, l)| {
            if i > 0 {
                format!("{indent}{l}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_like_go_and_prometheus() {
        assert_eq!(model_duration(0), "0s");
        assert_eq!(model_duration(300_000), "5m");
        assert_eq!(model_duration(86_400_000), "1d");
        assert_eq!(model_duration(14 * 86_400_000), "2w");
        assert_eq!(model_duration(10 * 86_400_000), "10d");
        assert_eq!(model_duration(179_999), "2m59s999ms");
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(60_000), "1m0s");
        assert_eq!(go_duration(3_600_000), "1h0m0s");
        assert_eq!(go_duration(1_500), "1.5s");
        assert_eq!(go_duration(250), "250ms");
    }

    #[test]
    fn floats_like_go_percent_e() {
        assert_eq!(float_e(1.0), "1E+00");
        assert_eq!(float_e(0.0), "0E+00");
        assert_eq!(float_e(2.9999999999999996), "2.9999999999999996E+00");
        assert_eq!(float_e(-1.5e-7), "-1.5E-07");
        assert_eq!(float_e(1e100), "1E+100");
        assert_eq!(float_e(f64::INFINITY), "+Inf");
    }

    #[test]
    fn labels_like_go() {
        assert_eq!(
            labels_string([("__name__", "test"), ("a", "x\"y"), ("b.c", "\n")]),
            r#"{__name__="test", a="x\"y", "b.c"="\n"}"#
        );
        assert_eq!(labels_string([]), "{}");
    }
}
