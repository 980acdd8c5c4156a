//! The SQL of `SettingsStore` (program settings, leases for scheduled work), compiled once for each backend like
//! every file of `queries/`.

use super::{Db, This};
use crate::{AuditEvent, CsafSigningKey, Result, SettingsStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

#[async_trait]
impl SettingsStore for This {
    async fn get_setting(&self, name: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT value FROM settings WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn get_settings(&self, names: &[&str]) -> Result<Vec<Option<String>>> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let mut q = sqlx::QueryBuilder::<Db>::new("SELECT name, value FROM settings WHERE name IN (");
        let mut list = q.separated(", ");
        for name in names {
            list.push_bind(*name);
        }
        q.push(")");
        let rows: Vec<(String, String)> = q.build_query_as().fetch_all(&self.pool).await?;
        Ok(names
            .iter()
            .map(|name| rows.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()))
            .collect())
    }

    async fn put_setting(&self, name: &str, value: &str, event: &AuditEvent) -> Result<()> {
        let statement = sqlx::query(
            "INSERT INTO settings (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(name)
        .bind(value);
        self.execute_recorded(event, statement, None).await
    }

    async fn csaf_signing_key(&self) -> Result<Option<CsafSigningKey>> {
        Ok(sqlx::query_as(
            "SELECT id, fingerprint, public_key, sealed, created_at FROM csaf_signing_keys \
             WHERE slot = 'provider'",
        )
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn create_csaf_signing_key(&self, key: &CsafSigningKey, event: &AuditEvent) -> Result<bool> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "INSERT INTO csaf_signing_keys (id, slot, fingerprint, public_key, sealed, created_at) \
             VALUES ($1, 'provider', $2, $3, $4, $5) ON CONFLICT (slot) DO NOTHING",
        )
        .bind(key.id)
        .bind(&key.fingerprint)
        .bind(&key.public_key)
        .bind(&key.sealed)
        .bind(key.created_at)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        Self::record(&mut tx, event).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool> {
        let statement = sqlx::query(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $4) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE leases.holder = excluded.holder OR leases.expires_at <= $3",
        )
        .bind(name)
        .bind(holder)
        .bind(now)
        .bind(until);
        self.changed_one(statement).await
    }
}
