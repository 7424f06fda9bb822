//! `alertgate query`: evaluate one PromQL expression over snapshots, as an
//! instant query (`--at`) or a range query (`--range START END STEP`), and
//! print the result like promtool (text) or like Prometheus's
//! `/api/v1/query(_range)` body (`--format json`).

use super::exit;
use crate::api::{encode_error, encode_query_output, ApiError, ErrorType};
use crate::model::time::parse_time;
use crate::model::Labels;
use crate::promql::{Engine, QueryOutput, QueryValue};
use crate::snapshot::{self, SnapshotSpec};
use clap::{Args, ValueEnum};

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The PromQL expression.
    pub expr: String,
    /// Snapshot file or directory (text, OpenMetrics or JSON); `PATH@TIME`
    /// sets the time of its samples that carry none. Repeatable.
    #[arg(long = "snapshot", value_name = "PATH[@TIME]")]
    pub snapshots: Vec<String>,
    /// Label added to every loaded sample that does not have it. Repeatable.
    #[arg(long = "label", value_name = "NAME=VALUE")]
    pub labels: Vec<String>,
    /// Evaluation time, RFC 3339 or Unix seconds (default: now). Also the
    /// time of snapshot samples without one.
    #[arg(long, value_name = "TIME", conflicts_with = "range")]
    pub at: Option<String>,
    /// Range query from START to END (RFC 3339 or Unix seconds) every STEP
    /// (`15s`, `1m` or seconds). Snapshot samples without a time are taken at END.
    #[arg(long, num_args = 3, value_names = ["START", "END", "STEP"])]
    pub range: Option<Vec<String>>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    #[command(flatten)]
    pub remote: super::remote::RemoteArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// One line per series, like `promtool query instant`.
    Text,
    /// The JSON body Prometheus's HTTP API returns.
    Json,
}

/// Prometheus refuses range queries with more points per series than this.
const MAX_POINTS: i64 = 11_000;

enum Mode {
    Instant(i64),
    Range { start: i64, end: i64, step: i64 },
}

pub fn run(args: &QueryArgs) -> u8 {
    match super::remote::datasource_config(&args.remote) {
        Err(e) => return exit::bad_input(&e),
        Ok(Some(cfg)) => return run_remote(args, &cfg),
        Ok(None) => {}
    }
    match execute(args) {
        Ok((out, t)) => {
            match args.format {
                OutputFormat::Json => println!("{}", encode_query_output(&out, t)),
                OutputFormat::Text => {
                    for w in &out.annotations.warnings {
                        eprintln!("alertgate: warning: {w}");
                    }
                    for i in &out.annotations.infos {
                        eprintln!("alertgate: info: {i}");
                    }
                    let text = format_text(&out, t);
                    if !text.is_empty() {
                        println!("{text}");
                    }
                }
            }
            exit::OK
        }
        Err(e) => {
            if args.format == OutputFormat::Json {
                println!("{}", encode_error(&e));
            }
            exit::bad_input(&anyhow::Error::new(e))
        }
    }
}

/// Asks the server; `--format json` prints the server's own JSON body.
fn run_remote(args: &QueryArgs, cfg: &crate::datasource::DatasourceConfig) -> u8 {
    use crate::datasource::HttpError;
    let q = match super::remote::client(cfg) {
        Ok(q) => q,
        Err(e) => return exit::bad_input(&e),
    };
    let mode = match mode(args) {
        Ok(m) => m,
        Err(e) => {
            if args.format == OutputFormat::Json {
                println!("{}", encode_error(&e));
            }
            return exit::bad_input(&anyhow::Error::new(e));
        }
    };
    let (res, t) = match mode {
        Mode::Instant(t) => (q.instant_query(&args.expr, t), t),
        Mode::Range { start, end, step } => (q.range_query(&args.expr, start, end, step), end),
    };
    match res {
        Ok(answer) => {
            match args.format {
                OutputFormat::Json => println!("{}", answer.body.trim_end()),
                OutputFormat::Text => {
                    for w in &answer.output.annotations.warnings {
                        eprintln!("alertgate: warning: {w}");
                    }
                    for i in &answer.output.annotations.infos {
                        eprintln!("alertgate: info: {i}");
                    }
                    let text = format_text(&answer.output, t);
                    if !text.is_empty() {
                        println!("{text}");
                    }
                }
            }
            exit::OK
        }
        Err(HttpError::Query {
            error_type,
            message,
            ..
        }) => {
            if args.format == OutputFormat::Json {
                let body = serde_json::json!({"status": "error", "errorType": error_type, "error": message});
                println!("{body}");
            }
            exit::bad_input(&anyhow::anyhow!("{error_type}: {message}"))
        }
        Err(e) if e.is_unreachable() => {
            exit::bad_input(&anyhow::anyhow!("datasource unreachable: {e}"))
        }
        Err(e) => exit::bad_input(&anyhow::Error::new(e)),
    }
}

/// Loads the data and runs the query; the error is what the API would answer.
fn execute(args: &QueryArgs) -> Result<(QueryOutput, i64), ApiError> {
    let mode = mode(args)?;
    let expr = crate::promql::parse(&args.expr).map_err(ApiError::bad_query)?;
    let default_at = match mode {
        Mode::Instant(t) => t,
        Mode::Range { end, .. } => end,
    };
    let specs = args
        .snapshots
        .iter()
        .map(|s| SnapshotSpec::parse(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::new(ErrorType::BadData, e.to_string()))?;
    let extra: Labels = snapshot::parse_label_args(&args.labels)
        .map_err(|e| ApiError::new(ErrorType::BadData, e.to_string()))?;
    let store = snapshot::load(&specs, default_at, &extra)
        .map_err(|e| ApiError::new(ErrorType::BadData, e.to_string()))?;
    let engine = Engine::default();
    let out = match mode {
        Mode::Instant(t) => engine.instant(&store, &expr, t),
        Mode::Range { start, end, step } => engine.range(&store, &expr, start, end, step),
    }
    .map_err(|e| ApiError::from(&e))?;
    Ok((out, default_at))
}

fn mode(args: &QueryArgs) -> Result<Mode, ApiError> {
    let time = |param: &str, s: &str| parse_time(s).map_err(|e| ApiError::invalid_param(param, e));
    if let Some(r) = &args.range {
        let [start, end, step] = r.as_slice() else {
            return Err(ApiError::new(
                ErrorType::BadData,
                "--range takes START END STEP",
            ));
        };
        let (start, end) = (time("start", start)?, time("end", end)?);
        let step = parse_step(step).map_err(|e| ApiError::invalid_param("step", e))?;
        // The checks and wording of Prometheus's queryRange handler.
        if end < start {
            return Err(ApiError::invalid_param(
                "end",
                "end timestamp must not be before start time",
            ));
        }
        if step <= 0 {
            return Err(ApiError::new(
                ErrorType::BadData,
                "zero or negative query resolution step widths are not accepted. Try a positive integer",
            ));
        }
        if (end - start) / step > MAX_POINTS {
            return Err(ApiError::new(
                ErrorType::BadData,
                "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
            ));
        }
        return Ok(Mode::Range { start, end, step });
    }
    match &args.at {
        Some(at) => Ok(Mode::Instant(time("time", at)?)),
        None => Ok(Mode::Instant(crate::clock::now_ms())),
    }
}

/// A step as the Prometheus API takes it: float seconds or a duration
/// (`1m30s`). Returns milliseconds.
fn parse_step(s: &str) -> Result<i64, String> {
    let bad = || format!("cannot parse {s:?} to a valid duration");
    if let Ok(secs) = s.parse::<f64>() {
        let ms = secs * 1000.0;
        if !ms.is_finite() || ms.abs() > i64::MAX as f64 {
            return Err(bad());
        }
        return Ok(ms.round() as i64);
    }
    promql_parser::util::parse_duration(s)
        .map(|d| d.as_millis() as i64)
        .map_err(|_| bad())
}

/// promtool's text output (client_golang's `model.Value` `String()`).
fn format_text(out: &QueryOutput, t: i64) -> String {
    let ts = |t: i64| crate::api::json::format_go_f(t as f64 / 1000.0);
    let v = crate::api::json::format_go_f;
    match &out.value {
        QueryValue::Vector(samples) => samples
            .iter()
            .map(|(l, x)| format!("{l} => {} @[{}]", v(*x), ts(t)))
            .collect::<Vec<_>>()
            .join("\n"),
        QueryValue::Matrix(series) => {
            let mut sorted: Vec<_> = series.iter().collect();
            sorted.sort_by(|a, b| a.labels.cmp(&b.labels));
            sorted
                .iter()
                .map(|s| {
                    let pts: Vec<String> = s
                        .points
                        .iter()
                        .map(|p| format!("{} @[{}]", v(p.v), ts(p.t)))
                        .collect();
                    format!("{} =>\n{}", s.labels, pts.join("\n"))
                })
                .collect::<Vec<_>>()
                .join("\n")
        }
        QueryValue::Scalar { t, v: x } => format!("scalar: {} @[{}]", v(*x), ts(*t)),
        QueryValue::String { s, .. } => s.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Sample;
    use crate::promql::{Annotations, RangeSeries};

    #[test]
    fn steps() {
        assert_eq!(parse_step("15"), Ok(15_000));
        assert_eq!(parse_step("0.5"), Ok(500));
        assert_eq!(parse_step("1m30s"), Ok(90_000));
        assert_eq!(parse_step("-1"), Ok(-1000));
        assert!(parse_step("soon").is_err());
    }

    #[test]
    fn text_output_like_promtool() {
        let l = Labels::from_pairs([("__name__", "up"), ("job", "a")]);
        let out = QueryOutput {
            value: QueryValue::Vector(vec![(l.clone(), 1.0)]),
            annotations: Annotations::default(),
        };
        assert_eq!(
            format_text(&out, 1_435_781_451_780),
            r#"up{job="a"} => 1 @[1435781451.78]"#
        );
        let m = QueryOutput {
            value: QueryValue::Matrix(vec![RangeSeries {
                labels: l,
                points: vec![
                    Sample { t: 0, v: 0.5 },
                    Sample {
                        t: 60_000,
                        v: f64::INFINITY,
                    },
                ],
                drop_name: false,
            }]),
            annotations: Annotations::default(),
        };
        assert_eq!(format_text(&m, 0), "up{job=\"a\"} =>\n0.5 @[0]\n+Inf @[60]");
        let s = QueryOutput {
            value: QueryValue::Scalar { t: 1000, v: 2.0 },
            annotations: Annotations::default(),
        };
        assert_eq!(format_text(&s, 0), "scalar: 2 @[1]");
    }
}
