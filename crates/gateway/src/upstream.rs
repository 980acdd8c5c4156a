//! Calls to the developer's model API. One pooled HTTP client (HTTP/1.1, rustls with the ring provider) serves
//! every connection; each call carries its connection's credential and extra headers, and nothing of the
//! evaluator's request but its body.
//!
//! Errors never carry the upstream's address: `reqwest` puts the URL into its errors, so they are reduced to
//! what happened (timeout, unreachable) before anyone sees or logs them.

use crate::egress::{self, Egress, Resolver};
use crate::error::GatewayError;
use crate::relay::{Identity, upstream_error_message};
use crate::settings::ApiStyle;
use accounts::Secret;
use bytes::Bytes;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The version of the Anthropic API the gateway speaks.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

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
}

impl Target {
    pub fn identity(&self) -> Identity {
        Identity::new(&self.upstream_model, &self.base_url)
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
}

/// What went wrong reading a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    Timeout,
    /// The connection closed or broke before the body was complete.
    Dropped,
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
            let bytes = response.body().await.map_err(|e| e.error())?;
            if (200..300).contains(&status) {
                Ok(status)
            } else {
                Err(map_status(status, None, &bytes, &target.identity()))
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

    /// The whole body, each piece arriving within the timeout.
    pub async fn body(mut self) -> Result<Bytes, BodyError> {
        let mut out = bytes::BytesMut::new();
        while let Some(chunk) = self.chunk().await? {
            out.extend_from_slice(&chunk);
        }
        Ok(out.freeze())
    }
}

/// Maps an upstream's error status to the gateway's answer. Errors the evaluator caused (400, 404, 413, 422)
/// keep the upstream's explanation, without its identity; the rest say what failed without detail.
pub fn map_status(status: u16, retry_after: Option<u64>, body: &[u8], identity: &Identity) -> GatewayError {
    match status {
        429 => GatewayError::upstream_rate_limited(retry_after),
        401 | 403 => GatewayError::upstream_refused_credential(),
        400 | 404 | 409 | 413 | 422 => {
            let message = upstream_error_message(body, identity)
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
