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
//!
//! A log that starts over keeps its file's size, so a burst the task could not keep up with (a flood of intake
//! takes it to a few hundred MiB) would leave the file that large for good. Cutting it back at every restart
//! costs the writer: extending the file again, page by page, took about 5 % of the intake rate under a flood.
//! So the file is cut back only once writes have stopped for `IDLE_TRUNCATE` (`PRAGMA
//! wal_checkpoint(TRUNCATE)`), and only if readers let it finish at once (`TRUNCATE_WAIT_MS`), since it holds
//! back writers while it waits for them.

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

/// How long writes must have stopped before the task cuts the log's file back to nothing.
const IDLE_TRUNCATE: Duration = Duration::from_secs(5);

/// How long the truncating checkpoint waits for readers (and holds back writers) before it gives up, in ms.
const TRUNCATE_WAIT_MS: u32 = 50;

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
            Timing {
                delay: CHECKPOINT_DELAY,
                restart_pages: WAL_RESTART_PAGES,
                idle: IDLE_TRUNCATE,
            },
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

/// `PRAGMA wal_checkpoint(TRUNCATE)` on `pool`'s connection, waiting at most `TRUNCATE_WAIT_MS` for readers:
/// true when the log's file was cut back to nothing.
async fn truncate(pool: &sqlx::SqlitePool) -> sqlx::Result<bool> {
    let mut conn = pool.acquire().await?;
    sqlx::query(&format!("PRAGMA busy_timeout = {TRUNCATE_WAIT_MS}"))
        .execute(&mut *conn)
        .await?;
    let done = sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(TRUNCATE)")
        .fetch_one(&mut *conn)
        .await;
    let usual = crate::sqlite::BUSY_TIMEOUT.as_millis();
    sqlx::query(&format!("PRAGMA busy_timeout = {usual}"))
        .execute(&mut *conn)
        .await?;
    let (busy, _, _) = done?;
    Ok(busy == 0)
}

/// The task's waits and thresholds (shorter in tests).
struct Timing {
    /// From the first write the task is told of to its checkpoint.
    delay: Duration,
    /// The log's size, in pages, past which the task has it start over.
    restart_pages: i64,
    /// How long writes must have stopped before the log's file is cut back.
    idle: Duration,
}

async fn run(
    side: sqlx::SqlitePool,
    writer: sqlx::SqlitePool,
    wake: Arc<Notify>,
    mut stopped: oneshot::Receiver<()>,
    timing: Timing,
) {
    let Timing {
        delay,
        restart_pages,
        idle,
    } = timing;
    // Written to since the log's file was last cut back.
    let mut dirty = false;
    loop {
        // An idle spell counts only once something was written since the last cut back.
        let idle_spell = async {
            if dirty {
                tokio::time::sleep(idle).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            () = wake.notified() => {}
            () = idle_spell => {
                match truncate(&side).await {
                    Ok(done) => dirty = !done,
                    // Not tried again until the next write: a failing connection would fail every time.
                    Err(e) => {
                        dirty = false;
                        tracing::warn!(error = %e, "cutting back the write-ahead log failed");
                    }
                }
                continue;
            }
            _ = &mut stopped => return,
        }
        dirty = true;
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

    /// A database in a directory of its own with SQLite's own checkpoints off, the task running on it with
    /// `timing`, and a table `t` to write to.
    struct Fixture {
        dir: std::path::PathBuf,
        writer: sqlx::SqlitePool,
        /// A third connection, for a reader.
        reader: sqlx::SqlitePool,
        wake: Arc<Notify>,
        stop: oneshot::Sender<()>,
        task: tokio::task::JoinHandle<()>,
    }

    impl Fixture {
        async fn start(timing: Timing) -> Fixture {
            let dir = std::env::temp_dir().join(format!("checkpointer-{}", uuid::Uuid::now_v7()));
            std::fs::create_dir_all(&dir).unwrap();
            let options = SqliteConnectOptions::new()
                .filename(dir.join("t.db"))
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(crate::sqlite::BUSY_TIMEOUT)
                .pragma("wal_autocheckpoint", "0");
            let pool = || async {
                SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect_with(options.clone())
                    .await
                    .unwrap()
            };
            let (writer, side, reader) = (pool().await, pool().await, pool().await);
            sqlx::query("CREATE TABLE t (n INTEGER PRIMARY KEY, body BLOB NOT NULL)")
                .execute(&writer)
                .await
                .unwrap();
            let wake = Arc::new(Notify::new());
            let (stop, stopped) = oneshot::channel();
            let task = tokio::spawn(run(side, writer.clone(), Arc::clone(&wake), stopped, timing));
            Fixture {
                dir,
                writer,
                reader,
                wake,
                stop,
                task,
            }
        }

        /// Tells the task of a write and commits row `n` of 6,000 bytes.
        async fn insert(&self, n: i64) {
            self.wake.notify_one();
            sqlx::query("INSERT INTO t (n, body) VALUES ($1, $2)")
                .bind(n)
                .bind(vec![7_u8; ROW_BYTES])
                .execute(&self.writer)
                .await
                .unwrap();
        }

        /// The size of the log's file (0 when there is none).
        fn log_size(&self) -> u64 {
            std::fs::metadata(self.dir.join("t.db-wal")).map_or(0, |m| m.len())
        }

        /// Stops the task and checks that every row written is there.
        async fn finish(self, rows: i64) {
            drop(self.stop);
            self.task.await.unwrap();
            let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM t")
                .fetch_one(&self.writer)
                .await
                .unwrap();
            assert_eq!(stored, rows);
            self.writer.close().await;
            self.reader.close().await;
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    const ROW_BYTES: usize = 6_000;

    /// Under a steady flow of commits, the task copies the log into the database file and has it start over:
    /// the log's file stays a fraction of what was written through it (without the task, with SQLite's own
    /// checkpoints off as here, it would hold every page).
    #[tokio::test]
    async fn under_steady_writes_the_log_is_copied_and_starts_over() {
        let f = Fixture::start(Timing {
            delay: Duration::from_millis(50),
            restart_pages: 256,
            idle: Duration::from_secs(3600),
        })
        .await;
        let commits = 1_500_i64;
        for n in 0..commits {
            f.insert(n).await;
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let written = u64::try_from(commits).unwrap() * ROW_BYTES as u64;
        let log = f.log_size();
        assert!(
            log < written / 3,
            "the log holds {log} bytes of the {written} written through it: it never started over"
        );
        f.finish(commits).await;
    }

    /// Once writes stop, the log's file is cut back to nothing; a reader still on an old snapshot only delays
    /// that until it is done.
    #[tokio::test]
    async fn once_writes_stop_the_log_file_is_cut_back_and_a_reader_only_delays_it() {
        let f = Fixture::start(Timing {
            delay: Duration::from_millis(20),
            // The log never starts over here: only the cut back empties its file.
            restart_pages: i64::MAX,
            idle: Duration::from_millis(200),
        })
        .await;
        for n in 0..100 {
            f.insert(n).await;
        }
        let mut held = f.reader.acquire().await.unwrap();
        sqlx::query("BEGIN").execute(&mut *held).await.unwrap();
        let seen: i64 = sqlx::query_scalar("SELECT count(*) FROM t")
            .fetch_one(&mut *held)
            .await
            .unwrap();
        assert_eq!(seen, 100);
        f.insert(100).await;
        let written = f.log_size();
        assert!(written > 100 * ROW_BYTES as u64, "the log holds {written} bytes");
        // Several idle periods pass while the reader holds its snapshot: the file cannot be cut back.
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(f.log_size() > 0, "the log was emptied under a reader");
        sqlx::query("COMMIT").execute(&mut *held).await.unwrap();
        drop(held);
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while f.log_size() > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the log's file still holds {} bytes after writes stopped",
                f.log_size()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Writes go on after the cut back, and nothing written is lost.
        f.insert(101).await;
        f.finish(102).await;
    }
}
