//! A finding's life after filing (status by persona, the response thread, sharing, edits with history,
//! evidence citing our own objects) and an assessment drafted by an evaluator and published by the admin.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

/// A notice shared with both agencies, with the evaluator assigned.
async fn assigned_notice(t: &TestApp, w: &World) -> Uuid {
    let notice = id_of(
        &t.file_notice(&w.dev_member, 60, &[w.agency, w.other_agency])
            .await,
    );
    t.assign(&w.agency_admin, notice, &w.evaluator).await;
    notice
}

/// `assigned_notice`, and a finding by the evaluator.
async fn setup(t: &TestApp, w: &World) -> (Uuid, Uuid) {
    let notice = assigned_notice(t, w).await;
    let finding = id_of(&t.file_finding(&w.evaluator, notice, &[]).await);
    (notice, finding)
}

#[tokio::test]
async fn status_moves_follow_the_table_of_who_may_move_a_finding_where() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let notice = assigned_notice(&t, &w).await;
    // (persona, from, to, expected status): a fresh finding is brought to `from` by those entitled first.
    let reach = |from: &str| -> Vec<(&'static str, bool)> {
        match from {
            "open" => vec![],
            "acknowledged" => vec![("acknowledged", true)],
            "mitigated" => vec![("mitigated", true)],
            "disputed" => vec![("disputed", true)],
            "closed" => vec![("closed", false)],
            _ => unreachable!(),
        }
    };
    let cases: &[(&Persona, &str, &str, u16)] = &[
        (&w.dev_member, "open", "acknowledged", 200),
        (&w.dev_admin, "open", "mitigated", 200),
        (&w.dev_member, "open", "disputed", 200),
        (&w.dev_member, "acknowledged", "mitigated", 200),
        (&w.dev_member, "disputed", "acknowledged", 200),
        (&w.dev_member, "acknowledged", "acknowledged", 409),
        (&w.dev_member, "mitigated", "disputed", 409),
        (&w.dev_member, "closed", "acknowledged", 409),
        (&w.dev_member, "open", "closed", 403),
        (&w.dev_member, "closed", "open", 403),
        (&w.evaluator, "open", "closed", 200),
        (&w.evaluator, "mitigated", "closed", 200),
        (&w.agency_admin, "disputed", "closed", 200),
        (&w.evaluator, "closed", "open", 200),
        (&w.agency_admin, "mitigated", "open", 200),
        (&w.evaluator, "open", "open", 409),
        (&w.evaluator, "closed", "closed", 409),
        (&w.evaluator, "open", "acknowledged", 403),
        // Of the finding's agency but neither its author nor an admin.
        (&w.evaluator2, "open", "closed", 403),
        // Another agency the finding is not shared with, another developer, the program: not found.
        (&w.other_agency_admin, "open", "closed", 404),
        (&w.other_dev, "open", "acknowledged", 404),
        (&w.program_admin, "open", "closed", 404),
        (&w.vendor, "open", "closed", 404),
    ];
    for (who, from, to, expected) in cases {
        let finding = id_of(&t.file_finding(&w.evaluator, notice, &[]).await);
        let path = format!("/api/v1/findings/{finding}/status");
        for (step, developer) in reach(from) {
            let mover = if developer { &w.dev_admin } else { &w.evaluator };
            let r = t.post(mover, &path, json!({"status": step})).await;
            assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        }
        let r = t.post(who, &path, json!({"status": to})).await;
        assert_eq!(
            r.status.as_u16(),
            *expected,
            "{} × {from} → {to}: {:?}",
            who.name,
            r.body
        );
        let now = t.get(&w.dev_admin, &format!("/api/v1/findings/{finding}")).await;
        let want = if *expected == 200 { *to } else { *from };
        assert_eq!(now.body["status"], want, "{} × {from} → {to}", who.name);
    }
    let bad = t
        .post(
            &w.dev_member,
            &format!("/api/v1/findings/{}/status", Uuid::now_v7()),
            json!({"status": "acknowledged"}),
        )
        .await;
    bad.problem(404, "not-found");
    let (_, finding) = setup(&t, &w).await;
    let r = t
        .post(
            &w.dev_member,
            &format!("/api/v1/findings/{finding}/status"),
            json!({"status": "fixed"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert!(r.body.to_string().contains("status"), "{:?}", r.body);
}

#[tokio::test]
async fn responses_are_written_and_read_by_the_developer_and_the_findings_agency_only() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let (notice, _) = setup(&t, &w).await;
    // Shared with the other agency: it reads the finding, not the conversation.
    let finding = id_of(&t.file_finding(&w.evaluator, notice, &[w.other_agency]).await);
    let path = format!("/api/v1/findings/{finding}/responses");
    let first = t
        .post(&w.dev_member, &path, json!({"body": "We **reproduce** it."}))
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    let second = t.post(&w.evaluator, &path, json!({"body": "Thanks."})).await;
    assert_eq!(second.status, StatusCode::CREATED, "{:?}", second.body);
    let cases: &[(&Persona, u16, u16)] = &[
        // (persona, writing, reading)
        (&w.dev_admin, 201, 200),
        (&w.dev_member, 201, 200),
        (&w.agency_admin, 201, 200),
        (&w.evaluator, 201, 200),
        (&w.evaluator2, 403, 200),
        (&w.other_agency_admin, 403, 403),
        (&w.other_evaluator, 403, 403),
        (&w.other_dev, 404, 404),
        (&w.program_admin, 404, 404),
        (&w.coordinator, 404, 404),
    ];
    for (who, write, read) in cases {
        let r = t.post(who, &path, json!({"body": "a word"})).await;
        assert_eq!(r.status.as_u16(), *write, "{} writes: {:?}", who.name, r.body);
        let r = t.get(who, &path).await;
        assert_eq!(r.status.as_u16(), *read, "{} reads: {:?}", who.name, r.body);
        if *read == 200 {
            assert_eq!(r.body["items"][0]["body"], "We **reproduce** it.");
            assert_eq!(r.body["items"][1]["body"], "Thanks.");
        }
    }
    let long = "x".repeat(10_001);
    let r = t.post(&w.dev_member, &path, json!({"body": long})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    let r = t.post(&w.dev_member, &path, json!({"body": "  "})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
}

#[tokio::test]
async fn a_finding_is_shared_after_filing_with_agencies_of_the_notice_only() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let (_, finding) = setup(&t, &w).await;
    let path = format!("/api/v1/findings/{finding}");
    t.get(&w.other_agency_admin, &path)
        .await
        .problem(404, "not-found");
    let share = format!("{path}/share");
    let body = json!({"shared_with": [w.other_agency]});
    // Not the developer, not another evaluator of the agency, not the other agency.
    for who in [&w.dev_admin, &w.evaluator2] {
        let r = t.post(who, &share, body.clone()).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}: {:?}", who.name, r.body);
    }
    t.post(&w.other_agency_admin, &share, body.clone())
        .await
        .problem(404, "not-found");
    // An agency the notice is not shared with is refused, by name of the field.
    let vendor_org = w.vendor.org_id;
    let r = t
        .post(&w.evaluator, &share, json!({"shared_with": [vendor_org]}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    let r = t.post(&w.evaluator, &share, body).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    t.get(&w.other_agency_admin, &path).await.ok();
    t.get(&w.other_evaluator, &path).await.ok();
    t.get(&w.other_dev, &path).await.problem(404, "not-found");
    t.get(&w.vendor, &path).await.problem(404, "not-found");
}

#[tokio::test]
async fn the_author_edits_a_finding_and_every_version_is_kept() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let (_, finding) = setup(&t, &w).await;
    let path = format!("/api/v1/findings/{finding}");
    let before = t.get(&w.dev_member, &path).await.body;
    for who in [&w.agency_admin, &w.dev_admin, &w.evaluator2] {
        let r = t.patch(who, &path, json!({"severity": "low"})).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}: {:?}", who.name, r.body);
    }
    t.patch(&w.other_agency_admin, &path, json!({"severity": "low"}))
        .await
        .problem(404, "not-found");
    let r = t.patch(&w.evaluator, &path, json!({"severity": "bad"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    let r = t
        .patch(
            &w.evaluator,
            &path,
            json!({"severity": "critical", "title": "Worse than thought"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["version"], 2);
    assert_eq!(r.body["severity"], "critical");
    let r = t
        .patch(&w.evaluator, &path, json!({"description": "Now with steps."}))
        .await;
    assert_eq!(r.body["version"], 3);
    let history = t.get(&w.dev_member, &format!("{path}/history")).await;
    assert_eq!(history.status, StatusCode::OK);
    let items = history.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["title"], before["title"]);
    assert_eq!(items[0]["severity"], before["severity"]);
    assert_eq!(items[1]["title"], "Worse than thought");
    assert_eq!(items[2]["description"], "Now with steps.");
    assert_eq!(items[2]["current"], true);
    t.get(&w.other_agency_admin, &format!("{path}/history"))
        .await
        .problem(404, "not-found");
}

#[tokio::test]
async fn evidence_cites_gateway_calls_and_runs_the_author_may_see() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let notice = id_of(&t.file_notice(&w.dev_member, 60, &[w.agency]).await);
    t.assign(&w.agency_admin, notice, &w.evaluator).await;
    let body = |link: String| {
        json!({"title": "Cited", "domain": "cyber_offense", "severity": "high", "description": "See the call.",
               "evidence": ["https://runs.example/1", link]})
    };
    for link in [
        format!("/gateway-calls/{}", Uuid::now_v7()),
        format!("/eval-runs/{}", Uuid::now_v7()),
    ] {
        let r = t
            .post(
                &w.evaluator,
                &format!("/api/v1/notices/{notice}/findings"),
                body(link.clone()),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{link}: {:?}", r.body);
        assert!(r.body.to_string().contains("evidence[1]"), "{:?}", r.body);
    }
}

#[tokio::test]
async fn an_evaluators_draft_assessment_is_its_agencys_until_the_admin_publishes_it() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let notice = assigned_notice(&t, &w).await;
    let r = t
        .post(
            &w.evaluator,
            &format!("/api/v1/notices/{notice}/assessments"),
            json!({"levels": {"cyber_offense": "high"}, "rationale": "Draft.", "draft": true,
                   "shared_with": [w.other_agency]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["draft"], true);
    let id = id_of(&r.body);
    let path = format!("/api/v1/assessments/{id}");
    let list = format!("/api/v1/notices/{notice}/assessments");
    // (persona, reads the draft)
    for (who, sees) in [
        (&w.evaluator, true),
        (&w.evaluator2, true),
        (&w.agency_admin, true),
        (&w.dev_admin, false),
        (&w.dev_member, false),
        (&w.other_agency_admin, false),
    ] {
        assert_eq!(
            t.get(who, &path).await.status == StatusCode::OK,
            sees,
            "{} reads the draft",
            who.name
        );
        let listed = t.get(who, &list).await.body["items"].as_array().unwrap().len();
        assert_eq!(listed == 1, sees, "{} lists the draft", who.name);
    }
    let publish = format!("{path}/publish");
    for who in [&w.evaluator, &w.evaluator2] {
        let r = t.post(who, &publish, json!({})).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}: {:?}", who.name, r.body);
    }
    t.post(&w.dev_admin, &publish, json!({}))
        .await
        .problem(404, "not-found");
    t.post(&w.other_agency_admin, &publish, json!({}))
        .await
        .problem(404, "not-found");
    let r = t.post(&w.agency_admin, &publish, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["draft"], false);
    let again = t.post(&w.agency_admin, &publish, json!({})).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{:?}", again.body);
    for who in [&w.dev_admin, &w.dev_member, &w.other_agency_admin] {
        t.get(who, &path).await.ok();
    }
    t.get(&w.other_dev, &path).await.problem(404, "not-found");
}

/// The finding's page without script: each side is offered its own moves and forms (CSRF tokens on each), a
/// mistake is shown at the top naming the field's label, the author edits and the history lists both versions,
/// and the agency shares with a further agency.
#[tokio::test]
async fn the_finding_page_offers_each_side_its_moves_and_forms_without_script() {
    use crate::web::signed_in;
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let notice = id_of(
        &t.file_notice(&w.dev_member, 60, &[w.agency, w.other_agency])
            .await,
    );
    let agency = signed_in(
        &t,
        "Cyber Evaluation Agency",
        "ann@agency.example",
        "admin",
        "Ann Admin",
    )
    .await;
    let dev = signed_in(&t, "Frontier Lab", "dan@lab.example", "member", "Dan Dev").await;
    let notice_page = format!("/notices/{notice}");
    let filed = agency
        .submit(
            &notice_page,
            &format!("{notice_page}/findings"),
            &[
                ("title", "Leaks the system prompt"),
                ("domain", "cyber_offense"),
                ("severity", "medium"),
                ("description", "Asked *nicely*."),
                ("evidence", ""),
            ],
        )
        .await;
    assert_eq!(filed.status, StatusCode::SEE_OTHER, "{}", filed.body);
    let page = filed.location().to_owned();
    assert!(page.starts_with("/findings/"), "{page}");
    let action = |tail: &str| format!("{page}/{tail}");

    // The developer answers: acknowledge, mitigate, dispute; no closing, sharing or editing.
    let seen = dev.get(&page).await;
    let body = &seen.assert(200).body;
    for offered in [
        "value=\"acknowledged\"",
        "value=\"mitigated\"",
        "value=\"disputed\"",
        "id=\"response-form\"",
    ] {
        assert!(body.contains(offered), "{offered}: {body}");
    }
    for withheld in ["value=\"closed\"", "id=\"share-form\"", "/edit\""] {
        assert!(!body.contains(withheld), "{withheld}: {body}");
    }
    let blank = dev.submit(&page, &action("responses"), &[("body", "   ")]).await;
    assert_eq!(blank.status, StatusCode::UNPROCESSABLE_ENTITY);
    let summary = blank.body.find("There is a problem").expect("an error summary");
    let form = blank.body.find("id=\"response-form\"").unwrap();
    assert!(summary < form, "the summary comes before the form");
    assert!(blank.body.contains("Your response"), "{}", blank.body);
    assert!(!blank.body.contains(">body"), "{}", blank.body);
    let sent = dev
        .submit(
            &page,
            &action("responses"),
            &[("body", "Fixed in **1.1**. <script>x()</script>")],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let moved = dev
        .submit(&page, &action("status"), &[("status", "acknowledged")])
        .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.body);
    let refused = dev
        .submit(&page, &action("status"), &[("status", "closed")])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let no_token = dev.post(&action("status"), &[("status", "disputed")]).await;
    assert_eq!(
        no_token.status,
        StatusCode::FORBIDDEN,
        "a form without its CSRF token"
    );

    // The agency reads the thread (Markdown rendered, raw HTML as text) and the status; it closes or reopens.
    let seen = agency.get(&page).await;
    let body = &seen.assert(200).body;
    assert!(body.contains("<strong>1.1</strong>"), "{body}");
    assert!(!body.contains("<script>x()"), "{body}");
    assert!(body.contains("Acknowledged"), "{body}");
    for offered in [
        "value=\"closed\"",
        "value=\"open\"",
        "id=\"share-form\"",
        "Infrastructure Agency",
    ] {
        assert!(body.contains(offered), "{offered}: {body}");
    }
    assert!(!body.contains("value=\"disputed\""), "{body}");

    // The author edits; a blank title is shown at the top by its label; both versions are in the history.
    let edit = action("edit");
    let fields = |title: &'static str| {
        [
            ("title", title),
            ("domain", "cyber_offense"),
            ("severity", "high"),
            ("description", "Asked *nicely*, twice."),
            ("evidence", ""),
        ]
    };
    let blank = agency.submit(&edit, &edit, &fields(" ")).await;
    assert_eq!(blank.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        blank.body.contains("There is a problem") && blank.body.contains("Title"),
        "{}",
        blank.body
    );
    let saved = agency
        .submit(&edit, &edit, &fields("Leaks the whole system prompt"))
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(
        dev.get(&edit).await.status,
        StatusCode::FORBIDDEN,
        "only the author edits"
    );
    let body = dev.get(&page).await.body;
    assert!(
        body.contains("Version 2 (current)") && body.contains("Version 1,"),
        "{body}"
    );
    assert!(body.contains("Leaks the whole system prompt") && body.contains("Leaks the system prompt"));

    // Sharing with a further agency: it then reads the finding.
    let other = w.other_agency.to_string();
    let shared = agency
        .submit(&page, &action("share"), &[("shared_with", &other)])
        .await;
    assert_eq!(shared.status, StatusCode::SEE_OTHER, "{}", shared.body);
    assert!(agency.get(&page).await.body.contains("Also shared with"));
    let id = page.trim_start_matches("/findings/");
    let read = t.get(&w.other_evaluator, &format!("/api/v1/findings/{id}")).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert_eq!(read.body["status"], "acknowledged");
}

/// Headless Chromium: the developer responds to a finding and acknowledges it; the agency sees the response
/// and the status, and closes the finding.
#[tokio::test]
async fn browser_the_developer_responds_and_acknowledges_and_the_agency_sees_it() {
    use crate::web::{member, wait_for};
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let (_, finding) = setup(&t, &w).await;
    let developer = member(&t, "Frontier Lab", "dan@lab.example", "member", "Dan Dev").await;
    let agency = member(
        &t,
        "Cyber Evaluation Agency",
        "ann@agency.example",
        "admin",
        "Ann Admin",
    )
    .await;
    let browser = crate::browser::Browser::start().await.unwrap();
    let page = t.url(&format!("/findings/{finding}"));

    browser_sign_in(&browser, &t, "dan@lab.example").await;
    assert_eq!(developer.email, "dan@lab.example");
    browser.goto(&page).await.unwrap();
    wait_for(&browser, "h1", "Writes working exploits").await;
    wait_for(&browser, "#status", "Open").await;
    // An empty response is refused, with the summary at the top naming the label on screen.
    browser.click("#response-form button[type=submit]").await.unwrap();
    wait_for(&browser, ".error-summary", "Your response").await;
    browser
        .fill("#body", "We **reproduced** it; version 1.1 refuses.")
        .await
        .unwrap();
    browser.click("#response-form button[type=submit]").await.unwrap();
    wait_for(&browser, "#responses", "reproduced it; version 1.1 refuses.").await;
    assert!(
        browser
            .source()
            .await
            .unwrap()
            .contains("<strong>reproduced</strong>")
    );
    browser
        .click("#status-form button[value=acknowledged]")
        .await
        .unwrap();
    wait_for(&browser, "#status", "Acknowledged").await;
    assert!(
        !browser.source().await.unwrap().contains("value=\"closed\""),
        "the developer does not close"
    );
    browser.click("form[action='/logout'] button").await.unwrap();
    wait_for(&browser, "h1", "Sign in").await;

    browser_sign_in(&browser, &t, "ann@agency.example").await;
    assert_eq!(agency.email, "ann@agency.example");
    browser.goto(&page).await.unwrap();
    let thread = wait_for(&browser, "#responses", "reproduced it").await;
    assert!(thread.contains("Frontier Lab"), "{thread}");
    wait_for(&browser, "#status", "Acknowledged").await;
    browser.click("#status-form button[value=closed]").await.unwrap();
    wait_for(&browser, "#status", "Closed").await;
    browser.close().await.unwrap();

    let api = t.get(&w.dev_admin, &format!("/api/v1/findings/{finding}")).await;
    assert_eq!(api.body["status"], "closed");
    let thread = t
        .get(&w.agency_admin, &format!("/api/v1/findings/{finding}/responses"))
        .await;
    assert_eq!(
        thread.body["items"][0]["body"],
        "We **reproduced** it; version 1.1 refuses."
    );
}

async fn browser_sign_in(browser: &crate::browser::Browser, t: &TestApp, email: &str) {
    browser.goto(&t.url("/login")).await.unwrap();
    browser.fill("#email", email).await.unwrap();
    browser.fill("#password", crate::web::PASSWORD).await.unwrap();
    browser.click("main button[type=submit]").await.unwrap();
    crate::web::wait_for(browser, "h1", "Dashboard").await;
}
