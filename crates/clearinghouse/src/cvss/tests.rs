//! Known vectors from the specifications' examples, malformed vectors with the reason given, and the
//! invariants of the tables. Equality with the reference implementation on every v3.1 base vector and on
//! random full vectors is tested against the reference itself in `crates/prelaunch/tests/it/cvss.rs`.

use super::*;

fn scored(vector: &str) -> Score {
    score(vector).unwrap_or_else(|e| panic!("{vector}: {e}"))
}

#[test]
fn v3_examples_from_the_specification_score_as_published() {
    // (vector, base score) from "CVSS v3.1: Examples" (FIRST).
    let cases = [
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1), // CVE-2013-1937, phpMyAdmin XSS
        ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", 6.4), // CVE-2013-0375, MySQL
        ("CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N", 3.1), // CVE-2014-3566, POODLE
        ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9), // CVE-2012-1516, VMware
        ("CVSS:3.1/AV:L/AC:L/PR:H/UI:N/S:U/C:L/I:L/A:L", 4.2), // CVE-2009-0783, Tomcat
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5), // CVE-2014-0160, Heartbleed
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8), // CVE-2014-6271, Shellshock
        ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:N/I:H/A:N", 6.8), // CVE-2008-1447, DNS poisoning
        ("CVSS:3.1/AV:P/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 6.8), // CVE-2014-2005, Sophos
        ("CVSS:3.1/AV:A/AC:L/PR:N/UI:N/S:C/C:H/I:N/A:H", 9.3), // CVE-2013-6014, Juniper
        ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
    ];
    for (vector, base) in cases {
        let s = scored(vector);
        assert_eq!(s.base_score, base, "{vector}");
        assert_eq!(s.score, base, "{vector}: no temporal or environmental metric");
        assert_eq!(s.base_severity, Severity::of(base), "{vector}");
    }
}

#[test]
fn v3_temporal_and_environmental_scores() {
    // (vector, base, temporal, environmental, the vector's score), checked against the reference library.
    let cases = [
        (
            "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H/E:P/RL:O/RC:C",
            10.0,
            9.0,
            9.0,
            9.0,
        ),
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H/E:P/RL:O/RC:C/CR:H/MAV:L/MS:U",
            10.0,
            9.0,
            7.6,
            7.6,
        ),
        // v3.0 and v3.1 differ in the environmental equation under a changed scope.
        (
            "CVSS:3.0/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H/CR:H/IR:H/AR:H",
            9.9,
            9.9,
            9.9,
            9.9,
        ),
        (
            "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H/CR:H/IR:H/AR:H",
            9.9,
            9.9,
            10.0,
            10.0,
        ),
        // No environmental metric: the score is the base score, though the equation gives 10.0.
        (
            "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H",
            9.9,
            9.9,
            10.0,
            9.9,
        ),
    ];
    for (vector, base, temporal, environmental, overall) in cases {
        let s = scored(vector);
        assert_eq!(
            (s.base_score, s.temporal_score, s.environmental_score, s.score),
            (base, Some(temporal), Some(environmental), overall),
            "{vector}"
        );
        assert_eq!(s.nomenclature, None);
    }
}

#[test]
fn v4_examples_score_as_published() {
    // (vector, score, nomenclature): the specification's and FIRST's calculator's examples.
    let cases = [
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            9.3,
            "CVSS-B",
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:L/VA:L/SC:N/SI:N/SA:N",
            6.9,
            "CVSS-B",
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H",
            10.0,
            "CVSS-B",
        ),
        (
            "CVSS:4.0/AV:L/AC:L/AT:P/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            7.3,
            "CVSS-B",
        ), // CVE-2022-41741
        (
            "CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:P/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            7.7,
            "CVSS-B",
        ), // CVE-2020-3549
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N",
            0.0,
            "CVSS-B",
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U",
            8.1,
            "CVSS-BT",
        ),
        (
            "CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N/E:U/CR:L/IR:L/AR:L",
            0.1,
            "CVSS-BTE",
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/MSI:S",
            10.0,
            "CVSS-BE",
        ),
    ];
    for (vector, expected, nomenclature) in cases {
        let s = scored(vector);
        assert_eq!(s.score, expected, "{vector}");
        assert_eq!(s.severity, Severity::of(expected), "{vector}");
        assert_eq!(s.nomenclature, Some(nomenclature), "{vector}");
        assert_eq!((s.temporal_score, s.environmental_score), (None, None));
    }
}

#[test]
fn v4_base_score_leaves_out_threat_and_environment() {
    let s = scored("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U/MSI:S");
    assert_eq!((s.base_score, s.base_severity), (9.3, Severity::Critical));
    assert_eq!(s.nomenclature, Some("CVSS-BTE"));
}

#[test]
fn supplemental_metrics_do_not_change_the_score() {
    let base = "CVSS:4.0/AV:A/AC:H/AT:P/PR:L/UI:P/VC:L/VI:H/VA:N/SC:L/SI:N/SA:H/E:P/CR:M";
    let with = format!("{base}/S:P/AU:Y/R:I/V:C/RE:H/U:Red");
    let (a, b) = (scored(base), scored(&with));
    assert_eq!((a.score, a.base_score), (b.score, b.base_score));
    assert_eq!(b.metrics.len(), a.metrics.len() + 6);
    let urgency = b.metrics.last().unwrap();
    assert_eq!(
        (urgency.key, urgency.name, urgency.value, urgency.value_name),
        ("U", "Provider Urgency", "Red", "Red")
    );
}

#[test]
fn metrics_in_any_order_are_normalised_without_not_defined_ones() {
    let s = scored("CVSS:3.1/E:X/A:H/I:H/C:H/S:U/UI:N/PR:N/AC:L/AV:N/RL:O");
    assert_eq!(s.vector, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/RL:O");
    assert_eq!((s.base_score, s.score), (9.8, 9.4));
    let first = s.metrics.first().unwrap();
    assert_eq!(
        (first.key, first.name, first.value, first.value_name),
        ("AV", "Attack Vector", "N", "Network")
    );
    let s = scored("CVSS:4.0/SA:N/SI:N/SC:N/VA:H/VI:H/VC:H/UI:N/PR:N/AT:N/AC:L/AV:N/CR:X");
    assert_eq!(
        s.vector,
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
    );
    assert_eq!(s.nomenclature, Some("CVSS-B"), "X is not a defined metric");
}

#[test]
fn malformed_vectors_are_refused_with_the_reason() {
    let v31 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
    let v40 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N";
    let long = format!("{v31}{}", "/E:X".repeat(200));
    let cases: Vec<(String, &str)> = vec![
        ("".into(), "the vector is empty"),
        (long, "the vector is longer than 512 bytes"),
        (format!(" {v31}"), "the vector contains ' '"),
        (format!("{v31}\n"), "the vector contains '\\n'"),
        (
            "AV:N/AC:L/Au:N/C:P/I:P/A:P".into(),
            "not a CVSS vector: must start with `CVSS:3.0/`, `CVSS:3.1/` or `CVSS:4.0/`",
        ),
        (
            "CVSS:2.0/AV:N/AC:L/Au:N/C:P/I:P/A:P".into(),
            "CVSS version `2.0` is not supported",
        ),
        ("CVSS:3.2/AV:N".into(), "CVSS version `3.2` is not supported"),
        (
            v31.to_lowercase(),
            "the prefix must be written `CVSS:3.1/`, in capitals",
        ),
        ("CVSS:4.0".into(), "the vector has no metrics after `CVSS:4.0`"),
        ("CVSS:3.1/".into(), "the vector ends with `/`"),
        (format!("{v31}/"), "the vector ends with `/`"),
        (
            v31.replace("/S:U/", "/S:U//"),
            "the vector has an empty metric between two `/`",
        ),
        (
            v31.replace("/S:U/", "/SU/"),
            "`SU` is not a metric: each metric is written `KEY:VALUE`",
        ),
        (v31.replace("/S:U/", "/S:U:C/"), "`S:U:C` is not a metric"),
        (format!("{v31}/XX:Y"), "unknown metric `XX` in a CVSS 3.1 vector"),
        (format!("{v31}/AT:N"), "unknown metric `AT` in a CVSS 3.1 vector"),
        (format!("{v40}/RL:O"), "unknown metric `RL` in a CVSS 4.0 vector"),
        (
            v31.replace("AV:N", "av:N"),
            "unknown metric `av` in a CVSS 3.1 vector (metric names are case-sensitive: `AV`)",
        ),
        (
            v31.replace("AV:N", "AV:Q"),
            "`Q` is not a value of `AV` (Attack Vector): one of N, A, L, P",
        ),
        (
            v31.replace("AV:N", "AV:n"),
            "`n` is not a value of `AV` (Attack Vector): one of N, A, L, P (values are case-sensitive: `N`)",
        ),
        (v31.replace("AV:N", "AV:"), "`` is not a value of `AV`"),
        (format!("{v40}/MSC:S"), "`S` is not a value of `MSC`"),
        (v40.replace("SI:N", "SI:S"), "`S` is not a value of `SI`"),
        (
            format!("{v40}/U:red"),
            "`red` is not a value of `U` (Provider Urgency): one of X, Clear, Green, Amber, Red (values are \
             case-sensitive: `Red`)",
        ),
        (format!("{v31}/AV:N"), "metric `AV` given twice"),
        (format!("{v31}/E:X/E:X"), "metric `E` given twice"),
        (v31.replace("/AC:L", ""), "missing mandatory metric `AC`"),
        (
            "CVSS:3.1/AV:N".into(),
            "missing mandatory metrics `AC`, `PR`, `UI`, `S`, `C`, `I`, `A`",
        ),
        (v40.replace("/AT:N", ""), "missing mandatory metric `AT`"),
        (
            "CVSS:4.0/E:A".into(),
            "missing mandatory metrics `AV`, `AC`, `AT`, `PR`, `UI`, `VC`",
        ),
    ];
    for (vector, reason) in cases {
        match score(&vector) {
            Ok(s) => panic!("{vector:?} was accepted: {s:?}"),
            Err(CvssError::Invalid(message)) => {
                assert!(
                    message.starts_with(reason),
                    "{vector:?}: {message:?}, expected {reason:?}"
                )
            }
        }
    }
}

#[test]
fn severity_bands() {
    let cases = [
        (0.0, Severity::None),
        (0.1, Severity::Low),
        (3.9, Severity::Low),
        (4.0, Severity::Medium),
        (6.9, Severity::Medium),
        (7.0, Severity::High),
        (8.9, Severity::High),
        (9.0, Severity::Critical),
        (10.0, Severity::Critical),
    ];
    for (score, severity) in cases {
        assert_eq!(Severity::of(score), severity, "{score}");
    }
}

#[test]
fn every_reachable_macrovector_has_a_score() {
    let table = &v4_table::MACROVECTOR_SCORES;
    assert!(table.windows(2).all(|w| w[0].0 < w[1].0), "sorted, no duplicates");
    let mut reachable = 0;
    for eq1 in 0..3 {
        for eq2 in 0..2 {
            for eq3 in 0..3 {
                for eq4 in 0..3 {
                    for eq5 in 0..3 {
                        for eq6 in 0..2 {
                            let key = format!("{eq1}{eq2}{eq3}{eq4}{eq5}{eq6}");
                            let found = table.binary_search_by(|(k, _)| k.cmp(&key.as_str())).is_ok();
                            // EQ3 = 2 (no High impact) cannot go with EQ6 = 0 (a High impact required).
                            assert_eq!(found, !(eq3 == 2 && eq6 == 0), "{key}");
                            reachable += usize::from(found);
                        }
                    }
                }
            }
        }
    }
    assert_eq!(reachable, table.len());
    assert!(table.iter().all(|&(_, s)| (0.0..=10.0).contains(&s)));
}

#[test]
fn the_definitions_are_in_the_order_the_equations_index_them() {
    let keys = |defs: &[Def]| defs.iter().map(|d| d.key).collect::<Vec<_>>().join("/");
    assert_eq!(
        keys(&v3::DEFS),
        "AV/AC/PR/UI/S/C/I/A/E/RL/RC/CR/IR/AR/MAV/MAC/MPR/MUI/MS/MC/MI/MA"
    );
    assert_eq!(
        keys(&v4::DEFS),
        "AV/AC/AT/PR/UI/VC/VI/VA/SC/SI/SA/E/CR/IR/AR/MAV/MAC/MAT/MPR/MUI/MVC/MVI/MVA/MSC/MSI/MSA/S/AU/R/V/RE/U"
    );
    for defs in [&v3::DEFS[..], &v4::DEFS[..]] {
        for (i, d) in defs.iter().enumerate() {
            if let Some(base) = d
                .key
                .strip_prefix('M')
                .filter(|_| d.group == Group::Environmental)
            {
                let offset = defs.iter().position(|b| b.key == base).unwrap();
                assert_eq!(
                    i - offset,
                    defs.iter().position(|b| b.key.starts_with('M')).unwrap(),
                    "{}",
                    d.key
                );
            }
            assert_eq!(
                d.group == Group::Base,
                !d.values.iter().any(|v| v.code == "X"),
                "{}",
                d.key
            );
        }
    }
    assert!(
        v4::max_vectors_resolve(),
        "every highest-severity vector names known values"
    );
}

#[test]
fn the_score_serialises_for_the_api() {
    let s = scored("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:P");
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["version"], "4.0");
    assert_eq!(json["base_score"], 9.3);
    assert_eq!(json["base_severity"], "critical");
    assert_eq!(json["nomenclature"], "CVSS-BT");
    assert_eq!(json["metrics"][11]["name"], "Exploit Maturity");
    assert_eq!(json["metrics"][11]["value_name"], "POC");
}
