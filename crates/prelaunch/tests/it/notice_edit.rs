//! Editing a notice after filing (`PATCH /api/v1/notices/{id}`): each field, the invalid values named, who may
//! edit, the history and the ledger; narrowing the sharing ends the left-out agencies' access at once (their
//! evaluators' assignments, gateway tokens and gateway calls) and tells those evaluators; filing a model and
//! version again asks for confirmation.

use crate::gateway::{chat, chat_body, connection_body, issue, refused};
use crate::notifications::{deliver, inbox};
use crate::support::*;
use crate::upstream::Upstream;
use serde_json::{Value, json};
use uuid::Uuid;

fn notice_path(notice: Uuid) -> String {
    format!("/api/v1/notices/{notice}")
}

/// The notice's history as `who` reads it: the entries of kind `edited`, with what each changed.
async fn edits(t: &TestApp, who: &Persona, notice: Uuid) -> Vec<Value> {
    let history = t.get(who, &format!("{}/history", notice_path(notice))).await;
    history.ok()["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "edited")
        .map(|c| c["changes"].clone())
        .collect()
}

/// An edit tried: the case, who, the body, the status, the field a refusal names, what the notice then says.
type EditCase<'a> = (&'a str, &'a Persona, Value, u16, Option<&'a str>, Value);

#[tokio::test]
async fn each_field_is_edited_validated_and_recorded_in_the_history_and_the_ledger() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let notice = id_of(&t.file_notice(&w.dev_admin, 40, &[w.agency]).await);
    t.assign(&w.agency_admin, notice, &w.evaluator).await;
    let path = notice_path(notice);
    let vendor = w.vendor.org_id;
    let long_card = "x".repeat(100_001);

    // (case, who, body, status, the field a refusal names, what the notice then says)
    #[rustfmt::skip]
    let cases: Vec<EditCase<'_>> = vec![
        ("the version", &w.dev_admin, json!({"model_version": "1.1"}), 200, None,
            json!({"model_version": "1.1"})),
        ("the model card, by a member", &w.dev_member, json!({"model_card": "# Orion\nNew card."}), 200, None,
            json!({"model_card": "# Orion\nNew card."})),
        ("an agency more", &w.dev_admin, json!({"shared_with": [w.agency, w.other_agency]}), 200, None,
            json!({"shared_with": sorted(&[w.agency, w.other_agency]), "shared_with_all": false})),
        ("every agency", &w.dev_admin, json!({"shared_with_all": true}), 200, None,
            json!({"shared_with": [], "shared_with_all": true})),
        ("back to one agency", &w.dev_admin, json!({"shared_with": [w.agency]}), 200, None,
            json!({"shared_with": [w.agency], "shared_with_all": false})),
        ("nothing at all", &w.dev_admin, json!({}), 422, Some("model_card"), json!({})),
        ("a blank version", &w.dev_admin, json!({"model_version": "   "}), 422, Some("model_version"), json!({})),
        ("a control character in the version", &w.dev_admin, json!({"model_version": "1\u{7}"}), 422,
            Some("model_version"), json!({})),
        ("a model card too long", &w.dev_admin, json!({"model_card": long_card}), 422, Some("model_card"),
            json!({})),
        ("a vendor as an agency", &w.dev_admin, json!({"shared_with": [w.agency, vendor]}), 422,
            Some("shared_with[1]"), json!({})),
        ("no agency", &w.dev_admin, json!({"shared_with": []}), 422, Some("shared_with"), json!({})),
        ("agencies and every agency", &w.dev_admin, json!({"shared_with": [w.agency], "shared_with_all": true}),
            422, Some("shared_with"), json!({})),
        ("every agency off without naming one", &w.dev_admin, json!({"shared_with_all": false}), 200, None,
            json!({"shared_with": [w.agency]})),
        ("an unknown field", &w.dev_admin, json!({"model_name": "Vega"}), 422, Some("model_name"), json!({})),
        ("a wrong type", &w.dev_admin, json!({"shared_with_all": "yes"}), 422, Some("shared_with_all"), json!({})),
        ("another developer", &w.other_dev, json!({"model_version": "9"}), 404, None, json!({})),
        ("the agency's admin", &w.agency_admin, json!({"model_version": "9"}), 403, None, json!({})),
        ("its evaluator", &w.evaluator, json!({"model_version": "9"}), 403, None, json!({})),
        ("another agency's admin", &w.other_agency_admin, json!({"model_version": "9"}), 404, None, json!({})),
        ("a program administrator", &w.program_admin, json!({"model_version": "9"}), 404, None, json!({})),
    ];
    for (case, who, body, status, field, then) in &cases {
        let before = t.get(&w.dev_admin, &path).await.ok().clone();
        let reply = t.patch(who, &path, body.clone()).await;
        assert_eq!(reply.status.as_u16(), *status, "{case}: {}", reply.body);
        if let Some(field) = field {
            assert_eq!(reply.body["field"], *field, "{case}: {}", reply.body);
        }
        let after = t.get(&w.dev_admin, &path).await.ok().clone();
        if *status == 200 {
            for (key, value) in then.as_object().unwrap() {
                assert_eq!(&after[key], value, "{case}: {key} in {after}");
            }
        } else {
            assert_eq!(before, after, "{case}: a refused edit changed the notice");
        }
    }

    // The history holds each edit, oldest first: old and new for the short fields, the card as changed.
    let seen = edits(&t, &w.dev_admin, notice).await;
    assert_eq!(
        seen,
        vec![
            json!([{"field": "model_version", "from": "1.0", "to": "1.1"}]),
            json!([{"field": "model_card"}]),
            json!([{"field": "shared_with", "added": [w.other_agency], "removed": []}]),
            json!([
                {"field": "shared_with_all", "from": false, "to": true},
                {"field": "shared_with", "added": [], "removed": sorted(&[w.agency, w.other_agency])},
            ]),
            json!([
                {"field": "shared_with_all", "from": true, "to": false},
                {"field": "shared_with", "added": [w.agency], "removed": []},
            ]),
        ]
    );
    // An agency reads the edits of what it sees, never whom else the notice is shared with.
    assert_eq!(
        edits(&t, &w.evaluator, notice).await,
        vec![
            json!([{"field": "model_version", "from": "1.0", "to": "1.1"}]),
            json!([{"field": "model_card"}]),
        ]
    );

    // One ledger entry per edit, naming what changed and what access ended; the agency's evaluator stayed.
    let trail = t
        .get(&w.dev_admin, &format!("/api/v1/audit?object_id={notice}"))
        .await;
    let edits_in_trail: Vec<&Value> = trail.ok()["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "notice.edit")
        .collect();
    assert_eq!(edits_in_trail.len(), 5, "{}", trail.body);
    for event in &edits_in_trail {
        assert_eq!(event["details"]["access_ended"], json!([]), "{event}");
        assert!(event["details"]["changes"].is_array(), "{event}");
        assert!(
            !event["details"].to_string().contains("New card"),
            "the ledger names the card as changed, not its text: {event}"
        );
    }
    let assignments = t.get(&w.dev_admin, &format!("{path}/assignments")).await;
    assert_eq!(assignments.ok()["items"].as_array().unwrap().len(), 1);
    // An evaluator reads no edit event (it names the agencies), a program administrator does.
    let as_evaluator = t
        .get(&w.evaluator, &format!("/api/v1/audit?object_id={notice}"))
        .await;
    assert!(
        !as_evaluator.body.to_string().contains("notice.edit"),
        "{}",
        as_evaluator.body
    );
    let as_admin = t
        .get(&w.program_admin, &format!("/api/v1/audit?object_id={notice}"))
        .await;
    assert!(as_admin.ok().to_string().contains("notice.edit"));

    // A withdrawn notice is not edited.
    t.post(&w.dev_admin, &format!("{path}/withdraw"), json!({}))
        .await
        .ok();
    let reply = t.patch(&w.dev_admin, &path, json!({"model_version": "2"})).await;
    reply.problem(409, "conflict");
}

fn sorted(ids: &[Uuid]) -> Vec<Uuid> {
    let mut ids = ids.to_vec();
    ids.sort();
    ids
}

/// A notice in review with the given sharing, a connection, each agency's evaluator assigned and holding a
/// gateway token that works: (notice, the evaluator's token, the other evaluator's token if shared with them).
async fn notice_in_use(
    t: &TestApp,
    w: &World,
    up: &Upstream,
    sharing: Value,
) -> (Uuid, String, Option<String>) {
    let mut body = json!({
        "model_name": "Orion", "model_version": "1.0", "model_card": "# Orion", "confirm_duplicate": true,
        "planned_launch_at": (t.clock_now() + chrono::Duration::days(10)).to_rfc3339(),
    });
    for (key, value) in sharing.as_object().unwrap() {
        body[key] = value.clone();
    }
    let notice = id_of(t.post(&w.dev_admin, "/api/v1/notices", body).await.ok());
    t.post(
        &w.dev_admin,
        &format!("/api/v1/notices/{notice}/connections"),
        connection_body(up, json!({})),
    )
    .await
    .ok();
    t.assign(&w.agency_admin, notice, &w.evaluator).await;
    let token = issue(t, &w.evaluator, &notice.to_string(), json!({"name": "laptop"})).await;
    let shared_with_other = t.get(&w.other_evaluator, &notice_path(notice)).await.status == 200;
    let other = match shared_with_other {
        true => {
            t.assign(&w.other_agency_admin, notice, &w.other_evaluator).await;
            Some(
                issue(
                    t,
                    &w.other_evaluator,
                    &notice.to_string(),
                    json!({"name": "desk"}),
                )
                .await,
            )
        }
        false => None,
    };
    assert_eq!(chat(t, &token, &chat_body("hello")).await.status, 200);
    (notice, token, other)
}

#[tokio::test]
async fn narrowing_the_sharing_ends_the_left_out_agencys_access_at_once_and_tells_its_evaluators() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let up = Upstream::start().await;
    let (a, o) = (w.agency, w.other_agency);
    // (case, sharing when filed, the edit, whether the evaluator's agency keeps access)
    let cases = [
        (
            "an agency added",
            json!({"shared_with": [a]}),
            json!({"shared_with": [a, o]}),
            true,
        ),
        (
            "the agency replaced",
            json!({"shared_with": [a]}),
            json!({"shared_with": [o]}),
            false,
        ),
        (
            "the other agency removed",
            json!({"shared_with": [a, o]}),
            json!({"shared_with": [a]}),
            true,
        ),
        (
            "every agency, narrowed to it",
            json!({"shared_with_all": true}),
            json!({"shared_with": [a]}),
            true,
        ),
        (
            "every agency, narrowed to another",
            json!({"shared_with_all": true}),
            json!({"shared_with": [o]}),
            false,
        ),
        (
            "opened to every agency",
            json!({"shared_with": [o, a]}),
            json!({"shared_with_all": true}),
            true,
        ),
        (
            "only the card",
            json!({"shared_with": [a]}),
            json!({"model_card": "# Orion\nv2"}),
            true,
        ),
    ];
    for (case, sharing, edit, keeps) in cases {
        let (notice, token, other_token) = notice_in_use(&t, &w, &up, sharing).await;
        let mark = t.audit_seq().await;
        t.patch(&w.dev_admin, &notice_path(notice), edit.clone())
            .await
            .ok();
        let event = t
            .audit_after(mark)
            .await
            .into_iter()
            .find(|e| e.action == "notice.edit")
            .unwrap();
        let ended: Vec<Uuid> = serde_json::from_value(event.details.0["access_ended"].clone()).unwrap();

        let call = chat(&t, &token, &chat_body("hello")).await;
        let sees = t.get(&w.evaluator, &notice_path(notice)).await.status;
        let assignments = t
            .get(&w.dev_admin, &format!("{}/assignments", notice_path(notice)))
            .await;
        let assigned: Vec<String> = assignments.ok()["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["user_id"].as_str().unwrap().to_owned())
            .collect();
        let evaluator = w.evaluator.user_id.to_string();
        if keeps {
            assert_eq!(call.status, 200, "{case}: {}", call.body);
            assert_eq!(sees, 200, "{case}");
            assert!(assigned.contains(&evaluator), "{case}: {assigned:?}");
            assert!(!ended.contains(&w.evaluator.user_id), "{case}: {ended:?}");
        } else {
            // Refused at once, in this very process: the token is revoked with the edit.
            refused(&call, 401, "token_revoked");
            assert_eq!(sees, 404, "{case}");
            assert!(!assigned.contains(&evaluator), "{case}: {assigned:?}");
            assert_eq!(ended, vec![w.evaluator.user_id], "{case}");
            assert_eq!(event.details.0["tokens_revoked"], 1, "{case}");
            let tokens = t
                .get(&w.dev_admin, &format!("{}/gateway-tokens", notice_path(notice)))
                .await;
            let mine = tokens.ok()["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|k| k["user_id"] == json!(w.evaluator.user_id))
                .cloned()
                .unwrap();
            assert!(mine["revoked_at"].is_string(), "{case}: {mine}");
        }
        // The other agency's evaluator, where there was one, lost access exactly when their agency did.
        if let Some(other) = other_token {
            let still = t.get(&w.other_evaluator, &notice_path(notice)).await.status == 200;
            let call = chat(&t, &other, &chat_body("hello")).await;
            assert_eq!(call.status == 200, still, "{case}: {}", call.body);
            assert_eq!(ended.contains(&w.other_evaluator.user_id), !still, "{case}");
        }
    }

    // Those whose access ended are told (platform notifications), once per edit; those who kept it are not.
    deliver(&t).await;
    let told = async |who: &Persona| -> Vec<Value> {
        let page = t.get(who, "/api/v1/notifications?limit=200").await;
        page.ok()["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["kind"] == "notice.access_ended")
            .cloned()
            .collect()
    };
    assert_eq!(told(&w.evaluator).await.len(), 2, "the evaluator's two cases");
    assert_eq!(
        told(&w.other_evaluator).await.len(),
        2,
        "removed, and every agency narrowed to one"
    );
    assert_eq!(told(&w.evaluator2).await.len(), 0);
    assert!(
        inbox(&t, &w.agency_admin)
            .await
            .iter()
            .all(|(kind, _)| kind != "notice.access_ended")
    );
    let ended = told(&w.evaluator).await.remove(0);
    let title = ended["title"].as_str().unwrap();
    assert!(
        title.contains("Frontier Lab") && title.contains("Orion 1.0"),
        "{title}"
    );
}

#[tokio::test]
async fn filing_the_same_model_and_version_again_asks_for_confirmation() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let launch = (t.clock_now() + chrono::Duration::days(40)).to_rfc3339();
    let body = |model: &str, version: &str, confirm: bool| {
        json!({
            "model_name": model, "model_version": version, "planned_launch_at": launch,
            "shared_with": [w.agency], "confirm_duplicate": confirm,
        })
    };
    let first = id_of(
        t.post(&w.dev_admin, "/api/v1/notices", body("Orion", "1.0", false))
            .await
            .ok(),
    );

    // (case, who, body, status)
    let cases = [
        (
            "the same model and version",
            &w.dev_member,
            body("Orion", "1.0", false),
            409,
        ),
        (
            "the same, with surrounding spaces",
            &w.dev_admin,
            body(" Orion ", " 1.0 ", false),
            409,
        ),
        ("another version", &w.dev_admin, body("Orion", "1.1", false), 201),
        ("another model", &w.dev_admin, body("Vega", "1.0", false), 201),
        (
            "another developer's model of that name",
            &w.other_dev,
            body("Orion", "1.0", false),
            201,
        ),
        (
            "the same, confirmed",
            &w.dev_admin,
            body("Orion", "1.0", true),
            201,
        ),
    ];
    for (case, who, body, status) in cases {
        let reply = t.post(who, "/api/v1/notices", body).await;
        assert_eq!(reply.status.as_u16(), status, "{case}: {}", reply.body);
        if status == 409 {
            let detail = reply.problem(409, "conflict")["detail"].as_str().unwrap();
            assert!(
                detail.contains(&first.to_string()),
                "{case}: names the existing notice: {detail}"
            );
            assert!(detail.contains("confirm_duplicate"), "{case}: {detail}");
        }
    }
    // A withdrawn notice is no reason to warn: filing it again is the way back.
    let vega = id_of(
        t.post(&w.dev_admin, "/api/v1/notices", body("Lyra", "2", false))
            .await
            .ok(),
    );
    t.post(
        &w.dev_admin,
        &format!("{}/withdraw", notice_path(vega)),
        json!({}),
    )
    .await
    .ok();
    let again = t
        .post(&w.dev_admin, "/api/v1/notices", body("Lyra", "2", false))
        .await;
    assert_eq!(again.status, 201, "{}", again.body);
}
