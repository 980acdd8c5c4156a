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

#[cfg(test)]
mod properties {
    use super::{earliest, latest, parse_time};
    use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
    use proptest::prelude::*;

    /// 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z, as seconds since the epoch.
    const FIRST: i64 = 0;
    const LAST: i64 = 253_402_300_799;

    /// Any instant of the supported range, to the microsecond.
    fn any_instant() -> impl Strategy<Value = DateTime<Utc>> {
        let seconds = prop_oneof![FIRST..=LAST, FIRST..FIRST + 100_000, LAST - 100_000..=LAST];
        (seconds, 0..1_000_000u32)
            .prop_map(|(s, micros)| DateTime::from_timestamp(s, micros * 1000).unwrap_or_default())
    }

    /// Text that looks like a time: their pieces in any order, numbers of any size, and any characters.
    fn time_like() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            "[+-]?[0-9]{1,6}",
            Just("-".to_owned()),
            Just(":".to_owned()),
            Just("T".to_owned()),
            Just("t".to_owned()),
            Just(" ".to_owned()),
            Just("Z".to_owned()),
            Just(".".to_owned()),
            "[+-][0-9]{2}:[0-9]{2}",
            "\\PC{0,3}",
        ];
        let edge = |edges: Vec<u32>, any: std::ops::RangeInclusive<u32>| {
            prop_oneof![proptest::sample::select(edges), any]
        };
        // Well-formed times with the edges of every field weighted up: the first and last instants of the
        // supported range, signed years, the ends of months and days, the widest offsets.
        let fields = (
            proptest::sample::select(vec!["", "+", "-"]),
            edge(vec![0, 1, 1969, 1970, 9998, 9999, 10000], 0..=99999),
            edge(vec![1, 12], 0..=13),
            edge(vec![1, 28, 29, 30, 31], 0..=32),
            edge(vec![0, 23], 0..=24),
            edge(vec![0, 59], 0..=60),
        )
            .prop_map(|(sign, y, mo, d, h, mi)| {
                format!("{sign}{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{mi:02}")
            });
        let local = prop_oneof![
            Just("9999-12-31T23:59:59".to_owned()),
            Just("1970-01-01T00:00:00".to_owned()),
            Just("1969-12-31T23:59:59".to_owned()),
            Just("9999-12-31T23:59".to_owned()),
            fields,
        ];
        let zone = proptest::sample::select(vec!["Z", "+23:59", "-23:59", "+00:01", "-00:01", "", "+24:00"]);
        let formed = (local, zone).prop_map(|(local, zone)| format!("{local}{zone}"));
        prop_oneof![
            proptest::collection::vec(piece, 0..14).prop_map(|pieces| pieces.concat()),
            "\\PC{0,40}",
            formed,
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn a_time_written_in_rfc3339_at_any_offset_reads_back(
            at in any_instant(),
            offset_minutes in -1439..=1439i32,
            digits in prop_oneof![Just(SecondsFormat::Secs), Just(SecondsFormat::Micros), Just(SecondsFormat::AutoSi)],
        ) {
            let zone = FixedOffset::east_opt(offset_minutes * 60).unwrap();
            let local = at.with_timezone(&zone);
            // RFC 3339 has four-digit years in the writer's zone too.
            prop_assume!((0..=9999).contains(&chrono::Datelike::year(&local)));
            let text = local.to_rfc3339_opts(digits, true);
            let expected = match digits {
                SecondsFormat::Secs => at.with_nanosecond_zero(),
                _ => at,
            };
            prop_assert_eq!(parse_time("planned_launch_at", &text).ok(), Some(expected), "{}", text);
        }

        #[test]
        fn a_time_written_as_a_form_sends_it_reads_back_as_utc(at in any_instant()) {
            let text = at.format("%Y-%m-%dT%H:%M:%S").to_string();
            let read = parse_time("planned_launch_at", &text).ok();
            prop_assert_eq!(read, Some(at.with_nanosecond_zero()), "{}", text);
            let minutes = at.format("%Y-%m-%dT%H:%M").to_string();
            prop_assert!(parse_time("planned_launch_at", &minutes).is_ok(), "{}", minutes);
        }

        #[test]
        fn any_text_is_a_supported_time_or_an_error_naming_the_field(text in time_like()) {
            match parse_time("planned_launch_at", &text) {
                Ok(at) => {
                    prop_assert!(earliest() <= at && at <= latest(), "{} -> {}", text, at);
                    // What is taken is written back as RFC 3339 with a four-digit year, and reads back the same.
                    let written = at.to_rfc3339_opts(SecondsFormat::AutoSi, true);
                    prop_assert_eq!(written.find('-'), Some(4), "{} -> {}", text, written);
                    prop_assert_eq!(parse_time("planned_launch_at", &written).ok(), Some(at));
                }
                Err(e) => {
                    prop_assert_eq!(e.field, "planned_launch_at");
                    prop_assert!(!e.message.is_empty());
                }
            }
        }
    }

    trait NanosecondZero {
        fn with_nanosecond_zero(self) -> Self;
    }

    impl NanosecondZero for DateTime<Utc> {
        fn with_nanosecond_zero(self) -> Self {
            chrono::Timelike::with_nanosecond(&self, 0).unwrap_or(self)
        }
    }
}
