//! OSV records (schema 1.7) of published advisories, and the zip of all of them for mirrors.
//!
//! The writer is pure: an advisory as stored becomes one record. Its id is the advisory's reference behind
//! the schema's prefix for databases not in its registry (`x_PLA-2026-1`); `published` and `modified` are the
//! advisory's; `summary` its title and `details` the case's summary; `severity` the best CVSS v3 and v4
//! vectors the advisory carries; `affected` one entry per product: a purl whose type has an OSV ecosystem
//! gives the package, its version range becomes `ranges` (`SEMVER` where the ecosystem versions by semver and
//! every bound is one, else `ECOSYSTEM`; one range per interval: `introduced` from the lower bound, or `0`,
//! then `fixed` for an exclusive upper bound or `last_affected` for an inclusive one) and exact versions
//! become `versions`. A lower bound that excludes its version (`>1.0`) is written as `introduced` at it, which
//! OSV cannot say otherwise: a scanner then flags one version too many, never one too few. The product and
//! range as reported are kept in the entry's `database_specific`, and a product without an ecosystem (a CPE
//! name, an unknown purl type) has only that. `credits` name every credited finder, `references` the
//! advisory's page, and `database_specific` its TLP marking, CWE and case.

use super::zip::{ZipWriter, dos_time};
use crate::{App, AppError, AppResult, Caller, policy};
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use clearinghouse::product::{Edge, ProductId, Purl, Version, VersionRange};
use futures_util::stream::{self, BoxStream, StreamExt};
use kernel::TlpAudience;
use serde_json::{Map, Value, json};
use std::io;
use store::AdvisoryRow;
use tokio::sync::OwnedSemaphorePermit;
use uuid::Uuid;

/// The OSV schema version the records follow.
pub const SCHEMA_VERSION: &str = "1.7.0";
/// The id prefix OSV's schema admits for a database outside its registry.
pub const ID_PREFIX: &str = "x_";

/// The OSV id of an advisory reference (`PLA-2026-1` → `x_PLA-2026-1`).
pub fn osv_id(reference: &str) -> String {
    format!("{ID_PREFIX}{reference}")
}

/// The advisory reference an OSV id names, if it is one of ours.
pub fn reference_of(osv_id: &str) -> Option<&str> {
    osv_id
        .strip_prefix(ID_PREFIX)
        .filter(|r| r.starts_with("PLA-") && r.len() <= 64)
}

fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The OSV ecosystem of a purl type, and whether it versions by semver.
fn ecosystem(purl: &Purl) -> Option<(&'static str, bool)> {
    let namespace = purl.namespace().first().map(String::as_str);
    Some(match purl.ty() {
        "npm" => ("npm", true),
        "cargo" => ("crates.io", true),
        "golang" => ("Go", true),
        "hex" => ("Hex", true),
        "pub" => ("Pub", true),
        "swift" => ("SwiftURL", true),
        "pypi" => ("PyPI", false),
        "maven" => ("Maven", false),
        "gem" => ("RubyGems", false),
        "nuget" => ("NuGet", false),
        "composer" => ("Packagist", false),
        "hackage" => ("Hackage", false),
        "cran" => ("CRAN", false),
        "conan" => ("ConanCenter", false),
        "bitnami" => ("Bitnami", false),
        "deb" if namespace == Some("debian") => ("Debian", false),
        "deb" if namespace == Some("ubuntu") => ("Ubuntu", false),
        "apk" if namespace == Some("alpine") => ("Alpine", false),
        _ => return None,
    })
}

/// The package name as the ecosystem spells it.
fn package_name(purl: &Purl) -> String {
    let namespace = purl.namespace();
    match purl.ty() {
        // Distributions name the source package alone; Maven joins group and artifact with `:`.
        "deb" | "apk" => purl.name().to_owned(),
        "maven" if !namespace.is_empty() => format!("{}:{}", namespace.join("."), purl.name()),
        _ if namespace.is_empty() => purl.name().to_owned(),
        _ => format!("{}/{}", namespace.join("/"), purl.name()),
    }
}

/// Whether a version is a semantic version (`MAJOR.MINOR.PATCH`, optional `-pre` and `+build`).
fn is_semver(v: &Version) -> bool {
    let text = v.as_str();
    let core = text.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && (p.len() == 1 || !p.starts_with('0'))
        })
}

/// The ranges and exact versions of a version range.
fn ranges(range: &VersionRange, semver_ecosystem: bool) -> (Vec<Value>, Vec<String>) {
    let mut versions = Vec::new();
    let mut intervals = Vec::new();
    for (lower, upper) in range.intervals() {
        match (lower, upper) {
            (Edge::Included(l), Edge::Included(u)) if l == u => versions.push(l.as_str().to_owned()),
            pair => intervals.push(pair),
        }
    }
    let bounds = intervals
        .iter()
        .flat_map(|(l, u)| [l, u])
        .filter_map(|e| match e {
            Edge::Included(v) | Edge::Excluded(v) => Some(*v),
            Edge::Unbounded => None,
        });
    let kind = if semver_ecosystem && bounds.clone().all(is_semver) {
        "SEMVER"
    } else {
        "ECOSYSTEM"
    };
    let ranges = intervals
        .iter()
        .map(|(lower, upper)| {
            let introduced = match lower {
                Edge::Included(v) | Edge::Excluded(v) => v.as_str(),
                Edge::Unbounded => "0",
            };
            let mut events = vec![json!({"introduced": introduced})];
            match upper {
                Edge::Excluded(v) => events.push(json!({"fixed": v.as_str()})),
                Edge::Included(v) => events.push(json!({"last_affected": v.as_str()})),
                Edge::Unbounded => {}
            }
            json!({"type": kind, "events": events})
        })
        .collect();
    (ranges, versions)
}

/// One `affected` entry of a product and its versions as the advisory keeps them.
fn affected(product: &str, versions: &str) -> Value {
    let mut entry = Map::new();
    entry.insert(
        "database_specific".into(),
        json!({"product": product, "versions": versions}),
    );
    let purl = match ProductId::parse(product) {
        Ok(ProductId::Purl(p)) => p,
        _ => return Value::Object(entry),
    };
    let Some((ecosystem, semver)) = ecosystem(&purl) else {
        return Value::Object(entry);
    };
    entry.insert(
        "package".into(),
        json!({"ecosystem": ecosystem, "name": package_name(&purl), "purl": purl.key()}),
    );
    if let Ok(range) = VersionRange::parse(versions) {
        let (ranges, exact) = ranges(&range, semver);
        if !ranges.is_empty() {
            entry.insert("ranges".into(), Value::Array(ranges));
        }
        if !exact.is_empty() {
            entry.insert("versions".into(), json!(exact));
        }
    }
    Value::Object(entry)
}

fn strings<'a>(document: &'a Value, field: &str) -> impl Iterator<Item = &'a Value> {
    document
        .get(field)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// The OSV record of an advisory.
pub fn record(advisory: &AdvisoryRow) -> Value {
    let document = &advisory.document.0;
    let text = |field: &str| document.get(field).and_then(Value::as_str);
    let mut record = Map::new();
    let mut put = |key: &str, value: Value| {
        record.insert(key.to_owned(), value);
    };
    put("schema_version", json!(SCHEMA_VERSION));
    put("id", json!(osv_id(&advisory.reference)));
    put("modified", json!(timestamp(advisory.modified_at)));
    put("published", json!(timestamp(advisory.published_at)));
    let aliases: Vec<&str> = advisory.cve.as_deref().or(text("cve_id")).into_iter().collect();
    if !aliases.is_empty() {
        put("aliases", json!(aliases));
    }
    put("summary", json!(advisory.title));
    if let Some(details) = text("summary") {
        put("details", json!(details));
    }
    let scores = document.get("scores");
    let severity: Vec<Value> = [("cvss_v3", "CVSS_V3"), ("cvss_v4", "CVSS_V4")]
        .into_iter()
        .filter_map(|(field, kind)| {
            let vector = scores?.get(field)?.get("vector")?.as_str()?;
            Some(json!({"type": kind, "score": vector}))
        })
        .collect();
    if !severity.is_empty() {
        put("severity", Value::Array(severity));
    }
    let affected: Vec<Value> = strings(document, "affected")
        .filter_map(|a| {
            Some(affected(
                a.get("product")?.as_str()?,
                a.get("versions")?.as_str()?,
            ))
        })
        .collect();
    put("affected", Value::Array(affected));
    let references: Vec<Value> = strings(document, "references")
        .filter_map(|r| r.get("url")?.as_str())
        .map(|url| json!({"type": "ADVISORY", "url": url}))
        .collect();
    if !references.is_empty() {
        put("references", Value::Array(references));
    }
    let mut names = std::collections::BTreeSet::new();
    let credits: Vec<Value> = strings(document, "credits")
        .filter_map(|c| {
            let name = c.get("name")?.as_str()?.trim();
            let kind = if c.get("kind").and_then(Value::as_str) == Some("model") {
                "TOOL"
            } else {
                "FINDER"
            };
            (!name.is_empty() && names.insert((name, kind))).then(|| json!({"name": name, "type": kind}))
        })
        .collect();
    if !credits.is_empty() {
        put("credits", Value::Array(credits));
    }
    put(
        "database_specific",
        json!({
            "tlp": advisory.tlp.label(),
            "severity": advisory.severity,
            "cwe_ids": document.get("cwe").cloned().unwrap_or_else(|| json!([])),
            "case_reference": text("case_reference"),
            "advisory_id": advisory.id,
        }),
    );
    Value::Object(record)
}

/// Advisories read per query while the zip is written.
const ZIP_PAGE: i64 = 200;

/// Where the zip's writing is: the next page starts before `before`; `None` writer when it is finished.
struct ZipState {
    app: App,
    audience: TlpAudience,
    before: Option<(DateTime<Utc>, Uuid)>,
    writer: Option<ZipWriter>,
    /// The build's slot, given back when the archive is written (or its reader goes).
    _slot: OwnedSemaphorePermit,
}

impl App {
    /// The OSV record of an advisory named by its OSV id, if the reader may read the advisory (the same TLP
    /// rule as the advisories API); otherwise, and for an id that is not ours, not found.
    pub async fn osv_record(&self, caller: Option<&Caller>, osv_id: &str) -> AppResult<Value> {
        let reference = reference_of(osv_id).ok_or(AppError::NotFound("advisory"))?;
        self.store
            .visible_advisory_by_reference(reference, &policy::tlp_audience(caller))
            .await?
            .map(|a| record(&a))
            .ok_or(AppError::NotFound("advisory"))
    }

    /// A zip of the OSV record of every advisory `audience` may read (`x_PLA-2026-1.json`, newest first),
    /// written page by page as it is sent, holding `slot` (a build's place among those `osv_archive` allows)
    /// until it ends. At most 65,535 records (the zip without zip64); past that the archive ends and the
    /// server logs it.
    pub(crate) fn osv_zip(
        &self,
        audience: TlpAudience,
        slot: OwnedSemaphorePermit,
    ) -> BoxStream<'static, Result<Bytes, io::Error>> {
        let state = ZipState {
            app: self.clone(),
            audience,
            before: None,
            writer: Some(ZipWriter::default()),
            _slot: slot,
        };
        stream::unfold(state, |mut state| async move {
            let mut writer = state.writer.take()?;
            let page = match state
                .app
                .store
                .list_advisories(&state.audience, state.before, ZIP_PAGE)
                .await
            {
                Ok(page) => page,
                Err(e) => {
                    tracing::error!(error = %e, "the OSV archive could not read advisories");
                    return Some((Err(io::Error::other("the advisories could not be read")), state));
                }
            };
            let mut out = Vec::new();
            let mut full = false;
            for advisory in &page {
                let body = match serde_json::to_vec_pretty(&record(advisory)) {
                    Ok(body) => body,
                    Err(e) => return Some((Err(io::Error::other(e)), state)),
                };
                let name = format!("{}.json", osv_id(&advisory.reference));
                match writer.add(&name, &body, dos_time(advisory.modified_at)) {
                    Ok(Some(bytes)) => out.extend_from_slice(&bytes),
                    Ok(None) => {
                        tracing::warn!("the OSV archive is full; later advisories are left out");
                        full = true;
                        break;
                    }
                    Err(e) => return Some((Err(e), state)),
                }
            }
            state.before = page.last().map(|a| (a.published_at, a.id));
            if full || page.len() < usize::try_from(ZIP_PAGE).unwrap_or(usize::MAX) {
                out.extend_from_slice(&writer.finish());
            } else {
                state.writer = Some(writer);
            }
            Some((Ok(Bytes::from(out)), state))
        })
        .boxed()
    }
}

#[cfg(test)]
mod tests;
