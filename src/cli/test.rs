//! `alertgate test`.

use clap::Args;

#[derive(Debug, Args)]
pub struct TestArgs {}

pub fn run(_args: &TestArgs) -> u8 {
    eprintln!("alertgate: test is not implemented yet");
    super::exit::BAD_INPUT
}
