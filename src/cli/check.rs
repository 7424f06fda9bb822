//! `alertgate check`.

use clap::Args;

#[derive(Debug, Args)]
pub struct CheckArgs {}

pub fn run(_args: &CheckArgs) -> u8 {
    eprintln!("alertgate: check is not implemented yet");
    super::exit::BAD_INPUT
}
