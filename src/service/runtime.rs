//! The running service's shared state: the loaded config with its rule
//! groups (swapped whole on reload), the embedded store, the dispatcher,
//! silences, self-metrics and health. Long-lived state (alert state per
//! rule, silences, the dispatcher's notification log) survives reloads.

use super::alert_state;
use super::config::ServiceConfig;
use super::delivery::Delivery;
use super::metrics::{names, Metrics};
use super::store::{Backend, DsHealth, OffThread, ServiceQuerier, SharedStore};
use crate::datasource::HttpQuerier;
use crate::promql::{Engine, EngineOptions};
use crate::routing::{Dispatcher, RoutingConfig, Silences};
use crate::rules::{Group, GroupState, Rule};
use anyhow::{Context, Result};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use tokio::task::JoinHandle;

/// What a status view shows of a group's last evaluation.
#[derive(Debug, Clone, Default)]
pub struct GroupStatus {
    pub last_eval: Option<i64>,
    pub duration_s: f64,
    /// One entry per rule: the error of its last evaluation.
    pub rule_errors: Vec<Option<String>>,
}

/// One rule group and its memory.
pub struct GroupRun {
    /// `file;name`, as Prometheus's `rule_group` label.
    pub key: String,
    pub group: Group,
    pub interval_ms: i64,
    pub state: Mutex<GroupState>,
    pub status: Mutex<GroupStatus>,
}

/// A fully built configuration; replaced whole by a reload.
pub struct Loaded {
    pub config: ServiceConfig,
    pub groups: Vec<Arc<GroupRun>>,
    pub querier: Arc<ServiceQuerier>,
    /// The resolved write token of `web.auth`.
    pub write_token: Option<String>,
    /// Compares routing configs across reloads (see [`routing_fingerprint`]).
    pub routing_fp: String,
    pub retention_ms: i64,
}

/// Health of one scrape target.
#[derive(Debug, Clone, Default)]
pub struct TargetHealth {
    pub last_scrape: Option<i64>,
    pub up: bool,
    pub last_error: Option<String>,
}

pub struct Runtime {
    pub loaded: RwLock<Arc<Loaded>>,
    pub store: SharedStore,
    pub ds_health: Arc<Mutex<DsHealth>>,
    /// Keyed by `job/instance`.
    pub targets: Mutex<BTreeMap<String, TargetHealth>>,
    pub dispatcher: Mutex<Option<Dispatcher>>,
    pub silences: Arc<RwLock<Silences>>,
    pub metrics: Metrics,
    /// Why the last reload failed, while the old config keeps running.
    pub reload_error: Mutex<Option<String>>,
    /// The durable outbox and its worker.
    pub delivery: Arc<Delivery>,
    pub started_at: i64,
    pub now: fn() -> i64,
    /// Tasks bound to the current config (group loops, scrapers).
    pub tasks: Mutex<Vec<JoinHandle<()>>>,
    /// One reload at a time.
    pub reload_lock: tokio::sync::Mutex<()>,
    /// Writes alert state to `state_dir` (see [`alert_state`]).
    pub alert_state: alert_state::Saver,
}

pub const SILENCES_FILE: &str = "silences.json";

/// A string that is equal for two routing configs that route alike. The
/// config's map of time intervals is sorted first; secrets print redacted
/// but their sources are compared.
pub fn routing_fingerprint(r: Option<&RoutingConfig>) -> String {
    match r {
        None => String::new(),
        Some(r) => {
            let ti: BTreeMap<_, _> = r
                .time_intervals
                .iter()
                .map(|(k, v)| (k, format!("{v:?}")))
                .collect();
            format!(
                "{:?}|{:?}|{:?}|{:?}|{:?}|{}",
                r.route, r.receivers, r.inhibit_rules, ti, r.templates, r.resolve_timeout_ms
            )
        }
    }
}

/// Builds everything a config needs (datasource client, token, groups),
/// carrying alert state over from `prev` for groups and rules that stay.
/// Blocking (it may build an HTTP client): call it off the async threads.
pub fn build_loaded(
    config: ServiceConfig,
    store: &SharedStore,
    ds_health: &Arc<Mutex<DsHealth>>,
    prev: Option<&Loaded>,
    now: fn() -> i64,
) -> Result<Loaded> {
    let engine = Engine::new(EngineOptions::default());
    let lookback = engine.opts.lookback_delta_ms;
    let backend = match &config.datasource {
        // A service keeps retrying a datasource that was down.
        Some(ds) => Backend::Remote(OffThread::new(Box::new(
            HttpQuerier::new(ds)
                .context("cannot build datasource")?
                .with_sticky_unreachable(false),
        ))),
        None => Backend::Embedded {
            store: store.clone(),
            engine,
        },
    };
    let write_token = match &config.web.write_token {
        Some(s) => Some(s.resolve().context("web.auth")?),
        None => None,
    };
    let old: HashMap<&str, &Arc<GroupRun>> = prev
        .map(|p| p.groups.iter().map(|g| (g.key.as_str(), g)).collect())
        .unwrap_or_default();
    let mut groups = Vec::new();
    for f in &config.rule_files {
        for g in &f.groups {
            let key = format!("{};{}", g.file, g.name);
            let mut state = GroupState::default();
            state.rules.resize_with(g.rules.len(), Default::default);
            if let Some(o) = old.get(key.as_str()) {
                let ostate = o.state.lock().unwrap_or_else(|e| e.into_inner());
                // Like Prometheus's CopyState: a rule keeps its memory when a
                // rule of the same name and kind was in the old group.
                for (i, r) in g.rules.iter().enumerate() {
                    let found = o
                        .group
                        .rules
                        .iter()
                        .position(|or| or.name() == r.name() && same_kind(or, r));
                    if let Some(j) = found {
                        if let Some(s) = ostate.rules.get(j) {
                            state.rules[i] = s.clone();
                        }
                    }
                }
            }
            groups.push(Arc::new(GroupRun {
                interval_ms: g.interval_or(config.evaluation_interval_ms),
                key,
                group: g.clone(),
                state: Mutex::new(state),
                status: Mutex::new(GroupStatus {
                    rule_errors: vec![None; g.rules.len()],
                    ..Default::default()
                }),
            }));
        }
    }
    let retention_ms =
        super::store::retention_ms(&config.rule_files, lookback, config.evaluation_interval_ms);
    Ok(Loaded {
        routing_fp: routing_fingerprint(config.routing.as_ref()),
        querier: Arc::new(ServiceQuerier {
            backend,
            health: ds_health.clone(),
            now,
        }),
        write_token,
        retention_ms,
        groups,
        config,
    })
}

fn same_kind(a: &Rule, b: &Rule) -> bool {
    matches!(
        (a, b),
        (Rule::Recording(_), Rule::Recording(_)) | (Rule::Alerting(_), Rule::Alerting(_))
    )
}

impl Runtime {
    /// Builds the runtime from a loaded config: opens silences and restores
    /// alert state from `state_dir`. Blocking, like [`build_loaded`].
    pub fn new(config: ServiceConfig, now: fn() -> i64) -> Result<Arc<Runtime>> {
        let store: SharedStore = Default::default();
        let ds_health: Arc<Mutex<DsHealth>> = Default::default();
        let silences = match &config.state_dir {
            Some(d) => Silences::open(&d.join(SILENCES_FILE))?,
            None => Silences::in_memory(),
        };
        let loaded = build_loaded(config, &store, &ds_health, None, now)?;
        let alert_state = alert_state::Saver::default();
        if let Some(d) = &loaded.config.state_dir {
            // A file that cannot be read stops the start: running on would
            // overwrite it at the first save.
            alert_state.restore(&loaded, d)?;
        }
        let silences = Arc::new(RwLock::new(silences));
        let delivery = Arc::new(Delivery::new(
            loaded.config.state_dir.as_deref(),
            loaded.config.routing.as_ref(),
            &loaded.config.external_url,
            loaded.config.outbox.clone(),
            now,
        )?);
        let dispatcher = new_dispatcher(loaded.config.routing.as_ref(), &silences, &delivery);
        let metrics = Metrics::new();
        metrics.set(names::RELOAD_OK, &[], 1.0);
        metrics.set(names::RELOAD_TS, &[], now() as f64 / 1000.0);
        let rt = Arc::new(Runtime {
            delivery,
            loaded: RwLock::new(Arc::new(loaded)),
            store,
            ds_health,
            targets: Default::default(),
            dispatcher: Mutex::new(dispatcher),
            silences,
            metrics,
            reload_error: Mutex::new(None),
            started_at: now(),
            now,
            tasks: Mutex::new(Vec::new()),
            reload_lock: tokio::sync::Mutex::new(()),
            alert_state,
        });
        Ok(rt)
    }

    pub fn loaded(&self) -> Arc<Loaded> {
        self.loaded
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Aborts the tasks of the current config.
    pub fn stop_tasks(&self) {
        for t in self
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            t.abort();
        }
    }

    /// Writes alert state and silences to `state_dir`, when set.
    pub fn save_state(&self) -> Result<()> {
        let l = self.loaded();
        if let Some(d) = &l.config.state_dir {
            self.alert_state.save(&l, d, (self.now)(), true)?;
            self.silences
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .save()?;
        }
        Ok(())
    }

    /// Writes alert state to `state_dir` after an evaluation, unless no
    /// alert changed. Errors are logged by the saver (once per cause).
    pub fn save_alert_state(&self) {
        let l = self.loaded();
        if let Some(d) = &l.config.state_dir {
            let _ = self.alert_state.save(&l, d, (self.now)(), false);
        }
    }
}

/// A dispatcher for `r`, with the persisted notification log restored so
/// a restart or reload neither pages again for an unchanged group nor
/// resets its `repeat_interval` (entries of routes that changed are left).
pub fn new_dispatcher(
    r: Option<&RoutingConfig>,
    silences: &Arc<RwLock<Silences>>,
    delivery: &Delivery,
) -> Option<Dispatcher> {
    let mut d = Dispatcher::new(Arc::new(r?.clone())).with_silences(silences.clone());
    if let Some(ob) = delivery.outbox() {
        restore_log(&ob, &mut d);
    }
    Some(d)
}

/// Feeds the store's notification log to `d`.
pub fn restore_log(ob: &crate::outbox::Outbox, d: &mut Dispatcher) {
    match ob.restore_log(d) {
        Ok(n) => tracing::debug!(entries = n, "Notification log restored."),
        Err(e) => {
            tracing::error!(error = %e, "Cannot read the notification log; groups may be notified again.")
        }
    }
}
