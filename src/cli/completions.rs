//! `alertgate completions SHELL`: prints a shell completion script generated
//! from the clap definitions, so it can never drift from the real flags.

use clap::{Args, CommandFactory};
use clap_complete::Shell;
use std::io::Write;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to generate for (bash, zsh, fish, elvish, powershell).
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Writes the completion script for `shell` to `out`.
pub fn generate(shell: Shell, out: &mut dyn Write) {
    let mut cmd = super::Cli::command();
    clap_complete::generate(shell, &mut cmd, "alertgate", out);
}

pub fn run(a: &CompletionsArgs) -> u8 {
    let mut buf = Vec::new();
    generate(a.shell, &mut buf);
    super::man::write_stdout(&buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bash_script_completes_every_subcommand() {
        let mut buf = Vec::new();
        generate(Shell::Bash, &mut buf);
        let s = String::from_utf8(buf).unwrap();
        assert!(
            s.contains("complete -F _alertgate"),
            "not a bash completion script"
        );
        for sub in super::super::Cli::command().get_subcommands() {
            assert!(s.contains(sub.get_name()), "{} missing", sub.get_name());
        }
    }
}
