//! Import of CSAF 2.0 documents and OSV records as reports (`POST /api/v1/reports/import`).
//!
//! The format is told by the document: CSAF has `document.csaf_version`; OSV has `schema_version`, `id` and
//! `affected`. A CSAF document must pass the mandatory tests of CSAF 2.0 §6.1 (`clearinghouse::csaf::checks`);
//! an OSV record the rules of the OSV schema checked here (required fields, the id's form, times, packages and
//! ranges with their events in order). A refused document is answered with every rule it breaks and the JSON
//! pointer of the value at fault; nothing is stored.
//!
//! A valid document becomes one vulnerability report per vulnerability (an OSV record is one): its title,
//! description (the vulnerability's notes, or the record's details), affected products (purl or CPE, with the
//! version range of the product tree's `product_version_range` or the OSV ranges), CWE, CVSS vectors and CVE
//! id; the finder is the importing organisation, not found by AI. Every report is validated as any report is
//! before one is filed; then all are filed through intake in one store transaction (deduplicated like every
//! report), or none. Each report keeps its origin (format, document id, version, CVE id); a case it opens
//! takes the CVE id, and a case that holds the CVE id already is the one it joins.

use super::cve::is_cve_id;
use super::validate::{AffectedInput, FinderInput, MAX_DESCRIPTION_CHARS, MAX_TITLE_CHARS, NewReport};
use super::{FiledView, invalid};
use crate::{App, AppError, AppResult, Caller, DocumentProblem, policy};
use clearinghouse::csaf::checks;
use clearinghouse::product::{ProductId, Version, VersionRange};
use clearinghouse::tlp::Tlp;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use store::ReportOrigin;

/// The most vulnerabilities one import files.
pub const MAX_IMPORTED_REPORTS: usize = 50;
/// The most problems a refusal lists.
const MAX_PROBLEMS: usize = 100;

/// The answer to an import: the document, and each report filed with its case and duplicate candidates.
#[derive(Debug, Clone, Serialize)]
pub struct ImportedView {
    pub format: &'static str,
    pub document_id: String,
    pub version: String,
    pub reports: Vec<FiledView>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csaf,
    Osv,
}

impl Format {
    fn as_str(self) -> &'static str {
        match self {
            Format::Csaf => "csaf",
            Format::Osv => "osv",
        }
    }
}

/// One report a document gives, before validation: its fields and its origin.
struct Mapped {
    /// Where its fields come from, for the names of their mistakes (`/vulnerabilities/1`).
    path: String,
    report: NewReport,
    cve: Option<String>,
}

fn format_of(document: &Value) -> AppResult<Format> {
    let object = document
        .as_object()
        .ok_or_else(|| invalid("body", "must be a JSON object: a CSAF document or an OSV record"))?;
    if document.pointer("/document/csaf_version").is_some() {
        return Ok(Format::Csaf);
    }
    if ["schema_version", "id", "affected"]
        .iter()
        .all(|k| object.contains_key(*k))
    {
        return Ok(Format::Osv);
    }
    Err(invalid(
        "body",
        "is neither a CSAF document (it has no document.csaf_version) nor an OSV record (it lacks one of \
         schema_version, id and affected)",
    ))
}

fn rejected(what: &str, problems: Vec<DocumentProblem>) -> AppError {
    let mut rules: Vec<&str> = problems.iter().map(|p| p.rule.as_str()).collect();
    rules.dedup();
    let detail = format!(
        "the {what} breaks {} rule{} ({})",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" },
        rules.join(", ")
    );
    AppError::Rejected {
        detail,
        problems: problems.into_iter().take(MAX_PROBLEMS).collect(),
    }
}

fn text<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// A version range as given, or every version when it is not one we read (CSAF's `vers:` ranges and our
/// own comparators are; a free-text range is not).
fn range_or_all(text: &str) -> String {
    if VersionRange::parse(text).is_ok() {
        text.trim().to_owned()
    } else {
        String::from("*")
    }
}

/// A product of a CSAF product tree: its purl or CPE and the versions it stands for.
#[derive(Debug, Clone)]
struct TreeProduct {
    product: Option<String>,
    versions: String,
    range: bool,
}

fn helper(product: &Value) -> Option<String> {
    text(product, "/product_identification_helper/purl")
        .or_else(|| text(product, "/product_identification_helper/cpe"))
        .map(str::to_owned)
}

fn walk(branches: &Value, out: &mut BTreeMap<String, TreeProduct>, depth: usize) {
    if depth > 32 {
        return;
    }
    for branch in branches.as_array().into_iter().flatten() {
        if let Some(product) = branch.get("product")
            && let Some(id) = text(product, "/product_id")
        {
            let category = text(branch, "/category").unwrap_or_default();
            let name = text(branch, "/name").unwrap_or("*");
            let (versions, range) = match category {
                "product_version_range" => (range_or_all(name), true),
                "product_version" => (range_or_all(name), false),
                _ => (String::from("*"), false),
            };
            out.insert(
                id.to_owned(),
                TreeProduct {
                    product: helper(product),
                    versions,
                    range,
                },
            );
        }
        if let Some(inner) = branch.get("branches") {
            walk(inner, out, depth + 1);
        }
    }
}

/// The products a CSAF product tree defines, by id.
fn tree_products(document: &Value) -> BTreeMap<String, TreeProduct> {
    let mut out = BTreeMap::new();
    if let Some(branches) = document.pointer("/product_tree/branches") {
        walk(branches, &mut out, 0);
    }
    let names = document
        .pointer("/product_tree/full_product_names")
        .and_then(Value::as_array);
    for product in names.into_iter().flatten() {
        if let Some(id) = text(product, "/product_id") {
            out.insert(
                id.to_owned(),
                TreeProduct {
                    product: helper(product),
                    versions: String::from("*"),
                    range: false,
                },
            );
        }
    }
    out
}

/// The TLP marking a CSAF document's distribution names (CSAF 2.0 writes TLP 1.0's labels).
fn csaf_tlp(document: &Value) -> Option<Tlp> {
    match text(document, "/document/distribution/tlp/label")? {
        "WHITE" => Some(Tlp::Clear),
        "GREEN" => Some(Tlp::Green),
        "AMBER" => Some(Tlp::Amber),
        "RED" => Some(Tlp::Red),
        _ => None,
    }
}

/// The notes of these categories, joined.
fn notes(notes: Option<&Value>, categories: &[&str]) -> Option<String> {
    let texts: Vec<&str> = notes
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|n| {
            n.get("category")
                .and_then(Value::as_str)
                .is_some_and(|c| categories.contains(&c))
        })
        .filter_map(|n| text(n, "/text"))
        .collect();
    (!texts.is_empty()).then(|| texts.join("\n\n"))
}

fn new_report(tlp: Tlp, finder: &str) -> NewReport {
    NewReport {
        finder: Some(FinderInput {
            kind: String::from("organization"),
            name: finder.to_owned(),
            notice_id: None,
        }),
        ..NewReport::new("vulnerability", String::new(), String::new(), tlp)
    }
}

fn affected_input(product: &str, versions: &str) -> AffectedInput {
    let purl = product.starts_with("pkg:");
    AffectedInput {
        purl: purl.then(|| product.to_owned()),
        cpe: (!purl).then(|| product.to_owned()),
        versions: versions.to_owned(),
    }
}

/// The reports of a CSAF document that passed the mandatory tests.
fn csaf_reports(document: &Value, tlp: Tlp, finder: &str) -> Vec<Mapped> {
    let products = tree_products(document);
    let document_title = text(document, "/document/title").unwrap_or("Imported advisory");
    let document_notes = notes(
        document.pointer("/document/notes"),
        &["summary", "description", "details", "general"],
    );
    let vulnerabilities = document
        .get("vulnerabilities")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut out = Vec::new();
    for (i, v) in vulnerabilities.iter().enumerate() {
        let mut report = new_report(tlp, finder);
        let cve = text(v, "/cve").map(str::to_owned);
        let title = match (text(v, "/title"), &cve) {
            (Some(title), _) => title.to_owned(),
            (None, Some(cve)) if vulnerabilities.len() > 1 => format!("{document_title} ({cve})"),
            _ => document_title.to_owned(),
        };
        report.title = truncate(&title, MAX_TITLE_CHARS);
        let description = notes(v.get("notes"), &["description", "summary", "details", "general"])
            .or_else(|| document_notes.clone())
            .unwrap_or_else(|| title.clone());
        report.description = truncate(&description, MAX_DESCRIPTION_CHARS);
        // The products it affects: those known (first, last) affected, and the version ranges it names as
        // fixed (a range whose versions are fixed by a later one was affected).
        let mut ids: Vec<&str> = Vec::new();
        for status in ["known_affected", "first_affected", "last_affected", "fixed"] {
            let listed = v
                .pointer(&format!("/product_status/{status}"))
                .and_then(Value::as_array);
            for id in listed.into_iter().flatten().filter_map(Value::as_str) {
                let keep = status != "fixed" || products.get(id).is_some_and(|p| p.range);
                if keep && !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        for id in ids {
            if let Some(TreeProduct {
                product: Some(product),
                versions,
                ..
            }) = products.get(id)
            {
                let input = affected_input(product, versions);
                if !report
                    .affected
                    .iter()
                    .any(|a| a.purl == input.purl && a.cpe == input.cpe && a.versions == input.versions)
                {
                    report.affected.push(input);
                }
            }
        }
        report.cwe = text(v, "/cwe/id").map(str::to_owned);
        report.cvss_v3 = v
            .get("scores")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find_map(|s| text(s, "/cvss_v3/vectorString"))
            .map(str::to_owned);
        out.push(Mapped {
            path: format!("/vulnerabilities/{i}"),
            report,
            cve,
        });
    }
    out
}

/// The OSV schema's rules for one record, as far as they are decided here.
fn osv_problems(record: &Value) -> Vec<DocumentProblem> {
    let mut problems = Vec::new();
    let mut fail = |path: &str, message: &str| {
        problems.push(DocumentProblem {
            rule: String::from("osv"),
            path: path.to_owned(),
            message: message.to_owned(),
        });
    };
    match record.get("schema_version").and_then(Value::as_str) {
        Some(v) if Version::parse(v).is_ok() && v.split('.').count() == 3 => {}
        _ => fail("/schema_version", "must be the schema's version, such as 1.6.0"),
    }
    match record.get("id").and_then(Value::as_str) {
        Some(id) if osv_id(id) => {}
        _ => fail(
            "/id",
            "must be <DATABASE>-<ENTRY> (letters and digits, then letters, digits, -, _, . or :), at most \
             100 characters",
        ),
    }
    for (field, required) in [("modified", true), ("published", false), ("withdrawn", false)] {
        match record.get(field) {
            None if !required => {}
            Some(Value::String(t)) if rfc3339_utc(t) => {}
            _ => fail(
                &format!("/{field}"),
                "must be an RFC 3339 time in UTC (2026-03-01T12:00:00Z)",
            ),
        }
    }
    for field in ["aliases", "related"] {
        match record.get(field) {
            None => {}
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => {}
            _ => fail(&format!("/{field}"), "must be a list of ids"),
        }
    }
    for field in ["summary", "details"] {
        if record.get(field).is_some_and(|v| !v.is_string()) {
            fail(&format!("/{field}"), "must be a string");
        }
    }
    let Some(affected) = record.get("affected").and_then(Value::as_array) else {
        fail("/affected", "must be a list");
        return problems;
    };
    for (i, a) in affected.iter().enumerate() {
        let here = format!("/affected/{i}");
        let ranges = a.get("ranges").and_then(Value::as_array);
        let package = a.get("package");
        let needs_package = ranges
            .into_iter()
            .flatten()
            .any(|r| r.get("type").and_then(Value::as_str) != Some("GIT"));
        match package {
            Some(p) => {
                for field in ["ecosystem", "name"] {
                    if p.get(field)
                        .and_then(Value::as_str)
                        .is_none_or(|t| t.trim().is_empty())
                    {
                        fail(&format!("{here}/package/{field}"), "is required");
                    }
                }
                if let Some(purl) = p.get("purl")
                    && !purl
                        .as_str()
                        .is_some_and(|t| ProductId::parse(t).is_ok() && t.starts_with("pkg:"))
                {
                    fail(&format!("{here}/package/purl"), "must be a package URL");
                }
            }
            None if needs_package => fail(
                &format!("{here}/package"),
                "is required for SEMVER and ECOSYSTEM ranges",
            ),
            None => {}
        }
        if a.get("ranges").is_some() && ranges.is_none() {
            fail(&format!("{here}/ranges"), "must be a list");
        }
        if let Some(versions) = a.get("versions")
            && !versions
                .as_array()
                .is_some_and(|v| v.iter().all(Value::is_string))
        {
            fail(&format!("{here}/versions"), "must be a list of versions");
        }
        for (j, r) in ranges.into_iter().flatten().enumerate() {
            let here = format!("{here}/ranges/{j}");
            let kind = r.get("type").and_then(Value::as_str);
            if !matches!(kind, Some("GIT" | "SEMVER" | "ECOSYSTEM")) {
                fail(&format!("{here}/type"), "must be GIT, SEMVER or ECOSYSTEM");
            }
            if kind == Some("GIT") && r.get("repo").and_then(Value::as_str).is_none() {
                fail(&format!("{here}/repo"), "is required for a GIT range");
            }
            let events = r.get("events").and_then(Value::as_array);
            let Some(events) = events.filter(|e| !e.is_empty()) else {
                fail(&format!("{here}/events"), "must list at least one event");
                continue;
            };
            let mut introduced = false;
            let (mut fixed, mut last) = (false, false);
            let mut previous: Option<Version> = None;
            for (k, e) in events.iter().enumerate() {
                let at = format!("{here}/events/{k}");
                let pair = e
                    .as_object()
                    .filter(|o| o.len() == 1)
                    .and_then(|o| o.iter().next());
                let Some((name, value)) = pair else {
                    fail(
                        &at,
                        "must hold exactly one of introduced, fixed, last_affected and limit",
                    );
                    continue;
                };
                let Some(value) = value.as_str() else {
                    fail(&format!("{at}/{name}"), "must be a string");
                    continue;
                };
                match name.as_str() {
                    "introduced" => introduced = true,
                    "fixed" => fixed = true,
                    "last_affected" => last = true,
                    "limit" => {}
                    _ => {
                        fail(&format!("{at}/{name}"), "is not an event");
                        continue;
                    }
                }
                if kind == Some("SEMVER") {
                    let version = if value == "0" {
                        Version::parse("0.0.0").ok()
                    } else {
                        Version::parse(value.strip_prefix('v').unwrap_or(value)).ok()
                    };
                    match version {
                        None => fail(&format!("{at}/{name}"), "must be a semantic version"),
                        Some(v) => {
                            if previous.as_ref().is_some_and(|p| v < *p) {
                                fail(
                                    &format!("{at}/{name}"),
                                    "events must be in the order of their versions",
                                );
                            }
                            previous = Some(v);
                        }
                    }
                }
            }
            if !introduced {
                fail(&format!("{here}/events"), "must hold an introduced event");
            }
            if fixed && last {
                fail(
                    &format!("{here}/events"),
                    "must not hold both fixed and last_affected events",
                );
            }
        }
    }
    if let Some(severity) = record.get("severity") {
        for (i, s) in severity.as_array().into_iter().flatten().enumerate() {
            let kind = s.get("type").and_then(Value::as_str);
            let score = s.get("score").and_then(Value::as_str);
            if !matches!(kind, Some("CVSS_V2" | "CVSS_V3" | "CVSS_V4" | "Ubuntu")) || score.is_none() {
                fail(
                    &format!("/severity/{i}"),
                    "must have a type (CVSS_V2, CVSS_V3, CVSS_V4, Ubuntu) and a score",
                );
            }
        }
        if !severity.is_array() {
            fail("/severity", "must be a list");
        }
    }
    problems
}

/// `GHSA-xxxx-xxxx-xxxx`, `PYSEC-2026-1`, `CVE-2026-1234`: a database prefix, a dash, and the entry.
fn osv_id(id: &str) -> bool {
    let Some((prefix, entry)) = id.split_once('-') else {
        return false;
    };
    id.len() <= 100
        && !prefix.is_empty()
        && prefix.chars().all(|c| c.is_ascii_alphanumeric())
        && !entry.is_empty()
        && entry
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
}

fn rfc3339_utc(text: &str) -> bool {
    text.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(text).is_ok()
}

/// The purl of an OSV package: its own, or one built from the ecosystem and name.
fn osv_purl(package: &Value) -> Option<String> {
    if let Some(purl) = text(package, "/purl") {
        // A purl with a version names one version; the ranges say which are affected.
        return match ProductId::parse(purl).ok()? {
            ProductId::Purl(p) => Some(p.key()),
            ProductId::Cpe(_) => None,
        };
    }
    let ecosystem = text(package, "/ecosystem")?;
    let name = text(package, "/name")?;
    let base = ecosystem.split(':').next().unwrap_or(ecosystem);
    let encode = |s: &str| s.replace('%', "%25").replace('@', "%40").replace(' ', "%20");
    let purl = match base {
        "npm" => format!("pkg:npm/{}", encode(name)),
        "PyPI" => format!("pkg:pypi/{}", encode(&name.to_ascii_lowercase())),
        "crates.io" => format!("pkg:cargo/{}", encode(name)),
        "Go" => format!("pkg:golang/{name}"),
        "Maven" => {
            let (group, artifact) = name.split_once(':')?;
            format!("pkg:maven/{group}/{artifact}")
        }
        "RubyGems" => format!("pkg:gem/{}", encode(name)),
        "NuGet" => format!("pkg:nuget/{}", encode(name)),
        "Packagist" => format!("pkg:composer/{name}"),
        "Hex" => format!("pkg:hex/{}", encode(name)),
        "Pub" => format!("pkg:pub/{}", encode(name)),
        "Hackage" => format!("pkg:hackage/{}", encode(name)),
        "CRAN" => format!("pkg:cran/{}", encode(name)),
        "Debian" => format!("pkg:deb/debian/{}", encode(name)),
        "Ubuntu" => format!("pkg:deb/ubuntu/{}", encode(name)),
        "Alpine" => format!("pkg:apk/alpine/{}", encode(name)),
        _ => format!("pkg:generic/{}", encode(name)),
    };
    Some(purl)
}

/// The version range of an OSV `affected` entry: each range's intervals and the versions listed, as
/// alternatives; every version when it names none we read.
fn osv_versions(affected: &Value) -> String {
    let mut alternatives: Vec<String> = Vec::new();
    for r in affected
        .get("ranges")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if r.get("type").and_then(Value::as_str) == Some("GIT") {
            continue;
        }
        let mut lower: Option<String> = None;
        let mut open = false;
        for e in r.get("events").and_then(Value::as_array).into_iter().flatten() {
            let Some((name, value)) = e.as_object().and_then(|o| o.iter().next()) else {
                continue;
            };
            let Some(value) = value.as_str() else { continue };
            match name.as_str() {
                "introduced" => {
                    lower = (value != "0").then(|| format!(">={value}"));
                    open = true;
                }
                "fixed" | "last_affected" | "limit" if open => {
                    let op = if name == "last_affected" { "<=" } else { "<" };
                    alternatives.push(match &lower {
                        Some(l) => format!("{l}, {op}{value}"),
                        None => format!("{op}{value}"),
                    });
                    open = false;
                }
                _ => {}
            }
        }
        if open {
            alternatives.push(lower.unwrap_or_else(|| String::from("*")));
        }
    }
    for v in affected
        .get("versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        alternatives.push(format!("={v}"));
    }
    let mut kept: Vec<String> = Vec::new();
    for a in alternatives {
        if a == "*" {
            return a;
        }
        if VersionRange::parse(&a).is_ok() && !kept.contains(&a) {
            kept.push(a);
        }
    }
    if kept.is_empty() {
        String::from("*")
    } else {
        kept.join(" || ")
    }
}

/// The report of an OSV record that keeps to the schema.
fn osv_report(record: &Value, tlp: Tlp, finder: &str) -> Mapped {
    let mut report = new_report(tlp, finder);
    let id = text(record, "/id").unwrap_or_default();
    let details = text(record, "/details");
    let title = text(record, "/summary")
        .or_else(|| details.and_then(|d| d.lines().next()))
        .unwrap_or(id);
    report.title = truncate(title, MAX_TITLE_CHARS);
    report.description = truncate(details.unwrap_or(title), MAX_DESCRIPTION_CHARS);
    for a in record
        .get("affected")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(purl) = a.get("package").and_then(osv_purl) {
            report.affected.push(affected_input(&purl, &osv_versions(a)));
        }
    }
    for s in record
        .get("severity")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let score = text(s, "/score").map(str::to_owned);
        match text(s, "/type") {
            Some("CVSS_V3") if report.cvss_v3.is_none() => report.cvss_v3 = score,
            Some("CVSS_V4") if report.cvss_v4.is_none() => report.cvss_v4 = score,
            _ => {}
        }
    }
    report.cwe = record
        .pointer("/database_specific/cwe_ids")
        .and_then(Value::as_array)
        .and_then(|ids| ids.first())
        .and_then(Value::as_str)
        .map(str::to_owned);
    let aliases = record.get("aliases").and_then(Value::as_array);
    let cve = std::iter::once(id)
        .chain(aliases.into_iter().flatten().filter_map(Value::as_str))
        .find(|a| is_cve_id(a))
        .map(str::to_owned);
    Mapped {
        path: String::new(),
        report,
        cve,
    }
}

impl App {
    /// Imports a CSAF 2.0 document or an OSV record as reports (signed-in members who may file reports):
    /// `tlp` marks them (default: the CSAF document's TLP, else AMBER). All are filed, or none.
    pub async fn import_reports(
        &self,
        caller: &Caller,
        document: &Value,
        tlp: Option<&str>,
    ) -> AppResult<ImportedView> {
        if !policy::can_file_report(caller) {
            return Err(AppError::Forbidden("you may not file reports"));
        }
        let given_tlp = tlp.map(|t| super::validate::parse_tlp("tlp", t)).transpose()?;
        let format = format_of(document)?;
        let (document_id, version, mapped) = match format {
            Format::Csaf => {
                let failures = checks::check(document);
                if !failures.is_empty() {
                    let problems = failures
                        .into_iter()
                        .map(|f| DocumentProblem {
                            rule: f.test.to_owned(),
                            path: f.path,
                            message: f.message,
                        })
                        .collect();
                    return Err(rejected("CSAF document", problems));
                }
                let tlp = given_tlp.or_else(|| csaf_tlp(document)).unwrap_or(Tlp::Amber);
                (
                    text(document, "/document/tracking/id")
                        .unwrap_or_default()
                        .to_owned(),
                    text(document, "/document/tracking/version")
                        .unwrap_or_default()
                        .to_owned(),
                    csaf_reports(document, tlp, &caller.org.name),
                )
            }
            Format::Osv => {
                let problems = osv_problems(document);
                if !problems.is_empty() {
                    return Err(rejected("OSV record", problems));
                }
                let tlp = given_tlp.unwrap_or(Tlp::Amber);
                (
                    text(document, "/id").unwrap_or_default().to_owned(),
                    text(document, "/modified").unwrap_or_default().to_owned(),
                    vec![osv_report(document, tlp, &caller.org.name)],
                )
            }
        };
        if mapped.is_empty() {
            return Err(invalid("body", "the document names no vulnerability"));
        }
        if mapped.len() > MAX_IMPORTED_REPORTS {
            return Err(invalid(
                "body",
                format!("an import files at most {MAX_IMPORTED_REPORTS} vulnerabilities"),
            ));
        }
        // Every report is validated before any is filed.
        let mut validated = Vec::with_capacity(mapped.len());
        for m in mapped {
            let v = self
                .validate_report(caller, &m.report)
                .await
                .map_err(|e| match e {
                    AppError::Invalid(v) if !m.path.is_empty() => {
                        invalid(format!("{}: {}", m.path, v.field), v.message)
                    }
                    other => other,
                })?;
            let origin = ReportOrigin {
                format: format.as_str().to_owned(),
                document_id: truncate(&document_id, 200),
                version: truncate(&version, 100),
                cve: m.cve.filter(|c| is_cve_id(c)),
            };
            validated.push((v, Some(origin)));
        }
        let reports = self.intake_all(caller, validated).await?;
        Ok(ImportedView {
            format: format.as_str(),
            document_id,
            version,
            reports,
        })
    }
}
