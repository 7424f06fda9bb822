//! The gate's answer: GO to a step, HOLD, or BACKOUT. Written and read as
//! `GO_25`, `HOLD`, `BACKOUT` (runbook 001's names).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Advance (or stay, at the last step) to this step.
    Go(u32),
    Hold,
    Backout,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Go(s) => write!(f, "GO_{s}"),
            Verdict::Hold => f.write_str("HOLD"),
            Verdict::Backout => f.write_str("BACKOUT"),
        }
    }
}

impl FromStr for Verdict {
    type Err = String;
    fn from_str(s: &str) -> Result<Verdict, String> {
        match s {
            "HOLD" => Ok(Verdict::Hold),
            "BACKOUT" => Ok(Verdict::Backout),
            _ => s
                .strip_prefix("GO_")
                .and_then(|n| n.parse().ok())
                .map(Verdict::Go)
                .ok_or_else(|| format!("unknown decision {s:?} (want GO_<step>, HOLD or BACKOUT)")),
        }
    }
}

impl Serialize for Verdict {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Verdict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Verdict, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_runbook_names() {
        for s in ["GO_25", "GO_100", "HOLD", "BACKOUT"] {
            assert_eq!(s.parse::<Verdict>().unwrap().to_string(), s);
        }
        assert!("GO".parse::<Verdict>().is_err());
        assert!("go_25".parse::<Verdict>().is_err());
    }
}
