//! A Markdown summary for a pull-request comment or a job summary
//! (`$GITHUB_STEP_SUMMARY`): a heading with the totals, one table row per
//! case that did not simply pass (all rows when everything passed), and
//! the long texts in collapsed `<details>` blocks.

use super::model::{Case, Outcome, Report};

pub fn render(r: &Report) -> String {
    let c = r.counts();
    let icon = if c.errors > 0 || c.failures > 0 {
        "❌"
    } else if c.warnings > 0 {
        "⚠️"
    } else {
        "✅"
    };
    let mut parts = Vec::new();
    for (n, word) in [
        (c.failures, "failed"),
        (c.errors, "errors"),
        (c.warnings, "warnings"),
        (c.passed, "passed"),
        (c.skipped, "skipped"),
    ] {
        if n > 0 || word == "passed" {
            parts.push(format!("{n} {word}"));
        }
    }
    let mut out = format!("### {icon} {}: {}\n\n", r.title, parts.join(", "));
    let cases: Vec<&Case> = r.suites.iter().flat_map(|s| &s.cases).collect();
    let interesting: Vec<&Case> = cases
        .iter()
        .copied()
        .filter(|c| !matches!(c.outcome, Outcome::Passed))
        .collect();
    let rows = if interesting.is_empty() {
        cases
    } else {
        interesting
    };
    if !rows.is_empty() {
        out.push_str(
            "| Status | Case | Group | Message | Location |\n| --- | --- | --- | --- | --- |\n",
        );
        for c in &rows {
            let message = c
                .failure()
                .map(|f| f.message.as_str())
                .unwrap_or(match &c.outcome {
                    Outcome::Skipped(m) => m.as_str(),
                    _ => "",
                });
            let location = match (&c.file, c.line) {
                (Some(f), Some(l)) => format!("`{}`", code(&format!("{f}:{l}"))),
                (Some(f), None) => format!("`{}`", code(f)),
                _ => String::new(),
            };
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                status(&c.outcome),
                cell(&c.name),
                cell(&c.classname),
                cell(message),
                location
            ));
        }
    }
    for c in &rows {
        let Some(f) = c.failure() else { continue };
        if f.detail.trim().is_empty() {
            continue;
        }
        let fence = if f.detail.contains("```") {
            "~~~~"
        } else {
            "```"
        };
        out.push_str(&format!(
            "\n<details><summary>{}</summary>\n\n{fence}\n{}\n{fence}\n\n</details>\n",
            html(&c.name),
            f.detail.trim_end()
        ));
    }
    for n in &r.notes {
        out.push_str(&format!("\n> {}\n", cell(n)));
    }
    out
}

fn status(o: &Outcome) -> &'static str {
    match o {
        Outcome::Passed => "✅ passed",
        Outcome::Warning(_) => "⚠️ warning",
        Outcome::Failed(_) => "❌ failed",
        Outcome::Error(_) => "💥 error",
        Outcome::Skipped(_) => "⏭️ skipped",
    }
}

/// One table cell: pipes escaped, line breaks as `<br>`, HTML neutralised.
fn cell(s: &str) -> String {
    html(s)
        .replace('|', "\\|")
        .replace("\r\n", "<br>")
        .replace('\n', "<br>")
}

fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Inside backticks only a backtick or a pipe can break the cell.
fn code(s: &str) -> String {
    s.replace('`', "'").replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::super::model::{Failure, Suite};
    use super::*;

    fn report(cases: Vec<Case>) -> Report {
        Report {
            title: "alertgate check".into(),
            timestamp_ms: 0,
            notes: vec![],
            suites: vec![Suite {
                name: "s".into(),
                file: None,
                cases,
                log: vec![],
            }],
        }
    }

    #[test]
    fn failures_make_rows_and_details() {
        let md = render(&report(vec![
            Case::new("A", "g", Outcome::Passed),
            Case::new(
                "B",
                "g",
                Outcome::Failed(Failure::new("firing", "x | y\nz", "detail <b>")),
            )
            .at(Some("r.yml".into()), Some(3)),
        ]));
        let want = "### ❌ alertgate check: 1 failed, 1 passed\n\n\
| Status | Case | Group | Message | Location |\n| --- | --- | --- | --- | --- |\n\
| ❌ failed | B | g | x \\| y<br>z | `r.yml:3` |\n\
\n<details><summary>B</summary>\n\n```\ndetail <b>\n```\n\n</details>\n";
        assert_eq!(md, want);
    }

    #[test]
    fn all_passed_lists_every_case() {
        let md = render(&report(vec![Case::new("A", "g", Outcome::Passed)]));
        assert!(md.starts_with("### ✅ alertgate check: 1 passed\n"), "{md}");
        assert!(md.contains("| ✅ passed | A | g |  |  |\n"), "{md}");
    }
}
