//! Our hashing, proofs, checkpoints and notes checked against independent implementations of the same
//! specifications (the `tlog_tiles` and `signed_note` crates), both ways, and by properties over random trees.

use crate::LedgerError;
use crate::checkpoint::Checkpoint;
use crate::merkle::{self, Hash, MemoryTree, NodeReader};
use crate::note::{LogKey, VerifierKey};
use proptest::prelude::*;

/// Their storage: every stored hash of a tree, built by their own code from the same records.
struct TheirTree {
    hashes: Vec<tlog_tiles::Hash>,
}

impl TheirTree {
    fn new(records: &[Vec<u8>]) -> Self {
        let mut tree = TheirTree { hashes: Vec::new() };
        for (n, data) in records.iter().enumerate() {
            let new = tlog_tiles::stored_hashes(n as u64, data, &tree).unwrap();
            tree.hashes.extend(new);
        }
        tree
    }
}

impl tlog_tiles::HashReader for TheirTree {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<tlog_tiles::Hash>, tlog_tiles::tlog::Error> {
        Ok(indexes.iter().map(|i| self.hashes[*i as usize]).collect())
    }
}

/// Our tree over the same records (leaf hash of each record's data).
fn ours(records: &[Vec<u8>]) -> MemoryTree {
    let mut tree = MemoryTree::new();
    for data in records {
        tree.push(merkle::leaf_hash(data)).unwrap();
    }
    tree
}

fn records(n: u64) -> Vec<Vec<u8>> {
    (0..n).map(|i| format!("record {i}").into_bytes()).collect()
}

fn theirs(h: Hash) -> tlog_tiles::Hash {
    tlog_tiles::Hash(h)
}

fn check_sizes(size: u64, index: u64, old: u64) {
    let recs = records(size);
    let our = ours(&recs);
    let their = TheirTree::new(&recs);
    let root = our.root().unwrap();
    assert_eq!(
        theirs(root),
        tlog_tiles::tree_hash(size, &their).unwrap(),
        "root of {size}"
    );

    // Inclusion: our proof passes their check, their proof passes ours.
    let leaf = merkle::leaf_hash(&recs[index as usize]);
    let proof = merkle::inclusion_proof(index, size, &our).unwrap();
    let proof_t: Vec<_> = proof.iter().copied().map(theirs).collect();
    tlog_tiles::check_record(&proof_t, size, theirs(root), index, theirs(leaf)).unwrap();
    let their_proof = tlog_tiles::prove_record(size, index, &their).unwrap();
    let their_proof: Vec<Hash> = their_proof.iter().map(|h| h.0).collect();
    assert_eq!(their_proof, proof);
    merkle::verify_inclusion(index, size, &leaf, &their_proof, &root).unwrap();

    // Consistency, both ways.
    let old_root = merkle::root(old, &our).unwrap();
    let proof = merkle::consistency_proof(old, size, &our).unwrap();
    let proof_t: Vec<_> = proof.iter().copied().map(theirs).collect();
    tlog_tiles::check_tree(&proof_t, size, theirs(root), old, theirs(old_root)).unwrap();
    let their_proof: Vec<Hash> = tlog_tiles::prove_tree(size, old, &their)
        .unwrap()
        .iter()
        .map(|h| h.0)
        .collect();
    merkle::verify_consistency(old, size, &old_root, &root, &their_proof).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn proofs_agree_with_an_independent_implementation(size in 1u64..600, a in any::<u64>(), b in any::<u64>()) {
        check_sizes(size, a % size, b % size + 1);
    }

    #[test]
    fn tampered_inclusion_proofs_fail(size in 2u64..300, a in any::<u64>(), flip in any::<(usize, u8)>()) {
        let tree = ours(&records(size));
        let index = a % size;
        let root = tree.root().unwrap();
        let leaf = tree.node(0, index).unwrap();
        let mut proof = merkle::inclusion_proof(index, size, &tree).unwrap();
        prop_assume!(!proof.is_empty());
        let (which, bit) = flip;
        let len = proof.len();
        proof[which % len][(bit as usize) % 32] ^= 1 << (bit % 8);
        prop_assert!(merkle::verify_inclusion(index, size, &leaf, &proof, &root).is_err());
    }

    #[test]
    fn tampered_consistency_proofs_fail(size in 3u64..300, a in any::<u64>(), flip in any::<(usize, u8)>()) {
        let tree = ours(&records(size));
        let old = a % (size - 1) + 1;
        let (old_root, root) = (merkle::root(old, &tree).unwrap(), tree.root().unwrap());
        let mut proof = merkle::consistency_proof(old, size, &tree).unwrap();
        prop_assume!(!proof.is_empty());
        let (which, bit) = flip;
        let len = proof.len();
        proof[which % len][(bit as usize) % 32] ^= 1 << (bit % 8);
        prop_assert!(merkle::verify_consistency(old, size, &old_root, &root, &proof).is_err());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// A proof checked against sizes it was not made for: both implementations reach the same verdict.
    /// (Some wrong sizes cannot be told apart from the right one by any verifier: a consistency proof for
    /// 10 → 20 also proves 10 → 21, since nothing in it depends on the last leaf.)
    #[test]
    fn verdicts_on_mismatched_sizes_agree(size in 2u64..200, a in any::<u64>(), b in any::<u64>(), c in any::<u64>()) {
        let tree = ours(&records(size));
        let old = a % (size - 1) + 1;
        let claimed_old = b % size + 1;
        let claimed_new = claimed_old + c % (size - claimed_old + 1);
        let (old_root, root) = (merkle::root(old, &tree).unwrap(), tree.root().unwrap());
        let proof = merkle::consistency_proof(old, size, &tree).unwrap();
        let proof_t: Vec<_> = proof.iter().copied().map(theirs).collect();
        let ours_ok = merkle::verify_consistency(claimed_old, claimed_new, &old_root, &root, &proof).is_ok();
        let theirs_ok = tlog_tiles::check_tree(&proof_t, claimed_new, theirs(root), claimed_old, theirs(old_root)).is_ok();
        prop_assert_eq!(ours_ok, theirs_ok, "old {} new {} claimed {} {}", old, size, claimed_old, claimed_new);
    }

    #[test]
    fn inclusion_verdicts_on_mismatched_sizes_agree(size in 1u64..200, a in any::<u64>(), b in any::<u64>(), c in any::<u64>()) {
        let tree = ours(&records(size));
        let index = a % size;
        let claimed_size = b % 300 + 1;
        let claimed_index = c % claimed_size;
        let (leaf, root) = (tree.node(0, index).unwrap(), tree.root().unwrap());
        let proof = merkle::inclusion_proof(index, size, &tree).unwrap();
        let proof_t: Vec<_> = proof.iter().copied().map(theirs).collect();
        let ours_ok = merkle::verify_inclusion(claimed_index, claimed_size, &leaf, &proof, &root).is_ok();
        let theirs_ok = tlog_tiles::check_record(&proof_t, claimed_size, theirs(root), claimed_index, theirs(leaf)).is_ok();
        prop_assert_eq!(ours_ok, theirs_ok);
    }
}

#[test]
fn wrong_sizes_and_swapped_roots_are_refused() {
    let tree = ours(&records(20));
    let (r10, r20) = (merkle::root(10, &tree).unwrap(), tree.root().unwrap());
    let proof = merkle::consistency_proof(10, 20, &tree).unwrap();
    merkle::verify_consistency(10, 20, &r10, &r20, &proof).unwrap();
    assert!(
        merkle::verify_consistency(10, 20, &r20, &r10, &proof).is_err(),
        "swapped roots"
    );
    assert!(
        merkle::verify_consistency(11, 20, &r10, &r20, &proof).is_err(),
        "wrong old size"
    );
    assert!(
        merkle::verify_consistency(10, 12, &r10, &r20, &proof).is_err(),
        "wrong new size"
    );
    assert!(
        merkle::verify_consistency(10, 20, &r10, &r20, &proof[1..]).is_err(),
        "truncated"
    );

    let leaf = tree.node(0, 5).unwrap();
    let inc = merkle::inclusion_proof(5, 20, &tree).unwrap();
    merkle::verify_inclusion(5, 20, &leaf, &inc, &r20).unwrap();
    assert!(
        merkle::verify_inclusion(6, 20, &leaf, &inc, &r20).is_err(),
        "wrong index"
    );
    assert!(
        merkle::verify_inclusion(5, 8, &leaf, &inc, &r20).is_err(),
        "wrong size"
    );
    assert!(
        merkle::verify_inclusion(5, 20, &leaf, &inc, &r10).is_err(),
        "wrong root"
    );
    assert!(
        merkle::verify_inclusion(20, 20, &leaf, &inc, &r20).is_err(),
        "index past the end"
    );
    let mut long = inc.clone();
    long.push([0u8; 32]);
    assert!(
        merkle::verify_inclusion(5, 20, &leaf, &long, &r20).is_err(),
        "extra hash"
    );
    assert_eq!(
        merkle::consistency_proof(0, 20, &tree),
        Err(LedgerError::BadSizes { old: 0, new: 20 })
    );
}

#[test]
fn our_signed_checkpoints_verify_with_their_code() {
    let key = LogKey::generate("prelaunch.example/ledger");
    let tree = ours(&records(77));
    let cp = Checkpoint {
        origin: "prelaunch.example/ledger".into(),
        size: 77,
        root: tree.root().unwrap(),
    };
    let note = key.sign(&cp.body()).unwrap();

    let verifier = signed_note::StandardVerifier::new(&key.verifier().to_string()).unwrap();
    let parsed = signed_note::Note::from_bytes(note.as_bytes()).unwrap();
    let list = signed_note::VerifierList::new(vec![Box::new(verifier)]);
    let (verified, _) = parsed.verify(&list).unwrap();
    assert_eq!(verified.len(), 1);
    let their_cp = tlog_tiles::Checkpoint::from_bytes(parsed.text()).unwrap();
    assert_eq!(their_cp.size(), 77);
    assert_eq!(their_cp.hash().0, cp.root);
    assert_eq!(their_cp.origin(), cp.origin);
}

#[test]
fn their_signed_checkpoints_verify_with_our_code() {
    let (skey, vkey) = signed_note::generate_key(&mut rand::rngs::OsRng, "witness.example/log");
    let signer = signed_note::StandardSigner::new(&skey).unwrap();
    let tree = ours(&records(5));
    let their_cp =
        tlog_tiles::Checkpoint::new("witness.example/log", 5, theirs(tree.root().unwrap()), "").unwrap();
    let mut note = signed_note::Note::new(&their_cp.to_bytes(), &[]).unwrap();
    note.add_sigs(&[&signer]).unwrap();
    let bytes = String::from_utf8(note.to_bytes()).unwrap();

    let ours_key = VerifierKey::parse(&vkey).unwrap();
    let body = ours_key.verify(&bytes).unwrap();
    let cp = Checkpoint::parse(body).unwrap();
    assert_eq!((cp.size, cp.root), (5, tree.root().unwrap()));
    // Their secret-key format is ours too.
    let ours_signer = LogKey::from_secret(&skey).unwrap();
    assert_eq!(ours_signer.verifier().to_string(), vkey);
}

/// Their tile paths are Go's sumdb form `tile/<height>/<level>/<N>` (entries: `data`); C2SP tlog-tiles drops
/// the height and says `entries`. Everything else, including the index encoding, must agree.
fn c2sp_path(go_path: &str) -> String {
    go_path
        .replacen("tile/8/data/", "tile/entries/", 1)
        .replacen("tile/8/", "tile/", 1)
}

#[test]
fn tiles_match_the_independent_implementation() {
    use crate::tile::Tile;
    let cases = [
        (0u8, 0u64, 256u16),
        (0, 1234067, 256),
        (1, 1, 17),
        (2, 999, 3),
        (3, 1000, 255),
    ];
    for (level, index, width) in cases {
        let ours = Tile::Hashes { level, index, width }.path();
        assert_eq!(
            ours,
            c2sp_path(&tlog_tiles::Tile::new(8, level, index, u32::from(width), false).path())
        );
        assert_eq!(Tile::parse(&ours).unwrap(), Tile::Hashes { level, index, width });
        let ours = Tile::Entries { index, width }.path();
        assert_eq!(
            ours,
            c2sp_path(&tlog_tiles::Tile::new(8, 0, index, u32::from(width), true).path())
        );
    }
    // The contents of every hash tile of a tree with two levels of tiles.
    let size = 256 * 256 + 17 * 256 + 5;
    let recs = records(size);
    let (our, their) = (ours(&recs), TheirTree::new(&recs));
    for (level, index, width) in [
        (0u8, 0u64, 256u16),
        (0, 256, 256),
        (0, 272, 5),
        (1, 0, 256),
        (1, 1, 17),
    ] {
        let tile = Tile::Hashes { level, index, width };
        assert!(tile.exists_in(size), "{}", tile.path());
        let theirs = tlog_tiles::Tile::new(8, level, index, u32::from(width), false)
            .read_data(&their)
            .unwrap();
        assert_eq!(tile.hashes(&our).unwrap(), theirs, "{}", tile.path());
    }
}
