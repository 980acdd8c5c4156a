//! `POST /cvss`: a vector validated and scored, for tools that only need the score. Like the rest of the
//! API it takes a signed-in member (a token or a session); the body is bounded by the router's limit and the
//! vector by the parser's (`clearinghouse::cvss::MAX_VECTOR_LEN`).

use crate::error::ApiResult;
use crate::extract::{ApiCaller, ApiJson};
use app::App;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;

pub fn routes() -> Router<App> {
    Router::new().route("/cvss", post(score))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScoreBody {
    vector: String,
}

async fn score(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    ApiJson(body): ApiJson<ScoreBody>,
) -> ApiResult<Response> {
    Ok(Json(app.score_cvss(&caller, &body.vector)?).into_response())
}
