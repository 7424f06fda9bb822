//! `alertgate silence`.

use clap::Args;

#[derive(Debug, Args)]
pub struct SilenceArgs {}

pub fn run(_args: &SilenceArgs) -> u8 {
    eprintln!("alertgate: silence is not implemented yet");
    super::exit::BAD_INPUT
}
