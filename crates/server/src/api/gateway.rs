//! The gateway's resources under a notice: model connections (the developer's), gateway tokens (assigned
//! evaluators'), usage, calls and transcripts.

use super::{PageQuery, id, query};
use crate::error::ApiResult;
use crate::extract::{ApiCaller, ApiJson};
use accounts::Secret;
use app::App;
use app::gateway::ConnectionInput;
use axum::Json;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/notices/{id}/connections",
            get(list_connections).post(create_connection),
        )
        .route(
            "/notices/{id}/connections/{connection}",
            get(get_connection)
                .put(update_connection)
                .delete(delete_connection),
        )
        .route(
            "/notices/{id}/connections/{connection}/test",
            post(test_connection),
        )
        .route(
            "/notices/{id}/gateway-tokens",
            get(list_tokens).post(create_token),
        )
        .route(
            "/notices/{id}/gateway-tokens/{token}",
            axum::routing::delete(revoke_token),
        )
        .route("/notices/{id}/gateway-usage", get(usage))
        .route("/notices/{id}/gateway-calls", get(list_calls))
        .route("/notices/{id}/gateway-calls/{call}/transcript", get(transcript))
}

/// A connection as sent. Deliberately not `Debug`: it carries the credential.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnectionBody {
    model: Option<String>,
    api_style: String,
    base_url: String,
    upstream_model: String,
    /// Required when creating; when changing, absent keeps the stored one.
    credential: Option<String>,
    /// Extra headers sent upstream; when changing, absent keeps the stored ones.
    headers: Option<BTreeMap<String, String>>,
    requests_per_minute: Option<i64>,
    tokens_per_minute: Option<i64>,
    concurrency: Option<i64>,
    agency_requests_per_minute: Option<i64>,
    agency_tokens_per_minute: Option<i64>,
    agency_concurrency: Option<i64>,
    post_launch_days: Option<i64>,
    retention: Option<String>,
    timeout_seconds: Option<i64>,
    max_response_bytes: Option<i64>,
    max_event_bytes: Option<i64>,
    max_stream_bytes: Option<i64>,
}

impl From<ConnectionBody> for ConnectionInput {
    fn from(b: ConnectionBody) -> Self {
        ConnectionInput {
            model: b.model,
            api_style: b.api_style,
            base_url: b.base_url,
            upstream_model: b.upstream_model,
            credential: b.credential.map(Secret::new),
            headers: b.headers.map(|h| {
                h.into_iter()
                    .map(|(name, value)| (name, Secret::new(value)))
                    .collect()
            }),
            requests_per_minute: b.requests_per_minute,
            tokens_per_minute: b.tokens_per_minute,
            concurrency: b.concurrency,
            agency_requests_per_minute: b.agency_requests_per_minute,
            agency_tokens_per_minute: b.agency_tokens_per_minute,
            agency_concurrency: b.agency_concurrency,
            post_launch_days: b.post_launch_days,
            retention: b.retention,
            timeout_seconds: b.timeout_seconds,
            max_response_bytes: b.max_response_bytes,
            max_event_bytes: b.max_event_bytes,
            max_stream_bytes: b.max_stream_bytes,
        }
    }
}

async fn list_connections(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(json!({"items": app.list_connections(&caller, id(&raw)?).await?})).into_response())
}

async fn create_connection(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<ConnectionBody>,
) -> ApiResult<Response> {
    let connection = app.create_connection(&caller, id(&raw)?, body.into()).await?;
    Ok((StatusCode::CREATED, Json(connection)).into_response())
}

async fn get_connection(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path((raw, connection)): Path<(String, String)>,
) -> ApiResult<Response> {
    Ok(Json(app.get_connection(&caller, id(&raw)?, id(&connection)?).await?).into_response())
}

async fn update_connection(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path((raw, connection)): Path<(String, String)>,
    ApiJson(body): ApiJson<ConnectionBody>,
) -> ApiResult<Response> {
    let updated = app
        .update_connection(&caller, id(&raw)?, id(&connection)?, body.into())
        .await?;
    Ok(Json(updated).into_response())
}

async fn delete_connection(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path((raw, connection)): Path<(String, String)>,
) -> ApiResult<Response> {
    app.delete_connection(&caller, id(&raw)?, id(&connection)?)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn test_connection(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path((raw, connection)): Path<(String, String)>,
) -> ApiResult<Response> {
    Ok(Json(app.test_connection(&caller, id(&raw)?, id(&connection)?).await?).into_response())
}

async fn list_tokens(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let page: PageQuery = query(q.as_deref())?;
    Ok(Json(app.list_gateway_tokens(&caller, id(&raw)?, &page.into()).await?).into_response())
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
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<NewTokenBody>,
) -> ApiResult<Response> {
    let (view, token) = app
        .create_gateway_token(&caller, id(&raw)?, &body.name, body.expires_in_days)
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
    Path((raw, token)): Path<(String, String)>,
) -> ApiResult<Response> {
    Ok(Json(app.revoke_gateway_token(&caller, id(&raw)?, id(&token)?).await?).into_response())
}

async fn usage(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(app.gateway_usage(&caller, id(&raw)?).await?).into_response())
}

async fn list_calls(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let page: PageQuery = query(q.as_deref())?;
    Ok(Json(app.list_gateway_calls(&caller, id(&raw)?, &page.into()).await?).into_response())
}

async fn transcript(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path((raw, call)): Path<(String, String)>,
) -> ApiResult<Response> {
    Ok(Json(app.gateway_transcript(&caller, id(&raw)?, id(&call)?).await?).into_response())
}
