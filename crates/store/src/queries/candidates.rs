//! Intake's candidate search, compiled once for each backend like every file of `queries/`: the stored reports
//! sharing an exact key or a band key (the store's `dedup_index`) with the fingerprints of a group of reports
//! (`intake.rs` files the group; `ReportStore::dedup_candidates` searches for one report), the index's
//! catch-up, and the cases that the candidates which rank are in now.

use super::{Db, This};
use crate::Result;
use crate::candidate_cache::{CandidateCache, CandidateData};
use crate::dedup_index::{DedupIndex, DedupRow};
use crate::reports::{Candidate, CandidateSearch, ReportAffected};
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

type Conn = <Db as sqlx::Database>::Connection;

/// How many fingerprint rows one catch-up statement reads.
const CATCH_UP_PAGE: i64 = 5_000;

/// Brings the dedup index up to what this connection sees: the fingerprint rows after its mark, in sequence
/// order, a page at a time; the highest sequence number stored, as far as this connection sees. Inside intake's
/// transaction, which holds the write lock, that is every row there is.
pub(super) async fn catch_up(conn: &mut Conn, index: &DedupIndex) -> Result<i64> {
    loop {
        let mark = index.mark();
        let rows: Vec<(i64, Uuid, Vec<u8>)> = sqlx::query_as(
            "SELECT seq, report_id, fingerprint FROM report_fingerprints WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(mark)
        .bind(CATCH_UP_PAGE)
        .fetch_all(&mut *conn)
        .await?;
        let read = rows.len();
        let rows: Vec<DedupRow> = rows
            .into_iter()
            .map(|(seq, report_id, fingerprint)| {
                // A fingerprint that does not decode (none is written so) has no keys to find it by.
                let (keys, bands) = clearinghouse::dedup::Fingerprint::from_bytes(&fingerprint)
                    .map(|f| (f.exact_keys, f.bands))
                    .unwrap_or_default();
                DedupRow {
                    seq,
                    report_id,
                    keys,
                    bands,
                }
            })
            .collect();
        index.apply(&rows);
        if i64::try_from(read).unwrap_or(i64::MAX) < CATCH_UP_PAGE {
            return Ok(index.mark());
        }
    }
}

/// The stored reports sharing an exact key or a band key with a fingerprint, newest first, with their
/// fingerprints and products: the index caught up, then nothing more to read, or two statements for those not
/// in `cache`.
pub(super) async fn candidates(
    conn: &mut Conn,
    index: &DedupIndex,
    cache: &CandidateCache,
    search: &CandidateSearch<'_>,
) -> Result<Vec<Candidate>> {
    catch_up(&mut *conn, index).await?;
    Ok(candidates_of(conn, index, cache, std::slice::from_ref(search))
        .await?
        .pop()
        .unwrap_or_default())
}

/// `candidates` for several fingerprints at once, the index already caught up: for each search, the stored
/// reports sharing one of its keys (the newest `candidate_limit` per exact key and `band_limit` per band key,
/// the newest `candidate_limit` in all), newest first, each with its fingerprint and products, from `cache` or,
/// for those it does not hold, read (two statements) and then held.
pub(super) async fn candidates_of(
    conn: &mut Conn,
    index: &DedupIndex,
    cache: &CandidateCache,
    searches: &[CandidateSearch<'_>],
) -> Result<Vec<Vec<Candidate>>> {
    let found: Vec<Vec<Uuid>> = searches
        .iter()
        .map(|search| {
            let limit = usize::try_from(search.candidate_limit.max(1)).unwrap_or(usize::MAX);
            let band_limit = usize::try_from(search.band_limit.max(1)).unwrap_or(usize::MAX);
            let mut found = index.search(search.keys, limit, search.bands, band_limit);
            found.truncate(limit);
            found
        })
        .collect();
    let mut ids: Vec<Uuid> = found.iter().flatten().copied().collect();
    ids.sort_unstable();
    ids.dedup();
    let mut held: HashMap<Uuid, Arc<CandidateData>> = HashMap::with_capacity(ids.len());
    let mut missing = Vec::new();
    for (id, data) in ids.iter().zip(cache.get(&ids)) {
        match data {
            Some(data) => {
                held.insert(*id, data);
            }
            None => missing.push(*id),
        }
    }
    let read = read_candidates(conn, &missing).await?;
    cache.put(read.iter().map(|(id, data)| (*id, data.clone())));
    held.extend(read);
    Ok(found
        .into_iter()
        .map(|list| {
            list.into_iter()
                // A report found is stored with its fingerprint (its keys come from it).
                .filter_map(|report_id| {
                    let data = held.get(&report_id)?;
                    Some(Candidate {
                        report_id,
                        fingerprint: data.fingerprint.clone(),
                        affected: data.affected.clone(),
                    })
                })
                .collect()
        })
        .collect())
}

/// The case each of these reports is in now (a coordinator's merge or split moves reports between cases), a
/// thousand to a statement; a report not stored is left out.
pub(super) async fn cases_of(conn: &mut Conn, ids: &[Uuid]) -> Result<HashMap<Uuid, Option<Uuid>>> {
    // From the narrow index of (id, case) alone, which SQLite's planner passes over for the primary key's (and
    // then each wide row).
    let from = match This::BACKEND {
        crate::Backend::Sqlite => "SELECT id, case_id FROM reports INDEXED BY reports_id_case",
        crate::Backend::Postgres => "SELECT id, case_id FROM reports",
    };
    let mut cases: HashMap<Uuid, Option<Uuid>> = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(1_000) {
        let rows: Vec<(Uuid, Option<Uuid>)> = of_ids(from, "id", chunk, "")
            .build_query_as()
            .fetch_all(&mut *conn)
            .await?;
        cases.extend(rows);
    }
    Ok(cases)
}

/// The fingerprints and products of these reports (those with a fingerprint), a thousand to a statement.
async fn read_candidates(conn: &mut Conn, ids: &[Uuid]) -> Result<Vec<(Uuid, Arc<CandidateData>)>> {
    let mut read = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(1_000) {
        let fingerprints: Vec<(Uuid, Vec<u8>)> = of_ids(
            "SELECT report_id, fingerprint FROM report_fingerprints",
            "report_id",
            chunk,
            "",
        )
        .build_query_as()
        .fetch_all(&mut *conn)
        .await?;
        let rows: Vec<ReportAffected> = of_ids(
            "SELECT report_id, idx, product, product_key, versions FROM report_affected",
            "report_id",
            chunk,
            " ORDER BY report_id, idx",
        )
        .build_query_as()
        .fetch_all(&mut *conn)
        .await?;
        let mut affected: HashMap<Uuid, Vec<ReportAffected>> = HashMap::new();
        for a in rows {
            affected.entry(a.report_id).or_default().push(a);
        }
        read.extend(fingerprints.into_iter().map(|(id, fingerprint)| {
            let data = CandidateData {
                fingerprint,
                affected: affected.remove(&id).unwrap_or_default(),
            };
            (id, Arc::new(data))
        }));
    }
    Ok(read)
}

/// `head WHERE column IN (ids…) tail`.
fn of_ids<'a>(head: &str, column: &str, ids: &'a [Uuid], tail: &str) -> sqlx::QueryBuilder<'a, Db> {
    let mut q = sqlx::QueryBuilder::<Db>::new(head);
    q.push(format_args!(" WHERE {column} IN ("));
    let mut list = q.separated(", ");
    for id in ids {
        list.push_bind(*id);
    }
    q.push(")");
    q.push(tail);
    q
}
