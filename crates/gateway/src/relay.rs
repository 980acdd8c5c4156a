//! What the relay does to the bytes in between: the request's model name becomes the upstream's, the
//! response's becomes the evaluator's again, usage is read on the way, and the developer's secrets and
//! anything that would name the upstream are removed (`scrub`). Streams are cut into server-sent events as
//! they arrive (`sse`) and each one is forwarded as soon as it is complete; only an event's own bytes, and the
//! end of a text that could begin a secret, are ever held. A response, an event or a stream larger than the
//! connection allows ends the call with `upstream_response_too_large`.

use crate::error::GatewayError;
use crate::scrub::{Scrubber, Tails};
use crate::settings::{ApiStyle, ResponseLimits};
use crate::sse::{SseEvent, SseParser};
use crate::transcode;
use bytes::Bytes;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// Tokens a call used, as the upstream reported them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
}

impl Usage {
    pub fn total(&self) -> u64 {
        self.input_tokens.unwrap_or(0) + self.output_tokens.unwrap_or(0)
    }

    /// Reads a `usage` object of either style, keeping what was already known.
    fn read(&mut self, usage: &Value) {
        let field = |names: &[&str]| names.iter().find_map(|n| usage.get(*n).and_then(Value::as_u64));
        if let Some(n) = field(&["prompt_tokens", "input_tokens"]) {
            self.input_tokens = Some(n);
        }
        if let Some(n) = field(&["completion_tokens", "output_tokens"]) {
            self.output_tokens = Some(n);
        }
    }
}

/// A call's body as the evaluator sent it, read far enough to route it.
#[derive(Debug, Clone)]
pub struct CallRequest {
    body: Map<String, Value>,
    /// The model the evaluator named.
    pub model: String,
    pub stream: bool,
    /// Whether the evaluator asked for the usage chunk at the end of an OpenAI stream.
    client_wants_usage: bool,
}

impl CallRequest {
    pub fn parse(bytes: &[u8]) -> Result<Self, GatewayError> {
        let body: Map<String, Value> = serde_json::from_slice(bytes)
            .map_err(|e| GatewayError::invalid_body(format!("the body is not a JSON object: {e}")))?;
        let model = match body.get("model") {
            Some(Value::String(model)) => model.clone(),
            _ => return Err(GatewayError::invalid_body("'model' must name a model (a string)")),
        };
        let stream = match body.get("stream") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(stream)) => *stream,
            Some(_) => return Err(GatewayError::invalid_body("'stream' must be true or false")),
        };
        let client_wants_usage = body
            .get("stream_options")
            .and_then(|o| o.get("include_usage"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        Ok(CallRequest {
            body,
            model,
            stream,
            client_wants_usage,
        })
    }

    /// The body to send upstream: the upstream's model id, and for OpenAI streams a request for the usage chunk
    /// (the gateway meters it; `StreamRewriter` drops it again unless the evaluator asked for it).
    pub fn upstream_body(&self, style: ApiStyle, upstream_model: &str) -> Vec<u8> {
        let mut body = self.body.clone();
        body.insert("model".into(), Value::String(upstream_model.to_owned()));
        if style == ApiStyle::OpenAi && self.stream {
            let options = body
                .entry("stream_options")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(options) = options {
                options.insert("include_usage".into(), Value::Bool(true));
            } else {
                *options = serde_json::json!({"include_usage": true});
            }
        }
        serde_json::to_vec(&Value::Object(body)).unwrap_or_default()
    }

    pub fn rewriter(
        &self,
        style: ApiStyle,
        alias: &str,
        scrubber: Arc<Scrubber>,
        limits: ResponseLimits,
    ) -> StreamRewriter {
        StreamRewriter {
            style,
            alias: alias.to_owned(),
            client_wants_usage: self.client_wants_usage,
            scrubber,
            limits,
            received: 0,
            stopped: false,
            usage: Usage::default(),
            parser: SseParser::new(usize::try_from(limits.max_event_bytes).unwrap_or(usize::MAX)),
            tails: Tails::default(),
            envelope: Map::new(),
            saw_content: false,
        }
    }
}

/// Names the evaluator's model in a response object and removes what would fingerprint the upstream.
fn rename_model(object: &mut Map<String, Value>, alias: &str) {
    if object.contains_key("model") {
        object.insert("model".into(), Value::String(alias.to_owned()));
    }
    object.remove("system_fingerprint");
}

/// Rewrites a complete (non-streamed) JSON response and reads its usage, in one pass over its bytes.
pub fn rewrite_response(
    bytes: &[u8],
    alias: &str,
    scrubber: &Scrubber,
) -> Result<(Bytes, Usage), GatewayError> {
    let (body, usage) = transcode::rewrite_object(bytes, alias, scrubber)
        .ok_or_else(GatewayError::upstream_invalid_response)?;
    Ok((Bytes::from(body), usage))
}

/// The message of an upstream error body, scrubbed; for 4xx errors the evaluator caused (a context too long,
/// a bad parameter), so they can fix their call.
pub fn upstream_error_message(bytes: &[u8], scrubber: &Scrubber) -> Option<String> {
    let value: Value = serde_json::from_slice(bytes).ok()?;
    let message = value
        .get("error")
        .and_then(|e| e.get("message").or(Some(e)))
        .and_then(Value::as_str)
        .or_else(|| value.get("message").and_then(Value::as_str))?;
    // Scrubbed whole, then shortened: cutting first could cut a secret and let its beginning through.
    Some(scrubber.scrub(message).chars().take(2000).collect())
}

/// What to do with one upstream event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Relayed {
    /// Forward these bytes now.
    Forward(Bytes),
    /// Not for the evaluator (a usage chunk they did not ask for).
    Drop,
    /// The stream's last event: forward it only once the call is recorded.
    Last(Bytes),
    /// The upstream sent more than the connection allows: the stream ends with this error.
    Fail(GatewayError),
}

/// One piece of text that clients join across events, whose end may be held back (see `scrub`): a choice's
/// content (OpenAI, by choice and tool call) or a content block's text (Anthropic, by block).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Channel {
    index: u64,
    tool: Option<u64>,
    field: &'static str,
}

/// The text fields of an OpenAI chunk's `delta` that clients join.
const OPENAI_TEXT: [&str; 4] = ["content", "refusal", "reasoning_content", "reasoning"];
/// The text fields of an Anthropic `content_block_delta`, with their delta types.
const ANTHROPIC_TEXT: [(&str, &str); 3] = [
    ("text", "text_delta"),
    ("partial_json", "input_json_delta"),
    ("thinking", "thinking_delta"),
];

/// Rewrites a stream event by event: the evaluator's model name, no secret and no upstream identity, usage
/// collected, the connection's limits on events and on the whole stream kept.
#[derive(Debug)]
pub struct StreamRewriter {
    style: ApiStyle,
    alias: String,
    client_wants_usage: bool,
    scrubber: Arc<Scrubber>,
    limits: ResponseLimits,
    /// Upstream bytes taken so far.
    received: u64,
    /// Past a limit: nothing more is taken.
    stopped: bool,
    pub usage: Usage,
    parser: SseParser,
    tails: Tails<Channel>,
    /// The last OpenAI chunk's `id` and `created`, for a chunk that releases held text.
    envelope: Map<String, Value>,
    saw_content: bool,
}

impl StreamRewriter {
    /// Feeds upstream bytes; returns what to send on, in order. After `Relayed::Last` or `Relayed::Fail`
    /// nothing more comes out.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Relayed> {
        let mut out = Vec::new();
        if self.stopped {
            return out;
        }
        let room = self.limits.max_stream_bytes.saturating_sub(self.received);
        let taken = usize::try_from(room).map_or(chunk, |room| chunk.get(..room).unwrap_or(chunk));
        self.received += taken.len() as u64;
        for event in self.parser.push(taken) {
            self.rewrite(event, &mut out);
            if matches!(out.last(), Some(Relayed::Last(_))) {
                self.stopped = true;
                return out;
            }
        }
        let refusal = if self.parser.too_large() {
            Some(("a stream event", self.limits.max_event_bytes))
        } else if taken.len() < chunk.len() {
            Some(("a stream", self.limits.max_stream_bytes))
        } else {
            None
        };
        if let Some((what, limit)) = refusal {
            self.stopped = true;
            out.push(Relayed::Fail(GatewayError::upstream_response_too_large(
                what, limit,
            )));
        }
        out
    }

    /// True once an event carrying output was forwarded (for time to first token).
    pub fn saw_content(&self) -> bool {
        self.saw_content
    }

    pub fn is_mid_event(&self) -> bool {
        self.parser.is_mid_event()
    }

    fn rewrite(&mut self, event: SseEvent, out: &mut Vec<Relayed>) {
        let name = event.event.map(|n| self.scrubber.scrub(&n).into_owned());
        if self.style == ApiStyle::OpenAi && event.data.trim() == "[DONE]" {
            self.release_openai(out);
            out.push(Relayed::Last(Bytes::from_static(b"data: [DONE]\n\n")));
            return;
        }
        let last = self.style == ApiStyle::Anthropic && name.as_deref() == Some("message_stop");
        let mut value: Value = match serde_json::from_str(&event.data) {
            Ok(value) => value,
            // Not JSON: nothing to rename, but it may still hold a secret or name the upstream.
            Err(_) => {
                let data = Value::String(self.scrubber.scrub(&event.data).into_owned());
                if last {
                    self.release_anthropic(out, |_| true);
                }
                out.push(self.encode(name.as_deref(), &data, last, true));
                return;
            }
        };
        match self.style {
            ApiStyle::OpenAi => {
                if let Value::Object(chunk) = &mut value {
                    if let Some(usage) = chunk.get("usage").filter(|u| !u.is_null()) {
                        self.usage.read(usage);
                    }
                    let choices_empty = chunk
                        .get("choices")
                        .and_then(Value::as_array)
                        .is_some_and(Vec::is_empty);
                    // A chunk without choices (the usage chunk) comes after the text: release what is held.
                    if choices_empty {
                        self.release_openai(out);
                    }
                    if !self.client_wants_usage {
                        if choices_empty && chunk.get("usage").is_some_and(|u| !u.is_null()) {
                            out.push(Relayed::Drop);
                            return;
                        }
                        chunk.remove("usage");
                    }
                    if !choices_empty && chunk.contains_key("choices") {
                        self.saw_content = true;
                    }
                    rename_model(chunk, &self.alias);
                    for key in ["id", "created"] {
                        if let Some(v) = chunk.get(key) {
                            self.envelope.insert(key.into(), v.clone());
                        }
                    }
                    self.pass_openai(chunk);
                }
            }
            ApiStyle::Anthropic => {
                if let Some(message) = value.get_mut("message").and_then(Value::as_object_mut) {
                    rename_model(message, &self.alias);
                    if let Some(usage) = message.get("usage") {
                        self.usage.read(usage);
                    }
                }
                if let Some(usage) = value.get("usage") {
                    self.usage.read(usage);
                }
                let index = value.get("index").and_then(Value::as_u64).unwrap_or(0);
                match name.as_deref() {
                    Some("content_block_delta") => {
                        self.saw_content = true;
                        self.pass_anthropic(&mut value, index);
                    }
                    // A block's text ends with the block; anything still held goes out before the message ends.
                    Some("content_block_stop") => self.release_anthropic(out, |c| c.index == index),
                    Some("message_delta" | "message_stop" | "error") => self.release_anthropic(out, |_| true),
                    _ => {}
                }
            }
        }
        self.scrubber.scrub_value(&mut value);
        out.push(self.encode(name.as_deref(), &value, last, false));
    }

    /// Passes the joined text of an OpenAI chunk's choices through their channels; a finished choice releases
    /// what was held of it into its last delta.
    fn pass_openai(&mut self, chunk: &mut Map<String, Value>) {
        let Some(Value::Array(choices)) = chunk.get_mut("choices") else {
            return;
        };
        for (position, choice) in choices.iter_mut().enumerate() {
            let Some(choice) = choice.as_object_mut() else {
                continue;
            };
            let index = choice
                .get("index")
                .and_then(Value::as_u64)
                .unwrap_or(position as u64);
            if let Some(Value::Object(delta)) = choice.get_mut("delta") {
                for field in OPENAI_TEXT {
                    if let Some(Value::String(text)) = delta.get_mut(field) {
                        let channel = Channel {
                            index,
                            tool: None,
                            field,
                        };
                        *text = self.tails.pass(&self.scrubber, &channel, text);
                    }
                }
                if let Some(Value::Array(calls)) = delta.get_mut("tool_calls") {
                    for (position, call) in calls.iter_mut().enumerate() {
                        let tool = call
                            .get("index")
                            .and_then(Value::as_u64)
                            .unwrap_or(position as u64);
                        let arguments = call.get_mut("function").and_then(|f| f.get_mut("arguments"));
                        if let Some(Value::String(text)) = arguments {
                            let channel = Channel {
                                index,
                                tool: Some(tool),
                                field: "arguments",
                            };
                            *text = self.tails.pass(&self.scrubber, &channel, text);
                        }
                    }
                }
            }
            if choice.get("finish_reason").is_some_and(|f| !f.is_null()) {
                let held = self.tails.take_where(|c| c.index == index);
                if !held.is_empty() {
                    let delta = choice.entry("delta").or_insert_with(|| json!({}));
                    if !delta.is_object() {
                        *delta = json!({});
                    }
                    if let Value::Object(delta) = delta {
                        for (channel, text) in held {
                            append_openai(delta, &channel, text);
                        }
                    }
                }
            }
        }
    }

    /// Releases everything held, as chunks of their own (the stream ends without finishing its choices).
    fn release_openai(&mut self, out: &mut Vec<Relayed>) {
        while let Some(index) = self.tails.first().map(|c| c.index) {
            let mut delta = Map::new();
            for (channel, text) in self.tails.take_where(|c| c.index == index) {
                append_openai(&mut delta, &channel, text);
            }
            let mut chunk = self.envelope.clone();
            chunk.insert("object".into(), json!("chat.completion.chunk"));
            chunk.insert("model".into(), json!(self.alias));
            chunk.insert(
                "choices".into(),
                json!([{"index": index, "delta": delta, "finish_reason": null}]),
            );
            let mut chunk = Value::Object(chunk);
            self.scrubber.scrub_value(&mut chunk);
            out.push(self.encode(None, &chunk, false, false));
        }
    }

    fn pass_anthropic(&mut self, value: &mut Value, index: u64) {
        let Some(delta) = value.get_mut("delta").and_then(Value::as_object_mut) else {
            return;
        };
        for (field, _) in ANTHROPIC_TEXT {
            if let Some(Value::String(text)) = delta.get_mut(field) {
                let channel = Channel {
                    index,
                    tool: None,
                    field,
                };
                *text = self.tails.pass(&self.scrubber, &channel, text);
            }
        }
    }

    /// Releases what is held of the picked blocks, as deltas of their own, before the event that ends them.
    fn release_anthropic(&mut self, out: &mut Vec<Relayed>, pick: impl Fn(&Channel) -> bool) {
        for (channel, text) in self.tails.take_where(pick) {
            let kind = ANTHROPIC_TEXT
                .iter()
                .find(|(field, _)| *field == channel.field)
                .map_or("text_delta", |(_, kind)| *kind);
            let mut delta = Map::new();
            delta.insert("type".into(), json!(kind));
            delta.insert(channel.field.into(), Value::String(text));
            let mut event = json!({"type": "content_block_delta", "index": channel.index, "delta": delta});
            self.scrubber.scrub_value(&mut event);
            out.push(self.encode(Some("content_block_delta"), &event, false, false));
        }
    }

    fn encode(&self, name: Option<&str>, value: &Value, last: bool, raw: bool) -> Relayed {
        let data = match (raw, value) {
            (true, Value::String(text)) => text.clone(),
            _ => serde_json::to_string(value).unwrap_or_default(),
        };
        let mut out = String::with_capacity(data.len() + 32);
        if let Some(name) = name {
            out.push_str("event: ");
            out.push_str(name);
            out.push('\n');
        }
        for line in data.split('\n') {
            out.push_str("data: ");
            out.push_str(line);
            out.push('\n');
        }
        out.push('\n');
        let bytes = Bytes::from(out);
        if last {
            Relayed::Last(bytes)
        } else {
            Relayed::Forward(bytes)
        }
    }
}

/// Appends released text to an OpenAI delta, in the field (or the tool call) it was held from.
fn append_openai(delta: &mut Map<String, Value>, channel: &Channel, text: String) {
    let Some(tool) = channel.tool else {
        match delta.get_mut(channel.field) {
            Some(Value::String(existing)) => existing.push_str(&text),
            _ => {
                delta.insert(channel.field.into(), Value::String(text));
            }
        }
        return;
    };
    let calls = delta
        .entry("tool_calls")
        .or_insert_with(|| Value::Array(Vec::new()));
    if !calls.is_array() {
        *calls = Value::Array(Vec::new());
    }
    let Value::Array(calls) = calls else {
        return;
    };
    let call = calls
        .iter_mut()
        .find(|c| c.get("index").and_then(Value::as_u64) == Some(tool));
    match call
        .and_then(|c| c.get_mut("function"))
        .and_then(Value::as_object_mut)
    {
        Some(function) => match function.get_mut("arguments") {
            Some(Value::String(existing)) => existing.push_str(&text),
            _ => {
                function.insert("arguments".into(), Value::String(text));
            }
        },
        None => calls.push(json!({"index": tool, "function": {"arguments": text}})),
    }
}

/// An error told inside a stream whose headers were already sent, in the stream's style.
pub fn stream_error(style: ApiStyle, error: &GatewayError) -> Bytes {
    let body = serde_json::to_string(&error.body(style)).unwrap_or_default();
    match style {
        ApiStyle::OpenAi => Bytes::from(format!("data: {body}\n\n")),
        ApiStyle::Anthropic => Bytes::from(format!("event: error\ndata: {body}\n\n")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CREDENTIAL: &str = "sk-lab-Credential-0042";
    const HEADER: &str = "org-Hidden-Team-7";

    fn scrubber() -> Arc<Scrubber> {
        Arc::new(
            Scrubber::new(
                "secret-model-7",
                "https://api.secret-lab.example/v1",
                "/chat/completions",
                &[CREDENTIAL, HEADER],
            )
            .unwrap(),
        )
    }

    fn rewriter(style: ApiStyle, body: &[u8], limits: ResponseLimits) -> StreamRewriter {
        CallRequest::parse(body)
            .unwrap()
            .rewriter(style, "orion-1.0", scrubber(), limits)
    }

    fn forwarded(out: &[Relayed]) -> String {
        out.iter()
            .map(|r| match r {
                Relayed::Forward(b) | Relayed::Last(b) => String::from_utf8(b.to_vec()).unwrap(),
                _ => String::new(),
            })
            .collect()
    }

    /// The values of one field across a stream's events, joined as a client joins them.
    fn joined(stream: &str, pointer: &str) -> String {
        stream
            .split("\n\n")
            .filter_map(|e| e.lines().find_map(|l| l.strip_prefix("data: ")))
            .filter_map(|d| serde_json::from_str::<Value>(d).ok())
            .filter_map(|v| v.pointer(pointer).and_then(Value::as_str).map(str::to_owned))
            .collect()
    }

    fn assert_clean(what: &str, text: &str) {
        let lower = text.to_ascii_lowercase();
        for needle in [CREDENTIAL, HEADER, "secret-model-7", "secret-lab"] {
            assert!(
                !lower.contains(&needle.to_ascii_lowercase()),
                "{what} holds {needle}: {text}"
            );
        }
    }

    #[test]
    fn requests_get_the_upstream_model_and_ask_for_usage() {
        let request = CallRequest::parse(
            br#"{"model": "orion-1.0", "stream": true, "messages": [], "tools": [{"type": "function"}]}"#,
        )
        .unwrap();
        assert_eq!(request.model, "orion-1.0");
        assert!(request.stream);
        let body: Value =
            serde_json::from_slice(&request.upstream_body(ApiStyle::OpenAi, "secret-model-7")).unwrap();
        assert_eq!(body["model"], "secret-model-7");
        assert_eq!(body["stream_options"]["include_usage"], true);
        assert_eq!(
            body["tools"][0]["type"], "function",
            "everything else passes through"
        );
        for bad in [
            &b"[]"[..],
            b"{}",
            br#"{"model": 3}"#,
            br#"{"model": "m", "stream": "yes"}"#,
            b"nope",
        ] {
            assert_eq!(CallRequest::parse(bad).unwrap_err().status, 400);
        }
    }

    #[test]
    fn responses_are_renamed_scrubbed_and_metered() {
        let upstream = json!({
            "id": "x", "model": "secret-model-7", "system_fingerprint": "fp_secret",
            "choices": [{"message": {"content": "served by https://api.secret-lab.example/v1"}}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 7},
        });
        let (bytes, usage) =
            rewrite_response(&serde_json::to_vec(&upstream).unwrap(), "orion-1.0", &scrubber()).unwrap();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        assert!(!text.contains("secret"), "{text}");
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["model"], "orion-1.0");
        assert_eq!(
            usage,
            Usage {
                input_tokens: Some(5),
                output_tokens: Some(7)
            }
        );
    }

    #[test]
    fn openai_streams_keep_order_drop_the_unrequested_usage_and_hold_done() {
        let mut rewriter = rewriter(
            ApiStyle::OpenAi,
            br#"{"model": "orion-1.0", "stream": true}"#,
            ResponseLimits::default(),
        );
        let upstream = concat!(
            "data: {\"model\":\"secret-model-7\",\"choices\":[{\"delta\":{\"content\":\"a\"}}],\"usage\":null}\n\n",
            "data: {\"model\":\"secret-model-7\",\"choices\":[{\"delta\":{\"content\":\"b\"}}],\"usage\":null}\n\n",
            "data: {\"model\":\"secret-model-7\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}\n\n",
            "data: [DONE]\n\n",
        );
        let out = rewriter.push(upstream.as_bytes());
        assert_eq!(out.len(), 4);
        let forwarded: Vec<String> = out
            .iter()
            .filter_map(|r| match r {
                Relayed::Forward(b) => Some(String::from_utf8(b.to_vec()).unwrap()),
                _ => None,
            })
            .collect();
        assert_eq!(forwarded.len(), 2);
        // "a" could begin the upstream's host name, so it waits for the next piece of the content.
        assert!(forwarded[0].contains("\"content\":\"\"") && forwarded[1].contains("\"content\":\"ab\""));
        assert!(
            forwarded
                .iter()
                .all(|f| f.contains("orion-1.0") && !f.contains("secret") && !f.contains("usage"))
        );
        assert_eq!(out[2], Relayed::Drop);
        assert_eq!(out[3], Relayed::Last(Bytes::from_static(b"data: [DONE]\n\n")));
        assert_eq!(rewriter.usage.total(), 5);
        assert!(rewriter.saw_content());
    }

    #[test]
    fn anthropic_streams_are_renamed_and_metered() {
        let mut rewriter = rewriter(
            ApiStyle::Anthropic,
            br#"{"model": "orion-1.0", "stream": true, "max_tokens": 5}"#,
            ResponseLimits::default(),
        );
        let upstream = concat!(
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"secret-model-7\",\"usage\":{\"input_tokens\":4,\"output_tokens\":1}}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"hi\"}}\n\n",
            "event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":6}}\n\n",
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
        );
        let out = rewriter.push(upstream.as_bytes());
        assert_eq!(out.len(), 4);
        let Relayed::Forward(first) = &out[0] else {
            panic!()
        };
        let first = String::from_utf8(first.to_vec()).unwrap();
        assert!(first.starts_with("event: message_start\ndata: "));
        assert!(first.contains("orion-1.0") && !first.contains("secret"));
        assert!(matches!(out[3], Relayed::Last(_)));
        assert_eq!(
            rewriter.usage,
            Usage {
                input_tokens: Some(4),
                output_tokens: Some(6)
            }
        );
    }

    #[test]
    fn upstream_error_messages_lose_the_upstream_identity() {
        let body = br#"{"error": {"message": "secret-model-7 at https://api.secret-lab.example/v1: context too long"}}"#;
        let message = upstream_error_message(body, &scrubber()).unwrap();
        assert_eq!(message, "[upstream] at [upstream]: context too long");
        assert_eq!(upstream_error_message(b"<html>", &scrubber()), None);
        // A secret at the cut is removed before the message is shortened, not cut in two.
        let long = format!("{}{}", "x".repeat(1995), CREDENTIAL.to_ascii_uppercase());
        let body = serde_json::to_vec(&json!({"error": {"message": long}})).unwrap();
        let message = upstream_error_message(&body, &scrubber()).unwrap();
        assert_eq!(message.chars().count(), 2000);
        assert!(message.ends_with("x[reda"), "{message}");
        let echo = format!(
            "auth: Bearer {CREDENTIAL}, x-org: {}",
            HEADER.to_ascii_lowercase()
        );
        let body = serde_json::to_vec(&json!({"message": echo})).unwrap();
        let message = upstream_error_message(&body, &scrubber()).unwrap();
        assert_eq!(message, "auth: Bearer [redacted], x-org: [redacted]");
    }

    /// A secret streamed a few characters per event, as a model streams, is caught once the pieces are
    /// joined: in a choice's content, in a tool call's arguments, and whatever the case.
    #[test]
    fn a_secret_split_across_openai_events_is_caught() {
        let text = format!(
            "the key is Bearer {} and the org {}.",
            CREDENTIAL.to_ascii_uppercase(),
            HEADER
        );
        let arguments = format!("{{\"key\": \"{CREDENTIAL}\"}}");
        let mut upstream = String::new();
        for piece in text.as_bytes().chunks(3) {
            let piece = std::str::from_utf8(piece).unwrap();
            let chunk = json!({"id": "c1", "created": 1, "model": "secret-model-7",
                "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": null}]});
            upstream.push_str(&format!("data: {chunk}\n\n"));
        }
        for piece in arguments.as_bytes().chunks(4) {
            let piece = std::str::from_utf8(piece).unwrap();
            let chunk = json!({"id": "c1", "model": "secret-model-7", "choices": [{"index": 0,
                "delta": {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}, "finish_reason": null}]});
            upstream.push_str(&format!("data: {chunk}\n\n"));
        }
        // The secret's first characters end the text: held until the finish releases them.
        let chunk = json!({"id": "c1", "model": "m", "choices": [{"index": 0, "delta": {"content": " sk-l"},
            "finish_reason": null}]});
        upstream.push_str(&format!("data: {chunk}\n\n"));
        let chunk = json!({"id": "c1", "model": "m", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]});
        upstream.push_str(&format!("data: {chunk}\n\ndata: [DONE]\n\n"));

        // However the bytes are cut into chunks, the evaluator gets the same text.
        for size in [1, 7, 64, upstream.len()] {
            let mut rewriter = rewriter(
                ApiStyle::OpenAi,
                br#"{"model": "orion-1.0", "stream": true}"#,
                ResponseLimits::default(),
            );
            let out: Vec<Relayed> = upstream
                .as_bytes()
                .chunks(size)
                .flat_map(|c| rewriter.push(c))
                .collect();
            let stream = forwarded(&out);
            assert_clean("the stream", &stream);
            let content = joined(&stream, "/choices/0/delta/content");
            assert_eq!(
                content, "the key is Bearer [redacted] and the org [redacted]. sk-l",
                "chunks of {size}"
            );
            let arguments = joined(&stream, "/choices/0/delta/tool_calls/0/function/arguments");
            assert_eq!(arguments, "{\"key\": \"[redacted]\"}");
            assert!(stream.ends_with("data: [DONE]\n\n"));
        }
    }

    #[test]
    fn text_still_held_when_an_openai_stream_ends_is_released_before_done() {
        let mut rewriter = rewriter(
            ApiStyle::OpenAi,
            br#"{"model": "orion-1.0", "stream": true}"#,
            ResponseLimits::default(),
        );
        let out = rewriter.push(
            b"data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ask\"}}]}\n\ndata: [DONE]\n\n",
        );
        assert_eq!(out.len(), 3, "{out:?}");
        let stream = forwarded(&out);
        assert_eq!(joined(&stream, "/choices/0/delta/content"), "ask");
        assert!(matches!(out.last(), Some(Relayed::Last(_))));
    }

    #[test]
    fn a_secret_split_across_anthropic_events_is_caught() {
        let mut upstream = String::from(
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"secret-model-7\"}}\n\n",
        );
        let text = format!(
            "echo: x-api-key: {CREDENTIAL} org {}",
            HEADER.to_ascii_lowercase()
        );
        for piece in text.as_bytes().chunks(5) {
            let piece = std::str::from_utf8(piece).unwrap();
            let delta = json!({"type": "content_block_delta", "index": 0,
                "delta": {"type": "text_delta", "text": piece}});
            upstream.push_str(&format!("event: content_block_delta\ndata: {delta}\n\n"));
        }
        let delta = json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": " SK-"}});
        upstream.push_str(&format!("event: content_block_delta\ndata: {delta}\n\n"));
        upstream
            .push_str("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n");
        upstream.push_str("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
        let mut rewriter = rewriter(
            ApiStyle::Anthropic,
            br#"{"model": "orion-1.0", "stream": true}"#,
            ResponseLimits::default(),
        );
        let out = rewriter.push(upstream.as_bytes());
        let stream = forwarded(&out);
        assert_clean("the stream", &stream);
        assert_eq!(
            joined(&stream, "/delta/text"),
            "echo: x-api-key: [redacted] org [redacted] SK-"
        );
        let stop = stream.find("content_block_stop").unwrap();
        assert!(
            stream.rfind("text_delta").unwrap() < stop,
            "released before the block ends"
        );
        assert!(matches!(out.last(), Some(Relayed::Last(_))));
    }

    #[test]
    fn event_names_keys_and_other_fields_are_scrubbed_too() {
        let mut rewriter = rewriter(
            ApiStyle::Anthropic,
            br#"{"model": "orion-1.0", "stream": true}"#,
            ResponseLimits::default(),
        );
        let upstream = format!(
            "event: {HEADER}\ndata: {{\"{CREDENTIAL}\": \"via https://api.secret-lab.example/v1\"}}\n\n\
             event: error\ndata: not json {CREDENTIAL}\n\n"
        );
        let stream = forwarded(&rewriter.push(upstream.as_bytes()));
        assert_clean("the stream", &stream);
        assert!(
            stream.contains("event: [redacted]\ndata: {\"[redacted]\":\"via [upstream]\"}"),
            "{stream}"
        );
        assert!(stream.contains("data: not json [redacted]"), "{stream}");
    }

    #[test]
    fn events_and_streams_over_the_limits_end_the_stream() {
        let limits = ResponseLimits {
            max_event_bytes: 100,
            max_stream_bytes: 300,
            ..ResponseLimits::default()
        };
        let event = |n: usize| {
            format!(
                "data: {{\"choices\":[{{\"delta\":{{\"content\":\"{}\"}}}}]}}\n\n",
                "x".repeat(n)
            )
        };
        let body = br#"{"model": "orion-1.0", "stream": true}"#;

        // One event over 100 bytes: the events before it go, then the error.
        let mut r = rewriter(ApiStyle::OpenAi, body, limits);
        let out = r.push(format!("{}{}", event(10), event(100)).as_bytes());
        assert_eq!(out.len(), 2, "{out:?}");
        let Relayed::Fail(error) = &out[1] else {
            panic!("{out:?}")
        };
        assert_eq!((error.status, error.code), (502, "upstream_response_too_large"));
        assert!(
            error.message.contains("a stream event larger than the 100 bytes"),
            "{}",
            error.message
        );
        assert!(
            r.push(event(1).as_bytes()).is_empty(),
            "nothing after the refusal"
        );

        // Small events past 300 bytes in all: refused at the 300th byte.
        let mut r = rewriter(ApiStyle::OpenAi, body, limits);
        let mut out = Vec::new();
        for _ in 0..10 {
            out.extend(r.push(event(20).as_bytes()));
        }
        let Some(Relayed::Fail(error)) = out.last() else {
            panic!("{out:?}")
        };
        assert!(
            error.message.contains("a stream larger than the 300 bytes"),
            "{}",
            error.message
        );
        assert_eq!(
            out.iter().filter(|o| matches!(o, Relayed::Forward(_))).count(),
            300 / event(20).len()
        );
        assert_eq!(r.received, 300);

        // A stream that ends exactly at the limit is whole.
        let done = "data: [DONE]\n\n";
        let limits = ResponseLimits {
            max_stream_bytes: (event(20).len() + done.len()) as u64,
            ..limits
        };
        let mut r = rewriter(ApiStyle::OpenAi, body, limits);
        let out = r.push(format!("{}{done}", event(20)).as_bytes());
        assert!(matches!(out.last(), Some(Relayed::Last(_))), "{out:?}");
    }

    #[test]
    fn whole_responses_are_refused_unless_one_object() {
        for bad in [
            &b"[1]"[..],
            b"\"text\"",
            b"3",
            b"null",
            b"{\"a\": 1} trailing",
            b"{\"a\": ",
            b"",
        ] {
            assert_eq!(
                rewrite_response(bad, "orion-1.0", &scrubber()).unwrap_err().code,
                "upstream_invalid_response",
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        // Nesting is bounded by the parser's depth limit, not by the stack.
        let deep = format!("{{\"a\": {}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(
            rewrite_response(deep.as_bytes(), "orion-1.0", &scrubber())
                .unwrap_err()
                .code,
            "upstream_invalid_response"
        );
    }

    /// The rewriting as it was first written, over a whole `Value`: the reference the one-pass rewriting
    /// must agree with.
    fn reference(value: &Value, scrubber: &Scrubber) -> (Value, Usage) {
        let mut value = value.clone();
        let mut usage = Usage::default();
        if let Value::Object(object) = &mut value {
            rename_model(object, "orion-1.0");
            if let Some(u) = object.get("usage") {
                usage.read(u);
            }
        }
        scrubber.scrub_value(&mut value);
        (value, usage)
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let text = prop_oneof![
            "[a-zA-Z0-9 ._:/-]{0,16}",
            Just(CREDENTIAL.to_owned()),
            Just(format!("Bearer {}", CREDENTIAL.to_ascii_lowercase())),
            Just(HEADER.to_ascii_uppercase()),
            Just("https://api.secret-lab.example/v1/chat/completions".to_owned()),
            Just("é \" \\ \n \u{1F600}".to_owned()),
        ];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            (-1e9f64..1e9).prop_map(Value::from),
            text.clone().prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, move |inner| {
            let key = prop_oneof![
                text.clone(),
                Just("model".to_owned()),
                Just("usage".to_owned()),
                Just("prompt_tokens".to_owned()),
                Just("output_tokens".to_owned()),
            ];
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
                proptest::collection::btree_map(key, inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn response() -> impl Strategy<Value = Value> {
        (
            json_value(),
            proptest::option::of((any::<u32>(), any::<u32>(), any::<bool>())),
            proptest::collection::btree_map("[a-z_]{1,8}|system_fingerprint|model", json_value(), 0..5),
        )
            .prop_map(|(content, usage, extra)| {
                let mut object: Map<String, Value> = extra.into_iter().collect();
                object.insert("choices".into(), json!([{"message": {"content": content}}]));
                if let Some((input, output, anthropic)) = usage {
                    let usage = if anthropic {
                        json!({"input_tokens": input, "output_tokens": output})
                    } else {
                        json!({"prompt_tokens": input, "completion_tokens": output, "details": {"cached_tokens": 1}})
                    };
                    object.insert("usage".into(), usage);
                }
                Value::Object(object)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// The one-pass rewriting gives what rewriting the whole tree gives, reads the same usage, and lets
        /// no secret or mention of the upstream through, in keys or values, whatever their case.
        #[test]
        fn rewriting_a_response_agrees_with_the_tree_and_hides_the_secrets(upstream in response()) {
            let scrubber = scrubber();
            let bytes = serde_json::to_vec(&upstream).unwrap();
            let (body, usage) = rewrite_response(&bytes, "orion-1.0", &scrubber).unwrap();
            let rewritten: Value = serde_json::from_slice(&body).unwrap();
            // Parsed from the same bytes: reading a float back is not exact to the last bit, either way.
            let (expected, expected_usage) = reference(&serde_json::from_slice(&bytes).unwrap(), &scrubber);
            prop_assert_eq!(&rewritten, &expected);
            prop_assert_eq!(usage, expected_usage);
            let text = String::from_utf8(body.to_vec()).unwrap();
            assert_clean("the response", &text);
            prop_assert!(rewritten.get("system_fingerprint").is_none());
        }

        /// Whatever bytes the upstream sends, the rewriting answers or refuses; it never fails otherwise.
        #[test]
        fn rewriting_any_bytes_answers_or_refuses(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok((body, _)) = rewrite_response(&bytes, "orion-1.0", &scrubber()) {
                prop_assert!(serde_json::from_slice::<Value>(&body).is_ok_and(|v| v.is_object()));
            }
        }
    }
}
