//! Review windows and notice states.
//!
//! The window opens at `max(filed_at, launch - window_days)` and closes at launch. Launching early closes it
//! early; withdrawing closes it at withdrawal. Every state is derived from these dates and `now`, so there is
//! no stored state to drift and no transition that anyone has to approve.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// Program policy default: a notice is shared up to 30 days before launch.
pub const DEFAULT_WINDOW_DAYS: u32 = 30;
/// Upper bound an administrator may set; the policy this program serves once proposed 90.
pub const MAX_WINDOW_DAYS: u32 = 365;
/// Program policy default: a planned launch is at most two years ahead of now.
pub const DEFAULT_LAUNCH_HORIZON_DAYS: u32 = 730;
/// Upper bound an administrator may set for the launch horizon: ten years.
pub const MAX_LAUNCH_HORIZON_DAYS: u32 = 3650;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeState {
    /// Filed, window not yet open.
    Scheduled,
    /// Window open: evaluators may work on the model.
    InReview,
    /// The model launched (at its planned time or earlier); the window is closed.
    Launched,
    /// The developer withdrew the notice.
    Withdrawn,
}

impl NoticeState {
    pub const ALL: [NoticeState; 4] = [
        NoticeState::Scheduled,
        NoticeState::InReview,
        NoticeState::Launched,
        NoticeState::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NoticeState::Scheduled => "scheduled",
            NoticeState::InReview => "in_review",
            NoticeState::Launched => "launched",
            NoticeState::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            NoticeState::Scheduled => "Scheduled",
            NoticeState::InReview => "In review",
            NoticeState::Launched => "Launched",
            NoticeState::Withdrawn => "Withdrawn",
        }
    }
}

/// The dates that decide a notice's window and state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoticeDates {
    pub filed_at: DateTime<Utc>,
    pub planned_launch_at: DateTime<Utc>,
    pub window_days: u32,
    /// Set when the developer marks the model launched before its planned time.
    pub launched_at: Option<DateTime<Utc>>,
    pub withdrawn_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
}

impl Window {
    pub fn length(&self) -> Duration {
        self.closes_at - self.opens_at
    }
}

impl NoticeDates {
    pub fn window(&self) -> Window {
        let earliest = self.planned_launch_at - Duration::days(i64::from(self.window_days));
        let opens_at = earliest.max(self.filed_at);
        let mut closes_at = self.planned_launch_at;
        for end in [self.launched_at, self.withdrawn_at].into_iter().flatten() {
            closes_at = closes_at.min(end);
        }
        // A window never closes before it opens (a notice withdrawn while scheduled had an empty window).
        Window {
            opens_at: opens_at.min(closes_at),
            closes_at,
        }
    }

    pub fn state(&self, now: DateTime<Utc>) -> NoticeState {
        if self.withdrawn_at.is_some_and(|at| at <= now) {
            return NoticeState::Withdrawn;
        }
        let window = self.window();
        if self.launched_at.is_some_and(|at| at <= now) || now >= self.planned_launch_at {
            NoticeState::Launched
        } else if now >= window.opens_at {
            NoticeState::InReview
        } else {
            NoticeState::Scheduled
        }
    }

    /// Whole days left before the window closes (0 once it has closed).
    pub fn days_left(&self, now: DateTime<Utc>) -> i64 {
        let left = self.window().closes_at - now;
        if left <= Duration::zero() {
            0
        } else {
            (left.num_seconds() + 86_399) / 86_400
        }
    }

    /// Share of the window that has elapsed, in percent (0 before it opens, 100 once closed).
    pub fn window_used_percent(&self, now: DateTime<Utc>) -> u32 {
        let window = self.window();
        let total = window.length().num_seconds();
        if total <= 0 || now >= window.closes_at {
            return 100;
        }
        if now <= window.opens_at {
            return 0;
        }
        let used = (now - window.opens_at).num_seconds();
        u32::try_from(used.saturating_mul(100) / total).unwrap_or(100)
    }
}

/// Why a developer's action on its own notice was refused. None of these is a review decision: they only keep
/// the dates coherent (a launch cannot be planned in the past, a withdrawn notice cannot be moved).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("planned_launch_at must be in the future")]
    LaunchInPast,
    /// Further ahead than the program's launch horizon allows.
    #[error("planned_launch_at must be at most {horizon_days} days ahead, on or before {}", crate::dates::display(*.latest))]
    LaunchTooFar {
        horizon_days: u32,
        latest: DateTime<Utc>,
    },
    #[error("the notice is withdrawn")]
    Withdrawn,
    #[error("the model has already launched")]
    AlreadyLaunched,
}

impl NoticeDates {
    /// Checks that the developer may still move or announce the launch.
    pub fn check_open(&self, now: DateTime<Utc>) -> Result<(), DateError> {
        match self.state(now) {
            NoticeState::Withdrawn => Err(DateError::Withdrawn),
            NoticeState::Launched => Err(DateError::AlreadyLaunched),
            NoticeState::Scheduled | NoticeState::InReview => Ok(()),
        }
    }
}

/// Checks a planned launch given at `now`: in the future, and at most `horizon_days` ahead (program policy).
pub fn check_planned_launch(
    planned_launch_at: DateTime<Utc>,
    now: DateTime<Utc>,
    horizon_days: u32,
) -> Result<(), DateError> {
    let latest = now + Duration::days(i64::from(horizon_days));
    if planned_launch_at <= now {
        Err(DateError::LaunchInPast)
    } else if planned_launch_at > latest {
        Err(DateError::LaunchTooFar { horizon_days, latest })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 1, 1, 12, 0, 0).single().unwrap() + Duration::days(day)
    }

    #[test]
    fn window_opens_at_the_later_of_filing_and_launch_minus_days() {
        // (filed day, launch day, window days, expected opening day)
        let cases = [
            (0, 45, 30, 15),
            (0, 31, 30, 1),
            (0, 30, 30, 0),
            (0, 10, 30, 0),
            (5, 10, 30, 5),
            (0, 100, 90, 10),
        ];
        for (filed, launch, days, opens) in cases {
            let dates = NoticeDates {
                filed_at: at(filed),
                planned_launch_at: at(launch),
                window_days: days,
                launched_at: None,
                withdrawn_at: None,
            };
            assert_eq!(
                dates.window().opens_at,
                at(opens),
                "filed {filed} launch {launch} days {days}"
            );
            assert_eq!(dates.window().closes_at, at(launch));
        }
    }

    #[test]
    fn early_launch_and_withdrawal_close_the_window() {
        let mut dates = NoticeDates {
            filed_at: at(0),
            planned_launch_at: at(20),
            window_days: 30,
            launched_at: Some(at(5)),
            withdrawn_at: None,
        };
        assert_eq!(dates.window().closes_at, at(5));
        assert_eq!(dates.state(at(4)), NoticeState::InReview);
        assert_eq!(dates.state(at(5)), NoticeState::Launched);
        dates.launched_at = None;
        dates.withdrawn_at = Some(at(3));
        assert_eq!(dates.state(at(3)), NoticeState::Withdrawn);
        assert_eq!(dates.window().closes_at, at(3));
    }

    #[test]
    fn a_planned_launch_is_ahead_but_within_the_horizon() {
        let now = at(0);
        // (planned, horizon days, expected)
        let cases = [
            (at(-1), 730, Err(DateError::LaunchInPast)),
            (now, 730, Err(DateError::LaunchInPast)),
            (at(1), 730, Ok(())),
            (at(730), 730, Ok(())),
            (
                at(730) + Duration::seconds(1),
                730,
                Err(DateError::LaunchTooFar {
                    horizon_days: 730,
                    latest: at(730),
                }),
            ),
            (
                at(40),
                30,
                Err(DateError::LaunchTooFar {
                    horizon_days: 30,
                    latest: at(30),
                }),
            ),
        ];
        for (planned, horizon, expected) in cases {
            assert_eq!(
                check_planned_launch(planned, now, horizon),
                expected,
                "{planned} within {horizon}"
            );
        }
        let message = check_planned_launch(at(800), now, 730).unwrap_err().to_string();
        assert_eq!(
            message,
            "planned_launch_at must be at most 730 days ahead, on or before 2028-12-31T12:00:00Z"
        );
    }

    #[test]
    fn usage_and_days_left() {
        let dates = NoticeDates {
            filed_at: at(0),
            planned_launch_at: at(10),
            window_days: 30,
            launched_at: None,
            withdrawn_at: None,
        };
        assert_eq!(dates.days_left(at(0)), 10);
        assert_eq!(dates.days_left(at(10)), 0);
        assert_eq!(dates.window_used_percent(at(5)), 50);
        assert_eq!(dates.window_used_percent(at(11)), 100);
    }
}
