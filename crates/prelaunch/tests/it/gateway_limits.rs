//! The gateway's limits: per evaluator across all their tokens, per agency when the connection says so, shared
//! by several server processes over one database; and a deactivated developer's models refused everywhere.

use crate::gateway::*;
use crate::support::*;
use crate::upstream::*;
use gateway::limits::{MINUTE_NS, RateLease, SLOT_TTL_MS};
use serde_json::{Value, json};
use std::time::Duration;
use store::{BudgetKey, BudgetLease, BudgetScope, BudgetState, RateStep, SlotLease};
use uuid::Uuid;

fn seconds(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}

fn body_for(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "1"}]})
}

/// Which budget a 429 names: "evaluator" or "agency".
fn whose(reply: &Reply) -> &'static str {
    let message = reply.body["error"]["message"].as_str().unwrap_or_default();
    if message.contains("your agency's calls") {
        "agency"
    } else if message.contains("all your gateway tokens together") {
        "evaluator"
    } else {
        panic!("a limit's refusal that names no budget: {message}")
    }
}

#[tokio::test]
async fn all_of_an_evaluators_tokens_share_one_budget() {
    let g = gateway_with(10, json!({"requests_per_minute": 1})).await;
    let mut tokens = vec![g.token.clone()];
    for i in 1..20 {
        tokens.push(
            issue(
                &g.t,
                &g.w.evaluator,
                &g.notice,
                json!({"name": format!("token {i}")}),
            )
            .await,
        );
    }
    for minute in 0..3 {
        let mut admitted = Vec::new();
        for (i, token) in tokens.iter().enumerate() {
            let reply = chat(&g.t, token, &chat_body("hi")).await;
            match reply.status.as_u16() {
                200 => admitted.push(i),
                429 => {
                    refused(&reply, 429, "rate_limit_exceeded");
                    assert_eq!(whose(&reply), "evaluator");
                    let retry: i64 = reply.headers["retry-after"].to_str().unwrap().parse().unwrap();
                    assert!((1..=60).contains(&retry), "{retry}");
                }
                other => panic!("{other}: {}", reply.body),
            }
        }
        assert_eq!(
            admitted,
            [0],
            "minute {minute}: one call a minute, whichever the token"
        );
        g.t.clock.advance(seconds(60));
    }
}

/// A call in a case of the budgets table: who calls, and what comes back (a status, and for a 429 whose
/// budget refused).
type Call = (usize, u16, Option<&'static str>);

#[tokio::test]
async fn each_evaluator_has_a_budget_and_an_agency_cap_counts_all_its_evaluators() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let up = Upstream::start().await;
    let notice = t.file_notice(&w.dev_admin, 10, &[w.agency, w.other_agency]).await;
    let notice = notice["id"].as_str().unwrap().to_owned();
    t.assign(&w.agency_admin, notice.parse().unwrap(), &w.evaluator)
        .await;
    t.assign(&w.agency_admin, notice.parse().unwrap(), &w.evaluator2)
        .await;
    t.assign(&w.other_agency_admin, notice.parse().unwrap(), &w.other_evaluator)
        .await;
    // Two evaluators of one agency, and one of another.
    let mut tokens = Vec::new();
    for who in [&w.evaluator, &w.evaluator2, &w.other_evaluator] {
        tokens.push(issue(&t, who, &notice, json!({"name": "t"})).await);
    }
    const E1: usize = 0;
    const E2: usize = 1;
    const OTHER: usize = 2;
    // Each call uses 18 tokens (the scripted upstream's usage).
    let cases: [(&str, Value, Vec<Call>); 5] = [
        (
            "evaluators have budgets of their own",
            json!({"requests_per_minute": 2}),
            vec![
                (E1, 200, None),
                (E1, 200, None),
                (E1, 429, Some("evaluator")),
                (E2, 200, None),
                (E2, 200, None),
                (OTHER, 200, None),
            ],
        ),
        (
            "an agency's requests are summed over its evaluators",
            json!({"requests_per_minute": 2, "agency_requests_per_minute": 3}),
            vec![
                (E1, 200, None),
                (E2, 200, None),
                (E1, 200, None),
                (E2, 429, Some("agency")),
                // Both budgets are spent; the agency's refusal is already known.
                (E1, 429, Some("agency")),
                (OTHER, 200, None),
                (OTHER, 200, None),
                (OTHER, 429, Some("evaluator")),
            ],
        ),
        (
            "an agency's tokens are summed over its evaluators",
            json!({"agency_tokens_per_minute": 30}),
            vec![
                (E1, 200, None),
                (E2, 200, None),
                (E1, 429, Some("agency")),
                (E2, 429, Some("agency")),
                (OTHER, 200, None),
            ],
        ),
        (
            "an agency cap does not raise an evaluator's",
            json!({"requests_per_minute": 1, "agency_requests_per_minute": 100}),
            vec![
                (E1, 200, None),
                (E1, 429, Some("evaluator")),
                (E2, 200, None),
                (E2, 429, Some("evaluator")),
            ],
        ),
        (
            "an agency cap on tokens alone leaves requests to the evaluators",
            json!({"requests_per_minute": 3, "agency_tokens_per_minute": 100000}),
            vec![
                (E1, 200, None),
                (E1, 200, None),
                (E1, 200, None),
                (E1, 429, Some("evaluator")),
                (E2, 200, None),
            ],
        ),
    ];
    for (i, (case, caps, calls)) in cases.into_iter().enumerate() {
        let model = format!("case-{i}");
        let mut extra = caps.clone();
        extra["model"] = json!(model);
        t.post(
            &w.dev_admin,
            &format!("/api/v1/notices/{notice}/connections"),
            connection_body(&up, extra),
        )
        .await
        .ok();
        for (n, (who, status, budget)) in calls.into_iter().enumerate() {
            let reply = chat(&t, &tokens[who], &body_for(&model)).await;
            assert_eq!(reply.status.as_u16(), status, "{case}, call {n}: {}", reply.body);
            if let Some(budget) = budget {
                assert_eq!(whose(&reply), budget, "{case}, call {n}");
            }
        }
    }
}

/// Sends calls at `step` intervals for `minutes`, alternating between two processes whose clocks move
/// together, with each process's upkeep every five seconds; returns how many were admitted.
async fn alternate(a: &TestApp, b: &TestApp, token: &str, model: &str, step_ms: i64, minutes: i64) -> usize {
    let mut admitted = 0;
    let steps = minutes * 60_000 / step_ms;
    for i in 0..steps {
        let target = if i % 2 == 0 { a } else { b };
        let reply = chat(target, token, &body_for(model)).await;
        match reply.status.as_u16() {
            200 => admitted += 1,
            429 => {}
            other => panic!("{other}: {}", reply.body),
        }
        for t in [a, b] {
            t.clock.advance(chrono::Duration::milliseconds(step_ms));
        }
        if i % (5_000 / step_ms) == 0 {
            a.app.tend_gateway_limits().await;
            b.app.tend_gateway_limits().await;
        }
    }
    admitted
}

#[tokio::test]
async fn two_processes_hold_an_evaluators_limits_together_within_ten_percent() {
    let g = gateway_with(10, json!({})).await;
    let b = g.t.sibling().await;
    // (limit, the connection's settings, the pace of calls, the calls an ideal single counter admits in
    // three minutes: a minute's allowance at once, then the limit's pace.)
    let cases = [
        (
            "requests per minute",
            json!({"requests_per_minute": 100}),
            200,
            100 + 3 * 100,
        ),
        (
            "tokens per minute, 18 a call",
            json!({"tokens_per_minute": 900, "requests_per_minute": 100000}),
            400,
            (900 + 3 * 900) / 18,
        ),
    ];
    for (i, (limit, settings, step_ms, ideal)) in cases.into_iter().enumerate() {
        let model = format!("shared-{i}");
        let mut extra = settings.clone();
        extra["model"] = json!(model);
        g.t.post(
            &g.w.dev_admin,
            &format!("/api/v1/notices/{}/connections", g.notice),
            connection_body(&g.up, extra),
        )
        .await
        .ok();
        // The other process sees the new connection once its cached grant has expired (`GRANT_TTL`, 2 s).
        for t in [&g.t, &b] {
            t.clock.advance(chrono::Duration::seconds(2));
        }
        let admitted = alternate(&g.t, &b, &g.token, &model, step_ms, 3).await;
        let off = (admitted as f64 - f64::from(ideal)).abs() / f64::from(ideal);
        assert!(
            off <= 0.10,
            "{limit}: {admitted} admitted by two processes, {ideal} by one counter ({:.1} % off)",
            off * 100.0
        );
    }
}

#[tokio::test]
async fn calls_in_flight_are_counted_over_every_process() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let up = Upstream::start().await;
    let notice = t.file_notice(&w.dev_admin, 10, &[w.agency, w.other_agency]).await;
    let notice = notice["id"].as_str().unwrap().to_owned();
    for (admin, who) in [
        (&w.agency_admin, &w.evaluator),
        (&w.agency_admin, &w.evaluator2),
        (&w.other_agency_admin, &w.other_evaluator),
    ] {
        t.assign(admin, notice.parse().unwrap(), who).await;
    }
    let mut tokens = Vec::new();
    for who in [&w.evaluator, &w.evaluator2, &w.other_evaluator] {
        tokens.push(issue(&t, who, &notice, json!({"name": "t"})).await);
    }
    let b = t.sibling().await;
    // (settings, a slow call held in flight in one process by this evaluator, then a call in the other
    // process by each evaluator: the answers.)
    let cases: [(&str, Value, usize, [u16; 3]); 2] = [
        (
            "one at a time per evaluator",
            json!({"concurrency": 1}),
            0,
            [429, 200, 200],
        ),
        (
            "one at a time per agency",
            json!({"concurrency": 5, "agency_concurrency": 1}),
            0,
            [429, 429, 200],
        ),
    ];
    // Every connection first: the other process sees a new one once its cached grants expire.
    for (i, (_, settings, _, _)) in cases.iter().enumerate() {
        let mut extra = settings.clone();
        extra["model"] = json!(format!("inflight-{i}"));
        t.post(
            &w.dev_admin,
            &format!("/api/v1/notices/{notice}/connections"),
            connection_body(&up, extra),
        )
        .await
        .ok();
    }
    for (i, (case, _, holder, expected)) in cases.into_iter().enumerate() {
        let model = format!("inflight-{i}");
        up.script([Behavior::Slow(Duration::from_millis(1500))]);
        let slow_body = body_for(&model);
        let slow = chat(&t, &tokens[holder], &slow_body);
        let others = async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let mut statuses = Vec::new();
            for token in &tokens {
                statuses.push(chat(&b, token, &body_for(&model)).await.status.as_u16());
            }
            statuses
        };
        let (slow, statuses) = tokio::join!(slow, others);
        assert_eq!(slow.status, 200, "{case}");
        assert_eq!(statuses, expected, "{case}");
        // The slow call's slot stays with its process for the window it was used in and the next, then goes
        // back; the other process asks again after a second.
        for _ in 0..2 {
            for app in [&t, &b] {
                app.clock.advance(seconds(3));
            }
            t.app.tend_gateway_limits().await;
        }
        assert_eq!(
            chat(&b, &tokens[holder], &body_for(&model)).await.status,
            200,
            "{case}: once the call ended"
        );
    }
}

#[tokio::test]
async fn the_slots_of_a_process_that_stopped_come_back() {
    let g = gateway_with(10, json!({"concurrency": 1})).await;
    let b = g.t.sibling().await;
    // (how the process holding the slot ends, whether the slot is free at once.)
    let cases = [("killed", false), ("stopped gracefully", true)];
    for (how, at_once) in cases {
        let a = g.t.sibling().await;
        a.clock.set(b.clock_now());
        assert_eq!(chat(&a, &g.token, &chat_body("a")).await.status, 200, "{how}");
        // The slot lingers with `a` after its call; `a` now ends without letting go of it, or lets it go.
        if at_once {
            a.app.release_gateway_limits().await;
        }
        drop(a);
        let reply = chat(&b, &g.token, &chat_body("b")).await;
        if at_once {
            assert_eq!(reply.status, 200, "{how}: {}", reply.body);
            continue;
        }
        refused(&reply, 429, "concurrency_limit_exceeded");
        b.clock
            .advance(chrono::Duration::milliseconds(SLOT_TTL_MS - 1_000));
        let reply = chat(&b, &g.token, &chat_body("b")).await;
        refused(&reply, 429, "concurrency_limit_exceeded");
        b.clock.advance(seconds(1));
        assert_eq!(
            chat(&b, &g.token, &chat_body("b")).await.status,
            200,
            "{how}: after the slot expired"
        );
        // `b` lets go of its slot for the next case.
        for _ in 0..2 {
            b.clock.advance(seconds(3));
            b.app.tend_gateway_limits().await;
        }
    }
}

/// A process that let go of its slots as it stops does not take them back: the upkeep it runs before it ends
/// (its tick, every second) no longer renews their rows.
#[tokio::test]
async fn the_upkeep_of_a_stopping_process_does_not_take_back_its_slots() {
    let g = gateway_with(10, json!({"concurrency": 1})).await;
    let a = g.t.sibling().await;
    assert_eq!(chat(&a, &g.token, &chat_body("a")).await.status, 200);
    a.app.release_gateway_limits().await;
    // Time enough for a renewal, not for the slot to be given back at the end of its window.
    a.clock.advance(seconds(SLOT_TTL_MS / 3_000));
    a.app.tend_gateway_limits().await;
    g.t.clock.set(a.clock_now());
    let reply = chat(&g.t, &g.token, &chat_body("b")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[tokio::test]
async fn a_lease_is_the_rule_on_both_backends() {
    let g = gateway_with(10, json!({})).await;
    let store = &g.t.app.store;
    let connection_id: Uuid = g.connection.parse().unwrap();
    let now_ns = g.t.clock_now().timestamp_nanos_opt().unwrap();
    let s = 1_000_000_000;
    // (limit, the budget's time relative to now in s, want, balance)
    let cases: [(u32, i64, i64, i64); 10] = [
        (60, -100, 1, 0),
        (60, 0, 60, 0),
        (60, 59, 1, 0),
        (60, 60, 1, 0),
        (60, 30, 0, -20),
        (60, 30, 2, 10),
        (60, 5, 0, 30),
        (7, 3_700, 1, 0),
        (100_000_000, 12, 2_000_000, -5_000_000),
        (1, 0, 1, 0),
    ];
    for (i, (limit, tat_s, want, balance)) in cases.into_iter().enumerate() {
        let key = BudgetKey {
            connection_id,
            scope: BudgetScope::Agency,
            subject_id: Uuid::now_v7(),
        };
        let start = now_ns + tat_s * s;
        let lease = RateLease {
            per_minute: limit,
            want,
            balance,
        }
        .bounded();
        let step = RateStep {
            unit_ns: lease.unit_ns(),
            want: lease.want,
            balance: lease.balance,
        };
        let idle = RateStep {
            unit_ns: MINUTE_NS,
            want: 0,
            balance: 0,
        };
        // The first lease writes the budget as given; the second goes through the statement's arithmetic.
        let fresh = BudgetState {
            requests_tat_ns: start,
            tokens_tat_ns: start,
            requests_granted: 0,
            tokens_granted: 0,
        };
        let lease_of = |requests, tokens| BudgetLease {
            key,
            now_ns,
            requests,
            tokens,
            fresh,
        };
        store.lease_budget(&lease_of(idle, idle)).await.unwrap();
        let got = store.lease_budget(&lease_of(step, idle)).await.unwrap();
        let (granted, tat) = lease.apply(start, now_ns);
        assert_eq!(
            (got.requests_granted, got.requests_tat_ns),
            (granted, tat),
            "case {i}: requests"
        );
        let got = store.lease_budget(&lease_of(idle, step)).await.unwrap();
        assert_eq!(
            (got.tokens_granted, got.tokens_tat_ns),
            (granted, tat),
            "case {i}: tokens"
        );
    }
}

#[tokio::test]
async fn slots_are_shared_under_the_limit_and_expire() {
    let g = gateway_with(10, json!({})).await;
    let store = &g.t.app.store;
    let key = BudgetKey {
        connection_id: g.connection.parse().unwrap(),
        scope: BudgetScope::Evaluator,
        subject_id: g.w.evaluator.user_id,
    };
    let now = g.t.clock_now().timestamp_millis();
    let lease = |holder: &str, target: i64, at: i64| SlotLease {
        key,
        holder: holder.into(),
        target,
        limit: 3,
        now_ms: at,
        expires_ms: at + 10_000,
    };
    // (holder, target, when in ms, raising (else lowering), the slots it then holds)
    let steps: [(&str, i64, i64, bool, i64); 7] = [
        ("a", 2, 0, true, 2),
        ("b", 2, 0, true, 1),
        ("b", 3, 0, true, 1),
        ("a", 1, 0, false, 1),
        ("b", 3, 0, true, 2),
        ("a", 0, 0, false, 0),
        ("b", 3, 0, true, 3),
    ];
    for (n, (holder, target, at, raise, held)) in steps.into_iter().enumerate() {
        let l = lease(holder, target, now + at);
        let got = if raise {
            store.acquire_slots(&l).await.unwrap()
        } else {
            store.release_slots(&l).await.unwrap();
            target
        };
        assert_eq!(got, held, "step {n}");
    }
    // Rows not renewed stop counting when they expire; renewed ones keep counting.
    store.release_slots(&lease("b", 0, now)).await.unwrap();
    assert_eq!(store.acquire_slots(&lease("a", 2, now)).await.unwrap(), 2);
    assert_eq!(store.acquire_slots(&lease("c", 1, now)).await.unwrap(), 1);
    assert_eq!(store.renew_slots("c", now + 20_000).await.unwrap(), 1);
    assert_eq!(store.acquire_slots(&lease("b", 3, now + 9_999)).await.unwrap(), 0);
    assert_eq!(
        store.acquire_slots(&lease("b", 3, now + 10_000)).await.unwrap(),
        2
    );
}

#[tokio::test]
async fn a_deactivated_developers_models_stop_answering_in_every_process() {
    let g = gateway_with(10, json!({})).await;
    let other = g.t.sibling().await;
    let ok = || chat_body("hi");
    assert_eq!(chat(&g.t, &g.token, &ok()).await.status, 200);
    assert_eq!(chat(&other, &g.token, &ok()).await.status, 200);
    let developer = format!("/api/v1/organizations/{}", g.w.dev_admin.org_id);
    g.t.patch(&g.w.program_admin, &developer, json!({"active": false}))
        .await
        .ok();
    // The process that made the change refuses at once, in the OpenAI error shape, naming only the reason.
    let message = refused(&chat(&g.t, &g.token, &ok()).await, 403, "developer_inactive");
    assert!(!message.contains("Frontier Lab"), "{message}");
    assert_no_identity(&g.up, "the refusal", &message);
    let models =
        g.t.client
            .get(g.t.url("/gateway/v1/models"))
            .bearer_auth(&g.token)
            .send()
            .await
            .unwrap();
    refused(&TestApp::reply(models).await, 403, "developer_inactive");
    // Another process answers from its cache of the grant until that is two seconds old by its clock.
    assert_eq!(chat(&other, &g.token, &ok()).await.status, 200);
    other.clock.advance(chrono::Duration::milliseconds(1_999));
    assert_eq!(chat(&other, &g.token, &ok()).await.status, 200);
    other.clock.advance(chrono::Duration::milliseconds(1));
    refused(&chat(&other, &g.token, &ok()).await, 403, "developer_inactive");
    g.t.patch(&g.w.program_admin, &developer, json!({"active": true}))
        .await
        .ok();
    assert_eq!(chat(&g.t, &g.token, &ok()).await.status, 200, "reactivated");
}
