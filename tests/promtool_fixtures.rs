//! Every rule unit-test fixture of shared/conformance/promtool (promtool's
//! own testdata, v3.5.3) gives the same outcome under `alertgate test` as
//! under `promtool test rules`: both pass, or both fail with the same
//! failure blocks. Both run from inside the fixture folder, since the
//! fixtures name their rule files relative to it (see its INDEX.md).
//!
//! Exit codes differ by design in one place: promtool exits 1 for a test
//! file or rule file it cannot load; `alertgate test` exits 2 (bad input).

use std::path::PathBuf;
use std::process::{Command, Output};

/// `PROMTOOL_FIXTURES`, or `../shared/conformance/promtool` next to the crate.
fn fixtures() -> Option<PathBuf> {
    let dir = std::env::var_os("PROMTOOL_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/promtool")
        });
    if dir.join("INDEX.md").is_file() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").map_or(true, |v| v != "true"),
        "promtool fixtures missing at {}",
        dir.display()
    );
    eprintln!("skipped: no promtool fixtures at {}", dir.display());
    None
}

/// One command line, and what INDEX.md records for promtool 3.5.3.
struct Case {
    args: &'static [&'static str],
    promtool_exit: i32,
    /// Our exit: equal to promtool's, except 2 where the input cannot load.
    alertgate_exit: i32,
}

const fn case(args: &'static [&'static str], promtool_exit: i32, alertgate_exit: i32) -> Case {
    Case {
        args,
        promtool_exit,
        alertgate_exit,
    }
}

const CASES: &[Case] = &[
    case(&["unittest.yml"], 0, 0),
    case(&["long-period.yml"], 0, 0),
    case(&["no-test-group-interval.yml"], 0, 0),
    case(&["at-modifier-test.yml"], 0, 0),
    case(&["negative-offset-test.yml"], 0, 0),
    case(
        &[
            "at-modifier-test.yml",
            "negative-offset-test.yml",
            "no-test-group-interval.yml",
        ],
        0,
        0,
    ),
    case(&["bad-input-series.yml"], 1, 2),
    case(&["bad-promql.yml"], 1, 1),
    case(&["bad-rules-syntax-test.yml"], 1, 2),
    case(&["bad-rules-error-test.yml"], 1, 1),
    case(&["failing.yml"], 1, 1),
    case(&["rules_run.yml"], 1, 1),
    case(
        &["--run", "correct", "--run", "wrong", "rules_run.yml"],
        1,
        1,
    ),
    case(&["--run", "correct", "rules_run.yml"], 0, 0),
    case(&["--run", "wrong", "rules_run.yml"], 1, 1),
    case(&["--run", "nomatch", "rules_run.yml"], 0, 0),
    case(
        &["--ignore-unknown-fields", "rules_run_extrafields.yml"],
        0,
        0,
    ),
    case(&["rules_run_extrafields.yml"], 1, 2),
    case(&["rules_run_no_fuzzy.yml"], 1, 1),
    case(&["--run", "correct", "rules_run_fuzzy.yml"], 0, 0),
    case(&["--run", "wrong", "rules_run_fuzzy.yml"], 1, 1),
    case(&["rules_run_fuzzy.yml"], 1, 1),
];

fn run(program: &PathBuf, pre: &[&str], args: &[&str], dir: &PathBuf) -> Output {
    Command::new(program)
        .args(pre)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", program.display()))
}

fn describe(what: &str, out: &Output) -> String {
    format!(
        "{what}: exit {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The failure blocks of a run whose checks ran (not a load error), with
/// the order of series inside a many-to-many error normalised: Go prints
/// them in map order, which varies from run to run.
fn failure_blocks(stderr: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(stderr);
    let re = regex::Regex::new(r"operation: \[[^\]]*\]").unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| re.replace_all(l, "operation: [...]").trim_end().to_string())
        .collect()
}

#[test]
fn promtool_fixtures_give_promtools_outcome() {
    let Some(dir) = fixtures() else { return };
    let promtool = support_peer();
    let alertgate = PathBuf::from(env!("CARGO_BIN_EXE_alertgate"));
    let mut problems = Vec::new();
    for c in CASES {
        let ours = run(&alertgate, &["test"], c.args, &dir);
        let line = c.args.join(" ");
        if ours.status.code() != Some(c.alertgate_exit) {
            problems.push(format!(
                "{line}: want exit {}\n{}",
                c.alertgate_exit,
                describe("alertgate", &ours)
            ));
            continue;
        }
        let Some(promtool) = &promtool else { continue };
        let theirs = run(promtool, &["test", "rules"], c.args, &dir);
        if theirs.status.code() != Some(c.promtool_exit) {
            problems.push(format!(
                "{line}: INDEX.md says promtool exits {}\n{}",
                c.promtool_exit,
                describe("promtool", &theirs)
            ));
            continue;
        }
        // Where both ran the checks, the printed failures are the same.
        if c.promtool_exit == c.alertgate_exit {
            let (a, b) = (failure_blocks(&ours.stderr), failure_blocks(&theirs.stderr));
            if a != b {
                problems.push(format!(
                    "{line}: failures differ\n{}\n{}",
                    describe("alertgate", &ours),
                    describe("promtool", &theirs)
                ));
            }
            if ours.stdout != theirs.stdout {
                problems.push(format!(
                    "{line}: stdout differs\n{}\n{}",
                    describe("alertgate", &ours),
                    describe("promtool", &theirs)
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// A load error names the file and the defect, in promtool's `FAILED:` frame.
#[test]
fn load_errors_name_the_defect() {
    let Some(dir) = fixtures() else { return };
    let alertgate = PathBuf::from(env!("CARGO_BIN_EXE_alertgate"));
    for (args, want) in [
        (&["bad-input-series.yml"][..], "bad-input-series.yml:3:"),
        (
            &["bad-rules-syntax-test.yml"][..],
            "bad-rules-syntax.yml:7:15:",
        ),
        (
            &["rules_run_extrafields.yml"][..],
            "unknown field `namespace`",
        ),
    ] {
        let out = run(&alertgate, &["test"], args, &dir);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("  FAILED:\n"), "{err}");
        assert!(err.contains(want), "{args:?}: want {want:?} in\n{err}");
    }
}

fn support_peer() -> Option<PathBuf> {
    crate::support::peer("promtool")
}
