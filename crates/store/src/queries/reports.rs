//! The SQL of `ReportStore`, compiled once for each backend (see `queries/limits.rs`). Every read of a report,
//! attachment or case compiles `tlp_admits!` with the reader as `$1`–`$4` (signed in, person, organisation,
//! coordinator).

use super::This;
use super::candidates::candidates;
use super::filed_export::export_filed;
use super::intake::{add_participant, file_group, insert_case};
use super::intake_counters::take_count;
use super::readers::{CASE_READABLE, REPORT_COLUMNS, REPORT_FROM, REPORT_READABLE, reader_query_as};
use crate::reports::{
    Attachment, Candidate, CandidateSearch, Decide, Filed, FiledExport, Intake, IntakeLimit, LimitReached,
    MovedReport, NewCase, Report, ReportAffected, ReportOrigin, ReportStore, StoredCandidate, TriageCase,
    VendorPace,
};
use crate::{AuditEvent, Page, ReportList, ReportSort, Result, StoreError, TlpAudience};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use clearinghouse::tlp::Tlp;
use uuid::Uuid;

/// Whether the reader may read the attachment `a` of the report `r`: its own marking, with the people (RED)
/// and client organisations (AMBER) named on its report — an attachment is shared as part of its report.
const ATTACHMENT_READABLE: &str = crate::tlp::tlp_admits!(
    tlp: "a.tlp",
    object: "r.id",
    owner_org: "r.org_id",
    owner_user: "r.reporter_id",
    case: "r.case_id",
    published: "c.published_at IS NOT NULL",
    reader: ("$1", "$2", "$3", "$4"),
);

const ATTACHMENT_COLUMNS: &str =
    "a.id, a.report_id, a.role, a.name, a.media_type, a.size, a.sha256, a.tlp, a.created_at";

const CASE_COLUMNS: &str = "c.id, c.reference, c.title, c.state, c.tlp, c.duplicate_of, c.created_at";

/// `$from, $from+1, …` for `n` values bound after the reader's four.
fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[async_trait]
impl ReportStore for This {
    async fn vendor_paces(&self) -> Result<Vec<VendorPace>> {
        Ok(sqlx::query_as(
            "SELECT v.org_id, o.name, CAST(v.reports_per_day AS BIGINT) AS reports_per_day, v.products \
             FROM vendor_policies v JOIN organizations o ON o.id = v.org_id \
             WHERE v.reports_per_day IS NOT NULL AND o.active ORDER BY v.org_id",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    async fn file_each(
        &self,
        batch: &[(&Intake, &Decide<'_>)],
        export: &dyn FiledExport,
    ) -> Result<Vec<std::result::Result<Filed, LimitReached>>> {
        // A group takes its reports' keys and counters in key order; a deadlock's victim (PostgreSQL), rolled
        // back whole, runs again.
        let mut attempt = 1;
        loop {
            let once = async {
                let mut tx = self.begin().await?;
                let (filed, learned) = file_group(&mut tx, &self.dedup, &self.candidates, batch).await?;
                if filed.iter().any(Result::is_ok) {
                    export_filed(&mut tx, batch, &filed, export).await?;
                    tx.commit().await?;
                    learned.committed(&self.dedup);
                }
                Ok(filed)
            };
            match once.await {
                Err(e) if attempt < crate::sql::DEADLOCK_ATTEMPTS && crate::sql::is_deadlock(&e) => {
                    attempt += 1;
                }
                done => return done,
            }
        }
    }

    async fn file_reports(
        &self,
        batch: &[(&Intake, &Decide<'_>)],
        export: &dyn FiledExport,
    ) -> Result<std::result::Result<Vec<Filed>, (usize, LimitReached)>> {
        let mut attempt = 1;
        loop {
            let once = async {
                let mut tx = self.begin().await?;
                let (filed, learned) = file_group(&mut tx, &self.dedup, &self.candidates, batch).await?;
                if let Some((i, limit)) = filed
                    .iter()
                    .enumerate()
                    .find_map(|(i, f)| f.as_ref().err().map(|l| (i, *l)))
                {
                    // Dropping the transaction rolls back the whole batch.
                    return Ok(Err((i, limit)));
                }
                export_filed(&mut tx, batch, &filed, export).await?;
                tx.commit().await?;
                learned.committed(&self.dedup);
                let all: Vec<Filed> = filed.into_iter().flatten().collect();
                Ok(Ok(all))
            };
            match once.await {
                Err(e) if attempt < crate::sql::DEADLOCK_ATTEMPTS && crate::sql::is_deadlock(&e) => {
                    attempt += 1;
                }
                done => return done,
            }
        }
    }

    async fn report_origin(&self, id: Uuid) -> Result<Option<ReportOrigin>> {
        Ok(sqlx::query_as(
            "SELECT format, document_id, version, cve FROM report_origins WHERE report_id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn dedup_candidates(&self, search: &CandidateSearch<'_>) -> Result<Vec<Candidate>> {
        let mut conn = self.pool.acquire().await?;
        candidates(&mut conn, &self.dedup, &self.candidates, search).await
    }

    fn dedup_index_size(&self) -> crate::DedupIndexSize {
        self.dedup.size()
    }

    async fn take_intake_count(&self, limit: &IntakeLimit) -> Result<bool> {
        let mut conn = self.pool.acquire().await?;
        take_count(&mut conn, limit).await
    }

    async fn readable_report(&self, id: Uuid, reader: &TlpAudience) -> Result<Option<Report>> {
        let sql = format!("SELECT {REPORT_COLUMNS} {REPORT_FROM} WHERE r.id = $5 AND {REPORT_READABLE}");
        Ok(reader_query_as(&sql, reader)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn list_readable_reports(
        &self,
        reader: &TlpAudience,
        mine: bool,
        tlp: Option<Tlp>,
        list: &ReportList,
    ) -> Result<Vec<Report>> {
        let order = match list.sort {
            ReportSort::CreatedDesc => "($7 IS NULL OR r.id < $7) ORDER BY r.id DESC",
            ReportSort::Created => "($7 IS NULL OR r.id > $7) ORDER BY r.id",
            ReportSort::Title => {
                "($10 IS NULL OR r.title > $10 OR (r.title = $10 AND r.id > $7)) ORDER BY r.title, r.id"
            }
        };
        let sql = format!(
            "SELECT {REPORT_COLUMNS} {REPORT_FROM} WHERE {REPORT_READABLE} \
             AND (NOT $5 OR r.reporter_id = $2) AND ($6 IS NULL OR r.tlp = $6) \
             AND ($9 IS NULL OR LOWER(r.title) LIKE LOWER($9) ESCAPE '\\') \
             AND {order} LIMIT $8"
        );
        let query = reader_query_as(&sql, reader)
            .bind(mine)
            .bind(tlp.map(Tlp::as_str))
            .bind(list.after)
            .bind(list.limit)
            .bind(list.search.clone());
        let query = match list.sort {
            ReportSort::Title => query.bind(list.after_title.clone()),
            _ => query,
        };
        Ok(query.fetch_all(&self.pool).await?)
    }

    async fn readable_report_ids(&self, ids: &[Uuid], reader: &TlpAudience) -> Result<Vec<Uuid>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT r.id {REPORT_FROM} WHERE r.id IN ({}) AND {REPORT_READABLE}",
            placeholders(5, ids.len())
        );
        let mut q = sqlx::query_scalar(&sql)
            .bind(reader.signed_in)
            .bind(reader.user_id)
            .bind(reader.org_id)
            .bind(reader.coordinator);
        for id in ids {
            q = q.bind(*id);
        }
        Ok(q.fetch_all(&self.pool).await?)
    }

    async fn report_affected(&self, id: Uuid) -> Result<Vec<ReportAffected>> {
        Ok(sqlx::query_as(
            "SELECT report_id, idx, product, product_key, versions FROM report_affected \
             WHERE report_id = $1 ORDER BY idx",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn report_people(&self, id: Uuid) -> Result<Vec<Uuid>> {
        Ok(
            sqlx::query_scalar("SELECT user_id FROM tlp_people WHERE object_id = $1 ORDER BY user_id")
                .bind(id)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    async fn report_owners(&self, ids: &[Uuid]) -> Result<Vec<MovedReport>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT id, reporter_id, org_id FROM reports WHERE id IN ({}) ORDER BY id",
            placeholders(1, ids.len())
        );
        let mut q = sqlx::query_as(&sql);
        for id in ids {
            q = q.bind(*id);
        }
        Ok(q.fetch_all(&self.pool).await?)
    }

    async fn reports_of_findings(&self, findings: &[Uuid]) -> Result<Vec<(Uuid, Uuid)>> {
        if findings.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT finding_id, id FROM reports WHERE finding_id IN ({}) ORDER BY finding_id",
            placeholders(1, findings.len())
        );
        let mut q = sqlx::query_as(&sql);
        for id in findings {
            q = q.bind(*id);
        }
        Ok(q.fetch_all(&self.pool).await?)
    }

    async fn report_of_finding(&self, finding_id: Uuid) -> Result<Option<Uuid>> {
        Ok(sqlx::query_scalar("SELECT id FROM reports WHERE finding_id = $1")
            .bind(finding_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn add_attachment(
        &self,
        a: &Attachment,
        sealed: &[u8],
        max_count: i64,
        max_total: i64,
        event: &AuditEvent,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "INSERT INTO report_attachments (id, report_id, role, name, media_type, size, sha256, tlp, sealed, \
             created_at) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 \
             WHERE (SELECT COUNT(*) FROM report_attachments WHERE report_id = $2) < $11 \
             AND (SELECT COALESCE(SUM(size), 0) FROM report_attachments WHERE report_id = $2) + $6 <= $12",
        )
        .bind(a.id)
        .bind(a.report_id)
        .bind(a.role.as_str())
        .bind(&a.name)
        .bind(&a.media_type)
        .bind(a.size)
        .bind(&a.sha256)
        .bind(a.tlp.as_str())
        .bind(sealed)
        .bind(a.created_at)
        .bind(max_count)
        .bind(max_total)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        if a.tlp == Tlp::Red {
            sqlx::query(
                "INSERT INTO tlp_people (object_id, user_id) SELECT $1, p.user_id FROM tlp_people p \
                 JOIN reports r ON r.id = p.object_id WHERE r.id = $2 AND r.tlp = 'red'",
            )
            .bind(a.id)
            .bind(a.report_id)
            .execute(&mut *tx)
            .await?;
        }
        Self::record(&mut tx, event).await?;
        sqlx::query("UPDATE reports SET modified_at = $2, version = version + 1 WHERE id = $1")
            .bind(a.report_id)
            .bind(a.created_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn readable_attachments(&self, report_id: Uuid, reader: &TlpAudience) -> Result<Vec<Attachment>> {
        let sql = format!(
            "SELECT {ATTACHMENT_COLUMNS} FROM report_attachments a JOIN reports r ON r.id = a.report_id \
             LEFT JOIN cases c ON c.id = r.case_id WHERE a.report_id = $5 AND {REPORT_READABLE} \
             AND {ATTACHMENT_READABLE} ORDER BY a.id LIMIT 200"
        );
        Ok(reader_query_as(&sql, reader)
            .bind(report_id)
            .fetch_all(&self.pool)
            .await?)
    }

    async fn readable_attachment(
        &self,
        report_id: Uuid,
        id: Uuid,
        reader: &TlpAudience,
    ) -> Result<Option<(Attachment, Vec<u8>)>> {
        let sql = format!(
            "SELECT {ATTACHMENT_COLUMNS} FROM report_attachments a JOIN reports r ON r.id = a.report_id \
             LEFT JOIN cases c ON c.id = r.case_id WHERE a.report_id = $5 AND a.id = $6 AND {REPORT_READABLE} \
             AND {ATTACHMENT_READABLE}"
        );
        let found: Option<Attachment> = reader_query_as(&sql, reader)
            .bind(report_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(attachment) = found else {
            return Ok(None);
        };
        let sealed: Vec<u8> = sqlx::query_scalar("SELECT sealed FROM report_attachments WHERE id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        Ok(Some((attachment, sealed)))
    }

    async fn triage_cases(&self, reader: &TlpAudience, page: &Page<Uuid>) -> Result<Vec<TriageCase>> {
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM cases c WHERE c.state = 'new' AND {CASE_READABLE} \
             AND ($5 IS NULL OR c.id > $5) ORDER BY c.id LIMIT $6"
        );
        Ok(reader_query_as(&sql, reader)
            .bind(page.after)
            .bind(page.limit)
            .fetch_all(&self.pool)
            .await?)
    }

    async fn reports_of_cases(&self, case_ids: &[Uuid], reader: &TlpAudience) -> Result<Vec<Report>> {
        let mut out = Vec::new();
        for case in case_ids {
            let sql = format!(
                "SELECT {REPORT_COLUMNS} {REPORT_FROM} WHERE r.case_id = $5 AND {REPORT_READABLE} \
                 ORDER BY r.id LIMIT 500"
            );
            let rows: Vec<Report> = reader_query_as(&sql, reader)
                .bind(case)
                .fetch_all(&self.pool)
                .await?;
            out.extend(rows);
        }
        Ok(out)
    }

    async fn candidates_of(&self, report_ids: &[Uuid], reader: &TlpAudience) -> Result<Vec<StoredCandidate>> {
        let mut out = Vec::new();
        for report in report_ids {
            let sql = format!(
                "SELECT k.report_id, k.candidate_id, r.case_id AS candidate_case_id, k.score \
                 FROM report_candidates k JOIN reports r ON r.id = k.candidate_id \
                 LEFT JOIN cases c ON c.id = r.case_id WHERE k.report_id = $5 AND {REPORT_READABLE} \
                 ORDER BY k.score DESC, k.candidate_id LIMIT 50"
            );
            let rows: Vec<StoredCandidate> = reader_query_as(&sql, reader)
                .bind(report)
                .fetch_all(&self.pool)
                .await?;
            out.extend(rows);
        }
        Ok(out)
    }

    async fn readable_case(&self, id: Uuid, reader: &TlpAudience) -> Result<Option<TriageCase>> {
        let sql = format!("SELECT {CASE_COLUMNS} FROM cases c WHERE c.id = $5 AND {CASE_READABLE}");
        Ok(reader_query_as(&sql, reader)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn merge_cases(
        &self,
        from: Uuid,
        into: Uuid,
        at: DateTime<Utc>,
        event: &AuditEvent,
    ) -> Result<Vec<MovedReport>> {
        let mut tx = self.begin().await?;
        let moved: Vec<MovedReport> =
            sqlx::query_as("SELECT id, reporter_id, org_id FROM reports WHERE case_id = $1 ORDER BY id")
                .bind(from)
                .fetch_all(&mut *tx)
                .await?;
        let mut event = event.clone();
        if let Some(details) = event.details.0.as_object_mut() {
            let ids: Vec<String> = moved.iter().map(|m| m.id.to_string()).collect();
            details.insert("reports".into(), ids.into());
        }
        Self::record(&mut tx, &event).await?;
        let closed = sqlx::query(
            "UPDATE cases SET state = 'duplicate', duplicate_of = $2, modified_at = $3, version = version + 1 \
             WHERE id = $1 AND state NOT IN ('duplicate', 'published', 'rejected')",
        )
        .bind(from)
        .bind(into)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        if closed.rows_affected() != 1 {
            return Err(StoreError::Stale("case"));
        }
        let target = sqlx::query(
            "UPDATE cases SET modified_at = $2, version = version + 1 \
             WHERE id = $1 AND state NOT IN ('duplicate', 'published', 'rejected')",
        )
        .bind(into)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        if target.rows_affected() != 1 {
            return Err(StoreError::Stale("case"));
        }
        let original: Option<Uuid> =
            sqlx::query_scalar("SELECT id FROM reports WHERE case_id = $1 ORDER BY created_at, id LIMIT 1")
                .bind(into)
                .fetch_optional(&mut *tx)
                .await?;
        sqlx::query(
            "UPDATE reports SET case_id = $2, duplicate_of = COALESCE(duplicate_of, $3), modified_at = $4, \
             version = version + 1 WHERE case_id = $1",
        )
        .bind(from)
        .bind(into)
        .bind(original)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO case_participants (case_id, org_id, role, added_at, notified_at) \
             SELECT $2, org_id, role, $3, COALESCE(notified_at, $3) FROM case_participants WHERE case_id = $1 \
             ON CONFLICT (case_id, org_id) DO NOTHING",
        )
        .bind(from)
        .bind(into)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(moved)
    }

    async fn split_case(
        &self,
        from: Uuid,
        reports: &[Uuid],
        new_case: &NewCase,
        created_by: Uuid,
        at: DateTime<Utc>,
        events: &[AuditEvent],
    ) -> Result<String> {
        let mut tx = self.begin().await?;
        for event in events {
            Self::record(&mut tx, event).await?;
        }
        let tlp: Option<String> = sqlx::query_scalar(
            "UPDATE cases SET modified_at = $2, version = version + 1 WHERE id = $1 \
             AND state NOT IN ('duplicate', 'published', 'rejected') RETURNING tlp",
        )
        .bind(from)
        .bind(at)
        .fetch_optional(&mut *tx)
        .await?;
        let tlp = tlp
            .ok_or(StoreError::Stale("case"))?
            .try_into()
            .map_err(|_| StoreError::Corrupt("a case's TLP marking"))?;
        let reference = insert_case(&mut tx, new_case, tlp, created_by, at).await?;
        sqlx::query(
            "INSERT INTO tlp_people (object_id, user_id) SELECT $2, user_id FROM tlp_people WHERE object_id = $1",
        )
        .bind(from)
        .bind(new_case.id)
        .execute(&mut *tx)
        .await?;
        for report in reports {
            let moved: Option<Uuid> = sqlx::query_scalar(
                "UPDATE reports SET case_id = $3, duplicate_of = NULL, duplicate_score = NULL, modified_at = $4, \
                 version = version + 1 WHERE id = $1 AND case_id = $2 RETURNING org_id",
            )
            .bind(report)
            .bind(from)
            .bind(new_case.id)
            .bind(at)
            .fetch_optional(&mut *tx)
            .await?;
            let org = moved.ok_or(StoreError::Stale("report"))?;
            add_participant(&mut tx, new_case.id, org, "reporter", at, true).await?;
        }
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM reports WHERE case_id = $1")
            .bind(from)
            .fetch_one(&mut *tx)
            .await?;
        if left == 0 {
            return Err(StoreError::Stale("case"));
        }
        tx.commit().await?;
        Ok(reference)
    }
}
