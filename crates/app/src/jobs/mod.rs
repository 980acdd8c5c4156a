//! Background work: the rules of the job queue and the worker that runs it.
//!
//! A job is a row in the database (`store::JobStore`): a kind, a JSON payload, when it is due. A `Worker`
//! claims due jobs of the kinds its `Registry` knows, runs each kind's `JobHandler`, and records the outcome:
//! done, a retry after an exponential backoff with jitter, or failed for good once its attempts are spent
//! (kept with the reason; a program administrator can queue it again). While a job runs, the worker renews
//! its lease; a worker that dies leaves its jobs to be taken over when their leases lapse.
//!
//! Exactly-once effects: a handler whose effect is in the database writes it together with the job's
//! completion, through a store method that joins the two in one transaction (and reports
//! `Completion::Finished`); a handler that calls the outside world makes the call idempotent (a key derived
//! from the job) or accepts at-least-once.
//!
//! Recurring work is a `Schedule`: every worker enqueues each schedule's job for the current period under an
//! idempotency key naming the period, so exactly one job runs per period however many workers there are.

pub mod admin;
pub mod kinds;

use crate::{App, AppResult};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use futures_util::FutureExt;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use store::{Job, JobClaim, JobOutcome, JobResult, NewJob, StoreError};
use uuid::Uuid;

/// The longest stored error text of a failed attempt.
const MAX_ERROR_CHARS: usize = 2_000;

/// A job to enqueue; `JobRequest::new(kind, payload)` and the builder methods.
#[derive(Debug, Clone)]
pub struct JobRequest {
    pub kind: String,
    pub payload: Value,
    /// When it is due; `None`: now.
    pub run_at: Option<DateTime<Utc>>,
    pub priority: i32,
    pub max_attempts: i32,
    pub idempotency_key: Option<String>,
}

impl JobRequest {
    pub fn new(kind: &str, payload: Value) -> Self {
        JobRequest {
            kind: kind.to_owned(),
            payload,
            run_at: None,
            priority: 0,
            max_attempts: RetryPolicy::default().max_attempts,
            idempotency_key: None,
        }
    }

    pub fn at(mut self, run_at: DateTime<Utc>) -> Self {
        self.run_at = Some(run_at);
        self
    }

    pub fn priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }

    pub fn attempts(mut self, max_attempts: i32) -> Self {
        self.max_attempts = max_attempts.max(1);
        self
    }

    pub fn key(mut self, idempotency_key: impl Into<String>) -> Self {
        self.idempotency_key = Some(idempotency_key.into());
        self
    }

    /// The row to insert, due no earlier than `now`.
    pub fn into_new_job(self, now: DateTime<Utc>) -> NewJob {
        NewJob {
            id: Uuid::now_v7(),
            kind: self.kind,
            payload: self.payload,
            priority: self.priority,
            run_at: self.run_at.unwrap_or(now),
            max_attempts: self.max_attempts,
            idempotency_key: self.idempotency_key,
            created_at: now,
        }
    }
}

impl App {
    /// Enqueues jobs; those whose idempotency key is taken are left out. Returns how many were added.
    pub async fn enqueue(&self, jobs: Vec<JobRequest>) -> AppResult<u64> {
        let now = self.clock.now();
        let rows: Vec<NewJob> = jobs.into_iter().map(|j| j.into_new_job(now)).collect();
        Ok(self.store.enqueue_jobs(&rows).await?)
    }
}

/// How a kind's failed attempts are retried: the n-th retry waits `base · 2^(n-1)`, at most `cap`, each wait
/// shortened by up to a quarter (jitter, so that jobs failing together do not retry together).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: i32,
    pub base: Duration,
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base: Duration::seconds(10),
            cap: Duration::hours(1),
        }
    }
}

impl RetryPolicy {
    /// The wait after attempt `attempts` (1-based) of the job `id` failed. The jitter is derived from the
    /// job's id and the attempt, so the same failure always waits the same time (and tests can say how long).
    pub fn backoff(&self, id: Uuid, attempts: i32) -> Duration {
        let doublings = u32::try_from(attempts.saturating_sub(1)).unwrap_or(0).min(40);
        let full = self
            .base
            .checked_mul(i32::try_from(1_u64 << doublings.min(30)).unwrap_or(i32::MAX))
            .unwrap_or(self.cap)
            .min(self.cap);
        // A quarter of the wait at most, chosen by a hash of the job and attempt.
        let mut seed = id.as_u128() ^ (u128::from(attempts.unsigned_abs()) << 64);
        seed ^= seed >> 33;
        seed = seed.wrapping_mul(0xff51_afd7_ed55_8ccd);
        seed ^= seed >> 33;
        let fraction = (seed % 1_000) as i64; // 0..999 thousandths of a quarter
        let cut = full.num_milliseconds() / 4 * fraction / 1_000;
        full - Duration::milliseconds(cut)
    }
}

/// What a handler did with its job.
#[derive(Debug, Clone, PartialEq)]
pub enum Completion {
    /// Done; the worker records it, enqueueing `then` in the same transaction.
    Done { then: Vec<NewJob> },
    /// The handler already recorded the job's end inside its own transaction (`store` methods that take a
    /// `JobOutcome`), together with its effects.
    Finished,
}

impl Completion {
    pub fn done() -> Self {
        Completion::Done { then: Vec::new() }
    }
}

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobError {
    pub message: String,
    /// No retry can succeed (a malformed payload, say): fail for good now.
    pub permanent: bool,
}

impl JobError {
    pub fn retry(message: impl Into<String>) -> Self {
        JobError {
            message: message.into(),
            permanent: false,
        }
    }

    pub fn permanent(message: impl Into<String>) -> Self {
        JobError {
            message: message.into(),
            permanent: true,
        }
    }
}

impl From<crate::AppError> for JobError {
    fn from(error: crate::AppError) -> Self {
        JobError::retry(error.to_string())
    }
}

impl From<StoreError> for JobError {
    fn from(error: StoreError) -> Self {
        JobError::retry(error.to_string())
    }
}

/// The code that runs one kind of job.
#[async_trait]
pub trait JobHandler: Send + Sync + 'static {
    fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy::default()
    }

    async fn run(&self, app: &App, job: &Job) -> Result<Completion, JobError>;
}

/// A recurring job: one per `every`, periods counted from the epoch.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub kind: &'static str,
    pub every: Duration,
}

impl Schedule {
    /// The job for the period holding `now`, keyed by the period so that it is enqueued once.
    pub fn due_job(&self, now: DateTime<Utc>) -> JobRequest {
        let every = self.every.num_milliseconds().max(1);
        let period = now.timestamp_millis().div_euclid(every) * every;
        let start = DateTime::<Utc>::from_timestamp_millis(period).unwrap_or(now);
        JobRequest::new(self.kind, Value::Null)
            .at(start)
            .attempts(1)
            .key(format!("schedule:{}:{period}", self.kind))
    }
}

/// The kinds of jobs a worker can run, and the schedules it keeps.
#[derive(Default, Clone)]
pub struct Registry {
    handlers: HashMap<String, Arc<dyn JobHandler>>,
    schedules: Vec<Schedule>,
}

impl Registry {
    pub fn new() -> Self {
        Registry::default()
    }

    pub fn handle(mut self, kind: &str, handler: impl JobHandler) -> Self {
        self.handlers.insert(kind.to_owned(), Arc::new(handler));
        self
    }

    pub fn every(mut self, kind: &'static str, every: Duration) -> Self {
        self.schedules.push(Schedule { kind, every });
        self
    }

    pub fn kinds(&self) -> Vec<String> {
        let mut kinds: Vec<String> = self.handlers.keys().cloned().collect();
        kinds.sort();
        kinds
    }

    pub fn schedules(&self) -> &[Schedule] {
        &self.schedules
    }

    fn handler(&self, kind: &str) -> Option<Arc<dyn JobHandler>> {
        self.handlers.get(kind).cloned()
    }

    /// The kinds this service can run: a process without a sandbox leaves the batches of agent runs to workers
    /// that have one (they stay queued until one claims them).
    pub fn runnable_by(mut self, app: &App) -> Self {
        if app.config.sandbox.is_none() {
            self.handlers.remove(crate::evals::EVAL_SANDBOX_BATCH);
        }
        self
    }

    /// Keeps only the named kinds (and the schedules of those kinds).
    pub fn only(mut self, kinds: &[String]) -> Self {
        self.handlers.retain(|kind, _| kinds.contains(kind));
        self.schedules.retain(|s| kinds.iter().any(|k| k == s.kind));
        self
    }
}

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Its name in the jobs' leases; unique among live workers.
    pub name: String,
    /// Jobs run at once.
    pub concurrency: usize,
    /// How long a claim holds a job before another worker may take it over; renewed every third of it.
    pub lease: Duration,
    /// How often an idle worker looks for due jobs.
    pub poll: std::time::Duration,
    /// How long a stopping worker lets running jobs finish before it gives them back.
    pub grace: std::time::Duration,
}

impl WorkerOptions {
    pub fn new(name: impl Into<String>) -> Self {
        WorkerOptions {
            name: name.into(),
            concurrency: 8,
            lease: Duration::seconds(30),
            poll: std::time::Duration::from_millis(200),
            grace: std::time::Duration::from_secs(20),
        }
    }
}

/// Runs one job and records its outcome. Never fails: what goes wrong is recorded on the job or logged (and
/// then the job's lease lapses and another attempt follows).
pub async fn run_job(app: &App, registry: &Registry, owner: &str, job: Job) {
    if let Some(id) = run_job_deferring_done(app, registry, owner, job).await {
        record_done(app, owner, &[id]).await;
    }
}

/// Runs one job and records its outcome, except a plain success (done, nothing to enqueue): that job's id is
/// returned for the caller to record together with others (`record_done`). Every other end is written here,
/// a handler's follow-up jobs in the same transaction as the job's completion.
async fn run_job_deferring_done(app: &App, registry: &Registry, owner: &str, job: Job) -> Option<Uuid> {
    let outcome = attempt(app, registry, &job).await;
    let now = app.clock.now();
    let (result, then);
    match outcome {
        Ok(Completion::Finished) => return None,
        Ok(Completion::Done { then: next }) if next.is_empty() => return Some(job.id),
        Ok(Completion::Done { then: next }) => {
            then = next;
            result = JobResult::Done { then: &then };
        }
        Err((error, policy)) => {
            let error_text = truncate(&error.message);
            tracing::warn!(job = %job.id, kind = %job.kind, attempt = job.attempts, error = %error_text, "job failed");
            let spent = job.attempts >= job.max_attempts;
            let outcome = JobOutcome {
                id: job.id,
                owner,
                now,
                result: if error.permanent || spent {
                    JobResult::Failed { error: &error_text }
                } else {
                    JobResult::Retry {
                        error: &error_text,
                        retry_at: now + policy.backoff(job.id, job.attempts),
                    }
                },
            };
            record(app, &job, &outcome).await;
            return None;
        }
    }
    let outcome = JobOutcome {
        id: job.id,
        owner,
        now,
        result,
    };
    record(app, &job, &outcome).await;
    None
}

/// Records plainly done jobs in one statement. Those whose lease was taken over are left to their new owner.
async fn record_done(app: &App, owner: &str, ids: &[Uuid]) {
    if ids.is_empty() {
        return;
    }
    match app.store.finish_done_jobs(owner, ids, app.clock.now()).await {
        Ok(recorded) => {
            let lost = u64::try_from(ids.len())
                .unwrap_or(u64::MAX)
                .saturating_sub(recorded);
            if lost > 0 {
                tracing::warn!(jobs = lost, "jobs' leases were taken over before they finished");
            }
        }
        Err(error) => {
            tracing::error!(jobs = ids.len(), error = %error, "could not record jobs' ends");
        }
    }
}

/// Keeps the id of a job that ended plainly done, for `record_done`.
fn collect_done(ended: Result<Option<Uuid>, tokio::task::JoinError>, done: &mut Vec<Uuid>) {
    if let Ok(Some(id)) = ended {
        done.push(id);
    }
}

async fn attempt(app: &App, registry: &Registry, job: &Job) -> Result<Completion, (JobError, RetryPolicy)> {
    let Some(handler) = registry.handler(&job.kind) else {
        return Err((
            JobError::permanent(format!("no handler for job kind {:?}", job.kind)),
            RetryPolicy::default(),
        ));
    };
    let policy = handler.retry_policy();
    if job.attempts > job.max_attempts {
        // The worker of the last allowed attempt vanished while running it.
        return Err((
            JobError::permanent("the last attempt's worker stopped before finishing it"),
            policy,
        ));
    }
    let run = std::panic::AssertUnwindSafe(handler.run(app, job)).catch_unwind();
    match run.await {
        Ok(Ok(completion)) => Ok(completion),
        Ok(Err(error)) => Err((error, policy)),
        Err(_) => Err((JobError::retry("the job's handler panicked"), policy)),
    }
}

async fn record(app: &App, job: &Job, outcome: &JobOutcome<'_>) {
    match app.store.finish_job(outcome).await {
        Ok(()) => {}
        Err(StoreError::Stale(_)) => {
            tracing::warn!(job = %job.id, kind = %job.kind, "job's lease was taken over before it finished");
        }
        Err(error) => {
            tracing::error!(job = %job.id, kind = %job.kind, error = %error, "could not record a job's end");
        }
    }
}

fn truncate(text: &str) -> String {
    text.chars().take(MAX_ERROR_CHARS).collect()
}

/// Claims and runs due jobs until `shutdown` completes, then lets running jobs finish for `grace` and gives
/// back the rest.
pub struct Worker {
    app: App,
    registry: Arc<Registry>,
    options: WorkerOptions,
}

impl Worker {
    pub fn new(app: App, registry: Registry, options: WorkerOptions) -> Self {
        Worker {
            registry: Arc::new(registry.runnable_by(&app)),
            app,
            options,
        }
    }

    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) -> AppResult<()> {
        let Worker {
            app,
            registry,
            options,
        } = self;
        let kinds = registry.kinds();
        let owner = options.name.clone();
        let mut running: tokio::task::JoinSet<Option<Uuid>> = tokio::task::JoinSet::new();
        let mut shutdown = std::pin::pin!(shutdown);
        let mut heartbeat = tokio::time::interval(lease_part(options.lease, 3));
        let mut schedules_at: Option<DateTime<Utc>> = None;
        // Jobs that ended plainly done since the last turn: recorded together, one statement a turn, so that
        // the busier the worker the more each statement records.
        let mut done: Vec<Uuid> = Vec::new();
        loop {
            while let Some(ended) = running.try_join_next() {
                collect_done(ended, &mut done);
            }
            record_done(&app, &owner, &done).await;
            done.clear();
            let now = app.clock.now();
            // Schedules: the current period's job, at most once a second per worker.
            if !registry.schedules().is_empty()
                && schedules_at.is_none_or(|at| now >= at + Duration::seconds(1))
            {
                schedules_at = Some(now);
                let due = registry.schedules().iter().map(|s| s.due_job(now)).collect();
                if let Err(error) = app.enqueue(due).await {
                    tracing::warn!(error = %error, "could not enqueue scheduled jobs");
                }
            }
            let free = options.concurrency.saturating_sub(running.len());
            let mut claimed = 0;
            if free > 0 && !kinds.is_empty() {
                let claim = JobClaim {
                    owner: &owner,
                    now,
                    lease_until: now + options.lease,
                    limit: i64::try_from(free).unwrap_or(i64::MAX),
                    kinds: Some(&kinds),
                };
                let started = std::time::Instant::now();
                match app.store.claim_jobs(&claim).await {
                    Ok(jobs) => {
                        claimed = jobs.len();
                        // The claim statement's time (pool wait included), for the queue's benchmark.
                        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                        tracing::debug!(claimed, micros, "claimed jobs");
                        for job in jobs {
                            let (app, registry, owner) = (app.clone(), registry.clone(), owner.clone());
                            running.spawn(async move {
                                run_job_deferring_done(&app, &registry, &owner, job).await
                            });
                        }
                    }
                    Err(error) => tracing::warn!(error = %error, "could not claim jobs"),
                }
            }
            // Busy (every slot taken, or the claim filled the free ones): wait for one to end; idle: poll.
            let full = claimed > 0 && claimed == free;
            tokio::select! {
                () = &mut shutdown => break,
                _ = heartbeat.tick() => {
                    let until = app.clock.now() + options.lease;
                    if let Err(error) = app.store.renew_jobs(&owner, until).await {
                        tracing::warn!(error = %error, "could not renew job leases");
                    }
                }
                Some(ended) = running.join_next(), if !running.is_empty() => collect_done(ended, &mut done),
                () = tokio::time::sleep(options.poll), if !full => {}
            }
        }
        // Stopping: no new claims; running jobs get `grace` to finish, the rest are given back.
        let drained = tokio::time::timeout(options.grace, async {
            while let Some(ended) = running.join_next().await {
                collect_done(ended, &mut done);
            }
        })
        .await;
        if drained.is_err() {
            running.abort_all();
            // Wait until they have stopped, so that none records an end after its job is given back.
            while let Some(ended) = running.join_next().await {
                collect_done(ended, &mut done);
            }
        }
        // The done jobs are recorded before the rest is given back, so that none of them runs again.
        record_done(&app, &owner, &done).await;
        let released = app.store.release_jobs(&owner, app.clock.now()).await?;
        if released > 0 {
            tracing::info!(released, "gave back unfinished jobs");
        }
        Ok(())
    }
}

fn lease_part(lease: Duration, parts: i32) -> std::time::Duration {
    let ms = (lease.num_milliseconds() / i64::from(parts.max(1))).max(10);
    std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_at_most_a_quarter_of_jitter() {
        let policy = RetryPolicy {
            max_attempts: 20,
            base: Duration::seconds(10),
            cap: Duration::hours(1),
        };
        let cases = [
            (1, 10),
            (2, 20),
            (3, 40),
            (4, 80),
            (9, 2_560),
            (10, 3_600),
            (30, 3_600),
            (1_000, 3_600),
        ];
        for (attempt, full_seconds) in cases {
            for _ in 0..50 {
                let id = Uuid::new_v4();
                let wait = policy.backoff(id, attempt);
                let full = Duration::seconds(full_seconds);
                assert!(
                    wait <= full && wait >= full - full / 4,
                    "attempt {attempt}: {wait}"
                );
                assert_eq!(wait, policy.backoff(id, attempt), "the same job waits the same");
            }
        }
    }

    #[test]
    fn jitter_spreads_jobs_that_fail_together() {
        let policy = RetryPolicy::default();
        let waits: std::collections::HashSet<_> = (0..100)
            .map(|_| policy.backoff(Uuid::new_v4(), 3).num_milliseconds())
            .collect();
        assert!(waits.len() > 50, "{} distinct waits", waits.len());
    }

    #[test]
    fn a_schedule_keys_each_period_once() {
        let schedule = Schedule {
            kind: "housekeeping",
            every: Duration::seconds(60),
        };
        let at = |s: i64| DateTime::<Utc>::from_timestamp(1_800_000_000 + s, 0).unwrap();
        let cases = [
            (0, 0, true),
            (0, 59, true),
            (0, 60, false),
            (59, 61, false),
            (61, 119, true),
        ];
        for (a, b, same) in cases {
            let (ja, jb) = (schedule.due_job(at(a)), schedule.due_job(at(b)));
            assert_eq!(ja.idempotency_key == jb.idempotency_key, same, "{a} vs {b}");
            assert!(ja.run_at.unwrap() <= at(a));
        }
    }
}
