//! CVSS v4.0 (FIRST, CVSS v4.0 Specification Document, §8 "Scoring"): the vector's equivalence classes
//! EQ1 … EQ6 name its macrovector, whose score comes from FIRST's table (`v4_table.rs`); the score is then
//! lowered within the macrovector by the vector's severity distance from the macrovector's highest-severity
//! vectors, in proportion to the drop to each next-lower macrovector. Supplemental metrics are shown but
//! never change the score.
//!
//! The arithmetic follows FIRST's calculator step by step (the same sums in the same order), since the score
//! is rounded to one decimal and an operation done in another order could land a score on the other side of
//! a rounding boundary.

use super::v4_table::MACROVECTOR_SCORES;
use super::{CvssError, Def, Given, Group, Score, Val, Version, def, parse, val};

const AV: usize = 0;
const AC: usize = 1;
const AT: usize = 2;
const PR: usize = 3;
const UI: usize = 4;
const VC: usize = 5;
const VI: usize = 6;
const VA: usize = 7;
const SC: usize = 8;
const SI: usize = 9;
const SA: usize = 10;
const E: usize = 11;
const CR: usize = 12;
const IR: usize = 13;
const AR: usize = 14;
/// The modified metrics follow in the order of the base metrics they modify: `MAV` = `AV` + `MODIFIED`.
const MODIFIED: usize = 15;

// The weights are the severity levels of §8.2: how far a value is from the most severe value of its metric.
const AV_VALUES: [Val; 4] = [
    val("N", "Network", 0.0),
    val("A", "Adjacent", 0.1),
    val("L", "Local", 0.2),
    val("P", "Physical", 0.3),
];
const AC_VALUES: [Val; 2] = [val("L", "Low", 0.0), val("H", "High", 0.1)];
const AT_VALUES: [Val; 2] = [val("N", "None", 0.0), val("P", "Present", 0.1)];
const PR_VALUES: [Val; 3] = [val("N", "None", 0.0), val("L", "Low", 0.1), val("H", "High", 0.2)];
const UI_VALUES: [Val; 3] = [
    val("N", "None", 0.0),
    val("P", "Passive", 0.1),
    val("A", "Active", 0.2),
];
const VULNERABLE_VALUES: [Val; 3] = [val("H", "High", 0.0), val("L", "Low", 0.1), val("N", "None", 0.2)];
/// Subsequent-system levels start one step lower than the vulnerable system's: Safety is above High.
const SUBSEQUENT_VALUES: [Val; 3] = [val("H", "High", 0.1), val("L", "Low", 0.2), val("N", "None", 0.3)];
const E_VALUES: [Val; 4] = [
    val("X", "Not Defined", 0.0),
    val("A", "Attacked", 0.0),
    val("P", "POC", 0.0),
    val("U", "Unreported", 0.0),
];
/// Not Defined counts as High (§8.1).
const REQUIREMENT_VALUES: [Val; 4] = [
    val("X", "Not Defined", 0.0),
    val("H", "High", 0.0),
    val("M", "Medium", 0.1),
    val("L", "Low", 0.2),
];
const MAV_VALUES: [Val; 5] = [
    val("X", "Not Defined", 0.0),
    val("N", "Network", 0.0),
    val("A", "Adjacent", 0.1),
    val("L", "Local", 0.2),
    val("P", "Physical", 0.3),
];
const MAC_VALUES: [Val; 3] = [
    val("X", "Not Defined", 0.0),
    val("L", "Low", 0.0),
    val("H", "High", 0.1),
];
const MAT_VALUES: [Val; 3] = [
    val("X", "Not Defined", 0.0),
    val("N", "None", 0.0),
    val("P", "Present", 0.1),
];
const MPR_VALUES: [Val; 4] = [
    val("X", "Not Defined", 0.0),
    val("N", "None", 0.0),
    val("L", "Low", 0.1),
    val("H", "High", 0.2),
];
const MUI_VALUES: [Val; 4] = [
    val("X", "Not Defined", 0.0),
    val("N", "None", 0.0),
    val("P", "Passive", 0.1),
    val("A", "Active", 0.2),
];
const MVULNERABLE_VALUES: [Val; 4] = [
    val("X", "Not Defined", 0.0),
    val("H", "High", 0.0),
    val("L", "Low", 0.1),
    val("N", "None", 0.2),
];
const MSC_VALUES: [Val; 4] = [
    val("X", "Not Defined", 0.0),
    val("H", "High", 0.1),
    val("L", "Low", 0.2),
    val("N", "Negligible", 0.3),
];
const MSUBSEQUENT_VALUES: [Val; 5] = [
    val("X", "Not Defined", 0.0),
    val("S", "Safety", 0.0),
    val("H", "High", 0.1),
    val("L", "Low", 0.2),
    val("N", "Negligible", 0.3),
];
const SAFETY_VALUES: [Val; 3] = [
    val("X", "Not Defined", 0.0),
    val("N", "Negligible", 0.0),
    val("P", "Present", 0.0),
];
const AUTOMATABLE_VALUES: [Val; 3] = [
    val("X", "Not Defined", 0.0),
    val("N", "No", 0.0),
    val("Y", "Yes", 0.0),
];
const RECOVERY_VALUES: [Val; 4] = [
    val("X", "Not Defined", 0.0),
    val("A", "Automatic", 0.0),
    val("U", "User", 0.0),
    val("I", "Irrecoverable", 0.0),
];
const VALUE_DENSITY_VALUES: [Val; 3] = [
    val("X", "Not Defined", 0.0),
    val("D", "Diffuse", 0.0),
    val("C", "Concentrated", 0.0),
];
const EFFORT_VALUES: [Val; 4] = [
    val("X", "Not Defined", 0.0),
    val("L", "Low", 0.0),
    val("M", "Moderate", 0.0),
    val("H", "High", 0.0),
];
const URGENCY_VALUES: [Val; 5] = [
    val("X", "Not Defined", 0.0),
    val("Clear", "Clear", 0.0),
    val("Green", "Green", 0.0),
    val("Amber", "Amber", 0.0),
    val("Red", "Red", 0.0),
];

const ENV: Group = Group::Environmental;
const SUP: Group = Group::Supplemental;

/// The metrics in the order of the specification's Table 23 (the vector string).
pub(crate) static DEFS: [Def; 32] = [
    def("AV", "Attack Vector", Group::Base, &AV_VALUES),
    def("AC", "Attack Complexity", Group::Base, &AC_VALUES),
    def("AT", "Attack Requirements", Group::Base, &AT_VALUES),
    def("PR", "Privileges Required", Group::Base, &PR_VALUES),
    def("UI", "User Interaction", Group::Base, &UI_VALUES),
    def(
        "VC",
        "Vulnerable System Confidentiality Impact",
        Group::Base,
        &VULNERABLE_VALUES,
    ),
    def(
        "VI",
        "Vulnerable System Integrity Impact",
        Group::Base,
        &VULNERABLE_VALUES,
    ),
    def(
        "VA",
        "Vulnerable System Availability Impact",
        Group::Base,
        &VULNERABLE_VALUES,
    ),
    def(
        "SC",
        "Subsequent System Confidentiality Impact",
        Group::Base,
        &SUBSEQUENT_VALUES,
    ),
    def(
        "SI",
        "Subsequent System Integrity Impact",
        Group::Base,
        &SUBSEQUENT_VALUES,
    ),
    def(
        "SA",
        "Subsequent System Availability Impact",
        Group::Base,
        &SUBSEQUENT_VALUES,
    ),
    def("E", "Exploit Maturity", Group::Temporal, &E_VALUES),
    def("CR", "Confidentiality Requirement", ENV, &REQUIREMENT_VALUES),
    def("IR", "Integrity Requirement", ENV, &REQUIREMENT_VALUES),
    def("AR", "Availability Requirement", ENV, &REQUIREMENT_VALUES),
    def("MAV", "Modified Attack Vector", ENV, &MAV_VALUES),
    def("MAC", "Modified Attack Complexity", ENV, &MAC_VALUES),
    def("MAT", "Modified Attack Requirements", ENV, &MAT_VALUES),
    def("MPR", "Modified Privileges Required", ENV, &MPR_VALUES),
    def("MUI", "Modified User Interaction", ENV, &MUI_VALUES),
    def(
        "MVC",
        "Modified Vulnerable System Confidentiality",
        ENV,
        &MVULNERABLE_VALUES,
    ),
    def(
        "MVI",
        "Modified Vulnerable System Integrity",
        ENV,
        &MVULNERABLE_VALUES,
    ),
    def(
        "MVA",
        "Modified Vulnerable System Availability",
        ENV,
        &MVULNERABLE_VALUES,
    ),
    def(
        "MSC",
        "Modified Subsequent System Confidentiality",
        ENV,
        &MSC_VALUES,
    ),
    def(
        "MSI",
        "Modified Subsequent System Integrity",
        ENV,
        &MSUBSEQUENT_VALUES,
    ),
    def(
        "MSA",
        "Modified Subsequent System Availability",
        ENV,
        &MSUBSEQUENT_VALUES,
    ),
    def("S", "Safety", SUP, &SAFETY_VALUES),
    def("AU", "Automatable", SUP, &AUTOMATABLE_VALUES),
    def("R", "Recovery", SUP, &RECOVERY_VALUES),
    def("V", "Value Density", SUP, &VALUE_DENSITY_VALUES),
    def("RE", "Vulnerability Response Effort", SUP, &EFFORT_VALUES),
    def("U", "Provider Urgency", SUP, &URGENCY_VALUES),
];

/// The metrics the equations read, in the order of the distance calculation: AV PR UI (EQ1), AC AT (EQ2),
/// VC VI VA CR IR AR (EQ3 with EQ6), SC SI SA (EQ4). Each is the modified value where one is defined.
const DISTANCE_ORDER: [usize; 14] = [AV, PR, UI, AC, AT, VC, VI, VA, CR, IR, AR, SC, SI, SA];

/// The values a score is computed from.
struct Effective {
    /// In `DISTANCE_ORDER`.
    values: [&'static Val; 14],
    exploit_maturity: &'static Val,
}

impl Effective {
    /// With `full`, every metric given: the modified metrics replace the base ones where defined, and the
    /// exploit maturity and the requirements count. Without, the base metrics alone (CVSS-B). Not Defined
    /// takes the highest severity: Attacked, High requirements (§8.1).
    fn of(given: &Given, full: bool) -> Effective {
        let value = |index: usize| -> &'static Val {
            match index {
                CR | IR | AR if full => given.or(index, &REQUIREMENT_VALUES[1]),
                CR | IR | AR => &REQUIREMENT_VALUES[1],
                _ => full
                    .then(|| given.defined(index + MODIFIED))
                    .flatten()
                    .unwrap_or_else(|| given.or(index, &VULNERABLE_VALUES[2])),
            }
        };
        Effective {
            values: DISTANCE_ORDER.map(value),
            exploit_maturity: if full {
                given.or(E, &E_VALUES[1])
            } else {
                &E_VALUES[1]
            },
        }
    }

    fn code(&self, index: usize) -> &'static str {
        DISTANCE_ORDER
            .iter()
            .position(|&i| i == index)
            .and_then(|p| self.values.get(p))
            .map_or("", |v| v.code)
    }

    /// The equivalence classes EQ1 … EQ6 (§8.2, Tables 24–29).
    fn macrovector(&self) -> [u8; 6] {
        let is = |index, code| self.code(index) == code;
        let eq1 = if is(AV, "N") && is(PR, "N") && is(UI, "N") {
            0
        } else if (is(AV, "N") || is(PR, "N") || is(UI, "N")) && !is(AV, "P") {
            1
        } else {
            2
        };
        let eq2 = if is(AC, "L") && is(AT, "N") { 0 } else { 1 };
        let eq3 = if is(VC, "H") && is(VI, "H") {
            0
        } else if is(VC, "H") || is(VI, "H") || is(VA, "H") {
            1
        } else {
            2
        };
        let eq4 = if is(SI, "S") || is(SA, "S") {
            0
        } else if is(SC, "H") || is(SI, "H") || is(SA, "H") {
            1
        } else {
            2
        };
        let eq5 = match self.exploit_maturity.code {
            "P" => 1,
            "U" => 2,
            _ => 0,
        };
        let eq6 =
            if (is(CR, "H") && is(VC, "H")) || (is(IR, "H") && is(VI, "H")) || (is(AR, "H") && is(VA, "H")) {
                0
            } else {
                1
            };
        [eq1, eq2, eq3, eq4, eq5, eq6]
    }
}

/// The macrovector's score, NaN for a class that does not exist (the next-lower class of a lowest one).
fn lookup(eq: [u8; 6]) -> f64 {
    let key = eq.map(|level| b'0' + level);
    MACROVECTOR_SCORES
        .binary_search_by(|(k, _)| k.as_bytes().cmp(key.as_slice()))
        .ok()
        .and_then(|i| MACROVECTOR_SCORES.get(i))
        .map_or(f64::NAN, |&(_, score)| score)
}

/// The highest-severity vectors of each class (the calculator's `max_composed`), as values in
/// `DISTANCE_ORDER` per equation: EQ1 (AV, PR, UI), EQ2 (AC, AT), EQ3 with EQ6 (VC, VI, VA, CR, IR, AR),
/// EQ4 (SC, SI, SA). EQ5 adds nothing to the distance.
const EQ1_MAX: [&[[&str; 3]]; 3] = [
    &[["N", "N", "N"]],
    &[["A", "N", "N"], ["N", "L", "N"], ["N", "N", "P"]],
    &[["P", "N", "N"], ["A", "L", "P"]],
];
const EQ2_MAX: [&[[&str; 2]]; 2] = [&[["L", "N"]], &[["H", "N"], ["L", "P"]]];
/// By EQ3, then EQ6.
const EQ3_EQ6_MAX: [[&[[&str; 6]]; 2]; 3] = [
    [
        &[["H", "H", "H", "H", "H", "H"]],
        &[["H", "H", "L", "M", "M", "H"], ["H", "H", "H", "M", "M", "M"]],
    ],
    [
        &[["L", "H", "H", "H", "H", "H"], ["H", "L", "H", "H", "H", "H"]],
        &[
            ["L", "H", "L", "H", "M", "H"],
            ["L", "H", "H", "H", "M", "M"],
            ["H", "L", "H", "M", "H", "M"],
            ["H", "L", "L", "M", "H", "H"],
            ["L", "L", "H", "H", "H", "M"],
        ],
    ],
    [&[], &[["L", "L", "L", "H", "H", "H"]]],
];
const EQ4_MAX: [&[[&str; 3]]; 3] = [&[["H", "S", "S"]], &[["H", "H", "H"]], &[["L", "L", "L"]]];

/// The greatest severity distance within each class, in steps of 0.1 (the calculator's `max_severity`).
const EQ1_DEPTH: [u8; 3] = [1, 4, 5];
const EQ2_DEPTH: [u8; 2] = [1, 2];
const EQ3_EQ6_DEPTH: [[u8; 2]; 3] = [[7, 6], [8, 8], [0, 10]];
const EQ4_DEPTH: [u8; 3] = [6, 5, 4];

/// The definition whose levels a distance position is measured on: the modified metrics' for SC, SI and
/// SA, which include Safety.
fn level(position: usize, code: &str) -> Option<f64> {
    let index = *DISTANCE_ORDER.get(position)?;
    let index = if (SC..=SA).contains(&index) {
        index + MODIFIED
    } else {
        index
    };
    DEFS.get(index)?.value(code).map(|v| v.weight)
}

/// The highest-severity vectors of the macrovector as levels in `DISTANCE_ORDER`, in the calculator's order.
fn max_vectors(eq: [u8; 6]) -> Vec<[f64; 14]> {
    let [eq1, eq2, eq3, eq4, _, eq6] = eq.map(usize::from);
    let none: &[[&str; 6]] = &[];
    let eq36 = EQ3_EQ6_MAX
        .get(eq3)
        .and_then(|by6| by6.get(eq6))
        .copied()
        .unwrap_or(none);
    let mut vectors = Vec::new();
    for a in EQ1_MAX.get(eq1).copied().unwrap_or_default() {
        for b in EQ2_MAX.get(eq2).copied().unwrap_or_default() {
            for c in eq36 {
                for d in EQ4_MAX.get(eq4).copied().unwrap_or_default() {
                    let codes = a.iter().chain(b).chain(c).chain(d);
                    let mut levels = [0.0; 14];
                    for (position, (slot, code)) in levels.iter_mut().zip(codes).enumerate() {
                        *slot = level(position, code).unwrap_or(0.0);
                    }
                    vectors.push(levels);
                }
            }
        }
    }
    vectors
}

/// The score of the effective values (§8.2), rounded to one decimal.
fn score_of(m: &Effective) -> f64 {
    // No impact on either system: nothing to score.
    if [VC, VI, VA, SC, SI, SA].iter().all(|&i| m.code(i) == "N") {
        return 0.0;
    }
    let eq = m.macrovector();
    let [eq1, eq2, eq3, eq4, eq5, eq6] = eq;
    let value = lookup(eq);
    let lower = |d1, d2, d3, d4, d5, d6| lookup([eq1 + d1, eq2 + d2, eq3 + d3, eq4 + d4, eq5 + d5, eq6 + d6]);
    let lower_eq1 = lower(1, 0, 0, 0, 0, 0);
    let lower_eq2 = lower(0, 1, 0, 0, 0, 0);
    let lower_eq3_eq6 = match (eq3, eq6) {
        (0 | 1, 1) => lower(0, 0, 1, 0, 0, 0),
        (1, 0) => lower(0, 0, 0, 0, 0, 1),
        (0, 0) => {
            // Two classes lie below; the higher of them, the left one when it is missing (as the calculator).
            let (left, right) = (lower(0, 0, 0, 0, 0, 1), lower(0, 0, 1, 0, 0, 0));
            if right > left { right } else { left }
        }
        _ => lower(0, 0, 1, 0, 0, 1),
    };
    let lower_eq4 = lower(0, 0, 0, 1, 0, 0);
    let lower_eq5 = lower(0, 0, 0, 0, 1, 0);

    // The first highest vector the vector does not exceed in any metric (the last one if none).
    let current = m.values.map(|v| v.weight);
    let mut distance = [0.0; 14];
    for max in max_vectors(eq) {
        for ((d, c), x) in distance.iter_mut().zip(current).zip(max) {
            *d = c - x;
        }
        if distance.iter().all(|&d| d >= 0.0) {
            break;
        }
    }
    let [av, pr, ui, ac, at, vc, vi, va, cr, ir, ar, sc, si, sa] = distance;
    let current_eq1 = av + pr + ui;
    let current_eq2 = ac + at;
    let current_eq3_eq6 = vc + vi + va + cr + ir + ar;
    let current_eq4 = sc + si + sa;

    let step = 0.1;
    let depth = |table: Option<&u8>| f64::from(table.copied().unwrap_or(0)) * step;
    let eq3_eq6_depth = EQ3_EQ6_DEPTH
        .get(usize::from(eq3))
        .and_then(|by6| by6.get(usize::from(eq6)));
    let parts = [
        (lower_eq1, current_eq1, depth(EQ1_DEPTH.get(usize::from(eq1)))),
        (lower_eq2, current_eq2, depth(EQ2_DEPTH.get(usize::from(eq2)))),
        (lower_eq3_eq6, current_eq3_eq6, depth(eq3_eq6_depth)),
        (lower_eq4, current_eq4, depth(EQ4_DEPTH.get(usize::from(eq4)))),
        // EQ5's distance is always 0, but an existing lower class still counts in the mean.
        (lower_eq5, 0.0, 1.0),
    ];
    let mut existing_lower = 0;
    let mut normalized = [0.0; 5];
    for (slot, (lower, current, depth)) in normalized.iter_mut().zip(parts) {
        let available = value - lower;
        // NaN (no lower class) compares false.
        if available >= 0.0 {
            existing_lower += 1;
            *slot = available * (current / depth);
        }
    }
    let mean = if existing_lower == 0 {
        0.0
    } else {
        let [n1, n2, n36, n4, n5] = normalized;
        (n1 + n2 + n36 + n4 + n5) / f64::from(existing_lower)
    };
    round_to_tenth((value - mean).clamp(0.0, 10.0) + 1e-6)
}

/// Rounds half up to one decimal, exactly on the binary value given (as the calculator's decimal rounding
/// does): `x = m·2^e`, so `floor(10x + ½) = floor((20m + 2^-e) / 2^(1-e))`, in integers.
fn round_to_tenth(x: f64) -> f64 {
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1_u64 << 52) - 1);
    let (mantissa, exponent) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1_u64 << 52), biased - 1075)
    };
    if exponent >= 0 {
        // A whole number already.
        return x;
    }
    let shift = exponent.unsigned_abs();
    if shift > 100 {
        // Below 2^-47: rounds to 0.
        return 0.0;
    }
    let tenths = (20 * u128::from(mantissa) + (1_u128 << shift)) >> (shift + 1);
    tenths as f64 / 10.0
}

pub(crate) fn score(body: &str) -> Result<Score, CvssError> {
    let given = parse(Version::V4_0, &DEFS, body)?;
    let threat = given.any_defined(Group::Temporal);
    let environmental = given.any_defined(Group::Environmental);
    let base_score = score_of(&Effective::of(&given, false));
    let score = score_of(&Effective::of(&given, true));
    let nomenclature = match (threat, environmental) {
        (false, false) => "CVSS-B",
        (true, false) => "CVSS-BT",
        (false, true) => "CVSS-BE",
        (true, true) => "CVSS-BTE",
    };
    Ok(Score {
        nomenclature: Some(nomenclature),
        ..given.scored(Version::V4_0, base_score, score)
    })
}

/// Whether every code of the highest-severity vectors is a value of its metric.
#[cfg(test)]
pub(crate) fn max_vectors_resolve() -> bool {
    let eq36 = EQ3_EQ6_MAX.iter().flatten().flat_map(|v| v.iter());
    let all = EQ1_MAX
        .iter()
        .flat_map(|v| v.iter())
        .flat_map(|codes| codes.iter().enumerate().map(|(p, c)| (p, *c)));
    let all = all
        .chain(
            EQ2_MAX
                .iter()
                .flat_map(|v| v.iter())
                .flat_map(|c| c.iter().enumerate().map(|(p, c)| (p + 3, *c))),
        )
        .chain(eq36.flat_map(|c| c.iter().enumerate().map(|(p, c)| (p + 5, *c))))
        .chain(
            EQ4_MAX
                .iter()
                .flat_map(|v| v.iter())
                .flat_map(|c| c.iter().enumerate().map(|(p, c)| (p + 11, *c))),
        );
    let mut count = 0;
    for (position, code) in all {
        count += 1;
        if level(position, code).is_none() {
            return false;
        }
    }
    count == 3 * (1 + 3 + 2) + 2 * 3 + 6 * 11 + 3 * 3
}
