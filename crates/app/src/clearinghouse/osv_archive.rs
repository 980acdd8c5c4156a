//! The bounds on `/osv/all.zip`. An archive is built per request from every record its reader may read, so
//! builds are bounded per server process: at most `MAX_BUILDS` at once; a request beyond that waits up to
//! `BUILD_WAIT` for a slot, then is refused as busy (`AppError::Busy`, retry after `RETRY_AFTER_SECONDS`), nothing
//! built. The public archive (TLP:CLEAR, read without signing in) is built once and served from memory, whole,
//! while the published records stay as they were: the cache is keyed on the count and latest modification of
//! the records the public may read (`AdvisoryStore::advisories_stamp`, one aggregate query per request), read
//! before a build, so a publication, edit or withdrawal after it makes the next request build afresh. A
//! signed-in reader's archive holds its own records (their TLP) and is streamed as it is built, holding its
//! slot until it is sent.

use crate::{App, AppError, AppResult, Caller, policy};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use futures_util::stream::BoxStream;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Archive builds at once in this server process.
pub const MAX_BUILDS: usize = 2;
/// How long a request waits for a build's slot before it is refused.
pub const BUILD_WAIT: Duration = Duration::from_secs(10);
/// What a refused request is told to wait before it retries.
pub const RETRY_AFTER_SECONDS: i64 = 30;

/// What the public archive is keyed on: the count and latest modification of the records it holds.
type Stamp = (i64, Option<DateTime<Utc>>);

/// The build slots and the cached public archive, one per service.
pub struct Archives {
    slots: Arc<Semaphore>,
    public: Mutex<Option<(Stamp, Bytes)>>,
}

impl Default for Archives {
    fn default() -> Self {
        Archives {
            slots: Arc::new(Semaphore::new(MAX_BUILDS)),
            public: Mutex::new(None),
        }
    }
}

impl Archives {
    fn cached(&self, stamp: &Stamp) -> Option<Bytes> {
        let public = self.public.lock().unwrap_or_else(|e| e.into_inner());
        public
            .as_ref()
            .filter(|(s, _)| s == stamp)
            .map(|(_, b)| b.clone())
    }

    fn keep(&self, stamp: Stamp, bytes: Bytes) {
        *self.public.lock().unwrap_or_else(|e| e.into_inner()) = Some((stamp, bytes));
    }

    /// A build's slot, waiting at most `BUILD_WAIT`.
    async fn slot(&self) -> AppResult<OwnedSemaphorePermit> {
        self.slot_within(BUILD_WAIT).await
    }

    async fn slot_within(&self, wait: Duration) -> AppResult<OwnedSemaphorePermit> {
        match tokio::time::timeout(wait, self.slots.clone().acquire_owned()).await {
            Ok(Ok(slot)) => Ok(slot),
            Ok(Err(e)) => Err(AppError::Internal(Box::new(e))),
            Err(_) => Err(AppError::Busy {
                retry_after: RETRY_AFTER_SECONDS,
                detail: format!(
                    "the server is building as many OSV archives as it builds at once ({MAX_BUILDS}); retry \
                     after {RETRY_AFTER_SECONDS} seconds"
                ),
            }),
        }
    }
}

/// An archive as it is answered: the cached public one whole, or a reader's own streamed as it is written.
pub enum OsvArchive {
    Whole(Bytes),
    Streamed(BoxStream<'static, Result<Bytes, io::Error>>),
}

impl App {
    /// The zip of every OSV record the reader (the public: `None`) may read, under the bounds above.
    pub async fn osv_archive(&self, caller: Option<&Caller>) -> AppResult<OsvArchive> {
        let audience = policy::tlp_audience(caller);
        if caller.is_some() {
            let slot = self.osv_archives.slot().await?;
            return Ok(OsvArchive::Streamed(self.osv_zip(audience, slot)));
        }
        let archives = &self.osv_archives;
        let stamp = self.store.advisories_stamp(&audience).await?;
        if let Some(bytes) = archives.cached(&stamp) {
            return Ok(OsvArchive::Whole(bytes));
        }
        let slot = archives.slot().await?;
        // Another request may have built it while this one waited for the slot.
        if let Some(bytes) = archives.cached(&stamp) {
            return Ok(OsvArchive::Whole(bytes));
        }
        let parts: Vec<Bytes> = self
            .osv_zip(audience, slot)
            .try_collect()
            .await
            .map_err(|e| AppError::Internal(Box::new(e)))?;
        let bytes = Bytes::from(parts.concat());
        archives.keep(stamp, bytes.clone());
        Ok(OsvArchive::Whole(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_build_past_the_bound_waits_then_is_refused_as_busy() {
        let archives = Archives::default();
        let wait = Duration::from_millis(50);
        let held: Vec<_> =
            futures_util::future::try_join_all((0..MAX_BUILDS).map(|_| archives.slot_within(wait)))
                .await
                .unwrap();
        match archives.slot_within(wait).await {
            Err(AppError::Busy { retry_after, detail }) => {
                assert_eq!(retry_after, RETRY_AFTER_SECONDS);
                assert!(detail.contains("OSV archives"), "{detail}");
            }
            other => panic!("{:?}", other.map(|_| ())),
        }
        // A slot given back is taken by the next request waiting for one.
        let waiting = archives.slot_within(Duration::from_secs(5));
        let (slot, ()) = tokio::join!(waiting, async { drop(held) });
        assert!(slot.is_ok());
    }
}
