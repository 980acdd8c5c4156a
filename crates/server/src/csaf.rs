//! The CSAF trusted provider under `/.well-known/csaf/` (see `app::clearinghouse::csaf`): the provider
//! metadata, and per TLP label the documents by year with their hashes, `index.txt`, `changes.csv` and the
//! ROLIE feed, each document with its OpenPGP signature (`.asc`), and the provider's public key under
//! `openpgp/`. TLP:CLEAR documents are public; the others are read with an API token or a session, under
//! the same TLP rule as the advisory, and anything the reader may not read is a 404.

use crate::error::ApiResult;
use crate::extract::MaybeApiCaller;
use app::App;
use app::clearinghouse::csaf::CsafFile;
use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/.well-known/csaf/provider-metadata.json", get(metadata))
        .route("/.well-known/csaf/{dir}/{file}", get(listing))
        .route("/.well-known/csaf/{dir}/{year}/{file}", get(document))
}

fn body(content_type: &'static str, bytes: impl Into<axum::body::Body>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            // What a reader sees depends on who reads: never shared between readers.
            (header::CACHE_CONTROL, "private, no-cache"),
        ],
        bytes.into(),
    )
        .into_response()
}

/// The same for every reader; a credential that is presented must still be valid, as on every public route.
async fn metadata(State(app): State<App>, MaybeApiCaller(_): MaybeApiCaller) -> ApiResult<Response> {
    Ok(Json(app.csaf_provider_metadata().await?).into_response())
}

async fn listing(
    State(app): State<App>,
    MaybeApiCaller(caller): MaybeApiCaller,
    Path((dir, file)): Path<(String, String)>,
) -> ApiResult<Response> {
    let caller = caller.as_ref();
    if dir == "openpgp" {
        // The provider's public key: public, like the metadata that names it.
        return Ok(body("application/pgp-keys", app.csaf_public_key(&file).await?));
    }
    if file == "index.txt" {
        return Ok(body(
            "text/plain; charset=utf-8",
            app.csaf_index(caller, &dir).await?,
        ));
    }
    if file == "changes.csv" {
        return Ok(body(
            "text/csv; charset=utf-8",
            app.csaf_changes(caller, &dir).await?,
        ));
    }
    if file == format!("csaf-feed-tlp-{dir}.json") {
        return Ok(Json(app.csaf_feed(caller, &dir).await?).into_response());
    }
    Err(app::AppError::NotFound("CSAF file").into())
}

async fn document(
    State(app): State<App>,
    MaybeApiCaller(caller): MaybeApiCaller,
    Path((dir, year, file)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let (name, what, content_type) = if let Some(name) = file.strip_suffix(".sha256") {
        (name, CsafFile::Sha256, "text/plain; charset=utf-8")
    } else if let Some(name) = file.strip_suffix(".sha512") {
        (name, CsafFile::Sha512, "text/plain; charset=utf-8")
    } else if let Some(name) = file.strip_suffix(".asc") {
        (name, CsafFile::Signature, "application/pgp-signature")
    } else {
        (file.as_str(), CsafFile::Document, "application/json")
    };
    let bytes = app.csaf_file(caller.as_ref(), &dir, &year, name, what).await?;
    Ok(body(content_type, bytes))
}
