//! CSAF 2.0 (OASIS Common Security Advisory Framework), profile `csaf_security_advisory`: an advisory written
//! as the document the standard defines, without HTTP or SQL.
//!
//! `write(&Advisory)` gives the JSON document:
//! - `document`: category, `csaf_version` 2.0, language, publisher (a coordinator), title, the TLP marking as
//!   CSAF 2.0 knows it (`distribution.tlp`: CSAF 2.0 names the TLP 1.0 labels, so CLEAR is written WHITE and
//!   AMBER+STRICT is written AMBER with a `distribution.text` restricting it to the recipient organisations),
//!   tracking (our reference as the id, status final, integer versioning, the revision history, the release
//!   dates, the generator), the summary as a note, and the references;
//! - `product_tree`: a branch per vendor, then per product, then per version range
//!   (`product_version_range`) and per fixed version (`product_version`), with the purl or CPE as the
//!   product's identification helper; product ids are `CSAFPID-0001`, … in order of appearance;
//! - `vulnerabilities`: one, the case's: its CVE when known, its CWE (the first; the catalogue's name is
//!   required, so a weakness whose name we do not hold, and every further one, is named in a note), the CVSS
//!   v3.x score of the affected products (recomputed from the vector, so that score and vector agree), the
//!   product status (`known_affected`, `fixed`, `known_not_affected`, `under_investigation`), the remediations
//!   (`vendor_fix` naming the fixed versions, or the vendor's statement), the threats (the impact of the
//!   score, and each vendor's statement that a product is not affected), and the notes;
//! - `document.acknowledgments`: every credited finder, once.
//!
//! What the mandatory tests of CSAF 2.0 §6.1 require is kept by construction: every product id used is
//! defined once, version numbers are consecutive from 1, a product has one status, a score per CVSS version
//! per product, no version range in a `product_version`.

pub mod checks;
mod cwe;
mod v21;

#[cfg(test)]
mod tests;

use crate::cvss::{self, Version};
use crate::product::ProductId;
use crate::tlp::Tlp;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

pub use cwe::name as cwe_name;
pub use v21::{CWE_VERSION, SCHEMA_2_1, tlp_label_2_1, write_v2_1};

/// Which CSAF the writer speaks: 2.0 (the standard, the default) or 2.1 (Committee Specification Draft 03).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CsafVersion {
    #[default]
    V2_0,
    V2_1,
}

impl CsafVersion {
    /// `2.0` or `2.1`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "2.0" => Some(CsafVersion::V2_0),
            "2.1" => Some(CsafVersion::V2_1),
            _ => None,
        }
    }
}

/// An EPSS estimate (FIRST), as CSAF 2.1 carries it: probability and percentile as decimal text.
#[derive(Debug, Clone, PartialEq)]
pub struct Epss {
    pub probability: String,
    pub percentile: String,
    pub timestamp: DateTime<Utc>,
}

/// Who publishes: CSAF's `document.publisher`, always a coordinator here.
#[derive(Debug, Clone, PartialEq)]
pub struct Publisher {
    pub name: String,
    /// The publisher's URL (`https://clearinghouse.example`).
    pub namespace: String,
    pub contact: Option<String>,
}

/// What the generator says about itself (`document.tracking.generator`).
#[derive(Debug, Clone, PartialEq)]
pub struct Generator {
    pub name: String,
    pub version: String,
}

/// A version of the advisory (`document.tracking.revision_history`); numbers start at 1.
#[derive(Debug, Clone, PartialEq)]
pub struct Revision {
    pub number: u32,
    pub date: DateTime<Utc>,
    pub summary: String,
}

/// What is known about a product, from its vendor's statement (or, without one, from the report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    KnownAffected,
    Fixed,
    KnownNotAffected,
    UnderInvestigation,
}

/// An affected product as the report gives it: a purl or CPE, the affected version range, the versions
/// that fix it, what its vendor says, and the vendor's statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    pub product: String,
    pub versions: String,
    pub fixed_in: Vec<String>,
    pub status: Status,
    /// The vendor's statement, with the vendor's name.
    pub statement: Option<(String, String)>,
}

/// A credited finder (`document.acknowledgments`): a person or model by name, or an organisation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Finder {
    Person { name: String, ai_found: bool },
    Organization { name: String, ai_found: bool },
}

/// A link (`document.references`): `self` for our own pages, `external` for others.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    pub url: String,
    pub summary: String,
    pub own: bool,
}

/// Everything the document says.
#[derive(Debug, Clone, PartialEq)]
pub struct Advisory {
    /// Our reference (`PLA-2026-1`), the tracking id.
    pub reference: String,
    pub title: String,
    pub summary: String,
    pub tlp: Tlp,
    pub publisher: Publisher,
    pub generator: Generator,
    /// Ascending, consecutive from 1; the last is the current version.
    pub revisions: Vec<Revision>,
    pub initial_release: DateTime<Utc>,
    pub current_release: DateTime<Utc>,
    pub references: Vec<Reference>,
    pub cve: Option<String>,
    /// CWE ids, the most significant first.
    pub cwe: Vec<u32>,
    /// A CVSS v3.0 or v3.1 vector (a v4.0 vector is not part of CSAF 2.0 and is named in a note).
    pub cvss_v3: Option<String>,
    pub cvss_v4: Option<String>,
    pub products: Vec<Product>,
    pub finders: Vec<Finder>,
    /// The EPSS estimate, when known (CSAF 2.1 only).
    pub epss: Option<Epss>,
    /// An SSVC decision point value selection (CERT/CC schema 1.0.1), when known (CSAF 2.1 only).
    pub ssvc: Option<Value>,
}

/// The file name CSAF gives a document: the tracking id in lower case, every character outside
/// `[a-z0-9+-]` replaced by `_`, and `.json` (`PLA-2026-1` → `pla-2026-1.json`).
pub fn file_name(tracking_id: &str) -> String {
    let mut out: String = tracking_id
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '+' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    out.push_str(".json");
    out
}

/// The TLP 1.0 label CSAF 2.0 admits for a TLP 2.0 marking.
pub fn tlp_label(tlp: Tlp) -> &'static str {
    match tlp {
        Tlp::Clear => "WHITE",
        Tlp::Green => "GREEN",
        Tlp::Amber | Tlp::AmberStrict => "AMBER",
        Tlp::Red => "RED",
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// One product of the tree, before its id is known.
struct Leaf {
    category: &'static str,
    name: String,
    full_name: String,
    helper: Option<Value>,
}

/// The vendor and product names of a purl or CPE; the text itself when it is neither.
fn names(product: &str) -> (String, String, Option<Value>) {
    match ProductId::parse(product) {
        Ok(ProductId::Purl(p)) => {
            let vendor = if p.namespace().is_empty() {
                p.ty().to_owned()
            } else {
                p.namespace().join("/")
            };
            (vendor, p.name().to_owned(), Some(json!({"purl": p.to_string()})))
        }
        Ok(ProductId::Cpe(c)) => {
            let text = |v: &crate::product::CpeValue| match v {
                crate::product::CpeValue::Value(s) => s.clone(),
                _ => String::from("*"),
            };
            let helper = json!({"cpe": c.to_string()});
            (text(c.vendor()), text(c.product()), Some(helper))
        }
        Err(_) => (String::from("Unknown vendor"), product.to_owned(), None),
    }
}

/// The helper of a fixed version: the product's purl or CPE with that version, when the version needs no
/// escaping in either.
fn versioned_helper(product: &str, version: &str) -> Option<Value> {
    let plain = !version.is_empty()
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_');
    if !plain {
        return None;
    }
    match ProductId::parse(product).ok()? {
        ProductId::Purl(p) => Some(json!({"purl": format!("{}@{version}", p.key())})),
        ProductId::Cpe(c) => Some(json!({"cpe": format!("{}:{version}:*:*:*:*:*:*:*", c.key())})),
    }
}

/// vendor → product name → leaves with their ids, in order of first appearance.
type Vendors = Vec<(String, Vec<(String, Vec<(Leaf, String)>)>)>;

/// The product tree and the ids: per input product, the id of its range and the ids of its fixed versions.
struct Tree {
    tree: Value,
    ranges: Vec<String>,
    fixed: Vec<Vec<String>>,
    /// The one product that stands for the subject when no product is named.
    unnamed: Option<String>,
}

fn product_tree(a: &Advisory) -> Tree {
    // vendor → product name → leaves (with their ids), in order of first appearance.
    let mut vendors: Vendors = Vec::new();
    let mut ids = 0usize;
    let mut next_id = || {
        ids += 1;
        format!("CSAFPID-{ids:04}")
    };
    let mut seen: BTreeMap<(String, String, &'static str, String), String> = BTreeMap::new();
    let mut ranges = Vec::new();
    let mut fixed = Vec::new();
    let mut place = |vendor: &str, name: &str, leaf: Leaf, vendors: &mut Vendors| {
        let key = (
            vendor.to_owned(),
            name.to_owned(),
            leaf.category,
            leaf.name.clone(),
        );
        if let Some(id) = seen.get(&key) {
            return id.clone();
        }
        let id = next_id();
        seen.insert(key, id.clone());
        let v = match vendors.iter().position(|(n, _)| n == vendor) {
            Some(i) => i,
            None => {
                vendors.push((vendor.to_owned(), Vec::new()));
                vendors.len() - 1
            }
        };
        if let Some((_, products)) = vendors.get_mut(v) {
            let p = match products.iter().position(|(n, _)| n == name) {
                Some(i) => i,
                None => {
                    products.push((name.to_owned(), Vec::new()));
                    products.len() - 1
                }
            };
            if let Some((_, leaves)) = products.get_mut(p) {
                leaves.push((leaf, id.clone()));
            }
        }
        id
    };
    for p in &a.products {
        let (vendor, name, helper) = names(&p.product);
        let range = if p.versions.trim().is_empty() {
            "*"
        } else {
            p.versions.trim()
        };
        let leaf = Leaf {
            category: "product_version_range",
            name: range.to_owned(),
            full_name: format!("{vendor} {name} {range}"),
            helper,
        };
        ranges.push(place(&vendor, &name, leaf, &mut vendors));
        let mut these = Vec::new();
        if p.status == Status::Fixed {
            for version in &p.fixed_in {
                let leaf = Leaf {
                    category: "product_version",
                    name: version.clone(),
                    full_name: format!("{vendor} {name} {version}"),
                    helper: versioned_helper(&p.product, version),
                };
                these.push(place(&vendor, &name, leaf, &mut vendors));
            }
        }
        fixed.push(these);
    }
    let branches: Vec<Value> = vendors
        .into_iter()
        .map(|(vendor, products)| {
            let products: Vec<Value> = products
                .into_iter()
                .map(|(name, leaves)| {
                    let leaves: Vec<Value> = leaves
                        .into_iter()
                        .map(|(leaf, id)| {
                            let mut product = Map::new();
                            product.insert("name".into(), json!(leaf.full_name));
                            product.insert("product_id".into(), json!(id));
                            if let Some(helper) = leaf.helper {
                                product.insert("product_identification_helper".into(), helper);
                            }
                            json!({"category": leaf.category, "name": leaf.name, "product": product})
                        })
                        .collect();
                    json!({"category": "product_name", "name": name, "branches": leaves})
                })
                .collect();
            json!({"category": "vendor", "name": vendor, "branches": products})
        })
        .collect();
    if branches.is_empty() {
        // No product is named (every report was left out of the advisory): one product stands for the
        // advisory's subject, under investigation, since the standard requires a product tree and a status.
        let id = next_id();
        let name = format!("The products {} is about", a.reference);
        return Tree {
            tree: json!({"full_product_names": [{"name": name, "product_id": id}]}),
            ranges,
            fixed,
            unnamed: Some(id),
        };
    }
    Tree {
        tree: json!({"branches": branches}),
        ranges,
        fixed,
        unnamed: None,
    }
}

fn push_unique(list: &mut Vec<String>, id: &str) {
    if !list.iter().any(|x| x == id) {
        list.push(id.to_owned());
    }
}

fn cvss_v3(vector: &str) -> Option<Value> {
    let score = cvss::score(vector).ok()?;
    let version = match score.version {
        Version::V3_0 | Version::V3_1 => score.version.as_str(),
        Version::V4_0 => return None,
    };
    Some(json!({
        "version": version,
        "vectorString": score.vector,
        "baseScore": score.base_score,
        "baseSeverity": score.base_severity.as_str().to_ascii_uppercase(),
    }))
}

fn vulnerability(a: &Advisory, tree: &Tree) -> Value {
    let mut status: BTreeMap<Status, Vec<String>> = BTreeMap::new();
    let mut remediations = Vec::new();
    let mut threats = Vec::new();
    let mut affected = Vec::new();
    for ((p, range), fixed) in a.products.iter().zip(&tree.ranges).zip(&tree.fixed) {
        let list = status.entry(p.status).or_default();
        push_unique(list, range);
        if p.status == Status::Fixed {
            let fixed_list = status.entry(Status::Fixed).or_default();
            for id in fixed {
                push_unique(fixed_list, id);
            }
        }
        let statement = p
            .statement
            .as_ref()
            .filter(|(_, text)| !text.trim().is_empty())
            .map(|(vendor, text)| format!("{vendor}: {}", text.trim()));
        match p.status {
            Status::Fixed | Status::KnownAffected => {
                push_unique(&mut affected, range);
                let details = match (p.status, p.fixed_in.as_slice(), &statement) {
                    (Status::Fixed, [], Some(s)) => Some(("vendor_fix", s.clone())),
                    (Status::Fixed, [], None) => {
                        Some(("vendor_fix", String::from("The vendor has released a fix.")))
                    }
                    (Status::Fixed, versions, _) => Some((
                        "vendor_fix",
                        format!("Update to {} or later.", versions.join(", ")),
                    )),
                    (_, _, Some(s)) => Some(("mitigation", s.clone())),
                    _ => None,
                };
                if let Some((category, details)) = details {
                    remediations
                        .push(json!({"category": category, "details": details, "product_ids": [range]}));
                }
            }
            Status::KnownNotAffected => {
                let details = statement
                    .unwrap_or_else(|| String::from("The vendor states the product is not affected."));
                threats.push(json!({"category": "impact", "details": details, "product_ids": [range]}));
            }
            Status::UnderInvestigation => {}
        }
    }
    if let Some(id) = &tree.unnamed {
        status
            .entry(Status::UnderInvestigation)
            .or_default()
            .push(id.clone());
    }
    let mut product_status = Map::new();
    for (s, ids) in status {
        let key = match s {
            Status::KnownAffected => "known_affected",
            Status::Fixed => "fixed",
            Status::KnownNotAffected => "known_not_affected",
            Status::UnderInvestigation => "under_investigation",
        };
        product_status.insert(key.into(), json!(ids));
    }
    let mut notes = vec![json!({"category": "description", "title": "Description", "text": a.summary})];
    let mut cwe = None;
    let mut others = Vec::new();
    for (i, id) in a.cwe.iter().enumerate() {
        match cwe_name(*id) {
            Some(name) if i == 0 => cwe = Some(json!({"id": format!("CWE-{id}"), "name": name})),
            _ => others.push(format!("CWE-{id}")),
        }
    }
    if !others.is_empty() {
        notes.push(json!({"category": "other", "title": "Weaknesses", "text": others.join(", ")}));
    }
    let mut v = Map::new();
    if let Some(cve) = &a.cve {
        v.insert("cve".into(), json!(cve));
    }
    if let Some(cwe) = cwe {
        v.insert("cwe".into(), cwe);
    }
    let score = a.cvss_v3.as_deref().and_then(cvss_v3);
    if let (Some(score), false) = (&score, affected.is_empty()) {
        v.insert("scores".into(), json!([{"products": affected, "cvss_v3": score}]));
        let severity = score
            .get("baseSeverity")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let base = score.get("baseScore").cloned().unwrap_or(Value::Null);
        threats.insert(
            0,
            json!({
                "category": "impact",
                "details": format!("CVSS base score {base} ({}).", severity.to_ascii_lowercase()),
                "product_ids": affected,
            }),
        );
    }
    if let Some(v4) = a.cvss_v4.as_deref().and_then(|v| cvss::score(v).ok()) {
        notes.push(json!({
            "category": "other", "title": "CVSS v4.0",
            "text": format!("{} (base score {}, {})", v4.vector, v4.base_score, v4.base_severity.as_str()),
        }));
    }
    v.insert("notes".into(), json!(notes));
    v.insert("product_status".into(), Value::Object(product_status));
    if !remediations.is_empty() {
        v.insert("remediations".into(), json!(remediations));
    }
    if !threats.is_empty() {
        v.insert("threats".into(), json!(threats));
    }
    v.insert("title".into(), json!(a.title));
    Value::Object(v)
}

fn acknowledgments(finders: &[Finder]) -> Vec<Value> {
    let mut finders: Vec<&Finder> = finders.iter().collect();
    finders.sort();
    finders.dedup();
    finders
        .into_iter()
        .map(|f| {
            let (key, name, ai) = match f {
                Finder::Person { name, ai_found } => ("names", json!([name]), *ai_found),
                Finder::Organization { name, ai_found } => ("organization", json!(name), *ai_found),
            };
            let summary = if ai {
                "found the vulnerability with the help of an AI model"
            } else {
                "found the vulnerability"
            };
            let mut object = Map::new();
            object.insert(key.into(), name);
            object.insert("summary".into(), json!(summary));
            Value::Object(object)
        })
        .collect()
}

/// The document of an advisory in the CSAF version asked for.
pub fn write_version(a: &Advisory, version: CsafVersion) -> Value {
    match version {
        CsafVersion::V2_0 => write_v2_0(a),
        CsafVersion::V2_1 => write_v2_1(a),
    }
}

/// The CSAF 2.0 document of an advisory (the default).
pub fn write(a: &Advisory) -> Value {
    write_v2_0(a)
}

/// The CSAF 2.0 document of an advisory.
pub fn write_v2_0(a: &Advisory) -> Value {
    let tree = product_tree(a);
    let mut distribution = Map::new();
    distribution.insert(
        "tlp".into(),
        json!({"label": tlp_label(a.tlp), "url": "https://www.first.org/tlp/"}),
    );
    if a.tlp != Tlp::Clear {
        let text = match a.tlp {
            Tlp::AmberStrict => format!(
                "{}: the recipient organisations only, not their clients (CSAF 2.0 has no AMBER+STRICT label).",
                a.tlp.label()
            ),
            other => format!("{} (FIRST TLP 2.0).", other.label()),
        };
        distribution.insert("text".into(), json!(text));
    }
    let mut publisher = Map::new();
    publisher.insert("category".into(), json!("coordinator"));
    publisher.insert("name".into(), json!(a.publisher.name));
    publisher.insert("namespace".into(), json!(a.publisher.namespace));
    if let Some(contact) = &a.publisher.contact {
        publisher.insert("contact_details".into(), json!(contact));
    }
    let version = a.revisions.last().map_or(1, |r| r.number);
    let revisions: Vec<Value> = a
        .revisions
        .iter()
        .map(|r| json!({"number": r.number.to_string(), "date": time(r.date), "summary": r.summary}))
        .collect();
    let references: Vec<Value> = a
        .references
        .iter()
        .map(|r| json!({"category": if r.own { "self" } else { "external" }, "summary": r.summary, "url": r.url}))
        .collect();
    let mut document = Map::new();
    let acks = acknowledgments(&a.finders);
    if !acks.is_empty() {
        document.insert("acknowledgments".into(), json!(acks));
    }
    document.insert("category".into(), json!("csaf_security_advisory"));
    document.insert("csaf_version".into(), json!("2.0"));
    document.insert("distribution".into(), Value::Object(distribution));
    document.insert("lang".into(), json!("en"));
    document.insert(
        "notes".into(),
        json!([{"category": "summary", "title": "Summary", "text": a.summary}]),
    );
    document.insert("publisher".into(), Value::Object(publisher));
    if !references.is_empty() {
        document.insert("references".into(), json!(references));
    }
    document.insert("title".into(), json!(a.title));
    document.insert(
        "tracking".into(),
        json!({
            "current_release_date": time(a.current_release),
            "generator": {
                "date": time(a.current_release),
                "engine": {"name": a.generator.name, "version": a.generator.version},
            },
            "id": a.reference,
            "initial_release_date": time(a.initial_release),
            "revision_history": revisions,
            "status": "final",
            "version": version.to_string(),
        }),
    );
    json!({
        "document": document,
        "product_tree": tree.tree,
        "vulnerabilities": [vulnerability(a, &tree)],
    })
}
