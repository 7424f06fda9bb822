//! Receivers: the upstream `receivers:` entries with their notifier configs.
//! Email, Slack, PagerDuty and webhook configs are parsed and validated here
//! (delivery lives in the notify layer); the other upstream kinds are
//! accepted so existing files load, and reported as unsupported.
//!
//! Secrets: every secret field takes an inline value (upstream), a `*_file`
//! twin (upstream), or — our one extension — an inline value of exactly
//! `${NAME}`, which reads environment variable NAME when the config is built.
//! Nothing else is interpolated. Secrets print as `<secret>`.

use serde::de::IgnoredAny;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

use super::config::Scalar;

/// A secret value; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The secret text, for the code that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<secret>")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<secret>")
    }
}

/// Where a secret comes from; chosen once at validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    Inline(Secret),
    File(PathBuf),
    Env(String),
}

/// A secret that could not be read at build time. Never carries the value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read secret file {path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("environment variable {0} is not set")]
    Env(String),
}

impl SecretSource {
    /// Picks the source from an inline field and its `*_file` twin. Errors
    /// when both are set. `${NAME}` inline means environment variable NAME.
    pub fn choose(
        inline: Option<&str>,
        file: Option<&str>,
        field: &str,
    ) -> Result<Option<SecretSource>, String> {
        let inline = inline.filter(|s| !s.is_empty());
        let file = file.filter(|s| !s.is_empty());
        match (inline, file) {
            (Some(_), Some(_)) => Err(format!(
                "at most one of {field} & {field}_file must be configured"
            )),
            (Some(v), None) => Ok(Some(match env_ref(v) {
                Some(name) => SecretSource::Env(name.to_string()),
                None => SecretSource::Inline(Secret::new(v)),
            })),
            (None, Some(f)) => Ok(Some(SecretSource::File(PathBuf::from(f)))),
            (None, None) => Ok(None),
        }
    }

    /// Reads the secret (I/O: files, environment). Trailing newlines of a
    /// file are trimmed, as Prometheus does for `*_file` secrets.
    pub fn resolve(&self) -> Result<Secret, SecretError> {
        match self {
            SecretSource::Inline(s) => Ok(s.clone()),
            SecretSource::File(p) => std::fs::read_to_string(p)
                .map(|s| Secret::new(s.trim_end_matches(['\n', '\r'])))
                .map_err(|e| SecretError::File {
                    path: p.clone(),
                    reason: e.to_string(),
                }),
            SecretSource::Env(n) => std::env::var(n)
                .map(Secret::new)
                .map_err(|_| SecretError::Env(n.clone())),
        }
    }
}

/// `${NAME}` with a valid environment variable name.
fn env_ref(v: &str) -> Option<&str> {
    let name = v.strip_prefix("${")?.strip_suffix('}')?;
    let mut chars = name.chars();
    let first = chars.next()?;
    ((first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_'))
    .then_some(name)
}

// ------------------------------------------------------------------- raw

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReceiver {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub labels: Option<BTreeMap<String, Scalar>>,
    #[serde(default)]
    pub email_configs: Option<Vec<RawEmailConfig>>,
    #[serde(default)]
    pub slack_configs: Option<Vec<RawSlackConfig>>,
    #[serde(default)]
    pub pagerduty_configs: Option<Vec<RawPagerdutyConfig>>,
    #[serde(default)]
    pub webhook_configs: Option<Vec<RawWebhookConfig>>,
    /// alertgate extension: forward the alerts to Alertmanagers.
    #[serde(default)]
    pub alertmanager_configs: Option<Vec<RawAlertmanagerConfig>>,
    /// alertgate extension: one JSON line per alert on standard output.
    #[serde(default)]
    pub stdout_configs: Option<Vec<RawStdoutConfig>>,
    /// alertgate extension: one JSON line per alert appended to a file.
    #[serde(default)]
    pub file_configs: Option<Vec<RawFileConfig>>,
    // Upstream kinds we accept but do not deliver.
    #[serde(default)]
    pub discord_configs: Option<IgnoredAny>,
    #[serde(default)]
    pub incidentio_configs: Option<IgnoredAny>,
    #[serde(default)]
    pub opsgenie_configs: Option<IgnoredAny>,
    #[serde(default)]
    pub wechat_configs: Option<IgnoredAny>,
    #[serde(default)]
    pub pushover_configs: Option<IgnoredAny>,
    #[serde(default)]
    pub victorops_configs: Option<IgnoredAny>,
    #[serde(default)]
    pub sns_configs: Option<IgnoredAny>,
    #[serde(default)]
    pub telegram_configs: Option<IgnoredAny>,
    #[serde(default)]
    pub webex_configs: Option<IgnoredAny>,
    #[serde(default)]
    pub msteams_configs: Option<IgnoredAny>,
    #[serde(default)]
    pub msteamsv2_configs: Option<IgnoredAny>,
    #[serde(default)]
    pub jira_configs: Option<IgnoredAny>,
    #[serde(default)]
    pub rocketchat_configs: Option<IgnoredAny>,
    #[serde(default)]
    pub mattermost_configs: Option<IgnoredAny>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEmailConfig {
    pub send_resolved: Option<bool>,
    pub to: Option<String>,
    pub from: Option<String>,
    pub hello: Option<String>,
    pub smarthost: Option<String>,
    pub auth_username: Option<String>,
    pub auth_password: Option<String>,
    pub auth_password_file: Option<String>,
    pub auth_secret: Option<String>,
    pub auth_secret_file: Option<String>,
    pub auth_identity: Option<String>,
    pub headers: Option<BTreeMap<String, String>>,
    pub html: Option<String>,
    pub text: Option<String>,
    pub require_tls: Option<bool>,
    pub tls_config: Option<IgnoredAny>,
    pub force_implicit_tls: Option<bool>,
    pub threading: Option<IgnoredAny>,
    /// alertgate extensions: send timeout and a handlebars template file
    /// overriding the default of this receiver kind.
    pub timeout: Option<String>,
    pub template_file: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSlackConfig {
    pub send_resolved: Option<bool>,
    pub http_config: Option<IgnoredAny>,
    pub api_url: Option<String>,
    pub api_url_file: Option<String>,
    pub app_token: Option<String>,
    pub app_token_file: Option<String>,
    pub app_url: Option<String>,
    pub channel: Option<String>,
    pub username: Option<String>,
    pub color: Option<String>,
    pub title: Option<String>,
    pub title_link: Option<String>,
    pub pretext: Option<String>,
    pub text: Option<String>,
    pub message_text: Option<String>,
    pub fields: Option<IgnoredAny>,
    pub short_fields: Option<bool>,
    pub footer: Option<String>,
    pub fallback: Option<String>,
    pub callback_id: Option<String>,
    pub icon_emoji: Option<String>,
    pub icon_url: Option<String>,
    pub image_url: Option<String>,
    pub thumb_url: Option<String>,
    pub link_names: Option<bool>,
    pub mrkdwn_in: Option<Vec<String>>,
    pub actions: Option<IgnoredAny>,
    pub update_message: Option<bool>,
    pub timeout: Option<String>,
    pub template_file: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPagerdutyConfig {
    pub send_resolved: Option<bool>,
    pub http_config: Option<IgnoredAny>,
    pub service_key: Option<String>,
    pub service_key_file: Option<String>,
    pub routing_key: Option<String>,
    pub routing_key_file: Option<String>,
    pub url: Option<String>,
    pub client: Option<String>,
    pub client_url: Option<String>,
    pub description: Option<String>,
    pub details: Option<BTreeMap<String, Scalar>>,
    pub images: Option<IgnoredAny>,
    pub links: Option<Vec<RawPagerdutyLink>>,
    pub source: Option<String>,
    pub severity: Option<String>,
    pub class: Option<String>,
    pub component: Option<String>,
    pub group: Option<String>,
    pub timeout: Option<String>,
    pub template_file: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPagerdutyLink {
    pub href: Option<String>,
    pub text: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWebhookConfig {
    pub send_resolved: Option<bool>,
    pub http_config: Option<IgnoredAny>,
    pub url: Option<String>,
    pub url_file: Option<String>,
    pub max_alerts: Option<u64>,
    pub timeout: Option<String>,
    pub payload: Option<IgnoredAny>,
    /// alertgate extensions: extra request headers (names from
    /// [`WEBHOOK_HEADER_ALLOWLIST`]; values may be `${ENV}`), and an
    /// HMAC-SHA256 signature of the body.
    pub headers: Option<BTreeMap<String, String>>,
    pub hmac_secret: Option<String>,
    pub hmac_secret_file: Option<String>,
}

/// alertgate extension: Alertmanagers to forward alerts to (field names of
/// Prometheus's `alerting.alertmanagers` entries).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlertmanagerConfig {
    pub send_resolved: Option<bool>,
    pub static_configs: Option<Vec<RawStaticConfig>>,
    pub scheme: Option<String>,
    pub path_prefix: Option<String>,
    pub timeout: Option<String>,
    pub api_version: Option<String>,
}

/// alertgate extension: `stdout_configs` entries.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStdoutConfig {
    pub send_resolved: Option<bool>,
}

/// alertgate extension: `file_configs` entries.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFileConfig {
    pub send_resolved: Option<bool>,
    pub path: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStaticConfig {
    pub targets: Option<Vec<String>>,
    pub labels: Option<IgnoredAny>,
}

/// The `global:` block; fields we do not use are accepted and ignored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGlobal {
    pub resolve_timeout: Option<String>,
    pub http_config: Option<IgnoredAny>,
    pub smtp_from: Option<String>,
    pub smtp_hello: Option<String>,
    pub smtp_smarthost: Option<String>,
    pub smtp_auth_username: Option<String>,
    pub smtp_auth_password: Option<String>,
    pub smtp_auth_password_file: Option<String>,
    pub smtp_auth_secret: Option<String>,
    pub smtp_auth_secret_file: Option<String>,
    pub smtp_auth_identity: Option<String>,
    pub smtp_require_tls: Option<bool>,
    pub smtp_tls_config: Option<IgnoredAny>,
    pub smtp_force_implicit_tls: Option<bool>,
    pub slack_api_url: Option<String>,
    pub slack_api_url_file: Option<String>,
    pub slack_app_token: Option<String>,
    pub slack_app_token_file: Option<String>,
    pub slack_app_url: Option<String>,
    pub pagerduty_url: Option<String>,
    pub jira_api_url: Option<IgnoredAny>,
    pub opsgenie_api_url: Option<IgnoredAny>,
    pub opsgenie_api_key: Option<IgnoredAny>,
    pub opsgenie_api_key_file: Option<IgnoredAny>,
    pub wechat_api_url: Option<IgnoredAny>,
    pub wechat_api_secret: Option<IgnoredAny>,
    pub wechat_api_secret_file: Option<IgnoredAny>,
    pub wechat_api_corp_id: Option<IgnoredAny>,
    pub victorops_api_url: Option<IgnoredAny>,
    pub victorops_api_key: Option<IgnoredAny>,
    pub victorops_api_key_file: Option<IgnoredAny>,
    pub telegram_api_url: Option<IgnoredAny>,
    pub telegram_bot_token: Option<IgnoredAny>,
    pub telegram_bot_token_file: Option<IgnoredAny>,
    pub webex_api_url: Option<IgnoredAny>,
    pub rocketchat_api_url: Option<IgnoredAny>,
    pub rocketchat_token: Option<IgnoredAny>,
    pub rocketchat_token_file: Option<IgnoredAny>,
    pub rocketchat_token_id: Option<IgnoredAny>,
    pub rocketchat_token_id_file: Option<IgnoredAny>,
    pub mattermost_webhook_url: Option<IgnoredAny>,
    pub mattermost_webhook_url_file: Option<IgnoredAny>,
}

// ----------------------------------------------------------------- built

#[derive(Debug, Clone, PartialEq)]
pub struct EmailConfig {
    pub send_resolved: bool,
    pub to: String,
    pub from: String,
    pub hello: String,
    pub smarthost: String,
    pub auth_username: Option<String>,
    pub auth_password: Option<SecretSource>,
    pub auth_secret: Option<SecretSource>,
    pub auth_identity: Option<String>,
    pub headers: BTreeMap<String, String>,
    pub html: Option<String>,
    pub text: Option<String>,
    pub require_tls: bool,
    pub force_implicit_tls: bool,
    pub timeout_ms: i64,
    pub template_file: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SlackConfig {
    pub send_resolved: bool,
    /// The webhook URL is a secret (it authorises posting).
    pub api_url: Option<SecretSource>,
    pub app_token: Option<SecretSource>,
    pub channel: Option<String>,
    pub username: Option<String>,
    pub title: Option<String>,
    pub text: Option<String>,
    pub color: Option<String>,
    pub icon_emoji: Option<String>,
    pub icon_url: Option<String>,
    pub timeout_ms: i64,
    pub template_file: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PagerdutyConfig {
    pub send_resolved: bool,
    /// Events API v2 routing key, or the v1 service key.
    pub routing_key: Option<SecretSource>,
    pub service_key: Option<SecretSource>,
    pub url: String,
    pub client: Option<String>,
    pub client_url: Option<String>,
    pub description: Option<String>,
    pub severity: Option<String>,
    pub details: BTreeMap<String, String>,
    pub source: Option<String>,
    pub class: Option<String>,
    pub component: Option<String>,
    pub group: Option<String>,
    /// (href, text)
    pub links: Vec<(String, String)>,
    pub timeout_ms: i64,
    pub template_file: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WebhookConfig {
    pub send_resolved: bool,
    /// Webhook URLs often embed tokens, so they are secrets upstream too.
    pub url: SecretSource,
    pub max_alerts: u64,
    pub timeout_ms: i64,
    /// Canonical header name -> value (values may carry tokens).
    pub headers: BTreeMap<String, SecretSource>,
    pub hmac_secret: Option<SecretSource>,
}

/// Request headers a webhook config may add: authentication and tenancy,
/// never the ones that change how the request is framed or routed.
pub const WEBHOOK_HEADER_ALLOWLIST: &[&str] = &[
    "Authorization",
    "X-Api-Key",
    "X-Auth-Token",
    "X-Scope-Orgid",
    "X-Tenant-Id",
    "X-Request-Source",
];

/// Default send timeout of every notifier.
pub const DEFAULT_NOTIFY_TIMEOUT_MS: i64 = 10_000;

#[derive(Debug, Clone, PartialEq)]
pub struct AlertmanagerConfig {
    pub send_resolved: bool,
    /// Base URLs, one per Alertmanager (`scheme://target/path_prefix`).
    pub urls: Vec<String>,
    pub timeout_ms: i64,
}

/// One JSON line per alert on standard output (cron logs, pipes).
#[derive(Debug, Clone, PartialEq)]
pub struct StdoutConfig {
    pub send_resolved: bool,
}

/// One JSON line per alert appended to `path`.
#[derive(Debug, Clone, PartialEq)]
pub struct FileConfig {
    pub send_resolved: bool,
    pub path: PathBuf,
}

/// One delivery target of a receiver.
#[derive(Debug, Clone, PartialEq)]
pub enum Integration {
    Email(EmailConfig),
    Slack(SlackConfig),
    Pagerduty(PagerdutyConfig),
    Webhook(WebhookConfig),
    Alertmanager(AlertmanagerConfig),
    Stdout(StdoutConfig),
    File(FileConfig),
}

impl Integration {
    pub fn kind(&self) -> &'static str {
        match self {
            Integration::Email(_) => "email",
            Integration::Slack(_) => "slack",
            Integration::Pagerduty(_) => "pagerduty",
            Integration::Webhook(_) => "webhook",
            Integration::Alertmanager(_) => "alertmanager",
            Integration::Stdout(_) => "stdout",
            Integration::File(_) => "file",
        }
    }

    pub fn send_resolved(&self) -> bool {
        match self {
            Integration::Email(c) => c.send_resolved,
            Integration::Slack(c) => c.send_resolved,
            Integration::Pagerduty(c) => c.send_resolved,
            Integration::Webhook(c) => c.send_resolved,
            Integration::Alertmanager(c) => c.send_resolved,
            Integration::Stdout(c) => c.send_resolved,
            Integration::File(c) => c.send_resolved,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Receiver {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub integrations: Vec<Integration>,
    /// Upstream receiver kinds present in the file that alertgate does not deliver.
    pub unsupported: Vec<&'static str>,
}

/// Problems found in one receiver, as (path below the receiver, message).
pub type Problems = Vec<(String, String)>;

const DEFAULT_PAGERDUTY_URL: &str = "https://events.pagerduty.com/v2/enqueue";

impl RawReceiver {
    /// Validates the receiver against the global defaults (pure: no I/O).
    pub fn build(&self, global: &RawGlobal) -> Result<Receiver, Problems> {
        let mut p: Problems = Vec::new();
        let name = self.name.clone().unwrap_or_default();
        if name.is_empty() {
            p.push(("name".into(), "missing name in receiver".into()));
        }
        let mut labels: BTreeMap<String, String> = self
            .labels
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.0))
            .collect();
        if let Some(v) = labels.get("name") {
            if *v != name {
                p.push((
                    "labels.name".into(),
                    format!("receiver label \"name\" must match receiver name {name:?}, got {v:?}"),
                ));
            }
        }
        labels.insert("name".into(), name.clone());
        let mut integrations = Vec::new();
        for (i, c) in self.email_configs.iter().flatten().enumerate() {
            match c.build(global) {
                Ok(e) => integrations.push(Integration::Email(e)),
                Err((f, m)) => p.push((format!("email_configs.{i}{f}"), m)),
            }
        }
        for (i, c) in self.slack_configs.iter().flatten().enumerate() {
            match c.build(global) {
                Ok(e) => integrations.push(Integration::Slack(e)),
                Err((f, m)) => p.push((format!("slack_configs.{i}{f}"), m)),
            }
        }
        for (i, c) in self.pagerduty_configs.iter().flatten().enumerate() {
            match c.build(global) {
                Ok(e) => integrations.push(Integration::Pagerduty(e)),
                Err((f, m)) => p.push((format!("pagerduty_configs.{i}{f}"), m)),
            }
        }
        for (i, c) in self.webhook_configs.iter().flatten().enumerate() {
            match c.build() {
                Ok(e) => integrations.push(Integration::Webhook(e)),
                Err((f, m)) => p.push((format!("webhook_configs.{i}{f}"), m)),
            }
        }
        for (i, c) in self.alertmanager_configs.iter().flatten().enumerate() {
            match c.build() {
                Ok(e) => integrations.push(Integration::Alertmanager(e)),
                Err((f, m)) => p.push((format!("alertmanager_configs.{i}{f}"), m)),
            }
        }
        for c in self.stdout_configs.iter().flatten() {
            // A log sink wants to see resolutions too, unless told not to.
            integrations.push(Integration::Stdout(StdoutConfig {
                send_resolved: c.send_resolved.unwrap_or(true),
            }));
        }
        for (i, c) in self.file_configs.iter().flatten().enumerate() {
            match nonempty(&c.path) {
                Some(path) => integrations.push(Integration::File(FileConfig {
                    send_resolved: c.send_resolved.unwrap_or(true),
                    path: PathBuf::from(path),
                })),
                None => p.push((
                    format!("file_configs.{i}"),
                    "missing path in file config".into(),
                )),
            }
        }
        let mut unsupported = Vec::new();
        for (kind, present) in [
            ("discord", self.discord_configs.is_some()),
            ("incidentio", self.incidentio_configs.is_some()),
            ("opsgenie", self.opsgenie_configs.is_some()),
            ("wechat", self.wechat_configs.is_some()),
            ("pushover", self.pushover_configs.is_some()),
            ("victorops", self.victorops_configs.is_some()),
            ("sns", self.sns_configs.is_some()),
            ("telegram", self.telegram_configs.is_some()),
            ("webex", self.webex_configs.is_some()),
            ("msteams", self.msteams_configs.is_some()),
            ("msteamsv2", self.msteamsv2_configs.is_some()),
            ("jira", self.jira_configs.is_some()),
            ("rocketchat", self.rocketchat_configs.is_some()),
            ("mattermost", self.mattermost_configs.is_some()),
        ] {
            if present {
                unsupported.push(kind);
            }
        }
        if !p.is_empty() {
            return Err(p);
        }
        Ok(Receiver {
            name,
            labels,
            integrations,
            unsupported,
        })
    }
}

fn nonempty(a: &Option<String>) -> Option<String> {
    a.clone().filter(|s| !s.is_empty())
}

type FieldErr = (String, String);

fn at(field: &str, msg: impl Into<String>) -> FieldErr {
    (
        if field.is_empty() {
            String::new()
        } else {
            format!(".{field}")
        },
        msg.into(),
    )
}

impl RawEmailConfig {
    fn build(&self, g: &RawGlobal) -> Result<EmailConfig, FieldErr> {
        let to = nonempty(&self.to).ok_or_else(|| at("", "missing to address in email config"))?;
        let smarthost = nonempty(&self.smarthost)
            .or_else(|| nonempty(&g.smtp_smarthost))
            .ok_or_else(|| at("", "no global SMTP smarthost set"))?;
        match smarthost.rsplit_once(':') {
            Some((_, port)) if !port.is_empty() => {}
            _ => {
                return Err(at(
                    "smarthost",
                    format!("address {smarthost:?}: missing port in address"),
                ))
            }
        }
        let from = nonempty(&self.from)
            .or_else(|| nonempty(&g.smtp_from))
            .ok_or_else(|| at("", "no global SMTP from set"))?;
        let auth_password = match SecretSource::choose(
            self.auth_password.as_deref(),
            self.auth_password_file.as_deref(),
            "auth_password",
        )
        .map_err(|m| at("", m))?
        {
            Some(s) => Some(s),
            None => SecretSource::choose(
                g.smtp_auth_password.as_deref(),
                g.smtp_auth_password_file.as_deref(),
                "smtp_auth_password",
            )
            .map_err(|m| at("", m))?,
        };
        let auth_secret = match SecretSource::choose(
            self.auth_secret.as_deref(),
            self.auth_secret_file.as_deref(),
            "auth_secret",
        )
        .map_err(|m| at("", m))?
        {
            Some(s) => Some(s),
            None => SecretSource::choose(
                g.smtp_auth_secret.as_deref(),
                g.smtp_auth_secret_file.as_deref(),
                "smtp_auth_secret",
            )
            .map_err(|m| at("", m))?,
        };
        let mut headers = BTreeMap::new();
        for (k, v) in self.headers.clone().unwrap_or_default() {
            let canon = canonical_header(&k);
            if headers.insert(canon.clone(), v).is_some() {
                return Err(at(
                    "headers",
                    format!("duplicate header {canon:?} in email config"),
                ));
            }
        }
        Ok(EmailConfig {
            send_resolved: self.send_resolved.unwrap_or(false),
            to,
            from,
            hello: nonempty(&self.hello)
                .or_else(|| nonempty(&g.smtp_hello))
                .unwrap_or_else(|| "localhost".into()),
            smarthost,
            auth_username: nonempty(&self.auth_username)
                .or_else(|| nonempty(&g.smtp_auth_username)),
            auth_password,
            auth_secret,
            auth_identity: nonempty(&self.auth_identity)
                .or_else(|| nonempty(&g.smtp_auth_identity)),
            headers,
            html: self.html.clone(),
            text: self.text.clone(),
            require_tls: self.require_tls.or(g.smtp_require_tls).unwrap_or(true),
            force_implicit_tls: self
                .force_implicit_tls
                .or(g.smtp_force_implicit_tls)
                .unwrap_or(false),
            timeout_ms: timeout_ms(&self.timeout)?,
            template_file: self.template_file.as_ref().map(PathBuf::from),
        })
    }
}

/// Go's `textproto.CanonicalMIMEHeaderKey` for ASCII names.
fn canonical_header(k: &str) -> String {
    let mut up = true;
    k.chars()
        .map(|c| {
            let o = if up {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            up = c == '-';
            o
        })
        .collect()
}

impl RawSlackConfig {
    fn build(&self, g: &RawGlobal) -> Result<SlackConfig, FieldErr> {
        let mut api_url = SecretSource::choose(
            self.api_url.as_deref(),
            self.api_url_file.as_deref(),
            "api_url",
        )
        .map_err(|m| at("", m))?;
        let mut app_token = SecretSource::choose(
            self.app_token.as_deref(),
            self.app_token_file.as_deref(),
            "app_token",
        )
        .map_err(|m| at("", m))?;
        if api_url.is_some() && app_token.is_some() {
            return Err(at(
                "",
                "at most one of api_url/api_url_file & app_token/app_token_file must be configured",
            ));
        }
        if self.update_message == Some(true)
            && self.api_url.as_deref() != Some("https://slack.com/api/chat.postMessage")
        {
            return Err(at(
                "update_message",
                "update_message can only be used with bot tokens. api_url must be set to https://slack.com/api/chat.postMessage",
            ));
        }
        if api_url.is_none() && app_token.is_none() {
            app_token = SecretSource::choose(
                g.slack_app_token.as_deref(),
                g.slack_app_token_file.as_deref(),
                "slack_app_token",
            )
            .map_err(|m| at("", m))?;
        }
        if api_url.is_none() {
            api_url = SecretSource::choose(
                g.slack_api_url.as_deref(),
                g.slack_api_url_file.as_deref(),
                "slack_api_url",
            )
            .map_err(|m| at("", m))?;
        }
        if api_url.is_none() && app_token.is_none() {
            return Err(at(
                "",
                "no Slack API URL nor App token set either inline or in a file",
            ));
        }
        Ok(SlackConfig {
            send_resolved: self.send_resolved.unwrap_or(false),
            api_url,
            app_token,
            channel: self.channel.clone(),
            username: self.username.clone(),
            title: self.title.clone(),
            text: self.text.clone(),
            color: self.color.clone(),
            icon_emoji: self.icon_emoji.clone(),
            icon_url: self.icon_url.clone(),
            timeout_ms: timeout_ms(&self.timeout)?,
            template_file: self.template_file.as_ref().map(PathBuf::from),
        })
    }
}

impl RawPagerdutyConfig {
    fn build(&self, g: &RawGlobal) -> Result<PagerdutyConfig, FieldErr> {
        let routing_key = SecretSource::choose(
            self.routing_key.as_deref(),
            self.routing_key_file.as_deref(),
            "routing_key",
        )
        .map_err(|m| at("", m))?;
        let service_key = SecretSource::choose(
            self.service_key.as_deref(),
            self.service_key_file.as_deref(),
            "service_key",
        )
        .map_err(|m| at("", m))?;
        if routing_key.is_none() && service_key.is_none() {
            return Err(at("", "missing service or routing key in PagerDuty config"));
        }
        Ok(PagerdutyConfig {
            send_resolved: self.send_resolved.unwrap_or(true),
            routing_key,
            service_key,
            url: nonempty(&self.url)
                .or_else(|| nonempty(&g.pagerduty_url))
                .unwrap_or_else(|| DEFAULT_PAGERDUTY_URL.into()),
            client: self.client.clone(),
            client_url: self.client_url.clone(),
            description: self.description.clone(),
            severity: self.severity.clone(),
            details: self
                .details
                .clone()
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.0))
                .collect(),
            source: self.source.clone(),
            class: self.class.clone(),
            component: self.component.clone(),
            group: self.group.clone(),
            links: self
                .links
                .iter()
                .flatten()
                .enumerate()
                .map(|(i, l)| match &l.href {
                    Some(h) if !h.is_empty() => Ok((h.clone(), l.text.clone().unwrap_or_default())),
                    _ => Err(at(&format!("links.{i}"), "missing href in PagerDuty link")),
                })
                .collect::<Result<_, _>>()?,
            timeout_ms: timeout_ms(&self.timeout)?,
            template_file: self.template_file.as_ref().map(PathBuf::from),
        })
    }
}

impl RawWebhookConfig {
    fn build(&self) -> Result<WebhookConfig, FieldErr> {
        let url = SecretSource::choose(self.url.as_deref(), self.url_file.as_deref(), "url")
            .map_err(|m| at("", m))?
            .ok_or_else(|| at("", "one of url or url_file must be configured"))?;
        Ok(WebhookConfig {
            send_resolved: self.send_resolved.unwrap_or(true),
            url,
            max_alerts: self.max_alerts.unwrap_or(0),
            timeout_ms: timeout_ms(&self.timeout)?,
            headers: self.build_headers()?,
            hmac_secret: SecretSource::choose(
                self.hmac_secret.as_deref(),
                self.hmac_secret_file.as_deref(),
                "hmac_secret",
            )
            .map_err(|m| at("", m))?,
        })
    }

    fn build_headers(&self) -> Result<BTreeMap<String, SecretSource>, FieldErr> {
        let mut out = BTreeMap::new();
        for (k, v) in self.headers.clone().unwrap_or_default() {
            let canon = canonical_header(&k);
            if !WEBHOOK_HEADER_ALLOWLIST.contains(&canon.as_str()) {
                return Err(at(
                    "headers",
                    format!(
                        "header {canon:?} is not allowed (allowed: {})",
                        WEBHOOK_HEADER_ALLOWLIST.join(", ")
                    ),
                ));
            }
            let src = SecretSource::choose(Some(&v), None, "headers")
                .map_err(|m| at("headers", m))?
                .ok_or_else(|| at("headers", format!("empty value for header {canon:?}")))?;
            if out.insert(canon.clone(), src).is_some() {
                return Err(at("headers", format!("duplicate header {canon:?}")));
            }
        }
        Ok(out)
    }
}

impl RawAlertmanagerConfig {
    fn build(&self) -> Result<AlertmanagerConfig, FieldErr> {
        let scheme = nonempty(&self.scheme).unwrap_or_else(|| "http".into());
        if scheme != "http" && scheme != "https" {
            return Err(at("scheme", format!("unsupported scheme {scheme:?}")));
        }
        if let Some(v) = nonempty(&self.api_version) {
            if v != "v2" {
                return Err(at(
                    "api_version",
                    format!("unsupported api_version {v:?}, only v2"),
                ));
            }
        }
        let prefix = nonempty(&self.path_prefix).unwrap_or_default();
        let prefix = prefix.trim_end_matches('/');
        let prefix = if prefix.is_empty() || prefix.starts_with('/') {
            prefix.to_string()
        } else {
            format!("/{prefix}")
        };
        let mut urls = Vec::new();
        for (i, sc) in self.static_configs.iter().flatten().enumerate() {
            for t in sc.targets.iter().flatten() {
                if t.is_empty() || t.contains('/') {
                    return Err(at(
                        &format!("static_configs.{i}.targets"),
                        format!("invalid target {t:?}, want host:port"),
                    ));
                }
                urls.push(format!("{scheme}://{t}{prefix}"));
            }
        }
        if urls.is_empty() {
            return Err(at("static_configs", "no Alertmanager targets configured"));
        }
        Ok(AlertmanagerConfig {
            send_resolved: self.send_resolved.unwrap_or(true),
            urls,
            timeout_ms: timeout_ms(&self.timeout)?,
        })
    }
}

/// A notifier's `timeout:`, default [`DEFAULT_NOTIFY_TIMEOUT_MS`].
fn timeout_ms(t: &Option<String>) -> Result<i64, FieldErr> {
    match nonempty(t) {
        None => Ok(DEFAULT_NOTIFY_TIMEOUT_MS),
        Some(s) => match super::duration::parse_duration(&s) {
            Ok(ms) if ms > 0 => Ok(ms),
            Ok(_) => Err(at("timeout", "timeout must be greater than zero")),
            Err(e) => Err(at("timeout", e.to_string())),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recv(yaml: &str) -> Result<Receiver, Problems> {
        let r: RawReceiver = yaml_serde::from_str(yaml).unwrap();
        r.build(&RawGlobal::default())
    }

    #[test]
    fn secrets_from_inline_file_or_env() {
        assert_eq!(
            SecretSource::choose(Some("${PD_KEY}"), None, "routing_key").unwrap(),
            Some(SecretSource::Env("PD_KEY".into()))
        );
        assert_eq!(
            SecretSource::choose(None, Some("/run/secrets/pd"), "routing_key").unwrap(),
            Some(SecretSource::File("/run/secrets/pd".into()))
        );
        assert!(SecretSource::choose(Some("a"), Some("b"), "routing_key").is_err());
        // Only a whole-value reference is special.
        assert!(matches!(
            SecretSource::choose(Some("x${A}"), None, "f").unwrap(),
            Some(SecretSource::Inline(_))
        ));
    }

    #[test]
    fn secret_never_printed() {
        let s = SecretSource::choose(Some("hunter2"), None, "routing_key")
            .unwrap()
            .unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
        let r = recv("name: p\npagerduty_configs: [{routing_key: hunter2, routing_key_file: /x}]")
            .unwrap_err();
        assert!(!format!("{r:?}").contains("hunter2"));
    }

    #[test]
    fn resolve_file_and_env() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("k");
        std::fs::write(&f, "abc\n").unwrap();
        assert_eq!(SecretSource::File(f).resolve().unwrap().expose(), "abc");
        assert!(SecretSource::Env("ALERTGATE_TEST_SURELY_UNSET".into())
            .resolve()
            .is_err());
    }

    #[test]
    fn upstream_defaults_and_required_fields() {
        let r = recv("name: w\nwebhook_configs: [{url: 'http://x'}]\npagerduty_configs: [{routing_key_file: /k}]").unwrap();
        assert!(r.integrations.iter().all(|i| i.send_resolved()));
        assert!(recv("name: w\nwebhook_configs: [{}]").is_err());
        assert!(
            recv("name: e\nemail_configs: [{to: a@b}]").is_err(),
            "no smarthost anywhere"
        );
        assert!(recv("name: e\nemail_configs: [{to: a@b, smarthost: 'h:25', from: c@d}]").is_ok());
        assert!(
            recv("name: s\nslack_configs: [{channel: '#x'}]").is_err(),
            "no URL anywhere"
        );
        assert!(recv("name: p\npagerduty_configs: [{}]").is_err());
        assert!(recv("email_configs: []").is_err(), "missing name");
        assert!(
            yaml_serde::from_str::<RawReceiver>("name: x\nemail_configs: [{bogus: 1}]").is_err()
        );
    }
}
