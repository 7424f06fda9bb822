//! `alertgate routes`: `show` prints the routing tree, `test` prints the
//! receivers a label set is routed to (same output as `amtool config routes
//! show|test`), `check` validates config files (like `amtool check-config`).

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::exit;
use crate::model::{Labels, MatchOp};
use crate::routing::matchers::parse_matcher;

#[derive(Debug, Args)]
pub struct RoutesArgs {
    #[command(subcommand)]
    pub command: RoutesCommand,
}

#[derive(Debug, Subcommand)]
pub enum RoutesCommand {
    /// Print the routing tree.
    Show {
        /// alertgate.yml / alertmanager.yml to read.
        #[arg(long)]
        config: PathBuf,
    },
    /// Print the receivers an alert with the given labels is routed to, in order.
    Test {
        #[arg(long)]
        config: PathBuf,
        /// Also print the matching part of the tree.
        #[arg(long)]
        tree: bool,
        /// Fail (exit 1) unless the receivers are exactly this comma-separated list.
        #[arg(long = "verify-receivers")]
        verify_receivers: Option<String>,
        /// Labels as name=value.
        labels: Vec<String>,
    },
    /// Validate config files; exit 0 when all are valid, 2 otherwise.
    Check {
        #[arg(long = "config", required = true)]
        configs: Vec<PathBuf>,
    },
}

/// Loads a config or prints every diagnostic and returns the exit code.
fn load(path: &std::path::Path) -> Result<crate::routing::RoutingConfig, u8> {
    crate::routing::load_file(path).map_err(|e| {
        eprintln!("{e}");
        exit::BAD_INPUT
    })
}

pub fn run(args: &RoutesArgs) -> u8 {
    match &args.command {
        RoutesCommand::Show { config } => match load(config) {
            Ok(c) => {
                print!("{}", c.route.render_tree());
                exit::OK
            }
            Err(code) => code,
        },
        RoutesCommand::Test {
            config,
            tree,
            verify_receivers,
            labels,
        } => {
            let c = match load(config) {
                Ok(c) => c,
                Err(code) => return code,
            };
            let mut ls = Labels::new();
            for l in labels {
                match parse_matcher(l) {
                    Ok(m) if m.op == MatchOp::Equal => ls.set(m.name, m.value),
                    Ok(_) => {
                        return exit::bad_input(&anyhow::anyhow!(
                            "Labels must be specified as key=value pairs"
                        ))
                    }
                    Err(e) => {
                        return exit::bad_input(&anyhow::anyhow!("Failed to parse labels: {e}"))
                    }
                }
            }
            if *tree {
                print!("{}", c.route.render_matching_tree(&ls));
            }
            let slug = c.route.receivers_for(&ls).join(",");
            println!("{slug}");
            match verify_receivers {
                Some(want) if *want != slug => {
                    println!("WARNING: Expected receivers did not match resolved receivers.");
                    exit::BREACH
                }
                _ => exit::OK,
            }
        }
        RoutesCommand::Check { configs } => {
            let mut code = exit::OK;
            for path in configs {
                match crate::routing::load_file(path) {
                    Ok(c) => {
                        println!("Checking '{}'  SUCCESS", path.display());
                        println!(
                            " - {} inhibit rules, {} receivers, {} time intervals",
                            c.inhibit_rules.len(),
                            c.receivers.len(),
                            c.time_intervals.len()
                        );
                        for r in &c.receivers {
                            for kind in &r.unsupported {
                                println!(" - receiver {:?}: {kind}_configs are accepted but not delivered by alertgate", r.name);
                            }
                        }
                    }
                    Err(e) => {
                        println!("Checking '{}'  FAILED", path.display());
                        eprintln!("{e}");
                        code = exit::BAD_INPUT;
                    }
                }
            }
            code
        }
    }
}
