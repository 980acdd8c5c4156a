//! Who reads clearinghouse reports and their attachments: the TLP × persona × path matrix (reports,
//! attachments, events; the public without credentials; an embargoed case; RED naming a person), and
//! attachments bounded, sealed under the master key and resealed when it rotates.

use crate::reports::{attach, counts, file, scalar, threat, uuid_sql, vulnerability};
use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

/// The personas of the matrix, in the order of each row's expectations, then the public (no credential).
const PERSONAS: [&str; 10] = ["PA", "CO", "DA", "DM", "OD", "AA", "EV", "VE", "OP", "public"];

#[tokio::test]
async fn tlp_decides_who_reads_reports_attachments_and_events() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let people: [Option<&Persona>; 10] = [
        Some(&w.program_admin),
        Some(&w.coordinator),
        Some(&w.dev_admin),
        Some(&w.dev_member),
        Some(&w.other_dev),
        Some(&w.agency_admin),
        Some(&w.evaluator),
        Some(&w.vendor),
        Some(&w.operator),
        None,
    ];
    let red = |mut body: Value| {
        body["people"] = json!([w.evaluator.user_id]);
        body
    };
    // (marking, body, expected for [GET one, list, attachment bytes], expected for events), by persona.
    // The reporter is the developer member (DM); a vulnerability report's case is under embargo (state new,
    // its participants: the reporter's organisation). Events are also read by the admins of the actor's
    // organisation (DA), who know every fact of their own people's actions (`kind` and `tlp`).
    #[rustfmt::skip]
    let rows: Vec<(&str, Value, &str, &str)> = vec![
        //                                               PA CO DA DM OD AA EV VE OP public
        ("threat CLEAR",        threat("clear"),        "1  1  1  1  1  1  1  1  1  1", "1  1  1  1  1  1  1  1  1  0"),
        ("threat GREEN",        threat("green"),        "1  1  1  1  1  1  1  1  1  0", "1  1  1  1  1  1  1  1  1  0"),
        ("threat AMBER",        threat("amber"),        "1  1  1  1  0  0  0  0  0  0", "1  1  1  1  0  0  0  0  0  0"),
        ("threat AMBER+STRICT", threat("amber+strict"), "1  1  1  1  0  0  0  0  0  0", "1  1  1  1  0  0  0  0  0  0"),
        ("threat RED",          red(threat("red")),     "0  0  0  1  0  0  1  0  0  0", "0  0  1  1  0  0  1  0  0  0"),
        ("vuln CLEAR embargoed", vulnerability("clear"), "1  1  1  1  0  0  0  0  0  0", "1  1  1  1  0  0  0  0  0  0"),
        ("vuln GREEN embargoed", vulnerability("green"), "1  1  1  1  0  0  0  0  0  0", "1  1  1  1  0  0  0  0  0  0"),
        ("vuln RED",            red(vulnerability("red")), "0  0  0  1  0  0  1  0  0  0", "0  0  1  1  0  0  1  0  0  0"),
    ];
    let mut failures = Vec::new();
    for (label, mut body, reads, events) in rows {
        // Each vulnerability its own case (different products), so that nothing joins.
        if body["kind"] == "vulnerability" {
            body["affected"] = json!([{"purl": format!("pkg:npm/lib-{}", label.len() * 7 + label.chars().filter(|c| *c == 'E').count()), "versions": "*"}]);
            body["title"] = json!(format!("{label}: heap overflow"));
        }
        let tlp = body["tlp"].as_str().unwrap().replace('+', "%2B");
        let filed = file(&t, &w.dev_member, body).await;
        let id = id_of(&filed);
        let attachment = attach(
            &t,
            Some(&w.dev_member),
            id,
            &format!("role=reproducer&name=poc.txt&tlp={tlp}"),
            b"crash me".to_vec(),
        )
        .await;
        assert_eq!(attachment.status, StatusCode::CREATED, "{}", attachment.body);
        let attachment = id_of(&attachment.body);
        let reads: Vec<&str> = reads.split_whitespace().collect();
        let events: Vec<&str> = events.split_whitespace().collect();
        for (i, who) in people.iter().enumerate() {
            let token = who.map(|p| p.token.as_str());
            let may = reads[i] == "1";
            let one = t
                .call(Method::GET, &format!("/api/v1/reports/{id}"), token, None)
                .await;
            let listed = t
                .call(Method::GET, "/api/v1/reports?limit=200", token, None)
                .await;
            let in_list = listed.body["items"]
                .as_array()
                .is_some_and(|items| items.iter().any(|r| r["id"] == id.to_string()));
            let bytes = t
                .call(
                    Method::GET,
                    &format!("/api/v1/reports/{id}/attachments/{attachment}"),
                    token,
                    None,
                )
                .await;
            let files = t
                .call(
                    Method::GET,
                    &format!("/api/v1/reports/{id}/attachments"),
                    token,
                    None,
                )
                .await;
            let audit = t
                .call(Method::GET, &format!("/api/v1/audit?object_id={id}"), token, None)
                .await;
            let saw_event = audit.body["items"]
                .as_array()
                .is_some_and(|items| items.iter().any(|e| e["action"] == "report.file"));
            let got = [
                ("GET one", one.status == StatusCode::OK, may),
                ("list", in_list, may),
                ("attachment bytes", bytes.status == StatusCode::OK, may),
                ("attachment list", files.status == StatusCode::OK, may),
                ("events", saw_event, events[i] == "1"),
            ];
            for (path, seen, expected) in got {
                if seen != expected {
                    failures.push(format!(
                        "{label} × {} × {path}: read {seen}, expected {expected}",
                        PERSONAS[i]
                    ));
                }
            }
            if !may {
                assert_eq!(one.status, StatusCode::NOT_FOUND, "{label} {}", PERSONAS[i]);
                let absent = t
                    .call(
                        Method::GET,
                        &format!("/api/v1/reports/{}", Uuid::now_v7()),
                        token,
                        None,
                    )
                    .await;
                assert_eq!(
                    (one.status, &one.body),
                    (absent.status, &absent.body),
                    "a hidden report reads as absent"
                );
            } else {
                let raw = t
                    .client
                    .get(t.url(&format!("/api/v1/reports/{id}/attachments/{attachment}")));
                let raw = match who {
                    Some(p) => raw.bearer_auth(&p.token),
                    None => raw,
                };
                assert_eq!(
                    raw.send().await.unwrap().bytes().await.unwrap().as_ref(),
                    b"crash me"
                );
                assert_eq!(
                    bytes.headers["content-disposition"],
                    "attachment; filename=\"poc.txt\"; filename*=UTF-8''poc.txt"
                );
                assert_eq!(bytes.headers["x-content-type-options"], "nosniff");
                assert_eq!(bytes.headers["content-type"], "text/plain");
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} cells differ:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // A credential that is presented must be valid, even where the public may read.
    let reply = t
        .call(Method::GET, "/api/v1/reports", Some("plk_garbage"), None)
        .await;
    reply.problem(401, "invalid-token");
}

#[tokio::test]
async fn attachments_are_bounded_sealed_and_the_reporters_alone_to_add() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let report = id_of(&file(&t, &w.dev_member, vulnerability("amber")).await);
    let q = "role=patch&name=fix.diff";
    // Only the reporter adds; a reader who is not is refused, someone who cannot read gets 404.
    attach(&t, Some(&w.dev_admin), report, q, b"x".to_vec())
        .await
        .problem(403, "forbidden");
    attach(&t, Some(&w.operator), report, q, b"x".to_vec())
        .await
        .problem(404, "not-found");
    attach(&t, None, report, q, b"x".to_vec())
        .await
        .problem(401, "unauthenticated");
    let before = counts(&t).await;
    // (query, body size, status, field)
    let cases: Vec<(&str, usize, u16, Option<&str>)> = vec![
        ("role=patch&name=fix.diff&tlp=green", 10, 422, Some("tlp")),
        ("role=exploit&name=fix.diff", 10, 422, Some("role")),
        ("role=patch&name=../fix.diff", 10, 422, Some("name")),
        ("role=patch", 10, 422, Some("name")),
        ("role=patch&name=fix.diff&colour=red", 10, 422, Some("colour")),
        ("role=patch&name=fix.diff", 0, 422, Some("body")),
        ("role=patch&name=fix.diff", 8 * 1024 * 1024 + 1, 413, None),
    ];
    for (query, size, status, field) in cases {
        let reply = attach(&t, Some(&w.dev_member), report, query, vec![b'a'; size]).await;
        assert_eq!(reply.status.as_u16(), status, "{query}: {}", reply.body);
        if let Some(field) = field {
            assert_eq!(reply.body["field"], field, "{query}");
        }
    }
    assert_eq!(counts(&t).await, before, "nothing stored");

    let big = vec![b'p'; 8 * 1024 * 1024];
    let added = attach(
        &t,
        Some(&w.dev_member),
        report,
        "role=reproducer&name=poc%20file.bin&tlp=red",
        big.clone(),
    )
    .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    assert_eq!(added.body["tlp"], "red");
    assert_eq!(added.body["size"], big.len());
    let aid = id_of(&added.body);
    // Sealed: the stored value carries a nonce and a tag beside the ciphertext.
    let sealed = scalar(
        &t,
        &format!(
            "SELECT CAST(LENGTH(sealed) AS BIGINT) FROM report_attachments WHERE id = {}",
            uuid_sql(aid)
        ),
    )
    .await;
    assert!(sealed > i64::try_from(big.len()).unwrap(), "{sealed}");
    // RED: the reporter alone reads it; the report's other readers do not see it listed.
    let path = format!("/api/v1/reports/{report}/attachments/{aid}");
    let got = t
        .client
        .get(t.url(&path))
        .bearer_auth(&w.dev_member.token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.headers()["content-type"],
        "text/plain",
        "a safe media type as stored"
    );
    assert!(
        got.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("filename*=UTF-8''poc%20file.bin")
    );
    assert_eq!(got.bytes().await.unwrap().len(), big.len());
    t.get(&w.dev_admin, &path).await.problem(404, "not-found");
    let listed = t
        .get(&w.dev_admin, &format!("/api/v1/reports/{report}/attachments"))
        .await;
    assert_eq!(listed.ok()["items"], json!([]));

    // At most four more fit in the 32 MiB a report may hold.
    let mut status = Vec::new();
    for _ in 0..4 {
        status.push(
            attach(
                &t,
                Some(&w.dev_member),
                report,
                "role=other&name=x.bin",
                big.clone(),
            )
            .await
            .status
            .as_u16(),
        );
    }
    assert_eq!(status, [201, 201, 201, 409]);

    // Master-key rotation reseals attachments: a server with the new key serves the same bytes.
    t.app.check_master_key().await.unwrap();
    let new_key = gateway::MasterKey::generate();
    assert_eq!(
        t.app.reseal_secrets(&new_key).await.unwrap(),
        4,
        "four attachments"
    );
    let (app, _) = app_on(&t.database_url, "http://rotated").await;
    let app = app.with_master_key(&new_key);
    app.check_master_key().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(server::serve(listener, app, std::future::pending()));
    let got = t
        .client
        .get(format!("{base}{path}"))
        .bearer_auth(&w.dev_member.token)
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(got.bytes().await.unwrap().as_ref(), big.as_slice());
}
