//! What the TAXII 2.1 collections read: the advisories a reader may read under one TLP marking, each as its
//! STIX objects (a report and a vulnerability), in the order a collection lists them (date added, then
//! advisory, then object type). The SQL is in `queries/taxii.rs`, compiled once per backend; who may read is
//! `tlp_admits!`, compiled into the query, so a page holds only readable objects before its `LIMIT`.

use crate::Result;
use crate::advisories::AdvisoryRow;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use clearinghouse::tlp::Tlp;
use kernel::TlpAudience;
use uuid::Uuid;

/// Where a page of a collection starts: after this object (date added, advisory, STIX type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxiiCursor {
    pub added: DateTime<Utc>,
    pub advisory: Uuid,
    pub kind: String,
}

/// A read of one collection.
#[derive(Debug, Clone, PartialEq)]
pub struct TaxiiQuery {
    pub tlp: Tlp,
    /// Objects added at or after this time (the caller's `added_after`, moved past its precision).
    pub added_from: Option<DateTime<Utc>>,
    pub after: Option<TaxiiCursor>,
    /// Which STIX types (`report`, `vulnerability`).
    pub report: bool,
    pub vulnerability: bool,
    /// Versions (`modified`) within `[from, until)`.
    pub version: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Only objects of these STIX ids (`match[id]`, an object by id); found in `stix_ids`, which must hold
    /// every advisory's ids before such a read (`missing_stix_ids`, `add_stix_ids`).
    pub ids: Option<Vec<String>>,
    pub limit: i64,
}

/// One object of a collection: the advisory and which of its STIX objects.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct TaxiiRow {
    #[sqlx(flatten)]
    pub advisory: AdvisoryRow,
    pub kind: String,
}

#[async_trait]
pub trait TaxiiStore: Send + Sync + 'static {
    /// The objects of a collection the reader may read, in collection order, at most `limit`.
    async fn taxii_objects(&self, reader: &TlpAudience, query: &TaxiiQuery) -> Result<Vec<TaxiiRow>>;
    /// Advisories whose STIX ids are not yet recorded, at most `limit`.
    async fn missing_stix_ids(&self, limit: i64) -> Result<Vec<Uuid>>;
    /// Records STIX ids: (STIX id, advisory, STIX type); ids already recorded are kept.
    async fn add_stix_ids(&self, ids: &[(String, Uuid, &'static str)]) -> Result<()>;
}
