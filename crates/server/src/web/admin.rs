//! Program administration: the program policy (review window, launch horizon) and the audit trail.

use super::form::{FormState, QueryFields, on_form};
use super::orgs::directory;
use super::render::{Frame, WebResult, html, see_other};
use super::session::{SignedInForm, WebCaller};
use super::view::when;
use app::{App, AppError, Caller, PageRequest, policy};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
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
    details: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    frame: Frame,
    rows: Vec<AuditRow>,
    next: Option<String>,
}

pub async fn audit(
    State(app): State<App>,
    WebCaller(caller): WebCaller,
    QueryFields(q): QueryFields,
) -> WebResult {
    let page = PageRequest {
        cursor: q.optional("cursor").map(str::to_owned),
        limit: None,
    };
    let events = app.list_audit(&caller, None, &page).await?;
    let orgs = directory(&app, &caller).await?;
    let mut people: HashMap<Uuid, String> = HashMap::new();
    let mut rows = Vec::with_capacity(events.items.len());
    for event in &events.items {
        let actor = match (event.actor_user_id, event.actor_org_id) {
            (Some(user), org) => {
                let name = match people.get(&user) {
                    Some(name) => name.clone(),
                    None => {
                        let name = match app.get_user(&caller, user).await {
                            Ok(u) => u.email,
                            Err(_) => user.to_string(),
                        };
                        people.insert(user, name.clone());
                        name
                    }
                };
                match org {
                    Some(org) => format!("{name} ({})", orgs.name(org)),
                    None => name,
                }
            }
            (None, _) => "Operator".to_owned(),
        };
        rows.push(AuditRow {
            seq: event.seq,
            at: when(event.at),
            actor,
            action: event.action.clone(),
            object: match event.object_id {
                Some(id) => format!("{} {id}", event.object_type),
                None => event.object_type.clone(),
            },
            details: event.details.to_string(),
        });
    }
    let view = AuditPage {
        frame: Frame::signed_in(&caller, "audit", "Audit trail"),
        rows,
        next: events.next_cursor,
    };
    Ok(html(StatusCode::OK, &view))
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
