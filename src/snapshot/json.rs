//! JSON snapshots: a saved Prometheus `/api/v1/query` (vector) or
//! `/api/v1/query_range` (matrix) response, or a flat or nested KPI document
//! such as `{"error_rate": 0.035, "dlq_depth": 12}` whose numbers become
//! gauges.

use super::exposition::parse_float;
use crate::model::{Labels, Timestamp, METRIC_NAME};
use serde_json::{Map, Value};

/// One sample read from JSON; `t` is `None` for KPI values.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonSample {
    pub labels: Labels,
    pub t: Option<Timestamp>,
    pub v: f64,
}

/// Why a JSON snapshot could not be read.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonError {
    /// Not JSON at all; 1-based line and column.
    Syntax {
        line: usize,
        col: usize,
        msg: String,
    },
    /// JSON of the wrong shape.
    Shape(String),
}

/// Parses a JSON snapshot of either kind.
pub fn parse(src: &str) -> Result<Vec<JsonSample>, JsonError> {
    let doc: Value = serde_json::from_str(src).map_err(|e| {
        let full = e.to_string();
        // serde_json appends " at line L column C"; we print the place first.
        let msg = full
            .rsplit_once(" at line ")
            .map_or(full.as_str(), |(m, _)| m)
            .to_string();
        JsonError::Syntax {
            line: e.line().max(1),
            col: e.column(),
            msg,
        }
    })?;
    let Value::Object(obj) = doc else {
        return Err(JsonError::Shape(
            "expected a JSON object (a KPI document or a Prometheus query response)".into(),
        ));
    };
    if let Some(status) = obj
        .get("status")
        .filter(|_| obj.contains_key("data") || obj.contains_key("error"))
    {
        if status.as_str() != Some("success") {
            let err = obj
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("no error message");
            return Err(JsonError::Shape(format!(
                "the saved Prometheus response is an error: {err}"
            )));
        }
        let data = obj
            .get("data")
            .and_then(Value::as_object)
            .ok_or_else(|| shape("\"data\" must be an object"))?;
        return api_data(data);
    }
    if obj.contains_key("resultType") && obj.contains_key("result") {
        return api_data(&obj);
    }
    let mut out = Vec::new();
    kpi(&obj, "", &mut out);
    Ok(out)
}

fn shape(msg: &str) -> JsonError {
    JsonError::Shape(msg.to_string())
}

/// The `data` object of a query response.
fn api_data(data: &Map<String, Value>) -> Result<Vec<JsonSample>, JsonError> {
    let kind = data
        .get("resultType")
        .and_then(Value::as_str)
        .ok_or_else(|| shape("data.resultType must be a string"))?;
    let result = data
        .get("result")
        .ok_or_else(|| shape("data.result is missing"))?;
    let mut out = Vec::new();
    match kind {
        "vector" | "matrix" => {
            let items = result
                .as_array()
                .ok_or_else(|| shape("data.result must be an array"))?;
            for (i, item) in items.iter().enumerate() {
                let at = |m: &str| JsonError::Shape(format!("data.result[{i}]: {m}"));
                let labels = metric(item.get("metric")).map_err(|m| at(&m))?;
                if item.get("histogram").is_some() || item.get("histograms").is_some() {
                    return Err(at("native histograms are not supported"));
                }
                let points: Vec<&Value> = if kind == "vector" {
                    vec![item
                        .get("value")
                        .ok_or_else(|| at("\"value\" is missing"))?]
                } else {
                    let vals = item
                        .get("values")
                        .and_then(Value::as_array)
                        .ok_or_else(|| at("\"values\" must be an array"))?;
                    vals.iter().collect()
                };
                for p in points {
                    let (t, v) = point(p).map_err(|m| at(&m))?;
                    out.push(JsonSample {
                        labels: labels.clone(),
                        t: Some(t),
                        v,
                    });
                }
            }
        }
        "scalar" | "string" => {
            return Err(JsonError::Shape(format!(
                "a {kind} result has no series to load; save a vector or matrix result"
            )));
        }
        other => return Err(JsonError::Shape(format!("unknown resultType {other:?}"))),
    }
    Ok(out)
}

fn metric(m: Option<&Value>) -> Result<Labels, String> {
    let Some(Value::Object(m)) = m else {
        return Err("\"metric\" must be an object".into());
    };
    let mut labels = Labels::new();
    for (k, v) in m {
        let v = v
            .as_str()
            .ok_or_else(|| format!("label {k:?} must have a string value"))?;
        labels.set(k.as_str(), v);
    }
    Ok(labels)
}

/// `[1435781451.781, "1"]`: seconds as a number, value as a string.
fn point(p: &Value) -> Result<(Timestamp, f64), String> {
    let pair = p
        .as_array()
        .filter(|a| a.len() == 2)
        .ok_or("a sample must be [timestamp, \"value\"]")?;
    let secs = pair[0].as_f64().ok_or("the timestamp must be a number")?;
    let v = pair[1]
        .as_str()
        .and_then(parse_float)
        .ok_or_else(|| format!("invalid sample value {}", pair[1]))?;
    Ok(((secs * 1000.0).round() as i64, v))
}

/// Flattens a KPI document: nested keys joined by `_`, numbers as they are,
/// booleans as 1/0; strings, nulls and arrays are not metrics and are skipped.
fn kpi(obj: &Map<String, Value>, prefix: &str, out: &mut Vec<JsonSample>) {
    for (k, v) in obj {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}_{k}")
        };
        let value = match v {
            Value::Number(n) => n.as_f64(),
            Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
            Value::Object(inner) => {
                kpi(inner, &key, out);
                None
            }
            Value::String(_) | Value::Null | Value::Array(_) => None,
        };
        if let Some(v) = value {
            out.push(JsonSample {
                labels: Labels::from_pairs([(METRIC_NAME, metric_name(&key))]),
                t: None,
                v,
            });
        }
    }
}

/// Turns a JSON key path into a metric name PromQL can select without
/// quoting: characters outside `[a-zA-Z0-9_:]` become `_`, and a leading
/// digit gets a `_` in front (`5xx_rate` -> `_5xx_rate`) rather than being
/// replaced, so the number stays readable.
pub fn metric_name(key: &str) -> String {
    let mut s: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(samples: &[JsonSample]) -> Vec<(String, f64)> {
        let mut v: Vec<(String, f64)> = samples
            .iter()
            .map(|s| (s.labels.to_string(), s.v))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    #[test]
    fn flat_kpi_document() {
        let s = parse(r#"{"error_rate": 0.035, "dlq_depth": 12}"#).unwrap();
        assert_eq!(
            names(&s),
            vec![("dlq_depth".into(), 12.0), ("error_rate".into(), 0.035)]
        );
        assert!(s.iter().all(|x| x.t.is_none()));
    }

    #[test]
    fn nested_kpi_document_with_bools_and_ignored_values() {
        let s = parse(
            r#"{"tenant": "acme", "mail": {"sent": 1200, "bounce": {"hard_rate": 0.02}},
                "kill_switch": true, "paused": false, "note": null, "list": [1, 2],
                "p95-latency.ms": 480, "5xx_rate": 0.01, "big": 1e300}"#,
        )
        .unwrap();
        assert_eq!(
            names(&s),
            vec![
                ("_5xx_rate".into(), 0.01),
                ("big".into(), 1e300),
                ("kill_switch".into(), 1.0),
                ("mail_bounce_hard_rate".into(), 0.02),
                ("mail_sent".into(), 1200.0),
                ("p95_latency_ms".into(), 480.0),
                ("paused".into(), 0.0),
            ]
        );
    }

    #[test]
    fn prometheus_vector_response() {
        // The response shape documented for /api/v1/query.
        let s = parse(
            r#"{"status":"success","data":{"resultType":"vector","result":[
              {"metric":{"__name__":"up","instance":"localhost:9090","job":"prometheus"},"value":[1435781451.781,"1"]},
              {"metric":{"__name__":"up","instance":"x:1","job":"node"},"value":[1435781451.781,"NaN"]}]}}"#,
        )
        .unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(
            s[0].labels.to_string(),
            r#"up{instance="localhost:9090", job="prometheus"}"#
        );
        assert_eq!(s[0].t, Some(1_435_781_451_781));
        assert_eq!(s[0].v, 1.0);
        assert!(s[1].v.is_nan());
    }

    #[test]
    fn prometheus_matrix_response_and_bare_data() {
        let body = r#"{"resultType":"matrix","result":[{"metric":{"__name__":"x_total"},
            "values":[[1700000000,"1"],[1700000015.5,"+Inf"],[1700000030,"2e3"]]}]}"#;
        let s = parse(body).unwrap();
        let pts: Vec<(Option<i64>, f64)> = s.iter().map(|x| (x.t, x.v)).collect();
        assert_eq!(
            pts,
            vec![
                (Some(1_700_000_000_000), 1.0),
                (Some(1_700_000_015_500), f64::INFINITY),
                (Some(1_700_000_030_000), 2000.0)
            ]
        );
    }

    #[test]
    fn wrong_shapes() {
        let shape_err = |src: &str| match parse(src) {
            Err(JsonError::Shape(m)) => m,
            other => panic!("expected a shape error for {src}, got {other:?}"),
        };
        assert!(shape_err(r#"[1, 2]"#).contains("expected a JSON object"));
        assert!(
            shape_err(r#"{"status":"error","errorType":"bad_data","error":"boom"}"#)
                .contains("boom")
        );
        assert!(shape_err(
            r#"{"status":"success","data":{"resultType":"scalar","result":[1,"1"]}}"#
        )
        .contains("scalar result has no series"));
        assert!(
            shape_err(r#"{"resultType":"vector","result":[{"metric":{},"value":[1,"x"]}]}"#)
                .contains("data.result[0]: invalid sample value \"x\"")
        );
        assert!(shape_err(
            r#"{"resultType":"vector","result":[{"metric":{"a":1},"value":[1,"1"]}]}"#
        )
        .contains("label \"a\" must have a string value"));
    }

    #[test]
    fn syntax_error_has_line_and_column() {
        match parse("{\n  \"a\": 1,\n  \"b\": \n}") {
            Err(JsonError::Syntax { line, msg, .. }) => {
                assert_eq!(line, 4);
                assert!(msg.starts_with("expected value"), "{msg}");
            }
            other => panic!("{other:?}"),
        }
    }
}
