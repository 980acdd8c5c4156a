//! Evaluation runs on a notice: started by an assigned evaluator, watched, their results browsed, cancelled.
//! Seen as their evaluator's findings are. A run's whole log as an Inspect `.eval`, and a log imported as a run.

use super::{id, query};
use crate::error::{ApiResult, Problem, ProblemKind};
use crate::extract::{ApiCaller, ApiJson};
use app::evals::NewEvalRun;
use app::{App, PageRequest};
use axum::Json;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, FromRequest, Path, RawQuery, Request, State};
use axum::http::StatusCode;
use axum::http::{HeaderValue, header};
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
        .route("/eval-runs/{id}/log", get(log))
        .route(
            "/notices/{id}/eval-runs/import",
            post(import).layer(DefaultBodyLimit::max(app::evals::IMPORT_LIMIT)),
        )
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogQuery {
    format: String,
}

/// The run's whole log, streamed as it is written; a failure half-way cuts the response short.
async fn log(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q: LogQuery = query(q.as_deref())?;
    if q.format != "inspect" {
        return Err(Problem::field(
            ProblemKind::InvalidField,
            "format",
            "format: must be inspect (an Inspect AI .eval log)",
        ));
    }
    let download = app.export_eval_run_log(&caller, id(&raw)?).await?;
    let name: String = download
        .file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let mut response = Body::from_stream(download.body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(response)
}

/// An Inspect `.eval` log as the body, at most `app::evals::IMPORT_LIMIT` bytes.
async fn import(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    request: Request,
) -> ApiResult<Response> {
    let notice = id(&raw)?;
    let bytes = Bytes::from_request(request, &app).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::new(
                ProblemKind::PayloadTooLarge,
                format!("a log is at most {} bytes", app::evals::IMPORT_LIMIT),
            )
        } else {
            Problem::new(ProblemKind::MalformedJson, rejection.body_text())
        }
    })?;
    let run = app.import_eval_log(&caller, notice, bytes).await?;
    Ok((StatusCode::CREATED, Json(run)).into_response())
}
