//! `Store` itself, the supertrait of every domain's store: which backend this is and whether it answers.
//! Compiled once for each backend like every file of `queries/`.

use super::This;
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
