//! Measuring the KPIs of a gate for one tenant and day: fields and ratios
//! of the KPI JSON (runbook 001 layout), the blocklist size, and PromQL
//! through any [`Querier`]. A missing value is "no data" (HOLD); a missing
//! or malformed file, or a failing query, is an error (bad input), because
//! a datasource that cannot answer must not look like "all clear".

use super::config::{CanaryConfig, Source, TenantPaths};
use super::decide::{Measured, Measurements};
use super::error::CanaryError;
use crate::datasource::Querier;
use crate::promql::QueryValue;
use serde_json::Value;
use std::path::Path;

/// Lazily read inputs of one measurement run.
struct Inputs<'a> {
    paths: &'a TenantPaths,
    querier: Option<&'a dyn Querier>,
    now_ms: i64,
    kpi_json: Option<Value>,
    blocklist: Option<Option<Value>>,
}

/// Measures every KPI of `cfg` (and the volume).
pub fn measure(
    cfg: &CanaryConfig,
    paths: &TenantPaths,
    querier: Option<&dyn Querier>,
    now_ms: i64,
) -> Result<Measurements, CanaryError> {
    let mut inp = Inputs {
        paths,
        querier,
        now_ms,
        kpi_json: None,
        blocklist: None,
    };
    let mut out = Measurements::default();
    for k in &cfg.kpis {
        let worst_is_max = k.pass.op.upper_bound();
        let m = inp.measure(&k.name, &k.source, worst_is_max)?;
        out.kpis.insert(k.name.clone(), m);
    }
    if let Some(mv) = &cfg.min_volume {
        // The smallest volume is the one that can fall short.
        out.volume = Some(inp.measure("volume", &mv.source, false)?);
    }
    Ok(out)
}

fn read_json(path: &Path) -> Result<Option<Value>, CanaryError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(CanaryError::io(path, e)),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| CanaryError::BadFile {
            path: path.display().to_string(),
            message: format!("invalid JSON: {e}"),
        })
}

impl Inputs<'_> {
    fn kpi_json(&mut self) -> Result<&Value, CanaryError> {
        if self.kpi_json.is_none() {
            let p = &self.paths.kpi;
            let v = read_json(p)?.ok_or_else(|| {
                CanaryError::io(
                    p,
                    std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "no KPI file for this tenant and day",
                    ),
                )
            })?;
            if !v.is_object() {
                return Err(CanaryError::BadFile {
                    path: p.display().to_string(),
                    message: "KPI file must hold a JSON object".into(),
                });
            }
            self.kpi_json = Some(v);
        }
        Ok(self.kpi_json.as_ref().expect("just set"))
    }

    fn field(&mut self, key: &str) -> Result<Measured, CanaryError> {
        let path = self.paths.kpi.display().to_string();
        let mut v = self.kpi_json()?;
        for part in key.split('.') {
            match v.get(part) {
                Some(x) => v = x,
                None => return Ok(Measured::missing(format!("{key} missing in {path}"))),
            }
        }
        match v {
            Value::Null => Ok(Measured::missing(format!("{key} is null in {path}"))),
            Value::Number(n) => Ok(n
                .as_f64()
                .filter(|f| f.is_finite())
                .map(Measured::value)
                .unwrap_or_else(|| Measured::missing(format!("{key} is not finite")))),
            other => Err(CanaryError::BadFile {
                path,
                message: format!("{key}: want a number, found {other}"),
            }),
        }
    }

    fn measure(
        &mut self,
        name: &str,
        src: &Source,
        worst_is_max: bool,
    ) -> Result<Measured, CanaryError> {
        match src {
            Source::Field(f) => self.field(f),
            Source::Ratio {
                numerator,
                denominator,
            } => {
                let n = self.field(numerator)?;
                let d = self.field(denominator)?;
                Ok(match (n.value, d.value) {
                    (Some(_), Some(0.0)) => Measured::missing(format!("{denominator} is 0")),
                    (Some(n), Some(d)) => Measured::value(n / d),
                    (None, _) => n,
                    (_, None) => d,
                })
            }
            Source::BlocklistCount => {
                if self.blocklist.is_none() {
                    self.blocklist = Some(read_json(&self.paths.blocklist)?);
                }
                let path = self.paths.blocklist.display().to_string();
                Ok(match self.blocklist.as_ref().expect("just set") {
                    None => Measured::missing(format!("{path} does not exist")),
                    Some(v) => match blocklist_len(v) {
                        Some(n) => Measured::value(n as f64),
                        None => {
                            return Err(CanaryError::BadFile {
                                path,
                                message: "blocklist must be a JSON array, an object with an `entries` array, or an object keyed by address".into(),
                            })
                        }
                    },
                })
            }
            Source::Query { text, expr } => {
                let q = self.querier.ok_or_else(|| {
                    CanaryError::Invalid(format!(
                        "kpi {name} is a PromQL query: give --snapshot or --prometheus"
                    ))
                })?;
                let out = q
                    .instant(expr, text, self.now_ms)
                    .map_err(|e| CanaryError::Query {
                        kpi: name.to_string(),
                        message: e.to_string(),
                    })?;
                Ok(query_value(&out.value, worst_is_max))
            }
        }
    }
}

/// Entries of a blocklist file.
fn blocklist_len(v: &Value) -> Option<usize> {
    match v {
        Value::Array(a) => Some(a.len()),
        Value::Object(o) => match o.get("entries") {
            Some(Value::Array(a)) => Some(a.len()),
            Some(_) => None,
            None => Some(o.len()),
        },
        _ => None,
    }
}

/// One number from a query result: a scalar, or the worst of the vector's
/// samples (several series are judged by the one nearest to a breach).
fn query_value(v: &QueryValue, worst_is_max: bool) -> Measured {
    let vals: Vec<f64> = match v {
        QueryValue::Scalar { v, .. } => vec![*v],
        QueryValue::Vector(s) => s.iter().map(|(_, v)| *v).collect(),
        _ => return Measured::missing("query must return a scalar or an instant vector"),
    };
    let vals: Vec<f64> = vals.into_iter().filter(|v| !v.is_nan()).collect();
    let pick = if worst_is_max {
        vals.iter()
            .copied()
            .fold(None, |a: Option<f64>, v| Some(a.map_or(v, |a| a.max(v))))
    } else {
        vals.iter()
            .copied()
            .fold(None, |a: Option<f64>, v| Some(a.map_or(v, |a| a.min(v))))
    };
    match pick {
        Some(v) => Measured::value(v),
        None => Measured::missing("query returned no samples"),
    }
}
