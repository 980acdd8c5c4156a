//! The OpenAI chat-completions wire format, both ways: a [`GenerateRequest`] as the body such an API takes, and
//! its answer (or its error status) as a [`ModelOutput`] (or a [`ModelError`]). Shared by the HTTP client for
//! reference models and the gateway's in-process call API, which speaks the same format.

use crate::model::{GenerateRequest, ModelError, ModelOutput, StopReason, ToolCall, Usage};
use crate::sample::{Message, Role};
use serde_json::{Map, Value, json};
use std::time::Duration;

/// The request body for `model`.
pub fn request_body(model: &str, request: &GenerateRequest) -> Value {
    let messages: Vec<Value> = request.messages.iter().map(message).collect();
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert("messages".into(), Value::Array(messages));
    if !request.tools.is_empty() {
        let tools = request
            .tools
            .iter()
            .map(|t| {
                json!({"type": "function", "function": {
                    "name": t.name, "description": t.description, "parameters": t.parameters}})
            })
            .collect();
        body.insert("tools".into(), tools);
    }
    if let Some(max) = request.max_tokens {
        body.insert("max_tokens".into(), json!(max));
    }
    Value::Object(body)
}

fn message(m: &Message) -> Value {
    let role = match m.role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    };
    let mut out = Map::new();
    out.insert("role".into(), json!(role));
    out.insert("content".into(), m.content.clone());
    if let Some(Value::Array(calls)) = &m.tool_calls {
        // Ours (Inspect's shape) → OpenAI's: arguments travel as a JSON string.
        let calls: Vec<Value> = calls
            .iter()
            .map(|c| {
                json!({"id": c.get("id"), "type": "function", "function": {
                    "name": c.get("function"),
                    "arguments": c.get("arguments").map(Value::to_string).unwrap_or_else(|| "{}".into())}})
            })
            .collect();
        out.insert("tool_calls".into(), Value::Array(calls));
        if m.text_content().is_empty() {
            out.insert("content".into(), Value::Null);
        }
    }
    if let Some(id) = &m.tool_call_id {
        out.insert("tool_call_id".into(), json!(id));
    }
    Value::Object(out)
}

/// Reads a successful answer.
pub fn parse_response(body: &[u8]) -> Result<ModelOutput, ModelError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ModelError::Transient(format!("the model's answer is not JSON: {e}")))?;
    let choice = value
        .pointer("/choices/0")
        .ok_or_else(|| ModelError::Transient("the model's answer has no choices".into()))?;
    let message = choice.get("message").cloned().unwrap_or_default();
    let completion = match message.get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    };
    let tool_calls = message
        .get("tool_calls")
        .and_then(Value::as_array)
        .map(|calls| calls.iter().enumerate().map(|(i, c)| tool_call(i, c)).collect())
        .unwrap_or_default();
    let count = |key: &str| {
        value
            .pointer(&format!("/usage/{key}"))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    let stop_reason = match choice.get("finish_reason").and_then(Value::as_str) {
        Some("stop") => StopReason::Stop,
        Some("length") => StopReason::MaxTokens,
        Some("tool_calls" | "function_call") => StopReason::ToolCalls,
        Some("content_filter") => StopReason::ContentFilter,
        _ => StopReason::Unknown,
    };
    Ok(ModelOutput {
        completion,
        tool_calls,
        usage: Usage {
            input_tokens: count("prompt_tokens"),
            output_tokens: count("completion_tokens"),
        },
        stop_reason,
    })
}

fn tool_call(index: usize, call: &Value) -> ToolCall {
    let function = call
        .pointer("/function/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    // Arguments arrive as a JSON string; one that does not parse is kept as text for the agent to be told.
    let arguments = match call.pointer("/function/arguments") {
        Some(Value::String(s)) => serde_json::from_str(s).unwrap_or_else(|_| json!({"_unparsed": s})),
        Some(other) => other.clone(),
        None => json!({}),
    };
    ToolCall {
        id: call
            .get("id")
            .and_then(Value::as_str)
            .map_or_else(|| format!("call_{index}"), str::to_string),
        function: function.to_string(),
        arguments,
    }
}

/// An error status as what the runner should do: 429 waits (`retry_after` as the server gave it), 408, 409 and
/// 5xx retry, 401 and 403 end the run, the rest end the sample with the server's message.
pub fn status_error(status: u16, retry_after: Option<Duration>, body: &[u8]) -> ModelError {
    let detail = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .or_else(|| v.get("detail"))
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_default();
    let said = if detail.is_empty() {
        format!("status {status}")
    } else {
        format!("status {status}: {detail}")
    };
    match status {
        429 => ModelError::RateLimited { retry_after },
        401 | 403 => ModelError::AccessEnded(said),
        408 | 409 | 500..=599 => ModelError::Transient(said),
        _ => ModelError::Refused(said),
    }
}

/// A `Retry-After` (seconds, possibly fractional) or `retry-after-ms` value.
pub fn parse_retry_after(seconds: Option<&str>, millis: Option<&str>) -> Option<Duration> {
    let from_ms = millis
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(|ms| Duration::from_secs_f64(ms.min(3_600_000.0) / 1000.0));
    from_ms.or_else(|| {
        seconds
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0)
            .map(|s| Duration::from_secs_f64(s.min(3600.0)))
    })
}

#[cfg(test)]
mod tests;
