//! The transparency ledger's cryptography, free of storage and HTTP.
//!
//! - `merkle`: RFC 6962 / RFC 9162 hashing, tree roots, inclusion and consistency proofs and their checks,
//!   over any `NodeReader` (the store keeps every complete subtree's hash, so nothing is rehashed).
//! - `note`: C2SP signed notes with Ed25519 keys.
//! - `checkpoint`: C2SP tlog-checkpoint bodies.
//! - `tile`: C2SP tlog-tiles paths and contents.
//! - `receipt`: C2SP tlog-proof receipts that carry the event they prove, verifiable offline.
//! - `commitment`: the salted commitment that is the public leaf for a confidential event.

pub mod checkpoint;
pub mod commitment;
pub mod merkle;
pub mod monitor;
pub mod note;
pub mod receipt;
pub mod tile;

#[cfg(test)]
mod interop;

pub use checkpoint::Checkpoint;
pub use merkle::{Hash, NodeReader};
pub use note::{LogKey, VerifierKey};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("index {index} is outside a tree of size {size}")]
    OutOfRange { index: u64, size: u64 },
    #[error("proof has the wrong length: expected {expected} hashes, got {got}")]
    ProofLength { expected: usize, got: usize },
    #[error("the proof does not lead to the expected root")]
    RootMismatch,
    #[error("a consistency proof needs 0 < old size <= new size (got {old} and {new})")]
    BadSizes { old: u64, new: u64 },
    #[error("a hash must be 32 bytes, got {0}")]
    HashLength(usize),
    #[error("malformed {what}: {why}")]
    Malformed { what: &'static str, why: String },
    #[error("signature does not verify for key {0}")]
    BadSignature(String),
    #[error("missing node at level {level}, index {index}")]
    MissingNode { level: u8, index: u64 },
    #[error("node store: {0}")]
    Store(String),
}

pub(crate) fn malformed(what: &'static str, why: impl Into<String>) -> LedgerError {
    LedgerError::Malformed {
        what,
        why: why.into(),
    }
}
