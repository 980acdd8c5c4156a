//! Imports through intake: checks, filing, round trips of our own exports, markings, CVE ids, product orders.

use super::*;

#[tokio::test]
async fn imports_are_checked_and_filed_through_intake() {
    let t = spawn_app().await;
    let w = World::new(&t).await;

    // A valid CSAF document: one report, marked as the document is (WHITE is CLEAR), with the products of
    // the tree (the fixed npm range and the affected CPE), the CVE id its case takes, and its origin.
    let csaf = valid_csaf();
    let reply = t.post(&w.dev_member, IMPORT, csaf.clone()).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(reply.body["format"], "csaf");
    assert_eq!(reply.body["document_id"], "PLA-2026-7");
    assert_eq!(reply.body["version"], "1");
    let filed = reply.body["reports"].as_array().unwrap();
    assert_eq!(filed.len(), 1, "{}", reply.body);
    assert_eq!(filed[0]["tlp"], "clear");
    assert_eq!(filed[0]["joined"], false);
    let report = t
        .get(
            &w.dev_member,
            &format!("/api/v1/reports/{}", filed[0]["id"].as_str().unwrap()),
        )
        .await;
    let report = report.ok();
    assert_eq!(
        report["origin"],
        json!({"format": "csaf", "document_id": "PLA-2026-7", "version": "1", "cve": "CVE-2026-12345"})
    );
    assert_eq!(report["title"], "Path traversal in Acme router");
    assert_eq!(report["cwe"], "CWE-22");
    assert_eq!(report["finder"]["kind"], "organization");
    assert_eq!(report["ai_found"], false);
    let products: BTreeSet<String> = report["affected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let product = a.get("purl").or(a.get("cpe")).unwrap().as_str().unwrap();
            format!("{product} {}", a["versions"].as_str().unwrap())
        })
        .collect();
    assert_eq!(products.len(), 2, "{products:?}");
    assert!(
        products.iter().any(|p| p.starts_with("pkg:npm/acme/router ")),
        "{products:?}"
    );
    assert!(
        products.iter().any(|p| p.starts_with("cpe:2.3:a:acme:portal:")),
        "{products:?}"
    );
    let case = filed[0]["case_id"].as_str().unwrap().to_owned();
    let read = t.get(&w.coordinator, &format!("/api/v1/cases/{case}")).await;
    assert_eq!(read.ok()["cve"], "CVE-2026-12345");

    // The same document again joins that case (its CVE id names it), as a duplicate of the first report.
    let again = t.post(&w.dev_admin, IMPORT, csaf.clone()).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.body);
    assert_eq!(again.body["reports"][0]["case_id"], json!(case));
    assert_eq!(again.body["reports"][0]["joined"], true);

    // A valid OSV record: AMBER unless `?tlp=` says otherwise; its CVE alias on the case it opens.
    let reply = t
        .post(
            &w.dev_member,
            IMPORT,
            osv_record("GHSA-1111-2222-3333", Some("CVE-2026-20001")),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(reply.body["format"], "osv");
    assert_eq!(reply.body["document_id"], "GHSA-1111-2222-3333");
    assert_eq!(reply.body["version"], "2026-03-01T12:00:00Z");
    let filed = &reply.body["reports"][0];
    assert_eq!(filed["tlp"], "amber");
    assert_eq!(filed["scores"]["cvss_v3"]["base_score"], 9.8);
    let case = filed["case_id"].as_str().unwrap();
    let read = t.get(&w.coordinator, &format!("/api/v1/cases/{case}")).await;
    assert_eq!(read.ok()["cve"], "CVE-2026-20001");
    let report = t
        .get(
            &w.dev_member,
            &format!("/api/v1/reports/{}", filed["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(
        report.ok()["affected"],
        json!([{"purl": "pkg:npm/acme-merge", "versions": "<1.4.2"}])
    );
    let green = t
        .post(
            &w.dev_member,
            &format!("{IMPORT}?tlp=green"),
            osv_record("PYSEC-2026-4", None),
        )
        .await;
    assert_eq!(green.status, StatusCode::CREATED, "{}", green.body);
    assert_eq!(green.body["reports"][0]["tlp"], "green");

    // Refusals: every mandatory test named with its number, the OSV schema's rules, and the request's own
    // mistakes; nothing is stored by any of them.
    let before = report_count(&t, &w).await;
    for (name, test, change) in broken_csaf() {
        let mut doc = valid_csaf();
        change(&mut doc);
        let reply = t.post(&w.dev_member, IMPORT, doc).await;
        reply.problem(422, "invalid-field");
        assert!(
            rules(&reply).contains(test),
            "{name}: {test} not among {:?}",
            rules(&reply)
        );
        for e in reply.body["errors"].as_array().unwrap() {
            assert!(e["path"].as_str().unwrap().starts_with('/'), "{name}: {e}");
        }
    }
    type Change = fn(&mut Value);
    let broken_osv: [(&str, Change, &str); 8] = [
        (
            "no modified",
            |r| {
                r.as_object_mut().unwrap().remove("modified");
            },
            "/modified",
        ),
        (
            "a time that is not UTC",
            |r| r["modified"] = json!("2026-03-01T12:00:00+02:00"),
            "/modified",
        ),
        ("an id without a database", |r| r["id"] = json!("1234"), "/id"),
        (
            "a schema version that is none",
            |r| r["schema_version"] = json!("one"),
            "/schema_version",
        ),
        (
            "events out of order",
            |r| {
                r["affected"][0]["ranges"][0]["events"] = json!([{"introduced": "2.0.0"}, {"fixed": "1.0.0"}])
            },
            "/affected/0/ranges/0/events/1/fixed",
        ),
        (
            "no introduced event",
            |r| r["affected"][0]["ranges"][0]["events"] = json!([{"fixed": "1.0.0"}]),
            "/affected/0/ranges/0/events",
        ),
        (
            "a SEMVER range without its package",
            |r| {
                r["affected"][0].as_object_mut().unwrap().remove("package");
            },
            "/affected/0/package",
        ),
        (
            "a range of no known type",
            |r| r["affected"][0]["ranges"][0]["type"] = json!("DATES"),
            "/affected/0/ranges/0/type",
        ),
    ];
    for (name, change, path) in broken_osv {
        let mut record = osv_record("GHSA-4444-5555-6666", None);
        change(&mut record);
        let reply = t.post(&w.dev_member, IMPORT, record).await;
        reply.problem(422, "invalid-field");
        let paths: Vec<&str> = reply.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["path"].as_str().unwrap())
            .collect();
        assert!(paths.contains(&path), "{name}: {path} not among {paths:?}");
        assert_eq!(rules(&reply), BTreeSet::from(["osv".to_owned()]), "{name}");
    }
    // All or nothing: a second vulnerability that names no product we can file refuses the first too.
    let mut two = valid_csaf();
    at(&mut two, "/product_tree")["full_product_names"] =
        json!([{"name": "Acme appliance", "product_id": "CSAFPID-0100"}]);
    let second = json!({
        "cve": "CVE-2026-30000",
        "notes": [{"category": "description", "title": "Description", "text": "The appliance too."}],
        "product_status": {"known_affected": ["CSAFPID-0100"]},
    });
    at(&mut two, "/vulnerabilities")
        .as_array_mut()
        .unwrap()
        .push(second);
    assert!(checks::check(&two).is_empty(), "{:?}", checks::check(&two));
    let reply = t.post(&w.dev_member, IMPORT, two).await;
    let problem = reply.problem(422, "invalid-field");
    assert_eq!(problem["field"], "/vulnerabilities/1: affected", "{problem}");
    let unknown = t.post(&w.dev_member, IMPORT, json!({"title": "a report?"})).await;
    assert_eq!(unknown.problem(422, "invalid-field")["field"], "body");
    let not_object = t.post(&w.dev_member, IMPORT, json!([1, 2])).await;
    assert_eq!(not_object.problem(422, "invalid-field")["field"], "body");
    let bad_tlp = t
        .post(
            &w.dev_member,
            &format!("{IMPORT}?tlp=purple"),
            osv_record("OSV-2026-9", None),
        )
        .await;
    assert_eq!(bad_tlp.problem(422, "invalid-field")["field"], "tlp");
    let bytes = serde_json::to_vec(&valid_csaf()).unwrap();
    let text = t
        .raw(
            Method::POST,
            IMPORT,
            Some(&w.dev_member.token),
            Some("text/plain"),
            bytes,
        )
        .await;
    text.problem(415, "unsupported-media-type");
    let mut huge = valid_csaf();
    at(&mut huge, "/document")["notes"] =
        json!([{"category": "summary", "title": "Summary", "text": "x".repeat(300 * 1024)}]);
    let oversized = t
        .raw(
            Method::POST,
            IMPORT,
            Some(&w.dev_member.token),
            Some("application/json"),
            serde_json::to_vec(&huge).unwrap(),
        )
        .await;
    oversized.problem(413, "payload-too-large");
    let anonymous = t
        .call(Method::POST, IMPORT, None, Some(osv_record("OSV-2026-8", None)))
        .await;
    anonymous.problem(401, "unauthenticated");
    assert_eq!(
        report_count(&t, &w).await,
        before,
        "a refused import stores nothing"
    );
}

/// Our own CSAF export of an advisory, imported back, lands in the advisory's case; the case's CVE id is in
/// the CSAF document, the OSV record's aliases and the CVE record.
#[tokio::test]
async fn our_csaf_export_imported_back_lands_in_its_case() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let case = open_case(&t, &w.coordinator, "clear", &[w.vendor.org_id]).await;
    let report = Report {
        tlp: "clear",
        ..Report::new(case, &w.dev_admin, t.clock_now())
    };
    file_report(&t, &report).await;
    let set = t
        .put(
            &w.coordinator,
            &format!("/api/v1/cases/{case}/cve"),
            json!({"cve": "CVE-2026-31337"}),
        )
        .await;
    assert_eq!(set.ok()["cve"], "CVE-2026-31337");
    for to in ["triaged", "vendors_notified", "published"] {
        transition(&t, &w.coordinator, case, to).await.ok();
    }
    let list = t.get(&w.coordinator, "/api/v1/advisories?limit=100").await;
    let advisory = list.ok()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["case_id"] == json!(case))
        .cloned()
        .expect("the case's advisory");
    let advisory = id_of(&advisory);
    let csaf = t
        .get(&w.coordinator, &format!("/api/v1/advisories/{advisory}/csaf"))
        .await;
    let csaf = csaf.ok().clone();
    assert_eq!(csaf["vulnerabilities"][0]["cve"], "CVE-2026-31337");
    assert!(checks::check(&csaf).is_empty(), "{:?}", checks::check(&csaf));
    let cna = "cna_org_id=3b9f2a5e-6c1d-4e8f-9a0b-1c2d3e4f5a6b";
    let record = t
        .get(
            &w.coordinator,
            &format!("/api/v1/advisories/{advisory}/cve?{cna}"),
        )
        .await;
    assert_eq!(record.ok()["cveMetadata"]["cveId"], "CVE-2026-31337");
    let other = t
        .get(
            &w.coordinator,
            &format!("/api/v1/advisories/{advisory}/cve?cve_id=CVE-2026-1111&{cna}"),
        )
        .await;
    assert_eq!(other.problem(422, "invalid-field")["field"], "cve_id");
    let osv = t.get(&w.operator, "/api/v1/advisories?limit=100").await;
    let reference = osv.ok()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["case_id"] == json!(case))
        .map(|a| a["reference"].as_str().unwrap().to_owned())
        .unwrap();
    let osv = t
        .call(Method::GET, &format!("/osv/x_{reference}.json"), None, None)
        .await;
    assert_eq!(osv.ok()["aliases"], json!(["CVE-2026-31337"]), "{}", osv.body);

    let imported = t.post(&w.dev_member, IMPORT, csaf).await;
    assert_eq!(imported.status, StatusCode::CREATED, "{}", imported.body);
    let filed = &imported.body["reports"][0];
    assert_eq!(filed["case_id"], json!(case), "{}", imported.body);
    assert_eq!(filed["joined"], true);
    assert_eq!(filed["tlp"], "clear");
}

/// An imported report is read under its marking like any other: a persona outside it reads nothing.
#[tokio::test]
async fn imported_reports_keep_their_marking() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let reply = t
        .post(
            &w.dev_member,
            &format!("{IMPORT}?tlp=amber"),
            osv_record("GHSA-7777-8888-9999", None),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let id = reply.body["reports"][0]["id"].as_str().unwrap().to_owned();
    let case = reply.body["reports"][0]["case_id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/reports/{id}");
    for (who, status) in [
        (&w.dev_member, StatusCode::OK),
        (&w.dev_admin, StatusCode::OK),
        (&w.coordinator, StatusCode::OK),
        (&w.other_dev, StatusCode::NOT_FOUND),
        (&w.vendor, StatusCode::NOT_FOUND),
        (&w.operator, StatusCode::NOT_FOUND),
    ] {
        let read = t.get(who, &path).await;
        assert_eq!(read.status, status, "{}: {}", who.name, read.body);
        let case = t.get(who, &format!("/api/v1/cases/{case}")).await;
        assert_eq!(case.status, status, "{} reads the case: {}", who.name, case.body);
    }
    let public = t.call(Method::GET, &path, None, None).await;
    assert_eq!(public.status, StatusCode::NOT_FOUND);
    let listed = t.get(&w.other_dev, "/api/v1/reports?limit=100").await;
    assert!(
        listed.ok()["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["id"] != json!(id)),
        "{}",
        listed.body
    );
}

/// Only coordinators set a case's CVE id; it is checked, unique across cases, and can be cleared.
#[tokio::test]
async fn case_cve_ids_are_the_coordinators_and_unique() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let first = open_case(&t, &w.coordinator, "amber", &[w.vendor.org_id]).await;
    let second = open_case(&t, &w.coordinator, "amber", &[]).await;
    transition(&t, &w.coordinator, first, "triaged").await.ok();
    transition(&t, &w.coordinator, first, "vendors_notified")
        .await
        .ok();
    let cve = |case: Uuid| format!("/api/v1/cases/{case}/cve");
    // The vendor reads the case once notified but may not set its CVE id; others do not read it.
    for (who, status) in [
        (&w.vendor, StatusCode::FORBIDDEN),
        (&w.dev_admin, StatusCode::NOT_FOUND),
        (&w.operator, StatusCode::NOT_FOUND),
    ] {
        let reply = t.put(who, &cve(first), json!({"cve": "CVE-2026-40001"})).await;
        assert_eq!(reply.status, status, "{}: {}", who.name, reply.body);
    }
    let read = t.get(&w.coordinator, &format!("/api/v1/cases/{first}")).await;
    assert_eq!(read.ok()["cve"], Value::Null);
    for bad in ["CVE-26-1", "CVE-2026-123", "cve-2026-1234", "CVE-2026-1234x", ""] {
        let reply = t.put(&w.coordinator, &cve(first), json!({"cve": bad})).await;
        assert_eq!(reply.problem(422, "invalid-field")["field"], "cve", "{bad}");
    }
    let set = t
        .put(&w.coordinator, &cve(first), json!({"cve": "CVE-2026-40001"}))
        .await;
    assert_eq!(set.ok()["cve"], "CVE-2026-40001");
    let reference = set.body["reference"].as_str().unwrap().to_owned();
    let list = t.get(&w.coordinator, "/api/v1/cases?limit=100").await;
    let listed = list.ok()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == json!(first))
        .cloned()
        .unwrap();
    assert_eq!(listed["cve"], "CVE-2026-40001");
    let taken = t
        .put(&w.coordinator, &cve(second), json!({"cve": "CVE-2026-40001"}))
        .await;
    let problem = taken.problem(409, "conflict");
    assert!(
        problem["detail"].as_str().unwrap().contains(&reference),
        "{problem}"
    );
    // Setting it again is no change; clearing frees it for the other case.
    let same = t
        .put(&w.coordinator, &cve(first), json!({"cve": "CVE-2026-40001"}))
        .await;
    assert_eq!(same.ok()["version"], set.body["version"]);
    let cleared = t.put(&w.coordinator, &cve(first), json!({"cve": null})).await;
    assert_eq!(cleared.ok()["cve"], Value::Null);
    let moved = t
        .put(&w.coordinator, &cve(second), json!({"cve": "CVE-2026-40001"}))
        .await;
    assert_eq!(moved.ok()["cve"], "CVE-2026-40001");
    // An import naming that CVE id joins the case holding it.
    let imported = t
        .post(
            &w.dev_member,
            IMPORT,
            osv_record("GHSA-2222-3333-4444", Some("CVE-2026-40001")),
        )
        .await;
    assert_eq!(imported.status, StatusCode::CREATED, "{}", imported.body);
    assert_eq!(imported.body["reports"][0]["case_id"], json!(second));
    assert_eq!(imported.body["reports"][0]["joined"], true);

    // Cases racing for one free id: exactly one gets it, every other gets 409, none a 500.
    let mut racers = Vec::new();
    for _ in 0..6 {
        racers.push(open_case(&t, &w.coordinator, "amber", &[]).await);
    }
    let paths: Vec<String> = racers.iter().map(|&case| cve(case)).collect();
    let replies = futures_util::future::join_all(
        paths
            .iter()
            .map(|path| t.put(&w.coordinator, path, json!({"cve": "CVE-2026-40999"}))),
    )
    .await;
    let mut statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409, 409, 409, 409, 409], "{replies:?}");
    let paths: Vec<String> = racers
        .iter()
        .map(|case| format!("/api/v1/cases/{case}"))
        .collect();
    let holders = futures_util::future::join_all(paths.iter().map(|path| t.get(&w.coordinator, path)))
        .await
        .into_iter()
        .filter(|r| r.body["cve"] == "CVE-2026-40999")
        .count();
    assert_eq!(holders, 1);
}

/// A CSAF document of two vulnerabilities, one on each product of `valid_csaf`, in the order given, under a
/// tracking id of its own (so that every import is a new document).
fn two_vulnerabilities(tracking_id: &str, portal_first: bool) -> Value {
    let mut doc = valid_csaf();
    *at(&mut doc, "/document/tracking/id") = json!(tracking_id);
    let base = doc["vulnerabilities"][0].clone();
    let on = |title: &str, product: &str| {
        let mut v = json!({
            "title": title,
            "product_status": {"known_affected": [product]},
            "notes": [{"category": "description", "text": format!("{title}: files outside the root are served.")}],
        });
        for key in ["cwe"] {
            if let Some(value) = base.get(key) {
                v[key] = value.clone();
            }
        }
        v
    };
    let portal = on("Path traversal in the Acme portal", "CSAFPID-0003");
    let router = on("Path traversal in the Acme router", "CSAFPID-0001");
    doc["vulnerabilities"] = if portal_first {
        json!([portal, router])
    } else {
        json!([router, portal])
    };
    doc
}

#[tokio::test]
async fn imports_of_the_same_products_in_opposite_orders_all_land() {
    // Two organisations importing documents that name the same products in opposite orders at once: on
    // PostgreSQL their dedup locks can deadlock; the victim runs again, and every import is filed.
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let first = t
        .post(&w.dev_member, IMPORT, two_vulnerabilities("DL-0", true))
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert_eq!(
        first.body["reports"].as_array().unwrap().len(),
        2,
        "{}",
        first.body
    );
    let docs: Vec<(bool, Value)> = (1..=12)
        .map(|i| (i % 2 == 0, two_vulnerabilities(&format!("DL-{i}"), i % 2 == 0)))
        .collect();
    let replies = futures_util::future::join_all(docs.iter().map(|(mine, doc)| {
        let who = if *mine { &w.dev_member } else { &w.other_dev };
        t.post(who, IMPORT, doc.clone())
    }))
    .await;
    for reply in &replies {
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        assert_eq!(
            reply.body["reports"].as_array().unwrap().len(),
            2,
            "{}",
            reply.body
        );
    }
}
