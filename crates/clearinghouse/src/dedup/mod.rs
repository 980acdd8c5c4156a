//! Duplicate detection on intake: exact keys and near-duplicate text.
//!
//! CONTRACT (the rest of the clearinghouse relies on these names; the bodies below are placeholders to be
//! replaced by the real implementation):
//! - `fingerprint(&DedupInput)` computes a report's `Fingerprint` once, at intake;
//! - `Fingerprint::exact_keys` are stored one row each and looked up by equality (a report with the same key
//!   is a candidate, kept if `similarity` says so); `Fingerprint::bands` are the LSH band keys, stored one row
//!   per band (`(band index, key)`), so correlation storage grows linearly with reports;
//!   `Fingerprint::to_bytes`/`from_bytes` store the whole fingerprint beside the report;
//! - `similarity(new, new_affected, stored, stored_affected)` scores a candidate in [0, 1];
//! - `Thresholds` (configurable): at or above `join` a report joins the candidate's case automatically, at or
//!   above `suggest` the candidate is listed for a coordinator.

use crate::product::Affected;

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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// Exact keys: a 64-bit hash each.
    pub exact_keys: Vec<i64>,
    /// LSH band keys: `bands[i]` is band `i`'s key.
    pub bands: Vec<i64>,
    signature: Vec<u8>,
}

impl Fingerprint {
    pub fn to_bytes(&self) -> Vec<u8> {
        self.signature.clone()
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<Fingerprint> {
        Some(Fingerprint {
            exact_keys: Vec::new(),
            bands: Vec::new(),
            signature: bytes.to_vec(),
        })
    }
}

pub fn fingerprint(input: &DedupInput<'_>) -> Fingerprint {
    let text = format!("{} {}", input.title, input.description).to_lowercase();
    Fingerprint {
        exact_keys: Vec::new(),
        bands: Vec::new(),
        signature: text.into_bytes(),
    }
}

/// How alike two reports are, in [0, 1].
pub fn similarity(a: &Fingerprint, a_affected: &[Affected], b: &Fingerprint, b_affected: &[Affected]) -> f64 {
    let _ = (a_affected, b_affected);
    if a.signature == b.signature { 1.0 } else { 0.0 }
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
