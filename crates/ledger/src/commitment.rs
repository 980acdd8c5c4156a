//! The public leaf for a confidential event: a salted SHA-256 commitment. The log shows only the commitment;
//! whoever is given the event and its salt can recompute it and check its inclusion.

use sha2::{Digest, Sha256};

const DOMAIN: &[u8] = b"prelaunch ledger event v1\n";

/// Fresh random salt for one entry.
pub fn salt() -> [u8; 32] {
    let mut salt = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut salt);
    salt
}

/// `SHA-256(domain ‖ salt ‖ event)`, where `event` is the canonical encoding of the event.
pub fn commit(salt: &[u8], event: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update(salt);
    h.update(event);
    h.finalize().into()
}
