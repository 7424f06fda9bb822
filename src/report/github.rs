//! GitHub Actions workflow commands: one `::error` per failed or errored
//! case and one `::warning` per warning, with `file`, `line` and `title`, so
//! the runner shows them on the changed lines of a pull request. Values are
//! escaped as the runner's toolkit does (`%`, CR, LF; in properties also
//! `:` and `,`). A plain summary line closes the output.

use super::model::{Outcome, Report};

pub fn render(r: &Report) -> String {
    let mut out = String::new();
    for c in r.suites.iter().flat_map(|s| &s.cases) {
        let (level, f) = match &c.outcome {
            Outcome::Failed(f) | Outcome::Error(f) => ("error", f),
            Outcome::Warning(f) => ("warning", f),
            Outcome::Passed | Outcome::Skipped(_) => continue,
        };
        let mut props = Vec::new();
        if let Some(file) = &c.file {
            props.push(format!("file={}", property(file)));
            if let Some(l) = c.line {
                props.push(format!("line={l}"));
            }
        }
        props.push(format!(
            "title={}",
            property(&format!("{}: {}", c.classname, c.name))
        ));
        let mut msg = f.message.clone();
        if !f.detail.trim().is_empty() {
            msg.push('\n');
            msg.push_str(f.detail.trim_end());
        }
        out.push_str(&format!("::{level} {}::{}\n", props.join(","), data(&msg)));
    }
    let c = r.counts();
    out.push_str(&format!(
        "{}: {} passed, {} failed, {} errors, {} warnings\n",
        r.title, c.passed, c.failures, c.errors, c.warnings
    ));
    out
}

/// A command's message.
pub fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A command's property value.
pub fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::super::model::{Case, Failure, Suite};
    use super::*;

    #[test]
    fn annotations_are_escaped_like_the_toolkit() {
        let r = Report {
            title: "alertgate check".into(),
            timestamp_ms: 0,
            notes: vec![],
            suites: vec![Suite {
                name: "s".into(),
                file: None,
                log: vec![],
                cases: vec![
                    Case::new("A", "g", Outcome::Passed),
                    Case::new(
                        "B",
                        "g,1",
                        Outcome::Failed(Failure::new("firing", "100% bad", "l1\nl2")),
                    )
                    .at(Some("r.yml".into()), Some(4)),
                    Case::new(
                        "C",
                        "g",
                        Outcome::Warning(Failure::new("pending", "soon", "")),
                    ),
                ],
            }],
        };
        assert_eq!(
            render(&r),
            "::error file=r.yml,line=4,title=g%2C1%3A B::100%25 bad%0Al1%0Al2\n\
::warning title=g%3A C::soon\n\
alertgate check: 1 passed, 1 failed, 0 errors, 1 warnings\n"
        );
    }
}
