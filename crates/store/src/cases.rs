//! Coordinated disclosure cases: rows and the store trait. The rules (who may do what, which moves are allowed,
//! the embargo's arithmetic) live in `clearinghouse::case` and `app::clearinghouse`; the SQL is in
//! `queries/cases.rs`, compiled once per backend. Every read that a person makes takes their `TlpAudience`, which
//! the query compiles through `tlp_admits!`.

use crate::{AuditEvent, NewJob, OrgKind, Result};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use clearinghouse::case::{CaseState, ParticipantRole, VendorStatus};
use clearinghouse::tlp::Tlp;
use kernel::TlpAudience;
use sqlx::types::Json;
use uuid::Uuid;

/// A case. `reference` is `PLC-<year>-<n>`, given by the store when the case is opened.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CaseRow {
    pub id: Uuid,
    pub reference: String,
    pub title: String,
    pub summary: String,
    #[sqlx(try_from = "String")]
    pub state: CaseState,
    #[sqlx(try_from = "String")]
    pub tlp: Tlp,
    pub duplicate_of: Option<Uuid>,
    pub embargo_ends_at: Option<DateTime<Utc>>,
    pub published_at: Option<DateTime<Utc>>,
    pub sectors: Json<Vec<String>>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub modified_at: DateTime<Utc>,
    pub version: i64,
    /// Its CVE id, unique across cases.
    pub cve: Option<String>,
}

/// An organisation to add to a case.
#[derive(Debug, Clone, PartialEq)]
pub struct NewParticipant {
    pub org_id: Uuid,
    pub role: ParticipantRole,
    /// Set for those told at once (the reporter, a coordinator); vendors are told when the case moves to
    /// vendors notified.
    pub notified_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ParticipantRow {
    pub org_id: Uuid,
    pub org_name: String,
    #[sqlx(try_from = "String")]
    pub org_kind: OrgKind,
    #[sqlx(try_from = "String")]
    pub role: ParticipantRole,
    pub added_at: DateTime<Utc>,
    pub notified_at: Option<DateTime<Utc>>,
}

/// A vendor's status and statement for one report of a case.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct VendorStatusRow {
    pub case_id: Uuid,
    pub org_id: Uuid,
    pub org_name: String,
    pub report_id: Uuid,
    #[sqlx(try_from = "String")]
    pub status: VendorStatus,
    pub statement: String,
    pub updated_by: Uuid,
    pub updated_at: DateTime<Utc>,
}

/// Which of a case's reports a read covers, and so which of their credits, vendor statuses and products it
/// returns: those a reader may read (`tlp_admits!` for each report, compiled into the query before its
/// `LIMIT`), or, for an advisory, those whose marking is one of these (`app::policy::advisory_carries`). Reading
/// a case never says anything about a report outside the scope.
#[derive(Debug, Clone, Copy)]
pub enum ReportScope<'a> {
    Reader(&'a TlpAudience),
    Markings(&'a [Tlp]),
}

/// A report of a case, as the case page and the advisory need it (only reports in the read's `ReportScope`).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CaseReportRow {
    pub id: Uuid,
    pub title: String,
    pub org_id: Uuid,
    #[sqlx(try_from = "String")]
    pub tlp: Tlp,
    /// `person`, `organization` or `model` (the reports' table checks the set).
    pub finder_kind: String,
    pub finder_name: String,
    pub ai_found: bool,
    pub cwe: Option<i32>,
    pub cvss_v3: Option<String>,
    pub cvss_v3_score: Option<f64>,
    pub cvss_v4: Option<String>,
    pub cvss_v4_score: Option<f64>,
    pub duplicate_of: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// A product a report of the case affects.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AffectedRow {
    pub report_id: Uuid,
    pub product: String,
    pub versions: String,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CasePost {
    pub id: Uuid,
    pub case_id: Uuid,
    pub reply_to: Option<Uuid>,
    pub author_id: Uuid,
    pub author_name: String,
    pub org_id: Uuid,
    pub org_name: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// A vendor's disclosure policy.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct VendorPolicy {
    pub org_id: Uuid,
    pub embargo_days: Option<i32>,
    pub ai_found_public: bool,
    pub require_reproducer: bool,
    pub reports_per_day: Option<i32>,
    /// purl or CPE prefixes, validated by `clearinghouse::product::ProductPrefix`.
    pub products: Json<Vec<String>>,
    pub updated_at: DateTime<Utc>,
}

/// A case in a vendor's inbox: the case, and whether the vendor has stated a status on any of its reports.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct InboxCase {
    #[sqlx(flatten)]
    pub case: CaseRow,
    pub stated: bool,
}

/// Which cases a list holds: those the reader may read, optionally in one state, optionally only those its
/// organisation takes part in, by id after the cursor.
#[derive(Debug, Clone)]
pub struct CaseQuery {
    pub reader: TlpAudience,
    pub state: Option<CaseState>,
    pub mine: bool,
    pub after: Option<Uuid>,
    pub limit: i64,
}

/// A change of the case's target publication date.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbargoChange {
    pub id: Uuid,
    pub previous: Option<DateTime<Utc>>,
    pub ends_at: DateTime<Utc>,
    pub reason: String,
}

/// A change of a case, written in one transaction: its state (with the history row), its embargo (with its
/// record), participants added and notified, and the jobs it schedules. `version` is the version the change
/// was decided on: `Stale` when the case moved meanwhile.
#[derive(Debug, Clone)]
pub struct CaseUpdate {
    pub case_id: Uuid,
    pub version: i64,
    pub at: DateTime<Utc>,
    pub by: Option<Uuid>,
    /// (from, to, reason).
    pub state: Option<(CaseState, CaseState, Option<String>)>,
    pub embargo: Option<EmbargoChange>,
    pub add: Vec<NewParticipant>,
    /// Participants whose `notified_at` is set now (if unset).
    pub notify: Vec<Uuid>,
    pub jobs: Vec<NewJob>,
}

#[async_trait]
pub trait CaseStore: Send + Sync + 'static {
    /// Opens a case with its first participants, taking its reference `PLC-<year>-<n>` from `case_numbers`;
    /// returns the case as stored.
    async fn open_case(
        &self,
        case: &CaseRow,
        participants: &[NewParticipant],
        event: &AuditEvent,
    ) -> Result<CaseRow>;
    /// The case, whoever asks (jobs and checks after a read that was decided by TLP).
    async fn get_case(&self, id: Uuid) -> Result<Option<CaseRow>>;
    /// The case if the reader may read it.
    async fn visible_case(&self, id: Uuid, reader: &TlpAudience) -> Result<Option<CaseRow>>;
    async fn list_cases(&self, query: &CaseQuery) -> Result<Vec<CaseRow>>;
    /// The cases the reader may read in which the reader's organisation is a vendor participant, newest first,
    /// before the cursor, with whether it has stated a status.
    async fn vendor_inbox(
        &self,
        reader: &TlpAudience,
        before: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<InboxCase>>;
    /// Applies the update and its events; returns the case as changed.
    async fn update_case(&self, update: &CaseUpdate, events: &[AuditEvent]) -> Result<CaseRow>;
    async fn case_participants(&self, case_id: Uuid) -> Result<Vec<ParticipantRow>>;
    /// Removes a participant (and its statuses); `Stale` when it was none.
    async fn remove_participant(&self, case_id: Uuid, org_id: Uuid, event: &AuditEvent) -> Result<()>;
    /// The vendors' statuses and statements on the case's reports in the scope.
    async fn case_vendor_statuses(
        &self,
        case_id: Uuid,
        scope: ReportScope<'_>,
    ) -> Result<Vec<VendorStatusRow>>;
    /// Sets a vendor's status for one report of the case (replacing the one before).
    async fn put_vendor_status(&self, row: &VendorStatusRow, event: &AuditEvent) -> Result<()>;
    /// The vulnerability reports of the case in the scope (at most 1,000).
    async fn case_reports(&self, case_id: Uuid, scope: ReportScope<'_>) -> Result<Vec<CaseReportRow>>;
    /// The affected products of the case's reports in the scope (at most 2,000; for vendors and advisories).
    async fn case_affected(&self, case_id: Uuid, scope: ReportScope<'_>) -> Result<Vec<AffectedRow>>;
    /// Whether some report of the case has a `reproducer` attachment.
    async fn case_has_reproducer(&self, case_id: Uuid) -> Result<bool>;
    async fn add_case_post(&self, post: &CasePost, event: &AuditEvent) -> Result<()>;
    async fn get_case_post(&self, id: Uuid) -> Result<Option<CasePost>>;
    /// The case's posts, oldest first, after the cursor.
    async fn list_case_posts(&self, case_id: Uuid, after: Option<Uuid>, limit: i64) -> Result<Vec<CasePost>>;
    async fn get_vendor_policy(&self, org_id: Uuid) -> Result<Option<VendorPolicy>>;
    /// The policies of these organisations.
    async fn vendor_policies_of(&self, org_ids: &[Uuid]) -> Result<Vec<VendorPolicy>>;
    /// Every policy that names products, for matching a case's affected products at triage (at most `limit`).
    async fn vendor_policies_with_products(&self, limit: i64) -> Result<Vec<VendorPolicy>>;
    async fn put_vendor_policy(&self, policy: &VendorPolicy, event: &AuditEvent) -> Result<()>;
    /// Sets or clears the case's CVE id (if the case is still at `version`) with its event; `Err` names the
    /// other case that holds the id (its id and reference).
    async fn set_case_cve(
        &self,
        case_id: Uuid,
        version: i64,
        cve: Option<&str>,
        at: DateTime<Utc>,
        event: &AuditEvent,
    ) -> Result<std::result::Result<CaseRow, (Uuid, String)>>;
    /// Unpublished open cases whose embargo ends in `(from, until]`, for the reminders.
    async fn cases_embargo_ending(&self, from: DateTime<Utc>, until: DateTime<Utc>) -> Result<Vec<CaseRow>>;
}
