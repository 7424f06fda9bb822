//! The routing tree: which routes (and so receivers) an alert goes to, as
//! upstream `dispatch/route.go`, and the amtool-style tree printouts.

use super::matchers::format_matchers;
use crate::model::{Labels, Matcher};

/// Effective settings of a route after inheritance.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteOpts {
    pub receiver: String,
    /// Sorted label names; empty with `group_by_all == false` means one group.
    pub group_by: Vec<String>,
    pub group_by_all: bool,
    pub group_wait_ms: i64,
    pub group_interval_ms: i64,
    pub repeat_interval_ms: i64,
    /// Not inherited: only the names written on this route.
    pub mute_time_intervals: Vec<String>,
    pub active_time_intervals: Vec<String>,
}

impl Default for RouteOpts {
    /// Upstream's `DefaultRouteOpts`.
    fn default() -> Self {
        RouteOpts {
            receiver: String::new(),
            group_by: Vec::new(),
            group_by_all: false,
            group_wait_ms: 30_000,
            group_interval_ms: 5 * 60_000,
            repeat_interval_ms: 4 * 3_600_000,
            mute_time_intervals: Vec::new(),
            active_time_intervals: Vec::new(),
        }
    }
}

/// A node of the routing tree.
#[derive(Debug, Clone)]
pub struct Route {
    pub opts: RouteOpts,
    /// Sorted like upstream (name, value, operator).
    pub matchers: Vec<Matcher>,
    pub continue_: bool,
    pub routes: Vec<Route>,
    /// Post-order index, unique in the tree; groups are kept per route.
    pub idx: usize,
}

impl Route {
    fn matches_self(&self, labels: &Labels) -> bool {
        self.matchers.iter().all(|m| m.matches(labels))
    }

    /// The routes an alert with `labels` is handled by, in tree order:
    /// depth-first, a matching child ends the search at its level unless it
    /// has `continue`; a route none of whose children match is itself a match.
    pub fn match_labels(&self, labels: &Labels) -> Vec<&Route> {
        if !self.matches_self(labels) {
            return Vec::new();
        }
        let mut all = Vec::new();
        for child in &self.routes {
            let m = child.match_labels(labels);
            let matched = !m.is_empty();
            all.extend(m);
            if matched && !child.continue_ {
                break;
            }
        }
        if all.is_empty() {
            all.push(self);
        }
        all
    }

    /// Receiver names for `labels`, in order (`amtool config routes test`).
    pub fn receivers_for(&self, labels: &Labels) -> Vec<String> {
        self.match_labels(labels)
            .into_iter()
            .map(|r| r.opts.receiver.clone())
            .collect()
    }

    /// Visits every route, parents first.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Route)) {
        f(self);
        for r in &self.routes {
            r.walk(f);
        }
    }

    /// The grouping labels of an alert on this route.
    pub fn group_labels(&self, labels: &Labels) -> Labels {
        if self.opts.group_by_all {
            labels.clone()
        } else {
            labels.keep(&self.opts.group_by)
        }
    }

    fn slug(&self, show_continue: bool, show_receiver: bool) -> String {
        let mut s = if self.matchers.is_empty() {
            "default-route".to_string()
        } else {
            format_matchers(&self.matchers)
        };
        if self.continue_ && show_continue {
            s.push_str("  continue: true");
        }
        if show_receiver {
            s.push_str("  receiver: ");
            s.push_str(&self.opts.receiver);
        }
        s
    }

    /// `amtool config routes show`: the whole tree.
    pub fn render_tree(&self) -> String {
        let mut t = Tree::new(self.slug(true, true));
        fn add(r: &Route, t: &mut Tree) {
            for c in &r.routes {
                let mut sub = Tree::new(c.slug(true, true));
                add(c, &mut sub);
                t.children.push(sub);
            }
        }
        add(self, &mut t);
        format!("Routing tree:\n{}\n", t.render())
    }

    /// `amtool config routes test --tree`: the matching branches only, with
    /// the receiver on the routes that are final matches.
    pub fn render_matching_tree(&self, labels: &Labels) -> String {
        fn build(r: &Route, labels: &Labels) -> Tree {
            let mut t = Tree::new(String::new());
            let mut is_final = true;
            for c in &r.routes {
                if c.matches_self(labels) {
                    t.children.push(build(c, labels));
                    is_final = false;
                    if !c.continue_ {
                        break;
                    }
                }
            }
            t.value = r.slug(false, is_final);
            t
        }
        format!("Matching routes:\n{}\n\n", build(self, labels).render())
    }
}

/// A minimal port of the `treeprint` layout amtool prints.
struct Tree {
    value: String,
    children: Vec<Tree>,
}

impl Tree {
    fn new(value: String) -> Self {
        Tree {
            value,
            children: Vec::new(),
        }
    }

    /// Renders with a `.` root, like treeprint's unnamed root.
    fn render(&self) -> String {
        let mut out = String::from(".\n");
        fn rec(t: &Tree, prefix: &str, last: bool, out: &mut String) {
            out.push_str(prefix);
            out.push_str(if last { "└── " } else { "├── " });
            out.push_str(&t.value);
            out.push('\n');
            let p = format!("{prefix}{}", if last { "    " } else { "│   " });
            for (i, c) in t.children.iter().enumerate() {
                rec(c, &p, i + 1 == t.children.len(), out);
            }
        }
        rec(self, "", true, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::config::parse_str;
    use super::*;

    // Port of upstream dispatch/route_test.go TestRouteMatch's tree (reduced).
    const CFG: &str = r#"
receivers: [{name: notify-A}, {name: notify-B}, {name: notify-C}, {name: notify-productionA}, {name: notify-productionB}, {name: notify-testing}, {name: notify-def}, {name: notify-BC}]
route:
  receiver: 'notify-def'
  routes:
  - matchers: ['owner="team-A"']
    receiver: 'notify-A'
    routes:
    - matchers: ['env="testing"']
      receiver: 'notify-testing'
      group_by: [...]
    - matchers: ['env="production"']
      receiver: 'notify-productionA'
      group_wait: 1m
      continue: true
    - matchers: ['env=~"produ.*"', 'job=~".*"']
      receiver: 'notify-productionB'
      group_wait: 30s
      group_interval: 5m
      repeat_interval: 1h
      group_by: ['job']
  - matchers: ['owner=~"team-(B|C)"']
    group_by: ['foo', 'bar']
    group_wait: 2m
    receiver: 'notify-BC'
  - matchers: [group_by="role"]
    group_by: ['role']
    routes:
    - matchers: ['env="testing"']
      receiver: 'notify-testing'
      routes:
      - matchers: [wait="long"]
        group_wait: 2m
"#;

    fn recv(labels: &[(&str, &str)]) -> Vec<String> {
        let c = parse_str(CFG, "t").unwrap();
        c.route
            .receivers_for(&Labels::from_pairs(labels.iter().copied()))
    }

    #[test]
    fn route_match_like_upstream() {
        assert_eq!(recv(&[("owner", "team-A")]), ["notify-A"]);
        assert_eq!(recv(&[("owner", "team-A"), ("env", "unset")]), ["notify-A"]);
        assert_eq!(recv(&[("owner", "team-C")]), ["notify-BC"]);
        assert_eq!(
            recv(&[("owner", "team-A"), ("env", "testing")]),
            ["notify-testing"]
        );
        assert_eq!(
            recv(&[("owner", "team-A"), ("env", "production")]),
            ["notify-productionA", "notify-productionB"]
        );
        assert_eq!(recv(&[("group_by", "role")]), ["notify-def"]);
        assert_eq!(
            recv(&[("group_by", "role"), ("env", "testing")]),
            ["notify-testing"]
        );
        assert_eq!(
            recv(&[("group_by", "role"), ("env", "testing"), ("wait", "long")]),
            ["notify-testing"]
        );
        assert_eq!(recv(&[("owner", "nobody")]), ["notify-def"]);
    }

    #[test]
    fn inherited_options_on_matched_routes() {
        let c = parse_str(CFG, "t").unwrap();
        let l = Labels::from_pairs([("group_by", "role"), ("env", "testing"), ("wait", "long")]);
        let r = c.route.match_labels(&l);
        assert_eq!(r[0].opts.group_wait_ms, 120_000);
        assert_eq!(r[0].opts.group_by, vec!["role".to_string()]);
        let l = Labels::from_pairs([("owner", "team-A"), ("env", "testing")]);
        assert!(c.route.match_labels(&l)[0].opts.group_by_all);
    }

    #[test]
    fn tree_rendering() {
        let c = parse_str(
            "route:\n  receiver: d\n  routes:\n    - match_re: {s: '^(a|b)$'}\n      receiver: x\n      continue: true\n      routes:\n        - match: {sev: critical}\n          receiver: y\n    - match: {s: c}\n      receiver: y\nreceivers: [{name: d}, {name: x}, {name: y}]\n",
            "t",
        )
        .unwrap();
        let want = "Routing tree:\n.\n└── default-route  receiver: d\n    ├── {s=~\"^(?:^(a|b)$)$\"}  continue: true  receiver: x\n    │   └── {sev=\"critical\"}  receiver: y\n    └── {s=\"c\"}  receiver: y\n\n";
        assert_eq!(c.route.render_tree(), want);
        let l = Labels::from_pairs([("s", "a")]);
        let want = "Matching routes:\n.\n└── default-route\n    └── {s=~\"^(?:^(a|b)$)$\"}  receiver: x\n\n\n";
        assert_eq!(c.route.render_matching_tree(&l), want);
    }
}
