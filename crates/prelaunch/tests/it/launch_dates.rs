//! Dates from callers and what they cost: every time a caller gives is in the supported range (or refused
//! naming the field), a planned launch is at most the program's launch horizon ahead, and a page drawing
//! notices is as large for a launch in 9999 as for one next month.

use crate::support::*;
use crate::web::signed_in;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};
use store::{AuditEvent, Json, Notice};
use uuid::Uuid;

const RANGE: &str = "must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z";
const FORMAT: &str = "must be a date and time like 2027-03-01T16:00:00Z";
const PAST: &str = "must be in the future";

/// The problem's message for a refused date, or `None` when it was accepted.
async fn file_at(t: &TestApp, dev: &Persona, agency: Uuid, planned: &str) -> Result<Value, String> {
    let body = json!({
        "model_name": "Orion", "model_version": "1.0", "planned_launch_at": planned,
        "model_card": "# Orion", "shared_with": [agency], "confirm_duplicate": true,
    });
    let reply = t.post(dev, "/api/v1/notices", body).await;
    match reply.status.as_u16() {
        201 => Ok(reply.body),
        _ => {
            let problem = reply.problem(422, "invalid-field");
            assert_eq!(problem["field"], "planned_launch_at", "{planned}: {problem}");
            Err(problem["detail"].as_str().unwrap().to_owned())
        }
    }
}

#[tokio::test]
async fn planned_launches_are_in_range_and_within_the_horizon_when_filed_and_when_moved() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let now = t.clock_now();
    let horizon = now + Duration::days(730);
    let at = |d: DateTime<Utc>| d.to_rfc3339();
    let too_far = "must be at most 730 days ahead, on or before 2028-12-31T00:00:00Z";
    // (planned launch as sent, Ok(planned launch as stored) or Err(part of the message))
    let cases: Vec<(String, Result<DateTime<Utc>, &str>)> = vec![
        (
            "2027-03-01T16:00:00Z".into(),
            Ok(Utc.with_ymd_and_hms(2027, 3, 1, 16, 0, 0).unwrap()),
        ),
        (
            "2027-03-01T16:00:00+02:00".into(),
            Ok(Utc.with_ymd_and_hms(2027, 3, 1, 14, 0, 0).unwrap()),
        ),
        (
            "2027-03-01T16:00".into(),
            Ok(Utc.with_ymd_and_hms(2027, 3, 1, 16, 0, 0).unwrap()),
        ),
        (at(horizon), Ok(horizon)),
        (at(horizon + Duration::seconds(1)), Err(too_far)),
        ("9999-12-31T23:59:59Z".into(), Err(too_far)),
        // Year 10000 once in UTC: it was stored, sorted as text before every other date, and vanished.
        ("9999-12-31T23:59:59-23:59".into(), Err(RANGE)),
        ("1969-12-31T23:59:59Z".into(), Err(RANGE)),
        ("2026-12-31T23:59:59Z".into(), Err(PAST)),
        ("+10000-01-01T00:00:00Z".into(), Err(FORMAT)),
        ("2027-02-30T00:00:00Z".into(), Err(FORMAT)),
        ("next spring".into(), Err(FORMAT)),
    ];
    let notice = id_of(&t.file_notice(&w.dev_admin, 40, &[w.agency]).await);
    let launch = format!("/api/v1/notices/{notice}/launch");
    for (planned, expected) in &cases {
        let filed = file_at(&t, &w.dev_admin, w.agency, planned).await;
        let moved = t
            .put(&w.dev_admin, &launch, json!({"planned_launch_at": planned}))
            .await;
        match expected {
            Ok(stored) => {
                assert_eq!(
                    time_of(&filed.unwrap(), "planned_launch_at"),
                    Some(*stored),
                    "{planned}"
                );
                assert_eq!(
                    time_of(moved.ok(), "planned_launch_at"),
                    Some(*stored),
                    "{planned}"
                );
            }
            Err(message) => {
                let filed = filed.expect_err(planned);
                assert!(filed.contains(message), "{planned}: {filed}");
                let problem = moved.problem(422, "invalid-field");
                assert_eq!(problem["field"], "planned_launch_at", "{planned}");
                assert!(
                    problem["detail"].as_str().unwrap().contains(message),
                    "{planned}: {problem}"
                );
            }
        }
    }

    // The horizon is program policy.
    let policy = t.get(&w.dev_member, "/api/v1/policy").await;
    assert_eq!(policy.ok()["launch_horizon_days"], 730);
    let set = t
        .put(
            &w.program_admin,
            "/api/v1/policy",
            json!({"launch_horizon_days": 3650}),
        )
        .await;
    assert_eq!(set.ok()["launch_horizon_days"], 3650);
    assert_eq!(set.body["window_days"], 30, "the review window is left as it was");
    file_at(&t, &w.dev_admin, w.agency, &at(now + Duration::days(3000)))
        .await
        .unwrap();
    t.put(
        &w.program_admin,
        "/api/v1/policy",
        json!({"launch_horizon_days": 60}),
    )
    .await
    .ok();
    let refused = file_at(&t, &w.dev_admin, w.agency, &at(now + Duration::days(61))).await;
    assert!(refused.unwrap_err().contains("at most 60 days ahead"));
    for bad in [
        json!({"launch_horizon_days": 0}),
        json!({"launch_horizon_days": 3651}),
    ] {
        let reply = t.put(&w.program_admin, "/api/v1/policy", bad).await;
        assert_eq!(
            reply.problem(422, "invalid-field")["field"],
            "launch_horizon_days"
        );
    }
    let reply = t.put(&w.program_admin, "/api/v1/policy", json!({})).await;
    assert_eq!(reply.problem(422, "invalid-field")["field"], "window_days");
    let reply = t
        .put(&w.dev_admin, "/api/v1/policy", json!({"launch_horizon_days": 90}))
        .await;
    reply.problem(403, "forbidden");
}

#[tokio::test]
async fn forms_and_cursors_refuse_times_out_of_range() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let mut notice = Uuid::nil();
    for _ in 0..3 {
        notice = id_of(&t.file_notice(&w.dev_admin, 40, &[w.agency]).await);
    }
    // A cursor carrying a time beyond 9999 once it is in UTC.
    for time in ["9999-12-31T23:59:59-23:59", "0000-01-01T00:00:00Z"] {
        let cursor = URL_SAFE_NO_PAD.encode(format!("{time}|{}", Uuid::nil()));
        let reply = t
            .get(&w.dev_admin, &format!("/api/v1/notices?cursor={cursor}"))
            .await;
        assert_eq!(reply.problem(422, "invalid-field")["field"], "cursor", "{time}");
        let history = format!("/api/v1/notices/{notice}/history?cursor={cursor}");
        let reply = t.get(&w.dev_admin, &history).await;
        assert_eq!(reply.problem(422, "invalid-field")["field"], "cursor", "{time}");
    }
    // The web form says what is wrong next to the field and keeps the value.
    let web = signed_in(&t, "Frontier Lab", "forms@lab.example", "member", "Forms").await;
    let form = web.get("/notices/new").await;
    form.assert(200);
    let csrf = form.csrf();
    let agency = w.agency.to_string();
    for (planned, message) in [
        ("9999-12-31T23:59", "must be at most 730 days ahead"),
        ("2026-06-01T12:00", PAST),
        // The form writes times as the site does: UTC, 24-hour, no `T`.
        ("31/12/2027", "must be a date and time like 2027-03-01 16:00 UTC"),
    ] {
        let page = web
            .post(
                "/notices",
                &[
                    ("csrf", csrf.as_str()),
                    ("model_name", "Orion"),
                    ("model_version", "2"),
                    ("planned_launch_at", planned),
                    ("model_card", "# Orion"),
                    ("shared_with", agency.as_str()),
                ],
            )
            .await;
        page.assert_form_error("planned_launch_at", planned);
        assert!(page.body.contains(message), "{planned}: no {message:?}");
        // Moving the launch through the notice's page, the same.
        let notice_page = format!("/notices/{notice}");
        let moved = web
            .submit(
                &notice_page,
                &format!("{notice_page}/launch"),
                &[("planned_launch_at", planned)],
            )
            .await;
        moved.assert_form_error("launch-planned_launch_at", planned);
        assert!(moved.body.contains(message), "{planned}: no {message:?}");
    }
}

/// A notice as stored before launches had a horizon: planned for `launch`, shared with every agency.
async fn stored_notice(t: &TestApp, dev: &Persona, launch: DateTime<Utc>, filed: DateTime<Utc>) {
    let notice = Notice {
        id: Uuid::now_v7(),
        developer_org_id: dev.org_id,
        developer_name: String::new(),
        model_name: "Far".into(),
        model_version: "1".into(),
        model_card: "# Far".into(),
        planned_launch_at: launch,
        filed_at: filed,
        filed_by: Some(dev.user_id),
        window_days: 30,
        shared_with_all: true,
        launched_at: None,
        withdrawn_at: None,
        withdraw_reason: None,
        window_opens_at: (launch - Duration::days(30)).max(filed),
        window_closes_at: launch,
    };
    let event = AuditEvent {
        seq: 0,
        id: Uuid::now_v7(),
        at: filed,
        actor_user_id: Some(dev.user_id),
        actor_org_id: Some(dev.org_id),
        action: "notice.file".into(),
        object_type: "notice".into(),
        object_id: Some(notice.id),
        details: Json(json!({})),
    };
    t.app.store.create_notice(&notice, &[], &event).await.unwrap();
}

#[tokio::test]
async fn a_page_of_notices_is_as_large_for_a_launch_in_9999_as_for_one_next_month() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let web = signed_in(
        &t,
        "Cyber Evaluation Agency",
        "reader@agency.example",
        "admin",
        "Reader",
    )
    .await;
    // Five notices launching next month from one developer, five at the extremes from another: the last
    // supported second, one of them with a window from the first.
    let near = t.clock_now() + Duration::days(40);
    let latest = Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap();
    let earliest = Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap();
    for _ in 0..5 {
        stored_notice(&t, &w.dev_admin, near, t.clock_now()).await;
    }
    for _ in 0..4 {
        stored_notice(&t, &w.other_dev, latest, t.clock_now()).await;
    }
    stored_notice(&t, &w.other_dev, latest, earliest).await;
    let near_page = web
        .get(&format!("/notices?developer={}", w.dev_admin.org_id))
        .await;
    let far_page = web
        .get(&format!("/notices?developer={}", w.other_dev.org_id))
        .await;
    let ticks = |page: &crate::web::Page| page.body.matches("class=\"tick\"").count();
    for page in [&near_page, &far_page] {
        page.assert(200);
        assert_eq!(page.body.matches(">Far<").count(), 5);
        assert!(ticks(page) <= 5 * 24, "{} ticks", ticks(page));
    }
    // The far page draws more ticks a row (up to 24, where next month needs two), nothing more: it was
    // megabytes when every month up to 9999 had its tick.
    let (near_size, far_size) = (near_page.body.len(), far_page.body.len());
    assert!(
        far_size < 2 * near_size,
        "far launches: {far_size} bytes, near ones: {near_size}"
    );
    // Every far notice is listed (none vanished from the lists), on both pages that list notices: the
    // agency admin's dashboard draws them on its timeline of notices needing an evaluator.
    for path in ["/", "/notices"] {
        let page = web.get(path).await;
        page.assert(200);
        assert_eq!(page.body.matches(">Far<").count(), 10, "{path}");
        assert!(ticks(&page) <= 11 * 24, "{path}: {} ticks", ticks(&page));
    }
    // One notice's own page too.
    let far = t.get(&w.evaluator, "/api/v1/notices?limit=200").await;
    let items = far.ok()["items"].as_array().unwrap().clone();
    let far = items
        .iter()
        .find(|n| n["planned_launch_at"] == "9999-12-31T23:59:59Z")
        .map(id_of)
        .expect("the notice planned for 9999 is listed");
    let near = items
        .iter()
        .find(|n| n["planned_launch_at"] != "9999-12-31T23:59:59Z")
        .map(id_of)
        .expect("a notice planned next month is listed");
    let page = web.get(&format!("/notices/{far}")).await;
    page.assert(200);
    assert!(ticks(&page) <= 24, "{} ticks", ticks(&page));
    let near_one = web.get(&format!("/notices/{near}")).await;
    assert!(page.body.len() < near_one.body.len() * 2);
}
