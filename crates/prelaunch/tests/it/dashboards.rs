//! The dashboard (`/`) per role: what each role's to-do list shows and must not show (the program
//! administrator sees counts, never a model card or a finding); the order of the notices list (open windows,
//! then upcoming, then closed); windows of no length and the time a notice launched; the timeline's scale. Two
//! tests drive headless Chromium: every role's dashboard, and editing a notice with the preview.

use crate::browser::Browser;
use crate::support::*;
use crate::web::{Member, PASSWORD, Web, wait_for};
use accounts::Secret;
use chrono::Duration;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

const SECRET_CARD: &str = "Confidential capability notes";

/// Files a notice of `model` as `dev`, launching `days` after the clock's now, shared with `agencies`.
async fn file(t: &TestApp, dev: &Persona, model: &str, days: i64, agencies: &[Uuid]) -> Uuid {
    let launch = t.clock_now() + Duration::days(days);
    let body = json!({
        "model_name": model,
        "model_version": "1.0",
        "planned_launch_at": launch.to_rfc3339(),
        "model_card": format!("# {model}\n{SECRET_CARD}."),
        "shared_with": agencies,
    });
    let reply = t.post(dev, "/api/v1/notices", body).await;
    assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
    id_of(&reply.body)
}

/// A person who signs in with a password: their id, and a web session.
async fn web_person(t: &TestApp, org: &str, email: &str, role: &str) -> (Uuid, Member) {
    let (user, link) = t.app.provision_user(org, email, role).await.unwrap();
    let token = link.expose().rsplit('/').next().unwrap().to_owned();
    t.app
        .accept_invitation(&token, Some(email), "Someone", &Secret::new(PASSWORD.into()))
        .await
        .unwrap();
    (user.id, Member { email: email.into() })
}

/// The number shown for one of the program administrator's counts.
fn count(body: &str, key: &str) -> i64 {
    let marker = format!("data-count=\"{key}\">");
    let at = body.find(&marker).unwrap_or_else(|| panic!("no count {key}")) + marker.len();
    body[at..at + body[at..].find('<').unwrap()].parse().unwrap()
}

/// A role, what its dashboard must show, and what it must not.
type RoleCase<'a> = (&'a str, &'a Member, Vec<&'a str>, Vec<&'a str>);

#[tokio::test]
async fn each_role_sees_its_own_to_do_list_and_nothing_it_may_not() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let assigned = file(&t, &w.dev_admin, "Assigned Model", 20, &[w.agency]).await;
    let unstaffed = file(&t, &w.dev_admin, "Unstaffed Model", 3, &[w.agency]).await;
    let elsewhere = file(&t, &w.other_dev, "Elsewhere Model", 10, &[w.other_agency]).await;
    let (evaluator_id, evaluator) =
        web_person(&t, "Cyber Evaluation Agency", "eve@agency.example", "member").await;
    let (_, agency_admin) = web_person(&t, "Cyber Evaluation Agency", "ann@agency.example", "admin").await;
    let (_, developer) = web_person(&t, "Frontier Lab", "dan@lab.example", "member").await;
    let (_, program_admin) = web_person(&t, "Clearinghouse", "pat@clearinghouse.example", "admin").await;
    let (_, vendor) = web_person(&t, "Router Vendor", "val@vendor.example", "admin").await;
    let path = format!("/api/v1/notices/{assigned}/assignments");
    let reply = t
        .post(&w.agency_admin, &path, json!({"user_id": evaluator_id}))
        .await;
    assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
    let finding = t.file_finding(&w.agency_admin, assigned, &[]).await;
    let finding_title = finding["title"].as_str().unwrap().to_owned();
    let assessment = id_of(&t.publish_assessment(&w.agency_admin, assigned, &[]).await);
    // Work filed on another developer's notice is not Frontier Lab's news.
    t.file_finding(&w.other_agency_admin, elsewhere, &[]).await;

    let finding_href = format!("href=\"/findings/{}\"", id_of(&finding));
    let assessment_href = format!("href=\"/assessments/{assessment}\"");
    let (assigned_href, unstaffed_href, elsewhere_href) = (
        format!("href=\"/notices/{assigned}\""),
        format!("href=\"/notices/{unstaffed}\""),
        format!("href=\"/notices/{elsewhere}\""),
    );
    #[rustfmt::skip]
    let cases: Vec<RoleCase<'_>> = vec![
        ("evaluator", &evaluator,
            vec!["Assigned to you", &assigned_href],
            vec![&unstaffed_href, &elsewhere_href, "Needing an evaluator", "New findings", SECRET_CARD]),
        ("agency admin", &agency_admin,
            vec!["Needing an evaluator", "Windows closing within 7 days", &unstaffed_href, "3 days left"],
            vec![&assigned_href, &elsewhere_href, "Assigned to you", SECRET_CARD]),
        ("developer", &developer,
            vec!["New findings (last 14 days)", "New assessments (last 14 days)", &finding_href, &finding_title,
                 &assessment_href, "Assessment: Moderate overall", "Assigned Model 1.0",
                 "Your open and upcoming review windows", &assigned_href, &unstaffed_href],
            vec![&elsewhere_href, "Needing an evaluator", SECRET_CARD]),
        ("program administrator", &program_admin,
            vec!["Release notices by state", "Review windows", "Activity (last 14 days)", "href=\"/audit\""],
            vec![SECRET_CARD, &finding_title, "Assigned Model", "Unstaffed Model", "Elsewhere Model",
                 "/notices/", "/findings/", "Uplift on exploitation"]),
        ("vendor", &vendor,
            vec!["Nothing to do here"],
            vec!["Assigned to you", "Needing an evaluator", "New findings", "Release notices by state",
                 "/notices/"]),
    ];
    for (role, who, shows, hides) in &cases {
        let web = Web::sign_in(&t, who).await;
        let page = web.get("/").await;
        page.assert(200);
        crate::web::assert_accessible("/", &page.body);
        for text in shows {
            assert!(
                page.body.contains(text),
                "{role} should see {text:?}:\n{}",
                page.body
            );
        }
        for text in hides {
            assert!(
                !page.body.contains(text),
                "{role} must not see {text:?}:\n{}",
                page.body
            );
        }
        // The dashboard is no copy of the list: the filters stay on the list.
        assert!(!page.body.contains("Apply filters"), "{role}");
    }

    // The program administrator's counts are the program's, read at the clock's now.
    let page = Web::sign_in(&t, &program_admin).await.get("/").await;
    #[rustfmt::skip]
    let expected = [
        ("scheduled", 0), ("in_review", 3), ("launched", 0), ("withdrawn", 0), ("closing_soon", 1),
        ("zero_length", 0), ("notices_filed", 3), ("findings_filed", 2), ("assessments_published", 1),
    ];
    for (key, value) in expected {
        assert_eq!(count(&page.body, key), value, "{key}");
    }
    // Two weeks on, the activity has aged out and the windows have moved on.
    t.clock.advance(Duration::days(15));
    let page = Web::sign_in(&t, &program_admin).await.get("/").await;
    for (key, value) in [("findings_filed", 0), ("in_review", 1), ("launched", 2)] {
        assert_eq!(count(&page.body, key), value, "{key} later");
    }
    let page = Web::sign_in(&t, &developer).await.get("/").await;
    assert!(!page.body.contains(&finding_href), "older than 14 days");
}

/// Ids of the notices list as `who` pages through it, `limit` at a time.
async fn list_ids(t: &TestApp, who: &Persona, limit: usize) -> Vec<Uuid> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..20 {
        let path = match &cursor {
            Some(c) => format!("/api/v1/notices?limit={limit}&cursor={c}"),
            None => format!("/api/v1/notices?limit={limit}"),
        };
        let page = t.get(who, &path).await;
        let body = page.ok();
        ids.extend(body["items"].as_array().unwrap().iter().map(id_of));
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return ids,
        }
    }
    panic!("the list never ended");
}

#[tokio::test]
async fn soonest_close_first_lists_open_windows_then_upcoming_then_closed_with_launch_times() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let launch = |id: Uuid| {
        let path = format!("/api/v1/notices/{id}/launch");
        let token = w.dev_admin.token.clone();
        let t = &t;
        async move {
            t.call(Method::POST, &path, Some(&token), None).await.ok();
        }
    };
    // Filed and launched at once: a window of no length.
    let zero = file(&t, &w.dev_admin, "Zero", 30, &[w.agency]).await;
    launch(zero).await;
    let withdrawn = file(&t, &w.dev_admin, "Withdrawn", 5, &[w.agency]).await;
    let reply = t
        .post(
            &w.dev_admin,
            &format!("/api/v1/notices/{withdrawn}/withdraw"),
            json!({"reason": "retired"}),
        )
        .await;
    reply.ok();
    let upcoming = file(&t, &w.dev_admin, "Upcoming", 70, &[w.agency]).await;
    let later = file(&t, &w.dev_admin, "Later", 25, &[w.agency]).await;
    let early = file(&t, &w.dev_admin, "Early", 20, &[w.agency]).await;
    t.clock.advance(Duration::hours(5));
    let launched_at = t.clock_now();
    launch(early).await;
    let soon = file(&t, &w.dev_admin, "Soon", 6, &[w.agency]).await;

    // (open: soonest close first) (upcoming) (closed: launched, then withdrawn)
    let expected = vec![soon, later, upcoming, zero, early, withdrawn];
    for who in [&w.dev_admin, &w.agency_admin] {
        for limit in [1, 2, 4, 50] {
            assert_eq!(
                list_ids(&t, who, limit).await,
                expected,
                "{} by {limit}",
                who.name
            );
        }
    }
    let states = t
        .get(&w.dev_admin, "/api/v1/notices?state=launched,in_review")
        .await;
    let ids: Vec<Uuid> = states.ok()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(ids, vec![soon, later, zero, early], "filters keep the order");

    let (_, dev) = web_person(&t, "Frontier Lab", "dan@lab.example", "member").await;
    let web = Web::sign_in(&t, &dev).await;
    let list = web.get("/notices").await;
    list.assert(200);
    let positions: Vec<usize> = expected
        .iter()
        .map(|id| list.body.find(&format!("href=\"/notices/{id}\"")).unwrap())
        .collect();
    assert!(
        positions.windows(2).all(|p| p[0] < p[1]),
        "the page keeps the order"
    );
    let launched_text = format!("Launched {}", launched_at.format("%-d %b %Y, %H:%M UTC"));
    assert!(
        list.body.contains(&launched_text),
        "{launched_text}:\n{}",
        list.body
    );
    assert!(list.body.contains("No review window (opened and closed"));
    assert!(list.body.contains("Apply filters"), "the list keeps its filters");

    // A launched notice's page says when it launched, and a window of no length is drawn and labelled.
    let page = web.get(&format!("/notices/{early}")).await;
    assert!(
        page.body
            .contains(&launched_at.format("%-d %b %Y, %H:%M UTC").to_string())
    );
    let page = web.get(&format!("/notices/{zero}")).await;
    assert!(
        page.body.contains("class=\"bar bar-zero bar-launched\""),
        "{}",
        page.body
    );
    assert!(page.body.contains(">no window</text>"));
    assert!(page.body.contains("No review window: it opened and closed at"));
    let filed_at = t.get(&w.dev_admin, &format!("/api/v1/notices/{zero}")).await.ok()["filed_at"].clone();
    let filed: chrono::DateTime<chrono::Utc> = serde_json::from_value(filed_at).unwrap();
    assert!(page.body.contains(&format!(
        "Launched</dt><dd>{}",
        filed.format("%-d %b %Y, %H:%M UTC")
    )));
}

#[tokio::test]
async fn the_timeline_has_a_labelled_bounded_scale_whatever_the_span() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    // (launch in days, expected first label)
    let cases = [(40, "Jan 2027"), (700, "Jan 2027")];
    for (days, first_label) in cases {
        let notice = file(&t, &w.dev_admin, &format!("Span {days}"), days, &[w.agency]).await;
        let (_, dev) = web_person(&t, "Frontier Lab", &format!("d{days}@lab.example"), "member").await;
        let page = Web::sign_in(&t, &dev).await.get("/").await;
        page.assert(200);
        let axis_start = page
            .body
            .find("<svg class=\"axis\"")
            .expect("a scale above the timeline");
        let axis = &page.body[axis_start..axis_start + page.body[axis_start..].find("</svg>").unwrap()];
        let labels: Vec<&str> = axis
            .split("<text")
            .skip(1)
            .map(|s| &s[s.find('>').unwrap() + 1..s.find("</text>").unwrap()])
            .collect();
        assert!((2..=8).contains(&labels.len()), "{days}: {labels:?}");
        assert!(
            labels.iter().any(|l| l.contains(first_label)),
            "{days}: {labels:?}"
        );
        let track_start = page.body.find("<svg class=\"track\"").unwrap();
        let track = &page.body[track_start..track_start + page.body[track_start..].find("</svg>").unwrap()];
        assert!(track.matches("class=\"tick\"").count() <= 24, "{days}");
        assert!(page.body.contains(&format!("href=\"/notices/{notice}\"")));
        t.post(
            &w.dev_admin,
            &format!("/api/v1/notices/{notice}/withdraw"),
            json!({"reason": "done"}),
        )
        .await
        .ok();
    }
}

/// Signs in through the browser's own login form and waits for the dashboard.
async fn browser_sign_in(browser: &Browser, t: &TestApp, who: &Member) {
    browser.goto(&t.url("/login")).await.unwrap();
    browser.fill("#email", &who.email).await.unwrap();
    browser.fill("#password", PASSWORD).await.unwrap();
    browser.click("main button[type=submit]").await.unwrap();
    wait_for(browser, "h1", "Dashboard").await;
}

#[tokio::test]
async fn browser_each_role_loads_its_dashboard() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let notice = file(&t, &w.dev_admin, "Browser Model", 5, &[w.agency]).await;
    let (evaluator_id, evaluator) =
        web_person(&t, "Cyber Evaluation Agency", "eve@agency.example", "member").await;
    let (_, agency_admin) = web_person(&t, "Cyber Evaluation Agency", "ann@agency.example", "admin").await;
    let (_, developer) = web_person(&t, "Frontier Lab", "dan@lab.example", "member").await;
    let (_, program_admin) = web_person(&t, "Clearinghouse", "pat@clearinghouse.example", "admin").await;
    let path = format!("/api/v1/notices/{notice}/assignments");
    t.post(&w.agency_admin, &path, json!({"user_id": evaluator_id}))
        .await
        .ok();
    t.file_finding(&w.agency_admin, notice, &[]).await;

    // (role, who, a section heading it shows, a text its sections show)
    let cases = [
        ("evaluator", &evaluator, "Assigned to you", "Browser Model"),
        (
            "agency admin",
            &agency_admin,
            "Windows closing within 7 days",
            "Browser Model",
        ),
        (
            "developer",
            &developer,
            "New findings (last 14 days)",
            "Writes working exploits",
        ),
        (
            "program administrator",
            &program_admin,
            "Release notices by state",
            "In review",
        ),
    ];
    let browser = Browser::start().await.unwrap();
    for (role, who, heading, text) in cases {
        browser_sign_in(&browser, &t, who).await;
        let main = wait_for(&browser, "main", heading).await;
        // Labels may be drawn in capitals; the words are what counts.
        assert!(
            main.to_lowercase().contains(&text.to_lowercase()),
            "{role}: {main}"
        );
        if role == "program administrator" {
            assert!(
                !main.contains("Browser Model") && !main.contains(SECRET_CARD),
                "{main}"
            );
        }
        assert!(!browser.source().await.unwrap().contains("<script"), "{role}");
        browser.click("form[action='/logout'] button").await.unwrap();
        wait_for(&browser, "h1", "Sign in").await;
    }
    browser.close().await.unwrap();
}

#[tokio::test]
async fn browser_edits_a_notice_with_the_preview() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let notice = file(&t, &w.dev_admin, "Editable", 30, &[w.agency]).await;
    let (_, developer) = web_person(&t, "Frontier Lab", "dan@lab.example", "member").await;
    let browser = Browser::start().await.unwrap();
    browser_sign_in(&browser, &t, &developer).await;

    browser.goto(&t.url(&format!("/notices/{notice}"))).await.unwrap();
    wait_for(&browser, "h1", "Editable 1.0").await;
    browser
        .click(&format!("a[href='/notices/{notice}/edit']"))
        .await
        .unwrap();
    wait_for(&browser, "h1", "Edit the release notice of Editable").await;
    browser.fill("#model_version", "1.1").await.unwrap();
    browser
        .fill("#model_card", "# Editable\n\nNow with **stronger** reasoning.")
        .await
        .unwrap();
    browser.click("#preview-button").await.unwrap();
    let preview = wait_for(&browser, "#preview", "Preview of the model card").await;
    assert!(preview.contains("Now with stronger reasoning."), "{preview}");
    assert!(preview.contains("Not saved yet"));
    let source = browser.source().await.unwrap();
    assert!(
        source.contains("<strong>stronger</strong>"),
        "the preview is rendered Markdown"
    );
    // Nothing is saved by a preview; the form keeps what was typed.
    let saved: Value = t
        .get(&w.dev_admin, &format!("/api/v1/notices/{notice}"))
        .await
        .ok()
        .clone();
    assert_eq!(saved["model_version"], "1.0");
    assert!(source.contains("value=\"1.1\""));

    browser.click("button[value=save]").await.unwrap();
    wait_for(&browser, "h1", "Editable 1.1").await;
    let main = browser.text("main").await.unwrap();
    assert!(main.contains("Now with stronger reasoning."), "{main}");
    let saved: Value = t
        .get(&w.dev_admin, &format!("/api/v1/notices/{notice}"))
        .await
        .ok()
        .clone();
    assert_eq!(
        saved["model_card"],
        "# Editable\n\nNow with **stronger** reasoning."
    );
    assert_eq!(saved["model_version"], "1.1");
    browser.close().await.unwrap();
}
