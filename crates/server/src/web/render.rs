//! Turning pages and failures into responses: the frame around every page, HTML rendering, redirects, and
//! friendly error pages with the right status.

use crate::error::Problem;
use app::{AppError, Caller, policy};
use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

/// The signed-in person as the top bar shows them, with what the navigation offers them.
pub struct UserBar {
    pub name: String,
    pub org_name: String,
    pub role_title: &'static str,
    /// Echoed by every form on the page.
    pub csrf: String,
    pub can_file: bool,
    pub program_admin: bool,
    /// Notifications not read yet.
    pub unread: i64,
    pub webhooks: bool,
    /// The clearinghouse's settings and metrics, offered to those the app lets use them.
    pub subscriptions: bool,
    pub vendor_policy: bool,
    pub metrics: bool,
    /// Coordinators have the triage queue; vendors' people the vendor inbox.
    pub triage: bool,
    pub vendor_inbox: bool,
}

/// What surrounds every page's content: its title, the navigation section it belongs to, who is signed in.
pub struct Frame {
    pub title: String,
    pub section: &'static str,
    pub user: Option<UserBar>,
}

impl Frame {
    pub fn anonymous(title: impl Into<String>) -> Frame {
        Frame {
            title: title.into(),
            section: "",
            user: None,
        }
    }

    pub fn signed_in(caller: &Caller, section: &'static str, title: impl Into<String>) -> Frame {
        Frame {
            title: title.into(),
            section,
            user: Some(UserBar {
                name: caller.user.display_name.clone(),
                org_name: caller.org.name.clone(),
                role_title: caller.role.title(caller.kind),
                csrf: caller.csrf_token.clone().unwrap_or_default(),
                can_file: policy::can_file_notice(caller),
                program_admin: policy::can_administer_program(caller),
                unread: caller.unread_notifications.unwrap_or(0),
                webhooks: policy::can_manage_webhooks(caller, caller.org_id()),
                subscriptions: policy::can_manage_subscriptions(caller),
                vendor_policy: policy::can_manage_vendor_policy(caller),
                metrics: policy::can_read_clearinghouse_metrics(caller),
                triage: policy::can_triage(caller),
                vendor_inbox: policy::can_read_vendor_inbox(caller),
            }),
        }
    }

    /// The CSRF token forms on this page carry.
    pub fn csrf(&self) -> &str {
        self.user.as_ref().map(|u| u.csrf.as_str()).unwrap_or_default()
    }
}

/// Renders a page. Pages are never cached: they hold confidential material and one-time secrets.
pub fn html<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(body) => {
            let mut response = (status, body).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => {
            tracing::error!(error = %error, "rendering a page failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// The end of a POST that worked: the browser is sent to the page that shows the result.
pub fn see_other(location: &str) -> Response {
    Redirect::to(location).into_response()
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    frame: Frame,
    heading: &'a str,
    message: &'a str,
}

/// Why a page could not be shown.
#[derive(Debug)]
pub enum WebError {
    /// Not signed in, or the session ended: off to the sign-in page.
    SignIn,
    Page {
        status: StatusCode,
        message: String,
        retry_after: Option<i64>,
    },
}

impl WebError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        WebError::Page {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn not_found() -> Self {
        WebError::new(StatusCode::NOT_FOUND, NOT_FOUND_TEXT)
    }
}

const NOT_FOUND_TEXT: &str = "There is nothing at this address, or you do not have access to it. Check the address, or go back to the dashboard.";

/// "3 minutes", "1 minute", "45 seconds".
pub fn wait_text(seconds: i64) -> String {
    if seconds < 60 {
        return plural(seconds, "second");
    }
    plural((seconds + 59) / 60, "minute")
}

pub fn plural(n: i64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

impl From<AppError> for WebError {
    fn from(error: AppError) -> Self {
        match error {
            AppError::Unauthenticated => WebError::SignIn,
            AppError::Throttled(seconds) => WebError::Page {
                status: StatusCode::TOO_MANY_REQUESTS,
                message: format!(
                    "Too many failed attempts. For your security, try again in {}.",
                    wait_text(seconds)
                ),
                retry_after: Some(seconds),
            },
            // The API's mapping decides status and wording, and logs our own failures.
            other => Problem::from(other).into(),
        }
    }
}

impl From<Problem> for WebError {
    fn from(problem: Problem) -> Self {
        let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let message = if status == StatusCode::NOT_FOUND {
            NOT_FOUND_TEXT.to_owned()
        } else if let Some(field) = problem.field.as_deref() {
            // Forms show their own mistakes beside the field (`form::on_form`); one that reaches a page is in
            // the address, so it names the query parameter.
            parameter_error(field, &problem.detail)
        } else {
            capitalise(&problem.detail)
        };
        WebError::new(status, message)
    }
}

/// A mistake in the query string, naming the parameter: `The address's “state” parameter must be one of …`.
pub fn parameter_error(parameter: &str, detail: &str) -> String {
    let detail = detail
        .strip_prefix(parameter)
        .and_then(|rest| rest.strip_prefix(':'))
        .unwrap_or(detail)
        .trim();
    let detail = detail
        .strip_prefix(parameter)
        .map(str::trim_start)
        .unwrap_or(detail);
    format!("The address's “{parameter}” parameter is not valid: {detail}")
}

fn heading(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "The request could not be read",
        403 => "You cannot do this",
        404 => "Page not found",
        409 => "This cannot be done now",
        413 => "Too much was sent",
        422 => "Check what you entered",
        429 => "Too many attempts",
        _ => "Sorry, something went wrong",
    }
}

pub fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            WebError::SignIn => see_other("/login"),
            WebError::Page {
                status,
                message,
                retry_after,
            } => {
                let heading = heading(status);
                let page = ErrorPage {
                    frame: Frame::anonymous(heading),
                    heading,
                    message: &message,
                };
                let mut response = html(status, &page);
                if let Some(seconds) = retry_after
                    && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
                {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
                response
            }
        }
    }
}

pub type WebResult = Result<Response, WebError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_read_naturally() {
        let cases = [
            (1, "1 second"),
            (45, "45 seconds"),
            (60, "1 minute"),
            (61, "2 minutes"),
            (900, "15 minutes"),
        ];
        for (seconds, text) in cases {
            assert_eq!(wait_text(seconds), text, "{seconds}");
        }
    }
}
