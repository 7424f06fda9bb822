//! What a rule template reads from its data: the label names it looks up
//! (`$labels.x`, `.Labels.x`, `$.Labels.x`, `index $labels "x"`) and whether
//! it uses the sample value (`$value`, `.Value`). `alertgate lint` compares
//! these with what the rule's expression produces.

use std::collections::BTreeSet;

use super::parse::{Arg, ArgKind, Node, Pipe};
use super::Template;

/// The data a template refers to, found statically (variables reassigned
/// by the template itself are not followed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateRefs {
    /// Label names looked up on the alert's labels.
    pub labels: BTreeSet<String>,
    /// True when the template reads the sample value.
    pub value: bool,
}

/// Collects the label names and value references of `t`.
pub fn template_refs(t: &Template) -> TemplateRefs {
    let mut out = TemplateRefs::default();
    nodes(&t.nodes, true, &mut out);
    out
}

/// `root` is true while dot is still the template data: `with` and `range`
/// move it, so `.Labels` inside them is something else.
fn nodes(list: &[Node], root: bool, out: &mut TemplateRefs) {
    for n in list {
        match n {
            Node::Text(_) | Node::Break(_) | Node::Continue(_) => {}
            Node::Action(p) => pipe(p, root, out),
            Node::If(c) => {
                pipe(&c.pipe, root, out);
                nodes(&c.list, root, out);
                if let Some(e) = &c.else_list {
                    nodes(e, root, out);
                }
            }
            Node::With(c) | Node::Range(c) => {
                pipe(&c.pipe, root, out);
                nodes(&c.list, false, out);
                if let Some(e) = &c.else_list {
                    nodes(e, root, out);
                }
            }
        }
    }
}

fn pipe(p: &Pipe, root: bool, out: &mut TemplateRefs) {
    for cmd in &p.cmds {
        if let [first, base, key, ..] = cmd.args.as_slice() {
            if matches!(&first.kind, ArgKind::Ident(f) if f == "index") && is_labels(base, root) {
                if let ArgKind::Str(_, k) = &key.kind {
                    out.labels.insert(k.clone());
                }
            }
        }
        for a in &cmd.args {
            arg(a, root, out);
        }
    }
}

/// `$labels`, `.Labels` (at the root) or `$.Labels`, without a field.
fn is_labels(a: &Arg, root: bool) -> bool {
    match &a.kind {
        ArgKind::Variable(v, f) => {
            (v == "$labels" && f.is_empty()) || (v == "$" && f.len() == 1 && f[0] == "Labels")
        }
        ArgKind::Field(f) => root && f.len() == 1 && f[0] == "Labels",
        _ => false,
    }
}

fn data_fields(fields: &[String], out: &mut TemplateRefs) {
    match fields {
        [l, name, ..] if l == "Labels" => {
            out.labels.insert(name.clone());
        }
        [v, ..] if v == "Value" => out.value = true,
        _ => {}
    }
}

fn arg(a: &Arg, root: bool, out: &mut TemplateRefs) {
    match &a.kind {
        ArgKind::Variable(v, fields) => match v.as_str() {
            "$labels" => {
                if let Some(name) = fields.first() {
                    out.labels.insert(name.clone());
                }
            }
            "$value" => out.value = true,
            "$" => data_fields(fields, out),
            _ => {}
        },
        ArgKind::Field(fields) if root => data_fields(fields, out),
        ArgKind::Pipe(p) => pipe(p, root, out),
        ArgKind::Chain(inner, _) => arg(inner, root, out),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(src: &str) -> TemplateRefs {
        template_refs(&Template::parse(src).unwrap())
    }

    fn labels(src: &str) -> Vec<String> {
        refs(src).labels.into_iter().collect()
    }

    #[test]
    fn finds_label_lookups_in_every_spelling() {
        assert_eq!(
            labels("{{ $labels.instance }} on {{ .Labels.job }}"),
            ["instance", "job"]
        );
        assert_eq!(labels("{{ $.Labels.env }}"), ["env"]);
        assert_eq!(
            labels(r#"{{ index $labels "a-b" }} {{ index .Labels "c" }}"#),
            ["a-b", "c"]
        );
        assert_eq!(
            labels("{{ if $labels.x }}{{ $labels.y | toUpper }}{{ end }}"),
            ["x", "y"]
        );
        assert_eq!(labels("{{ printf \"%s\" ($labels.z) }}"), ["z"]);
        assert!(labels("static text").is_empty());
    }

    #[test]
    fn dot_inside_with_and_range_is_not_the_data() {
        assert_eq!(
            labels("{{ with $labels }}{{ .Labels.a }}{{ end }}"),
            Vec::<String>::new()
        );
        assert_eq!(
            labels("{{ range query \"up\" }}{{ .Labels.job }}{{ $labels.b }}{{ end }}"),
            ["b"]
        );
    }

    #[test]
    fn finds_value_references() {
        assert!(refs("{{ $value }}").value);
        assert!(refs("{{ .Value | humanize }}").value);
        assert!(refs("{{ if gt $value 1.0 }}high{{ end }}").value);
        assert!(!refs("{{ $labels.job }}").value);
        assert!(!refs("{{ range query \"up\" }}{{ .Value }}{{ end }}").value);
    }
}
