//! SQLite: the embedded default. One file, WAL mode, a busy timeout so concurrent writers wait their turn.

use crate::{Backend, Result};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::time::Duration;

pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The writer's page cache, in KiB (a negative `cache_size`): 64 MiB, allocated as pages are read. Its cache
/// is never dropped by another connection's commit, so intake's index seeks find their pages in memory rather
/// than read them from the file (SQLite's default is 2 MiB).
const WRITER_CACHE_KIB: i32 = -65_536;

/// How long a connection waits for a lock another holds before it fails with "database is locked".
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

pub struct SqliteStore {
    pool: sqlx::SqlitePool,
    /// Write transactions (`begin`), one at a time on one connection of their own. Its page cache stays warm,
    /// where a connection's cache is dropped whenever another connection has committed; and writers wait their
    /// turn in the pool's queue, in order, where they would sleep in SQLite's busy handler.
    writer: sqlx::SqlitePool,
    /// The stored fingerprints' exact and band keys (`dedup_index`): built by the first candidate search, and caught up
    /// before every one.
    dedup: crate::dedup_index::DedupIndex,
    /// The fingerprints and products of the reports searches found lately (`candidate_cache`).
    candidates: crate::candidate_cache::CandidateCache,
    /// Copies the write-ahead log into the database file beside the writer (`checkpointer`).
    checkpoints: crate::checkpointer::Checkpointer,
}

impl SqliteStore {
    const BACKEND: Backend = Backend::Sqlite;

    pub async fn connect(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            // SQLite copies the WAL into the database file (and syncs both) on the commit that takes the WAL
            // past this many pages (1,000 by default), inside that commit. The store's checkpointer does it
            // off the writer's path long before (`checkpointer`); this is its backstop.
            .pragma(
                "wal_autocheckpoint",
                crate::checkpointer::WAL_AUTOCHECKPOINT_PAGES.to_string(),
            )
            // A multi-row write inside a transaction keeps a statement journal to undo itself alone; past 64 KiB
            // SQLite spills it to a temporary file, a write system call per page. Keep it in memory.
            .pragma("temp_store", "memory")
            .foreign_keys(true);
        // An embedded file's connection is not lost the way a socket is: no ping (a round trip to the
        // connection's thread) before every use.
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        MIGRATOR.run(&pool).await?;
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(options.clone().pragma("cache_size", WRITER_CACHE_KIB.to_string()))
            .await?;
        let side = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        Ok(SqliteStore {
            checkpoints: crate::checkpointer::Checkpointer::start(side, writer.clone()),
            pool,
            writer,
            dedup: crate::dedup_index::DedupIndex::default(),
            candidates: crate::candidate_cache::CandidateCache::default(),
        })
    }

    /// A write transaction is beginning (`begin`): the checkpointer copies what it writes soon after.
    fn writing(&self) {
        self.checkpoints.wrote();
    }
}

/// This backend's sqlx database and store, as the shared query modules below name them.
type Db = sqlx::Sqlite;
type This = SqliteStore;

query_modules!();
