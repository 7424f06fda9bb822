//! Runs every statement of every script and records pass / fail / skip.

use alertgate::model::{Labels, MemStore};
use alertgate::promql::{parse_with_duration_exprs as parse, Engine, EvalError, QueryOutput};
use alertgate::promqltest::expr::selects_any;
use alertgate::promqltest::{check_eval, load_into, parse_script, Command, EvalCmd, EvalQuery};
use promql_parser::parser::Expr;
use std::path::PathBuf;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

/// Settings read from the environment (see the crate doc of the runner).
pub struct Options {
    pub dir: PathBuf,
    pub file: Option<String>,
    pub verbose: bool,
    pub update: bool,
    pub extra: bool,
    pub timeout: Duration,
    /// Root of the crate, for the baseline and docs.
    pub root: PathBuf,
}

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

impl Options {
    pub fn from_env() -> Options {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let dir = std::env::var("CONFORMANCE_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| root.join("../shared/conformance/promql"));
        let file = std::env::var("CONFORMANCE_FILE")
            .ok()
            .filter(|f| !f.is_empty())
            .map(|f| {
                if f.ends_with(".test") {
                    f
                } else {
                    format!("{f}.test")
                }
            });
        let secs = std::env::var("CONFORMANCE_TIMEOUT_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(30);
        Options {
            dir,
            file,
            verbose: env_flag("CONFORMANCE_VERBOSE"),
            update: env_flag("UPDATE_BASELINE"),
            extra: env_flag("CONFORMANCE_EXTRA"),
            timeout: Duration::from_secs(secs),
            root,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Pass,
    Fail(String),
    Skip(String),
}

/// The result of one eval statement.
#[derive(Debug, Clone)]
pub struct StmtResult {
    pub file: String,
    pub line: usize,
    pub expr: String,
    pub outcome: Outcome,
    /// Annotation-text mismatches that did not fail the statement.
    pub advisories: Vec<String>,
    /// Expected vs got, for verbose output.
    pub detail: String,
}

impl StmtResult {
    pub fn id(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// Results of one script file, in statement order.
pub struct FileResults {
    pub file: String,
    pub stmts: Vec<StmtResult>,
}

pub fn run_all(opts: &Options) -> Result<Vec<FileResults>, String> {
    let mut files: Vec<String> = std::fs::read_dir(&opts.dir)
        .map_err(|e| format!("cannot read {}: {e}", opts.dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".test"))
        .collect();
    files.sort();
    if let Some(f) = &opts.file {
        if !files.contains(f) {
            return Err(format!("no script {f} in {}", opts.dir.display()));
        }
        files.retain(|n| n == f);
    }
    install_panic_hook();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(opts.dir.join(&f))
            .map_err(|e| format!("cannot read {f}: {e}"))?;
        out.push(FileResults {
            stmts: run_file(opts, &f, &text),
            file: f,
        });
    }
    Ok(out)
}

static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// Keeps panics quiet and remembers the message, so a panicking statement
/// becomes one failure line instead of a backtrace in the middle of the table.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info.to_string().replace('\n', " ");
        if let Ok(mut g) = LAST_PANIC.lock() {
            *g = Some(msg);
        }
    }));
}

fn take_panic() -> String {
    LAST_PANIC
        .lock()
        .ok()
        .and_then(|mut g| g.take())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Evaluates a query on a worker thread with a time limit; a panic or a
/// timeout becomes an `Err` describing it.
pub fn run_query(
    store: &Arc<MemStore>,
    expr: &Expr,
    query: EvalQuery,
    timeout: Duration,
) -> Result<Result<QueryOutput, EvalError>, String> {
    let (tx, rx) = mpsc::channel();
    let store = Arc::clone(store);
    let expr = expr.clone();
    let spawned = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || {
            let engine = Engine::default();
            let r = match query {
                EvalQuery::Instant { at } => engine.instant(&store, &expr, at),
                EvalQuery::Range { start, end, step } => {
                    engine.range(&store, &expr, start, end, step)
                }
            };
            let _ = tx.send(r);
        });
    if let Err(e) = spawned {
        return Err(format!("cannot start worker thread: {e}"));
    }
    match rx.recv_timeout(timeout) {
        Ok(r) => Ok(r),
        Err(mpsc::RecvTimeoutError::Timeout) => {
            Err(format!("timed out after {}s", timeout.as_secs()))
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(format!("panic: {}", take_panic())),
    }
}

fn count_evals(text: &str) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim_start().to_ascii_lowercase().starts_with("eval"))
        .map(|(i, l)| (i + 1, l.trim().to_string()))
        .collect()
}

fn run_file(opts: &Options, file: &str, text: &str) -> Vec<StmtResult> {
    let script = match parse_script(text) {
        Ok(s) => s,
        Err(e) => {
            // Upstream rejects the whole file; every eval in it fails.
            return count_evals(text)
                .into_iter()
                .map(|(line, expr)| StmtResult {
                    file: file.to_string(),
                    line,
                    expr,
                    outcome: Outcome::Fail(format!("script error: {e}")),
                    advisories: Vec::new(),
                    detail: String::new(),
                })
                .collect();
        }
    };
    let mut store = Arc::new(MemStore::new());
    let mut histogram_series: Vec<Labels> = Vec::new();
    let mut load_error: Option<String> = None;
    let mut out = Vec::new();
    for cmd in &script.commands {
        match cmd {
            Command::Clear(_) => {
                store = Arc::new(MemStore::new());
                histogram_series.clear();
                load_error = None;
            }
            Command::Load(l) => match load_into(Arc::make_mut(&mut store), l) {
                Ok(o) => histogram_series.extend(o.histogram_series),
                Err(e) => load_error = Some(e.to_string()),
            },
            Command::Eval(e) => {
                let mut r = StmtResult {
                    file: file.to_string(),
                    line: e.line,
                    expr: e.expr.clone(),
                    outcome: Outcome::Pass,
                    advisories: Vec::new(),
                    detail: String::new(),
                };
                r.outcome = run_eval(
                    opts,
                    &store,
                    &histogram_series,
                    load_error.as_deref(),
                    e,
                    &mut r,
                );
                if matches!(r.outcome, Outcome::Fail(_)) {
                    let block: Vec<&str> = text
                        .lines()
                        .skip(e.line - 1)
                        .take_while(|l| !l.trim().is_empty())
                        .collect();
                    r.detail = format!(
                        "{}
    {}",
                        block.join("\n    "),
                        r.detail
                    );
                }
                out.push(r);
            }
        }
    }
    out
}

fn run_eval(
    opts: &Options,
    store: &Arc<MemStore>,
    histogram_series: &[Labels],
    load_error: Option<&str>,
    e: &EvalCmd,
    r: &mut StmtResult,
) -> Outcome {
    let expr = match parse(&e.expr) {
        Ok(x) => x,
        Err(msg) => {
            return Outcome::Skip(format!("promql-parser cannot parse: {}", one_line(&msg)))
        }
    };
    if e.expects_histograms() {
        return Outcome::Skip("native histograms: expects histogram values".into());
    }
    if let Some(series) = selects_any(&expr, histogram_series) {
        return Outcome::Skip(format!(
            "native histograms: selects histogram series {series}"
        ));
    }
    if let Some(le) = load_error {
        return Outcome::Fail(format!("earlier load failed: {le}"));
    }
    let got = match run_query(store, &expr, e.query, opts.timeout) {
        Ok(g) => g,
        Err(msg) => return Outcome::Fail(msg),
    };
    let verdict = check_eval(e, &got);
    r.advisories = verdict.advisories;
    r.detail = match &got {
        Ok(o) => format!(
            "got {}; warnings {:?}; infos {:?}",
            alertgate::promqltest::compare::describe_value(&o.value),
            o.annotations.warnings,
            o.annotations.infos
        ),
        Err(err) => format!("got error: {err}"),
    };
    if let Err(reason) = verdict.result {
        return Outcome::Fail(reason);
    }
    if opts.extra {
        if let Err(reason) = super::extra::check_extra(e, &expr, store, opts.timeout) {
            return Outcome::Fail(reason);
        }
    }
    Outcome::Pass
}

pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
