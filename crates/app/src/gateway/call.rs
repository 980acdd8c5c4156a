//! The call path, and the in-process API to it: `App::gateway_call` takes a key (a presented token, or a
//! token's id) and a request (a client's body, or a typed chat) and authorises, limits, relays, scrubs and
//! meters it. `/gateway/v1` is a thin adapter over this one function, so the HTTP route and in-process callers
//! (the evaluation engine) meet the same rules, share the same limits and leave the same records.

use super::GATEWAY_BODY_LIMIT;
use super::grants::{Grant, Route};
use super::limits::CallPermit;
use super::metering::{CallLog, ResponseCopy};
use super::stream::Relay;
use crate::App;
use bytes::Bytes;
use futures_util::Stream;
use gateway::relay::rewrite_response;
use gateway::upstream::{Response as UpstreamResponse, map_status};
use gateway::{ApiStyle, CallRequest, GatewayError, StreamRewriter, Usage};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use uuid::Uuid;

/// Whose call it is: a gateway token, and through it its holder, notice and connections.
///
/// Deliberately not `Debug`: it may hold a token's secret.
#[derive(Clone, Copy)]
pub enum GatewayKey<'a> {
    /// A gateway token as a client presented it (`None`: it presented none), as `/gateway/v1` receives it.
    Presented(Option<&'a str>),
    /// A gateway token by its id, for work inside this service done for the token's holder (the evaluation
    /// engine keeps the id of a token issued for a run, never its secret). Everything the token decides still
    /// applies: revoked or expired, its holder's standing and assignment, the notice's window, the limits.
    TokenId(Uuid),
}

/// A call's request in one API style.
#[derive(Debug, Clone)]
pub enum GatewayRequest {
    /// A body as a client sent it to `POST /chat/completions` (OpenAI style) or `POST /messages` (Anthropic).
    Body { style: ApiStyle, body: Bytes },
    /// A chat built in-process.
    Chat(ChatRequest),
}

/// A chat call, typed: what an in-process caller fills in instead of writing a body. It becomes the body a
/// client of its style would send (`stream`, `max_tokens`, `temperature` only when set), with `extra`'s fields
/// beside them.
#[derive(Debug, Clone)]
pub struct ChatRequest {
    pub style: ApiStyle,
    /// The model's name at the gateway.
    pub model: String,
    pub messages: Vec<ChatMessage>,
    pub stream: bool,
    pub max_tokens: Option<u32>,
    pub temperature: Option<f64>,
    /// Any further fields of the style's request (`tools`, `stop`, `stream_options`, …), sent as given; `model`
    /// and `messages`, and the typed fields that are set, win over the same names here.
    pub extra: Map<String, Value>,
}

impl ChatRequest {
    /// A request of one user message, not streamed, with nothing else set.
    pub fn new(style: ApiStyle, model: impl Into<String>, prompt: impl Into<String>) -> Self {
        ChatRequest {
            style,
            model: model.into(),
            messages: vec![ChatMessage::text(Role::User, prompt)],
            stream: false,
            max_tokens: None,
            temperature: None,
            extra: Map::new(),
        }
    }

    /// The body a client of this style would send. In the Anthropic style, system messages become the
    /// top-level `system` field, which is where that API takes them.
    fn body(self) -> Value {
        let mut body = self.extra;
        let mut messages = Vec::with_capacity(self.messages.len());
        let mut system = Vec::new();
        for message in self.messages {
            match (self.style, message.role) {
                (ApiStyle::Anthropic, Role::System) => system.push(message.content),
                _ => messages.push(json!({"role": message.role, "content": message.content})),
            }
        }
        if !system.is_empty() {
            body.insert("system".into(), anthropic_system(system));
        }
        body.insert("model".into(), Value::String(self.model));
        body.insert("messages".into(), Value::Array(messages));
        if self.stream {
            body.insert("stream".into(), Value::Bool(true));
        }
        if let Some(max_tokens) = self.max_tokens {
            body.insert("max_tokens".into(), max_tokens.into());
        }
        if let Some(temperature) = self.temperature {
            body.insert("temperature".into(), temperature.into());
        }
        Value::Object(body)
    }
}

/// Anthropic's `system`: the system messages' texts joined, or (when one is not plain text) their content
/// blocks in order.
fn anthropic_system(contents: Vec<Value>) -> Value {
    if contents.iter().all(Value::is_string) {
        let texts: Vec<&str> = contents.iter().filter_map(Value::as_str).collect();
        return Value::String(texts.join("\n\n"));
    }
    let mut blocks = Vec::new();
    for content in contents {
        match content {
            Value::String(text) => blocks.push(json!({"type": "text", "text": text})),
            Value::Array(parts) => blocks.extend(parts),
            other => blocks.push(other),
        }
    }
    Value::Array(blocks)
}

/// A message of a chat.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatMessage {
    pub role: Role,
    /// Text, or the style's content parts (an array), sent as given.
    pub content: Value,
}

impl ChatMessage {
    pub fn text(role: Role, text: impl Into<String>) -> Self {
        ChatMessage {
            role,
            content: Value::String(text.into()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    System,
    User,
    Assistant,
}

impl GatewayRequest {
    /// The style and the body, as `/gateway/v1` would have received them.
    fn into_body(self) -> (ApiStyle, Bytes) {
        match self {
            GatewayRequest::Body { style, body } => (style, body),
            GatewayRequest::Chat(chat) => {
                let style = chat.style;
                // Serialising a JSON value cannot fail; an empty body would be refused as not JSON.
                let body = serde_json::to_vec(&chat.body()).unwrap_or_default();
                (style, Bytes::from(body))
            }
        }
    }
}

/// A gateway call's answer; `/gateway/v1` turns it into HTTP, an in-process caller reads it as it is.
pub enum GatewayReply {
    /// A whole JSON body as the evaluator receives it (recorded before it is handed over), and the tokens the
    /// call was metered for.
    Complete {
        call_id: Uuid,
        body: Bytes,
        usage: Usage,
    },
    /// Server-sent events, relayed as they arrive; the last one waits for the call's record.
    Stream {
        call_id: Uuid,
        events: Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>,
    },
}

impl GatewayReply {
    /// The call's id, as recorded (and sent over HTTP as `x-request-id`).
    pub fn call_id(&self) -> Uuid {
        match self {
            GatewayReply::Complete { call_id, .. } | GatewayReply::Stream { call_id, .. } => *call_id,
        }
    }

    /// A complete answer's JSON; `None` for a stream, or a body that is not JSON (the gateway only passes on
    /// JSON, so that does not happen).
    pub fn json(&self) -> Option<Value> {
        match self {
            GatewayReply::Complete { body, .. } => serde_json::from_slice(body).ok(),
            GatewayReply::Stream { .. } => None,
        }
    }
}

/// An upstream's successful answer, before it is recorded.
enum Forwarded {
    Complete {
        route: Arc<Route>,
        body: Bytes,
        usage: Usage,
        permit: CallPermit,
    },
    Stream {
        route: Arc<Route>,
        response: Box<UpstreamResponse>,
        rewriter: Box<StreamRewriter>,
        permit: CallPermit,
    },
}

impl App {
    /// The models this key reaches now, by their names at the gateway, as `GET /gateway/v1/models` lists them.
    pub async fn gateway_models(&self, key: &GatewayKey<'_>) -> Result<Value, GatewayError> {
        let grant = self.gateway_grant(key).await?;
        let reachable = grant.reachable(self.clock.now())?;
        let created = grant.notice.filed_at.timestamp();
        let data: Vec<Value> = reachable
            .iter()
            .map(|r| json!({"id": r.model, "object": "model", "created": created, "owned_by": grant.notice.developer_name}))
            .collect();
        Ok(json!({"object": "list", "data": data}))
    }

    /// A call: authorised, limited, relayed, scrubbed, metered. Every call that presents a valid key is
    /// recorded, refused or not. The one entry to the upstream, for `/gateway/v1` and in-process callers alike.
    pub async fn gateway_call(
        &self,
        key: &GatewayKey<'_>,
        request: GatewayRequest,
    ) -> Result<GatewayReply, GatewayError> {
        let (style, body) = request.into_body();
        // What `/gateway/v1` refuses before it reads a token, so is every caller.
        if body.len() > GATEWAY_BODY_LIMIT {
            return Err(GatewayError::body_too_large(GATEWAY_BODY_LIMIT));
        }
        let grant = self.gateway_grant(key).await?;
        let mut log = CallLog::new(&grant, style, self.clock.now(), body.clone());
        match self.forward(&grant, style, &body, &mut log).await {
            Ok(Forwarded::Complete {
                route,
                body,
                usage,
                permit,
            }) => {
                self.charge(&grant, &route, usage);
                log.finish(200, None, usage, None);
                let copy = ResponseCopy::new(log.retention).map(|mut copy| {
                    copy.add(&body);
                    copy
                });
                let transcript = log.transcript(copy, self.gateway.secret_box.as_ref());
                let call_id = log.call.id;
                let recorded = self.record_call(log.call, transcript);
                drop(permit);
                if recorded {
                    Ok(GatewayReply::Complete { call_id, body, usage })
                } else {
                    Err(GatewayError::metering_failed())
                }
            }
            Ok(Forwarded::Stream {
                route,
                response,
                rewriter,
                permit,
            }) => {
                let call_id = log.call.id;
                let relay = Relay {
                    app: self.clone(),
                    grant,
                    route,
                    style,
                    response,
                    rewriter,
                    copy: ResponseCopy::new(log.retention),
                    log: Some(log),
                    _permit: permit,
                    pending: VecDeque::new(),
                    done: false,
                    ttft_ms: None,
                };
                let events = futures_util::stream::unfold(relay, |mut relay| async move {
                    relay.next().await.map(|bytes| (Ok(bytes), relay))
                });
                Ok(GatewayReply::Stream {
                    call_id,
                    events: Box::pin(events),
                })
            }
            Err(error) => {
                log.finish(error.status, Some(error.code), Usage::default(), None);
                if !self.record_call(log.call, None) {
                    return Err(GatewayError::metering_failed());
                }
                Err(error)
            }
        }
    }

    pub(super) fn charge(&self, grant: &Grant, route: &Route, usage: Usage) {
        self.charge_call(&grant.token, route, usage.total());
    }

    async fn forward(
        &self,
        grant: &Grant,
        style: ApiStyle,
        body: &[u8],
        log: &mut CallLog,
    ) -> Result<Forwarded, GatewayError> {
        let request = CallRequest::parse(body)?;
        let now = self.clock.now();
        let route = grant.route(&request.model, now)?;
        log.routed(&route, request.stream);
        if route.style != style {
            return Err(GatewayError::wrong_style(route.style));
        }
        let permit = self.admit_call(&grant.token, &route).await?;
        let upstream_body = request.upstream_body(style, &route.target.upstream_model);
        let response = self.gateway.upstream.send(&route.target, upstream_body).await?;
        let status = response.status();
        if !(200..300).contains(&status) {
            let retry_after = response.retry_after();
            let bytes = response.error_body().await;
            return Err(map_status(status, retry_after, &bytes, route.target.scrubber()));
        }
        if request.stream {
            let rewriter = request.rewriter(
                style,
                &route.model,
                route.target.scrubber().clone(),
                route.target.limits,
            );
            return Ok(Forwarded::Stream {
                route,
                response: Box::new(response),
                rewriter: Box::new(rewriter),
                permit,
            });
        }
        // At most the connection's limit is read: past it the call ends here, recorded, with no transcript.
        let bytes = response.body().await.map_err(|e| e.error())?;
        let (body, usage) = rewrite_response(&bytes, &route.model, route.target.scrubber())?;
        Ok(Forwarded::Complete {
            route,
            body,
            usage,
            permit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(chat: ChatRequest) -> Value {
        let (_, bytes) = GatewayRequest::Chat(chat).into_body();
        serde_json::from_slice(&bytes).unwrap_or_default()
    }

    #[test]
    fn a_typed_chat_becomes_the_body_a_client_of_its_style_sends() {
        let mut chat = ChatRequest::new(ApiStyle::OpenAi, "orion-1.0", "hi");
        chat.messages
            .insert(0, ChatMessage::text(Role::System, "be brief"));
        let plain = chat.clone();
        chat.stream = true;
        chat.max_tokens = Some(64);
        chat.temperature = Some(0.5);
        chat.extra
            .insert("model".into(), json!("overridden by the typed field"));
        chat.extra.insert("stop".into(), json!(["\n"]));
        let anthropic = ChatRequest {
            style: ApiStyle::Anthropic,
            ..chat.clone()
        };
        let mut two_systems = anthropic.clone();
        two_systems.messages.insert(
            1,
            ChatMessage {
                role: Role::System,
                content: json!([{"type": "text", "text": "cite"}]),
            },
        );
        let cases = [
            (
                "OpenAI, nothing optional set",
                plain,
                json!({"model": "orion-1.0", "messages": [
                    {"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]}),
            ),
            (
                "OpenAI, everything set",
                chat,
                json!({"model": "orion-1.0", "stream": true, "max_tokens": 64, "temperature": 0.5,
                       "stop": ["\n"], "messages": [
                    {"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]}),
            ),
            (
                "Anthropic: the system message is the system field",
                anthropic,
                json!({"model": "orion-1.0", "stream": true, "max_tokens": 64, "temperature": 0.5,
                       "stop": ["\n"], "system": "be brief", "messages": [{"role": "user", "content": "hi"}]}),
            ),
            (
                "Anthropic: system messages that are not all text become blocks, in order",
                two_systems,
                json!({"model": "orion-1.0", "stream": true, "max_tokens": 64, "temperature": 0.5,
                       "stop": ["\n"], "system": [{"type": "text", "text": "be brief"},
                                                  {"type": "text", "text": "cite"}],
                       "messages": [{"role": "user", "content": "hi"}]}),
            ),
        ];
        for (case, chat, expected) in cases {
            assert_eq!(body(chat), expected, "{case}");
        }
    }

    #[test]
    fn a_client_body_passes_as_it_came() {
        let sent = Bytes::from_static(b"{\"model\": \"m\", \"x\": [1]}");
        let (style, body) = GatewayRequest::Body {
            style: ApiStyle::Anthropic,
            body: sent.clone(),
        }
        .into_body();
        assert_eq!((style, body), (ApiStyle::Anthropic, sent));
    }
}
