//! A finding's life after filing (status, response thread, sharing, edits and their history) and the
//! publication of a draft assessment.

use super::{PageQuery, id, query};
use crate::error::ApiResult;
use crate::extract::{ApiCaller, ApiJson};
use app::App;
use app::program::FindingEdit;
use axum::Json;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/findings/{id}/status", post(set_status))
        .route("/findings/{id}/responses", get(responses).post(respond))
        .route("/findings/{id}/share", post(share))
        .route("/findings/{id}/history", get(history))
        .route("/assessments/{id}/publish", post(publish))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusBody {
    status: String,
}

async fn set_status(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    ApiJson(b): ApiJson<StatusBody>,
) -> ApiResult<Response> {
    Ok(Json(app.set_finding_status(&caller, id(&raw)?, &b.status).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResponseBody {
    body: String,
}

async fn respond(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    ApiJson(b): ApiJson<ResponseBody>,
) -> ApiResult<Response> {
    Ok((
        StatusCode::CREATED,
        Json(app.respond_to_finding(&caller, id(&raw)?, &b.body).await?),
    )
        .into_response())
}

async fn responses(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let page: PageQuery = query(q.as_deref())?;
    Ok(Json(
        app.list_finding_responses(&caller, id(&raw)?, &page.into())
            .await?,
    )
    .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShareBody {
    shared_with: Vec<Uuid>,
}

async fn share(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    ApiJson(b): ApiJson<ShareBody>,
) -> ApiResult<Response> {
    Ok(Json(app.share_finding(&caller, id(&raw)?, b.shared_with).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EditBody {
    title: Option<String>,
    domain: Option<String>,
    severity: Option<String>,
    description: Option<String>,
    evidence: Option<Vec<String>>,
}

pub(super) async fn edit(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    ApiJson(b): ApiJson<EditBody>,
) -> ApiResult<Response> {
    let edit = FindingEdit {
        title: b.title,
        domain: b.domain,
        severity: b.severity,
        description: b.description,
        evidence: b.evidence,
    };
    Ok(Json(app.edit_finding(&caller, id(&raw)?, edit).await?).into_response())
}

async fn history(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(json!({"items": app.finding_history(&caller, id(&raw)?).await?})).into_response())
}

async fn publish(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(app.publish_draft_assessment(&caller, id(&raw)?).await?).into_response())
}
