//! GitHub Actions workflow commands: one `::error` per failed or errored
//! case and one `::warning` per warning, with `file`, `line` and `title`, so
//! the runner shows them on the changed lines of a pull request. Values are
//! escaped as the runner's toolkit does (`%`, CR, LF; in properties also
//! `:` and `,`). A plain summary line closes the output.

use super::model::{Outcome, Report};

/// The annotations of every failed, errored or warned case, then a
/// summary line.
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    for c in r.suites.iter().flat_map(|s| &s.cases) {
        let (level, f) = match &c.outcome {
            Outcome::Failed(f) | Outcome::Error(f) => ("error", f),
            Outcome::Warning(f) => ("warning", f),
            Outcome::Passed | Outcome::Skipped(_) => continue,
        };
        let mut msg = f.message.clone();
        if !f.detail.trim().is_empty() {
            msg.push('\n');
            msg.push_str(f.detail.trim_end());
        }
        let title = format!("{}: {}", c.classname, c.name);
        out.push_str(
            &Annotation {
                level,
                file: c.file.as_deref(),
                line: c.line,
                col: None,
                title: &title,
                message: &msg,
            }
            .render(),
        );
    }
    let c = r.counts();
    out.push_str(&format!(
        "{}: {} passed, {} failed, {} errors, {} warnings\n",
        r.title, c.passed, c.failures, c.errors, c.warnings
    ));
    out
}

/// One workflow command, `::level file=F,line=L,col=C,title=T::message`.
/// `lint` builds these from findings (with a column, titled by check name,
/// no summary); [`render`] from report cases.
#[derive(Debug, Clone, Copy)]
pub struct Annotation<'a> {
    /// `error` or `warning`.
    pub level: &'a str,
    pub file: Option<&'a str>,
    /// Printed only with a `file`: the runner places nothing by line alone.
    pub line: Option<usize>,
    /// Printed only with a `line`.
    pub col: Option<usize>,
    pub title: &'a str,
    pub message: &'a str,
}

impl Annotation<'_> {
    /// The command, escaped, with its newline.
    pub fn render(&self) -> String {
        let mut props = Vec::new();
        if let Some(file) = self.file {
            props.push(format!("file={}", property(file)));
            if let Some(l) = self.line {
                props.push(format!("line={l}"));
                if let Some(c) = self.col {
                    props.push(format!("col={c}"));
                }
            }
        }
        props.push(format!("title={}", property(self.title)));
        format!(
            "::{} {}::{}\n",
            self.level,
            props.join(","),
            data(self.message)
        )
    }
}

/// A command's message.
fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A command's property value.
fn property(s: &str) -> String {
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

    #[test]
    fn annotation_prints_column_only_with_a_line_and_position_only_with_a_file() {
        let a = Annotation {
            level: "warning",
            file: Some("a,b:c.yml"),
            line: Some(3),
            col: Some(9),
            title: "rules/x",
            message: "m\r",
        };
        assert_eq!(
            a.render(),
            "::warning file=a%2Cb%3Ac.yml,line=3,col=9,title=rules/x::m%0D\n"
        );
        let no_line = Annotation { line: None, ..a };
        assert_eq!(
            no_line.render(),
            "::warning file=a%2Cb%3Ac.yml,title=rules/x::m%0D\n"
        );
        let no_file = Annotation { file: None, ..a };
        assert_eq!(no_file.render(), "::warning title=rules/x::m%0D\n");
    }
}
