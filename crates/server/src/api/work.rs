//! Agencies' work on a notice: assignments, findings and assessments.

use super::*;
use axum::routing::get;

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/notices/{id}/assignments", get(list_assignments).post(assign))
        .route(
            "/notices/{id}/assignments/{user_id}",
            axum::routing::delete(unassign),
        )
        .route("/notices/{id}/findings", get(list_findings).post(file_finding))
        .route(
            "/notices/{id}/assessments",
            get(list_assessments).post(publish_assessment),
        )
        .route("/findings/{id}", get(get_finding).patch(findings::edit))
        .route("/assessments/{id}", get(get_assessment))
}

async fn list_assignments(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let page: PageQuery = query(q.as_deref())?;
    Ok(Json(
        app.list_assignments_page(&caller, id(&raw)?, &page.into())
            .await?,
    )
    .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignBody {
    user_id: Uuid,
}

async fn assign(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<AssignBody>,
) -> ApiResult<Response> {
    let assignment = app.assign(&caller, id(&raw)?, body.user_id).await?;
    Ok((StatusCode::CREATED, Json(assignment)).into_response())
}

async fn unassign(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path((raw, user)): Path<(String, String)>,
) -> ApiResult<Response> {
    app.unassign(&caller, id(&raw)?, id(&user)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_findings(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q: SearchPageQuery = query(q.as_deref())?;
    let params = ListParams { q: q.q, sort: q.sort };
    let page = PageRequest {
        cursor: q.cursor,
        limit: q.limit,
    };
    Ok(Json(app.list_findings(&caller, id(&raw)?, &params, &page).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewFindingBody {
    title: String,
    domain: String,
    severity: String,
    description: String,
    #[serde(default)]
    evidence: Vec<String>,
    #[serde(default)]
    shared_with: Vec<Uuid>,
}

async fn file_finding(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    ApiJson(b): ApiJson<NewFindingBody>,
) -> ApiResult<Response> {
    let input = NewFinding {
        title: b.title,
        domain: b.domain,
        severity: b.severity,
        description: b.description,
        evidence: b.evidence,
        shared_with: b.shared_with,
    };
    Ok((
        StatusCode::CREATED,
        Json(app.file_finding(&caller, id(&raw)?, input).await?),
    )
        .into_response())
}

async fn get_finding(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(app.get_finding(&caller, id(&raw)?).await?).into_response())
}

async fn list_assessments(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let page: PageQuery = query(q.as_deref())?;
    Ok(Json(app.list_assessments(&caller, id(&raw)?, &page.into()).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAssessmentBody {
    levels: BTreeMap<String, String>,
    rationale: String,
    #[serde(default)]
    evidence: Vec<String>,
    #[serde(default)]
    shared_with: Vec<Uuid>,
    /// A draft is visible to the agency only, until its admin publishes it.
    #[serde(default)]
    draft: bool,
}

async fn publish_assessment(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    ApiJson(b): ApiJson<NewAssessmentBody>,
) -> ApiResult<Response> {
    let input = NewAssessment {
        levels: b.levels,
        rationale: b.rationale,
        evidence: b.evidence,
        shared_with: b.shared_with,
        draft: b.draft,
    };
    Ok((
        StatusCode::CREATED,
        Json(app.publish_assessment(&caller, id(&raw)?, input).await?),
    )
        .into_response())
}

async fn get_assessment(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(app.get_assessment(&caller, id(&raw)?).await?).into_response())
}
