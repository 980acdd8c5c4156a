//! The review program's policy and its release notices: filing, editing, reading, dates and withdrawal.

use super::*;
use axum::routing::{get, post, put};

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/policy", get(get_policy).put(put_policy))
        .route("/notices", get(list_notices).post(file_notice))
        .route("/notices/{id}", get(get_notice).patch(edit_notice))
        .route("/notices/{id}/history", get(notice_history))
        .route("/notices/{id}/launch", put(move_launch).post(launch_now))
        .route("/notices/{id}/withdraw", post(withdraw))
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
