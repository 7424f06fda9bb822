//! `alertgate query`.

use clap::Args;

#[derive(Debug, Args)]
pub struct QueryArgs {}

pub fn run(_args: &QueryArgs) -> u8 {
    eprintln!("alertgate: query is not implemented yet");
    super::exit::BAD_INPUT
}
