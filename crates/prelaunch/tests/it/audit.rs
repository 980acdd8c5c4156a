//! The audit trail is atomic with the changes it records: every successful change writes exactly one event
//! naming its actor, action and object; a change that fails leaves neither change nor event; and at the store
//! level an event never outlives a failed change, nor a change a failed event.

use crate::support::*;
use chrono::Duration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use store::{AuditEvent, Json, LaunchChange, NoticeDatesUpdate, Organization, User};
use uuid::Uuid;

/// Follows the trail from where it was when the test last looked.
struct Trail<'a> {
    t: &'a TestApp,
    seq: i64,
}

impl<'a> Trail<'a> {
    async fn start(t: &'a TestApp) -> Trail<'a> {
        Trail {
            t,
            seq: t.audit_seq().await,
        }
    }

    /// Asserts that exactly one event was written since the last look, by `actor`, doing `action` to the
    /// object, at the clock's now; returns its details.
    async fn one(
        &mut self,
        actor: &Persona,
        action: &str,
        object_type: &str,
        object_id: Option<Uuid>,
    ) -> Value {
        let events = self.t.audit_after(self.seq).await;
        let summary: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(summary, [action], "exactly one event for {action}");
        let event = &events[0];
        assert_eq!(event.actor_user_id, Some(actor.user_id), "{action}: actor");
        assert_eq!(
            event.actor_org_id,
            Some(actor.org_id),
            "{action}: actor's organisation"
        );
        assert_eq!(event.object_type, object_type, "{action}: object type");
        assert_eq!(event.object_id, object_id, "{action}: object");
        assert_eq!(event.at, self.t.clock_now(), "{action}: time");
        self.seq = event.seq;
        event.details.0.clone()
    }

    async fn none(&self, what: &str) {
        let events = self.t.audit_after(self.seq).await;
        assert!(events.is_empty(), "{what} wrote {events:?}");
    }
}

#[tokio::test]
async fn every_change_writes_one_event_naming_actor_action_and_object() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let mut trail = Trail::start(&t).await;
    let tick = || t.clock.advance(Duration::minutes(7));

    tick();
    let org = t
        .post(
            &w.program_admin,
            "/api/v1/organizations",
            json!({"kind": "agency", "name": "Third Agency"}),
        )
        .await;
    let details = trail
        .one(
            &w.program_admin,
            "organization.create",
            "organization",
            Some(id_of(org.ok())),
        )
        .await;
    assert_eq!(details, json!({"kind": "agency", "name": "Third Agency"}));

    tick();
    t.put(&w.program_admin, "/api/v1/policy", json!({"window_days": 45}))
        .await
        .ok();
    let details = trail
        .one(&w.program_admin, "policy.window_days", "policy", None)
        .await;
    assert_eq!(details, json!({"previous": 30, "window_days": 45}));

    tick();
    let notice = id_of(&t.file_notice(&w.dev_admin, 60, &[w.agency]).await);
    let details = trail
        .one(&w.dev_admin, "notice.file", "notice", Some(notice))
        .await;
    assert_eq!(details["window_days"], 45);
    assert_eq!(details["shared_with"], json!([w.agency]));

    tick();
    let to = t.clock_now() + Duration::days(50);
    t.put(
        &w.dev_member,
        &format!("/api/v1/notices/{notice}/launch"),
        json!({"planned_launch_at": to.to_rfc3339(), "reason": "ready sooner"}),
    )
    .await
    .ok();
    let details = trail
        .one(&w.dev_member, "notice.moved", "notice", Some(notice))
        .await;
    assert_eq!(details["reason"], "ready sooner");
    assert_eq!(details["new_launch_at"], json!(to));

    for evaluator in [&w.evaluator, &w.evaluator2] {
        tick();
        t.assign(&w.agency_admin, notice, evaluator).await;
        let details = trail
            .one(&w.agency_admin, "assignment.create", "notice", Some(notice))
            .await;
        assert_eq!(details["user"], json!(evaluator.user_id));
    }
    tick();
    let path = format!("/api/v1/notices/{notice}/assignments/{}", w.evaluator2.user_id);
    assert_eq!(
        t.delete(&w.agency_admin, &path).await.status,
        StatusCode::NO_CONTENT
    );
    let details = trail
        .one(&w.agency_admin, "assignment.delete", "notice", Some(notice))
        .await;
    assert_eq!(details["user"], json!(w.evaluator2.user_id));

    tick();
    let finding = id_of(&t.file_finding(&w.evaluator, notice, &[]).await);
    let details = trail
        .one(&w.evaluator, "finding.file", "finding", Some(finding))
        .await;
    assert_eq!(details["notice"], json!(notice));

    tick();
    let assessment = id_of(&t.publish_assessment(&w.evaluator, notice, &[]).await);
    let details = trail
        .one(&w.evaluator, "assessment.publish", "assessment", Some(assessment))
        .await;
    assert_eq!(details["notice"], json!(notice));

    tick();
    let launch = format!("/api/v1/notices/{notice}/launch");
    t.call(Method::POST, &launch, Some(&w.dev_admin.token), None)
        .await
        .ok();
    trail
        .one(&w.dev_admin, "notice.launched", "notice", Some(notice))
        .await;

    tick();
    let other = id_of(&t.file_notice(&w.dev_admin, 60, &[w.agency]).await);
    trail
        .one(&w.dev_admin, "notice.file", "notice", Some(other))
        .await;
    tick();
    t.post(
        &w.dev_member,
        &format!("/api/v1/notices/{other}/withdraw"),
        json!({"reason": "retired"}),
    )
    .await
    .ok();
    let details = trail
        .one(&w.dev_member, "notice.withdrawn", "notice", Some(other))
        .await;
    assert_eq!(details["reason"], "retired");

    tick();
    let member = format!("/api/v1/users/{}", w.dev_member.user_id);
    t.patch(&w.dev_admin, &member, json!({"active": false}))
        .await
        .ok();
    trail
        .one(
            &w.dev_admin,
            "user.deactivate",
            "user",
            Some(w.dev_member.user_id),
        )
        .await;
    tick();
    t.patch(&w.program_admin, &member, json!({"active": true}))
        .await
        .ok();
    trail
        .one(
            &w.program_admin,
            "user.activate",
            "user",
            Some(w.dev_member.user_id),
        )
        .await;

    tick();
    let token = t.post(&w.vendor, "/api/v1/tokens", json!({"name": "ci"})).await;
    let token = id_of(token.ok());
    trail
        .one(&w.vendor, "token.create", "api_token", Some(token))
        .await;
    tick();
    t.delete(&w.vendor, &format!("/api/v1/tokens/{token}")).await.ok();
    trail
        .one(&w.vendor, "token.revoke", "api_token", Some(token))
        .await;

    tick();
    let invitation = json!({"org_id": w.dev_admin.org_id, "email": "new@lab.example"});
    t.post(&w.dev_admin, "/api/v1/invitations", invitation).await.ok();
    trail
        .one(
            &w.dev_admin,
            "invitation.create",
            "organization",
            Some(w.dev_admin.org_id),
        )
        .await;

    tick();
    let vendor_org = format!("/api/v1/organizations/{}", w.vendor.org_id);
    t.patch(&w.program_admin, &vendor_org, json!({"active": false}))
        .await
        .ok();
    trail
        .one(
            &w.program_admin,
            "organization.deactivate",
            "organization",
            Some(w.vendor.org_id),
        )
        .await;

    // Reads change nothing and record nothing.
    for path in [
        "/api/v1/notices".to_owned(),
        format!("/api/v1/notices/{notice}"),
        format!("/api/v1/notices/{notice}/history"),
        format!("/api/v1/findings/{finding}"),
        "/api/v1/users".to_owned(),
        "/api/v1/audit".to_owned(),
    ] {
        t.get(&w.program_admin, &path).await;
        t.get(&w.dev_admin, &path).await;
    }
    trail.none("reading").await;

    // The API's view of the trail, filtered to the notice, is the store's.
    let listed = t
        .get(&w.program_admin, &format!("/api/v1/audit?object_id={notice}"))
        .await;
    let actions: Vec<&str> = listed.ok()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "notice.file",
            "notice.moved",
            "assignment.create",
            "assignment.create",
            "assignment.delete",
            "notice.launched"
        ]
    );
}

#[tokio::test]
async fn a_change_that_fails_leaves_neither_change_nor_event() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let notice = id_of(&t.file_notice(&w.dev_admin, 40, &[w.agency]).await);
    t.assign(&w.agency_admin, notice, &w.evaluator).await;
    let token = t
        .post(&w.dev_admin, "/api/v1/tokens", json!({"name": "old"}))
        .await;
    let token = id_of(token.ok());
    t.delete(&w.dev_admin, &format!("/api/v1/tokens/{token}"))
        .await
        .ok();

    // Each refused over HTTP with this status, or by the operator's commands with an error.
    let before = t.db_counts().await;
    let cases: Vec<(&str, u16)> = vec![
        (
            "a second organisation with a taken name (any case)",
            t.post(
                &w.program_admin,
                "/api/v1/organizations",
                json!({"kind": "developer", "name": "frontier LAB"}),
            )
            .await
            .status
            .as_u16(),
        ),
        (
            "the same evaluator assigned twice",
            t.post(
                &w.agency_admin,
                &format!("/api/v1/notices/{notice}/assignments"),
                json!({"user_id": w.evaluator.user_id}),
            )
            .await
            .status
            .as_u16(),
        ),
        (
            "a revoked token revoked again",
            t.delete(&w.dev_admin, &format!("/api/v1/tokens/{token}"))
                .await
                .status
                .as_u16(),
        ),
        (
            "an invitation for a person who exists",
            t.post(
                &w.dev_admin,
                "/api/v1/invitations",
                json!({"org_id": w.dev_admin.org_id, "email": w.dev_member.email}),
            )
            .await
            .status
            .as_u16(),
        ),
        (
            "an admin deactivating themself",
            t.patch(
                &w.dev_admin,
                &format!("/api/v1/users/{}", w.dev_admin.user_id),
                json!({"active": false}),
            )
            .await
            .status
            .as_u16(),
        ),
    ];
    for (what, status) in cases {
        assert_eq!(status, 409, "{what}");
    }
    let duplicate = t
        .app
        .provision_user("Other Lab", &w.dev_member.email, "member")
        .await;
    assert!(
        matches!(duplicate, Err(app::AppError::Conflict(_))),
        "a second person with the same e-mail: {:?}",
        duplicate.map(|(u, _)| u.id)
    );
    let duplicate = t.app.provision_org("agency", "Cyber Evaluation Agency").await;
    assert!(matches!(duplicate, Err(app::AppError::Conflict(_))));
    assert_eq!(t.db_counts().await, before, "a refused change left a trace");
}

#[tokio::test]
async fn racing_date_changes_commit_one_change_and_one_event() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    for round in 0..8 {
        let notice = id_of(&t.file_notice(&w.dev_admin, 20, &[w.agency]).await);
        let base = format!("/api/v1/notices/{notice}");
        let to = (t.clock_now() + Duration::days(25)).to_rfc3339();
        let launch = format!("{base}/launch");
        let withdraw = format!("{base}/withdraw");
        let (launched, withdrawn) = tokio::join!(
            t.call(Method::POST, &launch, Some(&w.dev_admin.token), None),
            t.call(Method::POST, &withdraw, Some(&w.dev_member.token), None),
        );
        let moved = t
            .put(&w.dev_admin, &launch, json!({ "planned_launch_at": to }))
            .await;
        let replies = [("launched", &launched), ("withdrawn", &withdrawn)];
        let winners: Vec<&str> = replies
            .iter()
            .filter(|(_, r)| r.status == StatusCode::OK)
            .map(|(kind, _)| *kind)
            .collect();
        assert_eq!(
            winners.len(),
            1,
            "round {round}: exactly one closes the notice: {replies:?}"
        );
        for (_, reply) in replies.iter().filter(|(_, r)| r.status != StatusCode::OK) {
            reply.problem(409, "conflict");
        }
        moved.problem(409, "conflict");
        let state = t.get(&w.dev_admin, &base).await;
        assert_eq!(state.ok()["state"], winners[0], "round {round}");
        let history = t.get(&w.dev_admin, &format!("{base}/history")).await;
        let kinds: Vec<&str> = history.ok()["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["filed", winners[0]], "round {round}");
        let events = t
            .get(&w.program_admin, &format!("/api/v1/audit?object_id={notice}"))
            .await;
        let actions: Vec<&str> = events.ok()["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(
            actions,
            ["notice.file", &format!("notice.{}", winners[0])],
            "round {round}"
        );
        t.clock.advance(Duration::hours(1));
    }
}

fn event(t: &TestApp, action: &str, object_type: &str, object_id: Uuid) -> AuditEvent {
    AuditEvent {
        seq: 0,
        id: Uuid::now_v7(),
        at: t.clock_now(),
        actor_user_id: None,
        actor_org_id: None,
        action: action.into(),
        object_type: object_type.into(),
        object_id: Some(object_id),
        details: Json(json!({})),
    }
}

fn org(t: &TestApp, name: &str) -> Organization {
    Organization {
        id: Uuid::now_v7(),
        kind: store::OrgKind::Vendor,
        name: name.into(),
        active: true,
        created_at: t.clock_now(),
    }
}

#[tokio::test]
async fn the_store_keeps_no_event_without_its_change_and_no_change_without_its_event() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let store = &t.app.store;
    let notice = id_of(&t.file_notice(&w.dev_admin, 40, &[w.agency]).await);
    t.post(
        &w.dev_admin,
        &format!("/api/v1/notices/{notice}/withdraw"),
        json!({}),
    )
    .await
    .ok();
    let token = t
        .post(&w.dev_admin, "/api/v1/tokens", json!({"name": "old"}))
        .await;
    let token = id_of(token.ok());
    t.delete(&w.dev_admin, &format!("/api/v1/tokens/{token}"))
        .await
        .ok();
    let now = t.clock_now();

    // Each change fails after its event was written in the same transaction: the event must go with it.
    let taken = org(&t, "Frontier Lab");
    let missing = Uuid::now_v7();
    let person = User {
        id: Uuid::now_v7(),
        org_id: w.dev_admin.org_id,
        email: w.dev_member.email.clone(),
        display_name: "Twin".into(),
        role: store::Role::Member,
        password_hash: None,
        active: true,
        created_at: now,
    };
    let relaunch = NoticeDatesUpdate {
        notice_id: notice,
        planned_launch_at: now + Duration::days(40),
        launched_at: Some(now),
        withdrawn_at: None,
        withdraw_reason: None,
        window_opens_at: now,
        window_closes_at: now,
    };
    let change = LaunchChange {
        id: Uuid::now_v7(),
        notice_id: notice,
        kind: store::LaunchChangeKind::Launched,
        previous_launch_at: None,
        new_launch_at: now,
        reason: None,
        changed_by: None,
        changed_at: now,
        changes: None,
    };
    let counts = t.db_counts().await;
    let events = [
        event(&t, "organization.create", "organization", taken.id),
        event(&t, "user.create", "user", person.id),
        event(&t, "organization.deactivate", "organization", missing),
        event(&t, "notice.launched", "notice", notice),
        event(&t, "assignment.delete", "notice", notice),
        event(&t, "token.revoke", "api_token", token),
    ];
    let [
        org_created,
        user_created,
        org_deactivated,
        launched,
        unassigned,
        revoked,
    ] = &events;
    let failing = [
        (
            "an organisation with a taken name",
            store.create_org(&taken, org_created).await,
        ),
        (
            "a person with a taken e-mail address",
            store.create_user(&person, user_created).await,
        ),
        (
            "deactivating an organisation that does not exist",
            store.set_org_active(missing, false, org_deactivated).await,
        ),
        (
            "launching a withdrawn notice",
            store.change_notice_dates(&relaunch, &change, launched).await,
        ),
        (
            "removing an assignment that does not exist",
            store.unassign(notice, missing, unassigned).await,
        ),
        (
            "revoking a revoked token",
            store.revoke_token(token, now, revoked).await,
        ),
    ];
    let trail = t.audit_after(0).await;
    for ((what, result), event) in failing.iter().zip(&events) {
        assert!(result.is_err(), "{what} should fail");
        assert!(
            !trail.iter().any(|e| e.id == event.id),
            "the event of a failed change was kept: {what}"
        );
    }
    assert_eq!(t.db_counts().await, counts);

    // The other way round: when the event cannot be written, the change is not kept either.
    let reused = trail.last().unwrap().id;
    let fresh = org(&t, "Unrecorded Vendor");
    let mut unrecordable = event(&t, "organization.create", "organization", fresh.id);
    unrecordable.id = reused;
    assert!(store.create_org(&fresh, &unrecordable).await.is_err());
    assert!(
        store.get_org(fresh.id).await.unwrap().is_none(),
        "a change without its event was kept"
    );
    assert_eq!(t.db_counts().await, counts);

    // And when both succeed, both are there, once.
    let recorded = org(&t, "Recorded Vendor");
    let ok = event(&t, "organization.create", "organization", recorded.id);
    store.create_org(&recorded, &ok).await.unwrap();
    assert!(store.get_org(recorded.id).await.unwrap().is_some());
    let kept: Vec<AuditEvent> = t
        .audit_after(0)
        .await
        .into_iter()
        .filter(|e| e.id == ok.id)
        .collect();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].object_id, Some(recorded.id));
}
