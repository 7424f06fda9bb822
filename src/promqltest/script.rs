//! Whole test scripts: `load`/`load_with_nhcb` blocks, `clear`, and `eval`
//! blocks with their expectations (README 1.2, 1.6-1.8). PromQL expressions
//! are kept as text; the caller parses them.

use super::{parse_duration, parse_number, parse_series, NotationError, SeriesDesc};
use crate::model::Labels;
use regex::Regex;
use std::sync::OnceLock;

/// A parsed script.
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    /// Commands in script order; `load`/`clear` state is sequential.
    pub commands: Vec<Command>,
}

/// One top-level command of a script.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `load` / `load_with_nhcb` with its series.
    Load(LoadCmd),
    /// Drop all loaded data. The field is the 1-based line.
    Clear(usize),
    /// An `eval` statement (boxed: it is much larger than the others).
    Eval(Box<EvalCmd>),
}

/// `load <interval>` (or `load_with_nhcb <interval>`) and its series.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadCmd {
    /// 1-based line of the command.
    pub line: usize,
    /// Distance between consecutive values of a series.
    pub interval_ms: i64,
    /// `load_with_nhcb`: classic histograms are also converted to NHCB.
    pub with_nhcb: bool,
    /// Each series with its 1-based line.
    pub series: Vec<(usize, SeriesDesc)>,
}

/// The query an eval runs; all times in ms since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalQuery {
    /// `eval instant at <at>`.
    Instant { at: i64 },
    /// `eval range from <start> to <end> step <step>`.
    Range { start: i64, end: i64, step: i64 },
}

/// An expected error or annotation text.
#[derive(Debug, Clone, PartialEq)]
pub enum MessageMatch {
    /// Must equal the text exactly (after trimming).
    Exact(String),
    /// Must match this (unanchored) regular expression.
    Regex(String),
}

impl MessageMatch {
    pub fn matches(&self, text: &str) -> bool {
        match self {
            MessageMatch::Exact(s) => s == text.trim(),
            MessageMatch::Regex(r) => Regex::new(r).is_ok_and(|re| re.is_match(text)),
        }
    }
}

/// What an eval says about one annotation kind (warnings or infos).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AnnotationExpect {
    /// `eval_warn`/`eval_info` prefix: at least one annotation of the kind.
    pub required: bool,
    /// `expect warn ...` lines; `None` is a bare `expect warn` (matches any).
    pub lines: Vec<Option<MessageMatch>>,
    /// `expect no_warn` / `expect no_info`.
    pub forbidden: bool,
}

impl AnnotationExpect {
    /// True if the eval says nothing about this kind (it is not checked).
    pub fn is_unchecked(&self) -> bool {
        !self.required && self.lines.is_empty() && !self.forbidden
    }
}

/// One expected series of an eval.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedSeries {
    /// 1-based line of the expectation.
    pub line: usize,
    /// Labels (compared exactly) and values (one per step).
    pub desc: SeriesDesc,
}

/// The expected result of an eval.
#[derive(Debug, Clone, PartialEq)]
pub enum ExpectedResult {
    /// A bare number: the result must be a scalar.
    Scalar(f64),
    /// Series lines, in order; empty means "no series".
    Series(Vec<ExpectedSeries>),
}

/// One `eval` statement.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalCmd {
    /// 1-based line of the eval command.
    pub line: usize,
    /// The PromQL expression, unparsed.
    pub expr: String,
    /// Instant or range, with its times.
    pub query: EvalQuery,
    /// `eval_fail` or `expect fail`.
    pub fail: bool,
    /// `expected_fail_message`/`_regexp` or `expect fail msg:/regex:`.
    pub fail_message: Option<MessageMatch>,
    /// `eval_ordered` or `expect ordered`.
    pub ordered: bool,
    /// Expectations about warning annotations.
    pub warn: AnnotationExpect,
    /// Expectations about info annotations.
    pub info: AnnotationExpect,
    /// The expected value (ignored when a failure is expected).
    pub expected: ExpectedResult,
}

impl EvalCmd {
    /// True if an expected value is a native histogram.
    pub fn expects_histograms(&self) -> bool {
        match &self.expected {
            ExpectedResult::Scalar(_) => false,
            ExpectedResult::Series(s) => s.iter().any(|e| e.desc.has_histograms()),
        }
    }

    /// Expected series label sets, for look-ups.
    pub fn expected_labels(&self) -> Vec<&Labels> {
        match &self.expected {
            ExpectedResult::Scalar(_) => Vec::new(),
            ExpectedResult::Series(s) => s.iter().map(|e| &e.desc.labels).collect(),
        }
    }
}

fn re_instant() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(r"^eval(?:_(fail|warn|ordered|info))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$")
            .expect("valid regex")
    })
}

fn re_range() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(
            r"^eval(?:_(fail|warn|info))?\s+range\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+?)\s+(.+)$",
        )
        .expect("valid regex")
    })
}

fn re_load() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| Regex::new(r"^load(?:_(with_nhcb))?\s+(.+?)$").expect("valid regex"))
}

fn script_err(line: usize, msg: impl Into<String>) -> NotationError {
    NotationError::Script {
        line,
        msg: msg.into(),
    }
}

/// Parses a bare-number expectation like upstream's `parseNumber`: a Go
/// integer literal first (`0x10`, `0o17`, `0b101`, `017` octal, `1_000`),
/// otherwise a float (`1e3`, `Inf`, `NaN`).
pub fn parse_scalar_line(s: &str) -> Option<f64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1
        && lower.starts_with('0')
        && lower.bytes().all(|c| c.is_ascii_digit() || c == b'_')
    {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    if !clean.is_empty() && !digits.starts_with('_') && !digits.ends_with('_') {
        if let Ok(n) = i64::from_str_radix(&clean, radix) {
            return Some(if neg { -(n as f64) } else { n as f64 });
        }
    }
    parse_number(s).ok()
}

fn parse_message(rest: &str, line: usize) -> Result<Option<MessageMatch>, NotationError> {
    let rest = rest.trim();
    if rest.is_empty() {
        return Ok(None);
    }
    if let Some(m) = rest.strip_prefix("msg:") {
        return Ok(Some(MessageMatch::Exact(m.trim().to_string())));
    }
    if let Some(r) = rest.strip_prefix("regex:") {
        let r = r.trim().to_string();
        Regex::new(&r)
            .map_err(|e| script_err(line, format!("invalid regex in expect line: {e}")))?;
        return Ok(Some(MessageMatch::Regex(r)));
    }
    Err(script_err(
        line,
        format!("expected 'msg:' or 'regex:' in expect line, got {rest:?}"),
    ))
}

/// Parses a whole script. Comment lines end blocks like empty lines do.
/// Any malformed line is an error (upstream rejects the whole file).
pub fn parse_script(text: &str) -> Result<Script, NotationError> {
    let lines: Vec<&str> = text
        .lines()
        .map(|l| {
            let t = l.trim();
            if t.starts_with('#') {
                ""
            } else {
                t
            }
        })
        .collect();
    let mut commands = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        if l.is_empty() {
            i += 1;
            continue;
        }
        let lineno = i + 1;
        let word = l
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        // Block body: following lines up to the first empty one.
        let mut j = i + 1;
        while j < lines.len() && !lines[j].is_empty() {
            j += 1;
        }
        let body: Vec<(usize, &str)> = (i + 1..j).map(|k| (k + 1, lines[k])).collect();
        if word == "clear" {
            if l != "clear" {
                return Err(script_err(lineno, "invalid clear command"));
            }
            commands.push(Command::Clear(lineno));
            i += 1;
        } else if word.starts_with("load") {
            commands.push(Command::Load(parse_load(lineno, l, &body)?));
            i = j;
        } else if word.starts_with("eval") {
            let (cmd, used) = parse_eval(lineno, l, &body)?;
            commands.push(Command::Eval(Box::new(cmd)));
            i += 1 + used;
        } else {
            return Err(script_err(lineno, format!("unknown command {l:?}")));
        }
    }
    Ok(Script { commands })
}

fn parse_load(lineno: usize, l: &str, body: &[(usize, &str)]) -> Result<LoadCmd, NotationError> {
    let caps = re_load()
        .captures(l)
        .ok_or_else(|| script_err(lineno, "invalid load command"))?;
    let interval_ms = parse_duration(&caps[2]).map_err(|e| e.at_line(lineno))?;
    let mut series = Vec::with_capacity(body.len());
    for &(n, text) in body {
        series.push((n, parse_series(text).map_err(|e| e.at_line(n))?));
    }
    Ok(LoadCmd {
        line: lineno,
        interval_ms,
        with_nhcb: caps.get(1).is_some(),
        series,
    })
}

/// Parses an eval command and its body; returns how many body lines it used
/// (lines after a block-ending line are left for the caller).
fn parse_eval(
    lineno: usize,
    l: &str,
    body: &[(usize, &str)],
) -> Result<(EvalCmd, usize), NotationError> {
    let at = |e: NotationError| e.at_line(lineno);
    let (modifier, query, expr) = if let Some(c) = re_instant().captures(l) {
        let t = c
            .get(2)
            .ok_or_else(|| script_err(lineno, "missing 'at' time in instant eval"))?;
        let at_ms = parse_duration(t.as_str()).map_err(at)?;
        (
            c.get(1).map(|m| m.as_str().to_string()),
            EvalQuery::Instant { at: at_ms },
            c[3].to_string(),
        )
    } else if let Some(c) = re_range().captures(l) {
        let start = parse_duration(&c[2]).map_err(at)?;
        let end = parse_duration(&c[3]).map_err(at)?;
        let step = parse_duration(&c[4]).map_err(at)?;
        if end < start {
            return Err(script_err(
                lineno,
                "invalid test definition, end timestamp is before start timestamp",
            ));
        }
        if step <= 0 {
            return Err(script_err(lineno, "step must be positive"));
        }
        (
            c.get(1).map(|m| m.as_str().to_string()),
            EvalQuery::Range { start, end, step },
            c[5].to_string(),
        )
    } else {
        return Err(script_err(lineno, format!("invalid eval command {l:?}")));
    };
    let mut cmd = EvalCmd {
        line: lineno,
        expr,
        query,
        fail: false,
        fail_message: None,
        ordered: false,
        warn: AnnotationExpect::default(),
        info: AnnotationExpect::default(),
        expected: ExpectedResult::Series(Vec::new()),
    };
    match modifier.as_deref() {
        Some("fail") => cmd.fail = true,
        Some("warn") => cmd.warn.required = true,
        Some("info") => cmd.info.required = true,
        Some("ordered") => cmd.ordered = true,
        _ => {}
    }
    let is_range = matches!(query, EvalQuery::Range { .. });
    let mut series: Vec<ExpectedSeries> = Vec::new();
    let mut used = 0;
    let mut seen_fail_expect = false;
    for &(n, text) in body {
        used += 1;
        if cmd.fail {
            if let Some(m) = text.strip_prefix("expected_fail_message") {
                cmd.fail_message = Some(MessageMatch::Exact(m.trim().to_string()));
                break;
            }
            if let Some(r) = text.strip_prefix("expected_fail_regexp") {
                let r = r.trim().to_string();
                Regex::new(&r)
                    .map_err(|e| script_err(n, format!("invalid expected_fail_regexp: {e}")))?;
                cmd.fail_message = Some(MessageMatch::Regex(r));
                break;
            }
        }
        if text.split_whitespace().next() == Some("expect") {
            let rest = text["expect".len()..].trim_start();
            let (kind, tail) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            match kind {
                "fail" => {
                    if seen_fail_expect {
                        return Err(script_err(n, "only one 'expect fail' line is allowed"));
                    }
                    seen_fail_expect = true;
                    cmd.fail = true;
                    cmd.fail_message = parse_message(tail, n)?;
                }
                "warn" => cmd.warn.lines.push(parse_message(tail, n)?),
                "info" => cmd.info.lines.push(parse_message(tail, n)?),
                "no_warn" => cmd.warn.forbidden = true,
                "no_info" => cmd.info.forbidden = true,
                "ordered" => cmd.ordered = true,
                _ => return Err(script_err(n, format!("invalid expect line {text:?}"))),
            }
            if (cmd.warn.forbidden && !cmd.warn.lines.is_empty())
                || (cmd.info.forbidden && !cmd.info.lines.is_empty())
            {
                return Err(script_err(
                    n,
                    "'warn'/'info' and 'no_warn'/'no_info' cannot be combined",
                ));
            }
            continue;
        }
        if let Some(v) = parse_scalar_line(text) {
            cmd.expected = ExpectedResult::Scalar(v);
            return finish(cmd, series, used, n);
        }
        let desc = parse_series(text).map_err(|e| e.at_line(n))?;
        if !is_range && desc.values.len() > 1 {
            return Err(script_err(
                n,
                "expecting multiple values in instant evaluation not allowed",
            ));
        }
        series.push(ExpectedSeries { line: n, desc });
    }
    let last = body.get(used.saturating_sub(1)).map_or(lineno, |b| b.0);
    finish(cmd, series, used, last)
}

fn finish(
    mut cmd: EvalCmd,
    series: Vec<ExpectedSeries>,
    used: usize,
    last_line: usize,
) -> Result<(EvalCmd, usize), NotationError> {
    if cmd.ordered && matches!(cmd.query, EvalQuery::Range { .. }) {
        return Err(script_err(
            last_line,
            "ordered results are not supported for range queries",
        ));
    }
    if matches!(cmd.expected, ExpectedResult::Scalar(_)) {
        if !series.is_empty() {
            return Err(script_err(
                last_line,
                "a scalar expectation cannot be mixed with series",
            ));
        }
    } else {
        cmd.expected = ExpectedResult::Series(series);
    }
    Ok((cmd, used))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promqltest::SequenceValue;

    fn eval(s: &Script, i: usize) -> &EvalCmd {
        match &s.commands[i] {
            Command::Eval(e) => e,
            c => panic!("command {i} is not an eval: {c:?}"),
        }
    }

    #[test]
    fn load_clear_and_comments() {
        let s = parse_script(
            "# header\nload 5m\n  a{x=\"1\"} 0+1x2\n\tb 1 _ stale\n# end\n\nclear\nload_with_nhcb 1m\n  c_bucket{le=\"1\"} 1\n",
        )
        .unwrap();
        assert_eq!(s.commands.len(), 3);
        match &s.commands[0] {
            Command::Load(l) => {
                assert_eq!(l.line, 2);
                assert_eq!(l.interval_ms, 300_000);
                assert!(!l.with_nhcb);
                assert_eq!(l.series.len(), 2);
                assert_eq!(l.series[1].0, 4);
            }
            c => panic!("{c:?}"),
        }
        assert_eq!(s.commands[1], Command::Clear(7));
        assert!(
            matches!(&s.commands[2], Command::Load(l) if l.with_nhcb && l.interval_ms == 60_000)
        );
    }

    #[test]
    fn comment_ends_a_block() {
        // The `b` line after the comment would be an unknown command.
        assert!(parse_script("load 1m\n a 1\n# c\n b 1\n").is_err());
    }

    #[test]
    fn instant_and_range_evals() {
        let s = parse_script(
            "eval instant at 1m30s sum by (job) (x)\n  {job=\"a\"} 3\n  {job=\"b\"} 4\n\n\
             eval range from 0 to 2m step 1m x\n  x 1 _ 3\n  y 1+1x2\n",
        )
        .unwrap();
        let e = eval(&s, 0);
        assert_eq!(e.query, EvalQuery::Instant { at: 90_000 });
        assert_eq!(e.expr, "sum by (job) (x)");
        assert_eq!(e.expected_labels().len(), 2);
        let r = eval(&s, 1);
        assert_eq!(
            r.query,
            EvalQuery::Range {
                start: 0,
                end: 120_000,
                step: 60_000
            }
        );
        assert_eq!(r.expr, "x");
        match &r.expected {
            ExpectedResult::Series(v) => {
                assert_eq!(v[0].desc.values[1], SequenceValue::Omitted);
                assert_eq!(v[1].desc.values.len(), 3);
                assert_eq!(v[1].line, 7);
            }
            x => panic!("{x:?}"),
        }
    }

    #[test]
    fn modifiers_and_expect_lines() {
        let s = parse_script(
            "eval_fail instant at 0 a\n  expected_fail_message vector cannot contain metrics with the same labelset\n\n\
             eval_ordered instant at 0 sort(a)\n  a 1\n\n\
             eval_warn instant at 0 a\n\n\
             eval_info range from 0 to 1m step 1m a\n  expect no_warn\n\n\
             eval instant at 0 a\n  expect warn msg: PromQL warning: x\n  expect info regex: foo.*\n  expect no_info\n",
        );
        // `info` lines and `no_info` together are rejected.
        assert!(s.is_err());
        let s = parse_script(
            "eval_fail instant at 0 a\n  expected_fail_message vector cannot contain metrics with the same labelset\n\n\
             eval_ordered instant at 0 sort(a)\n  a 1\n\n\
             eval_warn instant at 0 a\n\n\
             eval_info range from 0 to 1m step 1m a\n  expect no_warn\n\n\
             eval instant at 0 a\n  expect warn msg: PromQL warning: x\n  expect info regex: foo.*\n  expect fail\n  expect ordered\n",
        )
        .unwrap();
        let e = eval(&s, 0);
        assert!(e.fail);
        assert_eq!(
            e.fail_message,
            Some(MessageMatch::Exact(
                "vector cannot contain metrics with the same labelset".into()
            ))
        );
        assert!(eval(&s, 1).ordered);
        assert!(eval(&s, 2).warn.required && eval(&s, 2).info.is_unchecked());
        let i = eval(&s, 3);
        assert!(i.info.required && i.warn.forbidden);
        let m = eval(&s, 4);
        assert_eq!(
            m.warn.lines,
            vec![Some(MessageMatch::Exact("PromQL warning: x".into()))]
        );
        assert_eq!(
            m.info.lines,
            vec![Some(MessageMatch::Regex("foo.*".into()))]
        );
        assert!(m.fail && m.ordered && m.fail_message.is_none());
        assert_eq!(m.expected, ExpectedResult::Series(vec![]));
    }

    #[test]
    fn scalar_lines_like_go_parse_number() {
        for (s, want) in [
            ("2", 2.0),
            ("-Inf", f64::NEG_INFINITY),
            ("0x10", 16.0),
            ("0o17", 15.0),
            ("0b101", 5.0),
        ] {
            assert_eq!(parse_scalar_line(s), Some(want), "{s}");
        }
        assert_eq!(parse_scalar_line("017"), Some(15.0));
        assert_eq!(parse_scalar_line("1e3"), Some(1000.0));
        assert!(parse_scalar_line("NaN").is_some_and(f64::is_nan));
        assert_eq!(parse_scalar_line("{} 1"), None);
        assert_eq!(parse_scalar_line("up"), None);
        let s = parse_script("eval instant at 5m time()\n  300\n").unwrap();
        assert_eq!(eval(&s, 0).expected, ExpectedResult::Scalar(300.0));
    }

    #[test]
    fn script_errors() {
        for bad in [
            "foo\n",
            "eval instant a\n",
            "eval instant at 1x a\n",
            "eval range from 2m to 1m step 1m a\n",
            "eval instant at 0 a\n  a 1 2\n",
            "eval_ordered range from 0 to 1m step 1m a\n",
            "eval instant at 0 a\n  expect bogus\n",
            "eval instant at 0 a\n  expect fail\n  expect fail\n",
            "load 1m\n  a 1+\n",
            "load\n",
            "clear all\n",
        ] {
            assert!(parse_script(bad).is_err(), "{bad:?} should be rejected");
        }
        let e = parse_script("load 1m\n  ok 1\n  bad{ 1\n").unwrap_err();
        assert!(e.to_string().starts_with("line 3:"), "{e}");
    }

    #[test]
    fn block_ending_lines_leave_the_rest_to_the_script() {
        // After a scalar line the block is over; the next line must be a command.
        assert!(parse_script("eval instant at 0 1\n  1\n  x 2\n").is_err());
        let s = parse_script("eval instant at 0 1\n  1\neval instant at 0 2\n  2\n").unwrap();
        assert_eq!(s.commands.len(), 2);
    }
}
