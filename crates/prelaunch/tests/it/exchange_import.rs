//! Import of CSAF 2.0 documents and OSV records into the intake flow (`POST /api/v1/reports/import`), the
//! mandatory tests of CSAF 2.0 that guard it, and the CVE id of cases.
//!
//! The mandatory tests (`clearinghouse::csaf::checks`) are compared with the BSI validator library
//! (`@secvisogram/csaf-validator-lib`, run with Node as in `csaf.rs`) on a table of documents: valid ones from
//! our writer, and one broken by hand per test number; both must name the same set of failed mandatory tests.

use chrono::{TimeZone, Utc};
use clearinghouse::csaf::{self, checks};
use clearinghouse::tlp::Tlp;
use serde_json::{Value, json};
use std::collections::BTreeSet;

fn advisory(products: Vec<csaf::Product>) -> csaf::Advisory {
    let at = |d| Utc.with_ymd_and_hms(2026, 3, d, 12, 0, 0).single().unwrap();
    csaf::Advisory {
        reference: "PLA-2026-7".into(),
        title: "Path traversal in Acme router".into(),
        summary: "The router serves files outside its root.".into(),
        tlp: Tlp::Clear,
        publisher: csaf::Publisher {
            name: "Prelaunch".into(),
            namespace: "https://clearinghouse.example".into(),
            contact: None,
        },
        generator: csaf::Generator {
            name: "Prelaunch".into(),
            version: "0.1.0".into(),
        },
        revisions: vec![csaf::Revision {
            number: 1,
            date: at(2),
            summary: "Initial release".into(),
        }],
        initial_release: at(2),
        current_release: at(2),
        references: vec![],
        cve: Some("CVE-2026-12345".into()),
        cwe: vec![22],
        cvss_v3: Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N".into()),
        cvss_v4: None,
        epss: None,
        ssvc: None,
        products,
        finders: vec![csaf::Finder::Person {
            name: "Ada".into(),
            ai_found: false,
        }],
    }
}

fn product(text: &str, versions: &str, fixed: &[&str], status: csaf::Status) -> csaf::Product {
    csaf::Product {
        product: text.into(),
        versions: versions.into(),
        fixed_in: fixed.iter().map(|v| v.to_string()).collect(),
        status,
        statement: None,
    }
}

/// A valid document from our writer: a fixed npm package (range CSAFPID-0001, fixed version CSAFPID-0002) and
/// an affected CPE (CSAFPID-0003).
pub(crate) fn valid_csaf() -> Value {
    csaf::write(&advisory(vec![
        product("pkg:npm/acme/router", "<2.0.0", &["2.0.0"], csaf::Status::Fixed),
        product(
            "cpe:2.3:a:acme:portal:5.0:*:*:*:*:*:*:*",
            "<5.1",
            &[],
            csaf::Status::KnownAffected,
        ),
    ]))
}

fn at<'a>(doc: &'a mut Value, pointer: &str) -> &'a mut Value {
    doc.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{pointer} is not in the document"))
}

fn history(doc: &mut Value, numbers: &[(&str, u32)], version: &str) {
    let items: Vec<Value> = numbers
        .iter()
        .map(|(n, day)| json!({"number": n, "date": format!("2026-03-{day:02}T12:00:00.000Z"), "summary": "A revision"}))
        .collect();
    *at(doc, "/document/tracking/revision_history") = json!(items);
    *at(doc, "/document/tracking/version") = json!(version);
}

/// (name, the test the change breaks, the change)
type Broken = (&'static str, &'static str, fn(&mut Value));

/// One hand-broken document per mandatory test implemented.
pub(crate) fn broken_csaf() -> Vec<Broken> {
    vec![
        ("undefined product id", "6.1.1", |d| {
            at(d, "/vulnerabilities/0/product_status/known_affected")
                .as_array_mut()
                .unwrap()
                .push(json!("CSAFPID-9999"))
        }),
        ("product id defined twice", "6.1.2", |d| {
            at(d, "/product_tree")["full_product_names"] =
                json!([{"name": "Another", "product_id": "CSAFPID-0001"}])
        }),
        ("circular relationship", "6.1.3", |d| {
            at(d, "/product_tree")["relationships"] = json!([{
                "category": "default_component_of",
                "full_product_name": {"name": "Router in portal", "product_id": "CSAFPID-0100"},
                "product_reference": "CSAFPID-0100",
                "relates_to_product_reference": "CSAFPID-0003",
            }])
        }),
        ("undefined group id", "6.1.4", |d| {
            at(d, "/vulnerabilities/0/remediations/0")["group_ids"] = json!(["CSAFGID-0001"])
        }),
        ("group id defined twice", "6.1.5", |d| {
            let g = json!({"group_id": "CSAFGID-0001", "product_ids": ["CSAFPID-0001", "CSAFPID-0003"]});
            at(d, "/product_tree")["product_groups"] = json!([g.clone(), g]);
        }),
        ("contradicting status", "6.1.6", |d| {
            at(d, "/vulnerabilities/0/product_status/known_affected")
                .as_array_mut()
                .unwrap()
                .push(json!("CSAFPID-0002"))
        }),
        ("two scores of one version", "6.1.7", |d| {
            let s = at(d, "/vulnerabilities/0/scores/0").clone();
            at(d, "/vulnerabilities/0/scores").as_array_mut().unwrap().push(s);
        }),
        ("CVSS without its base score", "6.1.8", |d| {
            at(d, "/vulnerabilities/0/scores/0/cvss_v3")
                .as_object_mut()
                .unwrap()
                .remove("baseScore");
        }),
        ("CVSS score not the vector's", "6.1.9", |d| {
            *at(d, "/vulnerabilities/0/scores/0/cvss_v3/baseScore") = json!(5.0)
        }),
        ("CVSS property not the vector's", "6.1.10", |d| {
            at(d, "/vulnerabilities/0/scores/0/cvss_v3")["attackVector"] = json!("LOCAL")
        }),
        ("CWE name not the catalogue's", "6.1.11", |d| {
            *at(d, "/vulnerabilities/0/cwe/name") = json!("Not the weakness's name")
        }),
        ("language not a tag", "6.1.12", |d| {
            *at(d, "/document/lang") = json!("e1")
        }),
        ("purl invalid", "6.1.13", |d| {
            *at(
                d,
                "/product_tree/branches/0/branches/0/branches/0/product/product_identification_helper/purl",
            ) = json!("pkg:npm/")
        }),
        ("revision history out of order", "6.1.14", |d| {
            history(d, &[("1", 5), ("2", 3)], "2")
        }),
        ("translator without source language", "6.1.15", |d| {
            *at(d, "/document/publisher/category") = json!("translator")
        }),
        ("version not the latest revision", "6.1.16", |d| {
            history(d, &[("1", 2)], "2")
        }),
        ("version 0 released", "6.1.17", |d| history(d, &[("0", 2)], "0")),
        ("pre-release in the history", "6.1.19", |d| {
            history(d, &[("1.0.0-rc.1", 2), ("1.0.0", 3)], "1.0.0")
        }),
        ("pre-release version released", "6.1.20", |d| {
            history(d, &[("1.0.0", 2)], "1.0.0-rc.1");
        }),
        ("missing revision", "6.1.21", |d| {
            history(d, &[("1", 2), ("3", 3)], "3")
        }),
        ("revision defined twice", "6.1.22", |d| {
            history(d, &[("1", 2), ("1", 3)], "1")
        }),
        ("one CVE twice", "6.1.23", |d| {
            let v = at(d, "/vulnerabilities/0").clone();
            at(d, "/vulnerabilities").as_array_mut().unwrap().push(v);
        }),
        ("involvement twice", "6.1.24", |d| {
            let i = json!({"party": "vendor", "status": "open", "date": "2026-03-02T12:00:00.000Z"});
            at(d, "/vulnerabilities/0")["involvements"] = json!([i.clone(), i]);
        }),
        ("hash algorithm twice", "6.1.25", |d| {
            let h = json!([{"filename": "router.tgz", "file_hashes": [
                {"algorithm": "sha256", "value": "a".repeat(64)},
                {"algorithm": "sha256", "value": "b".repeat(64)},
            ]}]);
            at(
                d,
                "/product_tree/branches/0/branches/0/branches/0/product/product_identification_helper",
            )["hashes"] = h;
        }),
        ("prohibited category", "6.1.26", |d| {
            *at(d, "/document/category") = json!("Security Advisory")
        }),
        ("informational advisory with vulnerabilities", "6.1.27.3", |d| {
            *at(d, "/document/category") = json!("csaf_informational_advisory")
        }),
        ("advisory without product tree", "6.1.27.4", |d| {
            d.as_object_mut().unwrap().remove("product_tree");
        }),
        ("vulnerability without notes", "6.1.27.5", |d| {
            at(d, "/vulnerabilities/0")
                .as_object_mut()
                .unwrap()
                .remove("notes");
        }),
        ("vulnerability without product status", "6.1.27.6", |d| {
            at(d, "/vulnerabilities/0")
                .as_object_mut()
                .unwrap()
                .remove("product_status");
        }),
        ("VEX without status or id", "6.1.27.7", |d| {
            *at(d, "/document/category") = json!("csaf_vex");
            let v = at(d, "/vulnerabilities/0").as_object_mut().unwrap();
            v.remove("cve");
            v.insert(
                "product_status".into(),
                json!({"first_affected": ["CSAFPID-0003"]}),
            );
            v.remove("remediations");
            v.remove("threats");
            v.insert(
                "remediations".into(),
                json!([{"category": "none_available", "details": "None.", "product_ids": ["CSAFPID-0003"]}]),
            );
        }),
        ("VEX without impact or action statements", "6.1.27.9", |d| {
            *at(d, "/document/category") = json!("csaf_vex");
            let v = at(d, "/vulnerabilities/0").as_object_mut().unwrap();
            v.insert(
                "product_status".into(),
                json!({"known_not_affected": ["CSAFPID-0001"], "known_affected": ["CSAFPID-0003"]}),
            );
            v.remove("remediations");
            v.remove("threats");
            v.remove("scores");
        }),
        ("advisory without vulnerabilities", "6.1.27.11", |d| {
            d.as_object_mut().unwrap().remove("vulnerabilities");
        }),
        ("translation into its own language", "6.1.28", |d| {
            at(d, "/document")["source_lang"] = json!("en")
        }),
        ("remediation without products", "6.1.29", |d| {
            at(d, "/vulnerabilities/0/remediations/0")
                .as_object_mut()
                .unwrap()
                .remove("product_ids");
        }),
        ("integer and semantic versions", "6.1.30", |d| {
            history(d, &[("1", 2), ("2.0.0", 3)], "2.0.0")
        }),
        ("range as a product version", "6.1.31", |d| {
            *at(d, "/product_tree/branches/0/branches/0/branches/1/name") = json!("prior to 2.0.0")
        }),
        ("flag without products", "6.1.32", |d| {
            at(d, "/vulnerabilities/0")["flags"] = json!([{"label": "component_not_present"}])
        }),
        ("two flags on a product", "6.1.33", |d| {
            at(d, "/vulnerabilities/0")["flags"] = json!([
                {"label": "component_not_present", "product_ids": ["CSAFPID-0003"]},
                {"label": "vulnerable_code_not_present", "product_ids": ["CSAFPID-0003"]},
            ])
        }),
    ]
}

/// The validator's failed mandatory tests, as test numbers (`mandatoryTest_6_1_27_5` → `6.1.27.5`).
fn bsi_numbers(answer: &Value) -> BTreeSet<String> {
    answer
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .filter_map(|n| n.strip_prefix("mandatoryTest_"))
        .map(|n| n.replace('_', "."))
        .collect()
}

fn ours(doc: &Value) -> BTreeSet<String> {
    checks::check(doc)
        .into_iter()
        .filter(|f| f.test != "schema")
        .map(|f| f.test.to_owned())
        .collect()
}

#[test]
fn csaf_mandatory_tests_agree_with_the_bsi_validator() {
    let mut docs = vec![("valid: our writer", None, valid_csaf())];
    for (name, test, change) in broken_csaf() {
        let mut d = valid_csaf();
        change(&mut d);
        docs.push((name, Some(test), d));
    }
    let answers = crate::csaf::csaf_validator(&docs.iter().map(|(_, _, d)| d.clone()).collect::<Vec<_>>());
    let mut wrong = Vec::new();
    for ((name, test, doc), answer) in docs.iter().zip(&answers) {
        let bsi = bsi_numbers(answer);
        let mine = ours(doc);
        if let Some(test) = test {
            assert!(
                bsi.contains(*test),
                "{name}: the validator does not fail {test}: {answer}"
            );
        } else {
            assert!(checks::check(doc).is_empty(), "{name}: {:?}", checks::check(doc));
        }
        if bsi != mine {
            wrong.push(format!("{name}: validator {bsi:?}, ours {mine:?}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "the mandatory tests disagree:\n{}",
        wrong.join("\n")
    );
}

// Import over HTTP (`POST /api/v1/reports/import`) and the CVE id of cases, on the backend the run picks.

use crate::cases::{Report, file_report, open_case, transition};
use crate::support::*;
use reqwest::{Method, StatusCode};
use uuid::Uuid;

const IMPORT: &str = "/api/v1/reports/import";

/// An OSV record of an npm package, fixed in 1.4.2; `cve` is its alias.
pub(crate) fn osv_record(id: &str, cve: Option<&str>) -> Value {
    let mut record = json!({
        "schema_version": "1.6.0",
        "id": id,
        "modified": "2026-03-01T12:00:00Z",
        "published": "2026-02-01T12:00:00Z",
        "summary": format!("Prototype pollution in acme-merge ({id})"),
        "details": "Merging an object with a __proto__ key pollutes Object.prototype.",
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
        "affected": [{
            "package": {"ecosystem": "npm", "name": "acme-merge"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.4.2"}]}],
        }],
        "database_specific": {"cwe_ids": ["CWE-1321"]},
    });
    if let Some(cve) = cve {
        record["aliases"] = json!([cve]);
    }
    record
}

/// The rules a refusal names.
fn rules(reply: &Reply) -> BTreeSet<String> {
    reply.body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors: {}", reply.body))
        .iter()
        .map(|e| e["rule"].as_str().unwrap().to_owned())
        .collect()
}

/// How many reports the coordinator reads (every report).
async fn report_count(t: &TestApp, w: &World) -> usize {
    let list = t.get(&w.coordinator, "/api/v1/reports?limit=100").await;
    list.ok()["items"].as_array().unwrap().len()
}

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
}
