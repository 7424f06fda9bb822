//! Duration expressions (Prometheus feature `promql-duration-expr`):
//! arithmetic on durations inside range brackets, subquery range and step,
//! and after `offset`, e.g. `rate(x[26m+4m])` or `x offset (2 * 2)`.
//!
//! promql-parser does not implement them, so [`expand`] folds each such
//! expression into a plain millisecond duration before parsing. Numbers are
//! seconds, as in Prometheus.

use std::borrow::Cow;

/// Rewrites every duration expression in `query` to a literal duration.
/// Returns the query unchanged (borrowed) when there is none.
pub fn expand(query: &str) -> Result<Cow<'_, str>, String> {
    let b = query.as_bytes();
    let mut out = String::with_capacity(query.len());
    let mut changed = false;
    let mut i = 0;
    let mut last = 0;
    while i < b.len() {
        match b[i] {
            b'"' | b'\'' | b'`' => i = skip_string(b, i),
            b'#' => {
                // A comment runs to the end of the line.
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'{' => {
                // Label matchers: strings inside are skipped by the loop; the
                // braces themselves hold no durations.
                i += 1;
            }
            b'[' => {
                let close = find_close(b, i, b'[', b']').ok_or("unclosed bracket")?;
                let inner = &query[i + 1..close];
                let (range, step) = split_colon(inner);
                let range_new = fold_part(range)?;
                let step_new = match step {
                    Some(s) => Some(fold_part(s)?),
                    None => None,
                };
                if range_new.is_some() || step_new.as_ref().is_some_and(|s| s.is_some()) {
                    out.push_str(&query[last..=i]);
                    out.push_str(range_new.as_deref().unwrap_or(range));
                    if let Some(s) = step {
                        out.push(':');
                        out.push_str(step_new.flatten().as_deref().unwrap_or(s));
                    }
                    out.push(']');
                    last = close + 1;
                    changed = true;
                }
                i = close + 1;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b':')
                {
                    i += 1;
                }
                if query[start..i].eq_ignore_ascii_case("offset") {
                    if let Some((end, text)) = fold_offset(query, i)? {
                        out.push_str(&query[last..i]);
                        out.push(' ');
                        out.push_str(&text);
                        last = end;
                        i = end;
                        changed = true;
                    }
                }
            }
            _ => i += 1,
        }
    }
    if !changed {
        return Ok(Cow::Borrowed(query));
    }
    out.push_str(&query[last..]);
    Ok(Cow::Owned(out))
}

fn skip_string(b: &[u8], start: usize) -> usize {
    let q = b[start];
    let mut i = start + 1;
    while i < b.len() {
        if b[i] == b'\\' && q != b'`' {
            i += 2;
            continue;
        }
        if b[i] == q {
            return i + 1;
        }
        i += 1;
    }
    b.len()
}

fn find_close(b: &[u8], open_at: usize, open: u8, close: u8) -> Option<usize> {
    let mut depth = 0;
    let mut i = open_at;
    while i < b.len() {
        match b[i] {
            b'"' | b'\'' | b'`' => {
                i = skip_string(b, i);
                continue;
            }
            c if c == open => depth += 1,
            c if c == close => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Splits `range:step` at the top-level colon.
fn split_colon(s: &str) -> (&str, Option<&str>) {
    let mut depth = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ':' if depth == 0 => return (&s[..i], Some(&s[i + 1..])),
            _ => {}
        }
    }
    (s, None)
}

/// Folds one bracket part when it is an expression; `None` keeps it as written.
fn fold_part(part: &str) -> Result<Option<String>, String> {
    let t = part.trim();
    if t.is_empty() || !t.contains(['+', '-', '*', '/', '%', '^', '(']) {
        return Ok(None);
    }
    let secs = eval(t)?;
    if secs < 0.0 {
        return Err(format!("duration expression {t:?} is negative"));
    }
    Ok(Some(format_ms(secs)))
}

fn format_ms(secs: f64) -> String {
    let ms = (secs * 1000.0).round() as i64;
    if ms < 0 {
        format!("-{}ms", -ms)
    } else {
        format!("{ms}ms")
    }
}

/// After `offset`: `(expr)` or `-(expr)` are folded; a plain duration or
/// number is left for the parser, which binds it before any operator.
fn fold_offset(q: &str, mut i: usize) -> Result<Option<(usize, String)>, String> {
    let b = q.as_bytes();
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    let mut neg = false;
    let mut j = i;
    if j < b.len() && b[j] == b'-' {
        neg = true;
        j += 1;
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
    }
    if j >= b.len() || b[j] != b'(' {
        return Ok(None);
    }
    let close = find_close(b, j, b'(', b')').ok_or("unclosed parenthesis after offset")?;
    let mut secs = eval(&q[j..=close])?;
    if neg {
        secs = -secs;
    }
    Ok(Some((close + 1, format_ms(secs))))
}

/// Evaluates an arithmetic expression over durations and numbers, in seconds.
/// Precedence as in PromQL: `^` (right-assoc) > unary minus > `* / %` > `+ -`.
fn eval(s: &str) -> Result<f64, String> {
    let toks = tokenize(s)?;
    let mut p = Parser {
        toks: &toks,
        pos: 0,
    };
    let v = p.sum()?;
    if p.pos != toks.len() {
        return Err(format!("unexpected token in duration expression {s:?}"));
    }
    Ok(v)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Op(char),
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let b = s.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if b"+-*/%^()".contains(&c) {
            toks.push(Tok::Op(c as char));
            i += 1;
        } else if c.is_ascii_digit() || c == b'.' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                i += 1;
            }
            let word = &s[start..i];
            let v = match word.parse::<f64>() {
                Ok(n) => n,
                Err(_) => {
                    let ms =
                        crate::model::time::parse_duration_ms(word).map_err(|e| e.to_string())?;
                    ms as f64 / 1000.0
                }
            };
            toks.push(Tok::Num(v));
        } else {
            return Err(format!(
                "unexpected character {:?} in duration expression",
                c as char
            ));
        }
    }
    Ok(toks)
}

struct Parser<'a> {
    toks: &'a [Tok],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn eat(&mut self, op: char) -> bool {
        if self.peek() == Some(&Tok::Op(op)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn sum(&mut self) -> Result<f64, String> {
        let mut v = self.product()?;
        loop {
            if self.eat('+') {
                v += self.product()?;
            } else if self.eat('-') {
                v -= self.product()?;
            } else {
                return Ok(v);
            }
        }
    }

    fn product(&mut self) -> Result<f64, String> {
        let mut v = self.unary()?;
        loop {
            if self.eat('*') {
                v *= self.unary()?;
            } else if self.eat('/') {
                let d = self.unary()?;
                if d == 0.0 {
                    return Err("division by zero in duration expression".into());
                }
                v /= d;
            } else if self.eat('%') {
                let d = self.unary()?;
                if d == 0.0 {
                    return Err("modulo by zero in duration expression".into());
                }
                v %= d;
            } else {
                return Ok(v);
            }
        }
    }

    fn unary(&mut self) -> Result<f64, String> {
        if self.eat('-') {
            return Ok(-self.unary()?);
        }
        if self.eat('+') {
            return self.unary();
        }
        self.power()
    }

    fn power(&mut self) -> Result<f64, String> {
        let base = self.atom()?;
        if self.eat('^') {
            let exp = self.unary()?;
            return Ok(base.powf(exp));
        }
        Ok(base)
    }

    fn atom(&mut self) -> Result<f64, String> {
        match self.peek().cloned() {
            Some(Tok::Num(n)) => {
                self.pos += 1;
                Ok(n)
            }
            Some(Tok::Op('(')) => {
                self.pos += 1;
                let v = self.sum()?;
                if !self.eat(')') {
                    return Err("missing ) in duration expression".into());
                }
                Ok(v)
            }
            _ => Err("incomplete duration expression".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_range_and_subquery_parts() {
        assert_eq!(expand("rate(x[26m+4m])").unwrap(), "rate(x[1800000ms])");
        assert_eq!(expand("x[2m*(10+5)]").unwrap(), "x[1800000ms]");
        assert_eq!(expand("x[30m1s-30m1s % 1m]").unwrap(), "x[1800000ms]");
        assert_eq!(expand("x[24m+((1.5*2m)+2m)]").unwrap(), "x[1740000ms]");
        assert_eq!(
            expand("s(m[29s+1s:5s+5s])").unwrap(),
            "s(m[30000ms:10000ms])"
        );
        assert_eq!(expand("s(m[5m:])").unwrap(), "s(m[5m:])");
    }

    #[test]
    fn leaves_plain_queries_and_strings_alone() {
        assert!(matches!(
            expand(r#"x{a=~"[0-9]+-1"}[5m]"#).unwrap(),
            Cow::Borrowed(_)
        ));
        assert!(matches!(
            expand("x offset 5m + 2").unwrap(),
            Cow::Borrowed(_)
        ));
        assert!(matches!(
            expand("x offset -2 ^ 2").unwrap(),
            Cow::Borrowed(_)
        ));
        assert!(matches!(expand("x[1800]").unwrap(), Cow::Borrowed(_)));
    }

    #[test]
    fn folds_parenthesised_offsets_with_promql_precedence() {
        assert_eq!(expand("m offset (100 + 2)").unwrap(), "m offset 102000ms");
        assert_eq!(expand("m offset (2 ^ 2)").unwrap(), "m offset 4000ms");
        // Unary minus binds looser than ^: -(2^2).
        assert_eq!(expand("m offset (-2 ^ 2)").unwrap(), "m offset -4000ms");
        assert_eq!(expand("m offset -(2 * 2)").unwrap(), "m offset -4000ms");
    }

    #[test]
    fn rejects_nonsense() {
        assert!(expand("x[5m/0]").is_err());
        assert!(expand("x[5m+]").is_err());
        assert!(expand("x[-10m+5m]").is_err());
    }
}
