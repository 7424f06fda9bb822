//! The `alertgate` binary: parses the command line and runs [`alertgate::cli`].

use clap::Parser;
use std::process::ExitCode;

// mimalloc: label sets and evaluation results are many small short-lived
// allocations; glibc's malloc spent ~30% of `alertgate check` (bench/README.md §2).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = alertgate::cli::Cli::parse();
    ExitCode::from(alertgate::cli::run(cli))
}
