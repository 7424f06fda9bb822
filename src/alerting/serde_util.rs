//! Serde shapes for alert state that the model types do not provide: label
//! sets as JSON objects and floats as strings (JSON has no NaN or Inf).

use crate::model::Labels;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

/// `Labels` as `{"name": "value", ...}`.
pub mod labels_map {
    use super::*;

    pub fn serialize<S: Serializer>(l: &Labels, s: S) -> Result<S::Ok, S::Error> {
        let m: BTreeMap<&str, &str> = l
            .iter()
            .map(|l| (l.name.as_str(), l.value.as_str()))
            .collect();
        m.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Labels, D::Error> {
        let m = BTreeMap::<String, String>::deserialize(d)?;
        Ok(Labels::from_pairs(m))
    }
}

/// Formats a float the way Prometheus's API does: shortest round-trip
/// decimal, `NaN`, `+Inf`, `-Inf`.
pub fn format_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

pub fn parse_float(s: &str) -> Option<f64> {
    match s {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => s.parse().ok(),
    }
}

/// `f64` as a string (see [`format_float`]).
pub mod float_string {
    use super::*;

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        format_float(*v).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        let s = String::deserialize(d)?;
        parse_float(&s).ok_or_else(|| serde::de::Error::custom(format!("not a float: {s:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_round_trip_through_strings() {
        for v in [
            0.0,
            -1.5,
            1e-300,
            12345.678,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            assert_eq!(parse_float(&format_float(v)), Some(v));
        }
        assert!(parse_float(&format_float(f64::NAN)).unwrap().is_nan());
        assert_eq!(format_float(f64::INFINITY), "+Inf");
    }
}
