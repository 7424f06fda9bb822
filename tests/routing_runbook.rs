//! The runbook routing (seed 002) on a manual clock: the change-freeze window
//! (Mon-Fri 08:00-18:00 Europe/Berlin) holds back production P3 alerts and
//! deploy notifications, never P1/P2; inhibition mutes lower-severity twins.

use std::sync::Arc;

use alertgate::model::Labels;
use alertgate::routing::{load_file, Alert, Dispatcher, MuteReason};

fn dispatcher() -> Dispatcher {
    let cfg =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/routing/alertgate.yml");
    Dispatcher::new(Arc::new(load_file(&cfg).unwrap()))
}

fn utc(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap()
        .timestamp_millis()
}

fn alert(pairs: &[(&str, &str)], at: i64) -> Alert {
    Alert::firing(Labels::from_pairs(pairs.iter().copied()), at)
}

const M: i64 = 60_000;

#[test]
fn freeze_holds_p3_until_18_berlin_but_pages_p1() {
    let mut d = dispatcher();
    // Monday 1 April 2024, 10:00 CEST = 08:00 UTC.
    let t0 = utc("2024-04-01T08:00:00Z");
    d.push(
        alert(
            &[
                ("alertname", "Http5xx"),
                ("env", "production"),
                ("severity", "P3"),
                ("service", "api"),
            ],
            t0,
        ),
        t0,
    );
    d.push(
        alert(
            &[
                ("alertname", "Readiness"),
                ("env", "production"),
                ("severity", "P1"),
                ("service", "api"),
            ],
            t0,
        ),
        t0,
    );
    let mut sent = Vec::new();
    let mut t = t0;
    while t <= utc("2024-04-01T16:10:00Z") {
        for n in d.tick(t) {
            sent.push((
                n.at,
                n.receiver.clone(),
                n.group_labels.get("alertname").unwrap_or("").to_string(),
            ));
        }
        t += 10_000;
    }
    // P1 pages after its 10s group_wait, in the freeze.
    assert_eq!(
        sent[0],
        (
            t0 + 10_000,
            "prod-pager".to_string(),
            "Readiness".to_string()
        )
    );
    // P3 waits for the end of the freeze (18:00 CEST = 16:00 UTC), then goes
    // out at the group's next flush (flushes every 5m from 08:00:30 UTC).
    let p3: Vec<_> = sent.iter().filter(|s| s.2 == "Http5xx").collect();
    assert_eq!(p3.len(), 1, "{sent:?}");
    assert_eq!(p3[0].0, utc("2024-04-01T16:00:30Z"));
    assert_eq!(p3[0].1, "prod-email-slack");
}

#[test]
fn freeze_follows_berlin_time_across_dst() {
    // In winter the freeze ends at 17:00 UTC, in summer at 16:00 UTC.
    for (day, end_utc) in [
        ("2024-03-29", "17:00"),
        ("2024-04-02", "16:00"),
        ("2024-10-25", "16:00"),
        ("2024-10-28", "17:00"),
    ] {
        let mut d = dispatcher();
        let t0 = utc(&format!("{day}T15:00:00Z"));
        d.push(
            alert(
                &[
                    ("alertname", "Deploy"),
                    ("env", "production"),
                    ("category", "deploy"),
                ],
                t0,
            ),
            t0,
        );
        let st = d.alerts(t0 + M);
        assert!(
            matches!(st[0].muted[..], [MuteReason::MuteTimeInterval { .. }]),
            "{day}: {st:?}"
        );
        let mut first = None;
        let mut t = t0;
        while first.is_none() && t < t0 + 4 * 60 * M {
            if let Some(n) = d.tick(t).into_iter().next() {
                first = Some(n.at);
            }
            t += 10_000;
        }
        let end = utc(&format!("{day}T{end_utc}:00Z"));
        let at = first.expect("sent after the freeze");
        assert!(
            at >= end && at < end + 5 * M,
            "{day}: sent at {at}, freeze ends {end}"
        );
    }
}

#[test]
fn weekend_and_staging_not_frozen() {
    // Saturday 6 April 2024, 10:00 CEST.
    let t0 = utc("2024-04-06T08:00:00Z");
    let mut d = dispatcher();
    d.push(
        alert(
            &[
                ("alertname", "Push"),
                ("env", "production"),
                ("severity", "P3"),
            ],
            t0,
        ),
        t0,
    );
    assert_eq!(d.tick(t0 + 30_000).len(), 1);
    // Monday in the freeze, staging P3 goes out at once.
    let t1 = utc("2024-04-08T08:00:00Z");
    let mut d = dispatcher();
    d.push(
        alert(
            &[
                ("alertname", "Push"),
                ("env", "staging"),
                ("severity", "P3"),
            ],
            t1,
        ),
        t1,
    );
    let n = d.tick(t1 + 30_000);
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].receiver, "staging-email-slack");
}

#[test]
fn p1_inhibits_p2_twin_with_equal_env_and_service() {
    let t0 = utc("2024-04-06T08:00:00Z");
    let mut d = dispatcher();
    let base = [
        ("alertname", "MongoLatency"),
        ("env", "production"),
        ("service", "api"),
    ];
    let with = |sev: &str, svc: &str| {
        let mut l: Vec<(&str, &str)> = base.to_vec();
        l[2].1 = "";
        let mut labels = Labels::from_pairs(l);
        labels.set("severity", sev);
        labels.set("service", svc);
        Alert::firing(labels, t0)
    };
    d.push(with("P1", "api"), t0);
    d.push(with("P2", "api"), t0);
    d.push(with("P2", "worker"), t0);
    let n = d.tick(t0 + 10_000);
    // One page for the P1 group (P2 api muted), one for the worker P2.
    let alerts: Vec<String> = n
        .iter()
        .flat_map(|n| n.firing.iter())
        .map(|a| format!("{}", a.labels))
        .collect();
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    assert!(alerts.iter().any(|a| a.contains("P1")));
    assert!(alerts.iter().any(|a| a.contains("worker")));
    let st = d.alerts(t0 + 10_000);
    let muted: Vec<_> = st.iter().filter(|s| !s.muted.is_empty()).collect();
    assert_eq!(muted.len(), 1);
    assert_eq!(muted[0].alert.labels.get("service"), Some("api"));
    assert_eq!(muted[0].alert.labels.get("severity"), Some("P2"));
}
