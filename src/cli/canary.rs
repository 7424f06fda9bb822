//! `alertgate canary`.

use clap::Args;

#[derive(Debug, Args)]
pub struct CanaryArgs {}

pub fn run(_args: &CanaryArgs) -> u8 {
    eprintln!("alertgate: canary is not implemented yet");
    super::exit::BAD_INPUT
}
