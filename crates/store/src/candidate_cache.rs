//! The fingerprints and products of the reports a store filed or duplicate detection compared a new report with
//! lately, held in memory by each store: a candidate search then reads from the database only the cases of the
//! reports it found, and the fingerprint and product rows of those it has not met recently. A report's
//! fingerprint and products are written once, when it is filed, and never changed, so what is held is never
//! stale; its case can change (merges, splits) and is always read.
//!
//! Bounded by two generations of at most `GENERATION` reports each: a report met again is moved into the
//! current one; when that is full, it becomes the previous one and the previous one is dropped. The reports
//! that searches keep finding stay; the rest go.

use crate::reports::ReportAffected;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use uuid::Uuid;

/// Reports per generation: at most twice this many are held, about 600 bytes each.
const GENERATION: usize = 50_000;

/// A stored report's fingerprint bytes and products, as a candidate carries them.
#[derive(Debug)]
pub struct CandidateData {
    pub fingerprint: Vec<u8>,
    pub affected: Vec<ReportAffected>,
}

/// See the module documentation.
#[derive(Default)]
pub struct CandidateCache {
    inner: Mutex<Generations>,
}

#[derive(Default)]
struct Generations {
    current: HashMap<Uuid, Arc<CandidateData>>,
    previous: HashMap<Uuid, Arc<CandidateData>>,
}

impl Generations {
    fn put(&mut self, id: Uuid, data: Arc<CandidateData>) {
        if self.current.len() >= GENERATION {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(id, data);
    }
}

impl CandidateCache {
    fn lock(&self) -> MutexGuard<'_, Generations> {
        // Every change is one insert or one swap: a panic elsewhere leaves nothing half-done.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// What is held of each report, in the order asked (`None` for those not held).
    pub fn get(&self, ids: &[Uuid]) -> Vec<Option<Arc<CandidateData>>> {
        let mut g = self.lock();
        ids.iter()
            .map(|id| {
                if let Some(data) = g.current.get(id) {
                    return Some(data.clone());
                }
                let data = g.previous.remove(id)?;
                g.put(*id, data.clone());
                Some(data)
            })
            .collect()
    }

    /// Holds what was read of these reports.
    pub fn put(&self, read: impl IntoIterator<Item = (Uuid, Arc<CandidateData>)>) {
        let mut g = self.lock();
        for (id, data) in read {
            g.put(id, data);
        }
    }

    /// How many reports are held.
    #[cfg(test)]
    fn len(&self) -> usize {
        let g = self.lock();
        g.current.len() + g.previous.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: u8) -> Arc<CandidateData> {
        Arc::new(CandidateData {
            fingerprint: vec![n],
            affected: Vec::new(),
        })
    }

    #[test]
    fn a_report_met_again_stays_and_the_rest_go_two_generations_on() {
        let cache = CandidateCache::default();
        let kept = Uuid::now_v7();
        cache.put([(kept, data(1))]);
        // Fill the current generation past its size twice, meeting `kept` once in between.
        let first: Vec<Uuid> = (0..GENERATION).map(|_| Uuid::now_v7()).collect();
        cache.put(first.iter().map(|id| (*id, data(2))));
        assert_eq!(
            cache.get(&[kept])[0].as_ref().map(|d| d.fingerprint.clone()),
            Some(vec![1])
        );
        let second: Vec<Uuid> = (0..GENERATION).map(|_| Uuid::now_v7()).collect();
        cache.put(second.iter().map(|id| (*id, data(3))));
        assert!(cache.len() <= 2 * GENERATION, "{} held", cache.len());
        let got = cache.get(&[kept, first[0], second[GENERATION - 1]]);
        assert!(got[0].is_some(), "a report met again is kept");
        assert!(
            got[1].is_none(),
            "one not met since two generations filled is dropped"
        );
        assert_eq!(got[2].as_ref().map(|d| d.fingerprint.clone()), Some(vec![3]));
    }
}
