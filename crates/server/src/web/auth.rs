//! Signing in and out, the first administrator's setup link, and invitation links.

use super::form::{Fields, FormState, QueryFields, on_form};
use super::render::{Frame, WebError, WebResult, html, see_other};
use super::session::{AnonCsrf, SignedInForm, add_cookie, set_cookie};
use super::view::when;
use crate::extract::{ClientAddr, SESSION_COOKIE, cookie};
use accounts::{OrgKind, Role, Secret};
use app::auth::NewSession;
use app::{App, AppError};
use askama::Template;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use std::net::IpAddr;

/// Whether the browser already has a valid session (the sign-in page then sends it on to the dashboard).
pub struct MaybeSignedIn(pub bool);

impl FromRequestParts<App> for MaybeSignedIn {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let signed_in = match cookie(parts, SESSION_COOKIE) {
            Some(token) => app.authenticate_session(token).await.is_ok(),
            None => false,
        };
        Ok(MaybeSignedIn(signed_in))
    }
}

/// Sends a freshly signed-in browser to the dashboard with its session cookie.
fn start_session(app: &App, session: &NewSession) -> Response {
    let mut response = see_other("/");
    let max_age = (session.expires_at - app.clock.now()).num_seconds().max(0);
    add_cookie(
        &mut response,
        set_cookie(app, SESSION_COOKIE, session.token.expose(), Some(max_age)),
    );
    response
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    frame: Frame,
    csrf: String,
    form: FormState,
    /// Arrived from a password reset: the page says it worked.
    reset: bool,
}

fn login_page(app: &App, anon: &AnonCsrf, status: StatusCode, form: FormState) -> Response {
    let page = LoginPage {
        frame: Frame::anonymous("Sign in"),
        csrf: anon.value().to_owned(),
        form,
        reset: false,
    };
    anon.attach(app, html(status, &page))
}

pub async fn login_form(
    State(app): State<App>,
    signed_in: MaybeSignedIn,
    anon: AnonCsrf,
    QueryFields(q): QueryFields,
) -> Response {
    if signed_in.0 {
        return see_other("/");
    }
    let page = LoginPage {
        frame: Frame::anonymous("Sign in"),
        csrf: anon.value().to_owned(),
        form: FormState::default(),
        reset: q.get("reset") == Some("done"),
    };
    anon.attach(&app, html(StatusCode::OK, &page))
}

/// The browser's `User-Agent`, kept with the session it signs in to (shown in the person's sessions).
pub struct UserAgent(pub String);

impl FromRequestParts<App> for UserAgent {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _app: &App) -> Result<Self, Self::Rejection> {
        let agent = parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        Ok(UserAgent(agent.to_owned()))
    }
}

pub async fn login(
    State(app): State<App>,
    ClientAddr(from): ClientAddr,
    UserAgent(agent): UserAgent,
    anon: AnonCsrf,
    fields: Fields,
) -> WebResult {
    anon.check(&fields)?;
    let email = fields.text("email");
    let password = Secret::new(fields.text("password").to_owned());
    match app.login_from(email, &password, from, &agent).await {
        Ok(session) => Ok(start_session(&app, &session)),
        Err(AppError::Invalid(error)) => {
            // The password is never sent back; the e-mail address is kept.
            let status = if error.field == "password" {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let form = FormState::failed(Fields::new(&[("email", email)]), error);
            Ok(login_page(&app, &anon, status, form))
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn logout(State(app): State<App>, request: Request) -> WebResult {
    let (parts, body) = request.into_parts();
    let token = cookie(&parts, SESSION_COOKIE).map(str::to_owned);
    SignedInForm::from_request(Request::from_parts(parts, body), &app).await?;
    if let Some(token) = token {
        app.logout(&token).await?;
    }
    let mut response = see_other("/login");
    add_cookie(&mut response, set_cookie(&app, SESSION_COOKIE, "", Some(0)));
    Ok(response)
}

#[derive(Template)]
#[template(path = "accept.html")]
struct AcceptPage {
    frame: Frame,
    csrf: String,
    action: String,
    setup: bool,
    org_name: String,
    org_kind: &'static str,
    role_title: &'static str,
    /// The address the invitation is for; when absent, the person gives it.
    fixed_email: Option<String>,
    expires: String,
    form: FormState,
}

/// `/setup/…` is the first administrator's link; `/invitations/…` everyone else's. Both accept the same kind
/// of one-time link.
fn link_path(setup: bool, token: &str) -> String {
    let base = if setup { "/setup" } else { "/invitations" };
    format!("{base}/{token}")
}

async fn accept_page(
    app: &App,
    anon: &AnonCsrf,
    token: &str,
    setup: bool,
    status: StatusCode,
    form: FormState,
) -> WebResult {
    let info = app.invitation_info(token).await?;
    let kind = OrgKind::parse("kind", &info.org_kind).map_err(AppError::from)?;
    let role = Role::parse("role", &info.role).map_err(AppError::from)?;
    let title = if setup {
        "Set up Prelaunch".to_owned()
    } else {
        format!("Join {}", info.org_name)
    };
    let page = AcceptPage {
        frame: Frame::anonymous(title),
        csrf: anon.value().to_owned(),
        action: link_path(setup, token),
        setup,
        org_name: info.org_name,
        org_kind: kind.label(),
        role_title: role.title(kind),
        fixed_email: info.email,
        expires: when(info.expires_at),
        form,
    };
    Ok(anon.attach(app, html(status, &page)))
}

async fn accept(
    app: App,
    from: IpAddr,
    anon: AnonCsrf,
    token: String,
    setup: bool,
    fields: Fields,
) -> WebResult {
    anon.check(&fields)?;
    let info = app.invitation_info(&token).await?;
    let email = match &info.email {
        Some(_) => None,
        None => Some(fields.text("email")),
    };
    let password = Secret::new(fields.text("password").to_owned());
    match app
        .accept_invitation(&token, email, fields.text("display_name"), &password)
        .await
    {
        // Signed in at once; should that fail (say, throttled), the sign-in page explains.
        Ok(user) => match app.login(&user.email, &password, from).await {
            Ok(session) => Ok(start_session(&app, &session)),
            Err(_) => Ok(see_other("/login")),
        },
        Err(error) => {
            let (status, error) = on_form(error)?;
            let kept = Fields::new(&[
                ("email", fields.text("email")),
                ("display_name", fields.text("display_name")),
            ]);
            accept_page(&app, &anon, &token, setup, status, FormState::failed(kept, error)).await
        }
    }
}

pub async fn setup_form(State(app): State<App>, Path(token): Path<String>, anon: AnonCsrf) -> WebResult {
    accept_page(&app, &anon, &token, true, StatusCode::OK, FormState::default()).await
}

pub async fn setup(
    State(app): State<App>,
    Path(token): Path<String>,
    ClientAddr(from): ClientAddr,
    anon: AnonCsrf,
    fields: Fields,
) -> WebResult {
    accept(app, from, anon, token, true, fields).await
}

pub async fn invitation_form(State(app): State<App>, Path(token): Path<String>, anon: AnonCsrf) -> WebResult {
    accept_page(&app, &anon, &token, false, StatusCode::OK, FormState::default()).await
}

pub async fn accept_invitation(
    State(app): State<App>,
    Path(token): Path<String>,
    ClientAddr(from): ClientAddr,
    anon: AnonCsrf,
    fields: Fields,
) -> WebResult {
    accept(app, from, anon, token, false, fields).await
}

/// Any other path: a page-not-found page.
pub async fn not_found() -> WebError {
    WebError::not_found()
}
