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
        self.send_diagnosed(target, body)
            .await
            .map_err(|(error, _)| error)
    }

    /// As `send`, saying also why a call that got no response failed, for the connection test.
    async fn send_diagnosed(
        &self,
        target: &Target,
        body: Vec<u8>,
    ) -> Result<Response, (GatewayError, Failure)> {
        // Host names are checked as they resolve; an address in the URL is checked here.
        self.egress
            .check_url(&target.base_url)
            .map_err(|_| (GatewayError::upstream_not_public(), Failure::AddressNotAllowed))?;
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
            Err(_) => Err((GatewayError::upstream_timeout(), Failure::Timeout)),
            Ok(Err(error)) if error.is_timeout() => Err((GatewayError::upstream_timeout(), Failure::Timeout)),
            Ok(Err(error)) if egress::is_refusal(&error) => {
                Err((GatewayError::upstream_not_public(), Failure::AddressNotAllowed))
            }
            Ok(Err(error)) => {
                let failure = Failure::of(&error);
                tracing::warn!(error = %error.without_url(), "upstream call failed");
                Err((GatewayError::upstream_unreachable(), failure))
            }
            Ok(Ok(inner)) => Ok(Response {
                inner,
                timeout: target.timeout,
                limits: target.limits,
            }),
        }
    }

    /// Makes one small real call, to check a connection's settings, and, when it works, one streamed call.
    /// Says what happened in plain words (which step failed: the name, the connection, TLS, the wait, the
    /// status) without the upstream's identity: its error text and its reply pass the connection's scrubber.
    pub async fn probe(&self, target: &Target) -> Probe {
        let started = Instant::now();
        let outcome = self.probe_call(target).await;
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        match outcome {
            Ok((status, reply)) => Probe {
                ok: true,
                status: Some(status),
                latency_ms,
                message: "the model's API answered".into(),
                failure: None,
                reply,
                stream: Some(self.probe_stream(target).await),
            },
            Err(failed) => Probe {
                ok: false,
                status: failed.status,
                latency_ms,
                message: failed.message,
                failure: Some(failed.failure),
                reply: None,
                stream: None,
            },
        }
    }

    /// The plain call: its status and the start of the model's reply.
    async fn probe_call(&self, target: &Target) -> Result<(u16, Option<String>), Failed> {
        let response = self
            .send_diagnosed(target, probe_body(target, false))
            .await
            .map_err(|(error, failure)| Failed::new(target, failure, error))?;
        let status = response.status();
        if !(200..300).contains(&status) {
            let bytes = response.error_body().await;
            return Err(Failed::status(target, status, &bytes));
        }
        let bytes = response.body().await.map_err(|e| Failed::body(target, e))?;
        Ok((status, sample_reply(&bytes, target.scrubber())))
    }

    /// The streamed call: it must deliver at least one event and end, each piece within the timeout.
    async fn probe_stream(&self, target: &Target) -> StreamCheck {
        let started = Instant::now();
        let mut events: u32 = 0;
        let outcome = async {
            let mut response = self
                .send_diagnosed(target, probe_body(target, true))
                .await
                .map_err(|(error, failure)| Failed::new(target, failure, error))?;
            let status = response.status();
            if !(200..300).contains(&status) {
                let bytes = response.error_body().await;
                return Err(Failed::status(target, status, &bytes));
            }
            let mut parser = crate::sse::SseParser::new(
                usize::try_from(target.limits.max_event_bytes).unwrap_or(usize::MAX),
            );
            let mut read: u64 = 0;
            while let Some(chunk) = response.chunk().await.map_err(|e| Failed::body(target, e))? {
                read += chunk.len() as u64;
                if read > target.limits.max_stream_bytes || parser.too_large() {
                    return Err(Failed::body(
                        target,
                        BodyError::TooLarge(target.limits.max_stream_bytes),
                    ));
                }
                let added = parser.push(&chunk).len();
                events = events.saturating_add(u32::try_from(added).unwrap_or(u32::MAX));
            }
            Ok(())
        }
        .await;
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        match outcome {
            Ok(()) if events > 0 => StreamCheck {
                ok: true,
                events,
                latency_ms,
                message: format!("the streamed answer arrived in {events} events and ended"),
                failure: None,
            },
            Ok(()) => StreamCheck {
                ok: false,
                events,
                latency_ms,
                message:
                    "the streamed answer ended without a single event; check that the model's API streams \
                          server-sent events"
                        .into(),
                failure: Some(Failure::BadReply),
            },
            Err(failed) => StreamCheck {
                ok: false,
                events,
                latency_ms,
                message: failed.message,
                failure: Some(failed.failure),
            },
        }
    }
}

/// The test call's body: a few tokens, streamed or not.
fn probe_body(target: &Target, stream: bool) -> Vec<u8> {
    let mut body = serde_json::json!({
        "model": target.upstream_model,
        "messages": [{"role": "user", "content": "Reply with OK."}],
        "max_tokens": 5,
    });
    if stream && let Some(fields) = body.as_object_mut() {
        fields.insert("stream".into(), serde_json::Value::Bool(true));
    }
    serde_json::to_vec(&body).unwrap_or_default()
}

/// The most of the model's reply a test shows.
const MAX_SAMPLE_CHARS: usize = 200;

/// The text of a reply (OpenAI's first choice, or Anthropic's text blocks), scrubbed, then shortened.
fn sample_reply(bytes: &[u8], scrubber: &Scrubber) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let text = match value
        .pointer("/choices/0/message/content")
        .and_then(|v| v.as_str())
    {
        Some(text) => text.to_owned(),
        None => value
            .get("content")?
            .as_array()?
            .iter()
            .filter_map(|block| block.get("text").and_then(|t| t.as_str()))
            .collect::<Vec<_>>()
            .join(""),
    };
    Some(scrubber.scrub(&text).chars().take(MAX_SAMPLE_CHARS).collect())
}

/// Why a test call failed: a stable code for scripts (`failure` in the answer) and a message in plain words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    /// The host name in the base URL does not resolve.
    NameNotResolved,
    /// Nothing accepts connections at that address and port.
    ConnectionRefused,
    /// The TLS handshake failed: not TLS at that port, or a certificate that is not valid for the name.
    Tls,
    /// No answer, or no next piece of it, within the connection's timeout.
    Timeout,
    /// The model's API answered with an error status.
    HttpStatus,
    /// The address is private, local or reserved, and this server does not call such addresses.
    AddressNotAllowed,
    /// The connection failed otherwise (reset, unreachable network).
    Unreachable,
    /// The answer broke off, was too large or could not be read.
    BadReply,
}

impl Failure {
    /// What went wrong in a call that got no response, from the error and its causes.
    fn of(error: &reqwest::Error) -> Failure {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
        let mut tls = false;
        let mut unresolved = false;
        while let Some(e) = cause {
            if let Some(io) = e.downcast_ref::<std::io::Error>()
                && io.kind() == std::io::ErrorKind::ConnectionRefused
            {
                return Failure::ConnectionRefused;
            }
            let text = e.to_string().to_ascii_lowercase();
            unresolved |= [
                "dns error",
                "failed to lookup address",
                "name or service not known",
                "no such host",
                "nodename nor servname",
            ]
            .iter()
            .any(|m| text.contains(m));
            tls |= [
                "tls",
                "certificate",
                "handshake",
                "corrupt message",
                "invalidcontenttype",
                "invalid peer",
            ]
            .iter()
            .any(|m| text.contains(m));
            cause = e.source();
        }
        if unresolved {
            Failure::NameNotResolved
        } else if tls {
            Failure::Tls
        } else {
            Failure::Unreachable
        }
    }
}

/// A failed step of a test call, as the test reports it.
struct Failed {
    failure: Failure,
    status: Option<u16>,
    message: String,
}

impl Failed {
    fn new(target: &Target, failure: Failure, error: GatewayError) -> Failed {
        let message = match failure {
            Failure::NameNotResolved => {
                "the host name in the base URL could not be resolved: no such name was \
                 found in DNS; check the base URL for a typing mistake"
                    .to_owned()
            }
            Failure::ConnectionRefused => {
                "the connection was refused: nothing accepts connections at the base \
                 URL's address and port; check the port and that the model's API is running"
                    .to_owned()
            }
            Failure::Tls => {
                "the secure connection (TLS) failed: the server at the base URL's port does not speak \
                 TLS or its certificate is not valid for its name; check https or http and the port"
                    .to_owned()
            }
            Failure::Timeout => format!(
                "no answer within the connection's timeout of {} seconds; the model's API is slow or silent",
                target.timeout.as_secs()
            ),
            _ => error.message,
        };
        Failed {
            failure,
            status: None,
            message,
        }
    }

    /// An error status, with the upstream's own message scrubbed of its secrets and identity.
    fn status(target: &Target, status: u16, body: &[u8]) -> Failed {
        let said = upstream_error_message(body, target.scrubber());
        let mut message = format!("the model's API answered with HTTP status {status}");
        if let Some(reason) = reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
        {
            message.push_str(&format!(" ({reason})"));
        }
        if matches!(status, 401 | 403) {
            message.push_str(": it refused the credential; update the connection's credential");
        } else if let Some(said) = said.filter(|s| !s.trim().is_empty()) {
            message.push_str(&format!(". It said: {said}"));
        }
        Failed {
            failure: Failure::HttpStatus,
            status: Some(status),
            message,
        }
    }

    fn body(target: &Target, error: BodyError) -> Failed {
        match error {
            BodyError::Timeout => Failed::new(target, Failure::Timeout, GatewayError::upstream_timeout()),
            other => Failed {
                failure: Failure::BadReply,
                status: None,
                message: other.error().message,
            },
        }
    }
}

/// The result of a test call.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Probe {
    pub ok: bool,
    /// The upstream's HTTP status, when it answered (with success or an error status).
    pub status: Option<u16>,
    pub latency_ms: f64,
    /// What happened, in plain words.
    pub message: String,
    /// Why it failed; `None` when it worked.
    pub failure: Option<Failure>,
    /// The start of the model's reply, scrubbed, when it worked.
    pub reply: Option<String>,
    /// The streamed call, made only when the plain one worked.
    pub stream: Option<StreamCheck>,
}

/// The streamed test call: it must deliver at least one event and end.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StreamCheck {
    pub ok: bool,
    /// Server-sent events received.
    pub events: u32,
    pub latency_ms: f64,
    pub message: String,
    pub failure: Option<Failure>,
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
