use super::*;
use chrono::TimeZone;
use std::collections::BTreeSet;

fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, 12, 0, 0).single().unwrap()
}

fn product(text: &str, versions: &str, fixed: &[&str], status: Status) -> Product {
    Product {
        product: text.into(),
        versions: versions.into(),
        fixed_in: fixed.iter().map(|v| v.to_string()).collect(),
        status,
        statement: None,
    }
}

/// Products of several vendors, in every status: two fixed (one with two ranges), one affected, one not
/// affected, one under investigation.
fn every_status() -> Vec<Product> {
    vec![
        product("pkg:npm/acme/router", "<2.0.0", &["2.0.0"], Status::Fixed),
        product(
            "pkg:pypi/requests",
            ">=1.0, <1.2 || >=2.0, <2.1",
            &["1.2", "2.1"],
            Status::Fixed,
        ),
        product(
            "cpe:2.3:a:globex:portal:*:*:*:*:*:*:*:*",
            "*",
            &[],
            Status::KnownAffected,
        ),
        product(
            "pkg:maven/org.initech/tps",
            "<=3.1",
            &[],
            Status::KnownNotAffected,
        ),
        product(
            "pkg:cargo/hooli",
            "<0.4.0",
            &["0.4.0"],
            Status::UnderInvestigation,
        ),
    ]
}

fn base() -> Advisory {
    Advisory {
        reference: "PLA-2026-7".into(),
        title: "Path traversal in Acme router".into(),
        summary: "The router serves files outside its root.".into(),
        tlp: Tlp::Clear,
        publisher: Publisher {
            name: "Prelaunch".into(),
            namespace: "https://clearinghouse.example".into(),
            contact: None,
        },
        generator: Generator {
            name: "Prelaunch".into(),
            version: "0.1.0".into(),
        },
        revisions: vec![Revision {
            number: 1,
            date: at(2),
            summary: "Initial release".into(),
        }],
        initial_release: at(2),
        current_release: at(2),
        references: vec![],
        cve: None,
        cwe: vec![22],
        cvss_v3: Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N".into()),
        cvss_v4: None,
        products: vec![product(
            "pkg:npm/acme/router",
            "<2.0.0",
            &["2.0.0"],
            Status::Fixed,
        )],
        finders: vec![Finder::Person {
            name: "Ada".into(),
            ai_found: false,
        }],
        epss: None,
        ssvc: None,
    }
}

/// Every `product_id` the tree defines, and every id referenced elsewhere.
fn ids(doc: &Value) -> (Vec<String>, BTreeSet<String>) {
    fn walk(v: &Value, defined: &mut Vec<String>) {
        if let Some(id) = v.pointer("/product/product_id").and_then(Value::as_str) {
            defined.push(id.to_owned());
        }
        for b in v.get("branches").and_then(Value::as_array).into_iter().flatten() {
            walk(b, defined);
        }
        for p in v
            .get("full_product_names")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            defined.push(p["product_id"].as_str().unwrap().to_owned());
        }
    }
    let mut defined = Vec::new();
    walk(&doc["product_tree"], &mut defined);
    let mut used = BTreeSet::new();
    let v = &doc["vulnerabilities"][0];
    for list in v["product_status"].as_object().unwrap().values() {
        used.extend(
            list.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_owned()),
        );
    }
    for key in ["remediations", "threats"] {
        for item in v.get(key).and_then(Value::as_array).into_iter().flatten() {
            used.extend(
                item["product_ids"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_str().unwrap().to_owned()),
            );
        }
    }
    for s in v.get("scores").and_then(Value::as_array).into_iter().flatten() {
        used.extend(
            s["products"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_owned()),
        );
    }
    (defined, used)
}

fn status_of(doc: &Value, key: &str) -> usize {
    doc["vulnerabilities"][0]["product_status"]
        .get(key)
        .and_then(Value::as_array)
        .map_or(0, Vec::len)
}

#[test]
fn advisory_shapes_give_consistent_documents() {
    struct Case {
        name: &'static str,
        change: fn(&mut Advisory),
        /// known_affected, fixed, known_not_affected, under_investigation
        statuses: [usize; 4],
        scored: bool,
        cwe: Option<&'static str>,
    }
    let cases = [
        Case {
            name: "one vendor, fixed",
            change: |_| {},
            statuses: [0, 2, 0, 0],
            scored: true,
            cwe: Some("CWE-22"),
        },
        Case {
            name: "affected, no score, no CWE",
            change: |a| {
                a.cvss_v3 = None;
                a.cwe.clear();
                a.products[0].status = Status::KnownAffected;
            },
            statuses: [1, 0, 0, 0],
            scored: false,
            cwe: None,
        },
        Case {
            name: "several vendors, every status",
            change: |a| {
                a.products = every_status();
            },
            // Fixed: two ranges and three fixed versions; the fixed versions of a product under investigation
            // are not listed.
            statuses: [1, 5, 1, 1],
            scored: true,
            cwe: Some("CWE-22"),
        },
        Case {
            name: "the same product twice is defined once",
            change: |a| {
                a.products.push(a.products[0].clone());
            },
            statuses: [0, 2, 0, 0],
            scored: true,
            cwe: Some("CWE-22"),
        },
        Case {
            name: "no product at all",
            change: |a| a.products.clear(),
            statuses: [0, 0, 0, 1],
            scored: false,
            cwe: Some("CWE-22"),
        },
        Case {
            name: "a CWE without a known name goes to a note",
            change: |a| a.cwe = vec![99_999, 79],
            statuses: [0, 2, 0, 0],
            scored: true,
            cwe: None,
        },
        Case {
            name: "v3.0 vector and a CVE",
            change: |a| {
                a.cvss_v3 = Some("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".into());
                a.cve = Some("CVE-2026-12345".into());
            },
            statuses: [0, 2, 0, 0],
            scored: true,
            cwe: Some("CWE-22"),
        },
    ];
    for case in cases {
        let mut a = base();
        (case.change)(&mut a);
        let doc = write(&a);
        let name = case.name;
        let (defined, used) = ids(&doc);
        let unique: BTreeSet<_> = defined.iter().cloned().collect();
        assert_eq!(
            unique.len(),
            defined.len(),
            "{name}: a product id defined twice: {doc:#}"
        );
        assert!(
            used.is_subset(&unique),
            "{name}: an undefined product id is used: {doc:#}"
        );
        let got = [
            "known_affected",
            "fixed",
            "known_not_affected",
            "under_investigation",
        ]
        .map(|k| status_of(&doc, k));
        assert_eq!(got, case.statuses, "{name}: {doc:#}");
        let all: usize = got.iter().sum();
        let distinct: BTreeSet<_> = [
            "known_affected",
            "fixed",
            "known_not_affected",
            "under_investigation",
        ]
        .iter()
        .flat_map(|k| {
            doc["vulnerabilities"][0]["product_status"]
                .get(*k)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .map(|x| x.to_string())
        .collect();
        assert_eq!(distinct.len(), all, "{name}: a product with two statuses");
        let v = &doc["vulnerabilities"][0];
        assert_eq!(v.get("scores").is_some(), case.scored, "{name}");
        assert_eq!(v.pointer("/cwe/id").and_then(Value::as_str), case.cwe, "{name}");
        assert_eq!(v.get("cve").and_then(Value::as_str), a.cve.as_deref(), "{name}");
        assert_eq!(doc["document"]["tracking"]["id"], "PLA-2026-7");
        assert_eq!(doc["document"]["category"], "csaf_security_advisory");
        assert_eq!(doc["document"]["csaf_version"], "2.0");
    }
}

#[test]
fn scores_are_recomputed_from_the_vector() {
    let mut a = base();
    a.cvss_v3 = Some("CVSS:3.1/C:H/I:H/A:H/AV:N/AC:L/PR:N/UI:N/S:U".into());
    let doc = write(&a);
    let s = &doc["vulnerabilities"][0]["scores"][0]["cvss_v3"];
    assert_eq!(s["version"], "3.1");
    assert_eq!(s["vectorString"], "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H");
    assert_eq!(s["baseScore"], 9.8);
    assert_eq!(s["baseSeverity"], "CRITICAL");
    // Only the affected ranges are scored, not the fixed versions.
    assert_eq!(
        doc["vulnerabilities"][0]["scores"][0]["products"],
        json!(["CSAFPID-0001"])
    );
    // A v4.0 vector is no CSAF 2.0 score: it is named in a note.
    a.cvss_v3 = None;
    a.cvss_v4 = Some("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N".into());
    let doc = write(&a);
    assert!(doc["vulnerabilities"][0].get("scores").is_none());
    let notes = doc["vulnerabilities"][0]["notes"].to_string();
    assert!(notes.contains("CVSS:4.0/AV:N"), "{notes}");
}

#[test]
fn tlp_markings_map_to_the_labels_csaf_2_0_admits() {
    let cases = [
        (Tlp::Clear, "WHITE", false),
        (Tlp::Green, "GREEN", true),
        (Tlp::Amber, "AMBER", true),
        (Tlp::AmberStrict, "AMBER", true),
        (Tlp::Red, "RED", true),
    ];
    for (tlp, label, text) in cases {
        let mut a = base();
        a.tlp = tlp;
        let doc = write(&a);
        let d = &doc["document"]["distribution"];
        assert_eq!(d["tlp"]["label"], label, "{tlp}");
        assert_eq!(d.get("text").is_some(), text, "{tlp}");
        if tlp == Tlp::AmberStrict {
            assert!(d["text"].as_str().unwrap().contains("AMBER+STRICT"));
        }
    }
}

#[test]
fn file_names_follow_the_csaf_rule() {
    let cases = [
        ("PLA-2026-1", "pla-2026-1.json"),
        ("PLA_2026/7", "pla_2026_7.json"),
        ("Acme+SA 1", "acme+sa_1.json"),
    ];
    for (id, name) in cases {
        assert_eq!(file_name(id), name);
    }
}

#[test]
fn every_finder_is_acknowledged_once() {
    let mut a = base();
    a.finders = vec![
        Finder::Person {
            name: "Ada".into(),
            ai_found: false,
        },
        Finder::Organization {
            name: "Globex Red Team".into(),
            ai_found: true,
        },
        Finder::Person {
            name: "Ada".into(),
            ai_found: false,
        },
    ];
    let doc = write(&a);
    let acks = doc["document"]["acknowledgments"].as_array().unwrap();
    assert_eq!(acks.len(), 2, "{acks:?}");
    assert!(acks.iter().any(|x| x["names"] == json!(["Ada"])));
    assert!(
        acks.iter()
            .any(|x| x["organization"] == "Globex Red Team" && x["summary"].as_str().unwrap().contains("AI"))
    );
    a.finders.clear();
    assert!(write(&a)["document"].get("acknowledgments").is_none());
}

#[test]
fn fixed_products_name_their_versions_with_helpers() {
    let mut a = base();
    a.products = vec![
        product("pkg:npm/acme/router", "<2.0.0", &["2.0.0"], Status::Fixed),
        product(
            "cpe:2.3:a:globex:portal:*:*:*:*:*:*:*:*",
            "<5.1",
            &["5.1"],
            Status::Fixed,
        ),
    ];
    let doc = write(&a);
    let tree = doc["product_tree"].to_string();
    assert!(tree.contains("\"purl\":\"pkg:npm/acme/router@2.0.0\""), "{tree}");
    assert!(
        tree.contains("\"cpe\":\"cpe:2.3:a:globex:portal:5.1:*:*:*:*:*:*:*\""),
        "{tree}"
    );
    assert!(tree.contains("\"product_version_range\""), "{tree}");
    let remediations = doc["vulnerabilities"][0]["remediations"].to_string();
    assert!(
        remediations.contains("Update to 2.0.0 or later."),
        "{remediations}"
    );
    assert_eq!(
        cwe_name(79),
        Some("Improper Neutralization of Input During Web Page Generation ('Cross-site Scripting')")
    );
    assert_eq!(cwe_name(99_999), None);
}

/// Writes the documents of the shape table to `CSAF_SAMPLES` (a file), for checking them by hand with the
/// validator: `CSAF_SAMPLES=/tmp/x.json cargo test -p clearinghouse --lib csaf::tests::samples`.
#[test]
fn samples() {
    let Ok(path) = std::env::var("CSAF_SAMPLES") else {
        return;
    };
    let mut docs = vec![write(&base())];
    let mut a = base();
    a.products = every_status();
    a.tlp = Tlp::AmberStrict;
    docs.push(write(&a));
    a.products.clear();
    a.cwe = vec![99_999];
    docs.push(write(&a));
    std::fs::write(path, serde_json::to_string(&docs).unwrap()).unwrap();
}

#[test]
fn csaf_2_1_differs_from_2_0_where_the_draft_does() {
    let mut a = base();
    a.cwe = vec![22, 79, 9_999];
    a.cvss_v4 = Some("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N".into());
    a.epss = Some(Epss {
        probability: "0.0125".into(),
        percentile: "0.8000".into(),
        timestamp: at(3),
    });
    a.ssvc =
        Some(json!({"schemaVersion": "1-0-1", "selections": [], "timestamp": "2026-03-03T12:00:00.000Z"}));
    let v20 = write_version(&a, CsafVersion::V2_0);
    let v21 = write_version(&a, CsafVersion::V2_1);
    assert_eq!(v20, write(&a), "2.0 is the default");
    let (x, y) = (&v20["vulnerabilities"][0], &v21["vulnerabilities"][0]);
    // (what, 2.0, 2.1)
    let table: Vec<(&str, Value, Value)> = vec![
        ("$schema", v20["$schema"].clone(), json!(SCHEMA_2_1)),
        ("csaf_version", json!("2.0"), json!("2.1")),
        ("scores", json!(true), json!(false)),
        ("metrics", json!(false), json!(true)),
        ("cwe", json!(true), json!(false)),
        ("cwes", json!(false), json!(true)),
        ("disclosure_date", json!(false), json!(true)),
    ];
    for (what, in_20, in_21) in table {
        match what {
            "$schema" => {
                assert_eq!(in_20, Value::Null);
                assert_eq!(v21["$schema"], in_21);
            }
            "csaf_version" => {
                assert_eq!(v20["document"]["csaf_version"], in_20);
                assert_eq!(v21["document"]["csaf_version"], in_21);
            }
            key => {
                assert_eq!(json!(x.get(key).is_some()), in_20, "2.0 {key}");
                assert_eq!(json!(y.get(key).is_some()), in_21, "2.1 {key}");
            }
        }
    }
    let content = &y["metrics"][0]["content"];
    assert_eq!(y["metrics"][0]["products"], x["scores"][0]["products"]);
    assert_eq!(content["cvss_v3"], x["scores"][0]["cvss_v3"]);
    assert_eq!(content["cvss_v4"]["version"], "4.0");
    assert_eq!(content["cvss_v4"]["vectorString"], a.cvss_v4.clone().unwrap());
    assert_eq!(
        content["epss"],
        json!({"percentile": "0.8000", "probability": "0.0125", "timestamp": "2026-03-03T12:00:00.000Z"})
    );
    assert_eq!(content["ssvc_v1"], a.ssvc.clone().unwrap());
    // 2.0 names the v4.0 score in a note; 2.1 carries it in the metrics, not in a note.
    let note = |v: &Value, title: &str| v["notes"].as_array().unwrap().iter().any(|n| n["title"] == title);
    assert!(note(x, "CVSS v4.0") && !note(y, "CVSS v4.0"));
    // Every named weakness in `cwes`, with the catalogue version; the unnamed one in a note.
    let cwes: Vec<&str> = y["cwes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert_eq!(c["version"], CWE_VERSION);
            c["id"].as_str().unwrap()
        })
        .collect();
    assert_eq!(cwes, ["CWE-22", "CWE-79"]);
    assert_eq!(x["cwe"]["id"], "CWE-22");
    let weaknesses = |v: &Value| {
        v["notes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["title"] == "Weaknesses")
            .map(|n| n["text"].clone())
    };
    assert_eq!(weaknesses(x), Some(json!("CWE-79, CWE-9999")));
    assert_eq!(weaknesses(y), Some(json!("CWE-9999")));
    assert_eq!(
        y["disclosure_date"],
        v21["document"]["tracking"]["initial_release_date"]
    );
    // The purl helper becomes a list; the product ids are the same and all defined.
    let tree = v21["product_tree"].to_string();
    assert!(!tree.contains("\"purl\"") && tree.contains("\"purls\":[\"pkg:npm/acme/router"));
    assert_eq!(ids(&v20).0, ids(&v21).0);
    let (defined, used) = ids(&v21);
    assert!(used.iter().all(|u| defined.contains(u)), "{used:?} ⊄ {defined:?}");
    // The fixed product's range is affected in 2.1 (its fix is the remediation), fixed in 2.0.
    let range = x["remediations"][0]["product_ids"][0].clone();
    assert!(x["product_status"]["fixed"].as_array().unwrap().contains(&range));
    assert!(!y["product_status"]["fixed"].as_array().unwrap().contains(&range));
    assert!(
        y["product_status"]["known_affected"]
            .as_array()
            .unwrap()
            .contains(&range)
    );
}

#[test]
fn csaf_2_1_writes_the_tlp_2_0_labels() {
    let cases = [
        (Tlp::Clear, "WHITE", "CLEAR"),
        (Tlp::Green, "GREEN", "GREEN"),
        (Tlp::Amber, "AMBER", "AMBER"),
        (Tlp::AmberStrict, "AMBER", "AMBER+STRICT"),
        (Tlp::Red, "RED", "RED"),
    ];
    for (tlp, in_20, in_21) in cases {
        let a = Advisory { tlp, ..base() };
        let label = |v: CsafVersion| write_version(&a, v)["document"]["distribution"]["tlp"]["label"].clone();
        assert_eq!(label(CsafVersion::V2_0), in_20, "{tlp:?}");
        assert_eq!(label(CsafVersion::V2_1), in_21, "{tlp:?}");
        let text = write_version(&a, CsafVersion::V2_1)["document"]["distribution"]["text"].clone();
        assert!(!text.to_string().contains("CSAF 2.0 has no"), "{tlp:?}: {text}");
    }
    assert_eq!(CsafVersion::parse("2.1"), Some(CsafVersion::V2_1));
    assert_eq!(CsafVersion::parse("2.0"), Some(CsafVersion::V2_0));
    assert_eq!(CsafVersion::parse("2"), None);
    assert_eq!(CsafVersion::default(), CsafVersion::V2_0);
}

#[test]
fn every_written_document_passes_the_mandatory_tests() {
    let mut several = base();
    several.products.push(product(
        "cpe:2.3:a:acme:portal:5.0:*:*:*:*:*:*:*",
        "<5.1",
        &[],
        Status::KnownAffected,
    ));
    several
        .products
        .push(product("pkg:pypi/acme-sdk", "*", &[], Status::KnownNotAffected));
    several
        .products
        .push(product("pkg:npm/acme/ui", "<1", &[], Status::UnderInvestigation));
    let mut none = base();
    none.products.clear();
    for a in [base(), several, none] {
        let doc = write(&a);
        assert_eq!(checks::check(&doc), Vec::new(), "{doc}");
    }
}
