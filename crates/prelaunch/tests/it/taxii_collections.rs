//! TAXII collections per sharing community and collections defined by a filter, on both backends: the real
//! client (`taxii2-client`) lists the collections as each persona, a member posts to the community's
//! collection and reads it back, a non-member finds no trace of it anywhere; a filter collection shows
//! exactly what the caller reads anyway that matches (compared with the caller's own reads of the TLP
//! collections); bad definitions name their field.

use crate::inspect_log::{client, run};
use crate::support::*;
use app::clearinghouse::taxii::Collection;
use chrono::Duration;
use clearinghouse::stix::{marking_definition, marking_id, version_key};
use clearinghouse::tlp::Tlp;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use store::StixObjectRow;
use uuid::Uuid;

const TAXII: &str = "application/taxii+json;version=2.1";
const T0: &str = "2026-03-01T10:00:00.000Z";

/// Lists the collections, posts an envelope to one (when given) and reads every collection it can read.
const CLIENT: &str = r#"
import json, sys
from taxii2client.v21 import Server, as_pages
url, user, password, target, envelope = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
kw = {} if not password else {"user": user, "password": password}
server = Server(url, **kw)
out = {"collections": {}, "status": None}
for c in server.default.collections:
    if target and c.id == target and envelope:
        s = c.add_objects(json.loads(envelope), wait_for_completion=False)
        out["status"] = {"success_count": s.success_count, "failure_count": s.failure_count,
                         "failures": s.failures}
for c in server.default.collections:
    entry = {"title": c.title, "can_read": c.can_read, "can_write": c.can_write, "objects": []}
    if c.can_read:
        for page in as_pages(c.get_objects, per_request=2):
            entry["objects"].extend(o["id"] for o in page.get("objects", []))
    out["collections"][c.id] = entry
print(json.dumps(out))
"#;

fn sid(kind: &str, n: u128) -> String {
    format!(
        "{kind}--{}",
        Uuid::from_u128(0x7c7c_0000_0000_4000_8000_0000_0000_0000 + n)
    )
}

fn marked(tlp: Option<Tlp>) -> Value {
    tlp.map(|t| json!([marking_id(t)])).unwrap_or(json!([]))
}

/// The envelope a member posts to the community: a GREEN indicator, an unmarked malware (GREEN in a
/// community) and an AMBER threat actor (its poster's organisation reads it; other members do not).
fn envelope() -> Value {
    let mut malware = json!({"type": "malware", "spec_version": "2.1", "id": sid("malware", 2),
        "created": T0, "modified": T0, "name": "GridWiper", "is_family": true});
    malware.as_object_mut().unwrap().remove("object_marking_refs");
    json!({"objects": [
        marking_definition(Tlp::Green),
        marking_definition(Tlp::Amber),
        {"type": "indicator", "spec_version": "2.1", "id": sid("indicator", 1), "created": T0, "modified": T0,
         "name": "GridWiper dropper", "pattern": "[file:name = 'gw.exe']", "pattern_type": "stix",
         "valid_from": T0, "object_marking_refs": marked(Some(Tlp::Green))},
        malware,
        {"type": "threat-actor", "spec_version": "2.1", "id": sid("threat-actor", 3), "created": T0,
         "modified": T0, "name": "Substation Spider", "object_marking_refs": marked(Some(Tlp::Amber))},
    ]})
}

async fn walk(t: &TestApp, p: Option<&Persona>, target: &str, envelope: &str) -> Value {
    let python = client("PRELAUNCH_TEST_PYTHON");
    let dir = TestDir::new("taxii-collections");
    let (user, token) = p.map(|p| (p.email.clone(), p.token.clone())).unwrap_or_default();
    let out = run(
        &python,
        &["-c", CLIENT, &t.url("/taxii2/"), &user, &token, target, envelope],
        &dir,
    )
    .await;
    serde_json::from_str(out.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

/// A TAXII GET with an optional Bearer token: status and body.
async fn taxii(t: &TestApp, p: Option<&Persona>, path: &str) -> (u16, Value) {
    let mut request = t.client.get(t.url(path)).header("accept", TAXII);
    if let Some(p) = p {
        request = request.bearer_auth(&p.token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn community(t: &TestApp, w: &World, name: &str, members: &[Uuid]) -> Uuid {
    let r = t
        .post(
            &w.coordinator,
            "/api/v1/taxii/communities",
            json!({"name": name, "description": "Operators of the grid", "organizations": members}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    assert_eq!(r.body["collection_id"], r.body["id"]);
    id_of(&r.body)
}

#[tokio::test]
async fn a_community_collection_is_its_members_alone_with_taxii2_client() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let energy = community(&t, &w, "Energy sharing", &[w.operator.org_id, w.vendor.org_id]).await;
    let target = energy.to_string();
    // The operator posts; the result comes back through the client.
    let posted = walk(&t, Some(&w.operator), &target, &envelope().to_string()).await;
    assert_eq!(
        posted["status"],
        json!({"success_count": 5, "failure_count": 0, "failures": []}),
        "{posted}"
    );
    let all = BTreeSet::from([sid("indicator", 1), sid("malware", 2), sid("threat-actor", 3)]);
    let shared = BTreeSet::from([sid("indicator", 1), sid("malware", 2)]);
    let tlp_ids: BTreeSet<String> = Collection::all().iter().map(|c| c.id.to_string()).collect();
    // (persona, sees the community's collection, what they read in it)
    type Case<'a> = (&'a str, Option<&'a Persona>, Option<&'a BTreeSet<String>>);
    let cases: [Case<'_>; 6] = [
        ("poster", Some(&w.operator), Some(&all)),
        ("other member", Some(&w.vendor), Some(&shared)),
        ("coordinator", Some(&w.coordinator), None),
        ("program admin", Some(&w.program_admin), None),
        ("non-member", Some(&w.dev_admin), None),
        ("public", None, None),
    ];
    for (who, p, expected) in cases {
        let walked = walk(&t, p, "", "").await;
        let collections = walked["collections"].as_object().unwrap();
        let listed: BTreeSet<String> = collections.keys().cloned().collect();
        let mut want = tlp_ids.clone();
        if expected.is_some() {
            want.insert(target.clone());
        }
        assert_eq!(listed, want, "{who}: the collections listed");
        if let Some(expected) = expected {
            let c = &collections[&target];
            assert_eq!(
                (&c["title"], &c["can_read"], &c["can_write"]),
                (&json!("Energy sharing"), &json!(true), &json!(true)),
                "{who}"
            );
            let read: BTreeSet<String> = c["objects"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o.as_str().unwrap().to_owned())
                .collect();
            assert_eq!(&read, expected, "{who}: the community's objects");
        }
        // No TLP collection shows a community's object, to anyone.
        for id in &tlp_ids {
            let objects = collections[id]["objects"].as_array().unwrap();
            assert!(
                objects.iter().all(|o| !all.contains(o.as_str().unwrap())),
                "{who}: {id} shows a community object"
            );
        }
        if expected.is_some() {
            continue;
        }
        // To everyone else the collection is absent exactly as an id that names nothing; so are its objects.
        let nothing = Uuid::now_v7();
        for suffix in [
            "",
            "objects/",
            "manifest/",
            &format!("objects/{}/", sid("indicator", 1)),
            &format!("objects/{}/versions/", sid("indicator", 1)),
        ] {
            let real = taxii(&t, p, &format!("/taxii2/api/collections/{energy}/{suffix}")).await;
            let none = taxii(&t, p, &format!("/taxii2/api/collections/{nothing}/{suffix}")).await;
            assert_eq!(real.0, 404, "{who} {suffix}: {:?}", real.1);
            assert_eq!(real, none, "{who} {suffix}");
        }
        for c in Collection::all() {
            let (status, _) = taxii(
                &t,
                p,
                &format!(
                    "/taxii2/api/collections/{}/objects/{}/",
                    c.id,
                    sid("indicator", 1)
                ),
            )
            .await;
            assert!(status == 404 || status == 401, "{who} {:?}: {status}", c.tlp);
        }
        if let Some(p) = p {
            let refused = t
                .client
                .post(t.url(&format!("/taxii2/api/collections/{energy}/objects/")))
                .bearer_auth(&p.token)
                .header("accept", TAXII)
                .header("content-type", TAXII)
                .body(envelope().to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(refused.status().as_u16(), 404, "{who} posts");
        }
    }
    // The community's objects were not filed as reports, and the definition is in the trail.
    let reports = t.get(&w.coordinator, "/api/v1/reports?limit=200").await;
    assert_eq!(reports.ok()["items"], json!([]), "nothing filed as a report");
    let changed = t
        .put(
            &w.coordinator,
            &format!("/api/v1/taxii/communities/{energy}"),
            json!({"name": "Energy sharing", "organizations": [w.operator.org_id]}),
        )
        .await;
    assert_eq!(changed.ok()["organizations"].as_array().unwrap().len(), 1);
    // The vendor left: the collection is gone for them.
    let walked = walk(&t, Some(&w.vendor), "", "").await;
    assert!(walked["collections"].get(&target).is_none());
    let members = t
        .get(&w.vendor, &format!("/api/v1/taxii/communities/{energy}"))
        .await;
    assert_eq!(members.status.as_u16(), 404);
    let trail: Vec<String> = t
        .audit_after(0)
        .await
        .into_iter()
        .map(|e| e.action)
        .filter(|a| a.starts_with("taxii"))
        .collect();
    assert_eq!(
        trail,
        ["taxii_community.create", "taxii.post", "taxii_community.update"]
    );
}

/// A stored object of no community, readable as TLP admission says (no poster: AMBER for coordinators).
fn row(kind: &str, n: u128, tlp: Tlp, added: i64) -> StixObjectRow {
    let stix_id = sid(kind, n);
    let body = json!({"type": kind, "spec_version": "2.1", "id": stix_id, "created": T0, "modified": T0,
                      "name": format!("{kind} {n}")});
    StixObjectRow {
        id: Uuid::now_v7(),
        tlp,
        stix_id,
        stix_type: kind.into(),
        spec_version: "2.1".into(),
        version: version_key(epoch()),
        date_added: epoch() + Duration::milliseconds(added),
        body: body.to_string(),
        added_org: None,
        added_by: None,
        advisory_id: None,
        case_id: None,
        report_id: None,
    }
}

async fn read_all(t: &TestApp, p: Option<&Persona>, collection: Uuid) -> Option<BTreeSet<String>> {
    let mut ids = BTreeSet::new();
    let mut next: Option<String> = None;
    loop {
        let path = match &next {
            Some(n) => format!("/taxii2/api/collections/{collection}/objects/?limit=3&next={n}"),
            None => format!("/taxii2/api/collections/{collection}/objects/?limit=3"),
        };
        let (status, page) = taxii(t, p, &path).await;
        if status != 200 {
            return None;
        }
        for o in page["objects"].as_array().unwrap() {
            ids.insert(o["id"].as_str().unwrap().to_owned());
        }
        match page["next"].as_str() {
            Some(n) => next = Some(n.to_owned()),
            None => return Some(ids),
        }
    }
}

#[tokio::test]
async fn filter_collections_show_exactly_what_the_caller_reads_anyway_that_matches() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let mut rows = Vec::new();
    for (n, tlp) in Tlp::ALL.into_iter().enumerate() {
        let n = n as u128;
        rows.push(row("indicator", 10 + n, tlp, 3 * n as i64));
        rows.push(row("malware", 20 + n, tlp, 3 * n as i64 + 1));
        rows.push(row("tool", 30 + n, tlp, 3 * n as i64 + 2));
    }
    t.app.store.add_stix_objects(&rows).await.unwrap();
    let energy = community(&t, &w, "Energy sharing", &[w.operator.org_id]).await;
    let posted = walk(
        &t,
        Some(&w.operator),
        &energy.to_string(),
        &envelope().to_string(),
    )
    .await;
    assert_eq!(posted["status"]["success_count"], json!(5), "{posted}");

    // (types, ceiling, community) and the objects it holds at most, before the reader's TLP.
    let table: [(&[&str], Tlp, Option<Uuid>); 5] = [
        (&["indicator"], Tlp::Green, None),
        (&[], Tlp::Clear, None),
        (&["malware", "tool"], Tlp::Amber, None),
        (&["indicator", "malware"], Tlp::Red, None),
        (&[], Tlp::Red, Some(energy)),
    ];
    let mut defined = Vec::new();
    for (types, ceiling, community) in table {
        let r = t
            .post(
                &w.program_admin,
                "/api/v1/taxii/collections",
                json!({"title": format!("{types:?} up to {}", ceiling.label()), "types": types,
                       "tlp_ceiling": ceiling.as_str(), "community": community}),
            )
            .await;
        assert_eq!(r.status.as_u16(), 201, "{}", r.body);
        defined.push((id_of(&r.body), types, ceiling, community));
    }
    let matches = |id: &str, types: &[&str], ceiling: Tlp| {
        let r = rows.iter().find(|r| r.stix_id == id);
        r.is_some_and(|r| r.tlp <= ceiling && (types.is_empty() || types.contains(&r.stix_type.as_str())))
    };
    for (who, p) in [
        ("public", None),
        ("non-member", Some(&w.dev_admin)),
        ("member", Some(&w.operator)),
        ("coordinator", Some(&w.coordinator)),
    ] {
        // What the caller reads anyway: every TLP collection it may read, and its communities.
        let mut anyway = BTreeSet::new();
        for c in Collection::all() {
            anyway.extend(read_all(&t, p, c.id).await.unwrap_or_default());
        }
        let community_read = read_all(&t, p, energy).await;
        let listed = taxii(&t, p, "/taxii2/api/collections/").await.1;
        let listed: BTreeSet<Uuid> = listed["collections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                if defined.iter().any(|d| json!(d.0) == c["id"]) {
                    assert_eq!(c["can_write"], json!(false), "{who}");
                }
                id_of(c)
            })
            .collect();
        for (id, types, ceiling, community) in &defined {
            let got = read_all(&t, p, *id).await;
            assert_eq!(listed.contains(id), got.is_some(), "{who} {types:?}");
            let expected: Option<BTreeSet<String>> = match community {
                None => Some(
                    anyway
                        .iter()
                        .filter(|o| matches(o, types, *ceiling))
                        .cloned()
                        .collect(),
                ),
                Some(_) => community_read.clone(),
            };
            assert_eq!(got, expected, "{who}: {types:?} up to {ceiling:?} {community:?}");
        }
    }
    // The table's expectations for one reader in plain numbers, so the comparison cannot pass empty: the
    // coordinator reads every marking of unposted objects but RED (which names no one here), and no community
    // it is not a member of.
    let counts: Vec<usize> = {
        let mut v = Vec::new();
        for (id, ..) in &defined {
            v.push(
                read_all(&t, Some(&w.coordinator), *id)
                    .await
                    .map_or(0, |s| s.len()),
            );
        }
        v
    };
    let member_counts = read_all(&t, Some(&w.operator), defined[4].0).await.unwrap().len();
    assert_eq!((counts, member_counts), (vec![2, 3, 6, 8, 0], 3));
    // Removing a definition removes the collection, not the objects.
    let gone = t
        .delete(
            &w.program_admin,
            &format!("/api/v1/taxii/collections/{}", defined[0].0),
        )
        .await;
    assert_eq!(gone.status.as_u16(), 204);
    assert_eq!(read_all(&t, Some(&w.coordinator), defined[0].0).await, None);
    // Nothing may be posted to a filter collection.
    let refused = t
        .client
        .post(t.url(&format!("/taxii2/api/collections/{}/objects/", defined[1].0)))
        .bearer_auth(&w.coordinator.token)
        .header("accept", TAXII)
        .header("content-type", TAXII)
        .body(envelope().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403);
}

#[tokio::test]
async fn bad_definitions_are_refused_naming_the_field() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let org = w.operator.org_id;
    let long = "x".repeat(101);
    let many: Vec<String> = (0..101).map(|_| Uuid::now_v7().to_string()).collect();
    let communities: Vec<(Value, &str)> = vec![
        (json!({"name": "", "organizations": [org]}), "name"),
        (json!({"name": long, "organizations": [org]}), "name"),
        (
            json!({"name": "A", "description": "d".repeat(2001), "organizations": [org]}),
            "description",
        ),
        (json!({"name": "A", "organizations": []}), "organizations"),
        (json!({"name": "A", "organizations": many}), "organizations"),
        (
            json!({"name": "A", "organizations": ["not-an-id"]}),
            "organizations[0]",
        ),
        (
            json!({"name": "A", "organizations": [org, org]}),
            "organizations[1]",
        ),
        (
            json!({"name": "A", "organizations": [Uuid::now_v7()]}),
            "organizations[0]",
        ),
        (
            json!({"name": "A", "organizations": [org], "colour": "red"}),
            "colour",
        ),
    ];
    for (body, field) in communities {
        let r = t
            .post(&w.coordinator, "/api/v1/taxii/communities", body.clone())
            .await;
        assert_eq!(r.problem(422, "invalid-field")["field"], field, "{body}");
    }
    let energy = community(&t, &w, "Energy sharing", &[org]).await;
    let taken = t
        .post(
            &w.coordinator,
            "/api/v1/taxii/communities",
            json!({"name": "ENERGY sharing", "organizations": [org]}),
        )
        .await;
    taken.problem(409, "conflict");
    let collections: Vec<(Value, &str)> = vec![
        (json!({"title": "", "tlp_ceiling": "green"}), "title"),
        (json!({"title": "T", "tlp_ceiling": "purple"}), "tlp_ceiling"),
        (
            json!({"title": "T", "tlp_ceiling": "green", "types": ["bogus"]}),
            "types[0]",
        ),
        (
            json!({"title": "T", "tlp_ceiling": "green", "types": ["indicator", "indicator"]}),
            "types[1]",
        ),
        (
            json!({"title": "T", "tlp_ceiling": "green", "types": ["marking-definition"]}),
            "types[0]",
        ),
        (
            json!({"title": "T", "tlp_ceiling": "green", "community": "x"}),
            "community",
        ),
        (
            json!({"title": "T", "tlp_ceiling": "green", "community": ""}),
            "community",
        ),
        (
            json!({"title": "T", "tlp_ceiling": "green", "community": Uuid::now_v7()}),
            "community",
        ),
        (json!({"title": "T"}), "tlp_ceiling"),
    ];
    for (body, field) in collections {
        let r = t
            .post(&w.program_admin, "/api/v1/taxii/collections", body.clone())
            .await;
        assert_eq!(r.problem(422, "invalid-field")["field"], field, "{body}");
    }
    let ok = t
        .post(
            &w.program_admin,
            "/api/v1/taxii/collections",
            json!({"title": "T", "tlp_ceiling": "green", "community": energy}),
        )
        .await;
    assert_eq!(ok.status.as_u16(), 201, "{}", ok.body);
}
