//! Criterion benches for snapshot ingestion, the first half of
//! `alertgate check`: parsing OpenMetrics text and loading it into the
//! MemStore. Run with `cargo bench --bench snapshot`.

use alertgate::model::{Labels, MemStore};
use alertgate::snapshot::parse_file;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use std::fmt::Write;
use std::path::Path;

const AT: i64 = 1_741_078_800_000;

/// `series` counter series with realistic labels, `samples` timestamped
/// samples each (one a minute), as one OpenMetrics document.
fn openmetrics(series: usize, samples: usize) -> String {
    let mut s = String::from("# TYPE http_requests counter\n");
    for i in 0..series {
        let labels = format!(
            "http_requests_total{{code=\"{}\",handler=\"/api/v1/items\",instance=\"10.0.{}.{}:9100\",job=\"job{}\",method=\"GET\"}}",
            [200, 201, 404, 500, 503][i % 5],
            i / 1280,
            (i / 5) % 256,
            i % 10
        );
        for k in 0..samples {
            let t = AT / 1000 - ((samples - 1 - k) * 60) as i64;
            writeln!(s, "{labels} {} {t}", 1000 + i * 7 + k * 600).unwrap();
        }
    }
    s.push_str("# EOF\n");
    s
}

fn parse(c: &mut Criterion) {
    let doc = openmetrics(20_000, 5);
    let lines = 20_000 * 5;
    let path = Path::new("bench.om");
    let none = Labels::new();
    let mut g = c.benchmark_group("snapshot_openmetrics_100k_lines");
    g.throughput(Throughput::Elements(lines as u64));
    g.sample_size(10);
    g.bench_function("parse_file", |b| {
        b.iter(|| parse_file(path, black_box(&doc), AT, &none).unwrap())
    });
    let parsed = parse_file(path, &doc, AT, &none).unwrap();
    assert_eq!(parsed.len(), lines);
    g.bench_function("insert_into_store", |b| {
        b.iter(|| {
            let mut store = MemStore::new();
            for (l, t, v) in &parsed {
                store.insert(l, *t, *v);
            }
            store
        })
    });
    g.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
