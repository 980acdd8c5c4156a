//! What the relay does to the bytes in between: the request's model name becomes the upstream's, the
//! response's becomes the evaluator's again, usage is read on the way, and anything that would name the
//! upstream is removed. Streams are cut into server-sent events as they arrive and each one is forwarded as
//! soon as it is complete; only an event's own bytes are ever held.

use crate::error::GatewayError;
use crate::settings::ApiStyle;
use bytes::{Bytes, BytesMut};
use serde_json::{Map, Value};

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

    pub fn rewriter(&self, style: ApiStyle, alias: &str, identity: Identity) -> StreamRewriter {
        StreamRewriter {
            style,
            alias: alias.to_owned(),
            client_wants_usage: self.client_wants_usage,
            identity,
            usage: Usage::default(),
            parser: SseParser::default(),
            saw_content: false,
        }
    }
}

/// What names the upstream and must not reach an evaluator: its model id and its address.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    needles: Vec<String>,
}

impl Identity {
    pub fn new(upstream_model: &str, base_url: &str) -> Self {
        let mut needles = vec![base_url.to_owned(), upstream_model.to_owned()];
        if let Ok(url) = reqwest::Url::parse(base_url)
            && let Some(host) = url.host_str()
        {
            needles.push(host.to_owned());
        }
        // Longest first, so a URL is replaced whole before its host is.
        needles.retain(|n| n.len() >= 3);
        needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        needles.dedup();
        Identity { needles }
    }

    /// The text with every mention of the upstream replaced.
    pub fn scrub(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for needle in &self.needles {
            if text.contains(needle.as_str()) {
                text = text.replace(needle.as_str(), "[upstream]");
            }
        }
        text
    }

    fn scrub_value(&self, value: &mut Value) {
        match value {
            Value::String(s) if self.needles.iter().any(|n| s.contains(n.as_str())) => {
                *s = self.scrub(s);
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.scrub_value(v)),
            Value::Object(map) => map.values_mut().for_each(|v| self.scrub_value(v)),
            _ => {}
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

/// Rewrites a complete (non-streamed) JSON response and reads its usage.
pub fn rewrite_response(
    bytes: &[u8],
    alias: &str,
    identity: &Identity,
) -> Result<(Bytes, Usage), GatewayError> {
    let mut value: Value =
        serde_json::from_slice(bytes).map_err(|_| GatewayError::upstream_invalid_response())?;
    let Value::Object(object) = &mut value else {
        return Err(GatewayError::upstream_invalid_response());
    };
    rename_model(object, alias);
    let mut usage = Usage::default();
    if let Some(u) = object.get("usage") {
        usage.read(u);
    }
    identity.scrub_value(&mut value);
    Ok((Bytes::from(serde_json::to_vec(&value).unwrap_or_default()), usage))
}

/// The message of an upstream error body, with the upstream's identity removed; for 4xx errors the evaluator
/// caused (a context too long, a bad parameter), so they can fix their call.
pub fn upstream_error_message(bytes: &[u8], identity: &Identity) -> Option<String> {
    let value: Value = serde_json::from_slice(bytes).ok()?;
    let message = value
        .get("error")
        .and_then(|e| e.get("message").or(Some(e)))
        .and_then(Value::as_str)
        .or_else(|| value.get("message").and_then(Value::as_str))?;
    Some(identity.scrub(&message.chars().take(2000).collect::<String>()))
}

/// One server-sent event: its `event:` name, if any, and its `data:` lines joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    pub event: Option<String>,
    pub data: String,
}

/// Cuts a byte stream into server-sent events. Holds only the bytes of an event not yet complete.
#[derive(Debug, Default)]
pub struct SseParser {
    buffer: BytesMut,
    event: Option<String>,
    data: Vec<String>,
}

impl SseParser {
    /// Feeds bytes; returns the events they completed.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        self.buffer.extend_from_slice(chunk);
        let mut events = Vec::new();
        while let Some(end) = self.buffer.iter().position(|b| *b == b'\n') {
            let line = self.buffer.split_to(end + 1);
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if !self.data.is_empty() || self.event.is_some() {
                    events.push(SseEvent {
                        event: self.event.take(),
                        data: std::mem::take(&mut self.data).join("\n"),
                    });
                }
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "data" => self.data.push(value.to_owned()),
                "event" => self.event = Some(value.to_owned()),
                // Comments (`: keep-alive`), ids and retry hints are not relayed.
                _ => {}
            }
        }
        events
    }

    /// Whether bytes of an unfinished event are held.
    pub fn is_mid_event(&self) -> bool {
        !self.buffer.is_empty() || !self.data.is_empty()
    }
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
}

/// Rewrites a stream event by event: the evaluator's model name, no upstream identity, usage collected.
#[derive(Debug)]
pub struct StreamRewriter {
    style: ApiStyle,
    alias: String,
    client_wants_usage: bool,
    identity: Identity,
    pub usage: Usage,
    parser: SseParser,
    saw_content: bool,
}

impl StreamRewriter {
    /// Feeds upstream bytes; returns what to send on, in order.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Relayed> {
        let events = self.parser.push(chunk);
        events.into_iter().map(|e| self.rewrite(e)).collect()
    }

    /// True once an event carrying output was forwarded (for time to first token).
    pub fn saw_content(&self) -> bool {
        self.saw_content
    }

    pub fn is_mid_event(&self) -> bool {
        self.parser.is_mid_event()
    }

    fn rewrite(&mut self, event: SseEvent) -> Relayed {
        if self.style == ApiStyle::OpenAi && event.data.trim() == "[DONE]" {
            return Relayed::Last(Bytes::from_static(b"data: [DONE]\n\n"));
        }
        let last = self.style == ApiStyle::Anthropic && event.event.as_deref() == Some("message_stop");
        let mut value: Value = match serde_json::from_str(&event.data) {
            Ok(value) => value,
            // Not JSON: nothing to rename, but it may still name the upstream.
            Err(_) => {
                return self.encode(
                    event.event.as_deref(),
                    &Value::String(self.identity.scrub(&event.data)),
                    last,
                    true,
                );
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
                    if !self.client_wants_usage {
                        if choices_empty && chunk.get("usage").is_some_and(|u| !u.is_null()) {
                            return Relayed::Drop;
                        }
                        chunk.remove("usage");
                    }
                    if !choices_empty && chunk.contains_key("choices") {
                        self.saw_content = true;
                    }
                    rename_model(chunk, &self.alias);
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
                if event.event.as_deref() == Some("content_block_delta") {
                    self.saw_content = true;
                }
            }
        }
        self.identity.scrub_value(&mut value);
        self.encode(event.event.as_deref(), &value, last, false)
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
    use serde_json::json;

    fn identity() -> Identity {
        Identity::new("secret-model-7", "https://api.secret-lab.example/v1")
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
            rewrite_response(&serde_json::to_vec(&upstream).unwrap(), "orion-1.0", &identity()).unwrap();
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
    fn sse_events_are_cut_whatever_the_chunking() {
        let stream = b"data: {\"a\":1}\n\n: keep-alive\n\nevent: ping\ndata: {}\n\ndata: [DONE]\n\n";
        for size in [1, 2, 3, 7, stream.len()] {
            let mut parser = SseParser::default();
            let events: Vec<SseEvent> = stream.chunks(size).flat_map(|c| parser.push(c)).collect();
            assert_eq!(events.len(), 3, "chunks of {size}");
            assert_eq!(events[1].event.as_deref(), Some("ping"));
            assert_eq!(events[2].data, "[DONE]");
            assert!(!parser.is_mid_event());
        }
    }

    #[test]
    fn openai_streams_keep_order_drop_the_unrequested_usage_and_hold_done() {
        let request = CallRequest::parse(br#"{"model": "orion-1.0", "stream": true}"#).unwrap();
        let mut rewriter = request.rewriter(ApiStyle::OpenAi, "orion-1.0", identity());
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
        assert!(forwarded[0].contains("\"content\":\"a\"") && forwarded[1].contains("\"content\":\"b\""));
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
        let request =
            CallRequest::parse(br#"{"model": "orion-1.0", "stream": true, "max_tokens": 5}"#).unwrap();
        let mut rewriter = request.rewriter(ApiStyle::Anthropic, "orion-1.0", identity());
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
        let message = upstream_error_message(body, &identity()).unwrap();
        assert_eq!(message, "[upstream] at [upstream]: context too long");
        assert_eq!(upstream_error_message(b"<html>", &identity()), None);
    }
}
