//! The ledger's public read endpoints under `/ledger/`: the latest signed checkpoint, the verifier key, C2SP
//! tiles, and inclusion and consistency proofs. None of them reveals an event: leaves are salted
//! commitments. Receipts, which carry the event, are served by the API to callers entitled to it.

use crate::error::{ApiResult, Problem, ProblemKind};
use app::App;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::json;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/ledger/checkpoint", get(checkpoint))
        .route("/ledger/key", get(key))
        .route("/ledger/tile/{*path}", get(tile))
        .route("/ledger/proof/inclusion", get(inclusion))
        .route("/ledger/proof/consistency", get(consistency))
}

fn text(body: String, cache: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, cache),
        ],
        body,
    )
        .into_response()
}

async fn checkpoint(State(app): State<App>) -> ApiResult<Response> {
    Ok(text(app.latest_checkpoint().await?.note, "no-cache, max-age=2"))
}

async fn key(State(app): State<App>) -> Response {
    text(format!("{}\n", app.verifier_key()), "public, max-age=3600")
}

async fn tile(State(app): State<App>, Path(path): Path<String>) -> ApiResult<Response> {
    let full_path = format!("tile/{path}");
    let bytes = app.tile(&full_path).await?;
    // A partial tile is replaced by a wider one as the log grows; a full tile never changes.
    let cache = if full_path.contains(".p/") {
        "public, max-age=60"
    } else {
        "public, max-age=31536000, immutable"
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, cache),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InclusionQuery {
    index: u64,
    size: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsistencyQuery {
    old: u64,
    new: u64,
}

fn numbers<T: serde::de::DeserializeOwned>(raw: Option<&str>) -> ApiResult<T> {
    let raw = raw.unwrap_or("");
    let mut object = serde_json::Map::new();
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let n: u64 = v.parse().map_err(|_| {
            Problem::field(
                ProblemKind::InvalidField,
                k,
                format!("{k}: must be a whole number"),
            )
        })?;
        object.insert(k.to_owned(), json!(n));
    }
    crate::extract::parse_json(&serde_json::to_vec(&object).unwrap_or_default())
}

fn hashes(proof: Vec<[u8; 32]>) -> Vec<String> {
    proof.iter().map(|h| STANDARD.encode(h)).collect()
}

async fn inclusion(State(app): State<App>, RawQuery(q): RawQuery) -> ApiResult<Response> {
    let q: InclusionQuery = numbers(q.as_deref())?;
    let proof = app.inclusion_proof(q.index, q.size).await?;
    Ok(axum::Json(json!({"index": q.index, "size": q.size, "proof": hashes(proof)})).into_response())
}

async fn consistency(State(app): State<App>, RawQuery(q): RawQuery) -> ApiResult<Response> {
    let q: ConsistencyQuery = numbers(q.as_deref())?;
    let proof = app.consistency_proof(q.old, q.new).await?;
    Ok(axum::Json(json!({"old": q.old, "new": q.new, "proof": hashes(proof)})).into_response())
}
