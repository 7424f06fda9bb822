//! Parser from tokens to a tree, following text/template/parse/parse.go.
//! It also does the checks Go does at parse time: functions must exist and
//! variables must be declared. `define`, `template` and `block` are rejected
//! because rule templates have no template set to call into.

use std::fmt;

use super::funcs;
use super::lex::{self, Keyword, Pos, Tok, Token};

/// Variables every rule template starts with (Prometheus prepends their
/// declarations to the text; see rules/alerting.go).
pub const PREDEFINED_VARS: [&str; 4] = ["$labels", "$externalLabels", "$externalURL", "$value"];

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Text(String),
    /// `{{ pipeline }}`: prints the value unless the pipeline declares variables.
    Action(Pipe),
    If(Control),
    With(Control),
    Range(Control),
    Break(Pos),
    Continue(Pos),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Control {
    pub pipe: Pipe,
    pub list: Vec<Node>,
    pub else_list: Option<Vec<Node>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pipe {
    pub pos: Pos,
    /// Declared (`:=`) or assigned (`=`) variables.
    pub decl: Vec<String>,
    pub is_assign: bool,
    pub cmds: Vec<Command>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub pos: Pos,
    pub args: Vec<Arg>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    pub pos: Pos,
    pub kind: ArgKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ArgKind {
    Dot,
    Nil,
    Bool(bool),
    /// Number as written and its value.
    Number(String, Const),
    /// String as written (quotes included) and its value.
    Str(String, String),
    /// `.A.B`
    Field(Vec<String>),
    /// `$x.A.B`
    Variable(String, Vec<String>),
    /// A function name.
    Ident(String),
    /// `( pipeline )`
    Pipe(Box<Pipe>),
    /// `(pipeline).A.B` or `func.A`
    Chain(Box<Arg>, Vec<String>),
}

/// The value of a number literal as Go gives it to an `any` parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Const {
    Int(i64),
    Float(f64),
}

/// A parse error at a byte offset of the template text.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub pos: Pos,
    pub msg: String,
}

type Result<T> = std::result::Result<T, ParseError>;

/// Parses template text into its top-level list of nodes.
pub fn parse(src: &str) -> Result<Vec<Node>> {
    let toks = lex::lex(src).map_err(|e| ParseError {
        pos: e.pos,
        msg: e.msg,
    })?;
    let mut vars = vec!["$".to_string()];
    vars.extend(PREDEFINED_VARS.iter().map(|v| v.to_string()));
    let mut p = Parser {
        toks,
        i: 0,
        vars,
        range_depth: 0,
        depth: 0,
    };
    let mut root = Vec::new();
    while p.peek().tok != Tok::Eof {
        match p.text_or_action()? {
            Item::Node(n) => root.push(n),
            Item::End(pos) => return p.err_at(pos, "unexpected {{end}}"),
            Item::Else(pos) => return p.err_at(pos, "unexpected {{else}}"),
        }
    }
    Ok(root)
}

enum Item {
    Node(Node),
    End(Pos),
    Else(Pos),
}

struct Parser {
    toks: Vec<Token>,
    i: usize,
    vars: Vec<String>,
    range_depth: usize,
    /// Nesting of controls and parentheses; bounded so the recursion is too.
    depth: usize,
}

/// Go's parser allows 10000 levels; we allow fewer so that parsing and
/// rendering stay well inside a thread's stack. Rule templates nest a few levels.
const MAX_DEPTH: usize = 100;

impl Parser {
    fn peek(&self) -> &Token {
        &self.toks[self.i.min(self.toks.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.i < self.toks.len() {
            self.i += 1;
        }
        t
    }

    fn skip_space(&mut self) {
        while self.peek().tok == Tok::Space {
            self.i += 1;
        }
    }

    fn peek_non_space(&mut self) -> &Token {
        self.skip_space();
        self.peek()
    }

    fn next_non_space(&mut self) -> Token {
        self.skip_space();
        self.next()
    }

    fn err_at<T>(&self, pos: Pos, msg: impl Into<String>) -> Result<T> {
        Err(ParseError {
            pos,
            msg: msg.into(),
        })
    }

    fn unexpected<T>(&self, t: &Token, context: &str) -> Result<T> {
        self.err_at(
            t.pos,
            format!("unexpected {} in {context}", describe(&t.tok)),
        )
    }

    fn expect_right_delim(&mut self, context: &str) -> Result<Token> {
        let t = self.next_non_space();
        if t.tok != Tok::RightDelim {
            return self.unexpected(&t, context);
        }
        Ok(t)
    }

    fn text_or_action(&mut self) -> Result<Item> {
        let t = self.next_non_space();
        match t.tok {
            Tok::Text(s) => Ok(Item::Node(Node::Text(s))),
            Tok::LeftDelim => self.action(),
            _ => self.unexpected(&t, "input"),
        }
    }

    /// Reads nodes up to `{{end}}` or `{{else}}`.
    fn item_list(&mut self) -> Result<(Vec<Node>, Item)> {
        let mut list = Vec::new();
        while self.peek_non_space().tok != Tok::Eof {
            match self.text_or_action()? {
                Item::Node(n) => list.push(n),
                other => return Ok((list, other)),
            }
        }
        let pos = self.peek().pos;
        self.err_at(pos, "unexpected EOF")
    }

    fn action(&mut self) -> Result<Item> {
        let t = self.peek_non_space().clone();
        if let Tok::Keyword(k) = t.tok {
            self.next();
            return match k {
                Keyword::If => Ok(Item::Node(Node::If(self.control("if")?))),
                Keyword::With => Ok(Item::Node(Node::With(self.control("with")?))),
                Keyword::Range => Ok(Item::Node(Node::Range(self.control("range")?))),
                Keyword::End => {
                    self.expect_right_delim("end")?;
                    Ok(Item::End(t.pos))
                }
                Keyword::Else => {
                    // `{{else if ...}}` / `{{else with ...}}` are read as `{{else}}{{if ...`.
                    let p = self.peek_non_space().clone();
                    if matches!(p.tok, Tok::Keyword(Keyword::If | Keyword::With)) {
                        return Ok(Item::Else(t.pos));
                    }
                    self.expect_right_delim("else")?;
                    Ok(Item::Else(t.pos))
                }
                Keyword::Break | Keyword::Continue => {
                    let name = k.name();
                    if self.range_depth == 0 {
                        return self.err_at(t.pos, format!("{{{{{name}}}}} outside {{{{range}}}}"));
                    }
                    self.expect_right_delim(name)?;
                    Ok(Item::Node(if k == Keyword::Break {
                        Node::Break(t.pos)
                    } else {
                        Node::Continue(t.pos)
                    }))
                }
                Keyword::Define | Keyword::Template | Keyword::Block => self.err_at(
                    t.pos,
                    format!("{{{{{}}}}} is not supported in rule templates", k.name()),
                ),
            };
        }
        let pipe = self.pipeline("command", true)?;
        Ok(Item::Node(Node::Action(pipe)))
    }

    fn control(&mut self, context: &str) -> Result<Control> {
        self.enter()?;
        let c = self.control_inner(context);
        self.depth -= 1;
        c
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let pos = self.peek().pos;
            self.depth -= 1;
            return self.err_at(pos, "max expression depth exceeded");
        }
        Ok(())
    }

    fn control_inner(&mut self, context: &str) -> Result<Control> {
        let vars_mark = self.vars.len();
        let pipe = self.pipeline(context, true)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let (list, next) = self.item_list()?;
        if context == "range" {
            self.range_depth -= 1;
        }
        let else_list = match next {
            Item::End(_) => None,
            Item::Else(_) => {
                let p = self.peek_non_space().tok.clone();
                if context == "if" && p == Tok::Keyword(Keyword::If) {
                    self.next();
                    Some(vec![Node::If(self.control("if")?)])
                } else if context == "with" && p == Tok::Keyword(Keyword::With) {
                    self.next();
                    Some(vec![Node::With(self.control("with")?)])
                } else {
                    let (l, next) = self.item_list()?;
                    match next {
                        Item::End(_) => Some(l),
                        Item::Else(pos) => return self.err_at(pos, "expected end; found {{else}}"),
                        Item::Node(_) => unreachable!("item_list returns at end or else"),
                    }
                }
            }
            Item::Node(_) => unreachable!("item_list returns at end or else"),
        };
        self.vars.truncate(vars_mark);
        Ok(Control {
            pipe,
            list,
            else_list,
        })
    }

    /// Parses `[decl] command { | command }` up to `}}` (or `)` when `!delim`).
    fn pipeline(&mut self, context: &str, delim: bool) -> Result<Pipe> {
        let start = self.peek_non_space().pos;
        let mut pipe = Pipe {
            pos: start,
            decl: Vec::new(),
            is_assign: false,
            cmds: Vec::new(),
        };
        // Declarations: `$x :=`, `$x =`, `$i, $e :=` (range only).
        loop {
            let save = self.i;
            let v = self.peek_non_space().clone();
            let Tok::Variable(name) = &v.tok else { break };
            self.next();
            let next = self.peek_non_space().clone();
            match next.tok {
                Tok::Declare | Tok::Assign => {
                    pipe.is_assign = next.tok == Tok::Assign;
                    self.next();
                    pipe.decl.push(name.clone());
                    self.vars.push(name.clone());
                    break;
                }
                Tok::Comma => {
                    self.next();
                    pipe.decl.push(name.clone());
                    self.vars.push(name.clone());
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().tok {
                            Tok::Variable(_) => continue,
                            _ => {
                                return self.err_at(next.pos, "range can only initialize variables")
                            }
                        }
                    }
                    return self.err_at(next.pos, format!("too many declarations in {context}"));
                }
                _ => {
                    self.i = save;
                    break;
                }
            }
        }
        if pipe.decl.len() == 2 && pipe.is_assign {
            // Go allows `$i, $e = range ...` too; both forms behave the same here.
        }
        loop {
            let t = self.peek_non_space().clone();
            match t.tok {
                Tok::RightDelim if delim => {
                    self.next();
                    break;
                }
                Tok::RightParen if !delim => break,
                Tok::Bool(_)
                | Tok::Dot
                | Tok::Field(_)
                | Tok::Ident(_)
                | Tok::Number(_)
                | Tok::Nil
                | Tok::Str(_)
                | Tok::Variable(_)
                | Tok::LeftParen => {
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return self.unexpected(&t, context),
            }
        }
        if pipe.cmds.is_empty() {
            return self.err_at(start, format!("missing value for {context}"));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args[0].kind,
                ArgKind::Bool(_)
                    | ArgKind::Dot
                    | ArgKind::Nil
                    | ArgKind::Number(..)
                    | ArgKind::Str(..)
            ) {
                return self.err_at(
                    c.pos,
                    format!("non executable command in pipeline stage {}", i + 1),
                );
            }
        }
        Ok(pipe)
    }

    fn command(&mut self) -> Result<Command> {
        let pos = self.peek_non_space().pos;
        let mut args = Vec::new();
        loop {
            self.skip_space();
            if let Some(a) = self.operand()? {
                args.push(a);
            }
            let t = self.next();
            match t.tok {
                Tok::Space => continue,
                Tok::RightDelim | Tok::RightParen => {
                    self.i -= 1;
                }
                Tok::Pipe => {}
                _ => return self.unexpected(&t, "operand"),
            }
            break;
        }
        if args.is_empty() {
            return self.err_at(pos, "empty command");
        }
        Ok(Command { pos, args })
    }

    fn operand(&mut self) -> Result<Option<Arg>> {
        let Some(term) = self.term()? else {
            return Ok(None);
        };
        let mut fields = Vec::new();
        // Go positions a chain (and the merged field or variable) at its first field.
        let chain_pos = self.peek().pos;
        while let Tok::Field(f) = &self.peek().tok {
            fields.push(f.clone());
            self.next();
        }
        if fields.is_empty() {
            return Ok(Some(term));
        }
        let kind = match term.kind {
            ArgKind::Field(mut f) => {
                f.extend(fields);
                ArgKind::Field(f)
            }
            ArgKind::Variable(v, mut f) => {
                f.extend(fields);
                ArgKind::Variable(v, f)
            }
            ArgKind::Bool(_)
            | ArgKind::Str(..)
            | ArgKind::Number(..)
            | ArgKind::Nil
            | ArgKind::Dot => {
                return self.err_at(
                    term.pos,
                    format!("unexpected . after term {:?}", Arg::to_string(&term)),
                );
            }
            _ => ArgKind::Chain(Box::new(term.clone()), fields),
        };
        Ok(Some(Arg {
            pos: chain_pos,
            kind,
        }))
    }

    fn term(&mut self) -> Result<Option<Arg>> {
        let t = self.next_non_space();
        let kind = match t.tok {
            Tok::Ident(name) => {
                if !funcs::is_function(&name) {
                    return self.err_at(t.pos, format!("function {name:?} not defined"));
                }
                ArgKind::Ident(name)
            }
            Tok::Dot => ArgKind::Dot,
            Tok::Nil => ArgKind::Nil,
            Tok::Variable(name) => {
                if !self.vars.contains(&name) {
                    return self.err_at(t.pos, format!("undefined variable {name:?}"));
                }
                ArgKind::Variable(name, Vec::new())
            }
            Tok::Field(f) => ArgKind::Field(vec![f]),
            Tok::Bool(b) => ArgKind::Bool(b),
            Tok::Number(text) => {
                let c = parse_number(&text).map_err(|msg| ParseError { pos: t.pos, msg })?;
                ArgKind::Number(text, c)
            }
            Tok::Str(quoted) => {
                let v = unquote(&quoted).map_err(|msg| ParseError { pos: t.pos, msg })?;
                ArgKind::Str(quoted, v)
            }
            Tok::LeftParen => {
                self.enter()?;
                let pipe = self.pipeline("parenthesized pipeline", false);
                self.depth -= 1;
                let pipe = pipe?;
                let close = self.next();
                if close.tok != Tok::RightParen {
                    return self.unexpected(&close, "parenthesized pipeline");
                }
                ArgKind::Pipe(Box::new(pipe))
            }
            _ => {
                self.i -= 1;
                return Ok(None);
            }
        };
        Ok(Some(Arg { pos: t.pos, kind }))
    }
}

/// How Go's parser names a token in "unexpected ..." errors.
fn describe(t: &Tok) -> String {
    let q = |s: &str| {
        if s.chars().count() > 10 {
            format!(
                "{}...",
                super::gofmt::quote(&s.chars().take(10).collect::<String>())
            )
        } else {
            super::gofmt::quote(s)
        }
    };
    match t {
        Tok::Eof => "EOF".into(),
        Tok::Keyword(k) => format!("<{}>", k.name()),
        Tok::Text(s) | Tok::Number(s) | Tok::Str(s) | Tok::Variable(s) | Tok::Ident(s) => q(s),
        Tok::Field(f) => q(&format!(".{f}")),
        Tok::Bool(b) => q(&b.to_string()),
        Tok::Nil => "<nil>".into(),
        Tok::LeftDelim => q("{{"),
        Tok::RightDelim => q("}}"),
        Tok::Space => q(" "),
        Tok::Dot => "<.>".into(),
        Tok::Pipe => q("|"),
        Tok::LeftParen => q("("),
        Tok::RightParen => q(")"),
        Tok::Declare => q(":="),
        Tok::Assign => q("="),
        Tok::Comma => q(","),
    }
}

/// Go number literal (or character constant) to the constant Go would use.
fn parse_number(text: &str) -> std::result::Result<Const, String> {
    let bad = || format!("illegal number syntax: {text:?}");
    if text.starts_with('\'') {
        let malformed = || format!("malformed character constant: {text}");
        let s = unquote(text).map_err(|_| malformed())?;
        let mut cs = s.chars();
        return match (cs.next(), cs.next()) {
            (Some(c), None) => Ok(Const::Int(c as i64)),
            _ => Err(malformed()),
        };
    }
    if text.ends_with('i') {
        return Err(format!("complex number {text} is not supported"));
    }
    let clean: String = text.chars().filter(|c| *c != '_').collect();
    let (neg, body) = match clean.strip_prefix('-') {
        Some(b) => (true, b.to_string()),
        None => (false, clean.strip_prefix('+').unwrap_or(&clean).to_string()),
    };
    let lower = body.to_ascii_lowercase();
    let radix_int = |digits: &str, radix: u32| -> std::result::Result<Const, String> {
        let overflow = || format!("integer overflow: {text:?}");
        if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
            return Err(bad());
        }
        let v = i128::from_str_radix(digits, radix).map_err(|_| overflow())?;
        let v = if neg { -v } else { v };
        i64::try_from(v).map(Const::Int).map_err(|_| overflow())
    };
    if let Some(h) = lower.strip_prefix("0x") {
        if h.contains(['.', 'p']) {
            return Err(format!(
                "hexadecimal floating-point number {text} is not supported"
            ));
        }
        return radix_int(h, 16);
    }
    if let Some(o) = lower.strip_prefix("0o") {
        return radix_int(o, 8);
    }
    if let Some(b) = lower.strip_prefix("0b") {
        return radix_int(b, 2);
    }
    if body.is_empty() || body.bytes().all(|b| b.is_ascii_digit()) {
        if body.is_empty() {
            return Err(bad());
        }
        if body.len() > 1 && body.starts_with('0') {
            return radix_int(&body[1..], 8);
        }
        return radix_int(&body, 10);
    }
    let valid = body
        .bytes()
        .all(|b| b.is_ascii_digit() || b".eE+-".contains(&b));
    match body.parse::<f64>() {
        Ok(v) if valid && v.is_finite() => Ok(Const::Float(if neg { -v } else { v })),
        _ => Err(bad()),
    }
}

/// Go's `strconv.Unquote` for "...", `...` and '...'.
pub fn unquote(q: &str) -> std::result::Result<String, String> {
    let bad = || "invalid syntax".to_string();
    if q.len() < 2 {
        return Err(bad());
    }
    let (open, body) = (q.as_bytes()[0], &q[1..q.len() - 1]);
    if open == b'`' {
        return Ok(body.replace('\r', ""));
    }
    let mut out = String::new();
    let mut cs = body.chars().peekable();
    while let Some(c) = cs.next() {
        if c != '\\' {
            if c as u32 == open as u32 {
                return Err(bad());
            }
            out.push(c);
            continue;
        }
        let e = cs.next().ok_or_else(bad)?;
        let mut hex = |n: usize| -> std::result::Result<u32, String> {
            let s: String = (0..n).filter_map(|_| cs.next()).collect();
            if s.len() != n {
                return Err(bad());
            }
            u32::from_str_radix(&s, 16).map_err(|_| bad())
        };
        match e {
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\x0b'),
            '\\' => out.push('\\'),
            '"' if open == b'"' => out.push('"'),
            '\'' if open == b'\'' => out.push('\''),
            'x' => {
                // A byte; only ASCII is representable in a Rust string.
                let v = hex(2)?;
                out.push(char::from_u32(v).filter(|_| v < 0x80).ok_or_else(bad)?);
            }
            'u' => out.push(char::from_u32(hex(4)?).ok_or_else(bad)?),
            'U' => out.push(char::from_u32(hex(8)?).ok_or_else(bad)?),
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    let d = cs.next().and_then(|c| c.to_digit(8)).ok_or_else(bad)?;
                    v = v * 8 + d;
                }
                out.push(char::from_u32(v).filter(|_| v < 0x80).ok_or_else(bad)?);
            }
            _ => return Err(bad()),
        }
    }
    Ok(out)
}

/// Writes nodes the way Go's `Node.String()` does; used in "at <...>" error context.
impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ArgKind::Dot => f.write_str("."),
            ArgKind::Nil => f.write_str("nil"),
            ArgKind::Bool(b) => write!(f, "{b}"),
            ArgKind::Number(t, _) | ArgKind::Str(t, _) => f.write_str(t),
            ArgKind::Field(fs) => fs.iter().try_for_each(|x| write!(f, ".{x}")),
            ArgKind::Variable(v, fs) => {
                f.write_str(v)?;
                fs.iter().try_for_each(|x| write!(f, ".{x}"))
            }
            ArgKind::Ident(n) => f.write_str(n),
            ArgKind::Pipe(p) => write!(f, "({p})"),
            ArgKind::Chain(a, fs) => {
                write!(f, "{a}")?;
                fs.iter().try_for_each(|x| write!(f, ".{x}"))
            }
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{a}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.decl.is_empty() {
            f.write_str(&self.decl.join(", "))?;
            f.write_str(" := ")?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(src: &str) -> String {
        parse(src).unwrap_err().msg
    }

    #[test]
    fn parses_pipelines_and_controls() {
        let t =
            parse(r#"{{ if gt $value 1.0 }}{{ $value | printf "%.2f" }}{{ else }}low{{ end }}"#)
                .unwrap();
        let Node::If(c) = &t[0] else { panic!("{t:?}") };
        assert_eq!(c.pipe.to_string(), "gt $value 1.0");
        assert!(c.else_list.is_some());
        let Node::Action(p) = &c.list[0] else {
            panic!()
        };
        assert_eq!(p.to_string(), r#"$value | printf "%.2f""#);
    }

    #[test]
    fn chains_merge_into_fields() {
        let t = parse("{{ $labels.job }}{{ .Labels.instance }}{{ (first $x).Value }}");
        assert_eq!(t.unwrap_err().msg, "undefined variable \"$x\"");
        let t = parse("{{ $labels.job }}{{ .Labels.instance }}").unwrap();
        let Node::Action(p) = &t[0] else { panic!() };
        assert_eq!(
            p.cmds[0].args[0].kind,
            ArgKind::Variable("$labels".into(), vec!["job".into()])
        );
    }

    #[test]
    fn go_parse_errors() {
        assert_eq!(err("{{ foo }}"), "function \"foo\" not defined");
        assert_eq!(err("{{ $x }}"), "undefined variable \"$x\"");
        assert_eq!(err("{{ if true }}"), "unexpected EOF");
        assert_eq!(err("{{ end }}"), "unexpected {{end}}");
        assert_eq!(err("{{ }}"), "missing value for command");
        assert_eq!(
            err("{{ 1 | 2 }}"),
            "non executable command in pipeline stage 2"
        );
        assert_eq!(err("{{ break }}"), "{{break}} outside {{range}}");
        assert_eq!(
            err("{{ define \"x\" }}{{ end }}"),
            "{{define}} is not supported in rule templates"
        );
        assert_eq!(
            err("{{ template \"x\" }}"),
            "{{template}} is not supported in rule templates"
        );
        assert_eq!(err("{{ $a, $b := 1 }}"), "too many declarations in command");
    }

    #[test]
    fn variables_scope_ends_with_control() {
        assert!(parse("{{ range $i, $e := $labels }}{{ $i }}{{ $e }}{{ end }}").is_ok());
        assert_eq!(
            err("{{ if true }}{{ $x := 1 }}{{ end }}{{ $x }}"),
            "undefined variable \"$x\""
        );
        assert!(parse("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}").is_ok());
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_number("1"), Ok(Const::Int(1)));
        assert_eq!(parse_number("1.0"), Ok(Const::Float(1.0)));
        assert_eq!(parse_number("1e3"), Ok(Const::Float(1000.0)));
        assert_eq!(parse_number("-0x10"), Ok(Const::Int(-16)));
        assert_eq!(parse_number("'a'"), Ok(Const::Int(97)));
        assert_eq!(parse_number("010"), Ok(Const::Int(8)));
        assert_eq!(
            parse_number("+"),
            Err("illegal number syntax: \"+\"".into())
        );
        assert_eq!(
            parse_number("1e"),
            Err("illegal number syntax: \"1e\"".into())
        );
        assert_eq!(
            parse_number("99999999999999999999"),
            Err("integer overflow: \"99999999999999999999\"".into())
        );
        assert_eq!(
            parse_number("'ab'"),
            Err("malformed character constant: 'ab'".into())
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let src = format!("{{{{ {}1{} }}}}", "(".repeat(5000), ")".repeat(5000));
        assert_eq!(err(&src), "max expression depth exceeded");
    }
}
