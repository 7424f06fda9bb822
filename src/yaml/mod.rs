//! Source positions for YAML documents. serde gives us typed structs but no
//! spans, so we index the same text once more with a marked event parser and
//! look positions up by path (`groups.0.rules.3.expr`). Config loaders use it
//! to report semantic errors as `file:line:col`, and share the error type
//! and read/parse steps in `load.rs`.

mod load;

pub use load::{parse_or_default, read_file, ConfigError, Diagnostic};

use std::collections::HashMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

impl std::fmt::Display for Pos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// Positions of every node (by path) and every mapping key (by path of its value).
#[derive(Debug, Default, Clone)]
pub struct Positions {
    values: HashMap<String, Pos>,
    keys: HashMap<String, Pos>,
}

impl Positions {
    /// Indexes `src`. A document that does not parse yields an empty index;
    /// serde reports the syntax error itself, with its position.
    pub fn index(src: &str) -> Positions {
        let mut b = Builder::default();
        let mut p = Parser::new_from_str(src);
        if p.load(&mut b, false).is_err() {
            return Positions::default();
        }
        b.out
    }

    /// Position of the value at `path` (e.g. `groups.0.rules.3.expr`).
    pub fn value(&self, path: &str) -> Option<Pos> {
        self.values.get(path).copied()
    }

    /// Position of the key whose value is at `path`; falls back to the value.
    pub fn key(&self, path: &str) -> Option<Pos> {
        self.keys.get(path).copied().or_else(|| self.value(path))
    }

    /// The best position for `path`: the value, else the nearest ancestor.
    pub fn nearest(&self, path: &str) -> Option<Pos> {
        let mut p = path;
        loop {
            if let Some(pos) = self.value(p) {
                return Some(pos);
            }
            match p.rfind('.') {
                Some(i) => p = &p[..i],
                None => return self.value(""),
            }
        }
    }
}

/// Splits a serde YAML error into its position and its message without the
/// " at line X column Y" serde appends, so callers print `file:line:col` once.
pub fn serde_error(e: &yaml_serde::Error) -> (Option<Pos>, String) {
    let pos = e.location().map(|l| Pos {
        line: l.line(),
        col: l.column(),
    });
    let mut msg = e.to_string();
    if let Some(i) = msg.rfind(" at line ") {
        msg.truncate(i);
    }
    (pos, msg)
}

enum Frame {
    Seq {
        path: String,
        next: usize,
    },
    /// `key` is Some while the next node is a value.
    Map {
        path: String,
        key: Option<String>,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    out: Positions,
}

fn join(base: &str, part: &str) -> String {
    if base.is_empty() {
        part.to_string()
    } else {
        format!("{base}.{part}")
    }
}

impl Builder {
    /// Path of the node that starts now; for a mapping key returns None
    /// after recording the key.
    fn next_node_path(&mut self, ev_scalar: Option<&str>, mark: Marker) -> Option<String> {
        let pos = Pos {
            line: mark.line(),
            col: mark.col() + 1,
        };
        match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Seq { path, next }) => {
                let p = join(path, &next.to_string());
                *next += 1;
                Some(p)
            }
            Some(Frame::Map { path, key }) => match key.take() {
                Some(k) => Some(join(path, &k)),
                None => {
                    // This node is a key.
                    let k = ev_scalar.unwrap_or("?").to_string();
                    let vp = join(path, &k);
                    self.out.keys.insert(vp, pos);
                    *key = Some(k);
                    None
                }
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let pos = Pos {
            line: mark.line(),
            col: mark.col() + 1,
        };
        match ev {
            Event::Scalar(ref s, ..) => {
                if let Some(p) = self.next_node_path(Some(s), mark) {
                    self.out.values.entry(p).or_insert(pos);
                }
            }
            Event::Alias(_) => {
                if let Some(p) = self.next_node_path(None, mark) {
                    self.out.values.entry(p).or_insert(pos);
                }
            }
            Event::SequenceStart(..) => {
                let p = self.next_node_path(None, mark).unwrap_or_default();
                self.out.values.entry(p.clone()).or_insert(pos);
                self.stack.push(Frame::Seq { path: p, next: 0 });
            }
            Event::MappingStart(..) => {
                let p = self.next_node_path(None, mark).unwrap_or_default();
                self.out.values.entry(p.clone()).or_insert(pos);
                self.stack.push(Frame::Map { path: p, key: None });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: up == 0\n        labels:\n          severity: page\n";

    #[test]
    fn finds_values_and_keys() {
        let p = Positions::index(SRC);
        assert_eq!(p.value("groups.0.name"), Some(Pos { line: 2, col: 11 }));
        assert_eq!(
            p.value("groups.0.rules.0.expr"),
            Some(Pos { line: 5, col: 15 })
        );
        assert_eq!(
            p.key("groups.0.rules.0.expr"),
            Some(Pos { line: 5, col: 9 })
        );
        assert_eq!(
            p.value("groups.0.rules.0.labels.severity"),
            Some(Pos { line: 7, col: 21 })
        );
    }

    #[test]
    fn nearest_falls_back_to_ancestor() {
        let p = Positions::index(SRC);
        assert_eq!(
            p.nearest("groups.0.rules.0.for"),
            p.value("groups.0.rules.0")
        );
    }

    #[test]
    fn broken_yaml_gives_empty_index() {
        assert_eq!(Positions::index("a: [").value("a"), None);
    }
}
