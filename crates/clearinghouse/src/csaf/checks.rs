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

mod document;
mod products;
mod schema;
mod syntax;
mod vulnerabilities;

use syntax::{Number, language_tag, parse_number, reads_as_range};

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
