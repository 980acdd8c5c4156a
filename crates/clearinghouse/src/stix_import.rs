//! STIX 2.1 import: an envelope's objects checked before anything is stored. The types the clearinghouse
//! exchanges (`TYPES`) with their required properties, the common properties (`type`, `id` as `type--UUID`,
//! `spec_version` 2.1, `created`/`modified` as RFC 3339 UTC with `Z`, `modified` not before `created`),
//! references (`*_ref`, `*_refs`) as identifiers, markings (`object_marking_refs`, `granular_markings` with
//! their selectors resolved in the object) naming only the official TLP 2.0 marking definitions, whose objects
//! are accepted only exactly as published (another object under a TLP id is a forgery). Indicator patterns go
//! through `pattern::validate`. Every problem is named by the object's index, id and property; everything is
//! bounded (objects per envelope, bytes per object, nesting depth, string length).

use crate::stix::marking_definition;
use crate::tlp::Tlp;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::fmt;

/// The most objects an envelope may hold.
pub const MAX_OBJECTS: usize = 1000;
/// The most bytes one object may take, serialised.
pub const MAX_OBJECT_BYTES: usize = 64 * 1024;
/// The deepest an object may nest (arrays and objects).
pub const MAX_DEPTH: usize = 12;
/// The longest string any property may hold, in characters.
pub const MAX_STRING_CHARS: usize = 32 * 1024;

/// The object types accepted, as STIX names them.
pub const TYPES: [&str; 14] = [
    "vulnerability",
    "indicator",
    "attack-pattern",
    "malware",
    "tool",
    "threat-actor",
    "report",
    "note",
    "opinion",
    "sighting",
    "course-of-action",
    "identity",
    "relationship",
    "marking-definition",
];

const OPINIONS: [&str; 5] = [
    "strongly-disagree",
    "disagree",
    "neutral",
    "agree",
    "strongly-agree",
];

/// One problem of an envelope: which object (its index and id, when it has one), which property, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub index: Option<usize>,
    pub id: Option<String>,
    pub property: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.index, &self.id) {
            (Some(i), Some(id)) => write!(f, "objects[{i}] ({id}) {}: {}", self.property, self.message),
            (Some(i), None) => write!(f, "objects[{i}] {}: {}", self.property, self.message),
            _ => write!(f, "{}: {}", self.property, self.message),
        }
    }
}

/// Why an envelope was refused whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvelopeError {
    /// Not JSON, or not an envelope (an object with an `objects` array): the request is malformed.
    Malformed(String),
    /// More objects than `MAX_OBJECTS`.
    TooMany(usize),
    /// Objects that are not valid STIX 2.1 as accepted here: every problem.
    Invalid(Vec<Problem>),
}

/// An object that passed the checks: what storing it needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub index: usize,
    pub id: String,
    pub stix_type: String,
    /// `modified`, or `created` when it has none (a marking definition).
    pub version: DateTime<Utc>,
    /// The most restrictive TLP marking the object names (its own and granular markings).
    pub tlp: Option<Tlp>,
    pub object: Value,
}

/// Reads an envelope and checks every object: all of them, or every problem found.
pub fn check_envelope(body: &[u8]) -> Result<Vec<Checked>, EnvelopeError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| EnvelopeError::Malformed(format!("the body is not JSON: {e}")))?;
    let Value::Object(envelope) = value else {
        return Err(EnvelopeError::Malformed("an envelope is a JSON object".into()));
    };
    for key in envelope.keys() {
        if !matches!(key.as_str(), "objects" | "more" | "next") {
            return Err(EnvelopeError::Malformed(format!(
                "{key}: not a property of an envelope"
            )));
        }
    }
    let Some(Value::Array(objects)) = envelope.get("objects") else {
        return Err(EnvelopeError::Malformed(
            "objects: an envelope holds an array of objects".into(),
        ));
    };
    if objects.len() > MAX_OBJECTS {
        return Err(EnvelopeError::TooMany(objects.len()));
    }
    if objects.is_empty() {
        return Err(EnvelopeError::Invalid(vec![Problem {
            index: None,
            id: None,
            property: "objects".into(),
            message: "holds no object".into(),
        }]));
    }
    let mut checked = Vec::new();
    let mut problems = Vec::new();
    for (index, object) in objects.iter().enumerate() {
        match check_object(index, object) {
            Ok(c) => checked.push(c),
            Err(mut p) => problems.append(&mut p),
        }
    }
    if problems.is_empty() {
        Ok(checked)
    } else {
        Err(EnvelopeError::Invalid(problems))
    }
}

/// Collects the problems of one object.
struct Report {
    index: usize,
    id: Option<String>,
    problems: Vec<Problem>,
}

impl Report {
    fn add(&mut self, property: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            index: Some(self.index),
            id: self.id.clone(),
            property: property.into(),
            message: message.into(),
        });
    }
}

fn depth_and_strings(value: &Value, depth: usize, path: &str, r: &mut Report) -> bool {
    if depth > MAX_DEPTH {
        r.add(path, format!("nests deeper than {MAX_DEPTH} levels"));
        return false;
    }
    match value {
        Value::String(s) if s.chars().count() > MAX_STRING_CHARS => {
            r.add(path, format!("is longer than {MAX_STRING_CHARS} characters"));
            false
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .all(|(i, v)| depth_and_strings(v, depth + 1, &format!("{path}[{i}]"), r)),
        Value::Object(map) => map.iter().all(|(k, v)| {
            let child = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            depth_and_strings(v, depth + 1, &child, r)
        }),
        _ => true,
    }
}

/// Whether a text is a STIX identifier: `type--UUID`, the type lower-case letters, digits and hyphens.
pub fn is_identifier(text: &str) -> bool {
    let Some((kind, uuid)) = text.split_once("--") else {
        return false;
    };
    !kind.is_empty()
        && kind.len() <= 250
        && kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && uuid.len() == 36
        && uuid::Uuid::parse_str(uuid).is_ok()
}

/// A STIX timestamp: RFC 3339, `T`, UTC written as `Z`.
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    let bytes = text.as_bytes();
    if bytes.len() < 20 || bytes.get(10) != Some(&b'T') || !text.ends_with('Z') {
        return None;
    }
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn timestamp(map: &Map<String, Value>, key: &str, required: bool, r: &mut Report) -> Option<DateTime<Utc>> {
    match map.get(key) {
        None if required => {
            r.add(key, "is required");
            None
        }
        None => None,
        Some(Value::String(s)) => {
            let at = parse_timestamp(s);
            if at.is_none() {
                r.add(key, "must be an RFC 3339 timestamp in UTC ending in Z");
            }
            at
        }
        Some(_) => {
            r.add(key, "must be a timestamp string");
            None
        }
    }
}

fn nonempty_string(map: &Map<String, Value>, key: &str, r: &mut Report) {
    match map.get(key) {
        None => r.add(key, "is required"),
        Some(Value::String(s)) if !s.trim().is_empty() => {}
        Some(_) => r.add(key, "must be a non-empty string"),
    }
}

fn nonempty_refs(map: &Map<String, Value>, key: &str, r: &mut Report) {
    match map.get(key) {
        None => r.add(key, "is required"),
        Some(Value::Array(items)) if !items.is_empty() => {}
        Some(_) => r.add(key, "must list at least one identifier"),
    }
}

/// The TLP marking of an official TLP 2.0 marking-definition id.
fn tlp_of_marking(id: &str) -> Option<Tlp> {
    Tlp::ALL.into_iter().find(|t| crate::stix::marking_id(*t) == id)
}

/// Checks one object; `index` is its place in the envelope.
pub fn check_object(index: usize, object: &Value) -> Result<Checked, Vec<Problem>> {
    let mut r = Report {
        index,
        id: None,
        problems: Vec::new(),
    };
    let Value::Object(map) = object else {
        r.add("", "an object must be a JSON object");
        return Err(r.problems);
    };
    r.id = map.get("id").and_then(Value::as_str).map(|s| {
        let cut: String = s.chars().take(120).collect();
        cut
    });
    if object.to_string().len() > MAX_OBJECT_BYTES {
        r.add("", format!("is larger than {MAX_OBJECT_BYTES} bytes"));
        return Err(r.problems);
    }
    if !depth_and_strings(object, 0, "", &mut r) {
        return Err(r.problems);
    }
    let stix_type = match map.get("type").and_then(Value::as_str) {
        None => {
            r.add("type", "is required");
            return Err(r.problems);
        }
        Some(t) if !TYPES.contains(&t) => {
            r.add("type", format!("{t} is not a type this server accepts"));
            return Err(r.problems);
        }
        Some(t) => t.to_owned(),
    };
    let id = match map.get("id").and_then(Value::as_str) {
        Some(id) if is_identifier(id) && id.split_once("--").map(|p| p.0) == Some(&stix_type) => {
            id.to_owned()
        }
        Some(_) => {
            r.add("id", format!("must be {stix_type}--<UUID>"));
            String::new()
        }
        None => {
            r.add("id", "is required");
            String::new()
        }
    };
    if map.get("spec_version").and_then(Value::as_str) != Some("2.1") {
        r.add("spec_version", "must be \"2.1\"");
    }
    if stix_type == "marking-definition" {
        // Only the official TLP 2.0 definitions, exactly as published.
        match tlp_of_marking(&id) {
            Some(tlp) if *object == marking_definition(tlp) => {}
            Some(_) => r.add(
                "id",
                "names an official TLP 2.0 marking definition but its content differs (a forgery)",
            ),
            None => r.add(
                "id",
                "only the official TLP 2.0 marking-definition objects are accepted",
            ),
        }
        if !r.problems.is_empty() {
            return Err(r.problems);
        }
        let created = map
            .get("created")
            .and_then(Value::as_str)
            .and_then(parse_timestamp)
            .unwrap_or_default();
        return Ok(Checked {
            index,
            id,
            stix_type,
            version: created,
            tlp: None,
            object: object.clone(),
        });
    }
    let created = timestamp(map, "created", true, &mut r);
    let modified = timestamp(map, "modified", true, &mut r);
    if let (Some(c), Some(m)) = (created, modified)
        && m < c
    {
        r.add("modified", "must not be before created");
    }
    check_references(map, &mut r);
    let tlp = check_markings(map, object, &mut r);
    check_type(&stix_type, map, &mut r);
    if !r.problems.is_empty() {
        return Err(r.problems);
    }
    Ok(Checked {
        index,
        id,
        stix_type,
        version: modified.or(created).unwrap_or_default(),
        tlp,
        object: object.clone(),
    })
}

/// Every `*_ref` an identifier, every `*_refs` a list of them, at any depth of the object.
fn check_references(map: &Map<String, Value>, r: &mut Report) {
    fn walk(value: &Value, path: &str, r: &mut Report) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    let here = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    if k.ends_with("_ref") {
                        if !v.as_str().is_some_and(is_identifier) {
                            r.add(&here, "must be a STIX identifier (type--UUID)");
                        }
                    } else if k.ends_with("_refs") {
                        let ok = v
                            .as_array()
                            .is_some_and(|items| items.iter().all(|i| i.as_str().is_some_and(is_identifier)));
                        if !ok {
                            r.add(&here, "must be a list of STIX identifiers (type--UUID)");
                        }
                    } else {
                        walk(v, &here, r);
                    }
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(v, &format!("{path}[{i}]"), r);
                }
            }
            _ => {}
        }
    }
    walk(&Value::Object(map.clone()), "", r);
    if let Some(by) = map.get("created_by_ref").and_then(Value::as_str)
        && is_identifier(by)
        && !by.starts_with("identity--")
    {
        r.add("created_by_ref", "must refer to an identity");
    }
}

/// Markings: each reference one of the official TLP 2.0 definitions; granular markings' selectors found in
/// the object. Returns the most restrictive TLP marking named.
fn check_markings(map: &Map<String, Value>, object: &Value, r: &mut Report) -> Option<Tlp> {
    let mut most: Option<Tlp> = None;
    let mut note = |tlp: Tlp| most = Some(most.map_or(tlp, |m| m.max(tlp)));
    if let Some(Value::Array(refs)) = map.get("object_marking_refs") {
        for (i, m) in refs.iter().enumerate() {
            match m.as_str().and_then(tlp_of_marking) {
                Some(tlp) => note(tlp),
                None => r.add(
                    &format!("object_marking_refs[{i}]"),
                    "must name an official TLP 2.0 marking definition",
                ),
            }
        }
    }
    match map.get("granular_markings") {
        None => {}
        Some(Value::Array(items)) if !items.is_empty() => {
            for (i, g) in items.iter().enumerate() {
                let here = format!("granular_markings[{i}]");
                let Some(g) = g.as_object() else {
                    r.add(&here, "must be an object");
                    continue;
                };
                match (g.get("marking_ref"), g.get("lang")) {
                    (Some(m), None) => match m.as_str().and_then(tlp_of_marking) {
                        Some(tlp) => note(tlp),
                        None => r.add(
                            &format!("{here}.marking_ref"),
                            "must name an official TLP 2.0 marking definition",
                        ),
                    },
                    (None, Some(Value::String(_))) => {}
                    _ => r.add(&here, "must have exactly one of marking_ref and lang"),
                }
                match g.get("selectors").and_then(Value::as_array) {
                    Some(selectors) if !selectors.is_empty() => {
                        for (k, s) in selectors.iter().enumerate() {
                            if !s.as_str().is_some_and(|s| selects(object, s)) {
                                r.add(
                                    &format!("{here}.selectors[{k}]"),
                                    "must select a property of this object",
                                );
                            }
                        }
                    }
                    _ => r.add(&format!("{here}.selectors"), "must list at least one selector"),
                }
            }
        }
        Some(_) => r.add("granular_markings", "must be a non-empty list"),
    }
    most
}

/// Whether a granular marking's selector (`description`, `external_references.[0].source_name`) names a
/// property present in the object.
pub fn selects(object: &Value, selector: &str) -> bool {
    let mut here = object;
    for part in selector.split('.') {
        let next = if let Some(index) = part.strip_prefix('[').and_then(|p| p.strip_suffix(']')) {
            index
                .parse::<usize>()
                .ok()
                .and_then(|i| here.as_array().and_then(|a| a.get(i)))
        } else {
            here.as_object().and_then(|m| m.get(part))
        };
        match next {
            Some(v) => here = v,
            None => return false,
        }
    }
    !selector.is_empty()
}

/// The properties each type requires, and their values.
fn check_type(kind: &str, map: &Map<String, Value>, r: &mut Report) {
    match kind {
        "vulnerability" | "attack-pattern" | "tool" | "threat-actor" | "course-of-action" | "identity" => {
            nonempty_string(map, "name", r)
        }
        "indicator" => {
            nonempty_string(map, "pattern_type", r);
            timestamp(map, "valid_from", true, r);
            timestamp(map, "valid_until", false, r);
            match map.get("pattern") {
                None => r.add("pattern", "is required"),
                Some(Value::String(p)) => {
                    if map.get("pattern_type").and_then(Value::as_str) == Some("stix")
                        && let Err(e) = crate::pattern::validate(p)
                    {
                        r.add("pattern", e.to_string());
                    }
                }
                Some(_) => r.add("pattern", "must be a string"),
            }
        }
        "malware" => match map.get("is_family") {
            Some(Value::Bool(true)) => nonempty_string(map, "name", r),
            Some(Value::Bool(false)) => {}
            Some(_) => r.add("is_family", "must be true or false"),
            None => r.add("is_family", "is required"),
        },
        "report" => {
            nonempty_string(map, "name", r);
            timestamp(map, "published", true, r);
            nonempty_refs(map, "object_refs", r);
        }
        "note" => {
            nonempty_string(map, "content", r);
            nonempty_refs(map, "object_refs", r);
        }
        "opinion" => {
            match map.get("opinion").and_then(Value::as_str) {
                Some(o) if OPINIONS.contains(&o) => {}
                _ => r.add("opinion", format!("must be one of {}", OPINIONS.join(", "))),
            }
            nonempty_refs(map, "object_refs", r);
        }
        "sighting" => {
            if !map.contains_key("sighting_of_ref") {
                r.add("sighting_of_ref", "is required");
            }
            timestamp(map, "first_seen", false, r);
            timestamp(map, "last_seen", false, r);
        }
        "relationship" => {
            nonempty_string(map, "relationship_type", r);
            for key in ["source_ref", "target_ref"] {
                if !map.contains_key(key) {
                    r.add(key, "is required");
                }
            }
        }
        _ => {}
    }
    for key in ["labels"] {
        if let Some(v) = map.get(key)
            && !v.as_array().is_some_and(|a| a.iter().all(Value::is_string))
        {
            r.add(key, "must be a list of strings");
        }
    }
    if let Some(refs) = map.get("external_references") {
        match refs.as_array() {
            Some(items) => {
                for (i, e) in items.iter().enumerate() {
                    let named = e
                        .get("source_name")
                        .and_then(Value::as_str)
                        .is_some_and(|s| !s.is_empty());
                    if !named {
                        r.add(&format!("external_references[{i}].source_name"), "is required");
                    }
                }
            }
            None => r.add("external_references", "must be a list"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ID: &str = "8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f";
    const T0: &str = "2026-01-01T00:00:00.000Z";
    const T1: &str = "2026-02-01T00:00:00Z";

    fn base(kind: &str) -> Value {
        json!({"type": kind, "spec_version": "2.1", "id": format!("{kind}--{ID}"), "created": T0, "modified": T1})
    }

    fn with(kind: &str, extra: Value) -> Value {
        let mut o = base(kind);
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                o.as_object_mut().unwrap().remove(k);
            } else {
                o[k] = v.clone();
            }
        }
        o
    }

    fn indicator(pattern: &str) -> Value {
        with(
            "indicator",
            json!({"pattern": pattern, "pattern_type": "stix", "valid_from": T0}),
        )
    }

    fn valid() -> Vec<Value> {
        let obj = format!("vulnerability--{ID}");
        vec![
            with("vulnerability", json!({"name": "CVE-2026-1"})),
            indicator("[file:name = 'evil.exe']"),
            with("attack-pattern", json!({"name": "Spearphishing"})),
            with("malware", json!({"is_family": false})),
            with("malware", json!({"is_family": true, "name": "Family"})),
            with("tool", json!({"name": "nmap"})),
            with("threat-actor", json!({"name": "Actor"})),
            with(
                "report",
                json!({"name": "R", "published": T0, "object_refs": [obj]}),
            ),
            with("note", json!({"content": "c", "object_refs": [obj]})),
            with("opinion", json!({"opinion": "agree", "object_refs": [obj]})),
            with("sighting", json!({"sighting_of_ref": format!("indicator--{ID}")})),
            with("course-of-action", json!({"name": "Patch"})),
            with(
                "identity",
                json!({"name": "Org", "identity_class": "organization"}),
            ),
            with(
                "relationship",
                json!({"relationship_type": "indicates", "source_ref": format!("indicator--{ID}"), "target_ref": obj}),
            ),
            marking_definition(Tlp::Green),
            with(
                "vulnerability",
                json!({"name": "v", "description": "d",
                       "object_marking_refs": [crate::stix::marking_id(Tlp::Green)],
                       "granular_markings": [{"marking_ref": crate::stix::marking_id(Tlp::Amber), "selectors": ["description"]}]}),
            ),
        ]
    }

    #[test]
    fn every_accepted_type_passes_in_its_minimal_form() {
        for (i, o) in valid().iter().enumerate() {
            assert!(check_object(i, o).is_ok(), "{o}: {:?}", check_object(i, o));
        }
        let last = valid().pop().unwrap();
        assert_eq!(check_object(0, &last).unwrap().tlp, Some(Tlp::Amber));
        assert_eq!(
            check_object(0, &base("vulnerability")).err().unwrap()[0].property,
            "name"
        );
    }

    #[test]
    fn each_fault_is_named_by_its_property() {
        let mut forged = marking_definition(Tlp::Clear);
        forged["name"] = json!("TLP:CLEAR (ours)");
        let cases: Vec<(Value, &str)> = vec![
            (with("campaign", json!({"name": "x"})), "type"),
            (json!({"id": format!("tool--{ID}")}), "type"),
            (with("tool", json!({"name": "x", "id": "tool--nope"})), "id"),
            (
                with("tool", json!({"name": "x", "id": format!("malware--{ID}")})),
                "id",
            ),
            (
                with("tool", json!({"name": "x", "spec_version": "2.0"})),
                "spec_version",
            ),
            (
                with(
                    "tool",
                    json!({"name": "x", "created": "2026-01-01T00:00:00+01:00"}),
                ),
                "created",
            ),
            (with("tool", json!({"name": "x", "modified": null})), "modified"),
            (
                with("tool", json!({"name": "x", "modified": "2025-01-01T00:00:00Z"})),
                "modified",
            ),
            (with("tool", json!({"name": ""})), "name"),
            (indicator("[file:name = ]"), "pattern"),
            (
                with(
                    "indicator",
                    json!({"pattern": "[a:b = 1]", "pattern_type": "stix"}),
                ),
                "valid_from",
            ),
            (with("malware", json!({})), "is_family"),
            (with("malware", json!({"is_family": true})), "name"),
            (
                with("report", json!({"name": "r", "published": T0, "object_refs": []})),
                "object_refs",
            ),
            (
                with(
                    "opinion",
                    json!({"opinion": "meh", "object_refs": [format!("tool--{ID}")]}),
                ),
                "opinion",
            ),
            (
                with(
                    "relationship",
                    json!({"relationship_type": "uses", "source_ref": format!("tool--{ID}")}),
                ),
                "target_ref",
            ),
            (
                with("tool", json!({"name": "x", "created_by_ref": "someone"})),
                "created_by_ref",
            ),
            (
                with(
                    "tool",
                    json!({"name": "x", "created_by_ref": format!("tool--{ID}")}),
                ),
                "created_by_ref",
            ),
            (
                with(
                    "tool",
                    json!({"name": "x", "object_marking_refs": [format!("marking-definition--{ID}")]}),
                ),
                "object_marking_refs[0]",
            ),
            (
                with(
                    "tool",
                    json!({"name": "x", "granular_markings": [{"marking_ref": crate::stix::marking_id(Tlp::Red), "selectors": ["description"]}]}),
                ),
                "granular_markings[0].selectors[0]",
            ),
            (
                with(
                    "tool",
                    json!({"name": "x", "granular_markings": [{"selectors": ["name"]}]}),
                ),
                "granular_markings[0]",
            ),
            (
                with(
                    "tool",
                    json!({"name": "x", "external_references": [{"url": "https://x"}]}),
                ),
                "external_references[0].source_name",
            ),
            (with("tool", json!({"name": "x", "labels": [1]})), "labels"),
            (with("marking-definition", json!({"name": "ours"})), "id"),
            (forged, "id"),
            (
                with("tool", json!({"name": "x".repeat(MAX_STRING_CHARS + 1)})),
                "name",
            ),
        ];
        for (object, property) in cases {
            let problems = check_object(3, &object).err().unwrap_or_default();
            assert!(
                problems
                    .iter()
                    .any(|p| p.property == property && p.index == Some(3)),
                "{object}: want {property}, got {problems:?}"
            );
        }
        let mut deep = json!("x");
        for _ in 0..MAX_DEPTH + 2 {
            deep = json!([deep]);
        }
        assert!(check_object(0, &with("tool", json!({"name": "x", "x_deep": deep}))).is_err());
    }

    #[test]
    fn envelopes_are_refused_whole_with_every_problem() {
        let ok = json!({"objects": valid()}).to_string();
        assert_eq!(check_envelope(ok.as_bytes()).unwrap().len(), valid().len());
        for (body, want) in [
            ("{not json".to_owned(), "malformed"),
            ("[]".to_owned(), "malformed"),
            (json!({"items": []}).to_string(), "malformed"),
            (json!({"objects": {}}).to_string(), "malformed"),
            (json!({"objects": []}).to_string(), "invalid"),
            (
                json!({"objects": vec![json!({}); MAX_OBJECTS + 1]}).to_string(),
                "too many",
            ),
        ] {
            let got = match check_envelope(body.as_bytes()) {
                Err(EnvelopeError::Malformed(_)) => "malformed",
                Err(EnvelopeError::TooMany(_)) => "too many",
                Err(EnvelopeError::Invalid(_)) => "invalid",
                Ok(_) => "ok",
            };
            assert_eq!(got, want, "{body:.60}");
        }
        let mut objects = valid();
        objects.push(with("campaign", json!({})));
        objects.push(indicator("[file:name = ]"));
        let Err(EnvelopeError::Invalid(problems)) =
            check_envelope(json!({"objects": objects}).to_string().as_bytes())
        else {
            panic!("accepted");
        };
        let at: Vec<Option<usize>> = problems.iter().map(|p| p.index).collect();
        assert_eq!(at, vec![Some(valid().len()), Some(valid().len() + 1)]);
        assert_eq!(
            problems[1].id.as_deref(),
            Some(format!("indicator--{ID}").as_str())
        );
    }

    #[test]
    fn selectors_walk_properties_and_list_indexes() {
        let o = json!({"a": {"b": [{"c": 1}]}, "d": "x"});
        for (selector, found) in [
            ("d", true),
            ("a.b.[0].c", true),
            ("a.b.[1].c", false),
            ("a.x", false),
            ("", false),
            ("a.b.[x]", false),
        ] {
            assert_eq!(selects(&o, selector), found, "{selector}");
        }
    }
}
