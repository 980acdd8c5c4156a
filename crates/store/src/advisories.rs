//! Advisories (what a case publishes), subscriptions (who wants them) and the clearinghouse's metrics: rows and
//! the store trait. The SQL is in `queries/advisories.rs`, compiled once per backend.

use crate::{AuditEvent, Result};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use clearinghouse::case::CaseState;
use clearinghouse::tlp::Tlp;
use kernel::TlpAudience;
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

/// A published advisory. `reference` is `PLA-<year>-<n>`, given by the store at publication; `document` holds
/// the rest (summary, affected and fixed versions, scores, CWE, credits, references, remediation).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AdvisoryRow {
    pub id: Uuid,
    pub case_id: Uuid,
    pub reference: String,
    pub title: String,
    #[sqlx(try_from = "String")]
    pub tlp: Tlp,
    /// none, low, medium, high or critical (the table checks the set).
    pub severity: Option<String>,
    pub document: Json<Value>,
    pub published_at: DateTime<Utc>,
    pub modified_at: DateTime<Utc>,
    pub version: i64,
    /// The case's CVE id, read with the advisory (not stored with it: the case may take one later).
    #[sqlx(default)]
    pub cve: Option<String>,
}

/// A case's publication: the case moves to published and its advisory is written, with the events, in one
/// transaction; nothing happens when the case is already published or closed, or no longer at `version`.
#[derive(Debug, Clone)]
pub struct Publication {
    pub case_id: Uuid,
    /// The version the publication was decided on; `None` accepts any.
    pub version: Option<i64>,
    pub from: CaseState,
    pub reason: String,
    pub by: Option<Uuid>,
    pub advisory: AdvisoryRow,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Subscription {
    pub id: Uuid,
    pub org_id: Uuid,
    pub sector: Option<String>,
    pub product_prefix: Option<String>,
    /// none, low, medium, high or critical (the table checks the set).
    pub min_severity: Option<String>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
}

/// The funnel of the program (or of one vendor's cases): counts, and the median seconds between stages
/// (`None` when no case has passed both).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Funnel {
    /// Vulnerability reports received, and those not found to repeat another.
    pub received: i64,
    pub unique: i64,
    pub ai_found: i64,
    /// Cases that reached each stage.
    pub confirmed: i64,
    pub vendors_notified: i64,
    pub fixed: i64,
    pub published: i64,
    /// Median seconds: first report → triaged, triaged → vendors notified, vendors notified → fixed, fixed →
    /// published, first report → published.
    pub median_seconds: [Option<f64>; 5],
}

/// One vendor's cases: taken part in, notified, fixed (reached the state), published.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct VendorCounts {
    pub org_id: Uuid,
    pub org_name: String,
    pub cases: i64,
    pub notified: i64,
    pub fixed: i64,
    pub published: i64,
}

#[async_trait]
pub trait AdvisoryStore: Send + Sync + 'static {
    /// Publishes: the advisory as stored (with its reference), or `None` when nothing was to publish.
    async fn publish_case(
        &self,
        publication: &Publication,
        events: &[AuditEvent],
    ) -> Result<Option<AdvisoryRow>>;
    /// The advisory if the reader may read it (its case's TLP marking; an advisory is published).
    async fn visible_advisory(&self, id: Uuid, reader: &TlpAudience) -> Result<Option<AdvisoryRow>>;
    /// The advisory of a reference (`PLA-2026-1`) if the reader may read it, as `visible_advisory`.
    async fn visible_advisory_by_reference(
        &self,
        reference: &str,
        reader: &TlpAudience,
    ) -> Result<Option<AdvisoryRow>>;
    /// The advisories the reader may read, newest first, before the cursor (published_at, id).
    async fn list_advisories(
        &self,
        reader: &TlpAudience,
        before: Option<(DateTime<Utc>, Uuid)>,
        limit: i64,
    ) -> Result<Vec<AdvisoryRow>>;
    /// How many advisories the reader may read and the latest modification among them: what changes when one
    /// they may read is published, edited or withdrawn (a cache of their OSV archive is keyed on it).
    async fn advisories_stamp(&self, reader: &TlpAudience) -> Result<(i64, Option<DateTime<Utc>>)>;
    /// The advisories marked one of `markings` that the reader may read, newest first, at most `limit` (a
    /// CSAF 2.0 TLP label's directory: AMBER holds AMBER and AMBER+STRICT).
    async fn list_advisories_marked(
        &self,
        reader: &TlpAudience,
        markings: [Tlp; 2],
        limit: i64,
    ) -> Result<Vec<AdvisoryRow>>;
    /// The subscriptions of the active organisations that may read the case once published (its TLP marking
    /// admits them), at most `limit`.
    async fn entitled_subscriptions(&self, case_id: Uuid, limit: i64) -> Result<Vec<Subscription>>;
    async fn create_subscription(&self, row: &Subscription, event: &AuditEvent) -> Result<()>;
    async fn get_subscription(&self, id: Uuid) -> Result<Option<Subscription>>;
    async fn count_subscriptions(&self, org_id: Uuid) -> Result<i64>;
    async fn list_subscriptions(
        &self,
        org_id: Uuid,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<Subscription>>;
    async fn delete_subscription(&self, id: Uuid, event: &AuditEvent) -> Result<()>;
    /// The funnel of every case, or of the cases a vendor takes part in.
    async fn funnel(&self, vendor: Option<Uuid>) -> Result<Funnel>;
    /// The vendors with the most cases, at most `limit`.
    async fn vendor_counts(&self, limit: i64) -> Result<Vec<VendorCounts>>;
}
