//! The program policy: how far ahead of a launch its window opens, how far ahead a launch may be planned,
//! reminders and the clearinghouse's intake settings.

use crate::{App, AppError, AppResult, Caller, policy};
use review::{
    DEFAULT_LAUNCH_HORIZON_DAYS, DEFAULT_WINDOW_DAYS, MAX_LAUNCH_HORIZON_DAYS, MAX_WINDOW_DAYS,
    ValidationError,
};
use serde::Serialize;
use serde_json::json;

const WINDOW_DAYS_SETTING: &str = "window_days";
const LAUNCH_HORIZON_SETTING: &str = "launch_horizon_days";

/// The program policy: how far ahead of a launch its window opens, and how far ahead a launch may be planned.
#[derive(Debug, Clone, Serialize)]
pub struct ProgramPolicy {
    pub window_days: u32,
    pub launch_horizon_days: u32,
    /// How many days before a window opens or closes its reminders go out, latest first.
    pub reminder_days: Vec<u32>,
    /// The clearinghouse's intake: duplicate thresholds, reports per organisation per day.
    #[serde(flatten)]
    pub intake: crate::clearinghouse::IntakePolicy,
}

impl App {
    /// The program policy in force.
    pub async fn program_policy(&self) -> AppResult<ProgramPolicy> {
        Ok(ProgramPolicy {
            window_days: self.window_days().await?,
            launch_horizon_days: self.launch_horizon_days().await?,
            reminder_days: self.reminder_days().await?,
            intake: self.intake_policy().await?,
        })
    }

    /// Sets the parts of the program policy given (at least one), each checked before any is written.
    pub async fn set_program_policy(
        &self,
        caller: &Caller,
        window_days: Option<i64>,
        launch_horizon_days: Option<i64>,
        reminder_days: Option<&[i64]>,
        intake: &crate::clearinghouse::IntakeChange,
    ) -> AppResult<ProgramPolicy> {
        if !policy::can_administer_program(caller) {
            return Err(AppError::Forbidden(
                "only program administrators set program policy",
            ));
        }
        let check = |name: &str, days: Option<i64>, max: u32| -> AppResult<()> {
            match days {
                Some(days) if !(1..=i64::from(max)).contains(&days) => {
                    Err(ValidationError::new(name, format!("must be between 1 and {max}")).into())
                }
                _ => Ok(()),
            }
        };
        check(WINDOW_DAYS_SETTING, window_days, MAX_WINDOW_DAYS)?;
        check(
            LAUNCH_HORIZON_SETTING,
            launch_horizon_days,
            MAX_LAUNCH_HORIZON_DAYS,
        )?;
        if let Some(days) = reminder_days {
            crate::notifications::outbox::check_reminder_days(days)?;
        }
        self.check_intake_change(intake).await?;
        if window_days.is_none()
            && launch_horizon_days.is_none()
            && reminder_days.is_none()
            && intake.is_empty()
        {
            return Err(ValidationError::new(
                WINDOW_DAYS_SETTING,
                "give window_days, launch_horizon_days, reminder_days, dedup_join_threshold, \
                 dedup_suggest_threshold, intake_reports_per_day, or several",
            )
            .into());
        }
        if let Some(days) = window_days {
            self.set_window_days(caller, days).await?;
        }
        if let Some(days) = launch_horizon_days {
            self.set_launch_horizon_days(caller, days).await?;
        }
        if let Some(days) = reminder_days {
            self.set_reminder_days(caller, days).await?;
        }
        if !intake.is_empty() {
            self.set_intake_policy(caller, intake).await?;
        }
        self.program_policy().await
    }

    /// A number of days of program policy: the stored value, or `default` when none was set. A stored value
    /// that does not read back is our failure, not a reason to apply another policy.
    async fn policy_days(&self, name: &'static str, default: u32) -> AppResult<u32> {
        match self.store.get_setting(name).await? {
            Some(value) => value.parse().map_err(|error: std::num::ParseIntError| {
                AppError::corrupt(format!("the stored program policy {name}={value:?}: {error}"))
            }),
            None => Ok(default),
        }
    }

    /// Sets a number of days of program policy, between 1 and `max`, and records the change.
    async fn set_policy_days(
        &self,
        caller: &Caller,
        (name, action): (&'static str, &'static str),
        days: i64,
        max: u32,
        current: u32,
    ) -> AppResult<u32> {
        if !policy::can_administer_program(caller) {
            return Err(AppError::Forbidden(
                "only program administrators set program policy",
            ));
        }
        let days = u32::try_from(days)
            .ok()
            .filter(|d| (1..=max).contains(d))
            .ok_or_else(|| ValidationError::new(name, format!("must be between 1 and {max}")))?;
        let event = self.event(
            caller.into(),
            action,
            "policy",
            None,
            json!({"previous": current, name: days}),
        );
        self.store.put_setting(name, &days.to_string(), &event).await?;
        Ok(days)
    }

    /// The review-window length in force for new notices.
    pub async fn window_days(&self) -> AppResult<u32> {
        self.policy_days(WINDOW_DAYS_SETTING, DEFAULT_WINDOW_DAYS).await
    }

    pub async fn set_window_days(&self, caller: &Caller, days: i64) -> AppResult<u32> {
        let current = self.window_days().await?;
        let setting = (WINDOW_DAYS_SETTING, "policy.window_days");
        self.set_policy_days(caller, setting, days, MAX_WINDOW_DAYS, current)
            .await
    }

    /// How far ahead of now a planned launch may be, in days (program policy, on filing and on moving).
    pub async fn launch_horizon_days(&self) -> AppResult<u32> {
        self.policy_days(LAUNCH_HORIZON_SETTING, DEFAULT_LAUNCH_HORIZON_DAYS)
            .await
    }

    pub async fn set_launch_horizon_days(&self, caller: &Caller, days: i64) -> AppResult<u32> {
        let current = self.launch_horizon_days().await?;
        self.set_policy_days(
            caller,
            (LAUNCH_HORIZON_SETTING, "policy.launch_horizon_days"),
            days,
            MAX_LAUNCH_HORIZON_DAYS,
            current,
        )
        .await
    }
}
