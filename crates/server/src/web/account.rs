//! A person's own account (profile, password, sessions) and resetting a forgotten password by an e-mailed
//! link.

use super::form::{Fields, FormState, on_form};
use super::notices::path_id;
use super::render::{Frame, WebResult, html, see_other};
use super::session::{AnonCsrf, SignedInForm, WebCaller};
use super::view::when;
use crate::extract::ClientAddr;
use accounts::Secret;
use app::account::{RESET_LINK_ENDED, RESET_MINUTES};
use app::{App, AppError, Caller};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

struct SessionRow {
    id: String,
    created: String,
    last_seen: String,
    browser: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    frame: Frame,
    name: String,
    email: String,
    org_name: String,
    org_id: String,
    role_title: &'static str,
    sessions: Vec<SessionRow>,
    form: FormState,
    /// What was just done, said at the top of the page.
    done: Option<&'static str>,
}

async fn account_page(
    app: &App,
    caller: &Caller,
    status: StatusCode,
    form: FormState,
    done: Option<&'static str>,
) -> WebResult {
    let sessions = app
        .list_sessions(caller)
        .await?
        .into_iter()
        .map(|s| SessionRow {
            id: s.id.to_string(),
            created: when(s.created_at),
            last_seen: s.last_seen_at.map(when).unwrap_or_else(|| "—".into()),
            browser: if s.user_agent.is_empty() {
                "Unknown browser".into()
            } else {
                s.user_agent
            },
            current: s.current,
        })
        .collect();
    let page = AccountPage {
        frame: Frame::signed_in(caller, "account", "Your account"),
        name: caller.user.display_name.clone(),
        email: caller.user.email.clone(),
        org_name: caller.org.name.clone(),
        org_id: caller.org.id.to_string(),
        role_title: caller.role.title(caller.kind),
        sessions,
        form,
        done,
    };
    Ok(html(status, &page))
}

/// `?done=` values the account page's redirects carry, and what each says.
fn done_text(fields: &super::form::QueryFields) -> Option<&'static str> {
    match fields.0.optional("done") {
        Some("password") => Some("Your password was changed. Every other session was signed out."),
        Some("session") => Some("The session was signed out."),
        Some("others") => Some("Every other session was signed out."),
        _ => None,
    }
}

pub async fn account(
    State(app): State<App>,
    WebCaller(caller): WebCaller,
    q: super::form::QueryFields,
) -> WebResult {
    let done = done_text(&q);
    account_page(&app, &caller, StatusCode::OK, FormState::default(), done).await
}

pub async fn change_password(
    State(app): State<App>,
    ClientAddr(from): ClientAddr,
    form: SignedInForm,
) -> WebResult {
    let SignedInForm { caller, fields } = form;
    let current = Secret::new(fields.text("current_password").to_owned());
    let new = Secret::new(fields.text("new_password").to_owned());
    match app.change_password(&caller, &current, &new, from).await {
        Ok(()) => Ok(see_other("/account?done=password#password")),
        Err(error) => {
            let (status, error) = on_form(error)?;
            // Passwords are never sent back.
            let form = FormState::failed(Fields::new(&[]), error);
            account_page(&app, &caller, status, form, None).await
        }
    }
}

pub async fn end_session(State(app): State<App>, Path(raw): Path<String>, form: SignedInForm) -> WebResult {
    let id = path_id(&raw)?;
    let current = form.caller.session_id == Some(id);
    app.end_session(&form.caller, id).await?;
    // Ending the session in use is signing out.
    if current {
        return Ok(see_other("/login"));
    }
    Ok(see_other("/account?done=session#sessions"))
}

pub async fn end_other_sessions(State(app): State<App>, form: SignedInForm) -> WebResult {
    app.end_other_sessions(&form.caller).await?;
    Ok(see_other("/account?done=others#sessions"))
}

#[derive(Template)]
#[template(path = "password_reset.html")]
struct ResetRequestPage {
    frame: Frame,
    csrf: String,
    form: FormState,
    /// The request was taken: the page says what happens next, whatever the address.
    sent: bool,
    minutes: i64,
}

fn reset_request_page(
    app: &App,
    anon: &AnonCsrf,
    status: StatusCode,
    form: FormState,
    sent: bool,
) -> Response {
    let page = ResetRequestPage {
        frame: Frame::anonymous("Reset your password"),
        csrf: anon.value().to_owned(),
        form,
        sent,
        minutes: RESET_MINUTES,
    };
    anon.attach(app, html(status, &page))
}

pub async fn reset_request_form(State(app): State<App>, anon: AnonCsrf) -> Response {
    reset_request_page(&app, &anon, StatusCode::OK, FormState::default(), false)
}

pub async fn request_reset(
    State(app): State<App>,
    ClientAddr(from): ClientAddr,
    anon: AnonCsrf,
    fields: Fields,
) -> WebResult {
    anon.check(&fields)?;
    match app.request_password_reset(fields.text("email"), from).await {
        Ok(()) => Ok(reset_request_page(
            &app,
            &anon,
            StatusCode::OK,
            FormState::default(),
            true,
        )),
        Err(error) => {
            let (status, error) = on_form(error)?;
            let form = FormState::failed(Fields::new(&[("email", fields.text("email"))]), error);
            Ok(reset_request_page(&app, &anon, status, form, false))
        }
    }
}

#[derive(Template)]
#[template(path = "password_reset_form.html")]
struct ResetPage {
    frame: Frame,
    csrf: String,
    action: String,
    /// `None` when the link no longer works: the page says so instead of showing the form.
    email: Option<String>,
    ended: &'static str,
    form: FormState,
}

async fn reset_page(
    app: &App,
    anon: &AnonCsrf,
    token: &str,
    status: StatusCode,
    form: FormState,
) -> WebResult {
    let (status, email) = match app.password_reset_email(token).await {
        Ok(email) => (status, Some(email)),
        Err(AppError::NotFound(_)) => (StatusCode::NOT_FOUND, None),
        Err(other) => return Err(other.into()),
    };
    let page = ResetPage {
        frame: Frame::anonymous("Choose a new password"),
        csrf: anon.value().to_owned(),
        action: format!("/password-reset/{token}"),
        email,
        ended: RESET_LINK_ENDED,
        form,
    };
    Ok(anon.attach(app, html(status, &page)))
}

pub async fn reset_form(State(app): State<App>, Path(token): Path<String>, anon: AnonCsrf) -> WebResult {
    reset_page(&app, &anon, &token, StatusCode::OK, FormState::default()).await
}

pub async fn reset(
    State(app): State<App>,
    Path(token): Path<String>,
    anon: AnonCsrf,
    fields: Fields,
) -> WebResult {
    anon.check(&fields)?;
    let password = Secret::new(fields.text("password").to_owned());
    match app.reset_password(&token, &password).await {
        Ok(_) => Ok(see_other("/login?reset=done")),
        Err(AppError::NotFound(_)) => {
            reset_page(&app, &anon, &token, StatusCode::NOT_FOUND, FormState::default()).await
        }
        Err(error) => {
            let (status, error) = on_form(error)?;
            reset_page(
                &app,
                &anon,
                &token,
                status,
                FormState::failed(Fields::new(&[]), error),
            )
            .await
        }
    }
}
