//! What a script writer expects of the API: agencies chosen by name (`GET /organizations?kind=agency`), an
//! invalid token answered as invalid (not as "authentication required"), and a connection test that says
//! which step failed, against real loopback upstreams: a name that does not resolve, a refused port, a port
//! that speaks plain HTTP to TLS, a silent one, an error status echoing the credential, and a working one that
//! streams.

use crate::gateway::connection_body;
use crate::support::*;
use crate::upstream::{CREDENTIAL, HEADER_VALUE, UPSTREAM_MODEL, Upstream};
use crate::web::signed_in;
use axum::http::HeaderMap;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

fn names(reply: &Reply) -> Vec<String> {
    let mut names: Vec<String> = reply.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn agencies_are_listed_by_name_for_anyone_signed_in() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let agencies = ["Cyber Evaluation Agency", "Infrastructure Agency"];
    for who in [
        &w.dev_member,
        &w.dev_admin,
        &w.evaluator,
        &w.agency_admin,
        &w.vendor,
        &w.operator,
        &w.program_admin,
    ] {
        let reply = t.get(who, "/api/v1/organizations?kind=agency").await;
        reply.ok();
        assert_eq!(names(&reply), agencies, "{}", who.name);
        for org in reply.body["items"].as_array().unwrap() {
            assert_eq!(org["kind"], "agency");
            assert_eq!(org["active"], true);
            assert!(org["id"].as_str().unwrap().parse::<uuid::Uuid>().is_ok());
        }
    }
    // A deactivated agency is no longer offered; the whole directory still lists it.
    t.call(
        Method::PATCH,
        &format!("/api/v1/organizations/{}", w.other_agency),
        Some(&w.program_admin.token),
        Some(json!({"active": false})),
    )
    .await
    .ok();
    let reply = t.get(&w.dev_member, "/api/v1/organizations?kind=agency").await;
    assert_eq!(names(&reply), ["Cyber Evaluation Agency"]);
    let all = t.get(&w.dev_member, "/api/v1/organizations").await;
    assert!(names(&all).contains(&"Infrastructure Agency".to_owned()));
    // Pages and cursors work as on every list.
    let first = t
        .get(&w.dev_member, "/api/v1/organizations?kind=developer&limit=1")
        .await;
    assert_eq!(first.ok()["items"].as_array().unwrap().len(), 1);
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let second = t
        .get(
            &w.dev_member,
            &format!("/api/v1/organizations?kind=developer&limit=1&cursor={cursor}"),
        )
        .await;
    assert_ne!(second.ok()["items"][0]["id"], first.body["items"][0]["id"]);
    // (query, status, problem, field)
    let cases: &[(&str, u16, &str, Option<&str>)] = &[
        ("kind=agencies", 422, "invalid-field", Some("kind")),
        ("kind=", 422, "invalid-field", Some("kind")),
        ("kind=agency&sort=name", 422, "invalid-field", Some("sort")),
    ];
    for (query, status, problem, field) in cases {
        let reply = t
            .get(&w.dev_member, &format!("/api/v1/organizations?{query}"))
            .await;
        let body = reply.problem(*status, problem);
        if let Some(field) = field {
            assert_eq!(body["field"], *field, "{query}");
        }
    }
    let anonymous = t
        .call(Method::GET, "/api/v1/organizations?kind=agency", None, None)
        .await;
    anonymous.problem(401, "unauthenticated");
}

#[tokio::test]
async fn an_invalid_token_is_answered_as_invalid_not_as_missing() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let revoked = t
        .post(&w.dev_member, "/api/v1/tokens", json!({"name": "old"}))
        .await;
    let revoked_token = revoked.ok()["token"].as_str().unwrap().to_owned();
    let revoked_id = revoked.body["id"].as_str().unwrap().to_owned();
    t.call(
        Method::DELETE,
        &format!("/api/v1/tokens/{revoked_id}"),
        Some(&w.dev_member.token),
        None,
    )
    .await;
    let expiring = t
        .post(
            &w.dev_member,
            "/api/v1/tokens",
            json!({"name": "short", "expires_in_days": 1}),
        )
        .await;
    let expiring_token = expiring.ok()["token"].as_str().unwrap().to_owned();
    t.clock.set(t.clock_now() + chrono::Duration::days(2));
    // (case, token, problem type, title)
    let cases: Vec<(&str, Option<&str>, &str, &str)> = vec![
        (
            "no credential",
            None,
            "unauthenticated",
            "Authentication required",
        ),
        (
            "unknown token",
            Some("plk_not-a-real-token"),
            "invalid-token",
            "Invalid token",
        ),
        (
            "not our format",
            Some("garbage"),
            "invalid-token",
            "Invalid token",
        ),
        ("revoked", Some(&revoked_token), "invalid-token", "Invalid token"),
        ("expired", Some(&expiring_token), "invalid-token", "Invalid token"),
    ];
    for (case, token, kind, title) in cases {
        // `/reports` is open to the public without a credential, but a credential given must be valid.
        for path in ["/api/v1/me", "/api/v1/notices", "/api/v1/reports"] {
            if token.is_none() && path == "/api/v1/reports" {
                continue;
            }
            let reply = t.call(Method::GET, path, token, None).await;
            let problem = reply.problem(401, kind);
            assert_eq!(problem["title"], title, "{case} {path}");
            let challenge = reply.headers["www-authenticate"].to_str().unwrap();
            if kind == "invalid-token" {
                assert_eq!(challenge, "Bearer error=\"invalid_token\"", "{case}");
                assert_ne!(problem["detail"], "authentication required", "{case}");
            } else {
                assert_eq!(challenge, "Bearer", "{case}");
            }
        }
    }
    // A valid token still works.
    t.get(&w.dev_member, "/api/v1/me").await.ok();
}

/// A port that answers anything with a line of plain HTTP, so a TLS client reads garbage.
async fn plain_text_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = socket
                    .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                    .await;
                tokio::time::sleep(Duration::from_secs(2)).await;
            });
        }
    });
    port
}

/// A port that accepts connections and never says anything.
async fn silent_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    port
}

/// An API that fails with 500 and echoes the credential and the model in its error, as careless ones do.
async fn echoing_failure_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = axum::Router::new().fallback(|headers: HeaderMap, body: String| async move {
        let key = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let model = serde_json::from_str::<Value>(&body).unwrap_or_default()["model"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(json!({"error": {"message": format!("backend crashed for key {key} on {model}")}})),
        )
    });
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    port
}

/// (case, base URL, ok, failure, status, words the message must have)
type Diagnosis = (
    &'static str,
    String,
    bool,
    Option<&'static str>,
    Option<u16>,
    &'static str,
);

#[tokio::test]
async fn the_connection_test_says_which_step_failed_in_plain_words() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let up = Upstream::start().await;
    let notice = t.file_notice(&w.dev_admin, 30, &[w.agency]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let connections = format!("/api/v1/notices/{notice}/connections");
    let refusing = refusing_port();
    let refused = refusing.port();
    let tls = plain_text_port().await;
    let silent = silent_port().await;
    let echoing = echoing_failure_port().await;
    // (case, base URL, ok, failure, status, words the message must have)
    let cases: Vec<Diagnosis> = vec![
        (
            "name not resolved",
            "http://model-api.example.invalid/v1".into(),
            false,
            Some("name_not_resolved"),
            None,
            "could not be resolved",
        ),
        (
            "refused",
            format!("http://127.0.0.1:{refused}/v1"),
            false,
            Some("connection_refused"),
            None,
            "refused",
        ),
        (
            "plain text where TLS is expected",
            format!("https://127.0.0.1:{tls}/v1"),
            false,
            Some("tls"),
            None,
            "TLS",
        ),
        (
            "silent",
            format!("http://127.0.0.1:{silent}/v1"),
            false,
            Some("timeout"),
            None,
            "timeout of 1 seconds",
        ),
        (
            "500 echoing the credential",
            format!("http://127.0.0.1:{echoing}/v1"),
            false,
            Some("http_status"),
            Some(500),
            "HTTP status 500",
        ),
        ("working", up.base_url.clone(), true, None, Some(200), "answered"),
    ];
    for (i, (case, base_url, ok, failure, status, words)) in cases.iter().enumerate() {
        let body = connection_body(
            &up,
            json!({"base_url": base_url, "model": format!("m{i}"), "timeout_seconds": 1}),
        );
        let created = t.post(&w.dev_admin, &connections, body).await;
        let id = created.ok()["id"].as_str().unwrap().to_owned();
        let probe = t
            .post(&w.dev_admin, &format!("{connections}/{id}/test"), json!({}))
            .await;
        let p = probe.ok().clone();
        let text = p.to_string();
        assert_eq!(p["ok"], *ok, "{case}: {p}");
        assert_eq!(p["failure"], json!(failure), "{case}: {p}");
        assert_eq!(p["status"], json!(status), "{case}: {p}");
        assert!(p["message"].as_str().unwrap().contains(words), "{case}: {p}");
        for secret in [CREDENTIAL, UPSTREAM_MODEL, HEADER_VALUE] {
            assert!(!text.contains(secret), "{case}: {secret} in {text}");
        }
        assert!(!text.contains("127.0.0.1"), "{case}: {text}");
        if *ok {
            assert!(p["reply"].as_str().unwrap().contains("echo"), "{case}: {p}");
            assert_eq!(p["stream"]["ok"], true, "{case}: {p}");
            assert!(p["stream"]["events"].as_u64().unwrap() >= 1, "{case}: {p}");
            assert_eq!(p["stream"]["failure"], Value::Null);
        } else {
            assert_eq!(p["reply"], Value::Null, "{case}");
            assert_eq!(p["stream"], Value::Null, "{case}");
        }
        if *case == "500 echoing the credential" {
            assert!(
                text.contains("backend crashed for key"),
                "the upstream's words, scrubbed: {text}"
            );
        }
    }
    // The working upstream saw a plain call and a streamed one.
    let seen = up.seen();
    assert_eq!(seen.len(), 2, "{}", seen.len());
    assert_ne!(seen[0].body["stream"], true);
    assert_eq!(seen[1].body["stream"], true);

    // A stream that never ends within the timeout fails the streaming check, not the call.
    up.script([
        crate::upstream::Behavior::Ok,
        crate::upstream::Behavior::Stream {
            chunks: 3,
            gap: Duration::from_millis(1500),
        },
    ]);
    let listed = t.get(&w.dev_admin, &connections).await;
    let working = listed.ok()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["model"] == "m5")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let probe = t
        .post(&w.dev_admin, &format!("{connections}/{working}/test"), json!({}))
        .await;
    let p = probe.ok();
    assert_eq!(p["ok"], true, "{p}");
    assert_eq!(p["stream"]["ok"], false, "{p}");
    assert_eq!(p["stream"]["failure"], "timeout", "{p}");

    // The web page says the same in words.
    let dev = signed_in(&t, "Frontier Lab", "rm@lab.example", "admin", "Rhea").await;
    let page = format!("/notices/{notice}/connections");
    let refused_id = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["model"] == "m1")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let failed = dev.submit(&page, &format!("{page}/{refused_id}/test"), &[]).await;
    failed.assert(200);
    assert!(failed.body.contains("Connection refused"), "{}", failed.body);
    assert!(failed.body.contains("nothing accepts connections"));
    let worked = dev.submit(&page, &format!("{page}/{working}/test"), &[]).await;
    worked.assert(200);
    assert!(worked.body.contains("The model&#39;s reply") || worked.body.contains("The model's reply"));
    assert!(worked.body.contains("id=\"test-reply\""));
    assert!(
        worked.body.contains("id=\"test-stream\">Works."),
        "{}",
        worked.body
    );
}

#[tokio::test]
async fn the_api_document_describes_the_conveniences() {
    let t = spawn_app().await;
    let doc: Value = t.call(Method::GET, "/api/v1/openapi.json", None, None).await.body;
    let kind = doc["paths"]["/organizations"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "kind")
        .cloned()
        .unwrap();
    assert_eq!(kind["in"], "query");
    let probe = &doc["components"]["schemas"]["ConnectionProbe"]["properties"];
    for field in ["failure", "reply", "stream"] {
        assert!(probe.get(field).is_some(), "{field}");
    }
    let unauthenticated = doc["components"]["responses"]["Unauthenticated"]["description"]
        .as_str()
        .unwrap();
    assert!(unauthenticated.contains("/problems/invalid-token"));
}

#[tokio::test]
async fn the_api_reference_is_a_page_of_the_site_rendered_from_the_document() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let public = reqwest::get(t.url("/api-reference")).await.unwrap();
    assert_eq!(public.status(), 200);
    let public = public.text().await.unwrap();
    let dev = signed_in(&t, "Frontier Lab", "rm@lab.example", "admin", "Rhea").await;
    let signed_in = dev.get("/api-reference").await;
    signed_in.assert(200);
    let doc: Value = t.call(Method::GET, "/api/v1/openapi.json", None, None).await.body;
    for html in [&public, &signed_in.body] {
        crate::web::assert_accessible("/api-reference", html);
        // Every operation of the document, by its id, method and path.
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let Some(id) = op.get("operationId").and_then(Value::as_str) else {
                    continue;
                };
                assert!(html.contains(&format!("id=\"op-{id}\"")), "{id}");
                let shown = format!("{}</span> /api/v1{path}", method.to_uppercase());
                assert!(html.contains(&shown), "{shown}");
            }
        }
        assert!(
            html.contains("<code>kind</code>"),
            "the new parameter is described"
        );
        // Nothing comes from elsewhere.
        assert!(
            !html.contains("src=\"http") && !html.contains("href=\"http"),
            "no CDN"
        );
    }
    // Every page links to it.
    for path in ["/", "/notices", "/tokens"] {
        let page = dev.get(path).await;
        assert!(page.body.contains("href=\"/api-reference\""), "{path}");
    }
    let _ = w;
}
