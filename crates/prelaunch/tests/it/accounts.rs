//! Managed invitations and people's own accounts: pending invitations (replaced, revoked, resent, used), the
//! profile page, changing a password, resetting it by the link in a real mail, sessions, and who may change
//! roles and reactivate people. Over the API, the script-free web UI and headless Chromium.

use crate::browser::Browser;
use crate::notifications::{SmtpSink, with_mail};
use crate::support::*;
use crate::web::{PASSWORD, Web, member, wait_for};
use chrono::Duration;
use serde_json::{Value, json};
use uuid::Uuid;

const NEW_PASSWORD: &str = "a brand new passphrase, seldom guessed";

/// The one-time token at the end of a link.
fn token_of(link: &str) -> &str {
    link.rsplit('/').next().unwrap()
}

/// The pending invitations of Frontier Lab to `email`, as its admin lists them.
async fn pending(t: &TestApp, w: &World, email: &str) -> Vec<Value> {
    let list = t
        .get(
            &w.dev_admin,
            &format!(
                "/api/v1/organizations/{}/invitations?limit=100",
                w.dev_admin.org_id
            ),
        )
        .await;
    list.ok()["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["email"] == email)
        .cloned()
        .collect()
}

async fn invite(t: &TestApp, w: &World, email: &str) -> (Uuid, String) {
    let made = t
        .post(
            &w.dev_admin,
            "/api/v1/invitations",
            json!({"org_id": w.dev_admin.org_id, "email": email}),
        )
        .await;
    let made = made.ok();
    (
        made["id"].as_str().unwrap().parse().unwrap(),
        made["link"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn invitations_are_replaced_revoked_resent_and_a_dead_link_says_why_before_the_form() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let anon = Web::new(&t);

    let (first, first_link) = invite(&t, &w, "ada@lab.example").await;
    let (second, second_link) = invite(&t, &w, "ada@lab.example").await;
    let listed = pending(&t, &w, "ada@lab.example").await;
    assert_eq!(listed.len(), 1, "inviting again replaces: {listed:?}");
    assert_eq!(listed[0]["id"], second.to_string());
    assert_eq!(listed[0]["expired"], false);

    let resent = t
        .post(
            &w.dev_admin,
            &format!("/api/v1/invitations/{second}/resend"),
            json!({}),
        )
        .await;
    assert_eq!(resent.status, 201, "{resent:?}");
    let third: Uuid = resent.ok()["id"].as_str().unwrap().parse().unwrap();
    let third_link = resent.ok()["link"].as_str().unwrap().to_owned();
    assert_ne!(third_link, second_link);
    assert_eq!(
        pending(&t, &w, "ada@lab.example").await[0]["id"],
        third.to_string()
    );

    let (used, used_link) = invite(&t, &w, "bob@lab.example").await;
    t.app
        .accept_invitation(
            token_of(&used_link),
            None,
            "Bob",
            &accounts::Secret::new(PASSWORD.into()),
        )
        .await
        .unwrap();
    let (_, expiring_link) = invite(&t, &w, "cy@lab.example").await;

    // Each link as it is opened (GET) and as its form is sent (POST): what the page says, before any form.
    let withdrawn = "withdrawn or replaced by a newer one";
    let cases: [(&str, &str, u16, &str); 4] = [
        ("replaced by inviting again", &first_link, 409, withdrawn),
        ("replaced by sending again", &second_link, 409, withdrawn),
        ("used", &used_link, 409, "has already been used"),
        ("working", &third_link, 200, "Join Frontier Lab"),
    ];
    for (what, link, status, says) in cases {
        let page = anon.get(link).await;
        assert_eq!(page.status.as_u16(), status, "{what}: {}", page.body);
        assert!(page.body.contains(says), "{what}: {}", page.body);
        if status != 200 {
            assert!(!page.body.contains("name=\"password\""), "{what}: no form");
        }
    }

    // Revoking: the link says so at once; revoking twice, or a used invitation, is a conflict.
    let revoked = t
        .delete(&w.dev_admin, &format!("/api/v1/invitations/{third}"))
        .await;
    assert_eq!(revoked.status, 200, "{revoked:?}");
    assert!(pending(&t, &w, "ada@lab.example").await.is_empty());
    let page = anon.get(&third_link).await;
    assert_eq!(page.status.as_u16(), 409);
    assert!(page.body.contains(withdrawn), "{}", page.body);
    for (what, id) in [("revoked", third), ("used", used), ("replaced", first)] {
        let again = t.delete(&w.dev_admin, &format!("/api/v1/invitations/{id}")).await;
        assert_eq!(again.status, 409, "{what}: {again:?}");
        let resend = t
            .post(
                &w.dev_admin,
                &format!("/api/v1/invitations/{id}/resend"),
                json!({}),
            )
            .await;
        assert_eq!(resend.status, 409, "{what}: {resend:?}");
    }

    // Expiry: listed as expired, and the link names the day it expired.
    t.clock.advance(Duration::days(8));
    let listed = pending(&t, &w, "cy@lab.example").await;
    assert_eq!(listed[0]["expired"], true, "{listed:?}");
    let page = anon.get(&expiring_link).await;
    assert_eq!(page.status.as_u16(), 409);
    assert!(page.body.contains("expired on"), "{}", page.body);

    // Only the organisation's admins manage its invitations; outsiders cannot tell they exist.
    let list = format!("/api/v1/organizations/{}/invitations", w.dev_admin.org_id);
    assert_eq!(t.get(&w.dev_member, &list).await.status, 403);
    assert_eq!(t.get(&w.other_dev, &list).await.status, 404);
    let (cy, _) = (pending(&t, &w, "cy@lab.example").await[0]["id"].clone(), ());
    let cy = cy.as_str().unwrap();
    assert_eq!(
        t.delete(&w.dev_member, &format!("/api/v1/invitations/{cy}"))
            .await
            .status,
        403
    );
    let outsider = t.delete(&w.other_dev, &format!("/api/v1/invitations/{cy}")).await;
    let nothing = t
        .delete(&w.other_dev, &format!("/api/v1/invitations/{}", Uuid::now_v7()))
        .await;
    assert_eq!(outsider.status, 404);
    assert_eq!(
        outsider.body, nothing.body,
        "identical to an invitation that does not exist"
    );
}

#[tokio::test]
async fn the_web_lists_pending_invitations_and_revokes_and_resends_them() {
    let t = spawn_app().await;
    World::new(&t).await;
    member(&t, "Frontier Lab", "ada@lab.example", "admin", "Ada").await;
    let admin = Web::sign_in(
        &t,
        &crate::web::Member {
            email: "ada@lab.example".into(),
        },
    )
    .await;
    let org = t
        .app
        .store
        .find_org_by_name("Frontier Lab")
        .await
        .unwrap()
        .unwrap()
        .id;
    let page = format!("/organizations/{org}");
    let invited = admin
        .submit(
            &page,
            &format!("{page}/invitations"),
            &[("email", "new@lab.example"), ("role", "member")],
        )
        .await;
    invited.assert(200);
    let link = invited.input_value("id=\"invitation-link\"");
    assert!(
        invited.body.contains("data-copy=\"invitation-link\""),
        "a copy button"
    );
    assert!(invited.body.contains("Pending invitations"));
    assert!(invited.body.contains("new@lab.example"));
    crate::web::assert_accessible(&page, &invited.body);

    let id = t
        .get(
            &t.person("lister", "Frontier Lab", "lister@lab.example", "admin")
                .await,
            &format!("/api/v1/organizations/{org}/invitations"),
        )
        .await
        .ok()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["email"] == "new@lab.example")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let resent = admin
        .submit(&page, &format!("{page}/invitations/{id}/resend"), &[])
        .await;
    resent.assert(200);
    let new_link = resent.input_value("id=\"invitation-link\"");
    assert_ne!(new_link, link);
    Web::new(&t).get(&link).await.assert(409);

    let shown = admin.get(&page).await;
    let row = &shown.body[shown.body.find("new@lab.example").unwrap()..];
    let new_id = row
        .split("/invitations/")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    admin
        .submit(&page, &format!("{page}/invitations/{new_id}/revoke"), &[])
        .await
        .assert(303);
    let after = admin.get(&format!("{page}?done=revoked")).await;
    assert!(after.body.contains("The invitation was revoked"));
    assert!(!after.body.contains("new@lab.example"));
    Web::new(&t).get(&new_link).await.assert(409);
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_signs_out_every_other_session() {
    let t = spawn_app().await;
    World::new(&t).await;
    let ada = member(&t, "Frontier Lab", "ada@lab.example", "member", "Ada Lovelace").await;
    let here = Web::sign_in(&t, &ada).await;
    let elsewhere = Web::sign_in(&t, &ada).await;

    let profile = here.get("/account").await;
    profile.assert(200);
    for shown in ["Ada Lovelace", "ada@lab.example", "Frontier Lab", "Member"] {
        assert!(profile.body.contains(shown), "{shown}: {}", profile.body);
    }
    crate::web::assert_accessible("/account", &profile.body);

    // (current, new, field at fault)
    let cases = [
        ("not my password at all", NEW_PASSWORD, "current_password"),
        (PASSWORD, "short", "new_password"),
        (PASSWORD, "ada@lab.example", "new_password"),
    ];
    for (current, new, field) in cases {
        let page = here
            .submit(
                "/account",
                "/account/password",
                &[("current_password", current), ("new_password", new)],
            )
            .await;
        assert_eq!(page.status.as_u16(), 422, "{field}: {}", page.body);
        assert!(
            page.body.contains(&format!("id=\"{field}-error\"")),
            "{field}: {}",
            page.body
        );
        assert!(
            !page.body.contains("not my password at all"),
            "passwords are never sent back"
        );
    }
    assert_eq!(
        elsewhere.get("/").await.status.as_u16(),
        200,
        "nothing changed yet"
    );

    let changed = here
        .submit(
            "/account",
            "/account/password",
            &[("current_password", PASSWORD), ("new_password", NEW_PASSWORD)],
        )
        .await;
    changed.assert(303);
    assert_eq!(
        elsewhere.get("/").await.location(),
        "/login",
        "the other session ended"
    );
    let kept = here.get("/account?done=password").await;
    kept.assert(200);
    assert!(kept.body.contains("Your password was changed"));

    let old = Web::new(&t)
        .submit(
            "/login",
            "/login",
            &[("email", "ada@lab.example"), ("password", PASSWORD)],
        )
        .await;
    old.assert(401);
    Web::new(&t)
        .submit(
            "/login",
            "/login",
            &[("email", "ada@lab.example"), ("password", NEW_PASSWORD)],
        )
        .await
        .assert(303);

    // Over the API: a wrong current password names its field.
    let w_admin = t
        .person("api person", "Frontier Lab", "api@lab.example", "member")
        .await;
    let wrong = t
        .put(
            &w_admin,
            "/api/v1/me/password",
            json!({"current_password": "nope", "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(wrong.status, 422, "{wrong:?}");
    assert_eq!(wrong.body["field"], "current_password", "{wrong:?}");
}

#[tokio::test]
async fn a_password_is_reset_by_the_link_in_a_real_mail_once_and_not_after_an_hour() {
    let sink = SmtpSink::start().await;
    let t = spawn_configured(&fresh_database_url().await, with_mail(&sink)).await;
    World::new(&t).await;
    let ada = member(&t, "Frontier Lab", "ada@lab.example", "member", "Ada").await;
    let signed_in = Web::sign_in(&t, &ada).await;
    let anon = Web::new(&t);

    let form = anon.get("/login").await;
    assert!(
        form.body.contains("href=\"/password-reset\""),
        "the sign-in page offers it"
    );
    let known = anon
        .submit(
            "/password-reset",
            "/password-reset",
            &[("email", "ada@lab.example")],
        )
        .await;
    known.assert(200);
    let unknown = anon
        .submit(
            "/password-reset",
            "/password-reset",
            &[("email", "nobody@lab.example")],
        )
        .await;
    unknown.assert(200);
    assert_eq!(
        known.body, unknown.body,
        "the answer does not tell whether the address has an account"
    );
    assert!(known.body.contains("If an account has this e-mail address"));

    let mails = sink.mails();
    assert_eq!(mails.len(), 1, "one mail, to the account's address only");
    assert_eq!(mails[0].0, vec!["ada@lab.example".to_owned()]);
    let prefix = format!("{}/password-reset/", t.base);
    let link = link_in(&mails[0].1, &prefix);
    assert!(token_of(&link).starts_with("plr_"));
    // Only the digest is kept.
    let stored: i64 = t
        .app
        .store
        .find_password_reset(&accounts::TokenDigest::of(&accounts::Secret::new(token_of(&link).into())).0)
        .await
        .unwrap()
        .map_or(0, |_| 1);
    assert_eq!(stored, 1);

    let open = anon.get(&link).await;
    open.assert(200);
    assert!(open.body.contains("For ada@lab.example"));
    anon.submit(&link, &link, &[("password", "short")])
        .await
        .assert(422);
    let done = anon.submit(&link, &link, &[("password", NEW_PASSWORD)]).await;
    done.assert(303);
    assert_eq!(done.location(), "/login?reset=done");
    assert_eq!(
        signed_in.get("/").await.location(),
        "/login",
        "every session ended"
    );
    Web::new(&t)
        .submit(
            "/login",
            "/login",
            &[("email", "ada@lab.example"), ("password", NEW_PASSWORD)],
        )
        .await
        .assert(303);
    let again = anon.get(&link).await;
    again.assert(404);
    assert!(again.body.contains("has been used or has expired"));
    assert!(!again.body.contains("name=\"password\""));

    // A second link lapses after an hour.
    anon.submit(
        "/password-reset",
        "/password-reset",
        &[("email", "ada@lab.example")],
    )
    .await
    .assert(200);
    let later = link_in(&sink.mails()[1].1, &prefix);
    t.clock.advance(Duration::minutes(61));
    anon.get(&later).await.assert(404);
    let csrf = anon.get("/password-reset").await.csrf();
    anon.post(
        &later,
        &[("csrf", &csrf), ("password", "yet another long passphrase here")],
    )
    .await
    .assert(404);

    // Limited per address, the same whether or not it has an account: 3 an hour (the hour above has passed).
    for email in ["ada@lab.example", "nobody@lab.example"] {
        for _ in 0..3 {
            anon.submit("/password-reset", "/password-reset", &[("email", email)])
                .await;
        }
        let limited = anon
            .submit("/password-reset", "/password-reset", &[("email", email)])
            .await;
        assert_eq!(limited.status.as_u16(), 429, "{email}: {}", limited.body);
    }
}

/// The link starting with `prefix` in a mail (quoted-printable soft breaks undone).
fn link_in(mail: &str, prefix: &str) -> String {
    let text = mail.replace("=\r\n", "").replace("=\n", "");
    let at = text.find(prefix).unwrap_or_else(|| panic!("no link in {text}"));
    text[at..]
        .split(|c: char| c.is_whitespace())
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn sessions_are_listed_marked_and_signed_out_one_or_all_others() {
    let t = spawn_app().await;
    World::new(&t).await;
    let ada = member(&t, "Frontier Lab", "ada@lab.example", "member", "Ada").await;
    let here = Web::sign_in(&t, &ada).await;
    let phone = Web::sign_in(&t, &ada).await;
    let tablet = Web::sign_in(&t, &ada).await;

    let page = here.get("/account").await;
    page.assert(200);
    assert_eq!(page.body.matches("(this session)").count(), 1);
    assert_eq!(page.body.matches("/end\" class=\"inline-form\"").count(), 3);

    // Last seen moves (at most every few minutes), as the session is used.
    let user = t
        .app
        .store
        .find_user_by_email("ada@lab.example")
        .await
        .unwrap()
        .unwrap();
    let sessions = |now| {
        let store = t.app.store.clone();
        async move { store.list_sessions(user.id, now, 100).await.unwrap() }
    };
    let before = sessions(t.clock_now()).await;
    t.clock.advance(Duration::minutes(10));
    phone.get("/").await.assert(200);
    let after = sessions(t.clock_now()).await;
    let moved: Vec<_> = after
        .iter()
        .filter(|s| {
            before
                .iter()
                .any(|b| b.id == s.id && b.last_seen_at != s.last_seen_at)
        })
        .collect();
    assert_eq!(moved.len(), 1, "only the session used");
    assert_eq!(moved[0].last_seen_at, Some(t.clock_now()));

    // Ending the phone's session from here.
    let phone_id = moved[0].id;
    here.submit("/account", &format!("/account/sessions/{phone_id}/end"), &[])
        .await
        .assert(303);
    assert_eq!(phone.get("/").await.location(), "/login");
    assert_eq!(tablet.get("/").await.status.as_u16(), 200);
    // Someone else's session reads as absent.
    let bob = member(&t, "Frontier Lab", "bob@lab.example", "member", "Bob").await;
    let bob_web = Web::sign_in(&t, &bob).await;
    let ada_session = after.iter().find(|s| s.id != phone_id).unwrap().id;
    bob_web
        .submit("/account", &format!("/account/sessions/{ada_session}/end"), &[])
        .await
        .assert(404);

    here.submit("/account", "/account/sessions/end-others", &[])
        .await
        .assert(303);
    assert_eq!(tablet.get("/").await.location(), "/login");
    let left = here.get("/account?done=others").await;
    left.assert(200);
    assert!(left.body.contains("Every other session was signed out"));
    assert_eq!(sessions(t.clock_now()).await.len(), 1);

    // Over the API with a token: no session is "current", and none of another's can be ended.
    let w = t.person("api", "Frontier Lab", "api@lab.example", "member").await;
    let listed = t.get(&w, "/api/v1/sessions").await;
    assert_eq!(listed.ok()["items"], json!([]));
    let other = t.delete(&w, &format!("/api/v1/sessions/{ada_session}")).await;
    assert_eq!(other.status, 404);
    let ended = t.post(&w, "/api/v1/sessions/end-others", json!({})).await;
    assert_eq!(ended.ok()["ended"], 0);
}

#[tokio::test]
async fn admins_change_roles_and_reactivate_people_and_deactivating_asks_first() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let target = t
        .person("target", "Frontier Lab", "target@lab.example", "member")
        .await;
    let person = format!("/api/v1/users/{}", target.user_id);

    // (who, body, status)
    let cases: Vec<(&str, &Persona, Value, u16)> = vec![
        ("a member", &w.dev_member, json!({"role": "admin"}), 403),
        (
            "another organisation's admin",
            &w.other_dev,
            json!({"role": "admin"}),
            404,
        ),
        (
            "an agency's admin",
            &w.agency_admin,
            json!({"active": false}),
            404,
        ),
        (
            "the admin, to an unknown role",
            &w.dev_admin,
            json!({"role": "owner"}),
            422,
        ),
        ("the admin, with nothing to change", &w.dev_admin, json!({}), 422),
        ("the admin", &w.dev_admin, json!({"role": "admin"}), 200),
        ("the admin, back", &w.dev_admin, json!({"role": "member"}), 200),
        (
            "the program administrator",
            &w.program_admin,
            json!({"role": "admin"}),
            200,
        ),
        (
            "the admin, on themselves",
            &w.dev_admin,
            json!({"role": "member"}),
            409,
        ),
        (
            "the admin deactivates",
            &w.dev_admin,
            json!({"active": false}),
            200,
        ),
        (
            "a member reactivates",
            &w.dev_member,
            json!({"active": true}),
            403,
        ),
        (
            "the admin reactivates",
            &w.dev_admin,
            json!({"active": true}),
            200,
        ),
    ];
    for (who, caller, body, status) in cases {
        let path = if who.contains("themselves") {
            format!("/api/v1/users/{}", w.dev_admin.user_id)
        } else {
            person.clone()
        };
        let reply = t.patch(caller, &path, body.clone()).await;
        assert_eq!(reply.status, status, "{who} {body}: {reply:?}");
    }
    let now = t.get(&w.dev_admin, &person).await;
    assert_eq!(now.ok()["role"], "admin");
    assert_eq!(now.ok()["active"], true);

    // The web: a role is changed by its form; deactivating shows a confirmation page first.
    member(&t, "Frontier Lab", "chief@lab.example", "admin", "Chief").await;
    let chief = Web::sign_in(
        &t,
        &crate::web::Member {
            email: "chief@lab.example".into(),
        },
    )
    .await;
    let org = format!("/organizations/{}", w.dev_admin.org_id);
    chief
        .submit(
            &org,
            &format!("/people/{}/role", target.user_id),
            &[("role", "member")],
        )
        .await
        .assert(303);
    assert_eq!(t.get(&w.dev_admin, &person).await.ok()["role"], "member");

    let asked = chief
        .submit(
            &org,
            &format!("/people/{}/active", target.user_id),
            &[("active", "false")],
        )
        .await;
    asked.assert(200);
    assert!(asked.body.contains("Deactivate target"), "{}", asked.body);
    assert!(asked.body.contains("name=\"confirm\" value=\"yes\""));
    assert_eq!(t.get(&w.dev_admin, &person).await.ok()["active"], true, "not yet");
    chief
        .submit(
            &org,
            &format!("/people/{}/active", target.user_id),
            &[("active", "false"), ("confirm", "yes")],
        )
        .await
        .assert(303);
    assert_eq!(t.get(&w.dev_admin, &person).await.ok()["active"], false);
    chief
        .submit(
            &org,
            &format!("/people/{}/active", target.user_id),
            &[("active", "true")],
        )
        .await
        .assert(303);
    assert_eq!(
        t.get(&w.dev_admin, &person).await.ok()["active"],
        true,
        "reactivating asks nothing"
    );
}

#[tokio::test]
async fn browser_revokes_an_invitation() {
    let t = spawn_app().await;
    World::new(&t).await;
    let ada = member(&t, "Frontier Lab", "ada@lab.example", "admin", "Ada").await;
    let org = t
        .app
        .store
        .find_org_by_name("Frontier Lab")
        .await
        .unwrap()
        .unwrap()
        .id;

    let browser = Browser::start().await.unwrap();
    browser.goto(&t.url("/login")).await.unwrap();
    browser.fill("#email", &ada.email).await.unwrap();
    browser.fill("#password", PASSWORD).await.unwrap();
    browser.click("main button[type=submit]").await.unwrap();
    wait_for(&browser, "h1", "Review timeline").await;

    browser.click("a.account-name").await.unwrap();
    wait_for(&browser, "h1", "Your account").await;
    browser
        .goto(&t.url(&format!("/organizations/{org}")))
        .await
        .unwrap();
    browser.fill("#email", "grace@lab.example").await.unwrap();
    browser
        .click("form[action$='/invitations'] button[type=submit]")
        .await
        .unwrap();
    wait_for(&browser, "main", "Invitation created").await;
    let link = browser.text("#invitations").await.unwrap();
    assert!(link.contains("grace@lab.example"), "{link}");
    // The newest invitation is the last row (set-up links of people made by the operator come first).
    browser
        .click("#invitations tbody tr:last-child form[action$='/revoke'] button[type=submit]")
        .await
        .unwrap();
    wait_for(&browser, "main", "The invitation was revoked").await;
    assert!(
        !browser
            .text("#invitations")
            .await
            .unwrap()
            .contains("grace@lab.example")
    );
    browser.close().await.unwrap();
}

#[tokio::test]
async fn browser_resets_a_password_by_the_link_in_the_mail() {
    let sink = SmtpSink::start().await;
    let t = spawn_configured(&fresh_database_url().await, with_mail(&sink)).await;
    World::new(&t).await;
    member(&t, "Frontier Lab", "ada@lab.example", "member", "Ada").await;

    let browser = Browser::start().await.unwrap();
    browser.goto(&t.url("/login")).await.unwrap();
    browser.click("a[href='/password-reset']").await.unwrap();
    wait_for(&browser, "h1", "Reset your password").await;
    browser.fill("#email", "ada@lab.example").await.unwrap();
    browser.click("main button[type=submit]").await.unwrap();
    wait_for(&browser, "main", "we have sent it a link").await;

    let link = link_in(&sink.mails()[0].1, &format!("{}/password-reset/", t.base));
    browser.goto(&link).await.unwrap();
    wait_for(&browser, "h1", "Choose a new password").await;
    browser.fill("#password", NEW_PASSWORD).await.unwrap();
    browser.click("main button[type=submit]").await.unwrap();
    wait_for(&browser, "main", "Your password was changed").await;
    browser.fill("#email", "ada@lab.example").await.unwrap();
    browser.fill("#password", NEW_PASSWORD).await.unwrap();
    browser.click("main form button[type=submit]").await.unwrap();
    wait_for(&browser, "h1", "Review timeline").await;
    browser.close().await.unwrap();
}
