//! `alertgate lint`.

use clap::Args;

#[derive(Debug, Args)]
pub struct LintArgs {}

pub fn run(_args: &LintArgs) -> u8 {
    eprintln!("alertgate: lint is not implemented yet");
    super::exit::BAD_INPUT
}
