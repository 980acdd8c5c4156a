//! Program administration: the program policy (review window, launch horizon) and the audit trail.

use super::event_names::{EVENT_NAMES, OBJECT_KINDS, ObjectTitles, action_name};
use super::form::{Fields, FormState, QueryFields, on_form};
use super::orgs::directory;
use super::render::{Frame, WebResult, html, see_other};
use super::session::{SignedInForm, WebCaller};
use super::view::Choice;
use super::view::when;
use app::audit::TrailFilter;
use app::{App, AppError, Caller, PageRequest, policy};
use askama::Template;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use chrono::NaiveDate;
use futures_util::stream::{self, StreamExt};
use review::ValidationError;
use std::collections::HashMap;
use uuid::Uuid;

#[derive(Template)]
#[template(path = "policy.html")]
struct PolicyPage {
    frame: Frame,
    window_days: u32,
    launch_horizon_days: u32,
    admin: bool,
    saved: bool,
    form: FormState,
    days_hint: String,
    horizon_hint: String,
    /// The SMTP server mail goes through (without its password); `None`: e-mail is off.
    mail_server: Option<String>,
    reminder_days: String,
}

async fn policy_page(
    app: &App,
    caller: &Caller,
    status: StatusCode,
    saved: bool,
    form: FormState,
) -> WebResult {
    let policy = app.program_policy().await?;
    let form = if form.error.is_some() {
        form
    } else {
        FormState::with(&[
            ("window_days", &policy.window_days.to_string()),
            ("launch_horizon_days", &policy.launch_horizon_days.to_string()),
        ])
    };
    let page = PolicyPage {
        frame: Frame::signed_in(caller, "policy", "Program policy"),
        window_days: policy.window_days,
        launch_horizon_days: policy.launch_horizon_days,
        admin: policy::can_administer_program(caller),
        saved,
        form,
        days_hint: format!(
            "Between 1 and {} days. Applies to notices filed after the change.",
            review::MAX_WINDOW_DAYS
        ),
        horizon_hint: format!(
            "Between 1 and {} days. Applies when a launch is planned or moved.",
            review::MAX_LAUNCH_HORIZON_DAYS
        ),
        mail_server: app.mail_server().map(str::to_owned),
        reminder_days: app
            .reminder_days()
            .await?
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    };
    Ok(html(status, &page))
}

pub async fn policy_form(
    State(app): State<App>,
    WebCaller(caller): WebCaller,
    QueryFields(q): QueryFields,
) -> WebResult {
    let saved = q.get("saved").is_some();
    policy_page(&app, &caller, StatusCode::OK, saved, FormState::default()).await
}

pub async fn set_policy(State(app): State<App>, form: SignedInForm) -> WebResult {
    let SignedInForm { caller, fields } = form;
    // A field left out (an older form) keeps its value; one sent empty is a mistake.
    let number = |name: &str| match fields.get(name) {
        Some(value) if value.trim().is_empty() => {
            Err(review::ValidationError::new(name, "must not be empty"))
        }
        _ => fields.number(name),
    };
    let result = match (number("window_days"), number("launch_horizon_days")) {
        (Ok(window_days), Ok(horizon)) => {
            app.set_program_policy(&caller, window_days, horizon, None, &Default::default())
                .await
        }
        (Err(error), _) | (_, Err(error)) => Err(AppError::from(error)),
    };
    match result {
        Ok(_) => Ok(see_other("/policy?saved=1")),
        Err(error) => {
            let (status, error) = on_form(error)?;
            policy_page(&app, &caller, status, false, FormState::failed(fields, error)).await
        }
    }
}

struct AuditRow {
    seq: i64,
    at: String,
    actor: String,
    action: String,
    object: String,
    object_href: Option<String>,
    details: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    frame: Frame,
    form: FormState,
    actions: Vec<Choice>,
    kinds: Vec<Choice>,
    rows: Vec<AuditRow>,
    /// The next page's address, with the filters kept.
    next_href: Option<String>,
}

/// The filters of the audit page as typed, checked: a filter naming nothing the trail holds, or an address no
/// one has, is the caller's mistake, named by its label.
async fn trail_filter(app: &App, q: &Fields) -> Result<TrailFilter, ValidationError> {
    let mut filter = TrailFilter::default();
    if let Some(action) = q.optional("action") {
        if !EVENT_NAMES.iter().any(|(kind, _)| *kind == action) {
            return Err(ValidationError::new("action", "choose an action from the list"));
        }
        filter.action = Some(action.to_owned());
    }
    if let Some(kind) = q.optional("object_type") {
        if !OBJECT_KINDS.iter().any(|(k, _)| *k == kind) {
            return Err(ValidationError::new(
                "object_type",
                "choose a kind of object from the list",
            ));
        }
        filter.object_type = Some(kind.to_owned());
    }
    if let Some(email) = q.optional("actor") {
        if email.len() > 320 {
            return Err(ValidationError::new(
                "actor",
                "is longer than an e-mail address can be",
            ));
        }
        let found = app
            .store
            .find_user_by_email(&email.to_lowercase())
            .await
            .map_err(|_| ValidationError::new("actor", "could not be looked up; try again"))?;
        match found {
            Some(user) => filter.actor_user_id = Some(user.id),
            None => return Err(ValidationError::new("actor", "no one has this e-mail address")),
        }
    }
    let day = |name: &'static str| -> Result<Option<NaiveDate>, ValidationError> {
        match q.optional(name) {
            None => Ok(None),
            Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| ValidationError::new(name, "enter a date as year-month-day, like 2027-02-15")),
        }
    };
    let (from, until) = (day("from")?, day("until")?);
    if let (Some(from), Some(until)) = (from, until)
        && until < from
    {
        return Err(ValidationError::new("until", "must not be before the first day"));
    }
    filter.from = from.and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc());
    filter.until = until
        .and_then(|d| d.succ_opt())
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc());
    Ok(filter)
}

/// The filters of the page as a query string, for the next page's link.
fn filter_query(q: &Fields) -> String {
    ["action", "actor", "object_type", "from", "until"]
        .iter()
        .filter_map(|name| {
            q.optional(name)
                .map(|v| format!("&{name}={}", urlencoding_lite(v)))
        })
        .collect()
}

/// Percent-encodes everything but unreserved characters.
fn urlencoding_lite(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub async fn audit(
    State(app): State<App>,
    WebCaller(caller): WebCaller,
    QueryFields(q): QueryFields,
) -> WebResult {
    if !policy::can_list_whole_trail(&caller) {
        return Err(AppError::Forbidden("only program administrators read the whole audit trail").into());
    }
    let actions = EVENT_NAMES
        .iter()
        .map(|(kind, name)| Choice::new(*kind, *name))
        .collect();
    let kinds = OBJECT_KINDS
        .iter()
        .map(|(kind, name)| Choice::new(*kind, *name))
        .collect();
    let filters = filter_query(&q);
    let filter = match trail_filter(&app, &q).await {
        Ok(filter) => filter,
        Err(error) => {
            let view = AuditPage {
                frame: Frame::signed_in(&caller, "audit", "Audit trail"),
                form: FormState {
                    prefix: "audit-",
                    ..FormState::failed(q, error)
                },
                actions,
                kinds,
                rows: Vec::new(),
                next_href: None,
            };
            return Ok(html(StatusCode::UNPROCESSABLE_ENTITY, &view));
        }
    };
    let page = PageRequest {
        cursor: q.optional("cursor").map(str::to_owned),
        limit: None,
    };
    let events = app.list_trail(&caller, filter, &page).await?;
    let orgs = directory(&app, &caller).await?;
    let people = actors(&app, &caller, &events.items).await?;
    let mut titles = ObjectTitles::new(&app, &caller);
    let mut rows = Vec::with_capacity(events.items.len());
    for event in &events.items {
        let actor = match (event.actor_user_id, event.actor_org_id) {
            (Some(user), org) => {
                let name = person(&people, user);
                match org {
                    Some(org) => format!("{name} ({})", orgs.name(org)),
                    None => name,
                }
            }
            (None, _) => "Operator".to_owned(),
        };
        let object = titles.name(&event.object_type, event.object_id).await;
        rows.push(AuditRow {
            seq: event.seq,
            at: when(event.at),
            actor,
            action: action_name(&event.action),
            object: object.title,
            object_href: object.href,
            details: event.details.to_string(),
        });
    }
    let view = AuditPage {
        frame: Frame::signed_in(&caller, "audit", "Audit trail"),
        form: FormState {
            fields: q,
            error: None,
            prefix: "audit-",
        },
        actions,
        kinds,
        rows,
        next_href: events
            .next_cursor
            .map(|c| format!("/audit?cursor={}{filters}", urlencoding_lite(&c))),
    };
    Ok(html(StatusCode::OK, &view))
}

/// The e-mail addresses of a page of events' actors the caller may see, read in one batch.
async fn actors(
    app: &App,
    caller: &Caller,
    events: &[app::audit::AuditView],
) -> Result<HashMap<Uuid, String>, AppError> {
    app.people_emails(caller, events.iter().filter_map(|e| e.actor_user_id))
        .await
}

/// An actor's name: their address, or "A person" when the reader may not see them.
fn person(people: &HashMap<Uuid, String>, user: Uuid) -> String {
    people
        .get(&user)
        .cloned()
        .unwrap_or_else(|| "A person".to_owned())
}

/// The most events one CSV export holds; narrow the filters for more.
const CSV_MAX_ROWS: usize = 10_000;
/// Events read per page while the export streams.
const CSV_PAGE: i64 = 200;

/// One CSV cell, quoted; a cell a spreadsheet would read as a formula (starting with = + - @, or a tab or
/// carriage return) is prefixed with an apostrophe so it stays text.
fn csv_cell(value: &str) -> String {
    let guarded = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    format!("\"{}\"", guarded.replace('"', "\"\""))
}

fn csv_line(cells: &[&str]) -> String {
    let mut line = cells.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(",");
    line.push_str("\r\n");
    line
}

struct CsvState {
    app: App,
    caller: Caller,
    filter: TrailFilter,
    cursor: Option<String>,
    written: usize,
    done: bool,
}

/// The audit trail as CSV, with the page's filters, newest first, at most `CSV_MAX_ROWS` events, streamed a
/// page at a time.
pub async fn audit_csv(
    State(app): State<App>,
    WebCaller(caller): WebCaller,
    QueryFields(q): QueryFields,
) -> WebResult {
    if !policy::can_list_whole_trail(&caller) {
        return Err(AppError::Forbidden("only program administrators read the whole audit trail").into());
    }
    let filter = match trail_filter(&app, &q).await {
        Ok(filter) => filter,
        Err(error) => return Err(AppError::Invalid(error).into()),
    };
    let header = csv_line(&["#", "When (UTC)", "Person", "Action", "Object", "Details"]);
    let state = CsvState {
        app,
        caller,
        filter,
        cursor: None,
        written: 0,
        done: false,
    };
    let rows = stream::unfold(state, |mut state| async move {
        if state.done || state.written >= CSV_MAX_ROWS {
            return None;
        }
        let page = PageRequest {
            cursor: state.cursor.take(),
            limit: Some(CSV_PAGE),
        };
        let events = match state
            .app
            .list_trail(&state.caller, state.filter.clone(), &page)
            .await
        {
            Ok(events) => events,
            Err(e) => {
                tracing::error!(error = %e, "the audit export could not read the trail");
                state.done = true;
                return Some((
                    Err(std::io::Error::other("the audit trail could not be read")),
                    state,
                ));
            }
        };
        let people = match actors(&state.app, &state.caller, &events.items).await {
            Ok(people) => people,
            Err(e) => {
                tracing::error!(error = %e, "the audit export could not read the trail's people");
                state.done = true;
                return Some((
                    Err(std::io::Error::other("the audit trail could not be read")),
                    state,
                ));
            }
        };
        let mut out = String::new();
        {
            let mut titles = ObjectTitles::new(&state.app, &state.caller);
            for event in &events.items {
                if state.written >= CSV_MAX_ROWS {
                    break;
                }
                let actor = match event.actor_user_id {
                    Some(user) => person(&people, user),
                    None => "Operator".to_owned(),
                };
                let object = titles.name(&event.object_type, event.object_id).await;
                out.push_str(&csv_line(&[
                    &event.seq.to_string(),
                    &event.at.to_rfc3339(),
                    &actor,
                    &action_name(&event.action),
                    &object.title,
                    &event.details.to_string(),
                ]));
                state.written += 1;
            }
        }
        state.cursor = events.next_cursor;
        state.done = state.cursor.is_none();
        Some((Ok(Bytes::from(out)), state))
    });
    let body = stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(header)) }).chain(rows);
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"audit-trail.csv\""),
    );
    Ok(response)
}

struct JobRow {
    id: uuid::Uuid,
    kind: String,
    failed_at: String,
    attempts: i32,
    last_error: String,
}

#[derive(Template)]
#[template(path = "jobs.html")]
struct JobsPage {
    frame: Frame,
    rows: Vec<JobRow>,
    retried: bool,
    next: Option<String>,
}

/// The failed jobs, for program administrators, each with a Retry button.
pub async fn failed_jobs(
    State(app): State<App>,
    WebCaller(caller): WebCaller,
    QueryFields(q): QueryFields,
) -> WebResult {
    let page = PageRequest {
        cursor: q.optional("cursor").map(str::to_owned),
        limit: None,
    };
    let jobs = app.list_jobs(&caller, Some("failed"), &page).await?;
    let rows = jobs
        .items
        .into_iter()
        .map(|j| JobRow {
            id: j.id,
            kind: j.kind,
            failed_at: j.finished_at.map(when).unwrap_or_default(),
            attempts: j.attempts,
            last_error: j.last_error.unwrap_or_default(),
        })
        .collect();
    let view = JobsPage {
        frame: Frame::signed_in(&caller, "jobs", "Failed jobs"),
        rows,
        retried: q.get("retried").is_some(),
        next: jobs.next_cursor,
    };
    Ok(html(StatusCode::OK, &view))
}

pub async fn retry_job(
    State(app): State<App>,
    axum::extract::Path(raw): axum::extract::Path<String>,
    form: SignedInForm,
) -> WebResult {
    app.retry_job(&form.caller, super::notices::path_id(&raw)?)
        .await?;
    Ok(see_other("/jobs?retried=1"))
}
