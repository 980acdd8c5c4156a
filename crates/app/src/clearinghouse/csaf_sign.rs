//! The CSAF provider's OpenPGP signatures: every document served under `/.well-known/csaf/` has a detached,
//! ASCII-armoured signature beside it (`<document>.asc`), made with the provider's key, whose public half is
//! published at `/.well-known/csaf/openpgp/<fingerprint>.asc` and named in `provider-metadata.json`
//! (`public_openpgp_keys`).
//!
//! The key is an Ed25519 OpenPGP v4 key (sign and certify), made on first use with the clock's time, or
//! imported once from the operator's armoured secret key file (`Config::csaf_signing_key_file`, without a
//! passphrase). Its secret is sealed under the master key like every stored secret (and re-sealed with them
//! when the master key rotates); without a master key the provider serves no signatures.
//!
//! A signature is made when a document is produced, stamped with the document's current release date (or the
//! key's creation, if later): Ed25519 signatures are deterministic, so every fetch of one advisory version
//! gets the same signature bytes, and a new version, a new signature.

use crate::{Actor, App, AppError, AppResult};
use chrono::{DateTime, TimeZone, Utc};
use pgp::composed::{
    ArmorOptions, Deserializable, DetachedSignature, KeyType, SignedKeyDetails, SignedPublicKey,
    SignedSecretKey, SubpacketConfig,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::packet::{
    self, KeyFlags, PubKeyInner, SignatureConfig, SignatureType, Subpacket, SubpacketData, UserId,
};
use pgp::ser::Serialize;
use pgp::types::{KeyDetails, KeyVersion, Password, Tag, Timestamp};
use serde_json::json;
use std::sync::Arc;
use store::CsafSigningKey;
use uuid::Uuid;

/// What the provider key's secret is sealed to.
pub(crate) fn seal_context(id: Uuid) -> String {
    format!("csaf_signing_key:{id}")
}

/// The most an imported key file may hold.
const MAX_KEY_FILE: u64 = 64 * 1024;

/// The provider's key, opened. `Debug` names the fingerprint only.
pub struct Signer {
    key: SignedSecretKey,
    /// Upper-case hex, as `provider-metadata.json` gives it.
    pub fingerprint: String,
    /// The armoured public key, as published.
    pub public_key: String,
    created_at: DateTime<Utc>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

fn internal(error: impl std::error::Error + Send + Sync + 'static) -> AppError {
    AppError::Internal(Box::new(error))
}

fn timestamp(t: DateTime<Utc>) -> Timestamp {
    Timestamp::from_secs(u32::try_from(t.timestamp().max(0)).unwrap_or(u32::MAX))
}

fn fingerprint_of(key: &SignedSecretKey) -> String {
    format!("{:X}", key.fingerprint())
}

impl Signer {
    fn open(key: SignedSecretKey) -> AppResult<Self> {
        key.verify_bindings().map_err(internal)?;
        let public: SignedPublicKey = key.to_public_key();
        let public_key = public
            .to_armored_string(ArmorOptions::default())
            .map_err(internal)?;
        let created = key.primary_key.public_key().created_at();
        let created_at = Utc
            .timestamp_opt(i64::from(created.as_secs()), 0)
            .single()
            .unwrap_or_default();
        Ok(Signer {
            fingerprint: fingerprint_of(&key),
            key,
            public_key,
            created_at,
        })
    }

    /// The detached, armoured signature of `data`, made at `at` (not before the key was made).
    pub fn sign(&self, data: &[u8], at: DateTime<Utc>) -> AppResult<String> {
        let at = at.max(self.created_at);
        let hashed = vec![
            Subpacket::regular(SubpacketData::SignatureCreationTime(timestamp(at))).map_err(internal)?,
            Subpacket::regular(SubpacketData::IssuerFingerprint(self.key.fingerprint())).map_err(internal)?,
        ];
        let unhashed =
            vec![Subpacket::regular(SubpacketData::IssuerKeyId(self.key.legacy_key_id())).map_err(internal)?];
        let signature = DetachedSignature::sign_binary_data_with_subpackets(
            rand::rngs::OsRng,
            &self.key.primary_key,
            &Password::empty(),
            HashAlgorithm::Sha512,
            data,
            SubpacketConfig::UserDefined { hashed, unhashed },
        )
        .map_err(internal)?;
        signature
            .to_armored_string(ArmorOptions::default())
            .map_err(internal)
    }
}

/// A new Ed25519 key (primary, sign and certify) with one user id, made and self-signed at `now`.
fn generate(user_id: &str, now: DateTime<Utc>) -> AppResult<SignedSecretKey> {
    let key_type = KeyType::Ed25519Legacy;
    let (public_params, secret_params) = key_type.generate(rand::rngs::OsRng).map_err(internal)?;
    let inner = PubKeyInner::new(
        KeyVersion::V4,
        key_type.to_alg(),
        timestamp(now),
        None,
        public_params,
    )
    .map_err(internal)?;
    let public = packet::PublicKey::from_inner(inner).map_err(internal)?;
    let secret = packet::SecretKey::new(public.clone(), secret_params).map_err(internal)?;
    let mut flags = KeyFlags::default();
    flags.set_certify(true);
    flags.set_sign(true);
    let uid = UserId::from_str(Default::default(), user_id).map_err(internal)?;
    let mut config = SignatureConfig::v4(
        SignatureType::CertPositive,
        key_type.to_alg(),
        HashAlgorithm::Sha512,
    );
    config.hashed_subpackets = vec![
        Subpacket::regular(SubpacketData::SignatureCreationTime(timestamp(now))).map_err(internal)?,
        Subpacket::regular(SubpacketData::IssuerFingerprint(secret.fingerprint())).map_err(internal)?,
        Subpacket::regular(SubpacketData::KeyFlags(flags)).map_err(internal)?,
        Subpacket::regular(SubpacketData::IsPrimary(true)).map_err(internal)?,
    ];
    config.unhashed_subpackets =
        vec![Subpacket::regular(SubpacketData::IssuerKeyId(secret.legacy_key_id())).map_err(internal)?];
    let signature = config
        .sign_certification(&secret, &public, &Password::empty(), Tag::UserId, &uid)
        .map_err(internal)?;
    let details = SignedKeyDetails::new(
        Vec::new(),
        Vec::new(),
        vec![pgp::types::SignedUser::new(uid, vec![signature])],
        Vec::new(),
    );
    Ok(SignedSecretKey::new(secret, details, Vec::new(), Vec::new()))
}

/// The operator's key from its armoured file: it must sign without a passphrase.
fn import(path: &std::path::Path) -> AppResult<SignedSecretKey> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(internal)?;
    let mut text = Vec::new();
    file.take(MAX_KEY_FILE).read_to_end(&mut text).map_err(internal)?;
    let (key, _) = SignedSecretKey::from_armor_single(text.as_slice()).map_err(internal)?;
    // A key that cannot sign for us now is refused at once rather than at the first document.
    let probe = DetachedSignature::sign_binary_data(
        rand::rngs::OsRng,
        &key.primary_key,
        &Password::empty(),
        HashAlgorithm::Sha512,
        &b"probe"[..],
    )
    .map_err(internal)?;
    probe
        .verify(key.primary_key.public_key(), b"probe")
        .map_err(internal)?;
    Ok(key)
}

impl App {
    /// The provider's signer, made (or imported) and stored on first use; `None` without a master key.
    pub async fn csaf_signer(&self) -> AppResult<Option<Arc<Signer>>> {
        let Some(sealer) = self.gateway.sealer() else {
            return Ok(None);
        };
        let signer = self
            .csaf_signer
            .get_or_try_init(|| async {
                let row = match self.store.csaf_signing_key().await? {
                    Some(row) => row,
                    None => {
                        let now = self.clock.now();
                        let (key, origin) = match &self.config.csaf_signing_key_file {
                            Some(path) => (import(path)?, "imported"),
                            None => {
                                let base = self.config.public_url.trim_end_matches('/');
                                let uid = format!("Prelaunch clearinghouse CSAF provider ({base})");
                                (generate(&uid, now)?, "generated")
                            }
                        };
                        let id = Uuid::now_v7();
                        let mut secret = Vec::new();
                        key.to_writer(&mut secret).map_err(internal)?;
                        let row = CsafSigningKey {
                            id,
                            fingerprint: fingerprint_of(&key),
                            public_key: key
                                .to_public_key()
                                .to_armored_string(ArmorOptions::default())
                                .map_err(internal)?,
                            sealed: sealer.seal(&seal_context(id), &secret),
                            created_at: now,
                        };
                        let event = self.event(
                            Actor::Operator,
                            "csaf.signing_key.create",
                            "csaf_signing_key",
                            Some(id),
                            json!({"fingerprint": row.fingerprint, "origin": origin}),
                        );
                        self.store.create_csaf_signing_key(&row, &event).await?;
                        // Another process may have stored its key first: the stored one is the key.
                        self.store
                            .csaf_signing_key()
                            .await?
                            .ok_or_else(|| AppError::corrupt("the CSAF signing key was not stored"))?
                    }
                };
                let secret = sealer
                    .open(&seal_context(row.id), &row.sealed)
                    .map_err(internal)?;
                let key = SignedSecretKey::from_bytes(secret.as_slice()).map_err(internal)?;
                Ok::<_, AppError>(Arc::new(Signer::open(key)?))
            })
            .await?;
        Ok(Some(signer.clone()))
    }
}
