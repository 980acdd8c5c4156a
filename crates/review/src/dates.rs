//! Times as callers give them, and the range the service supports.
//!
//! Every time a caller sends (a planned launch in JSON or a form, the time inside a cursor) is read here. A
//! time must fall between `EARLIEST` and `LATEST` once turned to UTC: SQLite keeps times as text and compares
//! them as text, so a year of five digits (`9999-12-31T23:59:59-23:59` is in year 10000) or below zero would
//! sort among the wrong rows and vanish from every list.

use crate::ValidationError;
use chrono::{DateTime, NaiveDateTime, SecondsFormat, Timelike, Utc};

/// The earliest supported time, 1970-01-01T00:00:00Z.
pub fn earliest() -> DateTime<Utc> {
    DateTime::UNIX_EPOCH
}

/// The latest supported time, 9999-12-31T23:59:59.999999Z.
pub fn latest() -> DateTime<Utc> {
    // 253402300800 is 10000-01-01T00:00:00Z.
    DateTime::from_timestamp(253_402_300_799, 999_999_000).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// An RFC 3339 time in UTC to the second, as errors and cursors show it.
pub fn display(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Checks that a time is in the supported range; the error names the field and the range.
pub fn check_supported(field: &str, at: DateTime<Utc>) -> Result<DateTime<Utc>, ValidationError> {
    if at < earliest() || at > latest() {
        return Err(ValidationError::new(
            field,
            format!(
                "must be between {} and {}",
                display(earliest()),
                display(latest())
            ),
        ));
    }
    Ok(at)
}

/// Reads a time as RFC 3339 (any offset), or as `YYYY-MM-DDTHH:MM[:SS]` taken to be UTC (what an HTML form
/// sends), truncated to microseconds (what PostgreSQL keeps), and checks it is in the supported range.
pub fn parse_time(field: &str, value: &str) -> Result<DateTime<Utc>, ValidationError> {
    let value = value.trim();
    let parsed = if value.len() > 64 {
        None
    } else if let Ok(at) = DateTime::parse_from_rfc3339(value) {
        Some(at.with_timezone(&Utc))
    } else {
        ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
            .iter()
            .find_map(|format| NaiveDateTime::parse_from_str(value, format).ok())
            .map(|naive| naive.and_utc())
    };
    let at = parsed
        .ok_or_else(|| ValidationError::new(field, "must be a date and time like 2027-03-01T16:00:00Z"))?;
    // By hand: chrono's rounding works only on times that fit in i64 nanoseconds (1677 to 2262).
    let at = at.with_nanosecond(at.nanosecond() / 1000 * 1000).unwrap_or(at);
    check_supported(field, at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_callers_give() {
        let utc = |y, mo, d, h, mi, s| Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap();
        let range = "must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z";
        let format = "must be a date and time like 2027-03-01T16:00:00Z";
        // (input, Ok(time) or Err(message))
        let cases: Vec<(&str, Result<DateTime<Utc>, &str>)> = vec![
            ("2027-03-01T16:00:00Z", Ok(utc(2027, 3, 1, 16, 0, 0))),
            ("2027-03-01T16:00:00+02:00", Ok(utc(2027, 3, 1, 14, 0, 0))),
            ("  2027-03-01T16:00:00Z  ", Ok(utc(2027, 3, 1, 16, 0, 0))),
            ("2027-03-01T16:00", Ok(utc(2027, 3, 1, 16, 0, 0))),
            ("2027-03-01T16:00:30", Ok(utc(2027, 3, 1, 16, 0, 30))),
            ("1970-01-01T00:00:00Z", Ok(utc(1970, 1, 1, 0, 0, 0))),
            ("9999-12-31T23:59:59Z", Ok(utc(9999, 12, 31, 23, 59, 59))),
            ("9999-12-31T23:59:59+05:00", Ok(utc(9999, 12, 31, 18, 59, 59))),
            // Offsets that push a time out of the range once in UTC.
            ("9999-12-31T23:59:59-23:59", Err(range)),
            ("9999-12-31T23:00:00-01:00", Err(range)),
            ("1970-01-01T00:00:00+00:01", Err(range)),
            ("1969-12-31T23:59:59Z", Err(range)),
            ("0000-01-01T00:00:00Z", Err(range)),
            ("0001-01-01T00:00", Err(range)),
            // Not times at all.
            ("+10000-01-01T00:00:00Z", Err(format)),
            ("10000-01-01T00:00:00Z", Err(format)),
            ("-0001-01-01T00:00:00Z", Err(format)),
            ("2027-02-30T00:00:00Z", Err(format)),
            ("2027-03-01", Err(format)),
            ("tomorrow", Err(format)),
            ("", Err(format)),
        ];
        for (input, expected) in cases {
            let got = parse_time("planned_launch_at", input);
            match expected {
                Ok(at) => assert_eq!(got, Ok(at), "{input:?}"),
                Err(message) => {
                    let error = got.expect_err(input);
                    assert_eq!(error.field, "planned_launch_at", "{input:?}");
                    assert_eq!(error.message, message, "{input:?}");
                }
            }
        }
        let long = "2".repeat(10_000);
        assert!(parse_time("t", &long).is_err());
    }

    #[test]
    fn sub_microseconds_are_cut() {
        let at = parse_time("t", "2027-03-01T16:00:00.123456789Z").unwrap();
        assert_eq!(at.timestamp_subsec_nanos(), 123_456_000);
        assert_eq!(latest().to_rfc3339(), "9999-12-31T23:59:59.999999+00:00");
        let last = parse_time("t", "9999-12-31T23:59:59.9999999Z").unwrap();
        assert_eq!(last, latest());
    }
}
