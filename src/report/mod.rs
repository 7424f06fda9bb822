//! CI report formats shared by `check`, `test` and `lint`: a small neutral
//! model of a test run ([`model`]) and three renderers over it: JUnit XML
//! for CI test tabs ([`junit`]), a Markdown table for a pull-request comment
//! or job summary ([`markdown`]) and GitHub Actions workflow annotations
//! ([`github`]).
//!
//! A command maps its results to a [`Report`] (one [`Case`] per rule or
//! test) and calls [`render`] with the format the user picked; the
//! renderers never decide exit codes.

pub mod github;
pub mod junit;
pub mod markdown;
pub mod model;

pub use model::{Case, Failure, Outcome, Report, Suite};

/// The report formats every CI-facing command accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CiFormat {
    Junit,
    Markdown,
    Github,
}

/// Renders `report` in `format`; the text ends with a newline.
pub fn render(report: &Report, format: CiFormat) -> String {
    match format {
        CiFormat::Junit => junit::render(report),
        CiFormat::Markdown => markdown::render(report),
        CiFormat::Github => github::render(report),
    }
}
