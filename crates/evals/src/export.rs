//! A run as an Inspect `.eval` log: the task, its samples, the records of their epochs and the results become
//! the log's spec, plan, samples, summaries, reductions and header, written with the streaming
//! [`LogWriter`]. A pure mapping: the terminal runner writes its log with it, and so can anything that holds a
//! run's records, which it takes one at a time, so a run of any size is never all in memory. What it keeps
//! while writing is one number per sample and epoch, for the epoch reductions.

use crate::inspect_log::{
    ChatCompletionChoice, ChatMessage, EvalConfig, EvalDataset, EvalError, EvalLog, EvalMetric, EvalPlan,
    EvalPlanStep, EvalResults, EvalSample, EvalSampleReductions, EvalSampleScore, EvalScore, EvalSpec,
    EvalStats, EvalStatus, LOG_VERSION, LogError, LogInput, LogStart, LogWriter, Map, ModelOutput,
    ModelUsage, Score, ScoreValue, WriteLimits,
};
use crate::metrics::{Reducer, Summary};
use crate::model::Usage;
use crate::runner::{Results, SampleRecord};
use crate::sample::{Role, Sample};
use crate::score;
use crate::solve::LimitHit;
use crate::task::TaskFile;
use serde_json::{Value as Json, json};
use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What a log says about the run besides its task, samples and records.
#[derive(Debug, Clone)]
pub struct RunInfo<'a> {
    /// The run's id (one run may hold several tasks).
    pub run_id: &'a str,
    /// This task's evaluation within the run (Inspect's `eval_id`, also its `task_id`).
    pub eval_id: &'a str,
    /// The model's name as results are reported under.
    pub model: &'a str,
    /// When the run was created, ISO 8601 with its offset (`2026-11-30T05:00:00+00:00`).
    pub created: &'a str,
    pub started_at: &'a str,
    pub completed_at: &'a str,
    pub status: EvalStatus,
    /// Why the run stopped, when it did not complete.
    pub error: Option<&'a str>,
    /// Where the dataset came from, as a person would name it.
    pub location: Option<&'a str>,
    /// The version of what wrote the log, recorded under `packages.prelaunch`.
    pub version: &'a str,
}

/// A task's run to be written as a log.
#[derive(Debug, Clone)]
pub struct RunLog<'a> {
    pub spec: &'a TaskFile,
    /// The samples run, by position: a record's `item.index` points here.
    pub samples: &'a [Sample],
    pub results: &'a Results,
    pub info: RunInfo<'a>,
}

/// The name Inspect gives a log file, `{created}_{task}_{id}.eval`, each part with `_`, `/`, `:` and `+`
/// turned into `-` (the terminal runner's id is its run's).
pub fn file_name(created: &str, task: &str, id: &str) -> String {
    let clean = |s: &str| s.replace(['_', '/', ':', '+'], "-");
    format!("{}_{}_{}.eval", clean(created), clean(task), clean(id))
}

/// Writes the whole log of `run` into `sink`, its samples from `records` in the order given (any order: each
/// is placed by its item). `file` names the log in errors. The sink is returned once the archive is closed.
pub fn write_log<W, R>(
    sink: W,
    file: &str,
    run: &RunLog<'_>,
    records: impl IntoIterator<Item = R>,
    limits: WriteLimits,
) -> Result<W, LogError>
where
    W: Write,
    R: Borrow<SampleRecord>,
{
    let start = log_start(run);
    let writer = LogWriter::new(sink, file, &start, limits)?;
    fill(writer, run, start, records)
}

/// As [`write_log`], into the file at `path`: written beside it under a temporary name and moved there only
/// once whole, so a log that failed half-way is never left looking like one. The path is returned.
pub fn write_log_file<R: Borrow<SampleRecord>>(
    path: &Path,
    run: &RunLog<'_>,
    records: impl IntoIterator<Item = R>,
    limits: WriteLimits,
) -> Result<PathBuf, LogError> {
    let start = log_start(run);
    let writer = LogWriter::create(path, &start, limits)?;
    fill(writer, run, start, records)?.persist()
}

fn fill<W, R>(
    mut writer: LogWriter<W>,
    run: &RunLog<'_>,
    start: LogStart,
    records: impl IntoIterator<Item = R>,
) -> Result<W, LogError>
where
    W: Write,
    R: Borrow<SampleRecord>,
{
    let scorer = run.spec.scorer.name();
    let mut epochs: Vec<Vec<f64>> = vec![Vec::new(); run.samples.len()];
    let mut usage = Usage::default();
    for record in records {
        let record = record.borrow();
        let Some(sample) = run.samples.get(record.item.index) else {
            continue;
        };
        if let (Some(v), Some(list)) = (record.value(), epochs.get_mut(record.item.index)) {
            list.push(v);
        }
        if let Some(attempt) = &record.attempt {
            usage.add(attempt.usage);
        }
        writer.write_sample(&eval_sample(sample, record, run.info.model, scorer, run.spec))?;
    }
    let reductions = reductions(run, scorer, &epochs);
    drop(epochs);
    let header = header(run, start, scorer, usage);
    writer.finish_with_reductions(&header, &reductions)
}

/// `_journal/start.json`: the run's spec and plan.
pub fn log_start(run: &RunLog<'_>) -> LogStart {
    LogStart {
        version: LOG_VERSION,
        eval: eval_spec(run),
        plan: plan(run.spec),
        extra: Map::new(),
    }
}

fn eval_spec(run: &RunLog<'_>) -> EvalSpec {
    let spec = run.spec;
    let info = &run.info;
    EvalSpec {
        eval_set_id: None,
        eval_id: info.eval_id.to_owned(),
        run_id: info.run_id.to_owned(),
        created: info.created.to_owned(),
        task: spec.name.clone(),
        task_id: info.eval_id.to_owned(),
        dataset: EvalDataset {
            name: Some(spec.name.clone()),
            location: info.location.map(str::to_owned),
            samples: Some(run.samples.len() as u64),
            sample_ids: Some(run.samples.iter().map(|s| s.id.clone()).collect()),
            shuffled: Some(false),
            extra: Map::new(),
        },
        model: info.model.to_owned(),
        config: EvalConfig {
            limit: None,
            epochs: Some(spec.epochs),
            epochs_reducer: Some(spec.parsed_reducers().iter().map(Reducer::name).collect()),
            message_limit: spec.limits.messages.map(u64::from),
            token_limit: spec.limits.tokens,
            time_limit: spec.limits.seconds.map(u64::from),
            extra: Map::new(),
        },
        revision: None,
        packages: BTreeMap::from([("prelaunch".to_owned(), info.version.to_owned())]),
        metadata: None,
        extra: Map::new(),
    }
}

/// The solver as the plan's one step (its settings as its parameters), and the seed as the generation config.
fn plan(spec: &TaskFile) -> EvalPlan {
    let mut params = match serde_json::to_value(&spec.solver) {
        Ok(Json::Object(map)) => map,
        _ => Map::new(),
    };
    let solver = match params.remove("type") {
        Some(Json::String(kind)) => kind,
        _ => "generate".to_owned(),
    };
    params.retain(|_, v| !v.is_null());
    EvalPlan {
        steps: vec![EvalPlanStep {
            solver,
            params,
            extra: Map::new(),
        }],
        config: Map::from_iter([("seed".to_owned(), json!(spec.seed))]),
        ..EvalPlan::default()
    }
}

fn model_usage(usage: Usage) -> ModelUsage {
    ModelUsage {
        input_tokens: usage.input_tokens,
        output_tokens: usage.output_tokens,
        total_tokens: usage.total(),
        ..ModelUsage::default()
    }
}

/// One record as Inspect's sample: the conversation, the last answer as the output, the score under the
/// scorer's name (a multiple-choice mapping in its metadata), tokens, time, and the error if it ended in one.
pub fn eval_sample(
    sample: &Sample,
    record: &SampleRecord,
    model: &str,
    scorer: &str,
    spec: &TaskFile,
) -> EvalSample {
    let attempt = record.attempt.as_ref();
    let messages: Vec<ChatMessage> = match attempt {
        Some(a) if !a.messages.is_empty() => a.messages.iter().map(ChatMessage::from).collect(),
        _ => sample.input.messages().iter().map(ChatMessage::from).collect(),
    };
    let reply = messages
        .iter()
        .rev()
        .find(|m| m.role == Role::Assistant)
        .cloned()
        .or_else(|| attempt.map(|a| ChatMessage::text(Role::Assistant, a.answer.clone())));
    let usage = attempt.map(|a| model_usage(a.usage));
    let output = ModelOutput {
        model: model.to_owned(),
        choices: reply
            .map(|message| ChatCompletionChoice {
                message,
                stop_reason: "stop".into(),
                extra: Map::new(),
            })
            .into_iter()
            .collect(),
        completion: attempt.map(|a| a.answer.clone()).unwrap_or_default(),
        usage: usage.clone(),
        time: None,
        error: None,
        extra: Map::new(),
    };
    let scores = attempt.and_then(|a| a.score.clone()).map(|s| {
        let mut score = Score::from(s);
        if let Some(shown) = attempt.and_then(|a| a.shown_choices.as_ref()) {
            score.metadata = Some(Map::from_iter([("shown_choices".to_owned(), json!(shown))]));
        }
        BTreeMap::from([(scorer.to_owned(), score)])
    });
    let mut extra = Map::new();
    let limit = attempt.and_then(|a| a.limit).and_then(|hit| match hit {
        LimitHit::Messages => spec.limits.messages.map(|n| ("message", f64::from(n))),
        LimitHit::Tokens => spec.limits.tokens.map(|n| ("token", n as f64)),
        LimitHit::Turns => None,
    });
    if let Some((kind, value)) = limit {
        extra.insert("limit".into(), json!({"type": kind, "limit": value}));
    }
    EvalSample {
        id: sample.id.clone(),
        epoch: record.item.epoch,
        input: LogInput::from(&sample.input),
        choices: sample.choices.clone(),
        target: record.target.clone(),
        messages,
        output,
        scores,
        metadata: sample.metadata.clone().unwrap_or_default(),
        store: Map::new(),
        events: Vec::new(),
        model_usage: usage
            .map(|u| BTreeMap::from([(model.to_owned(), u)]))
            .unwrap_or_default(),
        total_time: Some(record.seconds),
        working_time: Some(record.seconds),
        error: record.error.as_deref().map(EvalError::message),
        extra,
    }
}

/// Per reducer, each sample's epochs reduced (samples with no scored epoch left out), as Inspect's
/// `reductions.json`.
fn reductions(run: &RunLog<'_>, scorer: &str, epochs: &[Vec<f64>]) -> Vec<EvalSampleReductions> {
    run.spec
        .parsed_reducers()
        .iter()
        .map(|reducer| EvalSampleReductions {
            scorer: scorer.to_owned(),
            reducer: Some(reducer.name()),
            samples: run
                .samples
                .iter()
                .zip(epochs)
                .filter_map(|(sample, values)| {
                    reducer.reduce(values).map(|v| EvalSampleScore {
                        value: ScoreValue::Value(score::Value::Number(v)),
                        answer: None,
                        explanation: None,
                        metadata: None,
                        sample_id: Some(sample.id.clone()),
                        extra: Map::new(),
                    })
                })
                .collect(),
            extra: Map::new(),
        })
        .collect()
}

fn metric(name: &str, value: f64) -> (String, EvalMetric) {
    (
        name.to_owned(),
        EvalMetric {
            name: name.to_owned(),
            value,
            params: Map::new(),
            metadata: None,
            extra: Map::new(),
        },
    )
}

/// `header.json`: spec and plan as at the start, the results as Inspect names them (per reducer the scorer's
/// `accuracy` and `stderr`, the 95% interval and groups in the score's metadata), stats and status.
fn header(run: &RunLog<'_>, start: LogStart, scorer: &str, usage: Usage) -> EvalLog {
    let results = run.results;
    let scores = results
        .reducers
        .iter()
        .map(|reduced| {
            let summary: Option<&Summary> = reduced.summary.as_ref();
            let scored = summary.map_or(0, |s| s.n) as u64;
            let metrics = summary
                .map(|s| BTreeMap::from([metric("accuracy", s.accuracy), metric("stderr", s.stderr)]))
                .unwrap_or_default();
            let mut metadata = Map::new();
            if let Some(s) = summary {
                metadata.insert("ci95".into(), json!([s.ci_low, s.ci_high]));
            }
            if reduced.reducer == results.reducers.first().map_or("", |r| r.reducer.as_str()) {
                for grouping in &results.groups {
                    let groups: Map = grouping
                        .groups
                        .iter()
                        .map(|(value, s)| {
                            (
                                value.clone().unwrap_or_default(),
                                json!({"n": s.n, "accuracy": s.accuracy, "stderr": s.stderr,
                                       "ci95": [s.ci_low, s.ci_high]}),
                            )
                        })
                        .collect();
                    metadata.insert(format!("group_by_{}", grouping.field), Json::Object(groups));
                }
            }
            EvalScore {
                name: scorer.to_owned(),
                scorer: scorer.to_owned(),
                reducer: Some(reduced.reducer.clone()),
                scored_samples: Some(scored),
                unscored_samples: Some((results.samples as u64).saturating_sub(scored)),
                params: Map::new(),
                metrics,
                metadata: (!metadata.is_empty()).then_some(metadata),
                extra: Map::new(),
            }
        })
        .collect();
    let epochs = u64::from(run.spec.epochs.max(1));
    EvalLog {
        version: LOG_VERSION,
        status: run.info.status,
        eval: start.eval,
        plan: start.plan,
        results: Some(EvalResults {
            total_samples: (results.samples as u64).saturating_mul(epochs),
            completed_samples: results.completed as u64,
            scores,
            extra: Map::new(),
        }),
        stats: EvalStats {
            started_at: run.info.started_at.to_owned(),
            completed_at: run.info.completed_at.to_owned(),
            model_usage: BTreeMap::from([(run.info.model.to_owned(), model_usage(usage))]),
            extra: Map::new(),
        },
        error: run.info.error.map(EvalError::message),
        extra: Map::new(),
    }
}

#[cfg(test)]
mod tests;
