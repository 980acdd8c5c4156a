//! Scheduled work: expiring sessions and login locks, signing ledger checkpoints. Each run takes a lease in the database first, so with many server processes exactly one
//! does the work at a time.

use crate::{App, AppResult};
use chrono::Duration;

const LEASE: &str = "housekeeping";

impl App {
    /// Purges expired sessions and lapsed login locks if this process holds the lease. Returns whether it ran.
    pub async fn housekeeping(&self, holder: &str) -> AppResult<bool> {
        let now = self.clock.now();
        if !self
            .store
            .try_lease(LEASE, holder, now, now + Duration::seconds(90))
            .await?
        {
            return Ok(false);
        }
        // A checkpoint at least every run, when the ledger grew, so monitors see new entries promptly.
        self.sign_checkpoint().await?;
        let purged = self.store.purge_expired(now).await? + self.purge_stale_login_failures().await?;
        if purged > 0 {
            tracing::info!(purged, "housekeeping purged expired sessions and login locks");
        }
        Ok(true)
    }
}
