//! What every read of the clearinghouse's objects shares, compiled once for each backend (see
//! `queries/limits.rs`): the report columns, the TLP rules of reports and cases (`tlp_admits!`, the reader as
//! `$1`–`$4`: signed in, person, organisation, coordinator), and the binding of that reader.

use super::Db;
use crate::TlpAudience;

pub(super) const REPORT_COLUMNS: &str = "r.id, r.kind, r.case_id, c.reference AS case_reference, r.title, r.description, \
     r.tlp, r.org_id, r.reporter_id, r.finder_kind, r.finder_name, r.finder_notice_id, r.ai_found, r.cwe, \
     r.cvss_v3, r.cvss_v3_score, r.cvss_v4, r.cvss_v4_score, r.severity, r.location, r.crash_signature, \
     r.threat_model, r.threat, r.duplicate_of, r.duplicate_score, r.finding_id, r.created_at, r.modified_at, \
     r.version";

pub(super) const REPORT_FROM: &str = "FROM reports r LEFT JOIN cases c ON c.id = r.case_id";

/// Whether the reader (`$1`–`$4`) may read the report `r` (its case `c` joined).
pub(super) const REPORT_READABLE: &str = crate::tlp::tlp_admits!(
    tlp: "r.tlp",
    object: "r.id",
    owner_org: "r.org_id",
    owner_user: "r.reporter_id",
    case: "r.case_id",
    published: "c.published_at IS NOT NULL",
    reader: ("$1", "$2", "$3", "$4"),
);

/// Whether the reader may read the case `c`.
pub(super) const CASE_READABLE: &str = crate::tlp::tlp_admits!(
    tlp: "c.tlp",
    object: "c.id",
    owner_org: "NULL",
    owner_user: "c.created_by",
    case: "c.id",
    published: "c.published_at IS NOT NULL",
    reader: ("$1", "$2", "$3", "$4"),
);

type QueryAs<'q, T> = sqlx::query::QueryAs<'q, Db, T, <Db as sqlx::Database>::Arguments<'q>>;

/// A query whose reader is `$1`–`$4` (signed in, person, organisation, coordinator); what follows binds from `$5`.
pub(super) fn reader_query_as<'q, T>(sql: &'q str, reader: &TlpAudience) -> QueryAs<'q, T>
where
    T: for<'r> sqlx::FromRow<'r, <Db as sqlx::Database>::Row>,
{
    bind_reader(sqlx::query_as(sql), reader)
}

/// Binds the reader's four parameters (signed in, person, organisation, coordinator) after those `query` has.
pub(super) fn bind_reader<'q, T>(query: QueryAs<'q, T>, reader: &TlpAudience) -> QueryAs<'q, T> {
    query
        .bind(reader.signed_in)
        .bind(reader.user_id)
        .bind(reader.org_id)
        .bind(reader.coordinator)
}
