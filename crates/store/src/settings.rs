//! Program settings and the leases that decide which process runs scheduled work: `SettingsStore`, its SQL in
//! `queries/settings.rs`.

use crate::{AuditEvent, Result};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

#[async_trait]
pub trait SettingsStore: Send + Sync + 'static {
    // Program settings
    async fn get_setting(&self, name: &str) -> Result<Option<String>>;
    async fn put_setting(&self, name: &str, value: &str, event: &AuditEvent) -> Result<()>;

    /// Takes or renews the named lease for scheduled work; true when `holder` now holds it.
    async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool>;
}
