//! `Store` itself, the supertrait of every domain's store: which backend this is and whether it answers.
//! Compiled once for each backend like every file of `queries/`.

use super::{Db, This};
use crate::{Backend, Result, Store};
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
    /// within the busy timeout. PostgreSQL's row locks need nothing of the kind.
    pub(crate) async fn begin(&self) -> Result<sqlx::Transaction<'static, Db>> {
        let statement = match Self::BACKEND {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        };
        Ok(self.pool.begin_with(statement).await?)
    }
}
