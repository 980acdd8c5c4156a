//! The grant epoch (`GatewayStore::grant_epoch`): it moves with every change to what a token's grant is read
//! from and with nothing else, and a process keeps a busy token's cached grant on one read of it.

use super::*;

async fn epoch(t: &TestApp) -> i64 {
    t.app.store.grant_epoch().await.unwrap()
}

#[tokio::test]
async fn the_grant_epoch_moves_with_every_change_a_grant_is_read_from() {
    let g = gateway_with(10, json!({})).await;
    let (t, w) = (&g.t, &g.w);
    let notice = format!("/api/v1/notices/{}", g.notice);
    let person = format!("/api/v1/users/{}", w.evaluator2.user_id);
    let developer = format!("/api/v1/organizations/{}", w.dev_admin.org_id);
    let change = json!({"api_style": "openai", "base_url": g.up.base_url, "upstream_model": UPSTREAM_MODEL,
        "requests_per_minute": 100});
    // Work that changes none of it (a finding, a call and its record) leaves the epoch where it was.
    let before = epoch(t).await;
    let notice_id = g.notice.parse().unwrap();
    t.file_finding(&w.evaluator, notice_id, &[w.agency]).await;
    assert_eq!(chat(t, &g.token, &chat_body("hi")).await.status, 200);
    assert!(!calls(&g).await.is_empty(), "the call is recorded");
    assert_eq!(epoch(t).await, before);

    // (what changes, who changes it, the request)
    let cases: Vec<(&str, &Persona, Method, String, Option<Value>)> = vec![
        (
            "a token issued",
            &w.evaluator,
            Method::POST,
            format!("{notice}/gateway-tokens"),
            Some(json!({"name": "second"})),
        ),
        (
            "an evaluator assigned",
            &w.agency_admin,
            Method::POST,
            format!("{notice}/assignments"),
            Some(json!({"user_id": w.evaluator2.user_id})),
        ),
        (
            "an evaluator unassigned",
            &w.agency_admin,
            Method::DELETE,
            format!("{notice}/assignments/{}", w.evaluator2.user_id),
            None,
        ),
        (
            "a person deactivated",
            &w.agency_admin,
            Method::PATCH,
            person,
            Some(json!({"active": false})),
        ),
        (
            "an organisation deactivated",
            &w.program_admin,
            Method::PATCH,
            developer.clone(),
            Some(json!({"active": false})),
        ),
        (
            "an organisation reactivated",
            &w.program_admin,
            Method::PATCH,
            developer,
            Some(json!({"active": true})),
        ),
        (
            "the notice edited",
            &w.dev_admin,
            Method::PATCH,
            notice.clone(),
            Some(json!({"model_version": "2"})),
        ),
        (
            "the connection changed",
            &w.dev_admin,
            Method::PUT,
            format!("{notice}/connections/{}", g.connection),
            Some(change),
        ),
    ];
    for (what, who, method, path, body) in cases {
        let before = epoch(t).await;
        let reply = t.call(method, &path, Some(&who.token), body).await;
        assert!(
            reply.status.is_success(),
            "{what}: {} {}",
            reply.status,
            reply.body
        );
        assert!(epoch(t).await > before, "{what} did not move the grant epoch");
    }
}

/// Another process keeps its cached grant while the epoch stands, and reads it again in full once it moves. The
/// test puts the epoch back by hand after a change, a state no request makes, to show that the renewal trusts
/// the epoch alone: the other process then keeps the grant from before the change past its two seconds. (That a
/// moved epoch reaches a busy token before its grant expires: `gateway_latency.rs`.)
#[tokio::test]
async fn a_cached_grant_is_kept_while_the_epoch_stands_and_read_again_when_it_moves() {
    let g = gateway_with(10, json!({})).await;
    let other = g.t.sibling().await;
    let ok = || chat_body("hi");
    assert_eq!(chat(&other, &g.token, &ok()).await.status, 200);
    let before = epoch(&g.t).await;
    let developer = format!("/api/v1/organizations/{}", g.w.dev_admin.org_id);
    g.t.patch(&g.w.program_admin, &developer, json!({"active": false}))
        .await
        .ok();
    g.t.execute_sql(&format!("UPDATE grant_epoch SET n = {before}"))
        .await;

    // Every half life the cached grant is renewed on the epoch alone, so it answers long past two seconds.
    for _ in 0..4 {
        other.clock.advance(chrono::Duration::milliseconds(1_000));
        assert_eq!(chat(&other, &g.token, &ok()).await.status, 200);
        // Let the renewal started by that call finish before the clock moves on.
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // Past its life too (no call for a while), the grant is taken up again on the epoch alone...
    other.clock.advance(chrono::Duration::seconds(10));
    assert_eq!(chat(&other, &g.token, &ok()).await.status, 200);

    // ...and once the epoch moves, the grant is read in full and the change shows.
    g.t.execute_sql(&format!("UPDATE grant_epoch SET n = {}", before + 1))
        .await;
    other.clock.advance(chrono::Duration::seconds(10));
    refused(&chat(&other, &g.token, &ok()).await, 403, "developer_inactive");
}

/// Each process reads the epoch once a second for its whole cache: a grant it confirms lives two seconds from
/// that read, used or not, so an idle token's next call need not wait for the database; a change made by
/// another process shows once that life is over.
#[tokio::test]
async fn an_epoch_read_for_the_whole_cache_keeps_an_idle_grant_two_seconds_from_it() {
    let g = gateway_with(10, json!({})).await;
    let other = g.t.sibling().await;
    let ok = || chat_body("hi");
    assert_eq!(chat(&other, &g.token, &ok()).await.status, 200);
    // No call from here on until the change; the process's epoch read (as its upkeep makes every second)
    // confirms the grant at 1.5 s.
    other.clock.advance(chrono::Duration::milliseconds(1_500));
    other.app.confirm_gateway_grants().await;

    let developer = format!("/api/v1/organizations/{}", g.w.dev_admin.org_id);
    g.t.patch(&g.w.program_admin, &developer, json!({"active": false}))
        .await
        .ok();
    // 3.2 s after the grant was read, 1.7 s after it was confirmed: still in its life, so it answers...
    other.clock.advance(chrono::Duration::milliseconds(1_700));
    assert_eq!(chat(&other, &g.token, &ok()).await.status, 200);
    // ...and past that life the change shows.
    other.clock.advance(chrono::Duration::milliseconds(400));
    refused(&chat(&other, &g.token, &ok()).await, 403, "developer_inactive");
}
