//! The table's rows of people, organisations, sessions and API tokens.

use super::*;

/// These rows, in order.
pub(super) async fn rows(table: &mut Table<'_>, w: &World) {
    let t = table.t;
    // People, organisations, sessions and API tokens.
    let invited = t
        .post(
            &w.dev_admin,
            "/api/v1/invitations",
            json!({"org_id": w.dev_admin.org_id, "email": "new@lab.example"}),
        )
        .await;
    let link = invited.ok()["link"].as_str().unwrap().to_owned();
    table
        .row(
            "a developer admin invites a person",
            "invitation.create",
            "+ . + . . . . . . . . . .",
        )
        .await;
    let token = link.rsplit('/').next().unwrap();
    let newcomer = t
        .app
        .accept_invitation(token, None, "Newcomer", &Secret::new(PASSWORD.into()))
        .await
        .unwrap();
    table
        .row(
            "the person accepts",
            "invitation.accept",
            "+ . + . . . . . . . . . .",
        )
        .await;
    let web = Web::sign_in(
        t,
        &crate::web::Member {
            email: "new@lab.example".into(),
        },
    )
    .await;
    table
        .row("they sign in", "session.login", "+ . + . . . . . . . . . .")
        .await;
    web.submit("/notices", "/logout", &[]).await;
    table
        .row("they sign out", "session.logout", "+ . + . . . . . . . . . .")
        .await;
    let person = format!("/api/v1/users/{}", newcomer.id);
    t.patch(&w.dev_admin, &person, json!({"active": false}))
        .await
        .ok();
    table
        .row(
            "their admin deactivates them",
            "user.deactivate",
            "+ . + . . . . . . . . . .",
        )
        .await;
    t.patch(&w.dev_admin, &person, json!({"active": true})).await.ok();
    table
        .row(
            "and activates them again",
            "user.activate",
            "+ . + . . . . . . . . . .",
        )
        .await;
    t.patch(&w.dev_admin, &person, json!({"role": "admin"}))
        .await
        .ok();
    table
        .row(
            "their admin changes their role",
            "user.role",
            "+ . + . . . . . . . . . .",
        )
        .await;
    let pending = t
        .post(
            &w.dev_admin,
            "/api/v1/invitations",
            json!({"org_id": w.dev_admin.org_id, "email": "later@lab.example"}),
        )
        .await;
    let pending = id_of(pending.ok());
    table.events().await;
    t.delete(&w.dev_admin, &format!("/api/v1/invitations/{pending}"))
        .await
        .ok();
    table
        .row(
            "the admin revokes an invitation",
            "invitation.revoke",
            "+ . + . . . . . . . . . .",
        )
        .await;
    let web = Web::sign_in(
        t,
        &crate::web::Member {
            email: "new@lab.example".into(),
        },
    )
    .await;
    table.events().await;
    web.submit(
        "/account",
        "/account/password",
        &[
            ("current_password", PASSWORD),
            ("new_password", "another long passphrase nobody guesses"),
        ],
    )
    .await
    .assert(303);
    table
        .row(
            "they change their password",
            "user.password",
            "+ . + . . . . . . . . . .",
        )
        .await;
    web.submit("/account", "/account/sessions/end-others", &[])
        .await
        .assert(303);
    table
        .row(
            "they sign out their other sessions",
            "session.end",
            "+ . + . . . . . . . . . .",
        )
        .await;
    t.app
        .request_password_reset("new@lab.example", std::net::Ipv4Addr::LOCALHOST.into())
        .await
        .unwrap();
    // The link is stored after the answer: wait for its event.
    let mut asked = Vec::new();
    for _ in 0..300 {
        asked.extend(table.events().await);
        if asked.iter().any(|e| e.action == "password_reset.request") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    table.push(
        "they ask for a password reset link",
        only(&asked, "password_reset.request"),
        "+ . + . . . . . . . . . .",
    );
    // The link went by mail (none here): its use is written as the service writes it.
    let reset = AuditEvent {
        seq: 0,
        id: Uuid::now_v7(),
        at: t.clock_now(),
        actor_user_id: Some(newcomer.id),
        actor_org_id: Some(newcomer.org_id),
        action: "password_reset.complete".into(),
        object_type: "user".into(),
        object_id: Some(newcomer.id),
        details: store::Json(json!({"sessions_ended": true})),
    };
    t.app
        .store
        .append_events(std::slice::from_ref(&reset))
        .await
        .unwrap();
    table.events().await;
    table.push("they reset it by the link", reset, "+ . + . . . . . . . . . .");
    let api_token = t
        .post(&w.dev_member, "/api/v1/tokens", json!({"name": "ci"}))
        .await;
    let api_token = id_of(api_token.ok());
    table
        .row(
            "a member makes an API token",
            "token.create",
            "+ . + + . . . . . . . . .",
        )
        .await;
    t.delete(&w.dev_member, &format!("/api/v1/tokens/{api_token}"))
        .await
        .ok();
    table
        .row("and revokes it", "token.revoke", "+ . + + . . . . . . . . .")
        .await;
    let spare = t.org("vendor", "Spare Vendor").await;
    table.events().await;
    let org = format!("/api/v1/organizations/{spare}");
    t.patch(&w.program_admin, &org, json!({"active": false}))
        .await
        .ok();
    table
        .row(
            "an organisation is deactivated",
            "organization.deactivate",
            "+ . . . . . . . . . . . .",
        )
        .await;
    t.patch(&w.program_admin, &org, json!({"active": true}))
        .await
        .ok();
    table
        .row(
            "and activated",
            "organization.activate",
            "+ . . . . . . . . . . . .",
        )
        .await;
}
