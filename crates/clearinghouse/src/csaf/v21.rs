//! CSAF 2.1 (OASIS Committee Specification Draft 03), behind `CsafVersion::V2_1`: not yet a standard, so 2.0
//! stays the default. The document says what the 2.0 one says, in 2.1's structure:
//! - `$schema`: the 2.1 schema's URL; `document.csaf_version` "2.1";
//! - `document.distribution.tlp.label`: TLP 2.0 itself (`CLEAR`, `GREEN`, `AMBER`, `AMBER+STRICT`, `RED`);
//! - the product identification helper's `purls` (a list) instead of 2.0's `purl`;
//! - a fixed product's affected range listed `known_affected` (2.0 lists it `fixed`), as 2.1's tests want;
//! - per vulnerability `metrics` (a list of `{content, products}`: `cvss_v3`, `cvss_v4`, and EPSS and SSVC
//!   when known) instead of `scores`, `cwes` (every weakness whose catalogue name we hold, with the
//!   catalogue's version) instead of the single `cwe`, and `disclosure_date` (the initial release).

use super::{Advisory, cvss_v3, cwe_name, write_v2_0};
use crate::cvss::{self, Version};
use crate::tlp::Tlp;
use serde_json::{Map, Value, json};

/// The `$schema` of a CSAF 2.1 document.
pub const SCHEMA_2_1: &str = "https://docs.oasis-open.org/csaf/csaf/v2.1/schema/csaf.json";

/// The version of MITRE's CWE list our weakness names are taken from (`cwes[].version`).
pub const CWE_VERSION: &str = "4.16";

/// The TLP 2.0 label CSAF 2.1 writes.
pub fn tlp_label_2_1(tlp: Tlp) -> &'static str {
    match tlp {
        Tlp::Clear => "CLEAR",
        Tlp::Green => "GREEN",
        Tlp::Amber => "AMBER",
        Tlp::AmberStrict => "AMBER+STRICT",
        Tlp::Red => "RED",
    }
}

/// `purl` → `purls: [purl]`, everywhere in the product tree.
fn purls(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if let Some(purl) = map.remove("purl") {
                map.insert("purls".into(), json!([purl]));
            }
            map.values_mut().for_each(purls);
        }
        Value::Array(items) => items.iter_mut().for_each(purls),
        _ => {}
    }
}

fn cvss_v4(vector: &str) -> Option<Value> {
    let score = cvss::score(vector).ok()?;
    if score.version != Version::V4_0 {
        return None;
    }
    Some(json!({
        "version": "4.0",
        "vectorString": score.vector,
        "baseScore": score.base_score,
        "baseSeverity": score.base_severity.as_str().to_ascii_uppercase(),
    }))
}

/// 2.0 lists a fixed product's affected range as `fixed`, beside its fixed versions; 2.1's mandatory tests
/// (6.1.27.12, 6.1.36) want the range `known_affected`, since the `vendor_fix` remediation applies to it.
fn affected_ranges(v: &mut Map<String, Value>) {
    let ranges: Vec<Value> = v
        .get("remediations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|r| r.get("category").and_then(Value::as_str) == Some("vendor_fix"))
        .filter_map(|r| r.get("product_ids").and_then(Value::as_array))
        .flatten()
        .cloned()
        .collect();
    let Some(status) = v.get_mut("product_status").and_then(Value::as_object_mut) else {
        return;
    };
    if let Some(fixed) = status.get_mut("fixed").and_then(Value::as_array_mut) {
        fixed.retain(|id| !ranges.contains(id));
        if fixed.is_empty() {
            status.remove("fixed");
        }
    }
    let mut moved = ranges;
    moved.dedup();
    if moved.is_empty() {
        return;
    }
    let affected = status.entry("known_affected").or_insert_with(|| json!([]));
    if let Some(affected) = affected.as_array_mut() {
        for id in moved {
            if !affected.contains(&id) {
                affected.push(id);
            }
        }
    }
}

/// The 2.1 vulnerability from the 2.0 one (same products, remediations, threats).
fn vulnerability(a: &Advisory, mut v: Map<String, Value>) -> Map<String, Value> {
    affected_ranges(&mut v);
    // The products a score applies to: those of 2.0's score, else the affected ones.
    let scored = v.remove("scores");
    let products = scored
        .as_ref()
        .and_then(|s| s.pointer("/0/products"))
        .cloned()
        .or_else(|| {
            // Without a 2.0 score (a v4.0 vector alone): the affected products, as 2.0 scores them.
            v.get("product_status")?
                .get("known_affected")
                .filter(|ids| ids.as_array().is_some_and(|ids| !ids.is_empty()))
                .cloned()
        });
    let mut content = Map::new();
    if let Some(v3) = a.cvss_v3.as_deref().and_then(cvss_v3) {
        content.insert("cvss_v3".into(), v3);
    }
    if let Some(v4) = a.cvss_v4.as_deref().and_then(cvss_v4) {
        content.insert("cvss_v4".into(), v4);
        // 2.0 could only name a v4.0 score in a note; 2.1 carries it.
        if let Some(notes) = v.get_mut("notes").and_then(Value::as_array_mut) {
            notes.retain(|n| n.get("title").and_then(Value::as_str) != Some("CVSS v4.0"));
        }
    }
    if let Some(epss) = &a.epss {
        content.insert(
            "epss".into(),
            json!({
                "percentile": epss.percentile,
                "probability": epss.probability,
                "timestamp": super::time(epss.timestamp),
            }),
        );
    }
    if let Some(ssvc) = &a.ssvc {
        content.insert("ssvc_v1".into(), ssvc.clone());
    }
    if let (Some(products), false) = (products, content.is_empty()) {
        v.insert(
            "metrics".into(),
            json!([{"content": Value::Object(content), "products": products}]),
        );
    }
    v.remove("cwe");
    let cwes: Vec<Value> = a
        .cwe
        .iter()
        .filter_map(|id| {
            let name = cwe_name(*id)?;
            Some(json!({"id": format!("CWE-{id}"), "name": name, "version": CWE_VERSION}))
        })
        .collect();
    if let Some(notes) = v.get_mut("notes").and_then(Value::as_array_mut) {
        // 2.0 named every weakness after the first in a note; 2.1 lists the named ones in `cwes`.
        let unnamed: Vec<String> = a
            .cwe
            .iter()
            .filter(|id| cwe_name(**id).is_none())
            .map(|id| format!("CWE-{id}"))
            .collect();
        notes.retain(|n| n.get("title").and_then(Value::as_str) != Some("Weaknesses"));
        if !unnamed.is_empty() {
            notes.push(json!({"category": "other", "title": "Weaknesses", "text": unnamed.join(", ")}));
        }
    }
    if !cwes.is_empty() {
        v.insert("cwes".into(), json!(cwes));
    }
    v.insert("disclosure_date".into(), json!(super::time(a.initial_release)));
    v
}

/// The CSAF 2.1 (CSD03) document of an advisory.
pub fn write_v2_1(a: &Advisory) -> Value {
    let mut doc = write_v2_0(a);
    let mut out = Map::new();
    out.insert("$schema".into(), json!(SCHEMA_2_1));
    if let Some(Value::Object(mut document)) = doc.get_mut("document").map(Value::take) {
        document.insert("csaf_version".into(), json!("2.1"));
        let mut distribution = Map::new();
        distribution.insert(
            "tlp".into(),
            json!({"label": tlp_label_2_1(a.tlp), "url": "https://www.first.org/tlp/"}),
        );
        if a.tlp != Tlp::Clear {
            distribution.insert(
                "text".into(),
                json!(format!("{} (FIRST TLP 2.0).", a.tlp.label())),
            );
        }
        document.insert("distribution".into(), Value::Object(distribution));
        out.insert("document".into(), Value::Object(document));
    }
    if let Some(mut tree) = doc.get_mut("product_tree").map(Value::take) {
        purls(&mut tree);
        out.insert("product_tree".into(), tree);
    }
    let vulnerabilities: Vec<Value> = doc
        .get_mut("vulnerabilities")
        .and_then(Value::as_array_mut)
        .map(std::mem::take)
        .unwrap_or_default()
        .into_iter()
        .map(|v| match v {
            Value::Object(v) => Value::Object(vulnerability(a, v)),
            other => other,
        })
        .collect();
    out.insert("vulnerabilities".into(), json!(vulnerabilities));
    Value::Object(out)
}
