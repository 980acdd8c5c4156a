//! The JSON API under `/api/v1`. Handlers only translate: HTTP in, an `app` operation, JSON out.

mod accounts;
mod cases;
mod cvss;
mod evals;
mod federation;
mod findings;
mod gateway;
mod notifications;
pub(crate) mod openapi;
mod reports;
mod taxii_collections;
mod tlp;
mod webhooks;

use crate::error::{ApiResult, Problem, ProblemKind};
use crate::extract::{ApiCaller, ApiJson, OptionalApiJson};
use app::page::ListParams;
use app::program::{NewAssessment, NewFinding, NewNotice, NoticeEditInput, NoticeFilter};
use app::{App, PageRequest};
use axum::Json;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use review::NoticeState;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use uuid::Uuid;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/openapi.json", get(openapi::document))
        .route("/me", get(me))
        .route("/organizations", get(list_orgs).post(create_org))
        .route("/organizations/{id}", get(get_org).patch(update_org))
        .route("/users", get(list_users))
        .route("/users/{id}", get(get_user).patch(update_user))
        .route("/invitations", post(invite))
        .route("/tokens", get(list_tokens).post(create_token))
        .route("/tokens/{id}", axum::routing::delete(revoke_token))
        .route("/policy", get(get_policy).put(put_policy))
        .route("/notices", get(list_notices).post(file_notice))
        .route("/notices/{id}", get(get_notice).patch(edit_notice))
        .route("/notices/{id}/history", get(notice_history))
        .route("/notices/{id}/launch", put(move_launch).post(launch_now))
        .route("/notices/{id}/withdraw", post(withdraw))
        .route("/notices/{id}/assignments", get(list_assignments).post(assign))
        .route(
            "/notices/{id}/assignments/{user_id}",
            axum::routing::delete(unassign),
        )
        .route("/notices/{id}/findings", get(list_findings).post(file_finding))
        .route(
            "/notices/{id}/assessments",
            get(list_assessments).post(publish_assessment),
        )
        .route("/findings/{id}", get(get_finding).patch(findings::edit))
        .route("/assessments/{id}", get(get_assessment))
        .route("/audit", get(list_audit))
        .route("/audit/{id}/receipt", get(receipt))
        .route("/ledger/checkpoints", post(sign_checkpoint))
        .route("/jobs", get(list_jobs))
        .route("/jobs/{id}/retry", post(retry_job))
        .merge(accounts::routes())
        .merge(cases::routes())
        .merge(findings::routes())
        .merge(cvss::routes())
        .merge(evals::routes())
        .merge(federation::routes())
        .merge(gateway::routes())
        .merge(notifications::routes())
        .merge(webhooks::routes())
        .merge(reports::routes())
        .merge(tlp::routes())
        .merge(taxii_collections::routes())
        .fallback(|| async { Problem::new(ProblemKind::NotFound, "no such API endpoint") })
}

/// A path id that is not a UUID names nothing that exists.
fn id(raw: &str) -> ApiResult<Uuid> {
    raw.parse()
        .map_err(|_| Problem::new(ProblemKind::NotFound, "not found"))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    cursor: Option<String>,
    limit: Option<i64>,
}

/// A list's page with its search (`q`) and order (`sort`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchPageQuery {
    q: Option<String>,
    sort: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

impl From<PageQuery> for PageRequest {
    fn from(q: PageQuery) -> Self {
        PageRequest {
            cursor: q.cursor,
            limit: q.limit,
        }
    }
}

/// Query strings are read as strictly as bodies: an unknown or mistyped parameter names itself.
/// An optional organisation id in the query string (`field`); a value that is no id is the caller's mistake.
fn query_org(field: &'static str, raw: Option<&str>) -> ApiResult<Option<Uuid>> {
    raw.map(|raw| {
        raw.parse::<Uuid>().map_err(|_| {
            Problem::field(
                ProblemKind::InvalidField,
                field,
                format!("{field}: must be an organisation id"),
            )
        })
    })
    .transpose()
}

/// An optional `true`/`false` in the query string (`field`), false when absent.
fn query_flag(field: &'static str, raw: Option<&str>) -> ApiResult<bool> {
    match raw {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(Problem::field(
            ProblemKind::InvalidField,
            field,
            format!("{field}: must be true or false"),
        )),
    }
}

fn query<T: serde::de::DeserializeOwned>(raw: Option<&str>) -> ApiResult<T> {
    let raw = raw.unwrap_or("");
    let pairs: Vec<(String, String)> = axum::extract::Query::<Vec<(String, String)>>::try_from_uri(
        &format!("/?{raw}")
            .parse()
            .map_err(|_| Problem::new(ProblemKind::InvalidField, "malformed query string"))?,
    )
    .map(|q| q.0)
    .map_err(|e| Problem::new(ProblemKind::InvalidField, e.body_text()))?;
    let mut object = serde_json::Map::new();
    for (key, value) in pairs {
        let value = match key.as_str() {
            "limit" => value.parse::<i64>().map(Value::from).map_err(|_| {
                Problem::field(
                    ProblemKind::InvalidField,
                    "limit",
                    "limit: must be a whole number",
                )
            })?,
            _ => Value::String(value),
        };
        if object.insert(key.clone(), value).is_some() {
            return Err(Problem::field(
                ProblemKind::InvalidField,
                key,
                "given more than once",
            ));
        }
    }
    crate::extract::parse_json(&serde_json::to_vec(&object).unwrap_or_default())
}

async fn me(ApiCaller(caller): ApiCaller) -> Json<Value> {
    Json(json!({
        "user": app::identity::UserView::from(caller.user.clone()),
        "organization": app::identity::OrgView::from(caller.org.clone()),
        "role_title": caller.role.title(caller.kind),
        // For browser sessions calling the API: echo this in X-CSRF-Token on unsafe requests.
        "csrf_token": caller.csrf_token,
    }))
}

async fn list_orgs(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q: OrgsQuery = query(q.as_deref())?;
    let page = PageRequest {
        cursor: q.cursor,
        limit: q.limit,
    };
    let orgs = match q.kind.as_deref() {
        Some(kind) => app.list_active_orgs(&caller, kind, &page).await?,
        None => app.list_orgs(&caller, &page).await?,
    };
    Ok(Json(orgs).into_response())
}

/// The directory's query: a page, and optionally one kind (then only active organisations).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrgsQuery {
    cursor: Option<String>,
    limit: Option<i64>,
    kind: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewOrgBody {
    kind: String,
    name: String,
}

async fn create_org(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    ApiJson(body): ApiJson<NewOrgBody>,
) -> ApiResult<Response> {
    let org = app.create_org(&caller, &body.kind, &body.name).await?;
    Ok((StatusCode::CREATED, Json(org)).into_response())
}

async fn get_org(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(app.get_org(&caller, id(&raw)?).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActiveBody {
    active: bool,
}

async fn update_org(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<ActiveBody>,
) -> ApiResult<Response> {
    Ok(Json(app.set_org_active(&caller, id(&raw)?, body.active).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersQuery {
    org_id: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

async fn list_users(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q: UsersQuery = query(q.as_deref())?;
    let org_id = query_org("org_id", q.org_id.as_deref())?;
    let page = PageRequest {
        cursor: q.cursor,
        limit: q.limit,
    };
    Ok(Json(app.list_users(&caller, org_id, &page).await?).into_response())
}

async fn get_user(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(app.get_user(&caller, id(&raw)?).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserChangeBody {
    active: Option<bool>,
    role: Option<String>,
}

async fn update_user(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<UserChangeBody>,
) -> ApiResult<Response> {
    let person = id(&raw)?;
    if body.active.is_none() && body.role.is_none() {
        return Err(Problem::field(
            ProblemKind::InvalidField,
            "active",
            "active: give active, role or both",
        ));
    }
    let mut view = None;
    if let Some(role) = &body.role {
        view = Some(app.set_user_role(&caller, person, role).await?);
    }
    if let Some(active) = body.active {
        view = Some(app.set_user_active(&caller, person, active).await?);
    }
    Ok(Json(view).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InviteBody {
    org_id: Uuid,
    email: String,
    #[serde(default = "member")]
    role: String,
}

fn member() -> String {
    "member".into()
}

async fn invite(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    ApiJson(body): ApiJson<InviteBody>,
) -> ApiResult<Response> {
    let issued = app.invite(&caller, body.org_id, &body.email, &body.role).await?;
    Ok((StatusCode::CREATED, Json(accounts::issued_answer(&issued))).into_response())
}

async fn list_tokens(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let page: PageQuery = query(q.as_deref())?;
    Ok(Json(app.list_tokens(&caller, &page.into()).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTokenBody {
    name: String,
    expires_in_days: Option<i64>,
}

async fn create_token(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    ApiJson(body): ApiJson<NewTokenBody>,
) -> ApiResult<Response> {
    let (view, token) = app
        .create_token(&caller, &body.name, body.expires_in_days)
        .await?;
    let mut value = serde_json::to_value(view).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        // Shown once: only a digest is kept.
        object.insert("token".into(), Value::String(token.expose().to_owned()));
    }
    Ok((StatusCode::CREATED, Json(value)).into_response())
}

async fn revoke_token(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(app.revoke_token(&caller, id(&raw)?).await?).into_response())
}

async fn get_policy(State(app): State<App>, ApiCaller(_caller): ApiCaller) -> ApiResult<Response> {
    Ok(Json(app.program_policy().await?).into_response())
}

/// The parts of the policy to change; those left out stay as they are.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyBody {
    window_days: Option<i64>,
    launch_horizon_days: Option<i64>,
    reminder_days: Option<Vec<i64>>,
    dedup_join_threshold: Option<f64>,
    dedup_suggest_threshold: Option<f64>,
    intake_reports_per_day: Option<i64>,
}

async fn put_policy(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    ApiJson(body): ApiJson<PolicyBody>,
) -> ApiResult<Response> {
    let policy = app
        .set_program_policy(
            &caller,
            body.window_days,
            body.launch_horizon_days,
            body.reminder_days.as_deref(),
            &app::clearinghouse::IntakeChange {
                dedup_join_threshold: body.dedup_join_threshold,
                dedup_suggest_threshold: body.dedup_suggest_threshold,
                intake_reports_per_day: body.intake_reports_per_day,
            },
        )
        .await?;
    Ok(Json(policy).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoticesQuery {
    /// Comma-separated states.
    state: Option<String>,
    developer: Option<String>,
    q: Option<String>,
    sort: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

/// Reads `state=in_review,scheduled` into states, naming a wrong one.
pub fn parse_states(raw: Option<&str>) -> ApiResult<Vec<NoticeState>> {
    let mut states = Vec::new();
    for part in raw
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let state = NoticeState::parse(part).ok_or_else(|| {
            Problem::field(
                ProblemKind::InvalidField,
                "state",
                "state: must be one or more of scheduled, in_review, launched, withdrawn",
            )
        })?;
        states.push(state);
    }
    Ok(states)
}

async fn list_notices(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q: NoticesQuery = query(q.as_deref())?;
    let developer_org = query_org("developer", q.developer.as_deref().filter(|s| !s.is_empty()))?;
    let filter = NoticeFilter {
        states: parse_states(q.state.as_deref())?,
        developer_org,
        q: q.q,
        sort: q.sort,
    };
    let page = PageRequest {
        cursor: q.cursor,
        limit: q.limit,
    };
    Ok(Json(app.list_notices(&caller, &filter, &page).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewNoticeBody {
    model_name: String,
    model_version: String,
    planned_launch_at: String,
    #[serde(default)]
    model_card: String,
    #[serde(default)]
    shared_with: Vec<Uuid>,
    #[serde(default)]
    shared_with_all: bool,
    #[serde(default)]
    confirm_duplicate: bool,
}

async fn file_notice(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    ApiJson(b): ApiJson<NewNoticeBody>,
) -> ApiResult<Response> {
    let input = NewNotice {
        model_name: b.model_name,
        model_version: b.model_version,
        planned_launch_at: b.planned_launch_at,
        model_card: b.model_card,
        shared_with: b.shared_with,
        shared_with_all: b.shared_with_all,
        confirm_duplicate: b.confirm_duplicate,
    };
    let notice = app.file_notice(&caller, input).await?;
    Ok((StatusCode::CREATED, Json(notice)).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EditNoticeBody {
    model_card: Option<String>,
    model_version: Option<String>,
    shared_with: Option<Vec<Uuid>>,
    shared_with_all: Option<bool>,
}

async fn edit_notice(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    ApiJson(b): ApiJson<EditNoticeBody>,
) -> ApiResult<Response> {
    let input = NoticeEditInput {
        model_card: b.model_card,
        model_version: b.model_version,
        shared_with: b.shared_with,
        shared_with_all: b.shared_with_all,
    };
    Ok(Json(app.edit_notice(&caller, id(&raw)?, input).await?).into_response())
}

async fn get_notice(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(app.get_notice(&caller, id(&raw)?).await?).into_response())
}

async fn notice_history(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let page: PageQuery = query(q.as_deref())?;
    Ok(Json(app.launch_history_page(&caller, id(&raw)?, &page.into()).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MoveBody {
    planned_launch_at: String,
    reason: Option<String>,
}

async fn move_launch(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<MoveBody>,
) -> ApiResult<Response> {
    let notice = app
        .move_launch(
            &caller,
            id(&raw)?,
            &body.planned_launch_at,
            body.reason.as_deref(),
        )
        .await?;
    Ok(Json(notice).into_response())
}

async fn launch_now(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(app.launch_now(&caller, id(&raw)?).await?).into_response())
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct WithdrawBody {
    reason: Option<String>,
}

async fn withdraw(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    // The body is optional here: an empty one withdraws without a reason.
    OptionalApiJson(body): OptionalApiJson<WithdrawBody>,
) -> ApiResult<Response> {
    let reason = body.and_then(|b| b.reason);
    Ok(Json(app.withdraw(&caller, id(&raw)?, reason.as_deref()).await?).into_response())
}

async fn list_assignments(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let page: PageQuery = query(q.as_deref())?;
    Ok(Json(
        app.list_assignments_page(&caller, id(&raw)?, &page.into())
            .await?,
    )
    .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignBody {
    user_id: Uuid,
}

async fn assign(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<AssignBody>,
) -> ApiResult<Response> {
    let assignment = app.assign(&caller, id(&raw)?, body.user_id).await?;
    Ok((StatusCode::CREATED, Json(assignment)).into_response())
}

async fn unassign(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path((raw, user)): Path<(String, String)>,
) -> ApiResult<Response> {
    app.unassign(&caller, id(&raw)?, id(&user)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_findings(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q: SearchPageQuery = query(q.as_deref())?;
    let params = ListParams { q: q.q, sort: q.sort };
    let page = PageRequest {
        cursor: q.cursor,
        limit: q.limit,
    };
    Ok(Json(app.list_findings(&caller, id(&raw)?, &params, &page).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewFindingBody {
    title: String,
    domain: String,
    severity: String,
    description: String,
    #[serde(default)]
    evidence: Vec<String>,
    #[serde(default)]
    shared_with: Vec<Uuid>,
}

async fn file_finding(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    ApiJson(b): ApiJson<NewFindingBody>,
) -> ApiResult<Response> {
    let input = NewFinding {
        title: b.title,
        domain: b.domain,
        severity: b.severity,
        description: b.description,
        evidence: b.evidence,
        shared_with: b.shared_with,
    };
    Ok((
        StatusCode::CREATED,
        Json(app.file_finding(&caller, id(&raw)?, input).await?),
    )
        .into_response())
}

async fn get_finding(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(app.get_finding(&caller, id(&raw)?).await?).into_response())
}

async fn list_assessments(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let page: PageQuery = query(q.as_deref())?;
    Ok(Json(app.list_assessments(&caller, id(&raw)?, &page.into()).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAssessmentBody {
    levels: BTreeMap<String, String>,
    rationale: String,
    #[serde(default)]
    evidence: Vec<String>,
    #[serde(default)]
    shared_with: Vec<Uuid>,
    /// A draft is visible to the agency only, until its admin publishes it.
    #[serde(default)]
    draft: bool,
}

async fn publish_assessment(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    ApiJson(b): ApiJson<NewAssessmentBody>,
) -> ApiResult<Response> {
    let input = NewAssessment {
        levels: b.levels,
        rationale: b.rationale,
        evidence: b.evidence,
        shared_with: b.shared_with,
        draft: b.draft,
    };
    Ok((
        StatusCode::CREATED,
        Json(app.publish_assessment(&caller, id(&raw)?, input).await?),
    )
        .into_response())
}

async fn get_assessment(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(app.get_assessment(&caller, id(&raw)?).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    object_id: Option<Uuid>,
    cursor: Option<String>,
    limit: Option<i64>,
}

async fn list_audit(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q: AuditQuery = query(q.as_deref())?;
    let page = PageRequest {
        cursor: q.cursor,
        limit: q.limit,
    };
    Ok(Json(app.list_audit(&caller, q.object_id, &page).await?).into_response())
}

/// The ledger receipt of one event, as a C2SP tlog-proof document, for callers entitled to the event.
async fn receipt(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let event = id(&raw)?;
    let receipt = app.receipt(&caller, event).await?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/plain; charset=utf-8".to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                crate::web::receipt_disposition(event),
            ),
        ],
        receipt,
    )
        .into_response())
}

/// Signs a checkpoint now (program administrators); checkpoints are also signed on a schedule.
async fn sign_checkpoint(State(app): State<App>, ApiCaller(caller): ApiCaller) -> ApiResult<Response> {
    let signed = app.checkpoint_now(&caller).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"size": signed.size, "note": signed.note})),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JobsQuery {
    state: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

/// The job queue (program administrators), e.g. `?state=failed`.
async fn list_jobs(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q: JobsQuery = query(q.as_deref())?;
    let page = PageRequest {
        cursor: q.cursor,
        limit: q.limit,
    };
    Ok(Json(app.list_jobs(&caller, q.state.as_deref(), &page).await?).into_response())
}

/// Queues a failed job again (program administrators); 409 when it is not failed.
async fn retry_job(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(app.retry_job(&caller, id(&raw)?).await?).into_response())
}
