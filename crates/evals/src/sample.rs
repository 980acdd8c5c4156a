//! A sample, field for field as Inspect AI's `Sample`: what a dataset row becomes and what a log records.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;

/// A sample's id: Inspect allows an integer or a string and keeps whichever the dataset gave.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SampleId {
    Int(i64),
    Text(String),
}

impl fmt::Display for SampleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SampleId::Int(n) => write!(f, "{n}"),
            SampleId::Text(s) => f.write_str(s),
        }
    }
}

/// Who speaks in a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
    Tool,
}

/// One chat message of an input. `content` is a string or a list of content parts, kept as given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
}

impl Message {
    pub fn text(role: Role, text: impl Into<String>) -> Self {
        Message {
            role,
            content: Value::String(text.into()),
            tool_calls: None,
            tool_call_id: None,
            function: None,
        }
    }

    /// The message's text: the string, or the text parts of a content list joined by newlines.
    pub fn text_content(&self) -> String {
        match &self.content {
            Value::String(s) => s.clone(),
            Value::Array(parts) => parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("\n"),
            _ => String::new(),
        }
    }
}

/// A sample's input: a prompt, or the chat that precedes the model's turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Input {
    Text(String),
    Messages(Vec<Message>),
}

impl Input {
    /// The input as chat messages (a prompt is one user message).
    pub fn messages(&self) -> Vec<Message> {
        match self {
            Input::Text(t) => vec![Message::text(Role::User, t.clone())],
            Input::Messages(m) => m.clone(),
        }
    }

    /// The text a template's `{prompt}` stands for: the prompt, or the last user message.
    pub fn prompt_text(&self) -> String {
        match self {
            Input::Text(t) => t.clone(),
            Input::Messages(m) => m
                .iter()
                .rev()
                .find(|m| m.role == Role::User)
                .map(Message::text_content)
                .unwrap_or_default(),
        }
    }
}

/// What a correct answer is: one text or several accepted texts. Inspect keeps the shape it was given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Target {
    One(String),
    Many(Vec<String>),
}

impl Default for Target {
    fn default() -> Self {
        Target::One(String::new())
    }
}

impl Target {
    /// Every accepted text.
    pub fn values(&self) -> &[String] {
        match self {
            Target::One(s) => std::slice::from_ref(s),
            Target::Many(v) => v,
        }
    }

    /// The target as one text (a list joined by newlines, as Inspect's `Target.text`).
    pub fn text(&self) -> String {
        self.values().join("\n")
    }
}

/// One sample of a dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub id: SampleId,
    pub input: Input,
    #[serde(default)]
    pub target: Target,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choices: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    /// Files to place in the sample's sandbox: destination path → contents (or a path relative to the dataset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<BTreeMap<String, String>>,
    /// A shell script run in the sandbox before the solver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup: Option<String>,
}

impl Sample {
    /// A metadata field as text, for grouping (`difficulty`, `category`); numbers and booleans print as JSON.
    pub fn metadata_text(&self, field: &str) -> Option<String> {
        match self.metadata.as_ref()?.get(field)? {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    }
}
