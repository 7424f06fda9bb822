//! The evaluator's internal values. Instant-vector samples borrow their label
//! set from the store until an operation changes it, so selectors feeding a
//! filter or an aggregation do not copy the labels of every series (that
//! copying dominated rule evaluation over 100k series).

use super::value::{Matrix, VSample, Value};
use crate::model::Labels;
use std::borrow::Cow;

/// One instant-vector element during evaluation; see [`VSample`].
#[derive(Debug, Clone)]
pub(crate) struct ESample<'a> {
    pub(crate) labels: Cow<'a, Labels>,
    pub(crate) t: i64,
    pub(crate) v: f64,
    pub(crate) drop_name: bool,
}

impl<'a> ESample<'a> {
    pub(crate) fn into_vsample(self) -> VSample {
        VSample {
            labels: self.labels.into_owned(),
            t: self.t,
            v: self.v,
            drop_name: self.drop_name,
        }
    }

    pub(crate) fn from_vsample(s: VSample) -> Self {
        ESample {
            labels: Cow::Owned(s.labels),
            t: s.t,
            v: s.v,
            drop_name: s.drop_name,
        }
    }
}

/// A value during evaluation; see [`Value`].
#[derive(Debug, Clone)]
pub(crate) enum EValue<'a> {
    Scalar(f64),
    String(String),
    Vector(Vec<ESample<'a>>),
    Matrix(Matrix),
}

impl<'a> EValue<'a> {
    /// The owned form that functions take.
    pub(crate) fn into_value(self) -> Value {
        match self {
            EValue::Scalar(v) => Value::Scalar(v),
            EValue::String(s) => Value::String(s),
            EValue::Vector(v) => Value::Vector(v.into_iter().map(ESample::into_vsample).collect()),
            EValue::Matrix(m) => Value::Matrix(m),
        }
    }

    pub(crate) fn from_value(v: Value) -> Self {
        match v {
            Value::Scalar(v) => EValue::Scalar(v),
            Value::String(s) => EValue::String(s),
            Value::Vector(v) => EValue::Vector(v.into_iter().map(ESample::from_vsample).collect()),
            Value::Matrix(m) => EValue::Matrix(m),
        }
    }
}
