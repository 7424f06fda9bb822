//! Command-line arguments that say what to load: `--snapshot PATH[@TIME]`
//! and `--label k=v`.

use super::SnapshotError;
use crate::model::time::parse_time;
use crate::model::{Labels, Timestamp, METRIC_NAME};
use std::path::PathBuf;
use std::str::FromStr;

/// One `--snapshot` argument: a file or directory, and the time its samples
/// without a timestamp are taken at (`None`: the command's `--at`).
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotSpec {
    pub path: PathBuf,
    pub at: Option<Timestamp>,
}

impl SnapshotSpec {
    /// A spec without a time of its own.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SnapshotSpec {
            path: path.into(),
            at: None,
        }
    }

    /// Parses `PATH` or `PATH@TIME` (RFC 3339 or Unix seconds). The split is
    /// at the last `@` unless what follows holds a `/`, so directories with an
    /// `@` in their name still work; a suffix that is not a time is an error
    /// rather than part of the path, because a typo in a time should not turn
    /// into "file not found".
    pub fn parse(arg: &str) -> Result<Self, SnapshotError> {
        let err = |msg: String| SnapshotError::Spec {
            arg: arg.to_string(),
            msg,
        };
        match arg.rsplit_once('@') {
            Some((path, time))
                if !time.contains('/') && !time.contains(std::path::MAIN_SEPARATOR) =>
            {
                if path.is_empty() {
                    return Err(err("empty path".into()));
                }
                let at = parse_time(time).map_err(|e| err(e.to_string()))?;
                Ok(SnapshotSpec {
                    path: PathBuf::from(path),
                    at: Some(at),
                })
            }
            _ if arg.is_empty() => Err(err("empty path".into())),
            _ => Ok(SnapshotSpec::new(arg)),
        }
    }
}

impl FromStr for SnapshotSpec {
    type Err = SnapshotError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SnapshotSpec::parse(s)
    }
}

/// Parses one `--label name=value`. The name must be a valid Prometheus label
/// name and not `__name__` (the metric name comes from the data).
pub fn parse_label_arg(arg: &str) -> Result<(String, String), SnapshotError> {
    let err = |msg: &str| SnapshotError::Label {
        arg: arg.to_string(),
        msg: msg.to_string(),
    };
    let (name, value) = arg
        .split_once('=')
        .ok_or_else(|| err("expected name=value"))?;
    if !is_label_name(name) {
        return Err(err("invalid label name"));
    }
    if name == METRIC_NAME {
        return Err(err("the metric name cannot be set with --label"));
    }
    Ok((name.to_string(), value.to_string()))
}

/// Parses every `--label` argument into one label set (a later one wins).
pub fn parse_label_args<S: AsRef<str>>(args: &[S]) -> Result<Labels, SnapshotError> {
    let mut labels = Labels::new();
    for a in args {
        let (n, v) = parse_label_arg(a.as_ref())?;
        labels.set(n, v);
    }
    Ok(labels)
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, the legacy label-name syntax.
pub(crate) fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`, the legacy metric-name syntax.
pub(crate) fn is_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_with_and_without_time() {
        assert_eq!(
            SnapshotSpec::parse("a.prom").unwrap(),
            SnapshotSpec::new("a.prom")
        );
        assert_eq!(
            SnapshotSpec::parse("a.prom@2024-01-01T00:00:00Z").unwrap(),
            SnapshotSpec {
                path: "a.prom".into(),
                at: Some(1_704_067_200_000)
            }
        );
        assert_eq!(
            SnapshotSpec::parse("dir/a.json@1700000000.5").unwrap().at,
            Some(1_700_000_000_500)
        );
        // An `@` in a directory name is part of the path.
        assert_eq!(
            SnapshotSpec::parse("snaps@v2/a.prom").unwrap(),
            SnapshotSpec::new("snaps@v2/a.prom")
        );
        let e = SnapshotSpec::parse("a.prom@yesterday").unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"invalid snapshot argument "a.prom@yesterday": cannot parse "yesterday" to a valid timestamp"#
        );
        assert!(SnapshotSpec::parse("@1").is_err());
    }

    #[test]
    fn label_args() {
        let l = parse_label_args(&["tenant=acme", "env=prod", "tenant=beta"]).unwrap();
        assert_eq!(l.to_string(), r#"{env="prod", tenant="beta"}"#);
        assert_eq!(
            parse_label_arg("a=b=c").unwrap(),
            ("a".into(), "b=c".into())
        );
        assert!(parse_label_arg("novalue").is_err());
        assert!(parse_label_arg("1x=a").is_err());
        assert!(parse_label_arg("__name__=a").is_err());
    }
}
