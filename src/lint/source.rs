//! Loading rule files for lint: like `rules::load_paths`, but a broken file
//! does not hide the others, and the text is kept so that findings can
//! point at the rule, label or expression they are about.

use super::finding::Finding;
use crate::rules::{parse_rule_file_with, RuleFile, ValidateOptions};
use crate::yaml::{Pos, Positions};
use std::path::Path;

/// The check name of a file that cannot be read; it makes `lint` exit 2.
pub const READ: &str = "rules/read";

/// One valid rule file with its text positions.
#[derive(Debug, Clone)]
pub struct RuleSource {
    pub file: RuleFile,
    pub pos: Positions,
}

impl RuleSource {
    pub fn path(&self) -> &str {
        &self.file.path
    }

    /// Parses `src` (named `path`); validation problems become error findings.
    pub fn parse(
        path: &str,
        src: &str,
        opts: &ValidateOptions,
    ) -> Result<RuleSource, Vec<Finding>> {
        match parse_rule_file_with(path, src, opts) {
            Ok(file) => Ok(RuleSource {
                file,
                pos: Positions::index(src),
            }),
            Err(problems) => Err(problems
                .into_iter()
                .map(|p| {
                    let check = format!("rules/{}", p.code.as_str());
                    Finding::error(&p.file, p.pos, &check, p.message)
                })
                .collect()),
        }
    }

    /// Position of `rest` (`expr`, `labels.severity`, ...) in rule `ri` of
    /// group `gi`, falling back to the rule itself.
    pub fn rule_pos(&self, gi: usize, ri: usize, rest: &str) -> Option<Pos> {
        let rp = format!("groups.{gi}.rules.{ri}");
        let rule_at = ["alert", "record", "expr"]
            .iter()
            .find_map(|k| self.pos.key(&format!("{rp}.{k}")));
        if rest.is_empty() {
            return rule_at;
        }
        self.pos.value(&format!("{rp}.{rest}")).or(rule_at)
    }
}

/// Reads and parses every rule file `paths` names (files, directories of
/// `*.yml`/`*.yaml`, globs). Returns the valid files and the findings of
/// the others; a path that names nothing is a [`READ`] finding.
pub fn load(paths: &[String], opts: &ValidateOptions) -> (Vec<RuleSource>, Vec<Finding>) {
    let mut sources = Vec::new();
    let mut findings = Vec::new();
    for p in paths {
        let files = match expand(p) {
            Ok(f) => f,
            Err(msg) => {
                findings.push(Finding::error(p, None, READ, msg));
                continue;
            }
        };
        for f in files {
            match std::fs::read_to_string(&f) {
                Err(e) => findings.push(Finding::error(
                    &f,
                    None,
                    READ,
                    format!("cannot read rule file: {e}"),
                )),
                Ok(src) => match RuleSource::parse(&f, &src, opts) {
                    Ok(s) => sources.push(s),
                    Err(fs) => findings.extend(fs),
                },
            }
        }
    }
    (sources, findings)
}

fn is_rule_file(p: &Path) -> bool {
    p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml"))
}

/// The same expansion as `rules::load_paths` (a typo must not look like
/// "no rules, nothing wrong").
fn expand(p: &str) -> Result<Vec<String>, String> {
    let path = Path::new(p);
    let collect = |it: &mut dyn Iterator<Item = std::path::PathBuf>| {
        let mut v: Vec<String> = it
            .filter(|p| is_rule_file(p))
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    if path.is_dir() {
        let rd = std::fs::read_dir(path).map_err(|e| format!("cannot read directory: {e}"))?;
        let v = collect(&mut rd.filter_map(|e| e.ok().map(|e| e.path())));
        if v.is_empty() {
            return Err("directory holds no *.yml or *.yaml file".into());
        }
        return Ok(v);
    }
    if path.exists() {
        return Ok(vec![p.to_string()]);
    }
    if p.contains(['*', '?', '[']) {
        let g = glob::glob(p).map_err(|e| format!("invalid glob pattern: {e}"))?;
        let v: Vec<String> = g
            .filter_map(Result::ok)
            .filter(|p| p.is_file())
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        if v.is_empty() {
            return Err("pattern matches no file".into());
        }
        let mut v = v;
        v.sort();
        return Ok(v);
    }
    Err("no such file or directory".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_files_do_not_hide_good_ones() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("a.yml"),
            "groups:\n- name: g\n  rules:\n  - record: a:b:c\n    expr: up\n",
        )
        .unwrap();
        std::fs::write(
            d.path().join("b.yml"),
            "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: sum(\n",
        )
        .unwrap();
        let missing = d.path().join("nope.yml").to_string_lossy().into_owned();
        let (s, f) = load(
            &[d.path().to_string_lossy().into_owned(), missing],
            &ValidateOptions::default(),
        );
        assert_eq!(s.len(), 1);
        let checks: Vec<_> = f.iter().map(|f| f.check.as_str()).collect();
        assert_eq!(checks, ["rules/invalid-expr", READ]);
        assert_eq!(f[0].pos, Some(Pos { line: 5, col: 11 }));
    }
}
