//! The SQL of `LimitStore`, compiled once for each backend: `sqlite.rs` and `postgres.rs` each include this file
//! as a module of their own, where `Db` names the backend's sqlx database and `This` its store.

use super::This;
use crate::limits::LEASE_SQL;
use crate::{BudgetLease, BudgetState, LimitStore, Result, SlotLease};
use async_trait::async_trait;

#[async_trait]
impl LimitStore for This {
    async fn lease_budget(&self, l: &BudgetLease) -> Result<BudgetState> {
        Ok(sqlx::query_as(LEASE_SQL)
            .bind(l.key.connection_id)
            .bind(l.key.scope.as_str())
            .bind(l.key.subject_id)
            .bind(l.now_ns)
            .bind(l.requests.unit_ns)
            .bind(l.requests.want)
            .bind(l.requests.balance)
            .bind(l.tokens.unit_ns)
            .bind(l.tokens.want)
            .bind(l.tokens.balance)
            .bind(l.fresh.requests_tat_ns)
            .bind(l.fresh.tokens_tat_ns)
            .bind(l.fresh.requests_granted)
            .bind(l.fresh.tokens_granted)
            .fetch_one(&self.pool)
            .await?)
    }

    async fn acquire_slots(&self, l: &SlotLease) -> Result<i64> {
        let mut tx = self.begin().await?;
        // The budget's row is the lock every holder of its slots takes first (and must exist: the
        // slots refer to it). A budget created here starts full.
        let now_ns = l.now_ms.saturating_mul(1_000_000);
        sqlx::query(
            "INSERT INTO gateway_budgets (connection_id, scope, subject_id, requests_tat_ns, tokens_tat_ns, \
             requests_granted, tokens_granted) VALUES ($1, $2, $3, $4, $4, 0, 0) \
             ON CONFLICT (connection_id, scope, subject_id) \
             DO UPDATE SET requests_granted = gateway_budgets.requests_granted",
        )
        .bind(l.key.connection_id)
        .bind(l.key.scope.as_str())
        .bind(l.key.subject_id)
        .bind(now_ns)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM gateway_slots WHERE connection_id = $1 AND scope = $2 AND subject_id = $3 \
             AND expires_ms <= $4",
        )
        .bind(l.key.connection_id)
        .bind(l.key.scope.as_str())
        .bind(l.key.subject_id)
        .bind(l.now_ms)
        .execute(&mut *tx)
        .await?;
        let held: i64 = sqlx::query_scalar(
            "INSERT INTO gateway_slots (connection_id, scope, subject_id, holder, slots, expires_ms) \
             SELECT $1, $2, $3, $4, CASE WHEN $6 - o.used >= $5 THEN $5 WHEN $6 > o.used THEN $6 - o.used \
             ELSE 0 END, $7 \
             FROM (SELECT CAST(COALESCE(SUM(slots), 0) AS BIGINT) AS used FROM gateway_slots \
                   WHERE connection_id = $1 AND scope = $2 AND subject_id = $3 AND holder <> $4) AS o \
             WHERE true \
             ON CONFLICT (connection_id, scope, subject_id, holder) \
             DO UPDATE SET slots = excluded.slots, expires_ms = excluded.expires_ms \
             RETURNING slots",
        )
        .bind(l.key.connection_id)
        .bind(l.key.scope.as_str())
        .bind(l.key.subject_id)
        .bind(&l.holder)
        .bind(l.target)
        .bind(l.limit)
        .bind(l.expires_ms)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(held)
    }

    async fn release_slots(&self, l: &SlotLease) -> Result<()> {
        let statement = if l.target > 0 {
            sqlx::query(
                "UPDATE gateway_slots SET slots = $5, expires_ms = $6 \
                 WHERE connection_id = $1 AND scope = $2 AND subject_id = $3 AND holder = $4",
            )
        } else {
            sqlx::query(
                "DELETE FROM gateway_slots \
                 WHERE connection_id = $1 AND scope = $2 AND subject_id = $3 AND holder = $4",
            )
        };
        let statement = statement
            .bind(l.key.connection_id)
            .bind(l.key.scope.as_str())
            .bind(l.key.subject_id)
            .bind(&l.holder);
        let statement = if l.target > 0 {
            statement.bind(l.target).bind(l.expires_ms)
        } else {
            statement
        };
        statement.execute(&self.pool).await?;
        Ok(())
    }

    async fn renew_slots(&self, holder: &str, expires_ms: i64) -> Result<u64> {
        let done = sqlx::query("UPDATE gateway_slots SET expires_ms = $2 WHERE holder = $1")
            .bind(holder)
            .bind(expires_ms)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
