//! A task file: what to ask (a dataset), how to ask it (a solver), how to judge the answers (a scorer) and how to
//! count (epochs, reducers, grouping), with the limits every sample runs under. A person writes and reviews it as
//! TOML next to its dataset:
//!
//! ```toml
//! name = "crypto-knowledge"
//! dataset = "questions.jsonl"   # relative to this file
//! epochs = 3
//! reducers = ["mean", "pass_at_3"]
//! group_by = ["difficulty"]
//!
//! [solver]
//! type = "multiple_choice"
//! shuffle_choices = true
//!
//! [scorer]
//! type = "choice"
//!
//! [limits]
//! messages = 20
//! tokens = 50000
//! seconds = 300
//! ```
//!
//! Unknown keys are errors (a typo must not silently change an evaluation), each naming its line.

use crate::metrics::Reducer;
use crate::score::{Location, TextScorer};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The most epochs a task may ask for.
pub const MAX_EPOCHS: u32 = 100;
/// The most turns an agent may be given.
pub const MAX_TURNS: u32 = 1_000;

/// A task as its file states it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskFile {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The dataset's path, relative to the task file.
    pub dataset: PathBuf,
    #[serde(default = "one")]
    pub epochs: u32,
    /// How each sample's epochs are reduced, by name (`mean`, `max`, `mode`, `pass_at_k`, `at_least_k`); the
    /// first is the headline.
    #[serde(default = "mean")]
    pub reducers: Vec<String>,
    /// Metadata fields results are also grouped by.
    #[serde(default)]
    pub group_by: Vec<String>,
    /// Seeds every shuffle (sample order is the dataset's; choices are shuffled with this seed and the sample id).
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub solver: SolverSpec,
    #[serde(default)]
    pub scorer: ScorerSpec,
    #[serde(default)]
    pub limits: SampleLimits,
}

fn one() -> u32 {
    1
}

fn mean() -> Vec<String> {
    vec!["mean".into()]
}

/// How a sample is put to the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SolverSpec {
    /// The input as it is, one generation.
    Generate {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        system: Option<String>,
    },
    /// The input placed into a template (`{prompt}` and metadata fields by name), one generation.
    Prompt {
        template: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        system: Option<String>,
    },
    /// Asks the model to reason step by step before it answers.
    ChainOfThought {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        template: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        system: Option<String>,
    },
    /// The question with lettered choices, answered `ANSWER: <letters>`.
    MultipleChoice {
        #[serde(default)]
        shuffle_choices: bool,
        #[serde(default)]
        multiple_correct: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        template: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        system: Option<String>,
    },
    /// A multi-turn agent calling tools in the sample's sandbox until it submits or runs out of turns.
    Agent {
        #[serde(default = "agent_tools")]
        tools: Vec<Tool>,
        #[serde(default = "thirty")]
        max_turns: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        system: Option<String>,
    },
}

impl Default for SolverSpec {
    fn default() -> Self {
        SolverSpec::Generate { system: None }
    }
}

fn agent_tools() -> Vec<Tool> {
    vec![Tool::Bash, Tool::Python, Tool::Submit]
}

fn thirty() -> u32 {
    30
}

/// A tool an agent may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tool {
    Bash,
    Python,
    Submit,
}

/// How an answer is judged.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ScorerSpec {
    #[default]
    Exact,
    Includes {
        #[serde(default = "yes")]
        ignore_case: bool,
    },
    Match {
        #[serde(default = "end")]
        location: Location,
        #[serde(default = "yes")]
        ignore_case: bool,
    },
    Pattern {
        pattern: String,
        #[serde(default = "yes")]
        ignore_case: bool,
        #[serde(default)]
        match_all: bool,
    },
    Choice,
    Flag,
    /// A second model grades the answer against the target; its prompt and answer are recorded.
    ModelGraded {
        /// The grading model's name, as the run's models are named (default: the model under evaluation).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        template: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        instructions: Option<String>,
        /// Extracts the grade (C, P or I) from the grader's answer.
        #[serde(default = "grade_pattern")]
        grade_pattern: String,
    },
}

fn yes() -> bool {
    true
}

fn end() -> Location {
    Location::End
}

fn grade_pattern() -> String {
    r"(?i)GRADE\s*:\s*([CPI])".into()
}

impl ScorerSpec {
    /// The scorer that reads answers as text; `None` for model-graded scoring, which the runner performs.
    pub fn text_scorer(&self) -> Result<Option<TextScorer>, String> {
        Ok(Some(match self {
            ScorerSpec::Exact => TextScorer::Exact,
            ScorerSpec::Includes { ignore_case } => TextScorer::Includes {
                ignore_case: *ignore_case,
            },
            ScorerSpec::Match {
                location,
                ignore_case,
            } => TextScorer::Match {
                location: *location,
                ignore_case: *ignore_case,
            },
            ScorerSpec::Pattern {
                pattern,
                ignore_case,
                match_all,
            } => TextScorer::pattern(pattern, *ignore_case, *match_all)?,
            ScorerSpec::Choice => TextScorer::Choice,
            ScorerSpec::Flag => TextScorer::Flag,
            ScorerSpec::ModelGraded { .. } => return Ok(None),
        }))
    }

    /// The name logs give the scorer (Inspect's names where they exist).
    pub fn name(&self) -> &'static str {
        match self {
            ScorerSpec::Exact => "exact",
            ScorerSpec::Includes { .. } => "includes",
            ScorerSpec::Match { .. } => "match",
            ScorerSpec::Pattern { .. } => "pattern",
            ScorerSpec::Choice => "choice",
            ScorerSpec::Flag => "flag",
            ScorerSpec::ModelGraded { .. } => "model_graded_qa",
        }
    }
}

/// What one sample may use; a sample that reaches a limit ends there, scored on what it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleLimits {
    /// Messages in the conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<u32>,
    /// Tokens the model may use over the sample (input and output).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<u64>,
    /// Wall-clock seconds for the sample.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<u32>,
}

/// A problem in a task file, with its line when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskProblem {
    pub line: Option<u64>,
    pub message: String,
}

impl TaskFile {
    /// Parses a task file's text; every problem found is returned (syntax stops at the first).
    pub fn parse(text: &str) -> Result<TaskFile, Vec<TaskProblem>> {
        let task: TaskFile = toml::from_str(text).map_err(|e| {
            let message = e.message().trim().to_string();
            let start = e.span().map_or(0, |s| s.start);
            // A key inside a tagged table is reported at the table: find the key's own line after it.
            let key_line = message
                .strip_prefix("unknown field `")
                .and_then(|rest| rest.split('`').next())
                .and_then(|key| line_of_key(text.get(start..).unwrap_or(""), key))
                .map(|line| line_at(text, start) + line - 1);
            vec![TaskProblem {
                line: key_line.or_else(|| e.span().map(|s| line_at(text, s.start))),
                message,
            }]
        })?;
        let problems = task.check(text);
        if problems.is_empty() {
            Ok(task)
        } else {
            Err(problems)
        }
    }

    /// The dataset's path, resolved against the directory of the task file.
    pub fn dataset_path(&self, task_file: &Path) -> PathBuf {
        match task_file.parent() {
            Some(dir) if self.dataset.is_relative() => dir.join(&self.dataset),
            _ => self.dataset.clone(),
        }
    }

    /// The reducers, parsed (the file's check has vouched for them).
    pub fn parsed_reducers(&self) -> Vec<Reducer> {
        self.reducers.iter().filter_map(|r| Reducer::parse(r)).collect()
    }

    /// Rules serde cannot state, each problem placed on the line of its key.
    fn check(&self, text: &str) -> Vec<TaskProblem> {
        let mut problems = Vec::new();
        let mut problem = |key: &str, message: String| {
            problems.push(TaskProblem {
                line: line_of_key(text, key),
                message,
            })
        };
        if self.name.trim().is_empty() {
            problem("name", "`name` is empty".into());
        }
        if !(1..=MAX_EPOCHS).contains(&self.epochs) {
            problem(
                "epochs",
                format!("`epochs` must be from 1 to {MAX_EPOCHS}, not {}", self.epochs),
            );
        }
        if self.reducers.is_empty() {
            problem("reducers", "`reducers` is empty".into());
        }
        for name in &self.reducers {
            match Reducer::parse(name) {
                None => problem(
                    "reducers",
                    format!("unknown reducer {name:?}: use mean, max, mode, pass_at_<k> or at_least_<k>"),
                ),
                Some(Reducer::PassAtK(k) | Reducer::AtLeastK(k)) if k as u64 > u64::from(self.epochs) => {
                    problem(
                        "reducers",
                        format!("{name} needs at least {k} epochs; the task runs {}", self.epochs),
                    )
                }
                Some(_) => {}
            }
        }
        if let Err(e) = self.scorer.text_scorer() {
            problem("pattern", e);
        }
        if let ScorerSpec::ModelGraded {
            grade_pattern,
            template,
            ..
        } = &self.scorer
        {
            if let Err(e) = TextScorer::pattern(grade_pattern, true, false) {
                problem("grade_pattern", e);
            }
            let names = ["question", "answer", "criterion", "instructions"];
            let known = |name: &str| names.contains(&name).then(String::new);
            if let Some(Err(e)) = template.as_deref().map(|t| crate::prompt::render_with(t, known)) {
                problem(
                    "template",
                    format!(
                        "{e} (a grading template may use {{question}}, {{answer}}, {{criterion}} and {{instructions}})"
                    ),
                );
            }
        }
        match &self.solver {
            SolverSpec::Agent { max_turns, tools, .. } => {
                if !(1..=MAX_TURNS).contains(max_turns) {
                    problem(
                        "max_turns",
                        format!("`max_turns` must be from 1 to {MAX_TURNS}, not {max_turns}"),
                    );
                }
                if !tools.contains(&Tool::Submit) {
                    problem("tools", "an agent needs the `submit` tool to answer".into());
                }
            }
            SolverSpec::Prompt { template, .. } if !template.contains("{prompt}") => {
                problem("template", "the template has no `{prompt}`".into());
            }
            _ => {}
        }
        let choice_solver = matches!(self.solver, SolverSpec::MultipleChoice { .. });
        if matches!(self.scorer, ScorerSpec::Choice) != choice_solver {
            problem(
                "type",
                "the `choice` scorer and the `multiple_choice` solver go together".into(),
            );
        }
        for (key, value) in [
            ("messages", self.limits.messages.map(u64::from)),
            ("tokens", self.limits.tokens),
            ("seconds", self.limits.seconds.map(u64::from)),
        ] {
            if value == Some(0) {
                problem(key, format!("`{key}` must be more than 0"));
            }
        }
        problems
    }
}

/// The line (from 1) of byte `offset` in `text`.
pub(crate) fn line_at(text: &str, offset: usize) -> u64 {
    let before = text.get(..offset).unwrap_or(text);
    before.matches('\n').count() as u64 + 1
}

/// The first line that sets `key` (`key =` at the start of a line), for placing a problem.
fn line_of_key(text: &str, key: &str) -> Option<u64> {
    text.lines().enumerate().find_map(|(i, line)| {
        let rest = line.trim_start().strip_prefix(key)?;
        rest.trim_start().starts_with('=').then_some(i as u64 + 1)
    })
}

#[cfg(test)]
mod tests;
