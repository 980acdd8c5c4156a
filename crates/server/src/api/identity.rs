//! People and organisations: who is calling (`/me`), organisations, people, invitations and API tokens.

use super::*;
use axum::routing::{get, post};

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/me", get(me))
        .route("/organizations", get(list_orgs).post(create_org))
        .route("/organizations/{id}", get(get_org).patch(update_org))
        .route("/users", get(list_users))
        .route("/users/{id}", get(get_user).patch(update_user))
        .route("/invitations", post(invite))
        .route("/tokens", get(list_tokens).post(create_token))
        .route("/tokens/{id}", axum::routing::delete(revoke_token))
}

async fn me(ApiCaller(caller): ApiCaller) -> Json<Value> {
    Json(json!({
        "user": app::identity::UserView::from(caller.user.clone()),
        "organization": app::identity::OrgView::from(caller.org.clone()),
        "role_title": caller.role.title(caller.kind),
        // For browser sessions calling the API: echo this in X-CSRF-Token on unsafe requests.
        "csrf_token": caller.csrf_token,
    }))
}

async fn list_orgs(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q: OrgsQuery = query(q.as_deref())?;
    let page = PageRequest {
        cursor: q.cursor,
        limit: q.limit,
    };
    let orgs = match q.kind.as_deref() {
        Some(kind) => app.list_active_orgs(&caller, kind, &page).await?,
        None => app.list_orgs(&caller, &page).await?,
    };
    reply(orgs)
}

/// The directory's query: a page, and optionally one kind (then only active organisations).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrgsQuery {
    cursor: Option<String>,
    limit: Option<i64>,
    kind: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewOrgBody {
    kind: String,
    name: String,
}

async fn create_org(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    ApiJson(body): ApiJson<NewOrgBody>,
) -> ApiResult<Response> {
    let org = app.create_org(&caller, &body.kind, &body.name).await?;
    reply_with(StatusCode::CREATED, org)
}

async fn get_org(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    PathId(id): PathId,
) -> ApiResult<Response> {
    reply(app.get_org(&caller, id).await?)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActiveBody {
    active: bool,
}

async fn update_org(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<ActiveBody>,
) -> ApiResult<Response> {
    reply(app.set_org_active(&caller, id(&raw)?, body.active).await?)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersQuery {
    org_id: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

async fn list_users(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q: UsersQuery = query(q.as_deref())?;
    let org_id = query_org("org_id", q.org_id.as_deref())?;
    let page = PageRequest {
        cursor: q.cursor,
        limit: q.limit,
    };
    reply(app.list_users(&caller, org_id, &page).await?)
}

async fn get_user(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    PathId(id): PathId,
) -> ApiResult<Response> {
    reply(app.get_user(&caller, id).await?)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserChangeBody {
    active: Option<bool>,
    role: Option<String>,
}

async fn update_user(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<UserChangeBody>,
) -> ApiResult<Response> {
    let person = id(&raw)?;
    if body.active.is_none() && body.role.is_none() {
        return Err(Problem::field(
            ProblemKind::InvalidField,
            "active",
            "active: give active, role or both",
        ));
    }
    let mut view = None;
    if let Some(role) = &body.role {
        view = Some(app.set_user_role(&caller, person, role).await?);
    }
    if let Some(active) = body.active {
        view = Some(app.set_user_active(&caller, person, active).await?);
    }
    reply(view)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InviteBody {
    org_id: Uuid,
    email: String,
    #[serde(default = "member")]
    role: String,
}

fn member() -> String {
    "member".into()
}

async fn invite(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    ApiJson(body): ApiJson<InviteBody>,
) -> ApiResult<Response> {
    let issued = app.invite(&caller, body.org_id, &body.email, &body.role).await?;
    reply_with(StatusCode::CREATED, accounts::issued_answer(&issued))
}

async fn list_tokens(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let page: PageQuery = query(q.as_deref())?;
    reply(app.list_tokens(&caller, &page.into()).await?)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTokenBody {
    name: String,
    expires_in_days: Option<i64>,
}

async fn create_token(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    ApiJson(body): ApiJson<NewTokenBody>,
) -> ApiResult<Response> {
    let (view, token) = app
        .create_token(&caller, &body.name, body.expires_in_days)
        .await?;
    let mut value = serde_json::to_value(view).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        // Shown once: only a digest is kept.
        object.insert("token".into(), Value::String(token.expose().to_owned()));
    }
    reply_with(StatusCode::CREATED, value)
}

async fn revoke_token(
    State(app): State<App>,
    ApiCaller(caller): ApiCaller,
    PathId(id): PathId,
) -> ApiResult<Response> {
    reply(app.revoke_token(&caller, id).await?)
}
