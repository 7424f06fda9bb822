//! Serde structs that mirror a Prometheus rule file exactly (upstream key
//! spelling, unknown keys rejected). Everything stays a string here; meaning
//! and checks come in `validate`, which can then report every problem.

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    #[serde(default)]
    pub groups: Option<Vec<RawGroup>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGroup {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub interval: Option<String>,
    #[serde(default)]
    pub query_offset: Option<String>,
    #[serde(default)]
    pub limit: Option<i64>,
    #[serde(default)]
    pub rules: Option<Vec<RawRule>>,
    #[serde(default)]
    pub labels: Option<StrictMap>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    #[serde(default)]
    pub record: Option<String>,
    #[serde(default)]
    pub alert: Option<String>,
    #[serde(default)]
    pub expr: Option<String>,
    #[serde(default, rename = "for")]
    pub for_: Option<String>,
    #[serde(default)]
    pub keep_firing_for: Option<String>,
    #[serde(default)]
    pub labels: Option<StrictMap>,
    #[serde(default)]
    pub annotations: Option<StrictMap>,
}

/// A string-to-string mapping that, like Go's yaml.v3, rejects a key given
/// twice (serde's map impls silently keep the last one) and reads a null
/// value as the empty string.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct StrictMap(pub BTreeMap<String, String>);

impl<'de> Deserialize<'de> for StrictMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StrictMap;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of strings to strings")
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<StrictMap, E> {
                Ok(StrictMap::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<StrictMap, A::Error> {
                let mut out = BTreeMap::new();
                while let Some(k) = m.next_key::<String>()? {
                    let v: Option<String> = m.next_value()?;
                    if out.contains_key(&k) {
                        return Err(serde::de::Error::custom(format!(
                            "mapping key {k:?} already defined"
                        )));
                    }
                    out.insert(k, v.unwrap_or_default());
                }
                Ok(StrictMap(out))
            }
        }
        d.deserialize_any(V)
    }
}
