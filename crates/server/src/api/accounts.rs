//! Managed invitations (an organisation's admins) and a person's own account: password and sessions.

use super::{PageQuery, id, query};
use crate::error::{ApiResult, Problem, ProblemKind};
use crate::extract::{ApiCaller, ApiJson, ClientAddr};
use accounts::Secret;
use app::App;
use app::identity::IssuedInvitation;
use axum::Json;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::{Value, json};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/organizations/{id}/invitations", get(list_invitations))
        .route("/invitations/{id}", axum::routing::delete(revoke_invitation))
        .route("/invitations/{id}/resend", post(resend_invitation))
        .route("/me/password", put(change_password))
        .route("/sessions", get(list_sessions))
        .route("/sessions/{id}", axum::routing::delete(end_session))
        .route("/sessions/end-others", post(end_other_sessions))
}

/// A new invitation as the API answers it: the link only when it did not go to the invited address by
/// e-mail (it is shown once; only a digest is kept).
pub(super) fn issued_answer(issued: &IssuedInvitation) -> Value {
    let inv = &issued.invitation;
    let mut answer = json!({
        "id": inv.id, "org_id": inv.org_id, "email": inv.email, "role": inv.role,
        "expires_at": inv.expires_at,
        "emailed": issued.emailed,
    });
    if !issued.emailed
        && let Some(object) = answer.as_object_mut()
    {
        object.insert("link".into(), Value::String(issued.link.expose().to_owned()));
    }
    answer
}

async fn list_invitations(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let page: PageQuery = query(q.as_deref())?;
    let org = id(&raw)?;
    Ok(Json(app.list_invitations(&caller, org, &page.into()).await?).into_response())
}

async fn revoke_invitation(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(app.revoke_invitation(&caller, id(&raw)?).await?).into_response())
}

async fn resend_invitation(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let issued = app.resend_invitation(&caller, id(&raw)?).await?;
    Ok((StatusCode::CREATED, Json(issued_answer(&issued))).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordChangeBody {
    current_password: String,
    new_password: String,
}

async fn change_password(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    ClientAddr(from): ClientAddr,
    ApiJson(body): ApiJson<PasswordChangeBody>,
) -> ApiResult<Response> {
    let current = Secret::new(body.current_password);
    let new = Secret::new(body.new_password);
    app.change_password(&caller, &current, &new, from).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_sessions(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    if q.as_deref().is_some_and(|q| !q.is_empty()) {
        return Err(Problem::new(
            ProblemKind::InvalidField,
            "this list takes no query parameters",
        ));
    }
    Ok(Json(json!({"items": app.list_sessions(&caller).await?})).into_response())
}

async fn end_session(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    app.end_session(&caller, id(&raw)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn end_other_sessions(State(app): State<App>, ApiCaller(caller): ApiCaller) -> ApiResult<Response> {
    let ended = app.end_other_sessions(&caller).await?;
    Ok(Json(json!({"ended": ended})).into_response())
}
