//! Offline receipts in the C2SP tlog-proof format: the entry's index, its inclusion proof, the signed
//! checkpoint it is proved against, and, as `extra`, the salt and the event itself, so whoever holds the
//! receipt and the log's verifier key can check it without asking anyone.

use crate::checkpoint::Checkpoint;
use crate::commitment::commit;
use crate::merkle::{Hash, hash_from_slice, leaf_hash, verify_inclusion};
use crate::note::VerifierKey;
use crate::{LedgerError, malformed};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

const HEADER: &str = "c2sp.org/tlog-proof@v1";

/// What a verified receipt proves: this event is entry `index` of the log at `checkpoint`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub index: u64,
    pub salt: Vec<u8>,
    pub event: Vec<u8>,
    pub proof: Vec<Hash>,
    /// The signed checkpoint note.
    pub checkpoint_note: String,
}

impl Receipt {
    pub fn encode(&self) -> String {
        let mut extra = self.salt.clone();
        extra.extend_from_slice(&self.event);
        let mut out = format!(
            "{HEADER}\nextra {}\nindex {}\n",
            STANDARD.encode(extra),
            self.index
        );
        for hash in &self.proof {
            out.push_str(&STANDARD.encode(hash));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint_note);
        out
    }

    pub fn parse(text: &str) -> Result<Receipt, LedgerError> {
        let bad = |why: &str| malformed("receipt", why.to_owned());
        let (head, note) = text
            .split_once("\n\n")
            .ok_or_else(|| bad("no blank line before the checkpoint"))?;
        let mut lines = head.lines();
        if lines.next() != Some(HEADER) {
            return Err(bad("first line must be c2sp.org/tlog-proof@v1"));
        }
        let extra = lines
            .next()
            .and_then(|l| l.strip_prefix("extra "))
            .ok_or_else(|| bad("no extra line"))?;
        let extra = STANDARD.decode(extra).map_err(|e| bad(&e.to_string()))?;
        if extra.len() < 32 {
            return Err(bad("extra is too short to hold a salt"));
        }
        let (salt, event) = extra.split_at(32);
        let index = lines
            .next()
            .and_then(|l| l.strip_prefix("index "))
            .ok_or_else(|| bad("no index line"))?;
        let index = index.parse().map_err(|_| bad("index is not a number"))?;
        let proof = lines
            .map(|l| {
                STANDARD
                    .decode(l)
                    .map_err(|e| bad(&e.to_string()))
                    .and_then(|b| hash_from_slice(&b))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Receipt {
            index,
            salt: salt.to_vec(),
            event: event.to_vec(),
            proof,
            checkpoint_note: note.to_owned(),
        })
    }

    /// Checks the checkpoint's signature, then the event's inclusion in it. Returns the checkpoint.
    pub fn verify(&self, key: &VerifierKey) -> Result<Checkpoint, LedgerError> {
        let body = key.verify(&self.checkpoint_note)?;
        let checkpoint = Checkpoint::parse(body)?;
        let leaf = leaf_hash(&commit(&self.salt, &self.event));
        verify_inclusion(self.index, checkpoint.size, &leaf, &self.proof, &checkpoint.root)?;
        Ok(checkpoint)
    }
}
