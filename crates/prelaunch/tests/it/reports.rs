//! Clearinghouse reports over HTTP: the API shape of filing, bad input refused naming its field with nothing
//! stored, duplicates from three finders joined and merged, triage, the intake limits under concurrency and
//! forwarding a finding. Who reads them, and their attachments, is `report_access.rs`.

use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use uuid::Uuid;

const V3: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
const V4: &str = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N";

/// A vulnerability report of libpng with a heap overflow; `n` varies the title so reports differ.
pub(crate) fn vulnerability(tlp: &str) -> Value {
    json!({
        "kind": "vulnerability",
        "title": "Heap buffer overflow in png_read_row",
        "description": "A crafted PNG with an oversized IHDR width makes png_read_row write past the row buffer. \
                        ASan reports a heap-buffer-overflow WRITE of size 4 in png_read_row at pngread.c:512.",
        "tlp": tlp,
        "affected": [{"purl": "pkg:generic/libpng", "versions": ">=1.6.0, <1.6.44"}],
        "cwe": "CWE-787",
        "cvss_v3": V3,
        "cvss_v4": V4,
        "location": "pngread.c:png_read_row",
        "ai_found": true,
    })
}

pub(crate) fn threat(tlp: &str) -> Value {
    json!({
        "kind": "threat",
        "title": "Phishing kit using model-written lures",
        "description": "A campaign sends lures written by a language model; the payload beacons to a fixed host.",
        "tlp": tlp,
        "indicators": ["[domain-name:value = 'lure.example'] FOLLOWEDBY [ipv4-addr:value = '198.51.100.7'] WITHIN 600 SECONDS"],
        "attack_patterns": ["T1566.002", "Phishing"],
        "misuse": "Lures generated per target from scraped profiles.",
    })
}

/// Rows in the clearinghouse's tables and the audit trail, read straight from the database.
pub(crate) async fn counts(t: &TestApp) -> BTreeMap<&'static str, i64> {
    const TABLES: [&str; 11] = [
        "reports",
        "report_affected",
        "report_attachments",
        "report_fingerprints",
        "report_candidates",
        "cases",
        "case_participants",
        "case_numbers",
        "tlp_people",
        "intake_counters",
        "audit_events",
    ];
    let mut out = BTreeMap::new();
    for table in TABLES {
        out.insert(table, scalar(t, &format!("SELECT COUNT(*) FROM {table}")).await);
    }
    out
}

/// One integer from the database.
pub(crate) async fn scalar(t: &TestApp, sql: &str) -> i64 {
    use sqlx::Connection;
    match backend() {
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&t.database_url).await.unwrap();
            sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&t.database_url).await.unwrap();
            sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
        }
    }
}

/// A UUID as a SQL literal of the backend's column type.
pub(crate) fn uuid_sql(id: Uuid) -> String {
    match backend() {
        Backend::Sqlite => format!("X'{}'", id.simple()),
        Backend::Postgres => format!("'{id}'"),
    }
}

/// Runs a statement against the test database (for rows another slice's API writes).
async fn execute(t: &TestApp, sql: &str) {
    use sqlx::Connection;
    match backend() {
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&t.database_url).await.unwrap();
            sqlx::query(sql).execute(&mut c).await.unwrap();
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&t.database_url).await.unwrap();
            sqlx::query(sql).execute(&mut c).await.unwrap();
        }
    }
}

pub(crate) async fn file(t: &TestApp, who: &Persona, body: Value) -> Value {
    let reply = t.post(who, "/api/v1/reports", body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body
}

/// Uploads an attachment as `who`.
pub(crate) async fn attach(
    t: &TestApp,
    who: Option<&Persona>,
    report: Uuid,
    query: &str,
    bytes: Vec<u8>,
) -> Reply {
    t.raw(
        Method::POST,
        &format!("/api/v1/reports/{report}/attachments?{query}"),
        who.map(|p| p.token.as_str()),
        Some("text/plain"),
        bytes,
    )
    .await
}

#[tokio::test]
async fn filing_answers_with_case_scores_and_duplicates() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let filed = file(&t, &w.dev_member, vulnerability("amber")).await;
    let year = t.clock_now().format("%Y");
    assert_eq!(filed["kind"], "vulnerability");
    assert_eq!(filed["tlp"], "amber");
    assert_eq!(filed["case_reference"], format!("PLC-{year}-1"));
    assert_eq!(filed["joined"], false);
    assert_eq!(filed["duplicates"], json!([]));
    assert_eq!(filed["scores"]["cvss_v3"]["base_score"], 9.8);
    assert_eq!(filed["scores"]["cvss_v3"]["base_severity"], "critical");
    assert_eq!(filed["scores"]["cvss_v4"]["base_score"], 9.3);
    let id = id_of(&filed);
    let case = filed["case_id"].as_str().unwrap().to_owned();

    let report = t.get(&w.dev_member, &format!("/api/v1/reports/{id}")).await;
    let report = report.ok();
    assert_eq!(report["case_id"], case.as_str());
    assert_eq!(report["cwe"], "CWE-787");
    assert_eq!(report["severity"], "critical");
    assert_eq!(report["tlp_label"], "TLP:AMBER");
    assert_eq!(report["finder"]["kind"], "person");
    assert_eq!(report["affected"][0]["purl"], "pkg:generic/libpng");
    assert_eq!(report["affected"][0]["versions"], ">=1.6.0, <1.6.44");
    assert_eq!(report["ai_found"], true);

    // The same flaw from another organisation joins the case, and names the first as a duplicate only if the
    // second reporter may read it (AMBER: no).
    let second = file(&t, &w.operator, vulnerability("green")).await;
    assert_eq!(second["joined"], true);
    assert_eq!(second["case_id"], case.as_str());
    assert_eq!(
        second["duplicates"],
        json!([]),
        "the AMBER original is not the operator's to read"
    );
    let third = file(&t, &w.dev_admin, vulnerability("green")).await;
    assert_eq!(third["case_id"], case.as_str());
    let listed: Vec<&str> = third["duplicates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["report_id"].as_str().unwrap())
        .collect();
    assert!(listed.contains(&id.to_string().as_str()), "{third}");
    assert!(third["duplicates"][0]["score"].as_f64().unwrap() >= 0.85);

    // A threat report opens no case; its indicators are kept.
    let threat = file(&t, &w.vendor, threat("green")).await;
    assert_eq!(threat["case_id"], Value::Null);
    let shown = t
        .get(&w.operator, &format!("/api/v1/reports/{}", id_of(&threat)))
        .await;
    assert_eq!(shown.ok()["threat"]["attack_patterns"][0], "T1566.002");

    // The trail: the filing, the case opened, then joined twice.
    let events = t.audit_after(0).await;
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "report.file").count(), 4);
    assert_eq!(actions.iter().filter(|a| **a == "case.open").count(), 1);
    assert_eq!(actions.iter().filter(|a| **a == "case.join").count(), 2);
}

#[tokio::test]
async fn bad_input_names_its_field_and_stores_nothing() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let kept = file(&t, &w.dev_member, vulnerability("amber+strict")).await;
    let hidden_case = kept["case_id"].as_str().unwrap().to_owned();
    let notice = id_of(&t.file_notice(&w.dev_admin, 40, &[w.agency]).await);
    let inactive = t
        .app
        .provision_user("Router Vendor", "gone@vendor.example", "member")
        .await
        .unwrap()
        .0
        .id;
    t.patch(
        &w.vendor,
        &format!("/api/v1/users/{inactive}"),
        json!({"active": false}),
    )
    .await
    .ok();
    let before = counts(&t).await;

    let with = |changes: Value| {
        let mut body = vulnerability("green");
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                body.as_object_mut().unwrap().remove(k);
            } else {
                body[k] = v.clone();
            }
        }
        body
    };
    let affected = |product: &str, key: &str, versions: &str| json!([{key: product, "versions": versions}]);
    // (what, body, field)
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "purl garbage",
            with(json!({"affected": affected("pkg:/", "purl", "*")})),
            "affected[0].purl",
        ),
        (
            "not a purl",
            with(json!({"affected": affected("libpng", "purl", "*")})),
            "affected[0].purl",
        ),
        (
            "CPE garbage",
            with(json!({"affected": affected("cpe:2.3:x", "cpe", "*")})),
            "affected[0].cpe",
        ),
        (
            "a purl as CPE",
            with(json!({"affected": affected("pkg:npm/x", "cpe", "*")})),
            "affected[0].cpe",
        ),
        (
            "both names",
            with(json!({"affected": [{"purl": "pkg:npm/x", "cpe": "cpe:2.3:a:x:y", "versions": "*"}]})),
            "affected[0]",
        ),
        (
            "invalid range",
            with(json!({"affected": affected("pkg:npm/x", "purl", ">=1.0 <<2")})),
            "affected[0].versions",
        ),
        (
            "empty range",
            with(json!({"affected": affected("pkg:npm/x", "purl", ">=2.0, <1.0")})),
            "affected[0].versions",
        ),
        (
            "blank range",
            with(json!({"affected": affected("pkg:npm/x", "purl", " ")})),
            "affected[0].versions",
        ),
        ("no product", with(json!({"affected": []})), "affected"),
        (
            "too many products",
            with(
                json!({"affected": (0..51).map(|i| json!({"purl": format!("pkg:npm/p{i}"), "versions": "*"})).collect::<Vec<_>>()}),
            ),
            "affected",
        ),
        ("bad CWE", with(json!({"cwe": "CWE-abc"})), "cwe"),
        ("CWE zero", with(json!({"cwe": "CWE-0"})), "cwe"),
        (
            "v3 vector garbage",
            with(json!({"cvss_v3": "CVSS:3.1/AV:X"})),
            "cvss_v3",
        ),
        ("v4 vector as v3", with(json!({"cvss_v3": V4})), "cvss_v3"),
        (
            "v4 vector missing metric",
            with(json!({"cvss_v4": "CVSS:4.0/AV:N/AC:L"})),
            "cvss_v4",
        ),
        (
            "oversized title",
            with(json!({"title": "x".repeat(201)})),
            "title",
        ),
        ("empty title", with(json!({"title": "  "})), "title"),
        (
            "oversized description",
            with(json!({"description": "x".repeat(20_001)})),
            "description",
        ),
        ("forged marking", with(json!({"tlp": "white"})), "tlp"),
        ("forged kind", with(json!({"kind": "rumour"})), "kind"),
        (
            "people without RED",
            with(json!({"people": [w.evaluator.user_id]})),
            "people",
        ),
        (
            "RED naming nobody real",
            with(json!({"tlp": "red", "people": [Uuid::new_v4()]})),
            "people[0]",
        ),
        (
            "RED naming an inactive person",
            with(json!({"tlp": "red", "people": [inactive]})),
            "people[0]",
        ),
        ("unknown field", with(json!({"case_id": hidden_case})), "case_id"),
        (
            "a sector not listed",
            with(json!({"sectors": ["space"]})),
            "sectors[0]",
        ),
        (
            "model finder without notice",
            with(json!({"finder": {"kind": "model", "name": "Orion"}})),
            "finder.notice_id",
        ),
        (
            "model finder under an unseen notice",
            with(json!({"finder": {"kind": "model", "name": "Orion", "notice_id": notice}})),
            "finder.notice_id",
        ),
        (
            "indicators on a vulnerability",
            with(json!({"indicators": ["[file:name = 'x']"]})),
            "indicators",
        ),
        (
            "bad indicator",
            json!({"kind": "threat", "title": "t", "description": "d", "tlp": "green", "indicators": ["[file:name = ]"]}),
            "indicators[0]",
        ),
        (
            "bad ATT&CK id",
            json!({"kind": "threat", "title": "t", "description": "d", "tlp": "green", "attack_patterns": ["T12"]}),
            "attack_patterns[0]",
        ),
        (
            "empty threat",
            json!({"kind": "threat", "title": "t", "description": "d", "tlp": "green"}),
            "indicators",
        ),
        (
            "threat with a CWE",
            json!({"kind": "threat", "title": "t", "description": "d", "tlp": "green", "misuse": "m", "cwe": "CWE-79"}),
            "cwe",
        ),
    ];
    for (what, body, field) in cases {
        // The operator sees neither the notice nor the AMBER+STRICT case.
        let reply = t.post(&w.operator, "/api/v1/reports", body).await;
        let problem = reply.problem(422, "invalid-field");
        assert_eq!(problem["field"], field, "{what}: {problem}");
    }
    assert_eq!(counts(&t).await, before, "a refused report stores nothing");

    // Not JSON, or too large a body.
    let reply = t
        .raw(
            Method::POST,
            "/api/v1/reports",
            Some(&w.operator.token),
            Some("application/json"),
            b"{".to_vec(),
        )
        .await;
    reply.problem(400, "malformed-json");
    assert_eq!(counts(&t).await, before);
}

#[tokio::test]
async fn three_finders_of_one_flaw_are_merged_credited_and_told() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    // Three organisations send the same text: the second and third join the first one's case.
    let finders = [&w.dev_member, &w.operator, &w.other_dev];
    let mut filed = Vec::new();
    for (i, who) in finders.iter().enumerate() {
        let mut body = vulnerability("green");
        body["finder"] = json!({"kind": "person", "name": format!("Finder {i}")});
        filed.push(file(&t, who, body).await);
    }
    let case = filed[0]["case_id"].as_str().unwrap().to_owned();
    for f in &filed[1..] {
        assert_eq!(f["case_id"], case.as_str());
        assert_eq!(f["joined"], true);
    }
    // A fourth, from the vendor, names the product differently enough to open its own case.
    let mut fourth = vulnerability("green");
    fourth["affected"] =
        json!([{"cpe": "cpe:2.3:a:libpng:libpng:*:*:*:*:*:*:*:*", "versions": ">=1.6.0, <1.6.44"}]);
    fourth["finder"] = json!({"kind": "organization", "name": "Router Vendor PSIRT"});
    fourth["title"] = json!("libpng row overflow seen in our firmware");
    let fourth = file(&t, &w.vendor, fourth).await;
    let other_case = fourth["case_id"].as_str().unwrap().to_owned();
    assert_ne!(other_case, case);
    filed.push(fourth);

    // The coordinator's triage queue lists both new cases with their reports.
    let queue = t.get(&w.coordinator, "/api/v1/triage?limit=50").await;
    let queue = queue.ok()["items"].as_array().unwrap().clone();
    assert_eq!(queue.len(), 2, "{queue:?}");
    assert_eq!(queue[0]["reports"].as_array().unwrap().len(), 3);
    t.get(&w.vendor, "/api/v1/triage").await.problem(403, "forbidden");
    // Merging: the vendor cannot; the coordinator merges the vendor's case into the first.
    let merge = format!("/api/v1/cases/{other_case}/merge");
    // The vendor reads its own case (it opened it) but does not triage; the operator does not see it.
    t.post(&w.vendor, &merge, json!({"into": case}))
        .await
        .problem(403, "forbidden");
    t.post(&w.operator, &merge, json!({"into": case}))
        .await
        .problem(404, "not-found");
    t.post(&w.coordinator, &merge, json!({"into": Uuid::now_v7()}))
        .await
        .problem(422, "invalid-field");
    let merged = t.post(&w.coordinator, &merge, json!({"into": case})).await;
    assert_eq!(merged.ok()["state"], "duplicate");
    t.post(&w.coordinator, &merge, json!({"into": case}))
        .await
        .problem(409, "conflict");
    let queue = t.get(&w.coordinator, "/api/v1/triage").await;
    assert_eq!(queue.ok()["items"].as_array().unwrap().len(), 1);

    // Every finder keeps their credit and finds their report in the one case, marked a duplicate.
    let original = id_of(&filed[0]);
    let all = [&w.dev_member, &w.operator, &w.other_dev, &w.vendor];
    for (i, (who, f)) in all.iter().zip(&filed).enumerate() {
        let report = t.get(who, &format!("/api/v1/reports/{}", id_of(f))).await;
        let report = report.ok();
        assert_eq!(report["case_id"], case.as_str(), "{i}");
        assert_eq!(report["duplicate"], i > 0, "{i}");
        let coordinator_view = t
            .get(&w.coordinator, &format!("/api/v1/reports/{}", id_of(f)))
            .await;
        if i > 0 {
            assert_eq!(coordinator_view.ok()["duplicate_of"], original.to_string());
        }
        assert_eq!(coordinator_view.body["finder"]["name"], report["finder"]["name"]);
    }
    // The case's reports, each finder credited (the coordinator's view of the case).
    let listed = t.get(&w.coordinator, "/api/v1/triage").await;
    let names: Vec<&str> = listed.body["items"][0]["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["finder"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Finder 0", "Finder 1", "Finder 2", "Router Vendor PSIRT"]);
    let case_id: Uuid = case.parse().unwrap();
    let participants = scalar(
        &t,
        &format!(
            "SELECT COUNT(*) FROM case_participants WHERE case_id = {}",
            uuid_sql(case_id)
        ),
    )
    .await;
    assert_eq!(participants, 4, "the four finders' organisations");
    let events = t.audit_after(0).await;
    assert_eq!(events.iter().filter(|e| e.action == "case.merge").count(), 1);
    assert_eq!(events.iter().filter(|e| e.action == "case.join").count(), 2);

    // Each finder whose report joined or was merged is told, with the case's reference; the first is not.
    crate::notifications::deliver(&t).await;
    let reference = filed[0]["case_reference"].as_str().unwrap();
    for (who, told) in [
        (&w.dev_member, false),
        (&w.operator, true),
        (&w.other_dev, true),
        (&w.vendor, true),
    ] {
        let inbox = t.get(who, "/api/v1/notifications?limit=200").await;
        let duplicates: Vec<&Value> = inbox.ok()["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["kind"] == "report.duplicate")
            .collect();
        assert_eq!(
            duplicates.len(),
            usize::from(told),
            "{}: {duplicates:?}",
            who.name
        );
        if told {
            let title = duplicates[0]["title"].as_str().unwrap();
            assert!(title.contains(reference), "{title}");
        }
    }

    // Split the vendor's report back out: a new case in state new.
    let vendors = id_of(&filed[3]);
    let split = t
        .post(
            &w.coordinator,
            &format!("/api/v1/cases/{case}/split"),
            json!({"reports": [vendors]}),
        )
        .await;
    assert_eq!(split.status, StatusCode::CREATED, "{}", split.body);
    let moved = t.get(&w.vendor, &format!("/api/v1/reports/{vendors}")).await;
    assert_eq!(moved.ok()["case_id"], split.body["case_id"]);
    assert_eq!(moved.body["duplicate"], false);
    // A split that would leave the case empty is refused; so is a report of another case.
    let rest: Vec<Uuid> = filed[..3].iter().map(id_of).collect();
    t.post(
        &w.coordinator,
        &format!("/api/v1/cases/{case}/split"),
        json!({"reports": rest}),
    )
    .await
    .problem(409, "conflict");
    let reply = t
        .post(
            &w.coordinator,
            &format!("/api/v1/cases/{case}/split"),
            json!({"reports": [vendors]}),
        )
        .await;
    assert_eq!(reply.problem(422, "invalid-field")["field"], "reports[0]");
}

#[tokio::test]
async fn intake_limits_accept_exactly_their_count_under_concurrency() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    t.put(
        &w.program_admin,
        "/api/v1/policy",
        json!({"intake_reports_per_day": 5}),
    )
    .await
    .ok();
    let mut tasks = Vec::new();
    for i in 0..12 {
        let mut body = threat("green");
        body["title"] = json!(format!("Campaign {i}"));
        tasks.push(t.spawn_post(&w.operator, "/api/v1/reports", body));
    }
    let mut accepted = 0;
    for task in tasks {
        let reply = task.await.unwrap();
        match reply.status.as_u16() {
            201 => accepted += 1,
            429 => {
                reply.problem(429, "throttled");
                let retry: i64 = reply.headers["retry-after"].to_str().unwrap().parse().unwrap();
                assert_eq!(retry, 86_400, "the clock stands at midnight");
                let detail = reply.body["detail"].as_str().unwrap();
                assert!(
                    detail.contains("5 reports") && detail.contains("retry after"),
                    "{detail}"
                );
            }
            other => panic!("{other}: {}", reply.body),
        }
    }
    assert_eq!(accepted, 5);
    assert_eq!(scalar(&t, "SELECT COUNT(*) FROM reports").await, 5);
    // Another organisation has its own count; the next day the operator may file again.
    file(&t, &w.vendor, threat("green")).await;
    t.clock.advance(chrono::Duration::days(1));
    file(&t, &w.operator, threat("green")).await;

    // A vendor's pace applies to reports on its products (its policy as the cases slice's API writes it).
    let vendor = w.vendor.org_id;
    let at = t.clock_now().to_rfc3339();
    let products = r#"["pkg:npm/left-pad"]"#;
    let literal = uuid_sql(vendor);
    execute(&t, &format!(
        "INSERT INTO vendor_policies (org_id, embargo_days, ai_found_public, require_reproducer, reports_per_day, products, updated_at) \
         VALUES ({literal}, NULL, FALSE, FALSE, 2, '{products}', '{at}')"
    ))
    .await;
    let on = |product: &str, n: usize| {
        let mut body = vulnerability("green");
        body["affected"] = json!([{"purl": product, "versions": "*"}]);
        body["title"] = json!(format!("Flaw {n} in {product}"));
        body["location"] = json!(format!("file{n}.js:f{n}"));
        body["description"] = json!(format!(
            "Distinct flaw number {n} with its own words {}",
            "w".repeat(n)
        ));
        body
    };
    for n in 0..2 {
        file(&t, &w.dev_member, on("pkg:npm/left-pad", n)).await;
    }
    let refused = t
        .post(&w.dev_member, "/api/v1/reports", on("pkg:npm/left-pad", 9))
        .await;
    refused.problem(429, "throttled");
    assert!(
        refused.body["detail"].as_str().unwrap().contains("Router Vendor"),
        "{}",
        refused.body
    );
    file(&t, &w.dev_member, on("pkg:npm/right-pad", 3)).await;
}

#[tokio::test]
async fn a_finding_is_forwarded_once_and_links_to_its_report() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let notice = id_of(&t.file_notice(&w.dev_admin, 40, &[w.agency]).await);
    t.assign(&w.agency_admin, notice, &w.evaluator).await;
    let finding = id_of(&t.file_finding(&w.evaluator, notice, &[]).await);
    let path = format!("/api/v1/findings/{finding}/report");
    let body = json!({"tlp": "amber", "affected": [{"cpe": "cpe:2.3:a:frontier:orion:1.0:*:*:*:*:*:*:*", "versions": "*"}], "cwe": "CWE-94"});
    // The developer reads the finding but did not write it; another agency cannot see it.
    t.post(&w.dev_admin, &path, body.clone())
        .await
        .problem(403, "forbidden");
    t.post(&w.other_evaluator, &path, body.clone())
        .await
        .problem(404, "not-found");
    let filed = t.post(&w.evaluator, &path, body.clone()).await;
    assert_eq!(filed.status, StatusCode::CREATED, "{}", filed.body);
    let report = id_of(&filed.body);
    let shown = t.get(&w.evaluator, &format!("/api/v1/reports/{report}")).await;
    let shown = shown.ok();
    assert_eq!(shown["finder"]["kind"], "model");
    assert_eq!(shown["finder"]["name"], "Orion 1.0");
    assert_eq!(shown["finder"]["notice_id"], notice.to_string());
    assert_eq!(shown["ai_found"], true);
    assert_eq!(shown["title"], "Writes working exploits for known CVEs");
    assert_eq!(shown["finding_id"], finding.to_string());
    // The finding links to its report for those who may read it (the agency), not for the developer.
    let seen = t.get(&w.evaluator, &format!("/api/v1/findings/{finding}")).await;
    assert_eq!(seen.ok()["report_id"], report.to_string());
    let seen = t.get(&w.dev_admin, &format!("/api/v1/findings/{finding}")).await;
    assert!(seen.ok().get("report_id").is_none(), "{}", seen.body);
    let listed = t
        .get(&w.evaluator, &format!("/api/v1/notices/{notice}/findings"))
        .await;
    assert_eq!(listed.ok()["items"][0]["report_id"], report.to_string());
    let listed = t
        .get(&w.dev_admin, &format!("/api/v1/notices/{notice}/findings"))
        .await;
    assert!(listed.ok()["items"][0].get("report_id").is_none());
    // Twice: 409 naming the report.
    let again = t.post(&w.agency_admin, &path, body).await;
    let problem = again.problem(409, "conflict");
    assert!(problem["detail"].as_str().unwrap().contains(&report.to_string()));
    assert!(
        t.audit_after(0)
            .await
            .iter()
            .any(|e| e.action == "report.forward")
    );
}

#[tokio::test]
async fn program_policy_bounds_the_duplicate_thresholds() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let policy = t.get(&w.dev_admin, "/api/v1/policy").await;
    assert_eq!(policy.ok()["dedup_join_threshold"], 0.85);
    assert_eq!(policy.body["dedup_suggest_threshold"], 0.5);
    assert_eq!(policy.body["intake_reports_per_day"], 500);
    // (change, field)
    let cases = [
        (json!({"dedup_join_threshold": 0.0}), "dedup_join_threshold"),
        (json!({"dedup_join_threshold": 1.5}), "dedup_join_threshold"),
        (json!({"dedup_suggest_threshold": 0.9}), "dedup_suggest_threshold"),
        (json!({"dedup_join_threshold": 0.4}), "dedup_suggest_threshold"),
        (
            json!({"dedup_suggest_threshold": -0.1}),
            "dedup_suggest_threshold",
        ),
        (json!({"intake_reports_per_day": 0}), "intake_reports_per_day"),
    ];
    for (change, field) in cases {
        let reply = t.put(&w.program_admin, "/api/v1/policy", change.clone()).await;
        assert_eq!(reply.problem(422, "invalid-field")["field"], field, "{change}");
    }
    let set = t
        .put(
            &w.program_admin,
            "/api/v1/policy",
            json!({"dedup_join_threshold": 0.9, "dedup_suggest_threshold": 0.6}),
        )
        .await;
    assert_eq!(set.ok()["dedup_join_threshold"], 0.9);
    assert_eq!(set.body["dedup_suggest_threshold"], 0.6);
    t.put(
        &w.coordinator,
        "/api/v1/policy",
        json!({"dedup_join_threshold": 0.9}),
    )
    .await
    .problem(403, "forbidden");
}

#[tokio::test]
async fn parallel_merges_all_succeed() {
    // Each merge reads the case's reports before it writes; on SQLite such a transaction once failed with
    // "database is locked" (a 500) whenever another write committed between its read and its first write.
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let mut cases = Vec::new();
    for i in 0..16 {
        let mut body = vulnerability("amber");
        body["title"] = json!(format!("Flaw number {i} in a component of its own"));
        body["description"] = json!(format!("Report {i}: a distinct flaw, {}", "x".repeat(i + 1)));
        body["affected"] = json!([{"purl": format!("pkg:npm/component-{i}"), "versions": "*"}]);
        body["location"] = json!(format!("src/component_{i}.c:handler_{i}"));
        let filed = file(&t, &w.dev_member, body).await;
        cases.push(filed["case_id"].as_str().unwrap().to_owned());
    }
    let mut tasks = Vec::new();
    for pair in cases.chunks(2) {
        let (client, token) = (t.client.clone(), w.coordinator.token.clone());
        let url = t.url(&format!("/api/v1/cases/{}/merge", pair[1]));
        let into = pair[0].clone();
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"into": into}))
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::OK);
    }
    let closed = scalar(&t, "SELECT COUNT(*) FROM cases WHERE state = 'duplicate'").await;
    assert_eq!(closed, 8);
}
