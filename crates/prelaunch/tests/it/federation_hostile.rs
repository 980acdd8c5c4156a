//! Hostile peers, on both backends: a peer that errs, refuses, answers too much or nothing valid, pages without
//! end or is down is recorded as the peer's last error with nothing half-written and the run bounded; an
//! invalid object is refused and recorded, the page's others kept; a peer refusing our pushes keeps the push
//! cursor; and runs of one peer claim it, so that they never overlap or repeat.

use super::federation::{TAXII, jobs_ended, peer_body, publish_advisory, schedule_ran, taxii_objects};
use crate::support::*;
use app::federation::{MAX_PAGE_BYTES, MAX_PAGES_PER_RUN, STATUS_POLLS};
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use clearinghouse::tlp::Tlp;
use serde_json::{Value, json};
use std::collections::HashMap;
use uuid::Uuid;

/// A peer that misbehaves as its path's first segment says.
async fn hostile(
    Path((mode, _collection)): Path<(String, String)>,
    q: Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> axum::response::Response {
    let taxii = [("content-type", TAXII)];
    let object = |n: u128| {
        json!({
            "type": "malware", "spec_version": "2.1", "id": format!("malware--{}", Uuid::from_u128(n)),
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
            "name": format!("m{n}"), "is_family": false,
        })
    };
    // Every call carries the credential, as HTTP Basic.
    assert!(
        headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("Basic ")),
        "{headers:?}"
    );
    match mode.as_str() {
        "e500" => (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
        "e401" => (StatusCode::UNAUTHORIZED, taxii, "{}").into_response(),
        "slow500" => {
            // Long enough for other runs of the same peer to start meanwhile.
            tokio::time::sleep(std::time::Duration::from_millis(400)).await;
            (StatusCode::INTERNAL_SERVER_ERROR, "slow boom").into_response()
        }
        "huge" => (
            taxii,
            format!("{{\"objects\": [], \"pad\": \"{}\"}}", "x".repeat(MAX_PAGE_BYTES)),
        )
            .into_response(),
        "badjson" => (taxii, "{\"objects\": [").into_response(),
        "badobject" => (
            taxii,
            json!({"objects": [object(1), {"type": "malware", "id": "malware--nope"}]}).to_string(),
        )
            .into_response(),
        "empty_more" => (
            taxii,
            json!({"more": true, "next": "again", "objects": []}).to_string(),
        )
            .into_response(),
        "endless" => {
            // A fresh object and a fresh token forever.
            let n: u128 = q.get("next").and_then(|n| n.parse().ok()).unwrap_or(0) + 1;
            (
                taxii,
                [("x-taxii-date-added-last", "2026-01-01T00:00:00.000Z")],
                json!({"more": true, "next": n.to_string(), "objects": [object(1000 + n)]}).to_string(),
            )
                .into_response()
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A peer that answers posts as its path's first segment says.
async fn hostile_post(
    Path((mode, _collection)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    let taxii = [("content-type", TAXII)];
    assert_eq!(headers.get("content-type").unwrap(), TAXII);
    let sent: Value = serde_json::from_slice(&body).unwrap();
    assert!(!sent["objects"].as_array().unwrap().is_empty());
    match mode.as_str() {
        "e500" => (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
        "e401" => (StatusCode::UNAUTHORIZED, taxii, "{}").into_response(),
        "e413" => (StatusCode::PAYLOAD_TOO_LARGE, taxii, "{}").into_response(),
        "badjson" => (StatusCode::ACCEPTED, taxii, "{\"id\": ").into_response(),
        "pending" => (
            StatusCode::ACCEPTED,
            taxii,
            json!({"id": "0193aaaa-0000-7000-8000-000000000001", "status": "pending", "total_count": 1,
                   "success_count": 0, "failure_count": 0, "pending_count": 1})
            .to_string(),
        )
            .into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A status that never completes.
async fn hostile_status(Path((_mode, id)): Path<(String, String)>) -> axum::response::Response {
    (
        [("content-type", TAXII)],
        json!({"id": id, "status": "pending", "total_count": 1, "success_count": 0, "failure_count": 0,
               "pending_count": 1})
        .to_string(),
    )
        .into_response()
}

async fn spawn_hostile() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = axum::Router::new()
        .route(
            "/{mode}/collections/{collection}/objects/",
            axum::routing::get(hostile).post(hostile_post),
        )
        .route("/{mode}/status/{id}/", axum::routing::get(hostile_status));
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

/// Every run of a peer claims it first: runs started at once do not overlap (one runs, the others are told
/// another is under way), and a scheduled run queued while the peer was due does nothing once another run
/// has moved it to its next time, where a run asked for now still runs.
#[tokio::test]
async fn runs_of_one_peer_claim_it_so_they_never_overlap_or_repeat() {
    let b = spawn_app().await;
    let wb = World::new(&b).await;
    // The runs below are the test's own: no scheduled run of the peer may claim it first.
    schedule_ran(&b).await;
    let hostile = spawn_hostile().await;
    let created = b
        .post(
            &wb.coordinator,
            "/api/v1/federation/peers",
            peer_body("Slow", &format!("{hostile}/slow500/"), Uuid::new_v4(), "tok_slow"),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let peer = id_of(&created.body);
    let failures = async |b: &TestApp| {
        let view = b
            .get(&wb.coordinator, &format!("/api/v1/federation/peers/{peer}"))
            .await;
        view.ok()["failures"].as_i64().unwrap()
    };

    let runs = futures_util::future::join_all((0..4).map(|_| b.app.pull_peer(peer))).await;
    let ran: Vec<_> = runs.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(ran.len(), 1, "{runs:?}");
    assert_eq!(ran[0].error.as_deref(), Some("the peer answered 500"));
    for refused in runs.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            refused
                .to_string()
                .contains("another pull of this peer is under way"),
            "{refused}"
        );
    }
    assert_eq!(failures(&b).await, 1);

    // Queued by a schedule that saw the peer due, before the run above moved it on: nothing runs.
    let job = |if_due: bool| {
        app::jobs::JobRequest::new(
            app::federation::PULL_KIND,
            json!({"peer_id": peer, "if_due": if_due}),
        )
    };
    assert_eq!(b.app.enqueue(vec![job(true)]).await.unwrap(), 1);
    assert_eq!(jobs_ended(&b, app::federation::PULL_KIND, 1).await.len(), 1);
    assert_eq!(failures(&b).await, 1);
    // The same job asked for now runs (and so the one above would have).
    assert_eq!(b.app.enqueue(vec![job(false)]).await.unwrap(), 1);
    assert_eq!(jobs_ended(&b, app::federation::PULL_KIND, 2).await.len(), 2);
    assert_eq!(failures(&b).await, 2);
    // Each run gave its claim back: a pull now runs again.
    let again = b.app.pull_peer(peer).await.unwrap();
    assert_eq!(again.error.as_deref(), Some("the peer answered 500"));
    assert_eq!(failures(&b).await, 3);

    // A run under way (here one that another process holds) shows on the peer until it ends, and a pull asked
    // for now is refused, saying why, rather than queued to find the peer held and do nothing.
    let path = format!("/api/v1/federation/peers/{peer}");
    let held = async |b: &TestApp| {
        let view = b.get(&wb.coordinator, &path).await;
        let at = |field: &str| {
            view.ok()[field]
                .as_str()
                .map(|t| t.parse::<chrono::DateTime<chrono::Utc>>().unwrap())
        };
        (at("pull_under_way_until"), at("push_under_way_until"))
    };
    let pull_now = async |b: &TestApp| b.post(&wb.coordinator, &format!("{path}/pull"), json!({})).await;
    let now = b.app.clock.now();
    let until = now + chrono::Duration::minutes(30);
    let claim = async |run, until| {
        b.app
            .store
            .claim_peer_run(peer, run, now, until, false)
            .await
            .unwrap()
    };
    assert_eq!(held(&b).await, (None, None));
    for run in [store::PeerRun::Pull, store::PeerRun::Push] {
        assert!(claim(run, until).await);
    }
    let (pull, push) = held(&b).await;
    let near = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.is_some_and(|t| (t - until).num_milliseconds().abs() < 1)
    };
    assert!(near(pull) && near(push), "{pull:?} {push:?} against {until}");
    let refused = pull_now(&b).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert!(
        refused
            .body
            .to_string()
            .contains("a pull of this peer is under way"),
        "{}",
        refused.body
    );
    for run in [store::PeerRun::Pull, store::PeerRun::Push] {
        b.app.store.release_peer_run(peer, run).await.unwrap();
    }
    assert_eq!(held(&b).await, (None, None));
    // A claim whose holder died shows as none once it has lapsed, and does not refuse a pull.
    assert!(claim(store::PeerRun::Pull, now - chrono::Duration::seconds(1)).await);
    assert_eq!(held(&b).await, (None, None));
    assert_eq!(pull_now(&b).await.status, StatusCode::ACCEPTED);
    assert_eq!(jobs_ended(&b, app::federation::PULL_KIND, 3).await.len(), 3);
    assert_eq!(failures(&b).await, 4, "the pull asked for now ran");
}

#[tokio::test]
async fn hostile_peers_are_recorded_and_write_nothing_half() {
    let b = spawn_app().await;
    let wb = World::new(&b).await;
    // Each run below is the test's own: a scheduled pull of the same peer would hold it and refuse it.
    schedule_ran(&b).await;
    let hostile = spawn_hostile().await;
    // A port nothing listens on, held until the test ends.
    let refusing = refusing_port();
    let down = format!("http://127.0.0.1:{}", refusing.port());
    let reports_before = b.get(&wb.coordinator, "/api/v1/reports?limit=200").await;
    let reports_before = reports_before.ok()["items"].as_array().unwrap().len();
    // (api root, the error recorded, pages committed)
    let cases: Vec<(String, &str, usize)> = vec![
        (format!("{hostile}/e500/"), "the peer answered 500", 0),
        (
            format!("{hostile}/e401/"),
            "the peer refused our credential (401)",
            0,
        ),
        (format!("{hostile}/huge/"), "larger than", 0),
        (format!("{hostile}/badjson/"), "not JSON", 0),
        (
            format!("{hostile}/empty_more/"),
            "says more but sent no objects",
            0,
        ),
        (format!("{down}/"), "could not connect to the peer", 0),
    ];
    for (root, error, pages) in cases {
        let created = b
            .post(
                &wb.coordinator,
                "/api/v1/federation/peers",
                peer_body("Hostile", &root, Uuid::new_v4(), "tok_hostile_secret"),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let peer = id_of(&created.body);
        let started = std::time::Instant::now();
        let outcome = b.app.pull_peer(peer).await.unwrap();
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "{root}");
        let recorded = outcome.error.clone().unwrap_or_default();
        assert!(recorded.contains(error), "{root}: {recorded}");
        assert_eq!((outcome.pages, outcome.new_objects), (pages, 0), "{root}");
        let view = b
            .get(&wb.coordinator, &format!("/api/v1/federation/peers/{peer}"))
            .await;
        let view = view.ok();
        assert_eq!(view["last_error"], json!(recorded), "{root}");
        assert_eq!(view["last_success_at"], Value::Null, "{root}");
        assert_eq!(view["pull_cursor"], Value::Null, "{root}");
        assert_eq!(view["pulled_objects"], 0, "{root}");
        assert_eq!(view["failures"], 1, "{root}");
        // Retried with backoff: twice the interval.
        let next = time_of(view, "next_run_at").unwrap();
        assert_eq!(next - b.clock_now(), chrono::Duration::seconds(7200), "{root}");
        assert!(!view.to_string().contains("tok_hostile_secret"));
    }
    let (objects, _) = taxii_objects(&b, &wb.coordinator, Tlp::Green).await;
    assert!(objects.is_empty(), "{objects:?}");

    // An invalid object is refused as a posted one would be, and recorded; the page's valid objects are kept.
    let created = b
        .post(
            &wb.coordinator,
            "/api/v1/federation/peers",
            peer_body(
                "Sloppy",
                &format!("{hostile}/badobject/"),
                Uuid::new_v4(),
                "tok_x",
            ),
        )
        .await;
    let peer = id_of(&created.body);
    let outcome = b.app.pull_peer(peer).await.unwrap();
    assert_eq!(outcome.error, None);
    assert_eq!((outcome.pages, outcome.new_objects), (1, 1));
    assert_eq!(outcome.refused.len(), 1, "{:?}", outcome.refused);
    assert!(
        outcome.refused[0].starts_with("the peer's object 1 was refused: objects[1] (malware--nope)"),
        "{:?}",
        outcome.refused
    );
    let view = b
        .get(&wb.coordinator, &format!("/api/v1/federation/peers/{peer}"))
        .await;
    let view = view.ok();
    let recorded = view["last_error"].as_str().unwrap_or_default();
    assert!(
        recorded.starts_with("1 object(s) refused and not stored; the peer's object 1"),
        "{view}"
    );
    assert!(view["last_success_at"].is_string(), "{view}");
    assert_eq!(view["failures"], 0, "{view}");
    let (objects, _) = taxii_objects(&b, &wb.coordinator, Tlp::Green).await;
    assert_eq!(objects.len(), 1, "{objects:?}");

    // Endless paging: each page committed, the run stops after its bound and continues at once.
    let created = b
        .post(
            &wb.coordinator,
            "/api/v1/federation/peers",
            peer_body("Endless", &format!("{hostile}/endless/"), Uuid::new_v4(), "tok_x"),
        )
        .await;
    let peer = id_of(&created.body);
    let outcome = b.app.pull_peer(peer).await.unwrap();
    assert_eq!(outcome.error, None);
    assert_eq!(outcome.pages, MAX_PAGES_PER_RUN);
    assert_eq!(outcome.new_objects, MAX_PAGES_PER_RUN as u64);
    let view = b
        .get(&wb.coordinator, &format!("/api/v1/federation/peers/{peer}"))
        .await;
    assert_eq!(time_of(view.ok(), "next_run_at"), Some(b.clock_now()));
    assert_eq!(view.ok()["pull_cursor"], "2026-01-01T00:00:00.000Z");
    let (objects, _) = taxii_objects(&b, &wb.coordinator, Tlp::Green).await;
    assert_eq!(objects.len(), MAX_PAGES_PER_RUN + 1);

    // Nothing went to intake.
    let after = b.get(&wb.coordinator, "/api/v1/reports?limit=200").await;
    assert_eq!(after.ok()["items"].as_array().unwrap().len(), reports_before);
}

#[tokio::test]
async fn hostile_peers_refusing_a_push_keep_the_cursor() {
    let b = spawn_app().await;
    let wb = World::new(&b).await;
    publish_advisory(&b, &wb, "green").await;
    // Each push below is the test's own: a scheduled one of the same peer would hold it and refuse it.
    schedule_ran(&b).await;
    let hostile = spawn_hostile().await;
    // A port nothing listens on, held until the test ends.
    let refusing = refusing_port();
    let down = format!("http://127.0.0.1:{}", refusing.port());
    let cases: Vec<(String, String)> = vec![
        (format!("{hostile}/e500/"), "the peer answered 500".into()),
        (
            format!("{hostile}/e401/"),
            "the peer refused our credential (401)".into(),
        ),
        (
            format!("{hostile}/e413/"),
            "the peer refused the envelope as too large (413)".into(),
        ),
        (
            format!("{hostile}/badjson/"),
            "the peer's answer is not JSON".into(),
        ),
        (
            format!("{hostile}/pending/"),
            format!("was not complete after {STATUS_POLLS} reads"),
        ),
        (format!("{down}/"), "could not connect to the peer".into()),
    ];
    for (root, error) in cases {
        let mut body = peer_body("Hostile", &root, Uuid::new_v4(), "tok_hostile_secret");
        body["publish_collection_id"] = json!(Uuid::new_v4());
        let created = b.post(&wb.coordinator, "/api/v1/federation/peers", body).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let peer = id_of(&created.body);
        let started = std::time::Instant::now();
        let outcome = b.app.push_peer(peer).await.unwrap();
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "{root}");
        let recorded = outcome.error.clone().unwrap_or_default();
        assert!(recorded.contains(&error), "{root}: {recorded}");
        assert_eq!((outcome.envelopes, outcome.accepted), (0, 0), "{root}");
        let view = b
            .get(&wb.coordinator, &format!("/api/v1/federation/peers/{peer}"))
            .await;
        let view = view.ok();
        assert_eq!(view["push_last_error"], json!(recorded), "{root}");
        assert_eq!(view["push_cursor"], Value::Null, "{root}");
        assert_eq!(view["pushed_objects"], 0, "{root}");
        assert_eq!(view["push_failures"], 1, "{root}");
        // Retried with backoff: twice the interval; the pull side untouched.
        let next = time_of(view, "push_next_run_at").unwrap();
        assert_eq!(next - b.clock_now(), chrono::Duration::seconds(7200), "{root}");
        assert_eq!(view["failures"], 0, "{root}");
        assert!(!view.to_string().contains("tok_hostile_secret"));
    }
}
