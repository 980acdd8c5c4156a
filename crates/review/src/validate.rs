//! Validated values: once parsed, a value is known to be acceptable, so nothing past the edge re-checks it.

pub use kernel::validate::{ValidationError, reason, title};

use kernel::validate::{line, text};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

macro_rules! text_newtype {
    ($(#[$doc:meta])* $name:ident, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub fn parse(field: &str, value: &str) -> Result<Self, ValidationError> {
                let check: fn(&str, &str) -> Result<String, ValidationError> = $check;
                check(field, value).map($name)
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub fn into_inner(self) -> String {
                self.0
            }
        }
    };
}

text_newtype!(
    /// A model's public or code name, e.g. "Orion".
    ModelName,
    |f, v| line(f, v, 200)
);
text_newtype!(
    /// A model's version label, e.g. "2.1-preview".
    ModelVersion,
    |f, v| line(f, v, 100)
);
text_newtype!(
    /// A model card in Markdown; rendered with raw HTML escaped (see `markdown`).
    ModelCard,
    |f, v| text(f, v, 100_000, false)
);
text_newtype!(
    /// Free text of a finding or an assessment.
    FindingText,
    |f, v| text(f, v, 50_000, true)
);
text_newtype!(
    /// One message of a finding's response thread, in Markdown (rendered with raw HTML escaped).
    ResponseText,
    |f, v| text(f, v, 10_000, true)
);

macro_rules! keyword_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// The one way people read the value, in pages and notifications alike: the keyword with its
            /// first letter capitalised and `_` as a space ("critical_infrastructure" → "Critical
            /// infrastructure"). The API carries the keyword itself.
            pub fn label(self) -> String {
                let words = self.as_str().replace('_', " ");
                let mut chars = words.chars();
                match chars.next() {
                    Some(first) => first.to_uppercase().chain(chars).collect(),
                    None => String::new(),
                }
            }

            pub fn parse(field: &str, value: &str) -> Result<Self, ValidationError> {
                Self::ALL.iter().copied().find(|v| v.as_str() == value).ok_or_else(|| {
                    let allowed: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                    ValidationError::new(field, format!("must be one of: {}", allowed.join(", ")))
                })
            }
        }

        /// A stored value, read back (a value outside the set is corrupt data, not a default).
        impl TryFrom<String> for $name {
            type Error = ValidationError;

            fn try_from(value: String) -> Result<Self, ValidationError> {
                Self::parse(stringify!($name), &value)
            }
        }
    };
}

keyword_enum!(
    /// The risk domain a finding or an assessment is about.
    Domain {
        CyberOffense => "cyber_offense",
        CriticalInfrastructure => "critical_infrastructure",
        ChemicalBiological => "chemical_biological",
        Autonomy => "autonomy",
        Other => "other",
    }
);

keyword_enum!(
    /// Severity of a finding.
    Severity {
        Info => "info",
        Low => "low",
        Medium => "medium",
        High => "high",
        Critical => "critical",
    }
);

keyword_enum!(
    /// Where a finding stands: filed (open), then answered by the developer (acknowledged, mitigated,
    /// disputed) and closed or reopened by the finding's agency. Who may move it where is
    /// `app::policy::finding_transition`.
    FindingStatus {
        Open => "open",
        Acknowledged => "acknowledged",
        Mitigated => "mitigated",
        Disputed => "disputed",
        Closed => "closed",
    }
);

keyword_enum!(
    /// An assessment's advisory risk level for one domain.
    RiskLevel {
        None => "none",
        Low => "low",
        Moderate => "moderate",
        High => "high",
        Critical => "critical",
    }
);

/// Evidence: links to evaluation runs, gateway transcripts or attachments.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EvidenceLinks(Vec<String>);

impl EvidenceLinks {
    pub const MAX: usize = 50;

    pub fn parse(field: &str, links: &[String]) -> Result<Self, ValidationError> {
        if links.len() > Self::MAX {
            return Err(ValidationError::new(
                field,
                format!("at most {} links", Self::MAX),
            ));
        }
        let mut out = Vec::with_capacity(links.len());
        for (i, link) in links.iter().enumerate() {
            let link = line(&format!("{field}[{i}]"), link, 2000)?;
            let scheme_ok = ["https://", "http://", "urn:", "/"]
                .iter()
                .any(|p| link.starts_with(p));
            if !scheme_ok || link.starts_with("//") {
                return Err(ValidationError::new(
                    format!("{field}[{i}]"),
                    "must be an http(s) URL, a urn: or a path on this service",
                ));
            }
            out.push(link);
        }
        Ok(EvidenceLinks(out))
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    pub fn into_inner(self) -> Vec<String> {
        self.0
    }
}

/// An assessment's risk level per domain; at least one domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssessmentLevels(BTreeMap<Domain, RiskLevel>);

impl AssessmentLevels {
    pub fn parse(field: &str, levels: &BTreeMap<String, String>) -> Result<Self, ValidationError> {
        if levels.is_empty() {
            return Err(ValidationError::new(
                field,
                "must give a risk level for at least one domain",
            ));
        }
        let mut out = BTreeMap::new();
        for (domain, level) in levels {
            let domain = Domain::parse(&format!("{field}.{domain}"), domain)?;
            let level = RiskLevel::parse(&format!("{field}.{}", domain.as_str()), level)?;
            out.insert(domain, level);
        }
        Ok(AssessmentLevels(out))
    }

    pub fn as_map(&self) -> &BTreeMap<Domain, RiskLevel> {
        &self.0
    }

    /// The highest level across domains.
    pub fn overall(&self) -> RiskLevel {
        self.0.values().copied().max().unwrap_or(RiskLevel::None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_line_fields() {
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("Orion", Ok("Orion")),
            ("  padded  ", Ok("padded")),
            ("", Err("must not be empty")),
            ("   ", Err("must not be empty")),
            ("tab\tinside", Err("must not contain control characters")),
            ("new\nline", Err("must not contain control characters")),
        ];
        for (input, expected) in cases {
            let got = ModelName::parse("model_name", input);
            match expected {
                Ok(v) => assert_eq!(got.unwrap().as_str(), *v),
                Err(msg) => assert_eq!(got.unwrap_err().message, *msg, "{input:?}"),
            }
        }
        assert!(ModelName::parse("model_name", &"x".repeat(201)).is_err());
    }

    #[test]
    fn keywords_name_the_allowed_values() {
        assert_eq!(Severity::parse("severity", "high").unwrap(), Severity::High);
        let err = Severity::parse("severity", "urgent").unwrap_err();
        assert_eq!(err.field, "severity");
        assert!(err.message.contains("info, low, medium, high, critical"));
    }

    #[test]
    fn evidence_links_reject_scripts_and_protocol_relative() {
        assert!(EvidenceLinks::parse("evidence", &["https://runs/1".into(), "/api/v1/x".into()]).is_ok());
        for bad in [
            "javascript:alert(1)",
            "//evil.example/x",
            "data:text/html,x",
            "ftp://x",
        ] {
            let err = EvidenceLinks::parse("evidence", &[bad.into()]).unwrap_err();
            assert_eq!(err.field, "evidence[0]", "{bad}");
        }
    }

    #[test]
    fn assessment_levels() {
        let mut m = BTreeMap::new();
        m.insert("cyber_offense".to_owned(), "high".to_owned());
        m.insert("autonomy".to_owned(), "low".to_owned());
        let levels = AssessmentLevels::parse("levels", &m).unwrap();
        assert_eq!(levels.overall(), RiskLevel::High);
        m.insert("weather".to_owned(), "low".to_owned());
        assert_eq!(
            AssessmentLevels::parse("levels", &m).unwrap_err().field,
            "levels.weather"
        );
        assert!(AssessmentLevels::parse("levels", &BTreeMap::new()).is_err());
    }
}
