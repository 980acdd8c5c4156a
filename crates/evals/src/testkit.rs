//! What the crate's tests share: a scripted model, a stand-in for an upstream (outside us).

use crate::model::{GenerateRequest, Model, ModelError, ModelOutput, StopReason, ToolCall, Usage};
use async_trait::async_trait;
use std::sync::Mutex;

/// A scripted model (a stand-in for an upstream, outside us): answers each request with `script`, and keeps
/// every request it saw.
pub struct Scripted<F> {
    script: F,
    seen: Mutex<Vec<GenerateRequest>>,
}

impl<F> Scripted<F>
where
    F: Fn(&GenerateRequest, usize) -> Result<ModelOutput, ModelError> + Send + Sync,
{
    pub fn new(script: F) -> Self {
        Scripted {
            script,
            seen: Mutex::new(Vec::new()),
        }
    }

    pub fn requests(&self) -> Vec<GenerateRequest> {
        self.seen.lock().unwrap().clone()
    }
}

#[async_trait]
impl<F> Model for Scripted<F>
where
    F: Fn(&GenerateRequest, usize) -> Result<ModelOutput, ModelError> + Send + Sync,
{
    fn name(&self) -> &str {
        "scripted"
    }

    async fn generate(&self, request: &GenerateRequest) -> Result<ModelOutput, ModelError> {
        let turn = {
            let mut seen = self.seen.lock().unwrap();
            seen.push(request.clone());
            seen.len() - 1
        };
        (self.script)(request, turn)
    }
}

pub fn says(text: &str) -> Result<ModelOutput, ModelError> {
    Ok(ModelOutput {
        completion: text.into(),
        tool_calls: vec![],
        usage: Usage {
            input_tokens: 10,
            output_tokens: 5,
        },
        stop_reason: StopReason::Stop,
    })
}

pub fn calls(function: &str, arguments: serde_json::Value) -> Result<ModelOutput, ModelError> {
    Ok(ModelOutput {
        completion: String::new(),
        tool_calls: vec![ToolCall {
            id: format!("call-{function}"),
            function: function.into(),
            arguments,
        }],
        usage: Usage {
            input_tokens: 100,
            output_tokens: 20,
        },
        stop_reason: StopReason::ToolCalls,
    })
}
