//! Calls to the developer's model API. One pooled HTTP client (HTTP/1.1, rustls with the ring provider) serves
//! every connection; each call carries its connection's credential and extra headers, and nothing of the
//! evaluator's request but its body.
//!
//! Errors never carry the upstream's address: `reqwest` puts the URL into its errors, so they are reduced to
//! what happened (timeout, unreachable) before anyone sees or logs them.
//!
//! Bodies are read piece by piece and never past the connection's limits (`ResponseLimits`): a body that
//! announces more, or sends more, is dropped at the limit, which closes the connection to the upstream.

use crate::egress::{self, Egress, Resolver};
use crate::error::GatewayError;
use crate::relay::upstream_error_message;
use crate::scrub::{ScrubError, Scrubber};
use crate::settings::{ApiStyle, ResponseLimits};
use accounts::Secret;
use bytes::Bytes;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The version of the Anthropic API the gateway speaks.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";
/// The most of an error body read: enough for its message, which is all the gateway uses of it.
pub const MAX_ERROR_BODY_BYTES: u64 = 64 * 1024;

/// Where and how to call one upstream.
pub struct Target {
    pub style: ApiStyle,
    pub base_url: String,
    pub upstream_model: String,
    pub credential: Secret,
    /// Extra headers, names lower-case; values are secrets like the credential.
    pub headers: Vec<(String, Secret)>,
    /// How long to wait for the response to start, and then between two pieces of it.
    pub timeout: Duration,
    /// How much of an answer is read.
    pub limits: ResponseLimits,
    /// What must not reach an evaluator: built once, with the target.
    scrubber: Arc<Scrubber>,
}

impl Target {
    pub fn new(
        style: ApiStyle,
        base_url: String,
        upstream_model: String,
        credential: Secret,
        headers: Vec<(String, Secret)>,
        timeout: Duration,
        limits: ResponseLimits,
    ) -> Result<Self, ScrubError> {
        let mut secrets = vec![credential.expose()];
        secrets.extend(headers.iter().map(|(_, value)| value.expose()));
        let scrubber = Scrubber::new(&upstream_model, &base_url, style.call_path(), &secrets)?;
        Ok(Target {
            style,
            base_url,
            upstream_model,
            credential,
            headers,
            timeout,
            limits,
            scrubber: Arc::new(scrubber),
        })
    }

    /// The connection's secrets and the upstream's identity, to keep out of what evaluators receive.
    pub fn scrubber(&self) -> &Arc<Scrubber> {
        &self.scrubber
    }
}

/// The shared client.
#[derive(Clone)]
pub struct Upstream {
    client: reqwest::Client,
    egress: Egress,
}

/// A response whose status and headers have arrived; its body is read on demand.
pub struct Response {
    inner: reqwest::Response,
    timeout: Duration,
    limits: ResponseLimits,
}

/// What went wrong reading a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    Timeout,
    /// The connection closed or broke before the body was complete.
    Dropped,
    /// The body is larger than this many bytes, the limit; it was not read further.
    TooLarge(u64),
}

impl Default for Upstream {
    fn default() -> Self {
        Self::new(Egress::default())
    }
}

impl Upstream {
    /// A client that calls only the addresses `egress` allows.
    pub fn new(egress: Egress) -> Self {
        let resolver = Arc::new(Resolver(egress));
        let client = reqwest::Client::builder()
            .dns_resolver(resolver.clone())
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .unwrap_or_else(|error| {
                tracing::error!(error = %error.without_url(), "building the upstream client failed; using defaults");
                // Defaults, but still only the addresses the operator allows.
                reqwest::Client::builder()
                    .dns_resolver(resolver)
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .unwrap_or_default()
            });
        Upstream { client, egress }
    }

    /// The addresses this client calls.
    pub fn egress(&self) -> Egress {
        self.egress
    }

    /// Sends a call and waits for the response's status and headers.
    pub async fn send(&self, target: &Target, body: Vec<u8>) -> Result<Response, GatewayError> {
        // Host names are checked as they resolve; an address in the URL is checked here.
        self.egress
            .check_url(&target.base_url)
            .map_err(|_| GatewayError::upstream_not_public())?;
        let url = format!("{}{}", target.base_url, target.style.call_path());
        let mut request = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        request = match target.style {
            ApiStyle::OpenAi => request.bearer_auth(target.credential.expose()),
            ApiStyle::Anthropic => request
                .header("x-api-key", target.credential.expose())
                .header("anthropic-version", ANTHROPIC_VERSION),
        };
        for (name, value) in &target.headers {
            request = request.header(name.as_str(), value.expose());
        }
        match tokio::time::timeout(target.timeout, request.send()).await {
            Err(_) => Err(GatewayError::upstream_timeout()),
            Ok(Err(error)) if error.is_timeout() => Err(GatewayError::upstream_timeout()),
            Ok(Err(error)) if egress::is_refusal(&error) => Err(GatewayError::upstream_not_public()),
            Ok(Err(error)) => {
                tracing::warn!(error = %error.without_url(), "upstream call failed");
                Err(GatewayError::upstream_unreachable())
            }
            Ok(Ok(inner)) => Ok(Response {
                inner,
                timeout: target.timeout,
                limits: target.limits,
            }),
        }
    }

    /// Makes one small real call, to check a connection's settings. Says what happened without the upstream's
    /// identity.
    pub async fn probe(&self, target: &Target) -> Probe {
        let body = serde_json::json!({
            "model": target.upstream_model,
            "messages": [{"role": "user", "content": "Reply with OK."}],
            "max_tokens": 5,
        });
        let started = Instant::now();
        let outcome = async {
            let response = self
                .send(target, serde_json::to_vec(&body).unwrap_or_default())
                .await?;
            let status = response.status();
            if (200..300).contains(&status) {
                response.body().await.map_err(|e| e.error())?;
                Ok(status)
            } else {
                let bytes = response.error_body().await;
                Err(map_status(status, None, &bytes, target.scrubber()))
            }
        }
        .await;
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        match outcome {
            Ok(status) => Probe {
                ok: true,
                status: Some(status),
                latency_ms,
                message: "the model's API answered".into(),
            },
            Err(error) => Probe {
                ok: false,
                status: None,
                latency_ms,
                message: error.message,
            },
        }
    }
}

/// The result of a test call.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Probe {
    pub ok: bool,
    /// The upstream's status when it answered successfully.
    pub status: Option<u16>,
    pub latency_ms: f64,
    pub message: String,
}

impl BodyError {
    pub fn error(self) -> GatewayError {
        match self {
            BodyError::Timeout => GatewayError::upstream_timeout(),
            BodyError::Dropped => GatewayError::upstream_dropped(),
            BodyError::TooLarge(limit) => GatewayError::upstream_response_too_large("a response", limit),
        }
    }
}

impl Response {
    pub fn status(&self) -> u16 {
        self.inner.status().as_u16()
    }

    /// `Retry-After` in whole seconds, when the upstream gave it as such.
    pub fn retry_after(&self) -> Option<u64> {
        self.inner
            .headers()
            .get(reqwest::header::RETRY_AFTER)?
            .to_str()
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// The next piece of the body; `None` at its end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, BodyError> {
        match tokio::time::timeout(self.timeout, self.inner.chunk()).await {
            Err(_) => Err(BodyError::Timeout),
            Ok(Err(error)) if error.is_timeout() => Err(BodyError::Timeout),
            Ok(Err(_)) => Err(BodyError::Dropped),
            Ok(Ok(chunk)) => Ok(chunk),
        }
    }

    /// The whole body, each piece arriving within the timeout, up to the connection's limit for a response.
    pub async fn body(self) -> Result<Bytes, BodyError> {
        let limit = self.limits.max_response_bytes;
        self.body_within(limit).await
    }

    /// As much of an error body as its message needs; empty when it is larger or does not arrive whole.
    pub async fn error_body(self) -> Bytes {
        let limit = self.limits.max_response_bytes.min(MAX_ERROR_BODY_BYTES);
        self.body_within(limit).await.unwrap_or_default()
    }

    /// The whole body if it is at most `limit` bytes. Refused at once when its announced length is larger;
    /// otherwise read until it ends or passes the limit, holding at most `limit` bytes.
    async fn body_within(mut self, limit: u64) -> Result<Bytes, BodyError> {
        if self.inner.content_length().is_some_and(|length| length > limit) {
            return Err(BodyError::TooLarge(limit));
        }
        let mut pieces: Vec<Bytes> = Vec::new();
        let mut length: u64 = 0;
        while let Some(chunk) = self.chunk().await? {
            length += chunk.len() as u64;
            if length > limit {
                return Err(BodyError::TooLarge(limit));
            }
            pieces.push(chunk);
        }
        Ok(match pieces.len() {
            0 => Bytes::new(),
            1 => pieces.pop().unwrap_or_default(),
            _ => Bytes::from(pieces.concat()),
        })
    }
}

/// Maps an upstream's error status to the gateway's answer. Errors the evaluator caused (400, 404, 413, 422)
/// keep the upstream's explanation, scrubbed of secrets and of the upstream's identity; the rest say what
/// failed without detail.
pub fn map_status(status: u16, retry_after: Option<u64>, body: &[u8], scrubber: &Scrubber) -> GatewayError {
    match status {
        429 => GatewayError::upstream_rate_limited(retry_after),
        401 | 403 => GatewayError::upstream_refused_credential(),
        400 | 404 | 409 | 413 | 422 => {
            let message = upstream_error_message(body, scrubber)
                .unwrap_or_else(|| format!("the model's API rejected the request (status {status})"));
            let status = if status == 404 { 400 } else { status };
            GatewayError::new(
                status,
                crate::error::ErrorType::InvalidRequest,
                "upstream_rejected_request",
                message,
            )
        }
        408 | 504 => GatewayError::upstream_timeout(),
        _ => GatewayError::upstream_failed(status),
    }
}
