//! The service's kinds of jobs, registered in one place: `App::job_registry` is what `prelaunch serve` and
//! `prelaunch worker` run. A new kind is one `.handle(…)` line here (and `.every(…)` when it recurs).

use super::{Completion, JobError, JobHandler, JobRequest, Registry, RetryPolicy};
use crate::App;
use async_trait::async_trait;
use chrono::Duration;
use serde_json::json;
use store::Job;

/// Does nothing: for tests and the queue's benchmark.
pub const NOOP: &str = "noop";
/// Signs a ledger checkpoint when the ledger grew, so that monitors see new entries promptly.
pub const CHECKPOINT: &str = "ledger.checkpoint";
/// Purges expired sessions, lapsed login locks and done jobs older than `DONE_JOBS_KEPT`.
pub const PURGE: &str = "housekeeping.purge";
/// How long a done job is kept (its idempotency key with it).
pub const DONE_JOBS_KEPT: Duration = Duration::days(7);

/// Test kinds, registered only by `with_test_kinds` (the worker's hidden `--test-kinds` flag and the test kit):
/// sleeps for the payload's `ms`, then is done together with a `noop` job naming it (`{"after": id}`), so
/// that how often its completion committed can be counted.
pub const TEST_SLEEP: &str = "test.sleep";
/// Fails every attempt, retrying after 10 s, 20 s, … (the test's clock moves).
pub const TEST_FAIL: &str = "test.fail";

impl App {
    /// Every kind of job the service runs, and the recurring ones' schedules.
    pub fn job_registry() -> Registry {
        let registry = Registry::new()
            .handle(NOOP, Noop)
            .handle(CHECKPOINT, Checkpoint)
            .every(CHECKPOINT, Duration::seconds(30))
            .handle(PURGE, Purge)
            .every(PURGE, Duration::minutes(1));
        crate::federation::register(crate::evals::batch::register(crate::clearinghouse::register(
            crate::webhooks::register(crate::notifications::register(registry)),
        )))
    }
}

impl Registry {
    /// Adds the kinds that exist only for tests. Never registered in production unless the operator asks.
    pub fn with_test_kinds(self) -> Self {
        self.handle(TEST_SLEEP, Sleep).handle(TEST_FAIL, AlwaysFails)
    }
}

struct Noop;

#[async_trait]
impl JobHandler for Noop {
    async fn run(&self, _app: &App, _job: &Job) -> Result<Completion, JobError> {
        Ok(Completion::done())
    }
}

struct Checkpoint;

#[async_trait]
impl JobHandler for Checkpoint {
    async fn run(&self, app: &App, _job: &Job) -> Result<Completion, JobError> {
        app.sign_checkpoint().await?;
        Ok(Completion::done())
    }
}

struct Purge;

#[async_trait]
impl JobHandler for Purge {
    async fn run(&self, app: &App, _job: &Job) -> Result<Completion, JobError> {
        let now = app.clock.now();
        let sessions = app.store.purge_expired(now).await? + app.purge_stale_login_failures().await?;
        let jobs = app.store.purge_done_jobs(now - DONE_JOBS_KEPT).await?;
        if sessions + jobs > 0 {
            tracing::info!(
                sessions,
                jobs,
                "purged expired sessions, login locks and old jobs"
            );
        }
        Ok(Completion::done())
    }
}

struct Sleep;

#[async_trait]
impl JobHandler for Sleep {
    async fn run(&self, app: &App, job: &Job) -> Result<Completion, JobError> {
        let ms = job.payload.get("ms").and_then(|v| v.as_u64()).unwrap_or(0);
        tokio::time::sleep(std::time::Duration::from_millis(ms.min(600_000))).await;
        let mark = JobRequest::new(NOOP, json!({"after": job.id})).into_new_job(app.clock.now());
        Ok(Completion::Done { then: vec![mark] })
    }
}

struct AlwaysFails;

#[async_trait]
impl JobHandler for AlwaysFails {
    fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: 3,
            base: Duration::seconds(10),
            cap: Duration::minutes(1),
        }
    }

    async fn run(&self, _app: &App, _job: &Job) -> Result<Completion, JobError> {
        Err(JobError::retry("this job always fails"))
    }
}
