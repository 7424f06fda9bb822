use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = alertgate::cli::Cli::parse();
    ExitCode::from(alertgate::cli::run(cli))
}
