//! C2SP signed notes with Ed25519 keys: a text, a blank line, and signature lines
//! `— <key name> base64(key id ‖ signature)`. The key id is the first four bytes of
//! `SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key)`.

use crate::{LedgerError, malformed};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

const ED25519: u8 = 0x01;
const DASH: &str = "\u{2014} ";

fn key_id(name: &str, public: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ED25519]);
    h.update(public);
    let digest = h.finalize();
    let mut id = [0u8; 4];
    id.copy_from_slice(digest.get(..4).unwrap_or(&[0; 4]));
    u32::from_be_bytes(id)
}

fn check_name(name: &str) -> Result<(), LedgerError> {
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
    {
        return Err(malformed("key name", "must be non-empty, without spaces or '+'"));
    }
    Ok(())
}

/// The log's signing key. Not `Debug`: it must never be printed.
pub struct LogKey {
    name: String,
    key: SigningKey,
}

impl LogKey {
    /// A new random key. Characters a key name may not hold (spaces, '+', controls) become '-'.
    pub fn generate(name: &str) -> Self {
        let mut name: String = name
            .chars()
            .map(|c| {
                if c.is_whitespace() || c == '+' || c.is_control() {
                    '-'
                } else {
                    c
                }
            })
            .collect();
        if name.is_empty() {
            name.push_str("ledger");
        }
        let mut seed = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut seed);
        LogKey {
            name,
            key: SigningKey::from_bytes(&seed),
        }
    }

    /// Reads `PRIVATE+KEY+<name>+<id>+<base64(0x01 ‖ seed)>`.
    pub fn from_secret(text: &str) -> Result<Self, LedgerError> {
        let rest = text
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or_else(|| malformed("signing key", "no PRIVATE+KEY+ prefix"))?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id), Some(key), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed("signing key", "expected name+id+key"));
        };
        check_name(name)?;
        let bytes = STANDARD
            .decode(key)
            .map_err(|e| malformed("signing key", e.to_string()))?;
        let (alg, seed) = bytes
            .split_first()
            .ok_or_else(|| malformed("signing key", "empty"))?;
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| malformed("signing key", "not an Ed25519 seed"))?;
        if *alg != ED25519 {
            return Err(malformed("signing key", "not an Ed25519 key"));
        }
        let key = LogKey {
            name: name.to_owned(),
            key: SigningKey::from_bytes(&seed),
        };
        if format!("{:08x}", key.id()) != id {
            return Err(malformed("signing key", "key id does not match the key"));
        }
        Ok(key)
    }

    pub fn to_secret(&self) -> String {
        let mut bytes = vec![ED25519];
        bytes.extend_from_slice(&self.key.to_bytes());
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.id(),
            STANDARD.encode(bytes)
        )
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn id(&self) -> u32 {
        key_id(&self.name, self.key.verifying_key().as_bytes())
    }

    pub fn verifier(&self) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            id: self.id(),
            key: self.key.verifying_key(),
        }
    }

    /// Signs `text` (which must end in a newline) and returns the whole signed note.
    pub fn sign(&self, text: &str) -> Result<String, LedgerError> {
        if !text.ends_with('\n') || text.contains("\n\n") || text.is_empty() {
            return Err(malformed(
                "note text",
                "must be non-empty lines, each ending in a newline",
            ));
        }
        let signature = self.key.sign(text.as_bytes());
        let mut blob = self.id().to_be_bytes().to_vec();
        blob.extend_from_slice(&signature.to_bytes());
        Ok(format!("{text}\n{DASH}{} {}\n", self.name, STANDARD.encode(blob)))
    }
}

/// A published verifier key: `<name>+<id>+<base64(0x01 ‖ public key)>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl VerifierKey {
    pub fn parse(text: &str) -> Result<Self, LedgerError> {
        let mut parts = text.trim().splitn(3, '+');
        let (Some(name), Some(id), Some(key), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed("verifier key", "expected name+id+key"));
        };
        check_name(name)?;
        let bytes = STANDARD
            .decode(key)
            .map_err(|e| malformed("verifier key", e.to_string()))?;
        let (alg, public) = bytes
            .split_first()
            .ok_or_else(|| malformed("verifier key", "empty"))?;
        let public: [u8; 32] = public
            .try_into()
            .map_err(|_| malformed("verifier key", "not an Ed25519 key"))?;
        if *alg != ED25519 {
            return Err(malformed("verifier key", "not an Ed25519 key"));
        }
        let key = VerifyingKey::from_bytes(&public).map_err(|e| malformed("verifier key", e.to_string()))?;
        let parsed_id = u32::from_str_radix(id, 16).map_err(|_| malformed("verifier key", "bad key id"))?;
        if id.len() != 8 || parsed_id != key_id(name, &public) {
            return Err(malformed("verifier key", "key id does not match the key"));
        }
        Ok(VerifierKey {
            name: name.to_owned(),
            id: parsed_id,
            key,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Checks that `note` carries a valid signature by this key and returns its text.
    pub fn verify<'a>(&self, note: &'a str) -> Result<&'a str, LedgerError> {
        let split = note
            .rfind("\n\n")
            .ok_or_else(|| malformed("signed note", "no blank line before signatures"))?;
        let text = note
            .get(..split + 1)
            .ok_or_else(|| malformed("signed note", "truncated"))?;
        let sigs = note
            .get(split + 2..)
            .ok_or_else(|| malformed("signed note", "truncated"))?;
        if !sigs.ends_with('\n') {
            return Err(malformed("signed note", "signature lines must end in a newline"));
        }
        for line in sigs.lines() {
            let line = line
                .strip_prefix(DASH)
                .ok_or_else(|| malformed("signed note", "signature line without em dash"))?;
            let (name, blob) = line
                .split_once(' ')
                .ok_or_else(|| malformed("signed note", "bad signature line"))?;
            if name != self.name {
                continue;
            }
            let blob = STANDARD
                .decode(blob)
                .map_err(|e| malformed("signed note", e.to_string()))?;
            let (id, sig) = blob
                .split_at_checked(4)
                .ok_or_else(|| malformed("signed note", "short signature"))?;
            if id != self.id.to_be_bytes() {
                continue;
            }
            let sig = Signature::from_slice(sig).map_err(|e| malformed("signed note", e.to_string()))?;
            return self
                .key
                .verify(text.as_bytes(), &sig)
                .map(|()| text)
                .map_err(|_| LedgerError::BadSignature(self.to_string()));
        }
        Err(LedgerError::BadSignature(self.to_string()))
    }
}

impl std::fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut bytes = vec![ED25519];
        bytes.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{:08x}+{}", self.name, self.id, STANDARD.encode(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_round_trip_keys() {
        let key = LogKey::generate("prelaunch.example/ledger");
        let note = key.sign("hello\nworld\n").unwrap();
        let verifier = VerifierKey::parse(&key.verifier().to_string()).unwrap();
        assert_eq!(verifier.verify(&note).unwrap(), "hello\nworld\n");
        let again = LogKey::from_secret(&key.to_secret()).unwrap();
        assert_eq!(again.verifier(), key.verifier());
        let tampered = note.replace("world", "w0rld");
        assert!(matches!(
            verifier.verify(&tampered),
            Err(LedgerError::BadSignature(_))
        ));
        let other = LogKey::generate("prelaunch.example/ledger").verifier();
        assert!(other.verify(&note).is_err());
    }

    #[test]
    fn bad_texts_and_keys_are_refused() {
        let key = LogKey::generate("log");
        for text in ["", "no newline", "a\n\nb\n"] {
            assert!(key.sign(text).is_err(), "{text:?}");
        }
        for bad in ["", "a+b", "name+00000000+AQ==", "na me+00000000+AA=="] {
            assert!(VerifierKey::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(LogKey::generate("has space+plus").name(), "has-space-plus");
    }
}
