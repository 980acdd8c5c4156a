//! What the TAXII 2.1 collections hold: `stix_objects`, every STIX object a collection serves, one row per
//! object version (our advisories', reports' and cases' objects, written as they change, and objects posted
//! to a collection), and the status of each posted envelope. Reads page by the keyset (date added, STIX id,
//! version) within one marking; who may read is `tlp_admits!`, compiled into the query, so a page holds only
//! readable objects before its `LIMIT`. The SQL is in `queries/taxii.rs`, compiled once per backend.

use crate::advisories::AdvisoryRow;
use crate::reports::{Decide, Filed, Intake, LimitReached, Report};
use crate::{AuditEvent, Result};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use clearinghouse::tlp::Tlp;
use kernel::TlpAudience;
use uuid::Uuid;

/// Where a page of a collection starts: after this object version (date added, STIX id, version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxiiCursor {
    pub added: DateTime<Utc>,
    pub stix_id: String,
    pub version: String,
}

/// Which versions of each object a read returns (`match[version]`); several may be named.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VersionMatch {
    pub all: bool,
    pub first: bool,
    pub last: bool,
    /// Versions as stored (`StixObjectRow::version`).
    pub exact: Vec<String>,
}

/// A read of one collection.
#[derive(Debug, Clone, PartialEq)]
pub struct TaxiiQuery {
    pub tlp: Tlp,
    /// Objects added at or after this time (the caller's `added_after`, moved past its precision).
    pub added_from: Option<DateTime<Utc>>,
    pub after: Option<TaxiiCursor>,
    /// Only these STIX types (`match[type]`).
    pub types: Option<Vec<String>>,
    /// Only these spec versions (`match[spec_version]`).
    pub spec_versions: Option<Vec<String>>,
    pub versions: VersionMatch,
    /// Only objects of these STIX ids (`match[id]`, an object by id).
    pub ids: Option<Vec<String>>,
    pub limit: i64,
    /// The markings read instead of `tlp` alone (a community's collection, one defined by a filter).
    pub markings: Option<Vec<Tlp>>,
    /// The community whose collection this is (its members read it); `None` reads objects of no community.
    pub community: Option<Uuid>,
}

/// One version of one STIX object of a collection.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StixObjectRow {
    pub id: Uuid,
    #[sqlx(try_from = "String")]
    pub tlp: Tlp,
    pub stix_id: String,
    pub stix_type: String,
    pub spec_version: String,
    /// The object's `modified` (or `created`) in UTC with nine fractional digits, so text order is time order
    /// (`clearinghouse::stix::version_key`).
    pub version: String,
    /// When we added it, to the millisecond.
    pub date_added: DateTime<Utc>,
    /// The object's JSON.
    pub body: String,
    /// Who posted it; `None` for our own exports.
    pub added_org: Option<Uuid>,
    pub added_by: Option<Uuid>,
    /// The advisory and case it derives from; `None` for posted objects.
    pub advisory_id: Option<Uuid>,
    pub case_id: Option<Uuid>,
    /// The report a posted object was filed as; for our export of a report (no `added_org`), that report,
    /// whose own TLP rule admits the row.
    pub report_id: Option<Uuid>,
}

/// Who added a stored version of an object.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StixOrigin {
    pub stix_id: String,
    pub version: String,
    pub added_org: Option<Uuid>,
    pub advisory_id: Option<Uuid>,
    /// The community it was posted to, if any.
    pub community_id: Option<Uuid>,
}

/// The status of an envelope posted to a collection; successes and failures are JSON arrays as TAXII lists
/// them.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TaxiiStatusRow {
    pub id: Uuid,
    #[sqlx(try_from = "String")]
    pub tlp: Tlp,
    pub org_id: Uuid,
    pub user_id: Uuid,
    pub request_timestamp: DateTime<Utc>,
    pub total_count: i64,
    pub successes: String,
    pub failures: String,
}

/// What a post stores beside its reports: the accepted object versions, the status resource and the event.
#[derive(Debug, Clone)]
pub struct TaxiiPost {
    pub status: TaxiiStatusRow,
    pub rows: Vec<StixObjectRow>,
    pub event: AuditEvent,
}

/// Builds a post's record from whether each of its reports was filed (`Err`: the limit that refused it).
pub type RecordPost<'a> = dyn Fn(&[std::result::Result<(), LimitReached>]) -> TaxiiPost + Send + Sync + 'a;

#[async_trait]
pub trait TaxiiStore: Send + Sync + 'static {
    /// The object versions of a collection the reader may read, in collection order, at most `limit`.
    async fn taxii_objects(&self, reader: &TlpAudience, query: &TaxiiQuery) -> Result<Vec<StixObjectRow>>;
    /// Stores object versions in one transaction (batched inserts); a version already stored in the same
    /// collection is kept as it is. Returns how many rows were written.
    async fn add_stix_objects(&self, rows: &[StixObjectRow]) -> Result<u64>;
    /// Who holds each of these STIX ids in a collection, one row per stored version.
    async fn stix_origins(&self, tlp: Tlp, ids: &[String]) -> Result<Vec<StixOrigin>>;
    /// A posted envelope, all or nothing, in one transaction: files its reports in order, each as
    /// `ReportStore::file_each` files one, with the STIX objects `export` makes of them (a later one sees the
    /// earlier ones as candidates; a report a limit refuses is left out alone); then `record`,
    /// told which reports were filed, gives the accepted objects, the status and the event, stored in the same
    /// transaction (a version already stored is kept as it is). Any failure stores nothing of the post.
    /// Returns each report's outcome and what was recorded.
    async fn file_taxii_post(
        &self,
        reports: &[(&Intake, &Decide<'_>)],
        export: &dyn crate::FiledExport,
        record: &RecordPost<'_>,
    ) -> Result<(Vec<std::result::Result<Filed, LimitReached>>, TaxiiPost)>;
    /// The status of a posted envelope.
    async fn taxii_status(&self, id: Uuid) -> Result<Option<TaxiiStatusRow>>;
    /// Deletes the posted versions of an object in a collection (all, or those `versions` selects); objects
    /// derived from advisories are never deleted. The event is recorded with it when anything went (its
    /// details given `versions_deleted`). Returns how many versions went.
    async fn delete_stix_object(
        &self,
        tlp: Tlp,
        stix_id: &str,
        versions: &VersionMatch,
        event: &AuditEvent,
    ) -> Result<u64>;
    /// Stores, in one transaction, the objects of versions of our export of reports or cases (each group's
    /// rows with its `exported_version`, the report's or case's version), as `add_stix_objects` does, marking
    /// them as made from that version.
    async fn add_stix_export(&self, exports: &[(&[StixObjectRow], i64)]) -> Result<u64>;
    /// Reports (after `after`, by id) whose current version has no exported STIX objects, at most `limit`.
    async fn reports_without_stix(&self, after: Option<Uuid>, limit: i64) -> Result<Vec<Report>>;
    /// A report as its export reads it, whoever may read it (the export's rows carry the report's rule).
    async fn report_for_stix(&self, id: Uuid) -> Result<Option<Report>>;
    /// Cases with reports (after `after`, by id) whose current version has no exported STIX object.
    async fn cases_without_stix(&self, after: Option<Uuid>, limit: i64) -> Result<Vec<Uuid>>;
    /// Advisories that have no STIX objects yet (published before `stix_objects` existed), at most `limit`.
    async fn advisories_without_stix(&self, limit: i64) -> Result<Vec<AdvisoryRow>>;
}
