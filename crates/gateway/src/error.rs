//! The gateway's errors, in the shapes clients of each API style already understand.
//!
//! OpenAI-style: `{"error": {"message", "type", "code"}}`; Anthropic-style: `{"type": "error", "error": {"type",
//! "message"}}`. Messages speak only of the caller's own token and notice, never of other notices, and never
//! name the upstream.

use crate::limits::Refusal;
use crate::settings::ApiStyle;
use serde_json::{Value, json};

/// The error families OpenAI's clients know (`type`), each with its HTTP status family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    InvalidRequest,
    Authentication,
    Permission,
    NotFound,
    RateLimit,
    /// The upstream or the gateway failed.
    Api,
}

impl ErrorType {
    pub fn openai(self) -> &'static str {
        match self {
            ErrorType::InvalidRequest => "invalid_request_error",
            ErrorType::Authentication => "authentication_error",
            ErrorType::Permission => "permission_error",
            ErrorType::NotFound => "invalid_request_error",
            ErrorType::RateLimit => "rate_limit_error",
            ErrorType::Api => "api_error",
        }
    }

    pub fn anthropic(self) -> &'static str {
        match self {
            ErrorType::InvalidRequest => "invalid_request_error",
            ErrorType::Authentication => "authentication_error",
            ErrorType::Permission => "permission_error",
            ErrorType::NotFound => "not_found_error",
            ErrorType::RateLimit => "rate_limit_error",
            ErrorType::Api => "api_error",
        }
    }
}

/// A refused or failed gateway call: HTTP status, family, a stable machine-readable `code`, a message for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct GatewayError {
    pub status: u16,
    pub kind: ErrorType,
    pub code: &'static str,
    pub message: String,
    /// Seconds, for `Retry-After`.
    pub retry_after: Option<u64>,
}

impl GatewayError {
    pub fn new(status: u16, kind: ErrorType, code: &'static str, message: impl Into<String>) -> Self {
        GatewayError {
            status,
            kind,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// The response body in the caller's API style.
    pub fn body(&self, style: ApiStyle) -> Value {
        match style {
            ApiStyle::OpenAi => json!({"error": {
                "message": self.message, "type": self.kind.openai(), "code": self.code, "param": null,
            }}),
            ApiStyle::Anthropic => json!({"type": "error", "error": {
                "type": self.kind.anthropic(), "message": self.message, "code": self.code,
            }}),
        }
    }

    // Authentication and access.

    pub fn missing_key() -> Self {
        Self::new(
            401,
            ErrorType::Authentication,
            "missing_api_key",
            "send a gateway token as 'Authorization: Bearer plg_…'",
        )
    }

    pub fn invalid_key() -> Self {
        Self::new(
            401,
            ErrorType::Authentication,
            "invalid_api_key",
            "the gateway token is not valid",
        )
    }

    pub fn token_revoked() -> Self {
        Self::new(
            401,
            ErrorType::Authentication,
            "token_revoked",
            "this gateway token was revoked",
        )
    }

    pub fn token_expired() -> Self {
        Self::new(
            401,
            ErrorType::Authentication,
            "token_expired",
            "this gateway token has expired",
        )
    }

    pub fn account_inactive() -> Self {
        Self::new(
            401,
            ErrorType::Authentication,
            "account_inactive",
            "the account this gateway token belongs to is deactivated",
        )
    }

    /// The notice's developer organisation was deactivated by the program: its models are not reachable.
    pub fn developer_inactive() -> Self {
        Self::new(
            403,
            ErrorType::Permission,
            "developer_inactive",
            "the developer of this model is not active in the program, so the model is not reachable",
        )
    }

    pub fn not_assigned() -> Self {
        Self::new(
            403,
            ErrorType::Permission,
            "not_assigned",
            "the token's holder is no longer assigned to evaluate this model",
        )
    }

    pub fn window_not_open(opens_at: &str) -> Self {
        Self::new(
            403,
            ErrorType::Permission,
            "window_not_open",
            format!("the review window for this model opens at {opens_at}"),
        )
    }

    pub fn closed_at_launch(at: &str) -> Self {
        Self::new(
            403,
            ErrorType::Permission,
            "window_closed",
            format!("access closed when the model launched at {at}"),
        )
    }

    pub fn post_launch_ended(at: &str) -> Self {
        Self::new(
            403,
            ErrorType::Permission,
            "post_launch_access_ended",
            format!("post-launch access to this model ended at {at}"),
        )
    }

    pub fn withdrawn() -> Self {
        Self::new(
            403,
            ErrorType::Permission,
            "notice_withdrawn",
            "the developer withdrew this model from review",
        )
    }

    pub fn no_connection() -> Self {
        Self::new(
            403,
            ErrorType::Permission,
            "model_not_connected",
            "the developer has not connected this model to the gateway yet",
        )
    }

    // The request.

    pub fn model_not_found(model: &str) -> Self {
        let shown: String = model.chars().take(100).collect();
        Self::new(
            404,
            ErrorType::NotFound,
            "model_not_found",
            format!(
                "the model '{shown}' does not exist or this token cannot reach it; GET /gateway/v1/models lists the models it can"
            ),
        )
    }

    pub fn wrong_style(model_style: ApiStyle) -> Self {
        let (speaks, path) = match model_style {
            ApiStyle::OpenAi => ("OpenAI chat completions", "/gateway/v1/chat/completions"),
            ApiStyle::Anthropic => ("Anthropic messages", "/gateway/v1/messages"),
        };
        Self::new(
            400,
            ErrorType::InvalidRequest,
            "unsupported_api_style",
            format!(
                "this model speaks the {speaks} API; send the call to POST {path} (the gateway does not translate between API styles)"
            ),
        )
    }

    pub fn invalid_body(why: impl Into<String>) -> Self {
        Self::new(400, ErrorType::InvalidRequest, "invalid_request_body", why)
    }

    pub fn body_too_large(limit: usize) -> Self {
        Self::new(
            413,
            ErrorType::InvalidRequest,
            "request_too_large",
            format!("the request body exceeds {limit} bytes"),
        )
    }

    // Limits.

    /// A call a limit refuses: the evaluator's own (all their gateway tokens together) or their agency's (all its
    /// evaluators together), through this model.
    pub fn limited(refusal: Refusal, agency: bool) -> Self {
        let whose = if agency {
            "your agency's calls to this model (all its evaluators together)"
        } else {
            "your calls to this model (all your gateway tokens together)"
        };
        match refusal {
            Refusal::RequestsPerMinute {
                limit,
                retry_after_secs,
            } => Self::new(
                429,
                ErrorType::RateLimit,
                "rate_limit_exceeded",
                format!("rate limit of {limit} requests per minute reached for {whose}; retry after {retry_after_secs} s"),
            )
            .retry_after(retry_after_secs),
            Refusal::TokensPerMinute {
                limit,
                retry_after_secs,
            } => Self::new(
                429,
                ErrorType::RateLimit,
                "tokens_per_minute_exceeded",
                format!("limit of {limit} tokens per minute reached for {whose}; retry after {retry_after_secs} s"),
            )
            .retry_after(retry_after_secs),
            Refusal::Concurrency { limit } => Self::new(
                429,
                ErrorType::RateLimit,
                "concurrency_limit_exceeded",
                format!("{limit} calls in flight at once is the limit for {whose}, and it is reached; wait for one to finish"),
            )
            .retry_after(1),
        }
    }

    // The upstream.

    pub fn upstream_rate_limited(retry_after: Option<u64>) -> Self {
        let error = Self::new(
            429,
            ErrorType::RateLimit,
            "upstream_rate_limited",
            "the model's API is rate limiting the gateway; retry later",
        );
        match retry_after {
            Some(seconds) => error.retry_after(seconds),
            None => error,
        }
    }

    pub fn upstream_timeout() -> Self {
        Self::new(
            504,
            ErrorType::Api,
            "upstream_timeout",
            "the model's API did not answer in time",
        )
    }

    pub fn upstream_unreachable() -> Self {
        Self::new(
            502,
            ErrorType::Api,
            "upstream_unreachable",
            "the model's API could not be reached",
        )
    }

    pub fn upstream_not_public() -> Self {
        Self::new(
            502,
            ErrorType::Api,
            "upstream_address_not_allowed",
            "the model's API is at a private, local or reserved address, which this server does not call \
             (its operator can allow private networks)",
        )
    }

    pub fn upstream_failed(status: u16) -> Self {
        Self::new(
            502,
            ErrorType::Api,
            "upstream_error",
            format!("the model's API failed (status {status})"),
        )
    }

    pub fn upstream_refused_credential() -> Self {
        Self::new(
            502,
            ErrorType::Api,
            "upstream_credential_refused",
            "the model's API refused the developer's credential; the developer must update the connection",
        )
    }

    pub fn upstream_invalid_response() -> Self {
        Self::new(
            502,
            ErrorType::Api,
            "upstream_invalid_response",
            "the model's API sent a response the gateway could not read",
        )
    }

    pub fn upstream_dropped() -> Self {
        Self::new(
            502,
            ErrorType::Api,
            "upstream_dropped",
            "the model's API closed the connection before the response was complete",
        )
    }

    /// The upstream sent more than the connection allows (`what`: a response, a stream event, a stream); the
    /// gateway stopped reading there.
    pub fn upstream_response_too_large(what: &str, limit: u64) -> Self {
        Self::new(
            502,
            ErrorType::Api,
            "upstream_response_too_large",
            format!(
                "the model's API sent {what} larger than the {limit} bytes this model's connection allows; the \
                 gateway stopped reading it"
            ),
        )
    }

    // The gateway.

    pub fn metering_failed() -> Self {
        Self::new(
            503,
            ErrorType::Api,
            "metering_unavailable",
            "the call could not be recorded, so its result is withheld; retry later",
        )
    }

    pub fn internal() -> Self {
        Self::new(
            500,
            ErrorType::Api,
            "internal_error",
            "the gateway failed; it has been logged",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_have_each_style_shape() {
        let e = GatewayError::limited(
            Refusal::RequestsPerMinute {
                limit: 2,
                retry_after_secs: 30,
            },
            false,
        );
        let openai = e.body(ApiStyle::OpenAi);
        assert_eq!(openai["error"]["type"], "rate_limit_error");
        assert_eq!(openai["error"]["code"], "rate_limit_exceeded");
        assert!(openai["error"]["message"].as_str().unwrap().contains("30 s"));
        let anthropic = GatewayError::model_not_found("x").body(ApiStyle::Anthropic);
        assert_eq!(anthropic["type"], "error");
        assert_eq!(anthropic["error"]["type"], "not_found_error");
        assert_eq!(e.retry_after, Some(30));
    }
}
