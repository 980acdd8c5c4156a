//! The transparency ledger as the service runs it: signed checkpoints, proofs, tiles, and receipts for the
//! events a caller may see. Appends happen in the store, inside each change's transaction.

use crate::{App, AppError, AppResult, Caller, policy};
use ledger::merkle::{self, Hash, NodeReader};
use ledger::receipt::Receipt;
use ledger::tile::{self, Tile};
use ledger::{Checkpoint, LedgerError};
use std::collections::HashMap;
use std::sync::Mutex;
use store::SignedCheckpoint;
use uuid::Uuid;

/// Nodes of the ledger kept in memory. A stored node never changes once written, so the cache never goes
/// stale; it is bounded and simply cleared when full.
#[derive(Default)]
pub struct NodeCache {
    nodes: Mutex<HashMap<(u8, u64), Hash>>,
    /// The largest checkpoint size seen signed.
    published: std::sync::atomic::AtomicU64,
}

const NODE_CACHE_LIMIT: usize = 500_000;

impl NodeCache {
    fn get(&self, key: (u8, u64)) -> Option<Hash> {
        self.nodes.lock().ok()?.get(&key).copied()
    }

    fn put(&self, key: (u8, u64), hash: Hash) {
        if let Ok(mut map) = self.nodes.lock() {
            if map.len() >= NODE_CACHE_LIMIT {
                map.clear();
            }
            map.insert(key, hash);
        }
    }
}

/// The checkpoint origin for a service reached at `public_url`: its URL without scheme, plus `/ledger`.
pub fn origin_for(public_url: &str) -> String {
    let bare = public_url.split_once("://").map_or(public_url, |(_, rest)| rest);
    format!("{}/ledger", bare.trim_end_matches('/'))
}

/// Records which nodes a computation asks for, answering with zeros; node requests depend only on sizes and
/// indexes, never on hash values, so a second run over the fetched nodes asks for exactly these.
#[derive(Default)]
struct Recorder(Mutex<Vec<(u8, u64)>>);

impl NodeReader for Recorder {
    fn node(&self, level: u8, index: u64) -> Result<Hash, LedgerError> {
        if let Ok(mut wanted) = self.0.lock() {
            wanted.push((level, index));
        }
        Ok([0u8; 32])
    }
}

struct Fetched(HashMap<(u8, u64), Hash>);

impl NodeReader for Fetched {
    fn node(&self, level: u8, index: u64) -> Result<Hash, LedgerError> {
        self.0
            .get(&(level, index))
            .copied()
            .ok_or(LedgerError::MissingNode { level, index })
    }
}

fn internal(error: LedgerError) -> AppError {
    AppError::Internal(Box::new(error))
}

impl App {
    /// Runs a tree computation over stored nodes: first to learn which nodes it reads, then over them.
    async fn over_nodes<T>(
        &self,
        compute: impl Fn(&dyn NodeReader) -> Result<T, LedgerError>,
    ) -> AppResult<T> {
        let recorder = Recorder::default();
        compute(&recorder).map_err(internal)?;
        let wanted = recorder.0.into_inner().unwrap_or_default();
        let mut fetched = HashMap::with_capacity(wanted.len());
        let mut missing = Vec::new();
        for key in wanted {
            match self.ledger_cache.get(key) {
                Some(hash) => {
                    fetched.insert(key, hash);
                }
                None => missing.push(key),
            }
        }
        if !missing.is_empty() {
            for (level, index, hash) in self.store.ledger_nodes_at(&missing).await? {
                self.ledger_cache.put((level, index), hash);
                fetched.insert((level, index), hash);
            }
        }
        compute(&Fetched(fetched)).map_err(internal)
    }

    pub fn ledger_origin(&self) -> &str {
        self.ledger_key.name()
    }

    pub fn verifier_key(&self) -> String {
        self.ledger_key.verifier().to_string()
    }

    /// Signs a checkpoint of the ledger as it is now, unless the latest one already covers every entry.
    pub async fn sign_checkpoint(&self) -> AppResult<SignedCheckpoint> {
        let size = self.store.ledger_size().await?;
        if let Some(latest) = self.store.latest_checkpoint().await?
            && u64::try_from(latest.size).ok() == Some(size)
        {
            return Ok(latest);
        }
        let root = self.over_nodes(|r| merkle::root(size, r)).await?;
        let checkpoint = Checkpoint {
            origin: self.ledger_origin().to_owned(),
            size,
            root,
        };
        let note = self.ledger_key.sign(&checkpoint.body()).map_err(internal)?;
        let signed = SignedCheckpoint {
            size: i64::try_from(size).unwrap_or(i64::MAX),
            root: root.to_vec(),
            note,
            signed_at: self.clock.now(),
        };
        // Another process may have signed the same size first; either note is valid.
        self.store.put_checkpoint(&signed).await?;
        Ok(signed)
    }

    /// The latest signed checkpoint, signing the first one if there is none yet.
    pub async fn latest_checkpoint(&self) -> AppResult<SignedCheckpoint> {
        match self.store.latest_checkpoint().await? {
            Some(latest) => Ok(latest),
            None => self.sign_checkpoint().await,
        }
    }

    /// A published (signed) tree size that satisfies `enough`, if any does. Published sizes only grow, so
    /// the largest one seen is remembered and the database is asked again only when it is not enough.
    async fn published_size(&self, enough: impl Fn(u64) -> bool) -> AppResult<u64> {
        let known = self
            .ledger_cache
            .published
            .load(std::sync::atomic::Ordering::Relaxed);
        if known > 0 && enough(known) {
            return Ok(known);
        }
        let size = u64::try_from(self.latest_checkpoint().await?.size).unwrap_or(0);
        self.ledger_cache
            .published
            .fetch_max(size, std::sync::atomic::Ordering::Relaxed);
        Ok(size)
    }

    fn size_field(field: &str, why: &str) -> AppError {
        AppError::Invalid(review::ValidationError::new(field, why))
    }

    /// Inclusion proof of entry `index` in the published tree of `size` entries.
    pub async fn inclusion_proof(&self, index: u64, size: u64) -> AppResult<Vec<Hash>> {
        if size > self.published_size(|p| p >= size).await? {
            return Err(Self::size_field("size", "is larger than the latest checkpoint"));
        }
        if index >= size {
            return Err(Self::size_field("index", "must be smaller than size"));
        }
        self.over_nodes(|r| merkle::inclusion_proof(index, size, r)).await
    }

    /// Consistency proof between two published tree sizes.
    pub async fn consistency_proof(&self, old: u64, new: u64) -> AppResult<Vec<Hash>> {
        if new > self.published_size(|p| p >= new).await? {
            return Err(Self::size_field("new", "is larger than the latest checkpoint"));
        }
        if old == 0 || old > new {
            return Err(Self::size_field("old", "must be between 1 and new"));
        }
        self.over_nodes(|r| merkle::consistency_proof(old, new, r)).await
    }

    /// The bytes of a tile of the published tree; `NotFound` for a tile it does not have.
    pub async fn tile(&self, path: &str) -> AppResult<Vec<u8>> {
        let tile = Tile::parse(path).map_err(|_| AppError::NotFound("tile"))?;
        if !tile.exists_in(self.published_size(|p| tile.exists_in(p)).await?) {
            return Err(AppError::NotFound("tile"));
        }
        match tile {
            Tile::Hashes { level, index, width } => {
                let level = level * 8;
                let hashes = self
                    .store
                    .ledger_nodes(level, index * tile::WIDTH, u64::from(width))
                    .await?;
                if hashes.len() != usize::from(width) {
                    return Err(internal(LedgerError::MissingNode {
                        level,
                        index: index * tile::WIDTH,
                    }));
                }
                Ok(hashes.concat())
            }
            Tile::Entries { index, width } => {
                let entries = self
                    .store
                    .ledger_entries(index * tile::WIDTH, u64::from(width))
                    .await?;
                Ok(tile::entry_bundle(
                    entries.iter().map(|e| e.commitment.as_slice()),
                ))
            }
        }
    }

    /// An offline receipt for an event the caller may see: the event, its salt, its inclusion proof and the
    /// signed checkpoint the proof is against (signed now if the latest does not cover the event yet). An
    /// event the caller may not see is "not found", like one that does not exist.
    pub async fn receipt(&self, caller: &Caller, event_id: Uuid) -> AppResult<String> {
        if self.visible_event(caller, event_id).await?.is_none() {
            return Err(AppError::NotFound("event"));
        }
        // Every event is appended to the ledger in its own transaction: one without its entry is our failure.
        let entry = self
            .store
            .ledger_entry_of(event_id)
            .await?
            .ok_or_else(|| AppError::Internal(format!("event {event_id} has no ledger entry").into()))?;
        let index = u64::try_from(entry.idx).map_err(|_| {
            AppError::Internal(format!("event {event_id} has ledger index {}", entry.idx).into())
        })?;
        let mut checkpoint = self.latest_checkpoint().await?;
        if u64::try_from(checkpoint.size).unwrap_or(0) <= index {
            checkpoint = self.sign_checkpoint().await?;
        }
        let size = u64::try_from(checkpoint.size).unwrap_or(0);
        let proof = self
            .over_nodes(|r| merkle::inclusion_proof(index, size, r))
            .await?;
        let receipt = Receipt {
            index,
            salt: entry.salt,
            event: entry.event.canonical_bytes(),
            proof,
            checkpoint_note: checkpoint.note,
        };
        Ok(receipt.encode())
    }
}

/// What checking the stored ledger found.
#[derive(Debug, Clone, Default)]
pub struct LedgerAudit {
    pub entries: u64,
    pub checkpoints: u64,
    /// The first entry that does not match what was committed, with the reason.
    pub broken: Option<(u64, String)>,
}

const VERIFIER_KEY_SETTING: &str = "ledger_verifier_key";

impl App {
    /// Signs a checkpoint now, for a program administrator.
    pub async fn checkpoint_now(&self, caller: &Caller) -> AppResult<SignedCheckpoint> {
        if !policy::can_administer_program(caller) {
            return Err(AppError::Forbidden(
                "only program administrators sign checkpoints on demand",
            ));
        }
        self.sign_checkpoint().await
    }

    /// Records this service's ledger verifier key on first start, and refuses a different key later: every
    /// process over one database must sign with the same key.
    pub async fn register_ledger_key(&self) -> AppResult<()> {
        let ours = self.verifier_key();
        match self.store.get_setting(VERIFIER_KEY_SETTING).await? {
            Some(known) if known == ours => Ok(()),
            Some(known) => Err(AppError::Conflict(format!(
                "this database's ledger is signed with {known}; give this process the same signing key"
            ))),
            None => {
                let event = self.event(
                    crate::Actor::Operator,
                    "ledger.key",
                    "ledger",
                    None,
                    serde_json::json!({"verifier_key": ours}),
                );
                self.store
                    .put_setting(VERIFIER_KEY_SETTING, &ours, &event)
                    .await?;
                Ok(())
            }
        }
    }

    /// Rechecks the whole stored ledger from the events up: each event against its commitment, each leaf and
    /// inner node against a tree rebuilt from the commitments, and each signed checkpoint against the rebuilt
    /// root and the registered key. Reports the first entry that does not match.
    pub async fn audit_ledger(&self) -> AppResult<LedgerAudit> {
        let mut audit = LedgerAudit::default();
        let size = self.store.ledger_size().await?;
        let mut tree = merkle::MemoryTree::new();
        let mut roots = HashMap::new();
        let checkpoints = self.store.list_checkpoints(None, i64::MAX).await?;
        let wanted: std::collections::HashSet<u64> = checkpoints
            .iter()
            .filter_map(|c| u64::try_from(c.size).ok())
            .collect();
        if wanted.contains(&0) {
            roots.insert(0, merkle::empty_root());
        }
        const BATCH: u64 = 1024;
        let mut from = 0;
        while from < size && audit.broken.is_none() {
            let entries = self.store.ledger_entries(from, BATCH).await?;
            let leaves = self.store.ledger_nodes(0, from, BATCH).await?;
            if entries.is_empty() {
                audit.broken = Some((from, "the entry is missing".into()));
                break;
            }
            for (offset, entry) in entries.iter().enumerate() {
                let index = from + offset as u64;
                if u64::try_from(entry.idx).ok() != Some(index) {
                    audit.broken = Some((index, "the entry is missing".into()));
                    break;
                }
                let commitment = ledger::commitment::commit(&entry.salt, &entry.event.canonical_bytes());
                if commitment.as_slice() != entry.commitment.as_slice() {
                    let why = format!(
                        "the stored event {} does not match its commitment",
                        entry.event.id
                    );
                    audit.broken = Some((index, why));
                    break;
                }
                let leaf = merkle::leaf_hash(&commitment);
                if leaves.get(offset) != Some(&leaf) {
                    audit.broken = Some((index, "the stored leaf hash does not match the commitment".into()));
                    break;
                }
                tree.push(leaf).map_err(internal)?;
                audit.entries += 1;
                if wanted.contains(&tree.size()) {
                    roots.insert(tree.size(), tree.root().map_err(internal)?);
                }
            }
            from += entries.len() as u64;
        }
        if audit.broken.is_some() {
            return Ok(audit);
        }
        // Inner nodes are what proofs are made of: each must equal the rebuilt tree's.
        for level in 1..64u8 {
            let count = tree.size() >> level;
            if count == 0 {
                break;
            }
            let mut start = 0;
            while start < count {
                let stored = self
                    .store
                    .ledger_nodes(level, start, BATCH.min(count - start))
                    .await?;
                for (offset, hash) in stored.iter().enumerate() {
                    let index = start + offset as u64;
                    if tree.node(level, index).ok().as_ref() != Some(hash) {
                        let first_leaf = index << level;
                        let why = format!("the stored node at level {level}, index {index} is wrong");
                        audit.broken = Some((first_leaf, why));
                        return Ok(audit);
                    }
                }
                if stored.len() as u64 != BATCH.min(count - start) {
                    audit.broken = Some((
                        (start + stored.len() as u64) << level,
                        format!("a node at level {level} is missing"),
                    ));
                    return Ok(audit);
                }
                start += BATCH;
            }
        }
        let key = match self.store.get_setting(VERIFIER_KEY_SETTING).await? {
            Some(text) => Some(ledger::VerifierKey::parse(&text).map_err(internal)?),
            None => None,
        };
        for checkpoint in &checkpoints {
            let cp_size = u64::try_from(checkpoint.size).unwrap_or(0);
            let root = roots.get(&cp_size);
            let body = key.as_ref().map(|k| k.verify(&checkpoint.note));
            let consistent = match body {
                Some(Ok(text)) => Checkpoint::parse(text)
                    .ok()
                    .is_some_and(|cp| Some(&cp.root) == root && cp.size == cp_size),
                Some(Err(_)) => false,
                None => root.map(|r| r.as_slice()) == Some(checkpoint.root.as_slice()),
            };
            if !consistent {
                let why =
                    format!("the signed checkpoint of size {cp_size} does not match the entries before it");
                audit.broken = Some((cp_size.saturating_sub(1), why));
                return Ok(audit);
            }
            audit.checkpoints += 1;
        }
        Ok(audit)
    }
}

/// A receipt as shown to a person: the proof document, what it proves, and whether it verified here.
#[derive(Debug, Clone)]
pub struct ReceiptView {
    pub text: String,
    pub index: u64,
    pub checkpoint_size: u64,
    pub event: serde_json::Value,
    pub verified: Result<(), String>,
}

impl App {
    /// The events of one object that the caller may see, oldest first.
    pub async fn events_of(
        &self,
        caller: &Caller,
        object_id: Uuid,
    ) -> AppResult<Vec<crate::audit::AuditView>> {
        const PAGE: i64 = 200;
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .store
                .list_events(&self.event_query(caller, Some(object_id), None, after, PAGE))
                .await?;
            let full = page.len() == PAGE as usize;
            after = page.last().map(|e| e.seq);
            out.extend(page.into_iter().map(crate::audit::AuditView::from));
            if !full {
                return Ok(out);
            }
        }
    }

    /// A receipt, checked against this service's own key, for display.
    pub async fn receipt_view(&self, caller: &Caller, event_id: Uuid) -> AppResult<ReceiptView> {
        let text = self.receipt(caller, event_id).await?;
        let receipt = Receipt::parse(&text).map_err(internal)?;
        let verified = receipt.verify(&self.ledger_key.verifier());
        Ok(ReceiptView {
            index: receipt.index,
            checkpoint_size: verified.as_ref().map(|c| c.size).unwrap_or(0),
            event: serde_json::from_slice(&receipt.event).unwrap_or(serde_json::Value::Null),
            verified: verified.map(|_| ()).map_err(|e| e.to_string()),
            text,
        })
    }

    /// Signed checkpoints, newest first, for the ledger's history.
    pub async fn checkpoint_history(&self, limit: i64) -> AppResult<Vec<SignedCheckpoint>> {
        Ok(self.store.list_checkpoints(None, limit).await?)
    }
}
