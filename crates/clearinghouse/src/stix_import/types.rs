//! The properties each exchanged type (`TYPES`) requires, and their values.

use super::{Report, nonempty_refs, nonempty_string, timestamp};
use serde_json::{Map, Value};

const OPINIONS: [&str; 5] = [
    "strongly-disagree",
    "disagree",
    "neutral",
    "agree",
    "strongly-agree",
];

/// The properties each type requires, and their values.
pub(super) fn check_type(kind: &str, map: &Map<String, Value>, r: &mut Report) {
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
