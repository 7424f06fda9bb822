//! Values flowing through the engine and the results it returns.

use crate::model::{Labels, Sample};

/// One element of an instant vector during evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct VSample {
    pub labels: Labels,
    /// Timestamp of the sample: a selector's output keeps the stored sample's
    /// time (so `timestamp()` can read it); every other operation sets the
    /// evaluation time. Results are reported at the evaluation time.
    pub t: i64,
    pub v: f64,
    /// Delayed `__name__` removal: set by value-changing operations, applied
    /// at the end of the evaluation.
    pub drop_name: bool,
}

/// One series of a range vector (matrix).
#[derive(Debug, Clone, PartialEq)]
pub struct RangeSeries {
    pub labels: Labels,
    pub points: Vec<Sample>,
    pub drop_name: bool,
}

/// A range-vector argument as functions see it: the series and the window
/// `(range_start, range_end]` they were selected from (after offset and @).
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    pub series: Vec<RangeSeries>,
    pub range_start: i64,
    pub range_end: i64,
}

/// A value during evaluation.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar(f64),
    String(String),
    Vector(Vec<VSample>),
    Matrix(Matrix),
}

/// Warnings and infos collected during a query (Prometheus annotations).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Annotations {
    pub warnings: Vec<String>,
    pub infos: Vec<String>,
}

impl Annotations {
    pub fn warn(&mut self, msg: impl Into<String>) {
        let m = msg.into();
        if !self.warnings.contains(&m) {
            self.warnings.push(m);
        }
    }
    pub fn info(&mut self, msg: impl Into<String>) {
        let m = msg.into();
        if !self.infos.contains(&m) {
            self.infos.push(m);
        }
    }
    pub fn merge(&mut self, other: Annotations) {
        for w in other.warnings {
            self.warn(w);
        }
        for i in other.infos {
            self.info(i);
        }
    }
}

/// The final value of a query, as `/api/v1/query(_range)` reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryValue {
    Scalar {
        t: i64,
        v: f64,
    },
    String {
        t: i64,
        s: String,
    },
    /// Instant vector; every sample at the evaluation time.
    Vector(Vec<(Labels, f64)>),
    /// Range result (or an instant query of a range selector).
    Matrix(Vec<RangeSeries>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct QueryOutput {
    pub value: QueryValue,
    pub annotations: Annotations,
}

/// A query that failed at run time. The message is Prometheus's wording where
/// one exists, because users and the conformance scripts compare it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    #[error("{0}")]
    Execution(String),
    #[error("query processing would load too many samples into memory in query execution")]
    TooManySamples,
    #[error("query timed out in expression evaluation")]
    Timeout,
    #[error("unsupported: {0}")]
    Unsupported(String),
}
