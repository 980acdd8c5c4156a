//! One sample, one epoch: put it to the model as the task's solver says (one generation, a template, chain of
//! thought, multiple choice, or an agent calling tools in the sample's sandbox), then score the answer. Limits on
//! messages and tokens end the sample where they are reached; wall time is the runner's to enforce.

use crate::model::{GenerateRequest, Model, ModelError, ToolCall, ToolDef, Usage};
use crate::prompt;
use crate::sample::{Message, Role, Sample, Target};
use crate::score::{Score, TextScorer, Value};
use crate::task::{ScorerSpec, SolverSpec, TaskFile, Tool};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// What a tool's output may add to the conversation, at most (the rest is cut and the cut said).
pub const TOOL_OUTPUT_LIMIT: usize = 16 * 1024;

/// Runs an agent's tool calls in the sample's sandbox.
#[async_trait]
pub trait Tools: Send + Sync {
    /// Runs `bash` (a command) or `python` (a program); returns what the model is shown: output, or the error.
    async fn run(&self, tool: Tool, input: &str) -> String;
}

/// A task made ready: its file and its compiled scorer.
#[derive(Debug, Clone)]
pub struct Plan {
    pub spec: TaskFile,
    scorer: Option<TextScorer>,
    grade: Option<TextScorer>,
}

impl Plan {
    pub fn new(spec: TaskFile) -> Result<Plan, String> {
        let scorer = spec.scorer.text_scorer()?;
        let grade = match &spec.scorer {
            ScorerSpec::ModelGraded { grade_pattern, .. } => {
                Some(TextScorer::pattern(grade_pattern, true, false)?)
            }
            _ => None,
        };
        Ok(Plan { spec, scorer, grade })
    }

    /// Whether samples need a sandbox (an agent's tools run there).
    pub fn needs_sandbox(&self) -> bool {
        matches!(self.spec.solver, SolverSpec::Agent { .. })
    }
}

/// Which limit ended a sample early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitHit {
    Messages,
    Tokens,
    Turns,
}

/// What a sample's epoch came to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub messages: Vec<Message>,
    /// The answer scored: the last completion, or what the agent submitted.
    pub answer: String,
    pub usage: Usage,
    pub score: Option<Score>,
    /// The choices as shown (original positions), for multiple choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shown_choices: Option<Vec<usize>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<LimitHit>,
    /// Why the sample failed, when it did (the request was refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// A model-graded sample's grading as it happened: the grader, the prompt it was given and its answer,
    /// recorded whether or not the answer held a grade.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grading: Option<Grading>,
}

/// One grading by a second model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grading {
    pub grader: String,
    pub prompt: String,
    pub answer: String,
}

/// Solves and scores one sample. `target` is the sample's target, or its fresh flag. An error returned means the
/// run cannot go on (access ended) or the model could not be reached after the caller's retries; a request the
/// model refused ends only this sample, recorded in [`Attempt::error`].
pub async fn solve(
    plan: &Plan,
    sample: &Sample,
    target: &Target,
    model: &dyn Model,
    grader: Option<&dyn Model>,
    tools: Option<&dyn Tools>,
) -> Result<Attempt, ModelError> {
    let mut attempt = Attempt {
        messages: Vec::new(),
        answer: String::new(),
        usage: Usage::default(),
        score: None,
        shown_choices: None,
        limit: None,
        error: None,
        grading: None,
    };
    let limits = plan.spec.limits;
    let prompt_text = sample.input.prompt_text();
    let (system, shown) = match &plan.spec.solver {
        SolverSpec::Generate { system } => (system, None),
        SolverSpec::Prompt { template, system } => {
            let text = prompt::render(template, &prompt_text, sample);
            attempt.messages = replace_prompt(sample, text, &mut attempt.error);
            (system, None)
        }
        SolverSpec::ChainOfThought { template, system } => {
            let text = prompt::render(
                template.as_deref().unwrap_or(prompt::CHAIN_OF_THOUGHT),
                &prompt_text,
                sample,
            );
            attempt.messages = replace_prompt(sample, text, &mut attempt.error);
            (system, None)
        }
        SolverSpec::MultipleChoice {
            shuffle_choices,
            multiple_correct,
            template,
            system,
        } => {
            let shown = prompt::shown_choices(sample, *shuffle_choices, plan.spec.seed);
            let default = if *multiple_correct {
                prompt::MULTIPLE_CORRECT
            } else {
                prompt::MULTIPLE_CHOICE
            };
            let text = prompt::multiple_choice(
                template.as_deref().unwrap_or(default),
                &prompt_text,
                sample,
                &shown,
            );
            attempt.messages = replace_prompt(sample, text, &mut attempt.error);
            attempt.shown_choices = Some(shown.shown.clone());
            (system, Some(shown))
        }
        SolverSpec::Agent { system, .. } => (system, None),
    };
    if attempt.error.is_some() {
        return Ok(attempt);
    }
    if attempt.messages.is_empty() {
        attempt.messages = sample.input.messages();
    }
    if let Some(system) = system {
        attempt
            .messages
            .insert(0, Message::text(Role::System, system.clone()));
    }
    match &plan.spec.solver {
        SolverSpec::Agent {
            tools: allowed,
            max_turns,
            ..
        } => {
            run_agent(&mut attempt, model, tools, allowed, *max_turns, limits).await?;
        }
        _ => {
            let request = GenerateRequest {
                messages: attempt.messages.clone(),
                tools: Vec::new(),
                max_tokens: None,
            };
            match model.generate(&request).await {
                Ok(output) => {
                    attempt.usage.add(output.usage);
                    attempt.answer = output.completion.clone();
                    attempt
                        .messages
                        .push(Message::text(Role::Assistant, output.completion));
                }
                Err(ModelError::Refused(reason)) => {
                    attempt.error = Some(reason);
                    return Ok(attempt);
                }
                Err(e) => return Err(e),
            }
        }
    }
    let score = match (&plan.scorer, &plan.spec.scorer) {
        (Some(scorer), _) => Ok(scorer.score(&attempt.answer, target, shown.as_ref())),
        (
            None,
            ScorerSpec::ModelGraded {
                template,
                instructions,
                ..
            },
        ) => {
            let grader = grader.unwrap_or(model);
            let (template, instructions) = (template.as_deref(), instructions.as_deref());
            grade(
                plan,
                grader,
                &prompt_text,
                &attempt.answer,
                target,
                template,
                instructions,
                &mut attempt.grading,
            )
            .await
        }
        (None, _) => return Ok(attempt),
    };
    match score {
        Ok(score) => attempt.score = Some(score),
        // Access ended stops the run; any other failure of the grader (after the caller's retries) ends only
        // this sample, its answer and transcript kept.
        Err(e @ ModelError::AccessEnded(_)) => return Err(e),
        Err(ModelError::Refused(reason)) => attempt.error = Some(format!("grading: {reason}")),
        Err(e) => attempt.error = Some(format!("grading: {e}")),
    }
    Ok(attempt)
}

/// The sample's input with its prompt replaced by `text` (the last user message, or the whole input).
fn replace_prompt(sample: &Sample, text: Result<String, String>, error: &mut Option<String>) -> Vec<Message> {
    let text = match text {
        Ok(text) => text,
        Err(e) => {
            *error = Some(e);
            return Vec::new();
        }
    };
    let mut messages = sample.input.messages();
    match messages.iter_mut().rev().find(|m| m.role == Role::User) {
        Some(last) => last.content = serde_json::Value::String(text),
        None => messages.push(Message::text(Role::User, text)),
    }
    messages
}

fn tool_def(tool: Tool) -> ToolDef {
    let (name, description, field, about) = match tool {
        Tool::Bash => (
            "bash",
            "Run a bash command in the sandbox and see its output.",
            "cmd",
            "The command.",
        ),
        Tool::Python => (
            "python",
            "Run a Python program in the sandbox and see its output.",
            "code",
            "The program.",
        ),
        Tool::Submit => (
            "submit",
            "Submit your final answer; this ends the task.",
            "answer",
            "The answer.",
        ),
    };
    ToolDef {
        name: name.into(),
        description: description.into(),
        parameters: json!({
            "type": "object",
            "properties": {field: {"type": "string", "description": about}},
            "required": [field],
            "additionalProperties": false,
        }),
    }
}

/// The text argument of a tool call (`cmd`, `code` or `answer`), or the problem with it.
fn argument(call: &ToolCall, field: &str) -> Result<String, String> {
    call.arguments
        .get(field)
        .and_then(serde_json::Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| {
            format!(
                "the call to `{}` needs a string argument `{field}`",
                call.function
            )
        })
}

fn cut(mut text: String) -> String {
    if text.len() > TOOL_OUTPUT_LIMIT {
        let mut end = TOOL_OUTPUT_LIMIT;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let cut = text.len() - end;
        text.truncate(end);
        text.push_str(&format!("\n[{cut} more bytes not shown]"));
    }
    text
}

const CONTINUE: &str = "Continue working with your tools. When you have the answer, call `submit` with it.";

async fn run_agent(
    attempt: &mut Attempt,
    model: &dyn Model,
    tools: Option<&dyn Tools>,
    allowed: &[Tool],
    max_turns: u32,
    limits: crate::task::SampleLimits,
) -> Result<(), ModelError> {
    let defs: Vec<ToolDef> = allowed.iter().map(|t| tool_def(*t)).collect();
    for _ in 0..max_turns {
        if let Some(max) = limits.messages
            && attempt.messages.len() >= max as usize
        {
            attempt.limit = Some(LimitHit::Messages);
            return Ok(());
        }
        if let Some(max) = limits.tokens
            && attempt.usage.total() >= max
        {
            attempt.limit = Some(LimitHit::Tokens);
            return Ok(());
        }
        let request = GenerateRequest {
            messages: attempt.messages.clone(),
            tools: defs.clone(),
            max_tokens: None,
        };
        let output = match model.generate(&request).await {
            Ok(output) => output,
            Err(ModelError::Refused(reason)) => {
                attempt.error = Some(reason);
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        attempt.usage.add(output.usage);
        let mut said = Message::text(Role::Assistant, output.completion.clone());
        if !output.tool_calls.is_empty() {
            said.tool_calls = Some(serde_json::to_value(&output.tool_calls).unwrap_or_default());
        }
        attempt.messages.push(said);
        attempt.answer = output.completion;
        if output.tool_calls.is_empty() {
            attempt.messages.push(Message::text(Role::User, CONTINUE));
            continue;
        }
        for call in &output.tool_calls {
            let tool = allowed
                .iter()
                .copied()
                .find(|t| tool_def(*t).name == call.function);
            let result = match tool {
                None => format!("there is no tool `{}`", call.function),
                Some(Tool::Submit) => match argument(call, "answer") {
                    Ok(answer) => {
                        attempt.answer = answer;
                        attempt.messages.push(tool_message(call, "submitted".into()));
                        return Ok(());
                    }
                    Err(e) => e,
                },
                Some(tool) => {
                    let field = if tool == Tool::Bash { "cmd" } else { "code" };
                    match (argument(call, field), tools) {
                        (Ok(input), Some(tools)) => tools.run(tool, &input).await,
                        (Ok(_), None) => "this task has no sandbox to run tools in".into(),
                        (Err(e), _) => e,
                    }
                }
            };
            attempt.messages.push(tool_message(call, cut(result)));
        }
    }
    attempt.limit = Some(LimitHit::Turns);
    Ok(())
}

fn tool_message(call: &ToolCall, text: String) -> Message {
    Message {
        role: Role::Tool,
        content: serde_json::Value::String(text),
        tool_calls: None,
        tool_call_id: Some(call.id.clone()),
        function: Some(call.function.clone()),
    }
}

/// The grading instruction by default: `{question}`, `{answer}`, `{criterion}` and `{instructions}`.
pub const GRADER: &str = "You are grading an answer to a question against a reference.\n\n[Question]\n{question}\n\n\
[Answer]\n{answer}\n\n[Reference]\n{criterion}\n\n{instructions}";

/// What the grader is told about the verdict's form by default.
pub const GRADER_INSTRUCTIONS: &str = "Decide whether the answer is correct given the reference. Reason briefly, then \
end with a line 'GRADE: C' if it is correct, 'GRADE: P' if it is partly correct, or 'GRADE: I' if it is incorrect.";

/// How much of a grader's answer without a grade the sample's error quotes.
const UNGRADED_QUOTE: usize = 200;

#[allow(clippy::too_many_arguments)]
async fn grade(
    plan: &Plan,
    grader: &dyn Model,
    question: &str,
    answer: &str,
    target: &Target,
    template: Option<&str>,
    instructions: Option<&str>,
    grading: &mut Option<Grading>,
) -> Result<Score, ModelError> {
    let template = template.unwrap_or(GRADER);
    // One pass over the template: an answer that itself contains `{criterion}` stays as written.
    let criterion = target.text();
    let filled = prompt::render_with(template, |name| match name {
        "question" => Some(question.to_string()),
        "answer" => Some(answer.to_string()),
        "criterion" => Some(criterion.clone()),
        "instructions" => Some(instructions.unwrap_or(GRADER_INSTRUCTIONS).to_string()),
        _ => None,
    })
    .map_err(ModelError::Refused)?;
    let request = GenerateRequest {
        messages: vec![Message::text(Role::User, filled.clone())],
        tools: Vec::new(),
        max_tokens: None,
    };
    let output = grader.generate(&request).await?;
    *grading = Some(Grading {
        grader: grader.name().to_string(),
        prompt: filled.clone(),
        answer: output.completion.clone(),
    });
    let letter = plan
        .grade
        .as_ref()
        .and_then(|pattern| match pattern {
            TextScorer::Pattern { regex, .. } => regex.captures(&output.completion),
            _ => None,
        })
        .and_then(|c| c.get(1).map(|m| m.as_str().to_ascii_uppercase()));
    let value = match letter.as_deref() {
        Some("C") => Value::Correct,
        Some("P") => Value::Partial,
        Some("I") => Value::Incorrect,
        // No grade is no score: an error on this sample, not a guess at one.
        _ => {
            let quoted: String = output.completion.chars().take(UNGRADED_QUOTE).collect();
            let cut = if quoted.len() < output.completion.len() {
                "…"
            } else {
                ""
            };
            return Err(ModelError::Refused(format!(
                "the grader's answer holds no grade (C, P or I): {quoted:?}{cut}"
            )));
        }
    };
    Ok(Score {
        value,
        answer: Some(answer.to_string()),
        explanation: Some(format!(
            "grader: {}\n\nprompt:\n{filled}\n\nverdict:\n{}",
            grader.name(),
            output.completion
        )),
    })
}

#[cfg(test)]
mod tests;
