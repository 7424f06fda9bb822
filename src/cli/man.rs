//! `alertgate man`: prints the roff man page generated from the clap
//! definitions (one page, every sub-command as a section), so it can never
//! drift from the real flags. Install with
//! `alertgate man > /usr/share/man/man1/alertgate.1`.

use clap::{Args, CommandFactory};
use clap_mangen::roff::{bold, italic, roman, Roff};
use std::io::Write;

#[derive(Debug, Args)]
pub struct ManArgs {}

/// Renders the man page: the top-level sections, a SUBCOMMANDS list, then
/// COMMAND OPTIONS with each (nested) sub-command's usage and arguments.
pub fn render() -> std::io::Result<Vec<u8>> {
    let cmd = super::Cli::command();
    let mut out = Vec::new();
    let man = clap_mangen::Man::new(cmd.clone());
    // Title, name, synopsis, description and options come from
    // clap_mangen's standard sections.
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    // clap_mangen's own SUBCOMMANDS section points at one page per
    // sub-command (alertgate-check(1)); this is a single page, so list them
    // here and document each one below.
    let mut roff = Roff::new();
    roff.control("SH", ["SUBCOMMANDS"]);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        roff.control("TP", []);
        roff.text([bold(format!("alertgate {}", sub.get_name()))]);
        roff.text([roman(
            sub.get_about().map(|a| a.to_string()).unwrap_or_default(),
        )]);
    }
    // Each sub-command's own options follow, because an operator reading
    // `man alertgate` should not need `alertgate X --help` too.
    roff.control("SH", ["COMMAND OPTIONS"]);
    for sub in cmd.get_subcommands() {
        subcommand_section(&mut roff, "alertgate", sub);
    }
    roff.to_writer(&mut out)?;
    man.render_version_section(&mut out)?;
    Ok(out)
}

/// One `.SS` per (nested) sub-command: description, usage, arguments.
fn subcommand_section(roff: &mut Roff, parent: &str, sub: &clap::Command) {
    if sub.is_hide_set() {
        return;
    }
    let name = format!("{parent} {}", sub.get_name());
    roff.control("SS", [name.as_str()]);
    if let Some(about) = sub.get_long_about().or(sub.get_about()) {
        roff.text([roman(about.to_string())]);
    }
    let mut with_name = sub.clone().bin_name(name.clone());
    let usage = with_name.render_usage().to_string();
    roff.control("PP", []);
    roff.text([italic(usage.trim_start_matches("Usage: ").to_string())]);
    for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
        let mut head = Vec::new();
        if let Some(s) = arg.get_short() {
            head.push(format!("-{s}"));
        }
        if let Some(l) = arg.get_long() {
            head.push(format!("--{l}"));
        }
        let value = arg
            .get_value_names()
            .and_then(|v| v.first())
            .map(|v| v.to_string())
            .unwrap_or_else(|| arg.get_id().as_str().to_uppercase());
        let mut head = head.join(", ");
        if arg.get_short().is_none() && arg.get_long().is_none() {
            head = format!("<{value}>");
        } else if arg.get_action().takes_values() {
            head = format!("{head} <{value}>");
        }
        roff.control("TP", []);
        roff.text([bold(head)]);
        let mut help = arg
            .get_long_help()
            .or(arg.get_help())
            .map(|h| h.to_string())
            .unwrap_or_default();
        let defaults: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect();
        if !defaults.is_empty() && !arg.is_hide_default_value_set() {
            help = format!("{help} [default: {}]", defaults.join(", "));
        }
        let values: Vec<String> = arg
            .get_possible_values()
            .iter()
            .filter(|v| !v.is_hide_set())
            .map(|v| v.get_name().to_string())
            .collect();
        if arg.get_action().takes_values()
            && !values.is_empty()
            && !arg.is_hide_possible_values_set()
        {
            help = format!("{help} [possible values: {}]", values.join(", "));
        }
        roff.text([roman(help)]);
    }
    for nested in sub.get_subcommands() {
        subcommand_section(roff, &name, nested);
    }
}

pub fn run(_: &ManArgs) -> u8 {
    match render() {
        Ok(page) => write_stdout(&page),
        Err(e) => {
            eprintln!("alertgate: error: {e}");
            super::exit::RUN_ERROR
        }
    }
}

/// Writes generated output; a closed pipe (`| head`) is not an error.
pub(super) fn write_stdout(buf: &[u8]) -> u8 {
    let mut out = std::io::stdout().lock();
    match out.write_all(buf).and_then(|()| out.flush()) {
        Ok(()) => super::exit::OK,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => super::exit::OK,
        Err(e) => {
            eprintln!("alertgate: error: {e}");
            super::exit::RUN_ERROR
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_documents_every_subcommand_and_its_flags() {
        let page = String::from_utf8(render().unwrap()).unwrap();
        assert!(page.contains(".TH alertgate 1"), "no title line");
        let cmd = super::super::Cli::command();
        for sub in cmd.get_subcommands() {
            let name = sub.get_name();
            assert!(
                page.contains(&format!(".SS \"alertgate {name}\"")),
                "{name} missing"
            );
            for long in sub.get_arguments().filter_map(|a| a.get_long()) {
                assert!(
                    page.contains(&format!("\\-\\-{}", long.replace('-', "\\-"))),
                    "{name} --{long} missing"
                );
            }
        }
    }
}
