//! `alertgate test`: runs promtool rule unit-test files (`promtool test
//! rules`). Output mirrors promtool 3.5: `  SUCCESS` or `  FAILED:` per file,
//! failure blocks on stderr. `--format junit|markdown|github` prints a CI
//! report instead: one suite per file, one case per test group. Exit 0 all
//! pass, 1 any failure, 2 bad input.

use super::exit;
use crate::report::{self, Case, CiFormat, Failure, Outcome as CaseOutcome, Report, Suite};
use crate::unittest::{run_file, FileReport, Outcome, RunOptions, UnitTestError};
use anyhow::anyhow;
use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Unit-test files (promtool's format).
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Only run test groups whose name matches this regular expression;
    /// repeatable (joined with `|`).
    #[arg(long = "run", value_name = "REGEX")]
    pub run: Vec<String>,
    /// Ignore unknown fields in the rule files the tests load.
    #[arg(long = "ignore-unknown-fields")]
    pub ignore_unknown_fields: bool,
    /// Prometheus feature flags: `promql-experimental-functions`,
    /// `promql-delayed-name-removal`; repeatable or comma-separated.
    #[arg(long = "enable-feature", value_name = "NAME", value_delimiter = ',')]
    pub enable_features: Vec<String>,
    /// Output: promtool's text, or a CI report (JUnit XML, a Markdown
    /// table, GitHub annotations) with one case per test group.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Junit,
    Markdown,
    Github,
}

const FEATURES: [&str; 2] = [
    "promql-experimental-functions",
    "promql-delayed-name-removal",
];

pub fn run(args: &TestArgs) -> u8 {
    if let Some(f) = args
        .enable_features
        .iter()
        .find(|f| !FEATURES.contains(&f.as_str()))
    {
        return exit::bad_input(&anyhow!(
            "--enable-feature: unknown feature {f:?} (known: {})",
            FEATURES.join(", ")
        ));
    }
    let run = if args.run.is_empty() {
        None
    } else {
        match regex::Regex::new(&args.run.join("|")) {
            Ok(r) => Some(r),
            Err(e) => return exit::bad_input(&anyhow!("--run: {e}")),
        }
    };
    let has = |f: &str| args.enable_features.iter().any(|x| x == f);
    let opts = RunOptions {
        run,
        ignore_unknown_fields: args.ignore_unknown_fields,
        experimental_functions: has(FEATURES[0]),
        delayed_name_removal: has(FEATURES[1]),
    };
    let ci = match args.format {
        Format::Text => None,
        Format::Junit => Some(CiFormat::Junit),
        Format::Markdown => Some(CiFormat::Markdown),
        Format::Github => Some(CiFormat::Github),
    };
    if let Some(format) = ci {
        return run_ci(args, &opts, format);
    }
    let mut failed = false;
    let mut bad = false;
    for f in &args.files {
        match run_file(f, &opts) {
            Ok(report) => {
                for w in &report.warnings {
                    eprintln!("  WARNING: {w}");
                }
                match report.outcome {
                    Outcome::Success => println!("  SUCCESS"),
                    Outcome::Failed(errs) => {
                        failed = true;
                        eprintln!("  FAILED:");
                        for e in errs {
                            eprintln!("{e}");
                            println!();
                        }
                    }
                }
            }
            Err(e) => {
                bad = true;
                eprintln!("  FAILED:");
                eprintln!("{e}");
                println!();
            }
        }
        println!();
    }
    if bad {
        exit::BAD_INPUT
    } else if failed {
        exit::BREACH
    } else {
        exit::OK
    }
}

/// `--format junit|markdown|github`: the same runs, printed as one report.
fn run_ci(args: &TestArgs, opts: &RunOptions, format: CiFormat) -> u8 {
    let mut suites = Vec::new();
    let mut bad = false;
    for f in &args.files {
        let result = run_file(f, opts);
        bad |= result.is_err();
        suites.push(suite(f, &result));
    }
    let r = Report {
        title: "alertgate test".into(),
        timestamp_ms: crate::clock::now_ms(),
        suites,
        notes: Vec::new(),
    };
    print!("{}", report::render(&r, format));
    let c = r.counts();
    if bad {
        exit::BAD_INPUT
    } else if c.failures > 0 || c.errors > 0 {
        exit::BREACH
    } else {
        exit::OK
    }
}

/// One suite per test file: a case per test group, or one error case for a
/// file that cannot be run.
fn suite(path: &Path, result: &Result<FileReport, UnitTestError>) -> Suite {
    let file = path.display().to_string();
    let cases = match result {
        Err(e) => vec![Case::new(
            "load",
            file.clone(),
            CaseOutcome::Error(Failure::new(
                "bad-input",
                first_line(&e.to_string()),
                e.to_string(),
            )),
        )
        .at(Some(file.clone()), None)],
        Ok(r) => r
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let name = if g.name.is_empty() {
                    format!("test group {}", i + 1)
                } else {
                    g.name.clone()
                };
                let outcome = if g.skipped {
                    CaseOutcome::Skipped("not selected by --run".into())
                } else if g.failures.is_empty() {
                    CaseOutcome::Passed
                } else {
                    let detail = g.failures.join("\n\n");
                    CaseOutcome::Failed(Failure::new(
                        "test-failure",
                        format!(
                            "{} failed check(s): {}",
                            g.failures.len(),
                            headline(&g.failures[0])
                        ),
                        detail,
                    ))
                };
                Case::new(name, file.clone(), outcome).at(Some(file.clone()), None)
            })
            .collect(),
    };
    Suite {
        name: file.clone(),
        file: Some(file),
        cases,
        log: result
            .as_ref()
            .map(|r| r.warnings.iter().map(|w| format!("WARNING: {w}")).collect())
            .unwrap_or_default(),
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_string()
}

/// The first line of a promtool failure block that says what was checked
/// (the `name:` line repeats the case name).
fn headline(block: &str) -> String {
    block
        .lines()
        .map(|l| l.trim().trim_end_matches(',').trim())
        .find(|l| !l.is_empty() && !l.starts_with("name:"))
        .unwrap_or("")
        .to_string()
}
