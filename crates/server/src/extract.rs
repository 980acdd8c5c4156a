//! Request extractors shared by the API and the web UI: who is calling, and a strict JSON body.

use crate::error::{Problem, ProblemKind};
use app::{App, AppError, Caller};
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use serde::de::DeserializeOwned;

pub const SESSION_COOKIE: &str = "prelaunch_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Reads one cookie's value from the request.
pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The token of an `Authorization: Bearer …` header.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The authenticated caller of an API request: a Bearer token, or a browser session (whose unsafe requests
/// must carry the session's CSRF token in `X-CSRF-Token`).
pub struct ApiCaller(pub Caller);

impl FromRequestParts<App> for ApiCaller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        if let Some(token) = bearer(&parts.headers) {
            return Ok(ApiCaller(app.authenticate_bearer(token).await?));
        }
        let session = cookie(parts, SESSION_COOKIE).ok_or(AppError::Unauthenticated)?;
        let caller = app.authenticate_session(session).await?;
        if !is_safe(&parts.method) {
            let presented = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            App::check_csrf(&caller, presented)?;
        }
        Ok(ApiCaller(caller))
    }
}

/// A JSON body, strictly read: `application/json` only, size-limited (413), syntax errors as 400, and wrong
/// types, missing or unknown fields as 422 naming the field.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<App> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, app: &App) -> Result<Self, Self::Rejection> {
        if !is_json(&req) {
            return Err(unsupported());
        }
        parse_json(&body(req, app).await?).map(ApiJson)
    }
}

/// A JSON body that may be left out: an empty body reads as `None`; one that is sent is read as strictly as
/// `ApiJson` reads its body.
pub struct OptionalApiJson<T>(pub Option<T>);

impl<T: DeserializeOwned> FromRequest<App> for OptionalApiJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, app: &App) -> Result<Self, Self::Rejection> {
        let json = is_json(&req);
        let bytes = body(req, app).await?;
        if bytes.is_empty() {
            return Ok(OptionalApiJson(None));
        }
        if !json {
            return Err(unsupported());
        }
        parse_json(&bytes).map(|value| OptionalApiJson(Some(value)))
    }
}

fn is_json(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            let v = v.trim();
            v.eq_ignore_ascii_case("application/json") || v.to_ascii_lowercase().ends_with("+json")
        })
}

fn unsupported() -> Problem {
    Problem::new(
        ProblemKind::UnsupportedMediaType,
        "send the body as application/json",
    )
}

/// The whole body, within the size limit (413 beyond it).
async fn body(req: Request, app: &App) -> Result<Bytes, Problem> {
    Bytes::from_request(req, app).await.map_err(|rejection| {
        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            Problem::new(
                ProblemKind::PayloadTooLarge,
                format!("the body exceeds {} bytes", crate::BODY_LIMIT),
            )
        } else {
            Problem::new(ProblemKind::MalformedJson, rejection.body_text())
        }
    })
}

/// Deserialises with the path of the failing field kept, so the problem can name it.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let field = if path == "." {
                    named_field(&inner.to_string())
                } else {
                    Some(path)
                };
                match field {
                    Some(field) => Problem::field(ProblemKind::InvalidField, field, inner.to_string()),
                    None => Problem::new(ProblemKind::InvalidField, inner.to_string()),
                }
            }
            _ => Problem::new(ProblemKind::MalformedJson, inner.to_string()),
        }
    })?;
    deserializer.end().map_err(|e| {
        Problem::new(
            ProblemKind::MalformedJson,
            format!("trailing characters after the JSON value: {e}"),
        )
    })?;
    Ok(value)
}

/// serde names the field in messages like "unknown field `x`" or "missing field `x`" at the top level.
fn named_field(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message.get(start..)?.find('`')?;
    message.get(start..start + len).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        count: u32,
        inner: Option<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        flag: bool,
    }

    #[test]
    fn json_problems_name_the_field() {
        let cases: &[(&str, ProblemKind, Option<&str>)] = &[
            (
                r#"{"name": "a", "count": "x"}"#,
                ProblemKind::InvalidField,
                Some("count"),
            ),
            (
                r#"{"name": "a", "count": 1, "extra": 1}"#,
                ProblemKind::InvalidField,
                Some("extra"),
            ),
            (r#"{"count": 1}"#, ProblemKind::InvalidField, Some("name")),
            (
                r#"{"name": "a", "count": 1, "inner": {"flag": 3}}"#,
                ProblemKind::InvalidField,
                Some("inner.flag"),
            ),
            (
                r#"{"name": "a", "count": -1}"#,
                ProblemKind::InvalidField,
                Some("count"),
            ),
            (r#"{"name": "a", "count": 1"#, ProblemKind::MalformedJson, None),
            (
                r#"{"name": "a", "count": 1} {}"#,
                ProblemKind::MalformedJson,
                None,
            ),
            ("", ProblemKind::MalformedJson, None),
        ];
        for (body, kind, field) in cases {
            let problem = parse_json::<Body>(body.as_bytes()).unwrap_err();
            assert_eq!(problem.kind(), Some(*kind), "{body}");
            assert_eq!(problem.field.as_deref(), *field, "{body}");
        }
    }
}
