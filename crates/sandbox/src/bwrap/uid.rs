//! A uid of its own for each sandbox: what makes the process limit the sandbox's, and its processes findable.

use crate::Error;
use crate::procs::processes_of_uid;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

/// The uids of this process's live sandboxes.
pub(super) static LIVE_UIDS: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());

/// A uid reserved for one sandbox until it is dropped (or for good, when its processes outlived a stop).
pub(super) struct UidLease(pub(super) u32, pub(super) AtomicBool);

impl UidLease {
    /// A random uid of the range that no process uses, and no sandbox of this process.
    pub(super) fn take(first: u32, count: u32) -> Result<Self, Error> {
        for _ in 0..64 {
            let uid = first.saturating_add(rand::random::<u32>() % count);
            let fresh = LIVE_UIDS
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(uid);
            if fresh {
                let lease = Self(uid, AtomicBool::new(false));
                if processes_of_uid(uid).is_empty() {
                    return Ok(lease);
                }
            }
        }
        Err(Error::StartFailed(
            "no free uid for the sandbox in the configured range".into(),
        ))
    }
}

impl UidLease {
    /// Keeps the uid reserved for the rest of this process's life: processes of it outlived a stop.
    pub(super) fn keep_forever(&self) {
        self.1.store(true, Ordering::Relaxed);
    }
}

impl Drop for UidLease {
    fn drop(&mut self) {
        if self.1.load(Ordering::Relaxed) {
            return;
        }
        LIVE_UIDS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(super) fn uids_are_not_handed_out_twice() {
        let first = UidLease::take(0x7100_0000, 4).unwrap();
        let others: Vec<_> = (0..3).map(|_| UidLease::take(0x7100_0000, 4).unwrap()).collect();
        let mut uids: Vec<u32> = others.iter().map(|l| l.0).chain([first.0]).collect();
        uids.sort_unstable();
        assert_eq!(uids, [0x7100_0000, 0x7100_0001, 0x7100_0002, 0x7100_0003]);
        assert!(UidLease::take(0x7100_0000, 4).is_err(), "the range is used up");
        drop(first);
        assert!(UidLease::take(0x7100_0000, 4).is_ok());
    }
}
