//! CSAF 2.0 advisories, checked with the real tools: every advisory a table of case shapes publishes through
//! the API is fetched as CSAF (`/api/v1/advisories/{id}/csaf`) and must pass the BSI validator library's
//! strict schema test and every mandatory test (`@secvisogram/csaf-validator-lib`, run with Node:
//! tests/csaf/validate.mjs) and the CSAF JSON schema (Python `jsonschema`: tests/csaf/schema_check.py).
//! scripts/test.sh installs both and sets `PRELAUNCH_TEST_CSAF_NODE_MODULES` and `PRELAUNCH_TEST_PYTHON`.

use crate::cases::{Report, file_report, open_case, transition};
use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256, Sha512};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use uuid::Uuid;

fn env_path(var: &str) -> PathBuf {
    test_program(var, "CSAF advisories are checked with the real validators")
}

fn csaf_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/csaf")
        .canonicalize()
        .expect("tests/csaf")
}

/// Runs a checker on the documents (a JSON array on stdin) and returns its answer: per document, its errors.
fn run(mut command: Command, documents: &[Value]) -> Vec<Value> {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the checker");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(documents).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the checker failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer.len(), documents.len());
    answer
}

/// The failed tests of the validator library (strict schema and mandatory tests), per document.
pub(crate) fn csaf_validator(documents: &[Value]) -> Vec<Value> {
    let mut node = Command::new("node");
    node.arg(csaf_dir().join("validate.mjs")).env(
        "CSAF_VALIDATOR_NODE_MODULES",
        env_path("PRELAUNCH_TEST_CSAF_NODE_MODULES"),
    );
    run(node, documents)
}

/// The same for CSAF 2.1 documents: the library's 2.1 strict schema and 2.1 mandatory tests.
pub(crate) fn csaf_validator_2_1(documents: &[Value]) -> Vec<Value> {
    let mut node = Command::new("node");
    node.arg(csaf_dir().join("validate.mjs")).arg("2.1").env(
        "CSAF_VALIDATOR_NODE_MODULES",
        env_path("PRELAUNCH_TEST_CSAF_NODE_MODULES"),
    );
    run(node, documents)
}

/// The schema errors of each document against one of the shared schemas (the OASIS CSAF 2.0 document, provider
/// metadata and ROLIE feed schemas, and the FIRST CVSS schemas they refer to).
pub(crate) fn schema_errors(schema: &str, documents: &[Value]) -> Vec<Value> {
    let schemas = crate::support::shared_schemas();
    let mut python = Command::new(env_path("PRELAUNCH_TEST_PYTHON"));
    python
        .arg(csaf_dir().join("schema_check.py"))
        .arg(&schemas)
        .arg(schema);
    run(python, documents)
}

/// A case shape: its marking, its reports (a product each, with a score and CWE or not), and the vendor's
/// status on each report.
pub(crate) struct Shape {
    pub(crate) name: &'static str,
    pub(crate) tlp: &'static str,
    reports: Vec<ShapeReport>,
}

/// (product, versions, CVSS v3 vector and score, CWE, the vendor's status)
type ShapeReport = (
    &'static str,
    &'static str,
    Option<(&'static str, f64)>,
    Option<i32>,
    Option<&'static str>,
);

const V31: (&str, f64) = ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8);
const V30: (&str, f64) = ("CVSS:3.0/AV:N/AC:H/PR:L/UI:R/S:C/C:L/I:L/A:N", 4.4);

pub(crate) fn shapes() -> Vec<Shape> {
    vec![
        Shape {
            name: "one vendor, fixed, scored, CWE",
            tlp: "clear",
            reports: vec![(
                "pkg:npm/acme/router@1.2.0",
                ">=1.2.0, <1.4.3",
                Some(V31),
                Some(787),
                Some("fixed"),
            )],
        },
        Shape {
            name: "no statement, no score, no CWE",
            tlp: "clear",
            reports: vec![("pkg:npm/acme/router@1.2.0", "<2.0.0", None, None, None)],
        },
        Shape {
            name: "several products, every status, v3.0 score, a CWE without a known name",
            tlp: "green",
            reports: vec![
                (
                    "pkg:npm/acme/router@1.2.0",
                    ">=1.0.0, <1.2.0 || >=2.0.0, <2.1.0",
                    Some(V30),
                    Some(9_999),
                    Some("fixed"),
                ),
                (
                    "cpe:2.3:a:acme:portal:5.0:*:*:*:*:*:*:*",
                    "<5.1",
                    Some(V31),
                    Some(79),
                    Some("affected"),
                ),
                ("pkg:pypi/acme-sdk@1.0", "*", None, Some(22), Some("not_affected")),
                (
                    "pkg:cargo/acme-cli@0.3.0",
                    "<0.4.0",
                    None,
                    None,
                    Some("under_investigation"),
                ),
            ],
        },
        Shape {
            name: "amber, not fixed",
            tlp: "amber",
            reports: vec![(
                "pkg:maven/com.acme/gateway@3.0",
                ">=3.0, <3.2",
                Some(V31),
                Some(22),
                Some("affected"),
            )],
        },
    ]
}

/// Publishes a case of the shape and returns its advisory's id.
pub(crate) async fn publish(t: &TestApp, w: &World, shape: &Shape) -> Uuid {
    let case = open_case(t, &w.coordinator, shape.tlp, &[w.vendor.org_id]).await;
    let mut reports = Vec::new();
    for (product, versions, cvss, cwe, _) in &shape.reports {
        let key = product.split('@').next().unwrap();
        let report = Report {
            tlp: shape.tlp,
            cvss_v3: *cvss,
            cwe: *cwe,
            affected: Some((product, key, versions)),
            ..Report::new(case, &w.dev_admin, t.clock_now())
        };
        reports.push(file_report(t, &report).await);
    }
    transition(t, &w.coordinator, case, "triaged").await.ok();
    transition(t, &w.coordinator, case, "vendors_notified").await.ok();
    let path = format!("/api/v1/cases/{case}/vendors/{}/status", w.vendor.org_id);
    for (report, (.., status)) in reports.iter().zip(&shape.reports) {
        if let Some(status) = status {
            let body =
                json!({"report_id": report, "status": status, "statement": format!("Acme says {status}.")});
            t.put(&w.vendor, &path, body).await.ok();
        }
    }
    transition(t, &w.coordinator, case, "published").await.ok();
    let list = t.get(&w.coordinator, "/api/v1/advisories?limit=100").await;
    let found = list.ok()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["case_id"] == json!(case))
        .cloned()
        .unwrap_or_else(|| panic!("{}: no advisory for the case", shape.name));
    id_of(&found)
}

#[tokio::test]
async fn every_advisory_passes_the_csaf_validator_and_schema() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let mut documents = Vec::new();
    let mut names = Vec::new();
    for shape in shapes() {
        let id = publish(&t, &w, &shape).await;
        let csaf = t
            .get(&w.coordinator, &format!("/api/v1/advisories/{id}/csaf"))
            .await;
        let doc = csaf.ok().clone();
        let advisory = t.get(&w.coordinator, &format!("/api/v1/advisories/{id}")).await;
        assert_eq!(
            doc["document"]["tracking"]["id"],
            advisory.ok()["reference"],
            "{}",
            shape.name
        );
        let v = &doc["vulnerabilities"][0];
        // What the shape put in comes out: every product, the finder, the statuses.
        let tree = doc["product_tree"].to_string();
        for (product, ..) in &shape.reports {
            let name = if product.starts_with("cpe:") {
                "portal"
            } else {
                product.split('/').next_back().unwrap().split('@').next().unwrap()
            };
            assert!(tree.contains(name), "{}: {name} missing from {tree}", shape.name);
        }
        assert_eq!(
            doc["document"]["acknowledgments"][0]["names"],
            json!(["Ada"]),
            "{}",
            shape.name
        );
        let has = |status: &str| v["product_status"].get(status).is_some();
        for (.., status) in &shape.reports {
            let key = match status {
                Some("fixed") => "fixed",
                Some("not_affected") => "known_not_affected",
                Some("under_investigation") => "under_investigation",
                _ => "known_affected",
            };
            assert!(has(key), "{}: no {key} in {v:#}", shape.name);
        }
        let scored = shape.reports.iter().any(|(.., cvss, _, status)| {
            cvss.is_some() && !matches!(status, Some("not_affected") | Some("under_investigation"))
        });
        assert_eq!(v.get("scores").is_some(), scored, "{}: {v:#}", shape.name);
        documents.push(doc);
        names.push(shape.name);
    }
    let validator = csaf_validator(&documents);
    let schema = schema_errors("csaf_json_schema.json", &documents);
    for ((name, failed), errors) in names.iter().zip(&validator).zip(&schema) {
        assert_eq!(failed, &json!([]), "{name}: the CSAF validator's tests failed");
        assert_eq!(errors, &json!([]), "{name}: the CSAF schema refuses it");
    }
    // The checkers can fail: a document missing its tracking and with a product id it never defines.
    let mut broken = documents[0].clone();
    broken["document"].as_object_mut().unwrap().remove("tracking");
    broken["vulnerabilities"][0]["product_status"]["known_affected"] = json!(["CSAFPID-9999"]);
    let failed = csaf_validator(std::slice::from_ref(&broken));
    let failed = failed[0].to_string();
    assert!(
        failed.contains("csaf_2_0_strict") && failed.contains("mandatoryTest_6_1_1"),
        "{failed}"
    );
    assert_ne!(schema_errors("csaf_json_schema.json", &[broken])[0], json!([]));
}

#[tokio::test]
async fn the_csaf_document_follows_the_advisory_s_marking() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let shapes = shapes();
    let clear = publish(&t, &w, &shapes[0]).await;
    let amber = publish(&t, &w, &shapes[3]).await;
    let public = |id: Uuid| {
        let t = &t;
        async move {
            t.call(Method::GET, &format!("/api/v1/advisories/{id}/csaf"), None, None)
                .await
        }
    };
    let open = public(clear).await;
    assert_eq!(open.ok()["document"]["distribution"]["tlp"]["label"], "WHITE");
    public(amber).await.problem(404, "not-found");
    public(Uuid::now_v7()).await.problem(404, "not-found");
    // Not a recipient of the AMBER case: the same 404 as for an advisory that does not exist.
    t.get(&w.other_agency_admin, &format!("/api/v1/advisories/{amber}/csaf"))
        .await
        .problem(404, "not-found");
    let amber_doc = t
        .get(&w.vendor, &format!("/api/v1/advisories/{amber}/csaf"))
        .await;
    assert_eq!(
        amber_doc.ok()["document"]["distribution"]["tlp"]["label"],
        "AMBER"
    );
    assert_eq!(amber_doc.status, StatusCode::OK);
}

/// A file of the provider, as bytes: its status and body.
pub(crate) async fn fetch(t: &TestApp, who: Option<&Persona>, path: &str) -> (StatusCode, Vec<u8>) {
    let mut request = t.client.get(t.url(path));
    if let Some(p) = who {
        request = request.bearer_auth(&p.token);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.bytes().await.unwrap().to_vec())
}

pub(crate) fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where the provider serves the advisory `id` in its directory `dir`: `/.well-known/csaf/<dir>/<year>/<ref>.json`.
pub(crate) async fn provider_path(t: &TestApp, w: &World, id: Uuid, dir: &str) -> String {
    let a = t.get(&w.coordinator, &format!("/api/v1/advisories/{id}")).await;
    let a = a.ok();
    let year = &a["published_at"].as_str().unwrap()[..4];
    let file = a["reference"].as_str().unwrap().to_lowercase();
    format!("/.well-known/csaf/{dir}/{year}/{file}.json")
}

/// The path of one of our URLs (`http://127.0.0.1:…/.well-known/csaf/…` → `/.well-known/csaf/…`).
pub(crate) fn path_of(url: &str) -> String {
    let at = url
        .find("/.well-known/")
        .unwrap_or_else(|| panic!("not a provider URL: {url}"));
    url[at..].to_owned()
}

/// The documents a reader finds in a directory's feed, index and changes (which must agree), as paths; the
/// feed is kept in `feeds` for the schema check.
async fn listed(t: &TestApp, who: Option<&Persona>, dir: &str, feeds: &mut Vec<Value>) -> Vec<String> {
    let base = format!("/.well-known/csaf/{dir}");
    let (status, feed) = fetch(t, who, &format!("{base}/csaf-feed-tlp-{dir}.json")).await;
    assert_eq!(status, StatusCode::OK);
    let feed = json_of(&feed);
    feeds.push(feed.clone());
    let from_feed: Vec<String> = feed["feed"]["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| path_of(e["content"]["src"].as_str().unwrap()))
        .collect();
    let (status, index) = fetch(t, who, &format!("{base}/index.txt")).await;
    assert_eq!(status, StatusCode::OK);
    let from_index: Vec<String> = String::from_utf8(index)
        .unwrap()
        .lines()
        .map(|l| format!("{base}/{l}"))
        .collect();
    assert_eq!(from_index, from_feed, "index.txt and the feed disagree");
    let (status, changes) = fetch(t, who, &format!("{base}/changes.csv")).await;
    assert_eq!(status, StatusCode::OK);
    let mut from_changes: Vec<String> = String::from_utf8(changes)
        .unwrap()
        .lines()
        .map(|l| {
            let (file, at) = l.split_once(',').unwrap();
            assert!(at.starts_with('"') && at.ends_with("Z\""), "{l}");
            format!("{base}/{}", file.trim_matches('"'))
        })
        .collect();
    from_changes.sort();
    let mut sorted = from_feed.clone();
    sorted.sort();
    assert_eq!(from_changes, sorted, "changes.csv and the feed disagree");
    from_feed
}

#[tokio::test]
async fn the_trusted_provider_serves_each_reader_what_it_may_read() {
    // The ROLIE schema requires https URLs: the server says it is reached at one.
    let t = spawn_configured(&fresh_database_url().await, |c| {
        c.public_url = "https://clearinghouse.example".into();
    })
    .await;
    let w = World::new(&t).await;
    let shapes = shapes();
    let clear = publish(&t, &w, &shapes[0]).await;
    let amber = publish(&t, &w, &shapes[3]).await;
    let clear_path = provider_path(&t, &w, clear, "white").await;
    let amber_path = provider_path(&t, &w, amber, "amber").await;

    // The metadata is public and valid; it names a feed per label.
    let (status, metadata) = fetch(&t, None, "/.well-known/csaf/provider-metadata.json").await;
    assert_eq!(status, StatusCode::OK);
    let metadata = json_of(&metadata);
    assert_eq!(
        schema_errors("provider_json_schema.json", std::slice::from_ref(&metadata))[0],
        json!([])
    );
    assert_eq!(metadata["role"], "csaf_trusted_provider");
    let feeds = metadata["distributions"][0]["rolie"]["feeds"].as_array().unwrap();
    let labels: Vec<&str> = feeds.iter().map(|f| f["tlp_label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["WHITE", "GREEN", "AMBER", "RED"]);

    // The CLEAR document: public, valid, its hashes right.
    let (status, doc) = fetch(&t, None, &clear_path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(csaf_validator(&[json_of(&doc)])[0], json!([]));
    let file = clear_path.rsplit('/').next().unwrap();
    for (suffix, digest) in [
        ("sha256", hex(&Sha256::digest(&doc))),
        ("sha512", hex(&Sha512::digest(&doc))),
    ] {
        let (status, line) = fetch(&t, None, &format!("{clear_path}.{suffix}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            String::from_utf8(line).unwrap(),
            format!("{digest}  {file}\n"),
            "{suffix}"
        );
    }

    // Who reads what: the feeds list exactly the documents each reader may fetch.
    let readers: [(&str, Option<&Persona>, bool); 4] = [
        ("the public", None, false),
        ("a member outside the case", Some(&w.other_agency_admin), false),
        ("the case's vendor", Some(&w.vendor), true),
        ("the coordinator", Some(&w.coordinator), true),
    ];
    let mut feeds = Vec::new();
    for (who, persona, entitled) in readers {
        assert_eq!(
            listed(&t, persona, "white", &mut feeds).await,
            std::slice::from_ref(&clear_path),
            "{who}"
        );
        let amber_listed = listed(&t, persona, "amber", &mut feeds).await;
        let expected: Vec<String> = if entitled {
            vec![amber_path.clone()]
        } else {
            vec![]
        };
        assert_eq!(amber_listed, expected, "{who}");
        for suffix in ["", ".sha256", ".sha512", ".asc"] {
            let (status, _) = fetch(&t, persona, &format!("{amber_path}{suffix}")).await;
            let want = if entitled {
                StatusCode::OK
            } else {
                StatusCode::NOT_FOUND
            };
            assert_eq!(status, want, "{who}: {amber_path}{suffix}");
        }
        assert!(listed(&t, persona, "green", &mut feeds).await.is_empty(), "{who}");
    }
    for (feed, errors) in feeds
        .iter()
        .zip(schema_errors("ROLIE_feed_json_schema.json", &feeds))
    {
        assert_eq!(errors, json!([]), "{feed:#}");
    }

    // A document is found only where it lies: its label's directory and its year.
    let misplaced = [
        clear_path.replace("/white/", "/amber/"),
        amber_path.replace("/amber/", "/white/"),
        clear_path.replace("/white/", "/purple/"),
        clear_path.replace("/20", "/19"),
        clear_path.replace(".json", ".txt"),
        "/.well-known/csaf/white/2026/pla-2026-999.json".to_owned(),
        "/.well-known/csaf/white/feed.json".to_owned(),
    ];
    for path in misplaced {
        let (status, _) = fetch(&t, Some(&w.coordinator), &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    // A credential that is presented must be valid.
    let (status, _) = t
        .client
        .get(t.url(&amber_path))
        .bearer_auth("not-a-token")
        .send()
        .await
        .map(|r| (r.status(), ()))
        .unwrap();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
