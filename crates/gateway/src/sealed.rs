//! Secrets at rest: upstream credentials, extra header values and retained transcripts are sealed with
//! XChaCha20-Poly1305 under the master key.
//!
//! A sealed value is `version (1) | key fingerprint (8) | nonce (24) | ciphertext and tag`. The fingerprint
//! tells which key sealed it, so a wrong key is reported as such rather than as corruption. Each value is
//! bound to what it belongs to (its associated data, e.g. `connection:<id>`), so a sealed value copied onto
//! another row does not open there.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;

const VERSION: u8 = 1;
const FINGERPRINT_LEN: usize = 8;
const NONCE_LEN: usize = 24;
const HEADER_LEN: usize = 1 + FINGERPRINT_LEN + NONCE_LEN;

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("the value was sealed under another master key")]
    WrongKey,
    #[error("the sealed value is damaged or belongs elsewhere")]
    Damaged,
    #[error("the master key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
}

/// The 256-bit master key. Deliberately neither `Debug` nor `Display`.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl MasterKey {
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        MasterKey(key)
    }

    /// Reads the key file's text: the key in standard base64, surrounding whitespace ignored.
    pub fn from_text(text: &str) -> Option<Self> {
        let bytes = STANDARD.decode(text.trim()).ok()?;
        <[u8; 32]>::try_from(bytes.as_slice()).ok().map(MasterKey)
    }

    /// What the key file holds.
    pub fn to_text(&self) -> String {
        format!("{}\n", STANDARD.encode(self.0))
    }

    /// A short public name of the key: hex of a keyed digest, safe to log and to store.
    pub fn fingerprint(&self) -> String {
        hex(&self.fingerprint_bytes())
    }

    fn fingerprint_bytes(&self) -> [u8; FINGERPRINT_LEN] {
        let digest = Sha256::new()
            .chain_update(b"prelaunch master key fingerprint\0")
            .chain_update(self.0)
            .finalize();
        let mut out = [0u8; FINGERPRINT_LEN];
        out.copy_from_slice(digest.get(..FINGERPRINT_LEN).unwrap_or(&[0; FINGERPRINT_LEN]));
        out
    }

    /// Reads the key from a file.
    pub fn load(path: &Path) -> Result<Self, SealError> {
        let fail = |reason: String| SealError::KeyFile {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
        Self::from_text(&text).ok_or_else(|| fail("does not hold a base64-encoded 32-byte key".into()))
    }

    /// Writes the key to a new file only its owner can read (0600); fails if the file exists. The file appears
    /// whole or not at all (written aside, then linked into place), so a concurrent reader never sees half a key.
    pub fn write_new(&self, path: &Path) -> Result<(), SealError> {
        let fail = |reason: String| SealError::KeyFile {
            path: path.display().to_string(),
            reason,
        };
        let mut suffix = [0u8; 8];
        rand::rngs::OsRng.fill_bytes(&mut suffix);
        let aside = path.with_extension(format!("tmp-{}", hex(&suffix)));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let written = options.open(&aside).and_then(|mut file| {
            file.write_all(self.to_text().as_bytes())?;
            file.sync_all()
        });
        let linked = written.and_then(|()| std::fs::hard_link(&aside, path));
        let _ = std::fs::remove_file(&aside);
        linked.map_err(|e| fail(e.to_string()))
    }

    /// Reads the key file, or creates it with a new key when it does not exist. Returns whether it was created.
    pub fn load_or_create(path: &Path) -> Result<(Self, bool), SealError> {
        if path.exists() {
            return Ok((Self::load(path)?, false));
        }
        let key = Self::generate();
        match key.write_new(path) {
            Ok(()) => Ok((key, true)),
            // Another process created it meanwhile: use theirs.
            Err(_) if path.exists() => Ok((Self::load(path)?, false)),
            Err(error) => Err(error),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Seals and opens values under one master key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
    fingerprint: [u8; FINGERPRINT_LEN],
}

impl SecretBox {
    pub fn new(key: &MasterKey) -> Self {
        SecretBox {
            cipher: XChaCha20Poly1305::new(&key.0.into()),
            fingerprint: key.fingerprint_bytes(),
        }
    }

    pub fn fingerprint(&self) -> String {
        hex(&self.fingerprint)
    }

    /// Seals `plaintext`, bound to `context` (what it belongs to, e.g. `connection:<id>`).
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let payload = Payload {
            msg: plaintext,
            aad: context.as_bytes(),
        };
        // Encryption with a valid key and nonce length cannot fail; an empty result would not open.
        let ciphertext = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), payload)
            .unwrap_or_default();
        let mut out = Vec::with_capacity(HEADER_LEN + ciphertext.len());
        out.push(VERSION);
        out.extend_from_slice(&self.fingerprint);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        out
    }

    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        let (header, ciphertext) = sealed.split_at_checked(HEADER_LEN).ok_or(SealError::Damaged)?;
        let (version, rest) = header.split_first().ok_or(SealError::Damaged)?;
        let (fingerprint, nonce) = rest.split_at(FINGERPRINT_LEN);
        if *version != VERSION {
            return Err(SealError::Damaged);
        }
        if fingerprint != self.fingerprint {
            return Err(SealError::WrongKey);
        }
        let payload = Payload {
            msg: ciphertext,
            aad: context.as_bytes(),
        };
        self.cipher
            .decrypt(XNonce::from_slice(nonce), payload)
            .map_err(|_| SealError::Damaged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_open_only_with_their_key_and_context() {
        let key = MasterKey::generate();
        let secret_box = SecretBox::new(&key);
        let sealed = secret_box.seal("connection:1", b"sk-live-123");
        assert!(!sealed.windows(11).any(|w| w == b"sk-live-123"));
        assert_eq!(secret_box.open("connection:1", &sealed).unwrap(), b"sk-live-123");
        assert!(matches!(
            secret_box.open("connection:2", &sealed),
            Err(SealError::Damaged)
        ));
        let other = SecretBox::new(&MasterKey::generate());
        assert!(matches!(
            other.open("connection:1", &sealed),
            Err(SealError::WrongKey)
        ));
        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(matches!(
            secret_box.open("connection:1", &flipped),
            Err(SealError::Damaged)
        ));
        assert!(matches!(
            secret_box.open("connection:1", &sealed[..10]),
            Err(SealError::Damaged)
        ));
        assert_ne!(
            secret_box.seal("c", b"x"),
            secret_box.seal("c", b"x"),
            "nonces are fresh"
        );
    }

    #[test]
    fn key_files_round_trip_and_are_private() {
        let dir = std::env::temp_dir().join(format!("prelaunch-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("master.key");
        let _ = std::fs::remove_file(&path);
        let (key, created) = MasterKey::load_or_create(&path).unwrap();
        assert!(created);
        let (again, created) = MasterKey::load_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(key.fingerprint(), again.fingerprint());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(
            key.write_new(&path).is_err(),
            "an existing key file is never overwritten"
        );
        std::fs::write(&path, "not a key").unwrap();
        assert!(MasterKey::load(&path).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
