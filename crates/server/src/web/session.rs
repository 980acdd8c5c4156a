//! Who is using the web UI, and proof that a form was sent by this site.
//!
//! A signed-in person carries the session cookie; every form they send echoes the session's CSRF token in a
//! hidden `csrf` field. Forms used before signing in (sign-in, setup, invitations) use a double-submit token:
//! a random value set as a cookie when the form is shown and echoed by the form.

use super::form::Fields;
use super::render::WebError;
use crate::extract::{SESSION_COOKIE, cookie};
use accounts::TokenKind;
use accounts::secret::{generate, same};
use app::{App, Caller};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

pub const CSRF_COOKIE: &str = "prelaunch_csrf";

/// A cookie as this site sets it: never readable from script, not sent on cross-site requests, and only over
/// TLS when the site is served over TLS.
pub fn set_cookie(app: &App, name: &str, value: &str, max_age_seconds: Option<i64>) -> Option<HeaderValue> {
    let secure = app.config.public_url.starts_with("https:");
    HeaderValue::from_str(&cookie_text(name, value, max_age_seconds, secure)).ok()
}

fn cookie_text(name: &str, value: &str, max_age_seconds: Option<i64>, secure: bool) -> String {
    let mut text = format!("{name}={value}; HttpOnly; SameSite=Lax; Path=/");
    if let Some(seconds) = max_age_seconds {
        text.push_str(&format!("; Max-Age={seconds}"));
    }
    if secure {
        text.push_str("; Secure");
    }
    text
}

pub fn add_cookie(response: &mut Response, cookie: Option<HeaderValue>) {
    if let Some(value) = cookie {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// The signed-in person behind a page request; without a valid session the browser is sent to `/login`.
pub struct WebCaller(pub Caller);

impl FromRequestParts<App> for WebCaller {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let token = cookie(parts, SESSION_COOKIE).ok_or(WebError::SignIn)?;
        let mut caller = app.authenticate_session(token).await?;
        caller.unread_notifications = Some(app.unread_notifications(&caller).await?);
        Ok(WebCaller(caller))
    }
}

/// The reader of a page the public may read too: the signed-in person when a valid session is sent, else
/// `None` (no cookie, or a session that ended: the page is shown as to the public).
pub struct MaybeWebCaller(pub Option<Caller>);

impl FromRequestParts<App> for MaybeWebCaller {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        match WebCaller::from_request_parts(parts, app).await {
            Ok(WebCaller(caller)) => Ok(MaybeWebCaller(Some(caller))),
            Err(WebError::SignIn) => Ok(MaybeWebCaller(None)),
            Err(other) => Err(other),
        }
    }
}

/// A form sent by a signed-in person, its CSRF token checked: a missing or wrong token is refused with 403
/// before anything happens.
pub struct SignedInForm {
    pub caller: Caller,
    pub fields: Fields,
}

impl FromRequest<App> for SignedInForm {
    type Rejection = WebError;

    async fn from_request(req: Request, app: &App) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let WebCaller(caller) = WebCaller::from_request_parts(&mut parts, app).await?;
        let fields = Fields::from_request(Request::from_parts(parts, body), app).await?;
        App::check_csrf(&caller, fields.get("csrf"))?;
        Ok(SignedInForm { caller, fields })
    }
}

/// The double-submit token of a form shown before signing in. `fresh` means the browser did not send one
/// yet: it is set as a cookie with the page.
pub struct AnonCsrf {
    token: String,
    fresh: bool,
}

impl FromRequestParts<App> for AnonCsrf {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _app: &App) -> Result<Self, Self::Rejection> {
        let sent =
            cookie(parts, CSRF_COOKIE).filter(|v| v.starts_with(TokenKind::Csrf.prefix()) && v.len() < 100);
        Ok(match sent {
            Some(token) => AnonCsrf {
                token: token.to_owned(),
                fresh: false,
            },
            None => AnonCsrf {
                token: generate(TokenKind::Csrf).expose().to_owned(),
                fresh: true,
            },
        })
    }
}

impl AnonCsrf {
    pub fn value(&self) -> &str {
        &self.token
    }

    /// Checks that the form echoes the cookie's token (compared in constant time).
    pub fn check(&self, fields: &Fields) -> Result<(), WebError> {
        match fields.get("csrf") {
            Some(given) if !self.fresh && same(&self.token, given) => Ok(()),
            _ => Err(WebError::new(
                StatusCode::FORBIDDEN,
                "The form is out of date or was not sent by this site. Reload the page and try again.",
            )),
        }
    }

    /// Sets the cookie on a page that shows the form, when the browser does not have it yet.
    pub fn attach(&self, app: &App, mut response: Response) -> Response {
        if self.fresh {
            add_cookie(&mut response, set_cookie(app, CSRF_COOKIE, &self.token, None));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::cookie_text;

    #[test]
    fn cookies_are_http_only_same_site_and_secure_over_tls() {
        assert_eq!(
            cookie_text("prelaunch_session", "pls_x", Some(60), true),
            "prelaunch_session=pls_x; HttpOnly; SameSite=Lax; Path=/; Max-Age=60; Secure"
        );
        assert_eq!(
            cookie_text("prelaunch_csrf", "plc_y", None, false),
            "prelaunch_csrf=plc_y; HttpOnly; SameSite=Lax; Path=/"
        );
    }
}
