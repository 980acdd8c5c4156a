//! Program settings and the leases that decide which process runs scheduled work: `SettingsStore`, its SQL in
//! `queries/settings.rs`.

use crate::{AuditEvent, Result};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// The CSAF provider's OpenPGP signing key as stored. `Debug` leaves the sealed secret out.
#[derive(Clone, PartialEq, sqlx::FromRow)]
pub struct CsafSigningKey {
    pub id: Uuid,
    /// The OpenPGP v4 fingerprint, upper-case hex.
    pub fingerprint: String,
    /// The ASCII-armoured public key (transferable public key).
    pub public_key: String,
    /// The secret key (binary OpenPGP), sealed under the master key with `csaf_signing_key:<id>`.
    pub sealed: Vec<u8>,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for CsafSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsafSigningKey")
            .field("id", &self.id)
            .field("fingerprint", &self.fingerprint)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

#[async_trait]
pub trait SettingsStore: Send + Sync + 'static {
    // Program settings
    async fn get_setting(&self, name: &str) -> Result<Option<String>>;
    /// Several settings in one read: the value of each name, `None` where it is not set.
    async fn get_settings(&self, names: &[&str]) -> Result<Vec<Option<String>>>;
    async fn put_setting(&self, name: &str, value: &str, event: &AuditEvent) -> Result<()>;

    /// The CSAF provider's signing key, once made.
    async fn csaf_signing_key(&self) -> Result<Option<CsafSigningKey>>;
    /// Stores the provider's signing key unless one exists (another process may have made it first); true
    /// when this one was stored. The event is recorded only then.
    async fn create_csaf_signing_key(&self, key: &CsafSigningKey, event: &AuditEvent) -> Result<bool>;

    /// Takes or renews the named lease for scheduled work; true when `holder` now holds it.
    async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool>;
}
