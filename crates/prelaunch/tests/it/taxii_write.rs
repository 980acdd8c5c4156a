//! The TAXII 2.1 collections' stored objects (`stix_objects`) and the write side, on both backends: versions
//! kept per object and selected by `match[version]`, keyset pages over a bulk load.

use crate::support::*;
use app::clearinghouse::taxii::Collection;
use chrono::Duration;
use clearinghouse::stix::{timestamp, version_key};
use clearinghouse::tlp::Tlp;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use store::StixObjectRow;
use uuid::Uuid;

pub(crate) const TAXII: &str = "application/taxii+json;version=2.1";

/// An indicator row for a bulk load: `n` names the object, `version` its `modified` (seconds after the epoch).
fn indicator(tlp: Tlp, n: u128, version: i64, added: chrono::DateTime<chrono::Utc>) -> StixObjectRow {
    let stix_id = format!("indicator--{}", Uuid::from_u128(0x1000 + n));
    let created = epoch();
    let modified = epoch() + Duration::seconds(version);
    let body = json!({
        "type": "indicator", "spec_version": "2.1", "id": stix_id,
        "created": timestamp(created), "modified": timestamp(modified),
        "name": format!("indicator {n}"), "pattern": "[file:name = 'x.exe']", "pattern_type": "stix",
        "valid_from": timestamp(created),
    });
    StixObjectRow {
        id: Uuid::now_v7(),
        tlp,
        stix_id,
        stix_type: "indicator".into(),
        spec_version: "2.1".into(),
        version: version_key(modified),
        date_added: added,
        body: body.to_string(),
        added_org: None,
        added_by: None,
        advisory_id: None,
        case_id: None,
        report_id: None,
    }
}

async fn taxii_get(t: &TestApp, path: &str) -> Value {
    let response = t
        .client
        .get(t.url(path))
        .header("accept", TAXII)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200, "{path}");
    response.json().await.unwrap()
}

/// Follows `next` through a listing; every page but the last is full.
async fn walk(t: &TestApp, path: &str, key: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = match &next {
            Some(n) => format!("{path}{sep}limit=100&next={n}"),
            None => format!("{path}{sep}limit=100"),
        };
        let page = taxii_get(t, &url).await;
        let got = page[key].as_array().cloned().unwrap_or_default();
        let more = page["more"] == json!(true);
        if more {
            assert_eq!(got.len(), 100, "{url}: a page short while more follow");
        }
        items.extend(got);
        match page["next"].as_str() {
            Some(n) if more => next = Some(n.to_owned()),
            _ => return items,
        }
    }
}

#[tokio::test]
async fn stored_versions_page_by_keyset_and_match_first_last_all_and_timestamps() {
    let t = spawn_app().await;
    let clear = Collection::all()[0];
    assert_eq!(clear.tlp, Tlp::Clear);
    // 250 objects, each added at its own millisecond but many sharing one (keyset ties broken by id); object
    // 0 has three versions, added over time; and one GREEN object the public must not see.
    let mut rows = Vec::new();
    for n in 0..250u128 {
        let added = epoch() + Duration::milliseconds(i64::try_from(n / 3).unwrap());
        rows.push(indicator(Tlp::Clear, n, 10, added));
    }
    rows.push(indicator(Tlp::Clear, 0, 20, epoch() + Duration::seconds(5)));
    rows.push(indicator(Tlp::Clear, 0, 30, epoch() + Duration::seconds(6)));
    rows.push(indicator(Tlp::Green, 999, 10, epoch()));
    assert_eq!(t.app.store.add_stix_objects(&rows).await.unwrap(), 253);
    // Loading the same versions again writes nothing.
    assert_eq!(t.app.store.add_stix_objects(&rows[..10]).await.unwrap(), 0);

    let base = format!("/taxii2/api/collections/{}", clear.id);
    let latest = walk(&t, &format!("{base}/objects/"), "objects").await;
    let ids: BTreeSet<&str> = latest.iter().map(|o| o["id"].as_str().unwrap()).collect();
    assert_eq!(
        (latest.len(), ids.len()),
        (250, 250),
        "the latest version of each"
    );
    let zero = format!("indicator--{}", Uuid::from_u128(0x1000));
    let modified = |v: &Vec<Value>| -> Vec<String> {
        v.iter()
            .filter(|o| o["id"] == json!(zero))
            .map(|o| o["modified"].as_str().unwrap().to_owned())
            .collect()
    };
    let at = |s: i64| timestamp(epoch() + Duration::seconds(s));
    assert_eq!(modified(&latest), vec![at(30)]);
    for (filter, want, total) in [
        ("first", vec![at(10)], 250),
        ("last", vec![at(30)], 250),
        ("all", vec![at(10), at(20), at(30)], 252),
        ("first,last", vec![at(10), at(30)], 251),
    ] {
        let got = walk(&t, &format!("{base}/objects/?match[version]={filter}"), "objects").await;
        assert_eq!(
            (modified(&got), got.len()),
            (want, total),
            "match[version]={filter}"
        );
    }
    let got = walk(
        &t,
        &format!("{base}/objects/?match[version]={}", at(20)),
        "objects",
    )
    .await;
    assert_eq!(modified(&got), vec![at(20)]);
    let versions = taxii_get(&t, &format!("{base}/objects/{zero}/versions/")).await;
    assert_eq!(versions["versions"], json!([at(10), at(20), at(30)]));
    let by_id = taxii_get(&t, &format!("{base}/objects/{zero}/")).await;
    assert_eq!(
        modified(&by_id["objects"].as_array().unwrap().clone()),
        vec![at(30)]
    );
    let manifest = walk(&t, &format!("{base}/manifest/"), "objects").await;
    assert_eq!(manifest.len(), 250);
    let entry = manifest.iter().find(|m| m["id"] == json!(zero)).unwrap();
    assert_eq!(
        (&entry["version"], &entry["date_added"]),
        (&json!(at(30)), &json!(at(6)))
    );
    // `added_after` moves past the objects added before; the GREEN object is not the public's.
    let later = walk(&t, &format!("{base}/objects/?added_after={}", at(5)), "objects").await;
    assert_eq!(modified(&later), vec![at(30)]);
    assert_eq!(later.len(), 1);
    let green = Collection::all()[1];
    let response = t
        .client
        .get(t.url(&format!("/taxii2/api/collections/{}/objects/", green.id)))
        .header("accept", TAXII)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
}

// --- The write side ---------------------------------------------------------------------------------------

use crate::inspect_log::{client, run};
use crate::tlp_matrix::{Cast, Who};
use clearinghouse::stix::{AFFECTED_EXTENSION, marking_definition, marking_id};
use reqwest::Method;

/// Rows of the tables a post writes, read straight from the database.
pub(crate) async fn stored(t: &TestApp) -> [i64; 3] {
    macro_rules! count {
        ($conn:ty) => {{
            let mut conn = <$conn as sqlx::Connection>::connect(&t.database_url)
                .await
                .unwrap();
            let mut counts = [0; 3];
            for (n, table) in ["stix_objects", "taxii_statuses", "reports"].iter().enumerate() {
                counts[n] = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
                    .fetch_one(&mut conn)
                    .await
                    .unwrap();
            }
            counts
        }};
    }
    match backend() {
        Backend::Sqlite => count!(sqlx::SqliteConnection),
        Backend::Postgres => count!(sqlx::PgConnection),
    }
}

/// The report a posted object was filed as.
async fn report_of(t: &TestApp, stix_id: &str) -> Option<Uuid> {
    let found = t
        .app
        .store
        .stix_origins(Tlp::Green, &[stix_id.to_owned()])
        .await
        .unwrap();
    assert!(!found.is_empty(), "{stix_id} not stored");
    macro_rules! read {
        ($conn:ty) => {{
            let mut conn = <$conn as sqlx::Connection>::connect(&t.database_url)
                .await
                .unwrap();
            sqlx::query_scalar("SELECT report_id FROM stix_objects WHERE stix_id = $1")
                .bind(stix_id)
                .fetch_one(&mut conn)
                .await
                .unwrap()
        }};
    }
    match backend() {
        Backend::Sqlite => read!(sqlx::SqliteConnection),
        Backend::Postgres => read!(sqlx::PgConnection),
    }
}

const T0: &str = "2026-03-01T10:00:00.000Z";
const T1: &str = "2026-03-02T11:30:00.250Z";

pub(crate) fn sid(kind: &str, n: u128) -> String {
    format!(
        "{kind}--{}",
        Uuid::from_u128(0x5a5a_0000_0000_4000_8000_0000_0000_0000 + n)
    )
}

fn green() -> Value {
    json!([marking_id(Tlp::Green)])
}

pub(crate) fn vulnerability(n: u128, name: &str) -> Value {
    json!({
        "type": "vulnerability", "spec_version": "2.1", "id": sid("vulnerability", n),
        "created": T0, "modified": T1, "name": name,
        "description": "A heap overflow in the TLS record parser of the edge router firmware lets a remote \
                        attacker run code before authentication by sending a crafted handshake.",
        "object_marking_refs": green(),
        "external_references": [{"source_name": "cwe", "external_id": "CWE-787"}],
        "extensions": {AFFECTED_EXTENSION: {"extension_type": "property-extension",
            "affected": [{"purl": "pkg:generic/edgeos", "versions": ">=2.0.0, <2.4.1"}]}},
    })
}

/// A bundle of the types we exchange, marked TLP:GREEN, with a granular marking.
fn bundle() -> Vec<Value> {
    let identity = sid("identity", 1);
    let vuln = sid("vulnerability", 2);
    let indicator = sid("indicator", 3);
    let mut v = vulnerability(2, "Edge router TLS parser overflow");
    v["created_by_ref"] = json!(identity);
    v["granular_markings"] = json!([{"marking_ref": marking_id(Tlp::Green), "selectors": ["description"]}]);
    vec![
        marking_definition(Tlp::Green),
        json!({"type": "identity", "spec_version": "2.1", "id": identity, "created": T0, "modified": T0,
               "name": "Water ISAC", "identity_class": "organization", "object_marking_refs": green()}),
        v,
        json!({"type": "indicator", "spec_version": "2.1", "id": indicator, "created": T0, "modified": T1,
               "name": "Exploit staging file", "description": "The file the exploit stages.", "pattern": "[file:name = 'tls-crash.bin']", "pattern_type": "stix",
               "valid_from": T0, "indicator_types": ["malicious-activity"], "object_marking_refs": green()}),
        json!({"type": "attack-pattern", "spec_version": "2.1", "id": sid("attack-pattern", 4), "created": T0,
               "modified": T0, "name": "Exploit Public-Facing Application", "object_marking_refs": green()}),
        json!({"type": "malware", "spec_version": "2.1", "id": sid("malware", 5), "created": T0, "modified": T0,
               "name": "EdgeWorm", "is_family": true, "malware_types": ["worm"], "object_marking_refs": green()}),
        json!({"type": "relationship", "spec_version": "2.1", "id": sid("relationship", 6), "created": T0,
               "modified": T0, "relationship_type": "indicates", "source_ref": indicator,
               "target_ref": sid("malware", 5), "object_marking_refs": green()}),
        json!({"type": "note", "spec_version": "2.1", "id": sid("note", 7), "created": T0, "modified": T0,
               "content": "Seen at two utilities.", "object_refs": [vuln], "object_marking_refs": green()}),
        json!({"type": "course-of-action", "spec_version": "2.1", "id": sid("course-of-action", 8),
               "created": T0, "modified": T0, "name": "Upgrade to 2.4.1", "object_marking_refs": green()}),
    ]
}

const POST: &str = r#"
import json, sys
from taxii2client.v21 import Server, as_pages
from stix2validator import validate_instance, ValidationOptions
url, user, password, title, envelope = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], json.loads(sys.argv[5])
server = Server(url, user=user, password=password)
c = [c for c in server.default.collections if c.title == title][0]
status = c.add_objects(envelope, wait_for_completion=False)
first = status.status
status.refresh()
out = {"can_write": c.can_write, "first": first,
       "status": {k: getattr(status, k) for k in ["id", "status", "total_count", "success_count",
                                                   "failure_count", "pending_count"]},
       "successes": status.successes, "failures": status.failures, "objects": []}
for page in as_pages(c.get_objects, per_request=3):
    out["objects"].extend(page.get("objects", []))
bundle = {"type": "bundle", "id": "bundle--0b5c1c3a-6f4e-4e0e-9a49-2d1b6c1f8e11",
          "objects": [o for o in envelope["objects"] if o["type"] == "marking-definition"] + out["objects"]}
# Check 103 (ids SHOULD be UUIDv4) aside: the collection also holds our exports of the reports filed from
# the post, whose ids are UUIDv5 so that they are stable.
r = validate_instance(bundle, ValidationOptions(strict=True, version="2.1", disabled=["103"]))
out["invalid"] = [str(e) for e in r.errors]
print(json.dumps(out))
"#;

#[tokio::test]
async fn taxii2_client_posts_an_envelope_polls_its_status_and_the_objects_come_back_unchanged() {
    let t = spawn_app().await;
    let cast = Cast::new(&t).await;
    let poster = cast.get(Who::Client);
    let python = client("PRELAUNCH_TEST_PYTHON");
    let dir = TestDir::new("taxii-write");
    let objects = bundle();
    let envelope = json!({"objects": objects}).to_string();
    let out = run(
        &python,
        &[
            "-c",
            POST,
            &t.url("/taxii2/"),
            &poster.email,
            &poster.token,
            "TLP:GREEN advisories",
            &envelope,
        ],
        &dir,
    )
    .await;
    let got: Value = serde_json::from_str(out.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {out}"));
    assert_eq!(got["can_write"], json!(true));
    assert_eq!(got["first"], json!("complete"));
    assert_eq!(
        got["status"],
        json!({"id": got["status"]["id"], "status": "complete", "total_count": 9, "success_count": 9,
               "failure_count": 0, "pending_count": 0}),
        "{got}"
    );
    assert_eq!(got["invalid"], json!([]), "strict validation");
    // The round trip: every posted object (the marking definition aside) comes back as it was posted.
    let posted: BTreeSet<String> = objects
        .iter()
        .filter(|o| o["type"] != json!("marking-definition"))
        .map(Value::to_string)
        .collect();
    // (The reports they were filed as are exported beside them, by us: `taxii_reports.rs`.)
    let exported: BTreeSet<String> = got["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["created_by_ref"] != json!(clearinghouse::stix::identity_id()))
        .map(|o| serde_json::from_value::<Value>(o.clone()).unwrap().to_string())
        .collect();
    assert_eq!(exported, posted);
    // The vulnerability and the indicator were filed as reports by the poster.
    for id in [sid("vulnerability", 2), sid("indicator", 3)] {
        let report = report_of(&t, &id).await.expect("filed as a report");
        let read = t.get(poster, &format!("/api/v1/reports/{report}")).await;
        assert_eq!(read.ok()["reporter_id"], json!(poster.user_id), "{id}");
    }
    assert_eq!(report_of(&t, &sid("malware", 5)).await, None);
    // The status is the poster's: anyone else reads it as absent.
    let status_path = format!("/taxii2/api/status/{}/", got["status"]["id"].as_str().unwrap());
    for (who, want) in [(Who::Client, 200), (Who::Operator, 404), (Who::Coordinator, 404)] {
        let p = cast.get(who);
        let reply = t
            .client
            .get(t.url(&status_path))
            .bearer_auth(&p.token)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status().as_u16(), want, "{who:?}");
    }
    // Posting the same versions again stores nothing new and says why, per object.
    let again = t
        .raw(
            Method::POST,
            &format!("/taxii2/api/collections/{}/objects/", Collection::all()[1].id),
            Some(&poster.token),
            Some(TAXII),
            envelope.into_bytes(),
        )
        .await;
    assert_eq!(again.status.as_u16(), 202, "{:?}", again.body);
    assert_eq!(again.body["failure_count"], json!(8));
    assert!(
        again.body["failures"][0]["message"]
            .as_str()
            .unwrap()
            .contains("already stored")
    );
}

#[tokio::test]
async fn bad_envelopes_get_the_specification_error_and_store_nothing() {
    let t = spawn_app().await;
    let cast = Cast::new(&t).await;
    let poster = cast.get(Who::Client);
    let path = format!("/taxii2/api/collections/{}/objects/", Collection::all()[1].id);
    let envelope = |objects: Vec<Value>| json!({"objects": objects}).to_string().into_bytes();
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = vulnerability(1, "V");
        f(&mut v);
        envelope(vec![v])
    };
    let mut forged = marking_definition(Tlp::Green);
    forged["name"] = json!("TLP:GREEN but ours");
    let before = stored(&t).await;
    // (case, Content-Type, body, status, the property a 422 names)
    type Case<'a> = (&'a str, Option<&'a str>, Vec<u8>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            "malformed JSON",
            Some(TAXII),
            b"{\"objects\": [".to_vec(),
            400,
            "",
        ),
        ("not an envelope", Some(TAXII), b"[1, 2]".to_vec(), 400, ""),
        ("oversized", Some(TAXII), vec![b' '; 300 * 1024], 413, ""),
        (
            "too many objects",
            Some(TAXII),
            envelope(vec![json!({}); 1001]),
            413,
            "",
        ),
        (
            "media type",
            Some("application/json"),
            envelope(bundle()),
            415,
            "",
        ),
        (
            "media type version",
            Some("application/taxii+json;version=2.0"),
            envelope(bundle()),
            415,
            "",
        ),
        ("no media type", None, envelope(bundle()), 415, ""),
        (
            "forged marking reference",
            Some(TAXII),
            with(&|v| v["object_marking_refs"] = json!([format!("marking-definition--{}", Uuid::nil())])),
            422,
            "object_marking_refs[0]",
        ),
        (
            "forged marking definition",
            Some(TAXII),
            envelope(vec![forged.clone(), vulnerability(1, "V")]),
            422,
            "id",
        ),
        (
            "unknown object type",
            Some(TAXII),
            envelope(vec![
                vulnerability(1, "V"),
                json!({"type": "campaign", "spec_version": "2.1", "id": sid("campaign", 1),
                       "created": T0, "modified": T0, "name": "C"}),
            ]),
            422,
            "type",
        ),
        (
            "invalid pattern",
            Some(TAXII),
            envelope(vec![
                json!({"type": "indicator", "spec_version": "2.1", "id": sid("indicator", 1),
                       "created": T0, "modified": T0, "pattern": "[file:name = ", "pattern_type": "stix",
                       "valid_from": T0}),
            ]),
            422,
            "pattern",
        ),
        (
            "missing required property",
            Some(TAXII),
            with(&|v| {
                v.as_object_mut().unwrap().remove("name");
            }),
            422,
            "name",
        ),
        (
            "modified before created",
            Some(TAXII),
            with(&|v| v["modified"] = json!("2020-01-01T00:00:00Z")),
            422,
            "modified",
        ),
    ];
    for (name, content_type, body, want, property) in cases {
        let reply = t
            .raw(Method::POST, &path, Some(&poster.token), content_type, body)
            .await;
        assert_eq!(reply.status.as_u16(), want, "{name}: {:?}", reply.body);
        assert_eq!(reply.content_type, TAXII, "{name}");
        assert_eq!(reply.body["http_status"], json!(want.to_string()), "{name}");
        assert!(reply.body["title"].is_string(), "{name}");
        if want == 422 {
            let problems = reply.body["details"]["problems"].as_array().unwrap();
            assert!(
                problems.iter().any(|p| p["property"] == json!(property)),
                "{name}: {problems:?}"
            );
        }
        assert_eq!(stored(&t).await, before, "{name}: something was stored");
    }
    // An Accept the server cannot answer, and no credential.
    let reply = t
        .client
        .post(t.url(&path))
        .bearer_auth(&poster.token)
        .header("accept", "application/taxii+json;version=2.0")
        .header("content-type", TAXII)
        .body(envelope(bundle()))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 406);
    let reply = t
        .raw(Method::POST, &path, None, Some(TAXII), envelope(bundle()))
        .await;
    assert_eq!(reply.status.as_u16(), 401);
    assert_eq!(stored(&t).await, before);
}

#[tokio::test]
async fn each_object_succeeds_or_fails_on_its_own_and_near_duplicates_join_one_case() {
    let t = spawn_app().await;
    let cast = Cast::new(&t).await;
    let (poster, other) = (cast.get(Who::Client), cast.get(Who::Operator));
    let green_path = format!("/taxii2/api/collections/{}/objects/", Collection::all()[1].id);
    let post = |p: &Persona, path: &str, objects: Vec<Value>| {
        let body = json!({"objects": objects}).to_string().into_bytes();
        let token = p.token.clone();
        let path = path.to_owned();
        let t = &t;
        async move { t.raw(Method::POST, &path, Some(&token), Some(TAXII), body).await }
    };
    let first = post(
        poster,
        &green_path,
        vec![vulnerability(10, "Edge router TLS parser overflow")],
    )
    .await;
    assert_eq!(
        (first.status.as_u16(), &first.body["success_count"]),
        (202, &json!(1)),
        "{:?}",
        first.body
    );
    let mut red = vulnerability(11, "Red");
    red["object_marking_refs"] = json!([marking_id(Tlp::Red)]);
    let mut bare = vulnerability(12, "No products");
    bare.as_object_mut().unwrap().remove("extensions");
    let mut taken = vulnerability(10, "Another version by another organisation");
    taken["modified"] = json!("2026-04-01T00:00:00Z");
    let tool = json!({"type": "tool", "spec_version": "2.1", "id": sid("tool", 13), "created": T0,
                      "modified": T0, "name": "nmap"});
    let mixed = post(
        other,
        &green_path,
        vec![
            tool,
            red,
            bare,
            taken,
            vulnerability(14, "Edge router TLS parser overflow (again)"),
        ],
    )
    .await;
    assert_eq!(mixed.status.as_u16(), 202, "{:?}", mixed.body);
    let b = &mixed.body;
    assert_eq!(
        (
            &b["total_count"],
            &b["success_count"],
            &b["failure_count"],
            &b["pending_count"]
        ),
        (&json!(5), &json!(3), &json!(2), &json!(0)),
        "{b}"
    );
    let failed: Vec<(String, String)> = b["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_owned(),
                f["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (id, words) in [
        (sid("vulnerability", 11), "more restrictive"),
        (sid("vulnerability", 10), "another organisation"),
    ] {
        assert!(
            failed.iter().any(|(i, m)| *i == id && m.contains(words)),
            "{id}: {failed:?}"
        );
    }
    // A vulnerability naming no affected products is kept as an object, not filed, and the status says so.
    let bare_id = sid("vulnerability", 12);
    let kept = b["successes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == bare_id.as_str())
        .unwrap_or_else(|| panic!("{b}"));
    assert!(
        kept["message"]
            .as_str()
            .unwrap()
            .contains("not filed as a report"),
        "{kept}"
    );
    assert_eq!(report_of(&t, &bare_id).await, None);
    // The second, near-identical vulnerability was deduplicated into the first one's case.
    let (a, b) = (
        report_of(&t, &sid("vulnerability", 10)).await.unwrap(),
        report_of(&t, &sid("vulnerability", 14)).await.unwrap(),
    );
    let coordinator = cast.get(Who::Coordinator);
    let case_of = |id: Uuid| {
        let t = &t;
        async move { t.get(coordinator, &format!("/api/v1/reports/{id}")).await.ok()["case_id"].clone() }
    };
    let case = case_of(a).await;
    assert!(case.is_string(), "{case}");
    assert_eq!(case_of(b).await, case);

    // DELETE: the posting organisation (another member of it too) or a coordinator; a reader of another
    // organisation is refused; a caller who cannot read the object finds nothing; advisory objects stay.
    let object = |id: &str| format!("{green_path}{id}/");
    let delete = |p: Option<&Persona>, path: String| {
        let t = &t;
        let token = p.map(|p| p.token.clone());
        async move {
            t.raw(Method::DELETE, &path, token.as_deref(), None, Vec::new())
                .await
                .status
                .as_u16()
        }
    };
    let colleague_of_operator = t
        .person("Second", "Grid Operator", "two@grid.example", "member")
        .await;
    let tool_path = object(&sid("tool", 13));
    assert_eq!(delete(None, tool_path.clone()).await, 401);
    assert_eq!(delete(Some(poster), tool_path.clone()).await, 403);
    assert_eq!(delete(Some(&colleague_of_operator), tool_path.clone()).await, 200);
    assert_eq!(delete(Some(other), tool_path.clone()).await, 404, "gone");
    let vuln_path = object(&sid("vulnerability", 14));
    assert_eq!(
        delete(Some(coordinator), format!("{vuln_path}?match[version]={T0}")).await,
        404
    );
    assert_eq!(delete(Some(coordinator), vuln_path.clone()).await, 200);
    assert_eq!(
        delete(Some(coordinator), object(&sid("vulnerability", 99))).await,
        404
    );
    // An AMBER object is not the other organisation's to read: 404, not 403.
    let amber_path = format!("/taxii2/api/collections/{}/objects/", Collection::all()[2].id);
    let mut amber = json!({"type": "tool", "spec_version": "2.1", "id": sid("tool", 20), "created": T0,
                           "modified": T0, "name": "private"});
    amber["object_marking_refs"] = json!([marking_id(Tlp::Amber)]);
    let posted = post(poster, &amber_path, vec![amber]).await;
    assert_eq!(posted.body["success_count"], json!(1), "{:?}", posted.body);
    assert_eq!(
        delete(Some(other), format!("{amber_path}{}/", sid("tool", 20))).await,
        404
    );
    // The public may not post to TLP:CLEAR; members may not either; coordinators may.
    let clear_path = format!("/taxii2/api/collections/{}/objects/", Collection::all()[0].id);
    let tool = json!({"type": "tool", "spec_version": "2.1", "id": sid("tool", 30), "created": T0,
                      "modified": T0, "name": "public"});
    assert_eq!(
        post(poster, &clear_path, vec![tool.clone()])
            .await
            .status
            .as_u16(),
        403
    );
    assert_eq!(
        post(coordinator, &clear_path, vec![tool]).await.status.as_u16(),
        202
    );
    // Each accepted post and each delete is an event about the organisation that posted; refusals are none.
    let events = t.audit_after(0).await;
    let of = |action: &str| -> Vec<(Option<Uuid>, Value)> {
        events
            .iter()
            .filter(|e| e.action == action)
            .map(|e| (e.object_id, e.details.0.clone()))
            .collect()
    };
    let posts = of("taxii.post");
    assert_eq!(posts.len(), 4, "{posts:?}");
    assert_eq!(posts[0].0, Some(poster.org_id));
    let deletes: Vec<(Option<Uuid>, Value, Value)> = of("taxii.delete")
        .into_iter()
        .map(|(org, d)| (org, d["id"].clone(), d["versions_deleted"].clone()))
        .collect();
    assert_eq!(
        deletes,
        vec![
            (Some(other.org_id), json!(sid("tool", 13)), json!(1)),
            (Some(other.org_id), json!(sid("vulnerability", 14)), json!(1)),
        ]
    );
}
