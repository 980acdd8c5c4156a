//! The references of an object (`*_ref`, `*_refs`) and its markings (`object_marking_refs`,
//! `granular_markings`), which name only the official TLP 2.0 marking definitions.

use super::{Report, is_identifier};
use crate::tlp::Tlp;
use serde_json::{Map, Value};

/// The TLP marking of an official TLP 2.0 marking-definition id.
pub(super) fn tlp_of_marking(id: &str) -> Option<Tlp> {
    Tlp::ALL.into_iter().find(|t| crate::stix::marking_id(*t) == id)
}

/// Every `*_ref` an identifier, every `*_refs` a list of them, at any depth of the object.
pub(super) fn check_references(map: &Map<String, Value>, r: &mut Report) {
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
pub(super) fn check_markings(map: &Map<String, Value>, object: &Value, r: &mut Report) -> Option<Tlp> {
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
