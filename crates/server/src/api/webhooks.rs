//! An organisation's webhook endpoints and their delivery logs (its admins').

use super::{PageQuery, PathId, id, query, reply, reply_with};
use crate::error::ApiResult;
use crate::extract::{ApiCaller, ApiJson};
use app::App;
use app::webhooks::{NewWebhook, WebhookChange};
use axum::Json;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/webhooks", get(list).post(create))
        .route("/webhooks/{id}", get(show).patch(update).delete(remove))
        .route("/webhooks/{id}/deliveries", get(deliveries))
        .route("/webhooks/{id}/test", post(ping))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewBody {
    url: String,
    events: Vec<String>,
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeBody {
    url: Option<String>,
    events: Option<Vec<String>>,
    description: Option<String>,
    enabled: Option<bool>,
}

async fn list(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let page: PageQuery = query(q.as_deref())?;
    reply(app.list_webhooks(&caller, &page.into()).await?)
}

async fn create(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    ApiJson(body): ApiJson<NewBody>,
) -> ApiResult<Response> {
    let input = NewWebhook {
        url: body.url,
        events: body.events,
        description: body.description,
    };
    // The answer carries the signing secret, this once.
    Ok((
        StatusCode::CREATED,
        Json(app.create_webhook(&caller, input).await?),
    )
        .into_response())
}

async fn show(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    PathId(id): PathId,
) -> ApiResult<Response> {
    reply(app.get_webhook(&caller, id).await?)
}

async fn update(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<ChangeBody>,
) -> ApiResult<Response> {
    let change = WebhookChange {
        url: body.url,
        events: body.events,
        description: body.description,
        enabled: body.enabled,
    };
    reply(app.update_webhook(&caller, id(&raw)?, change).await?)
}

async fn remove(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    PathId(id): PathId,
) -> ApiResult<Response> {
    app.delete_webhook(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn deliveries(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let page: PageQuery = query(q.as_deref())?;
    Ok(Json(
        app.list_webhook_deliveries(&caller, id(&raw)?, &page.into())
            .await?,
    )
    .into_response())
}

async fn ping(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    PathId(id): PathId,
) -> ApiResult<Response> {
    let message_id = app.ping_webhook(&caller, id).await?;
    reply_with(StatusCode::ACCEPTED, json!({"message_id": message_id}))
}
