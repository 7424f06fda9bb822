//! Thresholds as users write them: an operator and a number, `"<= 0.02"`,
//! `"< 2%"`, `">= 97%"`. The operator states what *passes*.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Comparison operator of a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "==")]
    Eq,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Eq => "==",
        }
    }

    /// True when smaller values are better (`<`, `<=`, `==`): the gate's
    /// "worst" of several series is then the largest.
    pub fn upper_bound(self) -> bool {
        matches!(self, Op::Lt | Op::Le | Op::Eq)
    }
}

/// `op value`: a value `v` satisfies it when `v op value`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Threshold {
    pub op: Op,
    pub value: f64,
}

impl Threshold {
    pub fn holds(&self, v: f64) -> bool {
        match self.op {
            Op::Lt => v < self.value,
            Op::Le => v <= self.value,
            Op::Gt => v > self.value,
            Op::Ge => v >= self.value,
            Op::Eq => v == self.value,
        }
    }

    /// Parses `"<= 0.02"`, `"<2%"`, `">= 97 %"`.
    pub fn parse(s: &str) -> Result<Threshold, String> {
        let t = s.trim();
        let (op, rest) = if let Some(r) = t.strip_prefix("<=") {
            (Op::Le, r)
        } else if let Some(r) = t.strip_prefix(">=") {
            (Op::Ge, r)
        } else if let Some(r) = t.strip_prefix("==") {
            (Op::Eq, r)
        } else if let Some(r) = t.strip_prefix('<') {
            (Op::Lt, r)
        } else if let Some(r) = t.strip_prefix('>') {
            (Op::Gt, r)
        } else {
            return Err(format!(
                "threshold {s:?} must start with <, <=, >, >= or == (quote it in YAML)"
            ));
        };
        let value = parse_number(rest).map_err(|e| format!("threshold {s:?}: {e}"))?;
        Ok(Threshold { op, value })
    }
}

/// A finite number, optionally a percentage (`2%` = 0.02).
pub fn parse_number(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let (num, scale) = match t.strip_suffix('%') {
        Some(n) => (n.trim(), 0.01),
        None => (t, 1.0),
    };
    match num.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v * scale),
        _ => Err(format!("{t:?} is not a number")),
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.op.as_str(), self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_operators_and_percentages() {
        assert_eq!(
            Threshold::parse("<= 0.02"),
            Ok(Threshold {
                op: Op::Le,
                value: 0.02
            })
        );
        assert_eq!(
            Threshold::parse("<2%"),
            Ok(Threshold {
                op: Op::Lt,
                value: 0.02
            })
        );
        assert_eq!(
            Threshold::parse(">= 97 %").map(|t| (t.op, (t.value * 100.0).round())),
            Ok((Op::Ge, 97.0))
        );
        assert!(Threshold::parse("0.02")
            .unwrap_err()
            .contains("must start with"));
        assert!(Threshold::parse("< abc").is_err());
        assert!(Threshold::parse("< NaN").is_err());
    }

    #[test]
    fn edges_follow_the_operator() {
        let le = Threshold::parse("<= 50").unwrap();
        assert!(le.holds(50.0) && !le.holds(51.0));
        let lt = Threshold::parse("< 126").unwrap();
        assert!(lt.holds(125.9) && !lt.holds(126.0));
        let ge = Threshold::parse(">= 0.97").unwrap();
        assert!(ge.holds(0.97) && !ge.holds(0.969));
    }
}
