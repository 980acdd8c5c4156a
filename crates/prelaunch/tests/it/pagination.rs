//! Every list of the API pages with `cursor` and `limit`: following `next_cursor` from the first page yields
//! exactly the whole list, in its order, with no item twice and none missing, whatever the page size, and the
//! last page carries no cursor.

use crate::support::*;
use chrono::Duration;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// The items of every page of `path`, following `next_cursor` with `limit` per page.
async fn pages(t: &TestApp, who: &Persona, path: &str, limit: usize) -> Vec<Vec<Value>> {
    let join = if path.contains('?') { '&' } else { '?' };
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}{join}limit={limit}&cursor={c}"),
            None => format!("{path}{join}limit={limit}"),
        };
        let reply = t.get(who, &url).await;
        let items = reply.ok()["items"].as_array().unwrap().clone();
        assert!(
            items.len() <= limit,
            "{url}: {} items on a page of {limit}",
            items.len()
        );
        pages.push(items);
        match reply.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => {
                assert!(reply.body["next_cursor"].is_null(), "{url}: {}", reply.body);
                return pages;
            }
        }
        assert!(pages.len() <= 200, "{path}: the cursor never ends");
    }
}

/// Checks that paging `path` in pages of 1, 2, 3, n and n + 1 gives the whole list (read in one page of 200);
/// returns the keys in order. `full` says that every page but the last is full (as every list is: what a caller
/// may not see is left out in the query, before the `LIMIT`).
async fn check_paging(
    t: &TestApp,
    who: &Persona,
    path: &str,
    key: &str,
    expected: usize,
    full: bool,
) -> Vec<String> {
    let join = if path.contains('?') { '&' } else { '?' };
    let whole = t.get(who, &format!("{path}{join}limit=200")).await;
    assert!(
        whole.ok()["next_cursor"].is_null(),
        "{path}: one page of 200 holds all"
    );
    let whole: Vec<String> = whole.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item[key].to_string())
        .collect();
    assert_eq!(whole.len(), expected, "{path} as {}: {whole:?}", who.name);
    let distinct: BTreeSet<&String> = whole.iter().collect();
    assert_eq!(distinct.len(), whole.len(), "{path}: an item listed twice");
    for limit in [1, 2, 3, expected, expected + 1] {
        let paged = pages(t, who, path, limit).await;
        let keys: Vec<String> = paged.iter().flatten().map(|item| item[key].to_string()).collect();
        assert_eq!(keys, whole, "{path} as {} in pages of {limit}", who.name);
        if full {
            assert_eq!(
                paged.len(),
                expected.div_ceil(limit).max(1),
                "{path}, pages of {limit}"
            );
        }
    }
    whole
}

#[tokio::test]
async fn every_list_pages_without_repeats_or_gaps() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let both = [w.agency, w.other_agency];
    // Seven notices; three share one launch time, so the order falls back on the id.
    let same = t.clock_now() + Duration::days(20);
    let mut notices = Vec::new();
    for days in [10, 45] {
        notices.push(t.file_notice(&w.dev_admin, days, &[w.agency]).await);
    }
    for _ in 0..3 {
        notices.push(t.file_notice_at(&w.dev_admin, same, &[w.agency]).await);
    }
    for days in [5, 31] {
        notices.push(t.file_notice(&w.dev_member, days, &both).await);
    }
    let broad = id_of(&notices[6]);
    let order = check_paging(&t, &w.dev_admin, "/api/v1/notices", "id", 7, true).await;
    let mut closing: Vec<(String, String)> = notices
        .iter()
        .map(|n| (n["window_closes_at"].to_string(), n["id"].to_string()))
        .collect();
    closing.sort();
    let by_closing: Vec<String> = closing.into_iter().map(|(_, id)| id).collect();
    // Window closing times are equal-length RFC 3339 strings here, so they sort as times.
    assert_eq!(
        order, by_closing,
        "notices are listed by the time their window closes, then id"
    );
    check_paging(&t, &w.evaluator, "/api/v1/notices", "id", 7, true).await;
    check_paging(&t, &w.other_evaluator, "/api/v1/notices", "id", 2, true).await;
    t.clock.advance(Duration::days(6));
    check_paging(&t, &w.dev_admin, "/api/v1/notices?state=in_review", "id", 5, true).await;
    check_paging(
        &t,
        &w.dev_admin,
        "/api/v1/notices?state=scheduled,in_review",
        "id",
        6,
        true,
    )
    .await;
    let developer = format!("/api/v1/notices?developer={}", w.dev_admin.org_id);
    check_paging(&t, &w.agency_admin, &developer, "id", 7, true).await;

    // Organisations: the six of World, the clearinghouse, three more.
    for name in ["Vendor A", "Vendor B", "Operator C"] {
        t.org(
            if name.starts_with('V') {
                "vendor"
            } else {
                "operator"
            },
            name,
        )
        .await;
    }
    check_paging(&t, &w.operator, "/api/v1/organizations", "id", 10, true).await;

    // People: five more at Frontier Lab make seven.
    for n in 0..5 {
        t.app
            .provision_user("Frontier Lab", &format!("person{n}@lab.example"), "member")
            .await
            .unwrap();
    }
    check_paging(&t, &w.dev_member, "/api/v1/users", "id", 7, true).await;
    let lab = format!("/api/v1/users?org_id={}", w.dev_admin.org_id);
    check_paging(&t, &w.program_admin, &lab, "id", 7, true).await;
    let everyone = t.db_counts().await["users"] as usize;
    check_paging(&t, &w.program_admin, "/api/v1/users", "id", everyone, true).await;

    // Tokens: six more of the developer admin's own.
    for n in 0..6 {
        t.post(&w.dev_admin, "/api/v1/tokens", json!({"name": format!("ci {n}")}))
            .await
            .ok();
    }
    check_paging(&t, &w.dev_admin, "/api/v1/tokens", "id", 7, true).await;

    // Findings and assessments on a notice both agencies see: four by the agency (two shared with the other),
    // three by the other agency (one shared back). Each reader pages through exactly what it may see.
    t.assign(&w.agency_admin, broad, &w.evaluator).await;
    t.assign(&w.other_agency_admin, broad, &w.other_evaluator).await;
    for (author, shares) in [
        (&w.evaluator, vec![]),
        (&w.evaluator, vec![w.other_agency]),
        (&w.agency_admin, vec![]),
        (&w.evaluator, vec![w.other_agency]),
        (&w.other_evaluator, vec![]),
        (&w.other_evaluator, vec![w.agency]),
        (&w.other_agency_admin, vec![]),
    ] {
        t.file_finding(author, broad, &shares).await;
        t.publish_assessment(author, broad, &shares).await;
    }
    // Visibility is decided in the query, so every page but the last is full even for a reader who may not
    // see every row.
    for what in ["findings", "assessments"] {
        let path = format!("/api/v1/notices/{broad}/{what}");
        check_paging(&t, &w.dev_admin, &path, "id", 7, true).await;
        check_paging(&t, &w.evaluator2, &path, "id", 5, true).await;
        check_paging(&t, &w.other_agency_admin, &path, "id", 5, true).await;
    }

    // A notice's history and its assignments.
    for day in 1..=6 {
        let to = t.clock_now() + Duration::days(30 + day);
        t.put(
            &w.dev_admin,
            &format!("/api/v1/notices/{broad}/launch"),
            json!({ "planned_launch_at": to }),
        )
        .await
        .ok();
    }
    check_paging(
        &t,
        &w.evaluator,
        &format!("/api/v1/notices/{broad}/history"),
        "new_launch_at",
        7,
        true,
    )
    .await;
    for evaluator in [&w.evaluator2, &w.agency_admin] {
        t.assign(&w.agency_admin, broad, evaluator).await;
    }
    let assignments = format!("/api/v1/notices/{broad}/assignments");
    check_paging(&t, &w.dev_admin, &assignments, "user_id", 4, true).await;
    check_paging(&t, &w.agency_admin, &assignments, "user_id", 3, true).await;

    // The audit trail, whole and for one object.
    let events = t.db_counts().await["audit_events"] as usize;
    check_paging(&t, &w.program_admin, "/api/v1/audit", "seq", events, true).await;
    let trail = format!("/api/v1/audit?object_id={broad}");
    check_paging(&t, &w.program_admin, &trail, "seq", 1 + 6 + 4, true).await;
    // The other agency sees the six moves and its own assignment, not the filing (it names the first agency)
    // nor the first agency's three assignments, in full pages.
    check_paging(&t, &w.other_agency_admin, &trail, "seq", 6 + 1, true).await;
}

#[tokio::test]
async fn a_list_changing_between_pages_neither_repeats_nor_skips_what_stays() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let mut filed = Vec::new();
    for days in [10, 20, 30, 40, 50, 60] {
        filed.push(id_of(&t.file_notice(&w.dev_admin, days, &[w.agency]).await).to_string());
    }
    let first = t.get(&w.dev_admin, "/api/v1/notices?limit=3").await;
    let cursor = first.ok()["next_cursor"].as_str().unwrap().to_owned();
    // Between pages, a notice closing before the cursor and one after it are filed.
    t.file_notice(&w.dev_admin, 5, &[w.agency]).await;
    let late = id_of(&t.file_notice(&w.dev_admin, 55, &[w.agency]).await).to_string();
    let mut seen: Vec<String> = first.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect();
    let mut next = Some(cursor);
    while let Some(cursor) = next {
        let page = t
            .get(&w.dev_admin, &format!("/api/v1/notices?limit=3&cursor={cursor}"))
            .await;
        seen.extend(
            page.ok()["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["id"].as_str().unwrap().to_owned()),
        );
        next = page.body["next_cursor"].as_str().map(str::to_owned);
    }
    let mut expected = filed.clone();
    expected.insert(5, late);
    assert_eq!(
        seen, expected,
        "what was there is seen once; what arrived behind the cursor is seen too"
    );
}
