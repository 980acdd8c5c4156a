//! STIX 2.1 (OASIS) export of published advisories: each advisory is a `vulnerability` object and a `report`
//! that groups it, marked with the official TLP 2.0 marking-definition object of its marking and created by the
//! clearinghouse's `identity`. Ids are stable: UUID v5 of the advisory's id in a namespace of ours, one per
//! object type, so the same advisory always exports under the same ids; `created` is the publication and
//! `modified` the latest change, so a version of an object is its `modified` time.

use crate::tlp::Tlp;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

/// The namespace of our STIX ids (a random UUID, fixed forever: changing it changes every exported id).
pub const NAMESPACE: Uuid = Uuid::from_u128(0x6f1c_2f4e_8a57_4d0b_9c3e_51d2_a7b4_e019);

/// The TLP 2.0 extension definition that the official marking-definition objects carry.
pub const TLP_EXTENSION: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

/// Our property extension of `vulnerability` objects: `affected`, the products as a report names them
/// (`[{"purl" or "cpe", "versions"}]`), which intake needs to file a posted vulnerability. Its id is UUID v5 of
/// `extension:affected` in `NAMESPACE`.
pub const AFFECTED_EXTENSION: &str = "extension-definition--935646ff-a1a8-5a81-a874-a2d98b75a1ab";

/// The date of the official TLP 2.0 marking-definition objects.
const TLP_CREATED: &str = "2022-10-01T00:00:00.000Z";

/// The object types an advisory exports as, in the order its objects are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Report,
    Vulnerability,
}

impl Kind {
    pub const ALL: [Kind; 2] = [Kind::Report, Kind::Vulnerability];

    /// The STIX type name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Report => "report",
            Kind::Vulnerability => "vulnerability",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// The fixed id of the official marking-definition object of a TLP 2.0 marking.
pub fn marking_id(tlp: Tlp) -> &'static str {
    match tlp {
        Tlp::Clear => "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
        Tlp::Green => "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
        Tlp::Amber => "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
        Tlp::AmberStrict => "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        Tlp::Red => "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
    }
}

/// The official marking-definition object of a TLP 2.0 marking.
pub fn marking_definition(tlp: Tlp) -> Value {
    json!({
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": marking_id(tlp),
        "created": TLP_CREATED,
        "name": tlp.label(),
        "extensions": {TLP_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": tlp.as_str()}},
    })
}

/// The clearinghouse's identity, `created_by_ref` of every object we export.
pub fn identity_id() -> String {
    format!(
        "identity--{}",
        Uuid::new_v5(&NAMESPACE, b"identity:clearinghouse")
    )
}

/// The clearinghouse's identity object, named `name`, created at `since` (a fixed date of the instance).
pub fn identity(name: &str, since: DateTime<Utc>) -> Value {
    json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": identity_id(),
        "created": timestamp(since),
        "modified": timestamp(since),
        "name": name,
        "identity_class": "organization",
    })
}

/// The STIX id of an advisory's object of a kind.
pub fn object_id(kind: Kind, advisory: Uuid) -> String {
    let name = format!("{}:{advisory}", kind.as_str());
    format!("{}--{}", kind.as_str(), Uuid::new_v5(&NAMESPACE, name.as_bytes()))
}

/// A STIX timestamp: UTC, `Z`, milliseconds (the precision every object we export uses, so a version read
/// back compares equal).
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A version (`modified`, or `created`) as stored: UTC with nine fractional digits, so that text order is time
/// order whatever precision the object used.
pub fn version_key(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

/// A stored version as TAXII shows it: milliseconds, or as many digits as the object's own timestamp needs.
pub fn version_text(key: &str) -> String {
    match DateTime::parse_from_rfc3339(key) {
        Ok(at) => {
            let at = at.with_timezone(&Utc);
            let nanos = at.timestamp_subsec_nanos();
            let format = if nanos % 1_000_000 == 0 {
                SecondsFormat::Millis
            } else if nanos % 1_000 == 0 {
                SecondsFormat::Micros
            } else {
                SecondsFormat::Nanos
            };
            at.to_rfc3339_opts(format, true)
        }
        Err(_) => key.to_owned(),
    }
}

/// The `affected` list of our property extension: each product as `purl` or `cpe`, with its version range.
pub fn affected_list(affected: &[(&str, &str)]) -> Vec<Value> {
    affected
        .iter()
        .map(|(product, versions)| {
            let key = if product.starts_with("pkg:") {
                "purl"
            } else {
                "cpe"
            };
            json!({key: product, "versions": versions})
        })
        .collect()
}

/// What an advisory exports from: its row and the parts of its document that STIX carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Advisory<'a> {
    pub id: Uuid,
    /// `PLA-<year>-<n>`.
    pub reference: &'a str,
    pub title: &'a str,
    pub tlp: Tlp,
    pub summary: Option<&'a str>,
    /// CVE ids (`CVE-2026-1234`).
    pub cves: Vec<&'a str>,
    /// CWE ids (`CWE-79`).
    pub cwes: Vec<&'a str>,
    /// The affected products (purl or CPE) and their version ranges, which a receiving clearinghouse files.
    pub affected: Vec<(&'a str, &'a str)>,
    pub published: DateTime<Utc>,
    pub modified: DateTime<Utc>,
}

impl Advisory<'_> {
    /// Reads the parts STIX carries out of an advisory's stored document (`summary`, `cwe`, `cves`); anything
    /// missing or of another shape is left out.
    pub fn from_document<'a>(
        id: Uuid,
        reference: &'a str,
        title: &'a str,
        tlp: Tlp,
        document: &'a Value,
        published: DateTime<Utc>,
        modified: DateTime<Utc>,
    ) -> Advisory<'a> {
        let strings = |key: &str| -> Vec<&'a str> {
            document
                .get(key)
                .and_then(Value::as_array)
                .map(|items| items.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default()
        };
        Advisory {
            id,
            reference,
            title,
            tlp,
            summary: document.get("summary").and_then(Value::as_str),
            cves: strings("cves"),
            cwes: strings("cwe"),
            affected: document
                .get("affected")
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|a| Some((a.get("product")?.as_str()?, a.get("versions")?.as_str()?)))
                        .collect()
                })
                .unwrap_or_default(),
            published,
            modified,
        }
    }

    /// The advisory's object of a kind.
    pub fn object(&self, kind: Kind) -> Value {
        match kind {
            Kind::Vulnerability => self.vulnerability(),
            Kind::Report => self.report(),
        }
    }

    fn common(&self, kind: Kind) -> serde_json::Map<String, Value> {
        let mut object = serde_json::Map::new();
        object.insert("type".into(), json!(kind.as_str()));
        object.insert("spec_version".into(), json!("2.1"));
        object.insert("id".into(), json!(object_id(kind, self.id)));
        object.insert("created".into(), json!(timestamp(self.published)));
        object.insert("modified".into(), json!(timestamp(self.modified)));
        object.insert("created_by_ref".into(), json!(identity_id()));
        object.insert("object_marking_refs".into(), json!([marking_id(self.tlp)]));
        object
    }

    /// Our reference, then each CVE and CWE. No URL: STIX asks for the hash of what a URL serves, and an
    /// advisory's page changes with it.
    fn external_references(&self) -> Vec<Value> {
        let mut refs = vec![json!({"source_name": "prelaunch", "external_id": self.reference})];
        refs.extend(
            self.cves
                .iter()
                .map(|cve| json!({"source_name": "cve", "external_id": cve})),
        );
        refs.extend(
            self.cwes
                .iter()
                .map(|cwe| json!({"source_name": "cwe", "external_id": cwe})),
        );
        refs
    }

    /// The `vulnerability` object.
    pub fn vulnerability(&self) -> Value {
        let mut object = self.common(Kind::Vulnerability);
        object.insert("name".into(), json!(self.title));
        if let Some(summary) = self.summary.filter(|s| !s.is_empty()) {
            object.insert("description".into(), json!(summary));
        }
        object.insert("external_references".into(), json!(self.external_references()));
        if !self.affected.is_empty() {
            let mut extension = serde_json::Map::new();
            extension.insert("extension_type".into(), json!("property-extension"));
            extension.insert("affected".into(), json!(affected_list(&self.affected)));
            object.insert(
                "extensions".into(),
                json!({AFFECTED_EXTENSION: Value::Object(extension)}),
            );
        }
        Value::Object(object)
    }

    /// The `report` that groups the advisory's objects.
    pub fn report(&self) -> Value {
        let mut object = self.common(Kind::Report);
        object.insert(
            "name".into(),
            json!(format!("{}: {}", self.reference, self.title)),
        );
        if let Some(summary) = self.summary.filter(|s| !s.is_empty()) {
            object.insert("description".into(), json!(summary));
        }
        object.insert("report_types".into(), json!(["vulnerability"]));
        object.insert("published".into(), json!(timestamp(self.published)));
        object.insert(
            "object_refs".into(),
            json!([object_id(Kind::Vulnerability, self.id)]),
        );
        object.insert("external_references".into(), json!(self.external_references()));
        Value::Object(object)
    }
}

/// A bundle of advisories with the identity and the marking definitions they refer to. Its id is derived from
/// the ids and versions of what it holds, so the same export is the same bundle.
pub fn bundle(identity: Value, advisories: &[Advisory<'_>]) -> Value {
    let mut markings: Vec<Tlp> = advisories.iter().map(|a| a.tlp).collect();
    markings.sort();
    markings.dedup();
    let mut objects = vec![identity];
    objects.extend(markings.into_iter().map(marking_definition));
    for advisory in advisories {
        objects.extend(Kind::ALL.into_iter().map(|k| advisory.object(k)));
    }
    let mut seed = String::new();
    for object in &objects {
        for key in ["id", "modified"] {
            seed.push_str(object.get(key).and_then(Value::as_str).unwrap_or(""));
            seed.push('\n');
        }
    }
    json!({
        "type": "bundle",
        "id": format!("bundle--{}", Uuid::new_v5(&NAMESPACE, seed.as_bytes())),
        "objects": objects,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_780_000_000 + s, 0).single().unwrap()
    }

    fn sample(document: &Value) -> Advisory<'_> {
        Advisory::from_document(
            Uuid::from_u128(7),
            "PLA-2026-3",
            "Heap overflow in the router's parser",
            Tlp::Amber,
            document,
            at(0),
            at(60),
        )
    }

    #[test]
    fn ids_are_stable_distinct_per_kind_and_per_advisory() {
        let a = Uuid::from_u128(1);
        let b = Uuid::from_u128(2);
        assert_eq!(
            object_id(Kind::Vulnerability, a),
            object_id(Kind::Vulnerability, a)
        );
        assert_ne!(object_id(Kind::Vulnerability, a), object_id(Kind::Report, a));
        assert_ne!(
            object_id(Kind::Vulnerability, a),
            object_id(Kind::Vulnerability, b)
        );
        let id = object_id(Kind::Vulnerability, a);
        let uuid = Uuid::parse_str(id.strip_prefix("vulnerability--").unwrap()).unwrap();
        assert_eq!(uuid.get_version_num(), 5);
        // Pinned: an exported id never changes between releases.
        assert_eq!(
            object_id(Kind::Vulnerability, a),
            format!(
                "vulnerability--{}",
                Uuid::new_v5(&NAMESPACE, format!("vulnerability:{a}").as_bytes())
            )
        );
    }

    #[test]
    fn markings_are_the_official_tlp_2_objects() {
        let cases = [
            (Tlp::Clear, "94868c89-83c2-464b-929b-a1a8aa3c8487", "clear"),
            (Tlp::Green, "bab4a63c-aed9-4cf5-a766-dfca5abac2bb", "green"),
            (Tlp::Amber, "55d920b0-5e8b-4f79-9ee9-91f868d9b421", "amber"),
            (
                Tlp::AmberStrict,
                "939a9414-2ddd-4d32-a0cd-375ea402b003",
                "amber+strict",
            ),
            (Tlp::Red, "e828b379-4e03-4974-9ac4-e53a884c97c1", "red"),
        ];
        for (tlp, uuid, name) in cases {
            let m = marking_definition(tlp);
            assert_eq!(m["id"], format!("marking-definition--{uuid}"), "{tlp}");
            assert_eq!(m["name"], tlp.label());
            assert_eq!(m["extensions"][TLP_EXTENSION]["tlp_2_0"], name);
            assert_eq!(m["created"], TLP_CREATED);
        }
    }

    #[test]
    fn an_advisory_exports_as_a_vulnerability_and_its_report() {
        let document = json!({
            "summary": "A crafted packet overflows the heap.",
            "cwe": ["CWE-122"],
            "cves": ["CVE-2026-1234"],
            "references": [{"type": "case", "reference": "PLC-2026-1"},
                           {"type": "advisory", "url": "https://ch.example/advisories/7"}],
        });
        let a = sample(&document);
        let v = a.vulnerability();
        assert_eq!(v["id"], object_id(Kind::Vulnerability, a.id));
        assert_eq!(v["created"], "2026-05-28T20:26:40.000Z");
        assert_eq!(v["modified"], "2026-05-28T20:27:40.000Z");
        assert_eq!(v["created_by_ref"], identity_id());
        assert_eq!(v["object_marking_refs"], json!([marking_id(Tlp::Amber)]));
        assert_eq!(v["description"], "A crafted packet overflows the heap.");
        assert_eq!(
            v["external_references"],
            json!([
                {"source_name": "prelaunch", "external_id": "PLA-2026-3"},
                {"source_name": "cve", "external_id": "CVE-2026-1234"},
                {"source_name": "cwe", "external_id": "CWE-122"},
            ])
        );
        let r = a.report();
        assert_eq!(r["object_refs"], json!([v["id"]]));
        assert_eq!(r["published"], v["created"]);
        assert_eq!(r["id"], object_id(Kind::Report, a.id));
    }

    #[test]
    fn a_sparse_document_leaves_out_what_it_lacks() {
        let document = json!({"summary": "", "cwe": "not a list"});
        let v = sample(&document).vulnerability();
        assert!(v.get("description").is_none());
        assert_eq!(
            v["external_references"],
            json!([{"source_name": "prelaunch", "external_id": "PLA-2026-3"}])
        );
    }

    #[test]
    fn a_bundle_holds_each_marking_once_and_is_deterministic() {
        let document = json!({});
        let one = sample(&document);
        let mut two = sample(&document);
        two.id = Uuid::from_u128(8);
        let identity = identity("Clearinghouse", at(-1000));
        let b = bundle(identity.clone(), &[one.clone(), two.clone()]);
        let objects = b["objects"].as_array().unwrap();
        assert_eq!(objects.len(), 1 + 1 + 4);
        assert_eq!(objects[1]["id"], marking_id(Tlp::Amber));
        assert_eq!(b, bundle(identity.clone(), &[one.clone(), two.clone()]));
        assert_ne!(b["id"], bundle(identity, &[one])["id"]);
    }

    #[test]
    fn kinds_parse_by_their_stix_names() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(Kind::parse("indicator"), None);
    }
}
