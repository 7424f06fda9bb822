//! Calendar functions (`year`, `month`, `day_of_week`, ...) of Unix
//! timestamps in seconds, in UTC. Without an argument they read the
//! evaluation time.

use super::{out, FnCtx};
use crate::model::Labels;
use crate::promql::value::VSample;

/// A UTC calendar date and time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Civil {
    year: i64,
    month: u32,
    day: u32,
    /// 0 = Sunday.
    weekday: u32,
    hour: u32,
    minute: u32,
}

impl Civil {
    /// Splits Unix seconds into date and time (proleptic Gregorian,
    /// H. Hinnant's `civil_from_days`), valid for the whole i64 range.
    fn from_unix(secs: i64) -> Civil {
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        // Shift to an era starting on 0000-03-01; i128 avoids overflow at the extremes.
        let z = days as i128 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i128::from(month <= 2)) as i64;
        Civil {
            year,
            month,
            day,
            // 1970-01-01 was a Thursday.
            weekday: (days + 4).rem_euclid(7) as u32,
            hour: (sod / 3600) as u32,
            minute: (sod % 3600 / 60) as u32,
        }
    }

    fn is_leap(&self) -> bool {
        (self.year % 4 == 0 && self.year % 100 != 0) || self.year % 400 == 0
    }

    fn days_in_month(&self) -> u32 {
        match self.month {
            2 if self.is_leap() => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        }
    }

    fn day_of_year(&self) -> u32 {
        const CUM: [u32; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
        let leap = u32::from(self.month > 2 && self.is_leap());
        CUM[self.month as usize - 1] + self.day + leap
    }
}

/// The calendar functions, by PromQL name.
pub(super) fn date_fn(name: &str) -> Option<fn(&Civil) -> f64> {
    Some(match name {
        "year" => |c| c.year as f64,
        "month" => |c| c.month as f64,
        "day_of_month" => |c| c.day as f64,
        "day_of_week" => |c| c.weekday as f64,
        "day_of_year" => |c| c.day_of_year() as f64,
        "days_in_month" => |c| c.days_in_month() as f64,
        "hour" => |c| c.hour as f64,
        "minute" => |c| c.minute as f64,
        _ => return None,
    })
}

/// Applies `f` to each value (seconds, truncated like Go's `int64(f)`), or
/// to the evaluation time when there is no argument (then with empty
/// labels).
pub(super) fn apply(
    v: Option<Vec<VSample>>,
    ctx: &FnCtx<'_>,
    f: fn(&Civil) -> f64,
) -> Vec<VSample> {
    match v {
        None => vec![out(
            Labels::new(),
            f(&Civil::from_unix(ctx.t / 1000)),
            ctx,
            false,
        )],
        Some(mut v) => {
            for s in &mut v {
                s.v = f(&Civil::from_unix(go_f64_to_i64(s.v)));
                s.t = ctx.t;
                s.drop_name = true;
            }
            v
        }
    }
}

/// Go's float-to-int64 conversion on amd64: truncation, and the "integer
/// indefinite" value `i64::MIN` for NaN and out-of-range inputs.
fn go_f64_to_i64(f: f64) -> i64 {
    if f.is_nan() || f >= 9.223_372_036_854_775_807e18 || f < -9.223_372_036_854_775_808e18 {
        i64::MIN
    } else {
        f as i64
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::promql::value::Value;

    fn at(name: &str, secs: f64) -> f64 {
        one(run(name, vec![Value::Vector(vec![vsample(&[], secs)])], 0).0)
    }

    #[test]
    fn values_from_functions_test() {
        // functions.test, 1136239445 = 2006-01-02 22:04:05 UTC (a Monday).
        assert_eq!(at("year", 1136239445.0), 2006.0);
        assert_eq!(at("month", 1136239445.0), 1.0);
        assert_eq!(at("day_of_month", 1136239445.0), 2.0);
        assert_eq!(at("day_of_year", 1136239445.0), 2.0);
        assert_eq!(at("day_of_week", 1136239445.0), 1.0);
        assert_eq!(at("hour", 1136239445.0), 22.0);
        assert_eq!(at("minute", 1136239445.0), 4.0);
        assert_eq!(at("year", 1230767999.0), 2008.0);
        assert_eq!(at("year", 1230768000.0), 2009.0);
        assert_eq!(at("month", 1456790399.0), 2.0);
        assert_eq!(at("day_of_month", 1456790399.0), 29.0);
        assert_eq!(at("month", 1456790400.0), 3.0);
        assert_eq!(at("day_of_year", 1483191420.0), 366.0);
        assert_eq!(at("day_of_year", 1672493820.0), 365.0);
        assert_eq!(at("days_in_month", 1454284800.0), 29.0);
        assert_eq!(at("days_in_month", 1485907200.0), 28.0);
    }

    #[test]
    fn without_argument_uses_eval_time() {
        // 1970-01-01 was a Thursday.
        assert_eq!(
            vec_of(run("day_of_week", vec![], 0).0),
            vec![("{}".to_string(), 4.0)]
        );
        assert_eq!(
            vec_of(run("year", vec![], 0).0),
            vec![("{}".to_string(), 1970.0)]
        );
    }

    #[test]
    fn negative_and_extreme_times() {
        assert_eq!(at("year", -1.0), 1969.0);
        assert_eq!(at("day_of_week", -86_400.0), 3.0);
        assert_eq!(at("year", -62135596800.0), 1.0, "0001-01-01");
        // Must not panic at the i64 limits.
        at("year", f64::NAN);
        at("year", 1e300);
    }
}
