//! Intake policy: the duplicate thresholds and the per-organisation daily limit (program settings), and the
//! counters intake checks (the organisation's, and the pace of each vendor whose products a report names).

use crate::{App, AppError, AppResult, Caller, policy};
use chrono::{DateTime, Duration, Utc};
use clearinghouse::dedup::Thresholds;
use clearinghouse::product::{ProductId, ProductPrefix};
use review::ValidationError;
use serde::Serialize;
use serde_json::json;
use store::{IntakeLimit, VendorPace};

const JOIN_SETTING: &str = "dedup_join_threshold";
const SUGGEST_SETTING: &str = "dedup_suggest_threshold";
const PER_DAY_SETTING: &str = "intake_reports_per_day";

/// Reports an organisation may file per day unless the program sets otherwise.
pub const DEFAULT_REPORTS_PER_DAY: u32 = 500;
/// The highest daily limit the program may set.
pub const MAX_REPORTS_PER_DAY: u32 = 1_000_000;

/// The clearinghouse's part of the program policy.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct IntakePolicy {
    /// A report at least this similar to a stored one joins its case.
    pub dedup_join_threshold: f64,
    /// A stored report at least this similar is listed as a candidate for triage.
    pub dedup_suggest_threshold: f64,
    /// Reports each organisation may file per day (UTC).
    pub intake_reports_per_day: u32,
}

/// The parts of the intake policy to change.
#[derive(Debug, Clone, Copy, Default)]
pub struct IntakeChange {
    pub dedup_join_threshold: Option<f64>,
    pub dedup_suggest_threshold: Option<f64>,
    pub intake_reports_per_day: Option<i64>,
}

impl IntakeChange {
    pub fn is_empty(&self) -> bool {
        self.dedup_join_threshold.is_none()
            && self.dedup_suggest_threshold.is_none()
            && self.intake_reports_per_day.is_none()
    }
}

/// One limit intake checks, with what to tell the caller when it is reached.
pub(crate) struct Limit {
    pub counter: IntakeLimit,
    pub detail: String,
}

impl App {
    pub async fn intake_policy(&self) -> AppResult<IntakePolicy> {
        let defaults = Thresholds::default();
        let number = |name: &'static str, value: Option<String>, default: f64| -> AppResult<f64> {
            match value {
                None => Ok(default),
                Some(v) => v.parse().map_err(|e: std::num::ParseFloatError| {
                    AppError::corrupt(format!("the stored program policy {name}={v:?}: {e}"))
                }),
            }
        };
        // The three settings in one read.
        let mut stored = self
            .store
            .get_settings(&[JOIN_SETTING, SUGGEST_SETTING, PER_DAY_SETTING])
            .await?
            .into_iter();
        let join = number(JOIN_SETTING, stored.next().flatten(), defaults.join)?;
        let suggest = number(SUGGEST_SETTING, stored.next().flatten(), defaults.suggest)?;
        let per_day = match stored.next().flatten() {
            None => DEFAULT_REPORTS_PER_DAY,
            Some(v) => v.parse().map_err(|e: std::num::ParseIntError| {
                AppError::corrupt(format!("the stored program policy {PER_DAY_SETTING}={v:?}: {e}"))
            })?,
        };
        Ok(IntakePolicy {
            dedup_join_threshold: join,
            dedup_suggest_threshold: suggest,
            intake_reports_per_day: per_day,
        })
    }

    /// Checks a change of the intake policy against the policy in force (0 < suggest ≤ join ≤ 1, a daily
    /// limit between 1 and `MAX_REPORTS_PER_DAY`), without writing it.
    pub async fn check_intake_change(&self, change: &IntakeChange) -> AppResult<IntakePolicy> {
        let current = self.intake_policy().await?;
        let join = change
            .dedup_join_threshold
            .unwrap_or(current.dedup_join_threshold);
        let suggest = change
            .dedup_suggest_threshold
            .unwrap_or(current.dedup_suggest_threshold);
        if !(join.is_finite() && join > 0.0 && join <= 1.0) {
            return Err(ValidationError::new(JOIN_SETTING, "must be greater than 0 and at most 1").into());
        }
        if !(suggest.is_finite() && suggest > 0.0 && suggest <= join) {
            return Err(ValidationError::new(
                SUGGEST_SETTING,
                format!("must be greater than 0 and at most the join threshold ({join})"),
            )
            .into());
        }
        let per_day = match change.intake_reports_per_day {
            None => current.intake_reports_per_day,
            Some(n) => u32::try_from(n)
                .ok()
                .filter(|n| (1..=MAX_REPORTS_PER_DAY).contains(n))
                .ok_or_else(|| {
                    ValidationError::new(
                        PER_DAY_SETTING,
                        format!("must be between 1 and {MAX_REPORTS_PER_DAY}"),
                    )
                })?,
        };
        Ok(IntakePolicy {
            dedup_join_threshold: join,
            dedup_suggest_threshold: suggest,
            intake_reports_per_day: per_day,
        })
    }

    /// Writes a checked change of the intake policy, one audited setting at a time.
    pub async fn set_intake_policy(&self, caller: &Caller, change: &IntakeChange) -> AppResult<IntakePolicy> {
        if !policy::can_administer_program(caller) {
            return Err(AppError::Forbidden(
                "only program administrators set program policy",
            ));
        }
        let current = self.intake_policy().await?;
        let next = self.check_intake_change(change).await?;
        // Each setting its own audited write; the pair was checked together above.
        let thresholds = [
            (
                SUGGEST_SETTING,
                "policy.dedup_suggest_threshold",
                change.dedup_suggest_threshold,
                current.dedup_suggest_threshold,
                next.dedup_suggest_threshold,
            ),
            (
                JOIN_SETTING,
                "policy.dedup_join_threshold",
                change.dedup_join_threshold,
                current.dedup_join_threshold,
                next.dedup_join_threshold,
            ),
        ];
        for (name, action, given, previous, value) in thresholds {
            if given.is_some() {
                let event = self.event(
                    caller.into(),
                    action,
                    "policy",
                    None,
                    json!({"previous": previous, name: value}),
                );
                self.store.put_setting(name, &value.to_string(), &event).await?;
            }
        }
        if change.intake_reports_per_day.is_some() {
            let event = self.event(
                caller.into(),
                "policy.intake_reports_per_day",
                "policy",
                None,
                json!({"previous": current.intake_reports_per_day, "intake_reports_per_day": next.intake_reports_per_day}),
            );
            self.store
                .put_setting(PER_DAY_SETTING, &next.intake_reports_per_day.to_string(), &event)
                .await?;
        }
        Ok(next)
    }

    /// The settings intake applies to a group of reports: the program's policy and the vendors' paces, two
    /// reads, side by side (each on a connection of its own).
    pub(crate) async fn intake_settings(&self) -> AppResult<IntakeSettings> {
        let (policy, paces) = tokio::join!(self.intake_policy(), self.store.vendor_paces());
        Ok(IntakeSettings {
            policy: policy?,
            paces: paces?,
        })
    }
}

/// The intake policy and the vendors' paces in force, read once for a group of reports.
pub(crate) struct IntakeSettings {
    pub policy: IntakePolicy,
    pub paces: Vec<VendorPace>,
}

impl IntakeSettings {
    /// The counters a report of `org` naming `products` is checked against: the organisation's daily limit,
    /// and the pace of every vendor whose product prefixes select one of the products.
    pub(crate) fn limits(&self, org: uuid::Uuid, products: &[ProductId], now: DateTime<Utc>) -> Vec<Limit> {
        let day = day_start(now);
        let retry = retry_text(day);
        let per_day = self.policy.intake_reports_per_day;
        let mut limits = vec![Limit {
            counter: IntakeLimit {
                scope: format!("org:{org}"),
                window_start: day,
                max: i64::from(per_day),
            },
            detail: format!(
                "your organisation has filed the {per_day} reports it may file per day (the program's intake \
                 limit); retry after {retry}"
            ),
        }];
        if products.is_empty() {
            return limits;
        }
        for pace in &self.paces {
            if let Some(prefix) = selecting_prefix(pace, products) {
                limits.push(Limit {
                    counter: IntakeLimit {
                        scope: format!("vendor:{}", pace.org_id),
                        window_start: day,
                        max: pace.reports_per_day.max(0),
                    },
                    detail: format!(
                        "{} accepts at most {} reports per day on its products ({prefix}); retry after {retry}",
                        pace.name, pace.reports_per_day
                    ),
                });
            }
        }
        limits
    }
}

/// The first of a vendor's product prefixes that selects one of the products (a prefix that does not parse
/// selects nothing).
fn selecting_prefix(pace: &VendorPace, products: &[ProductId]) -> Option<String> {
    pace.products.0.iter().find_map(|text| {
        let prefix = ProductPrefix::parse(text).ok()?;
        products
            .iter()
            .any(|p| p.matches(&prefix))
            .then(|| prefix.to_string())
    })
}

/// The start of the UTC day holding `now`: the window of the daily counters.
pub(crate) fn day_start(now: DateTime<Utc>) -> DateTime<Utc> {
    now.date_naive()
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or(now)
}

/// Seconds from `now` until the window that starts at `day` ends (at least 1).
pub(crate) fn retry_after(day: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    (day + Duration::days(1) - now).num_seconds().max(1)
}

fn retry_text(day: DateTime<Utc>) -> String {
    (day + Duration::days(1)).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn daily_windows_start_at_midnight_utc_and_retry_at_the_next() {
        let cases = [
            ((2027, 1, 1, 0, 0, 0), (2027, 1, 1), 86_400),
            ((2027, 1, 1, 23, 59, 59), (2027, 1, 1), 1),
            ((2027, 12, 31, 12, 0, 0), (2027, 12, 31), 43_200),
        ];
        for ((y, mo, d, h, mi, s), (dy, dm, dd), wait) in cases {
            let now = Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap();
            let day = day_start(now);
            assert_eq!(day, Utc.with_ymd_and_hms(dy, dm, dd, 0, 0, 0).unwrap(), "{now}");
            assert_eq!(retry_after(day, now), wait, "{now}");
        }
    }
}
