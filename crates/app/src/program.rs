//! The review program: release notices, their windows, assignments, findings and assessments.
//!
//! Nothing here approves or blocks a launch. The developer files, moves, announces and withdraws at will;
//! agencies read, evaluate, and write advisory findings and assessments.

use crate::page::{PageRequest, Paged, paginate, paginate_read_whole, parse_time_id_key, time_id_key};
use crate::{App, AppError, AppResult, Caller, policy};
use accounts::OrgKind;
use chrono::{DateTime, Utc};
use review::dates::parse_time;
use review::validate::{reason, title};
use review::window::check_planned_launch;
use review::{
    AssessmentLevels, DEFAULT_LAUNCH_HORIZON_DAYS, DEFAULT_WINDOW_DAYS, Domain, EvidenceLinks, FindingText,
    MAX_LAUNCH_HORIZON_DAYS, MAX_WINDOW_DAYS, ModelCard, ModelName, ModelVersion, NoticeDates, NoticeState,
    Severity, ValidationError,
};
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;
use store::{
    Assessment, Assignment, Finding, Json, LaunchChange, LaunchChangeKind, Notice, NoticeDatesUpdate,
    NoticeQuery,
};
use uuid::Uuid;

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

/// A notice as its reader sees it, with the window and state derived for `now`.
#[derive(Debug, Clone, Serialize)]
pub struct NoticeView {
    pub id: Uuid,
    pub developer_org_id: Uuid,
    pub developer_name: String,
    pub model_name: String,
    pub model_version: String,
    pub model_card: String,
    pub planned_launch_at: DateTime<Utc>,
    pub filed_at: DateTime<Utc>,
    pub window_days: i64,
    pub state: NoticeState,
    pub window_opens_at: DateTime<Utc>,
    pub window_closes_at: DateTime<Utc>,
    pub days_left: i64,
    pub window_used_percent: u32,
    pub launched_at: Option<DateTime<Utc>>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub withdraw_reason: Option<String>,
    pub shared_with_all: bool,
    /// The agencies the notice is shared with; shown to the developer only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared_with: Option<Vec<Uuid>>,
}

pub(crate) fn dates_of(n: &Notice) -> NoticeDates {
    NoticeDates {
        filed_at: n.filed_at,
        planned_launch_at: n.planned_launch_at,
        window_days: u32::try_from(n.window_days).unwrap_or(DEFAULT_WINDOW_DAYS),
        launched_at: n.launched_at,
        withdrawn_at: n.withdrawn_at,
    }
}

impl NoticeView {
    fn new(n: Notice, now: DateTime<Utc>, shared_with: Option<Vec<Uuid>>) -> Self {
        let dates = dates_of(&n);
        let window = dates.window();
        NoticeView {
            id: n.id,
            developer_org_id: n.developer_org_id,
            developer_name: n.developer_name,
            model_name: n.model_name,
            model_version: n.model_version,
            model_card: n.model_card,
            planned_launch_at: n.planned_launch_at,
            filed_at: n.filed_at,
            window_days: n.window_days,
            state: dates.state(now),
            window_opens_at: window.opens_at,
            window_closes_at: window.closes_at,
            days_left: dates.days_left(now),
            window_used_percent: dates.window_used_percent(now),
            launched_at: n.launched_at,
            withdrawn_at: n.withdrawn_at,
            withdraw_reason: n.withdraw_reason,
            shared_with_all: n.shared_with_all,
            shared_with,
        }
    }
}

/// A new notice as submitted.
#[derive(Debug, Clone, Default)]
pub struct NewNotice {
    pub model_name: String,
    pub model_version: String,
    pub planned_launch_at: String,
    pub model_card: String,
    pub shared_with: Vec<Uuid>,
    pub shared_with_all: bool,
}

/// Filters of the notice list and the dashboard.
#[derive(Debug, Clone, Default)]
pub struct NoticeFilter {
    /// Wanted states; empty means all.
    pub states: Vec<NoticeState>,
    pub developer_org: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LaunchChangeView {
    pub id: Uuid,
    pub kind: String,
    pub previous_launch_at: Option<DateTime<Utc>>,
    pub new_launch_at: DateTime<Utc>,
    pub reason: Option<String>,
    pub changed_by: Option<Uuid>,
    pub changed_at: DateTime<Utc>,
}

impl From<LaunchChange> for LaunchChangeView {
    fn from(c: LaunchChange) -> Self {
        LaunchChangeView {
            id: c.id,
            kind: c.kind.as_str().into(),
            previous_launch_at: c.previous_launch_at,
            new_launch_at: c.new_launch_at,
            reason: c.reason,
            changed_by: c.changed_by,
            changed_at: c.changed_at,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct AssignmentView {
    pub user_id: Uuid,
    pub org_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub assigned_at: DateTime<Utc>,
}

impl From<Assignment> for AssignmentView {
    fn from(a: Assignment) -> Self {
        AssignmentView {
            user_id: a.user_id,
            org_id: a.org_id,
            email: a.email,
            display_name: a.display_name,
            assigned_at: a.assigned_at,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct NewFinding {
    pub title: String,
    pub domain: String,
    pub severity: String,
    pub description: String,
    pub evidence: Vec<String>,
    pub shared_with: Vec<Uuid>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FindingView {
    pub id: Uuid,
    pub notice_id: Uuid,
    pub org_id: Uuid,
    pub author_id: Uuid,
    pub title: String,
    pub domain: String,
    pub severity: String,
    pub description: String,
    pub evidence: Vec<String>,
    pub created_at: DateTime<Utc>,
    /// The clearinghouse report it was forwarded as, when the reader may read that report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_id: Option<Uuid>,
}

impl From<Finding> for FindingView {
    fn from(f: Finding) -> Self {
        FindingView {
            id: f.id,
            notice_id: f.notice_id,
            org_id: f.org_id,
            author_id: f.author_id,
            title: f.title,
            domain: f.domain.as_str().into(),
            severity: f.severity.as_str().into(),
            description: f.description,
            evidence: f.evidence.0,
            created_at: f.created_at,
            report_id: None,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct NewAssessment {
    pub levels: BTreeMap<String, String>,
    pub rationale: String,
    pub evidence: Vec<String>,
    pub shared_with: Vec<Uuid>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AssessmentView {
    pub id: Uuid,
    pub notice_id: Uuid,
    pub org_id: Uuid,
    pub author_id: Uuid,
    pub levels: BTreeMap<String, String>,
    /// The highest level across domains.
    pub overall: String,
    pub rationale: String,
    pub evidence: Vec<String>,
    pub published_at: DateTime<Utc>,
}

impl From<Assessment> for AssessmentView {
    fn from(a: Assessment) -> Self {
        let overall = AssessmentLevels::parse("levels", &a.levels.0)
            .map(|l| l.overall().as_str())
            .unwrap_or("none")
            .to_owned();
        AssessmentView {
            id: a.id,
            notice_id: a.notice_id,
            org_id: a.org_id,
            author_id: a.author_id,
            levels: a.levels.0,
            overall,
            rationale: a.rationale,
            evidence: a.evidence.0,
            published_at: a.published_at,
        }
    }
}

/// How a developer changes its own notice's dates.
enum DateChange {
    Move {
        to: DateTime<Utc>,
        reason: Option<String>,
    },
    LaunchNow,
    Withdraw {
        reason: Option<String>,
    },
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

    /// Checks that every organisation in `orgs` is an active agency, naming the first that is not.
    async fn check_agencies(&self, field: &str, orgs: &[Uuid]) -> AppResult<()> {
        for (i, id) in orgs.iter().enumerate() {
            let org = self.store.get_org(*id).await?;
            if !org.is_some_and(|o| o.active && o.kind == OrgKind::Agency) {
                return Err(ValidationError::new(format!("{field}[{i}]"), "is not an active agency").into());
            }
        }
        Ok(())
    }

    pub async fn file_notice(&self, caller: &Caller, input: NewNotice) -> AppResult<NoticeView> {
        if !policy::can_file_notice(caller) {
            return Err(AppError::Forbidden(
                "only AI developer organisations file release notices",
            ));
        }
        let model_name = ModelName::parse("model_name", &input.model_name)?;
        let model_version = ModelVersion::parse("model_version", &input.model_version)?;
        let model_card = ModelCard::parse("model_card", &input.model_card)?;
        let planned_launch_at = parse_time("planned_launch_at", &input.planned_launch_at)?;
        let now = self.clock.now();
        check_planned_launch(planned_launch_at, now, self.launch_horizon_days().await?)?;
        let mut shared_with = input.shared_with;
        shared_with.sort();
        shared_with.dedup();
        match (input.shared_with_all, shared_with.is_empty()) {
            (true, false) => {
                return Err(ValidationError::new(
                    "shared_with",
                    "give either shared_with or shared_with_all",
                )
                .into());
            }
            (false, true) => {
                return Err(ValidationError::new(
                    "shared_with",
                    "name at least one agency, or set shared_with_all",
                )
                .into());
            }
            _ => {}
        }
        if shared_with.len() > 500 {
            return Err(ValidationError::new("shared_with", "at most 500 agencies").into());
        }
        self.check_agencies("shared_with", &shared_with).await?;
        let window_days = self.window_days().await?;
        let dates = NoticeDates {
            filed_at: now,
            planned_launch_at,
            window_days,
            launched_at: None,
            withdrawn_at: None,
        };
        let window = dates.window();
        let notice = Notice {
            id: Uuid::now_v7(),
            developer_org_id: caller.org_id(),
            developer_name: caller.org.name.clone(),
            model_name: model_name.into_inner(),
            model_version: model_version.into_inner(),
            model_card: model_card.into_inner(),
            planned_launch_at,
            filed_at: now,
            filed_by: Some(caller.user_id()),
            window_days: i64::from(window_days),
            shared_with_all: input.shared_with_all,
            launched_at: None,
            withdrawn_at: None,
            withdraw_reason: None,
            window_opens_at: window.opens_at,
            window_closes_at: window.closes_at,
        };
        let event = self.event(
            caller.into(),
            "notice.file",
            "notice",
            Some(notice.id),
            json!({
                "model_name": notice.model_name, "model_version": notice.model_version,
                "planned_launch_at": planned_launch_at, "window_days": window_days,
                "shared_with_all": notice.shared_with_all, "shared_with": shared_with,
            }),
        );
        self.store.create_notice(&notice, &shared_with, &event).await?;
        self.notify_soon(&event).await;
        Ok(NoticeView::new(notice, now, Some(shared_with)))
    }

    /// Loads a notice the caller may see, with the agencies it is shared with; anything else is "not found".
    pub(crate) async fn visible_notice(&self, caller: &Caller, id: Uuid) -> AppResult<(Notice, Vec<Uuid>)> {
        let notice = self
            .store
            .visible_notice(id, &policy::audience(caller))
            .await?
            .ok_or(AppError::NotFound("notice"))?;
        let shares = self.store.notice_shares(id).await?;
        Ok((notice, shares))
    }

    fn view(&self, caller: &Caller, notice: Notice, shares: Vec<Uuid>) -> NoticeView {
        let shared_with = policy::can_manage_notice(caller, &notice).then_some(shares);
        NoticeView::new(notice, self.clock.now(), shared_with)
    }

    pub async fn get_notice(&self, caller: &Caller, id: Uuid) -> AppResult<NoticeView> {
        let (notice, shares) = self.visible_notice(caller, id).await?;
        Ok(self.view(caller, notice, shares))
    }

    pub async fn list_notices(
        &self,
        caller: &Caller,
        filter: &NoticeFilter,
        page: &PageRequest,
    ) -> AppResult<Paged<NoticeView>> {
        let limit = page.limit()?;
        let after = page.after(parse_time_id_key)?;
        let mut states = [filter.states.is_empty(); 4];
        for state in &filter.states {
            if let Some(slot) = NoticeState::ALL
                .iter()
                .position(|s| s == state)
                .and_then(|i| states.get_mut(i))
            {
                *slot = true;
            }
        }
        let now = self.clock.now();
        let query = NoticeQuery {
            audience: policy::audience(caller),
            now,
            states,
            developer_org: filter.developer_org,
            after,
            limit: limit + 1,
        };
        let rows = self.store.list_notices(&query).await?;
        Ok(paginate(
            rows,
            limit,
            |n| time_id_key(n.window_closes_at, n.id),
            |n| {
                let shared_with = policy::can_manage_notice(caller, &n).then(Vec::new);
                NoticeView::new(n, now, shared_with)
            },
        ))
    }

    async fn change_dates(&self, caller: &Caller, id: Uuid, change: DateChange) -> AppResult<NoticeView> {
        let (notice, shares) = self.visible_notice(caller, id).await?;
        if !policy::can_manage_notice(caller, &notice) {
            return Err(AppError::Forbidden(
                "only the developer changes its notice's dates",
            ));
        }
        let now = self.clock.now();
        let mut dates = dates_of(&notice);
        dates.check_open(now)?;
        let previous = notice.planned_launch_at;
        let (kind, action, new_launch_at, reason) = match change {
            DateChange::Move { to, reason } => {
                check_planned_launch(to, now, self.launch_horizon_days().await?)?;
                dates.planned_launch_at = to;
                (LaunchChangeKind::Moved, "notice.moved", to, reason)
            }
            DateChange::LaunchNow => {
                dates.launched_at = Some(now);
                (LaunchChangeKind::Launched, "notice.launched", now, None)
            }
            DateChange::Withdraw { reason } => {
                dates.withdrawn_at = Some(now);
                (
                    LaunchChangeKind::Withdrawn,
                    "notice.withdrawn",
                    notice.planned_launch_at,
                    reason,
                )
            }
        };
        let window = dates.window();
        let update = NoticeDatesUpdate {
            notice_id: id,
            planned_launch_at: dates.planned_launch_at,
            launched_at: dates.launched_at,
            withdrawn_at: dates.withdrawn_at,
            withdraw_reason: if kind == LaunchChangeKind::Withdrawn {
                reason.clone()
            } else {
                None
            },
            window_opens_at: window.opens_at,
            window_closes_at: window.closes_at,
        };
        let record = LaunchChange {
            id: Uuid::now_v7(),
            notice_id: id,
            kind,
            previous_launch_at: Some(previous),
            new_launch_at,
            reason: reason.clone(),
            changed_by: Some(caller.user_id()),
            changed_at: now,
        };
        let event = self.event(
            caller.into(),
            action,
            "notice",
            Some(id),
            json!({"previous_launch_at": previous, "new_launch_at": new_launch_at, "reason": reason}),
        );
        self.store.change_notice_dates(&update, &record, &event).await?;
        self.gateway_changed();
        self.notify_soon(&event).await;
        let updated = Notice {
            planned_launch_at: update.planned_launch_at,
            launched_at: update.launched_at,
            withdrawn_at: update.withdrawn_at,
            withdraw_reason: update.withdraw_reason,
            window_opens_at: update.window_opens_at,
            window_closes_at: update.window_closes_at,
            ..notice
        };
        Ok(self.view(caller, updated, shares))
    }

    /// Moves the planned launch, earlier or later; the window follows.
    pub async fn move_launch(
        &self,
        caller: &Caller,
        id: Uuid,
        planned_launch_at: &str,
        why: Option<&str>,
    ) -> AppResult<NoticeView> {
        let to = parse_time("planned_launch_at", planned_launch_at)?;
        let reason = reason("reason", why)?;
        self.change_dates(caller, id, DateChange::Move { to, reason })
            .await
    }

    /// Announces that the model launched now; an early launch closes the window early.
    pub async fn launch_now(&self, caller: &Caller, id: Uuid) -> AppResult<NoticeView> {
        self.change_dates(caller, id, DateChange::LaunchNow).await
    }

    pub async fn withdraw(&self, caller: &Caller, id: Uuid, why: Option<&str>) -> AppResult<NoticeView> {
        let reason = reason("reason", why)?;
        self.change_dates(caller, id, DateChange::Withdraw { reason })
            .await
    }

    pub async fn launch_history(&self, caller: &Caller, id: Uuid) -> AppResult<Vec<LaunchChangeView>> {
        self.visible_notice(caller, id).await?;
        Ok(self
            .store
            .launch_history(id)
            .await?
            .into_iter()
            .map(LaunchChangeView::from)
            .collect())
    }

    /// The history a page at a time, for the API.
    pub async fn launch_history_page(
        &self,
        caller: &Caller,
        id: Uuid,
        page: &PageRequest,
    ) -> AppResult<Paged<LaunchChangeView>> {
        let history = self.launch_history(caller, id).await?;
        Ok(paginate_read_whole(history, page, |c| (c.changed_at, c.id))?)
    }

    /// Fails when the notice was withdrawn: no new work is assigned or filed on it.
    pub(crate) fn check_not_withdrawn(notice: &Notice) -> AppResult<()> {
        match notice.withdrawn_at {
            Some(_) => Err(AppError::Conflict("the notice is withdrawn".into())),
            None => Ok(()),
        }
    }

    pub async fn assign(&self, caller: &Caller, notice_id: Uuid, user_id: Uuid) -> AppResult<AssignmentView> {
        let (notice, _) = self.visible_notice(caller, notice_id).await?;
        if !policy::can_assign(caller) {
            return Err(AppError::Forbidden("only agency admins assign evaluators"));
        }
        Self::check_not_withdrawn(&notice)?;
        let user = self
            .store
            .get_user(user_id)
            .await?
            .filter(|u| u.active && policy::can_be_assigned(caller, u.org_id));
        let user =
            user.ok_or_else(|| ValidationError::new("user_id", "is not an active person of your agency"))?;
        let assignment = Assignment {
            notice_id,
            user_id,
            org_id: user.org_id,
            assigned_by: Some(caller.user_id()),
            assigned_at: self.clock.now(),
            email: user.email,
            display_name: user.display_name,
        };
        let event = self.event(
            caller.into(),
            "assignment.create",
            "notice",
            Some(notice_id),
            json!({"user": user_id, "email": assignment.email}),
        );
        self.store.assign(&assignment, &event).await?;
        self.notify_soon(&event).await;
        self.gateway_changed();
        Ok(assignment.into())
    }

    pub async fn unassign(&self, caller: &Caller, notice_id: Uuid, user_id: Uuid) -> AppResult<()> {
        let (notice, _) = self.visible_notice(caller, notice_id).await?;
        let assignments = self.store.list_assignments(notice_id).await?;
        let assignment = assignments
            .into_iter()
            .find(|a| a.user_id == user_id && policy::can_view_assignment(caller, &notice, a.org_id));
        let assignment = assignment.ok_or(AppError::NotFound("assignment"))?;
        if !policy::can_assign(caller) {
            return Err(AppError::Forbidden("only agency admins remove evaluators"));
        }
        let event = self.event(
            caller.into(),
            "assignment.delete",
            "notice",
            Some(notice_id),
            json!({"user": user_id, "email": assignment.email}),
        );
        self.store.unassign(notice_id, user_id, &event).await?;
        self.notify_soon(&event).await;
        self.gateway_changed();
        Ok(())
    }

    /// The evaluators assigned to a notice: the developer sees all, an agency its own.
    pub async fn list_assignments(&self, caller: &Caller, notice_id: Uuid) -> AppResult<Vec<AssignmentView>> {
        let (notice, _) = self.visible_notice(caller, notice_id).await?;
        let rows = self.store.list_assignments(notice_id).await?;
        Ok(rows
            .into_iter()
            .filter(|a| policy::can_view_assignment(caller, &notice, a.org_id))
            .map(AssignmentView::from)
            .collect())
    }

    /// The assignments a page at a time, for the API.
    pub async fn list_assignments_page(
        &self,
        caller: &Caller,
        notice_id: Uuid,
        page: &PageRequest,
    ) -> AppResult<Paged<AssignmentView>> {
        let assignments = self.list_assignments(caller, notice_id).await?;
        Ok(paginate_read_whole(assignments, page, |a| {
            (a.assigned_at, a.user_id)
        })?)
    }

    pub(crate) async fn is_assigned(&self, caller: &Caller, notice_id: Uuid) -> AppResult<bool> {
        let rows = self.store.list_assignments(notice_id).await?;
        Ok(rows.iter().any(|a| a.user_id == caller.user_id()))
    }

    /// Loads a notice on which the caller may write findings or assessments, and checks who they share with.
    async fn writable_notice(
        &self,
        caller: &Caller,
        notice_id: Uuid,
        shared_with: &mut Vec<Uuid>,
    ) -> AppResult<()> {
        let (notice, notice_shares) = self.visible_notice(caller, notice_id).await?;
        if !policy::can_write_agency_work(caller, self.is_assigned(caller, notice_id).await?) {
            return Err(AppError::Forbidden(
                "only evaluators assigned to this notice, or their agency's admins, write findings and assessments",
            ));
        }
        Self::check_not_withdrawn(&notice)?;
        shared_with.sort();
        shared_with.dedup();
        shared_with.retain(|org| *org != caller.org_id());
        self.check_agencies("shared_with", shared_with).await?;
        for (i, org) in shared_with.iter().enumerate() {
            if !(notice.shared_with_all || notice_shares.contains(org)) {
                return Err(ValidationError::new(
                    format!("shared_with[{i}]"),
                    "the notice is not shared with this agency",
                )
                .into());
            }
        }
        Ok(())
    }

    pub async fn file_finding(
        &self,
        caller: &Caller,
        notice_id: Uuid,
        input: NewFinding,
    ) -> AppResult<FindingView> {
        let mut shared_with = input.shared_with;
        self.writable_notice(caller, notice_id, &mut shared_with).await?;
        let finding = Finding {
            id: Uuid::now_v7(),
            notice_id,
            org_id: caller.org_id(),
            author_id: caller.user_id(),
            title: title("title", &input.title)?,
            domain: Domain::parse("domain", &input.domain)?,
            severity: Severity::parse("severity", &input.severity)?,
            description: FindingText::parse("description", &input.description)?.into_inner(),
            evidence: Json(EvidenceLinks::parse("evidence", &input.evidence)?.into_inner()),
            created_at: self.clock.now(),
        };
        let event = self.event(
            caller.into(),
            "finding.file",
            "finding",
            Some(finding.id),
            json!({"notice": notice_id, "severity": finding.severity.as_str(), "domain": finding.domain.as_str(), "shared_with": shared_with}),
        );
        self.store.create_finding(&finding, &shared_with, &event).await?;
        self.notify_soon(&event).await;
        Ok(finding.into())
    }

    pub async fn list_findings(
        &self,
        caller: &Caller,
        notice_id: Uuid,
        page: &PageRequest,
    ) -> AppResult<Paged<FindingView>> {
        self.visible_notice(caller, notice_id).await?;
        let (limit, fetch) = page.by_id()?;
        let rows = self
            .store
            .list_findings(notice_id, &policy::audience(caller), &fetch)
            .await?;
        let mut page = paginate(rows, limit, |f| f.id.to_string(), FindingView::from);
        let ids: Vec<Uuid> = page.items.iter().map(|f| f.id).collect();
        for (finding, report) in self.reports_of_findings(caller, &ids).await? {
            if let Some(view) = page.items.iter_mut().find(|f| f.id == finding) {
                view.report_id = Some(report);
            }
        }
        Ok(page)
    }

    pub async fn get_finding(&self, caller: &Caller, id: Uuid) -> AppResult<FindingView> {
        let finding = self
            .store
            .visible_finding(id, &policy::audience(caller))
            .await?
            .ok_or(AppError::NotFound("finding"))?;
        let report_id = self.report_of_finding(caller, id).await?;
        Ok(FindingView {
            report_id,
            ..finding.into()
        })
    }

    pub async fn get_assessment(&self, caller: &Caller, id: Uuid) -> AppResult<AssessmentView> {
        let assessment = self
            .store
            .visible_assessment(id, &policy::audience(caller))
            .await?
            .ok_or(AppError::NotFound("assessment"))?;
        Ok(assessment.into())
    }

    pub async fn publish_assessment(
        &self,
        caller: &Caller,
        notice_id: Uuid,
        input: NewAssessment,
    ) -> AppResult<AssessmentView> {
        let mut shared_with = input.shared_with;
        self.writable_notice(caller, notice_id, &mut shared_with).await?;
        let levels = AssessmentLevels::parse("levels", &input.levels)?;
        let assessment = Assessment {
            id: Uuid::now_v7(),
            notice_id,
            org_id: caller.org_id(),
            author_id: caller.user_id(),
            levels: Json(
                levels
                    .as_map()
                    .iter()
                    .map(|(d, l)| (d.as_str().to_owned(), l.as_str().to_owned()))
                    .collect(),
            ),
            rationale: FindingText::parse("rationale", &input.rationale)?.into_inner(),
            evidence: Json(EvidenceLinks::parse("evidence", &input.evidence)?.into_inner()),
            published_at: self.clock.now(),
        };
        let event = self.event(
            caller.into(),
            "assessment.publish",
            "assessment",
            Some(assessment.id),
            json!({"notice": notice_id, "levels": assessment.levels.0, "shared_with": shared_with}),
        );
        self.store
            .create_assessment(&assessment, &shared_with, &event)
            .await?;
        self.notify_soon(&event).await;
        Ok(assessment.into())
    }

    pub async fn list_assessments(
        &self,
        caller: &Caller,
        notice_id: Uuid,
        page: &PageRequest,
    ) -> AppResult<Paged<AssessmentView>> {
        self.visible_notice(caller, notice_id).await?;
        let (limit, fetch) = page.by_id()?;
        let rows = self
            .store
            .list_assessments(notice_id, &policy::audience(caller), &fetch)
            .await?;
        Ok(paginate(rows, limit, |a| a.id.to_string(), AssessmentView::from))
    }
}
