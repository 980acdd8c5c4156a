//! Signing in and out, locked accounts, CSRF, the setup and invitation links, and API tokens, through the web
//! forms.

use super::*;

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
