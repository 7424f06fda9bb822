//! Building notifiers from the validated routing config: compiles every
//! template (so a broken one fails the load, exit 2) and reports every
//! problem, not just the first. Secrets are read at send time, so a
//! rotated file is picked up and `template render` needs none.

use std::collections::HashMap;
use std::sync::Arc;

use super::alertmanager::AlertmanagerNotifier;
use super::email::EmailNotifier;
use super::error::NotifyError;
use super::file::FileNotifier;
use super::notifier::Notifier;
use super::pagerduty::PagerdutyNotifier;
use super::slack::SlackNotifier;
use super::stdout::StdoutNotifier;
use super::webhook::WebhookNotifier;
use crate::routing::receivers::{Integration, Receiver};
use crate::routing::RoutingConfig;

/// One integration that could not be built.
#[derive(Debug, thiserror::Error)]
#[error("receiver {receiver:?}: {integration}: {error}")]
pub struct BuildProblem {
    pub receiver: String,
    /// `slack_configs.0`, as the config file spells it.
    pub integration: String,
    pub error: NotifyError,
}

#[derive(Debug, thiserror::Error)]
#[error("{}", problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n"))]
pub struct BuildError {
    pub problems: Vec<BuildProblem>,
}

/// A built integration with its name in the config.
#[derive(Clone)]
pub struct Built {
    /// `slack_configs.0`
    pub name: String,
    pub notifier: Arc<dyn Notifier>,
}

/// The notifiers of every receiver, by receiver name.
#[derive(Clone, Default)]
pub struct Notifiers {
    by_receiver: HashMap<String, Vec<Built>>,
}

impl Notifiers {
    pub fn get(&self, receiver: &str) -> &[Built] {
        self.by_receiver
            .get(receiver)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Adds a notifier by hand (tests, extensions).
    pub fn insert(&mut self, receiver: &str, name: &str, notifier: Arc<dyn Notifier>) {
        self.by_receiver
            .entry(receiver.to_string())
            .or_default()
            .push(Built {
                name: name.to_string(),
                notifier,
            });
    }
}

pub fn build_integration(i: &Integration) -> Result<Arc<dyn Notifier>, NotifyError> {
    Ok(match i {
        Integration::Email(c) => Arc::new(EmailNotifier::build(c)?),
        Integration::Slack(c) => Arc::new(SlackNotifier::build(c)?),
        Integration::Pagerduty(c) => Arc::new(PagerdutyNotifier::build(c)?),
        Integration::Webhook(c) => Arc::new(WebhookNotifier::build(c)?),
        Integration::Alertmanager(c) => Arc::new(AlertmanagerNotifier::build(c)?),
        Integration::Stdout(c) => Arc::new(StdoutNotifier::build(c)?),
        Integration::File(c) => Arc::new(FileNotifier::build(c)?),
    })
}

/// Builds one receiver's integrations, named like the config's lists.
pub fn build_receiver(r: &Receiver) -> (Vec<Built>, Vec<BuildProblem>) {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    let mut built = Vec::new();
    let mut problems = Vec::new();
    for i in &r.integrations {
        let n = counts.entry(i.kind()).or_default();
        let name = format!("{}_configs.{n}", i.kind());
        *n += 1;
        match build_integration(i) {
            Ok(notifier) => built.push(Built { name, notifier }),
            Err(error) => problems.push(BuildProblem {
                receiver: r.name.clone(),
                integration: name,
                error,
            }),
        }
    }
    (built, problems)
}

pub fn build_receivers(cfg: &RoutingConfig) -> Result<Notifiers, BuildError> {
    let mut out = Notifiers::default();
    let mut problems = Vec::new();
    for r in &cfg.receivers {
        let (b, p) = build_receiver(r);
        out.by_receiver.insert(r.name.clone(), b);
        problems.extend(p);
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(BuildError { problems })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::parse_str;

    #[test]
    fn every_template_problem_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.hbs");
        std::fs::write(&bad, "{{#*inline \"title\"}}{{#if}}{{/inline}}").unwrap();
        let src = format!(
            "route: {{receiver: a}}\nreceivers:\n  - name: a\n    slack_configs:\n      - api_url: 'http://x/'\n        template_file: '{}'\n      - api_url: 'http://x/'\n        title: '{{{{#each}}'\n    pagerduty_configs:\n      - routing_key: k\n        template_file: '{}'\n",
            bad.display(),
            dir.path().join("missing.hbs").display()
        );
        let cfg = parse_str(&src, "t.yml").unwrap();
        let e = build_receivers(&cfg).err().expect("broken templates");
        let names: Vec<_> = e.problems.iter().map(|p| p.integration.as_str()).collect();
        assert_eq!(
            names,
            ["slack_configs.0", "slack_configs.1", "pagerduty_configs.0"],
            "{e}"
        );
        assert!(e.to_string().contains("bad.hbs"), "{e}");
        assert!(e.to_string().contains("cannot read template file"), "{e}");
    }

    #[test]
    fn runbook_routing_builds() {
        let p =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/routing/alertgate.yml");
        let cfg = crate::routing::load_file(&p).unwrap();
        let n = build_receivers(&cfg).unwrap();
        let kinds: Vec<_> = n
            .get("prod-pager")
            .iter()
            .map(|b| b.notifier.kind())
            .collect();
        assert_eq!(kinds, ["slack", "pagerduty"]);
    }
}
