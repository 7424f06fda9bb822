//! JUnit XML as the Ant JUnit task writes it, following the schema CI
//! servers validate against (windyroad/JUnit-Schema: JUnit.xsd): a
//! `testsuites` root without attributes; each `testsuite` with `package`,
//! `id`, `name`, `timestamp` (UTC, no zone), `hostname`, `tests`,
//! `failures`, `errors`, `skipped` and `time`, and the required
//! `properties`, `system-out` and `system-err` children; each `testcase`
//! with `name`, `classname`, `time` and at most one `failure`, `error` or
//! `skipped`. The schema allows no other attributes, so a case's file and
//! line go into the failure text, and warnings into the suite's
//! `system-out`.

use super::model::{Case, Outcome, Report, Suite};

pub fn render(r: &Report) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
    let timestamp = chrono::DateTime::from_timestamp_millis(r.timestamp_ms)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%S").to_string())
        .unwrap_or_else(|| "1970-01-01T00:00:00".into());
    for (id, s) in r.suites.iter().enumerate() {
        suite(&mut out, s, id, &timestamp);
    }
    out.push_str("</testsuites>\n");
    out
}

fn suite(out: &mut String, s: &Suite, id: usize, timestamp: &str) {
    let c = s.counts();
    // `name` and `package` are non-empty tokens in the schema.
    let name = if s.name.trim().is_empty() {
        "alertgate"
    } else {
        s.name.as_str()
    };
    out.push_str(&format!(
        "  <testsuite name=\"{n}\" package=\"{n}\" id=\"{id}\" timestamp=\"{timestamp}\" hostname=\"localhost\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\">\n",
        c.tests,
        c.failures,
        c.errors,
        c.skipped,
        seconds(s.time_s()),
        n = attr(name),
    ));
    out.push_str("    <properties>\n");
    if let Some(f) = &s.file {
        out.push_str(&format!(
            "      <property name=\"file\" value=\"{}\"/>\n",
            attr(f)
        ));
    }
    out.push_str("    </properties>\n");
    for case in &s.cases {
        testcase(out, case);
    }
    let mut log: Vec<String> = s.log.clone();
    for case in &s.cases {
        if let Outcome::Warning(f) = &case.outcome {
            log.push(format!("WARNING {}: {}", case.name, f.message));
        }
    }
    if log.is_empty() {
        out.push_str("    <system-out/>\n");
    } else {
        out.push_str(&format!(
            "    <system-out>{}</system-out>\n",
            text(&log.join("\n"))
        ));
    }
    out.push_str("    <system-err/>\n  </testsuite>\n");
}

fn testcase(out: &mut String, c: &Case) {
    let classname = if c.classname.trim().is_empty() {
        "alertgate"
    } else {
        c.classname.as_str()
    };
    let name = if c.name.trim().is_empty() {
        "(unnamed)"
    } else {
        c.name.as_str()
    };
    let open = format!(
        "    <testcase name=\"{}\" classname=\"{}\" time=\"{}\"",
        attr(name),
        attr(classname),
        seconds(c.time_s)
    );
    let (tag, f) = match &c.outcome {
        Outcome::Passed | Outcome::Warning(_) => {
            out.push_str(&open);
            out.push_str("/>\n");
            return;
        }
        Outcome::Skipped(msg) => {
            out.push_str(&format!(
                "{open}>\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                attr(msg)
            ));
            return;
        }
        Outcome::Failed(f) => ("failure", f),
        Outcome::Error(f) => ("error", f),
    };
    let mut body = String::new();
    if let Some(file) = &c.file {
        body.push_str(&match c.line {
            Some(l) => format!("{file}:{l}\n"),
            None => format!("{file}\n"),
        });
    }
    body.push_str(&f.detail);
    let kind = if f.kind.is_empty() {
        tag
    } else {
        f.kind.as_str()
    };
    out.push_str(&format!(
        "{open}>\n      <{tag} message=\"{}\" type=\"{}\">{}</{tag}>\n    </testcase>\n",
        attr(&f.message),
        attr(kind),
        text(body.trim_end())
    ));
}

/// `xs:decimal`: plain digits, never an exponent.
fn seconds(s: f64) -> String {
    if s.is_finite() && s > 0.0 {
        format!("{s:.3}")
    } else {
        "0.000".into()
    }
}

/// Characters XML 1.0 cannot carry at all become U+FFFD.
fn clean(c: char) -> char {
    match c {
        '\t' | '\n' | '\r' => c,
        c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => '\u{FFFD}',
        c => c,
    }
}

/// Escapes element text.
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().map(clean) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes an attribute value; line breaks and tabs are kept as character
/// references, since a parser normalises literal ones to spaces.
pub fn attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().map(clean) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::model::Failure;
    use super::*;

    fn sample() -> Report {
        Report {
            title: "alertgate check".into(),
            timestamp_ms: 1_741_079_400_000,
            notes: vec![],
            suites: vec![Suite {
                name: "rules/a.yml".into(),
                file: Some("rules/a.yml".into()),
                log: vec![],
                cases: vec![
                    Case::new("Ok", "g", Outcome::Passed),
                    Case::new(
                        "Dlq",
                        "g",
                        Outcome::Failed(Failure::new(
                            "firing",
                            "1 alert <firing> & \"loud\"",
                            "dlq_size{a=\"b\"} = 3",
                        )),
                    )
                    .at(Some("rules/a.yml".into()), Some(7)),
                    Case::new(
                        "Lag",
                        "g",
                        Outcome::Warning(Failure::new("pending", "pending, 4m left", "")),
                    ),
                    Case::new(
                        "Broken",
                        "g",
                        Outcome::Error(Failure::new("eval-error", "bad\nthing", "")),
                    ),
                ],
            }],
        }
    }

    #[test]
    fn counts_escapes_and_schema_attributes() {
        let x = render(&sample());
        assert!(x.contains(
            "<testsuite name=\"rules/a.yml\" package=\"rules/a.yml\" id=\"0\" timestamp=\"2025-03-04T09:10:00\" hostname=\"localhost\" tests=\"4\" failures=\"1\" errors=\"1\" skipped=\"0\" time=\"0.000\">"
        ), "{x}");
        assert!(x.contains("<failure message=\"1 alert &lt;firing&gt; &amp; &quot;loud&quot;\" type=\"firing\">rules/a.yml:7\ndlq_size{a=\"b\"} = 3</failure>"), "{x}");
        assert!(
            x.contains("<error message=\"bad&#10;thing\" type=\"eval-error\">"),
            "{x}"
        );
        // A warning passes; its text goes to the suite log.
        assert!(
            x.contains("<testcase name=\"Lag\" classname=\"g\" time=\"0.000\"/>"),
            "{x}"
        );
        assert!(
            x.contains("<system-out>WARNING Lag: pending, 4m left</system-out>"),
            "{x}"
        );
        assert!(
            x.contains("<properties>") && x.contains("<system-err/>"),
            "{x}"
        );
    }

    #[test]
    fn control_characters_never_reach_the_xml() {
        assert_eq!(text("a\u{1}b<"), "a\u{FFFD}b&lt;");
        assert_eq!(attr("x\ty"), "x&#9;y");
    }
}
