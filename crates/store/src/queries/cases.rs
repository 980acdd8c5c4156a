//! The SQL of `CaseStore`, compiled once for each backend (see `queries/limits.rs`). Every read a person makes
//! compiles their `TlpAudience` through `tlp_admits!`, bound as `$1`–`$4` (or after the object's id).

use super::readers::{CASE_READABLE, bind_reader, reader_query_as};
use super::{Db, This};
use crate::cases::{
    AffectedRow, CasePost, CaseQuery, CaseReportRow, CaseRow, CaseStore, CaseUpdate, InboxCase,
    NewParticipant, ParticipantRow, ReportScope, VendorPolicy, VendorStatusRow,
};
use crate::{AuditEvent, Result, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Datelike, Utc};
use kernel::TlpAudience;
use uuid::Uuid;

pub(crate) const CASE_COLUMNS: &str = "c.id, c.reference, c.title, c.summary, c.state, c.tlp, c.duplicate_of, \
     c.embargo_ends_at, c.published_at, c.sectors, c.created_by, c.created_at, c.modified_at, c.version, c.cve";

/// Whether the reader (`$2` signed in, `$3` person, `$4` organisation, `$5` coordinator) may read the report `x`
/// of the case `c` (the case's id is `$1`).
const REPORT_ADMITS: &str = crate::tlp::tlp_admits!(
    tlp: "x.tlp",
    object: "x.id",
    owner_org: "x.org_id",
    owner_user: "x.reporter_id",
    case: "x.case_id",
    published: "c.published_at IS NOT NULL",
    reader: ("$2", "$3", "$4", "$5"),
);

/// The condition that the report `x` (of the case `c`) is in the scope: the TLP rule for a reader, or its
/// marking among those given (names of the closed set `Tlp`, never the caller's text).
fn in_scope(scope: ReportScope<'_>) -> String {
    match scope {
        ReportScope::Reader(_) => REPORT_ADMITS.to_owned(),
        ReportScope::Markings(markings) => crate::tlp::marking_in("x.tlp", markings),
    }
}

/// A query about the case `$1` whose condition is `in_scope(scope)`: binds the case, then the reader if any.
fn scoped_query<'q, T>(
    sql: &'q str,
    case_id: Uuid,
    scope: ReportScope<'_>,
) -> sqlx::query::QueryAs<'q, Db, T, <Db as sqlx::Database>::Arguments<'q>>
where
    T: for<'r> sqlx::FromRow<'r, <Db as sqlx::Database>::Row>,
{
    let query = sqlx::query_as(sql).bind(case_id);
    match scope {
        ReportScope::Reader(r) => bind_reader(query, r),
        ReportScope::Markings(_) => query,
    }
}

const POST_SELECT: &str = "SELECT p.id, p.case_id, p.reply_to, p.author_id, u.display_name AS author_name, \
     p.org_id, o.name AS org_name, p.body, p.created_at FROM case_posts p \
     JOIN users u ON u.id = p.author_id JOIN organizations o ON o.id = p.org_id";

const POLICY_COLUMNS: &str =
    "org_id, embargo_days, ai_found_public, require_reproducer, reports_per_day, products, updated_at";

/// Takes the next number of the year from a counter table (`case_numbers`, `advisory_numbers`) inside the
/// caller's transaction: one upsert, so concurrent openings never share a number.
pub(crate) async fn next_number(
    conn: &mut <Db as sqlx::Database>::Connection,
    table: &str,
    year: i32,
) -> Result<i64> {
    next_numbers(conn, table, year, 1).await
}

/// Takes `count` numbers of `year` in `table` at once: the first of them (the others follow it).
pub(crate) async fn next_numbers(
    conn: &mut <Db as sqlx::Database>::Connection,
    table: &str,
    year: i32,
    count: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(&format!(
        "INSERT INTO {table} (year, next) VALUES ($1, 1 + $2) \
         ON CONFLICT (year) DO UPDATE SET next = {table}.next + $2 RETURNING next - $2"
    ))
    .bind(year)
    .bind(count.max(1))
    .fetch_one(&mut *conn)
    .await?)
}

/// The next reference of `year`'s cases, `PLC-<year>-<n>`, taken inside the caller's transaction (a case opened
/// by a coordinator, by intake or by a split).
pub(crate) async fn case_reference(
    conn: &mut <Db as sqlx::Database>::Connection,
    year: i32,
) -> Result<String> {
    let n = next_number(conn, "case_numbers", year).await?;
    Ok(format!("PLC-{year}-{n}"))
}

async fn case_in(conn: &mut <Db as sqlx::Database>::Connection, id: Uuid) -> Result<CaseRow> {
    Ok(
        sqlx::query_as(&format!("SELECT {CASE_COLUMNS} FROM cases c WHERE c.id = $1"))
            .bind(id)
            .fetch_one(&mut *conn)
            .await?,
    )
}

async fn add_participants_in(
    conn: &mut <Db as sqlx::Database>::Connection,
    case_id: Uuid,
    at: DateTime<Utc>,
    participants: &[NewParticipant],
) -> Result<()> {
    for p in participants {
        sqlx::query(
            "INSERT INTO case_participants (case_id, org_id, role, added_at, notified_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (case_id, org_id) DO NOTHING",
        )
        .bind(case_id)
        .bind(p.org_id)
        .bind(p.role.as_str())
        .bind(at)
        .bind(p.notified_at)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Bumps the case's version and modified time, as every change of what the case holds does.
async fn touch_case(
    conn: &mut <Db as sqlx::Database>::Connection,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<()> {
    let done = sqlx::query("UPDATE cases SET version = version + 1, modified_at = $2 WHERE id = $1")
        .bind(id)
        .bind(at)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() != 1 {
        return Err(StoreError::Stale("case"));
    }
    Ok(())
}

#[async_trait]
impl CaseStore for This {
    async fn open_case(
        &self,
        case: &CaseRow,
        participants: &[NewParticipant],
        event: &AuditEvent,
    ) -> Result<CaseRow> {
        let mut tx = self.begin().await?;
        This::record(&mut tx, event).await?;
        let reference = case_reference(&mut tx, case.created_at.year()).await?;
        sqlx::query(
            "INSERT INTO cases (id, reference, title, summary, state, tlp, duplicate_of, embargo_ends_at, \
             published_at, sectors, created_by, created_at, modified_at, version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(case.id)
        .bind(reference)
        .bind(&case.title)
        .bind(&case.summary)
        .bind(case.state.as_str())
        .bind(case.tlp.as_str())
        .bind(case.duplicate_of)
        .bind(case.embargo_ends_at)
        .bind(case.published_at)
        .bind(&case.sectors)
        .bind(case.created_by)
        .bind(case.created_at)
        .bind(case.modified_at)
        .bind(case.version)
        .execute(&mut *tx)
        .await?;
        add_participants_in(&mut tx, case.id, case.created_at, participants).await?;
        let stored = case_in(&mut tx, case.id).await?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn get_case(&self, id: Uuid) -> Result<Option<CaseRow>> {
        Ok(
            sqlx::query_as(&format!("SELECT {CASE_COLUMNS} FROM cases c WHERE c.id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn visible_case(&self, id: Uuid, r: &TlpAudience) -> Result<Option<CaseRow>> {
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM cases c WHERE c.id = $5 AND {}",
            CASE_READABLE
        );
        Ok(reader_query_as(&sql, r)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn list_cases(&self, q: &CaseQuery) -> Result<Vec<CaseRow>> {
        let r = &q.reader;
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM cases c WHERE {} AND ($5 IS NULL OR c.state = $5) \
             AND (NOT $6 OR EXISTS (SELECT 1 FROM case_participants m WHERE m.case_id = c.id AND m.org_id = $3)) \
             AND ($7 IS NULL OR c.id > $7) ORDER BY c.id LIMIT $8",
            CASE_READABLE
        );
        Ok(reader_query_as(&sql, r)
            .bind(q.state.map(|s| s.as_str()))
            .bind(q.mine)
            .bind(q.after)
            .bind(q.limit)
            .fetch_all(&self.pool)
            .await?)
    }

    async fn vendor_inbox(
        &self,
        reader: &TlpAudience,
        before: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<InboxCase>> {
        let sql = format!(
            "SELECT {CASE_COLUMNS}, EXISTS (SELECT 1 FROM case_vendor_status s WHERE s.case_id = c.id \
             AND s.org_id = $3) AS stated FROM cases c WHERE {} AND EXISTS (SELECT 1 FROM case_participants v \
             WHERE v.case_id = c.id AND v.org_id = $3 AND v.role = 'vendor') AND ($5 IS NULL OR c.id < $5) \
             ORDER BY c.id DESC LIMIT $6",
            CASE_READABLE
        );
        Ok(reader_query_as(&sql, reader)
            .bind(before)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    async fn update_case(&self, u: &CaseUpdate, events: &[AuditEvent]) -> Result<CaseRow> {
        let mut tx = self.begin().await?;
        This::append(&mut tx, events).await?;
        let done = sqlx::query(
            "UPDATE cases SET state = COALESCE($3, state), embargo_ends_at = COALESCE($4, embargo_ends_at), \
             modified_at = $5, version = version + 1 WHERE id = $1 AND version = $2",
        )
        .bind(u.case_id)
        .bind(u.version)
        .bind(u.state.as_ref().map(|(_, to, _)| to.as_str()))
        .bind(u.embargo.as_ref().map(|e| e.ends_at))
        .bind(u.at)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Stale("case"));
        }
        if let Some((from, to, reason)) = &u.state {
            sqlx::query(
                "INSERT INTO case_state_changes (id, case_id, from_state, to_state, reason, changed_by, changed_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(Uuid::now_v7())
            .bind(u.case_id)
            .bind(from.as_str())
            .bind(to.as_str())
            .bind(reason.as_deref())
            .bind(u.by)
            .bind(u.at)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(e) = &u.embargo {
            sqlx::query(
                "INSERT INTO case_embargo_changes (id, case_id, previous, embargo_ends_at, reason, changed_by, \
                 changed_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(e.id)
            .bind(u.case_id)
            .bind(e.previous)
            .bind(e.ends_at)
            .bind(&e.reason)
            .bind(u.by)
            .bind(u.at)
            .execute(&mut *tx)
            .await?;
        }
        add_participants_in(&mut tx, u.case_id, u.at, &u.add).await?;
        for org in &u.notify {
            sqlx::query(
                "UPDATE case_participants SET notified_at = $3 \
                 WHERE case_id = $1 AND org_id = $2 AND notified_at IS NULL",
            )
            .bind(u.case_id)
            .bind(org)
            .bind(u.at)
            .execute(&mut *tx)
            .await?;
        }
        super::jobs::enqueue_in(&mut tx, &u.jobs).await?;
        let stored = case_in(&mut tx, u.case_id).await?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn case_participants(&self, case_id: Uuid) -> Result<Vec<ParticipantRow>> {
        Ok(sqlx::query_as(
            "SELECT p.org_id, o.name AS org_name, o.kind AS org_kind, p.role, p.added_at, p.notified_at \
             FROM case_participants p JOIN organizations o ON o.id = p.org_id WHERE p.case_id = $1 \
             ORDER BY p.added_at, p.org_id",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn remove_participant(&self, case_id: Uuid, org_id: Uuid, event: &AuditEvent) -> Result<()> {
        let mut tx = self.begin().await?;
        This::record(&mut tx, event).await?;
        sqlx::query("DELETE FROM case_vendor_status WHERE case_id = $1 AND org_id = $2")
            .bind(case_id)
            .bind(org_id)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM case_participants WHERE case_id = $1 AND org_id = $2")
            .bind(case_id)
            .bind(org_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Stale("participant"));
        }
        touch_case(&mut tx, case_id, event.at).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn case_vendor_statuses(
        &self,
        case_id: Uuid,
        scope: ReportScope<'_>,
    ) -> Result<Vec<VendorStatusRow>> {
        let sql = format!(
            "SELECT s.case_id, s.org_id, o.name AS org_name, s.report_id, s.status, s.statement, s.updated_by, \
             s.updated_at FROM case_vendor_status s JOIN organizations o ON o.id = s.org_id \
             JOIN reports x ON x.id = s.report_id JOIN cases c ON c.id = s.case_id \
             WHERE s.case_id = $1 AND {} ORDER BY o.name, s.org_id, s.report_id LIMIT 5000",
            in_scope(scope)
        );
        Ok(scoped_query(&sql, case_id, scope).fetch_all(&self.pool).await?)
    }

    async fn put_vendor_status(&self, s: &VendorStatusRow, event: &AuditEvent) -> Result<()> {
        let mut tx = self.begin().await?;
        This::record(&mut tx, event).await?;
        sqlx::query(
            "INSERT INTO case_vendor_status (case_id, org_id, report_id, status, statement, updated_by, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (case_id, org_id, report_id) DO UPDATE SET \
             status = excluded.status, statement = excluded.statement, updated_by = excluded.updated_by, \
             updated_at = excluded.updated_at",
        )
        .bind(s.case_id)
        .bind(s.org_id)
        .bind(s.report_id)
        .bind(s.status.as_str())
        .bind(&s.statement)
        .bind(s.updated_by)
        .bind(s.updated_at)
        .execute(&mut *tx)
        .await?;
        touch_case(&mut tx, s.case_id, s.updated_at).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn case_reports(&self, case_id: Uuid, scope: ReportScope<'_>) -> Result<Vec<CaseReportRow>> {
        let sql = format!(
            "SELECT x.id, x.title, x.org_id, x.tlp, x.finder_kind, x.finder_name, x.ai_found, x.cwe, x.cvss_v3, \
             x.cvss_v3_score, x.cvss_v4, x.cvss_v4_score, x.duplicate_of, x.created_at \
             FROM reports x JOIN cases c ON c.id = x.case_id WHERE x.case_id = $1 AND x.kind = 'vulnerability' \
             AND {} ORDER BY x.id LIMIT 1000",
            in_scope(scope)
        );
        Ok(scoped_query(&sql, case_id, scope).fetch_all(&self.pool).await?)
    }

    async fn case_affected(&self, case_id: Uuid, scope: ReportScope<'_>) -> Result<Vec<AffectedRow>> {
        let sql = format!(
            "SELECT a.report_id, a.product, a.versions FROM report_affected a JOIN reports x ON x.id = a.report_id \
             JOIN cases c ON c.id = x.case_id WHERE x.case_id = $1 AND {} ORDER BY a.report_id, a.idx LIMIT 2000",
            in_scope(scope)
        );
        Ok(scoped_query(&sql, case_id, scope).fetch_all(&self.pool).await?)
    }

    async fn case_has_reproducer(&self, case_id: Uuid) -> Result<bool> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM report_attachments a JOIN reports x ON x.id = a.report_id \
             WHERE x.case_id = $1 AND a.role = 'reproducer')",
        )
        .bind(case_id)
        .fetch_one(&self.pool)
        .await?)
    }

    async fn add_case_post(&self, p: &CasePost, event: &AuditEvent) -> Result<()> {
        let statement = sqlx::query(
            "INSERT INTO case_posts (id, case_id, reply_to, author_id, org_id, body, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(p.id)
        .bind(p.case_id)
        .bind(p.reply_to)
        .bind(p.author_id)
        .bind(p.org_id)
        .bind(&p.body)
        .bind(p.created_at);
        self.execute_recorded(event, statement, None).await
    }

    async fn get_case_post(&self, id: Uuid) -> Result<Option<CasePost>> {
        Ok(sqlx::query_as(&format!("{POST_SELECT} WHERE p.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn list_case_posts(&self, case_id: Uuid, after: Option<Uuid>, limit: i64) -> Result<Vec<CasePost>> {
        Ok(sqlx::query_as(&format!(
            "{POST_SELECT} WHERE p.case_id = $1 AND ($2 IS NULL OR p.id > $2) ORDER BY p.id LIMIT $3"
        ))
        .bind(case_id)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn get_vendor_policy(&self, org_id: Uuid) -> Result<Option<VendorPolicy>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {POLICY_COLUMNS} FROM vendor_policies WHERE org_id = $1"
        ))
        .bind(org_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn vendor_policies_of(&self, org_ids: &[Uuid]) -> Result<Vec<VendorPolicy>> {
        if org_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut select = sqlx::QueryBuilder::<Db>::new(format!(
            "SELECT {POLICY_COLUMNS} FROM vendor_policies WHERE org_id IN ("
        ));
        let mut ids = select.separated(", ");
        for id in org_ids {
            ids.push_bind(*id);
        }
        select.push(") ORDER BY org_id");
        Ok(select.build_query_as().fetch_all(&self.pool).await?)
    }

    async fn vendor_policies_with_products(&self, limit: i64) -> Result<Vec<VendorPolicy>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {POLICY_COLUMNS} FROM vendor_policies v WHERE v.products <> '[]' \
             AND EXISTS (SELECT 1 FROM organizations o WHERE o.id = v.org_id AND o.active) ORDER BY org_id LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn put_vendor_policy(&self, v: &VendorPolicy, event: &AuditEvent) -> Result<()> {
        let sql = format!(
            "INSERT INTO vendor_policies ({POLICY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (org_id) DO UPDATE SET embargo_days = excluded.embargo_days, \
             ai_found_public = excluded.ai_found_public, require_reproducer = excluded.require_reproducer, \
             reports_per_day = excluded.reports_per_day, products = excluded.products, \
             updated_at = excluded.updated_at"
        );
        let statement = sqlx::query(&sql)
            .bind(v.org_id)
            .bind(v.embargo_days)
            .bind(v.ai_found_public)
            .bind(v.require_reproducer)
            .bind(v.reports_per_day)
            .bind(&v.products)
            .bind(v.updated_at);
        self.execute_recorded(event, statement, None).await
    }

    async fn set_case_cve(
        &self,
        case_id: Uuid,
        version: i64,
        cve: Option<&str>,
        at: DateTime<Utc>,
        event: &AuditEvent,
    ) -> Result<std::result::Result<CaseRow, (Uuid, String)>> {
        let mut tx = self.begin().await?;
        if let Some(cve) = cve {
            let holder: Option<(Uuid, String)> =
                sqlx::query_as("SELECT id, reference FROM cases WHERE cve = $1 AND id <> $2")
                    .bind(cve)
                    .bind(case_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some(holder) = holder {
                return Ok(Err(holder));
            }
        }
        This::record(&mut tx, event).await?;
        let done = sqlx::query(
            "UPDATE cases SET cve = $3, modified_at = $4, version = version + 1 WHERE id = $1 AND version = $2",
        )
        .bind(case_id)
        .bind(version)
        .bind(cve)
        .bind(at)
        .execute(&mut *tx)
        .await
        // Another case took the id between the check above and this write.
        .map_err(crate::sql::conflict("case CVE id"))?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Stale("case"));
        }
        let stored = case_in(&mut tx, case_id).await?;
        tx.commit().await?;
        Ok(Ok(stored))
    }

    async fn cases_embargo_ending(&self, from: DateTime<Utc>, until: DateTime<Utc>) -> Result<Vec<CaseRow>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {CASE_COLUMNS} FROM cases c WHERE c.published_at IS NULL \
             AND c.state NOT IN ('published', 'rejected', 'duplicate') \
             AND c.embargo_ends_at > $1 AND c.embargo_ends_at <= $2 ORDER BY c.embargo_ends_at, c.id LIMIT 500"
        ))
        .bind(from)
        .bind(until)
        .fetch_all(&self.pool)
        .await?)
    }
}
