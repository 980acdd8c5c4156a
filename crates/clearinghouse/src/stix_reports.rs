//! STIX 2.1 export of clearinghouse reports and cases, beside the advisories' (`stix`).
//!
//! A vulnerability report is a `vulnerability` (CWE and CVE as external references; the affected products and
//! the CVSS vectors in our property extension `stix::AFFECTED_EXTENSION`, which the import side reads back); a
//! threat report is one `indicator` per validated pattern, one `attack-pattern` per technique (an ATT&CK id as
//! a `mitre-attack` reference) and a `note` for the observed misuse. Either is tied together by a STIX `report`
//! named for ours, which also refers to an `identity` for the finder when the finder is an organisation (a
//! person finder is never exported: the name is theirs). A case is a STIX `report` referring to its reports'
//! `report` objects.
//!
//! Ids are UUID v5 of our object's id and the part's role in `stix::NAMESPACE`, so an object keeps its id
//! across versions and exports; `created` is our object's creation and `modified` its latest change, so each
//! change of a report or case is a new version of each of its objects. Every object carries the official TLP
//! 2.0 marking of its report or case.

use crate::stix::{AFFECTED_EXTENSION, identity_id, marking_id, timestamp};
use crate::tlp::Tlp;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use uuid::Uuid;

/// The most indicators and attack patterns one report exports (intake bounds them lower).
const MAX_PARTS: usize = 200;

/// The STIX id of a part of one of our objects: UUID v5 of `<role>:<our id>` (and `:<n>` for listed parts).
fn part_id(stix_type: &str, role: &str, ours: Uuid, n: Option<usize>) -> String {
    let name = match n {
        Some(n) => format!("{role}:{ours}:{n}"),
        None => format!("{role}:{ours}"),
    };
    format!(
        "{stix_type}--{}",
        Uuid::new_v5(&crate::stix::NAMESPACE, name.as_bytes())
    )
}

/// The STIX `report` that stands for one of our reports.
pub fn report_object_id(report: Uuid) -> String {
    part_id("report", "clearinghouse-report", report, None)
}

/// The STIX `report` that stands for one of our cases.
pub fn case_object_id(case: Uuid) -> String {
    part_id("report", "clearinghouse-case", case, None)
}

/// The `vulnerability` of a vulnerability report.
pub fn vulnerability_id(report: Uuid) -> String {
    part_id("vulnerability", "report-vulnerability", report, None)
}

/// What a report is about.
#[derive(Debug, Clone, PartialEq)]
pub enum Subject<'a> {
    Vulnerability {
        /// `CWE-<n>`.
        cwe: Option<String>,
        /// The CVE ids of its case.
        cves: Vec<&'a str>,
        cvss_v3: Option<(&'a str, f64)>,
        cvss_v4: Option<(&'a str, f64)>,
        /// `(purl or CPE, versions)`, as intake reads them back.
        affected: Vec<(&'a str, &'a str)>,
    },
    /// The stored `{indicators, attack_patterns, misuse}` of a threat report.
    Threat(&'a Value),
}

/// What a report exports from.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportExport<'a> {
    pub id: Uuid,
    pub title: &'a str,
    pub description: &'a str,
    pub tlp: Tlp,
    pub subject: Subject<'a>,
    /// The finder's name when the finder is an organisation; `None` for a person or a model.
    pub finder_org: Option<&'a str>,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
}

fn common(
    stix_type: &str,
    id: String,
    tlp: Tlp,
    created: DateTime<Utc>,
    modified: DateTime<Utc>,
) -> Map<String, Value> {
    let mut object = Map::new();
    object.insert("type".into(), json!(stix_type));
    object.insert("spec_version".into(), json!("2.1"));
    object.insert("id".into(), json!(id));
    object.insert("created".into(), json!(timestamp(created)));
    object.insert("modified".into(), json!(timestamp(modified.max(created))));
    object.insert("created_by_ref".into(), json!(identity_id()));
    object.insert("object_marking_refs".into(), json!([marking_id(tlp)]));
    object
}

/// An ATT&CK technique id (`T1059`, `T1059.001`), as intake accepts them.
fn attack_id(text: &str) -> bool {
    let Some(rest) = text.strip_prefix('T') else {
        return false;
    };
    let (technique, sub) = rest.split_once('.').unwrap_or((rest, ""));
    let digits = |s: &str, n: usize| s.len() == n && s.chars().all(|c| c.is_ascii_digit());
    digits(technique, 4) && (!rest.contains('.') || digits(sub, 3))
}

fn strings<'a>(value: &'a Value, key: &str) -> Vec<&'a str> {
    value
        .get(key)
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).take(MAX_PARTS).collect())
        .unwrap_or_default()
}

impl ReportExport<'_> {
    fn object(&self, stix_type: &str, id: String) -> Map<String, Value> {
        common(stix_type, id, self.tlp, self.created, self.modified)
    }

    /// Every object of the report, the STIX `report` that ties them first.
    pub fn objects(&self) -> Vec<Value> {
        let mut parts = Vec::new();
        match &self.subject {
            Subject::Vulnerability {
                cwe,
                cves,
                cvss_v3,
                cvss_v4,
                affected,
            } => parts.push(self.vulnerability(cwe.as_deref(), cves, *cvss_v3, *cvss_v4, affected)),
            Subject::Threat(threat) => parts.extend(self.threat(threat)),
        }
        if let Some(name) = self.finder_org {
            let mut identity = self.object("identity", part_id("identity", "report-finder", self.id, None));
            identity.insert("name".into(), json!(name));
            identity.insert("identity_class".into(), json!("organization"));
            identity.insert("roles".into(), json!(["finder"]));
            parts.push(Value::Object(identity));
        }
        let report_id = report_object_id(self.id);
        let mut refs: Vec<Value> = parts
            .iter()
            .filter(|p| p.get("type") != Some(&json!("note")))
            .filter_map(|p| p.get("id").cloned())
            .collect();
        if refs.is_empty() {
            // A threat report with only observed misuse: the note is all there is.
            refs.extend(parts.iter().filter_map(|p| p.get("id").cloned()));
        }
        let mut report = self.object("report", report_id);
        report.insert("name".into(), json!(self.title));
        report.insert("description".into(), json!(self.description));
        let kind = match self.subject {
            Subject::Vulnerability { .. } => "vulnerability",
            Subject::Threat(_) => "threat-report",
        };
        report.insert("report_types".into(), json!([kind]));
        report.insert("published".into(), json!(timestamp(self.created)));
        report.insert("object_refs".into(), json!(refs));
        let mut objects = vec![Value::Object(report)];
        objects.extend(parts);
        objects
    }

    fn vulnerability(
        &self,
        cwe: Option<&str>,
        cves: &[&str],
        cvss_v3: Option<(&str, f64)>,
        cvss_v4: Option<(&str, f64)>,
        affected: &[(&str, &str)],
    ) -> Value {
        let mut object = self.object("vulnerability", vulnerability_id(self.id));
        object.insert("name".into(), json!(self.title));
        object.insert("description".into(), json!(self.description));
        let mut refs: Vec<Value> = cves
            .iter()
            .map(|cve| json!({"source_name": "cve", "external_id": cve}))
            .collect();
        refs.extend(cwe.map(|cwe| json!({"source_name": "cwe", "external_id": cwe})));
        if !refs.is_empty() {
            object.insert("external_references".into(), json!(refs));
        }
        let mut extension = Map::new();
        extension.insert("extension_type".into(), json!("property-extension"));
        extension.insert("affected".into(), json!(crate::stix::affected_list(affected)));
        for (key, score) in [("cvss_v3", cvss_v3), ("cvss_v4", cvss_v4)] {
            if let Some((vector, base)) = score {
                extension.insert(key.into(), json!({"vector": vector, "base_score": base}));
            }
        }
        object.insert(
            "extensions".into(),
            json!({AFFECTED_EXTENSION: Value::Object(extension)}),
        );
        Value::Object(object)
    }

    fn threat(&self, threat: &Value) -> Vec<Value> {
        let mut parts = Vec::new();
        for (n, pattern) in strings(threat, "indicators").into_iter().enumerate() {
            let mut object = self.object(
                "indicator",
                part_id("indicator", "report-indicator", self.id, Some(n)),
            );
            object.insert("name".into(), json!(format!("{} ({})", self.title, n + 1)));
            object.insert("description".into(), json!(self.description));
            object.insert("pattern".into(), json!(pattern));
            object.insert("pattern_type".into(), json!("stix"));
            object.insert("valid_from".into(), json!(timestamp(self.created)));
            parts.push(Value::Object(object));
        }
        for (n, technique) in strings(threat, "attack_patterns").into_iter().enumerate() {
            let mut object = self.object(
                "attack-pattern",
                part_id("attack-pattern", "report-attack-pattern", self.id, Some(n)),
            );
            object.insert("name".into(), json!(technique));
            if attack_id(technique) {
                object.insert(
                    "external_references".into(),
                    json!([{"source_name": "mitre-attack", "external_id": technique}]),
                );
            }
            parts.push(Value::Object(object));
        }
        if let Some(misuse) = threat
            .get("misuse")
            .and_then(Value::as_str)
            .filter(|m| !m.is_empty())
        {
            let mut object = self.object("note", part_id("note", "report-misuse", self.id, None));
            object.insert("abstract".into(), json!("Observed misuse"));
            object.insert("content".into(), json!(misuse));
            object.insert("object_refs".into(), json!([report_object_id(self.id)]));
            parts.push(Value::Object(object));
        }
        parts
    }
}

/// What a case exports from.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseExport<'a> {
    pub id: Uuid,
    /// `PLC-<year>-<n>`.
    pub reference: &'a str,
    pub title: &'a str,
    pub summary: Option<&'a str>,
    pub tlp: Tlp,
    pub cve: Option<&'a str>,
    /// The reports it carries (those whose marking its own admits).
    pub reports: Vec<Uuid>,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
    pub published: Option<DateTime<Utc>>,
}

impl CaseExport<'_> {
    /// The case's STIX `report`; `None` when it carries no report (STIX asks for at least one reference).
    pub fn object(&self) -> Option<Value> {
        if self.reports.is_empty() {
            return None;
        }
        let mut object = common(
            "report",
            case_object_id(self.id),
            self.tlp,
            self.created,
            self.modified,
        );
        object.insert(
            "name".into(),
            json!(format!("{}: {}", self.reference, self.title)),
        );
        if let Some(summary) = self.summary.filter(|s| !s.is_empty()) {
            object.insert("description".into(), json!(summary));
        }
        object.insert("report_types".into(), json!(["vulnerability"]));
        object.insert(
            "published".into(),
            json!(timestamp(self.published.unwrap_or(self.created))),
        );
        let refs: Vec<String> = self.reports.iter().map(|r| report_object_id(*r)).collect();
        object.insert("object_refs".into(), json!(refs));
        let mut external = vec![json!({"source_name": "prelaunch", "external_id": self.reference})];
        external.extend(
            self.cve
                .map(|cve| json!({"source_name": "cve", "external_id": cve})),
        );
        object.insert("external_references".into(), json!(external));
        Some(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stix_import::check_object;
    use chrono::TimeZone;

    fn at(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_780_000_000 + s, 0).single().unwrap()
    }

    fn export<'a>(subject: Subject<'a>, finder_org: Option<&'a str>) -> ReportExport<'a> {
        ReportExport {
            id: Uuid::from_u128(9),
            title: "Heap overflow in the parser",
            description: "A long header overflows a buffer.",
            tlp: Tlp::Green,
            subject,
            finder_org,
            created: at(0),
            modified: at(30),
        }
    }

    fn vulnerability() -> Subject<'static> {
        Subject::Vulnerability {
            cwe: Some("CWE-787".into()),
            cves: vec!["CVE-2026-1234"],
            cvss_v3: Some(("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8)),
            cvss_v4: None,
            affected: vec![("pkg:npm/lib", ">=1.0.0, <1.4.0")],
        }
    }

    #[test]
    fn a_vulnerability_report_is_a_vulnerability_and_its_report_that_import_accepts() {
        let objects = export(vulnerability(), Some("Water ISAC")).objects();
        let types: Vec<&str> = objects.iter().map(|o| o["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["report", "vulnerability", "identity"]);
        let (report, v) = (&objects[0], &objects[1]);
        assert_eq!(report["id"], report_object_id(Uuid::from_u128(9)));
        assert_eq!(report["object_refs"], json!([v["id"], objects[2]["id"]]));
        assert_eq!(v["modified"], "2026-05-28T20:27:10.000Z");
        assert_eq!(v["object_marking_refs"], json!([marking_id(Tlp::Green)]));
        assert_eq!(
            v["external_references"],
            json!([{"source_name": "cve", "external_id": "CVE-2026-1234"},
                   {"source_name": "cwe", "external_id": "CWE-787"}])
        );
        let ext = &v["extensions"][AFFECTED_EXTENSION];
        assert_eq!(
            ext["affected"],
            json!([{"purl": "pkg:npm/lib", "versions": ">=1.0.0, <1.4.0"}])
        );
        assert_eq!(ext["cvss_v3"]["base_score"], json!(9.8));
        for (i, o) in objects.iter().enumerate() {
            check_object(i, o).unwrap_or_else(|p| panic!("{o}: {p:?}"));
        }
    }

    #[test]
    fn a_threat_report_is_its_indicators_attack_patterns_and_a_note() {
        let threat = json!({
            "indicators": ["[domain-name:value = 'lure.example']", "[ipv4-addr:value = '198.51.100.7']"],
            "attack_patterns": ["T1566.002", "Phishing"],
            "misuse": "Lures per target.",
        });
        let objects = export(Subject::Threat(&threat), None).objects();
        let types: Vec<&str> = objects.iter().map(|o| o["type"].as_str().unwrap()).collect();
        assert_eq!(
            types,
            [
                "report",
                "indicator",
                "indicator",
                "attack-pattern",
                "attack-pattern",
                "note"
            ]
        );
        assert_eq!(objects[0]["object_refs"].as_array().unwrap().len(), 4);
        assert_eq!(objects[3]["external_references"][0]["external_id"], "T1566.002");
        assert!(objects[4].get("external_references").is_none());
        assert_eq!(objects[5]["object_refs"], json!([objects[0]["id"]]));
        for (i, o) in objects.iter().enumerate() {
            check_object(i, o).unwrap_or_else(|p| panic!("{o}: {p:?}"));
        }
        // Only misuse: the report refers to the note.
        let misuse = json!({"indicators": [], "attack_patterns": [], "misuse": "Seen."});
        let objects = export(Subject::Threat(&misuse), None).objects();
        assert_eq!(objects[0]["object_refs"], json!([objects[1]["id"]]));
    }

    #[test]
    fn ids_are_stable_and_a_change_is_a_new_version_of_the_same_ids() {
        let one = export(vulnerability(), None).objects();
        let mut later = export(vulnerability(), None);
        later.modified = at(90);
        let two = later.objects();
        for (a, b) in one.iter().zip(&two) {
            assert_eq!(a["id"], b["id"]);
            assert_ne!(a["modified"], b["modified"]);
        }
        assert_ne!(
            report_object_id(Uuid::from_u128(9)),
            case_object_id(Uuid::from_u128(9))
        );
        assert_eq!(
            vulnerability_id(Uuid::from_u128(9)),
            format!(
                "vulnerability--{}",
                Uuid::new_v5(
                    &crate::stix::NAMESPACE,
                    b"report-vulnerability:00000000-0000-0000-0000-000000000009"
                )
            )
        );
    }

    #[test]
    fn a_case_refers_to_its_reports_and_needs_one() {
        let mut case = CaseExport {
            id: Uuid::from_u128(3),
            reference: "PLC-2026-1",
            title: "Parser overflow",
            summary: None,
            tlp: Tlp::Amber,
            cve: Some("CVE-2026-1234"),
            reports: vec![Uuid::from_u128(9)],
            created: at(0),
            modified: at(5),
            published: None,
        };
        let object = case.object().unwrap();
        assert_eq!(
            object["object_refs"],
            json!([report_object_id(Uuid::from_u128(9))])
        );
        assert_eq!(object["object_marking_refs"], json!([marking_id(Tlp::Amber)]));
        check_object(0, &object).unwrap();
        case.reports.clear();
        assert_eq!(case.object(), None);
    }
}
