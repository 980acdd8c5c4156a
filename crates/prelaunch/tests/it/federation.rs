//! Federation between two clearinghouses on loopback, on both backends: B follows A's TAXII collection, pulls
//! A's advisory objects and the vulnerability a member of A posted, with A's ids, versions and markings, files
//! the posted vulnerability through its intake as a posted one is filed (an advisory's vulnerability names no
//! products in our extension, so it stays an object), once (a second pull creates nothing); A publishes to B
//! once; the peer's credential appears in no answer and no event; peer settings are checked field by field.
//! Hostile peers and run claims: `federation_hostile.rs`.

use crate::cases::{Report, file_report, open_case, transition};
use crate::support::*;
use app::clearinghouse::taxii::Collection;
use axum::http::StatusCode;
use clearinghouse::stix::{AFFECTED_EXTENSION, marking_definition, marking_id};
use clearinghouse::tlp::Tlp;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

pub(crate) const TAXII: &str = "application/taxii+json;version=2.1";

fn collection(tlp: Tlp) -> Collection {
    Collection::all().into_iter().find(|c| c.tlp == tlp).unwrap()
}

/// Opens a case marked `tlp`, files a report of the same marking and publishes it.
pub(crate) async fn publish_advisory(t: &TestApp, w: &World, tlp: &str) {
    let case = open_case(t, &w.coordinator, tlp, &[w.vendor.org_id]).await;
    let report = Report {
        tlp,
        ..Report::new(case, &w.dev_admin, t.clock_now())
    };
    file_report(t, &report).await;
    for to in ["triaged", "vendors_notified", "published"] {
        transition(t, &w.coordinator, case, to).await.ok();
    }
}

/// The objects of `objects` that `from` holds (by id): a receiving clearinghouse also exports the reports it
/// files from them, under ids of its own.
fn held_from(objects: &[Value], from: &[Value]) -> Vec<Value> {
    let ids: std::collections::BTreeSet<&str> = from.iter().filter_map(|o| o["id"].as_str()).collect();
    objects
        .iter()
        .filter(|o| o["id"].as_str().is_some_and(|id| ids.contains(id)))
        .cloned()
        .collect()
}

/// How many of these objects intake files as reports: vulnerabilities naming their products in our extension
/// (posted ones, our reports' and our advisories') and indicators with a STIX pattern.
fn fileable(objects: &[Value]) -> usize {
    objects
        .iter()
        .filter(|o| {
            (o["type"] == "vulnerability" && o["extensions"].get(AFFECTED_EXTENSION).is_some())
                || (o["type"] == "indicator" && o["pattern_type"] == "stix")
        })
        .count()
}

/// A collection's objects as `who` reads them over TAXII, and the page's `X-TAXII-Date-Added-Last`.
pub(crate) async fn taxii_objects(t: &TestApp, who: &Persona, tlp: Tlp) -> (Vec<Value>, Option<String>) {
    let response = t
        .client
        .get(t.url(&format!(
            "/taxii2/api/collections/{}/objects/?limit=1000",
            collection(tlp).id
        )))
        .header("accept", TAXII)
        .bearer_auth(&who.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let last = response
        .headers()
        .get("x-taxii-date-added-last")
        .map(|v| v.to_str().unwrap().to_owned());
    let page: Value = response.json().await.unwrap();
    (page["objects"].as_array().cloned().unwrap_or_default(), last)
}

/// The ids, versions and markings of objects, sorted.
fn identities(objects: &[Value]) -> Vec<(String, String, Value)> {
    let mut ids: Vec<_> = objects
        .iter()
        .map(|o| {
            (
                o["id"].as_str().unwrap().to_owned(),
                o["modified"].as_str().unwrap_or_default().to_owned(),
                o["object_marking_refs"].clone(),
            )
        })
        .collect();
    ids.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    ids
}

/// The cases of the reports titled `title`, one entry per report.
async fn cases_of_titled(t: &TestApp, who: &Persona, title: &str) -> Vec<Value> {
    let list = t.get(who, "/api/v1/reports?limit=200").await;
    list.ok()["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["title"] == json!(title))
        .map(|r| r["case_id"].clone())
        .collect()
}

async fn reports_titled(t: &TestApp, who: &Persona, title: &str) -> usize {
    let list = t.get(who, "/api/v1/reports?limit=200").await;
    list.ok()["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["title"] == json!(title))
        .count()
}

const POSTED_TITLE: &str = "Edge router TLS parser overflow";

/// `who` posts a GREEN vulnerability naming its products to `t`'s TAXII collection, with the official marking
/// definition (acknowledged, not stored); it is filed as a report there.
async fn post_vulnerability(t: &TestApp, who: &Persona) {
    let posted = json!({
        "type": "vulnerability", "spec_version": "2.1",
        "id": "vulnerability--5a5a0000-0000-4000-8000-0000000000f1",
        "created": "2026-03-01T10:00:00.000Z", "modified": "2026-03-02T11:30:00.250Z", "name": POSTED_TITLE,
        "description": "A heap overflow in the TLS record parser of the edge router firmware lets a remote \
                        attacker run code before authentication by sending a crafted handshake.",
        "object_marking_refs": [marking_id(Tlp::Green)],
        "external_references": [{"source_name": "cwe", "external_id": "CWE-787"}],
        "extensions": {AFFECTED_EXTENSION: {"extension_type": "property-extension",
            "affected": [{"purl": "pkg:generic/edgeos", "versions": ">=2.0.0, <2.4.1"}]}},
    });
    let envelope = json!({"objects": [marking_definition(Tlp::Green), posted]});
    let answer = t
        .raw(
            Method::POST,
            &format!("/taxii2/api/collections/{}/objects/", collection(Tlp::Green).id),
            Some(&who.token),
            Some(TAXII),
            envelope.to_string().into_bytes(),
        )
        .await;
    assert_eq!(answer.status.as_u16(), 202, "{:?}", answer.body);
    assert_eq!(answer.body["success_count"], 2, "{:?}", answer.body);
}

pub(crate) fn peer_body(name: &str, api_root: &str, collection_id: Uuid, token: &str) -> Value {
    json!({
        "name": name,
        "api_root": api_root,
        "collection_id": collection_id,
        "token": token,
        "username": "federation",
        "tlp": "green",
        "interval_seconds": 3600,
    })
}

#[tokio::test]
async fn two_clearinghouses_exchange_an_advisory_over_taxii() {
    let a = spawn_app().await;
    let wa = World::new(&a).await;
    publish_advisory(&a, &wa, "green").await;
    let (advisory_objects, _) = taxii_objects(&a, &wa.coordinator, Tlp::Green).await;
    let vulnerability = advisory_objects
        .iter()
        .find(|o| o["type"] == "vulnerability")
        .unwrap();
    let advisory_title = vulnerability["name"].as_str().unwrap().to_owned();
    // A member of A posts a vulnerability naming its products (with the marking definition, not stored).
    let title = POSTED_TITLE;
    post_vulnerability(&a, &wa.vendor).await;
    assert_eq!(reports_titled(&a, &wa.coordinator, title).await, 1);
    let (a_objects, a_last) = taxii_objects(&a, &wa.coordinator, Tlp::Green).await;
    // The advisory's vulnerability and report, the posted vulnerability, and our exports of the report and
    // case behind the advisory.
    let n = a_objects.len();
    assert!(n >= 3, "{a_objects:?}");
    let filed_there = fileable(&a_objects);
    assert!(filed_there >= 2, "{a_objects:?}");

    let b = spawn_app().await;
    let wb = World::new(&b).await;
    // The first pull below is the test's own: a scheduled one beside it would take the new objects first.
    schedule_ran(&b).await;
    let seq = b.audit_seq().await;
    let secret = wa.coordinator.token.clone();
    let created = b
        .post(
            &wb.coordinator,
            "/api/v1/federation/peers",
            peer_body(
                "Clearinghouse A",
                &a.url("/taxii2/api"),
                collection(Tlp::Green).id,
                &secret,
            ),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let peer = id_of(&created.body);
    assert_eq!(created.body["auth"], "basic");
    assert_eq!(created.body["api_root"], a.url("/taxii2/api/"));

    let first = b.app.pull_peer(peer).await.unwrap();
    assert_eq!(first.error, None);
    assert_eq!(
        (first.pages, first.new_objects, first.reports),
        (1, n as u64, filed_there as u64)
    );
    assert!(first.refused.is_empty(), "{:?}", first.refused);

    // B's collection holds A's objects: A's ids, versions and markings.
    let (b_objects, _) = taxii_objects(&b, &wb.coordinator, Tlp::Green).await;
    let b_objects = held_from(&b_objects, &a_objects);
    assert_eq!(identities(&b_objects), identities(&a_objects));
    assert_eq!(b_objects, a_objects, "the objects are kept as A wrote them");
    // A member of another organisation reads them as any GREEN object.
    let (seen, _) = taxii_objects(&b, &wb.vendor, Tlp::Green).await;
    assert_eq!(held_from(&seen, &a_objects).len(), n);
    // B's intake holds the advisory's vulnerability (which names its products) as a report, and the posted
    // vulnerability twice: as posted, and as A's export of the report A filed from it; intake puts both in one
    // case. All are found by A (the peer).
    let cases = cases_of_titled(&b, &wb.coordinator, title).await;
    assert_eq!(cases.len(), 2, "{cases:?}");
    assert!(cases[0].is_string() && cases[0] == cases[1], "{cases:?}");
    assert_eq!(reports_titled(&b, &wb.coordinator, &advisory_title).await, 1);
    let list = b.get(&wb.coordinator, "/api/v1/reports?limit=200").await;
    let filed = list.ok()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["title"] == json!(title))
        .cloned()
        .unwrap();
    assert_eq!(filed["finder"]["kind"], "organization", "{filed}");
    assert_eq!(filed["finder"]["name"], "Clearinghouse A", "{filed}");

    let view = b
        .get(&wb.coordinator, &format!("/api/v1/federation/peers/{peer}"))
        .await;
    let view = view.ok();
    assert_eq!(view["last_error"], Value::Null);
    assert!(view["last_success_at"].is_string(), "{view}");
    assert_eq!(view["pull_cursor"], json!(a_last));
    assert_eq!(view["pulled_objects"], n);

    // A second pull, from the cursor and from the start: nothing new anywhere.
    let again = b.app.pull_peer(peer).await.unwrap();
    assert_eq!((again.error, again.new_objects, again.reports), (None, 0, 0));
    let reset = b
        .patch(
            &wb.coordinator,
            &format!("/api/v1/federation/peers/{peer}"),
            json!({"collection_id": Uuid::new_v4(), "enabled": true}),
        )
        .await;
    reset.ok();
    b.patch(
        &wb.coordinator,
        &format!("/api/v1/federation/peers/{peer}"),
        json!({"collection_id": collection(Tlp::Green).id}),
    )
    .await
    .ok();
    let from_start = b.app.pull_peer(peer).await.unwrap();
    assert_eq!(
        (from_start.error, from_start.new_objects, from_start.reports),
        (None, 0, 0)
    );
    assert_eq!(cases_of_titled(&b, &wb.coordinator, title).await.len(), 2);
    let (b_again, _) = taxii_objects(&b, &wb.coordinator, Tlp::Green).await;
    assert_eq!(held_from(&b_again, &a_objects).len(), n);
    assert_eq!(reports_titled(&b, &wb.coordinator, &advisory_title).await, 1);

    // The credential is in no answer and no event.
    let list = b.get(&wb.coordinator, "/api/v1/federation/peers").await;
    for answer in [&created.body, list.ok(), view] {
        assert!(!answer.to_string().contains(&secret), "{answer}");
    }
    let events = b.audit_after(seq).await;
    let kinds: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert!(kinds.contains(&"federation_peer.create"), "{kinds:?}");
    assert!(kinds.contains(&"federation_peer.update"), "{kinds:?}");
    for e in &events {
        assert!(!e.details.0.to_string().contains(&secret), "{e:?}");
    }

    // Only coordinators manage peers.
    for who in [&wb.dev_admin, &wb.vendor, &wb.agency_admin] {
        b.get(who, "/api/v1/federation/peers")
            .await
            .problem(403, "forbidden");
    }
    let gone = b
        .delete(&wb.coordinator, &format!("/api/v1/federation/peers/{peer}"))
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    // The pulled objects stay, with their origin.
    let (kept, _) = taxii_objects(&b, &wb.coordinator, Tlp::Green).await;
    assert_eq!(held_from(&kept, &a_objects).len(), n);
}

/// Waits until the test server's worker has run federation's schedule for the current minute (the clock only
/// moves when a test moves it): until it moves, no scheduled pull can run beside a test's own.
pub(crate) async fn schedule_ran(t: &TestApp) {
    jobs_ended(t, app::federation::SCHEDULE_KIND, 1).await;
}

/// The jobs of `kind` once there are at least `at_least` and every one of them has ended.
pub(crate) async fn jobs_ended(t: &TestApp, kind: &str, at_least: usize) -> Vec<store::Job> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let jobs = t
            .app
            .store
            .list_jobs(&store::JobQuery {
                state: None,
                kind: Some(kind.into()),
                page: store::Page::first(20),
            })
            .await
            .unwrap();
        if jobs.len() >= at_least && jobs.iter().all(|j| j.state == store::JobState::Done) {
            return jobs;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the {kind} jobs did not end: {jobs:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_publishes_to_b_once_and_a_second_push_files_nothing_new() {
    let a = spawn_app().await;
    let wa = World::new(&a).await;
    publish_advisory(&a, &wa, "green").await;
    post_vulnerability(&a, &wa.vendor).await;
    // An AMBER advisory is never sent to a peer followed as GREEN.
    publish_advisory(&a, &wa, "amber").await;
    // What a peer is sent is what every member may read: the GREEN collection as a member with no part in
    // any of it reads it.
    let (a_objects, _) = taxii_objects(&a, &wa.operator, Tlp::Green).await;
    let n = a_objects.len();
    assert!(n >= 3, "{a_objects:?}");

    let b = spawn_app().await;
    let wb = World::new(&b).await;
    // The pushes below are the test's own: a scheduled one beside them would send the objects first.
    schedule_ran(&a).await;
    let seq = a.audit_seq().await;
    // A publishes to B's GREEN collection with a credential of a member of B.
    let secret = wb.vendor.token.clone();
    let mut body = peer_body(
        "Clearinghouse B",
        &b.url("/taxii2/api"),
        collection(Tlp::Green).id,
        &secret,
    );
    body["publish_collection_id"] = json!(collection(Tlp::Green).id);
    let created = a.post(&wa.coordinator, "/api/v1/federation/peers", body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let peer = id_of(&created.body);
    assert_eq!(created.body["push_cursor"], Value::Null);

    let first = a.app.push_peer(peer).await.unwrap();
    assert_eq!(first.error, None, "{first:?}");
    assert_eq!((first.envelopes, first.accepted), (1, n as u64), "{first:?}");
    assert!(first.refused.is_empty(), "{first:?}");
    // B's collection holds A's objects, as A wrote them; B's intake holds the posted vulnerability once.
    let (b_objects, _) = taxii_objects(&b, &wb.coordinator, Tlp::Green).await;
    assert_eq!(
        identities(&held_from(&b_objects, &a_objects)),
        identities(&a_objects)
    );
    let (b_amber, _) = taxii_objects(&b, &wb.coordinator, Tlp::Amber).await;
    assert!(b_amber.is_empty(), "{b_amber:?}");
    assert_eq!(reports_titled(&b, &wb.coordinator, POSTED_TITLE).await, 1);
    let view = a
        .get(&wa.coordinator, &format!("/api/v1/federation/peers/{peer}"))
        .await;
    let view = view.ok().clone();
    assert!(view["push_cursor"].is_string(), "{view}");
    assert_eq!(view["pushed_objects"], n, "{view}");
    assert_eq!(view["push_last_error"], Value::Null, "{view}");
    assert!(view["push_last_success_at"].is_string(), "{view}");
    assert_eq!(
        time_of(&view, "push_next_run_at").unwrap() - a.clock_now(),
        chrono::Duration::seconds(3600)
    );

    // Nothing new: nothing sent.
    let again = a.app.push_peer(peer).await.unwrap();
    assert_eq!((again.envelopes, again.accepted, again.error), (0, 0, None));
    // Another publish collection and back: everything is sent again, and B refuses what it holds.
    for to in [Uuid::new_v4(), collection(Tlp::Green).id] {
        a.patch(
            &wa.coordinator,
            &format!("/api/v1/federation/peers/{peer}"),
            json!({"publish_collection_id": to}),
        )
        .await
        .ok();
    }
    let resent = a.app.push_peer(peer).await.unwrap();
    assert_eq!(
        (resent.envelopes, resent.accepted, resent.error.clone()),
        (1, 0, None),
        "{resent:?}"
    );
    assert_eq!(resent.refused.len(), n, "{resent:?}");
    assert!(
        resent.refused.iter().all(|r| r.contains("already stored")),
        "{resent:?}"
    );
    assert_eq!(reports_titled(&b, &wb.coordinator, POSTED_TITLE).await, 1);
    let (b_again, _) = taxii_objects(&b, &wb.coordinator, Tlp::Green).await;
    assert_eq!(held_from(&b_again, &a_objects).len(), n);
    let view = a
        .get(&wa.coordinator, &format!("/api/v1/federation/peers/{peer}"))
        .await;
    let recorded = view.ok()["push_last_error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        recorded.starts_with(&format!("{n} object(s) refused by the peer; ")),
        "{recorded}"
    );

    // The credential is in no answer and no event.
    for answer in [&created.body, view.ok()] {
        assert!(!answer.to_string().contains(&secret), "{answer}");
    }
    for e in a.audit_after(seq).await {
        assert!(!e.details.0.to_string().contains(&secret), "{e:?}");
    }
}

#[tokio::test]
async fn peer_settings_are_checked_field_by_field() {
    let b = spawn_app().await;
    let wb = World::new(&b).await;
    let good = peer_body("P", "https://peer.example/taxii2/api/", Uuid::new_v4(), "tok");
    let cases: [(&str, Value, &str); 7] = [
        ("api_root", json!("ftp://peer.example/"), "api_root"),
        ("api_root", json!("https://u:p@peer.example/"), "api_root"),
        ("collection_id", json!("not-a-uuid"), "collection_id"),
        ("token", json!(""), "token"),
        ("username", json!("a:b"), "username"),
        ("tlp", json!("purple"), "tlp"),
        ("interval_seconds", json!(5), "interval_seconds"),
    ];
    for (key, value, field) in cases {
        let mut body = good.clone();
        body[key] = value;
        let reply = b.post(&wb.coordinator, "/api/v1/federation/peers", body).await;
        let problem = reply.problem(422, "invalid-field");
        assert_eq!(problem["field"], field, "{problem}");
    }
    // A peer that does not exist, or a path that is not an id: 404.
    b.get(
        &wb.coordinator,
        &format!("/api/v1/federation/peers/{}", Uuid::new_v4()),
    )
    .await
    .problem(404, "not-found");
}
