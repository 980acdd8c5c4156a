//! Errors people see: a form sent with a mistake comes back with the error summary at the top of the page,
//! focused, each error a link to its field, in the labels on screen (never the API's field names or internal
//! values); a mistake in the address names the query parameter; launch times are typed as UTC, 24-hour.

use crate::browser::Browser;
use crate::support::*;
use crate::web::{PASSWORD, Page, Web, assert_accessible, signed_in, wait_for};
use chrono::Duration;

/// The people who send the forms, signed in.
struct Scene {
    t: TestApp,
    w: World,
    notice: String,
    dev: Web,
    agency: Web,
    admin: Web,
}

async fn scene() -> Scene {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let notice = t.file_notice(&w.dev_admin, 40, &[w.agency]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let dev = signed_in(&t, "Frontier Lab", "rm@lab.example", "admin", "Rhea").await;
    let agency = signed_in(
        &t,
        "Cyber Evaluation Agency",
        "boss@agency.example",
        "admin",
        "Bo",
    )
    .await;
    let admin = signed_in(&t, "Clearinghouse", "chief@clearinghouse.example", "admin", "Chi").await;
    Scene {
        t,
        w,
        notice,
        dev,
        agency,
        admin,
    }
}

/// The error summary's visible text, tags removed.
fn summary_text(page: &Page) -> String {
    let body = &page.body;
    let start = body.find("id=\"error-summary\"").expect("an error summary");
    let end = start + body[start..].find("</div>").unwrap();
    let mut text = String::new();
    let mut in_tag = false;
    for c in body[start..end].chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The summary is at the top of the page (before the heading), focusable and focused, links to the field at
/// fault by the label on screen, and says nothing in the API's words.
fn assert_summary(case: &str, page: &Page, anchor: &str, label: &str, says: &str) {
    assert!(
        page.status.is_client_error(),
        "{case}: {} {}",
        page.status,
        page.body
    );
    let body = &page.body;
    let summary = body
        .find("id=\"error-summary\"")
        .unwrap_or_else(|| panic!("{case}: no summary: {body}"));
    let main = body.find("<main").unwrap();
    let heading = body.find("<h1").unwrap();
    assert!(
        main < summary && summary < heading,
        "{case}: the summary is not at the top"
    );
    assert_eq!(body.matches("id=\"error-summary\"").count(), 1, "{case}");
    let tag = &body[body[..summary].rfind('<').unwrap()..summary + body[summary..].find('>').unwrap()];
    assert!(
        tag.contains("tabindex=\"-1\"") && tag.contains("autofocus"),
        "{case}: {tag}"
    );
    assert!(
        body.contains("<script src=\"/assets/error_summary.js\" defer></script>"),
        "{case}"
    );
    assert!(
        body.contains(&format!("<a href=\"#{anchor}\">{label}: ")),
        "{case}: no link to #{anchor} labelled {label:?}: {}",
        summary_text(page)
    );
    assert!(body.contains(&format!("id=\"{anchor}\"")), "{case}: no #{anchor}");
    let text = summary_text(page);
    assert!(text.contains(says), "{case}: {text:?} does not say {says:?}");
    // No API field name (`planned_launch_at`), no RFC 3339 time.
    assert!(!text.contains('_'), "{case}: {text}");
    assert!(!text.contains(":00Z"), "{case}: {text}");
    assert_accessible(case, body);
}

#[tokio::test]
async fn every_form_shows_its_errors_at_the_top_in_the_words_on_screen() {
    let s = scene().await;
    let n = &s.notice;
    let agency = s.w.agency.to_string();
    let past = (s.t.clock_now() - Duration::days(2))
        .format("%Y-%m-%d %H:%M")
        .to_string();
    let soon = (s.t.clock_now() + Duration::days(20))
        .format("%Y-%m-%d %H:%M")
        .to_string();
    let notice_page = format!("/notices/{n}");
    let connections = format!("/notices/{n}/connections");
    let admin_org = s.w.agency.to_string();
    let agency_page = format!("/organizations/{admin_org}");
    // The new-notice form's fields, shared with `shared` when given.
    let new_notice = |name: &str, launch: &str, shared: Option<&str>| {
        let mut fields = vec![
            ("model_name", name.to_owned()),
            ("model_version", "1".to_owned()),
            ("planned_launch_at", launch.to_owned()),
        ];
        fields.extend(shared.map(|agency| ("shared_with", agency.to_owned())));
        fields
    };
    // (case, who, form page, action, fields, anchor, label, what the summary says)
    type Case<'a> = (
        &'a str,
        &'a Web,
        String,
        String,
        Vec<(&'a str, String)>,
        &'a str,
        &'a str,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        (
            "notice: no name",
            &s.dev,
            "/notices/new".into(),
            "/notices".into(),
            new_notice(" ", &soon, Some(&agency)),
            "model_name",
            "Model name",
            "Model name:",
        ),
        (
            "notice: launch in the past",
            &s.dev,
            "/notices/new".into(),
            "/notices".into(),
            new_notice("Vega", &past, Some(&agency)),
            "planned_launch_at",
            "Planned launch (UTC)",
            "Planned launch (UTC): must be in the future",
        ),
        (
            "notice: no agency",
            &s.dev,
            "/notices/new".into(),
            "/notices".into(),
            new_notice("Vega", &soon, None),
            "shared_with",
            "Agencies to share with",
            "“Every participating agency”",
        ),
        (
            "notice: launch date unreadable",
            &s.dev,
            notice_page.clone(),
            format!("{notice_page}/launch"),
            vec![("planned_launch_at", "next spring".into())],
            "launch-planned_launch_at",
            "New planned launch (UTC)",
            "like 2027-03-01 16:00 UTC",
        ),
        (
            "notice: withdraw unconfirmed",
            &s.dev,
            notice_page.clone(),
            format!("{notice_page}/withdraw"),
            vec![("reason", "changed plans".into())],
            "withdraw-confirm",
            "Confirmation",
            "Confirmation:",
        ),
        (
            "notice: edit without a version",
            &s.dev,
            format!("{notice_page}/edit"),
            format!("{notice_page}/edit"),
            vec![
                ("model_version", "".into()),
                ("model_card", "# Orion".into()),
                ("shared_with", agency.clone()),
            ],
            "model_version",
            "Version",
            "Version:",
        ),
        (
            "connection: no base URL",
            &s.dev,
            connections.clone(),
            connections.clone(),
            vec![
                ("api_style", "openai".into()),
                ("base_url", "not a url".into()),
                ("upstream_model", "m".into()),
                ("credential", "sk-x".into()),
            ],
            "base_url",
            "Base URL",
            "Base URL:",
        ),
        (
            "API token: no name",
            &s.dev,
            "/tokens".into(),
            "/tokens".into(),
            vec![("name", "".into()), ("expires_in_days", "30".into())],
            "name",
            "Name",
            "Name:",
        ),
        (
            "assignment: nobody chosen",
            &s.agency,
            notice_page.clone(),
            format!("{notice_page}/assignments"),
            vec![("user_id", "".into())],
            "assign-user_id",
            "Assign an evaluator",
            "Assign an evaluator:",
        ),
        (
            "invitation: not an address",
            &s.agency,
            agency_page.clone(),
            format!("{agency_page}/invitations"),
            vec![("email", "nobody".into()), ("role", "member".into())],
            "email",
            "E-mail address",
            "E-mail address:",
        ),
        (
            "organisation: no kind",
            &s.admin,
            "/organizations".into(),
            "/organizations".into(),
            vec![("kind", "".into()), ("name", "New Agency".into())],
            "kind",
            "Kind",
            "Kind:",
        ),
        (
            "policy: not a number",
            &s.admin,
            "/policy".into(),
            "/policy".into(),
            vec![
                ("window_days", "ten".into()),
                ("launch_horizon_days", "730".into()),
            ],
            "window_days",
            "Review window (days)",
            "Review window (days):",
        ),
    ];
    for (case, web, form_page, action, fields, anchor, label, says) in &cases {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let page = web.submit(form_page, action, &fields).await;
        assert_summary(case, &page, anchor, label, says);
    }
    // Nothing was filed, moved or withdrawn.
    let listed = s.t.get(&s.w.dev_admin, "/api/v1/notices").await;
    assert_eq!(listed.ok()["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed.body["items"][0]["state"], "scheduled");
}

#[tokio::test]
async fn launch_times_are_typed_as_utc_in_24_hours() {
    let s = scene().await;
    let form = s.dev.get("/notices/new").await;
    form.assert(200);
    assert!(
        !form.body.contains("datetime-local"),
        "no locale-dependent picker"
    );
    assert!(form.body.contains("24-hour time in UTC"));
    // The notice's page shows the planned launch the same way, and a time typed that way is read as UTC.
    let page = s.dev.get(&format!("/notices/{}", s.notice)).await;
    let planned = (s.t.clock_now() + Duration::days(40))
        .format("%Y-%m-%d %H:%M")
        .to_string();
    assert_eq!(page.input_value("id=\"launch-planned_launch_at\""), planned);
    let later = (s.t.clock_now() + Duration::days(50))
        .format("%Y-%m-%d 17:45")
        .to_string();
    let moved = s
        .dev
        .submit(
            &format!("/notices/{}", s.notice),
            &format!("/notices/{}/launch", s.notice),
            &[("planned_launch_at", later.as_str())],
        )
        .await;
    assert_eq!(moved.status, 303, "{}", moved.body);
    let notice =
        s.t.get(&s.w.dev_admin, &format!("/api/v1/notices/{}", s.notice))
            .await;
    let at = notice.ok()["planned_launch_at"].as_str().unwrap().to_owned();
    assert!(at.starts_with(&later.replace(' ', "T")), "{at} from {later}");
}

#[tokio::test]
async fn mistakes_in_the_address_name_the_parameter() {
    let s = scene().await;
    // (path, parameter)
    let cases = [
        ("/notices?state=bogus", "state"),
        ("/notices?developer=zzz", "developer"),
        ("/notices?cursor=%21%21", "cursor"),
    ];
    for (path, parameter) in cases {
        let page = s.dev.get(path).await;
        assert!(page.status.is_client_error(), "{path}: {}", page.status);
        assert!(
            page.body
                .contains(&format!("The address’s “{parameter}” parameter"))
                || page
                    .body
                    .contains(&format!("The address&#39;s “{parameter}” parameter"))
                || page
                    .body
                    .contains(&format!("The address's “{parameter}” parameter")),
            "{path}: {}",
            page.body
        );
    }
}

async fn sign_in(browser: &Browser, t: &TestApp, email: &str) {
    browser.goto(&t.url("/login")).await.unwrap();
    browser.fill("#email", email).await.unwrap();
    browser.fill("#password", PASSWORD).await.unwrap();
    browser.click("main button[type=submit]").await.unwrap();
    wait_for(browser, "header", "Sign out").await;
}

#[tokio::test]
async fn in_a_browser_focus_lands_on_the_summary_and_its_link_reaches_the_field() {
    let s = scene().await;
    let browser = Browser::start().await.unwrap();
    sign_in(&browser, &s.t, "rm@lab.example").await;

    // Filing a notice with a launch in the past.
    browser.goto(&s.t.url("/notices/new")).await.unwrap();
    browser.fill("#model_name", "Vega").await.unwrap();
    browser.fill("#model_version", "1").await.unwrap();
    let past = (s.t.clock_now() - Duration::days(2))
        .format("%Y-%m-%d %H:%M")
        .to_string();
    browser.fill("#planned_launch_at", &past).await.unwrap();
    browser.click("#shared_with-1").await.unwrap();
    browser.click("main form button[type=submit]").await.unwrap();
    let said = wait_for(&browser, "#error-summary", "There is a problem").await;
    assert!(
        said.contains("Planned launch (UTC): Must be in the future")
            || said.contains("Planned launch (UTC): must be in the future"),
        "{said}"
    );
    assert!(!said.contains("planned_launch_at"), "{said}");
    let summary = browser.find("#error-summary").await.unwrap();
    assert_eq!(
        browser.active_element().await.unwrap(),
        summary,
        "focus is on the summary"
    );
    browser.click("#error-summary a").await.unwrap();
    assert!(
        browser
            .current_url()
            .await
            .unwrap()
            .ends_with("#planned_launch_at")
    );

    // Inviting someone with an address that is not one, on the agency's page.
    sign_out_and_in(&browser, &s.t, "boss@agency.example").await;
    browser
        .goto(&s.t.url(&format!("/organizations/{}", s.w.agency)))
        .await
        .unwrap();
    browser.fill("#email", "nobody").await.unwrap();
    browser
        .click(&format!(
            "form[action=\"/organizations/{}/invitations\"] button[type=submit]",
            s.w.agency
        ))
        .await
        .unwrap();
    let said = wait_for(&browser, "#error-summary", "E-mail address").await;
    assert!(!said.contains("email:"), "{said}");
    let summary = browser.find("#error-summary").await.unwrap();
    assert_eq!(
        browser.active_element().await.unwrap(),
        summary,
        "focus is on the summary"
    );
    let top = browser.text("main > *:first-child h2").await.unwrap();
    assert_eq!(
        top, "There is a problem",
        "the summary is the first thing in the page"
    );
    browser.close().await.unwrap();
}

async fn sign_out_and_in(browser: &Browser, t: &TestApp, email: &str) {
    browser.click(".account button[type=submit]").await.unwrap();
    wait_for(browser, "h1", "Sign in").await;
    sign_in(browser, t, email).await;
}
