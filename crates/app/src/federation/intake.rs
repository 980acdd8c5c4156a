//! Pulled STIX objects into intake: the minimal mapping of a `vulnerability` or an `indicator` to a report,
//! written in this one place. MERGE (h12-write): the STIX import into intake built there replaces
//! `report_of` — `file_pulled` should hand the object to that function (as the peer's filer, with the marking
//! it got here) and keep only the origin line and the `report_id` it returns.
//!
//! The mapping: a vulnerability is a vulnerability report titled by its `name`, described by its
//! `description` (or its name), with the CWE of its `external_references`, and no affected products (STIX
//! names none; a coordinator adds them in triage); an indicator with a STIX pattern is a threat report whose
//! indicator is that pattern (validated as every report's is). The finder is the peer, an organisation. The
//! report's marking is the object's marking here. Intake then fingerprints and deduplicates it like any other.

use crate::clearinghouse::{MAX_DESCRIPTION_CHARS, MAX_FINDER_NAME_CHARS, MAX_TITLE_CHARS, Validated};
use crate::{App, AppResult, Caller};
use serde_json::{Value, json};
use store::{FinderKind, PeerRow, ReportKind, StixObjectRow};
use uuid::Uuid;

/// The first `max` characters of a text, its control characters (but newlines) turned into spaces.
fn clip(text: &str, max: usize) -> String {
    text.chars()
        .map(|c| if c.is_control() && c != '\n' { ' ' } else { c })
        .take(max)
        .collect::<String>()
        .trim()
        .to_owned()
}

/// The CWE number an object's external references name (`{"source_name": "cwe", "external_id": "CWE-79"}`).
fn cwe_of(object: &Value) -> Option<u32> {
    object
        .get("external_references")?
        .as_array()?
        .iter()
        .filter(|r| r.get("source_name").and_then(Value::as_str) == Some("cwe"))
        .filter_map(|r| r.get("external_id").and_then(Value::as_str))
        .find_map(|id| id.strip_prefix("CWE-").and_then(|n| n.parse().ok()))
}

/// The report an object maps to, or `None` for an object that makes none (an indicator in another pattern
/// language, or with an invalid pattern).
pub(super) fn report_of(peer: &PeerRow, row: &StixObjectRow) -> Option<Validated> {
    let object: Value = serde_json::from_str(&row.body).ok()?;
    let name = object.get("name").and_then(Value::as_str).unwrap_or(&row.stix_id);
    let title = clip(name, MAX_TITLE_CHARS);
    let title = if title.is_empty() {
        row.stix_id.clone()
    } else {
        title
    };
    let origin = format!(
        "Imported from the federated clearinghouse \"{}\" (collection {}), STIX object {} version {}.",
        peer.name,
        peer.collection_id,
        row.stix_id,
        clearinghouse::stix::version_text(&row.version)
    );
    let given = object
        .get("description")
        .and_then(Value::as_str)
        .filter(|d| !d.trim().is_empty())
        .unwrap_or(name);
    let description = clip(&format!("{given}\n\n{origin}"), MAX_DESCRIPTION_CHARS);
    let (kind, cwe, threat) = match row.stix_type.as_str() {
        "vulnerability" => (ReportKind::Vulnerability, cwe_of(&object), None),
        "indicator" => {
            if object.get("pattern_type").and_then(Value::as_str) != Some("stix") {
                return None;
            }
            let pattern = object.get("pattern").and_then(Value::as_str)?;
            clearinghouse::pattern::validate(pattern).ok()?;
            (
                ReportKind::Threat,
                None,
                Some(json!({"indicators": [pattern], "attack_patterns": [], "misuse": null})),
            )
        }
        _ => return None,
    };
    Some(Validated {
        kind,
        title,
        description,
        tlp: row.tlp,
        affected: Vec::new(),
        cwe,
        cvss_v3: None,
        cvss_v4: None,
        finder: (
            FinderKind::Organization,
            clip(&peer.name, MAX_FINDER_NAME_CHARS),
            None,
        ),
        ai_found: false,
        location: None,
        crash_signature: None,
        threat_model: None,
        sectors: Vec::new(),
        people: Vec::new(),
        threat,
    })
}

impl App {
    /// Files a pulled object as a report through intake; the report's id, or `None` when it maps to none.
    pub(super) async fn file_pulled(
        &self,
        caller: &Caller,
        peer: &PeerRow,
        row: &StixObjectRow,
    ) -> AppResult<Option<Uuid>> {
        let Some(report) = report_of(peer, row) else {
            return Ok(None);
        };
        Ok(Some(self.intake(caller, report, None).await?.id))
    }
}
