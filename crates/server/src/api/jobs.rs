//! The job queue, for program administrators.

use super::*;
use axum::routing::{get, post};

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/jobs", get(list_jobs))
        .route("/jobs/{id}/retry", post(retry_job))
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
