//! The ledger and audit pages for people: actions by their names on screen, objects by their titles where the
//! viewer may see the object (else the kind's generic name), receipts as `*.tlog-proof` files, and the growth
//! chart with labelled axes.

use crate::accessibility::world;
use crate::browser::Browser;
use crate::support::*;
use crate::web::{Member, PASSWORD, Web, wait_for};
use serde_json::json;
use uuid::Uuid;

const FINDING_TITLE: &str = "Writes working exploits for known CVEs";

async fn web_as(t: &TestApp, who: &Persona) -> Web {
    Web::sign_in(
        t,
        &Member {
            email: who.email.clone(),
        },
    )
    .await
}

/// A notice shared with the agency, its evaluator assigned, a finding of theirs, and two signed checkpoints.
async fn scene(t: &TestApp, w: &World) -> (Uuid, Uuid) {
    let notice = id_of(&t.file_notice(&w.dev_admin, 40, &[w.agency]).await);
    t.assign(&w.agency_admin, notice, &w.evaluator).await;
    let finding = id_of(&t.file_finding(&w.evaluator, notice, &[]).await);
    for _ in 0..2 {
        t.post(&w.program_admin, "/api/v1/ledger/checkpoints", json!({}))
            .await
            .ok();
    }
    (notice, finding)
}

#[tokio::test]
async fn the_audit_trail_names_actions_and_shows_titles_only_of_what_the_admin_may_see() {
    let t = spawn_app().await;
    let w = world(&t).await;
    let (notice, finding) = scene(&t, &w).await;
    let admin = web_as(&t, &w.program_admin).await;
    let page = admin.get("/audit").await;
    page.assert(200);
    for name in ["Notice filed", "Evaluator assigned", "Finding filed"] {
        assert!(
            page.body.contains(&format!("<td>{name}</td>")),
            "{name}: {}",
            page.body
        );
    }
    for code in ["notice.file", "finding.file", "assignment.create"] {
        assert!(!page.body.contains(&format!(">{code}<")), "{code} shown as code");
    }
    // Organisations are named; the program administrator reads no finding, so it stays "A finding".
    let orgs = admin.get("/audit?object_type=organization").await;
    assert!(
        orgs.body.contains("<td>Organisation created</td>"),
        "{}",
        orgs.body
    );
    assert!(orgs.body.contains("Cyber Evaluation Agency</a>"), "{}", orgs.body);
    assert!(!page.body.contains(FINDING_TITLE), "{}", page.body);
    assert!(page.body.contains(">A finding<"), "{}", page.body);
    assert!(!page.body.contains(&format!("finding {finding}")));
    // The title follows what the viewer may read of the notice, as its own page does.
    let notice_page = admin.get(&format!("/notices/{notice}")).await;
    let titled = page.body.contains("Notice of Orion 1.0");
    assert_eq!(titled, notice_page.status == 200, "{}", page.body);
    assert_eq!(!titled, page.body.contains(">A notice<"));
    // Someone else is refused the whole trail.
    web_as(&t, &w.dev_admin).await.get("/audit").await.assert(403);
}

#[tokio::test]
async fn an_objects_ledger_page_names_it_and_its_events_for_those_who_may_see_it() {
    let t = spawn_app().await;
    let w = world(&t).await;
    let (notice, finding) = scene(&t, &w).await;
    // (who, object, expected status, title shown)
    let notice_path = format!("/ledger/objects/{notice}");
    let finding_path = format!("/ledger/objects/{finding}");
    let cases: &[(&Persona, &str, u16, &str)] = &[
        (&w.dev_admin, &notice_path, 200, "Notice of Orion 1.0"),
        (&w.evaluator, &notice_path, 200, "Notice of Orion 1.0"),
        (&w.evaluator, &finding_path, 200, FINDING_TITLE),
        (&w.agency_admin, &finding_path, 200, FINDING_TITLE),
        (&w.other_evaluator, &finding_path, 404, ""),
        (&w.other_dev, &notice_path, 404, ""),
    ];
    for (who, path, status, title) in cases {
        let page = web_as(&t, who).await.get(path).await;
        assert_eq!(
            page.status.as_u16(),
            *status,
            "{} {path}: {}",
            who.name,
            page.body
        );
        if *status == 200 {
            assert!(page.body.contains(title), "{} {path}: {}", who.name, page.body);
            assert!(
                !page.body.contains(&format!("<code>{}", &path[16..])),
                "{}",
                page.body
            );
        }
    }
    let page = web_as(&t, &w.dev_admin).await.get(&notice_path).await;
    assert!(page.body.contains("<td>Notice filed</td>"), "{}", page.body);
    assert!(
        page.body.contains(&format!("href=\"/notices/{notice}\"")),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn a_receipt_downloads_as_a_tlog_proof_file_for_those_who_may_see_the_event() {
    let t = spawn_app().await;
    let w = world(&t).await;
    let (notice, _) = scene(&t, &w).await;
    let event = t
        .audit_after(0)
        .await
        .into_iter()
        .find(|e| e.action == "notice.file" && e.object_id == Some(notice))
        .unwrap()
        .id;
    let dev = web_as(&t, &w.dev_admin).await;
    let shown = dev.get(&format!("/ledger/events/{event}")).await;
    shown.assert(200);
    let href = format!("/ledger/events/{event}/receipt");
    assert!(shown.body.contains(&format!("href=\"{href}\"")), "{}", shown.body);
    let file = dev.get(&href).await;
    file.assert(200);
    let disposition = file.headers["content-disposition"].to_str().unwrap();
    assert_eq!(
        disposition,
        format!("attachment; filename=\"event-{event}.tlog-proof\"")
    );
    // The same file as the API's, which names it the same way.
    let api = t
        .client
        .get(t.url(&format!("/api/v1/audit/{event}/receipt")))
        .bearer_auth(&w.dev_admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        api.headers()["content-disposition"].to_str().unwrap(),
        disposition
    );
    assert_eq!(api.text().await.unwrap(), file.body);
    // Not for someone the event is not about, nor for no one.
    web_as(&t, &w.other_dev).await.get(&href).await.assert(404);
    assert_eq!(Web::new(&t).get(&href).await.status.as_u16(), 303);
    dev.get(&format!("/ledger/events/{}/receipt", Uuid::nil()))
        .await
        .assert(404);
}

#[tokio::test]
async fn browser_the_growth_chart_has_labelled_axes_and_actions_read_as_words() {
    let t = spawn_app().await;
    let w = world(&t).await;
    let (notice, _) = scene(&t, &w).await;
    let browser = Browser::start().await.unwrap();
    browser.goto(&t.url("/login")).await.unwrap();
    browser.fill("#email", &w.dev_admin.email).await.unwrap();
    browser.fill("#password", PASSWORD).await.unwrap();
    browser.click("main button[type=submit]").await.unwrap();
    wait_for(&browser, "header", "Sign out").await;
    browser.goto(&t.url("/ledger")).await.unwrap();
    let chart = wait_for(&browser, "svg.chart", "Entries").await;
    assert!(chart.contains("When the checkpoint was signed"), "{chart}");
    assert!(chart.contains("UTC"), "{chart}");
    browser
        .goto(&t.url(&format!("/ledger/objects/{notice}")))
        .await
        .unwrap();
    wait_for(&browser, "main", "Notice of Orion 1.0").await;
    wait_for(&browser, "main table", "Notice filed").await;
    browser.close().await.unwrap();
}

/// The `#` column of the audit page's rows, top to bottom.
fn seqs(body: &str) -> Vec<i64> {
    body.split("<tr><td>")
        .skip(1)
        .filter_map(|row| row.split("</td>").next()?.parse().ok())
        .collect()
}

#[tokio::test]
async fn the_audit_trail_is_newest_first_and_filters_by_action_person_kind_and_dates() {
    let t = spawn_app().await;
    let w = world(&t).await;
    scene(&t, &w).await;
    let admin = web_as(&t, &w.program_admin).await;
    let all = admin.get("/audit").await;
    all.assert(200);
    let order = seqs(&all.body);
    assert!(order.len() > 10, "{}", all.body);
    assert!(order.windows(2).all(|p| p[0] > p[1]), "newest first: {order:?}");
    let today = t.clock_now().date_naive();
    let (yesterday, tomorrow) = (today.pred_opt().unwrap(), today.succ_opt().unwrap());
    // (query, expected status, a name every row shows or the message shown)
    let cases: Vec<(String, u16, &str)> = vec![
        ("action=finding.file".into(), 200, "Finding filed"),
        ("action=assignment.create".into(), 200, "Evaluator assigned"),
        ("object_type=finding".into(), 200, "A finding"),
        (
            format!("actor={}", w.agency_admin.email),
            200,
            "admin@agency.example",
        ),
        (
            format!("from={today}&until={today}&action=notice.file"),
            200,
            "Notice filed",
        ),
        (format!("from={tomorrow}"), 200, "No events match."),
        (format!("until={yesterday}"), 200, "No events match."),
        (
            "action=notice.forged".into(),
            422,
            "Action: choose an action from the list",
        ),
        (
            "object_type=spaceship".into(),
            422,
            "Kind of object: choose a kind of object from the list",
        ),
        (
            "actor=nobody@nowhere.example".into(),
            422,
            "no one has this e-mail address",
        ),
        (
            "from=15/02/2027".into(),
            422,
            "From (UTC): enter a date as year-month-day",
        ),
        (
            format!("from={today}&until={yesterday}"),
            422,
            "Until (UTC): must not be before the first day",
        ),
        ("cursor=!!".into(), 422, ""),
    ];
    for (query, status, shown) in &cases {
        let page = admin.get(&format!("/audit?{query}")).await;
        assert_eq!(page.status.as_u16(), *status, "{query}: {}", page.body);
        assert!(page.body.contains(shown), "{query}: {shown}: {}", page.body);
        if *status == 200 && !shown.starts_with("No events") {
            let rows = page.body.split("<tr><td>").skip(1).count();
            assert!(rows >= 1, "{query}");
            for row in page.body.split("<tr><td>").skip(1) {
                assert!(row.contains(shown), "{query}: a row without {shown}: {row}");
            }
        }
        if *status == 422 && !shown.is_empty() {
            assert!(page.body.contains("error-summary"), "{query}");
            for code in ["object_type", "notice.forged"] {
                assert!(!page.body.contains(&format!(">{code}")), "{query}: {code}");
            }
        }
    }
    // The filters stay on the next page's link.
    for _ in 0..60 {
        t.post(&w.dev_admin, "/api/v1/tokens", json!({"name": "t"}))
            .await
            .ok();
    }
    let page = admin.get("/audit?action=token.create").await;
    let next = page
        .body
        .split("class=\"pager-next\" href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .replace("&amp;", "&");
    assert!(next.contains("action=token.create"), "{next}");
    let second = admin.get(&next).await;
    second.assert(200);
    let (first_seqs, second_seqs) = (seqs(&page.body), seqs(&second.body));
    assert!(
        first_seqs.last() > second_seqs.first(),
        "{first_seqs:?} {second_seqs:?}"
    );
    assert_eq!(first_seqs.len(), 50, "a full page");
    assert!(!second_seqs.is_empty());
}

#[tokio::test]
async fn the_audit_trail_exports_as_csv_with_its_filters_and_no_cell_a_spreadsheet_would_run() {
    let t = spawn_app().await;
    let w = world(&t).await;
    scene(&t, &w).await;
    // Organisations named like formulas: the export names each by its title.
    let formulas = ["=HYPERLINK(\"http://evil.example\")", "+1", "-1", "@SUM(A1)"];
    for name in formulas {
        t.org("vendor", name).await;
    }
    t.org("vendor", "Plain Vendor").await;
    let admin = web_as(&t, &w.program_admin).await;
    let page = admin.get("/audit").await;
    assert!(page.body.contains("formaction=\"/audit.csv\""), "{}", page.body);
    let csv = admin.get("/audit.csv?action=organization.create").await;
    csv.assert(200);
    assert_eq!(
        csv.headers["content-type"].to_str().unwrap(),
        "text/csv; charset=utf-8"
    );
    assert_eq!(
        csv.headers["content-disposition"].to_str().unwrap(),
        "attachment; filename=\"audit-trail.csv\""
    );
    let lines: Vec<&str> = csv.body.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines[0],
        "\"#\",\"When (UTC)\",\"Person\",\"Action\",\"Object\",\"Details\""
    );
    assert!(lines.len() > 5, "{}", csv.body);
    for line in &lines[1..] {
        assert!(line.contains("\"Organisation created\""), "{line}");
        // Every cell is quoted, and none starts with a formula character.
        for cell in line.split("\",\"") {
            let cell = cell.trim_start_matches('"');
            assert!(!cell.starts_with(['=', '+', '-', '@']), "{line}");
        }
    }
    // Newest first: the last token made is the first row.
    assert!(lines[1].contains("\"Plain Vendor\""), "{}", lines[1]);
    for name in formulas {
        let cell = format!("\"'{}\"", name.replace('"', "\"\""));
        assert!(csv.body.contains(&cell), "{cell}: {}", csv.body);
    }
    // The filters are checked as on the page; others may not export.
    let bad = admin.get("/audit.csv?from=yesterday").await;
    assert_eq!(bad.status.as_u16(), 422, "{}", bad.body);
    web_as(&t, &w.dev_admin).await.get("/audit.csv").await.assert(403);
}
