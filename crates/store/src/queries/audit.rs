//! The SQL of `AuditStore` (the whole audit trail, unfiltered), compiled once for each backend like every file of
//! `queries/`. Events are written by `ledger.rs`'s `record`; readers list them through `audience.rs`.

use super::This;
use crate::{AuditEvent, AuditStore, Page, Result};
use async_trait::async_trait;
use uuid::Uuid;

#[async_trait]
impl AuditStore for This {
    async fn list_audit(&self, object_id: Option<Uuid>, page: &Page<i64>) -> Result<Vec<AuditEvent>> {
        Ok(sqlx::query_as(
            "SELECT * FROM audit_events WHERE ($1 IS NULL OR object_id = $1) \
             AND ($2 IS NULL OR seq > $2) ORDER BY seq LIMIT $3",
        )
        .bind(object_id)
        .bind(page.after)
        .bind(page.limit)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn count_audit(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM audit_events")
            .fetch_one(&self.pool)
            .await?)
    }
}
