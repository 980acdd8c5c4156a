//! The model a run talks to, as a trait: the gateway's in-process call API, an OpenAI-compatible endpoint and a
//! test's scripted model all implement it. Errors say what the runner should do next: wait and retry (rate limited,
//! with the server's `Retry-After` when given), retry later (a transient failure), or stop (access ended, or a
//! request the model will never accept).

use crate::sample::Message;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

/// A tool the model may call, described as OpenAI-compatible APIs take it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolDef {
    pub name: String,
    pub description: String,
    /// The JSON Schema of the arguments.
    pub parameters: Value,
}

/// One call of a tool the model asked for (Inspect's shape: `id`, `function`, `arguments` as an object).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    pub id: String,
    pub function: String,
    pub arguments: Value,
}

/// What is sent for one generation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GenerateRequest {
    pub messages: Vec<Message>,
    pub tools: Vec<ToolDef>,
    pub max_tokens: Option<u32>,
}

/// Tokens one generation used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

impl Usage {
    pub fn total(&self) -> u64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }

    pub fn add(&mut self, other: Usage) {
        self.input_tokens = self.input_tokens.saturating_add(other.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(other.output_tokens);
    }
}

/// Why a generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    Stop,
    MaxTokens,
    ToolCalls,
    ContentFilter,
    Unknown,
}

/// What the model answered.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelOutput {
    pub completion: String,
    pub tool_calls: Vec<ToolCall>,
    pub usage: Usage,
    pub stop_reason: StopReason,
}

/// Why a generation failed, sorted by what to do about it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// Too many requests: wait (at least `retry_after` when the server said) and try again, more slowly.
    #[error("rate limited{}", .retry_after.map(|d| format!(" (retry after {} ms)", d.as_millis())).unwrap_or_default())]
    RateLimited { retry_after: Option<Duration> },
    /// A failure that may pass: a 5xx, a timeout, a dropped connection.
    #[error("transient failure: {0}")]
    Transient(String),
    /// The caller may no longer use the model (access ended, key revoked): the run stops.
    #[error("access ended: {0}")]
    AccessEnded(String),
    /// The model will never accept this request (too long, malformed): the sample ends in error.
    #[error("request refused: {0}")]
    Refused(String),
}

/// A model that generates.
#[async_trait]
pub trait Model: Send + Sync {
    /// The name results are reported under.
    fn name(&self) -> &str;

    async fn generate(&self, request: &GenerateRequest) -> Result<ModelOutput, ModelError>;
}
