//! The clearinghouse's dissemination and its metrics, over HTTP on both backends: a published advisory reaches
//! every entitled subscriber in one batch named by one ledger event (and no one else), and the metrics count a
//! small known set of reports and cases exactly.

use crate::cases::{Report, file_report, open_case, transition};
use crate::support::*;
use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use uuid::Uuid;

#[tokio::test]
async fn every_entitled_subscriber_gets_the_advisory_in_one_batch() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    t.org("operator", "Water Utility").await;
    t.org("operator", "Rail ISAC").await;
    let water = t
        .person("water", "Water Utility", "soc@water.example", "admin")
        .await;
    let rail = t.person("rail", "Rail ISAC", "soc@rail.example", "admin").await;
    let subscribe = |who: &Persona, body: Value| {
        let who = who.clone();
        let t = &t;
        async move {
            let made = t.post(&who, "/api/v1/subscriptions", body).await;
            assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
        }
    };
    // Energy sector; Acme's npm packages at high or above; transportation only (does not match); critical only at a
    // CPE prefix (does not match the purl).
    subscribe(&w.operator, json!({"sector": "energy"})).await;
    subscribe(
        &water,
        json!({"product_prefix": "pkg:npm/acme", "min_severity": "high"}),
    )
    .await;
    subscribe(&rail, json!({"sector": "transportation"})).await;
    subscribe(&rail, json!({"product_prefix": "cpe:2.3:a:acme"})).await;
    // A member may not subscribe for the organisation.
    let member = t
        .post(
            &w.dev_member,
            "/api/v1/subscriptions",
            json!({"sector": "energy"}),
        )
        .await;
    member.problem(403, "forbidden");

    let case = open_case(&t, &w.coordinator, "green", &[w.vendor.org_id]).await;
    // A GREEN report, which the GREEN advisory carries (its product and severity select the subscribers).
    let report = Report {
        tlp: "green",
        ..Report::new(case, &w.dev_admin, t.clock_now())
    };
    file_report(&t, &report).await;
    transition(&t, &w.coordinator, case, "triaged").await.ok();
    transition(&t, &w.coordinator, case, "published").await.ok();
    // One ledger event names the batch: its time and every recipient organisation.
    let fanout: Vec<store::AuditEvent> = t
        .audit_after(0)
        .await
        .into_iter()
        .filter(|e| e.action == "advisory.fanout")
        .collect();
    assert_eq!(fanout.len(), 1);
    let recipients: BTreeSet<String> = fanout[0].details.0["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    let expected: BTreeSet<String> = [w.operator.org_id, water.org_id]
        .iter()
        .map(Uuid::to_string)
        .collect();
    assert_eq!(recipients, expected);
    assert!(t.app.store.ledger_entry_of(fanout[0].id).await.unwrap().is_some());

    crate::notifications::deliver(&t).await;
    let told = |p: &Persona| {
        let p = p.clone();
        let t = &t;
        async move {
            let inbox = t.get(&p, "/api/v1/notifications?limit=200").await;
            inbox.ok()["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|n| n["kind"] == "advisory.published")
                .map(|n| (n["created_at"].as_str().unwrap().to_owned(), n["link"].clone()))
                .collect::<Vec<_>>()
        }
    };
    let (grid, water_told, rail_told) = (told(&w.operator).await, told(&water).await, told(&rail).await);
    assert_eq!(grid.len(), 1);
    assert_eq!(grid, water_told, "the same event, the same instant: one batch");
    assert!(rail_told.is_empty(), "not entitled: nothing");
}

#[tokio::test]
async fn metrics_count_a_small_known_set() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let start = t.clock_now();
    // Case A: two reports (one a duplicate, found by AI), triaged after 1 day, vendors notified after 3,
    // fixed after 10, published after 12. Case B: one report, triaged after 2 days. Case C: one report, new.
    let a = open_case(&t, &w.coordinator, "clear", &[w.vendor.org_id]).await;
    let first = file_report(&t, &Report::new(a, &w.dev_admin, start)).await;
    let mut dup = Report::new(a, &w.other_dev, start);
    dup.ai_found = true;
    dup.duplicate_of = Some(first);
    file_report(&t, &dup).await;
    let b = open_case(&t, &w.coordinator, "clear", &[]).await;
    file_report(&t, &Report::new(b, &w.dev_admin, start)).await;
    let c = open_case(&t, &w.coordinator, "clear", &[]).await;
    let mut third = Report::new(c, &w.dev_admin, start);
    third.ai_found = true;
    file_report(&t, &third).await;
    let at = |days: i64| start + Duration::days(days);
    t.clock.set(at(1));
    transition(&t, &w.coordinator, a, "triaged").await.ok();
    t.clock.set(at(2));
    transition(&t, &w.coordinator, b, "triaged").await.ok();
    t.clock.set(at(3));
    transition(&t, &w.coordinator, a, "vendors_notified").await.ok();
    t.clock.set(at(10));
    transition(&t, &w.coordinator, a, "fixed").await.ok();
    t.clock.set(at(12));
    transition(&t, &w.coordinator, a, "published").await.ok();

    let metrics = t.get(&w.coordinator, "/api/v1/clearinghouse/metrics").await;
    let program = &metrics.ok()["program"];
    let day = 86_400.0;
    let expected = json!({
        "received": 4, "unique": 3, "confirmed": 2, "vendors_notified": 1, "fixed": 1, "published": 1,
        "ai_found": 2, "ai_share": 0.5,
        "median_seconds": {
            "received_to_triaged": 1.5 * day, "triaged_to_vendors_notified": 2.0 * day,
            "vendors_notified_to_fixed": 7.0 * day, "fixed_to_published": 2.0 * day,
            "received_to_published": 12.0 * day,
        },
    });
    let close = |a: &Value, b: &Value| match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => (x - y).abs() < 1.0,
        _ => a == b,
    };
    for (key, want) in expected.as_object().unwrap() {
        if let Some(inner) = want.as_object() {
            for (k, v) in inner {
                assert!(close(&program[key][k], v), "{key}.{k}: {} ≠ {v}", program[key][k]);
            }
        } else {
            assert!(close(&program[key], want), "{key}: {} ≠ {want}", program[key]);
        }
    }
    let vendors = metrics.body["vendors"].as_array().unwrap();
    assert_eq!(vendors.len(), 1);
    assert_eq!(vendors[0]["org_id"], json!(w.vendor.org_id));
    assert_eq!(
        (vendors[0]["cases"].clone(), vendors[0]["notified"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(vendors[0]["published"], 1);
    let one = t
        .get(
            &w.coordinator,
            &format!("/api/v1/clearinghouse/metrics?vendor={}", w.vendor.org_id),
        )
        .await;
    assert_eq!(one.ok()["vendor"]["received"], 2);
    assert_eq!(one.body["vendor"]["confirmed"], 1);
    for who in [&w.vendor, &w.operator, &w.dev_admin] {
        t.get(who, "/api/v1/clearinghouse/metrics")
            .await
            .problem(403, "forbidden");
    }
    t.get(&w.program_admin, "/api/v1/clearinghouse/metrics")
        .await
        .ok();
}
