//! Signing in and accounts under attack: login throttling that holds under parallel guessing (per account and
//! per source address, across processes), new passwords that are not the first ones guessed, invitations that
//! do not reveal who has an account elsewhere.

use crate::support::*;
use crate::web::{PASSWORD, member, signed_in};
use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Any value of the shape the sign-in form's double-submit check expects, sent as cookie and field alike.
const CSRF: &str = "plc_attackersformtoken";

/// A client whose connections come from `from`: every 127.x.y.z address reaches a server on 127.0.0.1, so
/// each stands for another machine.
fn client_from(from: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .local_address(from.parse::<IpAddr>().unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Posts the sign-in form and returns the status: 303 signed in, 401 wrong, 429 throttled.
async fn try_login(
    client: &reqwest::Client,
    base: &str,
    email: &str,
    password: &str,
    forwarded_for: Option<&str>,
) -> u16 {
    let mut request = client
        .post(format!("{base}/login"))
        .header("cookie", format!("prelaunch_csrf={CSRF}"))
        .form(&[("csrf", CSRF), ("email", email), ("password", password)]);
    if let Some(value) = forwarded_for {
        request = request.header("x-forwarded-for", value);
    }
    request.send().await.unwrap().status().as_u16()
}

/// How many answers had each status.
fn tally(statuses: impl IntoIterator<Item = u16>) -> BTreeMap<u16, usize> {
    let mut counts = BTreeMap::new();
    for status in statuses {
        *counts.entry(status).or_default() += 1;
    }
    counts
}

#[tokio::test]
async fn parallel_guesses_on_two_servers_get_only_the_allowed_checks_and_then_the_right_password_is_refused()
{
    let url = fresh_database_url().await;
    let a = spawn_app_on(&url).await;
    let b = spawn_app_on(&url).await;
    World::new(&a).await;
    let ada = member(&a, "Frontier Lab", "ada@lab.example", "member", "Ada").await;
    let allowed = a.app.config.max_login_failures;
    assert_eq!(allowed, 5, "the policy this test expects");

    // 150 wrong passwords at once, spread over two servers sharing the database.
    let client = client_from("127.0.0.1");
    let mut guesses = tokio::task::JoinSet::new();
    for i in 0..150 {
        let client = client.clone();
        let base = if i % 2 == 0 {
            a.base.clone()
        } else {
            b.base.clone()
        };
        let email = ada.email.clone();
        guesses.spawn(
            async move { try_login(&client, &base, &email, &format!("guess number {i}"), None).await },
        );
    }
    let statuses = guesses.join_all().await;
    let counts = tally(statuses);
    assert_eq!(
        counts,
        BTreeMap::from([(401, allowed as usize), (429, 150 - allowed as usize)]),
        "only {allowed} passwords may be checked"
    );

    // The right password, now, from anywhere and through either server, is refused without a check.
    for (client, server) in [(&client, &a), (&client_from("127.0.0.2"), &b)] {
        let response = client
            .post(format!("{}/login", server.base))
            .header("cookie", format!("prelaunch_csrf={CSRF}"))
            .form(&[
                ("csrf", CSRF),
                ("email", ada.email.as_str()),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()["retry-after"], "900");
        assert!(
            response
                .headers()
                .get("set-cookie")
                .is_none_or(|c| !c.to_str().unwrap().starts_with("prelaunch_session="))
        );
    }
    let logins = a.audit_after(0).await;
    assert!(
        logins.iter().all(|e| e.action != "session.login"),
        "nobody signed in"
    );

    // Once the lock lapses, the person signs in.
    a.clock.advance(Duration::minutes(16));
    assert_eq!(try_login(&client, &a.base, &ada.email, PASSWORD, None).await, 303);
}

#[tokio::test]
async fn the_lockout_policy_case_by_case() {
    let t = spawn_app().await;
    World::new(&t).await;
    let ada = member(&t, "Frontier Lab", "ada@lab.example", "member", "Ada").await;
    let client = client_from("127.0.0.1");
    const WRONG: &str = "not the password";
    // (what, minutes to move the clock first, e-mail, password, expected status)
    let cases: &[(&str, i64, &str, &str, u16)] = &[
        ("a first failure is checked", 0, &ada.email, WRONG, 401),
        ("a second", 0, &ada.email, WRONG, 401),
        ("a third", 0, &ada.email, WRONG, 401),
        ("a fourth", 0, &ada.email, WRONG, 401),
        (
            "the right password within the limit signs in",
            0,
            &ada.email,
            PASSWORD,
            303,
        ),
        ("the success cleared the count: 1", 0, &ada.email, WRONG, 401),
        ("2", 0, &ada.email, WRONG, 401),
        ("3", 0, &ada.email, WRONG, 401),
        ("4", 0, &ada.email, WRONG, 401),
        (
            "the fifth failure is checked, and locks",
            0,
            &ada.email,
            WRONG,
            401,
        ),
        (
            "locked: the right password is refused",
            0,
            &ada.email,
            PASSWORD,
            429,
        ),
        ("locked: a wrong one too", 1, &ada.email, WRONG, 429),
        ("still locked after 14 minutes", 13, &ada.email, PASSWORD, 429),
        ("the lock lapses after 15 minutes", 2, &ada.email, PASSWORD, 303),
        ("failures in one window: 1", 0, &ada.email, WRONG, 401),
        ("2", 0, &ada.email, WRONG, 401),
        ("3", 0, &ada.email, WRONG, 401),
        ("4", 0, &ada.email, WRONG, 401),
        (
            "a failure after the window starts a new count: 1",
            16,
            &ada.email,
            WRONG,
            401,
        ),
        ("2", 0, &ada.email, WRONG, 401),
        ("3", 0, &ada.email, WRONG, 401),
        ("4", 0, &ada.email, WRONG, 401),
        ("5, which locks", 0, &ada.email, WRONG, 401),
        ("locked again", 0, &ada.email, PASSWORD, 429),
        (
            "an address without an account is counted alike: 1",
            0,
            "nobody@lab.example",
            WRONG,
            401,
        ),
        ("2", 0, "nobody@lab.example", WRONG, 401),
        ("3", 0, "nobody@lab.example", WRONG, 401),
        ("4", 0, "nobody@lab.example", WRONG, 401),
        ("5", 0, "nobody@lab.example", WRONG, 401),
        ("and locked alike", 0, "nobody@lab.example", WRONG, 429),
        (
            "the same address in capitals is the same account",
            0,
            "Nobody@Lab.Example",
            WRONG,
            429,
        ),
    ];
    for (what, minutes, email, password, expected) in cases {
        t.clock.advance(Duration::minutes(*minutes));
        let status = try_login(&client, &t.base, email, password, None).await;
        assert_eq!(status, *expected, "{what}");
    }
}

#[tokio::test]
async fn one_source_address_gets_a_limited_number_of_failures_over_all_accounts() {
    let url = fresh_database_url().await;
    let t = spawn_configured(&url, |c| c.max_address_failures = 8).await;
    World::new(&t).await;
    let mut emails = Vec::new();
    for i in 0..5 {
        let email = format!("m{i}@lab.example");
        member(&t, "Frontier Lab", &email, "member", "Member").await;
        emails.push(email);
    }
    emails.extend((0..15).map(|i| format!("nobody{i}@lab.example")));
    let bo = member(&t, "Frontier Lab", "bo@lab.example", "member", "Bo").await;
    let cy = member(&t, "Frontier Lab", "cy@lab.example", "member", "Cy").await;

    // One wrong guess on each of twenty accounts, at once, from one address: only eight are checked.
    let sprayer = client_from("127.0.0.2");
    let mut guesses = tokio::task::JoinSet::new();
    for email in emails {
        let (client, base) = (sprayer.clone(), t.base.clone());
        guesses.spawn(async move { try_login(&client, &base, &email, "spring2027spring", None).await });
    }
    let counts = tally(guesses.join_all().await);
    assert_eq!(counts, BTreeMap::from([(401, 8), (429, 12)]));
    // The address is locked even for an account it never tried, whose owner elsewhere is not.
    assert_eq!(try_login(&sprayer, &t.base, &bo.email, PASSWORD, None).await, 429);
    assert_eq!(
        try_login(&client_from("127.0.0.3"), &t.base, &bo.email, PASSWORD, None).await,
        303
    );

    // A success from an address takes back only its own attempt: it neither counts as a failure nor wipes
    // the address's failures on other accounts.
    let office = client_from("127.0.0.4");
    for i in 0..7 {
        let email = format!("typo{i}@lab.example");
        assert_eq!(
            try_login(&office, &t.base, &email, "wrong wrong wrong", None).await,
            401,
            "{i}"
        );
    }
    assert_eq!(try_login(&office, &t.base, &cy.email, PASSWORD, None).await, 303);
    assert_eq!(
        try_login(&office, &t.base, "typo7@lab.example", "wrong wrong wrong", None).await,
        401
    );
    assert_eq!(
        try_login(&office, &t.base, "typo8@lab.example", "wrong wrong wrong", None).await,
        429
    );
    assert_eq!(try_login(&office, &t.base, &cy.email, PASSWORD, None).await, 429);
    // Cy's own account is not locked by what the address did.
    assert_eq!(
        try_login(&client_from("127.0.0.5"), &t.base, &cy.email, PASSWORD, None).await,
        303
    );
    // After the window the address starts afresh.
    t.clock.advance(Duration::minutes(16));
    assert_eq!(try_login(&office, &t.base, &cy.email, PASSWORD, None).await, 303);
}

#[tokio::test]
async fn x_forwarded_for_counts_only_behind_a_proxy_the_operator_named() {
    let url = fresh_database_url().await;
    let t = spawn_configured(&url, |c| {
        c.max_address_failures = 3;
        c.trusted_proxies = vec!["127.0.0.6".parse().unwrap()];
    })
    .await;
    World::new(&t).await;
    const WRONG: &str = "wrong wrong wrong";

    // A client that is not the proxy cannot get a fresh address by writing the header.
    let direct = client_from("127.0.0.5");
    for i in 0..3 {
        let forged = format!("198.51.100.{i}");
        let email = format!("d{i}@lab.example");
        assert_eq!(
            try_login(&direct, &t.base, &email, WRONG, Some(&forged)).await,
            401,
            "{i}"
        );
    }
    assert_eq!(
        try_login(&direct, &t.base, "d9@lab.example", WRONG, Some("203.0.113.77")).await,
        429,
        "the forged header was ignored"
    );

    // Behind the proxy, each client it reports is counted apart.
    let proxy = client_from("127.0.0.6");
    let cases: &[(&str, Option<&str>, u16)] = &[
        ("client one: 1", Some("198.51.100.1"), 401),
        ("client one: 2", Some("198.51.100.1"), 401),
        ("client one: 3", Some("198.51.100.1"), 401),
        ("client one is locked", Some("198.51.100.1"), 429),
        ("client two is not", Some("198.51.100.2"), 401),
        (
            "what a client wrote before the proxy's entry is not believed",
            Some("203.0.113.5, 198.51.100.1"),
            429,
        ),
        ("without the header, the proxy itself", None, 401),
    ];
    for (i, (what, forwarded, expected)) in cases.iter().enumerate() {
        let email = format!("p{i}@lab.example");
        assert_eq!(
            try_login(&proxy, &t.base, &email, WRONG, *forwarded).await,
            *expected,
            "{what}"
        );
    }
}

/// A fresh invitation link of the Frontier Lab for `email`, made as `admin user create` makes them.
async fn invitation_link(t: &TestApp, email: &str) -> String {
    let (_, link) = t
        .app
        .provision_user("Frontier Lab", email, "member")
        .await
        .unwrap();
    link.expose().to_owned()
}

#[tokio::test]
async fn weak_new_passwords_are_refused_on_the_invitation_form_naming_the_field_and_why() {
    let t = spawn_app().await;
    World::new(&t).await;
    let web = signed_in(&t, "Frontier Lab", "boss@lab.example", "admin", "Boss").await;
    let link = invitation_link(&t, "grace.hopper@lab.example").await;
    // (what, password, what the error says; None for accepted)
    let cases: &[(&str, &str, Option<&str>)] = &[
        ("twelve spaces", "            ", Some("Must not be only spaces")),
        ("too short", "short", Some("Must be at least 12 characters")),
        ("padded with spaces", "   kq2!m     ", Some("not counting spaces")),
        (
            "one of the most common",
            "password1234",
            Some("most commonly used passwords"),
        ),
        (
            "a common one with a suffix",
            "iloveyou2024",
            Some("most commonly used passwords"),
        ),
        ("a keyboard walk", "qwertyuiop[]", Some("pattern of the keyboard")),
        ("repeated", "abcabcabcabc", Some("repeats characters")),
        (
            "the service's name",
            "Prelaunch2027!",
            Some("name of this service"),
        ),
        (
            "the person's address",
            "grace.hopper@lab.example",
            Some("your e-mail address"),
        ),
        ("the person's name", "GraceHopper1906", Some("your name")),
        ("a good passphrase", "compiler of the first order", None),
    ];
    for (what, password, error) in cases {
        let page = web
            .submit(
                &link,
                &link,
                &[("display_name", "Grace Hopper"), ("password", password)],
            )
            .await;
        match error {
            Some(message) => {
                page.assert_form_error("password", "Grace Hopper");
                assert!(page.body.contains(message), "{what}: {}", page.body);
                assert!(
                    !page.body.contains(&format!("value=\"{password}\"")),
                    "{what}: never echoed"
                );
            }
            None => assert_eq!(page.status, StatusCode::SEE_OTHER, "{what}: {}", page.body),
        }
    }
    assert!(
        t.app
            .store
            .find_user_by_email("grace.hopper@lab.example")
            .await
            .unwrap()
            .unwrap()
            .password_hash
            .is_some()
    );
}

/// The parts of an invitation answer that do not vary with the address: status, keys, and each value's type.
fn shape(reply: &Reply) -> (u16, Vec<(String, &'static str)>) {
    let Value::Object(body) = &reply.body else {
        panic!("not an object: {}", reply.body)
    };
    let kind = |v: &Value| match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    (
        reply.status.as_u16(),
        body.iter().map(|(k, v)| (k.clone(), kind(v))).collect(),
    )
}

#[tokio::test]
async fn inviting_an_address_with_an_account_elsewhere_answers_as_for_a_new_one_and_touches_nothing() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let elsewhere = w.evaluator.email.clone(); // an evaluator of an agency
    let before = t.app.store.find_user_by_email(&elsewhere).await.unwrap().unwrap();

    // The API: the same status and body shape, the address and role echoed alike.
    let invite = |email: &str| json!({"org_id": w.dev_admin.org_id, "email": email, "role": "member"});
    let new = t
        .post(
            &w.dev_admin,
            "/api/v1/invitations",
            invite("newcomer@lab.example"),
        )
        .await;
    let existing = t
        .post(&w.dev_admin, "/api/v1/invitations", invite(&elsewhere))
        .await;
    assert_eq!(new.status, StatusCode::CREATED, "{}", new.body);
    assert_eq!(shape(&new), shape(&existing), "{} / {}", new.body, existing.body);
    assert_eq!(existing.body["email"], elsewhere);
    assert_eq!(new.content_type, existing.content_type);
    let mut link = existing.body["link"].as_str().unwrap().to_owned();
    assert!(link.starts_with(&format!("{}/invitations/pli_", t.base)));

    // The web form: the same page, with a link, for both.
    let boss = signed_in(&t, "Frontier Lab", "boss@lab.example", "admin", "Boss").await;
    let org_page = format!("/organizations/{}", w.dev_admin.org_id);
    for email in ["another.newcomer@lab.example", elsewhere.as_str()] {
        let page = boss
            .submit(
                &org_page,
                &format!("{org_page}/invitations"),
                &[("email", email), ("role", "member")],
            )
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(
            page.input_value("id=\"invitation-link\"")
                .contains("/invitations/pli_")
        );
        assert!(!page.body.contains("already exists"), "{}", page.body);
        // Inviting the address again replaced its link: the newest is the one that works.
        link = page.input_value("id=\"invitation-link\"");
    }

    // The person who opens the link is told why it cannot make a second account; nothing is created or
    // changed.
    let opener = signed_in(&t, "Other Lab", "someone@other-lab.example", "member", "Someone").await;
    let users_before = t.db_counts().await["users"];
    let page = opener
        .submit(
            &link,
            &link,
            &[
                ("display_name", "Impostor"),
                ("password", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::CONFLICT, "{}", page.body);
    assert!(page.body.contains("already has an account"), "{}", page.body);
    assert_eq!(t.db_counts().await["users"], users_before);
    let after = t.app.store.find_user_by_email(&elsewhere).await.unwrap().unwrap();
    assert_eq!(
        (
            after.id,
            after.org_id,
            &after.display_name,
            &after.role,
            &after.password_hash,
            after.active
        ),
        (
            before.id,
            before.org_id,
            &before.display_name,
            &before.role,
            &before.password_hash,
            before.active
        ),
        "the existing account is untouched"
    );
    t.get(&w.evaluator, "/api/v1/me").await.ok();

    // Who can see the person is still told plainly: their own organisation's admin, a program admin.
    for inviter in [&w.agency_admin, &w.program_admin] {
        let reply = t
            .post(
                inviter,
                "/api/v1/invitations",
                json!({"org_id": w.agency, "email": elsewhere}),
            )
            .await;
        reply.problem(409, "conflict");
    }
}
