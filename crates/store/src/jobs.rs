//! The job queue's rows and its store trait. The rules (which kinds exist, backoff, leases, schedules) live in
//! `app::jobs`; here is only persistence. The SQL is in `queries/jobs.rs`, compiled once per backend.
//!
//! Times are milliseconds since the epoch in the table (one integer comparison per due check on both
//! backends) and `DateTime<Utc>` in the API.

use crate::{AuditEvent, Page, Result, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobState {
    /// Waiting until `run_at`, first or between retries.
    Queued,
    /// Leased by a worker (`lease_owner`) until `run_at`, which its heartbeat pushes ahead.
    Running,
    Done,
    /// Every attempt failed (or the last one's worker vanished); kept with the reason until retried.
    Failed,
}

impl JobState {
    pub const ALL: [JobState; 4] = [
        JobState::Queued,
        JobState::Running,
        JobState::Done,
        JobState::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl TryFrom<String> for JobState {
    type Error = StoreError;

    fn try_from(text: String) -> Result<Self> {
        JobState::parse(&text).ok_or(StoreError::Corrupt("unknown job state"))
    }
}

/// A job to put in the queue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub id: Uuid,
    pub kind: String,
    pub payload: Value,
    /// Higher runs first among due jobs.
    pub priority: i32,
    pub run_at: DateTime<Utc>,
    pub max_attempts: i32,
    /// At most one job ever holds a key (while its row is kept): enqueueing a key again does nothing.
    pub idempotency_key: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: Uuid,
    pub kind: String,
    pub payload: Value,
    pub priority: i32,
    pub state: JobState,
    /// When it is due; while running, when its lease lapses.
    pub run_at: DateTime<Utc>,
    /// Claims so far, this one included while running.
    pub attempts: i32,
    pub max_attempts: i32,
    pub last_error: Option<String>,
    /// The worker holding the lease while running; the last one to run it once done or failed.
    pub lease_owner: Option<String>,
    pub idempotency_key: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A worker's request for due jobs.
#[derive(Debug, Clone)]
pub struct JobClaim<'a> {
    /// The worker's name, unique among live workers; it must match on every later change of the job.
    pub owner: &'a str,
    pub now: DateTime<Utc>,
    /// The lease's expiry: the job is due again then unless the owner renews or finishes it.
    pub lease_until: DateTime<Utc>,
    pub limit: i64,
    /// Only these kinds; `None`: any.
    pub kinds: Option<&'a [String]>,
}

/// The end of one attempt, written only while `owner` still holds the job's lease.
#[derive(Debug, Clone)]
pub struct JobOutcome<'a> {
    pub id: Uuid,
    pub owner: &'a str,
    pub now: DateTime<Utc>,
    pub result: JobResult<'a>,
}

#[derive(Debug, Clone)]
pub enum JobResult<'a> {
    /// Done; `then` are jobs to enqueue in the same transaction (the next run of a schedule, follow-up work).
    Done { then: &'a [NewJob] },
    /// Failed; queued again for `retry_at`.
    Retry { error: &'a str, retry_at: DateTime<Utc> },
    /// Failed for good.
    Failed { error: &'a str },
}

/// Which jobs a list shows, newest first by creation.
#[derive(Debug, Clone)]
pub struct JobQuery {
    pub state: Option<JobState>,
    pub kind: Option<String>,
    /// Keyset cursor: the last job's id of the previous page (ids are time-ordered UUIDv7).
    pub page: Page<Uuid>,
}

#[async_trait]
pub trait JobStore: Send + Sync + 'static {
    /// Adds jobs; a job whose idempotency key is taken is left out. Returns how many were added.
    async fn enqueue_jobs(&self, jobs: &[NewJob]) -> Result<u64>;
    /// Leases up to `limit` due jobs (new ones, ones waiting for a retry, and running ones whose lease lapsed),
    /// highest priority first then oldest due, in one statement; with PostgreSQL, concurrent claims skip
    /// each other's rows. Each claimed job's `attempts` counts this claim.
    async fn claim_jobs(&self, claim: &JobClaim<'_>) -> Result<Vec<Job>>;
    /// Pushes the lease of every job `owner` runs to `until`; returns how many.
    async fn renew_jobs(&self, owner: &str, until: DateTime<Utc>) -> Result<u64>;
    /// Ends an attempt. `Stale` when `owner` no longer holds the lease (another worker took the job over):
    /// nothing is written.
    async fn finish_job(&self, outcome: &JobOutcome<'_>) -> Result<()>;
    /// Records many attempts as done at `now`, with nothing to enqueue, in one statement: the worker's path for
    /// jobs whose handler only reports success. Jobs whose lease `owner` no longer holds are left alone (another
    /// worker took them over); returns how many were recorded.
    async fn finish_done_jobs(&self, owner: &str, ids: &[Uuid], now: DateTime<Utc>) -> Result<u64>;
    /// Gives back the jobs `owner` runs without counting the attempt (a worker shutting down): due at `now`.
    async fn release_jobs(&self, owner: &str, now: DateTime<Utc>) -> Result<u64>;
    async fn get_job(&self, id: Uuid) -> Result<Option<Job>>;
    async fn list_jobs(&self, query: &JobQuery) -> Result<Vec<Job>>;
    async fn count_jobs(&self, state: JobState) -> Result<i64>;
    /// Queues a failed job again with its attempts reset, due at `now`, and records who did it. `Stale` when
    /// the job is not failed.
    async fn retry_failed_job(&self, id: Uuid, now: DateTime<Utc>, event: &AuditEvent) -> Result<()>;
    /// Frees a running job's idempotency key, so that a job with the same key can be queued while it runs
    /// (a "pending" mark: a burst of requests makes one waiting job, and one made after this is not lost).
    async fn free_job_key(&self, id: Uuid) -> Result<()>;
    /// Removes done jobs finished before `before`; their idempotency keys are free again.
    async fn purge_done_jobs(&self, before: DateTime<Utc>) -> Result<u64>;
}

/// Milliseconds since the epoch, as the table keeps times.
pub(crate) fn to_ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

pub(crate) fn from_ms(ms: i64) -> Result<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp_millis(ms).ok_or(StoreError::Corrupt("job time out of range"))
}

/// A job's row as both backends read it.
#[derive(sqlx::FromRow)]
pub(crate) struct JobRow {
    id: Uuid,
    kind: String,
    payload: sqlx::types::Json<Value>,
    priority: i32,
    state: String,
    run_at_ms: i64,
    attempts: i32,
    max_attempts: i32,
    last_error: Option<String>,
    lease_owner: Option<String>,
    idempotency_key: Option<String>,
    created_at_ms: i64,
    finished_at_ms: Option<i64>,
}

/// The columns `JobRow` reads.
pub(crate) const JOB_COLUMNS: &str = "id, kind, payload, priority, state, run_at_ms, attempts, max_attempts, \
     last_error, lease_owner, idempotency_key, created_at_ms, finished_at_ms";

impl TryFrom<JobRow> for Job {
    type Error = StoreError;

    fn try_from(row: JobRow) -> Result<Job> {
        Ok(Job {
            id: row.id,
            kind: row.kind,
            payload: row.payload.0,
            priority: row.priority,
            state: JobState::try_from(row.state)?,
            run_at: from_ms(row.run_at_ms)?,
            attempts: row.attempts,
            max_attempts: row.max_attempts,
            last_error: row.last_error,
            lease_owner: row.lease_owner,
            idempotency_key: row.idempotency_key,
            created_at: from_ms(row.created_at_ms)?,
            finished_at: row.finished_at_ms.map(from_ms).transpose()?,
        })
    }
}

pub(crate) fn jobs_of(rows: Vec<JobRow>) -> Result<Vec<Job>> {
    rows.into_iter().map(Job::try_from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SqliteStore;
    use chrono::Duration;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    fn job(kind: &str, run_at: DateTime<Utc>, key: Option<&str>) -> NewJob {
        NewJob {
            id: Uuid::now_v7(),
            kind: kind.into(),
            payload: serde_json::json!({"n": 1}),
            priority: 0,
            run_at,
            max_attempts: 3,
            idempotency_key: key.map(str::to_string),
            created_at: at(0),
        }
    }

    fn claim<'a>(owner: &'a str, now: DateTime<Utc>, kinds: Option<&'a [String]>) -> JobClaim<'a> {
        JobClaim {
            owner,
            now,
            lease_until: now + Duration::seconds(30),
            limit: 10,
            kinds,
        }
    }

    #[tokio::test]
    async fn a_job_is_claimed_once_until_its_lease_lapses() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        let first = job("noop", at(0), Some("k1"));
        assert_eq!(
            store
                .enqueue_jobs(&[first.clone(), job("noop", at(0), Some("k1"))])
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            store.enqueue_jobs(&[job("later", at(100), None)]).await.unwrap(),
            1
        );

        let claimed = store.claim_jobs(&claim("w1", at(1), None)).await.unwrap();
        assert_eq!(claimed.len(), 1, "only the due job");
        assert_eq!((claimed[0].id, claimed[0].attempts), (first.id, 1));
        assert_eq!(claimed[0].state, JobState::Running);
        assert!(
            store
                .claim_jobs(&claim("w2", at(2), None))
                .await
                .unwrap()
                .is_empty()
        );

        // The lease lapses: another worker takes it over, and the first may no longer finish it.
        let taken = store
            .claim_jobs(&claim("w2", at(40), Some(&["noop".to_string()])))
            .await
            .unwrap();
        assert_eq!((taken.len(), taken[0].attempts), (1, 2));
        let done = JobOutcome {
            id: first.id,
            owner: "w1",
            now: at(41),
            result: JobResult::Done { then: &[] },
        };
        assert!(matches!(store.finish_job(&done).await, Err(StoreError::Stale(_))));
        let done = JobOutcome { owner: "w2", ..done };
        store.finish_job(&done).await.unwrap();
        let stored = store.get_job(first.id).await.unwrap().unwrap();
        assert_eq!((stored.state, stored.finished_at), (JobState::Done, Some(at(41))));

        // The future job is due at its time; a kind filter leaves it alone.
        assert!(
            store
                .claim_jobs(&claim("w1", at(200), Some(&["noop".to_string()])))
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            store.claim_jobs(&claim("w1", at(200), None)).await.unwrap().len(),
            1
        );
    }

    #[tokio::test]
    async fn done_jobs_are_recorded_together_and_a_lost_lease_is_left_alone() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        let jobs: Vec<NewJob> = (0..3).map(|_| job("noop", at(0), None)).collect();
        store.enqueue_jobs(&jobs).await.unwrap();
        let mine = store.claim_jobs(&claim("w1", at(1), None)).await.unwrap();
        assert_eq!(mine.len(), 3);
        // The leases lapse and another worker takes one of the jobs over.
        let mut lapsed = claim("w2", at(200), None);
        lapsed.limit = 1;
        let lost = store.claim_jobs(&lapsed).await.unwrap()[0].id;
        let ids: Vec<Uuid> = mine.iter().map(|j| j.id).collect();

        assert_eq!(store.finish_done_jobs("w1", &ids, at(201)).await.unwrap(), 2);
        assert_eq!(store.finish_done_jobs("w1", &[], at(201)).await.unwrap(), 0);
        for id in ids.iter().filter(|id| **id != lost) {
            let stored = store.get_job(*id).await.unwrap().unwrap();
            assert_eq!(
                (stored.state, stored.finished_at),
                (JobState::Done, Some(at(201)))
            );
        }
        let taken = store.get_job(lost).await.unwrap().unwrap();
        assert_eq!(
            (taken.state, taken.lease_owner.as_deref()),
            (JobState::Running, Some("w2"))
        );
    }

    #[tokio::test]
    async fn retries_failures_and_releases() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        let j = job("flaky", at(0), None);
        store.enqueue_jobs(std::slice::from_ref(&j)).await.unwrap();
        store.claim_jobs(&claim("w", at(0), None)).await.unwrap();
        let retry = JobOutcome {
            id: j.id,
            owner: "w",
            now: at(1),
            result: JobResult::Retry {
                error: "boom",
                retry_at: at(60),
            },
        };
        store.finish_job(&retry).await.unwrap();
        assert!(
            store
                .claim_jobs(&claim("w", at(59), None))
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            store.claim_jobs(&claim("w", at(60), None)).await.unwrap()[0].attempts,
            2
        );

        // Released on shutdown: due again at once, and the attempt is not counted.
        assert_eq!(store.release_jobs("w", at(61)).await.unwrap(), 1);
        let again = store.claim_jobs(&claim("v", at(61), None)).await.unwrap();
        assert_eq!(
            (again[0].attempts, again[0].last_error.as_deref()),
            (2, Some("boom"))
        );

        let fail = JobOutcome {
            id: j.id,
            owner: "v",
            now: at(62),
            result: JobResult::Failed { error: "gave up" },
        };
        store.finish_job(&fail).await.unwrap();
        assert_eq!(store.count_jobs(JobState::Failed).await.unwrap(), 1);
        let failed = store
            .list_jobs(&JobQuery {
                state: Some(JobState::Failed),
                kind: None,
                page: Page::first(10),
            })
            .await
            .unwrap();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].last_error.as_deref(), Some("gave up"));
    }
}
