//! Clearinghouse reports: intake (with its duplicate candidates, the case it opens or joins and its intake
//! counters, in one transaction), reads under TLP, attachments, and the coordinators' triage (merge, split).
//! The rules live in `app::clearinghouse`; the SQL is in `queries/reports.rs`, compiled once per backend.
//! Every read compiles the reader's `TlpAudience` into its query through `tlp::tlp_admits!`.

use crate::{AuditEvent, Page, Result, TlpAudience, UnknownValue};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use clearinghouse::case::CaseState;
use clearinghouse::cvss::Severity;
use clearinghouse::tlp::Tlp;
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

macro_rules! closed_set {
    ($name:ident, $set:literal, [$($variant:ident = $text:literal),+ $(,)?]) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            pub fn parse(text: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|v| v.as_str() == text)
            }
        }

        impl TryFrom<String> for $name {
            type Error = UnknownValue;

            fn try_from(value: String) -> std::result::Result<Self, UnknownValue> {
                Self::parse(&value).ok_or(UnknownValue { set: $set, value })
            }
        }
    };
}

closed_set!(
    ReportKind,
    "report kind",
    [Vulnerability = "vulnerability", Threat = "threat"]
);
closed_set!(
    FinderKind,
    "finder kind",
    [Person = "person", Organization = "organization", Model = "model"]
);
closed_set!(
    AttachmentRole,
    "attachment role",
    [Reproducer = "reproducer", Patch = "patch", Other = "other"]
);

/// A report as stored, with its case's reference.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Report {
    pub id: Uuid,
    #[sqlx(try_from = "String")]
    pub kind: ReportKind,
    pub case_id: Option<Uuid>,
    /// The case's `PLC-<year>-<n>` (read through a join; ignored on insert).
    pub case_reference: Option<String>,
    pub title: String,
    pub description: String,
    #[sqlx(try_from = "String")]
    pub tlp: Tlp,
    pub org_id: Uuid,
    pub reporter_id: Uuid,
    #[sqlx(try_from = "String")]
    pub finder_kind: FinderKind,
    pub finder_name: String,
    pub finder_notice_id: Option<Uuid>,
    pub ai_found: bool,
    pub cwe: Option<i32>,
    pub cvss_v3: Option<String>,
    pub cvss_v3_score: Option<f64>,
    pub cvss_v4: Option<String>,
    pub cvss_v4_score: Option<f64>,
    #[sqlx(try_from = "Option<String>")]
    pub severity: OptionalSeverity,
    pub location: Option<String>,
    pub crash_signature: Option<String>,
    pub threat_model: Option<String>,
    /// Threat reports: `{indicators, attack_patterns, misuse}`.
    pub threat: Option<Json<Value>>,
    pub duplicate_of: Option<Uuid>,
    pub duplicate_score: Option<f64>,
    pub finding_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub modified_at: DateTime<Utc>,
    pub version: i64,
}

/// A nullable severity column, read strictly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionalSeverity(pub Option<Severity>);

impl TryFrom<Option<String>> for OptionalSeverity {
    type Error = clearinghouse::cvss::CvssError;

    fn try_from(value: Option<String>) -> std::result::Result<Self, Self::Error> {
        value.map(Severity::try_from).transpose().map(OptionalSeverity)
    }
}

/// One affected product of a report, canonical.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ReportAffected {
    pub report_id: Uuid,
    pub idx: i32,
    pub product: String,
    pub product_key: String,
    pub versions: String,
}

/// An attachment's metadata (its sealed bytes are read only by `attachment_content`).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Attachment {
    pub id: Uuid,
    pub report_id: Uuid,
    #[sqlx(try_from = "String")]
    pub role: AttachmentRole,
    pub name: String,
    pub media_type: String,
    pub size: i64,
    pub sha256: Vec<u8>,
    #[sqlx(try_from = "String")]
    pub tlp: Tlp,
    pub created_at: DateTime<Utc>,
}

/// A stored report that intake compares the new one with: its fingerprint and affected products, which never
/// change (its case does: intake reads the cases of the candidates that rank, `Decider`).
#[derive(Debug, Clone)]
pub struct Candidate {
    pub report_id: Uuid,
    pub fingerprint: Vec<u8>,
    pub affected: Vec<ReportAffected>,
}

/// The keys of a fingerprint to look up stored reports by: how many to take per band key, and per exact key and
/// in all (held to the store's buckets: `dedup::BAND_BUCKET_LIMIT` and `dedup::KEY_BUCKET_LIMIT`).
#[derive(Debug, Clone, Copy)]
pub struct CandidateSearch<'a> {
    pub keys: &'a [i64],
    pub bands: &'a [i64],
    pub band_limit: i64,
    pub candidate_limit: i64,
}

/// What intake decided from the candidates: the report to join (and its score), and those to suggest.
#[derive(Debug, Clone, Default)]
pub struct Decision {
    pub join: Option<(Uuid, f64)>,
    pub suggest: Vec<(Uuid, f64)>,
}

/// How intake decides from the candidates it loaded (inside its transaction), in two steps, so that it reads
/// the cases of the candidates that rank and of no others: most candidates a search finds share a key by
/// chance and score too low to be named.
pub trait Decider: Send + Sync {
    /// The candidates worth naming, with their scores, best first.
    fn rank(&self, candidates: &[Candidate]) -> Vec<(Uuid, f64)>;
    /// From `rank`'s list, each with the case it is in now: the report to join, and those to suggest.
    fn choose(&self, ranked: &[(Uuid, Option<Uuid>, f64)]) -> Decision;
}

/// A decision rule as the store takes it.
pub type Decide<'a> = dyn Decider + 'a;

/// The STIX objects of the reports a transaction files and of the cases they end in, made inside that
/// transaction from what it decided and written with it (one commit for the reports and their objects).
pub trait FiledExport: Send + Sync {
    /// The rows of the current version of the report at `at` in the batch, as filed.
    fn report_rows(&self, at: usize, filed: &Filed) -> Vec<crate::StixObjectRow>;
    /// The markings of the reports that the object of a case of this marking may list.
    fn carried(&self, case: Tlp) -> &'static [Tlp];
    /// The rows of the current version of a case, listing `reports` (in id order, at most
    /// `CASE_EXPORT_REPORTS`).
    fn case_rows(&self, case: &crate::CaseRow, reports: Vec<Uuid>) -> Vec<crate::StixObjectRow>;
}

/// The most reports a case's STIX object lists (the first by id).
pub const CASE_EXPORT_REPORTS: i64 = 1_000;

/// A counter intake checks and increments: at most `max` reports in `scope` during the window.
#[derive(Debug, Clone)]
pub struct IntakeLimit {
    pub scope: String,
    pub window_start: DateTime<Utc>,
    pub max: i64,
}

/// A new case intake opens (state `new`), numbered from `case_numbers` of `year`.
#[derive(Debug, Clone)]
pub struct NewCase {
    pub id: Uuid,
    pub year: i32,
    pub title: String,
    pub sectors: Vec<String>,
}

/// Everything one intake writes.
#[derive(Debug, Clone)]
pub struct Intake {
    pub report: Report,
    pub affected: Vec<ReportAffected>,
    /// TLP:RED: the people named.
    pub people: Vec<Uuid>,
    /// Vulnerability reports: the fingerprint, its exact and band keys (`band index`, key).
    pub fingerprint: Option<(Vec<u8>, Vec<i64>, Vec<i64>)>,
    /// How many stored reports to look up per band key, and candidates in all.
    pub band_limit: i64,
    pub candidate_limit: i64,
    /// The case to open when the report joins none (vulnerability reports).
    pub new_case: Option<NewCase>,
    pub limits: Vec<IntakeLimit>,
    /// `report.file`; `case.open` and `case.join` (their object is set to the case).
    pub event: AuditEvent,
    pub open_event: AuditEvent,
    pub join_event: AuditEvent,
    /// An imported report: where it came from, kept beside it (`report_origins`). Its CVE id, when no case
    /// holds it yet, is taken by the case the report opens; a case that holds it already is joined.
    pub origin: Option<ReportOrigin>,
}

/// Where an imported report came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct ReportOrigin {
    /// `csaf` or `osv`.
    pub format: String,
    /// The CSAF tracking id or the OSV id.
    pub document_id: String,
    /// The CSAF tracking version or the OSV `modified` time.
    pub version: String,
    pub cve: Option<String>,
}

/// What intake stored.
#[derive(Debug, Clone)]
pub struct Filed {
    pub case_id: Option<Uuid>,
    pub case_reference: Option<String>,
    pub joined: bool,
    pub duplicate_of: Option<Uuid>,
    /// The CVE id the report's case holds after the intake (the report's STIX objects name it).
    pub case_cve: Option<String>,
    pub candidates: Vec<(Uuid, Option<Uuid>, f64)>,
    /// How long duplicate detection took inside the transaction: waiting for the intake locks on the
    /// report's keys, the candidate search, and scoring them (for `Server-Timing` and the benchmark).
    pub dedup: std::time::Duration,
}

/// Intake refused by the limit at this index of `Intake::limits`; nothing was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitReached(pub usize);

/// A vendor's pace: at most `reports_per_day` reports on products under `products` (prefixes).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VendorPace {
    pub org_id: Uuid,
    pub name: String,
    pub reports_per_day: i64,
    pub products: Json<Vec<String>>,
}

/// A case in the triage queue.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TriageCase {
    pub id: Uuid,
    pub reference: String,
    pub title: String,
    #[sqlx(try_from = "String")]
    pub state: CaseState,
    #[sqlx(try_from = "String")]
    pub tlp: Tlp,
    pub duplicate_of: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// A stored candidate of a report (`report_candidates`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredCandidate {
    pub report_id: Uuid,
    pub candidate_id: Uuid,
    pub candidate_case_id: Option<Uuid>,
    pub score: f64,
}

/// The finders told when their report joined or was merged into another case.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MovedReport {
    pub id: Uuid,
    pub reporter_id: Uuid,
    pub org_id: Uuid,
}

#[async_trait]
pub trait ReportStore: Send + Sync + 'static {
    /// The vendors that set a pace (`vendor_policies.reports_per_day`).
    async fn vendor_paces(&self) -> Result<Vec<VendorPace>>;

    /// Files several reports in one transaction, in order, each independently of the others. For each report:
    /// checks and increments every intake counter (refusing with the first one full: nothing of the report
    /// stored, no count taken), loads the candidates sharing an exact or band key (newest first, the group's
    /// earlier reports among them), asks its `Decide`, then writes the report, its products, fingerprint and
    /// keys, people, its case (joined or opened, the reporter's organisation a notified participant),
    /// candidates and events; and, in the same transaction, the STIX objects `export` makes of the reports
    /// filed and of their cases' current versions. The statements are per group, not per report, so filing
    /// the reports that arrive together in one call is how intake keeps up with a flood.
    async fn file_each(
        &self,
        batch: &[(&Intake, &Decide<'_>)],
        export: &dyn FiledExport,
    ) -> Result<Vec<std::result::Result<Filed, LimitReached>>>;

    /// Files several reports in one transaction, in order, each as `file_each` files one (a later one sees
    /// the earlier ones as candidates); nothing is stored when a limit refuses one: `(index, limit)`.
    async fn file_reports(
        &self,
        batch: &[(&Intake, &Decide<'_>)],
        export: &dyn FiledExport,
    ) -> Result<std::result::Result<Vec<Filed>, (usize, LimitReached)>>;
    /// Where an imported report came from (none for a report filed here).
    async fn report_origin(&self, id: Uuid) -> Result<Option<ReportOrigin>>;

    /// The stored reports intake would compare a fingerprint with (the same search as `file_report`'s),
    /// newest first, reading nothing else and writing nothing. Not a read path: callers show only those a
    /// TLP read admits.
    async fn dedup_candidates(&self, search: &CandidateSearch<'_>) -> Result<Vec<Candidate>>;
    /// The size of this store's in-memory index of exact and band keys (`dedup_index`).
    fn dedup_index_size(&self) -> crate::DedupIndexSize;
    /// Counts one more in an intake counter unless it is full (false: full, nothing counted).
    async fn take_intake_count(&self, limit: &IntakeLimit) -> Result<bool>;

    /// A report the reader may read.
    async fn readable_report(&self, id: Uuid, reader: &TlpAudience) -> Result<Option<Report>>;
    /// A page of the reports the reader may read, searched and ordered as `list` says; `mine` keeps the
    /// reader's own, `tlp` one marking.
    async fn list_readable_reports(
        &self,
        reader: &TlpAudience,
        mine: bool,
        tlp: Option<Tlp>,
        list: &crate::ReportList,
    ) -> Result<Vec<Report>>;
    /// Of these reports, those the reader may read.
    async fn readable_report_ids(&self, ids: &[Uuid], reader: &TlpAudience) -> Result<Vec<Uuid>>;
    async fn report_affected(&self, id: Uuid) -> Result<Vec<ReportAffected>>;
    async fn report_people(&self, id: Uuid) -> Result<Vec<Uuid>>;
    /// Who filed these reports (for telling them; not a read path).
    async fn report_owners(&self, ids: &[Uuid]) -> Result<Vec<MovedReport>>;
    /// The reports forwarded from these findings: (finding, report).
    async fn reports_of_findings(&self, findings: &[Uuid]) -> Result<Vec<(Uuid, Uuid)>>;
    /// The report forwarded from a finding, if any (whoever may read it).
    async fn report_of_finding(&self, finding_id: Uuid) -> Result<Option<Uuid>>;

    /// Adds an attachment unless the report already holds `max_count` or `max_total` bytes with it; false
    /// when refused. A RED attachment of a RED report names the report's people.
    async fn add_attachment(
        &self,
        attachment: &Attachment,
        sealed: &[u8],
        max_count: i64,
        max_total: i64,
        event: &AuditEvent,
    ) -> Result<bool>;
    /// A report's attachments the reader may read (the report's marking and the attachment's).
    async fn readable_attachments(&self, report_id: Uuid, reader: &TlpAudience) -> Result<Vec<Attachment>>;
    /// An attachment and its sealed bytes, if the reader may read it and its report.
    async fn readable_attachment(
        &self,
        report_id: Uuid,
        id: Uuid,
        reader: &TlpAudience,
    ) -> Result<Option<(Attachment, Vec<u8>)>>;

    /// Cases in state `new` the reader may read, oldest first, after the cursor.
    async fn triage_cases(&self, reader: &TlpAudience, page: &Page<Uuid>) -> Result<Vec<TriageCase>>;
    /// The readable reports of these cases.
    async fn reports_of_cases(&self, case_ids: &[Uuid], reader: &TlpAudience) -> Result<Vec<Report>>;
    /// The stored candidates of these reports, readable ones only.
    async fn candidates_of(&self, report_ids: &[Uuid], reader: &TlpAudience) -> Result<Vec<StoredCandidate>>;
    /// A case the reader may read.
    async fn readable_case(&self, id: Uuid, reader: &TlpAudience) -> Result<Option<TriageCase>>;
    /// Moves every report of `from` into `into` (marking those not yet duplicates as duplicates of the oldest
    /// report of `into`), merges participants, closes `from` as a duplicate; returns the moved reports, whose
    /// ids are added to the event's details as `reports`.
    async fn merge_cases(
        &self,
        from: Uuid,
        into: Uuid,
        at: DateTime<Utc>,
        event: &AuditEvent,
    ) -> Result<Vec<MovedReport>>;
    /// Opens `new_case` with these reports of `from` (and their organisations as participants).
    async fn split_case(
        &self,
        from: Uuid,
        reports: &[Uuid],
        new_case: &NewCase,
        created_by: Uuid,
        at: DateTime<Utc>,
        events: &[AuditEvent],
    ) -> Result<String>;
}
