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

query_modules!();
