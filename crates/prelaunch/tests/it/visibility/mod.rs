//! Who sees which events: every kind of event the service writes, as every persona, through every read path
//! of events (receipts, the audit list of an object, the whole trail). An event is visible only to those who
//! may see every fact in it; to anyone else it is "not found", exactly like an event that does not exist.
//! Also: errors that are our failure are answered as such, not as "not found" or "reload and retry".

use crate::support::*;
use crate::web::{PASSWORD, Web};
use accounts::Secret;
use app::Clock;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use store::AuditEvent;
use uuid::Uuid;

mod failures;
mod ledger_pages;

/// The personas of the table's columns, in order.
const COLUMNS: [&str; 13] = [
    "program admin",
    "coordinator",
    "developer admin",
    "developer member",
    "other developer",
    "agency admin",
    "evaluator",
    "second evaluator",
    "other agency admin",
    "other evaluator",
    "third agency admin",
    "vendor",
    "operator",
];

fn personas(w: &World, third: &Persona) -> Vec<Persona> {
    let all = vec![
        w.program_admin.clone(),
        w.coordinator.clone(),
        w.dev_admin.clone(),
        w.dev_member.clone(),
        w.other_dev.clone(),
        w.agency_admin.clone(),
        w.evaluator.clone(),
        w.evaluator2.clone(),
        w.other_agency_admin.clone(),
        w.other_evaluator.clone(),
        third.clone(),
        w.vendor.clone(),
        w.operator.clone(),
    ];
    for (p, name) in all.iter().zip(COLUMNS) {
        assert_eq!(p.name, name);
    }
    all
}

/// The one event with this action among `events`.
fn only(events: &[AuditEvent], action: &str) -> AuditEvent {
    let found: Vec<&AuditEvent> = events.iter().filter(|e| e.action == action).collect();
    assert_eq!(
        found.len(),
        1,
        "{action} in {:?}",
        events.iter().map(|e| &e.action).collect::<Vec<_>>()
    );
    found[0].clone()
}

/// A problem document without what names the request itself.
fn problem_shape(body: &Value) -> Value {
    let mut body = body.clone();
    if let Some(object) = body.as_object_mut() {
        object.remove("instance");
    }
    body
}

/// Files a notice through the API as `dev` with this body's sharing.
async fn notice_shared(t: &TestApp, dev: &Persona, sharing: Value) -> Uuid {
    let launch = t.clock_now() + chrono::Duration::days(40);
    let mut body = json!({
        "model_name": "Orion", "model_version": "1.0", "planned_launch_at": launch.to_rfc3339(),
        "model_card": "# Orion", "confirm_duplicate": true,
    });
    for (key, value) in sharing.as_object().unwrap() {
        body[key] = value.clone();
    }
    let reply = t.post(dev, "/api/v1/notices", body).await;
    id_of(reply.ok())
}

#[tokio::test]
#[allow(unused_assignments)] // `events!` moves the mark on after its last use too
async fn every_kind_of_event_goes_to_those_who_may_see_every_fact_in_it_and_no_one_else() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let mark = t.audit_seq().await;
    let third_agency = t.org("agency", "Third Agency").await;
    let third = t
        .person(
            "third agency admin",
            "Third Agency",
            "admin@third.example",
            "admin",
        )
        .await;
    let made = t.audit_after(mark).await;
    let everyone = personas(&w, &third);
    // (what, event, who sees it: one column per persona, `+` sees, `.` does not)
    let mut rows: Vec<(&str, AuditEvent, &str)> = Vec::new();
    rows.push((
        "the third agency is created",
        only(&made, "organization.create"),
        "+ . . . . . . . . . + . .",
    ));
    rows.push((
        "its admin is created",
        only(&made, "user.create"),
        "+ . . . . . . . . . + . .",
    ));

    let mut step = t.audit_seq().await;
    macro_rules! events {
        () => {{
            let events = t.audit_after(step).await;
            step = events.last().map_or(step, |e| e.seq);
            events
        }};
    }
    // A row for the one event of `kind` the step just taken wrote.
    macro_rules! row {
        ($label:expr, $kind:expr, $want:expr) => {
            rows.push(($label, only(&events!(), $kind), $want))
        };
    }

    // Notices: a filing names every agency it is shared with.
    let agencies = [w.agency, w.other_agency, third_agency];
    let broad = notice_shared(&t, &w.dev_member, json!({"shared_with": agencies})).await;
    row!(
        "a notice shared with three agencies is filed",
        "notice.file",
        "+ . + + . . . . . . . . ."
    );
    let narrow = notice_shared(&t, &w.dev_admin, json!({"shared_with": [w.agency]})).await;
    row!(
        "a notice shared with one agency is filed",
        "notice.file",
        "+ . + + . + + + . . . . ."
    );
    let open = notice_shared(&t, &w.dev_admin, json!({"shared_with_all": true})).await;
    row!(
        "a notice shared with every agency is filed",
        "notice.file",
        "+ . + + . + + + + + + . ."
    );
    let to = t.clock_now() + chrono::Duration::days(45);
    t.put(
        &w.dev_admin,
        &format!("/api/v1/notices/{broad}/launch"),
        json!({"planned_launch_at": to}),
    )
    .await
    .ok();
    row!("its launch is moved", "notice.moved", "+ . + + . + + + + + + . .");
    t.patch(
        &w.dev_admin,
        &format!("/api/v1/notices/{broad}"),
        json!({"model_card": "# Orion\nEdited.", "model_version": "1.1"}),
    )
    .await
    .ok();
    row!(
        "it is edited (an edit names the agencies before and after, and whose access ended)",
        "notice.edit",
        "+ . + + . . . . . . . . ."
    );

    // Assignments name an agency's evaluator.
    t.assign(&w.agency_admin, broad, &w.evaluator).await;
    row!(
        "an agency assigns its evaluator",
        "assignment.create",
        "+ . + + . + + + . . . . ."
    );
    t.assign(&w.other_agency_admin, broad, &w.other_evaluator).await;
    row!(
        "another agency assigns its own",
        "assignment.create",
        "+ . + + . . . . + + . . ."
    );
    t.assign(&w.agency_admin, broad, &w.evaluator2).await;
    events!();
    let path = format!("/api/v1/notices/{broad}/assignments/{}", w.evaluator2.user_id);
    t.delete(&w.agency_admin, &path).await.ok();
    row!(
        "an agency removes its evaluator",
        "assignment.delete",
        "+ . + + . + + + . . . . ."
    );

    // Findings and assessments name the agencies they are shared with.
    t.file_finding(&w.evaluator, broad, &[w.other_agency]).await;
    row!(
        "a finding shared with one other agency",
        "finding.file",
        "+ . + + . + + + + + . . ."
    );
    t.file_finding(&w.evaluator, broad, &[w.other_agency, third_agency])
        .await;
    row!(
        "a finding shared with two other agencies",
        "finding.file",
        "+ . + + . + + + . . . . ."
    );
    t.file_finding(&w.evaluator, broad, &[]).await;
    row!(
        "a finding kept to its agency",
        "finding.file",
        "+ . + + . + + + . . . . ."
    );
    t.publish_assessment(&w.other_evaluator, broad, &[w.agency]).await;
    row!(
        "an assessment shared with one other agency",
        "assessment.publish",
        "+ . + + . + + + + + . . ."
    );
    t.publish_assessment(&w.other_evaluator, broad, &[w.agency, third_agency])
        .await;
    row!(
        "an assessment shared with two other agencies",
        "assessment.publish",
        "+ . + + . . . . + + . . ."
    );

    // A finding's life: its later events are read as the finding is now (the developer, its agency, and an
    // agency it is shared with alone). A draft assessment's event is its agency's until the draft is published.
    let kept = id_of(&t.file_finding(&w.evaluator, broad, &[]).await);
    events!();
    let finding = |tail: &str| format!("/api/v1/findings/{kept}{tail}");
    t.post(&w.dev_member, &finding("/status"), json!({"status": "disputed"}))
        .await
        .ok();
    row!(
        "the developer disputes a finding kept to its agency",
        "finding.status",
        "+ . + + . + + + . . . . ."
    );
    t.post(
        &w.dev_member,
        &finding("/responses"),
        json!({"body": "Not reproducible."}),
    )
    .await
    .ok();
    row!(
        "and answers in its thread",
        "finding.respond",
        "+ . + + . + + + . . . . ."
    );
    t.patch(&w.evaluator, &finding(""), json!({"severity": "medium"}))
        .await
        .ok();
    row!("its author edits it", "finding.edit", "+ . + + . + + + . . . . .");
    let later = id_of(&t.file_finding(&w.evaluator, broad, &[]).await);
    events!();
    t.post(
        &w.agency_admin,
        &format!("/api/v1/findings/{later}/share"),
        json!({"shared_with": [w.other_agency]}),
    )
    .await
    .ok();
    row!(
        "a finding is shared with one other agency after filing",
        "finding.share",
        "+ . + + . + + + + + . . ."
    );
    let assessments = format!("/api/v1/notices/{broad}/assessments");
    let draft = json!({"levels": {"autonomy": "low"}, "rationale": "So far.", "draft": true});
    t.post(&w.evaluator, &assessments, draft.clone()).await.ok();
    row!(
        "an evaluator drafts an assessment",
        "assessment.draft",
        "+ . . . . + + + . . . . ."
    );
    let published = id_of(t.post(&w.evaluator, &assessments, draft).await.ok());
    let drafted = only(&events!(), "assessment.draft");
    t.post(
        &w.agency_admin,
        &format!("/api/v1/assessments/{published}/publish"),
        json!({}),
    )
    .await
    .ok();
    row!(
        "its agency's admin publishes a draft",
        "assessment.publish",
        "+ . + + . + + + . . . . ."
    );
    rows.push((
        "whose drafting the developer then reads",
        drafted,
        "+ . + + . + + + . . . . .",
    ));

    // Model connections are the developer's; program administrators see what their events say, which is
    // no longer the upstream.
    // An upstream that accepts and never answers, before and after the connection is re-pointed, so that the
    // evaluation run started below is still going when it is cancelled whichever version of the connection it
    // reads (a refused upstream ends it on its own first).
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let connections = format!("/api/v1/notices/{broad}/connections");
    let body = json!({
        "api_style": "openai", "base_url": format!("http://127.0.0.1:{silent_port}/upstream-secret-path"),
        "upstream_model": "orion-internal-7",
        "credential": "sk-test-credential", "headers": {"X-Upstream-Org": "lab-org-1"},
    });
    let connection = id_of(t.post(&w.dev_admin, &connections, body).await.ok());
    row!(
        "a connection is made",
        "connection.create",
        "+ . + + . . . . . . . . ."
    );
    let one = format!("{connections}/{connection}");
    let body = json!({
        "api_style": "openai", "base_url": format!("http://127.0.0.1:{silent_port}/moved"),
        "upstream_model": "orion-internal-8",
    });
    t.put(&w.dev_admin, &one, body).await.ok();
    let update = only(&events!(), "connection.update");
    assert_eq!(update.details.0["upstream_changed"], true, "{}", update.details.0);
    rows.push(("it is re-pointed", update, "+ . + + . . . . . . . . ."));
    // An event written before connection events left the upstream out names it: the developer's only.
    let legacy = AuditEvent {
        seq: 0,
        id: Uuid::now_v7(),
        at: t.clock_now(),
        actor_user_id: Some(w.dev_admin.user_id),
        actor_org_id: Some(w.dev_admin.org_id),
        action: "connection.update".into(),
        object_type: "connection".into(),
        object_id: Some(connection),
        details: store::Json(json!({
            "notice": broad, "model": "orion", "base_url": "http://127.0.0.1:9/upstream-secret-path",
            "upstream_model": "orion-internal-7", "header_names": ["x-upstream-org"],
        })),
    };
    t.app
        .store
        .append_events(std::slice::from_ref(&legacy))
        .await
        .unwrap();
    events!();
    rows.push((
        "an older connection event naming the upstream",
        legacy,
        ". . + + . . . . . . . . .",
    ));

    // Gateway tokens: the developer, the holder, the holder's agency admins.
    let tokens = format!("/api/v1/notices/{broad}/gateway-tokens");
    let token = t.post(&w.evaluator, &tokens, json!({"name": "inspect"})).await;
    let token = id_of(token.ok());
    row!(
        "an evaluator takes a gateway token",
        "gateway_token.create",
        "+ . + + . + + . . . . . ."
    );
    t.delete(&w.agency_admin, &format!("{tokens}/{token}")).await.ok();
    row!(
        "their admin revokes it",
        "gateway_token.revoke",
        "+ . + + . + + . . . . . ."
    );
    // Evaluation runs: an evaluator's work product, seen as their findings are (their agency, the developer).
    let model = t.get(&w.dev_admin, &one).await.ok()["model"].clone();
    let body = json!({"notice_id": broad, "model": model, "suite": "knowledge", "epochs": 50});
    let run = id_of(t.post(&w.evaluator, "/api/v1/eval-runs", body).await.ok());
    let run_readers = "+ . + + . + + + . . . . .";
    rows.push((
        "an evaluator starts a run",
        only(&events!(), "eval_run.start"),
        run_readers,
    ));
    let cancelled = t
        .post(
            &w.agency_admin,
            &format!("/api/v1/eval-runs/{run}/cancel"),
            json!({}),
        )
        .await;
    if !cancelled.status.is_success() {
        // The run ended before it was cancelled: say how, from the run as its evaluator reads it.
        let read = t.get(&w.evaluator, &format!("/api/v1/eval-runs/{run}")).await;
        panic!(
            "cancelling the run: {} {}; the run: {}",
            cancelled.status, cancelled.body, read.body
        );
    }
    rows.push((
        "their admin cancels it",
        only(&events!(), "eval_run.cancel"),
        run_readers,
    ));
    // A run imported from an Inspect log is the importing evaluator's, read as the runs they start.
    let imported = t
        .raw(
            Method::POST,
            &format!("/api/v1/notices/{broad}/eval-runs/import"),
            Some(&w.evaluator.token),
            Some("application/octet-stream"),
            crate::eval_io::tiny_log(),
        )
        .await;
    assert_eq!(imported.status, 201, "{}", imported.body);
    rows.push((
        "an evaluator imports an Inspect log as a run",
        only(&events!(), "eval_run.import"),
        run_readers,
    ));
    // The service completes a run, or stops it when the evaluator's access ends, on the evaluator's behalf.
    for (action, what) in [
        ("eval_run.complete", "a run completes"),
        ("eval_run.stop", "a run stops"),
    ] {
        let event = AuditEvent {
            seq: 0,
            id: Uuid::now_v7(),
            at: t.clock_now(),
            actor_user_id: Some(w.evaluator.user_id),
            actor_org_id: Some(w.evaluator.org_id),
            action: action.into(),
            object_type: "eval_run".into(),
            object_id: Some(run),
            details: store::Json(json!({"notice": broad})),
        };
        t.app
            .store
            .append_events(std::slice::from_ref(&event))
            .await
            .unwrap();
        events!();
        rows.push((what, event, run_readers));
    }
    t.delete(&w.dev_admin, &one).await.ok();
    row!(
        "the connection is removed",
        "connection.delete",
        "+ . + + . . . . . . . . ."
    );

    // People, organisations, sessions and API tokens.
    let invited = t
        .post(
            &w.dev_admin,
            "/api/v1/invitations",
            json!({"org_id": w.dev_admin.org_id, "email": "new@lab.example"}),
        )
        .await;
    let link = invited.ok()["link"].as_str().unwrap().to_owned();
    row!(
        "a developer admin invites a person",
        "invitation.create",
        "+ . + . . . . . . . . . ."
    );
    let token = link.rsplit('/').next().unwrap();
    let newcomer = t
        .app
        .accept_invitation(token, None, "Newcomer", &Secret::new(PASSWORD.into()))
        .await
        .unwrap();
    row!(
        "the person accepts",
        "invitation.accept",
        "+ . + . . . . . . . . . ."
    );
    let web = Web::sign_in(
        &t,
        &crate::web::Member {
            email: "new@lab.example".into(),
        },
    )
    .await;
    row!("they sign in", "session.login", "+ . + . . . . . . . . . .");
    web.submit("/notices", "/logout", &[]).await;
    row!("they sign out", "session.logout", "+ . + . . . . . . . . . .");
    let person = format!("/api/v1/users/{}", newcomer.id);
    t.patch(&w.dev_admin, &person, json!({"active": false}))
        .await
        .ok();
    row!(
        "their admin deactivates them",
        "user.deactivate",
        "+ . + . . . . . . . . . ."
    );
    t.patch(&w.dev_admin, &person, json!({"active": true})).await.ok();
    row!(
        "and activates them again",
        "user.activate",
        "+ . + . . . . . . . . . ."
    );
    t.patch(&w.dev_admin, &person, json!({"role": "admin"}))
        .await
        .ok();
    row!(
        "their admin changes their role",
        "user.role",
        "+ . + . . . . . . . . . ."
    );
    let pending = t
        .post(
            &w.dev_admin,
            "/api/v1/invitations",
            json!({"org_id": w.dev_admin.org_id, "email": "later@lab.example"}),
        )
        .await;
    let pending = id_of(pending.ok());
    events!();
    t.delete(&w.dev_admin, &format!("/api/v1/invitations/{pending}"))
        .await
        .ok();
    row!(
        "the admin revokes an invitation",
        "invitation.revoke",
        "+ . + . . . . . . . . . ."
    );
    let web = Web::sign_in(
        &t,
        &crate::web::Member {
            email: "new@lab.example".into(),
        },
    )
    .await;
    events!();
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
    row!(
        "they change their password",
        "user.password",
        "+ . + . . . . . . . . . ."
    );
    web.submit("/account", "/account/sessions/end-others", &[])
        .await
        .assert(303);
    row!(
        "they sign out their other sessions",
        "session.end",
        "+ . + . . . . . . . . . ."
    );
    t.app
        .request_password_reset("new@lab.example", std::net::Ipv4Addr::LOCALHOST.into())
        .await
        .unwrap();
    // The link is stored after the answer: wait for its event.
    let mut asked = Vec::new();
    for _ in 0..300 {
        asked.extend(events!());
        if asked.iter().any(|e| e.action == "password_reset.request") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    rows.push((
        "they ask for a password reset link",
        only(&asked, "password_reset.request"),
        "+ . + . . . . . . . . . .",
    ));
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
    events!();
    rows.push(("they reset it by the link", reset, "+ . + . . . . . . . . . ."));
    let api_token = t
        .post(&w.dev_member, "/api/v1/tokens", json!({"name": "ci"}))
        .await;
    let api_token = id_of(api_token.ok());
    row!(
        "a member makes an API token",
        "token.create",
        "+ . + + . . . . . . . . ."
    );
    t.delete(&w.dev_member, &format!("/api/v1/tokens/{api_token}"))
        .await
        .ok();
    row!("and revokes it", "token.revoke", "+ . + + . . . . . . . . .");
    let spare = t.org("vendor", "Spare Vendor").await;
    events!();
    let org = format!("/api/v1/organizations/{spare}");
    t.patch(&w.program_admin, &org, json!({"active": false}))
        .await
        .ok();
    row!(
        "an organisation is deactivated",
        "organization.deactivate",
        "+ . . . . . . . . . . . ."
    );
    t.patch(&w.program_admin, &org, json!({"active": true}))
        .await
        .ok();
    row!(
        "and activated",
        "organization.activate",
        "+ . . . . . . . . . . . ."
    );

    // The program and the service.
    let policy = json!({"window_days": 31, "launch_horizon_days": 700, "reminder_days": [3]});
    t.put(&w.program_admin, "/api/v1/policy", policy).await.ok();
    let changes = events!();
    rows.push((
        "the review window is changed",
        only(&changes, "policy.window_days"),
        "+ . . . . . . . . . . . .",
    ));
    rows.push((
        "the launch horizon is changed",
        only(&changes, "policy.launch_horizon_days"),
        "+ . . . . . . . . . . . .",
    ));
    rows.push((
        "the reminder days are changed",
        only(&changes, "policy.reminder_days"),
        "+ . . . . . . . . . . . .",
    ));
    // A job whose attempts are spent, queued again by a program administrator.
    let job = failed_job(&t).await;
    t.post(&w.program_admin, &format!("/api/v1/jobs/{job}/retry"), json!({}))
        .await
        .ok();
    row!(
        "a failed job is queued again",
        "job.retry",
        "+ . . . . . . . . . . . ."
    );

    // An organisation's webhook endpoints: its admins' matter.
    let hook = json!({"url": "https://hooks.example.com/in", "events": ["notice.shared"]});
    let made = t.post(&w.dev_admin, "/api/v1/webhooks", hook).await;
    let hook = format!("/api/v1/webhooks/{}", made.ok()["id"].as_str().unwrap());
    row!(
        "a webhook endpoint is registered",
        "webhook.create",
        "+ . + . . . . . . . . . ."
    );
    t.patch(&w.dev_admin, &hook, json!({"enabled": false})).await.ok();
    row!("and changed", "webhook.update", "+ . + . . . . . . . . . .");
    t.delete(&w.dev_admin, &hook).await;
    row!("and removed", "webhook.delete", "+ . + . . . . . . . . . .");
    // An endpoint failing for a day is disabled by the service (as `webhooks.rs` drives it by the clock); the
    // event is the organisation's.
    let disabled = store::AuditEvent {
        seq: 0,
        id: Uuid::now_v7(),
        at: t.clock.now(),
        actor_user_id: None,
        actor_org_id: None,
        action: "webhook.auto_disable".into(),
        object_type: "organization".into(),
        object_id: Some(w.dev_admin.org_id),
        details: store::Json(json!({"webhook_id": Uuid::now_v7(), "host": "hooks.example.com"})),
    };
    t.app.store.append_events(&[disabled]).await.unwrap();
    row!(
        "an endpoint is disabled for failing",
        "webhook.auto_disable",
        "+ . + . . . . . . . . . ."
    );
    t.app.check_master_key().await.unwrap();
    row!(
        "the master key is registered",
        "master_key.register",
        "+ . . . . . . . . . . . ."
    );
    t.app
        .reseal_secrets(&gateway::MasterKey::generate())
        .await
        .unwrap();
    row!(
        "the master key is rotated",
        "master_key.rotate",
        "+ . . . . . . . . . . . ."
    );
    t.app.register_ledger_key().await.unwrap();
    row!(
        "the ledger's key is registered",
        "ledger.key",
        "+ + + + + + + + + + + + +"
    );

    // The last date changes.
    t.post(&w.dev_admin, &format!("/api/v1/notices/{open}/launch"), json!({}))
        .await
        .ok();
    row!(
        "a notice shared with all launches",
        "notice.launched",
        "+ . + + . + + + + + + . ."
    );
    t.post(
        &w.dev_admin,
        &format!("/api/v1/notices/{narrow}/withdraw"),
        json!({}),
    )
    .await
    .ok();
    row!(
        "a notice shared with one is withdrawn",
        "notice.withdrawn",
        "+ . + + . + + + . . . . ."
    );

    // The clearinghouse: events about a report or a case go to whoever may read it (TLP, the case's embargo),
    // beside the actor and their organisation's admins.
    let vulnerability = |product: &str| {
        json!({
            "kind": "vulnerability", "title": "Heap overflow in png_read_row", "tlp": "amber",
            "description": "ASan: heap-buffer-overflow WRITE in png_read_row at pngread.c:512.",
            "affected": [{"purl": product, "versions": "*"}], "location": "pngread.c:png_read_row",
        })
    };
    let filed = t
        .post(
            &w.dev_member,
            "/api/v1/reports",
            vulnerability("pkg:generic/libpng"),
        )
        .await;
    let report = id_of(filed.ok());
    let case = filed.body["case_id"].as_str().unwrap().to_owned();
    let made = events!();
    rows.push((
        "a report is filed",
        only(&made, "report.file"),
        "+ + + + . . . . . . . . .",
    ));
    rows.push((
        "it opens a case",
        only(&made, "case.open"),
        "+ + + + . . . . . . . . .",
    ));
    let joined = t
        .post(
            &w.operator,
            "/api/v1/reports",
            vulnerability("pkg:generic/libpng"),
        )
        .await;
    let joined = id_of(joined.ok());
    row!(
        "a duplicate joins the case",
        "case.join",
        "+ + + + . . . . . . . . +"
    );
    let attach = format!("/api/v1/reports/{report}/attachments?role=patch&name=fix.diff");
    t.raw(
        reqwest::Method::POST,
        &attach,
        Some(&w.dev_member.token),
        Some("text/plain"),
        b"fix".to_vec(),
    )
    .await
    .ok();
    row!("a file is attached", "report.attach", "+ + + + . . . . . . . . .");
    // TLP:AMBER clients named on the report (by its reporter) and on its case (by a coordinator): an
    // organisation none of the columns belongs to, so what the others read stays as it is.
    let client = t.org("operator", "Client ISAC").await;
    let clients = json!({"organizations": [client]});
    t.put(
        &w.dev_member,
        &format!("/api/v1/reports/{report}/tlp-clients"),
        clients.clone(),
    )
    .await
    .ok();
    row!(
        "clients are named on the report",
        "report.tlp_clients",
        "+ + + + . . . . . . . . ."
    );
    t.put(
        &w.coordinator,
        &format!("/api/v1/cases/{case}/tlp-clients"),
        clients,
    )
    .await
    .ok();
    row!("and on its case", "case.tlp_clients", "+ + + + . . . . . . . . .");
    let finding = id_of(&t.file_finding(&w.evaluator, broad, &[]).await);
    let forwarded = t
        .post(
            &w.evaluator,
            &format!("/api/v1/findings/{finding}/report"),
            json!({"tlp": "amber", "affected": [{"purl": "pkg:generic/orion", "versions": "*"}]}),
        )
        .await;
    forwarded.ok();
    row!(
        "a finding is forwarded",
        "report.forward",
        "+ + . . . + + + . . . . ."
    );
    let other = t
        .post(&w.dev_member, "/api/v1/reports", vulnerability("pkg:npm/other"))
        .await;
    let other_case = other.ok()["case_id"].as_str().unwrap().to_owned();
    events!();
    t.post(
        &w.coordinator,
        &format!("/api/v1/cases/{other_case}/merge"),
        json!({"into": case}),
    )
    .await
    .ok();
    row!(
        "a coordinator merges a case",
        "case.merge",
        "+ + + + . . . . . . . . ."
    );
    t.post(
        &w.coordinator,
        &format!("/api/v1/cases/{case}/split"),
        json!({"reports": [joined]}),
    )
    .await
    .ok();
    row!("and splits one", "case.split", "+ + + + . . . . . . . . .");
    // A case's life, from a report through triage to publication: events of the case go to whoever reads
    // it at the end (TLP:AMBER, published: its notified participants — the reporter's organisation and the
    // vendor — and coordinators); an organisation's own settings to its admins.
    let vendor_policy =
        json!({"ai_found_public": false, "require_reproducer": false, "products": ["pkg:npm/acme"]});
    t.put(&w.vendor, "/api/v1/vendor-policy", vendor_policy)
        .await
        .ok();
    row!(
        "a vendor sets its disclosure policy",
        "vendor_policy.update",
        "+ . . . . . . . . . . + ."
    );
    let filed = t
        .post(
            &w.dev_member,
            "/api/v1/reports",
            vulnerability("pkg:npm/acme/router"),
        )
        .await;
    let acme_report = id_of(filed.ok()).to_owned();
    let acme = filed.body["case_id"].as_str().unwrap().to_owned();
    events!();
    let readers = "+ + + + . . . . . . . + .";
    let step = |to: &str| json!({"to": to, "reason": format!("moving to {to}")});
    let transition = format!("/api/v1/cases/{acme}/transition");
    t.post(&w.coordinator, &transition, step("triaged")).await.ok();
    rows.push((
        "a coordinator triages the case",
        only(&events!(), "case.transition"),
        readers,
    ));
    t.post(&w.coordinator, &transition, step("vendors_notified"))
        .await
        .ok();
    rows.push((
        "the vendors are notified",
        only(&events!(), "case.transition"),
        readers,
    ));
    let participants = format!("/api/v1/cases/{acme}/participants");
    t.post(
        &w.coordinator,
        &participants,
        json!({"org_id": w.operator.org_id, "role": "observer"}),
    )
    .await
    .ok();
    rows.push((
        "an observer is added",
        only(&events!(), "case.participant_add"),
        readers,
    ));
    t.delete(&w.coordinator, &format!("{participants}/{}", w.operator.org_id))
        .await;
    rows.push((
        "and removed",
        only(&events!(), "case.participant_remove"),
        readers,
    ));
    t.put(
        &w.vendor,
        &format!("/api/v1/cases/{acme}/vendors/{}/status", w.vendor.org_id),
        json!({"report_id": acme_report, "status": "fixed", "statement": "Fixed in 1.4.3."}),
    )
    .await
    .ok();
    rows.push((
        "the vendor states its status",
        only(&events!(), "case.vendor_status"),
        readers,
    ));
    t.post(
        &w.vendor,
        &format!("/api/v1/cases/{acme}/posts"),
        json!({"body": "Patched."}),
    )
    .await
    .ok();
    rows.push(("the vendor posts", only(&events!(), "case.post"), readers));
    let ends = (t.clock_now() + chrono::Duration::days(30)).to_rfc3339();
    t.put(
        &w.coordinator,
        &format!("/api/v1/cases/{acme}/embargo"),
        json!({"embargo_ends_at": ends, "reason": "the fix ships sooner"}),
    )
    .await
    .ok();
    rows.push(("the embargo moves", only(&events!(), "case.embargo"), readers));
    t.put(
        &w.coordinator,
        &format!("/api/v1/cases/{acme}/cve"),
        json!({"cve": "CVE-2026-55555"}),
    )
    .await
    .ok();
    rows.push(("the case takes a CVE id", only(&events!(), "case.cve"), readers));
    let subscription = t
        .post(&w.operator, "/api/v1/subscriptions", json!({"sector": "energy"}))
        .await;
    let subscription = id_of(subscription.ok()).to_owned();
    let operator_own = "+ . . . . . . . . . . . +";
    rows.push((
        "an operator subscribes",
        only(&events!(), "subscription.create"),
        operator_own,
    ));
    t.post(&w.coordinator, &transition, step("published")).await.ok();
    let made = events!();
    for kind in ["case.publish", "advisory.publish", "advisory.fanout"] {
        rows.push(("the case is published", only(&made, kind), readers));
    }
    t.delete(&w.operator, &format!("/api/v1/subscriptions/{subscription}"))
        .await;
    rows.push((
        "and unsubscribes",
        only(&events!(), "subscription.delete"),
        operator_own,
    ));
    // The operator posts a STIX object over TAXII and deletes it: events about its own organisation.
    let green = app::clearinghouse::taxii::Collection::all()[1].id;
    let objects = format!("/taxii2/api/collections/{green}/objects/");
    let tool = "tool--6c1f3d2e-8a4b-4c5d-9e6f-7a8b9c0d1e2f";
    let envelope = json!({"objects": [{"type": "tool", "spec_version": "2.1", "id": tool,
        "created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z", "name": "scanner"}]});
    let taxii = "application/taxii+json;version=2.1";
    let posted = t
        .raw(
            reqwest::Method::POST,
            &objects,
            Some(&w.operator.token),
            Some(taxii),
            envelope.to_string().into_bytes(),
        )
        .await;
    assert_eq!(posted.status.as_u16(), 202, "{:?}", posted.body);
    rows.push((
        "an operator posts over TAXII",
        only(&events!(), "taxii.post"),
        operator_own,
    ));
    let deleted = t
        .raw(
            reqwest::Method::DELETE,
            &format!("{objects}{tool}/"),
            Some(&w.operator.token),
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(deleted.status.as_u16(), 200);
    rows.push((
        "and deletes the object",
        only(&events!(), "taxii.delete"),
        operator_own,
    ));

    // A coordinator defines a TAXII sharing community and changes it; a program administrator defines a
    // collection by a filter and removes it. The details name member organisations: program administrators.
    let community = json!({"name": "Grid sharing", "organizations": [w.operator.org_id, w.vendor.org_id]});
    let made = t
        .post(&w.coordinator, "/api/v1/taxii/communities", community)
        .await;
    let community = format!("/api/v1/taxii/communities/{}", made.ok()["id"].as_str().unwrap());
    let coordinator_own = "+ + . . . . . . . . . . .";
    rows.push((
        "a coordinator defines a sharing community",
        only(&events!(), "taxii_community.create"),
        coordinator_own,
    ));
    t.put(
        &w.coordinator,
        &community,
        json!({"name": "Grid sharing", "organizations": [w.operator.org_id]}),
    )
    .await
    .ok();
    rows.push((
        "and changes its members",
        only(&events!(), "taxii_community.update"),
        coordinator_own,
    ));
    let made = t
        .post(
            &w.program_admin,
            "/api/v1/taxii/collections",
            json!({"title": "Indicators", "types": ["indicator"], "tlp_ceiling": "green"}),
        )
        .await;
    let filtered = format!("/api/v1/taxii/collections/{}", made.ok()["id"].as_str().unwrap());
    row!(
        "a program administrator defines a TAXII collection",
        "taxii_collection.create",
        "+ . . . . . . . . . . . ."
    );
    assert_eq!(t.delete(&w.program_admin, &filtered).await.status.as_u16(), 204);
    row!(
        "and removes it",
        "taxii_collection.delete",
        "+ . . . . . . . . . . . ."
    );

    let policy =
        json!({"dedup_join_threshold": 0.9, "dedup_suggest_threshold": 0.4, "intake_reports_per_day": 400});
    t.put(&w.program_admin, "/api/v1/policy", policy).await.ok();
    let made = events!();
    for kind in [
        "policy.dedup_join_threshold",
        "policy.dedup_suggest_threshold",
        "policy.intake_reports_per_day",
    ] {
        rows.push((
            "the intake policy changes",
            only(&made, kind),
            "+ . . . . . . . . . . . .",
        ));
    }

    // A coordinator registers a federation peer, changes and removes it: the clearinghouse's settings, read by
    // program administrators (the credential is in no event).
    let peer = t
        .post(
            &w.coordinator,
            "/api/v1/federation/peers",
            json!({"name": "Peer", "api_root": "http://127.0.0.1:9/taxii2/api/",
                   "collection_id": Uuid::new_v4(), "token": "tok_peer", "tlp": "green",
                   "interval_seconds": 3600}),
        )
        .await;
    let peer = peer.ok()["id"].as_str().unwrap().to_owned();
    t.patch(
        &w.coordinator,
        &format!("/api/v1/federation/peers/{peer}"),
        json!({"enabled": false}),
    )
    .await
    .ok();
    t.delete(&w.coordinator, &format!("/api/v1/federation/peers/{peer}"))
        .await;
    let made = events!();
    for (row, kind) in [
        (
            "a coordinator registers a federation peer",
            "federation_peer.create",
        ),
        ("changes it", "federation_peer.update"),
        ("and removes it", "federation_peer.delete"),
    ] {
        // Program administrators, and the coordinator who acted (every actor reads their own events).
        rows.push((row, only(&made, kind), "+ + . . . . . . . . . . ."));
    }

    // Every kind the policy names is in the table.
    let covered: BTreeSet<&str> = rows.iter().map(|(_, e, _)| e.action.as_str()).collect();
    let kinds: BTreeSet<&str> = app::policy::EVENT_KINDS.iter().map(|(kind, _)| *kind).collect();
    let untested: Vec<&&str> = kinds.difference(&covered).collect();
    assert!(untested.is_empty(), "kinds without a row: {untested:?}");

    let missing = t
        .get(
            &w.program_admin,
            &format!("/api/v1/audit/{}/receipt", Uuid::now_v7()),
        )
        .await;
    let not_found = problem_shape(&missing.body);
    let key = ledger::VerifierKey::parse(&t.app.verifier_key()).unwrap();
    let mut whole = BTreeSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/audit?limit=200&cursor={c}"),
            None => "/api/v1/audit?limit=200".to_owned(),
        };
        let page = t.get(&w.program_admin, &path).await;
        for event in page.ok()["items"].as_array().unwrap() {
            whole.insert(event["id"].as_str().unwrap().to_owned());
            let details = event["details"].to_string();
            for secret in [
                "upstream-secret-path",
                "orion-internal",
                "x-upstream-org",
                "sk-test-credential",
            ] {
                assert!(
                    !details.contains(secret),
                    "the whole trail shows {secret}: {details}"
                );
            }
        }
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }

    for (what, event, expected) in &rows {
        let expected: Vec<bool> = expected.split_whitespace().map(|c| c == "+").collect();
        assert_eq!(expected.len(), COLUMNS.len(), "{what}");
        let receipt = format!("/api/v1/audit/{}/receipt", event.id);
        for (who, sees) in everyone.iter().zip(&expected) {
            let reply = t
                .client
                .get(t.url(&receipt))
                .bearer_auth(&who.token)
                .send()
                .await
                .unwrap();
            let status = reply.status().as_u16();
            let text = reply.text().await.unwrap();
            if *sees {
                assert_eq!(
                    status, 200,
                    "{what}: {} should have the receipt: {text}",
                    who.name
                );
                let receipt = ledger::receipt::Receipt::parse(&text).unwrap();
                receipt.verify(&key).unwrap();
                assert_eq!(
                    receipt.event,
                    event.canonical_bytes(),
                    "{what}: the receipt holds the event as committed"
                );
            } else {
                assert_eq!(status, 404, "{what}: {} should not have the receipt", who.name);
                let body: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(
                    problem_shape(&body),
                    not_found,
                    "{what}: as for an event that does not exist"
                );
            }
            if let Some(object) = event.object_id {
                let listed = t
                    .get(who, &format!("/api/v1/audit?object_id={object}&limit=200"))
                    .await;
                let ids: Vec<&str> = listed.ok()["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e["id"].as_str().unwrap())
                    .collect();
                assert_eq!(
                    ids.contains(&event.id.to_string().as_str()),
                    *sees,
                    "{what}: the events of {object} as {}",
                    who.name
                );
            }
        }
        assert_eq!(
            whole.contains(&event.id.to_string()),
            expected[0],
            "{what}: in the whole trail"
        );
    }

    // The whole trail stays the program administrators'.
    for who in &everyone[1..] {
        t.get(who, "/api/v1/audit").await.problem(403, "forbidden");
    }
}
