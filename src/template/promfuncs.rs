//! Prometheus's template functions (prometheus/prometheus: template/template.go
//! at v3.5, with `humanizeDuration`/`humanizeTimestamp` from
//! prometheus/common: helpers/templates/time.go). Output must match upstream
//! byte for byte: the number formats all go through Go's `%.4g`.

use super::builtins::query_escape;
use super::gofmt::{format_float, format_float_v};
use super::value::{Time, Value};

/// prometheus/common's `ConvertToFloat`.
pub fn to_float(v: &Value) -> Result<f64, String> {
    match v {
        Value::Float(f) => Ok(*f),
        Value::Int(i) => Ok(*i as f64),
        Value::Str(s) => parse_float(s),
        other => Err(format!("can't convert {} to float", other.type_name())),
    }
}

/// Go's `strconv.ParseFloat(s, 64)` for decimal input.
fn parse_float(s: &str) -> Result<f64, String> {
    let err = || {
        format!(
            "strconv.ParseFloat: parsing {}: invalid syntax",
            super::gofmt::quote(s)
        )
    };
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let lower = body.to_ascii_lowercase();
    let special = matches!(lower.as_str(), "inf" | "infinity" | "nan");
    if !special
        && !body
            .bytes()
            .all(|b| b.is_ascii_digit() || b".eE+-".contains(&b))
    {
        return Err(err());
    }
    s.parse::<f64>().map_err(|_| err())
}

fn g4(v: f64) -> String {
    format_float(v, 'g', 4)
}

pub fn humanize(v: f64) -> String {
    if v == 0.0 || v.is_nan() || v.is_infinite() {
        return g4(v);
    }
    let mut v = v;
    let mut prefix = "";
    if v.abs() >= 1.0 {
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
    } else {
        for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
            if v.abs() >= 1.0 {
                break;
            }
            prefix = p;
            v *= 1000.0;
        }
    }
    format!("{}{prefix}", g4(v))
}

pub fn humanize1024(v: f64) -> String {
    if v.abs() <= 1.0 || v.is_nan() || v.is_infinite() {
        return g4(v);
    }
    let mut v = v;
    let mut prefix = "";
    for p in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
        if v.abs() < 1024.0 {
            break;
        }
        prefix = p;
        v /= 1024.0;
    }
    format!("{}{prefix}", g4(v))
}

/// 2^63: `math.MaxInt64` as a float64 (Go's bound checks compare with this).
const TWO_63: f64 = 9_223_372_036_854_775_808.0;

/// Go's float64 to int64 conversion on amd64: out of range gives i64::MIN.
fn go_int64(v: f64) -> i64 {
    if v.is_nan() || !(-TWO_63..TWO_63).contains(&v) {
        i64::MIN
    } else {
        v as i64
    }
}

pub fn humanize_duration(v: f64) -> String {
    if v.is_nan() || v.is_infinite() {
        return g4(v);
    }
    if v == 0.0 {
        return format!("{}s", g4(v));
    }
    if v.abs() >= 1.0 {
        let (sign, v) = if v < 0.0 { ("-", -v) } else { ("", v) };
        let d = go_int64(v);
        let seconds = d % 60;
        let minutes = (d / 60) % 60;
        let hours = (d / 60 / 60) % 24;
        let days = d / 60 / 60 / 24;
        if days != 0 {
            return format!("{sign}{days}d {hours}h {minutes}m {seconds}s");
        }
        if hours != 0 {
            return format!("{sign}{hours}h {minutes}m {seconds}s");
        }
        if minutes != 0 {
            return format!("{sign}{minutes}m {seconds}s");
        }
        return format!("{sign}{}s", g4(v));
    }
    let mut v = v;
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}s", g4(v))
}

pub fn humanize_percentage(v: f64) -> String {
    format!("{}%", g4(v * 100.0))
}

/// prometheus/common's `FloatToTime`: seconds to a time truncated to milliseconds.
pub fn float_to_time(v: f64) -> Result<Time, String> {
    if v.is_nan() || v.is_infinite() {
        return Err("value is NaN or Inf".into());
    }
    let ts = v * 1e9;
    if !(-TWO_63..=TWO_63).contains(&ts) {
        return Err(format!(
            "{} cannot be represented as a nanoseconds timestamp since it overflows int64",
            format_float_v(v)
        ));
    }
    // model.TimeFromUnixNano keeps milliseconds (truncating), then time.Unix normalises.
    let ms = go_int64(ts) / 1_000_000;
    Ok(Time {
        secs: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as u32,
    })
}

pub fn humanize_timestamp(v: f64) -> Result<String, String> {
    if v.is_nan() || v.is_infinite() {
        return Ok(g4(v));
    }
    float_to_time(v).map(|t| t.go_string())
}

/// Go's `net.SplitHostPort`, returning None where Go returns an error.
fn split_host_port(hp: &str) -> Option<(&str, &str)> {
    let i = hp.rfind(':')?;
    let (host, j, k);
    if hp.starts_with('[') {
        let end = hp.find(']')?;
        if end + 1 != i {
            return None;
        }
        host = &hp[1..end];
        j = 1;
        k = end + 1;
    } else {
        host = &hp[..i];
        if host.contains(':') {
            return None;
        }
        j = 0;
        k = 0;
    }
    if hp[j..].contains('[') || hp[k..].contains(']') {
        return None;
    }
    Some((host, &hp[i + 1..]))
}

pub fn strip_port(hp: &str) -> String {
    match split_host_port(hp) {
        Some((host, _)) => host.to_string(),
        None => hp.to_string(),
    }
}

pub fn strip_domain(hp: &str) -> String {
    let (host, port) = split_host_port(hp).unwrap_or((hp, ""));
    if host.parse::<std::net::IpAddr>().is_ok() {
        return hp.to_string();
    }
    let host = host.split('.').next().unwrap_or("");
    if port.is_empty() {
        return host.to_string();
    }
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// `cases.Title(language.AmericanEnglish, cases.NoLower)`: upper-cases the
/// first cased letter of each word and leaves the rest alone.
pub fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut mid_word = false;
    let mut prev_mid = false;
    for c in s.chars() {
        let is_mid = matches!(c, '\'' | '.' | ':' | '\u{2019}' | '\u{b7}');
        if prev_mid && is_mid {
            mid_word = false;
        }
        if is_cased(c) {
            if mid_word {
                out.push(c);
            } else {
                out.extend(title_case(c));
                mid_word = true;
            }
        } else {
            out.push(c);
            if !is_mid && !c.is_alphanumeric() && c != '_' {
                mid_word = false;
            }
        }
        prev_mid = is_mid;
    }
    out
}

fn is_cased(c: char) -> bool {
    c.is_lowercase() || c.is_uppercase() || (c.to_uppercase().next() != Some(c))
}

fn title_case(c: char) -> impl Iterator<Item = char> {
    // Title case of the ligature-like digraphs differs from upper case.
    let t = match c {
        'ǆ' | 'ǅ' | 'Ǆ' => Some('ǅ'),
        'ǉ' | 'ǈ' | 'Ǉ' => Some('ǈ'),
        'ǌ' | 'ǋ' | 'Ǌ' => Some('ǋ'),
        'ǳ' | 'ǲ' | 'Ǳ' => Some('ǲ'),
        _ => None,
    };
    let v: Vec<char> = match t {
        Some(t) => vec![t],
        None => c.to_uppercase().collect(),
    };
    v.into_iter()
}

/// Go's `strings.ToUpper`/`ToLower` map rune by rune (no "ß" -> "SS").
pub fn map_case(s: &str, upper: bool) -> String {
    s.chars()
        .map(|c| {
            let mut m: Vec<char> = if upper {
                c.to_uppercase().collect()
            } else {
                c.to_lowercase().collect()
            };
            if m.len() == 1 {
                m.pop().unwrap_or(c)
            } else {
                c
            }
        })
        .collect()
}

pub fn graph_link(expr: &str) -> String {
    format!("/graph?g0.expr={}&g0.tab=0", query_escape(expr))
}

pub fn table_link(expr: &str) -> String {
    format!("/graph?g0.expr={}&g0.tab=1", query_escape(expr))
}

/// prometheus/common `model.ParseDuration` (v0.65, no negative durations), in seconds.
// Not model::time::parse_duration_ms: Go's error texts reach rendered output and its range is int64 ns (~292y), not ms.
pub fn parse_duration(s: &str) -> Result<f64, String> {
    match s {
        "0" => return Ok(0.0),
        "" => return Err("empty duration string".into()),
        _ => {}
    }
    let invalid = || format!("not a valid duration string: {}", super::gofmt::quote(s));
    const UNITS: [(&str, u64, u32); 7] = [
        ("y", 365 * 24 * 3600 * 1_000_000_000, 1),
        ("w", 7 * 24 * 3600 * 1_000_000_000, 2),
        ("d", 24 * 3600 * 1_000_000_000, 3),
        ("h", 3600 * 1_000_000_000, 4),
        ("m", 60 * 1_000_000_000, 5),
        ("s", 1_000_000_000, 6),
        ("ms", 1_000_000, 7),
    ];
    let mut rest = s;
    let mut dur: u64 = 0;
    let mut last = 0;
    while !rest.is_empty() {
        let n = rest.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return Err(invalid());
        }
        let v: u64 = rest[..n].parse().map_err(|_| invalid())?;
        rest = &rest[n..];
        let u = rest.bytes().take_while(|b| !b.is_ascii_digit()).count();
        if u == 0 {
            return Err(invalid());
        }
        let unit = &rest[..u];
        rest = &rest[u..];
        let Some(&(_, mult, pos)) = UNITS.iter().find(|(name, _, _)| *name == unit) else {
            return Err(format!(
                "unknown unit {} in duration {}",
                super::gofmt::quote(unit),
                super::gofmt::quote(s)
            ));
        };
        if pos <= last {
            return Err(invalid());
        }
        last = pos;
        if v > (1u64 << 63) / mult {
            return Err("duration out of range".into());
        }
        dur += v * mult;
        if dur > (1u64 << 63) - 1 {
            return Err("duration out of range".into());
        }
    }
    Ok(dur as f64 / 1e9)
}

/// The path of a URL (`externalURL.Path`), for `pathPrefix`.
pub fn url_path(url: &str) -> String {
    let after_scheme = match url.find("://") {
        Some(i) => &url[i + 3..],
        None => return url.split(['?', '#']).next().unwrap_or("").to_string(),
    };
    let path = match after_scheme.find('/') {
        Some(i) => &after_scheme[i..],
        None => "",
    };
    path.split(['?', '#']).next().unwrap_or("").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_port_and_domain_follow_split_host_port() {
        assert_eq!(strip_port("host.example.com:9090"), "host.example.com");
        assert_eq!(strip_port("[::1]:9090"), "::1");
        assert_eq!(strip_port("::1"), "::1");
        assert_eq!(strip_port("host"), "host");
        assert_eq!(strip_domain("host.example.com:9090"), "host:9090");
        assert_eq!(strip_domain("host.example.com"), "host");
        assert_eq!(strip_domain("10.0.0.1:9090"), "10.0.0.1:9090");
        assert_eq!(strip_domain("[::1]:9090"), "[::1]:9090");
    }

    #[test]
    fn parse_duration_like_common() {
        assert_eq!(parse_duration("1h30m"), Ok(5400.0));
        assert_eq!(parse_duration("1d2h3m4s5ms"), Ok(93784.005));
        assert_eq!(parse_duration("0"), Ok(0.0));
        assert_eq!(
            parse_duration("1m1h"),
            Err("not a valid duration string: \"1m1h\"".into())
        );
        assert_eq!(
            parse_duration("5x"),
            Err("unknown unit \"x\" in duration \"5x\"".into())
        );
        assert_eq!(
            parse_duration("-5m"),
            Err("not a valid duration string: \"-5m\"".into())
        );
    }

    #[test]
    fn url_path_of_external_url() {
        assert_eq!(url_path("http://example.com:9090/prom/?x=1"), "/prom/");
        assert_eq!(url_path("http://example.com"), "");
    }

    #[test]
    fn case_mapping_is_per_rune() {
        assert_eq!(map_case("straße", true), "STRAßE");
        assert_eq!(map_case("ÀB", false), "àb");
    }
}
