//! How values read on a page: times in UTC, keywords as words, notices as rows of the timeline.

use super::render::plural;
use super::timeline::{Axis, Bar};
use app::program::NoticeView;
use chrono::{DateTime, Utc};
use review::NoticeState;

/// "15 Feb 2027, 16:00 UTC".
pub fn when(at: DateTime<Utc>) -> String {
    at.format("%-d %b %Y, %H:%M UTC").to_string()
}

/// "15 Feb 2027".
pub fn day(at: DateTime<Utc>) -> String {
    at.format("%-d %b %Y").to_string()
}

/// The value of a `datetime-local` input, in UTC.
pub fn input_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M").to_string()
}

/// A time as the site's date-and-time fields show it: UTC, 24-hour, `2027-02-05 16:00`.
pub fn field_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M").to_string()
}

/// A date-and-time field's text as `app` reads it: `2027-02-05 16:00` (what the field shows) becomes
/// `2027-02-05T16:00`; anything else is passed on as typed, for `app` to accept or name the mistake.
pub fn from_field_time(text: &str) -> String {
    let text = text.trim();
    match text.split_once(' ') {
        Some((date, time))
            if date.len() == 10
                && date.get(4..5) == Some("-")
                && !time.trim().is_empty()
                && !time.trim().contains(' ') =>
        {
            format!("{date}T{}", time.trim())
        }
        _ => text.to_owned(),
    }
}

/// `cyber_offense` → "Cyber offense".
pub fn humanize(keyword: &str) -> String {
    super::render::capitalise(&keyword.replace('_', " "))
}

/// An option of a select, a radio or a checkbox group.
#[derive(Clone)]
pub struct Choice {
    pub value: String,
    pub label: String,
}

impl Choice {
    pub fn new(value: impl Into<String>, label: impl Into<String>) -> Choice {
        Choice {
            value: value.into(),
            label: label.into(),
        }
    }

    /// Options for a keyword list, labelled in words.
    pub fn keywords<'a>(keywords: impl IntoIterator<Item = &'a str>) -> Vec<Choice> {
        keywords
            .into_iter()
            .map(|k| Choice::new(k, humanize(k)))
            .collect()
    }
}

/// A notice as one row of the timeline or the list.
pub struct NoticeRow {
    pub id: String,
    pub model: String,
    pub version: String,
    pub developer: String,
    pub state: &'static str,
    pub state_label: &'static str,
    pub planned_launch: String,
    /// When a launched notice's model actually launched: early by the developer, or at the planned time.
    pub launched: Option<String>,
    /// The window opened and closed at the same instant (the launch came at filing): drawn at a minimum
    /// width and labelled, since a bar of no width would not show.
    pub zero_length: bool,
    pub opens: String,
    pub closes: String,
    pub days: String,
    pub bar: Bar,
    /// What the bar says, for screen readers.
    pub bar_label: String,
}

impl NoticeRow {
    pub fn new(n: &NoticeView, axis: &Axis) -> NoticeRow {
        let bar = axis.bar(n.window_opens_at, n.window_closes_at, n.window_used_percent);
        let opens = day(n.window_opens_at);
        let closes = day(n.window_closes_at);
        let zero_length = n.window_opens_at >= n.window_closes_at;
        let bar_label = if zero_length {
            format!(
                "No review window: it opened and closed at {}",
                when(n.window_closes_at)
            )
        } else {
            format!(
                "Review window {opens} to {closes}, {}% elapsed",
                n.window_used_percent
            )
        };
        NoticeRow {
            id: n.id.to_string(),
            model: n.model_name.clone(),
            version: n.model_version.clone(),
            developer: n.developer_name.clone(),
            state: n.state.as_str(),
            state_label: n.state.label(),
            planned_launch: when(n.planned_launch_at),
            launched: launched_at(n).map(when),
            zero_length,
            opens,
            closes,
            days: days_text(n),
            bar,
            bar_label,
        }
    }
}

/// When the notice's model launched, once it has: the developer's early launch, or else the planned time
/// that has passed.
pub fn launched_at(n: &NoticeView) -> Option<DateTime<Utc>> {
    match n.state {
        NoticeState::Launched => Some(n.launched_at.unwrap_or(n.planned_launch_at)),
        _ => None,
    }
}

/// What the "days left" column says for each state.
pub fn days_text(n: &NoticeView) -> String {
    match n.state {
        NoticeState::InReview => format!("{} left", plural(n.days_left, "day")),
        NoticeState::Scheduled => format!("Opens {}", day(n.window_opens_at)),
        NoticeState::Launched => format!("Launched {}", day(launched_at(n).unwrap_or(n.planned_launch_at))),
        NoticeState::Withdrawn => "Withdrawn".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_read_in_utc() {
        let at = Utc.with_ymd_and_hms(2027, 2, 5, 16, 0, 0).unwrap();
        assert_eq!(when(at), "5 Feb 2027, 16:00 UTC");
        assert_eq!(day(at), "5 Feb 2027");
        assert_eq!(input_time(at), "2027-02-05T16:00");
        assert_eq!(field_time(at), "2027-02-05 16:00");
        for (typed, read) in [
            ("2027-02-05 16:00", "2027-02-05T16:00"),
            (" 2027-02-05  16:00 ", "2027-02-05T16:00"),
            ("2027-02-05T16:00", "2027-02-05T16:00"),
            ("next tuesday", "next tuesday"),
            ("31/12/2027 16:00", "31/12/2027 16:00"),
        ] {
            assert_eq!(from_field_time(typed), read, "{typed}");
        }
        assert_eq!(humanize("critical_infrastructure"), "Critical infrastructure");
    }
}
