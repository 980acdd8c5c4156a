//! A finding's page and its life after filing: the status with the moves the caller's side may make, the
//! response thread with its form, sharing with further agencies, the author's edit form and the history of
//! versions; a draft assessment's publication; and the page a gateway call cited as evidence opens (for
//! those who may read the call; 404 for everyone else). Who may do what is `app::policy`.

use super::form::{Fields, FormState, on_form};
use super::notices::{FindingRow, finding_row, path_id, person_name};
use super::orgs::directory;
use super::render::{Frame, WebError, WebResult, html, see_other};
use super::session::{SignedInForm, WebCaller};
use super::usage::{grouped, millis};
use super::view::{Choice, when};
use super::work::{About, Evidence, about, evidence};
use accounts::OrgKind;
use app::program::{FindingEdit, FindingView};
use app::{App, AppError, Caller, PageRequest, policy};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use review::{Domain, FindingStatus, Severity};
use uuid::Uuid;

/// How many responses the page shows (the newest are kept; the API pages through all of them).
const THREAD_ROWS: i64 = 200;

/// A status move offered as a button.
struct Move {
    to: &'static str,
    label: &'static str,
}

/// The words of the button that moves a finding to `to`.
fn move_label(to: FindingStatus) -> &'static str {
    match to {
        FindingStatus::Open => "Reopen",
        FindingStatus::Acknowledged => "Acknowledge",
        FindingStatus::Mitigated => "Mark as mitigated",
        FindingStatus::Disputed => "Dispute",
        FindingStatus::Closed => "Close",
    }
}

struct ResponseRow {
    who: String,
    org: String,
    at: String,
    body: String,
}

struct VersionRow {
    version: i32,
    title: String,
    severity: String,
    severity_label: String,
    domain: String,
    at: String,
    description: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "finding.html")]
struct FindingPage {
    frame: Frame,
    f: FindingRow,
    about: About,
    description: String,
    evidence: Vec<Evidence>,
    status: String,
    status_label: String,
    /// Whose move it is, in words.
    status_hint: &'static str,
    moves: Vec<Move>,
    /// `None` when the caller may not read the thread.
    thread: Option<Vec<ResponseRow>>,
    may_respond: bool,
    /// Agencies the finding may still be shared with; empty when the caller may not share it.
    share_choices: Vec<Choice>,
    may_share: bool,
    shared_with: Vec<String>,
    may_edit: bool,
    edited: Option<String>,
    history: Vec<VersionRow>,
    /// The form that failed, shown again with its error at the top.
    form: FormState,
}

async fn finding_page(
    app: &App,
    caller: &Caller,
    id: Uuid,
    status: StatusCode,
    form: FormState,
) -> WebResult {
    let finding = app.get_finding(caller, id).await?;
    let notice = app.get_notice(caller, finding.notice_id).await?;
    let orgs = directory(app, caller).await?;
    let side = policy::finding_side(caller, notice.developer_org_id, finding.org_id, finding.author_id);
    let current = FindingStatus::parse("status", &finding.status).map_err(AppError::from)?;
    let moves = FindingStatus::ALL
        .iter()
        .copied()
        .filter(|to| policy::finding_transition(side, current, *to).is_ok())
        .map(|to| Move {
            to: to.as_str(),
            label: move_label(to),
        })
        .collect();
    let thread = match app
        .list_finding_responses(
            caller,
            id,
            &PageRequest {
                cursor: None,
                limit: Some(THREAD_ROWS),
            },
        )
        .await
    {
        Ok(page) => {
            let mut rows = Vec::with_capacity(page.items.len());
            for r in page.items {
                rows.push(ResponseRow {
                    who: person_name(app, caller, Some(r.author_id), "Someone").await,
                    org: orgs.name(r.org_id),
                    at: when(r.created_at),
                    body: review::markdown::render(&r.body),
                });
            }
            Some(rows)
        }
        Err(AppError::Forbidden(_)) => None,
        Err(other) => return Err(other.into()),
    };
    let may_share = policy::can_share_finding(side);
    let shares = app.finding_shares(caller, id).await?;
    let share_choices = if may_share {
        orgs.of_kind(OrgKind::Agency)
            .filter(|o| o.active && o.id != finding.org_id && !shares.contains(&o.id))
            .map(|o| Choice::new(o.id.to_string(), o.name.clone()))
            .collect()
    } else {
        Vec::new()
    };
    let history = app
        .finding_history(caller, id)
        .await?
        .into_iter()
        .rev()
        .map(|v| VersionRow {
            version: v.version,
            title: v.title,
            severity_label: severity_label(&v.severity),
            severity: v.severity,
            domain: domain_label(&v.domain),
            at: when(v.written_at),
            description: review::markdown::render(&v.description),
            current: v.current,
        })
        .collect();
    let current_label = current.label();
    let page = FindingPage {
        frame: Frame::signed_in(caller, "notices", finding.title.clone()),
        about: about(app, caller, finding.notice_id, finding.author_id).await?,
        f: finding_row(&finding, &orgs),
        description: review::markdown::render(&finding.description),
        evidence: evidence(app, caller, &finding.evidence).await?,
        status: current.as_str().to_owned(),
        status_label: current_label,
        status_hint: match current {
            FindingStatus::Open | FindingStatus::Acknowledged | FindingStatus::Disputed => {
                "The developer acknowledges, mitigates or disputes it; the finding's agency closes it."
            }
            FindingStatus::Mitigated => "The finding's agency closes it or reopens it.",
            FindingStatus::Closed => "The finding's agency may reopen it.",
        },
        moves,
        thread,
        may_respond: policy::can_respond_to_finding(side),
        share_choices,
        may_share,
        shared_with: shares.iter().map(|org| orgs.name(*org)).collect(),
        may_edit: policy::can_edit_finding(caller, finding.author_id),
        edited: finding.edited_at.map(when),
        history,
        form,
    };
    Ok(html(status, &page))
}

/// A keyword's one label, as the enum renders it everywhere (the keyword itself if it is not one).
fn severity_label(keyword: &str) -> String {
    Severity::parse("severity", keyword).map_or_else(|_| keyword.to_owned(), Severity::label)
}

fn domain_label(keyword: &str) -> String {
    Domain::parse("domain", keyword).map_or_else(|_| keyword.to_owned(), Domain::label)
}

pub async fn finding(
    State(app): State<App>,
    WebCaller(caller): WebCaller,
    Path(raw): Path<String>,
) -> WebResult {
    finding_page(
        &app,
        &caller,
        path_id(&raw)?,
        StatusCode::OK,
        FormState::default(),
    )
    .await
}

/// After a form on the finding's page: back to the page, or the page again with the error at the top.
async fn after(
    app: &App,
    caller: &Caller,
    id: Uuid,
    fields: Fields,
    result: Result<(), AppError>,
    anchor: &str,
) -> WebResult {
    match result {
        Ok(()) => Ok(see_other(&format!("/findings/{id}#{anchor}"))),
        Err(error) => {
            let (status, error) = on_form(error)?;
            finding_page(app, caller, id, status, FormState::failed(fields, error)).await
        }
    }
}

pub async fn set_status(State(app): State<App>, Path(raw): Path<String>, form: SignedInForm) -> WebResult {
    let id = path_id(&raw)?;
    let SignedInForm { caller, fields } = form;
    let result = app
        .set_finding_status(&caller, id, fields.text("status"))
        .await
        .map(drop);
    after(&app, &caller, id, fields, result, "status").await
}

pub async fn respond(State(app): State<App>, Path(raw): Path<String>, form: SignedInForm) -> WebResult {
    let id = path_id(&raw)?;
    let SignedInForm { caller, fields } = form;
    let result = app
        .respond_to_finding(&caller, id, fields.text("body"))
        .await
        .map(drop);
    after(&app, &caller, id, fields, result, "responses").await
}

pub async fn share(State(app): State<App>, Path(raw): Path<String>, form: SignedInForm) -> WebResult {
    let id = path_id(&raw)?;
    let SignedInForm { caller, fields } = form;
    let result = match fields.ids("shared_with") {
        Ok(agencies) => app.share_finding(&caller, id, agencies).await.map(drop),
        Err(error) => Err(error.into()),
    };
    after(&app, &caller, id, fields, result, "sharing").await
}

#[derive(Template)]
#[template(path = "finding_edit.html")]
struct EditPage {
    frame: Frame,
    id: String,
    title: String,
    form: FormState,
    domains: Vec<Choice>,
    severities: Vec<Choice>,
}

/// The finding, for its author only: others are refused as the API refuses them.
async fn editable(app: &App, caller: &Caller, id: Uuid) -> Result<FindingView, AppError> {
    let finding = app.get_finding(caller, id).await?;
    if !policy::can_edit_finding(caller, finding.author_id) {
        return Err(AppError::Forbidden("only the finding's author edits it"));
    }
    Ok(finding)
}

fn edit_page(caller: &Caller, f: &FindingView, status: StatusCode, form: FormState) -> WebResult {
    let page = EditPage {
        frame: Frame::signed_in(caller, "notices", format!("Edit {}", f.title)),
        id: f.id.to_string(),
        title: f.title.clone(),
        form,
        domains: Domain::ALL
            .iter()
            .map(|d| Choice::new(d.as_str(), d.label()))
            .collect(),
        severities: Severity::ALL
            .iter()
            .map(|s| Choice::new(s.as_str(), s.label()))
            .collect(),
    };
    Ok(html(status, &page))
}

pub async fn edit_form(
    State(app): State<App>,
    WebCaller(caller): WebCaller,
    Path(raw): Path<String>,
) -> WebResult {
    let f = editable(&app, &caller, path_id(&raw)?).await?;
    let evidence = f.evidence.join("\n");
    let form = FormState::with(&[
        ("title", f.title.as_str()),
        ("domain", f.domain.as_str()),
        ("severity", f.severity.as_str()),
        ("description", f.description.as_str()),
        ("evidence", evidence.as_str()),
    ]);
    edit_page(&caller, &f, StatusCode::OK, form)
}

pub async fn edit(State(app): State<App>, Path(raw): Path<String>, form: SignedInForm) -> WebResult {
    let id = path_id(&raw)?;
    let SignedInForm { caller, fields } = form;
    let f = editable(&app, &caller, id).await?;
    let edit = FindingEdit {
        title: Some(fields.text("title").to_owned()),
        domain: Some(fields.text("domain").to_owned()),
        severity: Some(fields.text("severity").to_owned()),
        description: Some(fields.text("description").to_owned()),
        evidence: Some(fields.lines("evidence")),
    };
    match app.edit_finding(&caller, id, edit).await {
        Ok(_) => Ok(see_other(&format!("/findings/{id}#history"))),
        Err(error) => {
            let (status, error) = on_form(error)?;
            edit_page(&caller, &f, status, FormState::failed(fields, error))
        }
    }
}

/// The agency's admin publishes a draft assessment.
pub async fn publish_assessment(
    State(app): State<App>,
    Path(raw): Path<String>,
    form: SignedInForm,
) -> WebResult {
    let id = path_id(&raw)?;
    app.publish_draft_assessment(&form.caller, id).await?;
    Ok(see_other(&format!("/assessments/{id}")))
}

#[derive(Template)]
#[template(path = "gateway_call.html")]
struct CallPage {
    frame: Frame,
    notice_id: String,
    notice: String,
    who: String,
    model: String,
    endpoint: String,
    at: String,
    status: i64,
    stream: bool,
    input_tokens: String,
    output_tokens: String,
    latency: String,
}

/// A gateway call cited as evidence: its evaluator and their agency's admins read it; to anyone else it does
/// not exist.
pub async fn gateway_call(
    State(app): State<App>,
    WebCaller(caller): WebCaller,
    Path(raw): Path<String>,
) -> WebResult {
    let call = app
        .readable_gateway_call(&caller, path_id(&raw)?)
        .await?
        .ok_or_else(WebError::not_found)?;
    let notice = app.get_notice(&caller, call.notice_id).await?;
    let tokens = |n: Option<i64>| n.map_or_else(|| "—".to_owned(), grouped);
    let page = CallPage {
        frame: Frame::signed_in(&caller, "notices", "Gateway call"),
        notice_id: notice.id.to_string(),
        notice: format!("{} {}", notice.model_name, notice.model_version),
        who: person_name(&app, &caller, Some(call.user_id), "An evaluator").await,
        model: call.model,
        endpoint: call.endpoint,
        at: when(call.started_at),
        status: call.status,
        stream: call.stream,
        input_tokens: tokens(call.input_tokens),
        output_tokens: tokens(call.output_tokens),
        latency: millis(call.latency_ms),
    };
    Ok(html(StatusCode::OK, &page))
}
