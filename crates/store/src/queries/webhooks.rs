//! The SQL of `WebhookStore`, compiled once for each backend (see `queries/limits.rs`).

use super::{Db, This};
use crate::webhooks::{WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookStore};
use crate::{AuditEvent, Backend, Page, Result, StoreError};
use async_trait::async_trait;
use uuid::Uuid;

const ENDPOINT_COLUMNS: &str = "id, org_id, url, description, events, enabled, sealed_secret, failing_since, \
     disabled_reason, created_at, updated_at";

const DELIVERY_COLUMNS: &str =
    "id, endpoint_id, message_id, event_type, attempt, status_code, latency_ms, error, delivered, at";

#[async_trait]
impl WebhookStore for This {
    async fn create_webhook(&self, e: &WebhookEndpoint, most: i64, event: &AuditEvent) -> Result<bool> {
        let mut tx = self.begin().await?;
        // The event first, as every change does: its ledger lock is always the first one taken.
        This::record(&mut tx, event).await?;
        if This::BACKEND == Backend::Postgres {
            // Creations for one organisation take turns on its row, so the count below (a statement of its
            // own, with a snapshot taken after the lock) sees every committed one. SQLite has one writer at a
            // time: its statement below is atomic as it stands.
            sqlx::query("SELECT id FROM organizations WHERE id = $1 FOR NO KEY UPDATE")
                .bind(e.org_id)
                .execute(&mut *tx)
                .await?;
        }
        // One statement: the row is added only while the organisation has fewer than `most`.
        let added = sqlx::query(&format!(
            "INSERT INTO webhook_endpoints ({ENDPOINT_COLUMNS}) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 \
             WHERE (SELECT COUNT(*) FROM webhook_endpoints WHERE org_id = $2) < $12"
        ))
        .bind(e.id)
        .bind(e.org_id)
        .bind(&e.url)
        .bind(&e.description)
        .bind(&e.events)
        .bind(e.enabled)
        .bind(&e.sealed_secret)
        .bind(e.failing_since)
        .bind(&e.disabled_reason)
        .bind(e.created_at)
        .bind(e.updated_at)
        .bind(most)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if added != 1 {
            // At the cap: the transaction rolls back, event and all.
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn get_webhook(&self, id: Uuid) -> Result<Option<WebhookEndpoint>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn list_webhooks(&self, org_id: Uuid, page: &Page<Uuid>) -> Result<Vec<WebhookEndpoint>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE org_id = $1 AND ($2 IS NULL OR id > $2) \
             ORDER BY id LIMIT $3"
        ))
        .bind(org_id)
        .bind(page.after)
        .bind(page.limit)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn update_webhook(&self, e: &WebhookEndpoint, event: &AuditEvent) -> Result<()> {
        let statement = sqlx::query(
            "UPDATE webhook_endpoints SET url = $2, description = $3, events = $4, enabled = $5, \
             failing_since = $6, disabled_reason = $7, updated_at = $8 WHERE id = $1",
        )
        .bind(e.id)
        .bind(&e.url)
        .bind(&e.description)
        .bind(&e.events)
        .bind(e.enabled)
        .bind(e.failing_since)
        .bind(&e.disabled_reason)
        .bind(e.updated_at);
        self.execute_recorded(event, statement, Some("webhook endpoint"))
            .await
    }

    async fn delete_webhook(&self, id: Uuid, event: &AuditEvent) -> Result<()> {
        let mut tx = self.begin().await?;
        This::record(&mut tx, event).await?;
        sqlx::query("DELETE FROM webhook_deliveries WHERE endpoint_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Stale("webhook endpoint"));
        }
        tx.commit().await?;
        Ok(())
    }

    async fn enabled_webhooks(&self, org_ids: &[Uuid]) -> Result<Vec<WebhookEndpoint>> {
        if org_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut select = sqlx::QueryBuilder::<Db>::new(format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE enabled AND org_id IN ("
        ));
        let mut ids = select.separated(", ");
        for id in org_ids {
            ids.push_bind(*id);
        }
        select.push(") ORDER BY id");
        Ok(select.build_query_as().fetch_all(&self.pool).await?)
    }

    async fn record_webhook_attempt(&self, a: &WebhookAttempt<'_>) -> Result<()> {
        let d = a.delivery;
        let mut tx = self.begin().await?;
        if let Some(outcome) = a.job {
            super::jobs::finish_in(&mut tx, outcome).await?;
        }
        sqlx::query(&format!(
            "INSERT INTO webhook_deliveries ({DELIVERY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(d.id)
        .bind(d.endpoint_id)
        .bind(&d.message_id)
        .bind(&d.event_type)
        .bind(d.attempt)
        .bind(d.status_code)
        .bind(d.latency_ms)
        .bind(&d.error)
        .bind(d.delivered)
        .bind(d.at)
        .execute(&mut *tx)
        .await?;
        let failing = if d.delivered {
            sqlx::query("UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1").bind(d.endpoint_id)
        } else {
            sqlx::query(
                "UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, $2) WHERE id = $1",
            )
            .bind(d.endpoint_id)
            .bind(d.at)
        };
        failing.execute(&mut *tx).await?;
        if let Some((reason, event)) = a.disable {
            let done = sqlx::query(
                "UPDATE webhook_endpoints SET enabled = FALSE, disabled_reason = $2, updated_at = $3 \
                 WHERE id = $1 AND enabled",
            )
            .bind(d.endpoint_id)
            .bind(reason)
            .bind(d.at)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 1 {
                This::record(&mut tx, event).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn list_webhook_deliveries(
        &self,
        endpoint_id: Uuid,
        page: &Page<Uuid>,
    ) -> Result<Vec<WebhookDelivery>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE endpoint_id = $1 \
             AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
        ))
        .bind(endpoint_id)
        .bind(page.after)
        .bind(page.limit)
        .fetch_all(&self.pool)
        .await?)
    }
}
