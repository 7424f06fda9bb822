//! Element-wise math on instant vectors (`abs`, `round`, `clamp`, trig,
//! ...), `timestamp`, `vector` and `scalar`.

use super::{out, FnCtx};
use crate::model::Labels;
use crate::promql::value::VSample;

/// The plain `f64 -> f64` functions, by PromQL name.
pub(super) fn simple_fn(name: &str) -> Option<fn(f64) -> f64> {
    Some(match name {
        "abs" => f64::abs,
        "ceil" => f64::ceil,
        "floor" => f64::floor,
        "exp" => f64::exp,
        "sqrt" => f64::sqrt,
        "ln" => f64::ln,
        "log2" => f64::log2,
        "log10" => f64::log10,
        "sin" => f64::sin,
        "cos" => f64::cos,
        "tan" => f64::tan,
        "asin" => f64::asin,
        "acos" => f64::acos,
        "atan" => f64::atan,
        "sinh" => f64::sinh,
        "cosh" => f64::cosh,
        "tanh" => f64::tanh,
        "asinh" => f64::asinh,
        "acosh" => f64::acosh,
        "atanh" => f64::atanh,
        "deg" => |v| v * 180.0 / std::f64::consts::PI,
        "rad" => |v| v * std::f64::consts::PI / 180.0,
        // Zero and NaN map to themselves (keeps -0 and NaN).
        "sgn" => |v| {
            if v < 0.0 {
                -1.0
            } else if v > 0.0 {
                1.0
            } else {
                v
            }
        },
        _ => return None,
    })
}

/// Replaces every value by `f(value)`; the result drops the metric name.
pub(super) fn map_values(
    mut v: Vec<VSample>,
    ctx: &FnCtx<'_>,
    f: impl Fn(f64) -> f64,
) -> Vec<VSample> {
    for s in &mut v {
        s.v = f(s.v);
        s.t = ctx.t;
        s.drop_name = true;
    }
    v
}

/// `round(v, to_nearest)`: ties round up; multiplying by the inverse gives
/// fewer floating-point surprises than dividing (as in Prometheus).
pub(super) fn round(v: Vec<VSample>, to_nearest: f64, ctx: &FnCtx<'_>) -> Vec<VSample> {
    let inv = 1.0 / to_nearest;
    map_values(v, ctx, |x| (x * inv + 0.5).floor() / inv)
}

/// Go's `math.Max`: NaN wins, and +0 beats -0.
fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == 0.0 && b == 0.0 {
        if a.is_sign_positive() {
            a
        } else {
            b
        }
    } else if a > b {
        a
    } else {
        b
    }
}

/// Go's `math.Min`: NaN wins, and -0 beats +0.
fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == 0.0 && b == 0.0 {
        if a.is_sign_negative() {
            a
        } else {
            b
        }
    } else if a < b {
        a
    } else {
        b
    }
}

/// `clamp`, `clamp_min` and `clamp_max`; an empty result when max < min.
pub(super) fn clamp(v: Vec<VSample>, min: f64, max: f64, ctx: &FnCtx<'_>) -> Vec<VSample> {
    if max < min {
        return Vec::new();
    }
    map_values(v, ctx, |x| go_max(min, go_min(max, x)))
}

/// The sample time in seconds: a selector's samples carry their stored
/// time, everything else the evaluation time.
pub(super) fn timestamp(mut v: Vec<VSample>, ctx: &FnCtx<'_>) -> Vec<VSample> {
    for s in &mut v {
        s.v = s.t as f64 / 1000.0;
        s.t = ctx.t;
        s.drop_name = true;
    }
    v
}

pub(super) fn vector(f: f64, ctx: &FnCtx<'_>) -> Vec<VSample> {
    vec![out(Labels::new(), f, ctx, false)]
}

/// The value of a single-element vector, NaN otherwise.
pub(super) fn scalar(v: &[VSample]) -> f64 {
    match v {
        [s] => s.v,
        _ => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::promql::value::{VSample, Value};

    fn vec1(v: f64) -> Value {
        Value::Vector(vec![vsample(&[("__name__", "m"), ("a", "1")], v)])
    }

    fn f(name: &str, v: f64) -> f64 {
        one(run(name, vec![vec1(v)], 0).0)
    }

    #[test]
    fn simple_functions() {
        assert_eq!(f("abs", -2.5), 2.5);
        assert_eq!(f("ceil", 1.2), 2.0);
        assert_eq!(f("floor", -1.2), -2.0);
        assert_eq!(f("sqrt", 9.0), 3.0);
        assert_eq!(f("log2", 8.0), 3.0);
        assert_eq!(f("log10", 1000.0), 3.0);
        assert_eq!(f("ln", 1.0), 0.0);
        assert_eq!(f("exp", 0.0), 1.0);
        assert_eq!(f("sgn", -3.0), -1.0);
        assert!(f("sgn", f64::NAN).is_nan());
        // trig_functions.test: deg(pi) = 180, rad(180) = pi.
        assert!(approx(f("deg", std::f64::consts::PI), 180.0));
        assert!(approx(f("rad", 180.0), std::f64::consts::PI));
        assert_eq!(f("atanh", 1.0), f64::INFINITY);
        assert!(f("acosh", 0.5).is_nan());
    }

    #[test]
    fn round_to_nearest() {
        // functions.test: round(-0.5) = -0 (ties up), round(x, 5) etc.
        assert_eq!(f("round", 2.5), 3.0);
        assert_eq!(f("round", -2.5), -2.0);
        let r = one(run("round", vec![vec1(12.0), Value::Scalar(5.0)], 0).0);
        assert_eq!(r, 10.0);
        let r = one(run("round", vec![vec1(1.234), Value::Scalar(0.1)], 0).0);
        assert!(approx(r, 1.2));
    }

    #[test]
    fn clamp_family() {
        let c = |v: f64, lo: f64, hi: f64| {
            vec_of(
                run(
                    "clamp",
                    vec![vec1(v), Value::Scalar(lo), Value::Scalar(hi)],
                    0,
                )
                .0,
            )
        };
        assert_eq!(c(5.0, 0.0, 3.0)[0].1, 3.0);
        assert_eq!(c(-5.0, 0.0, 3.0)[0].1, 0.0);
        assert!(c(5.0, 3.0, 0.0).is_empty(), "max < min gives nothing");
        assert!(
            c(5.0, f64::NAN, 3.0)[0].1.is_nan(),
            "NaN bounds propagate like Go's math.Max"
        );
        assert_eq!(
            one(run("clamp_min", vec![vec1(-1.0), Value::Scalar(0.0)], 0).0),
            0.0
        );
        assert_eq!(
            one(run("clamp_max", vec![vec1(7.0), Value::Scalar(5.0)], 0).0),
            5.0
        );
    }

    #[test]
    fn math_drops_name() {
        match run("abs", vec![vec1(-1.0)], 7).0.unwrap() {
            Value::Vector(v) => {
                assert!(v[0].drop_name);
                assert_eq!(v[0].t, 7000);
            }
            _ => panic!(),
        }
    }

    #[test]
    fn timestamp_uses_sample_time() {
        // functions.test: metric loaded at 10s steps, timestamp(metric) at 5s is 0.
        let v = Value::Vector(vec![VSample {
            labels: lbl(&[("__name__", "metric")]),
            t: 0,
            v: 1.0,
            drop_name: false,
        }]);
        assert_eq!(
            vec_of(run("timestamp", vec![v], 5).0),
            vec![("metric".to_string(), 0.0)]
        );
    }

    #[test]
    fn vector_and_scalar() {
        assert_eq!(
            vec_of(run("vector", vec![Value::Scalar(3.0)], 0).0),
            vec![("{}".to_string(), 3.0)]
        );
        assert_eq!(run("scalar", vec![vec1(4.0)], 0).0, Ok(Value::Scalar(4.0)));
        let two = Value::Vector(vec![
            vsample(&[("a", "1")], 1.0),
            vsample(&[("a", "2")], 2.0),
        ]);
        assert!(matches!(run("scalar", vec![two], 0).0, Ok(Value::Scalar(f)) if f.is_nan()));
    }
}
