//! The web UI, driven like a browser without script: real HTTP, a cookie jar, plain form posts. One test runs
//! a real headless Chromium.

use crate::browser::Browser;
use crate::support::*;
use accounts::Secret;
use chrono::Duration;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use serde_json::json;

pub(crate) const PASSWORD: &str = "correct horse battery staple";

/// A person who can sign in with a password.
pub(crate) struct Member {
    pub(crate) email: String,
}

/// Creates a person as `admin user create` does and sets their password through their one-time link.
pub(crate) async fn member(t: &TestApp, org: &str, email: &str, role: &str, name: &str) -> Member {
    let (_, link) = t.app.provision_user(org, email, role).await.unwrap();
    let token = link.expose().rsplit('/').next().unwrap().to_owned();
    t.app
        .accept_invitation(&token, Some(email), name, &Secret::new(PASSWORD.into()))
        .await
        .unwrap();
    Member { email: email.into() }
}

/// A page as the server answered it.
pub(crate) struct Page {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl Page {
    pub(crate) fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.cookies()
            .into_iter()
            .find(|c| c.starts_with(&format!("{name}=")))
    }

    /// The value of the `<input>` that follows `marker` (a name or an id attribute).
    pub(crate) fn input_value(&self, marker: &str) -> String {
        let start = self
            .body
            .find(marker)
            .unwrap_or_else(|| panic!("no {marker} in page:\n{}", self.body));
        let rest = &self.body[start..];
        let value = &rest[rest.find("value=\"").unwrap() + 7..];
        value[..value.find('"').unwrap()].to_owned()
    }

    pub(crate) fn csrf(&self) -> String {
        self.input_value("name=\"csrf\"")
    }

    /// The id in a `Location: /things/<id>` redirect.
    fn created_id(&self, prefix: &str) -> String {
        assert_eq!(self.status, StatusCode::SEE_OTHER, "{}", self.body);
        let id = self
            .location()
            .strip_prefix(prefix)
            .unwrap_or_else(|| panic!("redirect to {} is not under {prefix}", self.location()));
        id.to_owned()
    }

    /// A form shown again after a mistake: 422, the error next to the field with this id, the value kept.
    pub(crate) fn assert_form_error(&self, field_id: &str, kept: &str) {
        self.assert(422);
        assert!(
            self.body.contains(&format!("id=\"{field_id}-error\"")),
            "no error at #{field_id}: {}",
            self.body
        );
        assert!(
            self.body.contains(&format!("value=\"{kept}\"")),
            "{kept:?} was not kept"
        );
    }

    pub(crate) fn assert(&self, status: u16) -> &Self {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        self
    }
}

/// A browser without script: a cookie jar and forms.
pub(crate) struct Web {
    client: reqwest::Client,
    base: String,
}

impl Web {
    pub(crate) fn new(t: &TestApp) -> Web {
        Web {
            client: reqwest::Client::builder()
                .no_proxy()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: t.base.clone(),
        }
    }

    async fn page(response: reqwest::Response) -> Page {
        Page {
            status: response.status(),
            headers: response.headers().clone(),
            body: response.text().await.unwrap(),
        }
    }

    pub(crate) async fn get(&self, path: &str) -> Page {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        Self::page(self.client.get(url).send().await.unwrap()).await
    }

    pub(crate) async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        Self::page(self.client.post(url).form(fields).send().await.unwrap()).await
    }

    /// Opens the page with the form, then sends the form with its CSRF token, as a person would.
    pub(crate) async fn submit(&self, form_page: &str, action: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.get(form_page).await.assert(200).csrf();
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post(action, &all).await
    }

    pub(crate) async fn sign_in(t: &TestApp, who: &Member) -> Web {
        let web = Web::new(t);
        let page = web
            .submit(
                "/login",
                "/login",
                &[("email", &who.email), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        assert_eq!(page.location(), "/");
        web
    }
}

/// A new person of `org`, signed in.
pub(crate) async fn signed_in(t: &TestApp, org: &str, email: &str, role: &str, name: &str) -> Web {
    Web::sign_in(t, &member(t, org, email, role, name).await).await
}

/// The fields of the new-notice form for a launch `days` after the test clock's now.
fn notice_form(t: &TestApp, model: &str, days: i64, agency: &str) -> Vec<(String, String)> {
    let launch = t.clock_now() + Duration::days(days);
    vec![
        ("model_name".into(), model.into()),
        ("model_version".into(), "2.0".into()),
        (
            "planned_launch_at".into(),
            launch.format("%Y-%m-%dT%H:%M").to_string(),
        ),
        ("model_card".into(), format!("# {model}\n\nA **frontier** model.")),
        ("shared_with".into(), agency.into()),
    ]
}

fn pairs(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// The page is usable without script and within the CSP, and every control has a label.
pub(crate) fn assert_accessible(path: &str, html: &str) {
    assert!(html.contains("<html lang=\"en\">"), "{path}: lang");
    for forbidden in ["style=", "<style", "javascript:"] {
        assert!(!html.contains(forbidden), "{path} contains {forbidden}");
    }
    // Script only as an enhancement from the site's own assets (the CSP's `script-src 'self'`), never inline.
    for (at, _) in html.match_indices("<script") {
        let element = &html[at..at + html[at..].find("</script>").unwrap_or(html.len() - at)];
        assert!(
            element.starts_with("<script src=\"/assets/") && element.ends_with("defer>"),
            "{path}: inline or foreign script: {element}"
        );
    }
    for tag in ["<input", "<select", "<textarea"] {
        for (at, _) in html.match_indices(tag) {
            let element = &html[at..at + html[at..].find('>').unwrap()];
            if element.contains("type=\"hidden\"") {
                continue;
            }
            let id_at = element
                .find(" id=\"")
                .unwrap_or_else(|| panic!("{path}: control without id: {element}"));
            let id = &element[id_at + 5..];
            let id = &id[..id.find('"').unwrap()];
            assert!(
                html.contains(&format!("for=\"{id}\"")),
                "{path}: no label for #{id}"
            );
        }
    }
}

#[tokio::test]
async fn signing_in_sets_a_hardened_session_cookie_and_signing_out_ends_the_session() {
    let t = spawn_app().await;
    World::new(&t).await;
    let dev = member(&t, "Frontier Lab", "ada@lab.example", "member", "Ada Lovelace").await;
    let web = Web::new(&t);

    web.get("/").await.assert(303);
    assert_eq!(web.get("/notices").await.location(), "/login");

    let form = web.get("/login").await;
    form.assert(200);
    let csrf_cookie = form
        .cookie("prelaunch_csrf")
        .expect("the form sets its CSRF cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(csrf_cookie.contains(attribute), "{csrf_cookie}");
    }

    let signed_in = web
        .post(
            "/login",
            &[
                ("csrf", &form.csrf()),
                ("email", &dev.email),
                ("password", PASSWORD),
            ],
        )
        .await;
    signed_in.assert(303);
    assert_eq!(signed_in.location(), "/");
    let session = signed_in.cookie("prelaunch_session").expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=43200"] {
        assert!(session.contains(attribute), "{session}");
    }
    assert!(!session.contains("Secure"), "served over plain HTTP: {session}");
    let token = session
        .trim_start_matches("prelaunch_session=")
        .split(';')
        .next()
        .unwrap()
        .to_owned();

    let dashboard = web.get("/").await;
    dashboard.assert(200);
    assert!(dashboard.body.contains("Ada Lovelace"));
    assert!(dashboard.body.contains("Frontier Lab"));
    assert_eq!(
        web.get("/login").await.location(),
        "/",
        "a signed-in person is sent on"
    );

    web.post("/logout", &[("csrf", &dashboard.csrf())])
        .await
        .assert(303);
    web.get("/").await.assert(303);
    // The old cookie is dead on the server too, not just forgotten by the browser.
    let replay = t
        .client
        .get(t.url("/"))
        .header("cookie", format!("prelaunch_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn wrong_passwords_lock_the_account_even_against_the_right_one() {
    let t = spawn_app().await;
    World::new(&t).await;
    let dev = member(&t, "Frontier Lab", "ada@lab.example", "member", "Ada").await;
    let web = Web::new(&t);
    for attempt in 1..=5 {
        let page = web
            .submit(
                "/login",
                "/login",
                &[("email", &dev.email), ("password", "not the password")],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
        assert!(page.body.contains("E-mail or password is wrong"));
        assert!(page.body.contains("id=\"password-error\""));
        assert!(
            page.body.contains("value=\"ada@lab.example\""),
            "the address is kept"
        );
        assert!(
            !page.body.contains("not the password"),
            "the password is never echoed"
        );
    }
    let locked = web
        .submit(
            "/login",
            "/login",
            &[("email", &dev.email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(locked.body.contains("try again in 15 minutes"), "{}", locked.body);
    assert_eq!(locked.headers["retry-after"], "900");
    assert!(locked.cookie("prelaunch_session").is_none());

    t.clock.advance(Duration::minutes(16));
    let page = web
        .submit(
            "/login",
            "/login",
            &[("email", &dev.email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
}

#[tokio::test]
async fn forms_without_the_right_csrf_token_are_refused_and_change_nothing() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let dev = member(&t, "Frontier Lab", "ada@lab.example", "member", "Ada").await;
    let web = Web::sign_in(&t, &dev).await;
    let agency = w.agency.to_string();
    let fields = notice_form(&t, "Orion", 40, &agency);
    let events = t.app.store.count_audit().await.unwrap();

    let mut missing = pairs(&fields);
    let refused = web.post("/notices", &missing).await;
    refused.assert(403);
    assert!(refused.body.contains("not sent by this site"), "{}", refused.body);
    missing.push(("csrf", "plc_forged"));
    web.post("/notices", &missing).await.assert(403);
    web.post("/logout", &[("csrf", "")]).await.assert(403);
    web.post("/tokens", &[("name", "ci")]).await.assert(403);

    assert_eq!(
        t.app.store.count_audit().await.unwrap(),
        events,
        "nothing was recorded"
    );
    let listed = t.get(&w.dev_admin, "/api/v1/notices").await;
    assert_eq!(listed.ok()["items"], json!([]));
    web.get("/").await.assert(200);

    // Before signing in: the double-submit token must match its cookie.
    let anonymous = Web::new(&t);
    let cases: &[(&str, bool)] = &[("", false), ("plc_wrong", true)];
    for (csrf, load_form_first) in cases {
        if *load_form_first {
            anonymous.get("/login").await.assert(200);
        }
        anonymous
            .post(
                "/login",
                &[("csrf", csrf), ("email", &dev.email), ("password", PASSWORD)],
            )
            .await
            .assert(403);
    }
}

#[tokio::test]
async fn the_setup_link_creates_the_first_administrator_once() {
    let t = spawn_app().await;
    let link = t
        .app
        .bootstrap()
        .await
        .unwrap()
        .expect("a setup link on an empty database");
    let link = link.expose().to_owned();
    assert!(link.contains("/setup/"), "{link}");
    let web = Web::new(&t);

    let form = web.get(&link).await;
    form.assert(200);
    assert!(form.body.contains("Set up Prelaunch"));
    assert_accessible("/setup", &form.body);

    let short = web
        .post(
            &link,
            &[
                ("csrf", &form.csrf()),
                ("email", "chief@clearinghouse.example"),
                ("display_name", "Grace Hopper"),
                ("password", "short"),
            ],
        )
        .await;
    short.assert_form_error("password", "Grace Hopper");

    let done = web
        .post(
            &link,
            &[
                ("csrf", &form.csrf()),
                ("email", "chief@clearinghouse.example"),
                ("display_name", "Grace Hopper"),
                ("password", PASSWORD),
            ],
        )
        .await;
    done.assert(303);
    assert!(done.cookie("prelaunch_session").is_some(), "signed in at once");
    let home = web.get("/").await;
    home.assert(200);
    assert!(home.body.contains("Grace Hopper"));
    assert!(home.body.contains("Administrator"));
    assert!(
        home.body.contains("href=\"/audit\""),
        "program administrators see the audit trail"
    );

    // A used link says so (before any form).
    for again in [web.get(&link).await, Web::new(&t).get(&link).await] {
        again.assert(409);
        assert!(again.body.contains("already been used"), "{}", again.body);
    }
}

#[tokio::test]
async fn an_invited_person_joins_through_their_link_and_can_be_deactivated() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let chief = member(
        &t,
        "Cyber Evaluation Agency",
        "chief@agency.example",
        "admin",
        "Chief",
    )
    .await;
    let admin = Web::sign_in(&t, &chief).await;
    let org_page = format!("/organizations/{}", w.agency);

    let bad = admin
        .submit(
            &org_page,
            &format!("{org_page}/invitations"),
            &[("email", "not-an-address"), ("role", "member")],
        )
        .await;
    bad.assert_form_error("email", "not-an-address");

    let issued = admin
        .submit(
            &org_page,
            &format!("{org_page}/invitations"),
            &[("email", "grace@agency.example"), ("role", "member")],
        )
        .await;
    issued.assert(200);
    let link = issued.input_value("id=\"invitation-link\"");
    assert!(
        link.starts_with(&format!("{}/invitations/pli_", t.base)),
        "{link}"
    );
    assert!(
        !admin.get(&org_page).await.body.contains(&link),
        "the link is shown once"
    );

    let newcomer = Web::new(&t);
    let form = newcomer.get(&link).await;
    form.assert(200);
    assert!(form.body.contains("Join Cyber Evaluation Agency"));
    assert!(form.body.contains("grace@agency.example"), "the address is fixed");
    assert!(form.body.contains("Evaluator"));
    newcomer
        .post(
            &link,
            &[
                ("csrf", &form.csrf()),
                ("display_name", "Grace"),
                ("password", PASSWORD),
            ],
        )
        .await
        .assert(303);
    assert!(newcomer.get("/").await.body.contains("Grace"));
    let used = newcomer.get(&link).await;
    used.assert(409);
    assert!(used.body.contains("already been used"), "{}", used.body);

    let people = admin.get(&org_page).await;
    assert!(people.body.contains("grace@agency.example"));
    let grace = t
        .app
        .store
        .find_user_by_email("grace@agency.example")
        .await
        .unwrap()
        .unwrap();
    admin
        .submit(
            &org_page,
            &format!("/people/{}/active", grace.id),
            &[("active", "false"), ("confirm", "yes")],
        )
        .await
        .assert(303);
    assert_eq!(
        newcomer.get("/").await.location(),
        "/login",
        "a deactivated person's session ends"
    );

    // People of other organisations are not listed to outsiders.
    let outsider = signed_in(&t, "Other Lab", "bob@other-lab.example", "admin", "Bob").await;
    let seen = outsider.get(&org_page).await;
    seen.assert(200);
    assert!(!seen.body.contains("grace@agency.example"));
    assert!(!seen.body.contains("Invite a person"));
}

#[tokio::test]
async fn a_developer_files_a_notice_through_the_form_and_sees_it() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let dev = member(&t, "Frontier Lab", "ada@lab.example", "member", "Ada").await;
    let web = Web::sign_in(&t, &dev).await;

    let form = web.get("/notices/new").await;
    form.assert(200);
    assert!(form.body.contains("Cyber Evaluation Agency"));
    assert!(form.body.contains("in UTC"), "the form says times are UTC");
    assert!(
        form.body.contains("24-hour time in UTC"),
        "the launch is typed as the site writes times"
    );

    let agency = w.agency.to_string();
    let fields = notice_form(&t, "Orion", 10, &agency);
    let filed = web.submit("/notices/new", "/notices", &pairs(&fields)).await;
    let id = filed.created_id("/notices/");

    let dashboard = web.get("/").await;
    dashboard.assert(200);
    assert!(dashboard.body.contains(&format!("href=\"/notices/{id}\"")));
    assert!(dashboard.body.contains("Orion"));
    assert!(dashboard.body.contains("badge-in_review"));
    assert!(dashboard.body.contains("10 days left"));
    assert!(dashboard.body.contains("<svg class=\"track\""));
    assert!(dashboard.body.contains("never") || dashboard.body.contains("nothing here approves"));

    let detail = web.get(&format!("/notices/{id}")).await;
    detail.assert(200);
    assert!(
        detail.body.contains("<strong>frontier</strong>"),
        "the card is rendered"
    );
    assert!(
        detail.body.contains("Filed"),
        "the history starts with the filing"
    );
    assert!(
        detail.body.contains("Cyber Evaluation Agency"),
        "the developer sees its shares"
    );
    assert!(detail.body.contains("Change the launch date"));

    let listed = web.get("/notices").await;
    assert!(listed.body.contains(&format!("href=\"/notices/{id}\"")));

    // The agency it was shared with sees it too, filtered by developer; the other agency does not.
    let agency_web = signed_in(
        &t,
        "Cyber Evaluation Agency",
        "lin@agency.example",
        "member",
        "Lin",
    )
    .await;
    let filtered = agency_web
        .get(&format!(
            "/notices?state=in_review&developer={}",
            w.dev_admin.org_id
        ))
        .await;
    assert!(filtered.body.contains(&format!("href=\"/notices/{id}\"")));
    let none = agency_web.get("/notices?state=launched").await;
    assert!(!none.body.contains(&format!("href=\"/notices/{id}\"")));
    let agency_view = agency_web.get(&format!("/notices/{id}")).await;
    agency_view.assert(200);
    assert!(!agency_view.body.contains("Change the launch date"));
}

#[tokio::test]
async fn form_errors_name_the_field_and_keep_the_values() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let dev = member(&t, "Frontier Lab", "ada@lab.example", "member", "Ada").await;
    let web = Web::sign_in(&t, &dev).await;
    let agency = w.agency.to_string();
    let good = notice_form(&t, "Orion", 40, &agency);
    let cases: &[(&str, &str, &str)] = &[
        ("model_name", "   ", "Model name"),
        ("planned_launch_at", "2026-06-01T12:00", "Planned launch (UTC)"),
        ("planned_launch_at", "next tuesday", "Planned launch (UTC)"),
        ("shared_with", "", "Agencies to share with"),
        ("shared_with", "not-an-id", "Agencies to share with"),
    ];
    for (field, value, label) in cases {
        let mut fields = good.clone();
        for entry in fields.iter_mut().filter(|(k, _)| k == field) {
            entry.1 = (*value).to_owned();
        }
        let page = web.submit("/notices/new", "/notices", &pairs(&fields)).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}={value}");
        assert!(
            page.body.contains(&format!("id=\"{field}-error\"")),
            "{field}: {}",
            page.body
        );
        assert!(
            page.body.contains(&format!("href=\"#{field}\">{label}:")),
            "{field}"
        );
        assert!(page.body.contains("aria-invalid=\"true\""));
        assert!(page.body.contains("A **frontier** model."), "the card is kept");
        if *field != "model_name" {
            assert!(page.body.contains("value=\"Orion\""), "the name is kept");
        }
        if *field != "shared_with" {
            assert!(
                page.body.contains(&format!("value=\"{agency}\" checked")),
                "the choice is kept"
            );
        }
    }
    let listed = t.get(&w.dev_admin, "/api/v1/notices").await;
    assert_eq!(listed.ok()["items"], json!([]), "nothing was filed");
}

#[tokio::test]
async fn a_model_card_with_script_is_rendered_inert() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let dev = member(&t, "Frontier Lab", "ada@lab.example", "member", "Ada").await;
    let web = Web::sign_in(&t, &dev).await;
    let agency = w.agency.to_string();
    let mut fields = notice_form(&t, "<b>Orion</b>", 40, &agency);
    for entry in fields.iter_mut().filter(|(k, _)| k == "model_card") {
        entry.1 = "<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n[click](javascript:alert(3))"
            .into();
    }
    let id = web
        .submit("/notices/new", "/notices", &pairs(&fields))
        .await
        .created_id("/notices/");
    for path in [format!("/notices/{id}"), "/".to_owned(), "/notices".to_owned()] {
        let page = web.get(&path).await;
        page.assert(200);
        assert_accessible(&path, &page.body);
        assert!(!page.body.contains("<b>Orion</b>"), "{path}: the name is escaped");
        assert!(!page.body.contains("<img src=x"), "{path}");
    }
    let detail = web.get(&format!("/notices/{id}")).await;
    assert!(detail.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(
        detail.body.contains("&lt;img src=x onerror=alert(2)&gt;"),
        "shown as text"
    );
    assert!(
        detail.body.contains("&lt;b&gt;Orion") || detail.body.contains("&#60;b&#62;Orion"),
        "the name is shown as text"
    );
    assert!(
        detail.body.contains("<p>click</p>"),
        "the unsafe link became text"
    );
}

#[tokio::test]
async fn an_outsider_gets_the_same_not_found_page_as_for_nothing() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let notice = t.file_notice(&w.dev_admin, 10, &[w.agency]).await;
    let id = notice["id"].as_str().unwrap();
    let missing = uuid::Uuid::now_v7();
    let cases = [
        ("Other Lab", "bob@other-lab.example"),
        ("Infrastructure Agency", "ivy@infra.example"),
        ("Router Vendor", "val@vendor.example"),
    ];
    for (org, email) in cases {
        let web = signed_in(&t, org, email, "admin", "Outsider").await;
        let hidden = web.get(&format!("/notices/{id}")).await;
        hidden.assert(404);
        assert!(hidden.body.contains("Page not found"));
        assert!(!hidden.body.contains("Orion"), "{org}");
        let nothing = web.get(&format!("/notices/{missing}")).await;
        nothing.assert(404);
        assert_eq!(hidden.body, nothing.body, "{org}: existence does not leak");
        web.get("/notices/not-a-uuid").await.assert(404);
        web.get(&format!("/findings/{missing}")).await.assert(404);
        web.get("/no/such/page").await.assert(404);
        // Acting on it fails the same way.
        web.submit("/", &format!("/notices/{id}/withdraw"), &[("confirm", "yes")])
            .await
            .assert(404);
        assert!(
            !web.get("/").await.body.contains(id),
            "{org}: not on the timeline"
        );
    }
    let state = t.get(&w.dev_admin, &format!("/api/v1/notices/{id}")).await;
    assert_eq!(state.ok()["state"], "in_review");
}

#[tokio::test]
async fn the_developer_moves_announces_and_withdraws_through_the_forms() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let dev = member(&t, "Frontier Lab", "ada@lab.example", "member", "Ada Lovelace").await;
    let web = Web::sign_in(&t, &dev).await;
    let notice = t.file_notice(&w.dev_admin, 45, &[w.agency]).await;
    let id = notice["id"].as_str().unwrap();
    let page = format!("/notices/{id}");

    let past = web
        .submit(
            &page,
            &format!("{page}/launch"),
            &[("planned_launch_at", "2026-12-01T00:00"), ("reason", "oops")],
        )
        .await;
    past.assert_form_error("launch-planned_launch_at", "2026-12-01T00:00");

    web.submit(
        &page,
        &format!("{page}/launch"),
        &[
            ("planned_launch_at", "2027-01-20T09:30"),
            ("reason", "Training finished early"),
        ],
    )
    .await
    .assert(303);
    let moved = web.get(&page).await;
    assert!(moved.body.contains("Launch date moved"));
    assert!(moved.body.contains("Training finished early"));
    assert!(moved.body.contains("20 Jan 2027, 09:30 UTC"));
    assert!(moved.body.contains("Ada Lovelace"), "who moved it");
    assert!(
        moved.body.contains("badge-in_review"),
        "the window opened with the move"
    );

    let unconfirmed = web
        .submit(&page, &format!("{page}/withdraw"), &[("reason", "Changed plans")])
        .await;
    unconfirmed.assert_form_error("withdraw-confirm", "Changed plans");
    let state = t.get(&w.dev_admin, &format!("/api/v1/notices/{id}")).await;
    assert_eq!(state.ok()["state"], "in_review", "nothing happened");

    web.submit(
        &page,
        &format!("{page}/withdraw"),
        &[("reason", "Changed plans"), ("confirm", "yes")],
    )
    .await
    .assert(303);
    let withdrawn = web.get(&page).await;
    assert!(withdrawn.body.contains("badge-withdrawn"));
    assert!(withdrawn.body.contains("Changed plans"));
    assert!(
        !withdrawn.body.contains("Change the launch date"),
        "no more date actions"
    );

    // Announcing a launch works the same way on another notice.
    let other = t.file_notice(&w.dev_admin, 5, &[w.agency]).await;
    let other = format!("/notices/{}", other["id"].as_str().unwrap());
    web.submit(&other, &format!("{other}/launch-now"), &[("confirm", "yes")])
        .await
        .assert(303);
    assert!(web.get(&other).await.body.contains("Marked launched"));
}

#[tokio::test]
async fn agencies_assign_file_findings_and_publish_assessments_through_the_forms() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let notice = t.file_notice(&w.dev_admin, 10, &[w.agency]).await;
    let id = notice["id"].as_str().unwrap();
    let page = format!("/notices/{id}");
    let chief = signed_in(
        &t,
        "Cyber Evaluation Agency",
        "chief@agency.example",
        "admin",
        "Chief",
    )
    .await;
    let analyst_member = member(
        &t,
        "Cyber Evaluation Agency",
        "lin@agency.example",
        "member",
        "Lin Analyst",
    )
    .await;
    let analyst = Web::sign_in(&t, &analyst_member).await;
    let lin = t
        .app
        .store
        .find_user_by_email("lin@agency.example")
        .await
        .unwrap()
        .unwrap();

    let before = analyst.get(&page).await;
    assert!(!before.body.contains("File a finding"), "not assigned yet");
    assert!(!before.body.contains("Assign an evaluator"));
    let offered = chief.get(&page).await;
    assert!(offered.body.contains(&format!("value=\"{}\"", lin.id)));
    chief
        .submit(
            &page,
            &format!("{page}/assignments"),
            &[("user_id", &lin.id.to_string())],
        )
        .await
        .assert(303);
    assert!(chief.get(&page).await.body.contains("Lin Analyst"));

    let incomplete = analyst
        .submit(
            &page,
            &format!("{page}/findings"),
            &[
                ("title", "Exploit generation"),
                ("domain", "cyber_offense"),
                ("severity", ""),
                ("description", "Writes working exploits."),
            ],
        )
        .await;
    incomplete.assert_form_error("finding-severity", "Exploit generation");
    assert!(
        incomplete.body.contains("<details class=\"disclosure\" open>"),
        "the form stays open"
    );

    let filed = analyst
        .submit(
            &page,
            &format!("{page}/findings"),
            &[
                ("title", "Exploit generation"),
                ("domain", "cyber_offense"),
                ("severity", "high"),
                ("description", "Writes **working** exploits for known CVEs."),
                ("evidence", "https://runs.example/1\r\nurn:run:2\r\n"),
            ],
        )
        .await;
    let finding = filed.created_id("/findings/");
    let shown = analyst.get(&format!("/findings/{finding}")).await;
    shown.assert(200);
    assert!(shown.body.contains("<strong>working</strong>"));
    assert!(shown.body.contains("href=\"https://runs.example/1\""));
    assert!(shown.body.contains("<code>urn:run:2</code>"));
    assert!(shown.body.contains("badge-high"));

    let dev = signed_in(&t, "Frontier Lab", "ada@lab.example", "member", "Ada").await;
    assert!(
        dev.get(&page).await.body.contains("Exploit generation"),
        "the developer always sees findings"
    );
    dev.get(&format!("/findings/{finding}")).await.assert(200);
    let other = signed_in(&t, "Infrastructure Agency", "ivy@infra.example", "admin", "Ivy").await;
    other.get(&format!("/findings/{finding}")).await.assert(404);

    let empty = analyst
        .submit(
            &page,
            &format!("{page}/assessments"),
            &[("rationale", "Nothing assessed")],
        )
        .await;
    empty.assert(422);
    assert!(empty.body.contains("id=\"assessment-levels-error\""));
    let published = analyst
        .submit(
            &page,
            &format!("{page}/assessments"),
            &[
                ("levels.cyber_offense", "high"),
                ("levels.autonomy", ""),
                ("rationale", "Strong exploit writing."),
            ],
        )
        .await;
    let assessment = published.created_id("/assessments/");
    let shown = dev.get(&format!("/assessments/{assessment}")).await;
    shown.assert(200);
    assert!(shown.body.contains("Cyber offense"));
    assert!(!shown.body.contains("Autonomy"), "not assessed is left out");
    assert!(shown.body.contains("neither approves nor blocks"));

    chief
        .submit(
            &page,
            &format!("{page}/assignments/{}/remove", lin.id),
            &[("confirm", "yes")],
        )
        .await
        .assert(303);
    assert!(!analyst.get(&page).await.body.contains("File a finding"));
}

#[tokio::test]
async fn api_tokens_are_shown_once_and_can_be_revoked() {
    let t = spawn_app().await;
    World::new(&t).await;
    let dev = member(&t, "Frontier Lab", "ada@lab.example", "member", "Ada").await;
    let web = Web::sign_in(&t, &dev).await;

    let bad = web
        .submit(
            "/tokens",
            "/tokens",
            &[("name", "ci"), ("expires_in_days", "lots")],
        )
        .await;
    bad.assert_form_error("expires_in_days", "ci");

    let created = web
        .submit(
            "/tokens",
            "/tokens",
            &[("name", "ci pipeline"), ("expires_in_days", "30")],
        )
        .await;
    created.assert(200);
    let token = created.input_value("id=\"new-token\"");
    assert!(token.starts_with("plk_"));
    let me = t
        .call(reqwest::Method::GET, "/api/v1/me", Some(&token), None)
        .await;
    assert_eq!(me.ok()["user"]["email"], "ada@lab.example");

    let list = web.get("/tokens").await;
    assert!(list.body.contains("ci pipeline"));
    assert!(!list.body.contains(&token), "shown once");
    let id = t
        .app
        .store
        .list_tokens(
            t.app
                .store
                .find_user_by_email("ada@lab.example")
                .await
                .unwrap()
                .unwrap()
                .id,
            &store::Page::first(10),
        )
        .await
        .unwrap()[0]
        .id;
    web.submit("/tokens", &format!("/tokens/{id}/revoke"), &[])
        .await
        .assert(303);
    t.call(reqwest::Method::GET, "/api/v1/me", Some(&token), None)
        .await
        .problem(401, "invalid-token");
    assert!(web.get("/tokens").await.body.contains("Revoked"));
}

#[tokio::test]
async fn program_administrators_manage_organisations_policy_and_read_the_audit_trail() {
    let t = spawn_app().await;
    World::new(&t).await;
    let chief = member(
        &t,
        "Clearinghouse",
        "chief@clearinghouse.example",
        "admin",
        "Chief",
    )
    .await;
    let admin = Web::sign_in(&t, &chief).await;

    let missing_kind = admin
        .submit(
            "/organizations",
            "/organizations",
            &[("kind", ""), ("name", "Compiler Vendor")],
        )
        .await;
    missing_kind.assert_form_error("kind", "Compiler Vendor");
    let org = admin
        .submit(
            "/organizations",
            "/organizations",
            &[("kind", "vendor"), ("name", "Compiler Vendor")],
        )
        .await
        .created_id("/organizations/");
    admin
        .submit(
            "/organizations",
            &format!("/organizations/{org}/active"),
            &[("active", "false")],
        )
        .await
        .assert(303);
    assert!(
        admin
            .get(&format!("/organizations/{org}"))
            .await
            .body
            .contains("Deactivated")
    );

    for (value, status) in [("0", 422), ("lots", 422), ("", 422), ("45", 303)] {
        let page = admin
            .submit("/policy", "/policy", &[("window_days", value)])
            .await;
        page.assert(status);
        if status == 422 {
            assert!(page.body.contains("id=\"window_days-error\""), "{value}");
        }
    }
    assert!(admin.get("/policy?saved=1").await.body.contains("45 days"));
    assert_eq!(t.app.window_days().await.unwrap(), 45);

    let audit = admin.get("/audit").await;
    audit.assert(200);
    assert!(audit.body.contains("Review window changed"));
    assert!(audit.body.contains("Organisation deactivated"));

    let dev = signed_in(&t, "Frontier Lab", "ada@lab.example", "admin", "Ada").await;
    dev.get("/audit").await.assert(403);
    let policy = dev.get("/policy").await;
    policy.assert(200);
    assert!(!policy.body.contains("Save policy"), "read only for others");
    dev.submit("/policy", "/policy", &[("window_days", "5")])
        .await
        .assert(403);
    dev.submit(
        "/organizations",
        "/organizations",
        &[("kind", "vendor"), ("name", "Sneaky")],
    )
    .await
    .assert(403);
    assert_eq!(t.app.window_days().await.unwrap(), 45);
}

#[tokio::test]
async fn pages_have_no_inline_script_or_style_and_label_every_control() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let notice = t.file_notice(&w.dev_admin, 10, &[w.agency]).await;
    let id = notice["id"].as_str().unwrap();
    let dev = signed_in(&t, "Frontier Lab", "ada@lab.example", "admin", "Ada").await;
    let agency = signed_in(
        &t,
        "Cyber Evaluation Agency",
        "chief@agency.example",
        "admin",
        "Chief",
    )
    .await;
    let admin = signed_in(
        &t,
        "Clearinghouse",
        "chief@clearinghouse.example",
        "admin",
        "Chief",
    )
    .await;
    let pages: Vec<(&Web, String)> = vec![
        (&dev, "/".into()),
        (&dev, "/notices".into()),
        (&dev, "/notices/new".into()),
        (&dev, format!("/notices/{id}")),
        (&dev, "/tokens".into()),
        (&dev, format!("/organizations/{}", w.dev_admin.org_id)),
        (&agency, format!("/notices/{id}")),
        (&agency, "/?state=in_review".into()),
        (&admin, "/organizations".into()),
        (&admin, "/policy".into()),
        (&admin, "/audit".into()),
        (&admin, "/nowhere".into()),
    ];
    for (web, path) in pages {
        let page = web.get(&path).await;
        assert!(
            page.status == 200 || path == "/nowhere",
            "{path}: {}",
            page.status
        );
        assert!(
            page.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(
            page.headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("script-src 'self'")
        );
        assert_eq!(page.headers["cache-control"], "no-store");
        assert_accessible(&path, &page.body);
    }
    let login = Web::new(&t).get("/login").await;
    assert_accessible("/login", &login.body);
    let css = Web::new(&t).get("/assets/app.css").await;
    css.assert(200);
    assert!(css.body.contains(":focus-visible"), "focus stays visible");
}

/// Waits for the page a click led to: until the element's text contains `expected`.
pub(crate) async fn wait_for(browser: &Browser, css: &str, expected: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let text = browser.text(css).await.unwrap_or_default();
        if text.contains(expected) {
            return text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "`{css}` never showed {expected:?}; the page says:\n{}",
            browser.text("main").await.unwrap_or_default()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn browser_files_a_notice_and_sees_it_on_the_timeline() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    // Company on the timeline: one notice in review, one scheduled further out.
    t.file_notice(&w.dev_admin, 12, &[w.agency]).await;
    t.file_notice(&w.dev_admin, 70, &[w.agency, w.other_agency]).await;
    let dev = member(&t, "Frontier Lab", "ada@lab.example", "admin", "Ada Lovelace").await;

    let browser = Browser::start().await.unwrap();
    browser.goto(&t.url("/login")).await.unwrap();
    browser.fill("#email", &dev.email).await.unwrap();
    browser.fill("#password", PASSWORD).await.unwrap();
    browser.click("main button[type=submit]").await.unwrap();
    wait_for(&browser, "h1", "Dashboard").await;

    browser.click("a[href='/notices/new']").await.unwrap();
    wait_for(&browser, "h1", "File a release notice").await;
    browser.fill("#model_name", "Aurora").await.unwrap();
    browser.fill("#model_version", "3.1-preview").await.unwrap();
    browser
        .set_value("#planned_launch_at", "2027-02-10T16:00")
        .await
        .unwrap();
    std::fs::write(
        "/tmp/prelaunch-notice-form.png",
        browser.screenshot_png().await.unwrap(),
    )
    .unwrap();
    browser
        .fill(
            "#model_card",
            "# Aurora\n\nA general-purpose model with strong coding ability.",
        )
        .await
        .unwrap();
    browser
        .click(&format!("input[name=shared_with][value='{}']", w.agency))
        .await
        .unwrap();
    browser.click("main form button[type=submit]").await.unwrap();
    wait_for(&browser, "h1", "Aurora 3.1-preview").await;
    assert!(
        browser
            .text("main")
            .await
            .unwrap()
            .contains("general-purpose model")
    );

    browser.click("nav a[href='/']").await.unwrap();
    let timeline = wait_for(&browser, "table.timeline", "Aurora").await;
    assert!(timeline.contains("Frontier Lab"));
    assert!(timeline.contains("In review"));
    std::fs::write(
        "/tmp/prelaunch-dashboard.png",
        browser.screenshot_png().await.unwrap(),
    )
    .unwrap();
    assert!(!browser.source().await.unwrap().contains("<script"));
    browser.close().await.unwrap();
}

#[tokio::test]
async fn the_ledger_pages_show_checkpoints_and_verified_receipts_to_those_entitled() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let notice = t.file_notice(&w.dev_admin, 40, &[w.agency]).await;
    let id = notice["id"].as_str().unwrap();
    let developer = signed_in(&t, "Frontier Lab", "rm@lab.example", "member", "Release Manager").await;

    let overview = developer.get("/ledger").await;
    overview.assert(200);
    assert!(
        overview.body.contains(&t.app.verifier_key()),
        "the verifier key is published"
    );
    assert!(overview.body.contains("Latest signed checkpoint"));
    assert_accessible("/ledger", &overview.body);

    let detail = developer.get(&format!("/notices/{id}")).await;
    assert!(detail.body.contains(&format!("/ledger/objects/{id}")));
    let object = developer.get(&format!("/ledger/objects/{id}")).await;
    object.assert(200);
    assert!(object.body.contains("Notice filed"));
    let event = object
        .body
        .split("/ledger/events/")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let receipt = developer.get(&format!("/ledger/events/{event}")).await;
    receipt.assert(200);
    assert!(
        receipt.body.contains("Verified: this event is entry"),
        "{}",
        receipt.body
    );
    assert!(receipt.body.contains("c2sp.org/tlog-proof@v1"));
    assert_accessible("/ledger/events", &receipt.body);

    // Someone the notice is not shared with learns nothing, exactly as for an object that does not exist.
    let outsider = signed_in(
        &t,
        "Infrastructure Agency",
        "analyst@infra.example",
        "member",
        "Analyst",
    )
    .await;
    let hidden = outsider.get(&format!("/ledger/objects/{id}")).await;
    let missing = outsider
        .get(&format!("/ledger/objects/{}", uuid::Uuid::new_v4()))
        .await;
    assert_eq!((hidden.status.as_u16(), missing.status.as_u16()), (404, 404));
    assert_eq!(hidden.body, missing.body);
    outsider.get(&format!("/ledger/events/{event}")).await.assert(404);
}
