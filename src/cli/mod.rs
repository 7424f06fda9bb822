//! Command-line interface: parses arguments, runs a command, maps the outcome
//! to an exit code. Each sub-command lives in its own file with its `Args`.

pub mod canary;
pub mod check;
pub mod exit;
pub mod lint;
pub mod query;
pub mod remote;
pub mod routes;
pub mod run;
pub mod silence;
pub mod template;
pub mod test;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "alertgate", version, about = "Prometheus-compatible rule evaluator and alert router")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Evaluate rule files once and report what fires (exit 0 clean, 1 breach, 2 bad input).
    Check(check::CheckArgs),
    /// Evaluate one PromQL expression.
    Query(query::QueryArgs),
    /// Run promtool-compatible rule unit tests.
    Test(test::TestArgs),
    /// Inspect and test the routing tree.
    Routes(routes::RoutesArgs),
    /// Manage silences.
    Silence(silence::SilenceArgs),
    /// Canary rollout gate: decide, rollout, kill-switch, status.
    Canary(canary::CanaryArgs),
    /// Find broken rules and configs before they page.
    Lint(lint::LintArgs),
    /// Run the service: evaluate rules, scrape, route and serve the HTTP API (--once: one round).
    Run(run::RunArgs),
    /// Render notification templates.
    Template(template::TemplateArgs),
}

/// Runs the CLI and returns the process exit code.
pub fn run(cli: Cli) -> u8 {
    match &cli.command {
        Command::Check(a) => check::run(a),
        Command::Query(a) => query::run(a),
        Command::Test(a) => test::run(a),
        Command::Routes(a) => routes::run(a),
        Command::Silence(a) => silence::run(a),
        Command::Canary(a) => canary::run(a),
        Command::Lint(a) => lint::run(a),
        Command::Run(a) => run::run(a),
        Command::Template(a) => template::run(a),
    }
}
