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

const TAXII: &str = "application/taxii+json;version=2.1";

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
