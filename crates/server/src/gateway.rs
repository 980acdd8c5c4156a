//! The model access gateway over HTTP, mounted at `/gateway/v1`: what the OpenAI SDKs, Inspect AI and curl
//! expect (`GET /models`, `POST /chat/completions` with and without streaming) and the Anthropic-style
//! `POST /messages`. Errors have the calling style's shape, not RFC 9457, because that is what those clients
//! read. Every rule is in `app::gateway`, whose `App::gateway_call` in-process callers call too; this only moves
//! bytes.

use crate::extract::bearer;
use app::App;
use app::gateway::{GATEWAY_BODY_LIMIT, GatewayKey, GatewayReply, GatewayRequest};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use gateway::{ApiStyle, ErrorType, GatewayError};
use uuid::Uuid;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn routes() -> Router<App> {
    Router::new()
        .route("/models", get(models))
        .route("/chat/completions", post(chat_completions))
        .route("/messages", post(messages))
        .fallback(|| async {
            error(
                ApiStyle::OpenAi,
                GatewayError::new(
                    404,
                    ErrorType::NotFound,
                    "unknown_endpoint",
                    "the gateway serves GET /models, POST /chat/completions and POST /messages",
                ),
            )
        })
        .layer(DefaultBodyLimit::max(GATEWAY_BODY_LIMIT))
}

/// The presented gateway token: `Authorization: Bearer`, or Anthropic's `x-api-key` on `/messages`.
fn token(headers: &HeaderMap, style: ApiStyle) -> Option<&str> {
    bearer(headers).or_else(|| match style {
        ApiStyle::Anthropic => headers.get("x-api-key")?.to_str().ok(),
        ApiStyle::OpenAi => None,
    })
}

fn error(style: ApiStyle, error: GatewayError) -> Response {
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, axum::Json(error.body(style))).into_response();
    let headers = response.headers_mut();
    if let Some(seconds) = error.retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    if status == StatusCode::UNAUTHORIZED {
        headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

fn request_id(call_id: Uuid) -> HeaderValue {
    HeaderValue::from_str(&call_id.to_string()).unwrap_or(HeaderValue::from_static("unknown"))
}

async fn models(State(app): State<App>, headers: HeaderMap) -> Response {
    match app
        .gateway_models(&GatewayKey::Presented(token(&headers, ApiStyle::OpenAi)))
        .await
    {
        Ok(list) => axum::Json(list).into_response(),
        Err(e) => error(ApiStyle::OpenAi, e),
    }
}

async fn chat_completions(
    State(app): State<App>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    call(app, headers, body, ApiStyle::OpenAi).await
}

async fn messages(
    State(app): State<App>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    call(app, headers, body, ApiStyle::Anthropic).await
}

async fn call(
    app: App,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
    style: ApiStyle,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return error(style, GatewayError::body_too_large(GATEWAY_BODY_LIMIT));
        }
        Err(rejection) => return error(style, GatewayError::invalid_body(rejection.body_text())),
    };
    let key = GatewayKey::Presented(token(&headers, style));
    match app.gateway_call(&key, GatewayRequest::Body { style, body }).await {
        Ok(GatewayReply::Complete { call_id, body, .. }) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
                (REQUEST_ID, request_id(call_id)),
            ],
            body,
        )
            .into_response(),
        Ok(GatewayReply::Stream { call_id, events }) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/event-stream"),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
                (REQUEST_ID, request_id(call_id)),
            ],
            Body::from_stream(events),
        )
            .into_response(),
        Err(e) => error(style, e),
    }
}
