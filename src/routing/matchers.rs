//! Alertmanager's matcher syntax: the UTF-8 parser (`matcher/parse` upstream),
//! the classic parser (`pkg/labels/parse.go`) and the fallback mode that
//! Alertmanager and amtool 0.33 use by default: the classic result wins when
//! the classic parser accepts the input, else the UTF-8 result, else the
//! classic error. Evaluation uses [`crate::model::Matcher`].

use crate::model::{MatchOp, Matcher};
use std::sync::OnceLock;

/// Why a matcher string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatcherParseError {
    #[error("bad matcher format: {0}")]
    BadFormat(String),
    #[error("{0}")]
    Syntax(String),
    #[error("matcher value contains unescaped double quote: {0}")]
    UnescapedQuote(String),
    #[error("invalid regular expression {pattern:?}: {reason}")]
    BadRegex { pattern: String, reason: String },
    #[error("unexpected open or close brace: {0}")]
    Brace(String),
    #[error("expected 1 matcher, found {0}")]
    NotOne(usize),
}

fn new_matcher(name: String, op: MatchOp, value: String) -> Result<Matcher, MatcherParseError> {
    Matcher::new(name, op, value).map_err(|e| match e {
        crate::model::MatcherError::BadRegex { pattern, reason } => {
            MatcherParseError::BadRegex { pattern, reason }
        }
    })
}

/// Parses a list of matchers in fallback mode (what `matchers:` entries and
/// amtool arguments go through).
pub fn parse_matchers(input: &str) -> Result<Vec<Matcher>, MatcherParseError> {
    match parse_classic(input) {
        Ok(m) => Ok(m),
        Err(classic_err) => parse_utf8(input).map_err(|_| classic_err),
    }
}

/// Parses exactly one matcher in fallback mode (amtool label arguments).
/// Braces are rejected, as upstream's `FallbackMatcherParser` does.
pub fn parse_matcher(input: &str) -> Result<Matcher, MatcherParseError> {
    if input.starts_with('{') || input.ends_with('}') {
        return Err(MatcherParseError::Brace(input.to_string()));
    }
    let classic = parse_classic_one(input);
    match classic {
        Ok(m) => Ok(m),
        Err(e) => {
            let mut ms = parse_utf8(input).map_err(|_| e)?;
            if ms.len() != 1 {
                return Err(MatcherParseError::NotOne(ms.len()));
            }
            Ok(ms.remove(0))
        }
    }
}

// ---------------------------------------------------------------- classic

fn classic_re() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r#"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*((?s).*?)\s*$"#)
            .expect("static regex")
    })
}

/// The classic list parser: optional braces, split on commas outside quotes.
pub fn parse_classic(input: &str) -> Result<Vec<Matcher>, MatcherParseError> {
    let s = input.strip_prefix('{').unwrap_or(input);
    let s = s.strip_suffix('}').unwrap_or(s);
    let mut tokens = Vec::new();
    let mut token = String::new();
    let (mut inside_quotes, mut escaped) = (false, false);
    for r in s.chars() {
        match r {
            ',' if !inside_quotes => {
                tokens.push(std::mem::take(&mut token));
                continue;
            }
            ',' => {}
            '"' => {
                if !escaped {
                    inside_quotes = !inside_quotes;
                } else {
                    escaped = false;
                }
            }
            '\\' => escaped = !escaped,
            _ => escaped = false,
        }
        token.push(r);
    }
    let last = token.trim();
    if !last.is_empty() {
        tokens.push(last.to_string());
    }
    tokens.iter().map(|t| parse_classic_one(t)).collect()
}

/// The classic single-matcher parser.
pub fn parse_classic_one(s: &str) -> Result<Matcher, MatcherParseError> {
    let caps = classic_re()
        .captures(s)
        .ok_or_else(|| MatcherParseError::BadFormat(s.to_string()))?;
    let name = caps[1].to_string();
    let op = match &caps[2] {
        "=" => MatchOp::Equal,
        "!=" => MatchOp::NotEqual,
        "=~" => MatchOp::Regex,
        _ => MatchOp::NotRegex,
    };
    let raw_full = &caps[3];
    let (raw, mut expect_trailing_quote) = match raw_full.strip_prefix('"') {
        Some(r) => (r, true),
        None => (raw_full, false),
    };
    let mut value = String::new();
    let mut escaped = false;
    for (i, r) in raw.char_indices() {
        let is_last = i + r.len_utf8() == raw.len();
        if escaped {
            escaped = false;
            match r {
                'n' => value.push('\n'),
                '"' | '\\' => value.push(r),
                _ => {
                    value.push('\\');
                    value.push(r);
                }
            }
            continue;
        }
        match r {
            '\\' => {
                // Upstream compares a byte index with len-1, so only a final
                // one-byte backslash is kept literally.
                if i < raw.len() - 1 {
                    escaped = true;
                } else {
                    value.push('\\');
                }
            }
            '"' => {
                if !expect_trailing_quote || !is_last {
                    return Err(MatcherParseError::UnescapedQuote(raw_full.to_string()));
                }
                expect_trailing_quote = false;
            }
            _ => value.push(r),
        }
    }
    if expect_trailing_quote {
        return Err(MatcherParseError::UnescapedQuote(raw_full.to_string()));
    }
    new_matcher(name, op, value)
}

// ---------------------------------------------------------------- UTF-8

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Open,
    Close,
    Comma,
    Eq,
    Ne,
    Re,
    Nre,
    Quoted,
    Unquoted,
}

fn is_reserved(r: char) -> bool {
    r.is_whitespace() || "{}!=~,\\\"'`".contains(r)
}

/// Splits the input into tokens, with their text.
fn lex(input: &str) -> Result<Vec<(Tok, String)>, MatcherParseError> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let syntax = |msg: String| MatcherParseError::Syntax(msg);
    while i < chars.len() {
        let c = chars[i];
        match c {
            '{' => out.push((Tok::Open, "{".into())),
            '}' => out.push((Tok::Close, "}".into())),
            ',' => out.push((Tok::Comma, ",".into())),
            '=' => {
                if chars.get(i + 1) == Some(&'~') {
                    i += 1;
                    out.push((Tok::Re, "=~".into()));
                } else {
                    out.push((Tok::Eq, "=".into()));
                }
            }
            '!' => match chars.get(i + 1) {
                Some('=') => {
                    i += 1;
                    out.push((Tok::Ne, "!=".into()));
                }
                Some('~') => {
                    i += 1;
                    out.push((Tok::Nre, "!~".into()));
                }
                _ => return Err(syntax(format!("{}: expected one of '=~'", i))),
            },
            '"' => {
                let start = i;
                i += 1;
                let mut escaped = false;
                while i < chars.len() {
                    let r = chars[i];
                    if escaped {
                        escaped = false;
                    } else if r == '\\' {
                        escaped = true;
                    } else if r == '"' {
                        break;
                    }
                    i += 1;
                }
                if i >= chars.len() {
                    let text: String = chars[start..].iter().collect();
                    return Err(syntax(format!(
                        "{start}:{}: {text}: missing end \"",
                        chars.len()
                    )));
                }
                out.push((Tok::Quoted, chars[start..=i].iter().collect()));
            }
            c if c.is_whitespace() => {}
            c if !is_reserved(c) => {
                let start = i;
                while i + 1 < chars.len() && !is_reserved(chars[i + 1]) {
                    i += 1;
                }
                out.push((Tok::Unquoted, chars[start..=i].iter().collect()));
            }
            _ => return Err(syntax(format!("{i}:{}: {c}: invalid input", i + 1))),
        }
        i += 1;
    }
    Ok(out)
}

fn unquote_tok(kind: Tok, text: &str) -> Result<String, MatcherParseError> {
    if kind == Tok::Quoted {
        go_unquote(text).ok_or_else(|| MatcherParseError::Syntax(format!("{text}: invalid input")))
    } else {
        Ok(text.to_string())
    }
}

/// The UTF-8 parser: `{a="b", c=~d}`, braces optional, trailing comma allowed.
pub fn parse_utf8(input: &str) -> Result<Vec<Matcher>, MatcherParseError> {
    let toks = lex(input)?;
    let err = |m: &str| MatcherParseError::Syntax(m.to_string());
    let mut i = 0;
    let has_open = toks.first().map(|t| t.0) == Some(Tok::Open);
    if has_open {
        i += 1;
    }
    let mut out = Vec::new();
    loop {
        match toks.get(i).map(|t| t.0) {
            None => break,
            Some(Tok::Close) => break,
            Some(Tok::Quoted | Tok::Unquoted) => {}
            Some(_) => return Err(err("expected label name")),
        }
        let (nk, nt) = &toks[i];
        let name = unquote_tok(*nk, nt)?;
        i += 1;
        let op = match toks.get(i).map(|t| t.0) {
            Some(Tok::Eq) => MatchOp::Equal,
            Some(Tok::Ne) => MatchOp::NotEqual,
            Some(Tok::Re) => MatchOp::Regex,
            Some(Tok::Nre) => MatchOp::NotRegex,
            _ => return Err(err("expected an operator such as '=', '!=', '=~' or '!~'")),
        };
        i += 1;
        let value = match toks.get(i) {
            Some((k @ (Tok::Quoted | Tok::Unquoted), t)) => unquote_tok(*k, t)?,
            _ => return Err(err("expected label value")),
        };
        i += 1;
        out.push(new_matcher(name, op, value)?);
        match toks.get(i).map(|t| t.0) {
            None | Some(Tok::Close) => break,
            Some(Tok::Comma) => i += 1,
            Some(_) => return Err(err("expected a comma or close brace")),
        }
    }
    // Closing brace handling: required iff opened; nothing may follow.
    match (has_open, toks.get(i).map(|t| t.0)) {
        (true, Some(Tok::Close)) => i += 1,
        (true, _) => return Err(err("expected close brace")),
        (false, Some(Tok::Close)) => return Err(err("expected opening brace")),
        (false, _) => {}
    }
    if i < toks.len() {
        return Err(err("expected end of input"));
    }
    Ok(out)
}

/// Go's `strconv.Unquote` for a double-quoted string; None when invalid.
pub fn go_unquote(s: &str) -> Option<String> {
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    // Collect bytes: `\xNN` and octal escapes may produce partial UTF-8.
    let mut out: Vec<u8> = Vec::new();
    let mut it = inner.chars();
    let push =
        |out: &mut Vec<u8>, c: char| out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
    let hex = |it: &mut std::str::Chars, n: usize| -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            v = v * 16 + it.next()?.to_digit(16)?;
        }
        Some(v)
    };
    while let Some(c) = it.next() {
        if c == '"' || c == '\n' {
            return None;
        }
        if c != '\\' {
            push(&mut out, c);
            continue;
        }
        let e = it.next()?;
        let simple = match e {
            'a' => Some('\x07'),
            'b' => Some('\x08'),
            'f' => Some('\x0c'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\x0b'),
            '\\' => Some('\\'),
            '"' => Some('"'),
            _ => None,
        };
        if let Some(c) = simple {
            push(&mut out, c);
            continue;
        }
        match e {
            'x' => out.push(hex(&mut it, 2)? as u8),
            'u' => push(&mut out, char::from_u32(hex(&mut it, 4)?)?),
            'U' => push(&mut out, char::from_u32(hex(&mut it, 8)?)?),
            '0'..='7' => {
                let mut v = e.to_digit(8)?;
                for _ in 0..2 {
                    v = v * 8 + it.next()?.to_digit(8)?;
                }
                out.push(u8::try_from(v).ok()?);
            }
            _ => return None,
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

// ---------------------------------------------------------------- display

/// Go's `strconv.Quote`, close enough for label names and values.
pub fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One matcher as Alertmanager prints it (`name="value"`, quoted name when
/// it holds reserved characters).
pub fn format_matcher(m: &Matcher) -> String {
    if m.name.chars().any(is_reserved) {
        format!(
            "{}{}{}",
            go_quote(&m.name),
            m.op.as_str(),
            go_quote(&m.value)
        )
    } else {
        let v = m
            .value
            .replace('\\', "\\\\")
            .replace('\n', "\\n")
            .replace('"', "\\\"");
        format!("{}{}\"{}\"", m.name, m.op.as_str(), v)
    }
}

/// A matcher list as Alertmanager prints it: `{a="b",c=~"d"}`.
pub fn format_matchers(ms: &[Matcher]) -> String {
    let parts: Vec<String> = ms.iter().map(format_matcher).collect();
    format!("{{{}}}", parts.join(","))
}

fn op_rank(op: MatchOp) -> u8 {
    match op {
        MatchOp::Equal => 0,
        MatchOp::NotEqual => 1,
        MatchOp::Regex => 2,
        MatchOp::NotRegex => 3,
    }
}

/// Sorts like upstream's `labels.Matchers`: by name, value, then operator.
pub fn sort_matchers(ms: &mut [Matcher]) {
    ms.sort_by(|a, b| {
        a.name
            .cmp(&b.name)
            .then_with(|| a.value.cmp(&b.value))
            .then_with(|| op_rank(a.op).cmp(&op_rank(b.op)))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> (String, MatchOp, String) {
        let m = parse_matchers(s).unwrap();
        assert_eq!(m.len(), 1, "{s}");
        (m[0].name.clone(), m[0].op, m[0].value.clone())
    }

    #[test]
    fn classic_forms() {
        assert_eq!(one("foo=bar"), ("foo".into(), MatchOp::Equal, "bar".into()));
        assert_eq!(
            one(r#"foo="bar""#),
            ("foo".into(), MatchOp::Equal, "bar".into())
        );
        assert_eq!(
            one(r#"{foo!~"a.*"}"#),
            ("foo".into(), MatchOp::NotRegex, "a.*".into())
        );
        assert_eq!(
            one("foo = bar baz "),
            ("foo".into(), MatchOp::Equal, "bar baz".into())
        );
        assert_eq!(one(r#"foo="\n""#).2, "\n");
        assert_eq!(
            one(r#"foo=~^[12]$"#),
            ("foo".into(), MatchOp::Regex, "^[12]$".into())
        );
        assert_eq!(one("foo="), ("foo".into(), MatchOp::Equal, "".into()));
        // Unknown escapes are kept, like upstream's classic parser.
        assert_eq!(one(r#"foo="\d+""#).2, r"\d+");
    }

    #[test]
    fn lists_and_trailing_comma() {
        let ms = parse_matchers(r#"{a="1",b=~"x,y", c!=3}"#).unwrap();
        assert_eq!(ms.len(), 3);
        assert_eq!(ms[1].value, "x,y");
        assert_eq!(parse_utf8(r#"{a="1",}"#).unwrap().len(), 1);
        assert_eq!(parse_matchers("").unwrap().len(), 0);
    }

    #[test]
    fn utf8_only_inputs_fall_back_to_new_parser() {
        // A UTF-8 label name is not a classic name.
        let ms = parse_matchers(r#""föö bar"="x""#).unwrap();
        assert_eq!(ms[0].name, "föö bar");
        let ms = parse_matchers("{ 环境=生产 }").unwrap();
        assert_eq!(
            (ms[0].name.as_str(), ms[0].value.as_str()),
            ("环境", "生产")
        );
    }

    #[test]
    fn rejects_bad_input() {
        for bad in [r#"foo="bar"#, r#"foo="a"b""#, "=bar", "foo", r#"foo=~"(""#] {
            assert!(parse_matchers(bad).is_err(), "{bad}");
        }
        assert!(parse_utf8("foo=").is_err(), "new parser needs a value");
        assert!(parse_utf8("{foo=bar").is_err());
        assert!(parse_utf8("foo=bar}").is_err());
        // The classic parser strips one brace each side and keeps the rest.
        assert_eq!(parse_matchers("{foo=bar}}").unwrap()[0].value, "bar}");
    }

    #[test]
    fn single_matcher_rejects_braces() {
        assert!(parse_matcher("{a=b}").is_err());
        assert_eq!(parse_matcher("a=b").unwrap().value, "b");
    }

    #[test]
    fn go_unquote_escapes() {
        assert_eq!(
            go_unquote(r#""a\"b\\c\x41\u00e9""#).as_deref(),
            Some("a\"b\\cAé")
        );
        assert_eq!(go_unquote(r#""\q""#), None);
    }

    #[test]
    fn prints_like_alertmanager() {
        let mut ms = parse_matchers(r#"{b=~"x", a="1", "s p"="q"}"#).unwrap();
        sort_matchers(&mut ms);
        assert_eq!(format_matchers(&ms), r#"{a="1",b=~"x","s p"="q"}"#);
    }
}
