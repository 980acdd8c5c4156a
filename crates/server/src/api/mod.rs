//! The JSON API under `/api/v1`. Handlers only translate: HTTP in, an `app` operation, JSON out.

mod accounts;
mod cases;
mod cvss;
mod evals;
mod federation;
mod findings;
mod gateway;
mod identity;
mod jobs;
mod notices;
mod notifications;
pub(crate) mod openapi;
mod reports;
mod taxii_collections;
mod tlp;
mod trail;
mod webhooks;
mod work;

use crate::error::{ApiResult, Problem, ProblemKind};
use crate::extract::{ApiCaller, ApiJson, OptionalApiJson};
use app::page::ListParams;
use app::program::{NewAssessment, NewFinding, NewNotice, NoticeEditInput, NoticeFilter};
use app::{App, PageRequest};
use axum::Json;
use axum::Router;
use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use review::NoticeState;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use uuid::Uuid;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/openapi.json", get(openapi::document))
        .merge(identity::routes())
        .merge(notices::routes())
        .merge(work::routes())
        .merge(trail::routes())
        .merge(jobs::routes())
        .merge(accounts::routes())
        .merge(cases::routes())
        .merge(findings::routes())
        .merge(cvss::routes())
        .merge(evals::routes())
        .merge(federation::routes())
        .merge(gateway::routes())
        .merge(notifications::routes())
        .merge(webhooks::routes())
        .merge(reports::routes())
        .merge(tlp::routes())
        .merge(taxii_collections::routes())
        .fallback(|| async { Problem::new(ProblemKind::NotFound, "no such API endpoint") })
}

/// A path id that is not a UUID names nothing that exists.
fn id(raw: &str) -> ApiResult<Uuid> {
    raw.parse()
        .map_err(|_| Problem::new(ProblemKind::NotFound, "not found"))
}

/// The `{id}` segment of the path, read by `id`: one that is not a UUID is answered 404 like any absent
/// object. Extractors run in order, so a handler takes it after the caller and before anything it parses
/// itself (a handler that reads its body or query first parses the id after them, with `id`).
struct PathId(Uuid);

impl FromRequestParts<App> for PathId {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, app)
            .await
            .map_err(|_| Problem::new(ProblemKind::NotFound, "not found"))?;
        id(&raw).map(PathId)
    }
}

/// A JSON answer, 200.
fn reply(value: impl serde::Serialize) -> ApiResult<Response> {
    Ok(Json(value).into_response())
}

/// A JSON answer with another status: 201 for what was made, 202 for what was queued.
fn reply_with(status: StatusCode, value: impl serde::Serialize) -> ApiResult<Response> {
    Ok((status, Json(value)).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    cursor: Option<String>,
    limit: Option<i64>,
}

/// A list's page with its search (`q`) and order (`sort`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchPageQuery {
    q: Option<String>,
    sort: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

impl From<PageQuery> for PageRequest {
    fn from(q: PageQuery) -> Self {
        PageRequest {
            cursor: q.cursor,
            limit: q.limit,
        }
    }
}

/// Query strings are read as strictly as bodies: an unknown or mistyped parameter names itself.
/// An optional organisation id in the query string (`field`); a value that is no id is the caller's mistake.
fn query_org(field: &'static str, raw: Option<&str>) -> ApiResult<Option<Uuid>> {
    raw.map(|raw| {
        raw.parse::<Uuid>().map_err(|_| {
            Problem::field(
                ProblemKind::InvalidField,
                field,
                format!("{field}: must be an organisation id"),
            )
        })
    })
    .transpose()
}

/// An optional `true`/`false` in the query string (`field`), false when absent.
fn query_flag(field: &'static str, raw: Option<&str>) -> ApiResult<bool> {
    match raw {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(Problem::field(
            ProblemKind::InvalidField,
            field,
            format!("{field}: must be true or false"),
        )),
    }
}

fn query<T: serde::de::DeserializeOwned>(raw: Option<&str>) -> ApiResult<T> {
    let raw = raw.unwrap_or("");
    let pairs: Vec<(String, String)> = axum::extract::Query::<Vec<(String, String)>>::try_from_uri(
        &format!("/?{raw}")
            .parse()
            .map_err(|_| Problem::new(ProblemKind::InvalidField, "malformed query string"))?,
    )
    .map(|q| q.0)
    .map_err(|e| Problem::new(ProblemKind::InvalidField, e.body_text()))?;
    let mut object = serde_json::Map::new();
    for (key, value) in pairs {
        let value = match key.as_str() {
            "limit" => value.parse::<i64>().map(Value::from).map_err(|_| {
                Problem::field(
                    ProblemKind::InvalidField,
                    "limit",
                    "limit: must be a whole number",
                )
            })?,
            _ => Value::String(value),
        };
        if object.insert(key.clone(), value).is_some() {
            return Err(Problem::field(
                ProblemKind::InvalidField,
                key,
                "given more than once",
            ));
        }
    }
    crate::extract::parse_json(&serde_json::to_vec(&object).unwrap_or_default())
}

pub use notices::parse_states;
