//! The definitions behind the TAXII collections beyond the TLP markings' (`app::clearinghouse::
//! taxii_collections`): sharing communities, managed by coordinators and read by their members, and
//! collections program administrators define by a filter.

use super::id;
use crate::error::ApiResult;
use crate::extract::{ApiCaller, ApiJson};
use app::App;
use app::clearinghouse::taxii_collections::{CommunityInput, FilterCollectionInput};
use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/taxii/communities", get(list_communities).post(create_community))
        .route(
            "/taxii/communities/{id}",
            get(get_community).put(update_community),
        )
        .route(
            "/taxii/collections",
            get(list_collections).post(create_collection),
        )
        .route("/taxii/collections/{id}", delete(delete_collection))
}

async fn list_communities(State(app): State<App>, ApiCaller(caller): ApiCaller) -> ApiResult<Response> {
    Ok(Json(app.taxii_communities(&caller).await?).into_response())
}

async fn create_community(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    ApiJson(body): ApiJson<CommunityInput>,
) -> ApiResult<Response> {
    let view = app.create_taxii_community(&caller, body).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

async fn get_community(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(app.taxii_community_view(Some(&caller), id(&raw)?).await?).into_response())
}

async fn update_community(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<CommunityInput>,
) -> ApiResult<Response> {
    Ok(Json(app.update_taxii_community(&caller, id(&raw)?, body).await?).into_response())
}

async fn list_collections(State(app): State<App>, ApiCaller(caller): ApiCaller) -> ApiResult<Response> {
    Ok(Json(app.taxii_filter_collections(&caller).await?).into_response())
}

async fn create_collection(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    ApiJson(body): ApiJson<FilterCollectionInput>,
) -> ApiResult<Response> {
    let view = app.create_taxii_filter_collection(&caller, body).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

async fn delete_collection(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    app.delete_taxii_filter_collection(&caller, id(&raw)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
