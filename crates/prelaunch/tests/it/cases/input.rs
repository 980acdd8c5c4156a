//! Refusals of bad input, and what of a TLP:RED report never reaches the advisory.

use super::*;

#[tokio::test]
async fn bad_input_is_refused_naming_the_problem_and_nothing_is_stored() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let case = open_case(&t, &w.coordinator, "amber", &[w.vendor.org_id]).await;
    let report = file_report(&t, &Report::new(case, &w.dev_admin, t.clock_now())).await;
    let path = format!("/api/v1/cases/{case}");
    let now = t.clock_now();
    let before = clearinghouse_counts(&t).await;
    let co = &w.coordinator;
    let cases: Vec<(&Persona, Method, String, Value, u16, &str)> = vec![
        (
            co,
            Method::POST,
            "/api/v1/cases".into(),
            json!({"title": "", "summary": "x", "tlp": "amber"}),
            422,
            "title",
        ),
        (
            co,
            Method::POST,
            "/api/v1/cases".into(),
            json!({"title": "t", "summary": "x", "tlp": "white"}),
            422,
            "tlp",
        ),
        (
            co,
            Method::POST,
            "/api/v1/cases".into(),
            json!({"title": "t", "summary": "x", "tlp": "red", "vendors": [Uuid::now_v7()]}),
            422,
            "vendors[0]",
        ),
        (
            co,
            Method::POST,
            "/api/v1/cases".into(),
            json!({"title": "t", "summary": "x", "tlp": "red", "vendors": [w.agency]}),
            422,
            "vendors[0]",
        ),
        (
            &w.vendor,
            Method::POST,
            "/api/v1/cases".into(),
            new_case("clear", &[]),
            403,
            "",
        ),
        (
            co,
            Method::POST,
            format!("{path}/transition"),
            json!({"to": "fixed"}),
            409,
            "",
        ),
        (
            co,
            Method::POST,
            format!("{path}/transition"),
            json!({"to": "closed"}),
            422,
            "to",
        ),
        (
            co,
            Method::POST,
            format!("{path}/transition"),
            json!({"to": "duplicate"}),
            422,
            "to",
        ),
        (
            co,
            Method::POST,
            format!("/api/v1/cases/{}/transition", Uuid::now_v7()),
            json!({"to": "triaged"}),
            404,
            "",
        ),
        (
            co,
            Method::POST,
            format!("{path}/participants"),
            json!({"org_id": Uuid::now_v7(), "role": "vendor"}),
            422,
            "org_id",
        ),
        (
            co,
            Method::POST,
            format!("{path}/participants"),
            json!({"org_id": w.agency, "role": "vendor"}),
            422,
            "role",
        ),
        (
            co,
            Method::POST,
            format!("{path}/participants"),
            json!({"org_id": w.agency, "role": "owner"}),
            422,
            "role",
        ),
        (
            co,
            Method::POST,
            format!("{path}/participants"),
            json!({"org_id": w.vendor.org_id, "role": "vendor"}),
            409,
            "",
        ),
        (
            co,
            Method::PUT,
            format!("{path}/embargo"),
            json!({"embargo_ends_at": (now - Duration::days(1)).to_rfc3339(), "reason": "r"}),
            422,
            "embargo_ends_at",
        ),
        (
            co,
            Method::PUT,
            format!("{path}/embargo"),
            json!({"embargo_ends_at": (now + Duration::days(366)).to_rfc3339(), "reason": "r"}),
            422,
            "embargo_ends_at",
        ),
        (
            co,
            Method::PUT,
            format!("{path}/embargo"),
            json!({"embargo_ends_at": (now + Duration::days(30)).to_rfc3339(), "reason": ""}),
            422,
            "reason",
        ),
        (
            &w.vendor,
            Method::PUT,
            format!("{path}/embargo"),
            json!({"embargo_ends_at": (now + Duration::days(30)).to_rfc3339(), "reason": "r"}),
            404,
            "",
        ),
        (
            co,
            Method::PUT,
            format!("{path}/vendors/{}/status", w.vendor.org_id),
            json!({"report_id": Uuid::now_v7(), "status": "fixed"}),
            422,
            "report_id",
        ),
        (
            co,
            Method::PUT,
            format!("{path}/vendors/{}/status", w.vendor.org_id),
            json!({"report_id": report, "status": "patched"}),
            422,
            "status",
        ),
        (
            co,
            Method::PUT,
            format!("{path}/vendors/{}/status", w.operator.org_id),
            json!({"report_id": report, "status": "fixed"}),
            404,
            "",
        ),
        (
            co,
            Method::POST,
            format!("{path}/posts"),
            json!({"body": "  "}),
            422,
            "body",
        ),
        (
            co,
            Method::POST,
            format!("{path}/posts"),
            json!({"body": "x", "reply_to": Uuid::now_v7()}),
            422,
            "reply_to",
        ),
        (
            &w.vendor,
            Method::PUT,
            "/api/v1/vendor-policy".into(),
            json!({"embargo_days": 0, "ai_found_public": false, "require_reproducer": false}),
            422,
            "embargo_days",
        ),
        (
            &w.vendor,
            Method::PUT,
            "/api/v1/vendor-policy".into(),
            json!({"ai_found_public": false, "require_reproducer": false, "products": ["pkg:npm/ok", "acme"]}),
            422,
            "products[1]",
        ),
        (
            &w.operator,
            Method::PUT,
            "/api/v1/vendor-policy".into(),
            json!({"ai_found_public": false, "require_reproducer": false}),
            403,
            "",
        ),
        (
            &w.operator,
            Method::POST,
            "/api/v1/subscriptions".into(),
            json!({"product_prefix": "npm:acme"}),
            422,
            "product_prefix",
        ),
        (
            &w.operator,
            Method::POST,
            "/api/v1/subscriptions".into(),
            json!({"min_severity": "severe"}),
            422,
            "min_severity",
        ),
        (
            &w.operator,
            Method::DELETE,
            format!("/api/v1/subscriptions/{}", Uuid::now_v7()),
            Value::Null,
            404,
            "",
        ),
        (
            co,
            Method::GET,
            "/api/v1/clearinghouse/metrics?vendor=acme".into(),
            Value::Null,
            422,
            "vendor",
        ),
        (
            co,
            Method::GET,
            "/api/v1/cases?state=open".into(),
            Value::Null,
            422,
            "state",
        ),
    ];
    for (who, method, target, body, status, field) in cases {
        let body = (!body.is_null()).then_some(body);
        let reply = t.call(method.clone(), &target, Some(&who.token), body).await;
        assert_eq!(reply.status.as_u16(), status, "{method} {target}: {}", reply.body);
        assert_eq!(
            reply.content_type, "application/problem+json",
            "{method} {target}"
        );
        if !field.is_empty() {
            let named = reply.body.to_string();
            assert!(named.contains(field), "{method} {target} names {field}: {named}");
        }
    }
    assert_eq!(clearinghouse_counts(&t).await, before, "nothing stored");
}

#[tokio::test]
async fn nothing_of_a_red_report_reaches_the_advisory() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let case = open_case(&t, &w.coordinator, "clear", &[]).await;
    // A CLEAR report, which a public advisory may carry (an AMBER one it may not: `tlp_mixed_case`).
    let clear = Report {
        tlp: "clear",
        ..Report::new(case, &w.dev_admin, t.clock_now())
    };
    file_report(&t, &clear).await;
    let red = Report {
        tlp: "red",
        finder: "Named Only",
        cvss_v3: Some(("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0)),
        cwe: Some(416),
        affected: Some((
            "pkg:npm/acme/secret@2.0.0",
            "pkg:npm/acme/secret",
            ">=2.0.0, <2.1.0",
        )),
        ..Report::new(case, &w.other_dev, t.clock_now())
    };
    file_report(&t, &red).await;
    transition(&t, &w.coordinator, case, "triaged").await.ok();
    let published = transition(&t, &w.coordinator, case, "published").await;
    published.ok();
    let advisories = t.call(Method::GET, "/api/v1/advisories", None, None).await;
    let advisory = advisories.ok()["items"][0].clone();
    assert_eq!(advisory["case_id"], json!(case));
    let text = advisory.to_string();
    for secret in ["Named Only", "CWE-416", "pkg:npm/acme/secret", "S:C"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    assert_eq!(advisory["credits"][0]["name"], "Ada");
    assert_eq!(advisory["credits"].as_array().unwrap().len(), 1);
    assert_eq!(advisory["scores"]["cvss_v3"]["base_score"], 9.8);
}
