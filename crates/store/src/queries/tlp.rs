//! The SQL of `TlpStore`, compiled once for each backend (see `queries/limits.rs`): the client organisations
//! named on TLP:AMBER objects (`tlp_clients`), which `tlp_admits!` reads.

use super::This;
use crate::tlp::{TlpClient, TlpObject, TlpStore};
use crate::{AuditEvent, Result};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// The most client organisations one object names (the app bounds its input below this).
const MAX_CLIENTS: i64 = 1000;

/// `$from, $from+1, …` for `n` values.
fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[async_trait]
impl TlpStore for This {
    async fn tlp_clients(&self, object: Uuid) -> Result<Vec<TlpClient>> {
        Ok(sqlx::query_as(
            "SELECT t.client_org_id AS org_id, o.name, t.org_id AS named_by FROM tlp_clients t \
             JOIN organizations o ON o.id = t.client_org_id WHERE t.object_id = $1 \
             ORDER BY o.name, t.client_org_id, t.org_id LIMIT $2",
        )
        .bind(object)
        .bind(MAX_CLIENTS)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn active_orgs(&self, ids: &[Uuid]) -> Result<Vec<Uuid>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT id FROM organizations WHERE active AND id IN ({}) ORDER BY id",
            placeholders(1, ids.len())
        );
        let mut q = sqlx::query_scalar(&sql);
        for id in ids {
            q = q.bind(*id);
        }
        Ok(q.fetch_all(&self.pool).await?)
    }

    async fn set_tlp_clients(
        &self,
        kind: TlpObject,
        object: Uuid,
        version: i64,
        clients: &[Uuid],
        named_by: Uuid,
        at: DateTime<Utc>,
        event: &AuditEvent,
    ) -> Result<Option<i64>> {
        let table = match kind {
            TlpObject::Report => "reports",
            TlpObject::Case => "cases",
        };
        let mut tx = self.begin().await?;
        // The marking and version are checked by the write itself, so a concurrent change of either wins.
        let bumped: Option<i64> = sqlx::query_scalar(&format!(
            "UPDATE {table} SET version = version + 1, modified_at = $3 \
             WHERE id = $1 AND version = $2 AND tlp = 'amber' RETURNING version"
        ))
        .bind(object)
        .bind(version)
        .bind(at)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(bumped) = bumped else {
            return Ok(None);
        };
        if clients.is_empty() {
            sqlx::query("DELETE FROM tlp_clients WHERE object_id = $1")
                .bind(object)
                .execute(&mut *tx)
                .await?;
        } else {
            let sql = format!(
                "DELETE FROM tlp_clients WHERE object_id = $1 AND client_org_id NOT IN ({})",
                placeholders(2, clients.len())
            );
            let mut q = sqlx::query(&sql).bind(object);
            for client in clients {
                q = q.bind(*client);
            }
            q.execute(&mut *tx).await?;
            for client in clients {
                sqlx::query(
                    "INSERT INTO tlp_clients (object_id, org_id, client_org_id) SELECT $1, $2, $3 \
                     WHERE NOT EXISTS (SELECT 1 FROM tlp_clients WHERE object_id = $1 AND client_org_id = $3)",
                )
                .bind(object)
                .bind(named_by)
                .bind(client)
                .execute(&mut *tx)
                .await?;
            }
        }
        Self::record(&mut tx, event).await?;
        tx.commit().await?;
        Ok(Some(bumped))
    }
}
