//! CSAF 2.1 (Committee Specification Draft 03) behind the version switch: `?version=2.1` on
//! `GET /api/v1/advisories/{id}/csaf` gives every advisory of the CSAF table as a 2.1 document that passes the
//! BSI validator library's 2.1 strict schema and 2.1 mandatory tests, and differs from the 2.0 document of
//! the same advisory exactly where 2.1 differs; 2.0 stays the default and the provider keeps serving 2.0.

use crate::csaf::{csaf_validator_2_1, fetch, json_of, publish, shapes};
use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Every value under `key` anywhere in the document.
fn all<'a>(v: &'a Value, key: &str, out: &mut Vec<&'a Value>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                if k == key {
                    out.push(x);
                }
                all(x, key, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|x| all(x, key, out)),
        _ => {}
    }
}

fn count(v: &Value, key: &str) -> usize {
    let mut out = Vec::new();
    all(v, key, &mut out);
    out.len()
}

#[tokio::test]
async fn the_version_switch_writes_csaf_2_1_beside_the_2_0_default() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let mut v21 = Vec::new();
    let mut names = Vec::new();
    for shape in shapes() {
        let id = publish(&t, &w, &shape).await;
        let path = format!("/api/v1/advisories/{id}/csaf");
        let default = t.get(&w.coordinator, &path).await.ok().clone();
        let v20 = t
            .get(&w.coordinator, &format!("{path}?version=2.0"))
            .await
            .ok()
            .clone();
        let doc = t
            .get(&w.coordinator, &format!("{path}?version=2.1"))
            .await
            .ok()
            .clone();
        let name = shape.name;
        assert_eq!(default, v20, "{name}: 2.0 is the default");

        // The table: what each version writes, over the same advisory.
        let tlp_21 = match shape.tlp {
            "clear" => "CLEAR",
            "green" => "GREEN",
            "amber" => "AMBER",
            "amber+strict" => "AMBER+STRICT",
            other => panic!("{other}"),
        };
        // CSAF 2.0 knows the TLP 1.0 labels: CLEAR is WHITE, AMBER+STRICT is AMBER.
        let tlp_20 = match tlp_21 {
            "CLEAR" => "WHITE",
            "AMBER+STRICT" => "AMBER",
            other => other,
        };
        let (a, b) = (&v20, &doc);
        let (va, vb) = (&a["vulnerabilities"][0], &b["vulnerabilities"][0]);
        let rows: [(&str, Value, Value); 8] = [
            ("$schema", a["$schema"].clone(), b["$schema"].clone()),
            (
                "csaf_version",
                a["document"]["csaf_version"].clone(),
                b["document"]["csaf_version"].clone(),
            ),
            (
                "tlp label",
                a["document"]["distribution"]["tlp"]["label"].clone(),
                b["document"]["distribution"]["tlp"]["label"].clone(),
            ),
            (
                "disclosure_date",
                va.get("disclosure_date").cloned().unwrap_or(Value::Null),
                vb["disclosure_date"].clone(),
            ),
            (
                "scores",
                json!(va.get("scores").is_some()),
                json!(vb.get("scores").is_some()),
            ),
            (
                "cwe",
                json!(va.get("cwe").is_some()),
                json!(vb.get("cwe").is_some()),
            ),
            (
                "purl",
                json!(count(&a["product_tree"], "purl")),
                json!(count(&b["product_tree"], "purl")),
            ),
            (
                "tracking",
                a["document"]["tracking"].clone(),
                b["document"]["tracking"].clone(),
            ),
        ];
        for (what, in_20, in_21) in rows {
            match what {
                "$schema" => {
                    assert_eq!(in_20, Value::Null, "{name}: {what}");
                    assert_eq!(
                        in_21,
                        json!("https://docs.oasis-open.org/csaf/csaf/v2.1/schema/csaf.json"),
                        "{name}: {what}"
                    );
                }
                "csaf_version" => assert_eq!((in_20, in_21), (json!("2.0"), json!("2.1")), "{name}"),
                "tlp label" => assert_eq!((in_20, in_21), (json!(tlp_20), json!(tlp_21)), "{name}"),
                "disclosure_date" => {
                    assert_eq!(in_20, Value::Null, "{name}: {what}");
                    assert_eq!(
                        in_21, b["document"]["tracking"]["initial_release_date"],
                        "{name}: {what}"
                    );
                }
                // Not in 2.1: `metrics`, `cwes` and `purls` take their places (below).
                "scores" | "cwe" => assert_eq!(in_21, json!(false), "{name}: {what}"),
                "purl" => assert_eq!(in_21, json!(0), "{name}: {what}"),
                _ => assert_eq!(in_20, in_21, "{name}: {what} is the same"),
            }
        }
        // Scores become metrics over the same products; every purl is in a `purls` list; CWEs become `cwes`.
        assert_eq!(va.get("scores").is_some(), vb.get("metrics").is_some(), "{name}");
        if let Some(scores) = va.get("scores") {
            assert_eq!(vb["metrics"][0]["products"], scores[0]["products"], "{name}");
            assert_eq!(
                vb["metrics"][0]["content"]["cvss_v3"], scores[0]["cvss_v3"],
                "{name}"
            );
        }
        assert_eq!(
            count(&a["product_tree"], "purl"),
            count(&b["product_tree"], "purls"),
            "{name}"
        );
        if let Some(cwe) = va.get("cwe") {
            assert_eq!(vb["cwes"][0]["id"], cwe["id"], "{name}");
            assert_eq!(vb["cwes"][0]["name"], cwe["name"], "{name}");
        }
        // The same products have a status; a fixed product's range is `known_affected` in 2.1.
        let listed = |v: &Value| {
            let mut ids: Vec<String> = v["product_status"]
                .as_object()
                .unwrap()
                .values()
                .flat_map(|l| {
                    l.as_array()
                        .unwrap()
                        .iter()
                        .map(|id| id.as_str().unwrap().to_owned())
                })
                .collect();
            ids.sort();
            ids.dedup();
            ids
        };
        assert_eq!(listed(va), listed(vb), "{name}");
        assert_eq!(
            va["product_status"]["known_not_affected"], vb["product_status"]["known_not_affected"],
            "{name}"
        );
        assert_eq!(
            va["product_status"]["under_investigation"], vb["product_status"]["under_investigation"],
            "{name}"
        );
        v21.push(doc);
        names.push(name);
    }
    // Every 2.1 document passes the validator library's 2.1 strict schema and mandatory tests.
    for (name, errors) in names.iter().zip(csaf_validator_2_1(&v21)) {
        assert_eq!(errors, json!([]), "{name}");
    }

    // A version we do not write is the caller's mistake, naming the field; unknown parameters too.
    let list = t.get(&w.coordinator, "/api/v1/advisories?limit=1").await;
    let advisory = list.ok()["items"][0]["id"].as_str().unwrap().to_owned();
    for query in ["version=3.0", "version=", "version=2"] {
        let r = t
            .get(
                &w.coordinator,
                &format!("/api/v1/advisories/{advisory}/csaf?{query}"),
            )
            .await;
        let problem = r.problem(422, "invalid-field");
        assert!(problem.to_string().contains("version"), "{query}: {problem}");
    }
    let r = t
        .get(
            &w.coordinator,
            &format!("/api/v1/advisories/{advisory}/csaf?version=2.1&x=1"),
        )
        .await;
    assert!(r.status.is_client_error(), "{r:?}");

    // The provider keeps serving 2.0.
    let (status, index) = fetch(&t, None, "/.well-known/csaf/white/index.txt").await;
    assert_eq!(status, StatusCode::OK);
    let first = String::from_utf8(index)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned();
    let (status, served) = fetch(&t, None, &format!("/.well-known/csaf/white/{first}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json_of(&served)["document"]["csaf_version"], "2.0");
}
