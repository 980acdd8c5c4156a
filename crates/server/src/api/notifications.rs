//! The caller's own inbox and e-mail preferences under `/notifications`.

use super::{id, query, query_flag};
use crate::error::ApiResult;
use crate::extract::{ApiCaller, ApiJson};
use app::{App, PageRequest};
use axum::Json;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/notifications", get(list))
        .route("/notifications/unread-count", get(unread_count))
        .route("/notifications/read-all", post(read_all))
        .route(
            "/notifications/preferences",
            get(preferences).put(set_preferences),
        )
        .route("/notifications/{id}/read", post(read))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    unread: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

async fn list(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q: ListQuery = query(q.as_deref())?;
    let unread_only = query_flag("unread", q.unread.as_deref())?;
    let page = PageRequest {
        cursor: q.cursor,
        limit: q.limit,
    };
    let listed = app.list_notifications(&caller, unread_only, &page).await?;
    let unread = app.unread_notifications(&caller).await?;
    Ok(Json(json!({
        "items": listed.items,
        "next_cursor": listed.next_cursor,
        "unread": unread,
    }))
    .into_response())
}

async fn unread_count(State(app): State<App>, ApiCaller(caller): ApiCaller) -> ApiResult<Response> {
    Ok(Json(json!({"unread": app.unread_notifications(&caller).await?})).into_response())
}

async fn read(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(app.mark_notification_read(&caller, id(&raw)?).await?).into_response())
}

async fn read_all(State(app): State<App>, ApiCaller(caller): ApiCaller) -> ApiResult<Response> {
    let marked = app.mark_all_notifications_read(&caller).await?;
    Ok(Json(json!({"marked": marked, "unread": 0})).into_response())
}

async fn preferences(State(app): State<App>, ApiCaller(caller): ApiCaller) -> ApiResult<Response> {
    Ok(Json(app.notification_preferences(&caller).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PreferencesBody {
    email_kinds: Vec<String>,
    email_delivery: String,
}

async fn set_preferences(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    ApiJson(body): ApiJson<PreferencesBody>,
) -> ApiResult<Response> {
    let set = app
        .set_notification_preferences(&caller, &body.email_kinds, &body.email_delivery)
        .await?;
    Ok(Json(set).into_response())
}
