//! Float samples and series.

use super::Labels;

/// Prometheus's staleness marker: a NaN with a specific bit pattern.
pub const STALE_NAN: f64 = f64::from_bits(0x7ff0_0000_0000_0002);

pub fn is_stale_nan(v: f64) -> bool {
    v.to_bits() == 0x7ff0_0000_0000_0002
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub t: i64,
    pub v: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: Labels,
    /// Sorted by time, no duplicate timestamps.
    pub samples: Vec<Sample>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_nan_is_nan_but_special() {
        assert!(STALE_NAN.is_nan());
        assert!(is_stale_nan(STALE_NAN));
        assert!(!is_stale_nan(f64::NAN));
    }
}
