//! The workers' side of evaluation runs: the `eval.batch` job handler. A batch runs its items through the
//! gateway's in-process call API (in a sandbox per sample for agentic suites), records each item as it ends,
//! and stops when the run is cancelled, stopped, or its access ends.

use super::runs::{BatchPayload, EVAL_BATCH, EVAL_SANDBOX_BATCH, STATE_POLL, compress};
use super::suites::Suite;
use super::{GatewayModel, Sandboxed};
use crate::jobs::{Completion, JobError, JobHandler, Registry};
use crate::{Actor, App};
use async_trait::async_trait;
use evals::load::SandboxedSample;
use evals::model::Model;
use evals::runner::{self, Environment, NoSandbox, Run, RunConfig, RunEnd, SampleRecord, Sink, WorkItem};
use evals::sample::Sample;
use evals::solve::Plan;
use evals::task::{ScorerSpec, TaskFile};
use serde_json::json;
use std::sync::Arc;
use store::{EvalResultRow, EvalRunRow, EvalRunState, Job};
use tokio::sync::watch;
use uuid::Uuid;

/// Adds the batch handlers. A worker without a sandbox does not take `EVAL_SANDBOX_BATCH` (see
/// `App::runnable`).
pub fn register(registry: Registry) -> Registry {
    registry
        .handle(EVAL_BATCH, Batch)
        .handle(EVAL_SANDBOX_BATCH, Batch)
}

struct Batch;

/// Ends a run early with the reason, as the service.
async fn stop_run(app: &App, run: &EvalRunRow, reason: &str) -> Result<(), JobError> {
    let event = app.event(
        Actor::Person {
            user_id: run.user_id,
            org_id: run.org_id,
        },
        "eval_run.stop",
        "eval_run",
        Some(run.id),
        json!({"notice": run.notice_id, "reason": reason}),
    );
    app.store
        .end_eval_run(
            run.id,
            EvalRunState::Stopped,
            Some(reason),
            app.clock.now(),
            &event,
        )
        .await?;
    Ok(())
}

/// Where each sample of a catalogue run finds its files and whether it wants a fresh flag: the suite loaded
/// again from this worker's suites directory, refused (with the run's reason) unless its files are the ones
/// the run started with.
fn suite_places(app: &App, run: &EvalRunRow) -> Result<Vec<SandboxedSample>, String> {
    let name = run
        .suite
        .as_deref()
        .ok_or("the run names no suite, so its challenges' files cannot be found")?;
    let root =
        app.config.suites_dir.as_deref().ok_or_else(|| {
            format!("the worker has no suites directory, so the suite {name} cannot be found")
        })?;
    let suite = Suite::load(root, name)
        .map_err(|e| format!("the suite {name} cannot be loaded on this worker: {e}"))?;
    if run.suite_digest.as_deref() != Some(suite.digest.as_str()) {
        return Err(format!(
            "the suite {name} changed since the run started (its files were {}, they are now {}); \
             start a new run to evaluate the suite as it is",
            run.suite_digest.as_deref().unwrap_or("unknown"),
            suite.digest
        ));
    }
    let task = suite
        .tasks
        .into_iter()
        .find(|t| t.spec.name == run.name)
        .ok_or_else(|| format!("the suite {name} has no task {:?}", run.name))?;
    Ok(task.sandboxed)
}

/// Runs whose samples a worker process keeps decoded, at most: a run's batches would otherwise each
/// decompress and parse all of its samples (up to `MAX_ITEMS`) to run their 8.
const SAMPLE_CACHE_RUNS: usize = 4;

/// The decoded samples of the runs this process ran batches of lately, newest last. A run's samples never
/// change once stored, so a kept copy is never stale. One per `App`, shared by its clones.
#[derive(Default)]
pub struct SampleCache(std::sync::Mutex<Vec<(Uuid, Arc<Vec<Sample>>)>>);

impl SampleCache {
    fn get(&self, run: Uuid) -> Option<Arc<Vec<Sample>>> {
        self.0
            .lock()
            .ok()
            .and_then(|c| c.iter().find(|(id, _)| *id == run).map(|(_, s)| s.clone()))
    }

    fn keep(&self, run: Uuid, samples: &Arc<Vec<Sample>>) {
        if let Ok(mut cache) = self.0.lock()
            && !cache.iter().any(|(id, _)| *id == run)
        {
            if cache.len() >= SAMPLE_CACHE_RUNS {
                cache.remove(0);
            }
            cache.push((run, samples.clone()));
        }
    }
}

impl std::fmt::Debug for SampleCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SampleCache")
    }
}

/// A run's samples for one of its batches: from the cache, or read, decoded and kept.
async fn batch_samples(app: &App, run: Uuid) -> Result<Arc<Vec<Sample>>, String> {
    if let Some(samples) = app.eval_samples.get(run) {
        return Ok(samples);
    }
    let samples = Arc::new(app.run_samples(run).await?);
    app.eval_samples.keep(run, &samples);
    Ok(samples)
}

/// Records each item into `eval_results` as it ends.
struct StoreSink<'a> {
    app: &'a App,
    run: &'a EvalRunRow,
}

#[async_trait]
impl Sink for StoreSink<'_> {
    async fn record(&self, record: SampleRecord) -> Result<(), String> {
        let json = serde_json::to_vec(&record).map_err(|e| e.to_string())?;
        let row = EvalResultRow {
            run_id: self.run.id,
            sample_index: i32::try_from(record.item.index).map_err(|e| e.to_string())?,
            epoch: i32::try_from(record.item.epoch).map_err(|e| e.to_string())?,
            sample_id: record.sample_id.to_string(),
            value: record.value(),
            error: record.error.clone(),
            record: compress(&json).map_err(|e| e.to_string())?,
            created_at: self.app.clock.now(),
        };
        let completed = self.app.event(
            Actor::Person {
                user_id: self.run.user_id,
                org_id: self.run.org_id,
            },
            "eval_run.complete",
            "eval_run",
            Some(self.run.id),
            json!({"notice": self.run.notice_id}),
        );
        let recorded = self
            .app
            .store
            .record_eval_result(&row, &completed)
            .await
            .map_err(|e| e.to_string())?;
        // The result that completed the run: its results are computed once, now, and stored with it. Should
        // that fail, the first read of the run computes them instead.
        if recorded.inserted
            && recorded.state == EvalRunState::Completed
            && let Err(e) = self.app.store_results(self.run).await
        {
            tracing::warn!(error = %e, run = %self.run.id, "could not store the run's results");
        }
        Ok(())
    }
}

#[async_trait]
impl JobHandler for Batch {
    async fn run(&self, app: &App, job: &Job) -> Result<Completion, JobError> {
        let payload: BatchPayload = serde_json::from_value(job.payload.clone())
            .map_err(|e| JobError::permanent(format!("not a batch: {e}")))?;
        let Some(run) = app.store.eval_run(payload.run).await? else {
            return Ok(Completion::done());
        };
        if !run.state.is_active() {
            return Ok(Completion::done());
        }
        app.store.start_eval_run(run.id, app.clock.now()).await?;
        // What is already recorded (by an earlier attempt of this batch) is not run again.
        let from = payload.items.iter().map(|i| i.0).min().unwrap_or(0);
        let to = payload.items.iter().map(|i| i.0).max().unwrap_or(0);
        let recorded = app
            .store
            .recorded_eval_items(
                run.id,
                i32::try_from(from).unwrap_or(i32::MAX),
                i32::try_from(to).unwrap_or(i32::MAX),
            )
            .await?;
        let items: Vec<WorkItem> = payload
            .items
            .iter()
            .filter(|(index, epoch)| {
                !recorded.iter().any(|(i, e)| {
                    usize::try_from(*i).ok() == Some(*index) && u32::try_from(*e).ok() == Some(*epoch)
                })
            })
            .map(|&(index, epoch)| WorkItem { index, epoch })
            .collect();
        if items.is_empty() {
            return Ok(Completion::done());
        }
        let samples = batch_samples(app, run.id).await.map_err(JobError::retry)?;
        let spec =
            TaskFile::parse(&run.task).map_err(|_| JobError::permanent("the run's task does not parse"))?;
        let spec = TaskFile {
            epochs: u32::try_from(run.epochs).unwrap_or(1),
            ..spec
        };
        let grader_name = match &spec.scorer {
            ScorerSpec::ModelGraded { model, .. } => Some(model.clone().unwrap_or_else(|| run.model.clone())),
            _ => None,
        };
        let plan = Plan::new(spec).map_err(JobError::permanent)?;
        let model = GatewayModel {
            app: app.clone(),
            token_id: run.token_id,
            model: run.model.clone(),
        };
        let grader = grader_name.map(|name| GatewayModel {
            app: app.clone(),
            token_id: run.token_id,
            model: name,
        });
        // A run of agents: each sample in its own sandbox, with the challenge's files as the run started with.
        let places: Vec<SandboxedSample>;
        let sandboxed = if job.kind == EVAL_SANDBOX_BATCH {
            let Some(sandbox) = &app.config.sandbox else {
                return Err(JobError::retry("this worker has no sandbox"));
            };
            places = match suite_places(app, &run) {
                Ok(places) => places,
                Err(reason) => {
                    stop_run(app, &run, &reason).await?;
                    return Ok(Completion::done());
                }
            };
            Some(Sandboxed {
                pool: &sandbox.pool,
                limits: sandbox.limits.clone(),
                tool_timeout: sandbox.tool_timeout,
                samples: &places,
            })
        } else {
            None
        };
        let environment: &dyn Environment = match &sandboxed {
            Some(sandboxed) => sandboxed,
            None => &NoSandbox,
        };
        let sink = StoreSink { app, run: &run };
        let config = RunConfig {
            samples_at_once: 16,
            calls_initial: 8,
            calls_max: 64,
            ..RunConfig::default()
        };
        let spec = Run {
            plan: &plan,
            samples: samples.as_slice(),
            model: &model,
            grader: grader.as_ref().map(|g| g as &dyn Model),
            environment,
            sink: &sink,
            config,
        };
        // A cancelled (or stopped) run is seen within `STATE_POLL` and the batch stops at its next item.
        let (cancel, cancelled) = watch::channel(false);
        let watcher = {
            let app = app.clone();
            let id = run.id;
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(STATE_POLL).await;
                    match app.store.eval_run(id).await {
                        Ok(Some(r)) if r.state.is_active() => {}
                        Ok(_) => {
                            let _ = cancel.send(true);
                            return;
                        }
                        Err(e) => tracing::warn!(error = %e, run = %id, "cannot read the run's state"),
                    }
                }
            })
        };
        let end = runner::run(&spec, &items, cancelled, &|_| {}).await;
        watcher.abort();
        match end {
            RunEnd::Completed | RunEnd::Cancelled => Ok(Completion::done()),
            RunEnd::AccessEnded(reason) => {
                stop_run(app, &run, &format!("access to the model ended: {reason}")).await?;
                Ok(Completion::done())
            }
            RunEnd::SinkFailed(e) => Err(JobError::retry(format!("a result could not be recorded: {e}"))),
        }
    }
}
