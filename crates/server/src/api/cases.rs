//! The clearinghouse's cases, advisories, vendor policies, subscriptions and metrics. Advisories are read
//! without signing in too (TLP:CLEAR ones by the public); everything else takes a signed-in member.

use super::{PageQuery, id, query, query_flag, query_org};
use crate::error::ApiResult;
use crate::extract::{ApiCaller, ApiJson, MaybeApiCaller};
use app::App;
use app::clearinghouse::advisories::NewSubscription;
use app::clearinghouse::cases::NewCase;
use app::clearinghouse::vendors::PolicyInput;
use axum::Json;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;
use uuid::Uuid;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/cases", get(list).post(open))
        .route("/cases/{id}", get(show))
        .route("/cases/{id}/transition", post(transition))
        .route("/cases/{id}/participants", post(add_participant))
        .route(
            "/cases/{id}/participants/{org_id}",
            axum::routing::delete(remove_participant),
        )
        .route("/cases/{id}/vendors/{org_id}/status", put(vendor_status))
        .route("/cases/{id}/posts", get(posts).post(add_post))
        .route("/cases/{id}/embargo", put(embargo))
        .route("/cases/{id}/cve", put(set_cve))
        .route("/vendor-policy", get(vendor_policy).put(set_vendor_policy))
        .route("/advisories", get(advisories))
        .route("/advisories/{id}", get(advisory))
        .route("/advisories/{id}/cve", get(advisory_cve))
        .route("/advisories/{id}/csaf", get(advisory_csaf))
        .route("/subscriptions", get(subscriptions).post(subscribe))
        .route("/subscriptions/{id}", axum::routing::delete(unsubscribe))
        .route("/clearinghouse/metrics", get(metrics))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CasesQuery {
    state: Option<String>,
    mine: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

async fn list(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q: CasesQuery = query(q.as_deref())?;
    let mine = query_flag("mine", q.mine.as_deref())?;
    let page = app::PageRequest {
        cursor: q.cursor,
        limit: q.limit,
    };
    Ok(Json(app.list_cases(&caller, q.state.as_deref(), mine, &page).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenBody {
    title: String,
    summary: String,
    tlp: String,
    #[serde(default)]
    sectors: Vec<String>,
    #[serde(default)]
    vendors: Vec<Uuid>,
}

async fn open(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    ApiJson(body): ApiJson<OpenBody>,
) -> ApiResult<Response> {
    let input = NewCase {
        title: body.title,
        summary: body.summary,
        tlp: body.tlp,
        sectors: body.sectors,
        vendors: body.vendors,
    };
    Ok((StatusCode::CREATED, Json(app.open_case(&caller, input).await?)).into_response())
}

async fn show(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(app.get_case(&caller, id(&raw)?).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TransitionBody {
    to: String,
    reason: Option<String>,
}

async fn transition(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<TransitionBody>,
) -> ApiResult<Response> {
    let moved = app
        .transition_case(&caller, id(&raw)?, &body.to, body.reason.as_deref())
        .await?;
    Ok(Json(moved).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ParticipantBody {
    org_id: Uuid,
    role: String,
}

async fn add_participant(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<ParticipantBody>,
) -> ApiResult<Response> {
    let case = app
        .add_participant(&caller, id(&raw)?, body.org_id, &body.role)
        .await?;
    Ok((StatusCode::CREATED, Json(case)).into_response())
}

async fn remove_participant(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path((raw, org)): Path<(String, String)>,
) -> ApiResult<Response> {
    app.remove_participant(&caller, id(&raw)?, id(&org)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusBody {
    report_id: Uuid,
    status: String,
    #[serde(default)]
    statement: String,
}

async fn vendor_status(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path((raw, org)): Path<(String, String)>,
    ApiJson(body): ApiJson<StatusBody>,
) -> ApiResult<Response> {
    let status = app
        .set_vendor_status(
            &caller,
            id(&raw)?,
            id(&org)?,
            body.report_id,
            &body.status,
            &body.statement,
        )
        .await?;
    Ok(Json(status).into_response())
}

async fn posts(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let page: PageQuery = query(q.as_deref())?;
    Ok(Json(app.list_case_posts(&caller, id(&raw)?, &page.into()).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PostBody {
    body: String,
    reply_to: Option<Uuid>,
}

async fn add_post(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<PostBody>,
) -> ApiResult<Response> {
    let post = app
        .add_case_post(&caller, id(&raw)?, &body.body, body.reply_to)
        .await?;
    Ok((StatusCode::CREATED, Json(post)).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EmbargoBody {
    embargo_ends_at: String,
    reason: String,
}

async fn embargo(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<EmbargoBody>,
) -> ApiResult<Response> {
    let case = app
        .set_embargo(&caller, id(&raw)?, &body.embargo_ends_at, &body.reason)
        .await?;
    Ok(Json(case).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CveBody {
    /// Required; `null` clears it.
    #[serde(deserialize_with = "required_nullable")]
    cve: Option<String>,
}

/// A field that must be present but may be `null` (serde takes a missing `Option` as `None` otherwise).
fn required_nullable<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<String>::deserialize(d)
}

/// Sets or clears the case's CVE id (coordinators).
async fn set_cve(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<CveBody>,
) -> ApiResult<Response> {
    let case = app.set_case_cve(&caller, id(&raw)?, body.cve.as_deref()).await?;
    Ok(Json(case).into_response())
}

async fn vendor_policy(State(app): State<App>, ApiCaller(caller): ApiCaller) -> ApiResult<Response> {
    Ok(Json(app.vendor_policy(&caller).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyBody {
    embargo_days: Option<i64>,
    ai_found_public: bool,
    require_reproducer: bool,
    reports_per_day: Option<i64>,
    #[serde(default)]
    products: Vec<String>,
}

async fn set_vendor_policy(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    ApiJson(body): ApiJson<PolicyBody>,
) -> ApiResult<Response> {
    let input = PolicyInput {
        embargo_days: body.embargo_days,
        ai_found_public: body.ai_found_public,
        require_reproducer: body.require_reproducer,
        reports_per_day: body.reports_per_day,
        products: body.products,
    };
    Ok(Json(app.set_vendor_policy(&caller, input).await?).into_response())
}

async fn advisories(
    State(app): State<App>,
    MaybeApiCaller(caller): MaybeApiCaller,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let page: PageQuery = query(q.as_deref())?;
    Ok(Json(app.list_advisories(caller.as_ref(), &page.into()).await?).into_response())
}

async fn advisory(
    State(app): State<App>,
    MaybeApiCaller(caller): MaybeApiCaller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(app.get_advisory(caller.as_ref(), id(&raw)?).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CveQuery {
    cve_id: Option<String>,
    cna_org_id: String,
    cna_short_name: Option<String>,
}

/// The advisory as a CVE JSON 5.2 record, for a coordinator's CNA to submit.
async fn advisory_cve(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q: CveQuery = query(q.as_deref())?;
    let request = app::clearinghouse::cve::CveRequest {
        cve_id: q.cve_id,
        cna_org_id: q.cna_org_id,
        cna_short_name: q.cna_short_name,
    };
    let record = app.cve_record(&caller, id(&raw)?, &request).await?;
    Ok(Json(record).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CsafQuery {
    version: Option<String>,
}

/// The advisory as a CSAF document (`csaf_security_advisory`), under the advisory's own TLP rule: 2.0, or
/// with `?version=2.1` CSAF 2.1 (Committee Specification Draft 03).
async fn advisory_csaf(
    State(app): State<App>,
    MaybeApiCaller(caller): MaybeApiCaller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q: CsafQuery = query(q.as_deref())?;
    let version = match q.version.as_deref() {
        None => clearinghouse::csaf::CsafVersion::default(),
        Some(v) => clearinghouse::csaf::CsafVersion::parse(v).ok_or_else(|| {
            crate::error::Problem::field(
                crate::error::ProblemKind::InvalidField,
                "version",
                "version: must be 2.0 or 2.1",
            )
        })?,
    };
    let document = app
        .advisory_csaf_version(caller.as_ref(), id(&raw)?, version)
        .await?;
    Ok(Json(document).into_response())
}

async fn subscriptions(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let page: PageQuery = query(q.as_deref())?;
    Ok(Json(app.list_subscriptions(&caller, &page.into()).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SubscriptionBody {
    sector: Option<String>,
    product_prefix: Option<String>,
    min_severity: Option<String>,
}

async fn subscribe(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    ApiJson(body): ApiJson<SubscriptionBody>,
) -> ApiResult<Response> {
    let input = NewSubscription {
        sector: body.sector,
        product_prefix: body.product_prefix,
        min_severity: body.min_severity,
    };
    Ok((
        StatusCode::CREATED,
        Json(app.create_subscription(&caller, input).await?),
    )
        .into_response())
}

async fn unsubscribe(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    app.delete_subscription(&caller, id(&raw)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricsQuery {
    vendor: Option<String>,
}

async fn metrics(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q: MetricsQuery = query(q.as_deref())?;
    let vendor = query_org("vendor", q.vendor.as_deref())?;
    Ok(Json(app.clearinghouse_metrics(&caller, vendor).await?).into_response())
}
