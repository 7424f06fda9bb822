//! Building: resolves files, directories and globs to rule files, reads and
//! validates each, and gathers every problem of every file.

use super::error::{Code, Problem, RuleError};
use super::group::RuleFile;
use super::validate::{parse_rule_file_with, ValidateOptions};
use std::path::Path;

/// Loads every rule file the paths name. A directory contributes its
/// `*.yml`/`*.yaml` files (not recursively), a glob its matches, sorted. A
/// path or pattern that names no file is a problem: a typo must not look like
/// "no rules, nothing firing".
pub fn load_paths(paths: &[String]) -> Result<Vec<RuleFile>, RuleError> {
    load_paths_with(paths, &ValidateOptions::default())
}

/// [`load_paths`] with validation options.
pub fn load_paths_with(
    paths: &[String],
    opts: &ValidateOptions,
) -> Result<Vec<RuleFile>, RuleError> {
    let mut problems = Vec::new();
    let mut files = Vec::new();
    for p in paths {
        match expand(p) {
            Ok(list) => files.extend(list),
            Err(problem) => problems.push(problem),
        }
    }
    let mut out = Vec::new();
    for f in files {
        match std::fs::read_to_string(&f) {
            Err(e) => problems.push(Problem::new(
                &f,
                None,
                Code::Read,
                format!("cannot read rule file: {e}"),
            )),
            Ok(src) => match parse_rule_file_with(&f, &src, opts) {
                Ok(rf) => out.push(rf),
                Err(ps) => problems.extend(ps),
            },
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(RuleError { problems })
    }
}

fn is_rule_file(p: &Path) -> bool {
    p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml"))
}

fn expand(p: &str) -> Result<Vec<String>, Problem> {
    let path = Path::new(p);
    if path.is_dir() {
        let rd = std::fs::read_dir(path).map_err(|e| {
            Problem::new(p, None, Code::Read, format!("cannot read directory: {e}"))
        })?;
        let mut v: Vec<String> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| is_rule_file(p))
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        v.sort();
        if v.is_empty() {
            return Err(Problem::new(
                p,
                None,
                Code::Read,
                "directory holds no *.yml or *.yaml file",
            ));
        }
        return Ok(v);
    }
    if path.exists() {
        return Ok(vec![p.to_string()]);
    }
    if p.contains(['*', '?', '[']) {
        let entries = glob::glob(p)
            .map_err(|e| Problem::new(p, None, Code::Read, format!("invalid glob pattern: {e}")))?;
        let mut v: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|p| p.is_file())
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        v.sort();
        if v.is_empty() {
            return Err(Problem::new(p, None, Code::Read, "pattern matches no file"));
        }
        return Ok(v);
    }
    Err(Problem::new(
        p,
        None,
        Code::Read,
        "no such file or directory",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "groups:\n  - name: g\n    rules:\n      - record: a\n        expr: up\n";

    #[test]
    fn files_directories_and_globs() {
        let d = tempfile::tempdir().unwrap();
        let p = |n: &str| d.path().join(n).to_string_lossy().into_owned();
        std::fs::write(p("a.yml"), GOOD).unwrap();
        std::fs::write(p("b.yaml"), GOOD).unwrap();
        std::fs::write(p("notes.txt"), "not rules").unwrap();
        assert_eq!(load_paths(&[p("a.yml")]).unwrap().len(), 1);
        let dir = load_paths(&[d.path().to_string_lossy().into_owned()]).unwrap();
        let names: Vec<_> = dir
            .iter()
            .map(|f| f.path.rsplit('/').next().unwrap().to_string())
            .collect();
        assert_eq!(names, vec!["a.yml", "b.yaml"]);
        assert_eq!(load_paths(&[p("*.y*ml")]).unwrap().len(), 2);
    }

    #[test]
    fn missing_paths_are_problems() {
        let d = tempfile::tempdir().unwrap();
        let missing = d.path().join("nope.yml").to_string_lossy().into_owned();
        let glob = d.path().join("*.yml").to_string_lossy().into_owned();
        let err = load_paths(&[missing, glob]).unwrap_err();
        assert_eq!(err.problems.len(), 2);
        assert!(err.problems.iter().all(|p| p.code == Code::Read));
    }

    #[test]
    fn problems_of_all_files_are_collected() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a.yml"), "groups: {}\n").unwrap();
        std::fs::write(d.path().join("b.yml"), "groups:\n- name: ''\n").unwrap();
        let err = load_paths(&[d.path().to_string_lossy().into_owned()]).unwrap_err();
        assert_eq!(err.problems.len(), 2);
    }
}
