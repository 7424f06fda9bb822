//! The `alertgate` binary: parses the command line and runs [`alertgate::cli`].

use clap::Parser;
use std::process::ExitCode;

// mimalloc: label sets and evaluation results are many small short-lived
// allocations; glibc's malloc spent ~30% of `alertgate check` (bench/README.md §2).
// Version 2 (feature `v2`): v3 keeps freed pages for a second before
// returning them, which with two evaluation threads cost 30-50 MB of peak
// memory in a one-shot check.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = alertgate::cli::Cli::parse();
    ExitCode::from(alertgate::cli::run(cli))
}
