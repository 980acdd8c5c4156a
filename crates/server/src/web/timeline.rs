//! Geometry of the timeline: where each review window, each month and today fall on a shared axis. Positions
//! are percentages, used as SVG `x`/`width` attributes so that no inline style is needed.

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

/// A month boundary: a faint line and a label.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    pub x: String,
    pub label: String,
    /// Labels are thinned out when months are many; the line is always drawn.
    pub labelled: bool,
}

const MARGIN_DAYS: i64 = 3;
const MAX_LABELS: usize = 8;

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

    /// The first day of every month inside the axis.
    pub fn ticks(&self) -> Vec<Tick> {
        let mut months = Vec::new();
        let mut month = first_of_next_month(self.start.date_naive());
        while let Some(day) = month {
            let at = day.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
            match at {
                Some(at) if at < self.end => months.push(at),
                _ => break,
            }
            month = first_of_next_month(day);
        }
        let step = months.len().div_ceil(MAX_LABELS).max(1);
        months
            .into_iter()
            .enumerate()
            .map(|(i, at)| {
                let x = self.position(at);
                Tick {
                    x: percent(x),
                    label: at.format("%b %Y").to_string(),
                    // The last few percent are too narrow for a label.
                    labelled: i % step == 0 && x < 92.0,
                }
            })
            .collect()
    }
}

fn first_of_next_month(day: NaiveDate) -> Option<NaiveDate> {
    let (year, month) = if day.month() == 12 {
        (day.year() + 1, 1)
    } else {
        (day.year(), day.month() + 1)
    };
    NaiveDate::from_ymd_opt(year, month, 1)
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
}
