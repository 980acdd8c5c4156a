//! OSV records of published advisories for scanners and mirrors: `/osv/{id}.json` (one record) and
//! `/osv/all.zip` (every record the reader may read; builds bounded and the public archive cached, see
//! `app::clearinghouse::osv_archive`). TLP:CLEAR advisories are public; others are
//! read with a credential, under the same TLP rule as the API's advisory reads; an advisory the reader may
//! not read is a 404 identical to a missing one.

use crate::error::ApiResult;
use crate::extract::MaybeApiCaller;
use app::clearinghouse::osv_archive::OsvArchive;
use app::{App, AppError};
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/osv/all.zip", get(all))
        .route("/osv/{file}", get(one))
}

/// Public answers may be cached by anyone; answers that needed a credential by no one.
fn cache(signed_in: bool) -> HeaderValue {
    HeaderValue::from_static(if signed_in {
        "private, no-store"
    } else {
        "public, max-age=300"
    })
}

async fn one(
    State(app): State<App>,
    MaybeApiCaller(caller): MaybeApiCaller,
    Path(file): Path<String>,
) -> ApiResult<Response> {
    let id = file.strip_suffix(".json").ok_or(AppError::NotFound("advisory"))?;
    let record = app.osv_record(caller.as_ref(), id).await?;
    let mut response = axum::Json(record).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, cache(caller.is_some()));
    Ok(response)
}

async fn all(State(app): State<App>, MaybeApiCaller(caller): MaybeApiCaller) -> ApiResult<Response> {
    let body = match app.osv_archive(caller.as_ref()).await? {
        OsvArchive::Whole(bytes) => Body::from(bytes),
        OsvArchive::Streamed(stream) => Body::from_stream(stream),
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"all.zip\""),
    );
    headers.insert(header::CACHE_CONTROL, cache(caller.is_some()));
    Ok(response)
}
