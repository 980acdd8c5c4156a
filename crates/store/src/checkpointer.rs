//! SQLite's WAL checkpoints, taken off the writer's path.
//!
//! A commit appends its pages to the write-ahead log; a checkpoint copies them into the database file and
//! syncs both files. Left to SQLite, the commit that takes the log past `wal_autocheckpoint` pages runs the
//! checkpoint itself, so every few dozen intake groups one of them waits for the copy and two `fsync`s (tens
//! of milliseconds on a virtual disk), and so does everyone queued behind it.
//!
//! Here a task of the store's checkpoints instead, on a connection of its own, while the writer goes on:
//! - a second after writes begin (`CHECKPOINT_DELAY`, so that it gathers many commits), a `PASSIVE`
//!   checkpoint copies every page committed so far without taking the write lock;
//! - the log then starts over from its beginning only when a write transaction begins while every page in it
//!   has been copied. Under a steady flow of commits that never happens by itself, so once the log holds
//!   `WAL_RESTART_PAGES` the task repeats its pass (each copies what was committed during the one before)
//!   until little was appended meanwhile, then takes the writer connection between two transactions and
//!   checkpoints that rest there: the next transaction restarts the log.
//!
//! The writer's automatic checkpoint stays as a backstop (`WAL_AUTOCHECKPOINT_PAGES`, well past the restart
//! point), for a process whose task cannot keep up or has stopped. The task ends when its store is dropped.

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, oneshot};

/// How long the task lets commits gather after the first write it is told of, before it checkpoints. A page
/// that many commits change (an index's last leaf, the pages above it) is copied once per checkpoint, so fewer,
/// larger checkpoints copy less in all and sync less often, and disturb the writer less: under a flood of
/// intake, 1 s gave both a higher rate and a lower dedup p99 than 100 ms or 500 ms (`bench/RESULTS.md`,
/// 2026-12-02), for a log of up to about 240 MiB.
const CHECKPOINT_DELAY: Duration = Duration::from_secs(1);

/// The log's size, in 4 KiB pages, past which the task has it start over (64 MiB).
pub(crate) const WAL_RESTART_PAGES: i64 = 16_384;

/// The most pages the writer's connection copies when the log starts over, as far as the passes before can
/// tell (a couple of intake groups' worth).
const RESTART_REMAINDER_PAGES: i64 = 1_024;

/// The most passes on the task's own connection before the writer's copies the rest, however much is left.
const MAX_PASSES: usize = 4;

/// The writer's automatic checkpoint, in pages: only when the task has fallen far behind (512 MiB).
pub(crate) const WAL_AUTOCHECKPOINT_PAGES: u32 = 131_072;

/// The handle a store keeps: tells the task of writes, and stops it when dropped.
pub(crate) struct Checkpointer {
    wake: Arc<Notify>,
    _stop: oneshot::Sender<()>,
}

impl Checkpointer {
    /// Starts the task for a store's database: `side` is a pool of one connection for its own checkpoints,
    /// `writer` the store's writer pool.
    pub(crate) fn start(side: sqlx::SqlitePool, writer: sqlx::SqlitePool) -> Self {
        let wake = Arc::new(Notify::new());
        let (stop, stopped) = oneshot::channel();
        tokio::spawn(run(
            side,
            writer,
            Arc::clone(&wake),
            stopped,
            CHECKPOINT_DELAY,
            WAL_RESTART_PAGES,
        ));
        Checkpointer { wake, _stop: stop }
    }

    /// A write transaction is beginning: the task checkpoints after `CHECKPOINT_DELAY`.
    pub(crate) fn wrote(&self) {
        self.wake.notify_one();
    }
}

/// `PRAGMA wal_checkpoint(PASSIVE)` on `pool`'s connection: the pages in the log, and how many of them are
/// in the database file now.
async fn checkpoint(pool: &sqlx::SqlitePool) -> sqlx::Result<(i64, i64)> {
    let (_busy, log, copied): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(pool)
        .await?;
    Ok((log, copied))
}

async fn run(
    side: sqlx::SqlitePool,
    writer: sqlx::SqlitePool,
    wake: Arc<Notify>,
    mut stopped: oneshot::Receiver<()>,
    delay: Duration,
    restart_pages: i64,
) {
    loop {
        tokio::select! {
            () = wake.notified() => {}
            _ = &mut stopped => return,
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            _ = &mut stopped => return,
        }
        let done = async {
            let (mut log, _) = checkpoint(&side).await?;
            if log < restart_pages {
                return Ok(());
            }
            // Each pass copies what was committed during the one before, a little more than a group or two
            // once the passes are short; then the rest, on the writer's connection between two of its
            // transactions (nothing is appended meanwhile), and the next transaction starts the log over.
            for _ in 0..MAX_PASSES {
                let (now, _) = checkpoint(&side).await?;
                let appended = now - log;
                log = now;
                if appended <= RESTART_REMAINDER_PAGES {
                    break;
                }
            }
            let mut conn = writer.acquire().await?;
            sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&mut *conn)
                .await?;
            Ok::<(), sqlx::Error>(())
        };
        if let Err(e) = done.await {
            // The writer's own checkpoint is the backstop; nothing is lost but time.
            tracing::warn!(error = %e, "checkpointing the write-ahead log failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

    /// Under a steady flow of commits, the task copies the log into the database file and has it start over:
    /// the log's file stays a fraction of what was written through it (without the task, with SQLite's own
    /// checkpoints off as here, it would hold every page).
    #[tokio::test]
    async fn under_steady_writes_the_log_is_copied_and_starts_over() {
        let dir = std::env::temp_dir().join(format!("checkpointer-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("t.db");
        let options = SqliteConnectOptions::new()
            .filename(&db)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .pragma("wal_autocheckpoint", "0");
        let pool = |options: SqliteConnectOptions| async move {
            SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options)
                .await
                .unwrap()
        };
        let writer = pool(options.clone()).await;
        let side = pool(options).await;
        sqlx::query("CREATE TABLE t (n INTEGER PRIMARY KEY, body BLOB NOT NULL)")
            .execute(&writer)
            .await
            .unwrap();
        let wake = Arc::new(Notify::new());
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(run(
            side,
            writer.clone(),
            Arc::clone(&wake),
            stopped,
            Duration::from_millis(50),
            256,
        ));
        let commits = 1_500_i64;
        let body = vec![7_u8; 6_000];
        for n in 0..commits {
            wake.notify_one();
            sqlx::query("INSERT INTO t (n, body) VALUES ($1, $2)")
                .bind(n)
                .bind(&body)
                .execute(&writer)
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        drop(stop);
        task.await.unwrap();
        let written = commits * i64::try_from(body.len()).unwrap();
        let log = i64::try_from(std::fs::metadata(dir.join("t.db-wal")).unwrap().len()).unwrap();
        assert!(
            log < written / 3,
            "the log holds {log} bytes of the {written} written through it: it never started over"
        );
        let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM t")
            .fetch_one(&writer)
            .await
            .unwrap();
        assert_eq!(stored, commits);
        writer.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
