//! Parser for the Prometheus text exposition format 0.0.4 and OpenMetrics 1.0
//! text, written after Prometheus's `model/textparse` (promparse.go,
//! openmetricsparse.go). Histograms and summaries are read as the classic
//! `_bucket{le}`/`_sum`/`_count`/`{quantile}` series Prometheus stores.
//!
//! Decisions, checked against Prometheus 3:
//! - OpenMetrics `_created` samples are kept as ordinary series: Prometheus
//!   only drops them with the created-timestamp feature flag, and
//!   `promtool tsdb create-blocks-from openmetrics` keeps them too.
//! - `le` (histograms) and `quantile` (summaries) label values are normalised
//!   to OpenMetrics float form (`le="1"` becomes `le="1.0"`), as Prometheus 3
//!   does on ingestion, so queries written against Prometheus match.
//! - Exemplars (`# {trace_id="x"} 1.0`) are parsed past and dropped.
//! - Stricter than a scrape, like the client library's text parser: a second
//!   `# TYPE`/`# HELP` for a name, or a `# TYPE` after samples of its family,
//!   is an error, because a snapshot is hand-edited and such files are wrong.

use super::spec::{is_label_name, is_metric_name};
use crate::model::store::FxBuild;
use crate::model::{Labels, Timestamp, METRIC_NAME};
use std::collections::{HashMap, HashSet};

/// Which text format a file is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text format 0.0.4: timestamps are integer milliseconds.
    Text,
    /// OpenMetrics 1.0: timestamps are float seconds, `# EOF` ends the file.
    OpenMetrics,
}

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedSample {
    pub labels: Labels,
    /// Explicit timestamp in ms, if the line had one.
    pub t: Option<Timestamp>,
    pub v: f64,
    /// 1-based line number, for later error messages.
    pub line: usize,
}

/// A malformed line: its 1-based number and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct LineError {
    pub line: usize,
    pub msg: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MetricType {
    Counter,
    Gauge,
    Histogram,
    GaugeHistogram,
    Summary,
    Info,
    StateSet,
    Unknown,
}

impl MetricType {
    fn parse(s: &str, format: Format) -> Option<MetricType> {
        Some(match (s, format) {
            ("counter", _) => MetricType::Counter,
            ("gauge", _) => MetricType::Gauge,
            ("histogram", _) => MetricType::Histogram,
            ("summary", _) => MetricType::Summary,
            ("untyped", Format::Text) | ("unknown", Format::OpenMetrics) => MetricType::Unknown,
            ("gaugehistogram", Format::OpenMetrics) => MetricType::GaugeHistogram,
            ("info", Format::OpenMetrics) => MetricType::Info,
            ("stateset", Format::OpenMetrics) => MetricType::StateSet,
            _ => return None,
        })
    }
}

/// Sample-name suffixes that belong to a metric family (`x_bucket` to `x`).
const FAMILY_SUFFIXES: &[&str] = &[
    "_bucket", "_sum", "_count", "_total", "_created", "_info", "_gsum", "_gcount",
];

/// Parses a whole file. Returns the samples in file order, or the first
/// malformed line.
pub fn parse(src: &str, format: Format) -> Result<Vec<ParsedSample>, LineError> {
    let mut p = Parser::new(format);
    for_each_line(src, format, |line, n| {
        if let Some(mut sample) = p.line(line).map_err(|msg| LineError { line: n, msg })? {
            sample.line = n;
            p.samples.push(sample);
        }
        Ok(())
    })?;
    Ok(p.samples)
}

/// One series of a file and its samples, in line order.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedSeries {
    pub labels: Labels,
    /// `(explicit timestamp in ms, value, 1-based line)`.
    pub samples: Vec<(Option<Timestamp>, f64, usize)>,
}

/// Like [`parse`], grouped by series (in order of first appearance), with
/// the same errors. A snapshot with history repeats every label set once per
/// sample; building it once per series is what keeps loading a large file
/// fast and small. A line whose series text is byte-for-byte the previous
/// line's (the usual layout) skips label parsing altogether.
pub fn parse_series(src: &str, format: Format) -> Result<Vec<ParsedSeries>, LineError> {
    if let Some(series) = parse_halves(src, format) {
        return Ok(series);
    }
    parse_part(src, format, Part::Whole).map(|(series, _)| series)
}

/// Files at least this large are parsed in two halves at once.
const PARALLEL_BYTES: usize = 4 << 20;

/// Which part of a file [`parse_part`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Whole,
    /// The first half: no `# EOF` expected.
    Head,
    /// The second half, starting after the head's last line.
    Tail {
        first_line: usize,
    },
}

/// Parses a large file as two halves split before a `# TYPE` line, on two
/// threads. `None` when there is no such split, a half fails, or the halves
/// share a metric name or metadata: the caller then parses the whole file,
/// which gives exactly the result and first error of one pass.
fn parse_halves(src: &str, format: Format) -> Option<Vec<ParsedSeries>> {
    if src.len() < PARALLEL_BYTES || crate::parallel::cores() < 2 {
        return None;
    }
    // A `# TYPE` line sets the type that later `le`/`quantile` values are
    // read with, so a half starting there needs nothing from before it.
    let mid = src.len() / 2;
    let at = src[mid..].find("\n# TYPE ").map(|i| mid + i + 1)?;
    let (head, tail) = src.split_at(at);
    let first_line = head.bytes().filter(|&b| b == b'\n').count();
    let (head, tail) = crate::parallel::join(
        || parse_part(head, format, Part::Head),
        || parse_part(tail, format, Part::Tail { first_line }),
    );
    let ((mut series, hp), (more, tp)) = (head.ok()?, tail.ok()?);
    let family_typed_in_tail = |name: &String| {
        tp.types.contains_key(name)
            || FAMILY_SUFFIXES.iter().any(|sfx| {
                name.strip_suffix(sfx)
                    .is_some_and(|stem| tp.types.contains_key(stem))
            })
    };
    let shared = hp.seen_names.iter().any(|n| tp.seen_names.contains(n))
        || hp.types.keys().any(|n| tp.types.contains_key(n))
        || hp.helps.iter().any(|n| tp.helps.contains(n))
        || hp.units.iter().any(|n| tp.units.contains(n))
        || hp.seen_names.iter().any(family_typed_in_tail);
    if shared {
        return None;
    }
    series.extend(more);
    Some(series)
}

/// [`parse_series`] over one part of a file; also gives the parser, whose
/// metadata [`parse_halves`] compares.
fn parse_part(
    src: &str,
    format: Format,
    part: Part,
) -> Result<(Vec<ParsedSeries>, Parser), LineError> {
    let mut p = Parser::new(format);
    let mut series: Vec<ParsedSeries> = Vec::new();
    // Label-set hash -> indices into `series` (collisions compared in full).
    let mut index: HashMap<u64, Vec<usize>, FxBuild> = HashMap::default();
    // Series text (`name{labels}`) of the previous sample line and its index.
    let mut last: Option<(&str, usize)> = None;
    for_each_line_of(src, format, part, |line, n| {
        let err = |msg: String| LineError { line: n, msg };
        let body = match format {
            Format::Text => line.trim_start_matches([' ', '\t']),
            Format::OpenMetrics => line,
        };
        if let Some((raw, idx)) = last {
            if let Some(rest) = body.strip_prefix(raw) {
                // A blank must follow, and no `{` after it: `foo {a="b"} 1`
                // is another series than `foo 1`.
                let after = rest.trim_start_matches([' ', '\t']);
                if rest.len() != after.len() && !after.starts_with('{') {
                    let mut cur = Cursor::new(rest);
                    let name = series[idx].labels.metric_name().unwrap_or_default();
                    let (v, t) = p.value_and_time(&mut cur, name).map_err(err)?;
                    series[idx].samples.push((t, v, n));
                    return Ok(());
                }
            }
        }
        if body.trim().is_empty() || body.starts_with('#') {
            // Metadata can change the type, and with it how `le` reads.
            last = None;
            p.line(line).map_err(err)?;
            return Ok(());
        }
        let (sample, raw_len) = p.sample_raw(body).map_err(err)?;
        let hash = crate::model::store::hash_labels(&sample.labels);
        let slot = index.entry(hash).or_default();
        let idx = match slot
            .iter()
            .copied()
            .find(|&i| series[i].labels == sample.labels)
        {
            Some(i) => i,
            None => {
                slot.push(series.len());
                series.push(ParsedSeries {
                    labels: sample.labels,
                    samples: Vec::new(),
                });
                series.len() - 1
            }
        };
        series[idx].samples.push((sample.t, sample.v, n));
        last = Some((&body[..raw_len], idx));
        Ok(())
    })?;
    Ok((series, p))
}

/// Calls `f` with every line (without `\r`) and its 1-based number, and
/// enforces the `# EOF` rules of OpenMetrics.
fn for_each_line<'a>(
    src: &'a str,
    format: Format,
    f: impl FnMut(&'a str, usize) -> Result<(), LineError>,
) -> Result<(), LineError> {
    for_each_line_of(src, format, Part::Whole, f)
}

/// Like [`for_each_line`] over one part of a file: line numbers continue
/// from the part before, and only the last part must end with `# EOF` (a
/// `# EOF` in the head is an error, which sends the caller to one pass).
fn for_each_line_of<'a>(
    src: &'a str,
    format: Format,
    part: Part,
    mut f: impl FnMut(&'a str, usize) -> Result<(), LineError>,
) -> Result<(), LineError> {
    let mut eof_line = None;
    // Streamed rather than collected: a 500k-line file's line list was 8 MB.
    let mut lines = src.split('\n').peekable();
    let mut last_line = match part {
        Part::Tail { first_line } => first_line,
        _ => 0,
    };
    let first_line = last_line;
    while let Some(raw) = lines.next() {
        // A final newline does not start another line.
        if raw.is_empty() && last_line > first_line && lines.peek().is_none() {
            break;
        }
        let n = last_line + 1;
        last_line = n;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(eof) = eof_line {
            return Err(LineError {
                line: n,
                msg: format!("unexpected data after # EOF (line {eof})"),
            });
        }
        if format == Format::OpenMetrics && line == "# EOF" {
            eof_line = Some(n);
            continue;
        }
        f(line, n)?;
    }
    if part == Part::Head {
        return match eof_line {
            Some(eof) => Err(LineError {
                line: last_line,
                msg: format!("unexpected data after # EOF (line {eof})"),
            }),
            None => Ok(()),
        };
    }
    if format == Format::OpenMetrics && eof_line.is_none() {
        return Err(LineError {
            line: last_line.max(1),
            msg: "data does not end with # EOF".into(),
        });
    }
    Ok(())
}

struct Parser {
    format: Format,
    samples: Vec<ParsedSample>,
    types: HashMap<String, MetricType, FxBuild>,
    helps: HashSet<String, FxBuild>,
    units: HashSet<String, FxBuild>,
    /// Metric names of samples seen so far, for the TYPE-after-samples check.
    seen_names: HashSet<String, FxBuild>,
    /// Type from the latest `# TYPE` line; Prometheus applies it to the
    /// following samples when normalising `le`/`quantile`.
    current_type: MetricType,
}

impl Parser {
    fn new(format: Format) -> Self {
        Parser {
            format,
            samples: Vec::new(),
            types: HashMap::default(),
            helps: HashSet::default(),
            units: HashSet::default(),
            seen_names: HashSet::default(),
            current_type: MetricType::Unknown,
        }
    }

    /// One line; a sample line gives a sample.
    fn line(&mut self, line: &str) -> Result<Option<ParsedSample>, String> {
        if line.trim().is_empty() {
            // Prometheus's text parser allows blank lines; OpenMetrics forbids them.
            return match self.format {
                Format::Text => Ok(None),
                Format::OpenMetrics => Err("empty line is not allowed in OpenMetrics".into()),
            };
        }
        // Prometheus's text lexer skips whitespace between all tokens, also
        // at the start of a line; the OpenMetrics one does not.
        let line = match self.format {
            Format::Text => line.trim_start_matches([' ', '\t']),
            Format::OpenMetrics => line,
        };
        if let Some(rest) = line.strip_prefix('#') {
            return self.comment(rest).map(|()| None);
        }
        self.sample(line).map(Some)
    }

    /// A line starting with `#`: metadata, or a comment (text format only).
    fn comment(&mut self, rest: &str) -> Result<(), String> {
        let ws = |c: char| c == ' ' || c == '\t';
        let body = rest.trim_start_matches(ws);
        let keyword_end = body.find(ws);
        let keyword = keyword_end.map(|i| &body[..i]);
        let known = matches!(keyword, Some("HELP" | "TYPE"))
            || (self.format == Format::OpenMetrics && keyword == Some("UNIT"));
        if body.len() == rest.len() || !known {
            return match self.format {
                Format::Text => Ok(()),
                Format::OpenMetrics if rest.trim() == "EOF" => Err("malformed # EOF line".into()),
                Format::OpenMetrics => Err(
                    "invalid comment: OpenMetrics allows only # HELP, # TYPE, # UNIT and # EOF"
                        .into(),
                ),
            };
        }
        let keyword = keyword.unwrap_or_default();
        let after = body[keyword.len()..].trim_start_matches(ws);
        let mut cur = Cursor::new(after);
        let name = if cur.peek() == Some('"') {
            cur.quoted().map_err(|e| format!("{e} in # {keyword}"))?
        } else {
            let n = cur.take_while(|c| !ws(c));
            if !is_metric_name(n) {
                return Err(if n.is_empty() {
                    format!("expected metric name after # {keyword}")
                } else {
                    format!("invalid metric name {n:?} in # {keyword}")
                });
            }
            n.to_string()
        };
        let text = cur.rest();
        let text = text.strip_prefix([' ', '\t']).unwrap_or(text);
        match keyword {
            "TYPE" => {
                let t = MetricType::parse(text.trim_end(), self.format)
                    .ok_or_else(|| format!("invalid metric type {:?}", text.trim_end()))?;
                if self.types.contains_key(&name) {
                    return Err(format!("second TYPE line for metric name {name:?}"));
                }
                if let Some(s) = self.seen_names.iter().find(|s| in_family(s, &name)) {
                    return Err(format!(
                        "TYPE line for {name:?} after samples of the family ({s:?})"
                    ));
                }
                self.types.insert(name, t);
                self.current_type = t;
            }
            "HELP" => {
                if !self.helps.insert(name.clone()) {
                    return Err(format!("second HELP line for metric name {name:?}"));
                }
            }
            _ => {
                let unit = text.trim_end();
                let has_suffix = name
                    .strip_suffix(unit)
                    .is_some_and(|stem| stem.len() > 1 && stem.ends_with('_'));
                if !unit.is_empty() && !has_suffix {
                    return Err(format!("unit {unit:?} not a suffix of metric {name:?}"));
                }
                if !self.units.insert(name.clone()) {
                    return Err(format!("second UNIT line for metric name {name:?}"));
                }
            }
        }
        Ok(())
    }

    /// `name{labels} value [timestamp] [# exemplar]`.
    fn sample(&mut self, line: &str) -> Result<ParsedSample, String> {
        self.sample_raw(line).map(|(s, _)| s)
    }

    /// Like [`Parser::sample`], also giving the byte length of the series
    /// text (`name{labels}`) at the start of `line`.
    fn sample_raw(&mut self, line: &str) -> Result<(ParsedSample, usize), String> {
        let mut cur = Cursor::new(line);
        let mut name: Option<String> = None;
        if cur.peek() != Some('{') {
            let n = cur.take_while(|c| c != '{' && c != ' ' && c != '\t');
            if !is_metric_name(n) {
                return Err(format!("invalid metric name {n:?}"));
            }
            name = Some(n.to_string());
            // The text format allows blanks between the name and `{`.
            if cur.rest().trim_start_matches([' ', '\t']).starts_with('{') {
                cur.skip_ws();
            }
        }
        let mut pairs: Vec<(String, String)> = Vec::new();
        if cur.peek() == Some('{') {
            cur.bump();
            self.labels(&mut cur, &mut name, &mut pairs)?;
        }
        let raw_len = cur.i;
        let name = name.ok_or("metric name not set")?;
        let (v, t) = self.value_and_time(&mut cur, &name)?;

        let mut labels = Labels::new();
        for (n, v) in pairs {
            let v = self.normalize_label_value(&n, v);
            labels.set(n, v);
        }
        if !self.seen_names.contains(&name) {
            self.seen_names.insert(name.clone());
        }
        labels.set(METRIC_NAME, name);
        Ok((
            ParsedSample {
                labels,
                t,
                v,
                line: 0,
            },
            raw_len,
        ))
    }

    /// What follows the series text: ` value [timestamp] [# exemplar]`.
    fn value_and_time(
        &self,
        cur: &mut Cursor<'_>,
        name: &str,
    ) -> Result<(f64, Option<Timestamp>), String> {
        if !cur.skip_ws() {
            return Err(match cur.peek() {
                None => format!("missing value for {name:?}"),
                Some(c) => format!("unexpected {c:?} after {name:?}, expected a space and a value"),
            });
        }
        let value = cur.take_while(|c| c != ' ' && c != '\t');
        if value.is_empty() {
            return Err(format!("missing value for {name:?}"));
        }
        let v = parse_float(value).ok_or_else(|| format!("invalid value {value:?}"))?;
        let mut t = None;
        if cur.skip_ws() && cur.peek().is_some() && cur.peek() != Some('#') {
            let ts = cur.take_while(|c| c != ' ' && c != '\t');
            t = Some(self.timestamp(ts)?);
            cur.skip_ws();
        }
        match cur.peek() {
            None => {}
            // An exemplar: `# {labels} value [ts]`, dropped.
            Some('#') => {}
            Some(_) => return Err(format!("unexpected text {:?} after the sample", cur.rest())),
        }
        Ok((v, t))
    }

    /// The inside of `{...}` after the `{`.
    fn labels(
        &self,
        cur: &mut Cursor<'_>,
        name: &mut Option<String>,
        pairs: &mut Vec<(String, String)>,
    ) -> Result<(), String> {
        loop {
            cur.skip_ws();
            let quoted = match cur.peek() {
                Some('}') => {
                    cur.bump();
                    return Ok(());
                }
                None => return Err("unterminated label set, expected '}'".into()),
                Some('"') => true,
                Some(_) => false,
            };
            let label = if quoted {
                cur.quoted()?
            } else {
                let n = cur.take_while(|c| !matches!(c, '=' | ',' | '}' | ' ' | '\t' | '"'));
                if !is_label_name(n) {
                    return Err(format!("invalid label name {n:?}"));
                }
                n.to_string()
            };
            cur.skip_ws();
            // A quoted string on its own is the metric name (UTF-8 names, Prometheus 3).
            if quoted && matches!(cur.peek(), Some(',' | '}')) {
                if name.is_some() {
                    return Err(format!("metric name already set, unexpected {label:?}"));
                }
                *name = Some(label);
            } else {
                if cur.peek() != Some('=') {
                    return Err(format!("expected '=' after label name {label:?}"));
                }
                cur.bump();
                cur.skip_ws();
                if cur.peek() != Some('"') {
                    return Err(format!("expected quoted value for label {label:?}"));
                }
                let value = cur
                    .quoted()
                    .map_err(|e| format!("{e} for label {label:?}"))?;
                if pairs.iter().any(|(n, _)| *n == label)
                    || (label == METRIC_NAME && name.is_some())
                {
                    return Err(format!("duplicate label name {label:?}"));
                }
                if label == METRIC_NAME {
                    *name = Some(value);
                } else {
                    pairs.push((label, value));
                }
            }
            cur.skip_ws();
            match cur.peek() {
                Some(',') => {
                    cur.bump();
                }
                Some('}') => {}
                None => return Err("unterminated label set, expected '}'".into()),
                Some(c) => return Err(format!("expected ',' or '}}' in label set, got {c:?}")),
            }
        }
    }

    fn timestamp(&self, s: &str) -> Result<Timestamp, String> {
        let bad = || format!("invalid timestamp {s:?}");
        match self.format {
            // Integer milliseconds. Prometheus's scrape lexer takes digits only,
            // the format spec (and its example) allows a negative int64 too.
            Format::Text => {
                let digits = s.strip_prefix('-').unwrap_or(s);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad());
                }
                s.parse::<i64>().map_err(|_| bad())
            }
            // Float seconds, truncated to ms like openmetricsparse.go's int64(ts*1000).
            Format::OpenMetrics => {
                let f = parse_float(s).ok_or_else(bad)?;
                if !f.is_finite() {
                    return Err(bad());
                }
                Ok((f * 1000.0) as i64)
            }
        }
    }

    fn normalize_label_value(&self, name: &str, value: String) -> String {
        let applies = (self.current_type == MetricType::Histogram && name == "le")
            || (self.current_type == MetricType::Summary && name == "quantile");
        match (applies, parse_float(&value)) {
            (true, Some(f)) => format_openmetrics_float(f),
            _ => value,
        }
    }
}

fn in_family(sample_name: &str, family: &str) -> bool {
    sample_name == family
        || sample_name
            .strip_prefix(family)
            .is_some_and(|suffix| FAMILY_SUFFIXES.contains(&suffix))
}

/// Go's `strconv.ParseFloat` as Prometheus's parsers use it: decimal and
/// exponent forms, `NaN`, `Inf`/`+Inf`/`-Inf`/`infinity` in any case; no
/// hex floats or `_` separators.
pub(crate) fn parse_float(s: &str) -> Option<f64> {
    if let Some(f) = parse_small_int(s) {
        return Some(f);
    }
    if s.is_empty() || s.contains(['p', 'P', '_', 'x', 'X']) {
        return None;
    }
    s.parse::<f64>().ok()
}

/// Most values and all usual timestamps are plain integers: up to 15
/// digits they are exact in an f64, so this gives what the general parser
/// would, in a fraction of the time. `None` for anything else.
fn parse_small_int(s: &str) -> Option<f64> {
    let (negative, digits) = match s.as_bytes() {
        [b'-', rest @ ..] => (true, rest),
        d => (false, d),
    };
    if digits.is_empty() || digits.len() > 15 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = digits
        .iter()
        .fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'));
    let f = n as f64;
    Some(if negative { -f } else { f })
}

/// Prometheus's `labels.FormatOpenMetricsFloat`: Go `'g'` shortest form,
/// with `.0` added when it has neither `.` nor an exponent.
pub(crate) fn format_openmetrics_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let s = format_go_g(f);
    if s.contains(['e', '.']) {
        s
    } else {
        s + ".0"
    }
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)` for finite `f`: shortest
/// round-trip digits, exponent form when the exponent is < -4 or >= 6.
fn format_go_g(f: f64) -> String {
    // `{:e}` gives the shortest round-trip digits, e.g. "1.5e-7".
    let e = format!("{f:e}");
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    // Go uses precision 6 for the decision when formatting the shortest form.
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        format!("{f}")
    }
}

/// A byte cursor over one line.
struct Cursor<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Cursor<'a> {
    fn new(s: &'a str) -> Self {
        Cursor { s, i: 0 }
    }
    fn peek(&self) -> Option<char> {
        self.s[self.i..].chars().next()
    }
    fn bump(&mut self) {
        if let Some(c) = self.peek() {
            self.i += c.len_utf8();
        }
    }
    fn rest(&self) -> &'a str {
        &self.s[self.i..]
    }
    /// Skips spaces and tabs; true if there were any.
    fn skip_ws(&mut self) -> bool {
        !self.take_while(|c| c == ' ' || c == '\t').is_empty()
    }
    fn take_while(&mut self, f: impl Fn(char) -> bool) -> &'a str {
        let start = self.i;
        while let Some(c) = self.peek() {
            if !f(c) {
                break;
            }
            self.bump();
        }
        &self.s[start..self.i]
    }
    /// A double-quoted string at the cursor, unescaped like Prometheus's
    /// `lvalReplacer`: `\\`, `\"` and `\n`; other escapes stay as written.
    fn quoted(&mut self) -> Result<String, String> {
        self.bump();
        let mut out = String::new();
        loop {
            let c = self.peek().ok_or("unterminated quoted string")?;
            self.bump();
            match c {
                '"' => return Ok(out),
                '\\' => {
                    let e = self.peek().ok_or("unterminated quoted string")?;
                    self.bump();
                    match e {
                        '\\' => out.push('\\'),
                        '"' => out.push('"'),
                        'n' => out.push('\n'),
                        other => {
                            out.push('\\');
                            out.push(other);
                        }
                    }
                }
                c => out.push(c),
            }
        }
    }
}

#[cfg(test)]
mod tests;
