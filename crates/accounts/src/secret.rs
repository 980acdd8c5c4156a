//! Credentials: random tokens shown once and stored as digests, and argon2id password hashes.
//!
//! `Secret` has no `Debug` or `Display`, so a token or password cannot end up in a log line by accident.

use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use argon2::{Argon2, PasswordHash as PhcHash};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A secret value (token, password). Deliberately neither `Debug` nor `Display`.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(value)
    }

    /// The secret itself, for the one place that must show or check it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// What a token is for; the prefix tells a person (and a secret scanner) what they are holding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// An API token (`plk_…`).
    Api,
    /// A browser session (`pls_…`).
    Session,
    /// A one-time invitation or setup link (`pli_…`).
    Invitation,
    /// A CSRF token for forms (`plc_…`).
    Csrf,
    /// A gateway token, scoped to one notice (`plg_…`).
    Gateway,
    /// A one-time password reset link (`plr_…`).
    PasswordReset,
}

impl TokenKind {
    pub fn prefix(self) -> &'static str {
        match self {
            TokenKind::Api => "plk_",
            TokenKind::Session => "pls_",
            TokenKind::Invitation => "pli_",
            TokenKind::Csrf => "plc_",
            TokenKind::Gateway => "plg_",
            TokenKind::PasswordReset => "plr_",
        }
    }
}

/// SHA-256 of a token, hex-encoded: what the database keeps. Tokens carry 256 bits of entropy, so a fast hash
/// is enough (a slow hash is for guessable passwords). `Debug` does not show it: it is the key to a session.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenDigest(pub String);

impl std::fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenDigest(<redacted>)")
    }
}

impl TokenDigest {
    pub fn of(token: &Secret) -> Self {
        let digest = Sha256::digest(token.expose().as_bytes());
        TokenDigest(digest.iter().map(|b| format!("{b:02x}")).collect())
    }
}

/// Generates a new random token of the given kind.
pub fn generate(kind: TokenKind) -> Secret {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    Secret(format!("{}{}", kind.prefix(), URL_SAFE_NO_PAD.encode(bytes)))
}

/// The visible part of a token that identifies it in lists ("plk_AbCdEfGh").
pub fn visible_prefix(token: &Secret) -> String {
    token.expose().chars().take(12).collect()
}

/// Constant-time comparison of two secrets.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// An argon2id password hash in PHC string format. `Debug` does not show it: a hash can be cracked offline.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(pub String);

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

impl PasswordHash {
    pub fn create(password: &Secret) -> Result<Self, HashError> {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|h| PasswordHash(h.to_string()))
            .map_err(|e| HashError(e.to_string()))
    }

    /// True when the text is a PHC string argon2 can parse.
    pub fn is_well_formed(&self) -> bool {
        PhcHash::new(&self.0).is_ok()
    }

    pub fn verify(&self, password: &Secret) -> bool {
        match PhcHash::new(&self.0) {
            Ok(parsed) => Argon2::default()
                .verify_password(password.expose().as_bytes(), &parsed)
                .is_ok(),
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_prefixed_and_hashed() {
        let a = generate(TokenKind::Api);
        let b = generate(TokenKind::Api);
        assert!(a.expose().starts_with("plk_"));
        assert_ne!(a.expose(), b.expose());
        assert_eq!(TokenDigest::of(&a), TokenDigest::of(&a.clone()));
        assert_ne!(TokenDigest::of(&a), TokenDigest::of(&b));
        assert_eq!(TokenDigest::of(&a).0.len(), 64);
        assert_eq!(visible_prefix(&a).len(), 12);
    }

    #[test]
    fn hashes_and_digests_never_print() {
        let pw = Secret::new("correct horse battery".into());
        let hash = PasswordHash::create(&pw).unwrap();
        let digest = TokenDigest::of(&pw);
        for (shown, secret) in [(format!("{hash:?}"), &hash.0), (format!("{digest:?}"), &digest.0)] {
            assert!(!shown.contains(secret.as_str()), "{shown}");
            assert!(!shown.contains("argon2"), "{shown}");
            assert!(shown.contains("<redacted>"), "{shown}");
        }
    }

    #[test]
    fn passwords() {
        let pw = Secret::new("correct horse battery".into());
        let hash = PasswordHash::create(&pw).unwrap();
        assert!(hash.0.starts_with("$argon2id$"));
        assert!(hash.verify(&pw));
        assert!(!hash.verify(&Secret::new("wrong horse battery".into())));
    }
}
