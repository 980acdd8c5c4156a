//! Naming TLP:AMBER's client organisations (`PUT /api/v1/reports/{id}/tlp-clients`): bounded, validated, for
//! the report's organisation and coordinators only, AMBER only, audited, and the report's version moves. The
//! matrix of who then reads what is `tlp_matrix.rs`.

use crate::support::*;
use serde_json::{Value, json};
use uuid::Uuid;

#[tokio::test]
async fn naming_amber_clients_is_bounded_validated_audited_and_versioned() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    // A TLP:AMBER threat report of Frontier Lab's member: in no case, so a client named reads it at once.
    let filed = crate::reports::file(&t, &w.dev_member, crate::reports::threat("amber")).await;
    let report = id_of(&filed);
    let path = format!("/api/v1/reports/{report}/tlp-clients");
    let before = t.get(&w.dev_member, &format!("/api/v1/reports/{report}")).await;
    let version = before.ok()["version"].as_i64().unwrap();
    let read = format!("/api/v1/reports/{report}");
    t.get(&w.operator, &read).await.problem(404, "not-found");

    // Bad lists: each refused naming its field, nothing changed.
    let too_many: Vec<String> = (0..51).map(|_| Uuid::now_v7().to_string()).collect();
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (
            json!({"organizations": too_many}),
            422,
            "invalid-field",
            "organizations",
        ),
        (
            json!({"organizations": ["nope"]}),
            422,
            "invalid-field",
            "organizations[0]",
        ),
        (
            json!({"organizations": [Uuid::now_v7()]}),
            422,
            "invalid-field",
            "organizations[0]",
        ),
        (
            json!({"organizations": [w.operator.org_id, w.operator.org_id]}),
            422,
            "invalid-field",
            "organizations[1]",
        ),
        (json!({"clients": []}), 422, "", ""),
    ];
    for (body, status, kind, field) in cases {
        let reply = t.put(&w.dev_member, &path, body.clone()).await;
        assert_eq!(reply.status.as_u16(), status, "{body}: {}", reply.body);
        if !kind.is_empty() {
            reply.problem(status, kind);
            assert!(reply.body.to_string().contains(field), "{field}: {}", reply.body);
        }
    }
    // Who may name them: the report's organisation and coordinators; its other readers are refused, others
    // find nothing.
    let body = json!({"organizations": [w.operator.org_id]});
    t.put(&w.vendor, &path, body.clone())
        .await
        .problem(404, "not-found");
    let named = t.put(&w.dev_admin, &path, body.clone()).await;
    assert_eq!(named.ok()["version"], json!(version + 1), "{}", named.body);
    assert_eq!(named.body["organizations"][0]["id"], json!(w.operator.org_id));
    assert_eq!(named.body["organizations"][0]["name"], "Grid Operator");
    t.get(&w.operator, &read).await.ok();
    // The client now reads the report, but names no one.
    t.put(&w.operator, &path, json!({"organizations": []}))
        .await
        .problem(403, "forbidden");
    let seen = t.get(&w.operator, &path).await;
    assert_eq!(seen.ok()["organizations"].as_array().unwrap().len(), 1);
    let events = t.audit_after(0).await;
    let event = events
        .iter()
        .find(|e| e.action == "report.tlp_clients")
        .expect("the naming is audited");
    assert_eq!(event.object_id, Some(report));
    assert!(t.app.store.ledger_entry_of(event.id).await.unwrap().is_some());
    // Naming none takes the client's reading away again.
    let cleared = t.put(&w.coordinator, &path, json!({"organizations": []})).await;
    assert_eq!(cleared.ok()["version"], json!(version + 2));
    t.get(&w.operator, &read).await.problem(404, "not-found");

    // Any other marking: a clear 409, nothing changed.
    let green = id_of(&crate::reports::file(&t, &w.dev_member, crate::reports::threat("green")).await);
    let refused = t
        .put(
            &w.dev_member,
            &format!("/api/v1/reports/{green}/tlp-clients"),
            body,
        )
        .await;
    refused.problem(409, "conflict");
    assert!(
        refused.body["detail"].as_str().unwrap().contains("TLP:GREEN"),
        "{}",
        refused.body
    );
    let after = t.get(&w.dev_member, &format!("/api/v1/reports/{green}")).await;
    assert_eq!(after.ok()["version"], json!(1));
}
