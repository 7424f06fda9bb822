//! Aggregation groups with Alertmanager's timing, as a pure state machine on
//! an explicit clock: [`Dispatcher::push`] adds an alert, [`Dispatcher::tick`]
//! flushes the groups that are due and returns the notifications to send.
//!
//! Per group (upstream `dispatch/dispatch.go`): the first flush is
//! `group_wait` after the group is created (at once if the alert is already
//! older than that), then every `group_interval`. At each flush inhibited and
//! silenced alerts are dropped, the route's time intervals may mute the whole
//! group, and the notification log decides (upstream `DedupStage`): notify on
//! new firing alerts, on newly resolved ones (when the receiver sends
//! resolved), when all are resolved, or when `repeat_interval` has passed.
//! Resolved alerts leave the group after each flush.
//!
//! Deduplication is per receiver rather than per integration: a receiver
//! "sends resolved" when any of its integrations does, and the notify layer
//! drops resolved alerts for the integrations that do not.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use super::alert::Alert;
use super::config::RoutingConfig;
use super::inhibit::Inhibitor;
use super::matchers::format_matchers;
use super::mute::{MuteReason, Muter};
use super::route::Route;
use super::timeinterval::any_contains;
use crate::model::{Labels, Timestamp};

/// Why a notification goes out (upstream `NotifyReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyReason {
    FirstNotification,
    NewAlertsInGroup,
    NewResolvedAlerts,
    AllAlertsResolved,
    RepeatIntervalElapsed,
}

/// One message for one receiver about one group.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub at: Timestamp,
    pub receiver: String,
    pub route_idx: usize,
    /// Upstream's group key: `route key:{group labels}`.
    pub group_key: String,
    pub group_labels: Labels,
    pub firing: Vec<Alert>,
    pub resolved: Vec<Alert>,
    pub reason: NotifyReason,
}

/// How an alert stands right now, for status views.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertStatus {
    pub alert: Alert,
    pub receivers: Vec<String>,
    /// Empty when the alert would be notified.
    pub muted: Vec<MuteReason>,
}

#[derive(Debug, Clone)]
struct Group {
    alerts: BTreeMap<Labels, Alert>,
    next_flush: Timestamp,
}

/// What was last sent for a group (upstream's notification log entry).
#[derive(Debug, Clone)]
struct LogEntry {
    firing: Vec<Labels>,
    resolved: Vec<Labels>,
    at: Timestamp,
}

type GroupId = (usize, Labels);

pub struct Dispatcher {
    config: Arc<RoutingConfig>,
    route_keys: HashMap<usize, String>,
    groups: BTreeMap<GroupId, Group>,
    /// Every group by its next flush, so a tick with nothing due costs one
    /// lookup (alerts are pushed one by one, each followed by a tick).
    due: BTreeSet<(Timestamp, GroupId)>,
    /// Alerts a flush took out of a group (resolved): the only ones
    /// [`Dispatcher::gc`] may forget, since every alert is in some group
    /// from its insertion until a flush removes it.
    gc_candidates: Vec<Labels>,
    log: HashMap<GroupId, LogEntry>,
    alerts: HashMap<Labels, Alert>,
    inhibitor: Inhibitor,
    silences: Option<Arc<dyn Muter + Send + Sync>>,
}

fn route_keys(r: &Route, parent: Option<&str>, out: &mut HashMap<usize, String>) {
    let own = format_matchers(&r.matchers);
    let key = match parent {
        Some(p) => format!("{p}/{own}"),
        None => own,
    };
    for c in &r.routes {
        route_keys(c, Some(&key), out);
    }
    out.insert(r.idx, key);
}

fn find_route(r: &Route, idx: usize) -> Option<&Route> {
    if r.idx == idx {
        return Some(r);
    }
    r.routes.iter().find_map(|c| find_route(c, idx))
}

impl Dispatcher {
    pub fn new(config: Arc<RoutingConfig>) -> Self {
        let mut keys = HashMap::new();
        route_keys(&config.route, None, &mut keys);
        let inhibitor = Inhibitor::new(config.inhibit_rules.clone());
        Dispatcher {
            config,
            route_keys: keys,
            groups: BTreeMap::new(),
            due: BTreeSet::new(),
            gc_candidates: Vec::new(),
            log: HashMap::new(),
            alerts: HashMap::new(),
            inhibitor,
            silences: None,
        }
    }

    /// Consults `silences` at every flush.
    pub fn with_silences(mut self, silences: Arc<dyn Muter + Send + Sync>) -> Self {
        self.silences = Some(silences);
        self
    }

    /// Adds or updates an alert, then flushes whatever is due at `now`.
    pub fn push(&mut self, alert: Alert, now: Timestamp) -> Vec<Notification> {
        self.insert(alert, now);
        self.tick(now)
    }

    /// Adds alerts that arrive together (one evaluation's, one API post),
    /// then flushes once: a group that is due at once is sent with all of
    /// them, not with the first alone. Upstream's asynchronous flush sees
    /// such a batch the same way.
    pub fn push_batch(&mut self, alerts: Vec<Alert>, now: Timestamp) -> Vec<Notification> {
        for a in alerts {
            self.insert(a, now);
        }
        self.tick(now)
    }

    fn insert(&mut self, alert: Alert, now: Timestamp) {
        self.inhibitor.observe(&alert.labels, alert.ends_at);
        self.alerts.insert(alert.labels.clone(), alert.clone());
        let config = self.config.clone();
        for route in config.route.match_labels(&alert.labels) {
            let id = (route.idx, route.group_labels(&alert.labels));
            let group = match self.groups.get_mut(&id) {
                Some(g) => g,
                None => {
                    // An alert already older than group_wait is sent at once.
                    let wait = if alert.starts_at + route.opts.group_wait_ms < now {
                        0
                    } else {
                        route.opts.group_wait_ms
                    };
                    self.due.insert((now + wait, id.clone()));
                    self.groups.entry(id).or_insert(Group {
                        alerts: BTreeMap::new(),
                        next_flush: now + wait,
                    })
                }
            };
            group.alerts.insert(alert.labels.clone(), alert.clone());
        }
    }

    /// When the next group is due, if any: the time to call [`Self::tick`].
    pub fn next_due(&self) -> Option<Timestamp> {
        self.due.first().map(|(t, _)| *t)
    }

    /// Flushes every group due at `now` (each once, like a timer firing
    /// late) and returns the notifications, ordered by group.
    pub fn tick(&mut self, now: Timestamp) -> Vec<Notification> {
        let mut due: Vec<GroupId> = Vec::new();
        while self.due.first().is_some_and(|(t, _)| *t <= now) {
            due.push(self.due.pop_first().expect("checked").1);
        }
        due.sort();
        let mut out = Vec::new();
        for id in due {
            if let Some(n) = self.flush(&id, now) {
                out.push(n);
            }
        }
        self.gc(now);
        out
    }

    /// The time-interval verdict for a route at `now`.
    fn time_mute(&self, route: &Route, now: Timestamp) -> Option<MuteReason> {
        let ti = &self.config.time_intervals;
        let active = &route.opts.active_time_intervals;
        if !active.is_empty()
            && !active
                .iter()
                .any(|n| ti.get(n).is_some_and(|s| any_contains(s, now)))
        {
            return Some(MuteReason::OutsideActiveTimeInterval {
                names: active.clone(),
            });
        }
        let names: Vec<String> = route
            .opts
            .mute_time_intervals
            .iter()
            .filter(|n| ti.get(*n).is_some_and(|s| any_contains(s, now)))
            .cloned()
            .collect();
        (!names.is_empty()).then_some(MuteReason::MuteTimeInterval { names })
    }

    /// Why a single alert is muted, if it is (inhibition first, as upstream).
    fn alert_mute(&self, labels: &Labels, now: Timestamp) -> Option<MuteReason> {
        self.inhibitor
            .mutes(labels, now)
            .or_else(|| self.silences.as_ref().and_then(|s| s.mutes(labels, now)))
    }

    fn flush(&mut self, id: &GroupId, now: Timestamp) -> Option<Notification> {
        let config = self.config.clone();
        let route = find_route(&config.route, id.0).expect("group of a known route");
        let group = self.groups.get_mut(id)?;
        group.next_flush = now + route.opts.group_interval_ms;
        let alerts: Vec<Alert> = group.alerts.values().cloned().collect();
        let resolved_now: Vec<Labels> = alerts
            .iter()
            .filter(|a| a.resolved_at(now))
            .map(|a| a.labels.clone())
            .collect();

        let mut result = None;
        if self.time_mute(route, now).is_none() {
            let kept: Vec<Alert> = alerts
                .into_iter()
                .filter(|a| self.alert_mute(&a.labels, now).is_none())
                .collect();
            if !kept.is_empty() {
                result = self.dedup(id, route, kept, now);
            }
        }
        // The flush "succeeded": resolved alerts leave the group.
        if let Some(group) = self.groups.get_mut(id) {
            for l in &resolved_now {
                group.alerts.remove(l);
            }
            if group.alerts.is_empty() {
                self.groups.remove(id);
            } else {
                self.due.insert((group.next_flush, id.clone()));
            }
        }
        self.gc_candidates.extend(resolved_now);
        result
    }

    fn send_resolved(&self, receiver: &str) -> bool {
        self.config
            .receiver(receiver)
            .is_some_and(|r| r.integrations.iter().any(|i| i.send_resolved()))
    }

    fn dedup(
        &mut self,
        id: &GroupId,
        route: &Route,
        alerts: Vec<Alert>,
        now: Timestamp,
    ) -> Option<Notification> {
        let (resolved, firing): (Vec<Alert>, Vec<Alert>) =
            alerts.into_iter().partition(|a| a.resolved_at(now));
        let firing_set: Vec<Labels> = firing.iter().map(|a| a.labels.clone()).collect();
        let resolved_set: Vec<Labels> = resolved.iter().map(|a| a.labels.clone()).collect();
        let entry = self.log.get(id);
        let reason = match entry {
            None if firing.is_empty() => None,
            None => Some(NotifyReason::FirstNotification),
            Some(e) if !firing_set.iter().all(|l| e.firing.contains(l)) => {
                Some(if e.firing.is_empty() {
                    NotifyReason::FirstNotification
                } else {
                    NotifyReason::NewAlertsInGroup
                })
            }
            Some(e) if firing.is_empty() => {
                (!e.firing.is_empty()).then_some(NotifyReason::AllAlertsResolved)
            }
            Some(e)
                if self.send_resolved(&route.opts.receiver)
                    && !resolved_set.iter().all(|l| e.resolved.contains(l)) =>
            {
                Some(NotifyReason::NewResolvedAlerts)
            }
            Some(e) => (e.at < now - route.opts.repeat_interval_ms)
                .then_some(NotifyReason::RepeatIntervalElapsed),
        }?;
        self.log.insert(
            id.clone(),
            LogEntry {
                firing: firing_set,
                resolved: resolved_set,
                at: now,
            },
        );
        let route_key = self.route_keys.get(&id.0).cloned().unwrap_or_default();
        Some(Notification {
            at: now,
            receiver: route.opts.receiver.clone(),
            route_idx: id.0,
            group_key: format!("{route_key}:{}", labels_string(&id.1)),
            group_labels: id.1.clone(),
            firing,
            resolved,
            reason,
        })
    }

    /// Forgets resolved alerts no group holds any more.
    fn gc(&mut self, now: Timestamp) {
        for l in std::mem::take(&mut self.gc_candidates) {
            let Some(a) = self.alerts.get(&l) else {
                continue;
            };
            // Updated since (firing again), or still in another route's group.
            if !a.resolved_at(now) {
                continue;
            }
            let held = self.config.route.match_labels(&l).iter().any(|r| {
                self.groups
                    .get(&(r.idx, r.group_labels(&l)))
                    .is_some_and(|g| g.alerts.contains_key(&l))
            });
            if !held {
                self.alerts.remove(&l);
            }
        }
        self.inhibitor.gc(now);
    }

    /// Every known alert with its receivers and why it is muted, if it is.
    pub fn alerts(&self, now: Timestamp) -> Vec<AlertStatus> {
        let mut out: Vec<AlertStatus> = self
            .alerts
            .values()
            .map(|a| {
                let routes = self.config.route.match_labels(&a.labels);
                let mut muted: Vec<MuteReason> = Vec::new();
                if let Some(r) = self.inhibitor.mutes(&a.labels, now) {
                    muted.push(r);
                }
                if let Some(r) = self.silences.as_ref().and_then(|s| s.mutes(&a.labels, now)) {
                    muted.push(r);
                }
                // Time intervals mute only when every route of the alert is muted.
                let timed: Vec<MuteReason> = routes
                    .iter()
                    .filter_map(|r| self.time_mute(r, now))
                    .collect();
                if !routes.is_empty() && timed.len() == routes.len() {
                    muted.extend(timed);
                }
                AlertStatus {
                    alert: a.clone(),
                    receivers: routes.iter().map(|r| r.opts.receiver.clone()).collect(),
                    muted,
                }
            })
            .collect();
        out.sort_by(|a, b| a.alert.labels.cmp(&b.alert.labels));
        out
    }

    /// Number of live aggregation groups.
    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    /// Restores one entry of the notification log from a durable store
    /// (`crate::outbox`), so a restart neither pages again for a group
    /// whose alerts did not change nor resets its `repeat_interval`. The
    /// route is found by `route_idx` if it still has the same key and
    /// receiver, else by key and receiver; false when no route matches
    /// (the config changed) or a newer entry is already known.
    pub fn restore_sent(&mut self, r: &SentRecord) -> bool {
        let fits = |idx: usize, key: &String| {
            format!("{key}:{}", labels_string(&r.group_labels)) == r.group_key
                && find_route(&self.config.route, idx)
                    .is_some_and(|rt| rt.opts.receiver == r.receiver)
        };
        let idx = match self.route_keys.get(&r.route_idx) {
            Some(k) if fits(r.route_idx, k) => Some(r.route_idx),
            _ => {
                let mut keys: Vec<(&usize, &String)> = self.route_keys.iter().collect();
                keys.sort();
                keys.into_iter()
                    .find(|(i, k)| fits(**i, k))
                    .map(|(i, _)| *i)
            }
        };
        let Some(idx) = idx else { return false };
        let id = (idx, r.group_labels.clone());
        if self.log.get(&id).is_some_and(|e| e.at > r.at) {
            return false;
        }
        self.log.insert(
            id,
            LogEntry {
                firing: r.firing.clone(),
                resolved: r.resolved.clone(),
                at: r.at,
            },
        );
        true
    }
}

/// What was last notified for a group, as a durable notification log
/// stores it (see [`Dispatcher::restore_sent`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SentRecord {
    pub receiver: String,
    pub group_key: String,
    pub route_idx: usize,
    pub group_labels: Labels,
    pub firing: Vec<Labels>,
    pub resolved: Vec<Labels>,
    pub at: Timestamp,
}

/// `{a="1", b="2"}` as Go's `model.LabelSet.String()` prints it.
fn labels_string(l: &Labels) -> String {
    let parts: Vec<String> = l
        .iter()
        .map(|x| format!("{}={:?}", x.name, x.value))
        .collect();
    format!("{{{}}}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::super::config::parse_str;
    use super::super::silence::{Silence, Silences};
    use super::*;
    use std::sync::RwLock;

    const S: i64 = 1000;
    const M: i64 = 60 * S;
    const H: i64 = 60 * M;

    fn dispatcher(extra: &str) -> Dispatcher {
        let src = format!(
            "route:\n  receiver: team\n  group_by: [alertname]\n  group_wait: 30s\n  group_interval: 5m\n  repeat_interval: 1h\n{extra}\nreceivers:\n  - name: team\n    webhook_configs: [{{url: 'http://127.0.0.1:1/'}}]\n  - name: quiet\n"
        );
        Dispatcher::new(Arc::new(parse_str(&src, "t").unwrap()))
    }

    fn alert(name: &str, instance: &str, at: Timestamp) -> Alert {
        Alert::firing(
            Labels::from_pairs([("alertname", name), ("instance", instance)]),
            at,
        )
    }

    fn names(n: &Notification) -> (Vec<String>, Vec<String>) {
        let f = |v: &[Alert]| {
            v.iter()
                .map(|a| a.labels.get_or_empty("instance").to_string())
                .collect()
        };
        (f(&n.firing), f(&n.resolved))
    }

    /// Ticks every second from `from` to `to` (inclusive), collecting output.
    fn run(d: &mut Dispatcher, from: Timestamp, to: Timestamp) -> Vec<Notification> {
        let mut out = Vec::new();
        let mut t = from;
        while t <= to {
            out.extend(d.tick(t));
            t += S;
        }
        out
    }

    #[test]
    fn first_notification_after_group_wait_batches_alerts() {
        let mut d = dispatcher("");
        assert!(d.push(alert("A", "1", 0), 0).is_empty());
        assert!(d.push(alert("A", "2", 10 * S), 10 * S).is_empty());
        assert_eq!(d.next_due(), Some(30 * S));
        assert!(run(&mut d, 11 * S, 29 * S).is_empty());
        let n = d.tick(30 * S);
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].reason, NotifyReason::FirstNotification);
        assert_eq!(names(&n[0]).0, ["1", "2"]);
        assert_eq!(n[0].group_key, "{}:{alertname=\"A\"}");
        assert_eq!(n[0].receiver, "team");
    }

    #[test]
    fn changes_wait_for_group_interval_and_repeat_after_repeat_interval() {
        let mut d = dispatcher("");
        d.push(alert("A", "1", 0), 0);
        assert_eq!(d.tick(30 * S).len(), 1);
        // A new alert 1m later is held until the next group_interval tick.
        assert!(d.push(alert("A", "2", M), M).is_empty());
        assert!(run(&mut d, M, 5 * M + 29 * S).is_empty());
        let n = d.tick(5 * M + 30 * S);
        assert_eq!((n.len(), n[0].reason), (1, NotifyReason::NewAlertsInGroup));
        assert_eq!(names(&n[0]).0, ["1", "2"]);
        // Unchanged: nothing until repeat_interval has passed, checked at
        // group_interval ticks; "passed" is strict, so 1h exactly is not enough.
        let n = run(&mut d, 5 * M + 31 * S, 2 * H);
        assert_eq!(n.len(), 1, "{n:?}");
        assert_eq!(
            (n[0].at, n[0].reason),
            (H + 10 * M + 30 * S, NotifyReason::RepeatIntervalElapsed)
        );
    }

    #[test]
    fn resolved_alerts_are_notified() {
        let mut d = dispatcher("");
        d.push(alert("A", "1", 0), 0);
        d.push(alert("A", "2", 0), 0);
        assert_eq!(d.tick(30 * S).len(), 1);
        let mut r = alert("A", "1", 0);
        r.ends_at = Some(2 * M);
        d.push(r, 2 * M);
        let n = d.tick(5 * M + 30 * S);
        assert_eq!(n.len(), 1);
        assert_eq!(
            n[0].reason,
            NotifyReason::NewResolvedAlerts,
            "webhooks send resolved"
        );
        assert_eq!(names(&n[0]), (vec!["2".to_string()], vec!["1".to_string()]));
        // The resolved alert left the group; resolving the last one ends it.
        let mut r = alert("A", "2", 0);
        r.ends_at = Some(6 * M);
        d.push(r, 6 * M);
        let n = d.tick(10 * M + 30 * S);
        assert_eq!((n.len(), n[0].reason), (1, NotifyReason::AllAlertsResolved));
        assert_eq!(names(&n[0]), (vec![], vec!["2".to_string()]));
        assert_eq!(d.group_count(), 0);
        assert!(d.tick(20 * M).is_empty());
    }

    #[test]
    fn resolved_only_reported_at_repeat_when_receiver_does_not_send_resolved() {
        let mut d = dispatcher("  routes:\n    - matchers: [alertname=Q]\n      receiver: quiet\n");
        d.push(alert("Q", "1", 0), 0);
        d.push(alert("Q", "2", 0), 0);
        assert_eq!(d.tick(30 * S).len(), 1);
        let mut r = alert("Q", "1", 0);
        r.ends_at = Some(M);
        d.push(r, M);
        assert!(d.tick(5 * M + 30 * S).is_empty());
    }

    #[test]
    fn old_alert_flushes_at_once_and_groups_split_by_labels() {
        let mut d = dispatcher("");
        let n = d.push(alert("A", "1", 0), 10 * M);
        assert_eq!(n.len(), 1, "alert older than group_wait");
        d.push(alert("B", "1", 10 * M), 10 * M);
        assert_eq!(d.group_count(), 2);
        let n = d.tick(10 * M + 30 * S);
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].group_labels, Labels::from_pairs([("alertname", "B")]));
    }

    #[test]
    fn inhibited_alert_not_notified_until_source_resolves() {
        let mut d = dispatcher(
            "inhibit_rules:\n  - source_matchers: [severity=critical]\n    target_matchers: [severity=warning]\n    equal: [service]",
        );
        let crit = Alert::firing(
            Labels::from_pairs([
                ("alertname", "Crit"),
                ("severity", "critical"),
                ("service", "api"),
            ]),
            0,
        );
        let warn = Alert::firing(
            Labels::from_pairs([
                ("alertname", "Warn"),
                ("severity", "warning"),
                ("service", "api"),
            ]),
            0,
        );
        d.push(crit.clone(), 0);
        d.push(warn.clone(), 0);
        let n = d.tick(30 * S);
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].group_labels.get("alertname"), Some("Crit"));
        let st = d.alerts(30 * S);
        let w = st.iter().find(|s| s.alert.labels == warn.labels).unwrap();
        assert!(
            matches!(w.muted[..], [MuteReason::Inhibited { .. }]),
            "{w:?}"
        );
        // The source resolves; at the next flush of the warning's group it goes out.
        let mut c = crit.clone();
        c.ends_at = Some(M);
        d.push(c, M);
        let n = d.tick(5 * M + 30 * S);
        let warn_n: Vec<_> = n
            .iter()
            .filter(|n| n.group_labels.get("alertname") == Some("Warn"))
            .collect();
        assert_eq!(warn_n.len(), 1, "{n:?}");
        assert_eq!(warn_n[0].reason, NotifyReason::FirstNotification);
    }

    #[test]
    fn silenced_alerts_not_notified_and_shown() {
        let silences = Arc::new(RwLock::new(Silences::in_memory()));
        let id = silences
            .write()
            .unwrap()
            .add(
                Silence {
                    id: String::new(),
                    matchers: super::super::matchers::parse_matchers("instance=1").unwrap(),
                    starts_at: 0,
                    ends_at: 10 * M,
                    updated_at: 0,
                    created_by: "me".into(),
                    comment: "maintenance".into(),
                },
                0,
            )
            .unwrap();
        let mut d = dispatcher("").with_silences(silences.clone());
        d.push(alert("A", "1", 0), 0);
        assert!(d.tick(30 * S).is_empty());
        assert_eq!(
            d.alerts(30 * S)[0].muted,
            vec![MuteReason::Silenced {
                ids: vec![id.clone()]
            }]
        );
        d.push(alert("A", "2", M), M);
        let n = d.tick(5 * M + 30 * S);
        assert_eq!(names(&n[0]).0, ["2"], "silenced alert left out");
        // The silence ends; the next flush has a new firing alert.
        let n = d.tick(10 * M + 30 * S);
        assert_eq!(
            (n.len(), names(&n[0]).0),
            (1, vec!["1".to_string(), "2".to_string()])
        );
    }

    #[test]
    fn mute_and_active_time_intervals() {
        let extra = "  routes:\n    - matchers: [alertname=Night]\n      active_time_intervals: [night]\n    - matchers: [alertname=Day]\n      mute_time_intervals: [night]\ntime_intervals:\n  - name: night\n    time_intervals: [{times: [{start_time: '00:00', end_time: '06:00'}]}]";
        let mut d = dispatcher(extra);
        // 1970-01-01 00:00 UTC is inside "night".
        d.push(alert("Night", "1", 0), 0);
        d.push(alert("Day", "1", 0), 0);
        let n = d.tick(30 * S);
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].group_labels.get("alertname"), Some("Night"));
        let st = d.alerts(30 * S);
        assert!(
            matches!(st[0].muted[..], [MuteReason::MuteTimeInterval { .. }]),
            "{st:?}"
        );
        // At 06:00:30 the day route is no longer muted, the night one is.
        let six = 6 * H + 30 * S;
        let mut d = dispatcher(extra);
        d.push(alert("Night", "1", six - 30 * S), six - 30 * S);
        d.push(alert("Day", "1", six - 30 * S), six - 30 * S);
        let n = d.tick(six);
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].group_labels.get("alertname"), Some("Day"));
    }

    #[test]
    fn group_by_all_and_continue_make_separate_groups() {
        let mut d = dispatcher("  routes:\n    - matchers: [alertname=A]\n      group_by: ['...']\n      continue: true\n    - matchers: [alertname=A]\n      receiver: quiet\n");
        d.push(alert("A", "1", 0), 0);
        d.push(alert("A", "2", 0), 0);
        let n = d.tick(30 * S);
        // Two groups on the '...' route, one on the second route.
        assert_eq!(n.len(), 3, "{n:?}");
        assert_eq!(n.iter().filter(|n| n.receiver == "quiet").count(), 1);
    }

    #[test]
    fn resolved_alert_forgotten_only_when_no_group_holds_it() {
        // Two routes hold A/1; the second's group is first due at 10m.
        let mut d = dispatcher("  routes:\n    - matchers: [alertname=A]\n      continue: true\n    - matchers: [alertname=A]\n      receiver: quiet\n      group_wait: 10m\n");
        d.push(alert("A", "1", 0), 0);
        assert_eq!(d.tick(30 * S).len(), 1);
        let mut r = alert("A", "1", 0);
        r.ends_at = Some(M);
        d.push(r, M);
        // The first route's group sends it resolved and drops it; the
        // second still holds it, so it is still known.
        let n = d.tick(5 * M + 30 * S);
        assert_eq!((n.len(), n[0].reason), (1, NotifyReason::AllAlertsResolved));
        assert_eq!(d.alerts(5 * M + 30 * S).len(), 1);
        assert_eq!(d.group_count(), 1);
        // The second group never notified it firing, so it sends nothing
        // (as upstream), drops it, and the alert is forgotten.
        assert!(d.tick(10 * M).is_empty());
        assert!(d.alerts(10 * M).is_empty());
        assert_eq!((d.group_count(), d.next_due()), (0, None));
    }

    #[test]
    fn groups_flush_at_their_own_times_in_group_order() {
        let mut d = dispatcher("");
        // Created in reverse label order, due 1 s apart.
        for (i, name) in ["C", "B", "A"].iter().enumerate() {
            let t = i as i64 * S;
            d.push(alert(name, "1", t), t);
        }
        assert_eq!(d.next_due(), Some(30 * S));
        let n = d.tick(31 * S);
        let got: Vec<_> = n
            .iter()
            .map(|n| n.group_labels.get_or_empty("alertname"))
            .collect();
        assert_eq!(got, ["B", "C"], "due ones only, ordered by group");
        assert_eq!(d.next_due(), Some(32 * S));
        assert_eq!(d.tick(32 * S).len(), 1);
        // Next flushes are a group_interval after each group's own flush.
        assert_eq!(d.next_due(), Some(31 * S + 5 * M));
    }
}
