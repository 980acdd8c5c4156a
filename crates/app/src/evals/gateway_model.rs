//! A notice's model through the gateway's in-process call API, as an [`evals::model::Model`]: a server-side run
//! calls it with the gateway token issued for the run (by id; the secret was never kept), so each call meets the
//! same enforcement, limits and metering as one to `/gateway/v1`, and is metered to the run's evaluator.

use crate::App;
use crate::gateway::{GatewayKey, GatewayReply, GatewayRequest};
use async_trait::async_trait;
use bytes::Bytes;
use evals::model::{GenerateRequest, Model, ModelError, ModelOutput};
use evals::openai;
use gateway::{ApiStyle, GatewayError};
use std::time::Duration;
use uuid::Uuid;

/// The model `model` of a notice, reached with the gateway token `token_id`.
pub struct GatewayModel {
    pub app: App,
    pub token_id: Uuid,
    pub model: String,
}

#[async_trait]
impl Model for GatewayModel {
    fn name(&self) -> &str {
        &self.model
    }

    async fn generate(&self, request: &GenerateRequest) -> Result<ModelOutput, ModelError> {
        let body = serde_json::to_vec(&openai::request_body(&self.model, request))
            .map_err(|e| ModelError::Refused(format!("the request cannot be written: {e}")))?;
        let reply = self
            .app
            .gateway_call(
                &GatewayKey::TokenId(self.token_id),
                GatewayRequest::Body {
                    style: ApiStyle::OpenAi,
                    body: Bytes::from(body),
                },
            )
            .await;
        match reply {
            Ok(GatewayReply::Complete { body, .. }) => openai::parse_response(&body),
            Ok(GatewayReply::Stream { .. }) => Err(ModelError::Transient(
                "the gateway streamed an answer that was not asked for".into(),
            )),
            Err(error) => Err(model_error(&error)),
        }
    }
}

/// A gateway error as what the runner does next: rate limited (with its `Retry-After`) waits; the token's or
/// the evaluator's access ending (revoked, unassigned, the notice's window over: 401 and 403) stops the run
/// with the gateway's reason; the rest as their status says.
pub fn model_error(error: &GatewayError) -> ModelError {
    let retry_after = error.retry_after.map(Duration::from_secs);
    match error.status {
        401 | 403 => ModelError::AccessEnded(format!("{} ({})", error.message, error.code)),
        status => {
            let body = serde_json::to_vec(&error.body(ApiStyle::OpenAi)).unwrap_or_default();
            openai::status_error(status, retry_after, &body)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_errors_become_what_the_runner_does_next() {
        let cases = [
            (GatewayError::not_assigned(), "access"),
            (GatewayError::token_revoked(), "access"),
            (GatewayError::post_launch_ended("2030-01-01T00:00:00Z"), "access"),
            (GatewayError::upstream_rate_limited(Some(3)), "rate"),
            (GatewayError::upstream_timeout(), "transient"),
            (GatewayError::upstream_failed(500), "transient"),
            (GatewayError::model_not_found("m"), "refused"),
        ];
        for (error, expected) in cases {
            let got = match model_error(&error) {
                ModelError::AccessEnded(_) => "access",
                ModelError::RateLimited { retry_after } => {
                    assert_eq!(retry_after, Some(Duration::from_secs(3)));
                    "rate"
                }
                ModelError::Transient(_) => "transient",
                ModelError::Refused(_) => "refused",
            };
            assert_eq!(got, expected, "{error:?}");
        }
    }
}
