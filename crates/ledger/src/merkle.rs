//! RFC 6962 / RFC 9162 Merkle trees.
//!
//! A node is named by its level (0 = leaves) and its index at that level; node (l, i) is the root of the
//! complete subtree over leaves `[i·2^l, (i+1)·2^l)`. Trees of any size are roots of a few such subtrees,
//! combined right to left, so with every complete subtree's hash stored a root or a proof costs O(log n)
//! reads and no rehashing.

use crate::LedgerError;
use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// `SHA-256(0x00 ‖ data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree, `SHA-256("")`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Reads `hash` from a byte slice, refusing anything but 32 bytes.
pub fn hash_from_slice(bytes: &[u8]) -> Result<Hash, LedgerError> {
    bytes.try_into().map_err(|_| LedgerError::HashLength(bytes.len()))
}

/// Where stored node hashes come from.
pub trait NodeReader {
    fn node(&self, level: u8, index: u64) -> Result<Hash, LedgerError>;
}

/// The left siblings (level, index) whose hashes an append of leaf `index` combines with, lowest first.
pub fn append_siblings(index: u64) -> Vec<(u8, u64)> {
    let mut out = Vec::new();
    let (mut level, mut i) = (0u8, index);
    while i % 2 == 1 {
        out.push((level, i - 1));
        level += 1;
        i /= 2;
    }
    out
}

/// The nodes to store when leaf `index` (hash `leaf`) is appended: the leaf itself, then every parent it
/// completes, given the hashes of `append_siblings(index)` in order.
pub fn append_nodes(index: u64, leaf: Hash, siblings: &[Hash]) -> Vec<(u8, u64, Hash)> {
    let mut out = vec![(0u8, index, leaf)];
    let (mut level, mut i, mut hash) = (0u8, index, leaf);
    for left in siblings {
        hash = node_hash(left, &hash);
        level += 1;
        i /= 2;
        out.push((level, i, hash));
    }
    out
}

/// `append_nodes`, reading the siblings from `reader`.
pub fn nodes_for_append<R: NodeReader + ?Sized>(
    index: u64,
    leaf: Hash,
    reader: &R,
) -> Result<Vec<(u8, u64, Hash)>, LedgerError> {
    let siblings = append_siblings(index)
        .into_iter()
        .map(|(level, i)| reader.node(level, i))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(append_nodes(index, leaf, &siblings))
}

/// Largest power of two strictly smaller than `n` (n ≥ 2).
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// MTH of leaves `[lo, hi)`, reading complete aligned subtrees directly.
pub fn range_hash<R: NodeReader + ?Sized>(lo: u64, hi: u64, reader: &R) -> Result<Hash, LedgerError> {
    let n = hi - lo;
    if n == 0 {
        return Ok(empty_root());
    }
    if n.is_power_of_two() && lo.is_multiple_of(n) {
        return reader.node(u8::try_from(n.trailing_zeros()).unwrap_or(63), lo / n);
    }
    let k = split(n);
    let left = range_hash(lo, lo + k, reader)?;
    let right = range_hash(lo + k, hi, reader)?;
    Ok(node_hash(&left, &right))
}

/// The root of the tree of the first `size` leaves.
pub fn root<R: NodeReader + ?Sized>(size: u64, reader: &R) -> Result<Hash, LedgerError> {
    range_hash(0, size, reader)
}

/// Inclusion proof of leaf `index` in the tree of `size` leaves (RFC 9162 §2.1.3.1), leaf side first.
pub fn inclusion_proof<R: NodeReader + ?Sized>(
    index: u64,
    size: u64,
    reader: &R,
) -> Result<Vec<Hash>, LedgerError> {
    if index >= size {
        return Err(LedgerError::OutOfRange { index, size });
    }
    let mut proof = Vec::new();
    // Walk down from the root, collecting siblings; reversed at the end so the leaf's sibling comes first.
    let (mut lo, mut hi, mut m) = (0u64, size, index);
    while hi - lo > 1 {
        let k = split(hi - lo);
        if m < k {
            proof.push(range_hash(lo + k, hi, reader)?);
            hi = lo + k;
        } else {
            proof.push(range_hash(lo, lo + k, reader)?);
            lo += k;
            m -= k;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// Consistency proof between the trees of `old` and `new` leaves (RFC 9162 §2.1.4.1).
pub fn consistency_proof<R: NodeReader + ?Sized>(
    old: u64,
    new: u64,
    reader: &R,
) -> Result<Vec<Hash>, LedgerError> {
    if old == 0 || old > new {
        return Err(LedgerError::BadSizes { old, new });
    }
    let mut proof = Vec::new();
    subproof(old, 0, new, true, reader, &mut proof)?;
    Ok(proof)
}

fn subproof<R: NodeReader + ?Sized>(
    m: u64,
    lo: u64,
    hi: u64,
    complete: bool,
    reader: &R,
    out: &mut Vec<Hash>,
) -> Result<(), LedgerError> {
    let n = hi - lo;
    if m == n {
        if !complete {
            out.push(range_hash(lo, hi, reader)?);
        }
        return Ok(());
    }
    let k = split(n);
    if m <= k {
        subproof(m, lo, lo + k, complete, reader, out)?;
        out.push(range_hash(lo + k, hi, reader)?);
    } else {
        subproof(m - k, lo + k, hi, false, reader, out)?;
        out.push(range_hash(lo, lo + k, reader)?);
    }
    Ok(())
}

/// Checks an inclusion proof (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), LedgerError> {
    if index >= size {
        return Err(LedgerError::OutOfRange { index, size });
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return Err(LedgerError::ProofLength {
                expected: expected_inclusion_len(index, size),
                got: proof.len(),
            });
        }
        if fnode % 2 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode % 2 == 0 {
                while fnode % 2 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(LedgerError::ProofLength {
            expected: expected_inclusion_len(index, size),
            got: proof.len(),
        });
    }
    if &r == root {
        Ok(())
    } else {
        Err(LedgerError::RootMismatch)
    }
}

fn expected_inclusion_len(index: u64, size: u64) -> usize {
    let (mut lo, mut hi, mut m, mut len) = (0u64, size, index, 0usize);
    while hi - lo > 1 {
        let k = split(hi - lo);
        if m < k {
            hi = lo + k;
        } else {
            lo += k;
            m -= k;
        }
        len += 1;
    }
    len
}

/// Checks a consistency proof (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), LedgerError> {
    if old == 0 || old > new {
        return Err(LedgerError::BadSizes { old, new });
    }
    if old == new {
        if !proof.is_empty() {
            return Err(LedgerError::ProofLength {
                expected: 0,
                got: proof.len(),
            });
        }
        return if old_root == new_root {
            Ok(())
        } else {
            Err(LedgerError::RootMismatch)
        };
    }
    let mut path: Vec<Hash> = proof.to_vec();
    if old.is_power_of_two() {
        path.insert(0, *old_root);
    }
    let bad_len = || LedgerError::ProofLength {
        expected: 0,
        got: proof.len(),
    };
    let (mut fnode, mut snode) = (old - 1, new - 1);
    while fnode % 2 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let mut items = path.iter();
    let first = items.next().ok_or_else(bad_len)?;
    let (mut fr, mut sr) = (*first, *first);
    for c in items {
        if snode == 0 {
            return Err(bad_len());
        }
        if fnode % 2 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fnode % 2 == 0 {
                while fnode % 2 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(bad_len());
    }
    if &fr == old_root && &sr == new_root {
        Ok(())
    } else {
        Err(LedgerError::RootMismatch)
    }
}

/// An in-memory node store: every complete subtree of the leaves appended so far. For tests, monitors and
/// the offline verifier.
#[derive(Debug, Default, Clone)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    pub fn new() -> Self {
        MemoryTree::default()
    }

    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// Appends a leaf hash, storing the nodes it completes.
    pub fn push(&mut self, leaf: Hash) -> Result<(), LedgerError> {
        let index = self.size();
        for (level, i, hash) in nodes_for_append(index, leaf, self)? {
            let level = usize::from(level);
            if self.levels.len() <= level {
                self.levels.resize_with(level + 1, Vec::new);
            }
            if let Some(row) = self.levels.get_mut(level) {
                debug_assert_eq!(row.len() as u64, i);
                row.push(hash);
            }
        }
        Ok(())
    }

    pub fn root(&self) -> Result<Hash, LedgerError> {
        root(self.size(), self)
    }
}

impl NodeReader for MemoryTree {
    fn node(&self, level: u8, index: u64) -> Result<Hash, LedgerError> {
        self.levels
            .get(usize::from(level))
            .and_then(|row| row.get(usize::try_from(index).ok()?))
            .copied()
            .ok_or(LedgerError::MissingNode { level, index })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(n: u64) -> MemoryTree {
        let mut t = MemoryTree::new();
        for i in 0..n {
            t.push(leaf_hash(&i.to_be_bytes())).unwrap();
        }
        t
    }

    /// The recursive definition of MTH over all leaves, computed from scratch.
    fn reference_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split(n as u64) as usize;
                node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
            }
        }
    }

    #[test]
    fn empty_and_known_roots() {
        // RFC 6962 empty tree hash.
        assert_eq!(
            empty_root()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        for n in 0..70 {
            let leaves: Vec<Hash> = (0..n).map(|i: u64| leaf_hash(&i.to_be_bytes())).collect();
            assert_eq!(tree(n).root().unwrap(), reference_root(&leaves), "size {n}");
        }
    }

    #[test]
    fn every_inclusion_and_consistency_proof_verifies_up_to_40() {
        let t = tree(40);
        for size in 1..=40 {
            let root = root(size, &t).unwrap();
            for index in 0..size {
                let proof = inclusion_proof(index, size, &t).unwrap();
                let leaf = t.node(0, index).unwrap();
                verify_inclusion(index, size, &leaf, &proof, &root).unwrap();
            }
            for old in 1..=size {
                let proof = consistency_proof(old, size, &t).unwrap();
                verify_consistency(old, size, &root_of(&t, old), &root, &proof).unwrap();
            }
        }
    }

    fn root_of(t: &MemoryTree, n: u64) -> Hash {
        root(n, t).unwrap()
    }

    #[test]
    fn consistency_from_zero_is_refused() {
        let t = tree(4);
        assert_eq!(
            consistency_proof(0, 4, &t),
            Err(LedgerError::BadSizes { old: 0, new: 4 })
        );
        let r = t.root().unwrap();
        assert_eq!(
            verify_consistency(0, 4, &empty_root(), &r, &[]),
            Err(LedgerError::BadSizes { old: 0, new: 4 })
        );
    }

    #[test]
    fn hashes_must_be_32_bytes() {
        assert_eq!(hash_from_slice(&[0u8; 31]), Err(LedgerError::HashLength(31)));
        assert_eq!(hash_from_slice(&[0u8; 33]), Err(LedgerError::HashLength(33)));
        assert!(hash_from_slice(&[0u8; 32]).is_ok());
    }
}
