//! Development aid: runs the upstream PromQL scripts against the engine and
//! prints failures. Ignored by default; the real gate is tests/conformance.rs.
//! Run: `SCRIPT=operators cargo test --lib promql::script_driver -- --ignored --nocapture`.

use crate::model::MemStore;
use crate::promql::{parse, Engine};
use crate::promqltest::{check_eval, load_into, parse_script, Command, EvalQuery};

#[test]
#[ignore]
fn run_scripts() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/promql");
    let dir = if dir.exists() { dir } else { std::path::PathBuf::from("/work/shared/conformance/promql") };
    let only = std::env::var("SCRIPT").ok();
    let mut names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    for path in names {
        if path.extension().and_then(|e| e.to_str()) != Some("test") {
            continue;
        }
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        if only.as_ref().is_some_and(|o| !o.split(',').any(|x| x == stem)) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let script = match parse_script(&text) {
            Ok(s) => s,
            Err(e) => {
                println!("{stem}: script error {e}");
                continue;
            }
        };
        let mut store = MemStore::new();
        let mut hist = Vec::new();
        let (mut pass, mut fail, mut skip) = (0, 0, 0);
        for cmd in &script.commands {
            match cmd {
                Command::Clear(_) => {
                    store = MemStore::new();
                    hist.clear();
                }
                Command::Load(l) => {
                    if let Ok(o) = load_into(&mut store, l) {
                        hist.extend(o.histogram_series);
                    }
                }
                Command::Eval(e) => {
                    let expr = match parse(&e.expr) {
                        Ok(x) => x,
                        Err(_) => {
                            skip += 1;
                            continue;
                        }
                    };
                    let eng = Engine::default();
                    let got = match e.query {
                        EvalQuery::Instant { at } => eng.instant(&store, &expr, at),
                        EvalQuery::Range { start, end, step } => eng.range(&store, &expr, start, end, step),
                    };
                    let v = check_eval(e, &got);
                    match v.result {
                        Ok(()) => pass += 1,
                        Err(why) => {
                            if e.expects_histograms() || e.expr.contains("histogram") && !hist.is_empty() {
                                skip += 1;
                                continue;
                            }
                            fail += 1;
                            if std::env::var("QUIET").is_err() {
                                println!("  {stem}:{} {} => {}", e.line, e.expr, why);
                            }
                        }
                    }
                }
            }
        }
        println!("{stem}: {pass} passed, {fail} failed, {skip} skipped");
    }
}

/// Rough timing of rule-like instant queries over 100k series.
#[test]
#[ignore]
fn perf_100k() {
    use crate::model::Labels;
    let mut store = MemStore::new();
    for i in 0..100_000u32 {
        let l = Labels::from_pairs([
            ("__name__", if i % 2 == 0 { "http_requests_total" } else { "up" }.to_string()),
            ("job", format!("job{}", i % 50)),
            ("instance", format!("inst{}", i / 2)),
            ("code", format!("{}", 200 + (i % 5))),
        ]);
        for k in 0..10 {
            store.append(&l, k * 60_000, (i + k as u32) as f64).unwrap();
        }
    }
    let queries = [
        "up == 0",
        "sum by (job) (http_requests_total) > 100",
        "http_requests_total / on(instance) group_left up",
        "count without (instance) (up) < 5",
        "max by (job, code) (http_requests_total) - min by (job, code) (http_requests_total)",
        r#"up{job=~"job1.*"} unless up{code="200"}"#,
        "topk(5, http_requests_total)",
        "avg(http_requests_total) > 0",
        r#"quantile by (job) (0.9, http_requests_total)"#,
        "http_requests_total > 1000 and on(instance) up > 1",
    ];
    let eng = Engine::default();
    let t0 = std::time::Instant::now();
    for q in &queries {
        let e = parse(q).unwrap();
        let t = std::time::Instant::now();
        let out = eng.instant(&store, &e, 9 * 60_000).unwrap();
        let n = match out.value {
            crate::promql::QueryValue::Vector(v) => v.len(),
            _ => 0,
        };
        println!("{:>8.1} ms  {n:>6}  {q}", t.elapsed().as_secs_f64() * 1000.0);
    }
    println!("total {:.1} ms for {} queries", t0.elapsed().as_secs_f64() * 1000.0, queries.len());
}

#[test]
#[ignore]
fn perf_pieces() {
    use crate::model::{Labels, Matcher};
    let mut store = MemStore::new();
    for i in 0..100_000u32 {
        let l = Labels::from_pairs([
            ("__name__", if i % 2 == 0 { "http_requests_total" } else { "up" }.to_string()),
            ("job", format!("job{}", i % 50)),
            ("instance", format!("inst{}", i / 2)),
            ("code", format!("{}", 200 + (i % 5))),
        ]);
        for k in 0..10 {
            store.append(&l, k * 60_000, (i + k as u32) as f64).unwrap();
        }
    }
    let m = vec![Matcher::equal("__name__", "up")];
    let t = std::time::Instant::now();
    let mut sel = store.select_sorted(&m);
    println!("select {:.1} ms", t.elapsed().as_secs_f64() * 1000.0);
    let t = std::time::Instant::now();
    sel.sort_by(|a, b| a.labels.cmp(&b.labels));
    println!("sort {:.1} ms", t.elapsed().as_secs_f64() * 1000.0);
    let t = std::time::Instant::now();
    let v = super::selector::instant_vector(&sel, 9 * 60_000, 300_000);
    println!("instant_vector {:.1} ms", t.elapsed().as_secs_f64() * 1000.0);
    let t = std::time::Instant::now();
    let set: std::collections::HashSet<&Labels> = v.iter().map(|s| s.labels.as_ref()).collect();
    println!("hashset {:.1} ms {}", t.elapsed().as_secs_f64() * 1000.0, set.len());
    drop(set);
    let t = std::time::Instant::now();
    drop(v);
    println!("drop {:.1} ms", t.elapsed().as_secs_f64() * 1000.0);
}
