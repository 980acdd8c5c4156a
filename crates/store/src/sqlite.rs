//! SQLite: the embedded default. One file, WAL mode, a busy timeout so concurrent writers wait their turn.

use crate::audience::audience_sql_store;
use crate::gateway::{gateway_sql_store, gateway_token_select};
use crate::sql::{conflict, notice_select, sql_store};
use crate::*;
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
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(SqliteStore { pool })
    }
}

sql_store!(SqliteStore, sqlx::Sqlite);
gateway_sql_store!(SqliteStore, sqlx::Sqlite);
audience_sql_store!(SqliteStore, sqlx::Sqlite);

/// This backend's sqlx database and store, as the shared query modules below name them.
#[allow(dead_code)]
type Db = sqlx::Sqlite;
type This = SqliteStore;

// The SQL each domain shares between the backends, one module per store trait (see `queries/`). Each file is
// compiled once per backend on purpose, hence `duplicate_mod`.
#[allow(clippy::duplicate_mod)]
#[path = "queries/jobs.rs"]
mod jobs;
#[allow(clippy::duplicate_mod)]
#[path = "queries/limits.rs"]
mod limits;
#[allow(clippy::duplicate_mod)]
#[path = "queries/notifications.rs"]
mod notifications;
#[allow(clippy::duplicate_mod)]
#[path = "queries/webhooks.rs"]
mod webhooks;
