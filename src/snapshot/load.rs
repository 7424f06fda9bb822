//! Loading snapshot files and directories into a [`MemStore`]: format
//! detection, the snapshot time, `--label` labels and duplicate checks.

use super::exposition::{self, Format};
use super::json::{self, JsonError};
use super::{SnapshotError, SnapshotSpec};
use crate::model::{Labels, MemStore, Sample, Series, Timestamp};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The format of one snapshot file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotFormat {
    Text,
    OpenMetrics,
    Json,
}

/// Decides a file's format: the extension first (`.json`; `.om`,
/// `.openmetrics`), then the content (a leading `{` or `[` is JSON, a
/// `# EOF` line is OpenMetrics), else the Prometheus text format.
pub fn detect_format(path: &Path, content: &str) -> SnapshotFormat {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("json") => return SnapshotFormat::Json,
        Some("om" | "openmetrics") => return SnapshotFormat::OpenMetrics,
        Some("prom" | "txt") => {}
        _ if content.trim_start().starts_with(['{', '[']) => return SnapshotFormat::Json,
        _ => {}
    }
    if content.lines().any(|l| l.trim_end_matches('\r') == "# EOF") {
        SnapshotFormat::OpenMetrics
    } else {
        SnapshotFormat::Text
    }
}

/// Loads every snapshot into a new store. Samples without a timestamp are
/// taken at their spec's time, else at `default_at`.
pub fn load(
    specs: &[SnapshotSpec],
    default_at: Timestamp,
    extra_labels: &Labels,
) -> Result<MemStore, SnapshotError> {
    let mut store = MemStore::new();
    load_into(&mut store, specs, default_at, extra_labels)?;
    Ok(store)
}

/// Like [`load`], adding to an existing store. A sample at the same series
/// and time as one already loaded from an earlier file replaces it.
pub fn load_into(
    store: &mut MemStore,
    specs: &[SnapshotSpec],
    default_at: Timestamp,
    extra_labels: &Labels,
) -> Result<(), SnapshotError> {
    for spec in specs {
        let at = spec.at.unwrap_or(default_at);
        for file in files_of(&spec.path)? {
            let content = std::fs::read_to_string(&file).map_err(|e| io_err(&file, &e))?;
            if detect_format(&file, &content) == SnapshotFormat::Json {
                for (labels, t, v) in parse_file(&file, &content, at, extra_labels)? {
                    store.insert(&labels, t, v);
                }
                continue;
            }
            // Grouped by series: one label set per series, not per sample.
            let parsed = parse_exposition_file(&file, &content, at, extra_labels)?;
            // The series own their labels: free the text before the store
            // grows, so the two never peak together.
            drop(content);
            let samples = |s: Vec<(Option<Timestamp>, f64, usize)>| {
                s.into_iter().map(move |(t, v, _)| Sample {
                    t: t.unwrap_or(at),
                    v,
                })
            };
            if store.is_empty() {
                // A file's series are distinct: no lookups needed.
                let series = parsed
                    .into_iter()
                    .map(|s| Series {
                        labels: s.labels,
                        samples: samples(s.samples).collect(),
                    })
                    .collect();
                *store = MemStore::from_distinct_series(series);
                continue;
            }
            for s in parsed {
                store.insert_many(&s.labels, samples(s.samples));
            }
        }
    }
    Ok(())
}

/// Parses one file's content into `(labels, t, v)`, checking that no series
/// has two samples at one time. `path` is used for format detection and
/// error messages only.
pub fn parse_file(
    path: &Path,
    content: &str,
    at: Timestamp,
    extra_labels: &Labels,
) -> Result<Vec<(Labels, Timestamp, f64)>, SnapshotError> {
    parse_file_as(
        path,
        content,
        detect_format(path, content),
        at,
        extra_labels,
    )
}

/// Like [`parse_file`] in a format the caller already knows (a scrape's
/// `Content-Type`); `path` only names the source in error messages.
pub fn parse_file_as(
    path: &Path,
    content: &str,
    format: SnapshotFormat,
    at: Timestamp,
    extra_labels: &Labels,
) -> Result<Vec<(Labels, Timestamp, f64)>, SnapshotError> {
    if format != SnapshotFormat::Json {
        let mut rows: Vec<(usize, Labels, Timestamp, f64)> = Vec::new();
        for s in parse_exposition_as(path, content, format, at, extra_labels)? {
            for (t, v, line) in s.samples {
                rows.push((line, s.labels.clone(), t.unwrap_or(at), v));
            }
        }
        rows.sort_unstable_by_key(|r| r.0);
        return Ok(rows.into_iter().map(|(_, l, t, v)| (l, t, v)).collect());
    }
    let shown = path.display().to_string();
    let raw = json::parse(content).map_err(|e| match e {
        JsonError::Syntax { line, col, msg } => SnapshotError::Syntax {
            path: shown.clone(),
            line,
            msg: format!("column {col}: invalid JSON: {msg}"),
        },
        JsonError::Shape(msg) => SnapshotError::Invalid {
            path: shown.clone(),
            msg,
        },
    })?;
    let mut seen: HashMap<(Labels, Timestamp), ()> = HashMap::with_capacity(raw.len());
    let mut out = Vec::with_capacity(raw.len());
    for s in raw {
        let mut labels = s.labels;
        add_extra_labels(&mut labels, extra_labels);
        let t = s.t.unwrap_or(at);
        if seen.insert((labels.clone(), t), ()).is_some() {
            return Err(duplicate_error(shown, &labels, t, None));
        }
        out.push((labels, t, s.v));
    }
    Ok(out)
}

/// One series of a text or OpenMetrics file after the `--label` labels
/// were applied: `(t, v, line)` in line order, `t` `None` for the
/// snapshot's time.
type FileSeries = exposition::ParsedSeries;

/// Parses a text or OpenMetrics file by series (see
/// [`exposition::parse_series`]) and checks that no series has two samples
/// at one time, reporting the first such line as a line-by-line reader would.
fn parse_exposition_file(
    path: &Path,
    content: &str,
    at: Timestamp,
    extra_labels: &Labels,
) -> Result<Vec<FileSeries>, SnapshotError> {
    parse_exposition_as(
        path,
        content,
        detect_format(path, content),
        at,
        extra_labels,
    )
}

fn parse_exposition_as(
    path: &Path,
    content: &str,
    format: SnapshotFormat,
    at: Timestamp,
    extra_labels: &Labels,
) -> Result<Vec<FileSeries>, SnapshotError> {
    let shown = path.display().to_string();
    let format = if format == SnapshotFormat::OpenMetrics {
        Format::OpenMetrics
    } else {
        Format::Text
    };
    let parsed = exposition::parse_series(content, format).map_err(|e| SnapshotError::Syntax {
        path: shown.clone(),
        line: e.line,
        msg: e.msg,
    })?;
    let series = if extra_labels.is_empty() {
        parsed
    } else {
        with_extra_labels(parsed, extra_labels)
    };
    // (line, first line, series, t) of the earliest repeated time.
    let mut first_dup: Option<(usize, usize, usize, Timestamp)> = None;
    for (i, s) in series.iter().enumerate() {
        let t = |k: usize| s.samples[k].0.unwrap_or(at);
        if (1..s.samples.len()).all(|k| t(k - 1) < t(k)) {
            continue;
        }
        let mut seen: HashMap<Timestamp, usize> = HashMap::with_capacity(s.samples.len());
        for &(t, _, line) in &s.samples {
            let t = t.unwrap_or(at);
            if let Some(first) = seen.insert(t, line) {
                if first_dup.is_none_or(|d| line < d.0) {
                    first_dup = Some((line, first, i, t));
                }
                break;
            }
        }
    }
    if let Some((line, first, i, t)) = first_dup {
        return Err(duplicate_error(
            shown,
            &series[i].labels,
            t,
            Some((line, first)),
        ));
    }
    Ok(series)
}

/// Adds `--label` labels, which can make two series of a file one.
fn with_extra_labels(parsed: Vec<FileSeries>, extra_labels: &Labels) -> Vec<FileSeries> {
    let mut series: Vec<FileSeries> = Vec::with_capacity(parsed.len());
    let mut index: HashMap<Labels, usize> = HashMap::new();
    for mut p in parsed {
        add_extra_labels(&mut p.labels, extra_labels);
        match index.get(&p.labels) {
            Some(&i) => {
                series[i].samples.append(&mut p.samples);
                series[i].samples.sort_by_key(|s| s.2);
            }
            None => {
                index.insert(p.labels.clone(), series.len());
                series.push(p);
            }
        }
    }
    series
}

/// Like Prometheus's external labels: data that has the label keeps it.
fn add_extra_labels(labels: &mut Labels, extra_labels: &Labels) {
    for l in extra_labels {
        if !labels.contains(&l.name) {
            labels.set(l.name.clone(), l.value.clone());
        }
    }
}

/// A second sample of `labels` at `t`; `lines` is (this line, first line).
fn duplicate_error(
    shown: String,
    labels: &Labels,
    t: Timestamp,
    lines: Option<(usize, usize)>,
) -> SnapshotError {
    let when = chrono::DateTime::from_timestamp_millis(t).map_or_else(
        || t.to_string(),
        |d| d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
    );
    match lines {
        Some((line, first)) => SnapshotError::Syntax {
            path: shown,
            line,
            msg: format!("duplicate sample for {labels} at {when} (first on line {first})"),
        },
        None => SnapshotError::Invalid {
            path: shown,
            msg: format!("duplicate sample for {labels} at {when}"),
        },
    }
}

/// The files a spec names: the file itself, or the regular files directly
/// inside a directory, sorted by name, skipping hidden ones (editor swap
/// files and the like).
fn files_of(path: &Path) -> Result<Vec<PathBuf>, SnapshotError> {
    let meta = std::fs::metadata(path).map_err(|e| io_err(path, &e))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).map_err(|e| io_err(path, &e))? {
        let entry = entry.map_err(|e| io_err(path, &e))?;
        let p = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if !hidden && std::fs::metadata(&p).map(|m| m.is_file()).unwrap_or(false) {
            files.push(p);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(SnapshotError::Invalid {
            path: path.display().to_string(),
            msg: "directory holds no snapshot files".into(),
        });
    }
    Ok(files)
}

fn io_err(path: &Path, e: &std::io::Error) -> SnapshotError {
    SnapshotError::Io {
        path: path.display().to_string(),
        msg: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_detection() {
        let p = Path::new;
        assert_eq!(detect_format(p("a.json"), "x"), SnapshotFormat::Json);
        assert_eq!(detect_format(p("a"), "  {\"a\": 1}"), SnapshotFormat::Json);
        assert_eq!(
            detect_format(p("a.om"), "up 1\n"),
            SnapshotFormat::OpenMetrics
        );
        assert_eq!(
            detect_format(p("a.openmetrics"), "up 1\n"),
            SnapshotFormat::OpenMetrics
        );
        assert_eq!(
            detect_format(p("scrape"), "up 1\n# EOF\n"),
            SnapshotFormat::OpenMetrics
        );
        assert_eq!(detect_format(p("a.prom"), "up 1\n"), SnapshotFormat::Text);
        // A UTF-8 metric name can start a text line with `{`.
        assert_eq!(
            detect_format(p("a.prom"), "{\"my.metric\"} 1\n"),
            SnapshotFormat::Text
        );
    }

    #[test]
    fn untimed_samples_take_the_snapshot_time_and_extra_labels() {
        let extra = Labels::from_pairs([("tenant", "acme"), ("job", "ignored")]);
        let got = parse_file(
            Path::new("a.prom"),
            "up{job=\"api\"} 1\nx 2 1000\n",
            5000,
            &extra,
        )
        .unwrap();
        let got: Vec<(String, i64, f64)> = got
            .into_iter()
            .map(|(l, t, v)| (l.to_string(), t, v))
            .collect();
        assert_eq!(
            got,
            vec![
                (r#"up{job="api", tenant="acme"}"#.into(), 5000, 1.0),
                (r#"x{job="ignored", tenant="acme"}"#.into(), 1000, 2.0),
            ]
        );
    }

    #[test]
    fn duplicate_sample_in_one_file_is_an_error() {
        let e = parse_file(Path::new("a.prom"), "up 1\n\nup 2\n", 0, &Labels::new()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "a.prom:3: duplicate sample for up at 1970-01-01T00:00:00Z (first on line 1)"
        );
        // Same series at different times is a history, not a duplicate.
        let om = "a_total 1 10\na_total 2 20\n# EOF\n";
        assert_eq!(
            parse_file(Path::new("a.om"), om, 0, &Labels::new())
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn grouped_parsing_matches_line_by_line_parsing() {
        // Repeats next to each other and apart, a name followed by a blank
        // and `{` (another series in the text format), and a TYPE line that
        // changes how `le` reads between two spellings of one series.
        let text = "# TYPE h histogram\nfoo 1 1000\nfoo 2 2000\nfoo {a=\"b\"} 3 1000\n\
                    bar{x=\"1\"} 4\nfoo 5 3000\nfoo {a=\"b\"} 6 2000\nh_bucket{le=\"1\"} 7 1000\n\
                    h_bucket{le=\"1.0\"} 8 2000\nh_bucket{le=\"1\"} 9 3000\n";
        for (path, src) in [("a.prom", text.to_string()), ("a.om", om_of(text))] {
            let flat = exposition::parse(
                &src,
                if path == "a.om" {
                    Format::OpenMetrics
                } else {
                    Format::Text
                },
            );
            let grouped = parse_file(Path::new(path), &src, 0, &Labels::new());
            match (flat, grouped) {
                (Ok(flat), Ok(grouped)) => {
                    let flat: Vec<_> = flat
                        .into_iter()
                        .map(|s| (s.labels, s.t.unwrap_or(0), s.v))
                        .collect();
                    assert_eq!(flat, grouped, "{path}");
                }
                (Err(e), Err(g)) => assert!(
                    g.to_string().contains(&format!(":{}: ", e.line)),
                    "{path}: {g}"
                ),
                (f, g) => panic!("{path}: {f:?} vs {g:?}"),
            }
        }
        let store = load(
            &[SnapshotSpec::new(
                write_tmp("a.prom", text).path().join("a.prom"),
            )],
            0,
            &Labels::new(),
        )
        .unwrap();
        // foo, foo{a}, bar and h_bucket{le="1.0"} (`le` is normalised).
        assert_eq!(store.len(), 4);
    }

    #[test]
    fn grouped_parsing_reports_the_first_duplicate_line() {
        let src = "a 1 10\nb 1 10\nb 2 20\na 2 20\nb 3 10\na 3 10\n";
        let e = parse_file(Path::new("x.prom"), src, 0, &Labels::new()).unwrap_err();
        let e = e.to_string();
        assert!(e.starts_with("x.prom:5: duplicate sample for b at "), "{e}");
        assert!(e.ends_with(" (first on line 2)"), "{e}");
        // `--label` can make two series of a file one.
        let src = "a{t=\"x\"} 1 10\na 2 10\n";
        let extra = Labels::from_pairs([("t", "x")]);
        let e = parse_file(Path::new("x.prom"), src, 0, &extra).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("x.prom:2: duplicate sample for a{t=\"x\"} at "),
            "{e}"
        );
        assert!(e.to_string().ends_with(" (first on line 1)"), "{e}");
    }

    /// The same samples as OpenMetrics: timestamps in seconds, `# EOF`.
    fn om_of(text: &str) -> String {
        let mut out = String::new();
        for line in text.lines() {
            match line.rsplit_once(' ') {
                Some((head, ts))
                    if !line.starts_with('#')
                        && ts.len() == 4
                        && head.matches(' ').count() >= 1 =>
                {
                    out.push_str(&format!("{head} {}\n", ts.parse::<i64>().unwrap() / 1000));
                }
                _ => out.push_str(&format!("{line}\n")),
            }
        }
        out + "# EOF\n"
    }

    fn write_tmp(name: &str, content: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(name), content).unwrap();
        dir
    }

    #[test]
    fn json_errors_name_the_file() {
        let e = parse_file(
            Path::new("k.json"),
            "{\"a\": 1,\n \"b\": }",
            0,
            &Labels::new(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "k.json:2: column 7: invalid JSON: expected value"
        );
        let e = parse_file(Path::new("k.json"), "[1]", 0, &Labels::new()).unwrap_err();
        assert!(
            e.to_string().starts_with("k.json: expected a JSON object"),
            "{e}"
        );
    }

    #[test]
    fn directories_load_sorted_and_later_files_win() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.prom"), "x 2\n").unwrap();
        std::fs::write(dir.path().join("a.prom"), "x 1\ny 1\n").unwrap();
        std::fs::write(dir.path().join(".a.prom.swp"), "garbage{").unwrap();
        let spec = SnapshotSpec::new(dir.path());
        let store = load(&[spec], 1000, &Labels::new()).unwrap();
        let x = store
            .series()
            .iter()
            .find(|s| s.labels.metric_name() == Some("x"))
            .unwrap();
        assert_eq!(x.samples, vec![crate::model::Sample { t: 1000, v: 2.0 }]);

        let empty = tempfile::tempdir().unwrap();
        let e = load(&[SnapshotSpec::new(empty.path())], 0, &Labels::new()).unwrap_err();
        assert!(
            e.to_string()
                .ends_with(": directory holds no snapshot files"),
            "{e}"
        );
    }

    #[test]
    fn plain_scrapes_at_different_times_make_a_series() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("t0.prom");
        let b = dir.path().join("t1.prom");
        std::fs::write(&a, "# TYPE req_total counter\nreq_total 10\n").unwrap();
        std::fs::write(&b, "# TYPE req_total counter\nreq_total 70\n").unwrap();
        let specs = [
            SnapshotSpec::parse(&format!("{}@1700000060", b.display())).unwrap(),
            SnapshotSpec::parse(&format!("{}@1700000000", a.display())).unwrap(),
        ];
        let store = load(&specs, 0, &Labels::new()).unwrap();
        assert_eq!(store.len(), 1);
        let ts: Vec<(i64, f64)> = store.series()[0]
            .samples
            .iter()
            .map(|s| (s.t, s.v))
            .collect();
        assert_eq!(
            ts,
            vec![(1_700_000_000_000, 10.0), (1_700_000_060_000, 70.0)]
        );
    }

    #[test]
    fn missing_file() {
        let e = load(
            &[SnapshotSpec::new("/nonexistent/x.prom")],
            0,
            &Labels::new(),
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("/nonexistent/x.prom: "), "{e}");
    }
}
