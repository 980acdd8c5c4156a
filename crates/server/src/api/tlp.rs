//! TLP:AMBER's named clients of a report or case: read by whoever may read the object (the public too, for
//! what it may read), named by its organisation or coordinators.

use super::id;
use crate::error::ApiResult;
use crate::extract::{ApiCaller, ApiJson, MaybeApiCaller};
use app::App;
use app::clearinghouse::tlp::TlpClientsInput;
use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use store::TlpObject;

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/reports/{id}/tlp-clients",
            get(report_clients).put(name_report_clients),
        )
        .route(
            "/cases/{id}/tlp-clients",
            get(case_clients).put(name_case_clients),
        )
}

async fn report_clients(
    State(app): State<App>,
    MaybeApiCaller(caller): MaybeApiCaller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let view = app
        .tlp_clients(caller.as_ref(), TlpObject::Report, id(&raw)?)
        .await?;
    Ok(Json(view).into_response())
}

async fn name_report_clients(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<TlpClientsInput>,
) -> ApiResult<Response> {
    let view = app
        .set_tlp_clients(&caller, TlpObject::Report, id(&raw)?, body)
        .await?;
    Ok(Json(view).into_response())
}

async fn case_clients(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let view = app.tlp_clients(Some(&caller), TlpObject::Case, id(&raw)?).await?;
    Ok(Json(view).into_response())
}

async fn name_case_clients(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<TlpClientsInput>,
) -> ApiResult<Response> {
    let view = app
        .set_tlp_clients(&caller, TlpObject::Case, id(&raw)?, body)
        .await?;
    Ok(Json(view).into_response())
}
