//! Intake's candidate search, compiled once for each backend like every file of `queries/`: the stored reports
//! sharing an exact key or a band key with the fingerprints of a group of reports (`intake.rs` files the group;
//! `ReportStore::dedup_candidates` searches for one report).

use super::{Db, This};
use crate::Result;
use crate::reports::{Candidate, CandidateSearch, ReportAffected};
use uuid::Uuid;

type Conn = <Db as sqlx::Database>::Connection;

/// The stored reports sharing an exact key or a band key with a fingerprint, newest first, with their
/// fingerprints and products: two queries.
pub(super) async fn candidates(conn: &mut Conn, search: &CandidateSearch<'_>) -> Result<Vec<Candidate>> {
    Ok(candidates_of(conn, std::slice::from_ref(search))
        .await?
        .pop()
        .unwrap_or_default())
}

/// A stored report a search found: its id, case and fingerprint.
type FoundRow = (Uuid, Option<Uuid>, Vec<u8>);

/// The candidate search of `candidates_of`: one statement text whatever the searches (so each connection
/// prepares it once). The searches' keys come as rows of `t` (search index, band or NULL for an exact key, key);
/// a bucket's newest `$n` rows are those at or above its `$n`-th newest id, found by one index seek each. Of
/// what a search's buckets found, only its newest `{key_limit}` are joined to their fingerprints and sent:
/// once a store's buckets are full, a search finds several times that many.
const CANDIDATE_SEARCH: &str = "found (s, report_id) AS (\
     SELECT t.s, k.report_id FROM t JOIN report_keys k ON k.key = t.key WHERE t.band IS NULL \
     AND k.report_id >= COALESCE((SELECT k2.report_id FROM report_keys k2 WHERE k2.key = t.key \
     ORDER BY k2.report_id DESC LIMIT 1 OFFSET {key_offset}), {lowest}) \
     UNION SELECT t.s, b.report_id FROM t JOIN report_bands b ON b.band = t.band AND b.key = t.key \
     WHERE t.band IS NOT NULL AND b.report_id >= COALESCE((SELECT b2.report_id FROM report_bands b2 \
     WHERE b2.band = t.band AND b2.key = t.key ORDER BY b2.report_id DESC LIMIT 1 OFFSET {band_offset}), {lowest})) \
     SELECT f.s, r.id, r.case_id, p.fingerprint FROM (SELECT s, report_id, \
     ROW_NUMBER() OVER (PARTITION BY s ORDER BY report_id DESC) AS n FROM found) f \
     JOIN reports r ON r.id = f.report_id JOIN report_fingerprints p ON p.report_id = r.id \
     WHERE f.n <= {key_limit} ORDER BY f.s, r.id DESC";

/// `candidates` for several fingerprints at once: for each search, the stored reports sharing one of its keys
/// (the newest `candidate_limit` per exact key and `band_limit` per band key, the newest `candidate_limit` in
/// all), newest first. Two statements for a group of reports (one more for each further pair of limits).
pub(super) async fn candidates_of(conn: &mut Conn, searches: &[CandidateSearch<'_>]) -> Result<Vec<Vec<Candidate>>> {
    let mut found: Vec<Vec<FoundRow>> = vec![Vec::new(); searches.len()];
    let mut limits: Vec<(i64, i64)> = searches
        .iter()
        .filter(|s| !s.keys.is_empty() || !s.bands.is_empty())
        .map(|s| (s.candidate_limit.max(1), s.band_limit.max(1)))
        .collect();
    limits.sort_unstable();
    limits.dedup();
    for (key_limit, band_limit) in limits {
        // (search, band, key) of every search with these limits.
        let mut terms: Vec<(i32, Option<i32>, i64)> = Vec::new();
        for (s, search) in searches.iter().enumerate() {
            if (search.candidate_limit.max(1), search.band_limit.max(1)) != (key_limit, band_limit) {
                continue;
            }
            let s = i32::try_from(s).map_err(|_| crate::StoreError::Corrupt("candidate search"))?;
            terms.extend(search.keys.iter().map(|k| (s, None, *k)));
            terms.extend(
                search
                    .bands
                    .iter()
                    .enumerate()
                    .map(|(band, k)| (s, i32::try_from(band).ok(), *k)),
            );
        }
        let search = CANDIDATE_SEARCH
            .replace("{key_offset}", &(key_limit - 1).to_string())
            .replace("{key_limit}", &key_limit.to_string())
            .replace("{band_offset}", &(band_limit - 1).to_string());
        // The terms go as one JSON array of `[search, band, key]`; the search's index reads back as INTEGER on
        // SQLite, int4 on PostgreSQL.
        let (terms_from, lowest) = match This::BACKEND {
            crate::Backend::Sqlite => (
                "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]') \
                 FROM json_each($1)",
                "X''",
            ),
            crate::Backend::Postgres => (
                "SELECT (value->>0)::int4, (value->>1)::int4, (value->>2)::int8 \
                 FROM jsonb_array_elements($1::text::jsonb)",
                "'00000000-0000-0000-0000-000000000000'::uuid",
            ),
        };
        let sql = format!(
            "WITH t (s, band, key) AS ({terms_from}), {}",
            search.replace("{lowest}", lowest)
        );
        let terms = serde_json::to_string(&terms).map_err(|_| crate::StoreError::Corrupt("candidate search"))?;
        let rows: Vec<(i32, Uuid, Option<Uuid>, Vec<u8>)> =
            sqlx::query_as(&sql).bind(terms).fetch_all(&mut *conn).await?;
        for (s, id, case, fingerprint) in rows {
            let s = usize::try_from(s).map_err(|_| crate::StoreError::Corrupt("candidate search"))?;
            let (Some(list), Some(search)) = (found.get_mut(s), searches.get(s)) else {
                return Err(crate::StoreError::Corrupt("candidate search"));
            };
            if i64::try_from(list.len()).unwrap_or(i64::MAX) < search.candidate_limit {
                list.push((id, case, fingerprint));
            }
        }
    }
    let mut ids: Vec<Uuid> = found.iter().flatten().map(|(id, _, _)| *id).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut affected: std::collections::HashMap<Uuid, Vec<ReportAffected>> = std::collections::HashMap::new();
    for chunk in ids.chunks(1_000) {
        let mut q = sqlx::QueryBuilder::<Db>::new(
            "SELECT report_id, idx, product, product_key, versions FROM report_affected WHERE report_id IN (",
        );
        let mut list = q.separated(", ");
        for id in chunk {
            list.push_bind(*id);
        }
        q.push(") ORDER BY report_id, idx");
        let rows: Vec<ReportAffected> = q.build_query_as().fetch_all(&mut *conn).await?;
        for a in rows {
            affected.entry(a.report_id).or_default().push(a);
        }
    }
    Ok(found
        .into_iter()
        .map(|list| {
            list.into_iter()
                .map(|(report_id, case_id, fingerprint)| Candidate {
                    report_id,
                    case_id,
                    fingerprint,
                    affected: affected.get(&report_id).cloned().unwrap_or_default(),
                })
                .collect()
        })
        .collect())
}

