//! Clearinghouse reports: filing, reading under TLP (the public without credentials reads TLP:CLEAR out of
//! embargo), attachments, forwarding a finding, and the coordinators' triage (merge, split).

use super::{id, query, query_flag};
use crate::error::{ApiResult, Problem, ProblemKind};
use crate::extract::{ApiCaller, ApiJson, MaybeApiCaller};
use app::clearinghouse::{ForwardFinding, MAX_ATTACHMENT_BYTES, NewAttachment, NewReport};
use app::page::ListParams;
use app::{App, PageRequest};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, RawQuery, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/reports", get(list).post(file))
        .route("/reports/candidates", post(candidates))
        .route("/reports/import", post(import))
        .route("/reports/{id}", get(show))
        .route(
            "/reports/{id}/attachments",
            get(list_attachments)
                .post(attach)
                // The file is the body: its own limit, above the API's.
                .layer(DefaultBodyLimit::max(MAX_ATTACHMENT_BYTES)),
        )
        .route("/reports/{id}/attachments/{attachment_id}", get(download))
        .route("/findings/{id}/report", post(forward))
        .route("/triage", get(triage))
        .route("/cases/{id}/merge", post(merge))
        .route("/cases/{id}/split", post(split))
}

async fn file(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    ApiJson(body): ApiJson<NewReport>,
) -> ApiResult<Response> {
    let filed = app.file_report(&caller, body).await?;
    let timing = format!("dedup;dur={:.3}", filed.dedup_time.as_secs_f64() * 1000.0);
    let mut response = (StatusCode::CREATED, Json(filed)).into_response();
    if let Ok(value) = HeaderValue::from_str(&timing) {
        response.headers_mut().insert("server-timing", value);
    }
    Ok(response)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportQuery {
    tlp: Option<String>,
}

/// A CSAF 2.0 document or an OSV record filed as reports, one per vulnerability, all or none.
async fn import(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    RawQuery(q): RawQuery,
    request: Request,
) -> ApiResult<Response> {
    // The query first: its mistakes are named whatever the body is.
    let q: ImportQuery = query(q.as_deref())?;
    let ApiJson(body) = ApiJson::<serde_json::Value>::from_request(request, &app).await?;
    let imported = app.import_reports(&caller, &body, q.tlp.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(imported)).into_response())
}

/// The duplicates filing this report would list, without filing it.
async fn candidates(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    ApiJson(body): ApiJson<NewReport>,
) -> ApiResult<Response> {
    Ok(Json(app.suggest_duplicates(&caller, body).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// `true`: only the reports the caller filed.
    mine: Option<String>,
    tlp: Option<String>,
    q: Option<String>,
    sort: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

async fn list(
    State(app): State<App>,
    MaybeApiCaller(caller): MaybeApiCaller,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q: ListQuery = query(q.as_deref())?;
    let mine = query_flag("mine", q.mine.as_deref())?;
    let page = PageRequest {
        cursor: q.cursor,
        limit: q.limit,
    };
    let reports = app
        .list_reports(
            caller.as_ref(),
            mine,
            q.tlp.as_deref(),
            &ListParams { q: q.q, sort: q.sort },
            &page,
        )
        .await?;
    Ok(Json(reports).into_response())
}

async fn show(
    State(app): State<App>,
    MaybeApiCaller(caller): MaybeApiCaller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(app.get_report(caller.as_ref(), id(&raw)?).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AttachQuery {
    role: String,
    name: String,
    tlp: Option<String>,
}

async fn attach(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
    request: Request,
) -> ApiResult<Response> {
    let report = id(&raw)?;
    let q: AttachQuery = query(q.as_deref())?;
    let media_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("\u{0}").to_owned());
    let bytes = Bytes::from_request(request, &app).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::new(
                ProblemKind::PayloadTooLarge,
                format!("an attachment is at most {MAX_ATTACHMENT_BYTES} bytes"),
            )
        } else {
            Problem::new(ProblemKind::MalformedJson, rejection.body_text())
        }
    })?;
    let input = NewAttachment {
        role: &q.role,
        name: &q.name,
        tlp: q.tlp.as_deref(),
        media_type: media_type.as_deref(),
        bytes: &bytes,
    };
    let attachment = app.add_attachment(&caller, report, input).await?;
    Ok((StatusCode::CREATED, Json(attachment)).into_response())
}

async fn list_attachments(
    State(app): State<App>,
    MaybeApiCaller(caller): MaybeApiCaller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let items = app.list_attachments(caller.as_ref(), id(&raw)?).await?;
    Ok(Json(json!({"items": items})).into_response())
}

/// `filename="…"` with only safe ASCII, and the exact name percent-encoded in `filename*` (RFC 6266).
fn disposition(name: &str) -> HeaderValue {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-+".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"._-".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or(HeaderValue::from_static("attachment"))
}

async fn download(
    State(app): State<App>,
    MaybeApiCaller(caller): MaybeApiCaller,
    Path((raw, raw_attachment)): Path<(String, String)>,
) -> ApiResult<Response> {
    let content = app
        .attachment_content(caller.as_ref(), id(&raw)?, id(&raw_attachment)?)
        .await?;
    let mut response = content.bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content.media_type));
    headers.insert(header::CONTENT_DISPOSITION, disposition(&content.name));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(response)
}

async fn forward(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<ForwardFinding>,
) -> ApiResult<Response> {
    let filed = app.forward_finding(&caller, id(&raw)?, body).await?;
    Ok((StatusCode::CREATED, Json(filed)).into_response())
}

async fn triage(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let page: super::PageQuery = query(q.as_deref())?;
    Ok(Json(app.triage(&caller, &page.into()).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MergeBody {
    into: Uuid,
}

async fn merge(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<MergeBody>,
) -> ApiResult<Response> {
    Ok(Json(app.merge_case(&caller, id(&raw)?, body.into).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SplitBody {
    reports: Vec<Uuid>,
}

async fn split(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<SplitBody>,
) -> ApiResult<Response> {
    let split = app.split_case(&caller, id(&raw)?, &body.reports).await?;
    Ok((StatusCode::CREATED, Json(split)).into_response())
}
