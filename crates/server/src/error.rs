//! Errors at the HTTP edge: every failure becomes an RFC 9457 problem document with a stable `type` per kind
//! and, for a caller's mistake, the offending field. Our own failures are logged with their cause and answered
//! with a bare 500.

use app::AppError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The kinds of problem the API answers with; `type` is `/problems/<slug>` on this server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    Unauthenticated,
    /// A credential was presented, but it is not (or no longer) valid: unknown, expired or revoked.
    InvalidToken,
    Forbidden,
    NotFound,
    InvalidField,
    MalformedJson,
    UnsupportedMediaType,
    PayloadTooLarge,
    Conflict,
    Throttled,
    /// The server is at a bound of concurrent work; retry after the given seconds.
    Unavailable,
    Internal,
}

impl ProblemKind {
    pub const ALL: [ProblemKind; 12] = [
        ProblemKind::Unauthenticated,
        ProblemKind::InvalidToken,
        ProblemKind::Forbidden,
        ProblemKind::NotFound,
        ProblemKind::InvalidField,
        ProblemKind::MalformedJson,
        ProblemKind::UnsupportedMediaType,
        ProblemKind::PayloadTooLarge,
        ProblemKind::Conflict,
        ProblemKind::Throttled,
        ProblemKind::Unavailable,
        ProblemKind::Internal,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            ProblemKind::Unauthenticated => "unauthenticated",
            ProblemKind::InvalidToken => "invalid-token",
            ProblemKind::Forbidden => "forbidden",
            ProblemKind::NotFound => "not-found",
            ProblemKind::InvalidField => "invalid-field",
            ProblemKind::MalformedJson => "malformed-json",
            ProblemKind::UnsupportedMediaType => "unsupported-media-type",
            ProblemKind::PayloadTooLarge => "payload-too-large",
            ProblemKind::Conflict => "conflict",
            ProblemKind::Throttled => "throttled",
            ProblemKind::Unavailable => "unavailable",
            ProblemKind::Internal => "internal",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            ProblemKind::Unauthenticated | ProblemKind::InvalidToken => StatusCode::UNAUTHORIZED,
            ProblemKind::Forbidden => StatusCode::FORBIDDEN,
            ProblemKind::NotFound => StatusCode::NOT_FOUND,
            ProblemKind::InvalidField => StatusCode::UNPROCESSABLE_ENTITY,
            ProblemKind::MalformedJson => StatusCode::BAD_REQUEST,
            ProblemKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ProblemKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ProblemKind::Conflict => StatusCode::CONFLICT,
            ProblemKind::Throttled => StatusCode::TOO_MANY_REQUESTS,
            ProblemKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ProblemKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            ProblemKind::Unauthenticated => "Authentication required",
            ProblemKind::InvalidToken => "Invalid token",
            ProblemKind::Forbidden => "Not allowed",
            ProblemKind::NotFound => "Not found",
            ProblemKind::InvalidField => "Invalid field",
            ProblemKind::MalformedJson => "Malformed JSON",
            ProblemKind::UnsupportedMediaType => "Unsupported media type",
            ProblemKind::PayloadTooLarge => "Request body too large",
            ProblemKind::Conflict => "Conflict with the current state",
            ProblemKind::Throttled => "Too many attempts",
            ProblemKind::Unavailable => "Busy",
            ProblemKind::Internal => "Internal error",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.slug() == slug)
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind_uri: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    /// The request field at fault, for a caller's mistake in one field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// A rejected document: every rule it breaks, with the JSON pointer of the value at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Box<DocumentProblems>>,
    #[serde(skip)]
    kind: Option<ProblemKind>,
    #[serde(skip)]
    retry_after: Option<i64>,
}

/// The rules a rejected document breaks (boxed: most problems have none).
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct DocumentProblems(pub Vec<app::DocumentProblem>);

impl Problem {
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Self {
        Problem {
            kind_uri: format!("/problems/{}", kind.slug()),
            title: kind.title(),
            status: kind.status().as_u16(),
            detail: detail.into(),
            field: None,
            errors: None,
            kind: Some(kind),
            retry_after: None,
        }
    }

    pub fn field(kind: ProblemKind, field: impl Into<String>, detail: impl Into<String>) -> Self {
        Problem {
            field: Some(field.into()),
            ..Problem::new(kind, detail)
        }
    }

    pub fn kind(&self) -> Option<ProblemKind> {
        self.kind
    }
}

impl From<AppError> for Problem {
    fn from(error: AppError) -> Self {
        match error {
            AppError::Unauthenticated => Problem::new(ProblemKind::Unauthenticated, error.to_string()),
            AppError::NotFound(_) => Problem::new(ProblemKind::NotFound, error.to_string()),
            AppError::Forbidden(why) => Problem::new(ProblemKind::Forbidden, why),
            AppError::Invalid(v) => Problem::field(ProblemKind::InvalidField, v.field.clone(), v.to_string()),
            AppError::Conflict(why) => Problem::new(ProblemKind::Conflict, why),
            AppError::Rejected { detail, problems } => Problem {
                errors: Some(Box::new(DocumentProblems(problems))),
                ..Problem::new(ProblemKind::InvalidField, detail)
            },
            AppError::Throttled(seconds) => Problem {
                retry_after: Some(seconds),
                ..Problem::new(ProblemKind::Throttled, error.to_string())
            },
            AppError::Limited { retry_after, detail } => Problem {
                retry_after: Some(retry_after),
                ..Problem::new(ProblemKind::Throttled, detail)
            },
            AppError::Busy { retry_after, detail } => Problem {
                retry_after: Some(retry_after),
                ..Problem::new(ProblemKind::Unavailable, detail)
            },
            AppError::Internal(cause) => {
                tracing::error!(error = %error_chain(cause.as_ref()), "request failed");
                Problem::new(
                    ProblemKind::Internal,
                    "the server failed to handle the request; it has been logged",
                )
            }
        }
    }
}

/// The answer to a bearer token that is not valid, distinct from "authentication required" (no credential).
pub fn invalid_token() -> Problem {
    Problem::new(
        ProblemKind::InvalidToken,
        "the API token is not valid: it is unknown, expired or revoked",
    )
}

/// "outer: inner: innermost", for logs.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.kind == Some(ProblemKind::InvalidToken) {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        } else if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            headers.insert(header::RETRY_AFTER, value);
        }
        response
    }
}

pub type ApiResult<T> = Result<T, Problem>;
