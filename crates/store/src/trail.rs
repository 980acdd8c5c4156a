//! The audit trail and the transparency ledger as stored: `AuditStore` (the whole trail, unfiltered) and
//! `LedgerStore` (entries, nodes, checkpoints). Every mutating method of every store appends its event to both
//! inside its own transaction (`record` in `queries/ledger.rs`); the SQL is in `queries/audit.rs` and
//! `queries/ledger.rs`.

use crate::{AuditEvent, LedgerEntry, Page, Result, SignedCheckpoint};
use async_trait::async_trait;
use uuid::Uuid;

#[async_trait]
pub trait AuditStore: Send + Sync + 'static {
    /// The whole trail, unfiltered: for checks of the whole ledger and for tests. Readers get their events
    /// through `AudienceStore::list_events`.
    async fn list_audit(&self, object_id: Option<Uuid>, page: &Page<i64>) -> Result<Vec<AuditEvent>>;
    async fn count_audit(&self) -> Result<i64>;
}

/// The ledger's reads (appends happen inside every mutating method, with its audit event).
#[async_trait]
pub trait LedgerStore: Send + Sync + 'static {
    /// Records events that are themselves the change (e.g. periodic usage digests), in one transaction.
    async fn append_events(&self, events: &[AuditEvent]) -> Result<()>;
    async fn ledger_size(&self) -> Result<u64>;
    /// Hashes of nodes `(level, from ..from+count)`, in order; stops early at the first missing node.
    async fn ledger_nodes(&self, level: u8, from: u64, count: u64) -> Result<Vec<[u8; 32]>>;
    /// Hashes of the named nodes, in one round trip; a node that does not exist is left out.
    async fn ledger_nodes_at(&self, nodes: &[(u8, u64)]) -> Result<Vec<(u8, u64, [u8; 32])>>;
    async fn ledger_entries(&self, from: u64, count: u64) -> Result<Vec<LedgerEntry>>;
    async fn ledger_entry_of(&self, event_id: Uuid) -> Result<Option<LedgerEntry>>;
    /// Stores a signed checkpoint unless one of that size exists; true when stored.
    async fn put_checkpoint(&self, checkpoint: &SignedCheckpoint) -> Result<bool>;
    async fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>>;
    /// Checkpoints newest first, before the size `before` when given.
    async fn list_checkpoints(&self, before: Option<i64>, limit: i64) -> Result<Vec<SignedCheckpoint>>;
}
