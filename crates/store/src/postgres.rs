//! PostgreSQL: the path past one machine. Any number of server and worker processes share one database.

use crate::audience::audience_sql_store;
use crate::gateway::{gateway_sql_store, gateway_token_select};
use crate::sql::{conflict, notice_select, sql_store};
use crate::*;
use sqlx::postgres::PgPoolOptions;
use std::time::Duration;

pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// A pooled connection idle for longer than this is pinged before use (see `connect`).
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

pub struct PostgresStore {
    pool: sqlx::PgPool,
}

impl PostgresStore {
    const BACKEND: Backend = Backend::Postgres;

    pub async fn connect(url: &str) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            // sqlx pings every idle connection before handing it out: a second round trip for every
            // statement. Ping only a connection that sat idle long enough to have been dropped.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for > PING_AFTER_IDLE {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .connect(url)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(PostgresStore { pool })
    }
}

sql_store!(PostgresStore, sqlx::Postgres);
gateway_sql_store!(PostgresStore, sqlx::Postgres);
audience_sql_store!(PostgresStore, sqlx::Postgres);

/// This backend's sqlx database and store, as the shared query modules below name them.
#[allow(dead_code)]
type Db = sqlx::Postgres;
type This = PostgresStore;

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
