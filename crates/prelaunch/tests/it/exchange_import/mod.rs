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

mod imports;

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
