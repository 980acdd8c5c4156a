//! Release notices: the list with its filters, filing, and a notice's page with the developer's date
//! actions and the agencies' assignments.

use super::form::{Fields, FormState, QueryFields, on_form};
use super::orgs::{Directory, directory};
use super::render::{Frame, WebError, WebResult, html, see_other};
use super::session::{SignedInForm, WebCaller};
use super::timeline::{Axis, Tick};
use super::view::{Choice, NoticeRow, field_time, from_field_time, humanize, when};
use accounts::OrgKind;
use app::program::{NewNotice, NoticeFilter, NoticeView};
use app::{App, AppError, AppResult, Caller, PageRequest, policy};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use review::{Domain, NoticeState, RiskLevel, Severity, ValidationError};
use uuid::Uuid;

/// A path id that is not a UUID names nothing that exists.
pub fn path_id(raw: &str) -> Result<Uuid, WebError> {
    raw.parse().map_err(|_| WebError::not_found())
}

/// The orders of the notice list as the form offers them (`app::program::NOTICE_SORTS`).
const NOTICE_SORT_LABELS: [(&str, &str); 4] = [
    ("window_closes", "Soonest window close"),
    ("-filed", "Newest filed"),
    ("filed", "Oldest filed"),
    ("model", "Model name"),
];

/// One page of the notices a caller may see, with the filters that chose them.
struct Listing {
    rows: Vec<NoticeRow>,
    next: Option<String>,
    state: String,
    developer: String,
    /// The search text (`q`) and order (`sort`) as given, kept in the form and the pager.
    search: String,
    sort: String,
    sorts: Vec<Choice>,
    states: Vec<Choice>,
    /// Offered only to callers who see the notices of several developers.
    developers: Option<Vec<Choice>>,
    /// False for organisations that receive no notices at all.
    receives: bool,
}

async fn listing(app: &App, caller: &Caller, q: &Fields) -> Result<Listing, WebError> {
    let state = q.optional("state").unwrap_or_default().to_owned();
    let developer = q.optional("developer").unwrap_or_default().to_owned();
    let search = q.optional("q").unwrap_or_default().to_owned();
    let sort = q.optional("sort").unwrap_or_default().to_owned();
    let developer_org = match developer.as_str() {
        "" => None,
        raw => Some(raw.parse::<Uuid>().map_err(|_| {
            WebError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "The address's “developer” parameter is not valid: it does not name an organisation.",
            )
        })?),
    };
    let filter = NoticeFilter {
        states: crate::api::parse_states(Some(&state))?,
        developer_org,
        q: Some(search.clone()),
        sort: Some(sort.clone()),
    };
    let page = PageRequest {
        cursor: q.optional("cursor").map(str::to_owned),
        limit: None,
    };
    let notices = app.list_notices(caller, &filter, &page).await?;
    let axis = Axis::around(
        notices
            .items
            .iter()
            .map(|n| (n.window_opens_at, n.window_closes_at)),
        app.clock.now(),
    );
    let audience = policy::audience(caller);
    let developers = match audience.agency_org {
        Some(_) => Some(
            directory(app, caller)
                .await?
                .of_kind(OrgKind::Developer)
                .map(|o| Choice::new(o.id.to_string(), o.name.clone()))
                .collect(),
        ),
        None => None,
    };
    Ok(Listing {
        rows: notices.items.iter().map(|n| NoticeRow::new(n, &axis)).collect(),
        next: notices.next_cursor,
        state,
        developer,
        search,
        sort,
        sorts: NOTICE_SORT_LABELS
            .iter()
            .map(|(value, label)| Choice::new(*value, *label))
            .collect(),
        states: NoticeState::ALL
            .iter()
            .map(|s| Choice::new(s.as_str(), s.label()))
            .collect(),
        developers,
        receives: policy::receives_notices(caller),
    })
}

#[derive(Template)]
#[template(path = "notices.html")]
struct NoticesPage {
    frame: Frame,
    list: Listing,
}

pub async fn list(
    State(app): State<App>,
    WebCaller(caller): WebCaller,
    QueryFields(q): QueryFields,
) -> WebResult {
    let list = listing(&app, &caller, &q).await?;
    let page = NoticesPage {
        frame: Frame::signed_in(&caller, "notices", "Release notices"),
        list,
    };
    Ok(html(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "notice_new.html")]
struct NewNoticePage {
    frame: Frame,
    form: FormState,
    agencies: Vec<Choice>,
    window_days: u32,
    /// The developer's notice of the same model and version, which filing again asks to confirm.
    duplicate: Option<DuplicateOf>,
}

struct DuplicateOf {
    id: String,
    title: String,
    filed: String,
}

async fn new_notice_page(app: &App, caller: &Caller, status: StatusCode, form: FormState) -> WebResult {
    new_notice_page_with(app, caller, status, form, None).await
}

async fn new_notice_page_with(
    app: &App,
    caller: &Caller,
    status: StatusCode,
    form: FormState,
    duplicate: Option<DuplicateOf>,
) -> WebResult {
    if !policy::can_file_notice(caller) {
        return Err(AppError::Forbidden("only AI developer organisations file release notices").into());
    }
    let agencies = directory(app, caller)
        .await?
        .of_kind(OrgKind::Agency)
        .filter(|o| o.active)
        .map(|o| Choice::new(o.id.to_string(), o.name.clone()))
        .collect();
    let page = NewNoticePage {
        frame: Frame::signed_in(caller, "new", "File a release notice"),
        form,
        agencies,
        window_days: app.window_days().await?,
        duplicate,
    };
    Ok(html(status, &page))
}

pub async fn new_form(State(app): State<App>, WebCaller(caller): WebCaller) -> WebResult {
    new_notice_page(&app, &caller, StatusCode::OK, FormState::default()).await
}

pub async fn file(State(app): State<App>, form: SignedInForm) -> WebResult {
    let SignedInForm { caller, fields } = form;
    // Filing a model and version again warns first, naming the notice already filed.
    if !fields.ticked("confirm_duplicate")
        && let Some(existing) = app
            .notice_of_model(&caller, fields.text("model_name"), fields.text("model_version"))
            .await?
    {
        let title = format!("{} {}", existing.model_name, existing.model_version);
        let error = ValidationError::new(
            "confirm_duplicate",
            format!("you already filed a notice of {title}; tick the box to file another"),
        );
        let duplicate = DuplicateOf {
            id: existing.id.to_string(),
            title,
            filed: when(existing.filed_at),
        };
        let form = FormState::failed(fields, error);
        return new_notice_page_with(&app, &caller, StatusCode::CONFLICT, form, Some(duplicate)).await;
    }
    let filed = async {
        let input = NewNotice {
            model_name: fields.text("model_name").to_owned(),
            model_version: fields.text("model_version").to_owned(),
            planned_launch_at: from_field_time(fields.text("planned_launch_at")),
            model_card: fields.text("model_card").to_owned(),
            shared_with: fields.ids("shared_with")?,
            shared_with_all: fields.ticked("shared_with_all"),
            confirm_duplicate: fields.ticked("confirm_duplicate"),
        };
        app.file_notice(&caller, input).await
    }
    .await;
    match filed {
        Ok(notice) => Ok(see_other(&format!("/notices/{}", notice.id))),
        Err(error) => {
            let (status, error) = on_form(error)?;
            new_notice_page(&app, &caller, status, FormState::failed(fields, error)).await
        }
    }
}

/// The forms of a notice's page, each shown again with its values and error after a failed attempt.
pub struct NoticeForms {
    pub launch: FormState,
    pub launch_now: FormState,
    pub withdraw: FormState,
    pub assign: FormState,
    pub finding: FormState,
    pub assessment: FormState,
}

/// Which of a notice's forms was sent.
#[derive(Debug, Clone, Copy)]
pub enum Slot {
    Launch,
    LaunchNow,
    Withdraw,
    Assign,
    Finding,
    Assessment,
}

impl Default for NoticeForms {
    fn default() -> Self {
        NoticeForms {
            launch: FormState::prefixed("launch-"),
            launch_now: FormState::prefixed("launch-now-"),
            withdraw: FormState::prefixed("withdraw-"),
            assign: FormState::prefixed("assign-"),
            finding: FormState::prefixed("finding-"),
            assessment: FormState::prefixed("assessment-"),
        }
    }
}

impl NoticeForms {
    fn slot(&mut self, slot: Slot) -> &mut FormState {
        match slot {
            Slot::Launch => &mut self.launch,
            Slot::LaunchNow => &mut self.launch_now,
            Slot::Withdraw => &mut self.withdraw,
            Slot::Assign => &mut self.assign,
            Slot::Finding => &mut self.finding,
            Slot::Assessment => &mut self.assessment,
        }
    }
}

struct HistoryRow {
    at: String,
    what: String,
    from: String,
    to: String,
    reason: String,
    by: String,
}

struct AssignmentRow {
    user_id: String,
    name: String,
    email: String,
    agency: String,
    since: String,
    removable: bool,
}

pub struct FindingRow {
    pub id: String,
    pub title: String,
    pub domain: String,
    pub severity: String,
    pub severity_label: String,
    pub agency: String,
    pub filed: String,
}

pub struct AssessmentRow {
    pub id: String,
    pub overall: String,
    pub overall_label: String,
    pub levels: String,
    pub agency: String,
    pub published: String,
    /// A draft, read by its agency alone until published.
    pub draft: bool,
}

/// A select of the assessment form: one per domain.
struct LevelSelect {
    name: String,
    label: String,
}

#[derive(Template)]
#[template(path = "notice.html")]
struct NoticePage {
    frame: Frame,
    n: NoticeView,
    row: NoticeRow,
    ticks: Vec<Tick>,
    today: String,
    card: String,
    filed_at: String,
    opens_at: String,
    closes_at: String,
    launched_at: Option<String>,
    withdrawn_at: Option<String>,
    /// Whom the notice is shared with; only its developer is told.
    shared: Option<String>,
    history: Vec<HistoryRow>,
    manage: bool,
    open: bool,
    withdrawn: bool,
    assignments: Vec<AssignmentRow>,
    can_assign: bool,
    candidates: Vec<Choice>,
    findings: Vec<FindingRow>,
    findings_next: Option<String>,
    assessments: Vec<AssessmentRow>,
    assessments_next: Option<String>,
    can_write: bool,
    partners: Vec<Choice>,
    domains: Vec<Choice>,
    severities: Vec<Choice>,
    risk_levels: Vec<Choice>,
    level_selects: Vec<LevelSelect>,
    forms: NoticeForms,
}

/// Someone's name if the caller may see it, otherwise what they can be called instead.
pub async fn person_name(app: &App, caller: &Caller, id: Option<Uuid>, otherwise: &str) -> String {
    match id {
        Some(id) => match app.get_user(caller, id).await {
            Ok(user) => user.display_name,
            Err(_) => otherwise.to_owned(),
        },
        None => otherwise.to_owned(),
    }
}

pub fn finding_row(f: &app::program::FindingView, orgs: &Directory) -> FindingRow {
    FindingRow {
        id: f.id.to_string(),
        title: f.title.clone(),
        domain: humanize(&f.domain),
        severity: f.severity.clone(),
        severity_label: humanize(&f.severity),
        agency: orgs.name(f.org_id),
        filed: when(f.created_at),
    }
}

pub fn levels_text(levels: &std::collections::BTreeMap<String, String>) -> String {
    levels
        .iter()
        .map(|(domain, level)| format!("{}: {}", humanize(domain), humanize(level)))
        .collect::<Vec<_>>()
        .join("; ")
}

pub fn assessment_row(a: &app::program::AssessmentView, orgs: &Directory) -> AssessmentRow {
    AssessmentRow {
        id: a.id.to_string(),
        overall: a.overall.clone(),
        overall_label: humanize(&a.overall),
        levels: levels_text(&a.levels),
        agency: orgs.name(a.org_id),
        published: when(a.published_at),
        draft: a.draft,
    }
}

async fn notice_page(
    app: &App,
    caller: &Caller,
    id: Uuid,
    q: &Fields,
    mut forms: NoticeForms,
) -> Result<NoticePage, WebError> {
    let n = app.get_notice(caller, id).await?;
    let orgs = directory(app, caller).await?;
    let now = app.clock.now();
    let axis = Axis::around([(n.window_opens_at, n.window_closes_at)], now);
    let manage = policy::manages_notices_of(caller, n.developer_org_id);
    let open = matches!(n.state, NoticeState::Scheduled | NoticeState::InReview);
    let withdrawn = n.state == NoticeState::Withdrawn;

    let mut history = Vec::new();
    for change in app.launch_history(caller, id).await? {
        let edited = change.kind == "edited";
        let what = match change.kind.as_str() {
            "filed" => "Filed".to_owned(),
            "moved" => "Launch date moved".to_owned(),
            "launched" => "Marked launched".to_owned(),
            "withdrawn" => "Withdrawn".to_owned(),
            "edited" => {
                super::notice_edit::changes_text(change.changes.as_deref().unwrap_or_default(), &orgs)
            }
            _ => "Changed".to_owned(),
        };
        history.push(HistoryRow {
            at: when(change.changed_at),
            what,
            from: match edited {
                true => String::new(),
                false => change.previous_launch_at.map(when).unwrap_or_default(),
            },
            to: match edited {
                true => String::new(),
                false => when(change.new_launch_at),
            },
            reason: change.reason.unwrap_or_default(),
            by: person_name(app, caller, change.changed_by, &n.developer_name).await,
        });
    }

    let assigned = app.list_assignments(caller, id).await?;
    let can_assign = policy::can_assign(caller);
    let is_assigned = assigned.iter().any(|a| a.user_id == caller.user_id());
    let candidates = if can_assign && !withdrawn {
        let people = app
            .list_users(
                caller,
                Some(caller.org_id()),
                &PageRequest {
                    cursor: None,
                    limit: Some(app::page::MAX_LIMIT),
                },
            )
            .await?;
        people
            .items
            .into_iter()
            .filter(|u| u.active && policy::can_be_assigned(caller, u.org_id))
            .filter(|u| !assigned.iter().any(|a| a.user_id == u.id))
            .map(|u| Choice::new(u.id.to_string(), format!("{} ({})", u.display_name, u.email)))
            .collect()
    } else {
        Vec::new()
    };
    let assignments = assigned
        .iter()
        .map(|a| AssignmentRow {
            user_id: a.user_id.to_string(),
            name: a.display_name.clone(),
            email: a.email.clone(),
            agency: orgs.name(a.org_id),
            since: when(a.assigned_at),
            removable: can_assign && a.org_id == caller.org_id(),
        })
        .collect();

    let findings = app
        .list_findings(
            caller,
            id,
            &app::page::ListParams::default(),
            &PageRequest {
                cursor: q.optional("findings").map(str::to_owned),
                limit: None,
            },
        )
        .await?;
    let assessments = app
        .list_assessments(
            caller,
            id,
            &PageRequest {
                cursor: q.optional("assessments").map(str::to_owned),
                limit: None,
            },
        )
        .await?;

    let shared = manage.then(|| {
        if n.shared_with_all {
            "Every participating agency".to_owned()
        } else {
            n.shared_with
                .iter()
                .flatten()
                .map(|org| orgs.name(*org))
                .collect::<Vec<_>>()
                .join(", ")
        }
    });
    if forms.launch.error.is_none() {
        forms.launch.fields = Fields::new(&[("planned_launch_at", &field_time(n.planned_launch_at))]);
    }
    let partners = orgs
        .of_kind(OrgKind::Agency)
        .filter(|o| o.active && o.id != caller.org_id())
        .map(|o| Choice::new(o.id.to_string(), o.name.clone()))
        .collect();
    let row = NoticeRow::new(&n, &axis);
    Ok(NoticePage {
        frame: Frame::signed_in(caller, "notices", format!("{} {}", n.model_name, n.model_version)),
        ticks: axis.ticks(),
        today: axis.today(),
        card: review::markdown::render(&n.model_card),
        filed_at: when(n.filed_at),
        opens_at: when(n.window_opens_at),
        closes_at: when(n.window_closes_at),
        launched_at: row.launched.clone(),
        row,
        withdrawn_at: n.withdrawn_at.map(when),
        shared,
        history,
        manage,
        open,
        withdrawn,
        assignments,
        can_assign,
        candidates,
        findings: findings.items.iter().map(|f| finding_row(f, &orgs)).collect(),
        findings_next: findings.next_cursor,
        assessments: assessments
            .items
            .iter()
            .map(|a| assessment_row(a, &orgs))
            .collect(),
        assessments_next: assessments.next_cursor,
        can_write: !withdrawn && policy::can_write_agency_work(caller, is_assigned),
        partners,
        domains: Choice::keywords(Domain::ALL.iter().map(|d| d.as_str())),
        severities: Choice::keywords(Severity::ALL.iter().map(|s| s.as_str())),
        risk_levels: Choice::keywords(RiskLevel::ALL.iter().map(|l| l.as_str())),
        level_selects: Domain::ALL
            .iter()
            .map(|d| LevelSelect {
                name: format!("levels.{}", d.as_str()),
                label: humanize(d.as_str()),
            })
            .collect(),
        n,
        forms,
    })
}

pub async fn detail(
    State(app): State<App>,
    WebCaller(caller): WebCaller,
    Path(raw): Path<String>,
    QueryFields(q): QueryFields,
) -> WebResult {
    let mut forms = NoticeForms::default();
    // "Cite in a finding" (from a run's or a sample's page): the finding form, open, with the link filled in.
    if let Some(cite) = q
        .optional("cite")
        .filter(|c| c.starts_with("/eval-runs/") && c.len() <= 2000)
    {
        forms.finding.fields = Fields::new(&[("evidence", cite)]);
    }
    let page = notice_page(&app, &caller, path_id(&raw)?, &q, forms).await?;
    Ok(html(StatusCode::OK, &page))
}

/// Ends a POST on a notice's page: to the given page when it worked, otherwise the notice's page again with
/// the failed form showing its values and the error.
pub async fn finish<T>(
    app: &App,
    form: SignedInForm,
    id: Uuid,
    slot: Slot,
    result: AppResult<T>,
    done: impl FnOnce(T) -> String,
) -> WebResult {
    match result {
        Ok(value) => Ok(see_other(&done(value))),
        Err(error) => {
            let (status, error) = on_form(error)?;
            let mut forms = NoticeForms::default();
            let failed = forms.slot(slot);
            failed.fields = form.fields;
            failed.error = Some(error);
            let page = notice_page(app, &form.caller, id, &Fields::default(), forms).await?;
            Ok(html(status, &page))
        }
    }
}

/// Irreversible actions ask for a ticked box first.
fn confirmed(fields: &Fields, what: &str) -> AppResult<()> {
    if fields.ticked("confirm") {
        Ok(())
    } else {
        Err(ValidationError::new(
            "confirm",
            format!("tick the box to confirm that you want to {what}"),
        )
        .into())
    }
}

fn back_to(id: Uuid) -> impl FnOnce(NoticeView) -> String {
    move |_| format!("/notices/{id}")
}

pub async fn move_launch(State(app): State<App>, Path(raw): Path<String>, form: SignedInForm) -> WebResult {
    let id = path_id(&raw)?;
    let f = &form.fields;
    let result = app
        .move_launch(
            &form.caller,
            id,
            &from_field_time(f.text("planned_launch_at")),
            f.optional("reason"),
        )
        .await;
    finish(&app, form, id, Slot::Launch, result, back_to(id)).await
}

pub async fn launch_now(State(app): State<App>, Path(raw): Path<String>, form: SignedInForm) -> WebResult {
    let id = path_id(&raw)?;
    let result = match confirmed(&form.fields, "mark the model launched") {
        Ok(()) => app.launch_now(&form.caller, id).await,
        Err(error) => Err(error),
    };
    finish(&app, form, id, Slot::LaunchNow, result, back_to(id)).await
}

pub async fn withdraw(State(app): State<App>, Path(raw): Path<String>, form: SignedInForm) -> WebResult {
    let id = path_id(&raw)?;
    let result = match confirmed(&form.fields, "withdraw the notice") {
        Ok(()) => {
            app.withdraw(&form.caller, id, form.fields.optional("reason"))
                .await
        }
        Err(error) => Err(error),
    };
    finish(&app, form, id, Slot::Withdraw, result, back_to(id)).await
}

pub async fn assign(State(app): State<App>, Path(raw): Path<String>, form: SignedInForm) -> WebResult {
    let id = path_id(&raw)?;
    let result = match form.fields.id("user_id") {
        Ok(user) => app.assign(&form.caller, id, user).await,
        Err(error) => Err(error.into()),
    };
    finish(&app, form, id, Slot::Assign, result, |_| {
        format!("/notices/{id}#assignments")
    })
    .await
}

pub async fn unassign(
    State(app): State<App>,
    Path((raw, user)): Path<(String, String)>,
    form: SignedInForm,
) -> WebResult {
    let id = path_id(&raw)?;
    let evaluator = path_id(&user)?;
    // Removing an evaluator ends their access at once: the page asks first (a page of its own, no script).
    if form.fields.get("confirm") != Some("yes") {
        let person = app.get_user(&form.caller, evaluator).await?;
        let mut page = super::clearinghouse::triage::ConfirmPage::new(
            &form.caller,
            format!("Remove {} from this notice", person.display_name),
            format!(
                "{} loses access to the notice, its model and its evaluation at once.",
                person.display_name
            ),
            format!("/notices/{id}/assignments/{evaluator}/remove"),
            &form.fields,
        );
        page.frame = Frame::signed_in(&form.caller, "notices", page.heading.clone());
        page.cancel = format!("/notices/{id}#assignments");
        return Ok(html(StatusCode::OK, &page));
    }
    app.unassign(&form.caller, id, evaluator).await?;
    Ok(see_other(&format!("/notices/{id}#assignments")))
}
