//! Build script: puts the git commit into `alertgate --version`.
//!
//! It must work in a clean clone, in a source tarball without `.git`, and
//! without git installed: then the commit reads `unknown`. Packagers building
//! outside git can set `ALERTGATE_GIT_COMMIT` themselves.

use std::path::{Path, PathBuf};
use std::process::Command;

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=ALERTGATE_GIT_COMMIT");
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let commit = match std::env::var("ALERTGATE_GIT_COMMIT") {
        Ok(c) if !c.trim().is_empty() => c.trim().to_string(),
        _ => git(&dir, &["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into()),
    };
    // Rebuild when HEAD moves (commit, checkout). Only existing paths are
    // watched: a missing one would make cargo rerun this script every build.
    for rel in ["HEAD", "packed-refs"] {
        watch(&dir, rel);
    }
    if let Some(head_ref) = git(&dir, &["symbolic-ref", "-q", "HEAD"]) {
        watch(&dir, &head_ref);
    }
    println!("cargo:rustc-env=ALERTGATE_GIT_COMMIT={commit}");
}

/// Watches `.git/<rel>` (wherever git keeps it, e.g. in a worktree).
fn watch(dir: &Path, rel: &str) {
    if let Some(p) = git(
        dir,
        &["rev-parse", "--path-format=absolute", "--git-path", rel],
    ) {
        if Path::new(&p).exists() {
            println!("cargo:rerun-if-changed={p}");
        }
    }
}
