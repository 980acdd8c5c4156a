//! Evaluation runs on a notice: started by an assigned evaluator, watched, their results browsed, cancelled.
//! Seen as their evaluator's findings are.

use super::{id, query};
use crate::error::ApiResult;
use crate::extract::{ApiCaller, ApiJson};
use app::evals::NewEvalRun;
use app::{App, PageRequest};
use axum::Json;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use uuid::Uuid;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/eval-runs", get(list).post(create))
        .route("/eval-runs/{id}", get(show))
        .route("/eval-runs/{id}/results", get(results))
        .route("/eval-runs/{id}/cancel", post(cancel))
        .route("/eval-runs/{id}/compare/{other}", get(compare))
        .route("/eval-suites", get(suites))
}

/// The server's suite catalogue (evaluation agencies only).
async fn suites(State(app): State<App>, ApiCaller(caller): ApiCaller) -> ApiResult<Response> {
    Ok(Json(serde_json::json!({"items": app.list_eval_suites(&caller)?})).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewBody {
    notice_id: Uuid,
    model: String,
    task: Option<String>,
    dataset: Option<String>,
    dataset_format: Option<String>,
    suite: Option<String>,
    epochs: Option<u32>,
    limit: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    notice_id: Uuid,
    cursor: Option<String>,
    limit: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageOnly {
    cursor: Option<String>,
    limit: Option<i64>,
}

async fn create(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    ApiJson(body): ApiJson<NewBody>,
) -> ApiResult<Response> {
    let input = NewEvalRun {
        notice_id: body.notice_id,
        model: body.model,
        task: body.task,
        dataset: body.dataset,
        dataset_format: body.dataset_format,
        suite: body.suite,
        epochs: body.epochs,
        limit: body.limit,
    };
    Ok((
        StatusCode::CREATED,
        Json(app.start_eval_run(&caller, input).await?),
    )
        .into_response())
}

async fn list(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q: ListQuery = query(q.as_deref())?;
    let page = PageRequest {
        cursor: q.cursor,
        limit: q.limit,
    };
    Ok(Json(app.list_eval_runs(&caller, q.notice_id, &page).await?).into_response())
}

async fn show(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(app.get_eval_run(&caller, id(&raw)?).await?).into_response())
}

async fn results(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q: PageOnly = query(q.as_deref())?;
    let page = PageRequest {
        cursor: q.cursor,
        limit: q.limit,
    };
    Ok(Json(app.list_eval_results(&caller, id(&raw)?, &page).await?).into_response())
}

async fn cancel(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(app.cancel_eval_run(&caller, id(&raw)?).await?).into_response())
}

/// Run `id` (A) compared with `other` (B) on the items both recorded; the differing items paged.
async fn compare(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path((raw, other)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q: PageOnly = query(q.as_deref())?;
    let page = PageRequest {
        cursor: q.cursor,
        limit: q.limit,
    };
    let comparison = app
        .compare_eval_runs(&caller, id(&raw)?, id(&other)?, &page)
        .await?;
    Ok(Json(comparison).into_response())
}
