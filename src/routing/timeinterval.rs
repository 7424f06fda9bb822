//! Time intervals (`time_intervals:` / legacy `mute_time_intervals:`), as in
//! upstream `timeinterval/timeinterval.go`: a spec matches an instant when
//! every field that is present has a matching entry; a named interval matches
//! when any of its specs matches.
//!
//! One deliberate difference from 0.33.1: the month length used for negative
//! `days_of_month` is the calendar length. 0.33.1 derived it from the hours in
//! the month, which makes the month of a spring-forward DST switch one day
//! short (`-1` = 30 March in Europe/Berlin); later releases fixed that (#5447).

use chrono::{Datelike, NaiveDate, TimeZone, Timelike};
use serde::Deserialize;

/// A spec that does not parse (bad time, day name, range...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TimeIntervalError(pub String);

/// Raw YAML shape of one interval spec.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTimeInterval {
    #[serde(default)]
    pub times: Option<Vec<RawTimeRange>>,
    #[serde(default)]
    pub weekdays: Option<Vec<String>>,
    #[serde(default)]
    pub days_of_month: Option<Vec<super::config::Scalar>>,
    #[serde(default)]
    pub months: Option<Vec<super::config::Scalar>>,
    #[serde(default)]
    pub years: Option<Vec<super::config::Scalar>>,
    #[serde(default)]
    pub location: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTimeRange {
    #[serde(default)]
    pub start_time: Option<String>,
    #[serde(default)]
    pub end_time: Option<String>,
}

/// Where the fields of a spec are evaluated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Location {
    Utc,
    Local,
    Tz(chrono_tz::Tz),
}

/// An inclusive range `begin..=end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub begin: i32,
    pub end: i32,
}

/// One validated interval spec.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeInterval {
    /// Minutes of the day, start inclusive, end exclusive.
    pub times: Option<Vec<(u32, u32)>>,
    /// 0 = Sunday.
    pub weekdays: Option<Vec<Range>>,
    pub days_of_month: Option<Vec<Range>>,
    pub months: Option<Vec<Range>>,
    pub years: Option<Vec<Range>>,
    pub location: Location,
}

/// Calendar fields of an instant in some zone.
struct Civil {
    minute_of_day: u32,
    day: i32,
    month: i32,
    year: i32,
    weekday: i32,
    days_in_month: i32,
}

fn civil_in<Tz: TimeZone>(tz: &Tz, ms: i64) -> Option<Civil> {
    let t = tz.timestamp_millis_opt(ms).single()?;
    let first = NaiveDate::from_ymd_opt(t.year(), t.month(), 1)?;
    let next = if t.month() == 12 {
        NaiveDate::from_ymd_opt(t.year() + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(t.year(), t.month() + 1, 1)?
    };
    Some(Civil {
        minute_of_day: t.hour() * 60 + t.minute(),
        day: t.day() as i32,
        month: t.month() as i32,
        year: t.year(),
        weekday: t.weekday().num_days_from_sunday() as i32,
        days_in_month: (next - first).num_days() as i32,
    })
}

impl TimeInterval {
    /// Does the spec contain the instant `ms` (milliseconds since the epoch)?
    pub fn contains(&self, ms: i64) -> bool {
        let c = match self.location {
            Location::Utc => civil_in(&chrono::Utc, ms),
            Location::Local => civil_in(&chrono::Local, ms),
            Location::Tz(tz) => civil_in(&tz, ms),
        };
        let Some(c) = c else { return false };
        if let Some(times) = &self.times {
            if !times
                .iter()
                .any(|&(s, e)| c.minute_of_day >= s && c.minute_of_day < e)
            {
                return false;
            }
        }
        if let Some(days) = &self.days_of_month {
            let dim = c.days_in_month;
            let hit = days.iter().any(|r| {
                let begin = if r.begin < 0 {
                    dim + r.begin + 1
                } else {
                    r.begin
                };
                let end = if r.end < 0 { dim + r.end + 1 } else { r.end };
                if begin > dim {
                    return false;
                }
                let begin = begin.clamp(-dim, dim);
                let end = end.clamp(-dim, dim);
                c.day >= begin && c.day <= end
            });
            if !hit {
                return false;
            }
        }
        let in_ranges = |rs: &Option<Vec<Range>>, v: i32| {
            rs.as_ref()
                .is_none_or(|rs| rs.iter().any(|r| v >= r.begin && v <= r.end))
        };
        in_ranges(&self.months, c.month)
            && in_ranges(&self.weekdays, c.weekday)
            && in_ranges(&self.years, c.year)
    }
}

const WEEKDAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];
const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn err(s: String) -> TimeIntervalError {
    TimeIntervalError(s)
}

fn parse_range(
    s: &str,
    member: impl Fn(&str) -> Result<i32, TimeIntervalError>,
) -> Result<Range, TimeIntervalError> {
    let s = s.to_lowercase();
    if s.contains(':') {
        let parts: Vec<&str> = s.split(':').collect();
        if parts.len() != 2 {
            return Err(err(format!("couldn't parse range {s}, invalid format")));
        }
        Ok(Range {
            begin: member(parts[0])?,
            end: member(parts[1])?,
        })
    } else {
        let v = member(&s)?;
        Ok(Range { begin: v, end: v })
    }
}

fn atoi(s: &str) -> Result<i32, TimeIntervalError> {
    s.parse::<i32>()
        .map_err(|_| err(format!("strconv.Atoi: parsing {s:?}: invalid syntax")))
}

fn parse_weekday(s: &str) -> Result<Range, TimeIntervalError> {
    let r = parse_range(s, |m| {
        WEEKDAYS
            .iter()
            .position(|d| *d == m)
            .map(|p| p as i32)
            .ok_or_else(|| err(format!("{m} is not a valid weekday")))
    })?;
    if r.begin > r.end {
        return Err(err("start day cannot be before end day".into()));
    }
    Ok(r)
}

fn parse_day_of_month(s: &str) -> Result<Range, TimeIntervalError> {
    let r = parse_range(s, atoi)?;
    for v in [r.begin, r.end] {
        if v == 0 || !(-31..=31).contains(&v) {
            return Err(err(format!(
                "{v} is not a valid day of the month: out of range"
            )));
        }
    }
    if r.begin < 0 && r.end > 0 {
        return Err(err(
            "end day must be negative if start day is negative".into()
        ));
    }
    let cb = if r.begin < 0 { 28 + r.begin } else { r.begin };
    let ce = if r.end < 0 { 28 + r.end } else { r.end };
    if cb > ce {
        return Err(err(format!(
            "end day {} is always before start day {}",
            r.end, r.begin
        )));
    }
    Ok(r)
}

fn parse_month(s: &str) -> Result<Range, TimeIntervalError> {
    let r = parse_range(s, |m| match MONTHS.iter().position(|n| *n == m) {
        Some(p) => Ok(p as i32 + 1),
        None => m
            .parse::<i32>()
            .map_err(|_| err(format!("{m} is not a valid month"))),
    })?;
    if r.begin > r.end {
        return Err(err(format!(
            "end month {} is before start month {}",
            r.end, r.begin
        )));
    }
    Ok(r)
}

fn parse_year(s: &str) -> Result<Range, TimeIntervalError> {
    let r = parse_range(s, atoi)?;
    if r.begin > r.end {
        return Err(err(format!(
            "end year {} is before start year {}",
            r.end, r.begin
        )));
    }
    Ok(r)
}

/// `HH:MM` with hours 00-23, or `24:00`; returns minutes of the day.
pub fn parse_clock(s: &str) -> Result<u32, TimeIntervalError> {
    let b = s.as_bytes();
    let ok = s == "24:00"
        || (b.len() == 5
            && b[2] == b':'
            && b[0].is_ascii_digit()
            && b[1].is_ascii_digit()
            && b[3].is_ascii_digit()
            && b[4].is_ascii_digit()
            && (b[0] - b'0') * 10 + (b[1] - b'0') < 24
            && b[3] < b'6');
    if !ok {
        return Err(err(format!("couldn't parse timestamp {s}, invalid format")));
    }
    let h: u32 = s[..2].parse().unwrap_or(0);
    let m: u32 = s[3..].parse().unwrap_or(0);
    Ok(h * 60 + m)
}

/// Parses an IANA zone name, `UTC` or `Local`.
pub fn parse_location(s: &str) -> Result<Location, TimeIntervalError> {
    match s {
        "UTC" | "" => Ok(Location::Utc),
        "Local" => Ok(Location::Local),
        _ => s
            .parse::<chrono_tz::Tz>()
            .map(Location::Tz)
            .map_err(|_| err(format!("unknown time zone {s}"))),
    }
}

impl RawTimeInterval {
    /// Validates the spec; every problem is returned with its field name.
    pub fn build(&self) -> Result<TimeInterval, Vec<(String, TimeIntervalError)>> {
        let mut errs = Vec::new();
        let mut list = |field: &str,
                        items: Option<Vec<String>>,
                        f: fn(&str) -> Result<Range, TimeIntervalError>| {
            items.map(|v| {
                v.iter()
                    .enumerate()
                    .filter_map(|(i, s)| {
                        f(s).map_err(|e| errs.push((format!("{field}.{i}"), e)))
                            .ok()
                    })
                    .collect::<Vec<_>>()
            })
        };
        let scal = |v: &Option<Vec<super::config::Scalar>>| {
            v.as_ref().map(|v| v.iter().map(|s| s.0.clone()).collect())
        };
        let weekdays = list("weekdays", self.weekdays.clone(), parse_weekday);
        let days_of_month = list(
            "days_of_month",
            scal(&self.days_of_month),
            parse_day_of_month,
        );
        let months = list("months", scal(&self.months), parse_month);
        let years = list("years", scal(&self.years), parse_year);
        let mut times = None;
        if let Some(ts) = &self.times {
            let mut out = Vec::new();
            for (i, t) in ts.iter().enumerate() {
                let (Some(s), Some(e)) = (
                    t.start_time.as_deref().filter(|s| !s.is_empty()),
                    t.end_time.as_deref().filter(|s| !s.is_empty()),
                ) else {
                    errs.push((
                        format!("times.{i}"),
                        err("both start and end times must be provided".into()),
                    ));
                    continue;
                };
                match (parse_clock(s), parse_clock(e)) {
                    (Ok(s), Ok(e)) if s < e => out.push((s, e)),
                    (Ok(_), Ok(_)) => errs.push((
                        format!("times.{i}"),
                        err("start time cannot be equal or greater than end time".into()),
                    )),
                    (Err(x), _) => errs.push((format!("times.{i}.start_time"), x)),
                    (_, Err(x)) => errs.push((format!("times.{i}.end_time"), x)),
                }
            }
            times = Some(out);
        }
        let location = match self.location.as_deref() {
            None => Location::Utc,
            Some(l) => parse_location(l).unwrap_or_else(|e| {
                errs.push(("location".into(), e));
                Location::Utc
            }),
        };
        if !errs.is_empty() {
            return Err(errs);
        }
        Ok(TimeInterval {
            times,
            weekdays,
            days_of_month,
            months,
            years,
            location,
        })
    }
}

/// Does any spec of a named interval contain `ms`?
pub fn any_contains(specs: &[TimeInterval], ms: i64) -> bool {
    specs.iter().any(|s| s.contains(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> TimeInterval {
        let raw: RawTimeInterval = yaml_serde::from_str(yaml).unwrap();
        raw.build().unwrap()
    }

    fn bad(yaml: &str) -> bool {
        let raw: RawTimeInterval = match yaml_serde::from_str(yaml) {
            Ok(r) => r,
            Err(_) => return true,
        };
        raw.build().is_err()
    }

    fn utc(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn times_start_inclusive_end_exclusive() {
        let t = spec("times: [{start_time: '08:00', end_time: '18:00'}]");
        assert!(!t.contains(utc("2024-01-01T07:59:59Z")));
        assert!(t.contains(utc("2024-01-01T08:00:00Z")));
        assert!(t.contains(utc("2024-01-01T17:59:59Z")));
        assert!(!t.contains(utc("2024-01-01T18:00:00Z")));
        let all_day = spec("times: [{start_time: '00:00', end_time: '24:00'}]");
        assert!(all_day.contains(utc("2024-01-01T23:59:00Z")));
    }

    #[test]
    fn weekdays_ranges_and_names() {
        let t = spec("weekdays: ['Monday:friday']");
        assert!(t.contains(utc("2024-01-01T12:00:00Z"))); // Monday
        assert!(t.contains(utc("2024-01-05T12:00:00Z"))); // Friday
        assert!(!t.contains(utc("2024-01-06T12:00:00Z"))); // Saturday
        assert!(!t.contains(utc("2024-01-07T12:00:00Z"))); // Sunday
    }

    #[test]
    fn days_of_month_negative_and_clamped() {
        let last = spec("days_of_month: ['-1']");
        assert!(last.contains(utc("2024-02-29T12:00:00Z")));
        assert!(!last.contains(utc("2024-02-28T12:00:00Z")));
        let late = spec("days_of_month: ['30:31']");
        assert!(
            !late.contains(utc("2023-02-28T12:00:00Z")),
            "start beyond month length never matches"
        );
        let wide = spec("days_of_month: ['1:31']");
        assert!(wide.contains(utc("2023-02-28T12:00:00Z")));
    }

    #[test]
    fn months_years() {
        let t = spec("months: ['may:august', 12]\nyears: ['2020:2022']");
        assert!(t.contains(utc("2021-06-01T00:00:00Z")));
        assert!(t.contains(utc("2022-12-31T00:00:00Z")));
        assert!(!t.contains(utc("2023-06-01T00:00:00Z")));
        assert!(!t.contains(utc("2021-04-30T23:59:59Z")));
    }

    #[test]
    fn invalid_specs_rejected() {
        assert!(bad("times: [{start_time: '18:00', end_time: '08:00'}]"));
        assert!(bad("times: [{start_time: '8:00', end_time: '18:00'}]"));
        assert!(bad("times: [{start_time: '24:00', end_time: '24:00'}]"));
        assert!(bad("times: [{start_time: '08:00'}]"));
        assert!(bad("weekdays: ['saturday:sunday']"));
        assert!(bad("weekdays: ['funday']"));
        assert!(bad("days_of_month: ['0']"));
        assert!(bad("days_of_month: ['-1:5']"));
        assert!(bad("days_of_month: ['10:5']"));
        assert!(bad("months: ['march:january']"));
        assert!(bad("years: ['2022:2020']"));
        assert!(bad("location: 'Mars/Olympus'"));
        assert!(bad("foo: 1"));
    }

    #[test]
    fn berlin_across_dst_changes() {
        let t = spec("times: [{start_time: '08:00', end_time: '18:00'}]\nweekdays: ['monday:friday']\nlocation: Europe/Berlin");
        // Winter (UTC+1): 08:00 Berlin = 07:00 UTC.
        assert!(!t.contains(utc("2024-03-29T06:59:59Z")));
        assert!(t.contains(utc("2024-03-29T07:00:00Z")));
        assert!(!t.contains(utc("2024-03-29T17:00:00Z")));
        // Spring forward on Sunday 31 March 2024; Monday 1 April is UTC+2.
        assert!(
            !t.contains(utc("2024-04-01T05:59:59Z")),
            "07:59:59 Berlin summer time"
        );
        assert!(
            t.contains(utc("2024-04-01T06:00:00Z")),
            "08:00 Berlin summer time"
        );
        assert!(t.contains(utc("2024-04-01T15:59:59Z")));
        assert!(!t.contains(utc("2024-04-01T16:00:00Z")));
        // Fall back on Sunday 27 October 2024; Monday 28 is UTC+1 again.
        assert!(
            t.contains(utc("2024-10-25T06:00:00Z")),
            "Friday, still summer time"
        );
        assert!(!t.contains(utc("2024-10-28T06:30:00Z")));
        assert!(t.contains(utc("2024-10-28T07:00:00Z")));
    }

    #[test]
    fn dst_switch_hour_itself() {
        // 02:00-03:00 does not exist on 31 March 2024 in Berlin; 01:59 CET is
        // followed by 03:00 CEST.
        let t = spec("times: [{start_time: '02:00', end_time: '03:00'}]\nlocation: Europe/Berlin");
        assert!(!t.contains(utc("2024-03-31T00:59:00Z")));
        assert!(!t.contains(utc("2024-03-31T01:00:00Z")), "03:00 CEST");
        // On 27 October 02:00-03:00 happens twice; both count.
        assert!(t.contains(utc("2024-10-27T00:30:00Z")));
        assert!(t.contains(utc("2024-10-27T01:30:00Z")));
    }

    #[test]
    fn last_day_of_march_in_berlin_is_the_31st() {
        let t = spec("days_of_month: ['-1']\nlocation: Europe/Berlin");
        assert!(t.contains(utc("2024-03-31T10:00:00Z")));
        assert!(!t.contains(utc("2024-03-30T10:00:00Z")));
    }
}
