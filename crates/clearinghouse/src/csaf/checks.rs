//! The mandatory tests of CSAF 2.0 (§6.1) that can be decided from the document alone, and the parts of the
//! JSON schema that reading a document relies on.
//!
//! `check(&document)` gives every failure with its test number (`6.1.1`, `6.1.27.5`; `schema` for the JSON
//! schema) and the JSON pointer of the offending value (`/vulnerabilities/0/product_status/fixed/2`). An empty
//! list means the document passes. The tests apply to every profile (`csaf_base` and the four profiles the
//! standard defines); those of §6.1.27 to the profile they name.
//!
//! What is left out: §6.1.11 knows the names of the weaknesses in `cwe::name`'s table only (an id outside it
//! is not judged), and §6.1.12 checks the form of a language tag (RFC 5646) and not IANA's registry.

use super::cwe;
use crate::cvss;
use crate::product::Purl;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// One failed test.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Failure {
    /// `6.1.1` … `6.1.33`, `6.1.27.1` …, or `schema`.
    pub test: &'static str,
    /// A JSON pointer into the document.
    pub path: String,
    pub message: String,
}

const STATUS_GROUPS: [(&str, &[&str]); 4] = [
    ("affected", &["first_affected", "known_affected", "last_affected"]),
    ("not affected", &["known_not_affected"]),
    ("fixed", &["first_fixed", "fixed"]),
    ("under investigation", &["under_investigation"]),
];

const PROFILES: [&str; 4] = [
    "csaf_security_incident_response",
    "csaf_informational_advisory",
    "csaf_security_advisory",
    "csaf_vex",
];

struct Checker<'a> {
    doc: &'a Value,
    out: Vec<Failure>,
}

fn arr(v: Option<&Value>) -> &[Value] {
    v.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Every product definition of a branch tree: (product id, pointer, the branch's category and name).
fn branch_products<'a>(
    branches: &'a [Value],
    path: &str,
    out: &mut Vec<(&'a str, String, Option<&'a str>, Option<&'a str>)>,
    depth: usize,
) {
    if depth > 30 {
        return;
    }
    for (i, b) in branches.iter().enumerate() {
        let here = format!("{path}/{i}");
        if let Some(id) = b.get("product").and_then(|p| text(p, "product_id")) {
            out.push((
                id,
                format!("{here}/product/product_id"),
                text(b, "category"),
                text(b, "name"),
            ));
        }
        branch_products(
            arr(b.get("branches")),
            &format!("{here}/branches"),
            out,
            depth + 1,
        );
    }
}

/// Every `product_identification_helper` in the product tree, with its pointer.
fn helpers(tree: &Value) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    fn walk<'a>(branches: &'a [Value], path: &str, out: &mut Vec<(String, &'a Value)>, depth: usize) {
        if depth > 30 {
            return;
        }
        for (i, b) in branches.iter().enumerate() {
            let here = format!("{path}/{i}");
            if let Some(h) = b
                .get("product")
                .and_then(|p| p.get("product_identification_helper"))
            {
                out.push((format!("{here}/product/product_identification_helper"), h));
            }
            walk(
                arr(b.get("branches")),
                &format!("{here}/branches"),
                out,
                depth + 1,
            );
        }
    }
    walk(arr(tree.get("branches")), "/product_tree/branches", &mut out, 0);
    for (i, p) in arr(tree.get("full_product_names")).iter().enumerate() {
        if let Some(h) = p.get("product_identification_helper") {
            out.push((
                format!("/product_tree/full_product_names/{i}/product_identification_helper"),
                h,
            ));
        }
    }
    for (i, r) in arr(tree.get("relationships")).iter().enumerate() {
        if let Some(h) = r
            .get("full_product_name")
            .and_then(|p| p.get("product_identification_helper"))
        {
            out.push((
                format!("/product_tree/relationships/{i}/full_product_name/product_identification_helper"),
                h,
            ));
        }
    }
    out
}

/// A version number of the document: an integer, or semantic versioning (major, minor, patch, pre-release).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Number {
    Integer(u64),
    Semver {
        major: u64,
        minor: u64,
        patch: u64,
        pre: bool,
    },
}

fn parse_number(s: &str) -> Option<Number> {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
        if s.len() > 1 && s.starts_with('0') {
            return None;
        }
        return s.parse().ok().map(Number::Integer);
    }
    let core = s.split('+').next().unwrap_or(s);
    let (core, pre) = match core.split_once('-') {
        Some((c, p)) => (c, !p.is_empty()),
        None => (core, false),
    };
    let parts: Vec<u64> = core.split('.').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    match parts.as_slice() {
        [major, minor, patch] => Some(Number::Semver {
            major: *major,
            minor: *minor,
            patch: *patch,
            pre,
        }),
        _ => None,
    }
}

impl Number {
    fn major(&self) -> u64 {
        match self {
            Number::Integer(n) => *n,
            Number::Semver { major, .. } => *major,
        }
    }
    fn pre(&self) -> bool {
        matches!(self, Number::Semver { pre: true, .. })
    }
    /// Ordering without the pre-release and build parts.
    fn key(&self) -> (u64, u64, u64) {
        match self {
            Number::Integer(n) => (*n, 0, 0),
            Number::Semver {
                major, minor, patch, ..
            } => (*major, *minor, *patch),
        }
    }
}

/// The form of a language tag (RFC 5646): language (2–3 letters, optionally extended, or 4–8), script,
/// region, variants, extensions, private use; or a private-use tag (`x-…`).
fn language_tag(tag: &str) -> bool {
    let alpha = |s: &str, lo: usize, hi: usize| {
        (lo..=hi).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphabetic())
    };
    let alnum = |s: &str, lo: usize, hi: usize| {
        (lo..=hi).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric())
    };
    let parts: Vec<&str> = tag.split('-').collect();
    let mut it = parts.iter().peekable();
    let Some(first) = it.next() else { return false };
    if first.eq_ignore_ascii_case("x") {
        return it.len() > 0 && it.all(|p| alnum(p, 1, 8));
    }
    if !alpha(first, 2, 8) {
        return false;
    }
    let mut stage = 0; // 0 extlang, 1 script, 2 region, 3 variants, 4 extensions
    while let Some(p) = it.next() {
        if p.len() == 1 {
            if p.eq_ignore_ascii_case("x") {
                return it.len() > 0 && it.all(|p| alnum(p, 1, 8));
            }
            // An extension: a singleton and one or more subtags of 2–8.
            let mut any = false;
            while let Some(next) = it.peek() {
                if next.len() >= 2 && alnum(next, 2, 8) {
                    any = true;
                    it.next();
                } else {
                    break;
                }
            }
            if !any {
                return false;
            }
            stage = 4;
            continue;
        }
        if stage >= 4 {
            return false;
        }
        if stage == 0 && first.len() <= 3 && alpha(p, 3, 3) {
            stage = 1;
            continue;
        }
        if stage <= 1 && alpha(p, 4, 4) {
            stage = 2;
            continue;
        }
        if stage <= 2 && (alpha(p, 2, 2) || (p.len() == 3 && p.chars().all(|c| c.is_ascii_digit()))) {
            stage = 3;
            continue;
        }
        let variant =
            alnum(p, 5, 8) || (p.len() == 4 && p.starts_with(|c: char| c.is_ascii_digit()) && alnum(p, 4, 4));
        if variant {
            stage = 3;
            continue;
        }
        return false;
    }
    true
}

/// Whether a `product_version`'s name reads as a range of versions.
fn reads_as_range(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    if name.contains(['<', '>']) || lower.starts_with("vers:") {
        return true;
    }
    let words = ["after", "all", "before", "earlier", "later", "prior", "versions"];
    lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| words.contains(&w))
}

/// The CVSS v3 properties a vector's metrics determine: (property, metric key, value letter → name).
/// (property, metric key, value letter → name).
type Property = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const V3_PROPERTIES: [Property; 8] = [
    (
        "attackVector",
        "AV",
        &[
            ("N", "NETWORK"),
            ("A", "ADJACENT_NETWORK"),
            ("L", "LOCAL"),
            ("P", "PHYSICAL"),
        ],
    ),
    ("attackComplexity", "AC", &[("L", "LOW"), ("H", "HIGH")]),
    (
        "privilegesRequired",
        "PR",
        &[("N", "NONE"), ("L", "LOW"), ("H", "HIGH")],
    ),
    ("userInteraction", "UI", &[("N", "NONE"), ("R", "REQUIRED")]),
    ("scope", "S", &[("U", "UNCHANGED"), ("C", "CHANGED")]),
    (
        "confidentialityImpact",
        "C",
        &[("H", "HIGH"), ("L", "LOW"), ("N", "NONE")],
    ),
    (
        "integrityImpact",
        "I",
        &[("H", "HIGH"), ("L", "LOW"), ("N", "NONE")],
    ),
    (
        "availabilityImpact",
        "A",
        &[("H", "HIGH"), ("L", "LOW"), ("N", "NONE")],
    ),
];

fn severity_name(s: cvss::Severity) -> String {
    s.as_str().to_ascii_uppercase()
}

impl<'a> Checker<'a> {
    fn fail(&mut self, test: &'static str, path: impl Into<String>, message: impl Into<String>) {
        self.out.push(Failure {
            test,
            path: path.into(),
            message: message.into(),
        });
    }

    fn document(&self) -> &'a Value {
        self.doc.get("document").unwrap_or(&Value::Null)
    }

    fn category(&self) -> &'a str {
        text(self.document(), "category").unwrap_or("")
    }

    fn vulnerabilities(&self) -> &'a [Value] {
        arr(self.doc.get("vulnerabilities"))
    }

    /// The JSON schema's requirements that reading the document relies on.
    fn schema(&mut self) {
        let Some(_) = self.doc.as_object() else {
            self.fail("schema", "", "a CSAF document is a JSON object");
            return;
        };
        let doc = self.document();
        if !doc.is_object() {
            self.fail("schema", "/document", "is required and is an object");
            return;
        }
        if text(doc, "csaf_version") != Some("2.0") {
            self.fail("schema", "/document/csaf_version", "must be \"2.0\"");
        }
        for key in ["category", "title"] {
            if text(doc, key).is_none_or(str::is_empty) {
                self.fail(
                    "schema",
                    format!("/document/{key}"),
                    "is required and is a non-empty string",
                );
            }
        }
        match doc.get("publisher") {
            Some(p) if p.is_object() => {
                for key in ["category", "name", "namespace"] {
                    if text(p, key).is_none() {
                        self.fail("schema", format!("/document/publisher/{key}"), "is required");
                    }
                }
            }
            _ => self.fail("schema", "/document/publisher", "is required and is an object"),
        }
        match doc.get("tracking") {
            Some(t) if t.is_object() => {
                for key in [
                    "current_release_date",
                    "id",
                    "initial_release_date",
                    "status",
                    "version",
                ] {
                    if text(t, key).is_none() {
                        self.fail("schema", format!("/document/tracking/{key}"), "is required");
                    }
                }
                if !matches!(text(t, "status"), None | Some("draft" | "final" | "interim")) {
                    self.fail(
                        "schema",
                        "/document/tracking/status",
                        "must be draft, final or interim",
                    );
                }
                if arr(t.get("revision_history")).is_empty() {
                    self.fail(
                        "schema",
                        "/document/tracking/revision_history",
                        "needs at least one item",
                    );
                }
                for (i, r) in arr(t.get("revision_history")).iter().enumerate() {
                    for key in ["date", "number", "summary"] {
                        if text(r, key).is_none() {
                            self.fail(
                                "schema",
                                format!("/document/tracking/revision_history/{i}/{key}"),
                                "is required",
                            );
                        }
                    }
                }
            }
            _ => self.fail("schema", "/document/tracking", "is required and is an object"),
        }
        for (key, is_array) in [("product_tree", false), ("vulnerabilities", true)] {
            if let Some(v) = self.doc.get(key)
                && v.is_array() != is_array
            {
                let kind = if is_array { "an array" } else { "an object" };
                self.fail("schema", format!("/{key}"), format!("must be {kind}"));
            }
        }
    }

    /// Definitions: (id, pointer) of every product, and the referenced ids with their pointers.
    fn product_definitions(&self) -> Vec<(&'a str, String)> {
        let tree = self.doc.get("product_tree").unwrap_or(&Value::Null);
        let mut found = Vec::new();
        branch_products(arr(tree.get("branches")), "/product_tree/branches", &mut found, 0);
        let mut out: Vec<(&str, String)> = found.into_iter().map(|(id, p, _, _)| (id, p)).collect();
        for (i, p) in arr(tree.get("full_product_names")).iter().enumerate() {
            if let Some(id) = text(p, "product_id") {
                out.push((id, format!("/product_tree/full_product_names/{i}/product_id")));
            }
        }
        for (i, r) in arr(tree.get("relationships")).iter().enumerate() {
            if let Some(id) = r.get("full_product_name").and_then(|p| text(p, "product_id")) {
                out.push((
                    id,
                    format!("/product_tree/relationships/{i}/full_product_name/product_id"),
                ));
            }
        }
        out
    }

    fn product_references(&self) -> Vec<(&'a str, String)> {
        let mut out = Vec::new();
        let list = |values: &'a [Value], path: String, out: &mut Vec<(&'a str, String)>| {
            for (i, v) in values.iter().enumerate() {
                if let Some(id) = v.as_str() {
                    out.push((id, format!("{path}/{i}")));
                }
            }
        };
        let tree = self.doc.get("product_tree").unwrap_or(&Value::Null);
        for (i, g) in arr(tree.get("product_groups")).iter().enumerate() {
            list(
                arr(g.get("product_ids")),
                format!("/product_tree/product_groups/{i}/product_ids"),
                &mut out,
            );
        }
        for (i, r) in arr(tree.get("relationships")).iter().enumerate() {
            for key in ["product_reference", "relates_to_product_reference"] {
                if let Some(id) = text(r, key) {
                    out.push((id, format!("/product_tree/relationships/{i}/{key}")));
                }
            }
        }
        for (v, vuln) in self.vulnerabilities().iter().enumerate() {
            let base = format!("/vulnerabilities/{v}");
            if let Some(status) = vuln.get("product_status").and_then(Value::as_object) {
                for (key, ids) in status {
                    list(arr(Some(ids)), format!("{base}/product_status/{key}"), &mut out);
                }
            }
            for (key, field) in [
                ("remediations", "product_ids"),
                ("scores", "products"),
                ("threats", "product_ids"),
                ("flags", "product_ids"),
            ] {
                for (i, item) in arr(vuln.get(key)).iter().enumerate() {
                    list(
                        arr(item.get(field)),
                        format!("{base}/{key}/{i}/{field}"),
                        &mut out,
                    );
                }
            }
        }
        out
    }

    fn products(&mut self) {
        let defined = self.product_definitions();
        let ids: BTreeSet<&str> = defined.iter().map(|(id, _)| *id).collect();
        // 6.1.1 Missing Definition of Product ID
        for (id, path) in self.product_references() {
            if !ids.contains(id) {
                self.fail("6.1.1", path, format!("the product id {id} is not defined"));
            }
        }
        // 6.1.2 Multiple Definition of Product ID
        let mut seen = BTreeSet::new();
        for (id, path) in &defined {
            if !seen.insert(*id) {
                self.fail(
                    "6.1.2",
                    path.clone(),
                    format!("the product id {id} is defined more than once"),
                );
            }
        }
        // 6.1.3 Circular Definition of Product ID
        let tree = self.doc.get("product_tree").unwrap_or(&Value::Null);
        for (i, r) in arr(tree.get("relationships")).iter().enumerate() {
            if let Some(id) = r.get("full_product_name").and_then(|p| text(p, "product_id")) {
                for key in ["product_reference", "relates_to_product_reference"] {
                    if text(r, key) == Some(id) {
                        self.fail(
                            "6.1.3",
                            format!("/product_tree/relationships/{i}/{key}"),
                            format!("the relationship defining {id} refers to {id} itself"),
                        );
                    }
                }
            }
        }
        // 6.1.4 Missing Definition of Product Group ID, 6.1.5 Multiple Definition of Product Group ID
        let mut groups = BTreeSet::new();
        for (i, g) in arr(tree.get("product_groups")).iter().enumerate() {
            if let Some(id) = text(g, "group_id")
                && !groups.insert(id)
            {
                self.fail(
                    "6.1.5",
                    format!("/product_tree/product_groups/{i}/group_id"),
                    format!("the group id {id} is defined more than once"),
                );
            }
        }
        for (v, vuln) in self.vulnerabilities().iter().enumerate() {
            for key in ["remediations", "threats", "flags"] {
                for (i, item) in arr(vuln.get(key)).iter().enumerate() {
                    for (j, id) in arr(item.get("group_ids")).iter().enumerate() {
                        if let Some(id) = id.as_str()
                            && !groups.contains(id)
                        {
                            self.fail(
                                "6.1.4",
                                format!("/vulnerabilities/{v}/{key}/{i}/group_ids/{j}"),
                                format!("the group id {id} is not defined"),
                            );
                        }
                    }
                }
            }
        }
        // 6.1.13 PURL
        for (path, helper) in helpers(tree) {
            if let Some(purl) = helper.get("purl") {
                let ok = purl.as_str().is_some_and(|p| Purl::parse(p).is_ok());
                if !ok {
                    self.fail("6.1.13", format!("{path}/purl"), "is not a valid purl");
                }
            }
            // 6.1.25 Multiple Use of Same Hash Algorithm
            for (h, hash) in arr(helper.get("hashes")).iter().enumerate() {
                let mut seen = BTreeSet::new();
                for (f, file) in arr(hash.get("file_hashes")).iter().enumerate() {
                    if let Some(a) = text(file, "algorithm")
                        && !seen.insert(a)
                    {
                        self.fail(
                            "6.1.25",
                            format!("{path}/hashes/{h}/file_hashes/{f}/algorithm"),
                            format!("the hash algorithm {a} is used more than once for the file"),
                        );
                    }
                }
            }
        }
        // 6.1.31 Version Range in Product Version
        let mut found = Vec::new();
        branch_products(arr(tree.get("branches")), "/product_tree/branches", &mut found, 0);
        let mut branches = Vec::new();
        fn walk<'b>(bs: &'b [Value], path: &str, out: &mut Vec<(String, &'b Value)>, depth: usize) {
            if depth > 30 {
                return;
            }
            for (i, b) in bs.iter().enumerate() {
                let here = format!("{path}/{i}");
                out.push((here.clone(), b));
                walk(
                    arr(b.get("branches")),
                    &format!("{here}/branches"),
                    out,
                    depth + 1,
                );
            }
        }
        walk(
            arr(tree.get("branches")),
            "/product_tree/branches",
            &mut branches,
            0,
        );
        for (path, b) in branches {
            if text(b, "category") == Some("product_version")
                && let Some(name) = text(b, "name")
                && reads_as_range(name)
            {
                self.fail(
                    "6.1.31",
                    format!("{path}/name"),
                    "a product_version names one version, not a range (use product_version_range)",
                );
            }
        }
    }

    fn vulnerability_tests(&mut self) {
        let mut cves: BTreeMap<&str, usize> = BTreeMap::new();
        for (v, vuln) in self.vulnerabilities().iter().enumerate() {
            let base = format!("/vulnerabilities/{v}");
            // 6.1.6 Contradicting Product Status
            let mut groups_of: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
            for (group, keys) in STATUS_GROUPS {
                for key in keys {
                    for id in arr(vuln.get("product_status").and_then(|s| s.get(*key))) {
                        if let Some(id) = id.as_str() {
                            groups_of.entry(id).or_default().insert(group);
                        }
                    }
                }
            }
            for (id, groups) in &groups_of {
                if groups.len() > 1 {
                    let names: Vec<&str> = groups.iter().copied().collect();
                    self.fail(
                        "6.1.6",
                        format!("{base}/product_status"),
                        format!("{id} is in contradicting status groups: {}", names.join(", ")),
                    );
                }
            }
            // 6.1.7 Multiple Scores with same Version per Product; 6.1.8–6.1.10 CVSS
            let mut scored: BTreeSet<(&str, String)> = BTreeSet::new();
            for (s, score) in arr(vuln.get("scores")).iter().enumerate() {
                for key in ["cvss_v2", "cvss_v3"] {
                    let Some(c) = score.get(key) else { continue };
                    let version = text(c, "version").unwrap_or("").to_owned();
                    for product in arr(score.get("products")).iter().filter_map(Value::as_str) {
                        if !scored.insert((product, format!("{key}:{version}"))) {
                            self.fail(
                                "6.1.7",
                                format!("{base}/scores/{s}"),
                                format!("{product} has more than one {key} score of version {version}"),
                            );
                        }
                    }
                    if key == "cvss_v3" {
                        self.cvss_v3(c, &format!("{base}/scores/{s}/cvss_v3"));
                    }
                }
            }
            // 6.1.11 CWE
            if let Some(c) = vuln.get("cwe") {
                let id = text(c, "id").unwrap_or("");
                let number = id.strip_prefix("CWE-").and_then(|n| n.parse::<u32>().ok());
                match number.map(|n| (n, cwe::name(n))) {
                    None => self.fail("6.1.11", format!("{base}/cwe/id"), "is not a CWE id"),
                    Some((_, Some(name))) if text(c, "name") != Some(name) => self.fail(
                        "6.1.11",
                        format!("{base}/cwe/name"),
                        format!("the name of {id} is \"{name}\""),
                    ),
                    _ => {}
                }
            }
            // 6.1.23 Multiple Use of Same CVE
            if let Some(cve) = text(vuln, "cve")
                && cves.insert(cve, v).is_some()
            {
                self.fail(
                    "6.1.23",
                    format!("{base}/cve"),
                    format!("{cve} is used by more than one vulnerability"),
                );
            }
            // 6.1.24 Multiple Definition in Involvements
            let mut parties = BTreeSet::new();
            for (i, inv) in arr(vuln.get("involvements")).iter().enumerate() {
                let key = (text(inv, "party"), text(inv, "date"));
                if !parties.insert(key) {
                    self.fail(
                        "6.1.24",
                        format!("{base}/involvements/{i}"),
                        "the same party is involved more than once at the same date",
                    );
                }
            }
            // 6.1.29 Remediation without Product Reference; 6.1.32 Flag without Product Reference
            for (key, test) in [("remediations", "6.1.29"), ("flags", "6.1.32")] {
                for (i, item) in arr(vuln.get(key)).iter().enumerate() {
                    if item.get("product_ids").is_none() && item.get("group_ids").is_none() {
                        self.fail(
                            test,
                            format!("{base}/{key}/{i}"),
                            "names neither product_ids nor group_ids",
                        );
                    }
                }
            }
            // 6.1.33 Multiple Flags with VEX Justification Codes per Product
            let groups = self.group_members();
            let mut flagged = BTreeSet::new();
            for (i, flag) in arr(vuln.get("flags")).iter().enumerate() {
                let mut these = BTreeSet::new();
                for id in arr(flag.get("product_ids")).iter().filter_map(Value::as_str) {
                    these.insert(id);
                }
                for g in arr(flag.get("group_ids")).iter().filter_map(Value::as_str) {
                    these.extend(groups.get(g).into_iter().flatten().copied());
                }
                for id in these {
                    if !flagged.insert(id) {
                        self.fail(
                            "6.1.33",
                            format!("{base}/flags/{i}"),
                            format!("{id} has more than one flag"),
                        );
                    }
                }
            }
        }
    }

    fn group_members(&self) -> BTreeMap<&'a str, Vec<&'a str>> {
        let tree = self.doc.get("product_tree").unwrap_or(&Value::Null);
        arr(tree.get("product_groups"))
            .iter()
            .filter_map(|g| {
                let ids = arr(g.get("product_ids"))
                    .iter()
                    .filter_map(Value::as_str)
                    .collect();
                Some((text(g, "group_id")?, ids))
            })
            .collect()
    }

    fn cvss_v3(&mut self, c: &Value, path: &str) {
        // 6.1.8 Invalid CVSS: the CVSS v3 schema's required properties and the vector's form.
        let vector = text(c, "vectorString");
        let version = text(c, "version");
        let score_given = c.get("baseScore").and_then(Value::as_f64);
        let severity_given = text(c, "baseSeverity");
        if vector.is_none() || score_given.is_none() || severity_given.is_none() || version.is_none() {
            self.fail(
                "6.1.8",
                path,
                "a CVSS v3 object has version, vectorString, baseScore and baseSeverity",
            );
            return;
        }
        let Some(vector) = vector else { return };
        let parsed = match cvss::score(vector) {
            Ok(s) if matches!(s.version, cvss::Version::V3_0 | cvss::Version::V3_1) => s,
            _ => {
                self.fail(
                    "6.1.8",
                    format!("{path}/vectorString"),
                    "is not a valid CVSS v3 vector",
                );
                return;
            }
        };
        if version != Some(parsed.version.as_str()) {
            self.fail(
                "6.1.8",
                format!("{path}/version"),
                "does not match the vector's version",
            );
            return;
        }
        // 6.1.9 Invalid CVSS computation
        let mut computed: Vec<(&str, Option<f64>)> = vec![("baseScore", Some(parsed.base_score))];
        computed.push(("temporalScore", parsed.temporal_score));
        computed.push(("environmentalScore", parsed.environmental_score));
        for (key, value) in computed {
            if let (Some(given), Some(value)) = (c.get(key).and_then(Value::as_f64), value)
                && (given - value).abs() > 1e-9
            {
                self.fail(
                    "6.1.9",
                    format!("{path}/{key}"),
                    format!("the vector computes {value}"),
                );
            }
        }
        if severity_given != Some(severity_name(parsed.base_severity).as_str()) {
            self.fail(
                "6.1.9",
                format!("{path}/baseSeverity"),
                format!("the vector computes {}", severity_name(parsed.base_severity)),
            );
        }
        // 6.1.10 Inconsistent CVSS: properties that contradict the vector.
        let metrics: BTreeMap<&str, &str> = vector
            .split('/')
            .skip(1)
            .filter_map(|m| m.split_once(':'))
            .collect();
        for (property, key, values) in V3_PROPERTIES {
            let Some(given) = text(c, property) else { continue };
            let expected = metrics
                .get(key)
                .and_then(|letter| values.iter().find(|(l, _)| l == letter))
                .map(|(_, name)| *name);
            if expected.is_some_and(|e| e != given) {
                self.fail(
                    "6.1.10",
                    format!("{path}/{property}"),
                    format!("the vector says {}", expected.unwrap_or_default()),
                );
            }
        }
    }

    fn document_tests(&mut self) {
        let doc = self.document();
        // 6.1.12 Language
        for key in ["lang", "source_lang"] {
            if let Some(tag) = text(doc, key)
                && !language_tag(tag)
            {
                self.fail(
                    "6.1.12",
                    format!("/document/{key}"),
                    format!("{tag} is not a language tag"),
                );
            }
        }
        // 6.1.15 Translator
        let publisher = doc.get("publisher").unwrap_or(&Value::Null);
        if text(publisher, "category") == Some("translator") && doc.get("source_lang").is_none() {
            self.fail(
                "6.1.15",
                "/document/source_lang",
                "a translator's document names its source language",
            );
        }
        // 6.1.28 Translation
        if let (Some(lang), Some(source)) = (text(doc, "lang"), text(doc, "source_lang"))
            && lang.eq_ignore_ascii_case(source)
        {
            self.fail(
                "6.1.28",
                "/document/source_lang",
                "a translation's language differs from its source's",
            );
        }
        // 6.1.26 Prohibited Document Category Name
        let category = self.category();
        if !PROFILES.contains(&category) && category != "csaf_base" {
            let normal: String = category
                .chars()
                .filter(|c| !matches!(c, '-' | '_' | ' '))
                .collect::<String>()
                .to_lowercase();
            let prohibited = PROFILES.iter().any(|p| {
                let bare = p.trim_start_matches("csaf_").replace('_', "");
                normal == bare || normal == format!("csaf{bare}")
            }) || normal.starts_with("csaf");
            if prohibited {
                self.fail(
                    "6.1.26",
                    "/document/category",
                    format!("{category} is a prohibited category name"),
                );
            }
        }
        self.revisions();
    }

    fn revisions(&mut self) {
        let tracking = self.document().get("tracking").unwrap_or(&Value::Null);
        let status = text(tracking, "status").unwrap_or("");
        let released = matches!(status, "final" | "interim");
        let version_text = text(tracking, "version").unwrap_or("");
        let version = parse_number(version_text);
        let history: Vec<(usize, Option<&str>, Option<Number>, &str)> = arr(tracking.get("revision_history"))
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let n = text(r, "number");
                (i, n, n.and_then(parse_number), text(r, "date").unwrap_or(""))
            })
            .collect();
        let path = |i: usize| format!("/document/tracking/revision_history/{i}/number");
        // 6.1.14 Sorted Revision History: ordered by date, the numbers ascend.
        let mut by_date: Vec<_> = history
            .iter()
            .filter_map(|(i, _, n, d)| Some((chrono::DateTime::parse_from_rfc3339(d).ok()?, *i, n.clone()?)))
            .collect();
        by_date.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        for pair in by_date.windows(2) {
            if let [a, b] = pair
                && b.2.key() < a.2.key()
            {
                self.fail(
                    "6.1.14",
                    path(b.1),
                    "the revision history is not sorted by date and number alike",
                );
                break;
            }
        }
        // 6.1.16 Latest Document Version: the item released last (by date, then by number) is the version.
        let latest = by_date
            .iter()
            .max_by(|a, b| a.0.cmp(&b.0).then(a.2.key().cmp(&b.2.key())))
            .map(|(_, _, n)| n.clone());
        if let (Some(latest), Some(v)) = (&latest, &version) {
            let same = latest.key() == v.key() && (latest.pre() == v.pre() || status == "draft");
            if !same {
                self.fail(
                    "6.1.16",
                    "/document/tracking/version",
                    "is not the number of the latest item of the revision history",
                );
            }
        }
        // 6.1.17 Document Status Draft: version 0 or 0.y.z, or a pre-release, is a draft.
        if let Some(v) = &version
            && (v.major() == 0 || v.pre())
            && status != "draft"
        {
            self.fail(
                "6.1.17",
                "/document/tracking/status",
                "a version 0 or pre-release document is a draft",
            );
        }
        for (i, n, parsed, _) in &history {
            if let Some(p) = parsed {
                // 6.1.18 Released Revision History
                if released && p.major() == 0 {
                    self.fail(
                        "6.1.18",
                        path(*i),
                        "a released document has no version 0 in its history",
                    );
                }
                // 6.1.19 Revision History Entries for Pre-release Versions
                if p.pre() {
                    self.fail(
                        "6.1.19",
                        path(*i),
                        "the revision history holds no pre-release versions",
                    );
                }
            }
            let _ = n;
        }
        // 6.1.20 Non-draft Document Version
        if released && version.as_ref().is_some_and(Number::pre) {
            self.fail(
                "6.1.20",
                "/document/tracking/version",
                "a released document's version is no pre-release",
            );
        }
        // 6.1.21 Missing Item in Revision History: in order of date, the (major) versions start at 0 or 1 and
        // none is left out.
        let mut majors: Vec<u64> = Vec::new();
        for (_, _, n) in &by_date {
            if !majors.contains(&n.major()) {
                majors.push(n.major());
            }
        }
        let history_path = "/document/tracking/revision_history";
        if let Some(first) = majors.first().copied() {
            if first > 1 {
                self.fail(
                    "6.1.21",
                    history_path,
                    "sorted by date, the history does not start at version 0 or 1",
                );
            }
            for (i, major) in (0u64..).zip(&majors) {
                if *major > first + i {
                    self.fail(
                        "6.1.21",
                        history_path,
                        format!("version {} is left out", first + i),
                    );
                }
            }
        }
        // 6.1.22 Multiple Definition in Revision History
        let mut numbers = BTreeSet::new();
        for (i, n, _, _) in &history {
            if let Some(n) = n
                && !numbers.insert(*n)
            {
                self.fail(
                    "6.1.22",
                    path(*i),
                    format!("{n} is in the revision history more than once"),
                );
            }
        }
        // 6.1.30 Mixed Integer and Semantic Versioning
        let integer = version.as_ref().map(|v| matches!(v, Number::Integer(_)));
        if let Some(integer) = integer {
            for (i, _, n, _) in &history {
                if let Some(n) = n
                    && matches!(n, Number::Integer(_)) != integer
                {
                    self.fail("6.1.30", path(*i), "integer and semantic versioning are mixed");
                }
            }
        }
    }

    /// §6.1.27: what each profile requires.
    fn profile(&mut self) {
        let category = self.category();
        let doc = self.document();
        let vulns = self.vulnerabilities();
        let informative = matches!(
            category,
            "csaf_security_incident_response" | "csaf_informational_advisory"
        );
        if informative {
            let noted = arr(doc.get("notes")).iter().any(|n| {
                matches!(
                    text(n, "category"),
                    Some("description" | "details" | "general" | "summary")
                )
            });
            if !noted {
                self.fail(
                    "6.1.27.1",
                    "/document/notes",
                    "needs a note of category description, details, general or summary",
                );
            }
            let external = arr(doc.get("references"))
                .iter()
                .any(|r| text(r, "category") == Some("external"));
            if !external {
                self.fail("6.1.27.2", "/document/references", "needs an external reference");
            }
        }
        if category == "csaf_informational_advisory" && self.doc.get("vulnerabilities").is_some() {
            self.fail(
                "6.1.27.3",
                "/vulnerabilities",
                "an informational advisory has no vulnerabilities",
            );
        }
        let advisory = matches!(category, "csaf_security_advisory" | "csaf_vex");
        if advisory {
            if self.doc.get("product_tree").is_none() {
                self.fail("6.1.27.4", "/product_tree", "is required by the profile");
            }
            for (v, vuln) in vulns.iter().enumerate() {
                if vuln.get("notes").is_none() {
                    self.fail(
                        "6.1.27.5",
                        format!("/vulnerabilities/{v}/notes"),
                        "is required by the profile",
                    );
                }
                if vuln.get("product_status").is_none() {
                    self.fail(
                        "6.1.27.6",
                        format!("/vulnerabilities/{v}/product_status"),
                        "is required by the profile",
                    );
                }
            }
            if self.doc.get("vulnerabilities").is_none() {
                self.fail("6.1.27.11", "/vulnerabilities", "is required by the profile");
            }
        }
        if category == "csaf_vex" {
            let groups = self.group_members();
            for (v, vuln) in vulns.iter().enumerate() {
                let base = format!("/vulnerabilities/{v}");
                let status = vuln.get("product_status").unwrap_or(&Value::Null);
                let any = [
                    "fixed",
                    "known_affected",
                    "known_not_affected",
                    "under_investigation",
                ]
                .iter()
                .any(|k| status.get(*k).is_some());
                if !any {
                    self.fail(
                        "6.1.27.7",
                        format!("{base}/product_status"),
                        "a VEX names fixed, known_affected, known_not_affected or under_investigation",
                    );
                }
                if vuln.get("cve").is_none() && vuln.get("ids").is_none() {
                    self.fail("6.1.27.8", base.clone(), "a VEX vulnerability has a cve or ids");
                }
                let covered = |key: &str, filter: &dyn Fn(&Value) -> bool| -> BTreeSet<&str> {
                    let mut out = BTreeSet::new();
                    for item in arr(vuln.get(key)).iter().filter(|i| filter(i)) {
                        out.extend(arr(item.get("product_ids")).iter().filter_map(Value::as_str));
                        for g in arr(item.get("group_ids")).iter().filter_map(Value::as_str) {
                            out.extend(groups.get(g).into_iter().flatten().copied());
                        }
                    }
                    out
                };
                let flagged = covered("flags", &|_| true);
                let impact = covered("threats", &|t| text(t, "category") == Some("impact"));
                for (i, id) in arr(status.get("known_not_affected")).iter().enumerate() {
                    if let Some(id) = id.as_str()
                        && !flagged.contains(id)
                        && !impact.contains(id)
                    {
                        self.fail(
                            "6.1.27.9",
                            format!("{base}/product_status/known_not_affected/{i}"),
                            "needs a flag or an impact statement",
                        );
                    }
                }
                let remedied = covered("remediations", &|_| true);
                for (i, id) in arr(status.get("known_affected")).iter().enumerate() {
                    if let Some(id) = id.as_str()
                        && !remedied.contains(id)
                    {
                        self.fail(
                            "6.1.27.10",
                            format!("{base}/product_status/known_affected/{i}"),
                            "needs an action statement (a remediation)",
                        );
                    }
                }
            }
        }
    }
}

/// Every failure of the document's mandatory tests and schema requirements; empty when it passes.
pub fn check(document: &Value) -> Vec<Failure> {
    let mut c = Checker {
        doc: document,
        out: Vec::new(),
    };
    c.schema();
    if c.out.is_empty() {
        c.products();
        c.vulnerability_tests();
        c.document_tests();
        c.profile();
    }
    c.out
}

/// The numbers of the tests that failed, each once, in order.
pub fn failed_tests(failures: &[Failure]) -> Vec<&'static str> {
    let set: BTreeSet<&'static str> = failures.iter().map(|f| f.test).collect();
    set.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn language_tags_are_judged_by_their_form() {
        let cases = [
            ("en", true),
            ("de-DE", true),
            ("zh-Hant-TW", true),
            ("es-419", true),
            ("sl-rozaj-biske", true),
            ("en-US-x-twain", true),
            ("x-private", true),
            ("e1", false),
            ("en_US", false),
            ("en-", false),
            ("", false),
            ("de-DE-a", false),
        ];
        for (tag, ok) in cases {
            assert_eq!(language_tag(tag), ok, "{tag}");
        }
    }

    #[test]
    fn version_numbers_are_integers_or_semantic() {
        let cases = [
            ("1", Some(Number::Integer(1))),
            ("01", None),
            (
                "1.2.3",
                Some(Number::Semver {
                    major: 1,
                    minor: 2,
                    patch: 3,
                    pre: false,
                }),
            ),
            (
                "1.0.0-rc.1+build",
                Some(Number::Semver {
                    major: 1,
                    minor: 0,
                    patch: 0,
                    pre: true,
                }),
            ),
            ("1.2", None),
            ("v1", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_number(text), expected, "{text}");
        }
    }

    #[test]
    fn a_document_without_its_required_parts_fails_the_schema_only() {
        let failures = check(&json!({"document": {"csaf_version": "2.1"}}));
        assert!(failures.iter().all(|f| f.test == "schema"), "{failures:?}");
        let paths: Vec<&str> = failures.iter().map(|f| f.path.as_str()).collect();
        for path in [
            "/document/csaf_version",
            "/document/category",
            "/document/publisher",
            "/document/tracking",
        ] {
            assert!(paths.contains(&path), "{path} in {paths:?}");
        }
        assert_eq!(check(&json!([])).len(), 1);
    }

    #[test]
    fn product_versions_that_read_as_ranges_are_found() {
        for (name, range) in [
            ("2.0.0", false),
            ("<2.0.0", true),
            ("prior to 2.0", true),
            ("all versions", true),
            ("vers:npm/<2", true),
            ("1.0-allegro", false),
        ] {
            assert_eq!(reads_as_range(name), range, "{name}");
        }
    }
}
