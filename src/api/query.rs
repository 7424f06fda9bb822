//! Bodies of `/api/v1/query` and `/api/v1/query_range`: the success
//! envelope with `resultType`/`result`, warnings and infos, and the error
//! envelope. Field order and number formats follow Prometheus's
//! web/api/v1 (`Response`, `QueryData`, json_codec.go).

use super::json::{
    format_go_f, format_value, write_json_float, write_label_string, write_string, write_timestamp,
};
use crate::model::Labels;
use crate::promql::{EvalError, QueryOutput, QueryValue};

/// Prometheus's `errorType` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    /// A bad parameter, including a query that does not parse.
    BadData,
    /// The query failed while running.
    Execution,
    Timeout,
    Canceled,
    Internal,
    Unavailable,
    NotFound,
}

impl ErrorType {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::BadData => "bad_data",
            ErrorType::Execution => "execution",
            ErrorType::Timeout => "timeout",
            ErrorType::Canceled => "canceled",
            ErrorType::Internal => "internal",
            ErrorType::Unavailable => "unavailable",
            ErrorType::NotFound => "not_found",
        }
    }

    /// The HTTP status Prometheus answers with for this error type.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorType::BadData => 400,
            ErrorType::Execution => 422,
            ErrorType::Timeout | ErrorType::Canceled | ErrorType::Unavailable => 503,
            ErrorType::Internal => 500,
            ErrorType::NotFound => 404,
        }
    }
}

/// An API error: its type and the message shown to the client.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub kind: ErrorType,
    pub message: String,
}

impl ApiError {
    pub fn new(kind: ErrorType, message: impl Into<String>) -> Self {
        ApiError {
            kind,
            message: message.into(),
        }
    }

    /// A bad request parameter, worded like Prometheus's `invalidParamError`.
    pub fn invalid_param(param: &str, err: impl std::fmt::Display) -> Self {
        ApiError::new(
            ErrorType::BadData,
            format!("invalid parameter \"{param}\": {err}"),
        )
    }

    /// A query that does not parse.
    pub fn bad_query(parse_error: impl std::fmt::Display) -> Self {
        ApiError::invalid_param("query", parse_error)
    }
}

/// Run-time errors map like Prometheus's `returnAPIError`: timeouts and
/// cancellation have their own types, everything else is `execution`.
impl From<&EvalError> for ApiError {
    fn from(e: &EvalError) -> Self {
        let kind = match e {
            EvalError::Timeout => ErrorType::Timeout,
            _ => ErrorType::Execution,
        };
        ApiError::new(kind, e.to_string())
    }
}

/// The success body for a query result. `eval_t` is the evaluation time of
/// an instant query: vector samples are reported at it (for range queries
/// the result is a matrix and carries its own times).
pub fn encode_query_output(out: &QueryOutput, eval_t: i64) -> String {
    let mut s = String::with_capacity(256);
    s.push_str(r#"{"status":"success","data":{"resultType":"#);
    match &out.value {
        QueryValue::Vector(samples) => {
            s.push_str(r#""vector","result":["#);
            for (i, (labels, v)) in samples.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                s.push_str(r#"{"metric":"#);
                write_labels(&mut s, labels);
                s.push_str(r#","value":"#);
                write_point(&mut s, eval_t, *v);
                s.push('}');
            }
            s.push(']');
        }
        QueryValue::Matrix(series) => {
            s.push_str(r#""matrix","result":["#);
            for (i, rs) in series.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                s.push_str(r#"{"metric":"#);
                write_labels(&mut s, &rs.labels);
                // Prometheus leaves out "values" for a series without floats.
                if !rs.points.is_empty() {
                    s.push_str(r#","values":["#);
                    for (j, p) in rs.points.iter().enumerate() {
                        if j > 0 {
                            s.push(',');
                        }
                        write_point(&mut s, p.t, p.v);
                    }
                    s.push(']');
                }
                s.push('}');
            }
            s.push(']');
        }
        // promql.Scalar/String marshal through encoding/json: the time is a
        // float64 of seconds and the scalar value uses plain 'f' formatting.
        QueryValue::Scalar { t, v } => {
            s.push_str(r#""scalar","result":["#);
            write_json_float(&mut s, *t as f64 / 1000.0);
            s.push(',');
            write_string(&mut s, &format_go_f(*v));
            s.push(']');
        }
        QueryValue::String { t, s: text } => {
            s.push_str(r#""string","result":["#);
            write_json_float(&mut s, *t as f64 / 1000.0);
            s.push(',');
            write_string(&mut s, text);
            s.push(']');
        }
    }
    s.push('}');
    write_string_list(&mut s, "warnings", &out.annotations.warnings);
    write_string_list(&mut s, "infos", &out.annotations.infos);
    s.push('}');
    s
}

/// The error body: `{"status":"error","errorType":"bad_data","error":"..."}`.
pub fn encode_error(err: &ApiError) -> String {
    let mut s = String::from(r#"{"status":"error","errorType":"#);
    write_string(&mut s, err.kind.as_str());
    s.push_str(r#","error":"#);
    write_string(&mut s, &err.message);
    s.push('}');
    s
}

fn write_labels(s: &mut String, labels: &Labels) {
    s.push('{');
    for (i, l) in labels.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        write_label_string(s, &l.name);
        s.push(':');
        write_label_string(s, &l.value);
    }
    s.push('}');
}

/// `[1435781451.781,"1"]`.
fn write_point(s: &mut String, t: i64, v: f64) {
    s.push('[');
    write_timestamp(s, t);
    s.push_str(",\"");
    s.push_str(&format_value(v));
    s.push_str("\"]");
}

/// `,"warnings":["a","b"]`, left out when empty (Go's `omitempty`).
fn write_string_list(s: &mut String, key: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    s.push(',');
    write_string(s, key);
    s.push_str(":[");
    for (i, w) in items.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        write_string(s, w);
    }
    s.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Sample;
    use crate::promql::{Annotations, RangeSeries};

    fn out(value: QueryValue) -> QueryOutput {
        QueryOutput {
            value,
            annotations: Annotations::default(),
        }
    }

    fn l(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn vector_body() {
        let v = out(QueryValue::Vector(vec![
            (
                l(&[
                    ("__name__", "up"),
                    ("job", "prometheus"),
                    ("instance", "localhost:9090"),
                ]),
                1.0,
            ),
            (l(&[("job", "node")]), f64::NAN),
        ]));
        assert_eq!(
            encode_query_output(&v, 1_435_781_451_781),
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up","instance":"localhost:9090","job":"prometheus"},"value":[1435781451.781,"1"]},{"metric":{"job":"node"},"value":[1435781451.781,"NaN"]}]}}"#
        );
        assert_eq!(
            encode_query_output(&out(QueryValue::Vector(vec![])), 0),
            r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#
        );
    }

    #[test]
    fn matrix_body() {
        let m = out(QueryValue::Matrix(vec![
            RangeSeries {
                labels: l(&[("__name__", "x"), ("a", "<b>")]),
                points: vec![
                    Sample { t: 1_000, v: 0.5 },
                    Sample {
                        t: 1_780,
                        v: f64::INFINITY,
                    },
                ],
                drop_name: false,
            },
            RangeSeries {
                labels: Labels::new(),
                points: vec![],
                drop_name: false,
            },
        ]));
        assert_eq!(
            encode_query_output(&m, 0),
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"x","a":"<b>"},"values":[[1,"0.5"],[1.780,"+Inf"]]},{"metric":{}}]}}"#
        );
    }

    #[test]
    fn scalar_and_string_bodies() {
        let sc = out(QueryValue::Scalar {
            t: 1_435_781_451_780,
            v: 1.5e-7,
        });
        assert_eq!(
            encode_query_output(&sc, 0),
            r#"{"status":"success","data":{"resultType":"scalar","result":[1435781451.78,"0.00000015"]}}"#
        );
        let st = out(QueryValue::String {
            t: 1_000,
            s: "a\"b".into(),
        });
        assert_eq!(
            encode_query_output(&st, 0),
            r#"{"status":"success","data":{"resultType":"string","result":[1,"a\"b"]}}"#
        );
    }

    #[test]
    fn warnings_and_infos() {
        let mut o = out(QueryValue::Vector(vec![]));
        o.annotations.warn("PromQL warning: something");
        o.annotations
            .info("PromQL info: metric might not be a counter");
        assert_eq!(
            encode_query_output(&o, 0),
            r#"{"status":"success","data":{"resultType":"vector","result":[]},"warnings":["PromQL warning: something"],"infos":["PromQL info: metric might not be a counter"]}"#
        );
    }

    /// Bodies captured from Prometheus 3.5.3 for the same results:
    /// `query_range?query=vector(1e21)&start=-1.5&end=0&step=0.5`,
    /// `query?query=label_replace(vector(1.5e-7),"x","a<b\"\n&","","")&time=1435781451.780`
    /// and `query?query="<&>"&time=1000`.
    #[test]
    fn bodies_match_prometheus() {
        let range = out(QueryValue::Matrix(vec![RangeSeries {
            labels: Labels::new(),
            points: [-1500, -1000, -500, 0]
                .iter()
                .map(|&t| Sample { t, v: 1e21 })
                .collect(),
            drop_name: false,
        }]));
        assert_eq!(
            encode_query_output(&range, 0),
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[-1.500,"1e+21"],[-1,"1e+21"],[-0.500,"1e+21"],[0,"1e+21"]]}]}}"#
        );
        let v = out(QueryValue::Vector(vec![(l(&[("x", "a<b\"\n&")]), 1.5e-7)]));
        assert_eq!(
            encode_query_output(&v, 1_435_781_451_780),
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"x":"a<b\"\n&"},"value":[1435781451.780,"1.5e-07"]}]}}"#
        );
        let st = out(QueryValue::String {
            t: 1_000_000,
            s: "<&>\u{2028}".into(),
        });
        assert_eq!(
            encode_query_output(&st, 0),
            r#"{"status":"success","data":{"resultType":"string","result":[1000,"\u003c\u0026\u003e\u2028"]}}"#
        );
        let e = ApiError::bad_query("1:13: parse error: unexpected <op:<>");
        assert_eq!(
            encode_error(&e),
            r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:13: parse error: unexpected \u003cop:\u003c\u003e"}"#
        );
    }

    #[test]
    fn error_bodies() {
        let e = ApiError::bad_query("1:5: parse error: unexpected <EOF>");
        assert_eq!(e.kind.http_status(), 400);
        assert_eq!(
            encode_error(&e),
            r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unexpected \u003cEOF\u003e"}"#
        );
        let e = ApiError::from(&EvalError::Execution(
            "vector cannot contain metrics with the same labelset".into(),
        ));
        assert_eq!(e.kind, ErrorType::Execution);
        assert_eq!(e.kind.http_status(), 422);
        assert_eq!(ApiError::from(&EvalError::Timeout).kind, ErrorType::Timeout);
    }
}
