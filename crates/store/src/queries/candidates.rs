//! Intake's candidate search, compiled once for each backend like every file of `queries/`: the stored reports
//! sharing an exact key (`report_keys`) or a band key (the store's `band_index`) with the fingerprints of a group
//! of reports (`intake.rs` files the group; `ReportStore::dedup_candidates` searches for one report), and the
//! band index's catch-up.

use super::{Db, This};
use crate::Result;
use crate::band_index::{BandIndex, BandRow};
use crate::candidate_cache::{CandidateCache, CandidateData};
use crate::reports::{Candidate, CandidateSearch, ReportAffected};
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

type Conn = <Db as sqlx::Database>::Connection;

/// How many fingerprint rows one catch-up statement reads.
const CATCH_UP_PAGE: i64 = 5_000;

/// Brings the band index up to what this connection sees: the fingerprint rows after its mark, in sequence
/// order, a page at a time; the highest sequence number stored, as far as this connection sees. Inside intake's
/// transaction, which holds the write lock, that is every row there is.
pub(super) async fn catch_up(conn: &mut Conn, index: &BandIndex) -> Result<i64> {
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
        let rows: Vec<BandRow> = rows
            .into_iter()
            .map(|(seq, report_id, fingerprint)| BandRow {
                seq,
                report_id,
                // A fingerprint that does not decode (none is written so) has no band keys to find it by; its
                // exact keys still do.
                bands: clearinghouse::dedup::Fingerprint::from_bytes(&fingerprint)
                    .map(|f| f.bands)
                    .unwrap_or_default(),
            })
            .collect();
        index.apply(&rows);
        if i64::try_from(read).unwrap_or(i64::MAX) < CATCH_UP_PAGE {
            return Ok(index.mark());
        }
    }
}

/// The stored reports sharing an exact key or a band key with a fingerprint, newest first, with their
/// fingerprints and products: the index caught up, then one query (three when some are not in `cache`).
pub(super) async fn candidates(
    conn: &mut Conn,
    index: &BandIndex,
    cache: &CandidateCache,
    search: &CandidateSearch<'_>,
) -> Result<Vec<Candidate>> {
    catch_up(&mut *conn, index).await?;
    Ok(candidates_of(conn, index, cache, std::slice::from_ref(search))
        .await?
        .pop()
        .unwrap_or_default())
}

/// A stored report a search found: its id and case.
type FoundRow = (Uuid, Option<Uuid>);

/// The candidate search of `candidates_of`: one statement text whatever the searches (so each connection
/// prepares it once). The searches' exact keys come as rows of `t` (search index, key), a bucket's newest `$n`
/// rows being those at or above its `$n`-th newest id, found by one index seek each; the reports the band index
/// found come as rows of `h` (search index, report). Of what a search found, only its newest `{key_limit}` are
/// joined to their reports (for their cases) and sent: once a store's buckets are full, a search finds several
/// times that many.
const CANDIDATE_SEARCH: &str = "found (s, report_id) AS (\
     SELECT t.s, k.report_id FROM t JOIN report_keys k ON k.key = t.key \
     WHERE k.report_id >= COALESCE((SELECT k2.report_id FROM report_keys k2 WHERE k2.key = t.key \
     ORDER BY k2.report_id DESC LIMIT 1 OFFSET {key_offset}), {lowest}) \
     UNION SELECT h.s, h.report_id FROM h) \
     SELECT f.s, r.id, r.case_id FROM (SELECT s, report_id, \
     ROW_NUMBER() OVER (PARTITION BY s ORDER BY report_id DESC) AS n FROM found) f \
     JOIN reports r ON r.id = f.report_id \
     WHERE f.n <= {key_limit} ORDER BY f.s, r.id DESC";

/// `candidates` for several fingerprints at once, the band index already caught up: for each search, the
/// stored reports sharing one of its keys (the newest `candidate_limit` per exact key and `band_limit` per band
/// key, the newest `candidate_limit` in all), newest first, with their fingerprints and products from `cache`
/// or, for those it does not hold, read (and then held). One statement for a group of reports (one more for
/// each further candidate limit), and two more when some of what it found is not held.
pub(super) async fn candidates_of(
    conn: &mut Conn,
    index: &BandIndex,
    cache: &CandidateCache,
    searches: &[CandidateSearch<'_>],
) -> Result<Vec<Vec<Candidate>>> {
    let mut found: Vec<Vec<FoundRow>> = vec![Vec::new(); searches.len()];
    let mut limits: Vec<i64> = searches
        .iter()
        .filter(|s| !s.keys.is_empty() || !s.bands.is_empty())
        .map(|s| s.candidate_limit.max(1))
        .collect();
    limits.sort_unstable();
    limits.dedup();
    for key_limit in limits {
        // (search, key) of every search with this limit, and (search, report) of what its bands found.
        let mut terms: Vec<(i32, i64)> = Vec::new();
        let mut hits: Vec<(i32, String)> = Vec::new();
        for (s, search) in searches.iter().enumerate() {
            if search.candidate_limit.max(1) != key_limit {
                continue;
            }
            let s = i32::try_from(s).map_err(|_| crate::StoreError::Corrupt("candidate search"))?;
            terms.extend(search.keys.iter().map(|k| (s, *k)));
            let band_limit = usize::try_from(search.band_limit.max(1)).unwrap_or(usize::MAX);
            hits.extend(
                index
                    .search(search.bands, band_limit)
                    .into_iter()
                    .map(|id| (s, id.simple().to_string())),
            );
        }
        let search = CANDIDATE_SEARCH
            .replace("{key_offset}", &(key_limit - 1).to_string())
            .replace("{key_limit}", &key_limit.to_string());
        // The terms and hits go as JSON arrays of `[search, key]` and `[search, report id in hex]`; the search's
        // index reads back as INTEGER on SQLite, int4 on PostgreSQL.
        let (terms_from, hits_from, lowest) = match This::BACKEND {
            crate::Backend::Sqlite => (
                "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each($1)",
                "SELECT json_extract(value, '$[0]'), unhex(json_extract(value, '$[1]')) FROM json_each($2)",
                "X''",
            ),
            crate::Backend::Postgres => (
                "SELECT (value->>0)::int4, (value->>1)::int8 FROM jsonb_array_elements($1::text::jsonb)",
                "SELECT (value->>0)::int4, (value->>1)::uuid FROM jsonb_array_elements($2::text::jsonb)",
                "'00000000-0000-0000-0000-000000000000'::uuid",
            ),
        };
        let sql = format!(
            "WITH t (s, key) AS ({terms_from}), h (s, report_id) AS ({hits_from}), {}",
            search.replace("{lowest}", lowest)
        );
        let corrupt = |_| crate::StoreError::Corrupt("candidate search");
        let terms = serde_json::to_string(&terms).map_err(corrupt)?;
        let hits = serde_json::to_string(&hits).map_err(corrupt)?;
        let rows: Vec<(i32, Uuid, Option<Uuid>)> = sqlx::query_as(&sql)
            .bind(terms)
            .bind(hits)
            .fetch_all(&mut *conn)
            .await?;
        for (s, id, case) in rows {
            let s = usize::try_from(s).map_err(|_| crate::StoreError::Corrupt("candidate search"))?;
            let (Some(list), Some(search)) = (found.get_mut(s), searches.get(s)) else {
                return Err(crate::StoreError::Corrupt("candidate search"));
            };
            if i64::try_from(list.len()).unwrap_or(i64::MAX) < search.candidate_limit {
                list.push((id, case));
            }
        }
    }
    let mut ids: Vec<Uuid> = found.iter().flatten().map(|(id, _)| *id).collect();
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
                // A report found has a fingerprint (keys and band keys are made from it); one without is not
                // a candidate, as when the search joined the fingerprints.
                .filter_map(|(report_id, case_id)| {
                    let data = held.get(&report_id)?;
                    Some(Candidate {
                        report_id,
                        case_id,
                        fingerprint: data.fingerprint.clone(),
                        affected: data.affected.clone(),
                    })
                })
                .collect()
        })
        .collect())
}

/// The fingerprints and products of these reports (those with a fingerprint), a thousand to a statement.
async fn read_candidates(conn: &mut Conn, ids: &[Uuid]) -> Result<Vec<(Uuid, Arc<CandidateData>)>> {
    let mut read = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(1_000) {
        let fingerprints: Vec<(Uuid, Vec<u8>)> = of_reports(
            "SELECT report_id, fingerprint FROM report_fingerprints",
            chunk,
            "",
        )
        .build_query_as()
        .fetch_all(&mut *conn)
        .await?;
        let rows: Vec<ReportAffected> = of_reports(
            "SELECT report_id, idx, product, product_key, versions FROM report_affected",
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

/// `head WHERE report_id IN (ids…) tail`.
fn of_reports<'a>(head: &str, ids: &'a [Uuid], tail: &str) -> sqlx::QueryBuilder<'a, Db> {
    let mut q = sqlx::QueryBuilder::<Db>::new(head);
    q.push(" WHERE report_id IN (");
    let mut list = q.separated(", ");
    for id in ids {
        list.push_bind(*id);
    }
    q.push(")");
    q.push(tail);
    q
}
