//! `Store` itself, the supertrait of every domain's store: which backend this is and whether it answers.
//! Compiled once for each backend like every file of `queries/`.

use super::{Db, This};
use crate::{AuditEvent, Backend, Result, Store, StoreError};
use async_trait::async_trait;

#[async_trait]
impl Store for This {
    fn backend(&self) -> Backend {
        Self::BACKEND
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

impl This {
    /// A transaction that writes. On SQLite it takes the write lock when it begins (`BEGIN IMMEDIATE`): a
    /// transaction that reads before it writes would otherwise fail with "database is locked" at its first
    /// write whenever another connection wrote meanwhile (an upgrade cannot wait), where now it waits its turn
    /// within the busy timeout. PostgreSQL's row locks need nothing of the kind. It runs on the store's
    /// `writer` pool (see each backend's `connect`).
    pub(crate) async fn begin(&self) -> Result<sqlx::Transaction<'static, Db>> {
        let statement = match Self::BACKEND {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        };
        self.writing();
        Ok(self.writer.begin_with(statement).await?)
    }

    /// Runs one statement and records `event` with it, in one transaction. With `one: Some(what)` the
    /// statement must affect exactly one row, or nothing is written and the answer is `Stale(what)`.
    pub(super) async fn execute_recorded<'q>(
        &self,
        event: &AuditEvent,
        statement: sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>>,
        one: Option<&'static str>,
    ) -> Result<()> {
        self.execute_recorded_or(event, statement, one, StoreError::from)
            .await
    }

    /// `execute_recorded`, with the statement's own failure told by `fail` (such as `sql::conflict`, for a
    /// unique constraint the caller may break).
    pub(super) async fn execute_recorded_or<'q>(
        &self,
        event: &AuditEvent,
        statement: sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>>,
        one: Option<&'static str>,
        fail: impl FnOnce(sqlx::Error) -> StoreError + Send,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        This::record(&mut tx, event).await?;
        let done = statement.execute(&mut *tx).await.map_err(fail)?;
        if let Some(what) = one
            && done.rows_affected() != 1
        {
            return Err(StoreError::Stale(what));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Runs one statement outside any transaction and answers whether it changed exactly one row (an update
    /// or upsert whose condition decides whether it applies).
    pub(super) async fn changed_one<'q>(
        &self,
        statement: sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>>,
    ) -> Result<bool> {
        Ok(statement.execute(&self.pool).await?.rows_affected() == 1)
    }
}
