//! A sample's summary for `summaries.json`, made as Inspect makes it: the sample without messages, output,
//! events and store, long texts shortened, large metadata values replaced, so the listing of a big log stays
//! small. Inspect shortens summaries again when it reads them, so the limits here only need to be no looser.

use super::model::{ChatMessage, EvalSample, EvalSampleSummary, LogInput, Map, Score};
use crate::sample::Target;
use serde_json::Value as Json;

/// Input and target texts longer than this many characters are cut (Inspect's `MAX_TEXT_LENGTH`).
const MAX_TEXT_CHARS: usize = 5120;
/// Score answers, explanations and metadata texts longer than this are cut.
const MAX_SHORT_CHARS: usize = 1024;
/// A metadata value whose JSON is longer than this is replaced by a note.
const MAX_METADATA_JSON: usize = 1024;

/// The fields a summary copies from the sample as they are, when the sample has them.
const COPIED: &[&str] = &[
    "description",
    "role_usage",
    "model_fallbacks",
    "started_at",
    "completed_at",
    "uuid",
    "turn_count",
    "token_limit",
    "token_limit_type",
    "token_limit_usage",
    "message_limit",
    "time_limit",
];

impl EvalSample {
    /// The sample's entry in `summaries.json`.
    pub fn summary(&self) -> EvalSampleSummary {
        let mut extra = Map::new();
        for key in COPIED {
            if let Some(v) = self.extra.get(*key).filter(|v| !v.is_null()) {
                extra.insert((*key).to_owned(), v.clone());
            }
        }
        if let Some(limit) = self.extra.get("limit").filter(|v| v.is_object()) {
            if let Some(kind) = limit.get("type").filter(|v| !v.is_null()) {
                extra.insert("limit".into(), kind.clone());
            }
            if let Some(reason) = limit.get("reason").filter(|v| !v.is_null()) {
                extra.insert("limit_reason".into(), reason.clone());
            }
        }
        if let Some(Json::Array(retries)) = self.extra.get("error_retries") {
            extra.insert("retries".into(), Json::from(retries.len()));
        }
        EvalSampleSummary {
            id: self.id.clone(),
            epoch: self.epoch,
            input: thin_input(&self.input),
            choices: self.choices.clone(),
            target: match &self.target {
                Target::One(t) => Target::One(truncate(t, MAX_TEXT_CHARS)),
                Target::Many(ts) => Target::Many(ts.iter().map(|t| truncate(t, MAX_TEXT_CHARS)).collect()),
            },
            metadata: thin_metadata(&self.metadata),
            scores: self.scores.as_ref().map(|scores| {
                scores
                    .iter()
                    .map(|(name, score)| (name.clone(), thin_score(score)))
                    .collect()
            }),
            model_usage: self.model_usage.clone(),
            total_time: self.total_time,
            working_time: self.working_time,
            error: self.error.as_ref().map(|e| e.message.clone()),
            completed: true,
            message_count: Some(self.messages.len() as u64),
            extra,
        }
    }
}

/// `text` cut to `max` characters, marked as cut.
fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}...\n(content truncated)", text.get(..end).unwrap_or(text)),
        None => text.to_owned(),
    }
}

/// `text` cut to `max` characters with an ellipsis.
fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}...", text.get(..end).unwrap_or(text)),
        None => text.to_owned(),
    }
}

fn thin_input(input: &LogInput) -> LogInput {
    match input {
        LogInput::Text(t) => LogInput::Text(truncate(t, MAX_TEXT_CHARS)),
        LogInput::Messages(messages) => LogInput::Messages(
            messages
                .iter()
                .map(|m| ChatMessage {
                    role: m.role,
                    content: thin_content(&m.content),
                    extra: m.extra.clone(),
                })
                .collect(),
        ),
    }
}

/// Text parts cut; images, audio and other media replaced by a placeholder naming their kind.
fn thin_content(content: &Json) -> Json {
    match content {
        Json::String(s) => Json::String(truncate(s, MAX_TEXT_CHARS)),
        Json::Array(parts) => Json::Array(
            parts
                .iter()
                .map(|part| match part.get("type").and_then(Json::as_str) {
                    Some("text") => {
                        let mut part = part.clone();
                        if let Some(Json::String(text)) = part.get_mut("text") {
                            *text = truncate(text, MAX_TEXT_CHARS);
                        }
                        part
                    }
                    kind => {
                        let kind = kind.unwrap_or("content");
                        let mut label = kind.chars();
                        let label = label
                            .next()
                            .map(|c| c.to_uppercase().chain(label).collect::<String>())
                            .unwrap_or_default();
                        serde_json::json!({"type": "text", "text": format!("({label})")})
                    }
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

fn thin_metadata(metadata: &Map) -> Map {
    metadata
        .iter()
        .map(|(key, value)| {
            let value = match value {
                Json::String(s) => Json::String(shorten(s, MAX_SHORT_CHARS)),
                Json::Null | Json::Bool(_) | Json::Number(_) => value.clone(),
                Json::Array(_) | Json::Object(_) => {
                    if json_len_exceeds(value, MAX_METADATA_JSON) {
                        Json::String("Key removed from summary (> 1k)".into())
                    } else {
                        value.clone()
                    }
                }
            };
            (key.clone(), value)
        })
        .collect()
}

/// Whether `value`'s JSON is longer than `limit` bytes, found without writing more than `limit + 1` of them.
fn json_len_exceeds(value: &Json, limit: usize) -> bool {
    struct Counter {
        written: usize,
        limit: usize,
    }
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.written += buf.len();
            if self.written > self.limit {
                Err(std::io::Error::other("limit"))
            } else {
                Ok(buf.len())
            }
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter { written: 0, limit };
    serde_json::to_writer(&mut counter, value).is_err()
}

fn thin_score(score: &Score) -> Score {
    Score {
        value: score.value.clone(),
        answer: score.answer.as_deref().map(|a| shorten(a, MAX_SHORT_CHARS)),
        explanation: score.explanation.as_deref().map(|e| shorten(e, MAX_SHORT_CHARS)),
        metadata: score.metadata.as_ref().map(thin_metadata),
        extra: score
            .extra
            .get("reason")
            .filter(|r| !r.is_null())
            .map(|r| {
                let reason = match r {
                    Json::String(s) => Json::String(shorten(s, MAX_SHORT_CHARS)),
                    other => other.clone(),
                };
                Map::from_iter([("reason".to_owned(), reason)])
            })
            .unwrap_or_default(),
    }
}
