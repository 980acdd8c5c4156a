//! Duplicate detection on intake: exact keys and near-duplicate text.
//!
//! - `fingerprint(&DedupInput)` computes a report's `Fingerprint` once, at intake;
//! - `Fingerprint::exact_keys` are looked up by equality (a report with the same key is a candidate, kept if
//!   `similarity` says so), at most `MAX_EXACT_KEYS` per report, typically 3–4; `Fingerprint::bands` are the
//!   LSH band keys (`BANDS`, one per band). The store keeps both in memory (`store::dedup_index`, built from
//!   the stored fingerprints, which carry them), so correlation storage grows linearly with reports;
//!   `Fingerprint::to_bytes`/`from_bytes` store the whole fingerprint beside the report (about 300 bytes);
//! - `similarity(new, new_affected, stored, stored_affected)` scores a candidate in [0, 1];
//! - `Thresholds` (configurable): at or above `join` a report joins the candidate's case automatically, at or
//!   above `suggest` the candidate is listed for a coordinator.
//!
//! Exact keys, one set per affected product (by `ProductId::key`, so spellings do not matter):
//! - product + CWE + the location the reporter gave (its function, else its file);
//! - product + the flaw's function (from the location, else the trace's top frame, else the first
//!   identifier the prose names). No CWE here: finders disagree on it for one flaw (787 or 122, or none);
//! - product + the flaw's source file (from the location, else the trace, else the prose);
//! - product + the crash signature (the sanitizer's bug class and the top three frames), when a trace is given.
//!
//! Version ranges are not in any key: two reports that share a key are duplicates only if their ranges
//! overlap, which `similarity` checks. The text (title, description, trace, location) is reduced to weighted
//! tokens (`text`) and summarised by a MinHash signature cut into LSH bands (`minhash`, which also justifies
//! K, B and R). Candidates are the stored reports that share an exact key or a band key (at most
//! `KEY_BUCKET_LIMIT` per exact key and `BAND_BUCKET_LIMIT` per band key, the most recent); `similarity` ranks
//! them.

pub mod corpus;
mod minhash;
mod text;

#[cfg(test)]
mod tests;

pub use minhash::{BANDS, K, ROWS};

use crate::product::Affected;
use minhash::{hash, hash_parts};

/// How many stored reports to take per band key, the most recent first. A band key that many reports share
/// says little (on a generated corpus of 100,000 reports a few band keys collect about 300 reports each,
/// all terse ones in the same wording); capping the lookup keeps intake cost bounded and loses no recall
/// there, since the exact keys and the other bands still find real duplicates.
pub const BAND_BUCKET_LIMIT: usize = 32;

/// How many stored reports to take per exact key, the most recent first, and candidates in all. An exact key
/// names one flaw's place, so a key many reports share is a flood of one finding: its newest reports are
/// enough to find the case the others joined.
pub const KEY_BUCKET_LIMIT: usize = 200;

/// At most this many exact keys per report (and affected products considered).
pub const MAX_EXACT_KEYS: usize = 32;
const MAX_PRODUCTS: usize = 16;

/// What duplicate detection reads of a report.
#[derive(Debug, Clone, Copy)]
pub struct DedupInput<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub affected: &'a [Affected],
    /// The CWE number (787 for CWE-787).
    pub cwe: Option<u32>,
    /// Where the flaw is: a file and/or function, as the reporter wrote it.
    pub location: Option<&'a str>,
    /// A crash or sanitizer report / stack trace, as the reporter pasted it.
    pub signature: Option<&'a str>,
}

/// A report's fingerprint, computed once at intake; see the module documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// Exact keys: a 64-bit hash each, sorted, no repeats.
    pub exact_keys: Vec<i64>,
    /// LSH band keys: `bands[i]` is band `i`'s key; empty when the report has no text to compare.
    pub bands: Vec<i64>,
    minhash: Option<[u16; K]>,
    /// The weighted size of the token set the MinHash summarises.
    size: u32,
    evidence: Evidence,
}

/// What the report says about where the flaw is, as hashes (0 when it does not say).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Evidence {
    /// The flaw's function: from the location, else the trace's top frame, else the prose.
    function: u64,
    /// The crash signature: the sanitizer's bug class and the trace's top frames.
    crash: u64,
    /// The flaw's source file: from the location, else the trace, else the prose.
    file: u64,
}

impl Evidence {
    fn same(a: u64, b: u64) -> bool {
        a != 0 && a == b
    }

    fn differ(a: u64, b: u64) -> bool {
        a != 0 && b != 0 && a != b
    }
}

/// The encoding's version byte.
const FORMAT: u8 = 1;

impl Fingerprint {
    /// `[version 1][flags: 1 = has MinHash][key count][keys, i64 LE][function, crash, file: u64 LE each]`
    /// `[set size, u32 LE][MinHash, K × u16 LE][check: low 32 bits of the stable hash of all before, LE]`:
    /// 3 + 8 × keys + 28 + 240 + 4 bytes, about 300.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(3 + 8 * self.exact_keys.len() + 28 + 2 * K + 4);
        out.push(FORMAT);
        out.push(u8::from(self.minhash.is_some()));
        out.push(u8::try_from(self.exact_keys.len()).unwrap_or(u8::MAX));
        for key in self.exact_keys.iter().take(usize::from(u8::MAX)) {
            out.extend_from_slice(&key.to_le_bytes());
        }
        for h in [self.evidence.function, self.evidence.crash, self.evidence.file] {
            out.extend_from_slice(&h.to_le_bytes());
        }
        out.extend_from_slice(&self.size.to_le_bytes());
        if let Some(m) = &self.minhash {
            for v in m {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        let check = hash(0xC4EC, &out) as u32;
        out.extend_from_slice(&check.to_le_bytes());
        out
    }

    /// Decodes `to_bytes`' output; anything else (another version, a wrong length, a failed check) is `None`.
    pub fn from_bytes(bytes: &[u8]) -> Option<Fingerprint> {
        let (body, check) = bytes.split_at_checked(bytes.len().checked_sub(4)?)?;
        if u32::from_le_bytes(check.try_into().ok()?) != hash(0xC4EC, body) as u32 {
            return None;
        }
        let [format, flags, count, rest @ ..] = body else {
            return None;
        };
        if *format != FORMAT || *flags > 1 {
            return None;
        }
        let (keys, rest) = rest.split_at_checked(8 * usize::from(*count))?;
        let exact_keys = keys
            .chunks_exact(8)
            .map(|k| k.try_into().map(i64::from_le_bytes))
            .collect::<Result<_, _>>()
            .ok()?;
        let (hashes, rest) = rest.split_at_checked(24)?;
        let mut hashes = hashes
            .chunks_exact(8)
            .map(|h| h.try_into().map(u64::from_le_bytes));
        let mut next = || hashes.next().and_then(Result::ok);
        let evidence = Evidence {
            function: next()?,
            crash: next()?,
            file: next()?,
        };
        let (size, rest) = rest.split_at_checked(4)?;
        let size = u32::from_le_bytes(size.try_into().ok()?);
        let minhash = if *flags == 1 {
            if rest.len() != 2 * K {
                return None;
            }
            let mut m = [0u16; K];
            for (slot, pair) in m.iter_mut().zip(rest.chunks_exact(2)) {
                *slot = u16::from_le_bytes(pair.try_into().ok()?);
            }
            Some(m)
        } else if rest.is_empty() {
            None
        } else {
            return None;
        };
        let bands = minhash.as_ref().map(minhash::bands).unwrap_or_default();
        Some(Fingerprint {
            exact_keys,
            bands,
            minhash,
            size,
            evidence,
        })
    }
}

pub fn fingerprint(input: &DedupInput<'_>) -> Fingerprint {
    let mut features = text::Features::default();
    features.add_text(input.title);
    features.add_text(input.description);
    for extra in [input.location, input.signature].into_iter().flatten() {
        features.add_text(extra);
    }
    // The trace: the pasted signature, else one pasted into the description.
    let trace = input
        .signature
        .filter(|s| !text::frames(s).is_empty())
        .unwrap_or(input.description);
    let frames = text::frames(trace);
    features.add_frames(&frames);
    let bug_class = text::bug_class(trace);
    if let Some(class) = &bug_class {
        features.add_bug_class(class);
    }
    let elements = features.elements();
    let size = u32::try_from(elements.len()).unwrap_or(u32::MAX);
    let minhash = minhash::signature(&elements);
    let bands = minhash.as_ref().map(minhash::bands).unwrap_or_default();

    let (location_function, location_file) = input.location.map(text::location).unwrap_or_default();
    let top = frames.first().map(|f| {
        f.rsplit("::")
            .next()
            .unwrap_or(f)
            .rsplit('.')
            .next()
            .unwrap_or(f)
            .to_owned()
    });
    // The flaw's function: from the location, else the trace's top frame, else as the prose names it.
    let function_name = location_function
        .clone()
        .or_else(|| top.clone())
        .or_else(|| text::mentioned_function(input.title))
        .or_else(|| text::mentioned_function(input.description));
    // Its file: from the location, else the trace, else the prose.
    let file_name = location_file
        .clone()
        .or_else(|| input.signature.and_then(text::first_file))
        .or_else(|| text::first_file(input.description))
        .or_else(|| text::first_file(input.title));
    let crash = (!frames.is_empty()).then(|| {
        let mut parts: Vec<&[u8]> = vec![bug_class.as_deref().unwrap_or("").as_bytes()];
        parts.extend(frames.iter().take(text::TOP_FRAMES).map(|f| f.as_bytes()));
        hash_parts(0xC7A5, &parts)
    });
    let evidence = Evidence {
        function: function_name.as_ref().map_or(0, |f| hash(0xF7, f.as_bytes())),
        crash: crash.unwrap_or(0),
        file: file_name.as_ref().map_or(0, |f| hash(0xF11E, f.as_bytes())),
    };

    let mut products: Vec<String> = input
        .affected
        .iter()
        .take(MAX_PRODUCTS)
        .map(|a| a.product.key())
        .collect();
    products.sort_unstable();
    products.dedup();
    if products.is_empty() {
        products.push(String::new());
    }
    let cwe = input.cwe.unwrap_or(0).to_le_bytes();
    let mut exact_keys = Vec::new();
    for product in &products {
        let p = product.as_bytes();
        if let Some(place) = location_function.as_ref().or(location_file.as_ref()) {
            exact_keys.push(hash_parts(0x10C, &[p, &cwe, place.as_bytes()]) as i64);
        }
        if let Some(file) = &file_name {
            exact_keys.push(hash_parts(0xF11E, &[p, file.as_bytes()]) as i64);
        }
        if let Some(f) = &function_name {
            exact_keys.push(hash_parts(0xF7, &[p, f.as_bytes()]) as i64);
        }
        if let Some(crash) = crash {
            exact_keys.push(hash_parts(0xC7A5, &[p, &crash.to_le_bytes()]) as i64);
        }
    }
    exact_keys.sort_unstable();
    exact_keys.dedup();
    exact_keys.truncate(MAX_EXACT_KEYS);
    Fingerprint {
        exact_keys,
        bands,
        minhash,
        size,
        evidence,
    }
}

/// See `similarity`.
const CONTAINMENT_WEIGHT: f64 = 0.7;
const SAME_PLACE: f64 = 0.7;
const PRODUCT_BONUS: f64 = 0.1;
const FILE_BONUS: f64 = 0.2;

/// How the affected products of two reports relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Products {
    /// One side names none: no evidence either way.
    Unknown,
    /// A product in common, with overlapping version ranges.
    Overlap,
    /// Products in common, but no version in both.
    DisjointVersions,
    /// No product in common.
    Different,
}

fn products(a: &[Affected], b: &[Affected]) -> Products {
    if a.is_empty() || b.is_empty() {
        return Products::Unknown;
    }
    let mut shared = false;
    for x in a.iter().take(MAX_PRODUCTS) {
        for y in b.iter().take(MAX_PRODUCTS) {
            if x.product.key() == y.product.key() {
                if x.versions.overlaps(&y.versions) {
                    return Products::Overlap;
                }
                shared = true;
            }
        }
    }
    if shared {
        Products::DisjointVersions
    } else {
        Products::Different
    }
}

/// How alike two reports are, in [0, 1]. Symmetric.
///
/// The text similarity is the estimated (weighted) Jaccard similarity of the two token sets, or 0.7 × the
/// share of the smaller set found in the larger if that is more: a terse report without trace or location
/// shares little with a detailed one, but what it has is in it.
/// - Products in common but no version in both: 0.3 × text (a regression or another branch is another
///   vulnerability). No product in common: 0.45 × text. Both stay below the default `suggest`.
/// - Otherwise (a product in common with overlapping versions, or one side names no product): the same
///   function or the same crash signature scores 0.7 + 0.3 × text, so at least `suggest`, and `join` once
///   the texts are half alike; else the text, + 0.1 for the common product, + 0.2 for the same source file,
///   halved when both name the flaw's function and the names differ.
pub fn similarity(a: &Fingerprint, a_affected: &[Affected], b: &Fingerprint, b_affected: &[Affected]) -> f64 {
    let text = match (&a.minhash, &b.minhash) {
        (Some(x), Some(y)) => {
            let j = minhash::jaccard(x, y);
            // A terse report inside a detailed one (no trace, no location) has a low Jaccard similarity
            // with it; the share of the smaller set found in the larger says more.
            let (na, nb) = (f64::from(a.size.max(1)), f64::from(b.size.max(1)));
            let shared = j * (na + nb) / (1.0 + j);
            let contained = (shared / na.min(nb)).min(1.0);
            j.max(CONTAINMENT_WEIGHT * contained)
        }
        _ => 0.0,
    };
    let relation = products(a_affected, b_affected);
    let score = match relation {
        Products::DisjointVersions => 0.3 * text,
        Products::Different => 0.45 * text,
        Products::Unknown | Products::Overlap => {
            let (x, y) = (&a.evidence, &b.evidence);
            if Evidence::same(x.function, y.function) || Evidence::same(x.crash, y.crash) {
                SAME_PLACE + (1.0 - SAME_PLACE) * text
            } else {
                let mut s = text;
                if relation == Products::Overlap {
                    s += PRODUCT_BONUS;
                }
                if Evidence::same(x.file, y.file) {
                    s += FILE_BONUS;
                }
                if Evidence::differ(x.function, y.function) {
                    s *= 0.5;
                }
                s
            }
        }
    };
    score.clamp(0.0, 1.0)
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    pub join: f64,
    pub suggest: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            join: 0.85,
            suggest: 0.5,
        }
    }
}
