//! The SQL of `ReportStore`, compiled once for each backend (see `queries/limits.rs`). Every read of a report,
//! attachment or case compiles `tlp_admits!` with the reader as `$1`–`$4` (signed in, person, organisation,
//! coordinator).

use super::readers::{CASE_READABLE, REPORT_COLUMNS, REPORT_FROM, REPORT_READABLE, reader_query_as};
use super::{Db, This};
use crate::reports::{
    Attachment, Candidate, CandidateSearch, Decide, Filed, Intake, IntakeLimit, LimitReached, MovedReport,
    NewCase, Report, ReportAffected, ReportOrigin, ReportStore, StoredCandidate, TriageCase, VendorPace,
};
use crate::{AuditEvent, Page, ReportList, ReportSort, Result, StoreError, TlpAudience};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use clearinghouse::tlp::Tlp;
use sqlx::types::Json;
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

type Conn = <Db as sqlx::Database>::Connection;

/// `$from, $from+1, …` for `n` values bound after the reader's four.
fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Opens a case in state `new`.
async fn insert_case(
    conn: &mut Conn,
    case: &NewCase,
    tlp: Tlp,
    created_by: Uuid,
    at: DateTime<Utc>,
) -> Result<String> {
    let reference = super::cases::case_reference(conn, case.year).await?;
    sqlx::query(
        "INSERT INTO cases (id, reference, title, summary, state, tlp, sectors, created_by, created_at, \
         modified_at, version) VALUES ($1, $2, $3, '', 'new', $4, $5, $6, $7, $7, 1)",
    )
    .bind(case.id)
    .bind(&reference)
    .bind(&case.title)
    .bind(tlp.as_str())
    .bind(Json(&case.sectors))
    .bind(created_by)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(reference)
}

/// Makes an organisation a participant of a case (nothing when it already is one), notified now when
/// `notified`: a notified participant reads the case's objects under embargo.
async fn add_participant(
    conn: &mut Conn,
    case: Uuid,
    org: Uuid,
    role: &str,
    at: DateTime<Utc>,
    notified: bool,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO case_participants (case_id, org_id, role, added_at, notified_at) \
         VALUES ($1, $2, $3, $4, CASE WHEN $5 THEN $4 END) ON CONFLICT (case_id, org_id) DO NOTHING",
    )
    .bind(case)
    .bind(org)
    .bind(role)
    .bind(at)
    .bind(notified)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Names people for an object (TLP:RED).
async fn add_people(conn: &mut Conn, object: Uuid, people: &[Uuid]) -> Result<()> {
    for person in people {
        sqlx::query("INSERT INTO tlp_people (object_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(object)
            .bind(person)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Counts one more in an intake counter unless it is full; false when full (nothing changed).
async fn take_count(conn: &mut Conn, limit: &IntakeLimit) -> Result<bool> {
    let taken: Option<i64> = sqlx::query_scalar(
        "INSERT INTO intake_counters (scope, window_start, count) SELECT $1, $2, 1 WHERE $3 >= 1 \
         ON CONFLICT (scope, window_start) DO UPDATE SET count = intake_counters.count + 1 \
         WHERE intake_counters.count < $3 RETURNING count",
    )
    .bind(&limit.scope)
    .bind(limit.window_start)
    .bind(limit.max)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(taken.is_some())
}

/// Serialises intakes that could be duplicates of each other. PostgreSQL: a transaction-scoped advisory lock
/// on each of the reports' exact and band keys, taken in key order (so two intakes never wait on each
/// other in a cycle; a batch takes all of its reports' keys at once) before the intake counters and the
/// candidate search; a second report sharing a
/// key with one being filed waits for its commit, and its search then sees it (each statement of a READ
/// COMMITTED transaction reads what was committed before it began). Reports sharing no key cannot find
/// each other anyway. SQLite: nothing to do, `BEGIN IMMEDIATE` already serialises every intake.
pub(super) async fn lock_keys(conn: &mut Conn, intakes: &[&Intake]) -> Result<()> {
    if This::BACKEND != crate::Backend::Postgres {
        return Ok(());
    }
    let mut locks: Vec<i64> = Vec::new();
    for (_, keys, bands) in intakes.iter().filter_map(|i| i.fingerprint.as_ref()) {
        locks.extend_from_slice(keys);
        locks.extend(bands.iter().enumerate().map(|(band, key)| band_lock(band, *key)));
    }
    locks.sort_unstable();
    locks.dedup();
    if locks.is_empty() {
        return Ok(());
    }
    let mut q = sqlx::QueryBuilder::<Db>::new("SELECT pg_advisory_xact_lock(k) FROM (VALUES ");
    let mut values = q.separated(", ");
    for lock in &locks {
        values.push("(");
        values.push_bind_unseparated(*lock);
        values.push_unseparated(")");
    }
    // Volatile functions in the output are evaluated after ORDER BY: the locks are taken in key order.
    q.push(") AS l (k) ORDER BY k");
    q.build().execute(&mut *conn).await?;
    Ok(())
}

/// The advisory lock of one band key: the band's index mixed into its key, so band keys and exact keys
/// rarely share a lock (when they do, two intakes wait for each other needlessly, nothing worse).
fn band_lock(band: usize, key: i64) -> i64 {
    let band = u64::try_from(band).unwrap_or(u64::MAX);
    (key as u64 ^ band.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15)).rotate_left(17) as i64
}

/// The stored reports sharing an exact key or a band key with a fingerprint, newest first, with their
/// fingerprints and products: two queries.
async fn candidates(conn: &mut Conn, search: &CandidateSearch<'_>) -> Result<Vec<Candidate>> {
    let (keys, bands) = (search.keys, search.bands);
    if keys.is_empty() && bands.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = sqlx::QueryBuilder::<Db>::new(
        "SELECT r.id, r.case_id, f.fingerprint FROM reports r \
         JOIN report_fingerprints f ON f.report_id = r.id WHERE r.id IN (",
    );
    let mut first = true;
    let mut union = |q: &mut sqlx::QueryBuilder<'_, Db>| {
        if !first {
            q.push(" UNION ");
        }
        first = false;
    };
    for (i, key) in keys.iter().enumerate() {
        union(&mut q);
        q.push("SELECT report_id FROM (SELECT report_id FROM report_keys WHERE key = ");
        q.push_bind(*key);
        q.push(" ORDER BY report_id DESC LIMIT ");
        q.push_bind(search.candidate_limit);
        q.push(format!(") k{i}"));
    }
    for (band, key) in bands.iter().enumerate() {
        union(&mut q);
        q.push("SELECT report_id FROM (SELECT report_id FROM report_bands WHERE band = ");
        q.push_bind(i32::try_from(band).unwrap_or(i32::MAX));
        q.push(" AND key = ");
        q.push_bind(*key);
        q.push(" ORDER BY report_id DESC LIMIT ");
        q.push_bind(search.band_limit);
        q.push(format!(") b{band}"));
    }
    q.push(") ORDER BY r.id DESC LIMIT ");
    q.push_bind(search.candidate_limit);
    let rows: Vec<(Uuid, Option<Uuid>, Vec<u8>)> = q.build_query_as().fetch_all(&mut *conn).await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = sqlx::QueryBuilder::<Db>::new(
        "SELECT report_id, idx, product, product_key, versions FROM report_affected WHERE report_id IN (",
    );
    let mut ids = q.separated(", ");
    for (id, _, _) in &rows {
        ids.push_bind(*id);
    }
    q.push(") ORDER BY report_id, idx");
    let affected: Vec<ReportAffected> = q.build_query_as().fetch_all(&mut *conn).await?;
    Ok(rows
        .into_iter()
        .map(|(report_id, case_id, fingerprint)| Candidate {
            report_id,
            case_id,
            fingerprint,
            affected: affected
                .iter()
                .filter(|a| a.report_id == report_id)
                .cloned()
                .collect(),
        })
        .collect())
}

impl This {
    /// `file_reports`' one transaction.
    async fn file_batch(
        &self,
        batch: &[(&Intake, &Decide<'_>)],
    ) -> Result<std::result::Result<Vec<Filed>, (usize, LimitReached)>> {
        let mut tx = self.begin().await?;
        // Every report's keys at once, in key order, so that batches sharing keys wait rather than deadlock
        // (each report takes its own again below, which a transaction already holding them passes through).
        let intakes: Vec<&Intake> = batch.iter().map(|(intake, _)| *intake).collect();
        lock_keys(&mut tx, &intakes).await?;
        let mut all = Vec::with_capacity(batch.len());
        for (i, (intake, decide)) in batch.iter().enumerate() {
            match file_in(&mut tx, intake, decide).await? {
                Ok(filed) => all.push(filed),
                // Dropping the transaction rolls back the reports filed before this one.
                Err(limit) => return Ok(Err((i, limit))),
            }
        }
        tx.commit().await?;
        Ok(Ok(all))
    }
}

/// One report's intake inside the caller's transaction (see `ReportStore::file_report`); the caller commits,
/// or drops the transaction when a limit refused the report. A TAXII post files its reports through it too
/// (`queries/taxii.rs`).
pub(super) async fn file_in(
    tx: &mut Conn,
    intake: &Intake,
    decide: &Decide<'_>,
) -> Result<std::result::Result<Filed, LimitReached>> {
    let r = &intake.report;
    let dedup_started = std::time::Instant::now();
    // The keys first (PostgreSQL; a batch took all of its reports' keys already), then the counters: a write,
    // so SQLite takes its write lock before anything is read.
    lock_keys(&mut *tx, &[intake]).await?;
    for (i, limit) in intake.limits.iter().enumerate() {
        if !take_count(&mut *tx, limit).await? {
            return Ok(Err(LimitReached(i)));
        }
    }
    let found = match &intake.fingerprint {
        Some((_, keys, bands)) => {
            let search = CandidateSearch {
                keys,
                bands,
                band_limit: intake.band_limit,
                candidate_limit: intake.candidate_limit,
            };
            candidates(&mut *tx, &search).await?
        }
        None => Vec::new(),
    };
    let decision = decide(&found);
    let dedup = dedup_started.elapsed();
    let case_of = |id: Uuid| found.iter().find(|c| c.report_id == id).and_then(|c| c.case_id);
    let mut joined = decision
        .join
        .and_then(|(report, score)| case_of(report).map(|case| (Some(report), case, score)));
    let cve = intake.origin.as_ref().and_then(|o| o.cve.as_deref());
    if let (None, Some(cve)) = (&joined, cve) {
        // A report naming a CVE id that a case holds is that case's: it joins it, as a duplicate of the
        // case's first report.
        if let Some(case) = sqlx::query_scalar::<_, Uuid>("SELECT id FROM cases WHERE cve = $1")
            .bind(cve)
            .fetch_optional(&mut *tx)
            .await?
        {
            let first: Option<Uuid> = sqlx::query_scalar(
                "SELECT id FROM reports WHERE case_id = $1 ORDER BY created_at, id LIMIT 1",
            )
            .bind(case)
            .fetch_optional(&mut *tx)
            .await?;
            joined = Some((first, case, 1.0));
        }
    }
    let mut report = r.clone();
    let (case_id, reference) = match (&joined, &intake.new_case) {
        (Some((duplicate_of, case, score)), _) => {
            report.duplicate_of = *duplicate_of;
            report.duplicate_score = duplicate_of.map(|_| *score);
            let reference: Option<String> = sqlx::query_scalar("SELECT reference FROM cases WHERE id = $1")
                .bind(case)
                .fetch_optional(&mut *tx)
                .await?;
            (Some(*case), reference)
        }
        (None, Some(new_case)) => {
            let reference = insert_case(&mut *tx, new_case, r.tlp, r.reporter_id, r.created_at).await?;
            add_people(&mut *tx, new_case.id, &intake.people).await?;
            if let Some(cve) = cve {
                // Checked above: no case holds it.
                sqlx::query("UPDATE cases SET cve = $2 WHERE id = $1")
                    .bind(new_case.id)
                    .bind(cve)
                    .execute(&mut *tx)
                    .await?;
            }
            (Some(new_case.id), Some(reference))
        }
        (None, None) => (None, None),
    };
    report.case_id = case_id;
    // The report's event and its case's, appended together (one pass over the ledger's right edge).
    let mut events = vec![intake.event.clone()];
    if let Some(case) = case_id {
        let mut event = if joined.is_some() {
            intake.join_event.clone()
        } else {
            intake.open_event.clone()
        };
        event.object_id = Some(case);
        if let Some(details) = event.details.0.as_object_mut() {
            details.insert("reference".into(), reference.clone().into());
        }
        events.push(event);
    }
    This::append(&mut *tx, &events).await?;
    insert_report(&mut *tx, &report).await?;
    if let Some(case) = case_id {
        // The organisation that opens a case reads it at once; one whose report joined a case
        // automatically is not notified of the others' reports until a coordinator decides (TLP: a
        // duplicate does not make its finder a recipient of the original).
        add_participant(
            &mut *tx,
            case,
            r.org_id,
            "reporter",
            r.created_at,
            joined.is_none(),
        )
        .await?;
        if joined.is_some() {
            sqlx::query("UPDATE cases SET modified_at = $2, version = version + 1 WHERE id = $1")
                .bind(case)
                .bind(r.created_at)
                .execute(&mut *tx)
                .await?;
        }
    }
    for a in &intake.affected {
        sqlx::query(
            "INSERT INTO report_affected (report_id, idx, product, product_key, versions) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(r.id)
        .bind(a.idx)
        .bind(&a.product)
        .bind(&a.product_key)
        .bind(&a.versions)
        .execute(&mut *tx)
        .await?;
    }
    add_people(&mut *tx, r.id, &intake.people).await?;
    if let Some(o) = &intake.origin {
        sqlx::query(
            "INSERT INTO report_origins (report_id, format, document_id, version, cve) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(r.id)
        .bind(&o.format)
        .bind(&o.document_id)
        .bind(&o.version)
        .bind(&o.cve)
        .execute(&mut *tx)
        .await?;
    }
    if let Some((bytes, keys, bands)) = &intake.fingerprint {
        sqlx::query("INSERT INTO report_fingerprints (report_id, fingerprint) VALUES ($1, $2)")
            .bind(r.id)
            .bind(bytes)
            .execute(&mut *tx)
            .await?;
        if !keys.is_empty() {
            let mut q = sqlx::QueryBuilder::<Db>::new("INSERT INTO report_keys (key, report_id) ");
            q.push_values(keys, |mut row, key| {
                row.push_bind(*key).push_bind(r.id);
            });
            q.push(" ON CONFLICT DO NOTHING");
            q.build().execute(&mut *tx).await?;
        }
        if !bands.is_empty() {
            let mut q = sqlx::QueryBuilder::<Db>::new("INSERT INTO report_bands (band, key, report_id) ");
            q.push_values(bands.iter().enumerate(), |mut row, (band, key)| {
                row.push_bind(i32::try_from(band).unwrap_or(i32::MAX))
                    .push_bind(*key)
                    .push_bind(r.id);
            });
            q.build().execute(&mut *tx).await?;
        }
    }
    let listed: Vec<(Uuid, Option<Uuid>, f64)> = decision
        .suggest
        .iter()
        .filter_map(|(candidate, score)| {
            let found = found.iter().find(|c| c.report_id == *candidate)?;
            Some((*candidate, found.case_id, *score))
        })
        .collect();
    if !listed.is_empty() {
        let mut q =
            sqlx::QueryBuilder::<Db>::new("INSERT INTO report_candidates (report_id, candidate_id, score) ");
        q.push_values(&listed, |mut row, (candidate, _, score)| {
            row.push_bind(r.id).push_bind(*candidate).push_bind(*score);
        });
        q.build().execute(&mut *tx).await?;
    }
    Ok(Ok(Filed {
        case_id,
        case_reference: reference,
        joined: joined.is_some(),
        duplicate_of: joined.and_then(|(id, _, _)| id),
        candidates: listed,
        dedup,
    }))
}

async fn insert_report(conn: &mut Conn, r: &Report) -> Result<()> {
    sqlx::query(
        "INSERT INTO reports (id, kind, case_id, title, description, tlp, org_id, reporter_id, finder_kind, \
         finder_name, finder_notice_id, ai_found, cwe, cvss_v3, cvss_v3_score, cvss_v4, cvss_v4_score, \
         severity, location, crash_signature, threat_model, threat, duplicate_of, duplicate_score, finding_id, \
         created_at, modified_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
         $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28)",
    )
    .bind(r.id)
    .bind(r.kind.as_str())
    .bind(r.case_id)
    .bind(&r.title)
    .bind(&r.description)
    .bind(r.tlp.as_str())
    .bind(r.org_id)
    .bind(r.reporter_id)
    .bind(r.finder_kind.as_str())
    .bind(&r.finder_name)
    .bind(r.finder_notice_id)
    .bind(r.ai_found)
    .bind(r.cwe)
    .bind(&r.cvss_v3)
    .bind(r.cvss_v3_score)
    .bind(&r.cvss_v4)
    .bind(r.cvss_v4_score)
    .bind(r.severity.0.map(|s| s.as_str()))
    .bind(&r.location)
    .bind(&r.crash_signature)
    .bind(&r.threat_model)
    .bind(&r.threat)
    .bind(r.duplicate_of)
    .bind(r.duplicate_score)
    .bind(r.finding_id)
    .bind(r.created_at)
    .bind(r.modified_at)
    .bind(r.version)
    .execute(&mut *conn)
    .await
    .map_err(crate::sql::conflict("a report of this finding"))?;
    Ok(())
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

    async fn file_report(
        &self,
        intake: &Intake,
        decide: &Decide<'_>,
    ) -> Result<std::result::Result<Filed, LimitReached>> {
        let mut tx = self.begin().await?;
        let filed = file_in(&mut tx, intake, decide).await?;
        if filed.is_ok() {
            tx.commit().await?;
        }
        Ok(filed)
    }

    async fn file_reports(
        &self,
        batch: &[(&Intake, &Decide<'_>)],
    ) -> Result<std::result::Result<Vec<Filed>, (usize, LimitReached)>> {
        // Several reports take their counters and dedup keys one after another, so two batches naming the
        // same vendors in different orders can deadlock on PostgreSQL: the victim, rolled back whole, runs again.
        let mut attempt = 1;
        loop {
            match self.file_batch(batch).await {
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
        candidates(&mut conn, search).await
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
