//! CVSS v3.0, v3.1 and v4.0 vectors: parsed, validated and scored as FIRST's specifications define.
//!
//! CONTRACT (the rest of the clearinghouse relies on these names; the bodies below are placeholders to be
//! replaced by the real implementation):
//! - `score(vector)` parses any supported vector by its prefix and scores it;
//! - `Score` is serialisable and says the version, the normalised vector, the base score and severity, the
//!   vector's overall score and severity, and each metric with its human name.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    None,
    Low,
    Medium,
    High,
    Critical,
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

/// Parses and scores a CVSS v3.0, v3.1 or v4.0 vector.
pub fn score(vector: &str) -> Result<Score, CvssError> {
    Err(CvssError::Invalid(format!(
        "scoring is not built yet: {}",
        vector.len()
    )))
}
