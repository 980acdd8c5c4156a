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
