//! SQLite: the embedded default. One file, WAL mode, a busy timeout so concurrent writers wait their turn.

use crate::{Backend, Result};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::time::Duration;

pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

pub struct SqliteStore {
    pool: sqlx::SqlitePool,
}

impl SqliteStore {
    const BACKEND: Backend = Backend::Sqlite;

    pub async fn connect(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            // An embedded file's connection is not lost the way a socket is: no ping (a round trip to the
            // connection's thread) before every use.
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(SqliteStore { pool })
    }
}

/// This backend's sqlx database and store, as the shared query modules below name them.
type Db = sqlx::Sqlite;
type This = SqliteStore;

// The SQL of each domain, shared by the backends: one module per store trait (see `queries/`). Each file is
// compiled once per backend on purpose, hence `duplicate_mod`.
#[allow(clippy::duplicate_mod)]
#[path = "queries/advisories.rs"]
mod advisories;
#[allow(clippy::duplicate_mod)]
#[path = "queries/audience.rs"]
mod audience;
#[allow(clippy::duplicate_mod)]
#[path = "queries/audit.rs"]
mod audit;
#[allow(clippy::duplicate_mod)]
#[path = "queries/cases.rs"]
mod cases;
#[allow(clippy::duplicate_mod)]
#[path = "queries/dashboard.rs"]
mod dashboard;
#[allow(clippy::duplicate_mod)]
#[path = "queries/evals.rs"]
mod evals;
#[allow(clippy::duplicate_mod)]
#[path = "queries/federation.rs"]
mod federation;
#[allow(clippy::duplicate_mod)]
#[path = "queries/findings.rs"]
mod findings;
#[allow(clippy::duplicate_mod)]
#[path = "queries/gateway.rs"]
mod gateway;
#[allow(clippy::duplicate_mod)]
#[path = "queries/identity.rs"]
mod identity;
#[allow(clippy::duplicate_mod)]
#[path = "queries/jobs.rs"]
mod jobs;
#[allow(clippy::duplicate_mod)]
#[path = "queries/ledger.rs"]
mod ledger;
#[allow(clippy::duplicate_mod)]
#[path = "queries/limits.rs"]
mod limits;
#[allow(clippy::duplicate_mod)]
#[path = "queries/notifications.rs"]
mod notifications;
#[allow(clippy::duplicate_mod)]
#[path = "queries/readers.rs"]
mod readers;
#[allow(clippy::duplicate_mod)]
#[path = "queries/reports.rs"]
mod reports;
#[allow(clippy::duplicate_mod)]
#[path = "queries/review.rs"]
mod review;
#[allow(clippy::duplicate_mod)]
#[path = "queries/sessions.rs"]
mod sessions;
#[allow(clippy::duplicate_mod)]
#[path = "queries/settings.rs"]
mod settings;
#[allow(clippy::duplicate_mod)]
#[path = "queries/store.rs"]
mod store;
#[allow(clippy::duplicate_mod)]
#[path = "queries/taxii.rs"]
mod taxii;
#[allow(clippy::duplicate_mod)]
#[path = "queries/taxii_collections.rs"]
mod taxii_collections;
#[allow(clippy::duplicate_mod)]
#[path = "queries/tlp.rs"]
mod tlp;
#[allow(clippy::duplicate_mod)]
#[path = "queries/webhooks.rs"]
mod webhooks;
