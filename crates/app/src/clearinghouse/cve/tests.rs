use super::*;
use chrono::{TimeZone, Utc};
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

fn provider() -> Provider {
    Provider {
        org_id: Uuid::from_u128(0x0f0e_0d0c_0b0a_4908_8706_0504_0302_0100),
        short_name: Some("Example-CNA".into()),
    }
}

#[test]
fn cve_ids_are_checked() {
    for (text, ok) in [
        ("CVE-2026-1234", true),
        ("CVE-2026-1234567890123456789", true),
        ("CVE-2026-123", false),
        ("cve-2026-1234", false),
        ("CVE-26-1234", false),
        ("CVE-2026-12a4", false),
        ("CVE-2026-1234-5", false),
    ] {
        assert_eq!(is_cve_id(text), ok, "{text}");
    }
}

#[test]
fn affected_products_take_the_record_shapes() {
    // (product, versions, affected entry)
    let cases: &[(&str, &str, Value)] = &[
        (
            "pkg:npm/acme/router@1.2.0",
            ">=1.2.0, <1.4.3",
            json!({"vendor": "acme", "product": "router", "collectionURL": "https://www.npmjs.com",
                   "packageName": "acme/router", "defaultStatus": "unaffected",
                   "versions": [{"version": "1.2.0", "status": "affected", "versionType": "npm", "lessThan": "1.4.3"}]}),
        ),
        (
            "pkg:pypi/requests",
            "<=2.0 || =3.1",
            json!({"vendor": "n/a", "product": "requests", "collectionURL": "https://pypi.python.org",
            "packageName": "requests", "defaultStatus": "unaffected",
            "versions": [
                {"version": "0", "status": "affected", "versionType": "pypi", "lessThanOrEqual": "2.0"},
                {"version": "3.1", "status": "affected"},
            ]}),
        ),
        (
            "cpe:2.3:a:acme:router:*:*:*:*:*:*:*:*",
            ">=2.0",
            json!({"vendor": "acme", "product": "router", "cpes": ["cpe:2.3:a:acme:router:*:*:*:*:*:*:*:*"],
                   "defaultStatus": "unaffected",
                   "versions": [{"version": "2.0", "status": "affected", "versionType": "custom", "lessThan": "*"}]}),
        ),
        (
            "pkg:generic/acme/firmware",
            "*",
            json!({"vendor": "acme", "product": "firmware", "defaultStatus": "affected"}),
        ),
    ];
    for (product, versions, expected) in cases {
        let a = advisory(json!({"affected": [{"product": product, "versions": versions}]}));
        let r = record(&a, "CVE-2026-1234", &provider());
        assert_eq!(
            &r["containers"]["cna"]["affected"][0], expected,
            "{product} {versions}"
        );
    }
}

#[test]
fn a_record_carries_every_part_of_the_advisory() {
    let a = advisory(json!({
        "summary": "A long header overflows a buffer.",
        "affected": [],
        "scores": {
            "cvss_v3": {"vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "base_score": 9.8, "severity": "critical"},
            "cvss_v4": {"vector": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "base_score": 9.3, "severity": "critical"},
        },
        "cwe": ["CWE-787"],
        "credits": [{"name": "Ada", "kind": "person"}, {"name": "Ada", "kind": "person"}, {"name": "Model", "kind": "model"}],
        "references": [{"type": "case", "reference": "PLC-2026-3"}, {"type": "advisory", "url": "https://ch.example/advisories/1"}],
    }));
    let r = record(&a, "CVE-2026-1234", &provider());
    assert_eq!(r["dataType"], "CVE_RECORD");
    assert_eq!(r["dataVersion"], "5.2");
    assert_eq!(r["cveMetadata"]["cveId"], "CVE-2026-1234");
    assert_eq!(r["cveMetadata"]["state"], "PUBLISHED");
    assert_eq!(r["cveMetadata"]["datePublished"], "2026-03-04T05:06:07.000Z");
    let cna = &r["containers"]["cna"];
    assert_eq!(
        cna["providerMetadata"],
        json!({"orgId": "0f0e0d0c-0b0a-4908-8706-050403020100", "shortName": "Example-CNA"})
    );
    assert_eq!(r["cveMetadata"]["assignerShortName"], "Example-CNA");
    let unnamed = record(
        &a,
        "CVE-2026-1234",
        &Provider {
            short_name: None,
            ..provider()
        },
    );
    assert!(unnamed["cveMetadata"].get("assignerShortName").is_none());
    assert_eq!(
        cna["descriptions"],
        json!([{"lang": "en", "value": "A long header overflows a buffer."}])
    );
    assert_eq!(
        cna["affected"],
        json!([{"vendor": "n/a", "product": "n/a", "defaultStatus": "unknown"}])
    );
    assert_eq!(
        cna["problemTypes"],
        json!([{"descriptions": [{"lang": "en", "description": "CWE-787", "cweId": "CWE-787", "type": "CWE"}]}])
    );
    assert_eq!(cna["metrics"][0]["cvssV4_0"]["baseScore"], 9.3);
    assert_eq!(cna["metrics"][1]["cvssV3_1"]["baseSeverity"], "CRITICAL");
    assert_eq!(
        cna["references"],
        json!([{"url": "https://ch.example/advisories/1", "name": "PLA-2026-7", "tags": ["vendor-advisory"]}])
    );
    assert_eq!(
        cna["credits"],
        json!([{"lang": "en", "value": "Ada", "type": "finder"}, {"lang": "en", "value": "Model", "type": "tool"}])
    );
}
