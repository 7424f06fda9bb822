//! The error type and the read-and-parse steps every config loader shares
//! (routing, canary, datasource): an unreadable file or bad YAML becomes one
//! [`Diagnostic`] with the module's stable code, and an empty file means
//! the defaults.

use super::Pos;
use serde::de::DeserializeOwned;
use std::path::Path;

/// One problem in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub pos: Option<Pos>,
    /// Stable code, e.g. `routing/undefined-receiver`.
    pub code: &'static str,
    pub message: String,
}

/// Every problem found in a config file, printed one per line as
/// `file:line:col: code: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub file: String,
    pub diagnostics: Vec<Diagnostic>,
}

impl ConfigError {
    /// An error with a single diagnostic.
    pub fn one(file: &str, pos: Option<Pos>, code: &'static str, message: String) -> ConfigError {
        ConfigError {
            file: file.to_string(),
            diagnostics: vec![Diagnostic { pos, code, message }],
        }
    }
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            match d.pos {
                Some(p) => write!(f, "{}:{}: {}: {}", self.file, p, d.code, d.message)?,
                None => write!(f, "{}: {}: {}", self.file, d.code, d.message)?,
            }
        }
        Ok(())
    }
}

/// Reads a config file; a failure is reported under `code` (e.g.
/// `routing/io`) with the path as the file name.
pub fn read_file(path: &Path, code: &'static str) -> Result<String, ConfigError> {
    std::fs::read_to_string(path)
        .map_err(|e| ConfigError::one(&path.display().to_string(), None, code, e.to_string()))
}

/// Parses `src` into `T`; an empty or whitespace-only text gives
/// `T::default()` (serde would reject it as "EOF while parsing"). A syntax
/// or shape error is reported under `code` (e.g. `routing/yaml`) at serde's
/// position, with `file` naming the text.
pub fn parse_or_default<T: DeserializeOwned + Default>(
    src: &str,
    file: &str,
    code: &'static str,
) -> Result<T, ConfigError> {
    if src.trim().is_empty() {
        return Ok(T::default());
    }
    yaml_serde::from_str(src).map_err(|e| {
        let (pos, msg) = super::serde_error(&e);
        ConfigError::one(file, pos, code, msg)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Default, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Raw {
        name: Option<String>,
    }

    #[test]
    fn empty_text_gives_defaults() {
        let r: Raw = parse_or_default(" \n\t\n", "f.yml", "x/yaml").unwrap();
        assert_eq!(r, Raw::default());
    }

    #[test]
    fn parses_text() {
        let r: Raw = parse_or_default("name: a\n", "f.yml", "x/yaml").unwrap();
        assert_eq!(r.name.as_deref(), Some("a"));
    }

    #[test]
    fn bad_yaml_names_file_line_and_code_once() {
        let e = parse_or_default::<Raw>("name: a\nother: b\n", "f.yml", "x/yaml").unwrap_err();
        let s = e.to_string();
        assert!(
            s.starts_with("f.yml:2:1: x/yaml: unknown field `other`"),
            "{s}"
        );
        assert!(!s.contains(" at line "), "{s}");
    }

    #[test]
    fn missing_file_is_one_io_diagnostic_without_position() {
        let p = Path::new("/nonexistent/alertgate-test.yml");
        let e = read_file(p, "x/io").unwrap_err();
        assert_eq!(e.diagnostics.len(), 1);
        assert_eq!(e.diagnostics[0].pos, None);
        assert!(
            e.to_string()
                .starts_with("/nonexistent/alertgate-test.yml: x/io: "),
            "{e}"
        );
    }

    #[test]
    fn several_diagnostics_print_one_per_line() {
        let e = ConfigError {
            file: "f.yml".into(),
            diagnostics: vec![
                Diagnostic {
                    pos: Some(Pos { line: 3, col: 5 }),
                    code: "x/a",
                    message: "first".into(),
                },
                Diagnostic {
                    pos: None,
                    code: "x/b",
                    message: "second".into(),
                },
            ],
        };
        assert_eq!(e.to_string(), "f.yml:3:5: x/a: first\nf.yml: x/b: second");
    }
}
