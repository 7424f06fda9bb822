//! `alertgate routes`.

use clap::Args;

#[derive(Debug, Args)]
pub struct RoutesArgs {}

pub fn run(_args: &RoutesArgs) -> u8 {
    eprintln!("alertgate: routes is not implemented yet");
    super::exit::BAD_INPUT
}
