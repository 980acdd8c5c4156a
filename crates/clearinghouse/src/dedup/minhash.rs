//! A stable 64-bit hash, MinHash signatures and LSH band keys.
//!
//! The hash must never change: band keys and exact keys are stored, and a new release must find the keys an
//! old one wrote. So it is spelled out here (std's `DefaultHasher` may change between Rust releases). It is
//! a multiply–rotate over 8-byte words with the splitmix64 finaliser: fast, well mixed, not keyed. An
//! attacker who can file reports could craft colliding band keys; that only adds candidates, which the store
//! bounds per lookup and `similarity` then rejects.
//!
//! Parameters: K = 120 minima, B = 20 bands of R = 6 rows. Two token sets of Jaccard similarity s share at
//! least one band with probability 1 − (1 − s⁶)²⁰, an S-curve whose midpoint (1/B)^(1/R) ≈ 0.61 sits just
//! above the default `suggest` threshold (0.5): a pair at s = 0.5 becomes a candidate with probability 0.27,
//! at 0.6 with 0.62, at 0.7 with 0.92, at 0.8 with 0.998, while an unrelated pair at s = 0.2 does with
//! probability 0.001. It is not lower because band candidates are not the only route: exact keys (product
//! with function, file or crash signature) find the structured duplicates whatever their wording, so LSH
//! only needs the near-verbatim ones, and every spurious candidate costs a fingerprint read. On the
//! generated corpus (reports of one weakness class share much wording) R = 4, B = 32 (midpoint 0.42)
//! yields six times the candidates (4.5 instead of 0.7 per report over 3,000) for no gain in recall.
//! K = 120 gives a standard error of √(s(1−s)/K) ≤ 0.046 on the estimate. Each minimum is kept as its low
//! 16 bits (b-bit MinHash): a chance equality of 2⁻¹⁶ is negligible, and the signature is 240 bytes.

/// The number of minima in a signature.
pub const K: usize = 120;
/// The number of LSH bands, each of `ROWS` minima.
pub const BANDS: usize = 20;
pub const ROWS: usize = K / BANDS;

const M1: u64 = 0x9E37_79B9_7F4A_7C15;
const M2: u64 = 0xC2B2_AE3D_27D4_EB4F;

/// splitmix64's finaliser.
pub fn mix(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The stable hash of `bytes` under `seed`.
pub fn hash(seed: u64, bytes: &[u8]) -> u64 {
    let mut h = seed ^ M1.wrapping_mul(bytes.len() as u64 + 1);
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let w = u64::from_le_bytes(<[u8; 8]>::try_from(word).unwrap_or_default());
        h = (h ^ w.wrapping_mul(M2)).rotate_left(31).wrapping_mul(M1);
    }
    let mut tail = [0u8; 8];
    for (t, b) in tail.iter_mut().zip(words.remainder()) {
        *t = *b;
    }
    h = (h ^ u64::from_le_bytes(tail).wrapping_mul(M2))
        .rotate_left(31)
        .wrapping_mul(M1);
    mix(h)
}

/// Hashes several parts as one, unambiguously (each part's length is mixed in).
pub fn hash_parts(seed: u64, parts: &[&[u8]]) -> u64 {
    parts.iter().fold(mix(seed), |h, part| mix(h ^ hash(h, part)))
}

/// The multipliers and offsets of the K hash functions `(a·x + b) >> 32`, derived from fixed seeds.
struct Family {
    a: [u64; K],
    b: [u64; K],
}

// Evaluated at compile time, where an out-of-bounds index is a build error, not a panic.
#[allow(clippy::indexing_slicing)]
const fn family() -> Family {
    let mut a = [0u64; K];
    let mut b = [0u64; K];
    let mut state: u64 = 0x0005_EED0_FDED_u64;
    let mut i = 0;
    while i < K {
        state = state.wrapping_add(M1);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // Odd multipliers, as multiply–shift hashing needs.
        a[i] = z | 1;
        b[i] = z.rotate_left(32);
        i += 1;
    }
    Family { a, b }
}

static FAMILY: Family = family();

/// The b-bit MinHash signature of a set of element hashes (already well mixed); `None` for an empty set.
pub fn signature(elements: &[u64]) -> Option<[u16; K]> {
    if elements.is_empty() {
        return None;
    }
    let mut minima = [u32::MAX; K];
    for &x in elements {
        for ((m, a), b) in minima.iter_mut().zip(&FAMILY.a).zip(&FAMILY.b) {
            let v = (a.wrapping_mul(x).wrapping_add(*b) >> 32) as u32;
            *m = (*m).min(v);
        }
    }
    let mut out = [0u16; K];
    for (o, m) in out.iter_mut().zip(minima) {
        *o = (m & 0xFFFF) as u16;
    }
    Some(out)
}

/// The band keys of a signature: band `i` hashes rows `i·R .. (i+1)·R`.
pub fn bands(signature: &[u16; K]) -> Vec<i64> {
    signature
        .chunks_exact(ROWS)
        .enumerate()
        .map(|(i, rows)| {
            let mut bytes = [0u8; 2 * ROWS];
            for (pair, row) in bytes.chunks_exact_mut(2).zip(rows) {
                pair.copy_from_slice(&row.to_le_bytes());
            }
            hash(0xBA4D ^ i as u64, &bytes) as i64
        })
        .collect()
}

/// The estimated Jaccard similarity of the two sets: the share of equal minima.
pub fn jaccard(a: &[u16; K], b: &[u16; K]) -> f64 {
    let equal = a.iter().zip(b).filter(|(x, y)| x == y).count();
    equal as f64 / K as f64
}
