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
use references::{check_markings, check_references, tlp_of_marking};
use serde_json::{Map, Value};
use std::fmt;
use types::check_type;

mod references;
#[cfg(test)]
mod tests;
mod types;

pub use references::selects;

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
