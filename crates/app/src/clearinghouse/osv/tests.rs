use super::*;
use chrono::TimeZone;
use clearinghouse::tlp::Tlp;
use store::Json;

fn advisory(document: Value) -> AdvisoryRow {
    let at = Utc.with_ymd_and_hms(2026, 3, 4, 5, 6, 7).unwrap();
    AdvisoryRow {
        id: Uuid::nil(),
        case_id: Uuid::nil(),
        reference: "PLA-2026-7".into(),
        title: "Heap overflow in the router".into(),
        tlp: Tlp::Clear,
        severity: Some("critical".into()),
        document: Json(document),
        published_at: at,
        modified_at: at,
        version: 1,
        cve: None,
    }
}

fn affected_of(product: &str, versions: &str) -> Value {
    let a = advisory(json!({"affected": [{"product": product, "versions": versions, "fixed_in": []}]}));
    record(&a)["affected"][0].clone()
}

#[test]
fn ids_carry_the_unregistered_prefix_and_round_trip() {
    assert_eq!(osv_id("PLA-2026-7"), "x_PLA-2026-7");
    assert_eq!(reference_of("x_PLA-2026-7"), Some("PLA-2026-7"));
    for not_ours in ["PLA-2026-7", "x_GHSA-1", "GHSA-xxxx", "", "x_"] {
        assert_eq!(reference_of(not_ours), None, "{not_ours}");
    }
}

#[test]
fn ranges_follow_the_intervals() {
    // (product, versions, package, ranges, exact versions)
    let cases: &[(&str, &str, Value, Value, Value)] = &[
        (
            "pkg:npm/acme/router@1.2.0",
            ">=1.2.0, <1.4.3",
            json!({"ecosystem": "npm", "name": "acme/router", "purl": "pkg:npm/acme/router"}),
            json!([{"type": "SEMVER", "events": [{"introduced": "1.2.0"}, {"fixed": "1.4.3"}]}]),
            Value::Null,
        ),
        (
            "pkg:npm/%40scope/pkg",
            "<=2.0.0",
            json!({"ecosystem": "npm", "name": "@scope/pkg", "purl": "pkg:npm/%40scope/pkg"}),
            json!([{"type": "SEMVER", "events": [{"introduced": "0"}, {"last_affected": "2.0.0"}]}]),
            Value::Null,
        ),
        (
            "pkg:pypi/requests",
            ">=1.0, <1.2 || >=2.0, <2.1",
            json!({"ecosystem": "PyPI", "name": "requests", "purl": "pkg:pypi/requests"}),
            json!([
                {"type": "ECOSYSTEM", "events": [{"introduced": "1.0"}, {"fixed": "1.2"}]},
                {"type": "ECOSYSTEM", "events": [{"introduced": "2.0"}, {"fixed": "2.1"}]},
            ]),
            Value::Null,
        ),
        (
            // Not semver (two components): the ecosystem's own ordering.
            "pkg:cargo/hyper",
            ">=0.14, <0.14.28",
            json!({"ecosystem": "crates.io", "name": "hyper", "purl": "pkg:cargo/hyper"}),
            json!([{"type": "ECOSYSTEM", "events": [{"introduced": "0.14"}, {"fixed": "0.14.28"}]}]),
            Value::Null,
        ),
        (
            "pkg:maven/org.apache.logging.log4j/log4j-core",
            "*",
            json!({"ecosystem": "Maven", "name": "org.apache.logging.log4j:log4j-core",
                   "purl": "pkg:maven/org.apache.logging.log4j/log4j-core"}),
            json!([{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]),
            Value::Null,
        ),
        (
            "pkg:gem/rails",
            "=7.0.1 || =7.0.3",
            json!({"ecosystem": "RubyGems", "name": "rails", "purl": "pkg:gem/rails"}),
            Value::Null,
            json!(["7.0.1", "7.0.3"]),
        ),
        (
            // An excluded lower bound is written inclusive: one version too many, never too few.
            "pkg:golang/github.com/acme/mod",
            ">1.0.0",
            json!({"ecosystem": "Go", "name": "github.com/acme/mod", "purl": "pkg:golang/github.com/acme/mod"}),
            json!([{"type": "SEMVER", "events": [{"introduced": "1.0.0"}]}]),
            Value::Null,
        ),
        (
            "pkg:deb/debian/openssl?arch=amd64",
            "<3.0.11-1",
            json!({"ecosystem": "Debian", "name": "openssl", "purl": "pkg:deb/debian/openssl"}),
            json!([{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.11-1"}]}]),
            Value::Null,
        ),
    ];
    for (product, versions, package, ranges, exact) in cases {
        let entry = affected_of(product, versions);
        assert_eq!(&entry["package"], package, "{product}");
        assert_eq!(&entry["ranges"], ranges, "{product} {versions}");
        assert_eq!(&entry["versions"], exact, "{product} {versions}");
        assert_eq!(
            entry["database_specific"],
            json!({"product": product, "versions": versions})
        );
    }
}

#[test]
fn products_without_an_ecosystem_keep_only_what_was_reported() {
    for product in [
        "cpe:2.3:a:acme:router:*:*:*:*:*:*:*:*",
        "pkg:generic/acme/firmware",
    ] {
        let entry = affected_of(product, "<2.0");
        assert_eq!(
            entry,
            json!({"database_specific": {"product": product, "versions": "<2.0"}})
        );
    }
}

#[test]
fn a_record_carries_every_part_of_the_advisory() {
    let a = advisory(json!({
        "summary": "A long header overflows a buffer.",
        "case_reference": "PLC-2026-3",
        "affected": [{"product": "pkg:npm/acme/router", "versions": "<1.4.3", "fixed_in": ["1.4.3"]}],
        "scores": {
            "cvss_v3": {"vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "base_score": 9.8, "severity": "critical"},
            "cvss_v4": null,
        },
        "cwe": ["CWE-787"],
        "credits": [
            {"name": "Ada", "kind": "person", "ai_found": false},
            {"name": "Ada", "kind": "person", "ai_found": false},
            {"name": "Finder Model", "kind": "model", "ai_found": true},
            {"name": "  ", "kind": "person", "ai_found": false},
        ],
        "references": [{"type": "case", "reference": "PLC-2026-3"}, {"type": "advisory", "url": "https://ch.example/advisories/1"}],
    }));
    let r = record(&a);
    assert_eq!(r["schema_version"], "1.7.0");
    assert_eq!(r["id"], "x_PLA-2026-7");
    assert_eq!(r["published"], "2026-03-04T05:06:07Z");
    assert_eq!(r["modified"], "2026-03-04T05:06:07Z");
    assert_eq!(r["summary"], "Heap overflow in the router");
    assert_eq!(r["details"], "A long header overflows a buffer.");
    assert!(r.get("aliases").is_none(), "no CVE known");
    assert_eq!(
        r["severity"],
        json!([{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}])
    );
    assert_eq!(
        r["references"],
        json!([{"type": "ADVISORY", "url": "https://ch.example/advisories/1"}])
    );
    assert_eq!(
        r["credits"],
        json!([{"name": "Ada", "type": "FINDER"}, {"name": "Finder Model", "type": "TOOL"}])
    );
    assert_eq!(r["database_specific"]["tlp"], "TLP:CLEAR");
    assert_eq!(r["database_specific"]["cwe_ids"], json!(["CWE-787"]));
    assert_eq!(r["database_specific"]["case_reference"], "PLC-2026-3");
}

#[test]
fn a_known_cve_is_an_alias_and_an_empty_document_still_makes_a_record() {
    let r = record(&advisory(json!({"cve_id": "CVE-2026-1234"})));
    assert_eq!(r["aliases"], json!(["CVE-2026-1234"]));
    let bare = record(&advisory(json!({})));
    assert_eq!(bare["affected"], json!([]));
    for absent in ["severity", "references", "credits", "details"] {
        assert!(bare.get(absent).is_none(), "{absent}");
    }
}

#[test]
fn the_zip_holds_its_entries() {
    let mut w = ZipWriter::default();
    let mut bytes = Vec::new();
    let at = dos_time(Utc.with_ymd_and_hms(2026, 3, 4, 5, 6, 8).unwrap());
    for (name, body) in [("a.json", "{\"a\":1}"), ("b.json", "{}")] {
        bytes.extend(w.add(name, body.as_bytes(), at).unwrap().unwrap());
    }
    bytes.extend(w.finish());
    // The end record: two entries, the directory right after the entries.
    let end = &bytes[bytes.len() - 22..];
    assert_eq!(&end[..4], &[0x50, 0x4b, 0x05, 0x06]);
    assert_eq!(u16::from_le_bytes([end[10], end[11]]), 2);
    let dir_len = u32::from_le_bytes([end[12], end[13], end[14], end[15]]) as usize;
    let dir_at = u32::from_le_bytes([end[16], end[17], end[18], end[19]]) as usize;
    assert_eq!(dir_at + dir_len, bytes.len() - 22);
    assert_eq!(&bytes[dir_at..dir_at + 4], &[0x50, 0x4b, 0x01, 0x02]);
    assert_eq!(at, ((46 << 9) | (3 << 5) | 4, (5 << 11) | (6 << 5) | 4));
}
