//! End-to-end engine tests on small hand-made stores. Expected values follow
//! the Prometheus 3.5 semantics described in the conformance README (1.9);
//! several cases mirror statements of the upstream test scripts.

use super::{parse, Engine, EvalError, QueryValue};
use crate::model::{Labels, MemStore, STALE_NAN};

const M: i64 = 60_000;

fn labels(s: &str) -> Labels {
    // `name{a="b",c="d"}` with plain values, enough for these tests.
    let (name, rest) = match s.find('{') {
        Some(i) => (&s[..i], &s[i + 1..s.len() - 1]),
        None => (s, ""),
    };
    let mut l = Labels::new();
    if !name.is_empty() {
        l.set("__name__", name);
    }
    for part in rest.split(',').filter(|p| !p.trim().is_empty()) {
        let (k, v) = part.split_once('=').unwrap();
        l.set(k.trim(), v.trim().trim_matches('"'));
    }
    l
}

/// Loads `series` with one value per `interval`; `None` leaves a gap.
fn load(store: &mut MemStore, interval: i64, series: &str, values: &[Option<f64>]) {
    let l = labels(series);
    for (i, v) in values.iter().enumerate() {
        if let Some(v) = v {
            store.append(&l, i as i64 * interval, *v).unwrap();
        }
    }
}

fn ramp(start: f64, step: f64, n: usize) -> Vec<Option<f64>> {
    (0..n).map(|i| Some(start + step * i as f64)).collect()
}

fn instant(store: &MemStore, q: &str, t: i64) -> Result<QueryValue, EvalError> {
    let e = parse(q).unwrap();
    Engine::default().instant(store, &e, t).map(|o| o.value)
}

/// Instant vector result as sorted `(labels, value)` strings.
fn vector(store: &MemStore, q: &str, t: i64) -> Vec<(String, f64)> {
    match instant(store, q, t).unwrap() {
        QueryValue::Vector(v) => {
            let mut out: Vec<(String, f64)> =
                v.into_iter().map(|(l, v)| (l.to_string(), v)).collect();
            out.sort_by(|a, b| a.0.cmp(&b.0));
            out
        }
        other => panic!("expected vector, got {other:?}"),
    }
}

fn http_store() -> MemStore {
    // From selectors.test / operators.test: 5m interval, 0+10x10 and friends.
    let mut s = MemStore::new();
    load(
        &mut s,
        5 * M,
        r#"http_requests{job="api-server",instance="0",group="production"}"#,
        &ramp(0.0, 10.0, 11),
    );
    load(
        &mut s,
        5 * M,
        r#"http_requests{job="api-server",instance="1",group="production"}"#,
        &ramp(0.0, 20.0, 11),
    );
    load(
        &mut s,
        5 * M,
        r#"http_requests{job="api-server",instance="0",group="canary"}"#,
        &ramp(0.0, 30.0, 11),
    );
    load(
        &mut s,
        5 * M,
        r#"http_requests{job="api-server",instance="1",group="canary"}"#,
        &ramp(0.0, 40.0, 11),
    );
    load(
        &mut s,
        5 * M,
        r#"http_requests{job="app-server",instance="0",group="production"}"#,
        &ramp(0.0, 50.0, 11),
    );
    load(
        &mut s,
        5 * M,
        r#"http_requests{job="app-server",instance="1",group="production"}"#,
        &ramp(0.0, 60.0, 11),
    );
    load(
        &mut s,
        5 * M,
        r#"http_requests{job="app-server",instance="0",group="canary"}"#,
        &ramp(0.0, 70.0, 11),
    );
    load(
        &mut s,
        5 * M,
        r#"http_requests{job="app-server",instance="1",group="canary"}"#,
        &ramp(0.0, 80.0, 11),
    );
    s
}

#[test]
fn selector_with_matchers_offset_and_lookback() {
    let s = http_store();
    let got = vector(
        &s,
        r#"http_requests{job="api-server", group!="canary", instance=~"0|1"}"#,
        50 * M,
    );
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].1, 100.0);
    assert_eq!(got[1].1, 200.0);
    // 5m lookback is left-open: at 55m (last sample at 50m) visible; at 55m offset -5m too.
    assert_eq!(
        vector(
            &s,
            r#"http_requests{job="api-server",instance="0",group="production"} offset 5m"#,
            50 * M
        )[0]
        .1,
        90.0
    );
    assert_eq!(
        vector(
            &s,
            r#"http_requests{job="api-server",instance="0",group="production"} offset -5m"#,
            45 * M
        )[0]
        .1,
        100.0
    );
    assert!(vector(
        &s,
        r#"http_requests{job="api-server",instance="0",group="production"}"#,
        55 * M
    )
    .is_empty());
    assert_eq!(
        vector(&s, r#"http_requests{instance!~"0|1"}"#, 50 * M).len(),
        0
    );
}

#[test]
fn at_modifier_and_start_end() {
    let s = http_store();
    let q = r#"http_requests{job="api-server",instance="0",group="production"} @ 600"#;
    assert_eq!(vector(&s, q, 0)[0].1, 20.0);
    let e = parse(r#"http_requests{job="api-server",instance="0",group="production"} @ end()"#)
        .unwrap();
    let out = Engine::default().range(&s, &e, 0, 10 * M, 5 * M).unwrap();
    match out.value {
        QueryValue::Matrix(m) => {
            assert_eq!(m.len(), 1);
            let vals: Vec<f64> = m[0].points.iter().map(|p| p.v).collect();
            assert_eq!(vals, vec![20.0, 20.0, 20.0]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn staleness_marker_hides_series() {
    let mut s = MemStore::new();
    load(
        &mut s,
        M,
        "metric",
        &[Some(0.0), Some(1.0), Some(STALE_NAN), Some(2.0)],
    );
    assert_eq!(vector(&s, "metric", M)[0].1, 1.0);
    assert!(vector(&s, "metric", 2 * M).is_empty());
    assert!(vector(&s, "metric", 2 * M + 30_000).is_empty());
    assert_eq!(vector(&s, "metric", 3 * M)[0].1, 2.0);
}

#[test]
fn matrix_selector_instant_query() {
    let mut s = MemStore::new();
    load(
        &mut s,
        M,
        "metric",
        &[Some(1.0), Some(2.0), Some(STALE_NAN), Some(4.0)],
    );
    match instant(&s, "metric[3m]", 3 * M).unwrap() {
        QueryValue::Matrix(m) => {
            let pts: Vec<(i64, f64)> = m[0].points.iter().map(|p| (p.t, p.v)).collect();
            // (0, 3m]: the sample at 0 is excluded, the stale marker dropped.
            assert_eq!(pts, vec![(M, 2.0), (3 * M, 4.0)]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn subquery_steps_are_aligned_to_the_epoch() {
    let mut s = MemStore::new();
    load(&mut s, M, "metric", &ramp(1.0, 1.0, 20));
    match instant(&s, "metric[5m:2m]", 10 * M + 30_000).unwrap() {
        QueryValue::Matrix(m) => {
            let ts: Vec<i64> = m[0].points.iter().map(|p| p.t).collect();
            assert_eq!(ts, vec![6 * M, 8 * M, 10 * M]);
            // Inner evaluations keep the name (a plain selector).
            assert_eq!(m[0].labels.get("__name__"), Some("metric"));
        }
        other => panic!("{other:?}"),
    }
    // Default step is 1m; offset shifts the window.
    match instant(&s, "metric[3m:] offset 2m", 10 * M).unwrap() {
        QueryValue::Matrix(m) => {
            let pts: Vec<(i64, f64)> = m[0].points.iter().map(|p| (p.t, p.v)).collect();
            assert_eq!(pts, vec![(6 * M, 7.0), (7 * M, 8.0), (8 * M, 9.0)]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn scalar_and_literals() {
    let s = MemStore::new();
    assert_eq!(
        instant(&s, "1 + 2 * 3", 0).unwrap(),
        QueryValue::Scalar { t: 0, v: 7.0 }
    );
    assert_eq!(
        instant(&s, "-(2 ^ 2)", 5).unwrap(),
        QueryValue::Scalar { t: 5, v: -4.0 }
    );
    assert_eq!(
        instant(&s, "2 > bool 1", 0).unwrap(),
        QueryValue::Scalar { t: 0, v: 1.0 }
    );
    assert_eq!(
        instant(&s, r#""abc""#, 0).unwrap(),
        QueryValue::String {
            t: 0,
            s: "abc".into()
        }
    );
}

#[test]
fn name_is_dropped_at_the_end() {
    let mut s = MemStore::new();
    load(
        &mut s,
        5 * M,
        r#"metric_total{env="1"}"#,
        &[Some(0.0), Some(60.0), Some(120.0)],
    );
    load(
        &mut s,
        5 * M,
        r#"another_metric_total{env="1"}"#,
        &[Some(60.0), Some(120.0), Some(180.0)],
    );
    assert_eq!(
        vector(&s, "-metric_total", 10 * M),
        vec![(r#"{env="1"}"#.into(), -120.0)]
    );
    assert_eq!(
        vector(&s, "metric_total + another_metric_total", 10 * M),
        vec![(r#"{env="1"}"#.into(), 300.0)]
    );
    assert_eq!(
        vector(&s, "metric_total <= another_metric_total", 10 * M),
        vec![(r#"metric_total{env="1"}"#.into(), 120.0)]
    );
    assert_eq!(
        vector(&s, "metric_total <= bool another_metric_total", 10 * M),
        vec![(r#"{env="1"}"#.into(), 1.0)]
    );
    assert_eq!(
        vector(
            &s,
            r#"sum by (__name__, env) (metric_total{env="1"})"#,
            10 * M
        ),
        vec![(r#"metric_total{env="1"}"#.into(), 120.0)]
    );
    // Dropping the name of two series with equal other labels collides.
    let err = instant(&s, r#"-{env="1"}"#, 10 * M).unwrap_err();
    assert_eq!(
        err.to_string(),
        "vector cannot contain metrics with the same labelset"
    );
    let err = instant(&s, r#"sum by (__name__) (-{env="1"})"#, 10 * M).unwrap_err();
    assert_eq!(
        err.to_string(),
        "vector cannot contain metrics with the same labelset"
    );
}

#[test]
fn aggregations_over_store() {
    let s = http_store();
    let got = vector(&s, "sum by (job) (http_requests)", 50 * M);
    assert_eq!(
        got,
        vec![
            (r#"{job="api-server"}"#.into(), 1000.0),
            (r#"{job="app-server"}"#.into(), 2600.0)
        ]
    );
    let got = vector(&s, "count without (instance) (http_requests)", 50 * M);
    assert_eq!(got.len(), 4);
    assert!(got.iter().all(|(_, v)| *v == 2.0));
    let got = vector(&s, r#"topk(1, http_requests{job="api-server"})"#, 50 * M);
    assert_eq!(
        got,
        vec![(
            r#"http_requests{group="canary", instance="1", job="api-server"}"#.into(),
            400.0
        )]
    );
}

#[test]
fn topk_keeps_order_in_instant_queries() {
    let s = http_store();
    let e = parse("topk(3, http_requests)").unwrap();
    match Engine::default().instant(&s, &e, 50 * M).unwrap().value {
        QueryValue::Vector(v) => {
            let vals: Vec<f64> = v.iter().map(|(_, v)| *v).collect();
            assert_eq!(vals, vec![800.0, 700.0, 600.0]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn vector_matching_errors() {
    let s = http_store();
    let err = instant(&s, "http_requests + on(job) http_requests", 50 * M).unwrap_err();
    assert!(err.to_string().starts_with("found duplicate series for the match group {job=\"api-server\"} on the right hand-side of the operation"), "{err}");
    let err = instant(
        &s,
        r#"http_requests + on(job) group_left sum by (job) (http_requests)"#,
        50 * M,
    );
    assert!(err.is_ok());
    let got = vector(
        &s,
        r#"http_requests{instance="0"} / on(job, group) group_left http_requests{instance="1"}"#,
        50 * M,
    );
    assert_eq!(got.len(), 4);
    assert_eq!(
        got[0].0,
        r#"{group="canary", instance="0", job="api-server"}"#
    );
    assert_eq!(got[0].1, 300.0 / 400.0);
}

#[test]
fn range_query_is_sorted_and_checks_duplicates() {
    let s = http_store();
    let e = parse(r#"http_requests{group="canary"} * 2"#).unwrap();
    let out = Engine::default().range(&s, &e, 0, 10 * M, 5 * M).unwrap();
    match out.value {
        QueryValue::Matrix(m) => {
            assert_eq!(m.len(), 4);
            assert!(m.windows(2).all(|w| w[0].labels < w[1].labels));
            assert!(m.iter().all(|s| s.labels.get("__name__").is_none()));
            assert_eq!(
                m[0].points.iter().map(|p| p.v).collect::<Vec<_>>(),
                vec![0.0, 60.0, 120.0]
            );
        }
        other => panic!("{other:?}"),
    }
    let e = parse(r#"-{job="api-server", instance="0"}"#).unwrap();
    let mut s2 = MemStore::new();
    load(
        &mut s2,
        M,
        r#"a{job="api-server",instance="0"}"#,
        &[Some(1.0), None, None, None, None, None, None],
    );
    load(
        &mut s2,
        M,
        r#"b{job="api-server",instance="0"}"#,
        &[None, None, None, None, None, None, Some(1.0)],
    );
    // Points never overlap, yet Prometheus 3.5 still rejects the result.
    let err = Engine::default().range(&s2, &e, 0, 10 * M, M).unwrap_err();
    assert_eq!(
        err.to_string(),
        "vector cannot contain metrics with the same labelset"
    );
    // A scalar range query gives one series without labels.
    let e = parse("1 + 1").unwrap();
    match Engine::default().range(&s, &e, 0, 2 * M, M).unwrap().value {
        QueryValue::Matrix(m) => {
            assert_eq!(m.len(), 1);
            assert!(m[0].labels.is_empty());
            assert_eq!(m[0].points.len(), 3);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn experimental_aggregations_can_be_disabled() {
    let s = http_store();
    let e = parse("limitk(1, http_requests)").unwrap();
    let mut eng = Engine::default();
    assert!(eng.instant(&s, &e, 50 * M).is_ok());
    eng.opts.experimental_functions = false;
    assert!(eng.instant(&s, &e, 50 * M).is_err());
}

#[test]
fn sample_limit_counts_range_function_inputs_per_series() {
    // 100 series x 6 points: 600 samples in all, but a range function holds
    // one series at a time, like Prometheus.
    let mut store = MemStore::new();
    for i in 0..100 {
        load(
            &mut store,
            M,
            &format!("c_total{{i=\"{i}\"}}"),
            &ramp(0.0, 1.0, 6),
        );
    }
    let e = Engine::new(super::EngineOptions {
        max_samples: 200,
        ..Default::default()
    });
    let ok = e
        .instant(&store, &parse("rate(c_total[5m])").unwrap(), 5 * M)
        .unwrap();
    match ok.value {
        QueryValue::Vector(v) => assert_eq!(v.len(), 100),
        other => panic!("want a vector, got {other:?}"),
    }
    let err = e
        .instant(&store, &parse("c_total[5m]").unwrap(), 5 * M)
        .unwrap_err();
    assert_eq!(err, EvalError::TooManySamples);
}

/// Aggregation group keys are memoised per store series across queries;
/// a second query, and inputs mixing store label sets with computed
/// ones, must group exactly as a fresh computation does.
#[test]
fn aggregation_groups_stable_across_queries_and_mixed_inputs() {
    let mut s = MemStore::new();
    load(&mut s, M, r#"x{job="a",i="1"}"#, &ramp(1.0, 0.0, 3));
    load(&mut s, M, r#"x{job="a",i="2"}"#, &ramp(2.0, 0.0, 3));
    load(&mut s, M, r#"x{job="b",i="3"}"#, &ramp(4.0, 0.0, 3));
    load(&mut s, M, r#"y{job="c",i="4"}"#, &ramp(8.0, 0.0, 3));
    let q = r#"sum by (job) (x or label_replace(y, "job", "a", "", ""))"#;
    let want = vec![
        (r#"{job="a"}"#.to_string(), 11.0),
        (r#"{job="b"}"#.to_string(), 4.0),
    ];
    assert_eq!(vector(&s, q, 2 * M), want);
    assert_eq!(vector(&s, q, 2 * M), want);
    assert_eq!(
        vector(&s, "count without (i) (x)", 2 * M),
        vec![
            (r#"{job="a"}"#.to_string(), 2.0),
            (r#"{job="b"}"#.to_string(), 1.0)
        ]
    );
    // A series added later gets its key too.
    load(&mut s, M, r#"x{job="b",i="5"}"#, &ramp(16.0, 0.0, 3));
    assert_eq!(
        vector(&s, "sum by (job) (x)", 2 * M),
        vec![
            (r#"{job="a"}"#.to_string(), 3.0),
            (r#"{job="b"}"#.to_string(), 20.0)
        ]
    );
}
