//! The SQL of `EvalStore`, compiled once for each backend (see `queries/limits.rs`). Reads a person makes bind
//! their audience's developer and agency organisations as `$1`/`$2` and compile `work_visible!` over the run `w`
//! and its notice `n`.

use super::This;
use super::jobs::enqueue_in;
use crate::evals::{EvalResultRow, EvalRunRow, EvalRunState, EvalStore, ImportedRun, Recorded};
use crate::{Audience, AuditEvent, Backend, NewJob, Page, Result, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

macro_rules! run_columns {
    () => {
        "w.id, w.notice_id, w.user_id, w.org_id, w.token_id, w.name, w.task, w.model, w.epochs, w.seed, \
         w.state, w.reason, w.total, w.done, w.errors, w.scored, w.score_sum, w.created_at, w.started_at, \
         w.ended_at, w.version, w.suite, w.suite_digest"
    };
}

const RESULT_COLUMNS: &str = "run_id, sample_index, epoch, sample_id, value, error, record, created_at";

/// The counters a new result moves, and the completion it may bring (`$1` run, `$5` value or NULL for an
/// error, `$8` when). Shared by both backends' statements.
macro_rules! bump_counters {
    () => {
        "UPDATE eval_runs SET done = done + 1, \
         errors = errors + CASE WHEN $5 IS NULL THEN 1 ELSE 0 END, \
         scored = scored + CASE WHEN $5 IS NULL THEN 0 ELSE 1 END, \
         score_sum = score_sum + COALESCE($5, 0), \
         state = CASE WHEN done + 1 >= total AND state IN ('queued', 'running') THEN 'completed' ELSE state END, \
         ended_at = CASE WHEN done + 1 >= total AND state IN ('queued', 'running') THEN $8 ELSE ended_at END, \
         version = version + 1 \
         WHERE id = $1"
    };
}

const INSERT_RESULT: &str = "INSERT INTO eval_results (run_id, sample_index, epoch, sample_id, value, error, \
     record, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
     ON CONFLICT (run_id, sample_index, epoch) DO NOTHING";

#[async_trait]
impl EvalStore for This {
    async fn create_eval_run(
        &self,
        run: &EvalRunRow,
        samples: &[u8],
        batches: &[NewJob],
        event: &AuditEvent,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        This::record(&mut tx, event).await?;
        sqlx::query(
            "INSERT INTO eval_runs (id, notice_id, user_id, org_id, token_id, name, task, samples, model, \
             epochs, seed, state, reason, total, done, errors, scored, score_sum, created_at, started_at, \
             ended_at, version, suite, suite_digest) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
             $13, $14, 0, 0, 0, 0, $15, NULL, NULL, $16, $17, $18)",
        )
        .bind(run.id)
        .bind(run.notice_id)
        .bind(run.user_id)
        .bind(run.org_id)
        .bind(run.token_id)
        .bind(&run.name)
        .bind(&run.task)
        .bind(samples)
        .bind(&run.model)
        .bind(run.epochs)
        .bind(run.seed)
        .bind(run.state.as_str())
        .bind(run.reason.as_deref())
        .bind(run.total)
        .bind(run.created_at)
        .bind(run.version)
        .bind(run.suite.as_deref())
        .bind(run.suite_digest.as_deref())
        .execute(&mut *tx)
        .await?;
        enqueue_in(&mut tx, batches).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn eval_run(&self, id: Uuid) -> Result<Option<EvalRunRow>> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            run_columns!(),
            " FROM eval_runs w WHERE w.id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn eval_run_samples(&self, id: Uuid) -> Result<Option<Vec<u8>>> {
        Ok(sqlx::query_scalar("SELECT samples FROM eval_runs WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn visible_eval_run(&self, id: Uuid, audience: &Audience) -> Result<Option<EvalRunRow>> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            run_columns!(),
            " FROM eval_runs w JOIN notices n ON n.id = w.notice_id WHERE w.id = $3 AND ",
            crate::audience::work_visible!("$1", "$2")
        ))
        .bind(audience.developer_org)
        .bind(audience.agency_org)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn list_eval_runs(
        &self,
        notice_id: Uuid,
        audience: &Audience,
        page: &Page<Uuid>,
    ) -> Result<Vec<EvalRunRow>> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            run_columns!(),
            " FROM eval_runs w JOIN notices n ON n.id = w.notice_id WHERE w.notice_id = $3 \
             AND ($4 IS NULL OR w.id > $4) AND ",
            crate::audience::work_visible!("$1", "$2"),
            " ORDER BY w.id LIMIT $5"
        ))
        .bind(audience.developer_org)
        .bind(audience.agency_org)
        .bind(notice_id)
        .bind(page.after)
        .bind(page.limit)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn start_eval_run(&self, id: Uuid, at: DateTime<Utc>) -> Result<bool> {
        let statement = sqlx::query(
            "UPDATE eval_runs SET state = 'running', started_at = $2, version = version + 1 \
             WHERE id = $1 AND state = 'queued'",
        )
        .bind(id)
        .bind(at);
        self.changed_one(statement).await
    }

    async fn end_eval_run(
        &self,
        id: Uuid,
        state: EvalRunState,
        reason: Option<&str>,
        at: DateTime<Utc>,
        event: &AuditEvent,
    ) -> Result<bool> {
        if state.is_active() {
            return Err(StoreError::Corrupt(
                "a run ends only as cancelled, stopped or completed",
            ));
        }
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE eval_runs SET state = $2, reason = $3, ended_at = $4, version = version + 1 \
             WHERE id = $1 AND state IN ('queued', 'running')",
        )
        .bind(id)
        .bind(state.as_str())
        .bind(reason)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        This::record(&mut tx, event).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn recorded_eval_items(&self, run_id: Uuid, from: i32, to: i32) -> Result<Vec<(i32, i32)>> {
        Ok(sqlx::query_as(
            "SELECT sample_index, epoch FROM eval_results WHERE run_id = $1 \
             AND sample_index >= $2 AND sample_index <= $3",
        )
        .bind(run_id)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn record_eval_result(&self, r: &EvalResultRow, completed: &AuditEvent) -> Result<Recorded> {
        let mut tx = self.begin().await?;
        // One statement on PostgreSQL: the counters move only when the insert did. SQLite has no writing CTE,
        // but its write lock (taken by `begin`) makes the two statements just as atomic.
        let after: Option<(String, i64, i64)> =
            match This::BACKEND {
                Backend::Postgres => sqlx::query_as(concat!(
                    "WITH ins AS (INSERT INTO eval_results (run_id, sample_index, epoch, sample_id, value, \
                     error, record, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                     ON CONFLICT (run_id, sample_index, epoch) DO NOTHING RETURNING 1) ",
                    bump_counters!(),
                    " AND EXISTS (SELECT 1 FROM ins) RETURNING state, done, total"
                ))
                .bind(r.run_id)
                .bind(r.sample_index)
                .bind(r.epoch)
                .bind(&r.sample_id)
                .bind(r.value)
                .bind(r.error.as_deref())
                .bind(&r.record)
                .bind(r.created_at)
                .fetch_optional(&mut *tx)
                .await?,
                Backend::Sqlite => {
                    let inserted = sqlx::query(INSERT_RESULT)
                        .bind(r.run_id)
                        .bind(r.sample_index)
                        .bind(r.epoch)
                        .bind(&r.sample_id)
                        .bind(r.value)
                        .bind(r.error.as_deref())
                        .bind(&r.record)
                        .bind(r.created_at)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    if inserted == 1 {
                        sqlx::query_as(concat!(bump_counters!(), " RETURNING state, done, total"))
                            .bind(r.run_id)
                            .bind(r.sample_index)
                            .bind(r.epoch)
                            .bind(&r.sample_id)
                            .bind(r.value)
                            .bind(r.error.as_deref())
                            .bind(&r.record)
                            .bind(r.created_at)
                            .fetch_optional(&mut *tx)
                            .await?
                    } else {
                        None
                    }
                }
            };
        let recorded = match after {
            Some((state, done, total)) => {
                let state =
                    EvalRunState::try_from(state).map_err(|_| StoreError::Corrupt("eval_runs.state"))?;
                // Exactly one result makes `done` reach `total`: that one writes the completion's event.
                if state == EvalRunState::Completed && done == total {
                    This::record(&mut tx, completed).await?;
                }
                Recorded {
                    inserted: true,
                    state,
                }
            }
            None => {
                let state: String = sqlx::query_scalar("SELECT state FROM eval_runs WHERE id = $1")
                    .bind(r.run_id)
                    .fetch_one(&mut *tx)
                    .await?;
                let state =
                    EvalRunState::try_from(state).map_err(|_| StoreError::Corrupt("eval_runs.state"))?;
                Recorded {
                    inserted: false,
                    state,
                }
            }
        };
        tx.commit().await?;
        Ok(recorded)
    }

    async fn eval_run_results(&self, id: Uuid) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar::<_, Option<String>>("SELECT results FROM eval_runs WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .flatten(),
        )
    }

    async fn store_eval_run_results(&self, id: Uuid, results: &str) -> Result<bool> {
        let statement = sqlx::query(
            "UPDATE eval_runs SET results = $2 WHERE id = $1 AND state = 'completed' AND results IS NULL",
        )
        .bind(id)
        .bind(results);
        self.changed_one(statement).await
    }

    async fn list_eval_results(
        &self,
        run_id: Uuid,
        after: Option<(i32, i32)>,
        limit: i64,
    ) -> Result<Vec<EvalResultRow>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {RESULT_COLUMNS} FROM eval_results WHERE run_id = $1 \
             AND ($2 IS NULL OR sample_index > $2 OR (sample_index = $2 AND epoch > $3)) \
             ORDER BY sample_index, epoch LIMIT $4"
        ))
        .bind(run_id)
        .bind(after.map(|a| a.0))
        .bind(after.map(|a| a.1))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn eval_result(
        &self,
        run_id: Uuid,
        sample_index: i32,
        epoch: i32,
    ) -> Result<Option<EvalResultRow>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {RESULT_COLUMNS} FROM eval_results WHERE run_id = $1 AND sample_index = $2 AND epoch = $3"
        ))
        .bind(run_id)
        .bind(sample_index)
        .bind(epoch)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn eval_result_values(&self, run_id: Uuid, limit: i64) -> Result<Vec<(String, i32, Option<f64>)>> {
        Ok(sqlx::query_as(
            "SELECT sample_id, epoch, value FROM eval_results WHERE run_id = $1 \
             ORDER BY sample_index, epoch LIMIT $2",
        )
        .bind(run_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn import_eval_run(&self, import: &ImportedRun<'_>, event: &AuditEvent) -> Result<()> {
        let run = import.run;
        let mut tx = self.begin().await?;
        This::record(&mut tx, event).await?;
        // The run's token: its id only, revoked from the start, a digest no presented token can have.
        sqlx::query(
            "INSERT INTO gateway_tokens (id, token_digest, notice_id, user_id, org_id, name, prefix, \
             created_at, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $8)",
        )
        .bind(run.token_id)
        .bind(format!("imported:{}", run.id))
        .bind(run.notice_id)
        .bind(run.user_id)
        .bind(run.org_id)
        .bind(format!("imported evaluation run {}", run.id))
        .bind("-")
        .bind(run.created_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO eval_runs (id, notice_id, user_id, org_id, token_id, name, task, samples, model, \
             epochs, seed, state, reason, total, done, errors, scored, score_sum, created_at, started_at, \
             ended_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
             $17, $18, $19, $20, $21, $22)",
        )
        .bind(run.id)
        .bind(run.notice_id)
        .bind(run.user_id)
        .bind(run.org_id)
        .bind(run.token_id)
        .bind(&run.name)
        .bind(&run.task)
        .bind(import.samples)
        .bind(&run.model)
        .bind(run.epochs)
        .bind(run.seed)
        .bind(run.state.as_str())
        .bind(run.reason.as_deref())
        .bind(run.total)
        .bind(run.done)
        .bind(run.errors)
        .bind(run.scored)
        .bind(run.score_sum)
        .bind(run.created_at)
        .bind(run.started_at)
        .bind(run.ended_at)
        .bind(run.version)
        .execute(&mut *tx)
        .await?;
        for r in import.results {
            sqlx::query(INSERT_RESULT)
                .bind(r.run_id)
                .bind(r.sample_index)
                .bind(r.epoch)
                .bind(&r.sample_id)
                .bind(r.value)
                .bind(r.error.as_deref())
                .bind(&r.record)
                .bind(r.created_at)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("INSERT INTO eval_imports (run_id, log) VALUES ($1, $2)")
            .bind(run.id)
            .bind(import.log)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn eval_import_log(&self, run_id: Uuid) -> Result<Option<Vec<u8>>> {
        Ok(
            sqlx::query_scalar("SELECT log FROM eval_imports WHERE run_id = $1")
                .bind(run_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }
}
