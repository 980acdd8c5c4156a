//! Evaluation runs on the server. An assigned evaluator starts a run on a notice: the task (TOML) and its
//! dataset (JSONL or CSV, bounded), or one of the example suites shipped with the binary, against a model the
//! notice's gateway grants. The run is stored with its samples and split into `eval.batch` jobs; workers run
//! each batch through the gateway's in-process call API with a token issued for the run, recording each item
//! as it ends. A recorded item is never run again, so a batch redone after its worker died does only what is
//! missing, and the store counts each item once.

use crate::jobs::JobRequest;
use crate::page::{PageRequest, Paged, paginate};
use crate::{App, AppError, AppResult, Caller, policy};
use chrono::{DateTime, Utc};
use evals::dataset::{self, Format, Limits};
use evals::metrics::{Z_95, wilson};
use evals::runner::{self, Results, SampleRecord};
use evals::sample::Sample;
use evals::solve::Plan;
use evals::task::{MAX_EPOCHS, ScorerSpec, TaskFile};
use review::ValidationError;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;
use store::{EvalRunRow, EvalRunState};
use uuid::Uuid;

/// The job kind of one batch of a run.
pub const EVAL_BATCH: &str = "eval.batch";
/// The job kind of one batch of a run whose samples run in sandboxes: taken only by workers that have one.
pub const EVAL_SANDBOX_BATCH: &str = "eval.sandbox_batch";
/// What a queued run that needs a sandbox says while no worker with one has taken it.
pub const WAITING_FOR_SANDBOX: &str = "waiting for a worker with a sandbox";
/// Items (sample × epoch) per batch.
pub const BATCH_ITEMS: usize = 8;
/// The most a dataset given inline may hold, in bytes (the request body's own limit is 256 KiB).
pub const DATASET_LIMIT: u64 = 192 * 1024;
/// The most items (samples × epochs) a run may have.
pub const MAX_ITEMS: usize = 20_000;
/// The longest task file.
pub const TASK_LIMIT: usize = 32 * 1024;
/// How often a running batch looks whether its run was cancelled or stopped.
pub(super) const STATE_POLL: Duration = Duration::from_millis(500);
/// zstd's level for stored samples and records: fast, and small enough.
const ZSTD_LEVEL: i32 = 3;

/// The example suites shipped with the binary: (name, task file, dataset). Agentic suites need files on disk
/// and a sandbox, so they are run from the terminal for now.
const SUITES: &[(&str, &str, &str)] = &[
    (
        "knowledge",
        include_str!("../../../../suites/examples/knowledge.toml"),
        include_str!("../../../../suites/examples/knowledge.jsonl"),
    ),
    (
        "code",
        include_str!("../../../../suites/examples/code.toml"),
        include_str!("../../../../suites/examples/code.jsonl"),
    ),
];

/// A run as a caller asks for it.
#[derive(Debug, Clone, Default)]
pub struct NewEvalRun {
    pub notice_id: Uuid,
    pub model: String,
    pub task: Option<String>,
    pub dataset: Option<String>,
    /// `jsonl` or `csv`; by default JSONL when the dataset starts with `{`, CSV otherwise.
    pub dataset_format: Option<String>,
    pub suite: Option<String>,
    pub epochs: Option<u32>,
    pub limit: Option<u32>,
}

/// Accuracy so far with its 95% Wilson interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AccuracyView {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct EvalRunView {
    pub id: Uuid,
    pub notice_id: Uuid,
    pub user_id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub model: String,
    pub epochs: i32,
    pub seed: i64,
    pub state: &'static str,
    pub reason: Option<String>,
    pub total: i64,
    pub done: i64,
    pub errors: i64,
    pub accuracy: Option<AccuracyView>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// The catalogue suite the run's task came from, and the digest of its files when the run started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suite: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suite_digest: Option<String>,
    /// While queued, what the run waits for (a run of agents waits for a worker with a sandbox).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting: Option<&'static str>,
    /// The task's results (every reducer and grouping, `evals::runner::Results`), once the run is completed:
    /// computed once when it completes and stored with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub results: Option<Box<RawValue>>,
}

impl From<EvalRunRow> for EvalRunView {
    fn from(r: EvalRunRow) -> Self {
        let accuracy = usize::try_from(r.scored).ok().filter(|n| *n > 0).map(|n| {
            let value = r.score_sum / n as f64;
            let (low, high) = wilson(value, n, Z_95);
            AccuracyView { value, low, high }
        });
        let waiting = (r.state == EvalRunState::Queued && r.started_at.is_none() && runs_in_sandbox(&r))
            .then_some(WAITING_FOR_SANDBOX);
        EvalRunView {
            id: r.id,
            notice_id: r.notice_id,
            user_id: r.user_id,
            org_id: r.org_id,
            name: r.name,
            model: r.model,
            epochs: r.epochs,
            seed: r.seed,
            state: r.state.as_str(),
            reason: r.reason,
            total: r.total,
            done: r.done,
            errors: r.errors,
            accuracy,
            created_at: r.created_at,
            started_at: r.started_at,
            ended_at: r.ended_at,
            suite: r.suite,
            suite_digest: r.suite_digest,
            waiting,
            results: None,
        }
    }
}

/// One sample's epoch: its score's value (none for an error) and its record (transcript, answer, score).
#[derive(Debug, Clone, Serialize)]
pub struct EvalResultView {
    pub sample_index: i32,
    pub epoch: i32,
    pub sample_id: String,
    pub value: Option<f64>,
    pub error: Option<String>,
    pub record: Value,
}

/// Whether a run's samples run in sandboxes: a catalogue suite's agent task.
fn runs_in_sandbox(run: &EvalRunRow) -> bool {
    run.suite.is_some()
        && TaskFile::parse(&run.task)
            .is_ok_and(|spec| matches!(spec.solver, evals::task::SolverSpec::Agent { .. }))
}

/// A batch's payload: its run and items as `[index, epoch]` pairs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct BatchPayload {
    pub(super) run: Uuid,
    pub(super) items: Vec<(usize, u32)>,
}

fn invalid(field: &str, message: impl Into<String>) -> AppError {
    ValidationError::new(field, message).into()
}

pub(super) fn compress(bytes: &[u8]) -> AppResult<Vec<u8>> {
    zstd::bulk::compress(bytes, ZSTD_LEVEL).map_err(|e| AppError::Internal(Box::new(e)))
}

/// The most a stored blob (a run's samples, one record) decompresses to.
const DECOMPRESSED_LIMIT: usize = 64 * 1024 * 1024;

/// Decompresses what `compress` wrote, bounded so a corrupt row cannot take all memory.
pub(super) fn decompress(bytes: &[u8]) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let failed = |e: std::io::Error| format!("a stored record does not decompress: {e}");
    let mut out = Vec::new();
    zstd::stream::read::Decoder::new(bytes)
        .map_err(failed)?
        .take(DECOMPRESSED_LIMIT as u64 + 1)
        .read_to_end(&mut out)
        .map_err(failed)?;
    if out.len() > DECOMPRESSED_LIMIT {
        return Err(format!(
            "a stored record decompresses to more than {DECOMPRESSED_LIMIT} bytes"
        ));
    }
    Ok(out)
}

/// A task to run: its text, definition and samples, and (from the catalogue) its suite's name and digest.
type ChosenTask = (String, TaskFile, Vec<Sample>, Option<(String, String)>);

/// A task of the catalogue suite a request names. `None` when the suite is not the catalogue's.
fn catalogue_task(app: &App, input: &NewEvalRun) -> AppResult<Option<ChosenTask>> {
    let Some(name) = &input.suite else {
        return Ok(None);
    };
    let Some(suite) = app.suites.get(name) else {
        return Ok(None);
    };
    if input.dataset.is_some() || input.dataset_format.is_some() {
        return Err(invalid(
            "dataset",
            "a suite brings its own dataset; give either a suite or a task with its dataset",
        ));
    }
    let task = match &input.task {
        None if suite.tasks.len() == 1 => suite.tasks.first(),
        None => None,
        Some(wanted) => suite.tasks.iter().find(|t| &t.spec.name == wanted),
    }
    .ok_or_else(|| {
        let names: Vec<&str> = suite.tasks.iter().map(|t| t.spec.name.as_str()).collect();
        invalid(
            "task",
            format!("name one of the suite's tasks: {}", names.join(", ")),
        )
    })?;
    if task.samples.is_empty() {
        return Err(invalid("suite", "the suite's task holds no samples"));
    }
    Ok(Some((
        suite.text.clone(),
        task.spec.clone(),
        task.samples.clone(),
        Some((suite.name.clone(), suite.digest.clone())),
    )))
}

/// The task and samples of a request, checked: every problem is the caller's, named by its field.
fn task_of(input: &NewEvalRun, catalogue: &[String]) -> AppResult<(String, TaskFile, Vec<Sample>)> {
    let (text, data) = match (&input.suite, &input.task, &input.dataset) {
        (Some(name), None, None) => {
            let (_, task, data) = SUITES.iter().find(|(n, _, _)| n == name).ok_or_else(|| {
                let mut names: Vec<&str> = catalogue.iter().map(String::as_str).collect();
                names.extend(SUITES.iter().map(|s| s.0));
                invalid(
                    "suite",
                    format!("no suite named {name:?}; the suites are {}", names.join(", ")),
                )
            })?;
            ((*task).to_string(), (*data).to_string())
        }
        (None, Some(task), Some(data)) => (task.clone(), data.clone()),
        (Some(_), _, _) => {
            return Err(invalid(
                "suite",
                "give either a suite or a task with its dataset, not both",
            ));
        }
        (None, None, _) => return Err(invalid("task", "is required (or name a suite)")),
        (None, Some(_), None) => return Err(invalid("dataset", "is required with a task")),
    };
    if text.len() > TASK_LIMIT {
        return Err(invalid("task", format!("is longer than {TASK_LIMIT} bytes")));
    }
    let spec = TaskFile::parse(&text).map_err(|problems| {
        let said: Vec<String> = problems
            .iter()
            .map(|p| match p.line {
                Some(line) => format!("line {line}: {}", p.message),
                None => p.message.clone(),
            })
            .collect();
        invalid("task", said.join("; "))
    })?;
    if data.len() as u64 > DATASET_LIMIT {
        return Err(invalid(
            "dataset",
            format!("is {} bytes, more than the limit of {DATASET_LIMIT}", data.len()),
        ));
    }
    let format = match input.dataset_format.as_deref() {
        Some("jsonl") => Format::JsonLines,
        Some("csv") => Format::Csv,
        Some(other) => {
            return Err(invalid(
                "dataset_format",
                format!("must be jsonl or csv, not {other:?}"),
            ));
        }
        None if data.trim_start().starts_with('{') => Format::JsonLines,
        None => Format::Csv,
    };
    let limits = Limits {
        file_bytes: DATASET_LIMIT,
        samples: MAX_ITEMS,
    };
    let samples = dataset::parse(Path::new("dataset"), format, data.as_bytes(), limits).map_err(|e| {
        invalid(
            "dataset",
            match e.line {
                Some(line) => format!("line {line}: {}", e.message),
                None => e.message,
            },
        )
    })?;
    if samples.is_empty() {
        return Err(invalid("dataset", "holds no samples"));
    }
    Ok((text, spec, samples))
}

impl App {
    /// Starts a run: checks everything, issues the run's gateway token, stores the run with its samples and
    /// queues its batches. Nothing is stored unless all of it is valid.
    pub async fn start_eval_run(&self, caller: &Caller, input: NewEvalRun) -> AppResult<EvalRunView> {
        let (notice, _) = self.visible_notice(caller, input.notice_id).await?;
        if !policy::can_start_eval_run(caller, self.is_assigned(caller, input.notice_id).await?) {
            return Err(AppError::Forbidden(
                "only evaluators assigned to this notice start evaluation runs on it",
            ));
        }
        Self::check_not_withdrawn(&notice)?;
        let (text, mut spec, mut samples, suite) = match catalogue_task(self, &input)? {
            Some(chosen) => chosen,
            None => {
                let names: Vec<String> = self.suites.suites.iter().map(|s| s.name.clone()).collect();
                let (text, spec, samples) = task_of(&input, &names)?;
                (text, spec, samples, None)
            }
        };
        if let Some(epochs) = input.epochs {
            if !(1..=MAX_EPOCHS).contains(&epochs) {
                return Err(invalid("epochs", format!("must be between 1 and {MAX_EPOCHS}")));
            }
            spec.epochs = epochs;
        }
        if let Some(limit) = input.limit {
            if limit == 0 {
                return Err(invalid("limit", "must be at least 1"));
            }
            samples.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        }
        let plan = Plan::new(spec.clone()).map_err(|e| invalid("task", e))?;
        let sandboxed = plan.needs_sandbox()
            || samples
                .iter()
                .any(|s| s.files.as_ref().is_some_and(|f| !f.is_empty()) || s.setup.is_some());
        if sandboxed && suite.is_none() {
            return Err(invalid(
                "task",
                "agent tasks need a sandbox with the challenge's files: name a suite of the server's catalogue \
                 (GET /api/v1/eval-suites), or run them with `prelaunch eval run`",
            ));
        }
        let kind = if sandboxed { EVAL_SANDBOX_BATCH } else { EVAL_BATCH };
        let models = self.gateway_models_of(caller, input.notice_id).await?;
        let mut wanted = vec![("model", input.model.as_str())];
        if let ScorerSpec::ModelGraded {
            model: Some(grader), ..
        } = &spec.scorer
        {
            wanted.push(("task", grader.as_str()));
        }
        for (field, name) in wanted {
            match models.iter().find(|m| m.name == name) {
                None => {
                    let names: Vec<&str> = models.iter().map(|m| m.name.as_str()).collect();
                    return Err(invalid(
                        field,
                        format!(
                            "the notice's gateway has no model {name:?} (it has: {})",
                            names.join(", ")
                        ),
                    ));
                }
                Some(m) if m.api_style != "openai" => {
                    return Err(invalid(
                        field,
                        format!(
                            "{name:?} is called in the {} style; runs call models in the OpenAI style",
                            m.api_style
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
        let items = runner::work_items(samples.len(), spec.epochs);
        if items.len() > MAX_ITEMS {
            return Err(invalid(
                "epochs",
                format!(
                    "the run would have {} items (samples × epochs), more than {MAX_ITEMS}",
                    items.len()
                ),
            ));
        }
        let samples_json = serde_json::to_vec(&samples).map_err(|e| AppError::Internal(Box::new(e)))?;
        let stored_samples = compress(&samples_json)?;
        let id = Uuid::now_v7();
        // The run's own gateway token: its calls are the evaluator's, under their limits and records.
        let (token, _secret) = self
            .create_gateway_token(caller, input.notice_id, &format!("evaluation run {id}"), None)
            .await?;
        let now = self.clock.now();
        let run = EvalRunRow {
            id,
            notice_id: input.notice_id,
            user_id: caller.user_id(),
            org_id: caller.org_id(),
            token_id: token.id,
            name: spec.name.clone(),
            task: text,
            model: input.model.clone(),
            epochs: i32::try_from(spec.epochs).unwrap_or(i32::MAX),
            seed: i64::try_from(spec.seed).unwrap_or(i64::MAX),
            state: EvalRunState::Queued,
            reason: None,
            total: i64::try_from(items.len()).unwrap_or(i64::MAX),
            done: 0,
            errors: 0,
            scored: 0,
            score_sum: 0.0,
            created_at: now,
            started_at: None,
            ended_at: None,
            version: 1,
            suite: suite.as_ref().map(|s| s.0.clone()),
            suite_digest: suite.map(|s| s.1),
        };
        let batches = items
            .chunks(BATCH_ITEMS)
            .map(|chunk| {
                let payload = BatchPayload {
                    run: id,
                    items: chunk.iter().map(|i| (i.index, i.epoch)).collect(),
                };
                JobRequest::new(kind, json!(payload))
                    .attempts(20)
                    .into_new_job(now)
            })
            .collect::<Vec<_>>();
        let event = self.event(
            caller.into(),
            "eval_run.start",
            "eval_run",
            Some(id),
            json!({"notice": input.notice_id, "name": run.name, "model": run.model, "items": run.total,
                   "suite": run.suite, "suite_digest": run.suite_digest}),
        );
        self.store
            .create_eval_run(&run, &stored_samples, &batches, &event)
            .await?;
        Ok(run.into())
    }

    pub(super) async fn visible_eval_run(&self, caller: &Caller, id: Uuid) -> AppResult<EvalRunRow> {
        self.store
            .visible_eval_run(id, &policy::audience(caller))
            .await?
            .ok_or(AppError::NotFound("evaluation run"))
    }

    /// A run with its progress; once completed, its results as the task's metrics state them: the stored ones
    /// (one row), or, when the worker that completed the run could not store them, computed now and stored.
    pub async fn get_eval_run(&self, caller: &Caller, id: Uuid) -> AppResult<EvalRunView> {
        let run = self.visible_eval_run(caller, id).await?;
        let completed = run.state == EvalRunState::Completed;
        let mut view = EvalRunView::from(run.clone());
        if completed {
            let json = match self.store.eval_run_results(id).await? {
                Some(json) => json,
                None => self.store_results(&run).await?,
            };
            view.results = Some(RawValue::from_string(json).map_err(|e| internal(e.to_string()))?);
        }
        Ok(view)
    }

    /// A run's results recomputed from every recorded item (what is stored when it completes).
    pub async fn summarize_eval_run(&self, id: Uuid) -> AppResult<Option<Results>> {
        let Some(run) = self.store.eval_run(id).await? else {
            return Ok(None);
        };
        Ok(Some(self.summarize(&run).await?))
    }

    async fn summarize(&self, run: &EvalRunRow) -> AppResult<Results> {
        let samples = self.run_samples(run.id).await.map_err(internal)?;
        let spec = TaskFile::parse(&run.task).map_err(|_| internal("a stored task does not parse".into()))?;
        let spec = TaskFile {
            epochs: u32::try_from(run.epochs).unwrap_or(1),
            ..spec
        };
        let plan = Plan::new(spec).map_err(internal)?;
        let mut records = Vec::new();
        let mut after = None;
        loop {
            let rows = self.store.list_eval_results(run.id, after, 1000).await?;
            let Some(last) = rows.last() else { break };
            after = Some((last.sample_index, last.epoch));
            for row in rows {
                let bytes = decompress(&row.record).map_err(internal)?;
                let record: SampleRecord =
                    serde_json::from_slice(&bytes).map_err(|e| internal(e.to_string()))?;
                records.push(record);
            }
        }
        Ok(runner::summarize(&plan, &samples, &records))
    }

    /// Computes a completed run's results and stores them unless they already are; the stored ones.
    pub(super) async fn store_results(&self, run: &EvalRunRow) -> AppResult<String> {
        let results = self.summarize(run).await?;
        let json = serde_json::to_string(&results).map_err(|e| internal(e.to_string()))?;
        if self.store.store_eval_run_results(run.id, &json).await? {
            return Ok(json);
        }
        // Someone else stored them first: theirs, computed from the same items.
        Ok(self.store.eval_run_results(run.id).await?.unwrap_or(json))
    }

    /// A notice's runs the caller may see.
    pub async fn list_eval_runs(
        &self,
        caller: &Caller,
        notice_id: Uuid,
        page: &PageRequest,
    ) -> AppResult<Paged<EvalRunView>> {
        self.visible_notice(caller, notice_id).await?;
        let (limit, fetch) = page.by_id()?;
        let rows = self
            .store
            .list_eval_runs(notice_id, &policy::audience(caller), &fetch)
            .await?;
        Ok(paginate(rows, limit, |r| r.id.to_string(), EvalRunView::from))
    }

    /// A run's results in item order, with transcripts and scores.
    pub async fn list_eval_results(
        &self,
        caller: &Caller,
        run_id: Uuid,
        page: &PageRequest,
    ) -> AppResult<Paged<EvalResultView>> {
        self.visible_eval_run(caller, run_id).await?;
        let limit = page.limit()?;
        let after = page.after(|s| {
            let (i, e) = s.split_once(':')?;
            Some((i.parse::<i32>().ok()?, e.parse::<i32>().ok()?))
        })?;
        let rows = self.store.list_eval_results(run_id, after, limit + 1).await?;
        let mut views = Vec::with_capacity(rows.len());
        for row in rows {
            let bytes = decompress(&row.record).map_err(internal)?;
            let record: Value = serde_json::from_slice(&bytes).map_err(|e| internal(e.to_string()))?;
            views.push(EvalResultView {
                sample_index: row.sample_index,
                epoch: row.epoch,
                sample_id: row.sample_id,
                value: row.value,
                error: row.error,
                record,
            });
        }
        Ok(paginate(
            views,
            limit,
            |v| format!("{}:{}", v.sample_index, v.epoch),
            |v| v,
        ))
    }

    /// Cancels a queued or running run: batches running stop at their next item, queued ones end at once.
    pub async fn cancel_eval_run(&self, caller: &Caller, id: Uuid) -> AppResult<EvalRunView> {
        let run = self.visible_eval_run(caller, id).await?;
        if !policy::can_cancel_eval_run(caller, &run) {
            return Err(AppError::Forbidden(
                "only the run's evaluator, or an admin of their agency, cancels it",
            ));
        }
        if !run.state.is_active() {
            return Err(AppError::Conflict(format!(
                "the run is already {}",
                run.state.as_str()
            )));
        }
        let event = self.event(
            caller.into(),
            "eval_run.cancel",
            "eval_run",
            Some(id),
            json!({"notice": run.notice_id}),
        );
        let now = self.clock.now();
        if !self
            .store
            .end_eval_run(
                id,
                EvalRunState::Cancelled,
                Some("cancelled by a person"),
                now,
                &event,
            )
            .await?
        {
            return Err(AppError::Conflict("the run has already ended".into()));
        }
        self.get_eval_run(caller, id).await
    }

    pub(super) async fn run_samples(&self, id: Uuid) -> Result<Vec<Sample>, String> {
        let stored = self
            .store
            .eval_run_samples(id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the run's samples are gone")?;
        let bytes = decompress(&stored)?;
        serde_json::from_slice(&bytes).map_err(|e| format!("the run's samples do not read back: {e}"))
    }
}

pub(super) fn internal(message: String) -> AppError {
    AppError::Internal(message.into())
}
