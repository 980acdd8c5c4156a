//! CVSS v3.0, v3.1 and v4.0 vectors: parsed, validated and scored as FIRST's specifications define.
//!
//! - `score(vector)` parses any supported vector by its prefix and scores it (`v3.rs`: the base, temporal and
//!   environmental equations with the specification's Roundup; `v4.rs`: the macrovector table and the
//!   interpolation by severity distance).
//! - `Score` is serialisable and says the version, the normalised vector, the base score and severity, the
//!   vector's overall score and severity, and each metric with its human name.
//!
//! What is accepted: the prefix `CVSS:3.0/`, `CVSS:3.1/` or `CVSS:4.0/` in capitals, then `KEY:VALUE` metrics
//! separated by `/`, every base metric once, each other metric at most once, no empty field, no trailing `/`,
//! at most `MAX_VECTOR_LEN` bytes of printable ASCII. Names and values are case-sensitive, as the
//! specifications write them. Metrics may come in any order: FIRST's v3.x JSON schema admits any order, its
//! v4.0 schema and specification list one order, but advisories in the wild (and the reference library,
//! PyPI `cvss`) give other orders, and with duplicates refused the order carries no meaning. `Score::vector`
//! gives the metrics back in the specification's order, leaving out those set to `X` (Not Defined).

mod v3;
mod v4;
mod v4_table;

#[cfg(test)]
mod tests;

use serde::Serialize;

/// The longest vector accepted. A v4.0 vector with every metric given is under 200 bytes.
pub const MAX_VECTOR_LEN: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    None,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::None,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The stored and API form: `none`, `low`, `medium`, `high`, `critical`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::None => "none",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// The qualitative rating of a score, the same scale in v3.x and v4.0.
    pub fn of(score: f64) -> Severity {
        if score <= 0.0 {
            Severity::None
        } else if score <= 3.9 {
            Severity::Low
        } else if score <= 6.9 {
            Severity::Medium
        } else if score <= 8.9 {
            Severity::High
        } else {
            Severity::Critical
        }
    }
}

/// A stored severity, read back (a value outside the set is corrupt data, never a default).
impl TryFrom<String> for Severity {
    type Error = CvssError;

    fn try_from(value: String) -> Result<Self, CvssError> {
        Severity::ALL
            .into_iter()
            .find(|s| s.as_str() == value)
            .ok_or_else(|| invalid(format!("{value:?} is not a severity")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Version {
    #[serde(rename = "3.0")]
    V3_0,
    #[serde(rename = "3.1")]
    V3_1,
    #[serde(rename = "4.0")]
    V4_0,
}

impl Version {
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V3_0 => "3.0",
            Version::V3_1 => "3.1",
            Version::V4_0 => "4.0",
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Version::V3_0 => "CVSS:3.0/",
            Version::V3_1 => "CVSS:3.1/",
            Version::V4_0 => "CVSS:4.0/",
        }
    }

    const ALL: [Version; 3] = [Version::V3_0, Version::V3_1, Version::V4_0];
}

/// One metric of a vector, for display: `AV` "Attack Vector" = `N` "Network".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Metric {
    pub key: &'static str,
    pub name: &'static str,
    pub value: &'static str,
    pub value_name: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    pub version: Version,
    /// The vector as given, metrics in the specification's order (undefined `X` metrics left out).
    pub vector: String,
    /// v3: the base score; v4: the score of the base metrics alone (CVSS-B).
    pub base_score: f64,
    pub base_severity: Severity,
    /// v3: the environmental score if any environmental metric is defined, else the temporal score if any
    /// temporal metric is, else the base score. v4: the score of every metric given.
    pub score: f64,
    pub severity: Severity,
    /// v4: `CVSS-B`, `CVSS-BT`, `CVSS-BE` or `CVSS-BTE`; v3: none.
    pub nomenclature: Option<&'static str>,
    /// v3: the temporal equation's result (the base score when no temporal metric is defined); v4: none.
    pub temporal_score: Option<f64>,
    /// v3: the environmental equation's result, whose modified metrics default to the base ones, so it is
    /// given even when no environmental metric is defined (and may then differ from the base score under a
    /// changed scope); v4: none.
    pub environmental_score: Option<f64>,
    pub metrics: Vec<Metric>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CvssError {
    /// Every reason names the problem, e.g. "unknown metric `XX`", "metric `AV` given twice",
    /// "missing mandatory metric `AC`", "`Q` is not a value of `AV`", "not a CVSS vector: must start with
    /// `CVSS:3.1/` or `CVSS:4.0/`".
    #[error("{0}")]
    Invalid(String),
}

fn invalid(reason: impl Into<String>) -> CvssError {
    CvssError::Invalid(reason.into())
}

/// Parses and scores a CVSS v3.0, v3.1 or v4.0 vector.
pub fn score(vector: &str) -> Result<Score, CvssError> {
    let (version, body) = split_prefix(vector)?;
    match version {
        Version::V3_0 | Version::V3_1 => v3::score(version, body),
        Version::V4_0 => v4::score(body),
    }
}

const PREFIXES: &str = "`CVSS:3.0/`, `CVSS:3.1/` or `CVSS:4.0/`";

/// The version a vector's prefix names, and the metrics after it.
fn split_prefix(vector: &str) -> Result<(Version, &str), CvssError> {
    if vector.is_empty() {
        return Err(invalid("the vector is empty"));
    }
    if vector.len() > MAX_VECTOR_LEN {
        return Err(invalid(format!(
            "the vector is longer than {MAX_VECTOR_LEN} bytes"
        )));
    }
    if let Some(c) = vector.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(invalid(format!(
            "the vector contains {c:?}: a vector is letters, digits, `:`, `.` and `/` without spaces"
        )));
    }
    for version in Version::ALL {
        let prefix = version.prefix();
        if let Some(body) = vector.strip_prefix(prefix) {
            return Ok((version, body));
        }
        let bare = prefix.trim_end_matches('/');
        if vector == bare {
            return Err(invalid(format!("the vector has no metrics after `{bare}`")));
        }
        if vector
            .get(..prefix.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
        {
            return Err(invalid(format!(
                "the prefix must be written `{prefix}`, in capitals"
            )));
        }
    }
    match vector
        .strip_prefix("CVSS:")
        .and_then(|rest| rest.split('/').next())
    {
        Some(other) => Err(invalid(format!(
            "CVSS version `{other}` is not supported: the vector must start with {PREFIXES}"
        ))),
        None => Err(invalid(format!("not a CVSS vector: must start with {PREFIXES}"))),
    }
}

/// The groups of metrics. Base metrics are mandatory; the others default to Not Defined (`X`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Group {
    Base,
    /// v3 "Temporal", v4 "Threat".
    Temporal,
    Environmental,
    Supplemental,
}

/// A value of a metric: its letter, its name and its number in the equations (v3: the weight; v4: the
/// severity level used for the distance to the macrovector's highest vector; 0 where unused).
#[derive(Debug, PartialEq)]
pub(crate) struct Val {
    pub code: &'static str,
    pub name: &'static str,
    pub weight: f64,
}

/// A metric as the specification defines it; a version's metrics are listed in its specification's order.
#[derive(Debug)]
pub(crate) struct Def {
    pub key: &'static str,
    pub name: &'static str,
    pub group: Group,
    pub values: &'static [Val],
}

impl Def {
    fn value(&self, code: &str) -> Option<&'static Val> {
        self.values.iter().find(|v| v.code == code)
    }
}

pub(crate) const fn val(code: &'static str, name: &'static str, weight: f64) -> Val {
    Val { code, name, weight }
}

pub(crate) const fn def(key: &'static str, name: &'static str, group: Group, values: &'static [Val]) -> Def {
    Def {
        key,
        name,
        group,
        values,
    }
}

/// The most metrics a version has (v4.0: 32).
const MAX_METRICS: usize = 32;

/// The metrics of one vector, by position in its version's list of `Def`s.
pub(crate) struct Given {
    defs: &'static [Def],
    values: [Option<&'static Val>; MAX_METRICS],
}

impl Given {
    /// The value of the metric at `index`, `None` when not given.
    pub fn get(&self, index: usize) -> Option<&'static Val> {
        self.values.get(index).copied().flatten()
    }

    /// The value, unless it is absent or `X`.
    pub fn defined(&self, index: usize) -> Option<&'static Val> {
        self.get(index).filter(|v| v.code != "X")
    }

    /// Whether any metric of the group has a value other than `X`.
    pub fn any_defined(&self, group: Group) -> bool {
        self.defs
            .iter()
            .enumerate()
            .any(|(i, def)| def.group == group && self.defined(i).is_some())
    }

    /// A metric that parsing guarantees, or the fixed default the caller names (never reached for base
    /// metrics, which `parse` requires).
    pub fn or(&self, index: usize, default: &'static Val) -> &'static Val {
        self.defined(index).unwrap_or(default)
    }

    /// Every defined metric in the specification's order, for display.
    fn metrics(&self) -> Vec<Metric> {
        self.defs
            .iter()
            .enumerate()
            .filter_map(|(i, def)| {
                self.defined(i).map(|v| Metric {
                    key: def.key,
                    name: def.name,
                    value: v.code,
                    value_name: v.name,
                })
            })
            .collect()
    }

    /// The vector in the specification's order, without `X` metrics.
    fn normalised(&self, version: Version) -> String {
        let fields: Vec<String> = self
            .metrics()
            .iter()
            .map(|m| format!("{}:{}", m.key, m.value))
            .collect();
        format!("{}{}", version.prefix(), fields.join("/"))
    }

    /// The score of this vector with its two numbers (and their severities); the version's own parts
    /// (nomenclature, temporal and environmental scores) are left for the caller to fill in.
    fn scored(&self, version: Version, base_score: f64, score: f64) -> Score {
        Score {
            version,
            vector: self.normalised(version),
            base_score,
            base_severity: Severity::of(base_score),
            score,
            severity: Severity::of(score),
            nomenclature: None,
            temporal_score: None,
            environmental_score: None,
            metrics: self.metrics(),
        }
    }
}

/// Reads the metrics after the prefix against a version's definitions.
pub(crate) fn parse(version: Version, defs: &'static [Def], body: &str) -> Result<Given, CvssError> {
    if body.is_empty() || body.ends_with('/') {
        return Err(invalid("the vector ends with `/`"));
    }
    let mut given = Given {
        defs,
        values: [None; MAX_METRICS],
    };
    for field in body.split('/') {
        if field.is_empty() {
            return Err(invalid("the vector has an empty metric between two `/`"));
        }
        let Some((key, code)) = field.split_once(':').filter(|(_, code)| !code.contains(':')) else {
            return Err(invalid(format!(
                "`{field}` is not a metric: each metric is written `KEY:VALUE`"
            )));
        };
        let Some((index, def)) = defs.iter().enumerate().find(|(_, d)| d.key == key) else {
            let hint = defs
                .iter()
                .find(|d| d.key.eq_ignore_ascii_case(key))
                .map(|d| format!(" (metric names are case-sensitive: `{}`)", d.key))
                .unwrap_or_default();
            return Err(invalid(format!(
                "unknown metric `{key}` in a CVSS {} vector{hint}",
                version.as_str()
            )));
        };
        let Some(value) = def.value(code) else {
            let hint = def
                .values
                .iter()
                .find(|v| v.code.eq_ignore_ascii_case(code))
                .map(|v| format!(" (values are case-sensitive: `{}`)", v.code))
                .unwrap_or_default();
            let allowed: Vec<&str> = def.values.iter().map(|v| v.code).collect();
            return Err(invalid(format!(
                "`{code}` is not a value of `{key}` ({}): one of {}{hint}",
                def.name,
                allowed.join(", ")
            )));
        };
        let Some(slot) = given.values.get_mut(index) else {
            return Err(invalid(format!("unknown metric `{key}`")));
        };
        if slot.is_some() {
            return Err(invalid(format!("metric `{key}` given twice")));
        }
        *slot = Some(value);
    }
    let missing: Vec<String> = defs
        .iter()
        .enumerate()
        .filter(|(i, d)| d.group == Group::Base && given.get(*i).is_none())
        .map(|(_, d)| format!("`{}`", d.key))
        .collect();
    match missing.as_slice() {
        [] => Ok(given),
        [one] => Err(invalid(format!("missing mandatory metric {one}"))),
        many => Err(invalid(format!("missing mandatory metrics {}", many.join(", ")))),
    }
}
