//! CVSS scoring against the reference implementation, PyPI `cvss` (pinned in tests/clients/requirements.txt),
//! run once per test as `tests/clients/cvss_reference.py` from the test environment's Python
//! (`PRELAUNCH_TEST_PYTHON`): every v3.1 base vector, random v3.0 and v3.1 vectors with temporal and
//! environmental metrics, and random v4.0 vectors with threat, environmental and supplemental metrics, all
//! seeded, must score the same. Then `POST /api/v1/cvss` over HTTP.

use crate::support::*;
use clearinghouse::cvss::{Score, Severity};
use reqwest::Method;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// The reference implementation, from the test environment; without it the test fails, saying how to get it.
fn python() -> PathBuf {
    test_program(
        "PRELAUNCH_TEST_PYTHON",
        "CVSS scores are checked against the reference library (PyPI `cvss`)",
    )
}

/// The reference's answer for each vector, in order, from one Python process.
async fn reference(vectors: &[String]) -> Vec<Value> {
    let mut child = tokio::process::Command::new(python())
        .current_dir(clients_dir())
        .arg("cvss_reference.py")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("starting cvss_reference.py");
    let mut stdin = child.stdin.take().unwrap();
    let input = vectors.join("\n") + "\n";
    // Written while the output is read, so that neither pipe fills up.
    let writer = tokio::spawn(async move {
        stdin.write_all(input.as_bytes()).await.unwrap();
    });
    let output = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("cvss_reference.py finishes")
        .unwrap();
    writer.await.unwrap();
    assert!(
        output.status.success(),
        "cvss_reference.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answers: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(answers.len(), vectors.len(), "one answer per vector");
    answers
}

/// SplitMix64: a seeded, reproducible stream, enough to pick metric values.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

type Metrics = &'static [(&'static str, &'static [&'static str])];

const V3_BASE: Metrics = &[
    ("AV", &["N", "A", "L", "P"]),
    ("AC", &["L", "H"]),
    ("PR", &["N", "L", "H"]),
    ("UI", &["N", "R"]),
    ("S", &["U", "C"]),
    ("C", &["H", "L", "N"]),
    ("I", &["H", "L", "N"]),
    ("A", &["H", "L", "N"]),
];
const V3_MORE: Metrics = &[
    ("E", &["X", "H", "F", "P", "U"]),
    ("RL", &["X", "U", "W", "T", "O"]),
    ("RC", &["X", "C", "R", "U"]),
    ("CR", &["X", "H", "M", "L"]),
    ("IR", &["X", "H", "M", "L"]),
    ("AR", &["X", "H", "M", "L"]),
    ("MAV", &["X", "N", "A", "L", "P"]),
    ("MAC", &["X", "L", "H"]),
    ("MPR", &["X", "N", "L", "H"]),
    ("MUI", &["X", "N", "R"]),
    ("MS", &["X", "U", "C"]),
    ("MC", &["X", "H", "L", "N"]),
    ("MI", &["X", "H", "L", "N"]),
    ("MA", &["X", "H", "L", "N"]),
];
const V4_BASE: Metrics = &[
    ("AV", &["N", "A", "L", "P"]),
    ("AC", &["L", "H"]),
    ("AT", &["N", "P"]),
    ("PR", &["N", "L", "H"]),
    ("UI", &["N", "P", "A"]),
    ("VC", &["H", "L", "N"]),
    ("VI", &["H", "L", "N"]),
    ("VA", &["H", "L", "N"]),
    ("SC", &["H", "L", "N"]),
    ("SI", &["H", "L", "N"]),
    ("SA", &["H", "L", "N"]),
];
const V4_MORE: Metrics = &[
    ("E", &["X", "A", "P", "U"]),
    ("CR", &["X", "H", "M", "L"]),
    ("IR", &["X", "H", "M", "L"]),
    ("AR", &["X", "H", "M", "L"]),
    ("MAV", &["X", "N", "A", "L", "P"]),
    ("MAC", &["X", "L", "H"]),
    ("MAT", &["X", "N", "P"]),
    ("MPR", &["X", "N", "L", "H"]),
    ("MUI", &["X", "N", "P", "A"]),
    ("MVC", &["X", "H", "L", "N"]),
    ("MVI", &["X", "H", "L", "N"]),
    ("MVA", &["X", "H", "L", "N"]),
    ("MSC", &["X", "H", "L", "N"]),
    ("MSI", &["X", "S", "H", "L", "N"]),
    ("MSA", &["X", "S", "H", "L", "N"]),
    ("S", &["X", "N", "P"]),
    ("AU", &["X", "N", "Y"]),
    ("R", &["X", "A", "U", "I"]),
    ("V", &["X", "D", "C"]),
    ("RE", &["X", "L", "M", "H"]),
    ("U", &["X", "Clear", "Green", "Amber", "Red"]),
];

/// Every v3.1 base vector: 4 × 2 × 3 × 2 × 2 × 3 × 3 × 3 = 2,592.
fn all_v31_base_vectors() -> Vec<String> {
    let mut vectors = vec![String::from("CVSS:3.1")];
    for (key, values) in V3_BASE {
        vectors = vectors
            .iter()
            .flat_map(|prefix| values.iter().map(move |v| format!("{prefix}/{key}:{v}")))
            .collect();
    }
    vectors
}

/// A random vector: every base metric, each other metric with probability `percent`, sometimes in a
/// shuffled order (the reference, like us, accepts any order).
fn random_vector(rng: &mut Rng, prefix: &str, base: Metrics, more: Metrics, percent: usize) -> String {
    let mut fields: Vec<String> = base
        .iter()
        .map(|(key, values)| format!("{key}:{}", rng.pick(values)))
        .collect();
    for (key, values) in more {
        if rng.chance(percent) {
            fields.push(format!("{key}:{}", rng.pick(values)));
        }
    }
    if rng.chance(10) {
        for i in (1..fields.len()).rev() {
            let j = rng.below(i + 1);
            fields.swap(i, j);
        }
    }
    format!("{prefix}/{}", fields.join("/"))
}

fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::None => "None",
        Severity::Low => "Low",
        Severity::Medium => "Medium",
        Severity::High => "High",
        Severity::Critical => "Critical",
    }
}

/// What our scorer says in the reference's terms, to compare the two as JSON.
fn ours_as_reference(vector: &str) -> Value {
    let s: Score = match clearinghouse::cvss::score(vector) {
        Ok(s) => s,
        Err(e) => return json!({"error": e.to_string()}),
    };
    match (s.temporal_score, s.environmental_score) {
        (Some(temporal), Some(environmental)) => json!({
            "base": s.base_score,
            "temporal": temporal,
            "environmental": environmental,
            "severities": [
                severity_name(s.base_severity),
                severity_name(clearinghouse::cvss::Severity::of(temporal)),
                severity_name(clearinghouse::cvss::Severity::of(environmental)),
            ],
        }),
        _ => json!({"score": s.score, "severity": severity_name(s.severity)}),
    }
}

#[tokio::test]
async fn scores_equal_the_reference_implementation() {
    let mut rng = Rng(0x0c55_2024_0010);
    let mut vectors = all_v31_base_vectors();
    assert_eq!(vectors.len(), 2592);
    for i in 0..4000 {
        let prefix = if i % 4 == 0 { "CVSS:3.0" } else { "CVSS:3.1" };
        vectors.push(random_vector(&mut rng, prefix, V3_BASE, V3_MORE, 60));
    }
    for i in 0..12_000 {
        // A tenth with base metrics alone, the rest with about half of the others.
        let percent = if i % 10 == 0 { 0 } else { 50 };
        vectors.push(random_vector(&mut rng, "CVSS:4.0", V4_BASE, V4_MORE, percent));
    }

    let theirs = reference(&vectors).await;
    let mut mismatches = Vec::new();
    let mut checked = [0_usize; 2];
    for (vector, theirs) in vectors.iter().zip(&theirs) {
        assert!(
            theirs.get("error").is_none(),
            "the reference refused {vector}: {theirs}"
        );
        let ours = ours_as_reference(vector);
        checked[usize::from(vector.starts_with("CVSS:4.0"))] += 1;
        if ours != *theirs {
            mismatches.push(format!(
                "{vector}\n    ours:      {ours}\n    reference: {theirs}"
            ));
        }
        // v4's base score is the score of the base metrics alone.
        if vector.starts_with("CVSS:4.0/") {
            let base: Vec<&str> = vector
                .split('/')
                .filter(|field| {
                    V4_BASE
                        .iter()
                        .any(|(key, _)| field.split(':').next() == Some(*key))
                })
                .collect();
            let alone = clearinghouse::cvss::score(&format!("CVSS:4.0/{}", base.join("/"))).unwrap();
            let s = clearinghouse::cvss::score(vector).unwrap();
            assert_eq!(
                (s.base_score, s.base_severity),
                (alone.score, alone.severity),
                "{vector}"
            );
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} vectors score differently from the reference; the first:\n{}",
        mismatches.len(),
        vectors.len(),
        mismatches.iter().take(10).cloned().collect::<Vec<_>>().join("\n")
    );
    assert_eq!(checked, [2592 + 4000, 12_000]);
}

#[tokio::test]
async fn the_api_scores_a_vector_and_names_the_problem_in_a_bad_one() {
    let t = spawn_app().await;
    let admin = t.program_admin().await;
    t.org("vendor", "Acme Routers").await;
    let vendor = t
        .person("vendor", "Acme Routers", "psirt@acme.example", "member")
        .await;

    let good = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:P/AU:Y";
    for who in [&admin, &vendor] {
        let reply = t.post(who, "/api/v1/cvss", json!({"vector": good})).await;
        let body = reply.ok();
        assert_eq!(reply.status, 200, "{body}");
        assert_eq!(body["version"], "4.0");
        assert_eq!(body["vector"], good);
        assert_eq!(
            (&body["base_score"], &body["base_severity"]),
            (&json!(9.3), &json!("critical"))
        );
        assert_eq!((&body["score"], &body["severity"]), (&json!(8.9), &json!("high")));
        assert_eq!(body["nomenclature"], "CVSS-BT");
        assert_eq!(
            body["metrics"][0],
            json!({"key": "AV", "name": "Attack Vector", "value": "N", "value_name": "Network"})
        );
        assert_eq!(body["metrics"].as_array().unwrap().len(), 13);
    }
    let v3 = "CVSS:3.1/S:U/AV:N/AC:L/PR:N/UI:N/C:H/I:H/A:H/E:X/RL:O";
    let reply = t.post(&vendor, "/api/v1/cvss", json!({"vector": v3})).await;
    let body = reply.ok();
    assert_eq!(
        body["vector"],
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/RL:O"
    );
    assert_eq!(
        (&body["base_score"], &body["temporal_score"], &body["score"]),
        (&json!(9.8), &json!(9.4), &json!(9.4))
    );
    assert_eq!(body["nomenclature"], Value::Null);

    // (vector, the reason the problem gives)
    let long = format!("{v3}{}", "/MAV:X".repeat(100));
    let bad: &[(&str, &str)] = &[
        ("", "the vector is empty"),
        (
            "CVSS:3.1/AV:N/AC:L",
            "missing mandatory metrics `PR`, `UI`, `S`, `C`, `I`, `A`",
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/",
            "the vector ends with `/`",
        ),
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:X",
            "`X` is not a value of `A` (Availability)",
        ),
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/AV:L",
            "metric `AV` given twice",
        ),
        (
            "cvss:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "the prefix must be written `CVSS:3.1/`",
        ),
        (&long, "the vector is longer than 512 bytes"),
    ];
    for (vector, reason) in bad {
        let before = t.db_counts().await;
        let reply = t.post(&vendor, "/api/v1/cvss", json!({"vector": vector})).await;
        let problem = reply.problem(422, "invalid-field");
        assert_eq!(problem["field"], "vector", "{vector}");
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.starts_with(&format!("vector: {reason}")),
            "{vector}: {detail}"
        );
        assert_eq!(t.db_counts().await, before, "nothing is stored");
    }

    // The body is JSON with `vector` and nothing else, and bounded.
    let reply = t.post(&vendor, "/api/v1/cvss", json!({"vector": 3.1})).await;
    assert_eq!(reply.problem(422, "invalid-field")["field"], "vector");
    let reply = t
        .post(&vendor, "/api/v1/cvss", json!({"vector": v3, "version": "3.1"}))
        .await;
    assert_eq!(reply.problem(422, "invalid-field")["field"], "version");
    let huge = format!("{{\"vector\": \"{}\"}}", "A".repeat(300 * 1024)).into_bytes();
    let reply = t
        .raw(
            Method::POST,
            "/api/v1/cvss",
            Some(&vendor.token),
            Some("application/json"),
            huge,
        )
        .await;
    reply.problem(413, "payload-too-large");

    // Members only, like the rest of the API.
    let reply = t
        .call(Method::POST, "/api/v1/cvss", None, Some(json!({"vector": v3})))
        .await;
    reply.problem(401, "unauthenticated");
}
