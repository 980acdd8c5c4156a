//! A scripted model API for the gateway to call: OpenAI-style chat completions and Anthropic-style messages on
//! port 0, answering JSON or server-sent events, or failing as told (error statuses, slowness, a connection
//! dropped mid-stream). It records what it received and notices when a stream's reader goes away.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the developer enters and no evaluator may ever see.
pub const CREDENTIAL: &str = "sk-upstream-SECRET-credential-9f8e7d";
pub const UPSTREAM_MODEL: &str = "hidden-model-v7-internal";
pub const HEADER_NAME: &str = "x-upstream-org";
pub const HEADER_VALUE: &str = "org-HIDDEN-header-value-42";
/// Headers the upstream sends that name it; none may reach an evaluator.
pub const IDENTITY_HEADERS: [&str; 3] = ["x-upstream-host", "openai-organization", "x-ratelimit-remaining"];

/// How the next call is answered.
#[derive(Debug, Clone)]
pub enum Behavior {
    /// JSON, or `chunks` events 10 ms apart when streaming.
    Ok,
    /// An error status (with `Retry-After` when given) and a body naming the upstream.
    Fail(u16, Option<u64>),
    /// The answer starts only after this long.
    Slow(Duration),
    /// A stream of `chunks` events with `gap` between them.
    Stream { chunks: usize, gap: Duration },
    /// A stream that breaks its connection after `after` events.
    Drop { after: usize },
}

#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
}

#[derive(Default)]
struct State_ {
    script: Mutex<VecDeque<Behavior>>,
    seen: Mutex<Vec<Seen>>,
    /// Streams whose reader went away before the end.
    abandoned: AtomicUsize,
    /// Streams sent to the end.
    finished: AtomicUsize,
}

#[derive(Clone)]
pub struct Upstream {
    /// `http://127.0.0.1:<port>/v1`, what the developer enters as the base URL.
    pub base_url: String,
    state: Arc<State_>,
}

impl Upstream {
    pub async fn start() -> Upstream {
        let state = Arc::new(State_::default());
        let app = Router::new()
            .route("/v1/chat/completions", post(chat))
            .route("/v1/messages", post(messages))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Upstream { base_url, state }
    }

    /// Answers the next calls as given, in order; after them, `Behavior::Ok`.
    pub fn script(&self, behaviors: impl IntoIterator<Item = Behavior>) {
        self.state.script.lock().unwrap().extend(behaviors);
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }

    pub fn abandoned(&self) -> usize {
        self.state.abandoned.load(Ordering::SeqCst)
    }

    pub fn finished(&self) -> usize {
        self.state.finished.load(Ordering::SeqCst)
    }

    /// Every string that would identify the upstream to an evaluator.
    pub fn identity(&self) -> Vec<String> {
        let port = self
            .base_url
            .rsplit(':')
            .next()
            .unwrap()
            .trim_end_matches("/v1")
            .to_owned();
        vec![
            CREDENTIAL.into(),
            UPSTREAM_MODEL.into(),
            HEADER_VALUE.into(),
            self.base_url.clone(),
            format!("127.0.0.1:{port}"),
            "hidden".into(),
            "HIDDEN".into(),
            "SECRET".into(),
        ]
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Style {
    OpenAi,
    Anthropic,
}

async fn chat(State(state): State<Arc<State_>>, headers: HeaderMap, body: Bytes) -> Response {
    answer(state, Style::OpenAi, headers, body).await
}

async fn messages(State(state): State<Arc<State_>>, headers: HeaderMap, body: Bytes) -> Response {
    answer(state, Style::Anthropic, headers, body).await
}

fn identity_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        "x-upstream-host",
        HeaderValue::from_static("hidden.internal.example"),
    );
    headers.insert("openai-organization", HeaderValue::from_static("org-hidden"));
    headers.insert("x-ratelimit-remaining", HeaderValue::from_static("5"));
    response
}

async fn answer(state: Arc<State_>, style: Style, headers: HeaderMap, body: Bytes) -> Response {
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    state.seen.lock().unwrap().push(Seen {
        path: match style {
            Style::OpenAi => "/v1/chat/completions".into(),
            Style::Anthropic => "/v1/messages".into(),
        },
        headers: headers.clone(),
        body: request.clone(),
    });
    let authorised = match style {
        Style::OpenAi => {
            headers.get("authorization").and_then(|v| v.to_str().ok())
                == Some(&format!("Bearer {CREDENTIAL}"))
        }
        Style::Anthropic => headers.get("x-api-key").and_then(|v| v.to_str().ok()) == Some(CREDENTIAL),
    };
    if !authorised {
        return failure(401, None);
    }
    let behavior = state.script.lock().unwrap().pop_front().unwrap_or(Behavior::Ok);
    let stream = request["stream"] == true;
    let (chunks, gap, drop_after) = match behavior {
        Behavior::Fail(status, retry_after) => return failure(status, retry_after),
        Behavior::Slow(delay) => {
            tokio::time::sleep(delay).await;
            (3, Duration::from_millis(10), None)
        }
        Behavior::Ok => (3, Duration::from_millis(10), None),
        Behavior::Stream { chunks, gap } => (chunks, gap, None),
        Behavior::Drop { after } => (after + 5, Duration::from_millis(10), Some(after)),
    };
    if !stream {
        return identity_headers(axum::Json(complete(style, &request)).into_response());
    }
    let events = events(style, &request, chunks);
    let body = Body::from_stream(futures_util::stream::unfold(
        Relay {
            events: events.into(),
            sent: 0,
            gap,
            drop_after,
            state,
            done: false,
        },
        |mut relay| async move {
            if relay.sent > 0 {
                tokio::time::sleep(relay.gap).await;
            }
            if relay.drop_after == Some(relay.sent) {
                relay.done = true;
                return Some((Err(std::io::Error::other("connection dropped")), relay));
            }
            let event = relay.events.pop_front()?;
            relay.sent += 1;
            if relay.events.is_empty() {
                relay.done = true;
                relay.state.finished.fetch_add(1, Ordering::SeqCst);
            }
            Some((Ok::<Bytes, std::io::Error>(Bytes::from(event)), relay))
        },
    ));
    identity_headers(([("content-type", "text/event-stream")], body).into_response())
}

/// The stream's state; dropped before its end means the reader went away.
struct Relay {
    events: VecDeque<String>,
    sent: usize,
    gap: Duration,
    drop_after: Option<usize>,
    state: Arc<State_>,
    done: bool,
}

impl Drop for Relay {
    fn drop(&mut self) {
        if !self.done {
            self.state.abandoned.fetch_add(1, Ordering::SeqCst);
        }
    }
}

fn failure(status: u16, retry_after: Option<u64>) -> Response {
    let body = json!({"error": {
        // The upstream names itself in errors; the gateway must not pass that on.
        "message": format!("{UPSTREAM_MODEL} rejected the request (status {status}): context too long"),
        "type": "upstream_error",
    }});
    let mut response = (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response();
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert("retry-after", HeaderValue::from(seconds));
    }
    identity_headers(response)
}

fn last_user_text(request: &Value) -> String {
    request["messages"]
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m["content"].as_str())
        .unwrap_or("")
        .to_owned()
}

fn complete(style: Style, request: &Value) -> Value {
    let text = format!("echo: {}", last_user_text(request));
    match style {
        Style::OpenAi => {
            let tool = request["tools"][0]["function"]["name"].as_str();
            let message = match tool {
                Some(name) => json!({"role": "assistant", "content": null, "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": name, "arguments": "{\"city\": \"Paris\"}"}}
                ]}),
                None => json!({"role": "assistant", "content": text}),
            };
            json!({
                "id": "chatcmpl-1", "object": "chat.completion", "created": 1_800_000_000,
                "model": UPSTREAM_MODEL, "system_fingerprint": "fp_hidden",
                "choices": [{"index": 0, "message": message,
                             "finish_reason": if tool.is_some() { "tool_calls" } else { "stop" }}],
                "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
            })
        }
        Style::Anthropic => json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": UPSTREAM_MODEL,
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
            "usage": {"input_tokens": 9, "output_tokens": 4},
        }),
    }
}

/// A stream's events: `chunks` pieces of text `t0 t1 …`, with usage when asked, and the style's ending.
fn events(style: Style, request: &Value, chunks: usize) -> Vec<String> {
    let mut out = Vec::new();
    match style {
        Style::OpenAi => {
            let usage = request["stream_options"]["include_usage"] == true;
            for i in 0..chunks {
                let mut chunk = json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
                    "model": UPSTREAM_MODEL, "system_fingerprint": "fp_hidden",
                    "choices": [{"index": 0, "delta": {"content": format!("t{i} ")}, "finish_reason": null}]});
                if usage {
                    chunk["usage"] = Value::Null;
                }
                out.push(format!("data: {chunk}\n\n"));
            }
            if usage {
                let chunk = json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
                    "model": UPSTREAM_MODEL, "choices": [],
                    "usage": {"prompt_tokens": 11, "completion_tokens": chunks, "total_tokens": 11 + chunks}});
                out.push(format!("data: {chunk}\n\n"));
            }
            out.push("data: [DONE]\n\n".into());
        }
        Style::Anthropic => {
            let start = json!({"type": "message_start", "message": {"id": "msg_1", "type": "message",
                "role": "assistant", "model": UPSTREAM_MODEL, "content": [],
                "usage": {"input_tokens": 9, "output_tokens": 1}}});
            out.push(format!("event: message_start\ndata: {start}\n\n"));
            for i in 0..chunks {
                let delta = json!({"type": "content_block_delta", "index": 0,
                    "delta": {"type": "text_delta", "text": format!("t{i} ")}});
                out.push(format!("event: content_block_delta\ndata: {delta}\n\n"));
            }
            let delta = json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                "usage": {"output_tokens": chunks}});
            out.push(format!("event: message_delta\ndata: {delta}\n\n"));
            out.push("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n".into());
        }
    }
    out
}
