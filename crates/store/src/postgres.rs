//! PostgreSQL: the path past one machine. Any number of server and worker processes share one database.

use crate::{Backend, Result};
use sqlx::postgres::PgPoolOptions;
use std::time::Duration;

pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// A pooled connection idle for longer than this is pinged before use (see `connect`).
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

pub struct PostgresStore {
    pool: sqlx::PgPool,
    /// Write transactions (`begin`): the same pool, as PostgreSQL runs writers side by side.
    writer: sqlx::PgPool,
    /// The stored fingerprints' exact and band keys (`dedup_index`): built by the first candidate search, and caught up
    /// before every one.
    dedup: crate::dedup_index::DedupIndex,
    /// The fingerprints and products of the reports searches found lately (`candidate_cache`).
    candidates: crate::candidate_cache::CandidateCache,
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
        Ok(PostgresStore {
            writer: pool.clone(),
            pool,
            dedup: crate::dedup_index::DedupIndex::default(),
            candidates: crate::candidate_cache::CandidateCache::default(),
        })
    }

    /// A write transaction is beginning (`begin`): nothing to do, PostgreSQL checkpoints by itself.
    #[allow(clippy::unused_self)]
    fn writing(&self) {}
}

/// This backend's sqlx database and store, as the shared query modules below name them.
type Db = sqlx::Postgres;
type This = PostgresStore;

query_modules!();
