//! Command-line interface: parses arguments, runs a command, maps the outcome
//! to an exit code. Each sub-command lives in its own file with its `Args`.

pub mod canary;
pub mod check;
pub mod completions;
pub mod dlq;
pub mod exit;
pub mod lint;
pub mod man;
pub mod outbox;
pub mod query;
pub mod remote;
pub mod routes;
pub mod run;
pub mod silence;
pub mod template;
pub mod test;

use clap::{Parser, Subcommand};

/// `--version`: the package version and the git commit it was built from
/// (`unknown` outside a git checkout; see build.rs).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("ALERTGATE_GIT_COMMIT"),
    ")"
);

#[derive(Debug, Parser)]
#[command(name = "alertgate", version = VERSION, about = "Prometheus-compatible rule evaluator and alert router")]
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
    /// Print a shell completion script (bash, zsh, fish, ...).
    Completions(completions::CompletionsArgs),
    /// Print the man page (roff).
    Man(man::ManArgs),
    /// Dead-letter queue of the outbox: list, show, replay, purge.
    Dlq(dlq::DlqArgs),
    /// Durable outbox: drain it without the service (timer mode), or check it.
    Outbox(outbox::OutboxArgs),
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
        Command::Completions(a) => completions::run(a),
        Command::Man(a) => man::run(a),
        Command::Dlq(a) => dlq::run(a),
        Command::Outbox(a) => outbox::run(a),
    }
}
