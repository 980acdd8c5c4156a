//! Following a log from outside: check each new checkpoint's signature, rebuild the tree from the entries
//! the log publishes, and compare. Any difference means the log rewrote or forked its history.

use crate::checkpoint::Checkpoint;
use crate::merkle::{MemoryTree, NodeReader, leaf_hash};
use crate::note::VerifierKey;
use crate::tile::{self, Tile};
use crate::{LedgerError, malformed};

pub struct Monitor {
    key: VerifierKey,
    origin: String,
    tree: MemoryTree,
    last: Option<Checkpoint>,
}

impl Monitor {
    pub fn new(key: VerifierKey, origin: &str) -> Self {
        Monitor {
            key,
            origin: origin.to_owned(),
            tree: MemoryTree::new(),
            last: None,
        }
    }

    /// Entries checked so far.
    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    /// Checks a checkpoint note's signature and origin, and that it does not shrink the log.
    pub fn read_checkpoint(&self, note: &str) -> Result<Checkpoint, LedgerError> {
        let checkpoint = Checkpoint::parse(self.key.verify(note)?)?;
        if checkpoint.origin != self.origin {
            return Err(malformed(
                "checkpoint",
                format!("origin {} is not {}", checkpoint.origin, self.origin),
            ));
        }
        if let Some(last) = &self.last
            && checkpoint.size < last.size
        {
            return Err(malformed(
                "checkpoint",
                format!("size went back from {} to {}", last.size, checkpoint.size),
            ));
        }
        Ok(checkpoint)
    }

    /// The entry tiles still to fetch to reach `size`, in order.
    pub fn tiles_to(&self, size: u64) -> Vec<Tile> {
        let mut out = Vec::new();
        let mut index = self.size() / tile::WIDTH;
        while index * tile::WIDTH < size {
            let width = (size - index * tile::WIDTH).min(tile::WIDTH);
            out.push(Tile::Entries {
                index,
                width: u16::try_from(width).unwrap_or(256),
            });
            index += 1;
        }
        out
    }

    /// Adds the entries of a fetched entry tile (skipping those already added) and checks them against the
    /// matching level-0 hash tile.
    pub fn add_tile(&mut self, tile: Tile, bundle: &[u8], hashes: &[u8]) -> Result<(), LedgerError> {
        let Tile::Entries { index, width } = tile else {
            return Err(malformed("tile", "expected an entry tile"));
        };
        let entries = tile::parse_entry_bundle(bundle)?;
        if entries.len() != usize::from(width) || hashes.len() != usize::from(width) * 32 {
            return Err(malformed(
                "tile",
                format!("{} does not hold {width} entries", tile.path()),
            ));
        }
        let start = index * tile::WIDTH;
        for (offset, (entry, published)) in entries.iter().zip(hashes.chunks(32)).enumerate() {
            let position = start + offset as u64;
            let leaf = leaf_hash(entry);
            if leaf.as_slice() != published {
                return Err(malformed(
                    "log",
                    format!("entry {position}: published leaf hash differs from its entry"),
                ));
            }
            if position < self.size() {
                if self.tree.node(0, position)? != leaf {
                    return Err(malformed(
                        "log",
                        format!("entry {position} changed since it was first seen"),
                    ));
                }
                continue;
            }
            self.tree.push(leaf)?;
        }
        Ok(())
    }

    /// Compares a checkpoint with the tree rebuilt so far (which must have reached its size), and makes it
    /// the last one seen.
    pub fn confirm(&mut self, checkpoint: Checkpoint) -> Result<(), LedgerError> {
        if self.size() < checkpoint.size {
            return Err(malformed(
                "log",
                format!(
                    "only {} of {} entries were published",
                    self.size(),
                    checkpoint.size
                ),
            ));
        }
        let root = crate::merkle::root(checkpoint.size, &self.tree)?;
        if root != checkpoint.root {
            return Err(malformed(
                "log",
                format!(
                    "checkpoint of size {} has a root the entries do not give",
                    checkpoint.size
                ),
            ));
        }
        self.last = Some(checkpoint);
        Ok(())
    }
}
