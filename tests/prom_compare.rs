//! Every shipped rule's expression gives the same result in alertgate as in
//! Prometheus. Each OpenMetrics example in `examples/` becomes a TSDB (`promtool
//! tsdb create-blocks-from openmetrics`), a real Prometheus serves it on
//! 127.0.0.1, and `/api/v1/query` at the example's time is compared with
//! `alertgate query EXPR --snapshot ... --at T --format json`: same label sets,
//! values within 1e-9 relative.

use crate::support::{http_get, peer, root, Prometheus};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// The evaluation time of the examples (see examples/gen.py), as RFC 3339
/// for alertgate and Unix seconds for Prometheus.
const AT: &str = "2025-03-04T09:10:00Z";
const AT_UNIX: i64 = 1_741_079_400;

impl Prometheus {
    fn query(&self, expr: &str) -> Result<Vector, String> {
        let path = format!(
            "/api/v1/query?query={}&time={AT_UNIX}",
            percent_encode(expr)
        );
        let (status, body) = http_get(self.port, &path).map_err(|e| e.to_string())?;
        let doc: Value =
            serde_json::from_str(&body).map_err(|e| format!("HTTP {status}: {e}: {body}"))?;
        if doc["status"] != "success" {
            return Err(format!("HTTP {status}: {body}"));
        }
        parse_vector(&doc["data"])
    }
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An instant vector: label set (sorted, with `__name__` if kept) -> value.
type Vector = BTreeMap<Vec<(String, String)>, f64>;

/// Reads an instant vector from the `data` of a Prometheus query response
/// (`{"resultType": "vector", "result": [{"metric": {...}, "value": [t, "v"]}]}`).
/// `alertgate query --format json` may print that object alone, inside
/// `{"status", "data"}`, or just the result array; all three are accepted.
fn parse_vector(doc: &Value) -> Result<Vector, String> {
    let doc = if doc.get("data").is_some() {
        &doc["data"]
    } else {
        doc
    };
    let result = match doc {
        Value::Array(_) => doc,
        _ => {
            if let Some(t) = doc.get("resultType").and_then(Value::as_str) {
                if t != "vector" {
                    return Err(format!("result type {t}, want vector"));
                }
            }
            &doc["result"]
        }
    };
    let items = result
        .as_array()
        .ok_or_else(|| format!("no result array in {doc}"))?;
    let mut out = Vector::new();
    for item in items {
        let metric = item
            .get("metric")
            .or_else(|| item.get("labels"))
            .and_then(Value::as_object);
        let mut labels: Vec<(String, String)> = metric
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect();
        labels.sort();
        let value = match &item["value"] {
            Value::Array(tv) if tv.len() == 2 => parse_float(&tv[1]),
            v => parse_float(v),
        }
        .ok_or_else(|| format!("no value in {item}"))?;
        if out.insert(labels.clone(), value).is_some() {
            return Err(format!("duplicate series {labels:?}"));
        }
    }
    Ok(out)
}

fn parse_float(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "+Inf" | "Inf" => Some(f64::INFINITY),
            "-Inf" => Some(f64::NEG_INFINITY),
            s => s.parse().ok(),
        },
        _ => None,
    }
}

fn same_value(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

/// Every `expr` of a rule file, with the rule's name.
fn rule_exprs(pack: &str) -> Vec<(String, String)> {
    let text =
        std::fs::read_to_string(root().join(format!("rules/{pack}.yml"))).expect("read rule pack");
    let doc: yaml_serde::Value = yaml_serde::from_str(&text).expect("parse rule pack");
    let mut out = Vec::new();
    for group in doc["groups"].as_sequence().expect("groups") {
        for rule in group["rules"].as_sequence().expect("rules") {
            let name = rule
                .get("alert")
                .or_else(|| rule.get("record"))
                .and_then(|v| v.as_str())
                .expect("name");
            out.push((
                name.to_string(),
                rule["expr"].as_str().expect("expr").to_string(),
            ));
        }
    }
    out
}

fn alertgate_query(expr: &str, snapshot: &Path) -> Result<Vector, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_alertgate"))
        .current_dir(root())
        .arg("query")
        .arg(expr)
        .arg("--snapshot")
        .arg(snapshot)
        .arg("--at")
        .arg(AT)
        .arg("--format")
        .arg("json")
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "exit {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let doc: Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("{e}: {}", String::from_utf8_lossy(&out.stdout)))?;
    parse_vector(&doc)
}

/// Compares every rule of `pack` on one OpenMetrics example; returns the
/// mismatches and the number of non-empty results compared.
fn compare_example(
    promtool: &Path,
    prometheus: &Path,
    pack: &str,
    example: &str,
) -> (Vec<String>, usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let snapshot = root().join(format!("examples/{pack}/{example}.om"));
    crate::support::create_blocks(promtool, &snapshot, &data);
    let prom = Prometheus::start(prometheus, &data, dir.path());
    let mut problems = Vec::new();
    let mut non_empty = 0;
    for (name, expr) in rule_exprs(pack) {
        let want = prom
            .query(&expr)
            .unwrap_or_else(|e| panic!("{pack}/{example} {name}: prometheus: {e}"));
        non_empty += usize::from(!want.is_empty());
        let got = match alertgate_query(&expr, &snapshot) {
            Ok(v) => v,
            Err(e) => {
                problems.push(format!("{pack}/{example} {name}: alertgate query: {e}"));
                continue;
            }
        };
        let same = want.len() == got.len()
            && want
                .iter()
                .all(|(labels, w)| got.get(labels).is_some_and(|g| same_value(*w, *g)));
        if !same {
            problems.push(format!(
                "{pack}/{example} {name}:\n  prometheus {want:?}\n  alertgate  {got:?}"
            ));
        }
    }
    (problems, non_empty)
}

#[test]
fn rule_expressions_match_prometheus_on_every_example() {
    let (Some(promtool), Some(prometheus)) = (peer("promtool"), peer("prometheus")) else {
        return;
    };
    let mut problems = Vec::new();
    let mut non_empty = 0;
    for pack in ["stage0-canary", "golive", "outbox-hardening"] {
        for example in ["breach", "clean"] {
            let (p, n) = compare_example(&promtool, &prometheus, pack, example);
            problems.extend(p);
            non_empty += n;
        }
    }
    assert!(
        problems.is_empty(),
        "{} mismatches:\n{}",
        problems.len(),
        problems.join("\n")
    );
    // Guards against comparing empty results only (e.g. data not loaded).
    assert!(
        non_empty >= 20,
        "only {non_empty} non-empty Prometheus results"
    );
}

#[test]
fn vectors_parse_from_prometheus_and_bare_forms() {
    let api: Value = serde_json::json!({"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"env": "prod"}, "value": [1741079400, "0.015000000000000003"]},
        {"metric": {"env": "staging"}, "value": [1741079400, "NaN"]}]}});
    let v = parse_vector(&api).expect("api form");
    assert_eq!(v.len(), 2);
    assert!(same_value(
        v[&vec![("env".to_string(), "prod".to_string())]],
        0.015
    ));
    assert!(v[&vec![("env".to_string(), "staging".to_string())]].is_nan());
    let bare: Value = serde_json::json!([{"metric": {}, "value": [1741079400, "+Inf"]}]);
    assert_eq!(
        parse_vector(&bare).expect("bare form")[&Vec::new()],
        f64::INFINITY
    );
    let matrix: Value = serde_json::json!({"resultType": "matrix", "result": []});
    assert!(parse_vector(&matrix).is_err());
    assert!(!same_value(1.0, 1.0 + 1e-6));
    assert_eq!(
        percent_encode("a{b=\"c\"} > 0"),
        "a%7Bb%3D%22c%22%7D%20%3E%200"
    );
}
