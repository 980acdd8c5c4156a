//! The SQL of `JobStore`, compiled once for each backend (see `queries/limits.rs`). The claim is one statement
//! on both: PostgreSQL adds `FOR UPDATE SKIP LOCKED` so that concurrent workers take different rows without
//! waiting for each other; SQLite has one writer at a time, so its statement is atomic as it stands.

use super::{Db, This};
use crate::jobs::{JOB_COLUMNS, JobRow, jobs_of, to_ms};
use crate::{
    AuditEvent, Backend, Job, JobClaim, JobOutcome, JobQuery, JobResult, JobState, JobStore, NewJob, Result,
    StoreError,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

/// Rows per multi-row insert (well under either backend's parameter limit at 9 per row).
const INSERT_ROWS: usize = 500;

/// Inserts jobs inside the caller's transaction, leaving out those whose idempotency key is taken. Other
/// domains' methods call this to enqueue work together with the change that calls for it.
pub(crate) async fn enqueue_in(
    conn: &mut <Db as sqlx::Database>::Connection,
    jobs: &[NewJob],
) -> Result<u64> {
    let mut added = 0;
    for chunk in jobs.chunks(INSERT_ROWS) {
        let mut insert = sqlx::QueryBuilder::<Db>::new(
            "INSERT INTO jobs (id, kind, payload, priority, state, run_at_ms, attempts, max_attempts, \
             idempotency_key, created_at_ms) ",
        );
        insert.push_values(chunk, |mut row, job| {
            row.push_bind(job.id)
                .push_bind(job.kind.as_str())
                .push_bind(Json(&job.payload))
                .push_bind(job.priority)
                .push_bind(JobState::Queued.as_str())
                .push_bind(to_ms(job.run_at))
                .push_bind(0_i32)
                .push_bind(job.max_attempts)
                .push_bind(job.idempotency_key.as_deref())
                .push_bind(to_ms(job.created_at));
        });
        insert.push(" ON CONFLICT (idempotency_key) DO NOTHING");
        added += insert.build().execute(&mut *conn).await?.rows_affected();
    }
    Ok(added)
}

/// Ends an attempt inside the caller's transaction, so that a job's effects and its completion commit
/// together: `Stale` (and the caller's transaction must roll back) when `owner` lost the lease.
pub(crate) async fn finish_in(
    conn: &mut <Db as sqlx::Database>::Connection,
    outcome: &JobOutcome<'_>,
) -> Result<()> {
    let now = to_ms(outcome.now);
    let statement = match &outcome.result {
        JobResult::Done { .. } => sqlx::query(
            "UPDATE jobs SET state = 'done', finished_at_ms = $3 \
             WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
        )
        .bind(outcome.id)
        .bind(outcome.owner)
        .bind(now),
        JobResult::Retry { error, retry_at } => sqlx::query(
            "UPDATE jobs SET state = 'queued', lease_owner = NULL, run_at_ms = $3, last_error = $4 \
             WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
        )
        .bind(outcome.id)
        .bind(outcome.owner)
        .bind(to_ms(*retry_at))
        .bind(*error),
        JobResult::Failed { error } => sqlx::query(
            "UPDATE jobs SET state = 'failed', finished_at_ms = $3, last_error = $4 \
             WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
        )
        .bind(outcome.id)
        .bind(outcome.owner)
        .bind(now)
        .bind(*error),
    };
    if statement.execute(&mut *conn).await?.rows_affected() != 1 {
        return Err(StoreError::Stale("job lease"));
    }
    if let JobResult::Done { then } = &outcome.result {
        enqueue_in(conn, then).await?;
    }
    Ok(())
}

/// A PostgreSQL array literal of ids, `{a,b,…}`, bound as text (one type on both backends' bind paths).
fn uuid_array(ids: &[Uuid]) -> String {
    let mut text = String::with_capacity(ids.len() * 37 + 2);
    text.push('{');
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&id.hyphenated().to_string());
    }
    text.push('}');
    text
}

fn claim_sql() -> String {
    let lock = match This::BACKEND {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let kinds = match This::BACKEND {
        Backend::Postgres => "kind IN (SELECT jsonb_array_elements_text($5))",
        Backend::Sqlite => "kind IN (SELECT value FROM json_each($5))",
    };
    format!(
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = $1, run_at_ms = $3 \
         WHERE id IN (SELECT id FROM jobs WHERE state IN ('queued', 'running') AND run_at_ms <= $2 \
         AND ($5 IS NULL OR {kinds}) ORDER BY priority DESC, run_at_ms LIMIT $4{lock}) \
         RETURNING {JOB_COLUMNS}"
    )
}

#[async_trait]
impl JobStore for This {
    async fn enqueue_jobs(&self, jobs: &[NewJob]) -> Result<u64> {
        let mut tx = self.begin().await?;
        let added = enqueue_in(&mut tx, jobs).await?;
        tx.commit().await?;
        Ok(added)
    }

    async fn claim_jobs(&self, claim: &JobClaim<'_>) -> Result<Vec<Job>> {
        let rows: Vec<JobRow> = sqlx::query_as(&claim_sql())
            .bind(claim.owner)
            .bind(to_ms(claim.now))
            .bind(to_ms(claim.lease_until))
            .bind(claim.limit)
            .bind(claim.kinds.map(Json))
            .fetch_all(&self.pool)
            .await?;
        jobs_of(rows)
    }

    async fn renew_jobs(&self, owner: &str, until: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE jobs SET run_at_ms = $2 WHERE lease_owner = $1 AND state = 'running' AND run_at_ms < $2",
        )
        .bind(owner)
        .bind(to_ms(until))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn finish_job(&self, outcome: &JobOutcome<'_>) -> Result<()> {
        let mut tx = self.begin().await?;
        finish_in(&mut tx, outcome).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn finish_done_jobs(&self, owner: &str, ids: &[Uuid], now: DateTime<Utc>) -> Result<u64> {
        let mut recorded = 0;
        for chunk in ids.chunks(INSERT_ROWS) {
            let done = match This::BACKEND {
                // One statement text whatever the count, so that it is prepared once per connection.
                Backend::Postgres => {
                    sqlx::query(
                        "UPDATE jobs SET state = 'done', finished_at_ms = $3 \
                         WHERE id = ANY($1::text::uuid[]) AND lease_owner = $2 AND state = 'running'",
                    )
                    .bind(uuid_array(chunk))
                    .bind(owner)
                    .bind(to_ms(now))
                    .execute(&self.pool)
                    .await?
                }
                // SQLite prepares without a round trip: one placeholder per id.
                Backend::Sqlite => {
                    let mut update =
                        sqlx::QueryBuilder::<Db>::new("UPDATE jobs SET state = 'done', finished_at_ms = ");
                    update
                        .push_bind(to_ms(now))
                        .push(" WHERE lease_owner = ")
                        .push_bind(owner)
                        .push(" AND state = 'running' AND id IN (");
                    let mut list = update.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    update.push(")");
                    update.build().execute(&self.pool).await?
                }
            };
            recorded += done.rows_affected();
        }
        Ok(recorded)
    }

    async fn release_jobs(&self, owner: &str, now: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE jobs SET state = 'queued', lease_owner = NULL, run_at_ms = $2, \
             attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END \
             WHERE lease_owner = $1 AND state = 'running'",
        )
        .bind(owner)
        .bind(to_ms(now))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn get_job(&self, id: Uuid) -> Result<Option<Job>> {
        let row: Option<JobRow> = sqlx::query_as(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(Job::try_from).transpose()
    }

    async fn list_jobs(&self, query: &JobQuery) -> Result<Vec<Job>> {
        let rows: Vec<JobRow> = sqlx::query_as(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE ($1 IS NULL OR state = $1) AND ($2 IS NULL OR kind = $2) \
             AND ($3 IS NULL OR id < $3) ORDER BY id DESC LIMIT $4"
        ))
        .bind(query.state.map(JobState::as_str))
        .bind(query.kind.as_deref())
        .bind(query.page.after)
        .bind(query.page.limit)
        .fetch_all(&self.pool)
        .await?;
        jobs_of(rows)
    }

    async fn count_jobs(&self, state: JobState) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE state = $1")
            .bind(state.as_str())
            .fetch_one(&self.pool)
            .await?)
    }

    async fn retry_failed_job(&self, id: Uuid, now: DateTime<Utc>, event: &AuditEvent) -> Result<()> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = 0, run_at_ms = $2, finished_at_ms = NULL, \
             lease_owner = NULL \
             WHERE id = $1 AND state = 'failed'",
        )
        .bind(id)
        .bind(to_ms(now))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Stale("failed job"));
        }
        This::record(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn free_job_key(&self, id: Uuid) -> Result<()> {
        sqlx::query("UPDATE jobs SET idempotency_key = NULL WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn purge_done_jobs(&self, before: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query("DELETE FROM jobs WHERE state = 'done' AND finished_at_ms < $1")
            .bind(to_ms(before))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
