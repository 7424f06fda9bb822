//! Packaging (issue [packaging]): the shell completions and the man page are
//! generated from the clap definitions and must be usable as shipped, and
//! `--version` names the commit the binary was built from.

use alertgate::cli::Cli;
use clap::CommandFactory;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn alertgate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_alertgate"))
        .args(args)
        .output()
        .expect("run alertgate")
}

fn stdout_of(args: &[&str]) -> String {
    let out = alertgate(args);
    assert!(
        out.status.success(),
        "alertgate {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Sub-command names as the user types them (`canary decide`), nested ones included.
fn subcommand_paths() -> Vec<String> {
    fn walk(prefix: &str, cmd: &clap::Command, out: &mut Vec<String>) {
        for sub in cmd.get_subcommands() {
            let path = format!("{prefix} {}", sub.get_name()).trim().to_string();
            out.push(path.clone());
            walk(&path, sub, out);
        }
    }
    let mut out = Vec::new();
    walk("", &Cli::command(), &mut out);
    out
}

/// Runs `shell args script`; None when the shell is not installed.
fn syntax_check(shell: &str, args: &[&str], script: &Path) -> Option<Output> {
    Command::new(shell)
        .args(args)
        .arg(script)
        .stdin(Stdio::null())
        .output()
        .ok()
}

#[test]
fn bash_completion_parses_and_knows_every_subcommand() {
    let script = stdout_of(&["completions", "bash"]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alertgate.bash");
    std::fs::write(&path, &script).unwrap();
    let out = syntax_check("bash", &["-n"], &path).expect("bash is installed");
    assert!(
        out.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in subcommand_paths() {
        let last = name.rsplit(' ').next().unwrap();
        assert!(script.contains(last), "completion lacks {name:?}");
    }
    // Loading it registers the completion function for `alertgate`.
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("source {}; complete -p alertgate", path.display()))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("_alertgate"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn zsh_and_fish_completions_are_generated_and_parse_where_installed() {
    let dir = tempfile::tempdir().unwrap();
    for (shell, check, marker) in [
        ("zsh", vec!["-n"], "#compdef alertgate"),
        ("fish", vec!["--no-execute"], "complete -c alertgate"),
    ] {
        let script = stdout_of(&["completions", shell]);
        assert!(script.contains(marker), "{shell}: no {marker:?}");
        assert!(script.contains("silence"), "{shell}: no sub-commands");
        let path = dir.path().join(format!("alertgate.{shell}"));
        std::fs::write(&path, &script).unwrap();
        match syntax_check(shell, &check, &path) {
            Some(out) => assert!(
                out.status.success(),
                "{shell} {check:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            ),
            None => eprintln!("skipped: {shell} is not installed, syntax not checked"),
        }
    }
}

#[test]
fn unknown_shell_is_a_usage_error() {
    let out = alertgate(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("tcsh"));
}

#[test]
fn man_page_names_every_subcommand() {
    let page = stdout_of(&["man"]);
    assert!(page.contains(".TH alertgate 1"), "no .TH line");
    for name in subcommand_paths() {
        if name == "help" {
            continue;
        }
        let heading = format!(".SS \"alertgate {name}\"");
        assert!(page.contains(&heading), "man page lacks {heading}");
    }
    // The page is valid roff: groff reports no warnings (when installed).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alertgate.1");
    std::fs::write(&path, &page).unwrap();
    match Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .arg(&path)
        .output()
    {
        Ok(out) => assert!(
            out.status.success() && out.stderr.is_empty(),
            "groff: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(_) => eprintln!("skipped: groff is not installed, roff not checked"),
    }
}

#[test]
fn version_names_package_version_and_commit() {
    let v = stdout_of(&["--version"]);
    let want = format!("alertgate {} (commit ", env!("CARGO_PKG_VERSION"));
    assert!(v.starts_with(&want), "{v:?}");
    let commit = v.trim_end().trim_start_matches(&want).trim_end_matches(')');
    // In a git checkout it is the abbreviated HEAD; elsewhere `unknown`.
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    match head {
        Some(h) if std::env::var_os("ALERTGATE_GIT_COMMIT").is_none() => {
            assert_eq!(commit, h, "--version commit is not HEAD")
        }
        _ => assert!(!commit.is_empty(), "{v:?}"),
    }
}

#[test]
fn bench_scripts_parse() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).expect("bench/") {
        let path = e.unwrap().path();
        if path.extension().is_some_and(|x| x == "sh") {
            let out = syntax_check("bash", &["-n"], &path).expect("bash is installed");
            assert!(
                out.status.success(),
                "bash -n {}: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            n += 1;
        }
    }
    assert!(n >= 5, "only {n} scripts in bench/");
}
