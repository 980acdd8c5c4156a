//! The peer clearinghouses we federate with (coordinators'). A peer's credential is write-only: given when a
//! peer is registered or changed, never answered.

use super::{PageQuery, id, query};
use crate::error::ApiResult;
use crate::extract::{ApiCaller, ApiJson};
use accounts::Secret;
use app::App;
use app::federation::{NewPeer, PeerChange};
use axum::Json;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Deserializer};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/federation/peers", get(list).post(create))
        .route("/federation/peers/{id}", get(show).patch(update).delete(remove))
        .route("/federation/peers/{id}/pull", post(pull))
}

/// A field that may be given as `null` (to clear it) or left out (to keep it).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewBody {
    name: String,
    api_root: String,
    collection_id: String,
    token: String,
    username: Option<String>,
    tlp: String,
    interval_seconds: i64,
    #[serde(default = "yes")]
    enabled: bool,
    publish_collection_id: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeBody {
    name: Option<String>,
    api_root: Option<String>,
    collection_id: Option<String>,
    token: Option<String>,
    #[serde(default, deserialize_with = "present")]
    username: Option<Option<String>>,
    tlp: Option<String>,
    interval_seconds: Option<i64>,
    enabled: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    publish_collection_id: Option<Option<String>>,
}

async fn list(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let page: PageQuery = query(q.as_deref())?;
    Ok(Json(app.list_peers(&caller, &page.into()).await?).into_response())
}

async fn create(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    ApiJson(body): ApiJson<NewBody>,
) -> ApiResult<Response> {
    let input = NewPeer {
        name: body.name,
        api_root: body.api_root,
        collection_id: body.collection_id,
        token: Secret::new(body.token),
        username: body.username,
        tlp: body.tlp,
        interval_seconds: body.interval_seconds,
        enabled: body.enabled,
        publish_collection_id: body.publish_collection_id,
    };
    Ok((StatusCode::CREATED, Json(app.create_peer(&caller, input).await?)).into_response())
}

async fn show(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(app.get_peer(&caller, id(&raw)?).await?).into_response())
}

async fn update(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<ChangeBody>,
) -> ApiResult<Response> {
    let change = PeerChange {
        name: body.name,
        api_root: body.api_root,
        collection_id: body.collection_id,
        token: body.token.map(Secret::new),
        username: body.username,
        tlp: body.tlp,
        interval_seconds: body.interval_seconds,
        enabled: body.enabled,
        publish_collection_id: body.publish_collection_id,
    };
    Ok(Json(app.update_peer(&caller, id(&raw)?, change).await?).into_response())
}

async fn remove(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    app.delete_peer(&caller, id(&raw)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Queues a pull of the peer now; its outcome shows on the peer.
async fn pull(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    app.queue_peer_pull(&caller, id(&raw)?).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}
