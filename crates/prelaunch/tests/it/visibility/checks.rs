//! The checks of the table: every kind of event has a row, and every row is read as every persona through every
//! read path of events.

use super::*;

/// Checks that every kind of event has a row in `rows`, and reads each row as each of `everyone` (the personas
/// of `COLUMNS`, in order) by its receipt, in the audit list of its object and in the whole trail.
pub(super) async fn every_row_as_every_persona(
    t: &TestApp,
    w: &World,
    everyone: &[Persona],
    rows: &[(&str, AuditEvent, &str)],
) {
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

    for (what, event, expected) in rows {
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
