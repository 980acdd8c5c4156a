//! Inspect AI's log model, field for field as far as a run needs it (`inspect_ai/log/_log.py`). Every struct
//! keeps the fields it does not name in `extra`, so a log Inspect wrote reads and writes back unchanged in
//! content. Optional fields are left out when empty, as Inspect leaves out its `None`s.

use crate::sample::{Input, Message, Role, SampleId, Target};
use crate::score;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// A JSON object: metadata, parameters, and the fields a struct does not name.
pub type Map = serde_json::Map<String, Json>;

/// `_journal/start.json`: what is known when a run starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogStart {
    pub version: u32,
    pub eval: EvalSpec,
    pub plan: EvalPlan,
    #[serde(flatten)]
    pub extra: Map,
}

/// `header.json`: the whole log but its samples and reductions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalLog {
    #[serde(default = "log_version")]
    pub version: u32,
    #[serde(default)]
    pub status: EvalStatus,
    pub eval: EvalSpec,
    #[serde(default)]
    pub plan: EvalPlan,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<EvalResults>,
    #[serde(default)]
    pub stats: EvalStats,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<EvalError>,
    #[serde(flatten)]
    pub extra: Map,
}

/// The log schema version Inspect 0.3 writes.
pub const LOG_VERSION: u32 = 2;

fn log_version() -> u32 {
    LOG_VERSION
}

/// How a run ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EvalStatus {
    #[default]
    Started,
    Success,
    Cancelled,
    Error,
}

/// What was evaluated, on what, how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_set_id: Option<String>,
    #[serde(default)]
    pub eval_id: String,
    #[serde(default)]
    pub run_id: String,
    /// When the run was created, ISO 8601 with its offset.
    pub created: String,
    pub task: String,
    #[serde(default)]
    pub task_id: String,
    pub dataset: EvalDataset,
    pub model: String,
    pub config: EvalConfig,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<EvalRevision>,
    /// Package name → version of what produced the log.
    #[serde(default)]
    pub packages: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map>,
    #[serde(flatten)]
    pub extra: Map,
}

/// The dataset a run drew its samples from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EvalDataset {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_ids: Option<Vec<SampleId>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shuffled: Option<bool>,
    #[serde(flatten)]
    pub extra: Map,
}

/// The run's configuration: epochs and limits (the rest kept as written).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EvalConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<Json>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epochs: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epochs_reducer: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_limit: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_limit: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_limit: Option<u64>,
    #[serde(flatten)]
    pub extra: Map,
}

/// The source revision the run was made from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalRevision {
    /// Always `git` in Inspect 0.3.
    #[serde(rename = "type")]
    pub kind: String,
    pub origin: String,
    pub commit: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dirty: Option<bool>,
    #[serde(flatten)]
    pub extra: Map,
}

/// The solvers a run applied, in order, and the generation settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalPlan {
    #[serde(default = "plan_name")]
    pub name: String,
    #[serde(default)]
    pub steps: Vec<EvalPlanStep>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish: Option<EvalPlanStep>,
    /// Inspect's `GenerateConfig` (temperature, max tokens, seed, …), kept as written.
    #[serde(default)]
    pub config: Map,
    #[serde(flatten)]
    pub extra: Map,
}

fn plan_name() -> String {
    "plan".into()
}

impl Default for EvalPlan {
    fn default() -> Self {
        EvalPlan {
            name: plan_name(),
            steps: Vec::new(),
            finish: None,
            config: Map::new(),
            extra: Map::new(),
        }
    }
}

/// One solver of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalPlanStep {
    pub solver: String,
    #[serde(default)]
    pub params: Map,
    #[serde(flatten)]
    pub extra: Map,
}

/// What the run's scores came to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EvalResults {
    #[serde(default)]
    pub total_samples: u64,
    #[serde(default)]
    pub completed_samples: u64,
    #[serde(default)]
    pub scores: Vec<EvalScore>,
    #[serde(flatten)]
    pub extra: Map,
}

/// One scorer's metrics over the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalScore {
    pub name: String,
    pub scorer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reducer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scored_samples: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unscored_samples: Option<u64>,
    #[serde(default)]
    pub params: Map,
    /// Metric name → value (`accuracy`, `stderr`, …).
    #[serde(default)]
    pub metrics: BTreeMap<String, EvalMetric>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map>,
    #[serde(flatten)]
    pub extra: Map,
}

/// One metric's value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalMetric {
    pub name: String,
    pub value: f64,
    #[serde(default)]
    pub params: Map,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map>,
    #[serde(flatten)]
    pub extra: Map,
}

/// When the run started and ended, and the tokens it used.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EvalStats {
    /// ISO 8601, or empty when unknown.
    #[serde(default)]
    pub started_at: String,
    #[serde(default)]
    pub completed_at: String,
    /// Model name → its usage.
    #[serde(default)]
    pub model_usage: BTreeMap<String, ModelUsage>,
    #[serde(flatten)]
    pub extra: Map,
}

/// An error that ended a run or a sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalError {
    pub message: String,
    #[serde(default)]
    pub traceback: String,
    #[serde(default)]
    pub traceback_ansi: String,
    #[serde(flatten)]
    pub extra: Map,
}

impl EvalError {
    /// An error known only by its message.
    pub fn message(message: impl Into<String>) -> Self {
        EvalError {
            message: message.into(),
            traceback: String::new(),
            traceback_ansi: String::new(),
            extra: Map::new(),
        }
    }
}

/// Tokens (and cost) a model used.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelUsage {
    #[serde(default)]
    pub input_tokens: u64,
    #[serde(default)]
    pub output_tokens: u64,
    #[serde(default)]
    pub total_tokens: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens_cache_write: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens_cache_read: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_cost: Option<f64>,
    #[serde(flatten)]
    pub extra: Map,
}

/// A chat message as Inspect logs it: our [`Message`] plus what Inspect adds (`id`, `source`, `model`,
/// `metadata`, …), kept in `extra` so nothing is lost on the way through.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    /// A string or a list of content parts, as given.
    pub content: Json,
    #[serde(flatten)]
    pub extra: Map,
}

impl ChatMessage {
    /// A message of plain text.
    pub fn text(role: Role, text: impl Into<String>) -> Self {
        ChatMessage {
            role,
            content: Json::String(text.into()),
            extra: Map::new(),
        }
    }

    /// As our [`Message`] (the fields it names; Inspect's ids and sources are dropped).
    pub fn to_message(&self) -> Message {
        let text = |key: &str| self.extra.get(key).and_then(Json::as_str).map(str::to_owned);
        Message {
            role: self.role,
            content: self.content.clone(),
            tool_calls: self.extra.get("tool_calls").filter(|v| !v.is_null()).cloned(),
            tool_call_id: text("tool_call_id"),
            function: text("function"),
        }
    }
}

impl From<&Message> for ChatMessage {
    fn from(m: &Message) -> Self {
        let mut extra = Map::new();
        if let Some(calls) = &m.tool_calls {
            extra.insert("tool_calls".into(), calls.clone());
        }
        if let Some(id) = &m.tool_call_id {
            extra.insert("tool_call_id".into(), Json::String(id.clone()));
        }
        if let Some(function) = &m.function {
            extra.insert("function".into(), Json::String(function.clone()));
        }
        ChatMessage {
            role: m.role,
            content: m.content.clone(),
            extra,
        }
    }
}

/// A sample's input in a log: a prompt or chat messages (with Inspect's extra message fields kept).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LogInput {
    Text(String),
    Messages(Vec<ChatMessage>),
}

impl From<&Input> for LogInput {
    fn from(input: &Input) -> Self {
        match input {
            Input::Text(t) => LogInput::Text(t.clone()),
            Input::Messages(m) => LogInput::Messages(m.iter().map(ChatMessage::from).collect()),
        }
    }
}

impl LogInput {
    /// As a dataset sample's [`Input`].
    pub fn to_input(&self) -> Input {
        match self {
            LogInput::Text(t) => Input::Text(t.clone()),
            LogInput::Messages(m) => Input::Messages(m.iter().map(ChatMessage::to_message).collect()),
        }
    }
}

/// What the model answered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelOutput {
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub choices: Vec<ChatCompletionChoice>,
    /// The first choice's text.
    #[serde(default)]
    pub completion: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<ModelUsage>,
    /// Seconds the call took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(flatten)]
    pub extra: Map,
}

/// One choice of a model's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatCompletionChoice {
    pub message: ChatMessage,
    /// `stop`, `max_tokens`, `tool_calls`, `content_filter`, … or `unknown`.
    #[serde(default = "unknown_stop")]
    pub stop_reason: String,
    #[serde(flatten)]
    pub extra: Map,
}

fn unknown_stop() -> String {
    "unknown".into()
}

/// A score's value in a log: one of ours (C, I, P, N, a number), or anything else Inspect allows (a boolean,
/// other text, a list, an object), kept exactly as written.
#[derive(Debug, Clone, PartialEq)]
pub enum ScoreValue {
    Value(score::Value),
    Other(Json),
}

impl ScoreValue {
    /// The value as metrics count it, where it is a single value: ours, a boolean (true counts as correct, as
    /// in Inspect), or an integer.
    pub fn as_value(&self) -> Option<score::Value> {
        match self {
            ScoreValue::Value(v) => Some(*v),
            ScoreValue::Other(Json::Bool(true)) => Some(score::Value::Correct),
            ScoreValue::Other(Json::Bool(false)) => Some(score::Value::Incorrect),
            ScoreValue::Other(Json::Number(n)) => n.as_f64().map(score::Value::Number),
            ScoreValue::Other(_) => None,
        }
    }
}

impl From<score::Value> for ScoreValue {
    fn from(v: score::Value) -> Self {
        ScoreValue::Value(v)
    }
}

impl Serialize for ScoreValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ScoreValue::Value(v) => v.serialize(s),
            ScoreValue::Other(j) => j.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for ScoreValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let json = Json::deserialize(d)?;
        let ours = match &json {
            Json::String(s) => match s.as_str() {
                "C" => Some(score::Value::Correct),
                "I" => Some(score::Value::Incorrect),
                "P" => Some(score::Value::Partial),
                "N" => Some(score::Value::NoAnswer),
                _ => None,
            },
            // An integer stays as written (ours would print it as a float).
            Json::Number(n) if n.is_f64() => n.as_f64().map(score::Value::Number),
            _ => None,
        };
        Ok(ours.map_or(ScoreValue::Other(json), ScoreValue::Value))
    }
}

/// One scorer's verdict on one sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub value: ScoreValue,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map>,
    #[serde(flatten)]
    pub extra: Map,
}

impl From<score::Score> for Score {
    fn from(s: score::Score) -> Self {
        Score {
            value: ScoreValue::Value(s.value),
            answer: s.answer,
            explanation: s.explanation,
            metadata: None,
            extra: Map::new(),
        }
    }
}

/// One sample in one epoch: `samples/{id}_epoch_{epoch}.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalSample {
    pub id: SampleId,
    /// Counted from 1.
    pub epoch: u32,
    pub input: LogInput,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choices: Option<Vec<String>>,
    pub target: Target,
    /// The whole conversation, input included.
    #[serde(default)]
    pub messages: Vec<ChatMessage>,
    #[serde(default)]
    pub output: ModelOutput,
    /// Scorer name → score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scores: Option<BTreeMap<String, Score>>,
    #[serde(default)]
    pub metadata: Map,
    #[serde(default)]
    pub store: Map,
    /// The sample's transcript events, as Inspect writes them (we may write none).
    #[serde(default)]
    pub events: Vec<Json>,
    /// Model name → tokens used on this sample.
    #[serde(default)]
    pub model_usage: BTreeMap<String, ModelUsage>,
    /// Seconds from start to end, and the part of them spent working (not waiting for a connection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_time: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_time: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<EvalError>,
    /// `uuid`, `started_at`, `completed_at`, `attachments`, `role_usage`, … as Inspect wrote them.
    #[serde(flatten)]
    pub extra: Map,
}

/// A sample's entry in `summaries.json`: the sample without its transcript, long texts shortened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalSampleSummary {
    pub id: SampleId,
    pub epoch: u32,
    pub input: LogInput,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choices: Option<Vec<String>>,
    pub target: Target,
    #[serde(default)]
    pub metadata: Map,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scores: Option<BTreeMap<String, Score>>,
    #[serde(default)]
    pub model_usage: BTreeMap<String, ModelUsage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_time: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_time: Option<f64>,
    /// The error's message, if the sample failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default)]
    pub completed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_count: Option<u64>,
    #[serde(flatten)]
    pub extra: Map,
}

/// One scorer's values per sample after reducing its epochs (`reductions.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalSampleReductions {
    pub scorer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reducer: Option<String>,
    pub samples: Vec<EvalSampleScore>,
    #[serde(flatten)]
    pub extra: Map,
}

/// A sample's reduced score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalSampleScore {
    pub value: ScoreValue,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_id: Option<SampleId>,
    #[serde(flatten)]
    pub extra: Map,
}
