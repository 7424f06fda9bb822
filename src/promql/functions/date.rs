//! Calendar functions (`year`, `month`, `day_of_week`, ...) of Unix
//! timestamps in seconds, in UTC. Without an argument they read the
//! evaluation time.

use super::{out, FnCtx};
use crate::model::Labels;
use crate::promql::value::VSample;

/// Seconds from the Unix epoch back to Go's "absolute" epoch, March 1 of
/// year -292277022399: Go's `unixToInternal + internalToAbsolute`.
const ABSOLUTE_YEARS: u64 = 292_277_022_400;
const MARCH_THRU_DECEMBER: u64 = 306;
const SECONDS_PER_DAY: u64 = 86_400;
const UNIX_TO_ABSOLUTE: u64 = (1969 * 365 + 1969 / 4 - 1969 / 100 + 1969 / 400) * SECONDS_PER_DAY
    + (ABSOLUTE_YEARS * 365 + ABSOLUTE_YEARS / 400 * 97 + MARCH_THRU_DECEMBER) * SECONDS_PER_DAY;

/// A UTC calendar date and time of day, computed exactly like Go's `time`
/// package (Neri-Schneider on unsigned "absolute" days, wrapping), so that
/// even out-of-range inputs such as NaN land on Go's (odd) answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Civil {
    year: i64,
    month: u32,
    day: u32,
    /// 1-based day of the year.
    yday: u32,
    /// 0 = Sunday.
    weekday: u32,
    hour: u32,
    minute: u32,
}

impl Civil {
    fn from_unix(secs: i64) -> Civil {
        let abs = (secs as u64).wrapping_add(UNIX_TO_ABSOLUTE);
        let days = abs / SECONDS_PER_DAY;
        let sod = abs % SECONDS_PER_DAY;
        // Centuries and years since March 1 of the absolute epoch.
        let d = days.wrapping_mul(4).wrapping_add(3);
        let century = d / 146_097;
        let cd = ((d % 146_097) as u32) | 3;
        let prod = 2_939_745u64 * u64::from(cd);
        let cyear = (prod >> 32) as u32;
        let ayday = (prod as u32) / 2_939_745 / 4;
        let m = 2141 * ayday + 197_913;
        let amonth = m >> 16;
        let day = 1 + (m & 0xffff) / 2141;
        let jan_feb = u32::from(u64::from(ayday) >= MARCH_THRU_DECEMBER);
        let leap =
            u32::from(cyear % 4 == 0) & (u32::from(cyear != 0) | u32::from(century % 4 == 0));
        let year = (century.wrapping_mul(100).wrapping_sub(ABSOLUTE_YEARS) as i64)
            .wrapping_add(i64::from(cyear) + i64::from(jan_feb));
        Civil {
            year,
            month: amonth - 12 * jan_feb,
            day,
            yday: ayday + (1 + 31 + 28) + (leap & !jan_feb) - 365 * jan_feb,
            // The absolute epoch, like March 1, 2000, was a Wednesday.
            weekday: ((days + 3) % 7) as u32,
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
}

/// The calendar functions, by PromQL name.
pub(super) fn date_fn(name: &str) -> Option<fn(&Civil) -> f64> {
    Some(match name {
        "year" => |c| c.year as f64,
        "month" => |c| c.month as f64,
        "day_of_month" => |c| c.day as f64,
        "day_of_week" => |c| c.weekday as f64,
        "day_of_year" => |c| c.yday as f64,
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
    // 2^63 as f64; the valid range is [-2^63, 2^63).
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if !(-LIMIT..LIMIT).contains(&f) {
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
        assert_eq!(at("year", 253402300799.0), 9999.0);
        // Go converts NaN and huge values to i64::MIN, whose date wraps
        // around in Go's calendar code (checked against Prometheus 3.5.3).
        assert_eq!(at("year", f64::NAN), 292277026596.0);
        assert_eq!(at("year", 1e300), 292277026596.0);
    }

    #[test]
    fn agrees_with_chrono_over_years_1_to_9999() {
        use chrono::{Datelike, Timelike};
        let (lo, hi) = (-62_135_596_800i64, 253_402_300_799i64);
        // A deterministic spread of instants, including both range ends.
        let mut t = lo;
        while t <= hi {
            let c = super::Civil::from_unix(t);
            let want = chrono::DateTime::from_timestamp(t, 0).unwrap();
            assert_eq!(
                (c.year, c.month, c.day, c.yday, c.weekday, c.hour, c.minute),
                (
                    i64::from(want.year()),
                    want.month(),
                    want.day(),
                    want.ordinal(),
                    want.weekday().num_days_from_sunday(),
                    want.hour(),
                    want.minute()
                ),
                "t={t}"
            );
            t += 7_777_777;
        }
    }
}
