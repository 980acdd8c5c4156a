//! CVSS v3.0 and v3.1 (FIRST, CVSS v3.1 Specification Document, §7 "CVSS v3.1 Equations", and its v3.0
//! predecessor): the base, temporal and environmental equations.
//!
//! Both versions use v3.1's Roundup (Appendix A): the input is first rounded to five decimals, so that a
//! product such as 0.1 × 3 = 0.30000000000000004 in binary floating point is not pushed up a tenth. v3.0
//! defined Roundup as the plain ceiling to one decimal, which means the same in exact arithmetic; with
//! floats the plain ceiling would over-round a few vectors in a thousand, and the reference implementation
//! (exact decimals) agrees with v3.1's Roundup on every vector.

use super::{CvssError, Def, Given, Group, Score, Val, Version, def, parse, val};

const AV: usize = 0;
const AC: usize = 1;
const PR: usize = 2;
const UI: usize = 3;
const S: usize = 4;
const C: usize = 5;
const I: usize = 6;
const A: usize = 7;
const E: usize = 8;
const RL: usize = 9;
const RC: usize = 10;
const CR: usize = 11;
const IR: usize = 12;
const AR: usize = 13;
/// The modified metrics follow in the order of the base metrics they modify: `MAV` = `AV` + `MODIFIED`.
const MODIFIED: usize = 14;

const AV_VALUES: [Val; 4] = [
    val("N", "Network", 0.85),
    val("A", "Adjacent Network", 0.62),
    val("L", "Local", 0.55),
    val("P", "Physical", 0.2),
];
const AC_VALUES: [Val; 2] = [val("L", "Low", 0.77), val("H", "High", 0.44)];
/// The weights under an unchanged scope; a changed scope raises Low and High (`pr_weight`).
const PR_VALUES: [Val; 3] = [
    val("N", "None", 0.85),
    val("L", "Low", 0.62),
    val("H", "High", 0.27),
];
const UI_VALUES: [Val; 2] = [val("N", "None", 0.85), val("R", "Required", 0.62)];
const S_VALUES: [Val; 2] = [val("U", "Unchanged", 0.0), val("C", "Changed", 0.0)];
const CIA_VALUES: [Val; 3] = [
    val("H", "High", 0.56),
    val("L", "Low", 0.22),
    val("N", "None", 0.0),
];
const E_VALUES: [Val; 5] = [
    val("X", "Not Defined", 1.0),
    val("H", "High", 1.0),
    val("F", "Functional", 0.97),
    val("P", "Proof-of-Concept", 0.94),
    val("U", "Unproven", 0.91),
];
const RL_VALUES: [Val; 5] = [
    val("X", "Not Defined", 1.0),
    val("U", "Unavailable", 1.0),
    val("W", "Workaround", 0.97),
    val("T", "Temporary Fix", 0.96),
    val("O", "Official Fix", 0.95),
];
const RC_VALUES: [Val; 4] = [
    val("X", "Not Defined", 1.0),
    val("C", "Confirmed", 1.0),
    val("R", "Reasonable", 0.96),
    val("U", "Unknown", 0.92),
];
const REQUIREMENT_VALUES: [Val; 4] = [
    val("X", "Not Defined", 1.0),
    val("H", "High", 1.5),
    val("M", "Medium", 1.0),
    val("L", "Low", 0.5),
];
const MAV_VALUES: [Val; 5] = [
    val("X", "Not Defined", 0.0),
    val("N", "Network", 0.85),
    val("A", "Adjacent Network", 0.62),
    val("L", "Local", 0.55),
    val("P", "Physical", 0.2),
];
const MAC_VALUES: [Val; 3] = [
    val("X", "Not Defined", 0.0),
    val("L", "Low", 0.77),
    val("H", "High", 0.44),
];
const MPR_VALUES: [Val; 4] = [
    val("X", "Not Defined", 0.0),
    val("N", "None", 0.85),
    val("L", "Low", 0.62),
    val("H", "High", 0.27),
];
const MUI_VALUES: [Val; 3] = [
    val("X", "Not Defined", 0.0),
    val("N", "None", 0.85),
    val("R", "Required", 0.62),
];
const MS_VALUES: [Val; 3] = [
    val("X", "Not Defined", 0.0),
    val("U", "Unchanged", 0.0),
    val("C", "Changed", 0.0),
];
const MCIA_VALUES: [Val; 4] = [
    val("X", "Not Defined", 0.0),
    val("H", "High", 0.56),
    val("L", "Low", 0.22),
    val("N", "None", 0.0),
];

/// The metrics in the order of the specification's Table 15 (the vector string).
pub(crate) static DEFS: [Def; 22] = [
    def("AV", "Attack Vector", Group::Base, &AV_VALUES),
    def("AC", "Attack Complexity", Group::Base, &AC_VALUES),
    def("PR", "Privileges Required", Group::Base, &PR_VALUES),
    def("UI", "User Interaction", Group::Base, &UI_VALUES),
    def("S", "Scope", Group::Base, &S_VALUES),
    def("C", "Confidentiality", Group::Base, &CIA_VALUES),
    def("I", "Integrity", Group::Base, &CIA_VALUES),
    def("A", "Availability", Group::Base, &CIA_VALUES),
    def("E", "Exploit Code Maturity", Group::Temporal, &E_VALUES),
    def("RL", "Remediation Level", Group::Temporal, &RL_VALUES),
    def("RC", "Report Confidence", Group::Temporal, &RC_VALUES),
    def(
        "CR",
        "Confidentiality Requirement",
        Group::Environmental,
        &REQUIREMENT_VALUES,
    ),
    def(
        "IR",
        "Integrity Requirement",
        Group::Environmental,
        &REQUIREMENT_VALUES,
    ),
    def(
        "AR",
        "Availability Requirement",
        Group::Environmental,
        &REQUIREMENT_VALUES,
    ),
    def("MAV", "Modified Attack Vector", Group::Environmental, &MAV_VALUES),
    def(
        "MAC",
        "Modified Attack Complexity",
        Group::Environmental,
        &MAC_VALUES,
    ),
    def(
        "MPR",
        "Modified Privileges Required",
        Group::Environmental,
        &MPR_VALUES,
    ),
    def(
        "MUI",
        "Modified User Interaction",
        Group::Environmental,
        &MUI_VALUES,
    ),
    def("MS", "Modified Scope", Group::Environmental, &MS_VALUES),
    def(
        "MC",
        "Modified Confidentiality",
        Group::Environmental,
        &MCIA_VALUES,
    ),
    def("MI", "Modified Integrity", Group::Environmental, &MCIA_VALUES),
    def("MA", "Modified Availability", Group::Environmental, &MCIA_VALUES),
];

/// Roundup (v3.1, Appendix A): the smallest number with one decimal that is at least the input, computed
/// on the input rounded to five decimals so that floating-point noise does not add a tenth.
fn roundup(input: f64) -> f64 {
    let int_input = (input * 100_000.0).round() as i64;
    if int_input % 10_000 == 0 {
        int_input as f64 / 100_000.0
    } else {
        (int_input / 10_000 + 1) as f64 / 10.0
    }
}

/// Privileges Required weighs more when the scope changes (§7.4).
fn pr_weight(pr: &Val, scope_changed: bool) -> f64 {
    match (pr.code, scope_changed) {
        ("L", true) => 0.68,
        ("H", true) => 0.5,
        _ => pr.weight,
    }
}

/// The metrics an equation reads: for the base equations the base metrics, for the environmental one the
/// modified metrics where defined and the base ones otherwise.
struct Impact {
    av: f64,
    ac: f64,
    pr: f64,
    ui: f64,
    scope_changed: bool,
    c: f64,
    i: f64,
    a: f64,
}

impl Impact {
    fn base(given: &Given) -> Impact {
        let w = |index| given.or(index, &CIA_VALUES[2]).weight;
        let scope_changed = given.or(S, &S_VALUES[0]).code == "C";
        Impact {
            av: w(AV),
            ac: w(AC),
            pr: pr_weight(given.or(PR, &PR_VALUES[0]), scope_changed),
            ui: w(UI),
            scope_changed,
            c: w(C),
            i: w(I),
            a: w(A),
        }
    }

    fn modified(given: &Given) -> Impact {
        let effective = |index: usize| {
            given
                .defined(index + MODIFIED)
                .unwrap_or_else(|| given.or(index, &CIA_VALUES[2]))
        };
        let scope_changed = effective(S).code == "C";
        Impact {
            av: effective(AV).weight,
            ac: effective(AC).weight,
            pr: pr_weight(effective(PR), scope_changed),
            ui: effective(UI).weight,
            scope_changed,
            c: effective(C).weight,
            i: effective(I).weight,
            a: effective(A).weight,
        }
    }

    fn exploitability(&self) -> f64 {
        8.22 * self.av * self.ac * self.pr * self.ui
    }

    /// Roundup(min(impact + exploitability, 10)), ×1.08 under a changed scope; 0 without impact.
    fn combine(&self, impact: f64) -> f64 {
        if impact <= 0.0 {
            0.0
        } else if self.scope_changed {
            roundup(f64::min(1.08 * (impact + self.exploitability()), 10.0))
        } else {
            roundup(f64::min(impact + self.exploitability(), 10.0))
        }
    }
}

pub(crate) fn score(version: Version, body: &str) -> Result<Score, CvssError> {
    let given = parse(version, &DEFS, body)?;
    let temporal = |s: f64| {
        s * given.or(E, &E_VALUES[0]).weight
            * given.or(RL, &RL_VALUES[0]).weight
            * given.or(RC, &RC_VALUES[0]).weight
    };

    let base = Impact::base(&given);
    let iss = 1.0 - (1.0 - base.c) * (1.0 - base.i) * (1.0 - base.a);
    let impact = if base.scope_changed {
        7.52 * (iss - 0.029) - 3.25 * (iss - 0.02).powf(15.0)
    } else {
        6.42 * iss
    };
    let base_score = base.combine(impact);
    let temporal_score = roundup(temporal(base_score));

    let requirement = |index| given.or(index, &REQUIREMENT_VALUES[0]).weight;
    let modified = Impact::modified(&given);
    let miss = f64::min(
        1.0 - (1.0 - modified.c * requirement(CR))
            * (1.0 - modified.i * requirement(IR))
            * (1.0 - modified.a * requirement(AR)),
        0.915,
    );
    let modified_impact = match (modified.scope_changed, version) {
        (false, _) => 6.42 * miss,
        // v3.1 changed the environmental equation under a changed scope.
        (true, Version::V3_1) => 7.52 * (miss - 0.029) - 3.25 * (miss * 0.9731 - 0.02).powf(13.0),
        (true, _) => 7.52 * (miss - 0.029) - 3.25 * (miss - 0.02).powf(15.0),
    };
    let environmental_score = if modified_impact <= 0.0 {
        0.0
    } else {
        roundup(temporal(modified.combine(modified_impact)))
    };

    let score = if given.any_defined(Group::Environmental) {
        environmental_score
    } else if given.any_defined(Group::Temporal) {
        temporal_score
    } else {
        base_score
    };
    Ok(Score {
        temporal_score: Some(temporal_score),
        environmental_score: Some(environmental_score),
        ..given.scored(version, base_score, score)
    })
}
