//! The LSH band keys of the stored reports' fingerprints, held in memory by each store: duplicate detection's
//! near-duplicate lookup without a table of band rows. A band key names a bucket; a bucket keeps its newest
//! `BUCKET_LIMIT` reports (by id), which is all the candidate search ever takes of it, so the index is bounded
//! by the number of reports times `dedup::BANDS`, and nothing of it is written per report: the fingerprints
//! (`report_fingerprints`, from which it is rebuilt) are the record.
//!
//! Every fingerprint row has a sequence number `seq`, given in the order rows commit: intake writes them only
//! while it holds the database's write lock (SQLite's `BEGIN IMMEDIATE`, PostgreSQL's intake advisory lock,
//! `queries/intake.rs::lock_intake`), each group numbering its rows after the highest stored. So the rows any
//! reader sees are those up to some number, and an index that has applied every row up to its `mark` catches up
//! by reading the rows after it (`queries/candidates.rs::catch_up`), inside intake's transaction before its
//! search, and from the pool before a lone search. A store's first search builds it whole, so a process that
//! never searches (a command-line call) never reads the fingerprints. A transaction that rolls back leaves nothing behind: its rows
//! were never applied.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Mutex, MutexGuard};
use uuid::Uuid;

/// The reports a bucket keeps, the newest by id: the most a search takes of one band key.
pub const BUCKET_LIMIT: usize = clearinghouse::dedup::BAND_BUCKET_LIMIT;

/// The high bit of a slot's value: the rest is an index into `Inner::shared`, not a report.
const SHARED: u32 = 1 << 31;

/// A stored fingerprint as the index reads it: its sequence number, its report and its band keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BandRow {
    pub seq: i64,
    pub report_id: Uuid,
    pub bands: Vec<i64>,
}

/// What a band index holds: the reports with band keys, their band keys (a key several reports share counted
/// once for each), and about how many bytes of memory it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BandIndexSize {
    pub reports: usize,
    pub keys: usize,
    pub bytes: usize,
}

/// See the module documentation.
#[derive(Default)]
pub struct BandIndex {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Every row with a sequence number up to this one has been applied, and none after it.
    mark: i64,
    /// The reports indexed, by their position in this list (`u32`: four bytes per band key, not sixteen).
    reports: Vec<Uuid>,
    /// A band key's slot (`slot`) → its one report, or (`SHARED` set) the bucket of a key several share.
    slots: HashMap<u32, u32, BuildHasherDefault<SlotHasher>>,
    /// Buckets of more than one report: positions in `reports`, newest id first, at most `BUCKET_LIMIT`.
    shared: Vec<Vec<u32>>,
}

/// Band keys are already hashes: the map hashes a slot with one multiplication, which spreads its bits over the
/// high ones the table's control bytes take.
#[derive(Default)]
struct SlotHasher(u64);

impl Hasher for SlotHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8 | u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// One band key as 32 bits: the band's index mixed into its key, so two bands' equal keys are two buckets. Two
/// keys meeting in one slot only add a candidate, which `similarity` then scores and drops: at 2,000,000 keys
/// (100,000 reports) a search's twenty lookups meet an unrelated key about once in a hundred searches. Half the
/// memory of 64-bit slots.
pub fn slot(band: usize, key: i64) -> u32 {
    let band = u64::try_from(band).unwrap_or(u64::MAX);
    // The multiplication carries every bit of the key into the high half kept.
    ((key as u64 ^ band.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_mul(0xD6E8_FEB8_6659_FD93)
        >> 32) as u32
}

impl BandIndex {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The index holds no invariant a panic elsewhere could break halfway: every change is one push or
        // one insert into a bucket.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The highest sequence number applied.
    pub fn mark(&self) -> i64 {
        self.lock().mark
    }

    /// Applies the rows after the mark, in sequence order: those at or below it are already in. The rows are
    /// what a reader saw after the mark it started from, so they hold every row between the current mark and
    /// their last.
    pub fn apply(&self, rows: &[BandRow]) {
        let mut inner = self.lock();
        for row in rows {
            if row.seq <= inner.mark {
                continue;
            }
            inner.mark = row.seq;
            // Past two billion reports a position cannot name one: no further report gets band keys.
            let Some(at) = position(inner.reports.len()) else {
                continue;
            };
            if row.bands.is_empty() {
                continue;
            }
            inner.reports.push(row.report_id);
            for (band, key) in row.bands.iter().enumerate() {
                inner.add(slot(band, *key), at);
            }
        }
    }

    /// The reports sharing one of these band keys (`bands[i]` is band `i`'s key): each key's newest `limit`
    /// (at most `BUCKET_LIMIT`), newest first, each report once.
    pub fn search(&self, bands: &[i64], limit: usize) -> Vec<Uuid> {
        let inner = self.lock();
        let limit = limit.min(BUCKET_LIMIT);
        let mut found: Vec<Uuid> = Vec::new();
        for (band, key) in bands.iter().enumerate() {
            match inner.slots.get(&slot(band, *key)) {
                None => {}
                Some(v) if v & SHARED == 0 => found.extend(inner.report(*v)),
                Some(v) => {
                    let bucket = inner
                        .shared
                        .get((v & !SHARED) as usize)
                        .map(Vec::as_slice)
                        .unwrap_or_default();
                    found.extend(bucket.iter().take(limit).filter_map(|at| inner.report(*at)));
                }
            }
        }
        found.sort_unstable_by(|a, b| b.cmp(a));
        found.dedup();
        found
    }

    /// What the index holds, and the memory it takes.
    pub fn size(&self) -> BandIndexSize {
        let inner = self.lock();
        let shared: usize = inner.shared.iter().map(Vec::len).sum();
        let bucket = std::mem::size_of::<Vec<u32>>();
        BandIndexSize {
            reports: inner.reports.len(),
            keys: inner.slots.len() - inner.shared.len() + shared,
            // A hash table's slot is its entry and one control byte.
            bytes: inner.slots.capacity() * (std::mem::size_of::<(u32, u32)>() + 1)
                + inner.reports.capacity() * std::mem::size_of::<Uuid>()
                + inner.shared.capacity() * bucket
                + inner.shared.iter().map(|b| b.capacity() * 4).sum::<usize>(),
        }
    }
}

impl Inner {
    fn report(&self, at: u32) -> Option<Uuid> {
        self.reports.get(at as usize).copied()
    }

    /// Puts the report at `at` into the slot's bucket, in id order, keeping the newest `BUCKET_LIMIT`.
    fn add(&mut self, slot: u32, at: u32) {
        let Some(id) = self.report(at) else {
            return;
        };
        let bucket_at = match self.slots.entry(slot) {
            Entry::Vacant(free) => {
                free.insert(at);
                return;
            }
            Entry::Occupied(held) if held.get() & SHARED != 0 => held.get() & !SHARED,
            Entry::Occupied(mut held) => {
                let (one, Some(next)) = (*held.get(), position(self.shared.len())) else {
                    return;
                };
                if one == at {
                    return;
                }
                self.shared.push(vec![one]);
                held.insert(next | SHARED);
                next
            }
        };
        let reports = &self.reports;
        let Some(bucket) = self.shared.get_mut(bucket_at as usize) else {
            return;
        };
        if bucket.contains(&at) {
            return;
        }
        let newer = |other: &u32| reports.get(*other as usize).is_some_and(|o| *o > id);
        let place = bucket.partition_point(newer);
        if place < BUCKET_LIMIT {
            bucket.insert(place, at);
            bucket.truncate(BUCKET_LIMIT);
        }
    }
}

/// The `u32` naming the `n`th report or shared bucket, while it leaves the `SHARED` bit clear (two billion).
fn position(n: usize) -> Option<u32> {
    u32::try_from(n).ok().filter(|n| n & SHARED == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn row(seq: i64, report: u128, bands: &[i64]) -> BandRow {
        BandRow {
            seq,
            report_id: id(report),
            bands: bands.to_vec(),
        }
    }

    #[test]
    fn a_search_finds_the_reports_sharing_a_band_key_in_the_same_band_only() {
        let index = BandIndex::default();
        index.apply(&[
            row(1, 10, &[7, 8, 9]),
            row(2, 20, &[7, 5, 6]),
            row(3, 30, &[1, 7, 2]),
        ]);
        // (bands searched, reports found, newest first)
        let cases: [(&[i64], &[u128]); 6] = [
            (&[7, 0, 0], &[20, 10]),
            (&[0, 8, 0], &[10]),
            (&[0, 7, 0], &[30]),
            (&[0, 0, 6], &[20]),
            (&[3, 3, 3], &[]),
            (&[7, 8, 2], &[30, 20, 10]),
        ];
        for (bands, want) in cases {
            let want: Vec<Uuid> = want.iter().map(|n| id(*n)).collect();
            assert_eq!(index.search(bands, BUCKET_LIMIT), want, "bands {bands:?}");
        }
        assert_eq!(index.mark(), 3);
        assert_eq!((index.size().reports, index.size().keys), (3, 9));
    }

    #[test]
    fn rows_at_or_below_the_mark_are_not_applied_twice() {
        let index = BandIndex::default();
        index.apply(&[row(1, 10, &[7]), row(2, 20, &[7])]);
        // A reader that started before the mark reached 2 brings rows 2 and 3: only 3 is new.
        index.apply(&[row(2, 20, &[7]), row(3, 30, &[7])]);
        assert_eq!(index.mark(), 3);
        assert_eq!((index.size().reports, index.size().keys), (3, 3));
        assert_eq!(index.search(&[7], BUCKET_LIMIT), vec![id(30), id(20), id(10)]);
    }

    #[test]
    fn a_bucket_keeps_its_newest_reports_by_id_whatever_the_order_they_came_in() {
        let index = BandIndex::default();
        let total = BUCKET_LIMIT as u128 + 8;
        // Ids descending and ascending interleaved: commit order is not id order.
        let rows: Vec<BandRow> = (0..total)
            .map(|n| {
                let report = if n % 2 == 0 { 1_000 + n } else { 1_000 - n };
                row(i64::try_from(n).unwrap() + 1, report, &[42])
            })
            .collect();
        index.apply(&rows);
        let mut all: Vec<u128> = (0..total)
            .map(|n| if n % 2 == 0 { 1_000 + n } else { 1_000 - n })
            .collect();
        all.sort_unstable_by(|a, b| b.cmp(a));
        let want: Vec<Uuid> = all.iter().take(BUCKET_LIMIT).map(|n| id(*n)).collect();
        assert_eq!(index.search(&[42], BUCKET_LIMIT), want);
        // A smaller limit takes the newest of those; a larger one is held to the bucket's.
        assert_eq!(index.search(&[42], 3), want[..3].to_vec());
        assert_eq!(index.search(&[42], 10 * BUCKET_LIMIT).len(), BUCKET_LIMIT);
    }

    #[test]
    fn a_report_with_one_key_in_several_bands_is_listed_once() {
        let index = BandIndex::default();
        index.apply(&[row(1, 10, &[4, 4, 4]), row(2, 20, &[])]);
        assert_eq!(index.search(&[4, 4, 4], BUCKET_LIMIT), vec![id(10)]);
        // A report without text has no band keys and takes no place.
        assert_eq!((index.size().reports, index.size().keys), (1, 3));
        assert_eq!(index.mark(), 2);
    }
}
