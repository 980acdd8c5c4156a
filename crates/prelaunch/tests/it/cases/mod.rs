//! Coordinated disclosure cases, end to end over HTTP on both backends: the life of a case (vendors matched at
//! triage, notified, their statuses, the discussion, publication and its advisory), TLP × persona for cases,
//! posts and advisories under embargo and after it, publication by the injected clock (across a restart too),
//! reminders, the fan-out batch to subscribers, the metrics on a known set, and bad input that stores nothing.
//!
//! Reports come from intake: `file_report` files each through `POST /api/v1/reports` (and its reproducer
//! through the attachments API), then a coordinator merges the case intake opened into the case under test.

use crate::support::*;
use chrono::{DateTime, Duration, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection;
use std::collections::BTreeSet;
use uuid::Uuid;

mod access;
mod input;

/// A vulnerability report to file into a case.
pub(crate) struct Report<'a> {
    pub(crate) case: Uuid,
    pub(crate) reporter: &'a Persona,
    pub(crate) tlp: &'a str,
    pub(crate) finder: &'a str,
    pub(crate) ai_found: bool,
    /// The vector, and the score the system must give it.
    pub(crate) cvss_v3: Option<(&'a str, f64)>,
    pub(crate) cwe: Option<i32>,
    /// The earlier report of the case this one repeats: the merge marks it so (as every report merged into a
    /// case that has reports already), so it must be the case's first report.
    pub(crate) duplicate_of: Option<Uuid>,
    /// (product with version, product key, versions).
    pub(crate) affected: Option<(&'a str, &'a str, &'a str)>,
    pub(crate) reproducer: bool,
    /// When it is filed: intake takes the clock's now, which this must be.
    pub(crate) at: DateTime<Utc>,
}

impl<'a> Report<'a> {
    pub(crate) fn new(case: Uuid, reporter: &'a Persona, at: DateTime<Utc>) -> Self {
        Report {
            case,
            reporter,
            tlp: "amber",
            finder: "Ada",
            ai_found: false,
            cvss_v3: Some(("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8)),
            cwe: Some(787),
            duplicate_of: None,
            affected: Some((
                "pkg:npm/acme/router@1.2.0",
                "pkg:npm/acme/router",
                ">=1.2.0, <1.4.3",
            )),
            reproducer: false,
            at,
        }
    }
}

/// The coordinator of `World`, who merges filed reports into the case under test.
const COORDINATOR_EMAIL: &str = "coord@clearinghouse.example";

/// A token of `World`'s coordinator, made once per test database.
async fn coordinator_token(t: &TestApp) -> String {
    static TOKENS: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());
    let known = TOKENS
        .lock()
        .unwrap()
        .iter()
        .find(|(db, _)| **db == *t.database_url)
        .map(|(_, token)| token.clone());
    if let Some(token) = known {
        return token;
    }
    let token = t.app.provision_token(COORDINATOR_EMAIL, None).await.unwrap();
    let token = token.expose().to_owned();
    TOKENS
        .lock()
        .unwrap()
        .push((t.database_url.to_string(), token.clone()));
    token
}

/// Files the report through the API, as its reporter, into `r.case`: intake opens a case of its own (the
/// description carries a unique paragraph, so it joins none), the reproducer is attached through the API,
/// and the coordinator merges that case into `r.case` (the reporter's organisation becomes a notified
/// participant). A RED report names the coordinator, who otherwise could not read it to merge it.
pub(crate) async fn file_report(t: &TestApp, r: &Report<'_>) -> Uuid {
    assert_eq!(r.at, t.clock_now(), "intake files a report at the clock's now");
    let coordinator = coordinator_token(t).await;
    let unique: String = Uuid::now_v7()
        .simple()
        .to_string()
        .chars()
        .collect::<Vec<_>>()
        .chunks(2)
        .map(|pair| format!("word{}{} ", pair[0], pair[1]))
        .collect();
    let mut body = json!({
        "kind": "vulnerability",
        "title": "Heap overflow in the router",
        "description": format!("A long header overflows a buffer.\n\nFiling notes: {unique}"),
        "tlp": r.tlp,
        "finder": {"kind": "person", "name": r.finder},
        "ai_found": r.ai_found,
    });
    if let Some((vector, _)) = r.cvss_v3 {
        body["cvss_v3"] = json!(vector);
    }
    if let Some(cwe) = r.cwe {
        body["cwe"] = json!(format!("CWE-{cwe}"));
    }
    if let Some((product, _, versions)) = r.affected {
        let key = if product.starts_with("pkg:") {
            "purl"
        } else {
            "cpe"
        };
        body["affected"] = json!([{key: product, "versions": versions}]);
    }
    if r.tlp == "red" {
        let me = t.call(Method::GET, "/api/v1/me", Some(&coordinator), None).await;
        body["people"] = json!([me.ok()["user"]["id"]]);
    }
    let filed = t.post(r.reporter, "/api/v1/reports", body).await;
    assert_eq!(filed.status, StatusCode::CREATED, "{}", filed.body);
    assert_eq!(filed.body["joined"], json!(false), "{}", filed.body);
    let id = id_of(&filed.body);
    if r.reproducer {
        let attached = t
            .raw(
                Method::POST,
                &format!("/api/v1/reports/{id}/attachments?role=reproducer&name=poc.py"),
                Some(&r.reporter.token),
                Some("text/plain"),
                b"print(1)".to_vec(),
            )
            .await;
        assert_eq!(attached.status, StatusCode::CREATED, "{}", attached.body);
    }
    let opened = filed.body["case_id"].as_str().unwrap();
    let merged = t
        .call(
            Method::POST,
            &format!("/api/v1/cases/{opened}/merge"),
            Some(&coordinator),
            Some(json!({"into": r.case})),
        )
        .await;
    assert_eq!(merged.status, StatusCode::OK, "{}", merged.body);
    let stored = t
        .call(
            Method::GET,
            &format!("/api/v1/reports/{id}"),
            Some(&coordinator),
            None,
        )
        .await;
    assert_eq!(stored.ok()["case_id"], json!(r.case));
    if let Some(original) = r.duplicate_of {
        assert_eq!(stored.body["duplicate_of"], json!(original), "{}", stored.body);
    }
    if let Some((_, score)) = r.cvss_v3 {
        assert_eq!(stored.body["scores"]["cvss_v3"]["base_score"], json!(score));
    }
    id
}

/// Rows of the clearinghouse's tables, straight from the database.
async fn clearinghouse_counts(t: &TestApp) -> Vec<(&'static str, i64)> {
    const TABLES: [&str; 10] = [
        "cases",
        "case_participants",
        "case_vendor_status",
        "case_posts",
        "case_embargo_changes",
        "case_state_changes",
        "vendor_policies",
        "advisories",
        "subscriptions",
        "audit_events",
    ];
    macro_rules! count {
        ($conn:ty) => {{
            let mut conn = <$conn>::connect(&t.database_url).await.unwrap();
            let mut counts = Vec::new();
            for table in TABLES {
                let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
                    .fetch_one(&mut conn)
                    .await
                    .unwrap();
                counts.push((table, n));
            }
            counts
        }};
    }
    match backend() {
        Backend::Sqlite => count!(sqlx::SqliteConnection),
        Backend::Postgres => count!(sqlx::PgConnection),
    }
}

pub(crate) fn new_case(tlp: &str, vendors: &[Uuid]) -> Value {
    json!({
        "title": "Heap overflow in Acme Router",
        "summary": "A long header overflows a fixed buffer in the **request parser**.",
        "tlp": tlp,
        "sectors": ["Energy"],
        "vendors": vendors,
    })
}

pub(crate) async fn open_case(t: &TestApp, coordinator: &Persona, tlp: &str, vendors: &[Uuid]) -> Uuid {
    let reply = t.post(coordinator, "/api/v1/cases", new_case(tlp, vendors)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    id_of(&reply.body)
}

pub(crate) async fn transition(t: &TestApp, who: &Persona, case: Uuid, to: &str) -> Reply {
    t.post(
        who,
        &format!("/api/v1/cases/{case}/transition"),
        json!({"to": to, "reason": format!("moving to {to}")}),
    )
    .await
}

/// Waits until the case reads as published to `who` (the server's worker runs the publication job).
async fn wait_published(t: &TestApp, who: &Persona, case: Uuid) -> Value {
    for _ in 0..200 {
        let reply = t.get(who, &format!("/api/v1/cases/{case}")).await;
        if reply.status == StatusCode::OK && reply.body["state"] == "published" {
            return reply.body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("case {case} was not published");
}

/// Lets the worker run what is due at the clock's now, then reads the case's state as a coordinator.
async fn state_after_a_while(t: &TestApp, who: &Persona, case: Uuid) -> String {
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let reply = t.get(who, &format!("/api/v1/cases/{case}")).await;
    reply.ok()["state"].as_str().unwrap().to_owned()
}

fn ids(list: &Value, key: &str) -> BTreeSet<String> {
    list[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().map_or_else(|| x["org_id"].to_string(), str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_case_goes_from_triage_to_its_advisory() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    // The vendor answers for Acme's npm packages, asks for 45 days, and treats AI-found reports as public.
    let policy = json!({
        "embargo_days": 45, "ai_found_public": true, "require_reproducer": false,
        "reports_per_day": 20, "products": ["pkg:npm/acme"],
    });
    t.put(&w.vendor, "/api/v1/vendor-policy", policy).await.ok();
    let case = open_case(&t, &w.coordinator, "amber", &[]).await;
    let path = format!("/api/v1/cases/{case}");
    let first = file_report(&t, &Report::new(case, &w.dev_admin, t.clock_now())).await;
    let mut second = Report::new(case, &w.other_dev, t.clock_now());
    second.finder = "Orion 1.0";
    second.ai_found = true;
    second.duplicate_of = Some(first);
    let second = file_report(&t, &second).await;

    let opened = t.get(&w.coordinator, &path).await;
    let opened = opened.ok();
    assert_eq!(opened["state"], "new");
    assert_eq!(opened["state_label"], "New");
    assert_eq!(opened["tlp_label"], "TLP:AMBER");
    assert!(opened["reference"].as_str().unwrap().starts_with("PLC-2027-"));
    assert_eq!(opened["sectors"], json!(["energy"]));
    // The vendor is not yet part of it: the case does not exist for it.
    t.get(&w.vendor, &path).await.problem(404, "not-found");

    // Triage matches the vendor from the affected product and sets its 45-day embargo.
    let triaged = transition(&t, &w.coordinator, case, "triaged").await;
    let triaged = &triaged.ok()["case"];
    assert_eq!(triaged["state"], "triaged");
    let embargo = time_of(triaged, "embargo_ends_at").unwrap();
    assert_eq!(embargo, t.clock_now() + Duration::days(45));
    let vendor_line = triaged["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["org_id"] == json!(w.vendor.org_id))
        .expect("the vendor was matched")
        .clone();
    assert_eq!(vendor_line["role"], "vendor");
    assert!(vendor_line["notified_at"].is_null());
    assert_eq!(vendor_line["ai_found_public"], true, "{vendor_line}");
    assert!(vendor_line["notes"][0].as_str().unwrap().contains("AI-found"));
    t.get(&w.vendor, &path).await.problem(404, "not-found");

    // Notified, the vendor reads the case and both reports, and credits name both finders.
    let notified = transition(&t, &w.coordinator, case, "vendors_notified").await;
    assert_eq!(notified.ok()["not_notified"], json!([]));
    // The vendor is told, and nobody who takes no part in the case.
    crate::notifications::deliver(&t).await;
    let told = ("case.vendors_notified".to_owned(), format!("/cases/{case}"));
    assert!(crate::notifications::inbox(&t, &w.vendor).await.contains(&told));
    assert!(!crate::notifications::inbox(&t, &w.operator).await.contains(&told));
    let seen = t.get(&w.vendor, &path).await;
    let seen = seen.ok();
    let reports: BTreeSet<String> = ids(seen, "reports");
    assert_eq!(reports, [first, second].iter().map(Uuid::to_string).collect());
    let credits = seen["credits"].as_array().unwrap();
    assert_eq!(credits.len(), 2);
    assert!(
        credits
            .iter()
            .any(|c| c["name"] == "Orion 1.0" && c["ai_found"] == true && c["duplicate"] == true)
    );
    assert!(
        credits
            .iter()
            .any(|c| c["name"] == "Ada" && c["duplicate"] == false)
    );

    // The vendor's status, and a thread between the vendor and the coordinator.
    let status_path = format!("{path}/vendors/{}/status", w.vendor.org_id);
    let status = json!({"report_id": first, "status": "fixed", "statement": "Fixed in 1.4.3."});
    let stated = t.put(&w.vendor, &status_path, status.clone()).await;
    assert_eq!(stated.ok()["status_label"], "Fixed");
    t.put(&w.operator, &status_path, status)
        .await
        .problem(404, "not-found");
    let posts = format!("{path}/posts");
    let post = t
        .post(
            &w.vendor,
            &posts,
            json!({"body": "Patch ready <script>alert(1)</script>"}),
        )
        .await;
    assert_eq!(post.status, StatusCode::CREATED, "{}", post.body);
    assert!(!post.body["body_html"].as_str().unwrap().contains("<script>"));
    let reply = json!({"body": "Thanks, **publishing** on schedule.", "reply_to": id_of(&post.body)});
    t.post(&w.coordinator, &posts, reply).await.ok();
    let thread = t.get(&w.vendor, &posts).await;
    let thread = thread.ok()["items"].as_array().unwrap().clone();
    assert_eq!(thread.len(), 2);
    assert_eq!(thread[1]["reply_to"], thread[0]["id"]);
    // The reporter's organisation takes part; another developer does not.
    t.get(&w.dev_admin, &posts).await.ok();
    t.get(&w.other_dev, &posts).await.ok();
    t.get(&w.operator, &posts).await.problem(404, "not-found");

    t.clock.advance(Duration::days(1));
    transition(&t, &w.coordinator, case, "fix_in_progress").await.ok();
    transition(&t, &w.coordinator, case, "fixed").await.ok();
    // A coordinator publishes now: the advisory is generated with the state change.
    let published = transition(&t, &w.coordinator, case, "published").await;
    assert_eq!(published.ok()["case"]["state"], "published");
    let advisories = t.get(&w.vendor, "/api/v1/advisories").await;
    let advisory = advisories.ok()["items"][0].clone();
    assert!(advisory["reference"].as_str().unwrap().starts_with("PLA-2027-"));
    assert_eq!(advisory["case_id"], json!(case));
    assert_eq!(advisory["tlp"], "amber");
    assert_eq!(advisory["severity"], "critical");
    assert_eq!(advisory["cwe"], json!(["CWE-787"]));
    assert_eq!(advisory["scores"]["cvss_v3"]["base_score"], 9.8);
    assert_eq!(advisory["affected"][0]["fixed_in"], json!(["1.4.3"]));
    assert_eq!(advisory["fixed"][0]["org_id"], json!(w.vendor.org_id));
    assert_eq!(advisory["remediation"][0]["statement"], "Fixed in 1.4.3.");
    assert_eq!(advisory["credits"].as_array().unwrap().len(), 2);
    assert_eq!(advisory["summary"], opened["summary_text"]);
    // Publishing again is a conflict, and changes nothing.
    let before = clearinghouse_counts(&t).await;
    transition(&t, &w.coordinator, case, "published")
        .await
        .problem(409, "conflict");
    assert_eq!(clearinghouse_counts(&t).await, before);
    // Every step is in the case's trail, which the vendor may read.
    let trail = t
        .get(&w.vendor, &format!("/api/v1/audit?object_id={case}&limit=200"))
        .await;
    let actions: BTreeSet<String> = trail.ok()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    for action in [
        "case.open",
        "case.transition",
        "case.participant_add",
        "case.embargo",
        "case.vendor_status",
        "case.post",
        "case.publish",
        "advisory.publish",
        "advisory.fanout",
    ] {
        assert!(actions.contains(action), "{action} missing from {actions:?}");
    }
}
