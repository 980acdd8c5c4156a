//! OSV and CVE JSON 5 records of published advisories, over HTTP on both backends.
//!
//! A table of advisory shapes (products as npm, PyPI, Maven purls and CPE names, ranges with fixed and last
//! affected versions, exact versions, CVSS 3.0 and 3.1, with and without CWE or scores, a purl type OSV has no ecosystem for) is made through the
//! real API: each report filed, its case triaged and published. Each advisory's OSV record (`/osv/{id}.json`)
//! must pass the OSV schema (`../shared/schemas/osv-schema.json`, or `PRELAUNCH_SCHEMAS_DIR`) under Python's
//! `jsonschema`, and its CVE record (`/api/v1/advisories/{id}/cve`) the CVE JSON 5 schemas `cvelib` ships
//! (record format 5.1.1, the newest it bundles: 5.2 adds no field these records use). Then, per persona, the
//! OSV reads and `all.zip` (read by Python's `zipfile`) hold exactly the advisories the API's advisory reads
//! let that persona read; the expected cells for TLP:CLEAR and TLP:AMBER are also written out by hand.

use crate::cases::{Report, file_report, open_case, transition};
use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

fn python() -> PathBuf {
    test_program(
        "PRELAUNCH_TEST_PYTHON",
        "records are validated with jsonschema and cvelib",
    )
}

/// The OSV schema, among the shared schemas.
fn osv_schema() -> PathBuf {
    crate::support::shared_schemas().join("osv-schema.json")
}

/// Runs `exchange_schemas.py` with these arguments and input; its stdout's JSON lines.
async fn run_validator(args: &[&std::ffi::OsStr], input: String) -> Vec<Value> {
    let mut child = tokio::process::Command::new(python())
        .current_dir(clients_dir())
        .arg("exchange_schemas.py")
        .args(args)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("starting exchange_schemas.py");
    let mut stdin = child.stdin.take().unwrap();
    let writer = tokio::spawn(async move {
        stdin.write_all(input.as_bytes()).await.unwrap();
    });
    let output = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("exchange_schemas.py finishes")
        .unwrap();
    writer.await.unwrap();
    assert!(
        output.status.success(),
        "exchange_schemas.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// The schema errors of each record (`kind` "osv" or "cve"), in order.
async fn schema_errors(records: &[(&str, &Value)]) -> Vec<Value> {
    let input: String = records
        .iter()
        .map(|(kind, record)| json!({"kind": kind, "record": record}).to_string() + "\n")
        .collect();
    let schema = osv_schema();
    let answers = run_validator(&[schema.as_os_str()], input).await;
    assert_eq!(answers.len(), records.len(), "one answer per record");
    answers
}

/// A zip's entries as Python's `zipfile` reads them, each with its schema errors: `{name: errors}`.
pub(crate) async fn zip_entries(bytes: &[u8]) -> BTreeMap<String, Value> {
    let path = std::env::temp_dir().join(format!("osv-{}.zip", Uuid::now_v7()));
    std::fs::write(&path, bytes).unwrap();
    let schema = osv_schema();
    let answers = run_validator(&[schema.as_os_str(), path.as_os_str()], String::new()).await;
    std::fs::remove_file(&path).ok();
    assert_eq!(answers.len(), 1, "one answer for the archive");
    serde_json::from_value(answers[0].clone()).unwrap()
}

/// One advisory shape: the case's marking and its one report.
pub(crate) struct Shape {
    pub tlp: &'static str,
    pub affected: Option<(&'static str, &'static str, &'static str)>,
    pub cvss_v3: Option<(&'static str, f64)>,
    pub cwe: Option<i32>,
    pub finder: &'static str,
}

pub(crate) const SHAPES: [Shape; 5] = [
    Shape {
        tlp: "clear",
        affected: Some((
            "pkg:npm/acme/router@1.2.0",
            "pkg:npm/acme/router",
            ">=1.2.0, <1.4.3",
        )),
        cvss_v3: Some(("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8)),
        cwe: Some(787),
        finder: "Ada",
    },
    Shape {
        tlp: "clear",
        affected: Some(("pkg:pypi/acme-parser", "pkg:pypi/acme-parser", "<=2.0 || =3.1")),
        cvss_v3: None,
        cwe: None,
        finder: "Grace",
    },
    Shape {
        tlp: "green",
        affected: Some((
            "cpe:2.3:a:acme:router:*:*:*:*:*:*:*:*",
            "cpe:2.3:a:acme:router",
            ">2.0",
        )),
        cvss_v3: Some(("CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1)),
        cwe: Some(79),
        finder: "Hedy",
    },
    Shape {
        tlp: "amber",
        affected: Some((
            "pkg:maven/org.acme/router-core@3.0.0",
            "pkg:maven/org.acme/router-core",
            "*",
        )),
        cvss_v3: Some(("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N", 5.5)),
        cwe: Some(200),
        finder: "Radia",
    },
    Shape {
        tlp: "clear",
        affected: Some((
            "pkg:generic/acme/firmware",
            "pkg:generic/acme/firmware",
            "<2024.1",
        )),
        cvss_v3: None,
        cwe: None,
        finder: "Barbara",
    },
];

/// Publishes a case of the shape (its vendor notified) through the API; its advisory as the coordinator reads it.
pub(crate) async fn publish(t: &TestApp, w: &World, shape: &Shape) -> Value {
    let case = open_case(t, &w.coordinator, shape.tlp, &[w.vendor.org_id]).await;
    let report = Report {
        tlp: shape.tlp,
        affected: shape.affected,
        cvss_v3: shape.cvss_v3,
        cwe: shape.cwe,
        finder: shape.finder,
        ..Report::new(case, &w.dev_admin, t.clock_now())
    };
    file_report(t, &report).await;
    for to in ["triaged", "vendors_notified", "published"] {
        transition(t, &w.coordinator, case, to).await.ok();
    }
    let list = t.get(&w.coordinator, "/api/v1/advisories?limit=200").await;
    list.ok()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["case_id"] == json!(case))
        .expect("the case's advisory")
        .clone()
}

/// A CNA's organisation UUID in the CVE Program (version 4, as the Program issues them).
const CNA: &str = "3b9f2a5e-6c1d-4e8f-9a0b-1c2d3e4f5a6b";

fn osv_path(advisory: &Value) -> String {
    format!("/osv/x_{}.json", advisory["reference"].as_str().unwrap())
}

#[tokio::test]
async fn osv_and_cve_records_of_every_shape_pass_their_schemas() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let mut advisories = Vec::new();
    for shape in &SHAPES {
        advisories.push(publish(&t, &w, shape).await);
    }
    let mut records: Vec<(&str, Value)> = Vec::new();
    for (i, (shape, advisory)) in SHAPES.iter().zip(&advisories).enumerate() {
        let osv = t.get(&w.coordinator, &osv_path(advisory)).await;
        let osv = osv.ok().clone();
        assert_eq!(
            osv["id"],
            json!(format!("x_{}", advisory["reference"].as_str().unwrap()))
        );
        assert_eq!(osv["database_specific"]["tlp"], advisory["tlp_label"]);
        assert_eq!(osv["credits"], json!([{"name": shape.finder, "type": "FINDER"}]));
        if shape.tlp == "clear" {
            let public = t.call(Method::GET, &osv_path(advisory), None, None).await;
            assert_eq!(public.ok(), &osv, "the public reads the same record");
        }
        let id = advisory["id"].as_str().unwrap();
        let cve_id = format!("CVE-2026-{}", 10_000 + i);
        let cve = t
            .get(
                &w.coordinator,
                &format!(
                    "/api/v1/advisories/{id}/cve?cve_id={cve_id}&cna_org_id={CNA}&cna_short_name=Example-CNA"
                ),
            )
            .await;
        let cve = cve.ok().clone();
        assert_eq!(cve["cveMetadata"]["cveId"], json!(cve_id));
        assert_eq!(cve["dataVersion"], "5.2");
        records.push(("osv", osv));
        records.push(("cve", cve));
    }
    // What the shapes make of the products, ranges and scores.
    let osv_of = |i: usize| &records[2 * i].1;
    let cna_of = |i: usize| &records[2 * i + 1].1["containers"]["cna"];
    assert_eq!(
        osv_of(0)["affected"][0]["ranges"],
        json!([{"type": "SEMVER", "events": [{"introduced": "1.2.0"}, {"fixed": "1.4.3"}]}])
    );
    assert_eq!(osv_of(0)["affected"][0]["package"]["ecosystem"], "npm");
    assert_eq!(
        osv_of(0)["severity"],
        json!([{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}])
    );
    assert_eq!(
        osv_of(1)["affected"][0]["ranges"],
        json!([{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"last_affected": "2.0"}]}])
    );
    assert_eq!(osv_of(1)["affected"][0]["versions"], json!(["3.1"]));
    assert!(
        osv_of(2)["affected"][0].get("package").is_none(),
        "a CPE has no OSV ecosystem"
    );
    assert_eq!(
        osv_of(3)["affected"][0]["package"]["name"],
        "org.acme:router-core"
    );
    assert_eq!(
        osv_of(4)["affected"],
        json!([{"database_specific": {"product": "pkg:generic/acme/firmware", "versions": "<2024.1"}}]),
        "a purl type without an OSV ecosystem is kept as reported"
    );
    assert_eq!(
        cna_of(4)["affected"][0]["versions"],
        json!([{"version": "0", "status": "affected", "versionType": "generic", "lessThan": "2024.1"}])
    );
    assert_eq!(cna_of(0)["metrics"][0]["cvssV3_1"]["baseScore"], 9.8);
    assert_eq!(cna_of(2)["metrics"][0]["cvssV3_0"]["baseSeverity"], "MEDIUM");
    assert_eq!(
        cna_of(2)["affected"][0]["cpes"],
        json!(["cpe:2.3:a:acme:router:*:*:*:*:*:*:*:*"])
    );
    assert_eq!(
        cna_of(0)["problemTypes"][0]["descriptions"][0]["cweId"],
        "CWE-787"
    );
    assert_eq!(cna_of(3)["affected"][0]["defaultStatus"], "affected");

    let pairs: Vec<(&str, &Value)> = records.iter().map(|(k, v)| (*k, v)).collect();
    let errors = schema_errors(&pairs).await;
    let failures: Vec<String> = records
        .iter()
        .zip(&errors)
        .filter(|(_, e)| e.as_array().is_none_or(|e| !e.is_empty()))
        .map(|((kind, record), e)| {
            format!(
                "{kind} {}: {e}",
                record.get("id").unwrap_or(&record["cveMetadata"])
            )
        })
        .collect();
    assert!(
        failures.is_empty(),
        "records failing their schema:\n{}",
        failures.join("\n")
    );

    // The validator itself refuses a broken record of each kind.
    let mut broken_osv = records[0].1.clone();
    broken_osv["id"] = json!("PLA-2026-1");
    let mut broken_cve = records[1].1.clone();
    broken_cve["containers"]["cna"]["affected"] = json!([]);
    let refused = schema_errors(&[("osv", &broken_osv), ("cve", &broken_cve)]).await;
    assert!(
        refused.iter().all(|e| !e.as_array().unwrap().is_empty()),
        "{refused:?}"
    );

    // A missing or malformed id is the caller's mistake, naming the field.
    let id = advisories[0]["id"].as_str().unwrap();
    let uuid_v7 = Uuid::now_v7();
    let long = "x".repeat(33);
    let bad: [(String, &str); 7] = [
        (format!("cna_org_id={CNA}"), "cve_id"),
        (format!("cve_id=CVE-26-1&cna_org_id={CNA}"), "cve_id"),
        (format!("cve_id=CVE-2026-1234x&cna_org_id={CNA}"), "cve_id"),
        ("cve_id=CVE-2026-1234".into(), "cna_org_id"),
        ("cve_id=CVE-2026-1234&cna_org_id=nope".into(), "cna_org_id"),
        (format!("cve_id=CVE-2026-1234&cna_org_id={uuid_v7}"), "cna_org_id"),
        (
            format!("cve_id=CVE-2026-1234&cna_org_id={CNA}&cna_short_name={long}"),
            "cna_short_name",
        ),
    ];
    for (query, field) in &bad {
        let reply = t
            .get(&w.coordinator, &format!("/api/v1/advisories/{id}/cve?{query}"))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {}",
            reply.body
        );
        assert_eq!(reply.body["field"], json!(field), "{query}: {}", reply.body);
    }
}

#[tokio::test]
async fn each_reader_gets_exactly_the_records_it_may_read() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let mut advisories: BTreeMap<&str, Value> = BTreeMap::new();
    for tlp in ["clear", "green", "amber", "amber+strict"] {
        let shape = Shape { tlp, ..SHAPES[0] };
        advisories.insert(tlp, publish(&t, &w, &shape).await);
    }
    let missing = "/osv/x_PLA-1999-999999.json";
    let readers: [(&str, Option<&Persona>); 7] = [
        ("public", None),
        ("coordinator", Some(&w.coordinator)),
        ("reporter's admin", Some(&w.dev_admin)),
        ("reporter's colleague", Some(&w.dev_member)),
        ("vendor", Some(&w.vendor)),
        ("other developer", Some(&w.other_dev)),
        ("operator", Some(&w.operator)),
    ];
    // Written out for TLP:CLEAR and TLP:AMBER (as the authorisation matrix has them); every cell is also
    // checked against the API's own advisory read.
    let by_hand: BTreeMap<(&str, &str), bool> = [
        ("public", false),
        ("coordinator", true),
        ("reporter's admin", true),
        ("reporter's colleague", true),
        ("vendor", true),
        ("other developer", false),
        ("operator", false),
    ]
    .into_iter()
    .flat_map(|(who, amber)| [((who, "clear"), true), ((who, "amber"), amber)])
    .collect();
    let mut failures = Vec::new();
    for (who, persona) in readers {
        let token = persona.map(|p| p.token.as_str());
        let absent = t.call(Method::GET, missing, token, None).await;
        assert_eq!(absent.status, StatusCode::NOT_FOUND);
        let mut readable = BTreeSet::new();
        for (tlp, advisory) in &advisories {
            let id = advisory["id"].as_str().unwrap();
            let api = t
                .call(Method::GET, &format!("/api/v1/advisories/{id}"), token, None)
                .await;
            let may = api.status == StatusCode::OK;
            if let Some(expected) = by_hand.get(&(who, *tlp))
                && *expected != may
            {
                failures.push(format!("{who} × {tlp}: the API says {}", api.status));
            }
            let osv = t.call(Method::GET, &osv_path(advisory), token, None).await;
            if may {
                readable.insert(format!("x_{}.json", advisory["reference"].as_str().unwrap()));
                if osv.status != StatusCode::OK {
                    failures.push(format!("{who} × {tlp}: OSV {}", osv.status));
                }
            } else if (osv.status, &osv.body) != (absent.status, &absent.body) {
                failures.push(format!(
                    "{who} × {tlp}: OSV {} {} differs from a missing record's",
                    osv.status, osv.body
                ));
            }
        }
        let mut request = t.client.get(t.url("/osv/all.zip"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{who}");
        assert_eq!(response.headers()["content-type"], "application/zip");
        let entries = zip_entries(&response.bytes().await.unwrap()).await;
        let names: BTreeSet<String> = entries.keys().cloned().collect();
        if names != readable {
            failures.push(format!(
                "{who}: the zip holds {names:?}, the reader may read {readable:?}"
            ));
        }
        for (name, errors) in &entries {
            if errors.as_array().is_none_or(|e| !e.is_empty()) {
                failures.push(format!("{who}: {name} fails the OSV schema: {errors}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
