//! Tokenizer for Go template text, following text/template/parse/lex.go:
//! `{{`/`}}` with trim markers (`{{- `, ` -}}`), comments, and the tokens
//! inside actions. Trim markers are applied here, so the parser sees text
//! already trimmed.

/// Byte offset into the template source.
pub type Pos = usize;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Text(String),
    LeftDelim,
    RightDelim,
    Space,
    /// A function name.
    Ident(String),
    /// `.Name` (one element; chains are several tokens).
    Field(String),
    /// `$` or `$name`.
    Variable(String),
    Dot,
    Pipe,
    LeftParen,
    RightParen,
    Declare,
    Assign,
    Comma,
    Bool(bool),
    Nil,
    /// Number or character constant, as written.
    Number(String),
    /// Quoted or raw string, as written (quotes included).
    Str(String),
    Keyword(Keyword),
    Eof,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    Block,
    Break,
    Continue,
    Define,
    Else,
    End,
    If,
    Range,
    Template,
    With,
}

impl Keyword {
    fn from_word(w: &str) -> Option<Keyword> {
        Some(match w {
            "block" => Keyword::Block,
            "break" => Keyword::Break,
            "continue" => Keyword::Continue,
            "define" => Keyword::Define,
            "else" => Keyword::Else,
            "end" => Keyword::End,
            "if" => Keyword::If,
            "range" => Keyword::Range,
            "template" => Keyword::Template,
            "with" => Keyword::With,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Keyword::Block => "block",
            Keyword::Break => "break",
            Keyword::Continue => "continue",
            Keyword::Define => "define",
            Keyword::Else => "else",
            Keyword::End => "end",
            Keyword::If => "if",
            Keyword::Range => "range",
            Keyword::Template => "template",
            Keyword::With => "with",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub pos: Pos,
}

/// A lexing error at a byte offset.
#[derive(Debug, Clone, PartialEq)]
pub struct LexError {
    pub pos: Pos,
    pub msg: String,
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    out: Vec<Token>,
    paren_depth: usize,
}

/// Splits `src` into tokens; the last token is `Eof`.
pub fn lex(src: &str) -> Result<Vec<Token>, LexError> {
    let mut l = Lexer {
        src,
        pos: 0,
        out: Vec::new(),
        paren_depth: 0,
    };
    l.run()?;
    Ok(l.out)
}

impl<'a> Lexer<'a> {
    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn err<T>(&self, pos: usize, msg: impl Into<String>) -> Result<T, LexError> {
        Err(LexError {
            pos,
            msg: msg.into(),
        })
    }

    fn emit(&mut self, tok: Tok, pos: usize) {
        self.out.push(Token { tok, pos });
    }

    fn run(&mut self) -> Result<(), LexError> {
        let mut trim_next_text = false;
        loop {
            let start = self.pos;
            let rest = self.rest();
            let (text_end, found) = match rest.find("{{") {
                Some(i) => (start + i, true),
                None => (self.src.len(), false),
            };
            let mut text = &self.src[start..text_end];
            if trim_next_text {
                text = text.trim_start_matches(|c: char| c.is_ascii() && is_space(c as u8));
            }
            let text_pos = text_end - text.len();
            let left_trim = found && has_left_trim(&self.src[text_end + 2..]);
            if left_trim {
                text = text.trim_end_matches(|c: char| c.is_ascii() && is_space(c as u8));
            }
            if !text.is_empty() {
                self.emit(Tok::Text(text.to_string()), text_pos);
            }
            if !found {
                self.emit(Tok::Eof, self.src.len());
                return Ok(());
            }
            self.pos = text_end + 2;
            if left_trim {
                self.pos += 2;
            }
            // A comment must sit right inside the delimiters.
            if self.rest().starts_with("/*") {
                trim_next_text = self.comment(text_end)?;
                continue;
            }
            self.emit(Tok::LeftDelim, text_end);
            trim_next_text = self.inside_action()?;
        }
    }

    /// Skips a comment; returns whether the closing delimiter trims.
    fn comment(&mut self, delim_pos: usize) -> Result<bool, LexError> {
        let Some(end) = self.rest().find("*/") else {
            return self.err(delim_pos, "unclosed comment");
        };
        self.pos += end + 2;
        let rest = self.rest();
        if has_right_trim(rest) && rest[2..].starts_with("}}") {
            self.pos += 4;
            return Ok(true);
        }
        if rest.starts_with("}}") {
            self.pos += 2;
            return Ok(false);
        }
        self.err(delim_pos, "comment ends before closing delimiter")
    }

    /// Lexes one action up to and including `}}`; returns whether it trims.
    fn inside_action(&mut self) -> Result<bool, LexError> {
        loop {
            let rest = self.rest();
            let start = self.pos;
            let right_trim = has_right_trim(rest) && rest[2..].starts_with("}}");
            if right_trim || rest.starts_with("}}") {
                if self.paren_depth > 0 {
                    return self.err(start, "unclosed left paren");
                }
                if right_trim {
                    self.pos += 2;
                }
                self.emit(Tok::RightDelim, self.pos);
                self.pos += 2;
                return Ok(right_trim);
            }
            let Some(c) = rest.chars().next() else {
                return self.err(start, "unclosed action");
            };
            match c {
                ' ' | '\t' | '\r' | '\n' => {
                    let mut n = rest.bytes().take_while(|b| is_space(*b)).count();
                    // Leave the space of a right trim marker (` -}}`) for the check above.
                    if rest[n..].starts_with("-}}") {
                        n -= 1;
                    }
                    if n > 0 {
                        self.pos += n;
                        self.emit(Tok::Space, start);
                    }
                }
                '=' => {
                    self.pos += 1;
                    self.emit(Tok::Assign, start);
                }
                ':' => {
                    if !rest.starts_with(":=") {
                        return self.err(start, "expected :=");
                    }
                    self.pos += 2;
                    self.emit(Tok::Declare, start);
                }
                '|' => {
                    self.pos += 1;
                    self.emit(Tok::Pipe, start);
                }
                ',' => {
                    self.pos += 1;
                    self.emit(Tok::Comma, start);
                }
                '"' => self.quoted(start)?,
                '`' => {
                    let Some(end) = rest[1..].find('`') else {
                        return self.err(start, "unterminated raw quoted string");
                    };
                    self.pos += end + 2;
                    self.emit(Tok::Str(self.src[start..self.pos].to_string()), start);
                }
                '\'' => self.char_constant(start)?,
                '$' => {
                    self.pos += 1;
                    self.word();
                    let name = self.src[start..self.pos].to_string();
                    self.check_terminator()?;
                    self.emit(Tok::Variable(name), start);
                }
                '.' => {
                    let next = rest[1..].chars().next();
                    if next.is_some_and(|n| n.is_ascii_digit()) {
                        self.number(start)?;
                    } else if next.is_some_and(is_alnum) {
                        self.pos += 1;
                        self.word();
                        let name = self.src[start + 1..self.pos].to_string();
                        self.check_terminator()?;
                        self.emit(Tok::Field(name), start);
                    } else {
                        self.pos += 1;
                        self.emit(Tok::Dot, start);
                    }
                }
                '+' | '-' | '0'..='9' => self.number(start)?,
                '(' => {
                    self.pos += 1;
                    self.paren_depth += 1;
                    self.emit(Tok::LeftParen, start);
                }
                ')' => {
                    if self.paren_depth == 0 {
                        return self.err(start, "unexpected right paren");
                    }
                    self.pos += 1;
                    self.paren_depth -= 1;
                    self.emit(Tok::RightParen, start);
                }
                c if is_alnum(c) => {
                    self.word();
                    let w = &self.src[start..self.pos];
                    self.check_terminator()?;
                    let tok = match w {
                        "true" => Tok::Bool(true),
                        "false" => Tok::Bool(false),
                        "nil" => Tok::Nil,
                        _ => match Keyword::from_word(w) {
                            Some(k) => Tok::Keyword(k),
                            None => Tok::Ident(w.to_string()),
                        },
                    };
                    self.emit(tok, start);
                }
                // Go lexes other printable ASCII as a token the parser then rejects.
                c if c.is_ascii_graphic() => {
                    return self.err(start, format!("unexpected {:?} in command", c.to_string()));
                }
                c => {
                    return self.err(
                        start,
                        format!("unrecognized character in action: {}", go_rune(c)),
                    );
                }
            }
        }
    }

    fn word(&mut self) {
        let n: usize = self
            .rest()
            .chars()
            .take_while(|c| is_alnum(*c))
            .map(char::len_utf8)
            .sum();
        self.pos += n;
    }

    /// After a word, only a space, `.`, `,`, `|`, `:`, `)`, `(` or the end may follow.
    fn check_terminator(&self) -> Result<(), LexError> {
        let rest = self.rest();
        match rest.chars().next() {
            None => Ok(()),
            Some(' ' | '\t' | '\r' | '\n' | '.' | ',' | '|' | ':' | ')' | '(') => Ok(()),
            Some(_) if rest.starts_with("}}") => Ok(()),
            Some(c) => self.err(self.pos, format!("bad character {}", go_rune(c))),
        }
    }

    fn quoted(&mut self, start: usize) -> Result<(), LexError> {
        let bytes = self.src.as_bytes();
        let mut i = start + 1;
        loop {
            match bytes.get(i) {
                None | Some(b'\n') => return self.err(start, "unterminated quoted string"),
                Some(b'\\') => i += 2,
                Some(b'"') => break,
                Some(_) => i += 1,
            }
        }
        self.pos = i + 1;
        self.emit(Tok::Str(self.src[start..self.pos].to_string()), start);
        Ok(())
    }

    fn char_constant(&mut self, start: usize) -> Result<(), LexError> {
        let bytes = self.src.as_bytes();
        let mut i = start + 1;
        loop {
            match bytes.get(i) {
                None | Some(b'\n') => return self.err(start, "unterminated character constant"),
                Some(b'\\') => i += 2,
                Some(b'\'') => break,
                Some(_) => i += 1,
            }
        }
        self.pos = i + 1;
        self.emit(Tok::Number(self.src[start..self.pos].to_string()), start);
        Ok(())
    }

    /// Scans a number loosely (like Go's scanNumber); the parser validates it.
    fn number(&mut self, start: usize) -> Result<(), LexError> {
        let bytes = self.src.as_bytes();
        let mut i = start;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let mut digits = "0123456789_";
        if bytes.get(i) == Some(&b'0') {
            match bytes.get(i + 1) {
                Some(b'x' | b'X') => {
                    i += 2;
                    digits = "0123456789abcdefABCDEF_";
                }
                Some(b'o' | b'O') => {
                    i += 2;
                    digits = "01234567_";
                }
                Some(b'b' | b'B') => {
                    i += 2;
                    digits = "01_";
                }
                _ => {}
            }
        }
        let take = |i: &mut usize, set: &str| {
            while bytes.get(*i).is_some_and(|b| set.as_bytes().contains(b)) {
                *i += 1;
            }
        };
        take(&mut i, digits);
        if bytes.get(i) == Some(&b'.') {
            i += 1;
            take(&mut i, digits);
        }
        let exp = if digits.len() == 11 { b"eE" } else { b"pP" };
        if bytes.get(i).is_some_and(|b| exp.contains(b)) {
            i += 1;
            if matches!(bytes.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            take(&mut i, "0123456789_");
        }
        if bytes.get(i) == Some(&b'i') {
            i += 1;
        }
        let next = self.src[i..].chars().next();
        if next.is_some_and(is_alnum) {
            let end = i + next.map(char::len_utf8).unwrap_or(0);
            return self.err(
                start,
                format!("bad number syntax: {:?}", &self.src[start..end]),
            );
        }
        self.pos = i;
        self.emit(Tok::Number(self.src[start..i].to_string()), start);
        Ok(())
    }
}

fn has_left_trim(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0] == b'-' && is_space(b[1])
}

fn has_right_trim(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && is_space(b[0]) && b[1] == b'-'
}

/// Go's `%#U` of a rune: `U+0021 '!'`.
pub fn go_rune(c: char) -> String {
    format!("U+{:04X} '{}'", c as u32, c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        lex(src).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn trim_markers_and_comments() {
        assert_eq!(
            toks("a  {{- 1 -}}  b {{/* c */}} d {{- /* e */ -}}\n f"),
            vec![
                Tok::Text("a".into()),
                Tok::LeftDelim,
                Tok::Number("1".into()),
                Tok::RightDelim,
                Tok::Text("b ".into()),
                Tok::Text(" d".into()),
                Tok::Text("f".into()),
                Tok::Eof,
            ]
        );
    }

    #[test]
    fn negative_number_is_not_a_trim_marker() {
        assert_eq!(
            toks("{{-3}}"),
            vec![
                Tok::LeftDelim,
                Tok::Number("-3".into()),
                Tok::RightDelim,
                Tok::Eof
            ]
        );
    }

    #[test]
    fn fields_variables_and_declarations() {
        assert_eq!(
            toks("{{$x := $labels.job}}"),
            vec![
                Tok::LeftDelim,
                Tok::Variable("$x".into()),
                Tok::Space,
                Tok::Declare,
                Tok::Space,
                Tok::Variable("$labels".into()),
                Tok::Field("job".into()),
                Tok::RightDelim,
                Tok::Eof,
            ]
        );
    }

    #[test]
    fn errors() {
        assert_eq!(lex("{{ 1").unwrap_err().msg, "unclosed action");
        assert_eq!(lex("{{ (1 }}").unwrap_err().msg, "unclosed left paren");
        assert_eq!(
            lex("{{ # }}").unwrap_err().msg,
            "unexpected \"#\" in command"
        );
        assert_eq!(
            lex("{{ \u{7f} }}").unwrap_err().msg,
            "unrecognized character in action: U+007F '\u{7f}'"
        );
        assert_eq!(
            lex("{{ \"a }}").unwrap_err().msg,
            "unterminated quoted string"
        );
        assert_eq!(
            lex("{{/* a */ x}}").unwrap_err().msg,
            "comment ends before closing delimiter"
        );
    }
}
