//! CVE JSON 5.2 records (`dataType` CVE_RECORD, `dataVersion` 5.2) of published advisories, ready for a CNA
//! to submit.
//!
//! The writer is pure: an advisory as stored, the CVE id the CNA reserved for it and the provider (the CNA's
//! organisation id and short name) become one record in state PUBLISHED, whose `containers.cna` is what the
//! CNA submits (CVE Services set `providerMetadata` and the dates again on submission). `descriptions` hold
//! the case's summary (or the title), `affected` one entry per product: a purl gives the package collection
//! and name (and vendor = its namespace, or `n/a`), a CPE name the vendor, product and the name in `cpes`;
//! its version range becomes `versions`, each interval one entry with status `affected` from its lower bound
//! (`0` when none) to `lessThan` an exclusive upper bound, `lessThanOrEqual` an inclusive one or `*` when it
//! has none, and an exact version an entry of its own. `problemTypes` carry the CWE ids, `metrics` the best
//! CVSS v3 (as `cvssV3_1` or `cvssV3_0` by its vector's version) and v4 scores, `references` the advisory's
//! page, `credits` every credited finder.

use super::invalid;
use crate::{App, AppError, AppResult, Caller, policy};
use chrono::SecondsFormat;
use clearinghouse::product::{CpeValue, Edge, ProductId, Purl, VersionRange};
use serde_json::{Map, Value, json};
use store::AdvisoryRow;
use uuid::Uuid;

/// The CVE record format version written.
pub const DATA_VERSION: &str = "5.2";
/// The longest description the format admits, in characters.
const MAX_DESCRIPTION: usize = 4096;
/// The longest title the format admits, in characters.
const MAX_TITLE: usize = 256;

/// Whether the text is a CVE id (`CVE-2026-12345`).
pub fn is_cve_id(text: &str) -> bool {
    let mut parts = text.splitn(3, '-');
    let (Some("CVE"), Some(year), Some(number)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && (4..=19).contains(&number.len())
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// Who provides the record: the CNA's organisation id and short name.
#[derive(Debug, Clone)]
pub struct Provider {
    pub org_id: Uuid,
    pub short_name: Option<String>,
}

fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn clip(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// The package collection of a purl type, as CVE records name it.
fn collection(purl: &Purl) -> Option<&'static str> {
    Some(match purl.ty() {
        "npm" => "https://www.npmjs.com",
        "pypi" => "https://pypi.python.org",
        "cargo" => "https://crates.io",
        "maven" => "https://repo.maven.apache.org/maven2",
        "gem" => "https://rubygems.org",
        "nuget" => "https://www.nuget.org",
        "golang" => "https://pkg.go.dev",
        "composer" => "https://packagist.org",
        "hex" => "https://hex.pm",
        "pub" => "https://pub.dev",
        "cran" => "https://cran.r-project.org",
        "hackage" => "https://hackage.haskell.org",
        _ => return None,
    })
}

fn cpe_text(value: &CpeValue) -> Option<String> {
    match value {
        CpeValue::Value(v) if !v.is_empty() => Some(v.clone()),
        _ => None,
    }
}

/// The `versions` of a range (empty when it is every version: the entry's `defaultStatus` says so).
fn versions(range: &VersionRange, version_type: &str) -> Vec<Value> {
    if range.is_all() {
        return Vec::new();
    }
    range
        .intervals()
        .map(|(lower, upper)| {
            if let (Edge::Included(l), Edge::Included(u)) = (lower, upper)
                && l == u
            {
                return json!({"version": l.as_str(), "status": "affected"});
            }
            let from = match lower {
                Edge::Included(v) | Edge::Excluded(v) => v.as_str(),
                Edge::Unbounded => "0",
            };
            let mut entry = Map::new();
            entry.insert("version".into(), json!(from));
            entry.insert("status".into(), json!("affected"));
            entry.insert("versionType".into(), json!(version_type));
            let (key, to) = match upper {
                Edge::Excluded(v) => ("lessThan", v.as_str()),
                Edge::Included(v) => ("lessThanOrEqual", v.as_str()),
                Edge::Unbounded => ("lessThan", "*"),
            };
            entry.insert(key.into(), json!(to));
            Value::Object(entry)
        })
        .collect()
}

/// One `affected` entry, or `None` for a product that is neither a purl nor a CPE name.
fn affected(product: &str, range_text: &str) -> Option<Value> {
    let mut entry = Map::new();
    let version_type = match ProductId::parse(product).ok()? {
        ProductId::Purl(purl) => {
            let vendor = if purl.namespace().is_empty() {
                "n/a".to_owned()
            } else {
                purl.namespace().join("/")
            };
            entry.insert("vendor".into(), json!(clip(&vendor, 512)));
            entry.insert("product".into(), json!(clip(purl.name(), 2048)));
            if let Some(url) = collection(&purl) {
                let name = if purl.namespace().is_empty() {
                    purl.name().to_owned()
                } else {
                    format!("{}/{}", purl.namespace().join("/"), purl.name())
                };
                entry.insert("collectionURL".into(), json!(url));
                entry.insert("packageName".into(), json!(clip(&name, 2048)));
            }
            purl.ty().to_owned()
        }
        ProductId::Cpe(cpe) => {
            let vendor = cpe_text(cpe.vendor()).unwrap_or_else(|| "n/a".into());
            let name = cpe_text(cpe.product()).unwrap_or_else(|| "n/a".into());
            entry.insert("vendor".into(), json!(clip(&vendor, 512)));
            entry.insert("product".into(), json!(clip(&name, 2048)));
            entry.insert("cpes".into(), json!([cpe.to_string()]));
            "custom".to_owned()
        }
    };
    let listed = VersionRange::parse(range_text)
        .map(|r| versions(&r, &version_type))
        .unwrap_or_default();
    if listed.is_empty() {
        entry.insert("defaultStatus".into(), json!("affected"));
    } else {
        entry.insert("versions".into(), Value::Array(listed));
        entry.insert("defaultStatus".into(), json!("unaffected"));
    }
    Some(Value::Object(entry))
}

fn array<'a>(document: &'a Value, field: &str) -> impl Iterator<Item = &'a Value> {
    document
        .get(field)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// The CVSS metric of a score the advisory keeps (`{vector, base_score, severity}`), under its format's key.
fn metric(score: &Value) -> Option<Value> {
    let vector = score.get("vector")?.as_str()?;
    let base = score.get("base_score")?.as_f64()?;
    let severity = score.get("severity")?.as_str()?.to_uppercase();
    let (key, version) = if vector.starts_with("CVSS:3.1/") {
        ("cvssV3_1", "3.1")
    } else if vector.starts_with("CVSS:3.0/") {
        ("cvssV3_0", "3.0")
    } else if vector.starts_with("CVSS:4.0/") {
        ("cvssV4_0", "4.0")
    } else {
        return None;
    };
    Some(
        json!({key: {"version": version, "vectorString": vector, "baseScore": base, "baseSeverity": severity}}),
    )
}

/// The CVE record of an advisory under the CVE id a CNA reserved for it.
pub fn record(advisory: &AdvisoryRow, cve_id: &str, provider: &Provider) -> Value {
    let document = &advisory.document.0;
    let description = document
        .get("summary")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .unwrap_or(&advisory.title);
    let mut cna = Map::new();
    let mut put = |key: &str, value: Value| {
        cna.insert(key.to_owned(), value);
    };
    let mut provider_metadata = Map::new();
    provider_metadata.insert("orgId".into(), json!(provider.org_id));
    let mut metadata = Map::new();
    metadata.insert("cveId".into(), json!(cve_id));
    metadata.insert("assignerOrgId".into(), json!(provider.org_id));
    if let Some(name) = &provider.short_name {
        provider_metadata.insert("shortName".into(), json!(clip(name, 32)));
        metadata.insert("assignerShortName".into(), json!(clip(name, 32)));
    }
    metadata.insert("state".into(), json!("PUBLISHED"));
    metadata.insert("datePublished".into(), json!(timestamp(advisory.published_at)));
    metadata.insert("dateUpdated".into(), json!(timestamp(advisory.modified_at)));
    put("providerMetadata", Value::Object(provider_metadata));
    put("title", json!(clip(&advisory.title, MAX_TITLE)));
    put("datePublic", json!(timestamp(advisory.published_at)));
    put(
        "descriptions",
        json!([{"lang": "en", "value": clip(description, MAX_DESCRIPTION)}]),
    );
    let mut affected: Vec<Value> = array(document, "affected")
        .filter_map(|a| affected(a.get("product")?.as_str()?, a.get("versions")?.as_str()?))
        .collect();
    affected.dedup();
    if affected.is_empty() {
        // The format asks for at least one product: the advisory names none we can describe.
        affected.push(json!({"vendor": "n/a", "product": "n/a", "defaultStatus": "unknown"}));
    }
    put("affected", Value::Array(affected));
    let cwes: Vec<Value> = array(document, "cwe")
        .filter_map(Value::as_str)
        .map(|cwe| json!({"lang": "en", "description": cwe, "cweId": cwe, "type": "CWE"}))
        .collect();
    if !cwes.is_empty() {
        put("problemTypes", json!([{"descriptions": cwes}]));
    }
    let scores = document.get("scores");
    let metrics: Vec<Value> = ["cvss_v4", "cvss_v3"]
        .into_iter()
        .filter_map(|field| metric(scores?.get(field)?))
        .collect();
    if !metrics.is_empty() {
        put("metrics", Value::Array(metrics));
    }
    let mut references: Vec<Value> = array(document, "references")
        .filter_map(|r| r.get("url")?.as_str())
        .map(|url| json!({"url": url, "name": advisory.reference, "tags": ["vendor-advisory"]}))
        .collect();
    references.dedup();
    put("references", Value::Array(references));
    let mut seen = std::collections::BTreeSet::new();
    let credits: Vec<Value> = array(document, "credits")
        .filter_map(|c| {
            let name = c.get("name")?.as_str()?.trim();
            let kind = if c.get("kind").and_then(Value::as_str) == Some("model") {
                "tool"
            } else {
                "finder"
            };
            (!name.is_empty() && seen.insert((name, kind)))
                .then(|| json!({"lang": "en", "value": clip(name, 4096), "type": kind}))
        })
        .collect();
    if !credits.is_empty() {
        put("credits", Value::Array(credits));
    }
    put(
        "source",
        json!({"advisory": advisory.reference, "discovery": "EXTERNAL"}),
    );
    json!({
        "dataType": "CVE_RECORD",
        "dataVersion": DATA_VERSION,
        "cveMetadata": Value::Object(metadata),
        "containers": {"cna": Value::Object(cna)},
    })
}

/// What a coordinator asks a CVE record for: the CVE id the CNA reserved and the CNA's identity in the CVE
/// Program's registry (its organisation UUID, and its short name).
#[derive(Debug, Clone, Default)]
pub struct CveRequest {
    /// Left out: the case's own CVE id.
    pub cve_id: Option<String>,
    pub cna_org_id: String,
    pub cna_short_name: Option<String>,
}

impl App {
    /// The CVE record of an advisory under the CVE id the CNA reserved. Not found, as for the advisory itself,
    /// when the reader may not read the advisory; forbidden to a reader who may but is no coordinator.
    pub async fn cve_record(&self, caller: &Caller, id: Uuid, request: &CveRequest) -> AppResult<Value> {
        // The caller's input is checked first: its mistakes say nothing about the advisory.
        let given = request.cve_id.as_deref().map(str::trim);
        if let Some(cve_id) = given
            && !is_cve_id(cve_id)
        {
            return Err(invalid("cve_id", "a CVE id is CVE-<year>-<4 to 19 digits>"));
        }
        let org_id = Uuid::parse_str(request.cna_org_id.trim())
            .ok()
            .filter(|u| u.get_version_num() == 4)
            .ok_or_else(|| {
                invalid(
                    "cna_org_id",
                    "the CVE Program's organisation ids are version 4 UUIDs",
                )
            })?;
        let short_name = request.cna_short_name.as_deref().map(str::trim);
        if let Some(name) = short_name
            && (!(2..=32).contains(&name.chars().count()) || name.chars().any(char::is_control))
        {
            return Err(invalid(
                "cna_short_name",
                "a CNA's short name has 2 to 32 characters",
            ));
        }
        let provider = Provider {
            org_id,
            short_name: short_name.map(str::to_owned),
        };
        let advisory = self
            .store
            .visible_advisory(id, &policy::tlp_audience(Some(caller)))
            .await?
            .ok_or(AppError::NotFound("advisory"))?;
        if !policy::can_export_cve_record(caller) {
            return Err(AppError::Forbidden("only coordinators export CVE records"));
        }
        let cve_id = match (given, advisory.cve.as_deref()) {
            (Some(given), Some(own)) if given != own => {
                return Err(invalid(
                    "cve_id",
                    format!("the advisory's case has the CVE id {own}"),
                ));
            }
            (Some(id), _) | (None, Some(id)) => id,
            (None, None) => {
                return Err(invalid(
                    "cve_id",
                    "the advisory's case has no CVE id: give the one the CNA reserved",
                ));
            }
        };
        Ok(record(&advisory, cve_id, &provider))
    }
}

#[cfg(test)]
mod tests;
