//! A person's own API tokens: list, create (shown once), revoke.

use super::form::{FormState, QueryFields, on_form};
use super::notices::path_id;
use super::render::{Frame, WebResult, html, see_other};
use super::session::{SignedInForm, WebCaller};
use super::view::when;
use app::{App, AppError, Caller, PageRequest};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};

struct TokenRow {
    id: String,
    name: String,
    prefix: String,
    created: String,
    expires: String,
    status: &'static str,
    usable: bool,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    frame: Frame,
    tokens: Vec<TokenRow>,
    next: Option<String>,
    form: FormState,
    /// The token just made, shown this once.
    issued: Option<String>,
    days_hint: String,
}

/// What a token's row says of it: "Revoked", "Expired" or "Active".
pub fn token_status(
    revoked_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> &'static str {
    match (revoked_at, expires_at) {
        (Some(_), _) => "Revoked",
        (None, Some(at)) if at <= now => "Expired",
        _ => "Active",
    }
}

async fn tokens_page(
    app: &App,
    caller: &Caller,
    cursor: Option<String>,
    status: StatusCode,
    form: FormState,
    issued: Option<String>,
) -> WebResult {
    let page = app
        .list_tokens(caller, &PageRequest { cursor, limit: None })
        .await?;
    let now = app.clock.now();
    let tokens = page
        .items
        .iter()
        .map(|t| {
            let status = token_status(t.revoked_at, t.expires_at, now);
            TokenRow {
                id: t.id.to_string(),
                name: t.name.clone(),
                prefix: t.prefix.clone(),
                created: when(t.created_at),
                expires: t.expires_at.map(when).unwrap_or_else(|| "Never".to_owned()),
                status,
                usable: status == "Active",
            }
        })
        .collect();
    let view = TokensPage {
        frame: Frame::signed_in(caller, "tokens", "API tokens"),
        tokens,
        next: page.next_cursor,
        form,
        issued,
        days_hint: format!(
            "Optional, at most {} days. Leave empty for a token that does not expire.",
            app::auth::MAX_TOKEN_DAYS
        ),
    };
    Ok(html(status, &view))
}

pub async fn tokens(
    State(app): State<App>,
    WebCaller(caller): WebCaller,
    QueryFields(q): QueryFields,
) -> WebResult {
    let cursor = q.optional("cursor").map(str::to_owned);
    tokens_page(&app, &caller, cursor, StatusCode::OK, FormState::default(), None).await
}

pub async fn create(State(app): State<App>, form: SignedInForm) -> WebResult {
    let SignedInForm { caller, fields } = form;
    let created = match fields.number("expires_in_days") {
        Ok(days) => app.create_token(&caller, fields.text("name"), days).await,
        Err(error) => Err(AppError::from(error)),
    };
    match created {
        // The token is shown in this response only: only its digest is kept.
        Ok((_, token)) => {
            let secret = token.expose().to_owned();
            tokens_page(
                &app,
                &caller,
                None,
                StatusCode::OK,
                FormState::default(),
                Some(secret),
            )
            .await
        }
        Err(error) => {
            let (status, error) = on_form(error)?;
            tokens_page(
                &app,
                &caller,
                None,
                status,
                FormState::failed(fields, error),
                None,
            )
            .await
        }
    }
}

pub async fn revoke(State(app): State<App>, Path(raw): Path<String>, form: SignedInForm) -> WebResult {
    app.revoke_token(&form.caller, path_id(&raw)?).await?;
    Ok(see_other("/tokens"))
}
