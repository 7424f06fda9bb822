//! Alertmanager-compatible routing: configuration, route tree, grouping,
//! inhibition, silences and time intervals.
//!
//! `config` parses and validates the routing part of `alertgate.yml` (the
//! `alertmanager.yml` format); `route` matches alerts to receivers;
//! `dispatch` groups them and decides, on an explicit clock, what to notify;
//! `inhibit`, `silence` and `timeinterval` say why something is muted.

pub mod alert;
pub mod config;
pub mod dispatch;
pub mod duration;
pub mod inhibit;
pub mod matchers;
pub mod mute;
pub mod receivers;
pub mod route;
pub mod silence;
pub mod timeinterval;

pub use alert::Alert;
pub use config::{load_file, parse_str, ConfigError, RoutingConfig};
pub use dispatch::SentRecord;
pub use dispatch::{AlertStatus, Dispatcher, Notification, NotifyReason};
pub use mute::{MuteReason, Muter};
pub use route::Route;
pub use silence::{Silence, SilenceError, Silences};
