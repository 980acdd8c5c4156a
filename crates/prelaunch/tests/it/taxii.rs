//! The TAXII 2.1 server with the real client (`taxii2-client`) and every exported object through the real
//! validator (`stix2-validator`, strict), on both backends. The fixtures are the TLP matrix's: one case per
//! marking, published (all but RED); each persona walks discovery → API root → collections → objects (one
//! object a page) and the manifest, and each collection must hold exactly the advisories `may_read` admits.

use crate::inspect_log::{client, run};
use crate::support::*;
use crate::tlp_matrix::{Cast, MARKINGS, Marking, Who, build, may_read};
use clearinghouse::stix::{Kind, identity, marking_definition, object_id};
use clearinghouse::tlp::Tlp;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

const WALK: &str = r#"
import json, sys
from taxii2client.v21 import Server, as_pages
from stix2validator import validate_instance, ValidationOptions
url, user, password, extra = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
kw = {} if not password else {"user": user, "password": password}
server = Server(url, **kw)
root = server.default
out = {"title": server.title, "root": root.title, "collections": {}, "invalid": [], "by_id": []}
# Strict, but for check 103 (a recommendation that SDO ids be UUIDv4): our ids are UUIDv5 so that they are
# stable, which STIX 2.1 allows.
opts = ValidationOptions(strict=True, version="2.1", disabled=["103"])
for c in root.collections:
    entry = {"can_read": c.can_read, "can_write": c.can_write, "objects": [], "manifest": [], "pages": 0}
    if c.can_read:
        for page in as_pages(c.get_objects, per_request=1):
            entry["pages"] += 1
            objects = page.get("objects", [])
            entry["objects"].extend(o["id"] for o in objects)
            if objects:
                bundle = {"type": "bundle", "id": "bundle--6b8e7a4e-3c1f-4d6a-9e2b-1f0c5d7a8b9c",
                          "objects": extra + objects}
                r = validate_instance(bundle, opts)
                if not r.is_valid:
                    out["invalid"].append([str(e) for e in r.errors])
        for page in as_pages(c.get_manifest, per_request=1):
            entry["manifest"].extend(m["id"] for m in page.get("objects", []))
        for oid in entry["objects"]:
            got = [o["id"] for o in c.get_object(oid).get("objects", [])]
            versions = c.object_versions(oid).get("versions", [])
            if got != [oid] or len(versions) != 1:
                out["by_id"].append([oid, got, versions])
        entry["vulnerabilities"] = [o["id"] for o in c.get_objects(type="vulnerability").get("objects", [])]
    out["collections"][c.title] = entry
print(json.dumps(out))
"#;

fn label(m: Marking) -> &'static str {
    match m {
        Marking::Clear => "TLP:CLEAR advisories",
        Marking::Green => "TLP:GREEN advisories",
        Marking::Amber => "TLP:AMBER advisories",
        Marking::AmberStrict => "TLP:AMBER+STRICT advisories",
        Marking::Red => "TLP:RED advisories",
    }
}

#[tokio::test]
async fn each_persona_walks_the_collections_with_taxii2_client_and_sees_exactly_its_share() {
    let t = spawn_app().await;
    let cast = Cast::new(&t).await;
    let mut fixtures = Vec::new();
    for (n, m) in MARKINGS.into_iter().enumerate() {
        fixtures.push(build(&t, &cast, m, n).await);
    }
    let coordinator = cast.get(Who::Coordinator);
    for f in &mut fixtures {
        if f.marking == Marking::Red {
            continue;
        }
        let moved = t
            .post(
                coordinator,
                &format!("/api/v1/cases/{}/transition", f.case),
                json!({"to": "published"}),
            )
            .await;
        assert!(moved.status.is_success(), "{:?}: {}", f.marking, moved.body);
        f.stage.published = true;
        let list = t.get(coordinator, "/api/v1/advisories?limit=200").await;
        let items = list.ok()["items"].as_array().unwrap().clone();
        let advisory = items.iter().find(|a| a["case_id"] == json!(f.case)).unwrap();
        f.advisory = Some(id_of(advisory));
    }
    let python = client("PRELAUNCH_TEST_PYTHON");
    let dir = TestDir::new("taxii");
    let url = t.url("/taxii2/");
    // The identity and the marking definitions the objects refer to, so each page makes a whole bundle.
    let mut extra = vec![identity(
        "Prelaunch clearinghouse",
        chrono::DateTime::from_timestamp(1_767_225_600, 0).unwrap(),
    )];
    extra.extend(MARKINGS.map(|m| marking_definition(Tlp::parse(m.api()).unwrap())));
    let extra = Value::Array(extra).to_string();
    let advisory_ids: BTreeSet<String> = fixtures
        .iter()
        .filter_map(|f| f.advisory)
        .flat_map(|a| [object_id(Kind::Report, a), object_id(Kind::Vulnerability, a)])
        .collect();
    let mut failures = Vec::new();
    let walkers = [
        Who::Public,
        Who::Reporter,
        Who::Operator,
        Who::Client,
        Who::Participant,
        Who::Named,
        Who::Coordinator,
    ];
    // The walks only read: they run side by side.
    let (python, url, extra, dir) = (&python, &url, &extra, &dir);
    let outputs = futures_util::future::join_all(walkers.map(|who| {
        let (user, password) = match who {
            Who::Public => (String::new(), String::new()),
            _ => {
                let p = cast.get(who);
                (p.email.clone(), p.token.clone())
            }
        };
        async move { run(python, &["-c", WALK, url, &user, &password, extra], dir).await }
    }))
    .await;
    for (who, out) in walkers.into_iter().zip(outputs) {
        let walked: Value = serde_json::from_str(out.lines().last().unwrap_or_default())
            .unwrap_or_else(|e| panic!("{who:?}: not JSON ({e}): {out}"));
        assert_eq!(walked["invalid"], json!([]), "{who:?}: strict validation failed");
        // Reports' and cases' objects share the collections (`taxii_reports.rs`); this table is the advisories'.
        let by_id: Vec<&Value> = walked["by_id"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| advisory_ids.contains(e[0].as_str().unwrap()))
            .collect();
        assert!(
            by_id.is_empty(),
            "{who:?}: objects by id and their versions: {by_id:?}"
        );
        for m in MARKINGS {
            let entry = &walked["collections"][label(m)];
            let can_read = who != Who::Public || m == Marking::Clear;
            assert_eq!(entry["can_read"], json!(can_read), "{who:?} {m:?}");
            // Members write to every collection but TLP:CLEAR, which is public: coordinators only.
            let can_write = who != Who::Public && (m != Marking::Clear || who == Who::Coordinator);
            assert_eq!(entry["can_write"], json!(can_write), "{who:?} {m:?}");
            let mut expected = BTreeSet::new();
            for f in fixtures.iter().filter(|f| f.marking == m) {
                if let Some(a) = f.advisory
                    && can_read
                    && may_read(m, who, f.stage)
                {
                    expected.insert(object_id(Kind::Report, a));
                    expected.insert(object_id(Kind::Vulnerability, a));
                }
            }
            let listed = |key: &str| -> BTreeSet<String> {
                entry[key]
                    .as_array()
                    .unwrap_or(&Vec::new())
                    .iter()
                    .map(|v| v.as_str().unwrap().to_owned())
                    .filter(|id| advisory_ids.contains(id))
                    .collect()
            };
            // One object a page: the client follows `next` until `more` is false.
            let all = entry["objects"].as_array().map_or(0, Vec::len);
            let pages = if can_read { all.max(1) } else { 0 };
            if entry["pages"] != json!(pages) {
                failures.push(format!("{who:?} {m:?}: {} pages, want {pages}", entry["pages"]));
            }
            let vulnerabilities: BTreeSet<String> = expected
                .iter()
                .filter(|id| id.starts_with("vulnerability--"))
                .cloned()
                .collect();
            if can_read && listed("vulnerabilities") != vulnerabilities {
                failures.push(format!(
                    "{who:?} {m:?} match[type]: got {:?}",
                    listed("vulnerabilities")
                ));
            }
            for key in ["objects", "manifest"] {
                if listed(key) != expected {
                    failures.push(format!(
                        "{who:?} {m:?} {key}: got {:?}, want {expected:?}",
                        listed(key)
                    ));
                }
            }
        }
    }
    // An object the caller may not read is absent, as one that does not exist, on each by-id path.
    let amber = fixtures.iter().find(|f| f.marking == Marking::Amber).unwrap();
    let collection = app::clearinghouse::taxii::Collection::all()[2];
    let vulnerability = object_id(Kind::Vulnerability, amber.advisory.unwrap());
    let http = reqwest::Client::new();
    for (who, want) in [(Who::Operator, 404), (Who::Client, 200), (Who::Coordinator, 200)] {
        let p = cast.get(who);
        for tail in ["", "versions/"] {
            let path = format!(
                "/taxii2/api/collections/{}/objects/{vulnerability}/{tail}",
                collection.id
            );
            let status = http
                .get(t.url(&path))
                .basic_auth(&p.email, Some(&p.token))
                .send()
                .await
                .unwrap()
                .status();
            if status.as_u16() != want {
                failures.push(format!("{who:?} GET {path}: {status}, want {want}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn bad_requests_get_the_taxii_error_body() {
    let t = spawn_app().await;
    let clear = app::clearinghouse::taxii::Collection::all()[0].id;
    let objects = format!("/taxii2/api/collections/{clear}/objects/");
    let cases: [(String, &str, Option<&str>, u16); 8] = [
        ("/taxii2/".into(), "application/json", None, 406),
        ("/taxii2/".into(), "application/taxii+json;version=2.0", None, 406),
        (
            format!("{objects}?limit=0"),
            "application/taxii+json;version=2.1",
            None,
            400,
        ),
        (
            format!("{objects}?limit=many"),
            "application/taxii+json;version=2.1",
            None,
            400,
        ),
        (
            format!("{objects}?next=bogus"),
            "application/taxii+json;version=2.1",
            None,
            400,
        ),
        (format!("{objects}?added_after=yesterday"), "*/*", None, 400),
        (
            "/taxii2/api/collections/00000000-0000-0000-0000-000000000000/objects/".into(),
            "*/*",
            None,
            404,
        ),
        (
            "/taxii2/api/collections/".into(),
            "*/*",
            Some("Basic dXNlcjpwbGFfbm90LWEtdG9rZW4="),
            401,
        ),
    ];
    let http = reqwest::Client::new();
    let mut statuses = BTreeMap::new();
    for (path, accept, auth, want) in cases {
        let mut request = http.get(t.url(&path)).header("accept", accept);
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let kind = response.headers()["content-type"].to_str().unwrap().to_owned();
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            status,
            StatusCode::from_u16(want).unwrap(),
            "{path} {accept}: {body}"
        );
        assert_eq!(kind, "application/taxii+json;version=2.1", "{path}");
        assert_eq!(body["http_status"], json!(want.to_string()), "{path}");
        assert!(
            body["title"].is_string() && body["description"].is_string(),
            "{path}: {body}"
        );
        statuses.insert(path, want);
    }
    assert!(!statuses.is_empty());
}
