//! The exact keys and LSH band keys of the stored reports' fingerprints, held in memory by each store: duplicate
//! detection's lookup without a table of key rows. A key names a bucket; a bucket keeps its newest reports (by
//! id), `KEY_BUCKET_LIMIT` for an exact key and `BAND_BUCKET_LIMIT` for a band key, which is all the candidate
//! search ever takes of it. So the index is bounded by the number of reports times their keys (at most
//! `dedup::MAX_EXACT_KEYS` exact keys and `dedup::BANDS` band keys each), and nothing of it is written per
//! report: the fingerprints (`report_fingerprints`, from which it is rebuilt) carry both kinds of key and are
//! the record.
//!
//! Every fingerprint row has a sequence number `seq`, given in the order rows commit: intake writes them only
//! while it holds the database's write lock (SQLite's `BEGIN IMMEDIATE`, PostgreSQL's intake advisory lock,
//! `queries/intake.rs::lock_intake`), each group numbering its rows after the highest stored. So the rows any
//! reader sees are those up to some number, and an index that has applied every row up to its `mark` catches up
//! by reading the rows after it (`queries/candidates.rs::catch_up`), inside intake's transaction before its
//! search, and from the pool before a lone search. A store's first search builds it whole, so a process that
//! never searches (a command-line call) never reads the fingerprints. A transaction that rolls back leaves
//! nothing behind: its rows were never applied.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::{Mutex, MutexGuard};
use uuid::Uuid;

/// The reports a band key's bucket keeps, the newest by id: the most a search takes of one band key.
pub const BAND_BUCKET_LIMIT: usize = clearinghouse::dedup::BAND_BUCKET_LIMIT;

/// The reports an exact key's bucket keeps, the newest by id: the most a search takes of one exact key, and
/// the most candidates it takes in all.
pub const KEY_BUCKET_LIMIT: usize = clearinghouse::dedup::KEY_BUCKET_LIMIT;

/// The high bit of a slot's value: the rest is an index into `Inner::shared`, not a report.
const SHARED: u32 = 1 << 31;

/// A stored fingerprint as the index reads it: its sequence number, its report, its exact keys and its band
/// keys (`bands[i]` is band `i`'s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DedupRow {
    pub seq: i64,
    pub report_id: Uuid,
    pub keys: Vec<i64>,
    pub bands: Vec<i64>,
}

/// What a dedup index holds: the reports with keys, their exact keys and band keys (a key several reports
/// share counted once for each), and about how many bytes of memory it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DedupIndexSize {
    pub reports: usize,
    pub keys: usize,
    pub bands: usize,
    pub bytes: usize,
}

/// See the module documentation.
#[derive(Default)]
pub struct DedupIndex {
    inner: Mutex<Inner>,
}

/// A map from a key to its one report, or (`SHARED` set) to the bucket of a key several share.
type Slots<K> = HashMap<K, u32, BuildHasherDefault<SlotHasher>>;

#[derive(Default)]
struct Inner {
    /// Every row with a sequence number up to this one has been applied, and none after it.
    mark: i64,
    /// The reports indexed, by their position in this list (`u32`: four bytes per key, not sixteen).
    reports: Vec<Uuid>,
    /// Exact keys, whole.
    keys: Slots<i64>,
    /// Band keys, by `slot`.
    bands: Slots<u32>,
    /// Buckets of more than one report: positions in `reports`, newest id first, at most their kind's limit.
    shared: Vec<Vec<u32>>,
}

/// Exact and band keys are already hashes: the maps hash one with one multiplication, which spreads its bits
/// over the high ones the table's control bytes take.
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

    fn write_i64(&mut self, n: i64) {
        self.0 = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
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

impl DedupIndex {
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
    pub fn apply(&self, rows: &[DedupRow]) {
        self.lock().apply(rows);
    }

    /// Applies the rows a transaction of this store wrote, numbered after `after`, once it has committed, so
    /// that the next catch-up need not read them back: only when the index holds every row up to `after` (as
    /// the transaction's own catch-up left it, under the write lock). Otherwise the next catch-up reads them.
    pub fn learn(&self, after: i64, rows: &[DedupRow]) {
        let mut inner = self.lock();
        if inner.mark >= after {
            inner.apply(rows);
        }
    }

    /// The reports sharing one of these exact keys (each key's newest `key_limit`, at most `KEY_BUCKET_LIMIT`)
    /// or band keys (`bands[i]` is band `i`'s key; each key's newest `band_limit`, at most
    /// `BAND_BUCKET_LIMIT`): newest first, each report once.
    pub fn search(&self, keys: &[i64], key_limit: usize, bands: &[i64], band_limit: usize) -> Vec<Uuid> {
        let inner = self.lock();
        let mut found: Vec<Uuid> = Vec::new();
        let key_limit = key_limit.min(KEY_BUCKET_LIMIT);
        for key in keys {
            inner.bucket(&inner.keys, key, key_limit, &mut found);
        }
        let band_limit = band_limit.min(BAND_BUCKET_LIMIT);
        for (band, key) in bands.iter().enumerate() {
            inner.bucket(&inner.bands, &slot(band, *key), band_limit, &mut found);
        }
        found.sort_unstable_by(|a, b| b.cmp(a));
        found.dedup();
        found
    }

    /// What the index holds, and the memory it takes.
    pub fn size(&self) -> DedupIndexSize {
        let inner = self.lock();
        let bucket = std::mem::size_of::<Vec<u32>>();
        DedupIndexSize {
            reports: inner.reports.len(),
            keys: inner.listed(&inner.keys),
            bands: inner.listed(&inner.bands),
            // A hash table's slot is its entry and one control byte.
            bytes: inner.keys.capacity() * (std::mem::size_of::<(i64, u32)>() + 1)
                + inner.bands.capacity() * (std::mem::size_of::<(u32, u32)>() + 1)
                + inner.reports.capacity() * std::mem::size_of::<Uuid>()
                + inner.shared.capacity() * bucket
                + inner.shared.iter().map(|b| b.capacity() * 4).sum::<usize>(),
        }
    }
}

impl Inner {
    /// `DedupIndex::apply`.
    fn apply(&mut self, rows: &[DedupRow]) {
        let inner = self;
        for row in rows {
            if row.seq <= inner.mark {
                continue;
            }
            inner.mark = row.seq;
            // Past two billion reports a position cannot name one: no further report gets keys.
            let Some(at) = position(inner.reports.len()) else {
                continue;
            };
            if row.keys.is_empty() && row.bands.is_empty() {
                continue;
            }
            inner.reports.push(row.report_id);
            for key in &row.keys {
                add(
                    &mut inner.keys,
                    &mut inner.shared,
                    &inner.reports,
                    *key,
                    at,
                    KEY_BUCKET_LIMIT,
                );
            }
            for (band, key) in row.bands.iter().enumerate() {
                let slot = slot(band, *key);
                add(
                    &mut inner.bands,
                    &mut inner.shared,
                    &inner.reports,
                    slot,
                    at,
                    BAND_BUCKET_LIMIT,
                );
            }
        }
    }

    fn report(&self, at: u32) -> Option<Uuid> {
        self.reports.get(at as usize).copied()
    }

    /// How many reports the buckets of these slots list (a report once for each of its keys).
    fn listed<K>(&self, slots: &Slots<K>) -> usize {
        slots
            .values()
            .map(|v| match v & SHARED {
                0 => 1,
                _ => self.shared.get((v & !SHARED) as usize).map_or(0, Vec::len),
            })
            .sum()
    }

    /// Adds the newest `limit` reports of a key's bucket to `found`.
    fn bucket<K: Hash + Eq>(&self, slots: &Slots<K>, key: &K, limit: usize, found: &mut Vec<Uuid>) {
        match slots.get(key) {
            None => {}
            Some(v) if v & SHARED == 0 => found.extend(self.report(*v)),
            Some(v) => {
                let bucket = self
                    .shared
                    .get((v & !SHARED) as usize)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                found.extend(bucket.iter().take(limit).filter_map(|at| self.report(*at)));
            }
        }
    }
}

/// Puts the report at `at` into the key's bucket, in id order, keeping the newest `limit`.
fn add<K: Hash + Eq>(
    slots: &mut Slots<K>,
    shared: &mut Vec<Vec<u32>>,
    reports: &[Uuid],
    key: K,
    at: u32,
    limit: usize,
) {
    let Some(id) = reports.get(at as usize).copied() else {
        return;
    };
    let bucket_at = match slots.entry(key) {
        Entry::Vacant(free) => {
            free.insert(at);
            return;
        }
        Entry::Occupied(held) if held.get() & SHARED != 0 => held.get() & !SHARED,
        Entry::Occupied(mut held) => {
            let (one, Some(next)) = (*held.get(), position(shared.len())) else {
                return;
            };
            if one == at {
                return;
            }
            shared.push(vec![one]);
            held.insert(next | SHARED);
            next
        }
    };
    let Some(bucket) = shared.get_mut(bucket_at as usize) else {
        return;
    };
    if bucket.contains(&at) {
        return;
    }
    let newer = |other: &u32| reports.get(*other as usize).is_some_and(|o| *o > id);
    let place = bucket.partition_point(newer);
    if place < limit {
        bucket.insert(place, at);
        bucket.truncate(limit);
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

    fn row(seq: i64, report: u128, keys: &[i64], bands: &[i64]) -> DedupRow {
        DedupRow {
            seq,
            report_id: id(report),
            keys: keys.to_vec(),
            bands: bands.to_vec(),
        }
    }

    fn ids(ns: &[u128]) -> Vec<Uuid> {
        ns.iter().map(|n| id(*n)).collect()
    }

    /// A group's rows are learned after its commit only when the index holds every row up to where the group's
    /// numbering began; rows the index already holds are not added twice.
    #[test]
    fn a_group_is_learned_only_when_the_index_holds_every_row_before_it() {
        // (mark before, where the group's numbering began, its rows, mark after, reports found by their key)
        type Case = (i64, i64, &'static [i64], i64, &'static [u128]);
        let cases: [Case; 4] = [
            // Caught up to where the group began: learned.
            (2, 2, &[3, 4], 4, &[4, 3, 2, 1]),
            // Behind it (row 2 and 3 unread): not learned, the next catch-up reads them all in order.
            (1, 3, &[4, 5], 1, &[1]),
            // A catch-up read part of the group already: the rest is learned, nothing twice.
            (3, 2, &[3, 4], 4, &[4, 3, 2, 1]),
            // Ahead of the whole group: nothing to learn.
            (4, 2, &[3, 4], 4, &[4, 3, 2, 1]),
        ];
        let numbered = |seqs: &mut dyn Iterator<Item = i64>| -> Vec<DedupRow> {
            seqs.map(|seq| row(seq, u128::try_from(seq).unwrap(), &[5], &[]))
                .collect()
        };
        for (before, after, seqs, mark, found) in cases {
            let index = DedupIndex::default();
            index.apply(&numbered(&mut (1..=before)));
            index.learn(after, &numbered(&mut seqs.iter().copied()));
            let what = format!("learning {seqs:?} numbered after {after}, the index at {before}");
            assert_eq!(index.mark(), mark, "the mark after {what}");
            assert_eq!(index.search(&[5], 200, &[], 32), ids(found), "found after {what}");
        }
    }

    #[test]
    fn a_search_finds_the_reports_sharing_an_exact_key_or_a_band_key_in_the_same_band_only() {
        let index = DedupIndex::default();
        index.apply(&[
            row(1, 10, &[100], &[7, 8, 9]),
            row(2, 20, &[100, 200], &[7, 5, 6]),
            row(3, 30, &[], &[1, 7, 2]),
            row(4, 40, &[7], &[]),
        ]);
        // (exact keys searched, bands searched, reports found, newest first)
        let cases: [(&[i64], &[i64], &[u128]); 10] = [
            (&[], &[7, 0, 0], &[20, 10]),
            (&[], &[0, 8, 0], &[10]),
            (&[], &[0, 7, 0], &[30]),
            (&[], &[0, 0, 6], &[20]),
            (&[], &[3, 3, 3], &[]),
            (&[], &[7, 8, 2], &[30, 20, 10]),
            (&[100], &[], &[20, 10]),
            (&[200, 300], &[], &[20]),
            // An exact key is not a band key of the same value, nor the other way round.
            (&[7], &[], &[40]),
            (&[100], &[1, 0, 0], &[30, 20, 10]),
        ];
        for (keys, bands, want) in cases {
            let found = index.search(keys, KEY_BUCKET_LIMIT, bands, BAND_BUCKET_LIMIT);
            assert_eq!(found, ids(want), "keys {keys:?}, bands {bands:?}");
        }
        assert_eq!(index.mark(), 4);
        let size = index.size();
        assert_eq!((size.reports, size.keys, size.bands), (4, 4, 9));
    }

    #[test]
    fn rows_at_or_below_the_mark_are_not_applied_twice() {
        let index = DedupIndex::default();
        index.apply(&[row(1, 10, &[5], &[7]), row(2, 20, &[5], &[7])]);
        // A reader that started before the mark reached 2 brings rows 2 and 3: only 3 is new.
        index.apply(&[row(2, 20, &[5], &[7]), row(3, 30, &[5], &[7])]);
        assert_eq!(index.mark(), 3);
        let size = index.size();
        assert_eq!((size.reports, size.keys, size.bands), (3, 3, 3));
        assert_eq!(index.search(&[], 0, &[7], BAND_BUCKET_LIMIT), ids(&[30, 20, 10]));
        assert_eq!(index.search(&[5], KEY_BUCKET_LIMIT, &[], 0), ids(&[30, 20, 10]));
    }

    #[test]
    fn a_bucket_keeps_its_newest_reports_by_id_whatever_the_order_they_came_in() {
        // (exact key or band key, the bucket's limit)
        for (exact, limit) in [(false, BAND_BUCKET_LIMIT), (true, KEY_BUCKET_LIMIT)] {
            let index = DedupIndex::default();
            let total = limit as u128 + 8;
            // Ids descending and ascending interleaved: commit order is not id order.
            let report = |n: u128| if n.is_multiple_of(2) { 1_000 + n } else { 1_000 - n };
            let rows: Vec<DedupRow> = (0..total)
                .map(|n| {
                    let seq = i64::try_from(n).unwrap() + 1;
                    if exact {
                        row(seq, report(n), &[42], &[])
                    } else {
                        row(seq, report(n), &[], &[42])
                    }
                })
                .collect();
            index.apply(&rows);
            let mut all: Vec<u128> = (0..total).map(report).collect();
            all.sort_unstable_by(|a, b| b.cmp(a));
            let want: Vec<Uuid> = all.iter().take(limit).map(|n| id(*n)).collect();
            let search = |n: usize| {
                if exact {
                    index.search(&[42], n, &[], 0)
                } else {
                    index.search(&[], 0, &[42], n)
                }
            };
            assert_eq!(search(limit), want, "exact {exact}");
            // A smaller limit takes the newest of those; a larger one is held to the bucket's.
            assert_eq!(search(3), want[..3].to_vec(), "exact {exact}");
            assert_eq!(search(10 * limit).len(), limit, "exact {exact}");
        }
    }

    #[test]
    fn a_report_with_one_key_in_several_bands_is_listed_once() {
        let index = DedupIndex::default();
        index.apply(&[row(1, 10, &[4], &[4, 4, 4]), row(2, 20, &[], &[])]);
        assert_eq!(
            index.search(&[4], KEY_BUCKET_LIMIT, &[4, 4, 4], BAND_BUCKET_LIMIT),
            ids(&[10])
        );
        // A report without keys has none to be found by and takes no place.
        let size = index.size();
        assert_eq!((size.reports, size.keys, size.bands), (1, 1, 3));
        assert_eq!(index.mark(), 2);
    }
}
