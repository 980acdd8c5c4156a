//! The clearinghouse's working pages over real HTTP: duplicate suggestions (the API and the two-step form
//! without script), the triage queue, the case page's actions per persona, the vendor inbox, and the whole
//! journey in headless Chromium (with the script's live suggestions).

use crate::browser::Browser;
use crate::cases::{Report, file_report, open_case, transition};
use crate::support::*;
use crate::web::{PASSWORD, assert_accessible, member, signed_in, wait_for};
use crate::web_clearinghouse::report_form;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use uuid::Uuid;

/// The reports the coordinators may read, as ids (to show that asking stores nothing).
async fn stored_reports(t: &TestApp, w: &World) -> usize {
    let list = t.get(&w.coordinator, "/api/v1/reports?limit=200").await;
    list.ok()["items"].as_array().unwrap().len()
}

fn owned<'a>(fields: &'a [(&'a str, String)]) -> Vec<(&'a str, &'a str)> {
    fields.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// A form's fields as sent.
type Fields<'a> = Vec<(&'a str, String)>;

async fn case_of(t: &TestApp, w: &World, report: &str) -> (Uuid, String) {
    let r = t.get(&w.coordinator, &format!("/api/v1/reports/{report}")).await;
    let case: Uuid = r.ok()["case_id"].as_str().unwrap().parse().unwrap();
    (case, reference(t, w, case).await)
}

async fn reference(t: &TestApp, w: &World, case: Uuid) -> String {
    let c = t.get(&w.coordinator, &format!("/api/v1/cases/{case}")).await;
    c.ok()["reference"].as_str().unwrap().to_owned()
}

async fn state(t: &TestApp, w: &World, case: Uuid) -> String {
    let c = t.get(&w.coordinator, &format!("/api/v1/cases/{case}")).await;
    c.ok()["state"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn without_script_the_form_shows_possible_duplicates_before_it_files() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let web = signed_in(&t, "Frontier Lab", "ada@lab.example", "member", "Ada").await;
    // No candidate: filed at once.
    let first = web.submit("/reports/new", "/reports", &report_form()).await;
    first.assert(303);
    let first = first.location().to_owned();
    assert_eq!(stored_reports(&t, &w).await, 1);

    // A repeat: the possible duplicates first, the form's values kept, nothing stored.
    let shown = web.submit("/reports/new", "/reports", &report_form()).await;
    shown.assert(200);
    assert_accessible("/reports", &shown.body);
    for part in [
        "<h1>Possible duplicates</h1>",
        &format!("href=\"{first}\""),
        "Heap overflow in the request parser</a>",
        "(similarity 100%, case PLC-2027-",
        "name=\"title\" value=\"Heap overflow in the request parser\"",
        "name=\"versions\" value=\"&#62;=1.2.0, &#60;1.4.3\"",
        "File anyway",
    ] {
        assert!(shown.body.contains(part), "{part} missing:\n{}", shown.body);
    }
    assert_eq!(stored_reports(&t, &w).await, 1, "asking stored a report");

    // "Change the report": the form again, filled in.
    let mut edit = vec![("csrf", shown.csrf()), ("edit", "true".to_owned())];
    edit.extend(report_form().iter().map(|(k, v)| (*k, (*v).to_owned())));
    let form = web.post("/reports", &owned(&edit)).await;
    form.assert(200);
    assert!(form.body.contains("id=\"report-form\""), "{}", form.body);
    assert!(form.body.contains("value=\"pkg:npm/acme/router@1.2.0\""));
    assert_eq!(stored_reports(&t, &w).await, 1);

    // "File anyway": filed, and its page names the report it repeats.
    let mut confirm = vec![("csrf", shown.csrf()), ("file_anyway", "true".to_owned())];
    confirm.extend(report_form().iter().map(|(k, v)| (*k, (*v).to_owned())));
    let filed = web.post("/reports", &owned(&confirm)).await;
    filed.assert(303);
    assert_ne!(filed.location(), first);
    assert_eq!(stored_reports(&t, &w).await, 2);
    let page = web.get(filed.location()).await;
    assert!(page.body.contains(&format!("href=\"{first}\"")), "{}", page.body);

    // Without the form's CSRF token nothing happens.
    let forged = web.post("/reports", &report_form()).await;
    forged.assert(403);
    assert_eq!(stored_reports(&t, &w).await, 2);
}

/// A report of its own product and words per marking, so that each is the candidate of its own query only.
fn marked_report(i: usize, tlp: &str, people: &[Uuid]) -> Value {
    let mut body = json!({
        "kind": "vulnerability",
        "title": format!("Use after free in tree walker {i}"),
        "description": format!("Node {i} is freed in prune_{i} and then read again by walk_{i} in module {i}."),
        "tlp": tlp,
        "affected": [{"purl": format!("pkg:npm/acme/tree-{i}"), "versions": "*"}],
        "location": format!("tree{i}.c:walk_{i}"),
    });
    if !people.is_empty() {
        body["people"] = json!(people);
    }
    body
}

#[tokio::test]
async fn suggestions_never_name_a_report_outside_the_callers_marking() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let markings = ["clear", "green", "amber", "amber+strict", "red"];
    let mut ids = Vec::new();
    let mut cases = Vec::new();
    for (i, tlp) in markings.iter().enumerate() {
        let people = if *tlp == "red" {
            vec![w.dev_member.user_id]
        } else {
            Vec::new()
        };
        let filed = t
            .post(&w.dev_member, "/api/v1/reports", marked_report(i, tlp, &people))
            .await;
        assert_eq!(filed.status, 201, "{}", filed.body);
        ids.push(filed.body["id"].as_str().unwrap().to_owned());
        cases.push(filed.body["case_id"].as_str().unwrap().to_owned());
    }
    let before = stored_reports(&t, &w).await;

    // Columns: clear green amber amber+strict red. The cases are under embargo: only the reporter's
    // organisation and the coordinators read them, and a RED report only the people it names.
    let table: [(&str, &Persona, &str); 6] = [
        ("the reporter", &w.dev_member, "+ + + + +"),
        ("the reporter's organisation", &w.dev_admin, "+ + + + -"),
        ("a coordinator", &w.coordinator, "+ + + + -"),
        ("another developer", &w.other_dev, "- - - - -"),
        ("a vendor", &w.vendor, "- - - - -"),
        ("an operator", &w.operator, "- - - - -"),
    ];
    for (name, who, expect) in table {
        let expect: Vec<bool> = expect.split_whitespace().map(|c| c == "+").collect();
        let admitted: BTreeSet<&str> = ids
            .iter()
            .zip(&expect)
            .filter(|(_, e)| **e)
            .map(|(id, _)| id.as_str())
            .collect();
        for (i, tlp) in markings.iter().enumerate() {
            // The query itself is marked AMBER (a RED one must name people of the asker's choosing).
            let mut body = marked_report(i, tlp, &[]);
            body["tlp"] = json!("amber");
            let reply = t.post(who, "/api/v1/reports/candidates", body).await;
            assert_eq!(reply.status, 200, "{name}, {tlp}: {}", reply.body);
            let listed: Vec<&str> = reply.body["duplicates"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["report_id"].as_str().unwrap())
                .collect();
            assert_eq!(
                listed.contains(&ids[i].as_str()),
                expect[i],
                "{name} asking about the {tlp} report: {}",
                reply.body
            );
            for id in &listed {
                assert!(admitted.contains(id), "{name} was shown {id}: {}", reply.body);
            }
            if expect[i] {
                let top = &reply.body["duplicates"][0];
                assert_eq!(top["report_id"], json!(ids[i]), "{name}: {}", reply.body);
                assert!(top["score"].as_f64().unwrap() >= 0.85, "{}", reply.body);
                assert_eq!(top["title"], json!(format!("Use after free in tree walker {i}")));
            }
        }
    }
    assert_eq!(stored_reports(&t, &w).await, before, "asking stored a report");

    // Once the CLEAR case is published, everyone signed in is shown the CLEAR report.
    let clear_case: Uuid = cases[0].parse().unwrap();
    for to in ["triaged", "vendors_notified", "published"] {
        transition(&t, &w.coordinator, clear_case, to).await.ok();
    }
    for who in [&w.other_dev, &w.vendor, &w.operator] {
        let mut body = marked_report(0, "clear", &[]);
        body["tlp"] = json!("green");
        let reply = t.post(who, "/api/v1/reports/candidates", body).await;
        let listed = reply.ok()["duplicates"].as_array().unwrap().clone();
        assert_eq!(listed.len(), 1, "{}: {}", who.name, reply.body);
        assert_eq!(listed[0]["report_id"], json!(ids[0]));
    }

    // No credential, no answer; a bad field is named; nothing stored either way.
    let anonymous = t
        .call(
            Method::POST,
            "/api/v1/reports/candidates",
            None,
            Some(marked_report(0, "clear", &[])),
        )
        .await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    let mut bad = marked_report(0, "clear", &[]);
    bad["affected"] = json!([{"purl": "npm:acme", "versions": "*"}]);
    let reply = t.post(&w.dev_member, "/api/v1/reports/candidates", bad).await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    assert!(reply.body["field"].as_str().unwrap().starts_with("affected"));
}

#[tokio::test]
async fn triage_decisions_need_a_coordinator_a_csrf_token_and_a_confirmation() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    // Repeats open their own case (for triage) rather than join.
    t.put(
        &w.program_admin,
        "/api/v1/policy",
        json!({"dedup_join_threshold": 1.0}),
    )
    .await
    .ok();
    let first = t
        .post(&w.dev_member, "/api/v1/reports", marked_report(1, "amber", &[]))
        .await;
    let first_id = first.ok()["id"].as_str().unwrap().to_owned();
    let mut repeat = marked_report(1, "amber", &[]);
    repeat["description"] = json!("Node 1 is freed in prune_1 and read again by walk_1 in module 1 later.");
    let second = t.post(&w.dev_member, "/api/v1/reports", repeat).await;
    assert_eq!(second.status, 201, "{}", second.body);
    let second_id = second.body["id"].as_str().unwrap().to_owned();
    let (case_a, ref_a) = case_of(&t, &w, &first_id).await;
    let (case_b, ref_b) = case_of(&t, &w, &second_id).await;
    assert_ne!(case_a, case_b, "{}", second.body);

    let cora = signed_in(
        &t,
        "Clearinghouse",
        "cora@clearinghouse.example",
        "member",
        "Cora",
    )
    .await;
    let queue = cora.get("/triage").await;
    queue.assert(200);
    assert_accessible("/triage", &queue.body);
    for part in [
        ref_a.as_str(),
        ref_b.as_str(),
        &format!("Duplicate: merge into {ref_a}"),
        "href=\"/triage\" aria-current=\"page\"",
        "Keep as its own case",
    ] {
        assert!(queue.body.contains(part), "{part} missing:\n{}", queue.body);
    }

    // Anyone else signed in: refused with the reason, as the API refuses them, not offered in the menu, and
    // no decision.
    let ada = signed_in(&t, "Frontier Lab", "ada@lab.example", "member", "Ada").await;
    let refused = ada.get("/triage").await;
    refused.assert(403);
    assert!(
        refused.body.contains("Only coordinators triage cases"),
        "{}",
        refused.body
    );
    let token = t.app.provision_token("ada@lab.example", None).await.unwrap();
    let api = t
        .call(Method::GET, "/api/v1/triage", Some(token.expose()), None)
        .await;
    assert_eq!(api.status.as_u16(), 403, "the API agrees: {}", api.body);
    assert!(!ada.get("/").await.body.contains("href=\"/triage\""));
    let merge = [("decision", "merge".to_owned()), ("into", case_a.to_string())];
    let csrf = ada.get("/reports/new").await.csrf();
    let mut fields = vec![("csrf", csrf)];
    fields.extend(merge.iter().cloned());
    ada.post(&format!("/triage/{case_b}"), &owned(&fields))
        .await
        .assert(403);
    // Not even whether the case exists: a nonexistent one is refused the same way.
    ada.post(&format!("/triage/{}", Uuid::now_v7()), &owned(&fields))
        .await
        .assert(403);

    // A coordinator without the form's token: refused before anything happens.
    cora.post(&format!("/triage/{case_b}"), &owned(&merge))
        .await
        .assert(403);
    // With it: first the confirmation, then the merge.
    let mut fields = vec![("csrf", queue.csrf())];
    fields.extend(merge.iter().cloned());
    let ask = cora.post(&format!("/triage/{case_b}"), &owned(&fields)).await;
    ask.assert(200);
    assert!(
        ask.body.contains(&format!("Merge {ref_b} into {ref_a}?")),
        "{}",
        ask.body
    );
    assert!(ask.body.contains("name=\"confirm\" value=\"yes\""));
    assert_eq!(state(&t, &w, case_b).await, "new");
    fields.push(("confirm", "yes".to_owned()));
    let done = cora.post(&format!("/triage/{case_b}"), &owned(&fields)).await;
    done.assert(303);
    assert_eq!(done.location(), "/triage");
    assert_eq!(state(&t, &w, case_b).await, "duplicate");

    // Keeping a case as its own triages it.
    let keep = [
        ("csrf", queue.csrf()),
        ("decision", "keep".to_owned()),
        ("confirm", "yes".to_owned()),
    ];
    cora.post(&format!("/triage/{case_a}"), &owned(&keep))
        .await
        .assert(303);
    assert_eq!(state(&t, &w, case_a).await, "triaged");
    assert!(cora.get("/triage").await.body.contains("No case is waiting"));
}

#[tokio::test]
async fn case_actions_are_offered_and_allowed_by_role() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let second_vendor = t.org("vendor", "Second Vendor").await;
    let case = open_case(&t, &w.coordinator, "amber", &[w.vendor.org_id]).await;
    let other = open_case(&t, &w.coordinator, "amber", &[]).await;
    let report = file_report(&t, &Report::new(case, &w.dev_admin, t.clock_now())).await;
    file_report(&t, &Report::new(case, &w.dev_admin, t.clock_now())).await;
    for to in ["triaged", "vendors_notified"] {
        transition(&t, &w.coordinator, case, to).await.ok();
    }
    let path = format!("/cases/{case}");
    let bo = signed_in(&t, "Other Lab", "bo@other.example", "member", "Bo").await;
    let val = signed_in(&t, "Router Vendor", "val@vendor.example", "member", "Val").await;
    let cora = signed_in(
        &t,
        "Clearinghouse",
        "cora@clearinghouse.example",
        "member",
        "Cora",
    )
    .await;

    // What each sees: the forms of what their role may do, the countdown from the test clock.
    let page = cora.get(&path).await;
    page.assert(200);
    assert_accessible(&path, &page.body);
    for part in [
        "id=\"transition-form\"",
        "id=\"embargo-form\"",
        "id=\"participant-form\"",
        "id=\"merge-form\"",
        "id=\"split-form\"",
        "id=\"status-form\"",
        "id=\"post-form\"",
        "publishes in 90 days",
        ">Fix in progress<",
        ">Second Vendor<",
    ] {
        assert!(
            page.body.contains(part),
            "{part} missing for a coordinator:\n{}",
            page.body
        );
    }
    let page = val.get(&path).await;
    page.assert(200);
    assert_accessible(&path, &page.body);
    for part in [
        "id=\"status-form\"",
        "id=\"post-form\"",
        ">Fixed<",
        "publishes in 90 days",
    ] {
        assert!(
            page.body.contains(part),
            "{part} missing for the vendor:\n{}",
            page.body
        );
    }
    for part in [
        "transition-form",
        "embargo-form",
        "participant-form",
        "merge-form",
        "split-form",
    ] {
        assert!(!page.body.contains(part), "{part} offered to the vendor");
    }
    bo.get(&path).await.assert(404);

    let embargo = (t.clock_now() + chrono::Duration::days(120))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    // action, fields, then the answer to: someone the marking does not admit, the vendor, a coordinator.
    let table: Vec<(&str, Fields, [u16; 3])> = vec![
        (
            "posts",
            vec![("body", "Is a fix planned?".into())],
            [404, 303, 303],
        ),
        (
            "status",
            vec![
                ("vendor", w.vendor.org_id.to_string()),
                ("report_id", report.to_string()),
                ("status", "affected".into()),
                ("statement", "We reproduce it on 1.3.0.".into()),
            ],
            [404, 303, 303],
        ),
        (
            "transition",
            vec![
                ("to", "fix_in_progress".into()),
                ("reason", "the vendor works on it".into()),
            ],
            [404, 403, 303],
        ),
        (
            "participants",
            vec![("org_id", second_vendor.to_string())],
            [404, 403, 303],
        ),
        (
            "embargo",
            vec![
                ("embargo_ends_at", embargo),
                ("reason", "the vendor needs a release".into()),
            ],
            [404, 403, 303],
        ),
        // Merging and splitting first ask a coordinator to confirm.
        ("merge", vec![("into", other.to_string())], [404, 403, 200]),
        ("split", vec![("reports", report.to_string())], [404, 403, 200]),
    ];
    for (action, fields, expect) in table {
        for (who, name, status) in [
            (&bo, "outsider", expect[0]),
            (&val, "vendor", expect[1]),
            (&cora, "coordinator", expect[2]),
        ] {
            let reply = who
                .submit("/reports/new", &format!("{path}/{action}"), &owned(&fields))
                .await;
            assert_eq!(
                reply.status.as_u16(),
                status,
                "{action} by the {name}: {}",
                reply.body
            );
        }
    }
    let page = cora.get(&path).await;
    for part in [
        "id=\"case-state\">Fix in progress<",
        "publishes in 120 days",
        "Is a fix planned?",
        "We reproduce it on 1.3.0.",
        ">Affected<",
    ] {
        assert!(
            page.body.contains(part),
            "{part} missing after the actions:\n{}",
            page.body
        );
    }
    for raw in ["fix_in_progress<", ">affected<", "vendors_notified"] {
        assert!(!page.body.contains(raw), "{raw} shown:\n{}", page.body);
    }

    // A reply names its post; a bad date is shown on its field with the reason kept.
    let post = page.input_value("name=\"reply_to\"");
    let reply = cora
        .submit(
            "/reports/new",
            &format!("{path}/posts"),
            &[("body", "Yes, in 1.4.3."), ("reply_to", &post)],
        )
        .await;
    reply.assert(303);
    assert!(cora.get(&path).await.body.contains("(reply)"));
    let bad = cora
        .submit(
            "/reports/new",
            &format!("{path}/embargo"),
            &[("embargo_ends_at", "2026-01-01T00:00"), ("reason", "backdated")],
        )
        .await;
    bad.assert_form_error("embargo-embargo_ends_at", "backdated");

    // The confirmed merge closes the case as a duplicate.
    let confirmed = cora
        .submit(
            "/reports/new",
            &format!("{path}/merge"),
            &[("into", &other.to_string()), ("confirm", "yes")],
        )
        .await;
    confirmed.assert(303);
    assert_eq!(confirmed.location(), format!("/cases/{other}"));
    assert_eq!(state(&t, &w, case).await, "duplicate");
}

#[tokio::test]
async fn the_vendor_inbox_lists_only_the_vendors_readable_cases() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let second = t.org("vendor", "Second Vendor").await;
    let notified = open_case(&t, &w.coordinator, "amber", &[w.vendor.org_id]).await;
    let report = file_report(&t, &Report::new(notified, &w.dev_admin, t.clock_now())).await;
    let not_yet = open_case(&t, &w.coordinator, "amber", &[w.vendor.org_id]).await;
    let others = open_case(&t, &w.coordinator, "amber", &[second]).await;
    file_report(&t, &Report::new(others, &w.dev_admin, t.clock_now())).await;
    for case in [notified, others] {
        for to in ["triaged", "vendors_notified"] {
            transition(&t, &w.coordinator, case, to).await.ok();
        }
    }
    let (r_notified, r_not_yet, r_others) = (
        reference(&t, &w, notified).await,
        reference(&t, &w, not_yet).await,
        reference(&t, &w, others).await,
    );

    let val = signed_in(&t, "Router Vendor", "val@vendor.example", "member", "Val").await;
    let inbox = val.get("/inbox").await;
    inbox.assert(200);
    assert_accessible("/inbox", &inbox.body);
    assert!(
        inbox.body.contains(&format!(">{r_notified}</a>")),
        "{}",
        inbox.body
    );
    assert!(inbox.body.contains("Not stated yet"));
    assert!(inbox.body.contains("Vendors notified"));
    assert!(inbox.body.contains("href=\"/inbox\" aria-current=\"page\""));
    for hidden in [&r_not_yet, &r_others] {
        assert!(
            !inbox.body.contains(&format!(">{hidden}<")),
            "{hidden} listed:\n{}",
            inbox.body
        );
    }

    val.submit(
        "/inbox",
        &format!("/cases/{notified}/status"),
        &[
            ("vendor", &w.vendor.org_id.to_string()),
            ("report_id", &report.to_string()),
            ("status", "fixed"),
            ("statement", "Fixed in 1.4.3."),
        ],
    )
    .await
    .assert(303);
    let inbox = val.get("/inbox").await;
    assert!(inbox.body.contains(">Stated<"), "{}", inbox.body);
    assert!(!inbox.body.contains("Not stated yet"));

    let sam = signed_in(&t, "Second Vendor", "sam@second.example", "member", "Sam").await;
    let inbox = sam.get("/inbox").await;
    assert!(inbox.body.contains(&format!(">{r_others}</a>")), "{}", inbox.body);
    assert!(!inbox.body.contains(&format!(">{r_notified}<")));

    let ada = signed_in(&t, "Frontier Lab", "ada@lab.example", "member", "Ada").await;
    ada.get("/inbox").await.assert(404);
    assert!(!ada.get("/").await.body.contains("href=\"/inbox\""));
}

async fn sign_in(browser: &Browser, t: &TestApp, email: &str) {
    browser.goto(&t.url("/login")).await.unwrap();
    browser.fill("#email", email).await.unwrap();
    browser.fill("#password", PASSWORD).await.unwrap();
    browser.click("main button[type=submit]").await.unwrap();
    wait_for(browser, "header", "Sign out").await;
}

async fn sign_out(browser: &Browser) {
    browser.click("form[action='/logout'] button").await.unwrap();
    wait_for(browser, "h1", "Sign in").await;
}

async fn fill_report(browser: &Browser) {
    browser
        .fill("#title", "Heap overflow in the request parser")
        .await
        .unwrap();
    browser.set_value("#tlp", "clear").await.unwrap();
    browser
        .fill("#product", "pkg:npm/acme/router@1.2.0")
        .await
        .unwrap();
    browser.fill("#versions", ">=1.2.0, <1.4.3").await.unwrap();
    browser.fill("#cwe", "CWE-787").await.unwrap();
    browser
        .fill(
            "#description",
            "A long header overflows a fixed buffer in parse_header.",
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn browser_journey_from_report_to_public_advisory() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let ada = member(&t, "Frontier Lab", "ada@lab.example", "member", "Ada").await;
    member(
        &t,
        "Clearinghouse",
        "cora@clearinghouse.example",
        "member",
        "Cora",
    )
    .await;
    member(&t, "Router Vendor", "val@vendor.example", "member", "Val").await;
    let browser = Browser::start().await.unwrap();

    // A finder files a report, then starts a near-duplicate and sees the suggestion appear as they type.
    sign_in(&browser, &t, &ada.email).await;
    browser.goto(&t.url("/reports/new")).await.unwrap();
    fill_report(&browser).await;
    browser.click("#report-form button[type=submit]").await.unwrap();
    wait_for(&browser, "h1", "Heap overflow in the request parser").await;
    let first = browser.current_url().await.unwrap();
    let report_id = first.rsplit('/').next().unwrap().to_owned();

    browser.goto(&t.url("/reports/new")).await.unwrap();
    fill_report(&browser).await;
    let live = wait_for(&browser, "#live-duplicates", "Possible duplicates").await;
    assert!(live.contains("Heap overflow in the request parser"), "{live}");
    assert!(live.contains("similarity 100%"), "{live}");
    assert_eq!(stored_reports(&t, &w).await, 1, "suggesting stored a report");
    sign_out(&browser).await;

    // A coordinator triages the case, adds the vendor and notifies it.
    let (case, reference) = case_of(&t, &w, &report_id).await;
    sign_in(&browser, &t, "cora@clearinghouse.example").await;
    browser.goto(&t.url("/triage")).await.unwrap();
    wait_for(&browser, "main", &reference).await;
    browser
        .click(&format!(
            "form[action='/triage/{case}'] input[value=keep] ~ button"
        ))
        .await
        .unwrap();
    wait_for(&browser, "h1", &format!("Keep {reference} as its own case?")).await;
    browser.click("main form button[type=submit]").await.unwrap();
    wait_for(&browser, "h1", "Triage").await;
    browser.goto(&t.url(&format!("/cases/{case}"))).await.unwrap();
    wait_for(&browser, "#case-state", "Triaged").await;
    browser
        .set_value("#participant-org_id", &w.vendor.org_id.to_string())
        .await
        .unwrap();
    browser.click("#participant-form button").await.unwrap();
    wait_for(&browser, "main", "Router Vendor").await;
    browser
        .set_value("#transition-to", "vendors_notified")
        .await
        .unwrap();
    browser.click("#transition-form button").await.unwrap();
    wait_for(&browser, "#case-state", "Vendors notified").await;
    sign_out(&browser).await;

    // The vendor finds the case in its inbox and states that it is fixed.
    sign_in(&browser, &t, "val@vendor.example").await;
    browser.goto(&t.url("/inbox")).await.unwrap();
    wait_for(&browser, "#inbox", "Not stated yet").await;
    browser
        .click(&format!("#inbox a[href='/cases/{case}']"))
        .await
        .unwrap();
    wait_for(&browser, "h1", "Heap overflow in the request parser").await;
    browser.set_value("#status-status", "fixed").await.unwrap();
    browser
        .fill("#status-statement", "Fixed in 1.4.3.")
        .await
        .unwrap();
    browser.click("#status-form button").await.unwrap();
    wait_for(&browser, "main", "Fixed in 1.4.3.").await;
    sign_out(&browser).await;

    // The coordinator publishes (confirming first).
    sign_in(&browser, &t, "cora@clearinghouse.example").await;
    browser.goto(&t.url(&format!("/cases/{case}"))).await.unwrap();
    wait_for(&browser, "#case-state", "Vendors notified").await;
    browser.set_value("#transition-to", "published").await.unwrap();
    browser.click("#transition-form button").await.unwrap();
    wait_for(&browser, "h1", &format!("Publish the case {reference}?")).await;
    browser.click("main form button[type=submit]").await.unwrap();
    wait_for(&browser, "#case-state", "Published").await;
    sign_out(&browser).await;

    // The public, not signed in, reads the advisory.
    browser.goto(&t.url("/advisories")).await.unwrap();
    wait_for(&browser, "main", "Heap overflow in the request parser").await;
    browser.click("main a[href^='/advisories/']").await.unwrap();
    let advisory = wait_for(&browser, "main", "Heap overflow in the request parser").await;
    assert!(advisory.contains("TLP:CLEAR"), "{advisory}");
    std::fs::write(
        "/tmp/prelaunch-clearinghouse-advisory.png",
        browser.screenshot_png().await.unwrap(),
    )
    .unwrap();
    browser.close().await.unwrap();
}
