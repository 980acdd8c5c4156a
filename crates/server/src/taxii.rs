//! TAXII 2.1 (OASIS) under `/taxii2/`: discovery, one API root, a collection per TLP 2.0
//! marking, per sharing community and per filter an administrator defines (`app::clearinghouse::taxii_collections`), objects and the manifest with the specification's filters and paging. The rules are
//! `app::clearinghouse::taxii`; this module speaks the protocol: the media type (406 for an `Accept` it cannot
//! serve), the error body, and who is calling — an API token as Bearer, or as the password of HTTP Basic
//! (whatever the user name), as TAXII clients send it; no credential is the public, who reads TLP:CLEAR.

use app::clearinghouse::taxii::{Listing, TaxiiFilter, TaxiiPage};
use app::clearinghouse::taxii_collections::Served;
use app::{App, AppError, Caller};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use clearinghouse::stix;
use clearinghouse::stix_import::EnvelopeError;
use serde::Deserialize;
use serde_json::{Value, json};

pub const TAXII_MEDIA_TYPE: &str = "application/taxii+json;version=2.1";

pub fn routes() -> Router<App> {
    Router::new()
        .route("/taxii2/", get(discovery))
        .route("/taxii2/api/", get(api_root))
        .route("/taxii2/api/collections/", get(collections))
        .route("/taxii2/api/collections/{id}/", get(collection))
        .route(
            "/taxii2/api/collections/{id}/objects/",
            get(objects).post(post_objects),
        )
        .route(
            "/taxii2/api/collections/{id}/objects/{object}/",
            get(object).delete(delete_object),
        )
        .route("/taxii2/api/status/{id}/", get(status))
        .route(
            "/taxii2/api/collections/{id}/objects/{object}/versions/",
            get(versions),
        )
        .route("/taxii2/api/collections/{id}/manifest/", get(manifest))
}

/// A TAXII error: the specification's error body, in its media type.
#[derive(Debug)]
pub struct TaxiiError {
    status: StatusCode,
    title: &'static str,
    description: String,
}

impl TaxiiError {
    fn new(status: StatusCode, title: &'static str, description: impl Into<String>) -> Self {
        TaxiiError {
            status,
            title,
            description: description.into(),
        }
    }
}

impl From<AppError> for TaxiiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Unauthenticated => TaxiiError::new(
                StatusCode::UNAUTHORIZED,
                "Authentication required",
                "present an API token as a Bearer token or as the password of HTTP Basic",
            ),
            AppError::NotFound(what) => {
                TaxiiError::new(StatusCode::NOT_FOUND, "Not found", format!("{what} not found"))
            }
            AppError::Forbidden(why) => TaxiiError::new(StatusCode::FORBIDDEN, "Forbidden", why),
            AppError::Invalid(v) => TaxiiError::new(
                StatusCode::BAD_REQUEST,
                "Bad request",
                format!("{}: {}", v.field, v.message),
            ),
            other => {
                tracing::error!(error = ?other, "taxii request failed");
                TaxiiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal error",
                    "the server failed",
                )
            }
        }
    }
}

impl IntoResponse for TaxiiError {
    fn into_response(self) -> Response {
        let body = json!({
            "title": self.title,
            "description": self.description,
            "http_status": self.status.as_u16().to_string(),
        });
        let mut response = taxii_json(self.status, &body);
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"taxii\", Bearer"),
            );
        }
        response
    }
}

impl TaxiiError {
    /// An envelope refused whole: malformed (400), too many objects (413), or invalid STIX (422, each problem
    /// listed in `details.problems`).
    fn envelope(e: EnvelopeError) -> Response {
        match e {
            EnvelopeError::Malformed(why) => {
                TaxiiError::new(StatusCode::BAD_REQUEST, "Malformed envelope", why).into_response()
            }
            EnvelopeError::TooMany(n) => TaxiiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Too many objects",
                format!(
                    "the envelope holds {n} objects; at most {} are accepted",
                    clearinghouse::stix_import::MAX_OBJECTS
                ),
            )
            .into_response(),
            EnvelopeError::Invalid(problems) => {
                let listed: Vec<Value> = problems
                    .iter()
                    .map(|p| {
                        json!({"index": p.index, "id": p.id, "property": p.property, "message": p.message})
                    })
                    .collect();
                let body = json!({
                    "title": "Invalid STIX",
                    "description": problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
                    "http_status": "422",
                    "details": {"problems": listed},
                });
                taxii_json(StatusCode::UNPROCESSABLE_ENTITY, &body)
            }
        }
    }
}

fn taxii_json(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, TAXII_MEDIA_TYPE)],
        body.to_string(),
    )
        .into_response()
}

type TaxiiResult<T> = Result<T, TaxiiError>;

/// Whether an `Accept` header admits our media type: absent, `*/*`, `application/*`, or
/// `application/taxii+json` with no version or version 2.1.
fn accepts(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::ACCEPT) else {
        return true;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    value.split(',').any(|range| {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let mut version = None;
        for p in parts {
            if let Some((k, v)) = p.split_once('=')
                && k.trim().eq_ignore_ascii_case("version")
            {
                version = Some(v.trim().trim_matches('"').to_owned());
            }
        }
        match media.as_str() {
            "*/*" | "application/*" => true,
            "application/taxii+json" => version.as_deref().is_none_or(|v| v == "2.1"),
            _ => false,
        }
    })
}

/// Who is calling a TAXII endpoint: the public (`None`), or the holder of an API token given as Bearer or as
/// HTTP Basic's password. A credential that is presented must be valid (401 otherwise). The `Accept` header is
/// checked here too, so every endpoint answers 406 alike.
pub struct TaxiiCaller(pub Option<Caller>);

impl FromRequestParts<App> for TaxiiCaller {
    type Rejection = TaxiiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        if !accepts(&parts.headers) {
            return Err(TaxiiError::new(
                StatusCode::NOT_ACCEPTABLE,
                "Not acceptable",
                format!("this server answers in {TAXII_MEDIA_TYPE}"),
            ));
        }
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Ok(TaxiiCaller(None));
        };
        let value = value.to_str().map_err(|_| AppError::Unauthenticated)?;
        let (scheme, rest) = value.split_once(' ').ok_or(AppError::Unauthenticated)?;
        let token = if scheme.eq_ignore_ascii_case("bearer") {
            rest.trim().to_owned()
        } else if scheme.eq_ignore_ascii_case("basic") {
            let decoded = STANDARD
                .decode(rest.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or(AppError::Unauthenticated)?;
            let (_user, password) = decoded.split_once(':').ok_or(AppError::Unauthenticated)?;
            password.to_owned()
        } else {
            return Err(AppError::Unauthenticated.into());
        };
        Ok(TaxiiCaller(Some(app.authenticate_bearer(&token).await?)))
    }
}

async fn discovery(TaxiiCaller(_): TaxiiCaller) -> Response {
    taxii_json(
        StatusCode::OK,
        &json!({
            "title": "Prelaunch clearinghouse",
            "description": "Published advisories of the clearinghouse as STIX 2.1, one collection per TLP 2.0 marking.",
            "default": "/taxii2/api/",
            "api_roots": ["/taxii2/api/"],
        }),
    )
}

async fn api_root(TaxiiCaller(_): TaxiiCaller) -> Response {
    taxii_json(
        StatusCode::OK,
        &json!({
            "title": "Clearinghouse advisories",
            "versions": [TAXII_MEDIA_TYPE],
            "max_content_length": crate::BODY_LIMIT,
        }),
    )
}

/// The TLP markings' collections, the caller's communities' and those defined by filters they may read.
async fn collections(State(app): State<App>, TaxiiCaller(caller): TaxiiCaller) -> TaxiiResult<Response> {
    let list: Vec<Value> = app
        .taxii_collections(caller.as_ref())
        .await?
        .iter()
        .map(|c| c.resource(caller.as_ref()))
        .collect();
    Ok(taxii_json(StatusCode::OK, &json!({"collections": list})))
}

/// The collection a path names, as the caller may use it (404 for one they may not, as for none).
async fn find(app: &App, caller: Option<&Caller>, id: &str) -> TaxiiResult<Served> {
    Ok(app.taxii_collection(caller, id).await?)
}

async fn collection(
    State(app): State<App>,
    TaxiiCaller(caller): TaxiiCaller,
    Path(id): Path<String>,
) -> TaxiiResult<Response> {
    let c = find(&app, caller.as_ref(), &id).await?;
    Ok(taxii_json(StatusCode::OK, &c.resource(caller.as_ref())))
}

/// The query parameters of objects and manifest requests.
#[derive(Debug, Deserialize, Default)]
struct Params {
    added_after: Option<String>,
    limit: Option<String>,
    next: Option<String>,
    #[serde(rename = "match[id]")]
    ids: Option<String>,
    #[serde(rename = "match[type]")]
    types: Option<String>,
    #[serde(rename = "match[version]")]
    versions: Option<String>,
    #[serde(rename = "match[spec_version]")]
    spec_versions: Option<String>,
}

impl Params {
    fn filter(self) -> TaxiiFilter {
        TaxiiFilter {
            added_after: self.added_after,
            limit: self.limit,
            next: self.next,
            ids: self.ids,
            types: self.types,
            versions: self.versions,
            spec_versions: self.spec_versions,
        }
    }
}

/// A TAXII envelope or versions resource: `more`, `next` when there is one, and the entries under `key`.
#[derive(serde::Serialize)]
struct PageBody<'a> {
    more: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<&'a str>,
    #[serde(flatten)]
    items: std::collections::BTreeMap<&'a str, &'a [Box<serde_json::value::RawValue>]>,
}

fn page_response(page: TaxiiPage, key: &str) -> Response {
    let body = PageBody {
        more: page.more,
        next: page.next.as_deref(),
        items: std::collections::BTreeMap::from([(key, page.items.as_slice())]),
    };
    let body = match serde_json::to_string(&body) {
        Ok(body) => body,
        Err(e) => return TaxiiError::from(AppError::Internal(e.into())).into_response(),
    };
    let mut response = (StatusCode::OK, [(header::CONTENT_TYPE, TAXII_MEDIA_TYPE)], body).into_response();
    for (name, at) in [
        ("x-taxii-date-added-first", page.first_added),
        ("x-taxii-date-added-last", page.last_added),
    ] {
        if let Some(value) = at.and_then(|at| HeaderValue::from_str(&stix::timestamp(at)).ok()) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

fn params(
    params: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
) -> TaxiiResult<TaxiiFilter> {
    let Query(params) =
        params.map_err(|e| TaxiiError::new(StatusCode::BAD_REQUEST, "Bad request", e.body_text()))?;
    Ok(params.filter())
}

/// One object (`match[id]` is the path's id; the other filters apply); 404 when the caller reads none.
async fn object(
    State(app): State<App>,
    TaxiiCaller(caller): TaxiiCaller,
    Path((id, object)): Path<(String, String)>,
    query: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
) -> TaxiiResult<Response> {
    let c = find(&app, caller.as_ref(), &id).await?;
    let mut filter = params(query)?;
    if filter.ids.is_some() {
        return Err(TaxiiError::new(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "match[id]: the object's id is in the path",
        ));
    }
    filter.ids = Some(object);
    let page = app
        .taxii_read(caller.as_ref(), &c, &filter, Listing::Objects)
        .await?;
    if page.items.is_empty() && filter.next.is_none() {
        return Err(AppError::NotFound("object").into());
    }
    Ok(page_response(page, "objects"))
}

async fn versions(
    State(app): State<App>,
    TaxiiCaller(caller): TaxiiCaller,
    Path((id, object)): Path<(String, String)>,
    query: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
) -> TaxiiResult<Response> {
    let c = find(&app, caller.as_ref(), &id).await?;
    let filter = params(query)?;
    let page = app
        .taxii_versions_in(caller.as_ref(), &c, &object, &filter)
        .await?;
    Ok(page_response(page, "versions"))
}

async fn read_page(
    app: &App,
    caller: Option<&Caller>,
    id: &str,
    params: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
    listing: Listing,
) -> TaxiiResult<TaxiiPage> {
    let c = find(app, caller, id).await?;
    let Query(params) =
        params.map_err(|e| TaxiiError::new(StatusCode::BAD_REQUEST, "Bad request", e.body_text()))?;
    Ok(app.taxii_read(caller, &c, &params.filter(), listing).await?)
}

async fn objects(
    State(app): State<App>,
    TaxiiCaller(caller): TaxiiCaller,
    Path(id): Path<String>,
    params: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
) -> TaxiiResult<Response> {
    let page = read_page(&app, caller.as_ref(), &id, params, Listing::Objects).await?;
    Ok(page_response(page, "objects"))
}

async fn manifest(
    State(app): State<App>,
    TaxiiCaller(caller): TaxiiCaller,
    Path(id): Path<String>,
    params: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
) -> TaxiiResult<Response> {
    let page = read_page(&app, caller.as_ref(), &id, params, Listing::Manifest).await?;
    Ok(page_response(page, "objects"))
}

/// Whether a `Content-Type` is TAXII 2.1's media type (the version parameter required).
fn is_taxii_content(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mut parts = value.split(';').map(str::trim);
    let media = parts.next().unwrap_or("");
    let version = parts
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("version"))
        .map(|(_, v)| v.trim().trim_matches('"').to_owned());
    media.eq_ignore_ascii_case("application/taxii+json") && version.as_deref() == Some("2.1")
}

/// Posts an envelope: 202 with the status resource; an envelope refused whole stores nothing.
async fn post_objects(
    State(app): State<App>,
    TaxiiCaller(caller): TaxiiCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> TaxiiResult<Response> {
    let c = find(&app, caller.as_ref(), &id).await?;
    if caller.is_none() {
        return Err(AppError::Unauthenticated.into());
    }
    if !is_taxii_content(&headers) {
        return Err(TaxiiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported media type",
            format!("post an envelope as {TAXII_MEDIA_TYPE}"),
        ));
    }
    let body = body.map_err(|e| {
        let status = e.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            TaxiiError::new(
                status,
                "Too large",
                format!("an envelope is at most {} bytes", crate::BODY_LIMIT),
            )
        } else {
            TaxiiError::new(StatusCode::BAD_REQUEST, "Bad request", e.body_text())
        }
    })?;
    match app.taxii_post_to(caller.as_ref(), &c, &body).await? {
        Ok(status) => Ok(taxii_json(StatusCode::ACCEPTED, &status)),
        Err(refused) => Ok(TaxiiError::envelope(refused)),
    }
}

/// The status of a post, for the person who posted it.
async fn status(
    State(app): State<App>,
    TaxiiCaller(caller): TaxiiCaller,
    Path(id): Path<String>,
) -> TaxiiResult<Response> {
    let status = app.taxii_status(caller.as_ref(), &id).await?;
    Ok(taxii_json(StatusCode::OK, &status))
}

#[derive(Debug, Deserialize, Default)]
struct DeleteParams {
    #[serde(rename = "match[version]")]
    versions: Option<String>,
}

/// Deletes a posted object (every version, or those `match[version]` names).
async fn delete_object(
    State(app): State<App>,
    TaxiiCaller(caller): TaxiiCaller,
    Path((id, object)): Path<(String, String)>,
    query: Result<Query<DeleteParams>, axum::extract::rejection::QueryRejection>,
) -> TaxiiResult<Response> {
    let c = find(&app, caller.as_ref(), &id).await?;
    let Query(params) =
        query.map_err(|e| TaxiiError::new(StatusCode::BAD_REQUEST, "Bad request", e.body_text()))?;
    app.taxii_delete_in(caller.as_ref(), &c, &object, params.versions.as_deref())
        .await?;
    Ok(StatusCode::OK.into_response())
}
