//! The exact keys and LSH band keys live in each store's memory (`store::dedup_index`), caught up from the
//! fingerprints' commit-ordered numbers. Two servers on one database file reports at once: every fingerprint is
//! numbered once, in one unbroken sequence; a store opened before them finds the other servers' reports by
//! their band keys alone and by their exact keys alone (its catch-up), and a store opened after rebuilds the
//! same index. What a search read of the
//! reports it found is held too, all but their cases.

use crate::reports::vulnerability;
use crate::support::*;
use clearinghouse::dedup::{BAND_BUCKET_LIMIT, Fingerprint};
use reqwest::StatusCode;
use serde_json::Value;
use store::CandidateSearch;
use uuid::Uuid;

/// Every stored fingerprint, in sequence order: its number, report and band keys, and its exact keys.
async fn fingerprints(url: &str) -> Vec<(i64, Uuid, Vec<i64>, Vec<i64>)> {
    use sqlx::Connection;
    const SQL: &str = "SELECT seq, report_id, fingerprint FROM report_fingerprints ORDER BY seq";
    let rows: Vec<(i64, Uuid, Vec<u8>)> = match backend() {
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
            sqlx::query_as(SQL).fetch_all(&mut c).await.unwrap()
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query_as(SQL).fetch_all(&mut c).await.unwrap()
        }
    };
    rows.into_iter()
        .map(|(seq, id, bytes)| {
            let f = Fingerprint::from_bytes(&bytes).expect("a stored fingerprint decodes");
            (seq, id, f.bands, f.exact_keys)
        })
        .collect()
}

/// A report of its own product and wording, with no exact key (`Fingerprint::exact_keys`) unless it names
/// where the flaw is (every third).
fn distinct(n: usize) -> Value {
    let mut body = vulnerability("green");
    body["title"] = format!("Integer overflow number {n} in parser stage {}", n * 7).into();
    body["description"] = format!(
        "Stage {n} of the decoder multiplies two attacker-chosen lengths without a check; report {n} of the run \
         reaches an allocation {} bytes short.",
        n * 13
    )
    .into();
    body["affected"][0]["purl"] = format!("pkg:generic/decoder-{n}").into();
    // No location, file, function or trace: no exact key, so band keys alone can find it.
    body["location"] = Value::Null;
    if n.is_multiple_of(3) {
        body["location"] = format!("stage{n}.c:decode_stage_{n}").into();
    }
    body
}

#[tokio::test]
async fn two_servers_number_fingerprints_in_one_sequence_and_find_each_others_reports_by_band_keys() {
    let database = fresh_database_url().await;
    let a = spawn_app_on(&database).await;
    let b = spawn_app_on(&database).await;
    let w = World::new(&a).await;
    // Opened before any report: it sees them only by catching up.
    let early = store::connect(&database).await.unwrap();
    assert_eq!(early.dedup_index_size().reports, 0);

    const EACH: usize = 12;
    let mut posts = Vec::new();
    for n in 0..2 * EACH {
        // Two organisations, so that no intake counter orders the two servers' groups: only the intake lock.
        let (t, who) = if n % 2 == 0 {
            (&a, &w.dev_admin)
        } else {
            (&b, &w.other_dev)
        };
        posts.push(t.spawn_post(who, "/api/v1/reports", distinct(n)));
    }
    let mut ids = Vec::new();
    for post in posts {
        let reply = post.await.unwrap();
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        ids.push(reply.body["id"].as_str().unwrap().parse::<Uuid>().unwrap());
    }

    let stored = fingerprints(&database).await;
    let numbers: Vec<i64> = stored.iter().map(|(seq, _, _, _)| *seq).collect();
    let want: Vec<i64> = (1..=i64::try_from(2 * EACH).unwrap()).collect();
    assert_eq!(numbers, want, "one unbroken sequence across both servers");
    let by_n = ids.clone();
    let mut filed: Vec<Uuid> = stored.iter().map(|(_, id, _, _)| *id).collect();
    filed.sort_unstable();
    ids.sort_unstable();
    assert_eq!(filed, ids);

    let late = store::connect(&database).await.unwrap();
    let mut with_keys = 0;
    for (_, id, bands, keys) in &stored {
        assert_eq!(bands.len(), clearinghouse::dedup::BANDS);
        with_keys += usize::from(!keys.is_empty());
        // (what the search looks up, its exact keys, its band keys)
        let searches: [(&str, &[i64], &[i64]); 2] = [("band keys", &[], bands), ("exact keys", keys, &[])];
        for (by, keys, bands) in searches {
            if keys.is_empty() && bands.is_empty() {
                continue;
            }
            let search = CandidateSearch {
                keys,
                bands,
                band_limit: i64::try_from(BAND_BUCKET_LIMIT).unwrap(),
                candidate_limit: 200,
            };
            for (name, store) in [("caught up", &early), ("rebuilt", &late)] {
                let found: Vec<Uuid> = store
                    .dedup_candidates(&search)
                    .await
                    .unwrap()
                    .iter()
                    .map(|c| c.report_id)
                    .collect();
                assert!(
                    found.contains(id),
                    "{name}: {id} not found by its own {by}: {found:?}"
                );
            }
        }
    }
    assert_eq!(with_keys, 2 * EACH / 3, "every third report names a location");
    let stored_keys: usize = stored.iter().map(|(_, _, _, keys)| keys.len()).sum();
    for store in [&early, &late] {
        let size = store.dedup_index_size();
        assert_eq!(size.reports, 2 * EACH);
        assert_eq!(size.bands, 2 * EACH * clearinghouse::dedup::BANDS);
        assert_eq!(size.keys, stored_keys);
    }

    // A report filed again through the other server (report 1 went to `b`, report 0 to `a`): that server's own
    // index finds the first by band keys alone, and it is listed as a duplicate.
    for (t, who, original) in [(&a, &w.other_dev, 1), (&b, &w.dev_admin, 0)] {
        let again = distinct(original);
        let reply = t.post(who, "/api/v1/reports", again).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        let want = by_n[original];
        let listed: Vec<Uuid> = reply.body["duplicates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["report_id"].as_str().unwrap().parse().unwrap())
            .collect();
        assert!(
            listed.contains(&want),
            "{want} not listed: {}",
            reply.body["duplicates"]
        );
    }
}

/// A store's search holds what it read of the reports it found (`store::candidate_cache`): their fingerprints
/// and products, which never change. Their cases do (a merge moves a report), and intake joins the case a
/// report is in now, even one whose fingerprint the search holds from before the move.
#[tokio::test]
async fn a_search_holds_a_candidates_fingerprint_but_intake_joins_the_case_it_is_in_now() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let file = |body: Value| {
        let (t, who) = (&t, &w.dev_admin);
        async move {
            let reply = t.post(who, "/api/v1/reports", body).await;
            assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
            let id: Uuid = reply.body["id"].as_str().unwrap().parse().unwrap();
            let case: Uuid = reply.body["case_id"].as_str().unwrap().parse().unwrap();
            (id, case)
        }
    };
    let (report, first_case) = file(distinct(1)).await;
    let (_, other_case) = file(distinct(2)).await;
    assert_ne!(first_case, other_case);
    let stored = fingerprints(&t.database_url).await;
    let (_, _, bands, _) = stored.iter().find(|(_, id, _, _)| *id == report).unwrap();
    let search = CandidateSearch {
        keys: &[],
        bands,
        band_limit: i64::try_from(BAND_BUCKET_LIMIT).unwrap(),
        candidate_limit: 200,
    };
    let store = store::connect(&t.database_url).await.unwrap();
    let found_in = |found: Vec<store::Candidate>| {
        let c = found
            .into_iter()
            .find(|c| c.report_id == report)
            .expect("the report is found by its own band keys");
        let decoded = Fingerprint::from_bytes(&c.fingerprint).expect("its fingerprint decodes");
        assert_eq!(&decoded.bands, bands, "the fingerprint is the report's");
        let products: Vec<&str> = c.affected.iter().map(|a| a.product.as_str()).collect();
        assert_eq!(
            products,
            ["pkg:generic/decoder-1"],
            "the products are the report's"
        );
    };
    // The first search reads the fingerprint and the products; the second finds them held.
    found_in(store.dedup_candidates(&search).await.unwrap());
    found_in(store.dedup_candidates(&search).await.unwrap());
    // The server's own search has held them since the report was filed; then a merge moves the report.
    let merged = t
        .post(
            &w.coordinator,
            &format!("/api/v1/cases/{first_case}/merge"),
            serde_json::json!({"into": other_case}),
        )
        .await;
    assert_eq!(merged.status, StatusCode::OK, "{}", merged.body);
    let repeat = t.post(&w.dev_admin, "/api/v1/reports", distinct(1)).await;
    assert_eq!(repeat.status, StatusCode::CREATED, "{}", repeat.body);
    assert_eq!(
        repeat.body["case_id"],
        other_case.to_string(),
        "a repeat joins the case the report was merged into, not the one it was in when its fingerprint was \
         read: {}",
        repeat.body
    );
    let listed: Vec<(&str, &str)> = repeat.body["duplicates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["report_id"].as_str().unwrap(), d["case_id"].as_str().unwrap()))
        .collect();
    assert!(
        listed.contains(&(report.to_string().as_str(), other_case.to_string().as_str())),
        "the report is listed in the case it is in now: {}",
        repeat.body
    );
}
