//! Native-histogram literals `{{schema:0 sum:5 count:4 buckets:[1 2 1]}}`.
//! They are parsed so that scripts holding them load, and so that expected
//! values can be recognised; the engine does not evaluate histograms yet.

use super::NotationError;

/// A float histogram as written in test notation. Each bucket list is one
/// span starting at its offset; counts are absolute (not deltas).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistogramLiteral {
    /// `schema`: -4..8 exponential, -53 custom buckets.
    pub schema: i32,
    /// `sum`.
    pub sum: f64,
    /// `count`.
    pub count: f64,
    /// `z_bucket`.
    pub zero_count: f64,
    /// `z_bucket_w`.
    pub zero_threshold: f64,
    /// `offset`: index of the first positive bucket.
    pub positive_offset: i32,
    /// `buckets`: absolute counts of consecutive positive buckets.
    pub positive_buckets: Vec<f64>,
    /// `n_offset`.
    pub negative_offset: i32,
    /// `n_buckets`.
    pub negative_buckets: Vec<f64>,
    /// Upper bounds for schema -53 (custom buckets), without `+Inf`.
    pub custom_values: Vec<f64>,
    /// `unknown`, `reset`, `not_reset` or `gauge`; empty when not given.
    pub counter_reset_hint: String,
}

impl HistogramLiteral {
    /// Parses the text between (and including) `{{` and `}}`.
    pub fn parse(input: &str) -> Result<HistogramLiteral, NotationError> {
        let err = |reason: String| NotationError::Histogram {
            input: input.to_string(),
            reason,
        };
        let body = input
            .strip_prefix("{{")
            .and_then(|s| s.strip_suffix("}}"))
            .ok_or_else(|| err("expected {{...}}".into()))?;
        let mut h = HistogramLiteral::default();
        let mut seen: Vec<String> = Vec::new();
        let mut rest = body.trim_start();
        while !rest.is_empty() {
            let colon = rest
                .find(':')
                .ok_or_else(|| err("expected key:value".into()))?;
            let key = rest[..colon].trim().to_string();
            if seen.contains(&key) {
                return Err(err(format!("duplicate key {key}")));
            }
            rest = rest[colon + 1..].trim_start();
            let value;
            if let Some(r) = rest.strip_prefix('[') {
                let end = r.find(']').ok_or_else(|| err("unterminated '['".into()))?;
                value = &r[..end];
                rest = &r[end + 1..];
            } else {
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                value = &rest[..end];
                rest = &rest[end..];
            }
            rest = rest.trim_start();
            let float = |v: &str| {
                super::series::parse_number(v)
                    .map_err(|_| err(format!("bad number {v:?} for {key}")))
            };
            let int = |v: &str| {
                v.parse::<i32>()
                    .map_err(|_| err(format!("bad integer {v:?} for {key}")))
            };
            let list = |v: &str| {
                v.split_whitespace()
                    .map(float)
                    .collect::<Result<Vec<f64>, _>>()
            };
            match key.as_str() {
                "schema" => h.schema = int(value)?,
                "sum" => h.sum = float(value)?,
                "count" => h.count = float(value)?,
                "z_bucket" => h.zero_count = float(value)?,
                "z_bucket_w" => h.zero_threshold = float(value)?,
                "buckets" => h.positive_buckets = list(value)?,
                "offset" => h.positive_offset = int(value)?,
                "n_buckets" => h.negative_buckets = list(value)?,
                "n_offset" => h.negative_offset = int(value)?,
                "custom_values" => h.custom_values = list(value)?,
                "counter_reset_hint" => match value {
                    "unknown" | "reset" | "not_reset" | "gauge" => {
                        h.counter_reset_hint = value.to_string()
                    }
                    _ => return Err(err(format!("bad counter_reset_hint {value:?}"))),
                },
                _ => return Err(err(format!("unknown key {key:?}"))),
            }
            seen.push(key);
        }
        Ok(h)
    }

    /// `self + k * inc`, bucket by bucket, for the `{{A}}+{{B}}xK` notation.
    /// Like Prometheus's `FloatHistogram.Add`, the result has the lower
    /// (coarser) of the two exponential schemas; custom-bucket histograms
    /// (schema -53) only combine with the same schema. An empty `inc`
    /// (`{{}}`) adopts `self`'s schema.
    pub fn add_scaled(
        &self,
        inc: &HistogramLiteral,
        k: f64,
    ) -> Result<HistogramLiteral, NotationError> {
        let inc_empty = inc.positive_buckets.is_empty() && inc.negative_buckets.is_empty();
        let inc_schema = if inc_empty { self.schema } else { inc.schema };
        if (self.schema == CUSTOM_SCHEMA || inc_schema == CUSTOM_SCHEMA)
            && self.schema != inc_schema
        {
            return Err(NotationError::Histogram {
                input: format!("schema {} + schema {}", self.schema, inc.schema),
                reason: "custom-bucket histograms only combine with the same schema".into(),
            });
        }
        let target = self.schema.min(inc_schema);
        let mut out = self.clone();
        out.schema = target;
        out.sum += k * inc.sum;
        out.count += k * inc.count;
        out.zero_count += k * inc.zero_count;
        out.zero_threshold = self.zero_threshold.max(inc.zero_threshold);
        let side = |ao: i32, a: &[f64], bo: i32, b: &[f64]| {
            let (ao, a) = reduce(ao, a, self.schema, target);
            let (bo, b) = reduce(bo, b, inc_schema, target);
            add_span(ao, &a, bo, &b, k)
        };
        (out.positive_offset, out.positive_buckets) = side(
            self.positive_offset,
            &self.positive_buckets,
            inc.positive_offset,
            &inc.positive_buckets,
        );
        (out.negative_offset, out.negative_buckets) = side(
            self.negative_offset,
            &self.negative_buckets,
            inc.negative_offset,
            &inc.negative_buckets,
        );
        Ok(out)
    }
}

/// Schema of native histograms with custom bucket bounds.
pub const CUSTOM_SCHEMA: i32 = -53;

/// Merges buckets of schema `from` into the coarser schema `to`; bucket
/// index i maps to `((i - 1) >> (from - to)) + 1` (Prometheus `targetIdx`).
fn reduce(offset: i32, buckets: &[f64], from: i32, to: i32) -> (i32, Vec<f64>) {
    if from <= to || buckets.is_empty() {
        return (offset, buckets.to_vec());
    }
    let shift = (from - to) as u32;
    let idx = |i: i32| ((i - 1) >> shift) + 1;
    let start = idx(offset);
    let mut out: Vec<f64> = Vec::new();
    for (j, v) in buckets.iter().enumerate() {
        let t = (idx(offset + j as i32) - start) as usize;
        if out.len() <= t {
            out.resize(t + 1, 0.0);
        }
        out[t] += v;
    }
    (start, out)
}

fn add_span(ao: i32, a: &[f64], bo: i32, b: &[f64], k: f64) -> (i32, Vec<f64>) {
    if b.is_empty() {
        return (ao, a.to_vec());
    }
    if a.is_empty() {
        return (bo, b.iter().map(|v| v * k).collect());
    }
    let start = ao.min(bo);
    let end = (ao + a.len() as i32).max(bo + b.len() as i32);
    let mut out = vec![0.0; (end - start) as usize];
    for (i, v) in a.iter().enumerate() {
        out[(ao - start) as usize + i] += v;
    }
    for (i, v) in b.iter().enumerate() {
        out[(bo - start) as usize + i] += k * v;
    }
    (start, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_key() {
        let h = HistogramLiteral::parse(
            "{{schema:1 sum:-15.5 count:10 z_bucket:1 z_bucket_w:0.001 buckets:[3 2 5] offset:2 \
             n_buckets:[1 1] n_offset:-1 counter_reset_hint:gauge}}",
        )
        .unwrap();
        assert_eq!(h.schema, 1);
        assert_eq!(h.sum, -15.5);
        assert_eq!(h.count, 10.0);
        assert_eq!(h.zero_count, 1.0);
        assert_eq!(h.zero_threshold, 0.001);
        assert_eq!(h.positive_buckets, vec![3.0, 2.0, 5.0]);
        assert_eq!(h.positive_offset, 2);
        assert_eq!(h.negative_buckets, vec![1.0, 1.0]);
        assert_eq!(h.negative_offset, -1);
        assert_eq!(h.counter_reset_hint, "gauge");
        let c = HistogramLiteral::parse(
            "{{schema:-53 sum:3 count:3 custom_values:[5 10] buckets:[3]}}",
        )
        .unwrap();
        assert_eq!(c.custom_values, vec![5.0, 10.0]);
        assert_eq!(
            HistogramLiteral::parse("{{}}").unwrap(),
            HistogramLiteral::default()
        );
    }

    #[test]
    fn rejects_duplicates_and_unknown_keys() {
        assert!(HistogramLiteral::parse("{{sum:1 sum:2}}").is_err());
        assert!(HistogramLiteral::parse("{{foo:1}}").is_err());
        assert!(HistogramLiteral::parse("{{schema:x}}").is_err());
        assert!(HistogramLiteral::parse("{{counter_reset_hint:maybe}}").is_err());
    }

    #[test]
    fn adds_bucketwise() {
        let a = HistogramLiteral::parse("{{schema:0 sum:0 count:0 buckets:[0 0 0]}}").unwrap();
        let b =
            HistogramLiteral::parse("{{schema:0 sum:1 count:2 buckets:[1 1 1] offset:1}}").unwrap();
        let c = a.add_scaled(&b, 2.0).unwrap();
        assert_eq!(c.sum, 2.0);
        assert_eq!(c.count, 4.0);
        assert_eq!(c.positive_offset, 0);
        assert_eq!(c.positive_buckets, vec![0.0, 2.0, 2.0, 2.0]);
    }

    #[test]
    fn adding_a_finer_schema_reduces_it() {
        // native_histograms.test: schema 0 buckets 1 and 2 both fall into
        // schema -1 bucket 1.
        let a =
            HistogramLiteral::parse("{{schema:-1 sum:4 count:1 buckets:[1] offset:1}}").unwrap();
        let b =
            HistogramLiteral::parse("{{schema:0 sum:4 count:4 buckets:[2 2] offset:1}}").unwrap();
        let c = a.add_scaled(&b, 1.0).unwrap();
        assert_eq!(
            (c.schema, c.positive_offset, c.positive_buckets.clone()),
            (-1, 1, vec![5.0])
        );
        assert_eq!((c.sum, c.count), (8.0, 5.0));
        let custom =
            HistogramLiteral::parse("{{schema:-53 custom_values:[1] buckets:[1]}}").unwrap();
        assert!(custom.add_scaled(&b, 1.0).is_err());
    }
}
