//! The promtool rule unit-test file, as serde structs that mirror the YAML
//! (prometheus/prometheus: cmd/promtool/unittest.go, v3.5.3). Parsing is
//! strict, like promtool's `yaml.UnmarshalStrict`: an unknown key is an error.

use serde::de::{Deserializer, Visitor};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitTestFile {
    #[serde(default)]
    pub rule_files: Option<Vec<String>>,
    #[serde(default)]
    pub evaluation_interval: Option<Scalar>,
    #[serde(default)]
    pub group_eval_order: Option<Vec<String>>,
    #[serde(default)]
    pub tests: Option<Vec<TestGroup>>,
    #[serde(default)]
    pub fuzzy_compare: Option<bool>,
}

/// One test group: input series and the checks run against them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestGroup {
    #[serde(default)]
    pub interval: Option<Scalar>,
    #[serde(default)]
    pub input_series: Option<Vec<InputSeries>>,
    #[serde(default)]
    pub alert_rule_test: Option<Vec<AlertTestCase>>,
    #[serde(default)]
    pub promql_expr_test: Option<Vec<PromqlTestCase>>,
    #[serde(default)]
    pub external_labels: Option<BTreeMap<String, Scalar>>,
    #[serde(default)]
    pub external_url: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSeries {
    #[serde(default)]
    pub series: Option<Scalar>,
    #[serde(default)]
    pub values: Option<Scalar>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertTestCase {
    #[serde(default)]
    pub eval_time: Option<Scalar>,
    #[serde(default)]
    pub alertname: Option<String>,
    #[serde(default)]
    pub exp_alerts: Option<Vec<ExpAlert>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpAlert {
    #[serde(default)]
    pub exp_labels: Option<BTreeMap<String, Scalar>>,
    #[serde(default)]
    pub exp_annotations: Option<BTreeMap<String, Scalar>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromqlTestCase {
    #[serde(default)]
    pub expr: Option<String>,
    #[serde(default)]
    pub eval_time: Option<Scalar>,
    #[serde(default)]
    pub exp_samples: Option<Vec<ExpSample>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpSample {
    #[serde(default)]
    pub labels: Option<Scalar>,
    #[serde(default)]
    pub value: Option<Scalar>,
    #[serde(default)]
    pub histogram: Option<String>,
}

/// A YAML scalar read as text, whatever its YAML type: Go's yaml decodes
/// `values: 1`, `eval_time: 0` and `code: 500` into strings the same way.
/// Null reads as the empty string.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a scalar")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Scalar, E> {
                match v {
                    "~" | "null" | "Null" | "NULL" => Ok(Scalar::default()),
                    _ => Ok(Scalar(v.to_string())),
                }
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(if v.is_nan() {
                    ".nan".into()
                } else if v.is_infinite() {
                    if v > 0.0 { ".inf" } else { "-.inf" }.into()
                } else {
                    v.to_string()
                }))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar::default())
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar::default())
            }
        }
        // `deserialize_str` hands over a plain scalar's text as written, so
        // `values: 0x10` stays "0x10" (ten zeros), not the integer 16.
        d.deserialize_str(V)
    }
}

/// Parses a YAML float the way Go's yaml.v2 does for a `float64` field.
pub fn parse_yaml_float(s: &str) -> Option<f64> {
    match s {
        ".nan" | ".NaN" | ".NAN" => Some(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Some(f64::NEG_INFINITY),
        "" => Some(0.0),
        _ => {
            let t = s.replace('_', "");
            if let Some(h) = t.strip_prefix("0x") {
                return i64::from_str_radix(h, 16).ok().map(|v| v as f64);
            }
            // Rust accepts "inf"/"nan" spellings Go's yaml does not.
            if t.chars()
                .any(|c| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
            {
                return None;
            }
            t.parse().ok()
        }
    }
}

/// Decodes a unit-test file; the first YAML document only, like promtool.
pub fn parse_file(src: &str) -> Result<UnitTestFile, String> {
    let Some(doc) = yaml_serde::Deserializer::from_str(src).next() else {
        return Ok(UnitTestFile::default());
    };
    Option::<UnitTestFile>::deserialize(doc)
        .map(|f| f.unwrap_or_default())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_of_any_yaml_type_read_as_text() {
        let f = parse_file(
            "tests:\n- input_series:\n  - series: up\n    values: 1\n  alert_rule_test:\n  - eval_time: 0\n    alertname: A\n    exp_alerts:\n    - exp_labels: {code: 500, ok: true}\n",
        )
        .unwrap();
        let t = &f.tests.unwrap()[0];
        let s = &t.input_series.as_ref().unwrap()[0];
        assert_eq!(s.values.as_ref().unwrap().0, "1");
        let a = &t.alert_rule_test.as_ref().unwrap()[0];
        assert_eq!(a.eval_time.as_ref().unwrap().0, "0");
        let l = a.exp_alerts.as_ref().unwrap()[0]
            .exp_labels
            .as_ref()
            .unwrap();
        assert_eq!(l["code"].0, "500");
        assert_eq!(l["ok"].0, "true");
    }

    #[test]
    fn plain_scalars_keep_their_text() {
        // YAML would read 0x10 as 16; promtool's string field keeps "0x10".
        let f = parse_file("tests:\n- input_series:\n  - series: up\n    values: 0x10\n").unwrap();
        let t = &f.tests.unwrap()[0];
        assert_eq!(
            t.input_series.as_ref().unwrap()[0]
                .values
                .as_ref()
                .unwrap()
                .0,
            "0x10"
        );
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let e = parse_file("tests:\n- name: x\n  start_timestamp: 0\n").unwrap_err();
        assert!(e.contains("unknown field `start_timestamp`"), "{e}");
    }

    #[test]
    fn yaml_floats() {
        assert_eq!(parse_yaml_float("3"), Some(3.0));
        assert_eq!(parse_yaml_float("-1.5e3"), Some(-1500.0));
        assert_eq!(parse_yaml_float(".inf"), Some(f64::INFINITY));
        assert!(parse_yaml_float(".nan").unwrap().is_nan());
        assert_eq!(parse_yaml_float("abc"), None);
    }
}
