//! Intake of reports, compiled once for each backend like every file of `queries/`: the transaction that files a
//! report (`file_in`: key locks, intake counters, the candidate search, the case it opens or joins, its rows and
//! events) and the statements it shares with the rest of `ReportStore` (`queries/reports.rs`) and TAXII posts.

use super::{Db, This};
use crate::reports::{Candidate, CandidateSearch, Decide, Filed, Intake, IntakeLimit, LimitReached, NewCase, Report,
    ReportAffected};
use crate::Result;
use chrono::{DateTime, Utc};
use clearinghouse::tlp::Tlp;
use sqlx::types::Json;
use uuid::Uuid;

type Conn = <Db as sqlx::Database>::Connection;

/// Opens a case in state `new`.
pub(super) async fn insert_case(
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
pub(super) async fn add_participant(
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
pub(super) async fn add_people(conn: &mut Conn, object: Uuid, people: &[Uuid]) -> Result<()> {
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
pub(super) async fn take_count(conn: &mut Conn, limit: &IntakeLimit) -> Result<bool> {
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
pub(super) fn band_lock(band: usize, key: i64) -> i64 {
    let band = u64::try_from(band).unwrap_or(u64::MAX);
    (key as u64 ^ band.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15)).rotate_left(17) as i64
}

/// The stored reports sharing an exact key or a band key with a fingerprint, newest first, with their
/// fingerprints and products: two queries.
pub(super) async fn candidates(conn: &mut Conn, search: &CandidateSearch<'_>) -> Result<Vec<Candidate>> {
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
    pub(super) async fn file_batch(
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
    // The CVE id of the case the report ends in, for its STIX objects.
    let mut case_cve = None;
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
            case_cve = Some(cve.to_owned());
        }
    }
    let mut report = r.clone();
    let (case_id, reference) = match (&joined, &intake.new_case) {
        (Some((duplicate_of, case, score)), _) => {
            report.duplicate_of = *duplicate_of;
            report.duplicate_score = duplicate_of.map(|_| *score);
            let found: Option<(String, Option<String>)> =
                sqlx::query_as("SELECT reference, cve FROM cases WHERE id = $1")
                    .bind(case)
                    .fetch_optional(&mut *tx)
                    .await?;
            let (reference, held) = found.unzip();
            case_cve = held.flatten();
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
                case_cve = Some(cve.to_owned());
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
    if !intake.affected.is_empty() {
        let mut q = sqlx::QueryBuilder::<Db>::new(
            "INSERT INTO report_affected (report_id, idx, product, product_key, versions) ",
        );
        q.push_values(&intake.affected, |mut row, a| {
            row.push_bind(r.id)
                .push_bind(a.idx)
                .push_bind(&a.product)
                .push_bind(&a.product_key)
                .push_bind(&a.versions);
        });
        q.build().execute(&mut *tx).await?;
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
        case_cve,
        candidates: listed,
        dedup,
    }))
}

pub(super) async fn insert_report(conn: &mut Conn, r: &Report) -> Result<()> {
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
