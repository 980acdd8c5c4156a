//! What program administrators see of the queue and do with it: the failed jobs, and queueing one again.

use crate::page::paginate;
use crate::{Actor, App, AppError, AppResult, Caller, PageRequest, Paged, policy};
use chrono::{DateTime, Utc};
use review::ValidationError;
use serde::Serialize;
use store::{Job, JobQuery, JobState, StoreError};
use uuid::Uuid;

/// A job as administrators see it. The payload is left out: it may carry what only the job's subject may read.
#[derive(Debug, Clone, Serialize)]
pub struct JobView {
    pub id: Uuid,
    pub kind: String,
    pub state: &'static str,
    pub attempts: i32,
    pub max_attempts: i32,
    pub last_error: Option<String>,
    /// When it is due (while running: when its lease lapses).
    pub run_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<Job> for JobView {
    fn from(job: Job) -> Self {
        JobView {
            id: job.id,
            kind: job.kind,
            state: job.state.as_str(),
            attempts: job.attempts,
            max_attempts: job.max_attempts,
            last_error: job.last_error,
            run_at: job.run_at,
            created_at: job.created_at,
            finished_at: job.finished_at,
        }
    }
}

impl App {
    /// The jobs in `state` (any state when `None`), newest first; program administrators only.
    pub async fn list_jobs(
        &self,
        caller: &Caller,
        state: Option<&str>,
        page: &PageRequest,
    ) -> AppResult<Paged<JobView>> {
        if !policy::can_administer_jobs(caller) {
            return Err(AppError::Forbidden(
                "only program administrators see the job queue",
            ));
        }
        let state = state
            .map(|s| {
                JobState::parse(s).ok_or_else(|| {
                    ValidationError::new("state", "must be one of queued, running, done, failed")
                })
            })
            .transpose()?;
        let (limit, fetch) = page.by_id()?;
        let rows = self
            .store
            .list_jobs(&JobQuery {
                state,
                kind: None,
                page: fetch,
            })
            .await?;
        Ok(paginate(rows, limit, |j| j.id.to_string(), JobView::from))
    }

    /// Queues a failed job again with its attempts renewed; program administrators only. 409 when the job is
    /// not failed.
    pub async fn retry_job(&self, caller: &Caller, id: Uuid) -> AppResult<JobView> {
        if !policy::can_administer_jobs(caller) {
            return Err(AppError::Forbidden("only program administrators retry jobs"));
        }
        let job = self.store.get_job(id).await?.ok_or(AppError::NotFound("job"))?;
        let not_failed = || AppError::Conflict("only a failed job can be retried".into());
        if job.state != JobState::Failed {
            return Err(not_failed());
        }
        let event = self.event(
            Actor::from(caller),
            "job.retry",
            "job",
            Some(id),
            serde_json::json!({"kind": job.kind, "attempts": job.attempts, "last_error": job.last_error}),
        );
        let now = self.clock.now();
        match self.store.retry_failed_job(id, now, &event).await {
            Ok(()) => {}
            Err(StoreError::Stale(_)) => return Err(not_failed()),
            Err(error) => return Err(error.into()),
        }
        // The job as the retry left it: a worker may claim it at once, so reading it again could show a later
        // state than the one this answer is about.
        Ok(JobView::from(Job {
            state: JobState::Queued,
            attempts: 0,
            run_at: now,
            finished_at: None,
            lease_owner: None,
            ..job
        }))
    }
}
