//! SQLite: the embedded default. One file, WAL mode, a busy timeout so concurrent writers wait their turn.

use crate::audience::audience_sql_store;
use crate::gateway::{gateway_sql_store, gateway_token_select};
use crate::limits::limits_sql_store;
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
limits_sql_store!(SqliteStore, sqlx::Sqlite);
