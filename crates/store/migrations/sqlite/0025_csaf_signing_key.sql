-- The CSAF provider's OpenPGP signing key: one row, made on first use (or imported from the operator's file).
-- The secret key is sealed under the master key like every stored secret; the public key and its fingerprint
-- are what provider-metadata.json publishes.
CREATE TABLE csaf_signing_keys (
    id BLOB PRIMARY KEY NOT NULL,
    -- Which key this is: 'provider' (the one that signs); unique, so two processes making the first key at
    -- once keep one of them.
    slot TEXT NOT NULL UNIQUE,
    fingerprint TEXT NOT NULL,
    public_key TEXT NOT NULL,
    sealed BLOB NOT NULL,
    created_at TEXT NOT NULL
);
