//! Our reports and cases as STIX objects in the TAXII collections, on both backends.
//!
//! The table: the TLP matrix's fixtures (one case per marking, a report and a duplicate from another finder),
//! each reader asks its marking's collection for the objects of each report and of the case, under embargo and
//! again once published; a report's objects are there exactly when `may_read` admits the reader to the report
//! (the duplicate: exactly when the API lets them read it), the case's exactly when the case is readable, so an
//! outsider sees it on publication and not before. Then `taxii2-client` reads a threat report and an edited
//! vulnerability report, `stix2-validator` checks every object strictly, the edit is a second version, and the
//! export posted to another instance comes back with its ids, versions and markings. Last, the backfill writes
//! a report whose objects went missing, once.

use crate::inspect_log::{client, run};
use crate::support::*;
use crate::tlp_matrix::{Cast, MARKINGS, Marking, Who, build, may_read};
use app::clearinghouse::taxii::Collection;
use clearinghouse::stix::{identity, identity_id, marking_definition};
use clearinghouse::stix_reports::{case_object_id, report_object_id, vulnerability_id};
use clearinghouse::tlp::Tlp;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

const TAXII: &str = "application/taxii+json;version=2.1";

fn collection(tlp: Tlp) -> Collection {
    Collection::all().into_iter().find(|c| c.tlp == tlp).unwrap()
}

/// The ids among `ids` that the reader finds in the collection of `tlp` (none when it may not read it).
async fn found(t: &TestApp, who: Option<&Persona>, tlp: Tlp, ids: &[String]) -> BTreeSet<String> {
    let path = format!(
        "/taxii2/api/collections/{}/objects/?match[id]={}",
        collection(tlp).id,
        ids.join(",")
    );
    let mut request = t.client.get(t.url(&path)).header("accept", TAXII);
    if let Some(p) = who {
        request = request.basic_auth(&p.email, Some(&p.token));
    }
    let response = request.send().await.unwrap();
    if response.status() == StatusCode::UNAUTHORIZED && who.is_none() {
        return BTreeSet::new();
    }
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    let page: Value = response.json().await.unwrap();
    page["objects"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect()
}

const PERSONAS: [Who; 8] = [
    Who::Public,
    Who::Reporter,
    Who::Operator,
    Who::Client,
    Who::Participant,
    Who::Named,
    Who::Coordinator,
    Who::Finder,
];

#[tokio::test]
async fn each_reader_finds_a_reports_objects_exactly_when_it_may_read_the_report() {
    let t = spawn_app().await;
    let cast = Cast::new(&t).await;
    let mut fixtures = Vec::new();
    for (n, m) in MARKINGS.into_iter().enumerate() {
        fixtures.push(build(&t, &cast, m, n).await);
    }
    let mut failures = Vec::new();
    for phase in ["embargo", "published"] {
        if phase == "published" {
            for f in fixtures.iter_mut().filter(|f| f.marking != Marking::Red) {
                let moved = t
                    .post(
                        cast.get(Who::Coordinator),
                        &format!("/api/v1/cases/{}/transition", f.case),
                        json!({"to": "published"}),
                    )
                    .await;
                assert!(moved.status.is_success(), "{:?}: {}", f.marking, moved.body);
                f.stage.published = true;
            }
        }
        for f in &fixtures {
            let tlp = Tlp::parse(f.marking.api()).unwrap();
            for who in PERSONAS {
                let persona = (who != Who::Public).then(|| cast.get(who));
                let mut ids = Vec::new();
                for r in [f.report, f.duplicate] {
                    ids.push(report_object_id(r));
                    ids.push(vulnerability_id(r));
                }
                ids.push(case_object_id(f.case));
                let got = found(&t, persona, tlp, &ids).await;
                // The duplicate's readers are the API's: a report's objects follow the report's own rule.
                let duplicate_readable = match persona {
                    Some(p) => {
                        t.get(p, &format!("/api/v1/reports/{}", f.duplicate)).await.status == StatusCode::OK
                    }
                    None => {
                        t.call(
                            reqwest::Method::GET,
                            &format!("/api/v1/reports/{}", f.duplicate),
                            None,
                            None,
                        )
                        .await
                        .status
                            == StatusCode::OK
                    }
                };
                let readable = may_read(f.marking, who, f.stage);
                let want: [(&str, String, bool); 5] = [
                    ("report", report_object_id(f.report), readable),
                    ("its vulnerability", vulnerability_id(f.report), readable),
                    ("duplicate", report_object_id(f.duplicate), duplicate_readable),
                    (
                        "duplicate's vulnerability",
                        vulnerability_id(f.duplicate),
                        duplicate_readable,
                    ),
                    // A case's object refers to the reports its marking carries (as its advisory would);
                    // a RED case carries no RED report, so this one has none.
                    (
                        "case",
                        case_object_id(f.case),
                        readable && f.marking != Marking::Red,
                    ),
                ];
                for (what, id, sees) in want {
                    if got.contains(&id) != sees {
                        failures.push(format!(
                            "{phase} {:?} × {who:?}: {what} {}",
                            f.marking,
                            if sees { "missing" } else { "shown" }
                        ));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

const WALK: &str = r#"
import json, sys
from taxii2client.v21 import Server, as_pages
from stix2validator import validate_instance, ValidationOptions
url, user, password, extra = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
server = Server(url, user=user, password=password)
# Strict, but for check 103 (a recommendation that SDO ids be UUIDv4): our ids are UUIDv5 so that they are
# stable, which STIX 2.1 allows.
opts = ValidationOptions(strict=True, version="2.1", disabled=["103"])
out = {"objects": {}, "versions": {}, "invalid": []}
for c in server.default.collections:
    objects = []
    for page in as_pages(c.get_objects, per_request=50):
        objects.extend(page.get("objects", []))
    if objects:
        bundle = {"type": "bundle", "id": "bundle--2f0d5c7e-1b8a-4c3e-9d6f-7a1b2c3d4e5f", "objects": extra + objects}
        r = validate_instance(bundle, opts)
        if not r.is_valid:
            out["invalid"].append([str(e) for e in r.errors])
    for o in objects:
        out["objects"][o["id"]] = {"collection": c.title, "object": o}
        out["versions"][o["id"]] = c.object_versions(o["id"]).get("versions", [])
print(json.dumps(out))
"#;

fn threat() -> Value {
    json!({
        "kind": "threat",
        "title": "Phishing kit using model-written lures",
        "description": "A campaign sends lures written by a language model; the payload beacons to a fixed host.",
        "tlp": "green",
        "indicators": ["[domain-name:value = 'lure.example'] FOLLOWEDBY [ipv4-addr:value = '198.51.100.7'] WITHIN 600 SECONDS"],
        "attack_patterns": ["T1566.002", "Phishing"],
        "misuse": "Lures generated per target from scraped profiles.",
        "finder": {"kind": "organization", "name": "Water ISAC"},
    })
}

fn vulnerability(tlp: &str) -> Value {
    json!({
        "kind": "vulnerability",
        "title": "Heap overflow in stix-lib header parsing",
        "description": "A long header overflows a fixed buffer in stix-lib; ASan reports a heap-buffer-overflow WRITE.",
        "tlp": tlp,
        "affected": [{"purl": "pkg:npm/stix-lib", "versions": ">=1.0.0, <1.4.0"}],
        "cwe": "CWE-787",
        "cvss_v3": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
    })
}

#[tokio::test]
async fn exported_reports_pass_strict_validation_version_on_edit_and_round_trip() {
    let t = spawn_app().await;
    t.program_admin().await;
    t.org("developer", "Frontier Lab").await;
    t.org("operator", "Water ISAC").await;
    let reporter = t
        .person("reporter", "Frontier Lab", "rep@lab.example", "member")
        .await;
    let client_org = t.org("operator", "Grid Operator").await;
    let filed = t.post(&reporter, "/api/v1/reports", threat()).await;
    assert_eq!(filed.status, StatusCode::CREATED, "{}", filed.body);
    let threat_report = id_of(&filed.body);
    let filed = t.post(&reporter, "/api/v1/reports", vulnerability("amber")).await;
    assert_eq!(filed.status, StatusCode::CREATED, "{}", filed.body);
    let amber = id_of(&filed.body);
    // An edit (a client organisation named) a minute later is a new version of each of its objects.
    t.clock.advance(chrono::TimeDelta::minutes(1));
    let named = t
        .put(
            &reporter,
            &format!("/api/v1/reports/{amber}/tlp-clients"),
            json!({"organizations": [client_org]}),
        )
        .await;
    assert_eq!(named.status, StatusCode::OK, "{}", named.body);

    let python = client("PRELAUNCH_TEST_PYTHON");
    let dir = TestDir::new("taxii-reports");
    let mut extra = vec![identity(
        "Prelaunch clearinghouse",
        chrono::DateTime::from_timestamp(1_767_225_600, 0).unwrap(),
    )];
    extra.extend(Tlp::ALL.map(marking_definition));
    let extra = Value::Array(extra).to_string();
    let out = run(
        &python,
        &[
            "-c",
            WALK,
            &t.url("/taxii2/"),
            &reporter.email,
            &reporter.token,
            &extra,
        ],
        &dir,
    )
    .await;
    let walked: Value = serde_json::from_str(out.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {out}"));
    assert_eq!(walked["invalid"], json!([]), "strict validation failed");
    let objects = walked["objects"].as_object().unwrap();
    // The threat report: its report, indicator, two attack patterns, the misuse note and the finder, GREEN.
    let mut types = BTreeMap::new();
    for entry in objects.values() {
        let o = &entry["object"];
        *types
            .entry((
                entry["collection"].as_str().unwrap().to_owned(),
                o["type"].as_str().unwrap().to_owned(),
            ))
            .or_insert(0) += 1;
    }
    let want: BTreeMap<(String, String), i32> = [
        ("TLP:GREEN advisories", "report", 1),
        ("TLP:GREEN advisories", "indicator", 1),
        ("TLP:GREEN advisories", "attack-pattern", 2),
        ("TLP:GREEN advisories", "note", 1),
        ("TLP:GREEN advisories", "identity", 1),
        ("TLP:AMBER advisories", "report", 2),
        ("TLP:AMBER advisories", "vulnerability", 1),
    ]
    .into_iter()
    .map(|(c, ty, n)| ((c.to_owned(), ty.to_owned()), n))
    .collect();
    assert_eq!(types, want, "{objects:?}");
    let report = &objects[&report_object_id(threat_report)]["object"];
    assert_eq!(report["report_types"], json!(["threat-report"]));
    assert_eq!(report["object_refs"].as_array().unwrap().len(), 4);
    let identity_of_finder = objects
        .values()
        .map(|e| &e["object"])
        .find(|o| o["type"] == "identity")
        .unwrap();
    assert_eq!(identity_of_finder["name"], "Water ISAC");
    // The vulnerability: CWE, CVSS and the affected products where import reads them; two versions.
    let v = &objects[&vulnerability_id(amber)]["object"];
    assert_eq!(
        v["external_references"],
        json!([{"source_name": "cwe", "external_id": "CWE-787"}])
    );
    let ext = &v["extensions"][clearinghouse::stix::AFFECTED_EXTENSION];
    assert_eq!(
        ext["affected"],
        json!([{"purl": "pkg:npm/stix-lib", "versions": ">=1.0.0, <1.4.0"}])
    );
    assert_eq!(ext["cvss_v3"]["base_score"], json!(9.8));
    assert_eq!(
        v["object_marking_refs"],
        json!([clearinghouse::stix::marking_id(Tlp::Amber)])
    );
    assert_eq!(
        walked["versions"][vulnerability_id(amber)]
            .as_array()
            .unwrap()
            .len(),
        2,
        "{}",
        walked["versions"]
    );
    assert_eq!(
        walked["versions"][report_object_id(threat_report)]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(v["modified"], json!("2027-01-01T00:01:00.000Z"));
    assert_eq!(v["created"], json!("2027-01-01T00:00:00.000Z"));

    // Export → import: the objects posted to another instance come back with their ids, versions and
    // markings, and its intake files the vulnerability with its products and CWE.
    let other = spawn_app().await;
    other.program_admin().await;
    other.org("operator", "Water ISAC").await;
    let poster = other
        .person("poster", "Water ISAC", "soc@isac.example", "admin")
        .await;
    for (tlp, stix_ids) in [
        (
            Tlp::Green,
            objects
                .iter()
                .filter(|(_, e)| e["collection"] == "TLP:GREEN advisories")
                .map(|(id, _)| id.clone())
                .collect::<Vec<_>>(),
        ),
        (Tlp::Amber, vec![vulnerability_id(amber), report_object_id(amber)]),
    ] {
        let sent: Vec<Value> = stix_ids.iter().map(|id| objects[id]["object"].clone()).collect();
        let path = format!("/taxii2/api/collections/{}/objects/", collection(tlp).id);
        let posted = other
            .raw(
                reqwest::Method::POST,
                &path,
                Some(&poster.token),
                Some(TAXII),
                json!({"objects": sent}).to_string().into_bytes(),
            )
            .await;
        assert_eq!(posted.status.as_u16(), 202, "{}", posted.body);
        assert_eq!(posted.body["failure_count"], json!(0), "{tlp:?}: {}", posted.body);
        let back = found(&other, Some(&poster), tlp, &stix_ids).await;
        assert_eq!(back, stix_ids.iter().cloned().collect(), "{tlp:?}");
        let reply = other
            .client
            .get(other.url(&format!("{path}?match[id]={}", stix_ids.join(","))))
            .header("accept", TAXII)
            .basic_auth(&poster.email, Some(&poster.token))
            .send()
            .await
            .unwrap();
        let page: Value = reply.json().await.unwrap();
        for o in page["objects"].as_array().unwrap() {
            let id = o["id"].as_str().unwrap();
            let mine = &objects[id]["object"];
            for key in [
                "id",
                "type",
                "created",
                "modified",
                "object_marking_refs",
                "created_by_ref",
            ] {
                assert_eq!(o[key], mine[key], "{id} {key}");
            }
            assert_eq!(mine["created_by_ref"], json!(identity_id()));
        }
    }
    let list = other.get(&poster, "/api/v1/reports?limit=50").await;
    let filed = list.ok()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "vulnerability")
        .cloned()
        .unwrap_or_else(|| panic!("not filed: {}", list.body));
    let filed = other
        .get(&poster, &format!("/api/v1/reports/{}", id_of(&filed)))
        .await;
    assert_eq!(filed.ok()["cwe"], "CWE-787");
    assert_eq!(filed.ok()["affected"][0]["purl"], "pkg:npm/stix-lib");
}

/// Deletes our export rows of a report, straight in the database (a write that failed after the change).
async fn lose_export(t: &TestApp, report: uuid::Uuid) -> u64 {
    macro_rules! delete {
        ($conn:ty) => {{
            let mut conn = <$conn as sqlx::Connection>::connect(&t.database_url)
                .await
                .unwrap();
            sqlx::query("DELETE FROM stix_objects WHERE report_id = $1 AND added_org IS NULL")
                .bind(report)
                .execute(&mut conn)
                .await
                .unwrap()
                .rows_affected()
        }};
    }
    match backend() {
        Backend::Sqlite => delete!(sqlx::SqliteConnection),
        Backend::Postgres => delete!(sqlx::PgConnection),
    }
}

#[tokio::test]
async fn the_backfill_writes_a_reports_missing_objects_once() {
    let t = spawn_app().await;
    t.program_admin().await;
    t.org("developer", "Frontier Lab").await;
    let reporter = t
        .person("reporter", "Frontier Lab", "rep@lab.example", "member")
        .await;
    let filed = t.post(&reporter, "/api/v1/reports", vulnerability("green")).await;
    assert_eq!(filed.status, StatusCode::CREATED, "{}", filed.body);
    let report = id_of(&filed.body);
    let ids = [report_object_id(report), vulnerability_id(report)];
    assert_eq!(found(&t, Some(&reporter), Tlp::Green, &ids).await.len(), 2);
    assert_eq!(t.app.backfill_report_stix().await.unwrap(), 0, "nothing missing");
    assert_eq!(lose_export(&t, report).await, 2);
    assert!(found(&t, Some(&reporter), Tlp::Green, &ids).await.is_empty());
    assert_eq!(t.app.backfill_report_stix().await.unwrap(), 2);
    assert_eq!(found(&t, Some(&reporter), Tlp::Green, &ids).await.len(), 2);
    assert_eq!(t.app.backfill_report_stix().await.unwrap(), 0, "written once");
}

/// Our export rows of a report, straight from the database: (STIX id, version) → (body, exported version).
async fn export_rows(t: &TestApp, report: uuid::Uuid) -> BTreeMap<(String, String), (String, Option<i64>)> {
    macro_rules! rows {
        ($conn:ty) => {{
            let mut conn = <$conn as sqlx::Connection>::connect(&t.database_url)
                .await
                .unwrap();
            sqlx::query_as::<_, (String, String, String, Option<i64>)>(
                "SELECT stix_id, version, body, exported_version FROM stix_objects \
                 WHERE report_id = $1 AND added_org IS NULL",
            )
            .bind(report)
            .fetch_all(&mut conn)
            .await
            .unwrap()
        }};
    }
    let rows = match backend() {
        Backend::Sqlite => rows!(sqlx::SqliteConnection),
        Backend::Postgres => rows!(sqlx::PgConnection),
    };
    rows.into_iter()
        .map(|(id, version, body, exported)| ((id, version), (body, exported)))
        .collect()
}

/// Intake writes a report's objects from what it holds (the report, its products, the CVE id of the case it
/// joined) without reading them back: they must be exactly what the backfill makes from the stored report.
#[tokio::test]
async fn the_objects_intake_writes_are_those_the_backfill_makes_from_the_store() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let first = t
        .post(&w.dev_member, "/api/v1/reports", vulnerability("green"))
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let case = first.body["case_id"].as_str().unwrap().to_owned();
    let cve = t
        .put(
            &w.coordinator,
            &format!("/api/v1/cases/{case}/cve"),
            json!({"cve": "CVE-2026-4242"}),
        )
        .await;
    assert_eq!(cve.status, StatusCode::OK, "{}", cve.body);
    // The same report again joins the case, which now holds a CVE id.
    let second = t
        .post(&w.dev_member, "/api/v1/reports", vulnerability("green"))
        .await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.body);
    assert_eq!(
        second.body["case_id"].as_str(),
        Some(case.as_str()),
        "{}",
        second.body
    );
    let report = id_of(&second.body);
    let written = export_rows(&t, report).await;
    assert_eq!(written.len(), 2, "{written:?}");
    let (vulnerability, _) = written
        .iter()
        .find(|((id, _), _)| *id == vulnerability_id(report))
        .map(|(_, row)| row)
        .unwrap_or_else(|| panic!("no vulnerability: {written:?}"));
    assert!(vulnerability.contains("\"CVE-2026-4242\""), "{vulnerability}");
    assert!(
        written.values().all(|(_, exported)| *exported == Some(1)),
        "{written:?}"
    );
    assert_eq!(lose_export(&t, report).await, 2);
    assert_eq!(t.app.backfill_report_stix().await.unwrap(), 2);
    assert_eq!(export_rows(&t, report).await, written);
}
