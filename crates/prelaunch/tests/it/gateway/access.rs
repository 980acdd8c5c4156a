//! Who may call through the gateway and how much: the review window, the token, the assignment, the
//! developer's actions, limits, gateway tokens and usage.

use super::*;

#[tokio::test]
async fn access_opens_and_closes_with_the_review_window() {
    // Launch in 40 days: the window opens in 10. A second connection allows two days after launch.
    let g = gateway_with(40, json!({})).await;
    g.t.post(
        &g.w.dev_admin,
        &format!("/api/v1/notices/{}/connections", g.notice),
        connection_body(&g.up, json!({"model": "orion-after", "post_launch_days": 2})),
    )
    .await
    .ok();
    let filed = g.t.clock_now();
    let day = chrono::Duration::days(1);
    let cases: &[(chrono::Duration, &str, u16, Option<&str>)] = &[
        (chrono::Duration::zero(), MODEL, 403, Some("window_not_open")),
        (
            day * 10 - chrono::Duration::seconds(1),
            MODEL,
            403,
            Some("window_not_open"),
        ),
        (day * 10, MODEL, 200, None),
        (day * 40 - chrono::Duration::seconds(1), MODEL, 200, None),
        (day * 40, MODEL, 403, Some("window_closed")),
        (day * 40, "orion-after", 200, None),
        (day * 42 - chrono::Duration::seconds(1), "orion-after", 200, None),
        (day * 42, "orion-after", 403, Some("post_launch_access_ended")),
        (day * 42, MODEL, 403, Some("window_closed")),
    ];
    for (offset, model, status, code) in cases {
        g.t.clock.set(filed + *offset);
        let body = json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});
        let reply = chat(&g.t, &g.token, &body).await;
        match code {
            None => assert_eq!(reply.status.as_u16(), *status, "{offset} {model}: {}", reply.body),
            Some(code) => {
                let message = refused(&reply, *status, code);
                assert!(!message.contains(&g.notice), "{message}");
            }
        }
    }
    // The model list follows the same rule.
    let models = gateway(&g.t, Some(&g.token), Method::GET, "/models", None).await;
    refused(&models, 403, "post_launch_access_ended");
    g.t.clock.set(filed + day * 41);
    let models = gateway(&g.t, Some(&g.token), Method::GET, "/models", None).await;
    let ids: Vec<&str> = models.ok()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["orion-after"]);
}

#[tokio::test]
async fn access_follows_the_token_the_assignment_and_the_developers_actions() {
    let g = gateway_with(10, json!({})).await;
    let (t, w) = (&g.t, &g.w);
    let notices = format!("/api/v1/notices/{}", g.notice);
    let ok = || chat_body("hi");
    let revoked = issue(t, &w.evaluator, &g.notice, json!({"name": "old"})).await;
    let expiring = issue(
        t,
        &w.evaluator,
        &g.notice,
        json!({"name": "short", "expires_in_days": 1}),
    )
    .await;
    assert_eq!(chat(t, &revoked, &ok()).await.status, 200);
    assert_eq!(chat(t, &expiring, &ok()).await.status, 200);

    let tokens = t.get(&w.evaluator, &format!("{notices}/gateway-tokens")).await;
    let old = tokens.ok()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "old")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    t.call(
        Method::DELETE,
        &format!("{notices}/gateway-tokens/{old}"),
        Some(&w.evaluator.token),
        None,
    )
    .await
    .ok();
    refused(&chat(t, &revoked, &ok()).await, 401, "token_revoked");

    t.clock.advance(chrono::Duration::days(1));
    refused(&chat(t, &expiring, &ok()).await, 401, "token_expired");
    assert_eq!(
        chat(t, &g.token, &ok()).await.status,
        200,
        "other tokens still work"
    );

    let unassign = format!("{notices}/assignments/{}", w.evaluator.user_id);
    let removed = t
        .call(Method::DELETE, &unassign, Some(&w.agency_admin.token), None)
        .await;
    assert_eq!(removed.status, 204);
    refused(&chat(t, &g.token, &ok()).await, 403, "not_assigned");
    t.post(
        &w.agency_admin,
        &format!("{notices}/assignments"),
        json!({"user_id": w.evaluator.user_id}),
    )
    .await
    .ok();
    assert_eq!(chat(t, &g.token, &ok()).await.status, 200, "reassigned");

    let person = format!("/api/v1/users/{}", w.evaluator.user_id);
    let deactivate = t
        .call(
            Method::PATCH,
            &person,
            Some(&w.agency_admin.token),
            Some(json!({"active": false})),
        )
        .await;
    deactivate.ok();
    refused(&chat(t, &g.token, &ok()).await, 401, "account_inactive");
    t.call(
        Method::PATCH,
        &person,
        Some(&w.agency_admin.token),
        Some(json!({"active": true})),
    )
    .await
    .ok();
    assert_eq!(chat(t, &g.token, &ok()).await.status, 200, "reactivated");

    t.post(&w.dev_admin, &format!("{notices}/withdraw"), json!({}))
        .await
        .ok();
    refused(&chat(t, &g.token, &ok()).await, 403, "notice_withdrawn");

    // Tokens that are not this notice's gateway tokens.
    refused(
        &gateway(t, None, Method::POST, "/chat/completions", Some(&ok())).await,
        401,
        "missing_api_key",
    );
    for bad in ["plg_not-a-token", w.evaluator.token.as_str(), "sk-anything"] {
        let reply = chat(t, bad, &ok()).await;
        refused(&reply, 401, "invalid_api_key");
        assert_eq!(reply.headers["www-authenticate"], "Bearer");
    }
}

#[tokio::test]
async fn a_launch_ends_access_at_once() {
    let g = gateway_with(10, json!({})).await;
    assert_eq!(chat(&g.t, &g.token, &chat_body("hi")).await.status, 200);
    g.t.post(
        &g.w.dev_admin,
        &format!("/api/v1/notices/{}/launch", g.notice),
        json!({}),
    )
    .await
    .ok();
    refused(
        &chat(&g.t, &g.token, &chat_body("hi")).await,
        403,
        "window_closed",
    );
}

#[tokio::test]
async fn limits_are_enforced_per_evaluator() {
    // Requests per minute: a burst of two, then one every 30 s.
    let g = gateway_with(10, json!({"requests_per_minute": 2})).await;
    assert_eq!(chat(&g.t, &g.token, &chat_body("1")).await.status, 200);
    assert_eq!(chat(&g.t, &g.token, &chat_body("2")).await.status, 200);
    let reply = chat(&g.t, &g.token, &chat_body("3")).await;
    refused(&reply, 429, "rate_limit_exceeded");
    assert_eq!(reply.headers["retry-after"], "30");
    assert_eq!(reply.body["error"]["type"], "rate_limit_error");
    let other = issue(&g.t, &g.w.evaluator, &g.notice, json!({"name": "second"})).await;
    let reply = chat(&g.t, &other, &chat_body("4")).await;
    refused(&reply, 429, "rate_limit_exceeded");
    assert!(
        reply.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("all your gateway tokens together"),
        "per evaluator, not per token: {}",
        reply.body
    );
    g.t.clock.advance(chrono::Duration::seconds(30));
    assert_eq!(chat(&g.t, &g.token, &chat_body("5")).await.status, 200);

    // Tokens per minute: each call uses 18; after two, the minute's 30 are spent.
    let g = gateway_with(10, json!({"tokens_per_minute": 30})).await;
    assert_eq!(chat(&g.t, &g.token, &chat_body("1")).await.status, 200);
    assert_eq!(chat(&g.t, &g.token, &chat_body("2")).await.status, 200);
    let reply = chat(&g.t, &g.token, &chat_body("3")).await;
    refused(&reply, 429, "tokens_per_minute_exceeded");
    let wait: i64 = reply.headers["retry-after"].to_str().unwrap().parse().unwrap();
    g.t.clock.advance(chrono::Duration::seconds(wait));
    assert_eq!(chat(&g.t, &g.token, &chat_body("4")).await.status, 200);

    // Concurrency: one call in flight at a time.
    let g = gateway_with(10, json!({"concurrency": 1})).await;
    g.up.script([Behavior::Slow(Duration::from_millis(500))]);
    let (t, token) = (&g.t, g.token.clone());
    let slow_body = chat_body("slow");
    let slow = chat(t, &token, &slow_body);
    let second = async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        chat(t, &token, &chat_body("second")).await
    };
    let (slow, second) = tokio::join!(slow, second);
    assert_eq!(slow.status, 200);
    refused(&second, 429, "concurrency_limit_exceeded");
    assert_eq!(second.headers["retry-after"], "1");
    assert_eq!(chat(t, &token, &chat_body("after")).await.status, 200);

    // Every refusal was recorded.
    let calls = calls(&g).await;
    let statuses: Vec<i64> = calls.iter().map(|c| c["status"].as_i64().unwrap()).collect();
    assert_eq!(statuses, [200, 429, 200], "newest first");
}

#[tokio::test]
async fn gateway_tokens_are_issued_by_assigned_evaluators_and_seen_by_scope() {
    let g = gateway_with(10, json!({})).await;
    let (t, w) = (&g.t, &g.w);
    let tokens = format!("/api/v1/notices/{}/gateway-tokens", g.notice);
    for who in [&w.evaluator2, &w.agency_admin, &w.dev_admin] {
        t.post(who, &tokens, json!({"name": "x"}))
            .await
            .problem(403, "forbidden");
    }
    t.post(&w.other_evaluator, &tokens, json!({"name": "x"}))
        .await
        .problem(404, "not-found");
    t.post(&w.evaluator, &tokens, json!({"name": "x", "expires_in_days": 0}))
        .await
        .problem(422, "invalid-field");
    t.post(
        &w.agency_admin,
        &format!("/api/v1/notices/{}/assignments", g.notice),
        json!({"user_id": w.evaluator2.user_id}),
    )
    .await
    .ok();
    issue(t, &w.evaluator2, &g.notice, json!({"name": "second"})).await;

    let count = |reply: Reply| reply.ok()["items"].as_array().unwrap().len();
    assert_eq!(count(t.get(&w.evaluator, &tokens).await), 1, "own");
    assert_eq!(count(t.get(&w.evaluator2, &tokens).await), 1, "own");
    assert_eq!(count(t.get(&w.agency_admin, &tokens).await), 2, "the agency's");
    assert_eq!(
        count(t.get(&w.dev_admin, &tokens).await),
        2,
        "the developer sees who has access"
    );
    let listed = t.get(&w.dev_admin, &tokens).await;
    assert!(
        listed.body["items"][0].get("token").is_none(),
        "shown once, never listed"
    );

    // Revoking: the holder or their agency's admin; the other evaluator does not even see it.
    let id = t.get(&w.evaluator, &tokens).await.body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let one = format!("{tokens}/{id}");
    t.call(Method::DELETE, &one, Some(&w.evaluator2.token), None)
        .await
        .problem(404, "not-found");
    t.call(Method::DELETE, &one, Some(&w.dev_admin.token), None)
        .await
        .problem(403, "forbidden");
    let revoked = t
        .call(Method::DELETE, &one, Some(&w.agency_admin.token), None)
        .await;
    assert!(revoked.ok()["revoked_at"].is_string());
    t.call(Method::DELETE, &one, Some(&w.evaluator.token), None)
        .await
        .problem(409, "conflict");
    let (actions, _) = audit_actions(t, &w.program_admin, &id).await;
    assert_eq!(actions, ["gateway_token.create", "gateway_token.revoke"]);
}

#[tokio::test]
async fn usage_is_seen_by_the_evaluator_their_agency_and_in_aggregate_by_the_developer() {
    let g = gateway_with(10, json!({})).await;
    let (t, w) = (&g.t, &g.w);
    t.post(
        &w.agency_admin,
        &format!("/api/v1/notices/{}/assignments", g.notice),
        json!({"user_id": w.evaluator2.user_id}),
    )
    .await
    .ok();
    let second = issue(t, &w.evaluator2, &g.notice, json!({"name": "b"})).await;
    for _ in 0..2 {
        assert_eq!(chat(t, &g.token, &chat_body("a")).await.status, 200);
    }
    assert_eq!(chat(t, &second, &chat_body("b")).await.status, 200);
    g.up.script([Behavior::Fail(500, None)]);
    assert_eq!(chat(t, &second, &chat_body("b")).await.status, 502);

    let own = usage(t, &w.evaluator, &g.notice).await;
    assert_eq!(own["scope"], "own");
    assert_eq!(own["totals"]["calls"], 2);
    assert_eq!(own["totals"]["input_tokens"], 22);
    assert_eq!(own["by_evaluator"].as_array().unwrap().len(), 1);

    let agency = usage(t, &w.agency_admin, &g.notice).await;
    assert_eq!(agency["scope"], "agency");
    assert_eq!(agency["totals"]["calls"], 4);
    assert_eq!(agency["totals"]["errors"], 1);
    assert_eq!(agency["by_evaluator"].as_array().unwrap().len(), 2);
    assert_eq!(agency["by_day"][0]["day"], "2027-01-01");

    let developer = usage(t, &w.dev_admin, &g.notice).await;
    assert_eq!(developer["scope"], "aggregate");
    assert_eq!(developer["totals"]["calls"], 4);
    assert_eq!(developer["totals"]["output_tokens"], 21);
    assert!(developer.get("by_evaluator").is_none(), "not who made them");
    t.get(
        &w.dev_admin,
        &format!("/api/v1/notices/{}/gateway-calls", g.notice),
    )
    .await
    .problem(403, "forbidden");
    for who in [&w.other_agency_admin, &w.other_dev, &w.operator] {
        t.get(who, &format!("/api/v1/notices/{}/gateway-usage", g.notice))
            .await
            .problem(404, "not-found");
    }
}
