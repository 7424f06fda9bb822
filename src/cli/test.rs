//! `alertgate test`: runs promtool rule unit-test files (`promtool test
//! rules`). Output mirrors promtool 3.5: `  SUCCESS` or `  FAILED:` per file,
//! failure blocks on stderr. Exit 0 all pass, 1 any failure, 2 bad input.

use super::exit;
use crate::unittest::{run_file, Outcome, RunOptions};
use anyhow::anyhow;
use clap::Args;
use std::path::PathBuf;

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
