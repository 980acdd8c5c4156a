//! Intake files the reports that arrive together in one group (`app::clearinghouse::intake_queue`, the store's
//! `file_each`): one transaction whose statements are per group. Each report keeps its own outcome — a
//! duplicate finds the group's report before it, a limit refuses one report and takes no count for it, a
//! report whose rows the database rejects fails alone — exactly as if they had come one at a time.

use crate::reports::{scalar, threat, uuid_sql, vulnerability};
use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

/// Posts each body as its persona, at once; the replies in the same order.
fn post_all(t: &TestApp, posts: Vec<(&Persona, String, Value)>) -> Vec<tokio::task::JoinHandle<Reply>> {
    posts
        .into_iter()
        .map(|(p, path, body)| t.spawn_post(p, &path, body))
        .collect()
}

/// Waits until `n` reports wait for the filing task (the test holds it).
async fn until_waiting(t: &TestApp, n: usize) {
    for _ in 0..3_000 {
        if t.app.intake_waiting() >= n {
            assert_eq!(t.app.intake_waiting(), n, "more reports wait than were posted");
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "{n} reports never waited together: {} did",
        t.app.intake_waiting()
    );
}

async fn replies(tasks: Vec<tokio::task::JoinHandle<Reply>>) -> Vec<Reply> {
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

#[tokio::test]
async fn reports_arriving_together_are_filed_as_one_group_each_with_its_own_outcome() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    t.put(
        &w.program_admin,
        "/api/v1/policy",
        json!({"intake_reports_per_day": 2}),
    )
    .await
    .ok();
    // The operator files one report before: one more is allowed today.
    let before = t.post(&w.operator, "/api/v1/reports", threat("green")).await;
    assert_eq!(before.status, StatusCode::CREATED, "{}", before.body);
    let groups = t.app.intake_groups();

    let original = vulnerability("green");
    let mut repeat = vulnerability("green");
    repeat["title"] = json!("png_read_row heap overflow with a crafted IHDR");
    let mut other = vulnerability("green");
    other["affected"] = json!([{"purl": "pkg:npm/left-pad", "versions": "<1.3.0"}]);
    other["title"] = json!("Prototype pollution in left-pad options");
    other["description"] = json!("Merging options copies __proto__ keys onto Object.prototype.");
    other["location"] = json!("index.js:merge");
    other["cwe"] = json!("CWE-1321");
    let mut second_threat = threat("green");
    second_threat["title"] = json!("A second campaign");

    let hold = t.app.hold_intake().await;
    let reports = "/api/v1/reports".to_owned();
    let tasks = post_all(
        &t,
        vec![
            (&w.dev_member, reports.clone(), original),
            (&w.vendor, reports.clone(), repeat),
            (&w.operator, reports.clone(), threat("green")),
            (&w.operator, reports.clone(), second_threat),
            (&w.other_dev, reports.clone(), other),
        ],
    );
    // The five wait together; released, they go as one group.
    until_waiting(&t, 5).await;
    drop(hold);
    let replies = replies(tasks).await;
    let after = t.app.intake_groups();
    assert_eq!(
        (after.groups - groups.groups, after.reports - groups.reports),
        (1, 5),
        "one group of five"
    );

    // Of the original and its repeat, filed by two organisations in the same group, the first in the queue
    // opens a case and the other joins it.
    for r in &replies[..2] {
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let (opened, joined): (Vec<&Reply>, Vec<&Reply>) =
        replies[..2].iter().partition(|r| r.body["joined"] == false);
    assert_eq!(
        (opened.len(), joined.len()),
        (1, 1),
        "{} {}",
        replies[0].body,
        replies[1].body
    );
    let (first, repeat) = (opened[0], joined[0]);
    assert_eq!(repeat.body["case_id"], first.body["case_id"]);
    // (Recorded as a duplicate of the other, which its finder's organisation does not read: under embargo, a
    // duplicate does not make its finder a recipient of the original.)
    assert_eq!(repeat.body["duplicate_of"], Value::Null);
    let original_id = id_of(&first.body);
    assert_eq!(
        scalar(
            &t,
            &format!(
                "SELECT COUNT(*) FROM reports WHERE duplicate_of = {} AND id = {}",
                uuid_sql(original_id),
                uuid_sql(id_of(&repeat.body))
            )
        )
        .await,
        1
    );
    // The operator's two threats: the limit lets one through, whichever came first, and refuses the other.
    let mut operator: Vec<u16> = replies[2..4].iter().map(|r| r.status.as_u16()).collect();
    operator.sort_unstable();
    assert_eq!(
        operator,
        [201, 429],
        "{:?}",
        replies[2..4].iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    let refused = replies[2..4].iter().find(|r| r.status.as_u16() == 429).unwrap();
    refused.problem(429, "throttled");
    // The distinct report opens its own case, numbered after the original's.
    let distinct = &replies[4];
    assert_eq!(distinct.status, StatusCode::CREATED, "{}", distinct.body);
    assert_eq!(distinct.body["joined"], false);
    let numbers: Vec<String> = [first, distinct]
        .iter()
        .map(|r| r.body["case_reference"].as_str().unwrap().to_owned())
        .collect();
    assert_ne!(numbers[0], numbers[1]);
    assert_eq!(scalar(&t, "SELECT COUNT(DISTINCT reference) FROM cases").await, 2);

    // The refused report stored nothing and took no count: the operator's counter stands at its limit.
    assert_eq!(
        scalar(
            &t,
            &format!(
                "SELECT count FROM intake_counters WHERE scope = 'org:{}'",
                w.operator.org_id
            )
        )
        .await,
        2
    );
    assert_eq!(scalar(&t, "SELECT COUNT(*) FROM reports").await, 5);
    // Every filed report has its event, and the cases theirs: 5 reports filed, 2 cases opened, 1 joined.
    let events = t.audit_after(0).await;
    let count = |action: &str| events.iter().filter(|e| e.action == action).count();
    assert_eq!(
        (count("report.file"), count("case.open"), count("case.join")),
        (5, 2, 1)
    );
    // The joined case moved on by one version for its new report.
    let case = t
        .get(
            &w.coordinator,
            &format!("/api/v1/cases/{}", first.body["case_id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(case.ok()["version"], 2, "{}", case.body);
}

#[tokio::test]
async fn a_report_the_database_rejects_fails_alone_and_its_group_is_filed() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let notice = id_of(&t.file_notice(&w.dev_admin, 40, &[w.agency]).await);
    t.assign(&w.agency_admin, notice, &w.evaluator).await;
    let finding = id_of(&t.file_finding(&w.evaluator, notice, &[]).await);
    let forward = format!("/api/v1/findings/{finding}/report");
    let body = json!({"tlp": "amber", "affected": [{"cpe": "cpe:2.3:a:frontier:orion:1.0:*:*:*:*:*:*:*", "versions": "*"}], "cwe": "CWE-94"});
    let groups = t.app.intake_groups();

    // The finding forwarded twice at once: both pass the check that it was not forwarded before, and the
    // database's rule (one report per finding) refuses the second when the group is written.
    let hold = t.app.hold_intake().await;
    let tasks = post_all(
        &t,
        vec![
            (&w.evaluator, forward.clone(), body.clone()),
            (
                &w.dev_member,
                "/api/v1/reports".to_owned(),
                vulnerability("green"),
            ),
            (&w.evaluator, forward.clone(), body),
        ],
    );
    until_waiting(&t, 3).await;
    drop(hold);
    let replies = replies(tasks).await;
    let after = t.app.intake_groups();
    assert_eq!(
        (after.groups - groups.groups, after.reports - groups.reports),
        (1, 3)
    );

    let mut forwards: Vec<u16> = [&replies[0], &replies[2]]
        .iter()
        .map(|r| r.status.as_u16())
        .collect();
    forwards.sort_unstable();
    assert_eq!(forwards, [201, 409], "{} {}", replies[0].body, replies[2].body);
    let conflict = [&replies[0], &replies[2]]
        .into_iter()
        .find(|r| r.status.as_u16() == 409)
        .unwrap();
    conflict.problem(409, "conflict");
    assert_eq!(replies[1].status, StatusCode::CREATED, "{}", replies[1].body);
    // Two reports stored, one of them the finding's; nothing of the refused one.
    assert_eq!(scalar(&t, "SELECT COUNT(*) FROM reports").await, 2);
    assert_eq!(
        scalar(
            &t,
            &format!(
                "SELECT COUNT(*) FROM reports WHERE finding_id = {}",
                uuid_sql(finding)
            )
        )
        .await,
        1
    );
    let events = t.audit_after(0).await;
    assert_eq!(events.iter().filter(|e| e.action == "report.forward").count(), 1);
    assert_eq!(events.iter().filter(|e| e.action == "report.file").count(), 1);
}

/// A flood finds the queue full: the report beyond its bound is refused at once as busy, with when to retry,
/// and nothing of it is stored; the reports that waited are all filed, and once they are, intake takes reports
/// again.
#[tokio::test]
async fn a_report_beyond_the_queue_bound_is_refused_as_busy_and_stores_nothing() {
    let t = spawn_configured(&fresh_database_url().await, |c| c.intake_queue_limit = 3).await;
    let w = World::new(&t).await;
    let titles = ["first", "second", "third", "fourth"].map(|n| format!("The {n} campaign"));
    let threat_titled = |title: &str| {
        let mut body = threat("green");
        body["title"] = json!(title);
        body
    };

    let hold = t.app.hold_intake().await;
    let reports = "/api/v1/reports".to_owned();
    let tasks = post_all(
        &t,
        titles[..3]
            .iter()
            .map(|title| (&w.operator, reports.clone(), threat_titled(title)))
            .collect(),
    );
    until_waiting(&t, 3).await;
    let refused = t
        .post(&w.operator, "/api/v1/reports", threat_titled(&titles[3]))
        .await;
    let detail = refused.problem(503, "unavailable")["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        detail.contains("3 reports are waiting") && detail.contains("not filed"),
        "{detail}"
    );
    assert_eq!(
        refused.headers["retry-after"],
        app::clearinghouse::QUEUE_FULL_RETRY_SECONDS.to_string()
    );
    assert_eq!(t.app.intake_waiting(), 3, "the refused report does not wait");
    drop(hold);
    for r in replies(tasks).await {
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let stored = |title: String| {
        let t = &t;
        async move {
            scalar(
                t,
                &format!("SELECT COUNT(*) FROM reports WHERE title = '{title}'"),
            )
            .await
        }
    };
    for title in &titles[..3] {
        assert_eq!(stored(title.clone()).await, 1, "{title} is filed");
    }
    assert_eq!(stored(titles[3].clone()).await, 0, "the refused report is not");

    // The queue drained, the same report is taken.
    let again = t
        .post(&w.operator, "/api/v1/reports", threat_titled(&titles[3]))
        .await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.body);
    assert_eq!(stored(titles[3].clone()).await, 1);
}
