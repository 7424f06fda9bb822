//! Criterion benches for the embedded PromQL engine's hot paths: selector
//! lookup over 100k series, rate over 10k series, histogram_quantile, vector
//! matching and aggregation. Run with `cargo bench --bench engine`; the
//! figures are recorded in bench/README.md.

use alertgate::model::{Labels, MemStore};
use alertgate::promql::{parse, Engine, EngineOptions};
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const MINUTE: i64 = 60_000;
/// Evaluation time: the last of 10 samples a minute apart.
const AT: i64 = 1_741_078_800_000;
const SAMPLES: i64 = 10;
const CODES: [&str; 5] = ["200", "201", "404", "500", "503"];
const LE: [&str; 12] = [
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0", "+Inf",
];

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied())
}

/// `instances` targets in 10 jobs, each with `http_requests_total` by code
/// (5 series), a 12-bucket latency histogram, `up` and two gauges that vector
/// matching pairs up: 20 series per instance, SAMPLES samples each.
fn fleet(instances: usize) -> MemStore {
    let mut s = MemStore::new();
    for i in 0..instances {
        let job = format!("job{}", i % 10);
        let inst = format!("10.0.{}.{}:9100", i / 256, i % 256);
        let base = [("job", job.as_str()), ("instance", inst.as_str())];
        let mut add = |name: &str, extra: &[(&str, &str)], start: f64, step: f64| {
            let mut pairs = vec![("__name__", name)];
            pairs.extend_from_slice(&base);
            pairs.extend_from_slice(extra);
            let l = labels(&pairs);
            for k in 0..SAMPLES {
                let t = AT - (SAMPLES - 1 - k) * MINUTE;
                s.append(&l, t, start + step * k as f64).unwrap();
            }
        };
        add("up", &[], 1.0, 0.0);
        for (c, per_min) in CODES.iter().zip([600.0, 60.0, 12.0, 1.0, 1.0]) {
            add(
                "http_requests_total",
                &[("code", c)],
                1000.0 + i as f64,
                per_min,
            );
        }
        let mut cum = 0.0f64;
        for (le, share) in LE.iter().zip([
            0.05, 0.15, 0.3, 0.2, 0.15, 0.08, 0.04, 0.02, 0.01, 0.0, 0.0, 0.0,
        ]) {
            cum += share * 300.0;
            add(
                "http_request_duration_seconds_bucket",
                &[("le", le)],
                0.0,
                cum.round(),
            );
        }
        add("node_filesystem_avail_bytes", &[], 60e9 - i as f64, 0.0);
        add("node_filesystem_size_bytes", &[], 100e9, 0.0);
    }
    s
}

fn engine() -> Engine {
    Engine::new(EngineOptions::default())
}

/// Benches one query per (name, expr) over `store`, checking it is non-empty
/// first so that a bench never measures an error path.
fn bench_queries(c: &mut Criterion, group: &str, store: &MemStore, queries: &[(&str, &str)]) {
    let eng = engine();
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(store.len() as u64));
    g.sample_size(20);
    for (name, q) in queries {
        let expr = parse(q).unwrap_or_else(|e| panic!("{q}: {e}"));
        let out = eng
            .instant(store, &expr, AT)
            .unwrap_or_else(|e| panic!("{q}: {e}"));
        assert!(
            format!("{:?}", out.value).len() > 20,
            "{q} returned nothing"
        );
        g.bench_with_input(BenchmarkId::from_parameter(name), &expr, |b, expr| {
            b.iter(|| eng.instant(store, black_box(expr), AT).unwrap())
        });
    }
    g.finish();
}

fn selectors(c: &mut Criterion) {
    // 5_000 instances x 20 = 100k series.
    let store = fleet(5_000);
    assert_eq!(store.len(), 100_000);
    bench_queries(
        c,
        "selector_100k",
        &store,
        &[
            ("one_series", r#"up{job="job1",instance="10.0.3.3:9100"}"#),
            (
                "name_and_label_500",
                r#"http_requests_total{job="job3",code="500"}"#,
            ),
            ("regex_5xx_50k", r#"http_requests_total{code=~"5.."}"#),
            ("name_only_25k", "http_requests_total"),
        ],
    );
}

fn rate(c: &mut Criterion) {
    // 2_000 instances x 5 codes = 10k counter series.
    let store = fleet(2_000);
    bench_queries(
        c,
        "rate_10k",
        &store,
        &[
            ("rate_5m", "rate(http_requests_total[5m])"),
            ("increase_5m", "increase(http_requests_total[5m])"),
            (
                "sum_by_job_rate",
                "sum by (job) (rate(http_requests_total[5m]))",
            ),
        ],
    );
}

fn histogram(c: &mut Criterion) {
    // 1_000 instances x 12 buckets = 12k bucket series.
    let store = fleet(1_000);
    bench_queries(
        c,
        "histogram_quantile_12k_buckets",
        &store,
        &[
            ("per_instance", "histogram_quantile(0.99, rate(http_request_duration_seconds_bucket[5m]))"),
            ("sum_by_job_le", "histogram_quantile(0.99, sum by (job, le) (rate(http_request_duration_seconds_bucket[5m])))"),
        ],
    );
}

fn matching(c: &mut Criterion) {
    // 10k series on each side.
    let store = fleet(10_000);
    bench_queries(
        c,
        "vector_matching_10k",
        &store,
        &[
            (
                "one_to_one",
                "node_filesystem_avail_bytes / node_filesystem_size_bytes",
            ),
            (
                "on_labels",
                "node_filesystem_avail_bytes / on (job, instance) node_filesystem_size_bytes",
            ),
            (
                "group_left_50k",
                "http_requests_total / ignoring (code) group_left node_filesystem_size_bytes",
            ),
            (
                "and_filter",
                "up and on (job, instance) node_filesystem_avail_bytes < 61e9",
            ),
        ],
    );
}

fn aggregation(c: &mut Criterion) {
    let store = fleet(5_000);
    bench_queries(
        c,
        "aggregation_100k",
        &store,
        &[
            ("sum_all_series", r#"sum({__name__=~".+"})"#),
            ("sum_by_job_25k", "sum by (job) (http_requests_total)"),
            (
                "sum_by_job_instance_25k",
                "sum by (job, instance) (http_requests_total)",
            ),
            (
                "count_without_code_25k",
                "count without (code) (http_requests_total)",
            ),
            ("topk_25k", "topk(10, http_requests_total)"),
            (
                "quantile_by_job_25k",
                "quantile by (job) (0.9, http_requests_total)",
            ),
        ],
    );
}

criterion_group!(benches, selectors, rate, histogram, matching, aggregation);
criterion_main!(benches);
