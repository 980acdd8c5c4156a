//! Evaluation runs on the server and their results: rows and the store trait. The rules (who may start, see
//! and cancel a run; how a run is split into batches) live in `app::evals`; the SQL is in `queries/evals.rs`,
//! compiled once per backend. Reads a person makes take their `Audience`, compiled through `work_visible!`:
//! a run is its evaluator's work product, seen as their findings are.

use crate::{Audience, AuditEvent, NewJob, Page, Result};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalRunState {
    Queued,
    Running,
    Completed,
    Cancelled,
    /// Ended early by the service: the evaluator's access to the model ended (the reason says how).
    Stopped,
}

impl EvalRunState {
    pub fn as_str(self) -> &'static str {
        match self {
            EvalRunState::Queued => "queued",
            EvalRunState::Running => "running",
            EvalRunState::Completed => "completed",
            EvalRunState::Cancelled => "cancelled",
            EvalRunState::Stopped => "stopped",
        }
    }

    /// Whether the run may still make progress.
    pub fn is_active(self) -> bool {
        matches!(self, EvalRunState::Queued | EvalRunState::Running)
    }
}

impl TryFrom<String> for EvalRunState {
    type Error = String;

    fn try_from(value: String) -> std::result::Result<Self, String> {
        Ok(match value.as_str() {
            "queued" => EvalRunState::Queued,
            "running" => EvalRunState::Running,
            "completed" => EvalRunState::Completed,
            "cancelled" => EvalRunState::Cancelled,
            "stopped" => EvalRunState::Stopped,
            _ => return Err(format!("unknown run state {value:?}")),
        })
    }
}

/// A run, without its samples (`eval_run_samples` reads those).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct EvalRunRow {
    pub id: Uuid,
    pub notice_id: Uuid,
    pub user_id: Uuid,
    pub org_id: Uuid,
    pub token_id: Uuid,
    pub name: String,
    pub task: String,
    pub model: String,
    pub epochs: i32,
    pub seed: i64,
    #[sqlx(try_from = "String")]
    pub state: EvalRunState,
    pub reason: Option<String>,
    pub total: i64,
    pub done: i64,
    pub errors: i64,
    pub scored: i64,
    pub score_sum: f64,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub version: i64,
    /// The catalogue suite the task came from (its path under the suites directory), if any.
    pub suite: Option<String>,
    /// The digest of the suite's files the task reads, when the run started (`sha256:` and hex).
    pub suite_digest: Option<String>,
}

/// One sample's epoch as it ended. `record` is the transcript and score, compressed.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct EvalResultRow {
    pub run_id: Uuid,
    pub sample_index: i32,
    pub epoch: i32,
    pub sample_id: String,
    pub value: Option<f64>,
    pub error: Option<String>,
    pub record: Vec<u8>,
    pub created_at: DateTime<Utc>,
}

/// A run imported from a log, as `EvalStore::import_eval_run` stores it.
#[derive(Debug, Clone, Copy)]
pub struct ImportedRun<'a> {
    pub run: &'a EvalRunRow,
    /// The samples, compressed, as for a run of ours.
    pub samples: &'a [u8],
    pub results: &'a [EvalResultRow],
    /// The log's start, header and reductions, compressed.
    pub log: &'a [u8],
}

/// What recording a result did: whether it was new (a redone item is not), and the run's state after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    pub inserted: bool,
    pub state: EvalRunState,
}

#[async_trait]
pub trait EvalStore: Send + Sync + 'static {
    /// Stores a new run with its samples (compressed) and enqueues its batches, in one transaction.
    async fn create_eval_run(
        &self,
        run: &EvalRunRow,
        samples: &[u8],
        batches: &[NewJob],
        event: &AuditEvent,
    ) -> Result<()>;
    /// A run, for the service's own work (a worker); people read through `visible_eval_run`.
    async fn eval_run(&self, id: Uuid) -> Result<Option<EvalRunRow>>;
    /// A run's samples as stored.
    async fn eval_run_samples(&self, id: Uuid) -> Result<Option<Vec<u8>>>;
    /// The run, if the audience may see it.
    async fn visible_eval_run(&self, id: Uuid, audience: &Audience) -> Result<Option<EvalRunRow>>;
    /// A notice's runs the audience may see, by id.
    async fn list_eval_runs(
        &self,
        notice_id: Uuid,
        audience: &Audience,
        page: &Page<Uuid>,
    ) -> Result<Vec<EvalRunRow>>;
    /// Marks a queued run running (when its first batch starts); false when it was not queued.
    async fn start_eval_run(&self, id: Uuid, at: DateTime<Utc>) -> Result<bool>;
    /// Ends a queued or running run as `state` (cancelled, stopped) with its reason and event; false (and no
    /// event) when it had already ended.
    async fn end_eval_run(
        &self,
        id: Uuid,
        state: EvalRunState,
        reason: Option<&str>,
        at: DateTime<Utc>,
        event: &AuditEvent,
    ) -> Result<bool>;
    /// Which of the items with sample index in `from..=to` are recorded, as (index, epoch).
    async fn recorded_eval_items(&self, run_id: Uuid, from: i32, to: i32) -> Result<Vec<(i32, i32)>>;
    /// Records a result unless one exists for its item; only a new one counts towards the run's counters, and
    /// the one that makes `done` reach `total` completes the run (writing `completed`, its event).
    async fn record_eval_result(&self, result: &EvalResultRow, completed: &AuditEvent) -> Result<Recorded>;
    /// A completed run's results as stored (JSON), or none yet.
    async fn eval_run_results(&self, id: Uuid) -> Result<Option<String>>;
    /// Stores a completed run's results unless some are stored already (they are a function of its recorded
    /// items, so whoever computes them first computes the same); false when nothing was written.
    async fn store_eval_run_results(&self, id: Uuid, results: &str) -> Result<bool>;
    /// A run's results in item order, after (index, epoch).
    async fn list_eval_results(
        &self,
        run_id: Uuid,
        after: Option<(i32, i32)>,
        limit: i64,
    ) -> Result<Vec<EvalResultRow>>;
    /// One item's result.
    async fn eval_result(&self, run_id: Uuid, sample_index: i32, epoch: i32)
    -> Result<Option<EvalResultRow>>;
    /// The first `limit` of a run's results as (sample id, epoch, value), in item order, without their records.
    async fn eval_result_values(&self, run_id: Uuid, limit: i64) -> Result<Vec<(String, i32, Option<f64>)>>;
    /// Stores a run imported from a log, already completed, with every result and the log's own parts
    /// (`log`, compressed), in one transaction: all of it or nothing. The run's `token_id` names a token
    /// written here already revoked (an imported run calls no model).
    async fn import_eval_run(&self, import: &ImportedRun<'_>, event: &AuditEvent) -> Result<()>;
    /// The log parts an imported run was stored with; `None` for a run of ours.
    async fn eval_import_log(&self, run_id: Uuid) -> Result<Option<Vec<u8>>>;
}
