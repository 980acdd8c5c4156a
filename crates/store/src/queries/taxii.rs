//! The SQL of `TaxiiStore`, compiled once for each backend (see `queries/limits.rs`). A page is one index range
//! of `stix_objects_page` (tlp, date_added, stix_id, version) from the cursor on, with the filters and TLP
//! admission in its `WHERE` before the `LIMIT`: no `OFFSET`, no count. `match[version]=first|last` is an
//! index probe per row on the unique (stix_id, version, tlp).

use super::This;
use super::advisories::ADVISORY_COLUMNS;
use super::filed_export::export_filed;
use super::intake::file_group;
use super::readers::{REPORT_COLUMNS, REPORT_FROM, REPORT_READABLE, reader_query_as};
use crate::advisories::AdvisoryRow;
use crate::reports::{Decide, Filed, Intake, LimitReached, Report};
use crate::taxii::{
    RecordPost, StixObjectRow, StixOrigin, TaxiiPost, TaxiiQuery, TaxiiStatusRow, TaxiiStore, VersionMatch,
};
use crate::{AuditEvent, Result};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use clearinghouse::tlp::Tlp;
use kernel::TlpAudience;
use uuid::Uuid;

const COLUMNS: &str = "s.id, s.tlp, s.stix_id, s.stix_type, s.spec_version, s.version, s.date_added, s.body, \
     s.added_org, s.added_by, s.advisory_id, s.case_id, s.report_id";

/// Rows per `INSERT` of a bulk load: 14 parameters each, well under either backend's limit.
const INSERT_BATCH: usize = 500;

/// A value bound after the reader's four parameters.
enum Arg<'a> {
    Text(&'a str),
    Time(DateTime<Utc>),
    Int(i64),
    Id(Uuid),
}

/// The parameters of a query built from optional filters, numbered after the `offset` fixed ones.
struct Args<'a> {
    values: Vec<Arg<'a>>,
    offset: usize,
}

impl<'a> Args<'a> {
    fn after(offset: usize) -> Self {
        Args {
            values: Vec::new(),
            offset,
        }
    }

    fn param(&mut self, arg: Arg<'a>) -> String {
        self.values.push(arg);
        format!("${}", self.values.len() + self.offset)
    }

    fn list(&mut self, values: &'a [String]) -> String {
        if values.is_empty() {
            return "NULL".to_owned();
        }
        let list: Vec<String> = values.iter().map(|v| self.param(Arg::Text(v))).collect();
        list.join(", ")
    }
}

/// The condition `match[version]` puts on the row `s`; `None` for every version.
fn version_condition<'a>(v: &'a VersionMatch, args: &mut Args<'a>) -> Option<String> {
    if v.all {
        return None;
    }
    let mut any = Vec::new();
    for (wanted, newer) in [(v.last, ">"), (v.first, "<")] {
        if wanted {
            any.push(format!(
                "NOT EXISTS (SELECT 1 FROM stix_objects n WHERE n.stix_id = s.stix_id \
                 AND n.version {newer} s.version AND n.tlp = s.tlp)"
            ));
        }
    }
    if !v.exact.is_empty() {
        any.push(format!("s.version IN ({})", args.list(&v.exact)));
    }
    if any.is_empty() {
        any.push("FALSE".to_owned());
    }
    Some(format!("({})", any.join(" OR ")))
}

fn bind_args<'q, O>(
    mut query: sqlx::query::QueryAs<'q, super::Db, O, <super::Db as sqlx::Database>::Arguments<'q>>,
    args: Args<'q>,
) -> sqlx::query::QueryAs<'q, super::Db, O, <super::Db as sqlx::Database>::Arguments<'q>> {
    for arg in args.values {
        query = match arg {
            Arg::Text(text) => query.bind(text),
            Arg::Time(at) => query.bind(at),
            Arg::Int(n) => query.bind(n),
            Arg::Id(id) => query.bind(id),
        };
    }
    query
}

/// The joins `admission` reads: the report `r` of our export of a report and the case `c` of the object.
pub(super) const ADMISSION_JOINS: &str = "LEFT JOIN reports r ON r.id = s.report_id AND s.added_org IS NULL \
     AND s.peer_id IS NULL \
     LEFT JOIN cases c ON c.id = COALESCE(r.case_id, s.case_id)";

/// Whether the reader (`$1`…`$4`, a `TlpAudience`) may read the stored object `s`: our export of a report (its
/// id set, no poster, not pulled from a peer) by the report's own rule, `REPORT_READABLE` on the report `r` and its case `c`; every
/// other object by TLP admission on its own case `c`. Every read of `stix_objects` for someone goes through it.
pub(super) fn admission() -> String {
    format!(
        "(CASE WHEN s.report_id IS NOT NULL AND s.added_org IS NULL AND s.peer_id IS NULL \
         THEN {REPORT_READABLE} ELSE {} END)",
        crate::tlp::tlp_admits!(
            tlp: "s.tlp",
            object: "s.case_id",
            owner_org: "s.added_org",
            owner_user: "COALESCE(s.added_by, c.created_by)",
            case: "s.case_id",
            published: "c.published_at IS NOT NULL",
            reader: ("$1", "$2", "$3", "$4"),
        )
    )
}

impl This {
    /// `file_taxii_post`'s one transaction.
    async fn taxii_post_once(
        &self,
        reports: &[(&Intake, &Decide<'_>)],
        export: &dyn crate::FiledExport,
        record: &RecordPost<'_>,
    ) -> Result<(Vec<std::result::Result<Filed, LimitReached>>, TaxiiPost)> {
        let mut tx = self.begin().await?;
        // Each report on its own: a limit that refuses one leaves the others filed.
        let (filed, learned) = file_group(&mut tx, &self.dedup, &self.candidates, reports).await?;
        export_filed(&mut tx, reports, &filed, export).await?;
        let outcomes: Vec<std::result::Result<(), LimitReached>> = filed
            .iter()
            .map(|f| f.as_ref().map(|_| ()).map_err(|l| *l))
            .collect();
        let post = record(&outcomes);
        This::append(&mut tx, std::slice::from_ref(&post.event)).await?;
        insert_objects(&mut tx, &post.rows).await?;
        insert_status(&mut tx, &post.status).await?;
        tx.commit().await?;
        learned.committed(&self.dedup);
        Ok((filed, post))
    }
}

#[async_trait]
impl TaxiiStore for This {
    async fn taxii_objects(&self, r: &TlpAudience, q: &TaxiiQuery) -> Result<Vec<StixObjectRow>> {
        // After the reader's four parameters.
        let mut args = Args::after(4);
        let mut conditions = vec![match &q.markings {
            None => format!("s.tlp = {}", args.param(Arg::Text(q.tlp.as_str()))),
            Some(markings) => {
                let list: Vec<String> = markings
                    .iter()
                    .map(|t| args.param(Arg::Text(t.as_str())))
                    .collect();
                format!(
                    "s.tlp IN ({})",
                    if list.is_empty() {
                        "NULL".to_owned()
                    } else {
                        list.join(", ")
                    }
                )
            }
        }];
        // A community's objects are read in its collection only, by its members (the reader's organisation,
        // `$3`); every other collection reads objects of no community.
        conditions.push(match q.community {
            None => "s.community_id IS NULL".to_owned(),
            Some(community) => format!(
                "s.community_id = {} AND EXISTS (SELECT 1 FROM taxii_community_members m \
                 WHERE m.community_id = s.community_id AND m.org_id = $3)",
                args.param(Arg::Id(community))
            ),
        });
        if let Some(from) = q.added_from {
            conditions.push(format!("s.date_added >= {}", args.param(Arg::Time(from))));
        }
        if let Some(after) = &q.after {
            let (added, id, version) = (
                args.param(Arg::Time(after.added)),
                args.param(Arg::Text(&after.stix_id)),
                args.param(Arg::Text(&after.version)),
            );
            conditions.push(format!(
                "(s.date_added, s.stix_id, s.version) > ({added}, {id}, {version})"
            ));
        }
        for (column, values) in [
            ("s.stix_type", &q.types),
            ("s.spec_version", &q.spec_versions),
            ("s.stix_id", &q.ids),
        ] {
            if let Some(values) = values {
                conditions.push(format!("{column} IN ({})", args.list(values)));
            }
        }
        if let Some(condition) = version_condition(&q.versions, &mut args) {
            conditions.push(condition);
        }
        let limit = args.param(Arg::Int(q.limit));
        let sql = format!(
            "SELECT {COLUMNS} FROM stix_objects s {} WHERE {} AND {} \
             ORDER BY s.date_added, s.stix_id, s.version LIMIT {limit}",
            ADMISSION_JOINS,
            conditions.join(" AND "),
            admission(),
        );
        let query = reader_query_as(&sql, r);
        Ok(bind_args(query, args).fetch_all(&self.pool).await?)
    }

    async fn add_stix_objects(&self, rows: &[StixObjectRow]) -> Result<u64> {
        let mut tx = self.begin().await?;
        let written = insert_objects(&mut tx, rows).await?;
        tx.commit().await?;
        Ok(written)
    }

    async fn stix_origins(&self, tlp: Tlp, ids: &[String]) -> Result<Vec<StixOrigin>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<String> = (0..ids.len()).map(|n| format!("${}", n + 2)).collect();
        let sql = format!(
            "SELECT stix_id, version, added_org, advisory_id, community_id FROM stix_objects WHERE tlp = $1 AND stix_id IN ({})",
            list.join(", ")
        );
        let mut query = sqlx::query_as(&sql).bind(tlp.as_str());
        for id in ids {
            query = query.bind(id);
        }
        Ok(query.fetch_all(&self.pool).await?)
    }

    async fn file_taxii_post(
        &self,
        reports: &[(&Intake, &Decide<'_>)],
        export: &dyn crate::FiledExport,
        record: &RecordPost<'_>,
    ) -> Result<(Vec<std::result::Result<Filed, LimitReached>>, TaxiiPost)> {
        // As `file_reports`: a deadlock's victim, rolled back whole, runs again.
        let mut attempt = 1;
        loop {
            match self.taxii_post_once(reports, export, record).await {
                Err(e) if attempt < crate::sql::DEADLOCK_ATTEMPTS && crate::sql::is_deadlock(&e) => {
                    attempt += 1;
                }
                done => return done,
            }
        }
    }

    async fn taxii_status(&self, id: Uuid) -> Result<Option<TaxiiStatusRow>> {
        Ok(sqlx::query_as(
            "SELECT id, tlp, org_id, user_id, request_timestamp, total_count, successes, failures \
             FROM taxii_statuses WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn delete_stix_object(
        &self,
        tlp: Tlp,
        stix_id: &str,
        versions: &VersionMatch,
        event: &AuditEvent,
    ) -> Result<u64> {
        let mut args = Args::after(0);
        let tlp_param = args.param(Arg::Text(tlp.as_str()));
        let id_param = args.param(Arg::Text(stix_id));
        let condition = version_condition(versions, &mut args)
            .map(|c| format!(" AND {c}"))
            .unwrap_or_default();
        let sql = format!(
            "DELETE FROM stix_objects WHERE id IN (SELECT s.id FROM stix_objects s WHERE s.tlp = {tlp_param} \
             AND s.stix_id = {id_param} AND s.advisory_id IS NULL AND s.community_id IS NULL{condition})"
        );
        let mut plain = sqlx::query(&sql);
        for arg in args.values {
            plain = match arg {
                Arg::Text(text) => plain.bind(text),
                Arg::Time(at) => plain.bind(at),
                Arg::Int(n) => plain.bind(n),
                Arg::Id(id) => plain.bind(id),
            };
        }
        let mut tx = self.begin().await?;
        let deleted = plain.execute(&mut *tx).await?.rows_affected();
        if deleted > 0 {
            let mut event = event.clone();
            if let Some(details) = event.details.0.as_object_mut() {
                details.insert("versions_deleted".into(), deleted.into());
            }
            This::append(&mut tx, std::slice::from_ref(&event)).await?;
        }
        tx.commit().await?;
        Ok(deleted)
    }

    async fn add_stix_export(&self, exports: &[(&[StixObjectRow], i64)]) -> Result<u64> {
        if exports.iter().all(|(rows, _)| rows.is_empty()) {
            return Ok(0);
        }
        let mut tx = self.begin().await?;
        let written = write_export(&mut tx, exports).await?;
        tx.commit().await?;
        Ok(written)
    }

    async fn reports_without_stix(&self, after: Option<Uuid>, limit: i64) -> Result<Vec<Report>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {REPORT_COLUMNS} {REPORT_FROM} WHERE ($1 IS NULL OR r.id > $1) AND NOT EXISTS \
             (SELECT 1 FROM stix_objects s WHERE s.report_id = r.id AND s.exported_version = r.version \
             AND s.added_org IS NULL) ORDER BY r.id LIMIT $2"
        ))
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn report_for_stix(&self, id: Uuid) -> Result<Option<Report>> {
        Ok(
            sqlx::query_as(&format!("SELECT {REPORT_COLUMNS} {REPORT_FROM} WHERE r.id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn cases_without_stix(&self, after: Option<Uuid>, limit: i64) -> Result<Vec<Uuid>> {
        Ok(sqlx::query_scalar(
            "SELECT c.id FROM cases c WHERE ($1 IS NULL OR c.id > $1) \
             AND EXISTS (SELECT 1 FROM reports x WHERE x.case_id = c.id) AND NOT EXISTS \
             (SELECT 1 FROM stix_objects s WHERE s.case_id = c.id AND s.exported_version = c.version \
             AND s.advisory_id IS NULL AND s.added_org IS NULL) ORDER BY c.id LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn advisories_without_stix(&self, limit: i64) -> Result<Vec<AdvisoryRow>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {ADVISORY_COLUMNS} FROM advisories a WHERE NOT EXISTS \
             (SELECT 1 FROM stix_objects s WHERE s.advisory_id = a.id) ORDER BY a.id LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }
}

type Statement<'q> = sqlx::query::Query<'q, super::Db, <super::Db as sqlx::Database>::Arguments<'q>>;

/// Binds an object version's thirteen columns, in the order of `stix_objects`' insert columns.
pub(super) fn bind_object<'q>(query: Statement<'q>, row: &'q StixObjectRow) -> Statement<'q> {
    query
        .bind(row.id)
        .bind(row.tlp.as_str())
        .bind(&row.stix_id)
        .bind(&row.stix_type)
        .bind(&row.spec_version)
        .bind(&row.version)
        .bind(row.date_added)
        .bind(&row.body)
        .bind(row.added_org)
        .bind(row.added_by)
        .bind(row.advisory_id)
        .bind(row.case_id)
        .bind(row.report_id)
}

/// Records the status resource of a post within the transaction `tx` that writes its objects.
pub(super) async fn insert_status(
    tx: &mut sqlx::Transaction<'static, super::Db>,
    status: &TaxiiStatusRow,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO taxii_statuses (id, tlp, org_id, user_id, request_timestamp, total_count, successes, \
         failures) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(status.id)
    .bind(status.tlp.as_str())
    .bind(status.org_id)
    .bind(status.user_id)
    .bind(status.request_timestamp)
    .bind(status.total_count)
    .bind(&status.successes)
    .bind(&status.failures)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Our own objects of reports and cases, each group marked with the version of the report or case it shows
/// (`add_stix_export`), inside the caller's transaction: the rows new, and the same objects stored before
/// without a mark, get it in the same statement. Returns how many rows were written or marked.
pub(super) async fn write_export(
    conn: &mut <super::Db as sqlx::Database>::Connection,
    exports: &[(&[StixObjectRow], i64)],
) -> Result<u64> {
    // An object listed twice (by two groups) is written once, marked with the first group's version: one
    // statement may not touch a row twice.
    let mut seen = std::collections::HashSet::new();
    let rows: Vec<(&StixObjectRow, Option<i64>)> = exports
        .iter()
        .flat_map(|(rows, version)| rows.iter().map(move |row| (row, Some(*version))))
        .filter(|(row, _)| seen.insert((row.stix_id.as_str(), row.version.as_str(), row.tlp)))
        .collect();
    write_rows(
        conn,
        &rows,
        "DO UPDATE SET exported_version = excluded.exported_version WHERE stix_objects.added_org IS NULL \
         AND stix_objects.exported_version IS NULL",
    )
    .await
}

/// Inserts object versions (posted or pulled: no export mark) in batches of multi-row `INSERT`s within the
/// transaction `tx`; a version already stored is kept. Returns how many rows were new.
pub(super) async fn insert_objects<R: std::borrow::Borrow<StixObjectRow>>(
    conn: &mut <super::Db as sqlx::Database>::Connection,
    rows: &[R],
) -> Result<u64> {
    let rows: Vec<(&StixObjectRow, Option<i64>)> = rows.iter().map(|r| (r.borrow(), None)).collect();
    write_rows(conn, &rows, "DO NOTHING").await
}

/// `INSERT INTO stix_objects` of the rows with their export marks, `INSERT_BATCH` to a statement, `on_conflict`
/// deciding what becomes of a version already stored.
async fn write_rows(
    conn: &mut <super::Db as sqlx::Database>::Connection,
    rows: &[(&StixObjectRow, Option<i64>)],
    on_conflict: &str,
) -> Result<u64> {
    let mut written = 0;
    for chunk in rows.chunks(INSERT_BATCH) {
        let mut q = sqlx::QueryBuilder::<super::Db>::new(
            "INSERT INTO stix_objects (id, tlp, stix_id, stix_type, spec_version, version, date_added, body, \
             added_org, added_by, advisory_id, case_id, report_id, exported_version) ",
        );
        q.push_values(chunk, |mut b, (row, mark)| {
            b.push_bind(row.id)
                .push_bind(row.tlp.as_str())
                .push_bind(row.stix_id.as_str())
                .push_bind(row.stix_type.as_str())
                .push_bind(row.spec_version.as_str())
                .push_bind(row.version.as_str())
                .push_bind(row.date_added)
                .push_bind(row.body.as_str())
                .push_bind(row.added_org)
                .push_bind(row.added_by)
                .push_bind(row.advisory_id)
                .push_bind(row.case_id)
                .push_bind(row.report_id)
                .push_bind(*mark);
        });
        q.push(" ON CONFLICT (stix_id, version, tlp) ");
        q.push(on_conflict);
        written += q.build().execute(&mut *conn).await?.rows_affected();
    }
    Ok(written)
}
