//! The review program: release notices, their windows, assignments, findings and assessments.
//!
//! Nothing here approves or blocks a launch. The developer files, moves, announces and withdraws at will;
//! agencies read, evaluate, and write advisory findings and assessments.

mod dashboard;
mod edit;
mod life;
mod settings;
mod work;

pub use dashboard::{CLOSING_SOON_DAYS, DASHBOARD_ROWS, Dashboard, RECENT_DAYS};
pub use edit::NoticeEditInput;
pub use life::{FindingEdit, FindingVersionView, ResponseView};
pub use settings::ProgramPolicy;
pub use work::{AssessmentView, AssignmentView, FindingView, NewAssessment, NewFinding};

use crate::page::{
    PageRequest, Paged, paginate, paginate_read_whole, parse_sorted_key, parse_text_id_key,
    parse_time_id_key, search, sort, sorted_key, text_id_key, time_id_key,
};
use crate::{App, AppError, AppResult, Caller, policy};
use accounts::OrgKind;
use chrono::{DateTime, Utc};
use review::dates::parse_time;
use review::validate::reason;
use review::window::check_planned_launch;
use review::{
    DEFAULT_WINDOW_DAYS, ModelCard, ModelName, ModelVersion, NoticeDates, NoticeState, ValidationError,
};
use serde::Serialize;
use serde_json::json;
use store::{
    LaunchChange, LaunchChangeKind, Notice, NoticeChange, NoticeDatesUpdate, NoticeQuery, NoticeSort,
};
use uuid::Uuid;

/// The order of a notice list's groups: open windows, upcoming ones, then closed ones.
const LIST_ORDER: [NoticeState; 4] = [
    NoticeState::InReview,
    NoticeState::Scheduled,
    NoticeState::Launched,
    NoticeState::Withdrawn,
];

/// Where a notice list's page stopped: the instant its groups are decided at (the first page's now, carried by
/// every cursor of the list), the group it stopped in, then the time and id of its last notice.
struct GroupKey {
    as_of: DateTime<Utc>,
    group: usize,
    at: DateTime<Utc>,
    id: Uuid,
}

/// A notice list's cursor, `group~as_of~time|id` (see `GroupKey`).
fn group_key(as_of: DateTime<Utc>, group: usize, at: DateTime<Utc>, id: Uuid) -> String {
    format!("{group}~{}~{}", as_of.to_rfc3339(), time_id_key(at, id))
}

fn parse_group_key(key: &str) -> Option<GroupKey> {
    let (group, rest) = key.split_once('~')?;
    let group: usize = group.parse().ok().filter(|g| *g < LIST_ORDER.len())?;
    let (as_of, rest) = rest.split_once('~')?;
    let as_of = parse_time("cursor", as_of).ok()?;
    let (at, id) = parse_time_id_key(rest)?;
    Some(GroupKey { as_of, group, at, id })
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
    /// Files even when the developer has a notice of this model and version (otherwise a conflict naming it).
    pub confirm_duplicate: bool,
}

/// Filters of the notice list and the dashboard.
#[derive(Debug, Clone, Default)]
pub struct NoticeFilter {
    /// Wanted states; empty means all.
    pub states: Vec<NoticeState>,
    pub developer_org: Option<Uuid>,
    /// The caller's search text (`q`), unchecked: model name, version or developer name contains it.
    pub q: Option<String>,
    /// The caller's order (`sort`), unchecked: one of `NOTICE_SORTS`, the first when absent.
    pub sort: Option<String>,
}

/// The orders a notice list offers, the default first.
pub const NOTICE_SORTS: [(&str, NoticeSort); 4] = [
    ("window_closes", NoticeSort::WindowCloses),
    ("filed", NoticeSort::Filed),
    ("-filed", NoticeSort::FiledDesc),
    ("model", NoticeSort::Model),
];

#[derive(Debug, Clone, Serialize)]
pub struct LaunchChangeView {
    pub id: Uuid,
    pub kind: String,
    pub previous_launch_at: Option<DateTime<Utc>>,
    pub new_launch_at: DateTime<Utc>,
    pub reason: Option<String>,
    pub changed_by: Option<Uuid>,
    pub changed_at: DateTime<Utc>,
    /// What an edit changed (kind `edited`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<Vec<NoticeChange>>,
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
            changes: c.changes.map(|j| j.0),
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
        let shared_with = edit::check_sharing(input.shared_with_all, input.shared_with)?;
        self.check_agencies("shared_with", &shared_with).await?;
        if !input.confirm_duplicate
            && let Some(existing) = self
                .store
                .notice_of_model(caller.org_id(), model_name.as_str(), model_version.as_str())
                .await?
        {
            return Err(AppError::Conflict(format!(
                "a notice of {} {} is already filed (notice {}, filed {}); set confirm_duplicate to file \
                 another",
                existing.model_name,
                existing.model_version,
                existing.id,
                existing.filed_at.format("%Y-%m-%d %H:%M UTC")
            )));
        }
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

    /// A page of the notices the caller may see, in the order "soonest window close first" means to a
    /// reader: open windows first, then upcoming ones, then closed ones (launched, then withdrawn), each group
    /// by the time its window closes. Each group is read with the store's seeking query, one after another
    /// until the page is full; the cursor names the group it stopped in and the instant the first page was
    /// read at, and every later page decides the groups at that instant: a window that opens or closes while
    /// the reader pages (moving its notice to another group) is neither skipped nor listed twice.
    pub async fn list_notices(
        &self,
        caller: &Caller,
        filter: &NoticeFilter,
        page: &PageRequest,
    ) -> AppResult<Paged<NoticeView>> {
        let limit = page.limit()?;
        let search = search(filter.q.as_deref())?;
        let sort = sort(filter.sort.as_deref(), &NOTICE_SORTS)?;
        if sort != NoticeSort::WindowCloses {
            return self.list_notices_sorted(caller, filter, page, search, sort).await;
        }
        let after = page.after(parse_group_key)?;
        let wanted = |state: &NoticeState| filter.states.is_empty() || filter.states.contains(state);
        let now = self.clock.now();
        // A cursor's instant is never later than now (it was some earlier page's now).
        let as_of = after.as_ref().map_or(now, |k| k.as_of.min(now));
        let mut rows: Vec<(usize, Notice)> = Vec::new();
        for (group, state) in LIST_ORDER.iter().enumerate() {
            let remaining = limit + 1 - i64::try_from(rows.len()).unwrap_or(i64::MAX);
            if remaining <= 0 {
                break;
            }
            let group_after = match &after {
                Some(k) if k.group > group => continue,
                Some(k) if k.group == group => Some((k.at, k.id)),
                _ => None,
            };
            if !wanted(state) {
                continue;
            }
            let query = NoticeQuery {
                audience: policy::audience(caller),
                now: as_of,
                states: NoticeState::ALL.map(|s| s == *state),
                developer_org: filter.developer_org,
                after: group_after,
                limit: remaining,
                search: search.clone(),
                sort,
                after_model: None,
            };
            let found = self.store.list_notices(&query).await?;
            rows.extend(found.into_iter().map(|n| (group, n)));
        }
        Ok(paginate(
            rows,
            limit,
            |(group, n)| group_key(as_of, *group, n.window_closes_at, n.id),
            |(_, n)| {
                let shared_with = policy::can_manage_notice(caller, &n).then(Vec::new);
                NoticeView::new(n, now, shared_with)
            },
        ))
    }

    /// A page of the notices the caller may see in an order other than the default, read with one seeking
    /// query; the cursor is the sort's name and the last notice's key.
    async fn list_notices_sorted(
        &self,
        caller: &Caller,
        filter: &NoticeFilter,
        page: &PageRequest,
        search: Option<String>,
        sort: NoticeSort,
    ) -> AppResult<Paged<NoticeView>> {
        let limit = page.limit()?;
        let name = NOTICE_SORTS
            .iter()
            .find(|(_, s)| *s == sort)
            .map_or("", |(name, _)| *name);
        let now = self.clock.now();
        let mut query = NoticeQuery {
            audience: policy::audience(caller),
            now,
            states: NoticeState::ALL.map(|s| filter.states.is_empty() || filter.states.contains(&s)),
            developer_org: filter.developer_org,
            after: None,
            limit: limit + 1,
            search,
            sort,
            after_model: None,
        };
        if sort == NoticeSort::Model {
            query.after_model = page.after(|k| parse_text_id_key(parse_sorted_key(name, k)?))?;
        } else {
            query.after = page.after(|k| parse_time_id_key(parse_sorted_key(name, k)?))?;
        }
        let rows = self.store.list_notices(&query).await?;
        Ok(paginate(
            rows,
            limit,
            |n| match sort {
                NoticeSort::Model => sorted_key(name, &text_id_key(&n.model_name, n.id)),
                _ => sorted_key(name, &time_id_key(n.filed_at, n.id)),
            },
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
            changes: None,
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
        let (notice, _) = self.visible_notice(caller, id).await?;
        let manages = policy::can_manage_notice(caller, &notice);
        Ok(self
            .store
            .launch_history(id)
            .await?
            .into_iter()
            .filter_map(|c| LaunchChangeView::from(c).for_reader(manages))
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
}
