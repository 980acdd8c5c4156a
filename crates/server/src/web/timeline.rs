//! Geometry of the timeline: where each review window, the ticks of the calendar and today fall on a shared
//! axis. Positions are percentages, used as SVG `x`/`width` attributes so that no inline style is needed.
//!
//! The size of what is drawn does not depend on the span of the dates: an axis holds at most `MAX_TICKS`
//! ticks (months, or every few months or years as the span grows), whatever its range — a notice planned for
//! 9999 once made every dashboard showing it carry a line per month until then, on every row.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

/// The span of time the timeline shows.
#[derive(Debug, Clone, Copy)]
pub struct Axis {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    today: DateTime<Utc>,
}

/// A window drawn on the axis: where it starts, how wide it is, and how much of it has elapsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub x: String,
    pub width: String,
    pub used: String,
}

/// A calendar boundary (the first of a month, of a quarter, of a year…): a faint line and a label.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    pub x: String,
    pub label: String,
    /// Labels are thinned out when months are many; the line is always drawn.
    pub labelled: bool,
}

const MARGIN_DAYS: i64 = 3;
const MAX_LABELS: usize = 8;
/// The most ticks an axis draws, whatever its span.
pub const MAX_TICKS: usize = 24;
/// Tick intervals, in months: a month, a quarter, half a year, then years.
const STEPS: [i64; 12] = [1, 3, 6, 12, 24, 60, 120, 240, 600, 1200, 2400, 6000];

fn percent(value: f64) -> String {
    format!("{:.2}%", value.clamp(0.0, 100.0))
}

impl Axis {
    /// An axis that shows every window and today, with a small margin on both sides.
    pub fn around(
        windows: impl IntoIterator<Item = (DateTime<Utc>, DateTime<Utc>)>,
        today: DateTime<Utc>,
    ) -> Axis {
        let (mut start, mut end) = (today, today);
        for (opens, closes) in windows {
            start = start.min(opens);
            end = end.max(closes);
        }
        if end - start < Duration::days(14) {
            end = start + Duration::days(14);
        }
        Axis {
            start: start - Duration::days(MARGIN_DAYS),
            end: end + Duration::days(MARGIN_DAYS),
            today,
        }
    }

    fn position(&self, at: DateTime<Utc>) -> f64 {
        let total = (self.end - self.start).num_seconds().max(1) as f64;
        (at - self.start).num_seconds() as f64 * 100.0 / total
    }

    pub fn today(&self) -> String {
        percent(self.position(self.today))
    }

    pub fn bar(&self, opens: DateTime<Utc>, closes: DateTime<Utc>, used_percent: u32) -> Bar {
        let from = self.position(opens).clamp(0.0, 100.0);
        let to = self.position(closes).clamp(0.0, 100.0);
        // A window of a few hours (or an empty one) stays visible as a sliver.
        let width = (to - from).max(0.4);
        let used = width * f64::from(used_percent.min(100)) / 100.0;
        Bar {
            x: percent(from),
            width: percent(width),
            used: percent(used),
        }
    }

    /// Calendar boundaries inside the axis, at most `MAX_TICKS`: the first of every month, or of every
    /// quarter, half year, year, or several years, as the span needs; months are labelled "Mar 2027", longer
    /// steps by the year.
    pub fn ticks(&self) -> Vec<Tick> {
        let month_index = |at: DateTime<Utc>| i64::from(at.year()) * 12 + i64::from(at.month0());
        let (first, last) = (month_index(self.start), month_index(self.end));
        let span = (last - first).max(1);
        let max = i64::try_from(MAX_TICKS).unwrap_or(i64::MAX);
        let step = STEPS
            .iter()
            .copied()
            .find(|step| span / step <= max)
            .unwrap_or_else(|| ((span + max - 1) / max).max(1));
        // The first boundary after the start that is a multiple of the step (quarters start in January, April…).
        let mut index = (first / step + 1) * step;
        let mut at_times = Vec::new();
        while at_times.len() <= MAX_TICKS {
            let Some(at) = month_start(index) else { break };
            if at >= self.end {
                break;
            }
            if at > self.start {
                at_times.push(at);
            }
            index += step;
        }
        at_times.truncate(MAX_TICKS);
        let format = if step < 12 { "%b %Y" } else { "%Y" };
        let label_step = at_times.len().div_ceil(MAX_LABELS).max(1);
        at_times
            .into_iter()
            .enumerate()
            .map(|(i, at)| {
                let x = self.position(at);
                Tick {
                    x: percent(x),
                    label: at.format(format).to_string(),
                    // The last few percent are too narrow for a label.
                    labelled: i % label_step == 0 && x < 92.0,
                }
            })
            .collect()
    }
}

/// The first instant of the month numbered `year * 12 + month0`.
fn month_start(index: i64) -> Option<DateTime<Utc>> {
    let year = i32::try_from(index.div_euclid(12)).ok()?;
    let month = u32::try_from(index.rem_euclid(12)).ok()? + 1;
    NaiveDate::from_ymd_opt(year, month, 1)?
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
    }

    #[test]
    fn windows_and_today_sit_inside_the_axis() {
        let today = at(2027, 1, 1);
        let axis = Axis::around(
            [(at(2027, 1, 16), at(2027, 2, 15)), (today, at(2027, 1, 31))],
            today,
        );
        // Axis: 2026-12-29 .. 2027-02-18, 51 days.
        assert_eq!(axis.today(), "5.88%");
        let bar = axis.bar(at(2027, 1, 16), at(2027, 2, 15), 0);
        assert_eq!(bar.x, "35.29%");
        assert_eq!(bar.width, "58.82%");
        assert_eq!(bar.used, "0.00%");
        let half = axis.bar(today, at(2027, 1, 31), 50);
        assert_eq!(half.used, "29.41%");
    }

    #[test]
    fn bars_outside_the_axis_are_clipped_and_empty_ones_stay_visible() {
        let today = at(2027, 6, 1);
        let axis = Axis::around([], today);
        let before = axis.bar(at(2026, 1, 1), at(2026, 2, 1), 100);
        assert_eq!((before.x.as_str(), before.width.as_str()), ("0.00%", "0.40%"));
        let after = axis.bar(at(2028, 1, 1), at(2028, 2, 1), 0);
        assert_eq!(after.x, "100.00%");
    }

    #[test]
    fn month_ticks_are_labelled_sparingly() {
        let today = at(2027, 1, 10);
        let short = Axis::around([(today, at(2027, 3, 20))], today);
        let labels: Vec<_> = short.ticks().into_iter().map(|t| t.label).collect();
        assert_eq!(labels, ["Feb 2027", "Mar 2027"]);
        let long = Axis::around([(today, at(2029, 1, 1))], today);
        let ticks = long.ticks();
        assert_eq!(ticks.len(), 24);
        assert!(ticks.iter().filter(|t| t.labelled).count() <= MAX_LABELS);
    }

    #[test]
    fn an_axis_holds_a_bounded_number_of_ticks_whatever_its_span() {
        let today = at(2027, 1, 10);
        let latest = Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap();
        // (window closes, expected first labels)
        let cases = [
            (at(2027, 3, 20), vec!["Feb 2027", "Mar 2027"]),
            (at(2029, 1, 1), vec!["Feb 2027", "Mar 2027"]),
            (at(2031, 6, 1), vec!["Apr 2027", "Jul 2027"]),
            (at(2040, 1, 1), vec!["2028", "2029"]),
            (at(2200, 1, 1), vec!["2030", "2040"]),
            (latest, vec!["2500", "3000"]),
        ];
        for (closes, first) in cases {
            let axis = Axis::around([(today, closes)], today);
            let ticks = axis.ticks();
            assert!(
                !ticks.is_empty() && ticks.len() <= MAX_TICKS,
                "{closes}: {}",
                ticks.len()
            );
            let labels: Vec<&str> = ticks.iter().take(2).map(|t| t.label.as_str()).collect();
            assert_eq!(labels, first, "{closes}");
            assert!(ticks.iter().filter(|t| t.labelled).count() <= MAX_LABELS);
            let xs: Vec<f64> = ticks
                .iter()
                .map(|t| t.x.trim_end_matches('%').parse().unwrap())
                .collect();
            assert!(xs.windows(2).all(|w| w[0] < w[1]), "{closes}: {xs:?}");
        }
        // The whole supported range, and windows far in the past.
        let earliest = Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap();
        let axis = Axis::around([(earliest, latest)], today);
        assert!(axis.ticks().len() <= MAX_TICKS);
    }
}
