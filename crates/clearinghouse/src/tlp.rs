//! Traffic Light Protocol 2.0 (FIRST): the marking every report, attachment, case and advisory carries.
//!
//! What each marking lets a reader see is decided in one place, the store's `tlp_admits!` fragment, compiled
//! into every query from the reader's `kernel::TlpAudience` (see `app::policy::clearinghouse`):
//! - CLEAR: anyone, without signing in;
//! - GREEN: every member organisation (any signed-in person);
//! - AMBER: the recipient organisations (the owner's, the case's participants, coordinators) and the client
//!   organisations they name;
//! - AMBER+STRICT: the recipient organisations only;
//! - RED: the people named, and the person who shared it.
//!
//! A case under embargo (not yet published) further limits every marking to its participants and
//! coordinators; RED still goes to the people named only.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The markings, from the least to the most restrictive (the derived order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Tlp {
    #[serde(rename = "clear")]
    Clear,
    #[serde(rename = "green")]
    Green,
    #[serde(rename = "amber")]
    Amber,
    #[serde(rename = "amber+strict")]
    AmberStrict,
    #[serde(rename = "red")]
    Red,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a TLP 2.0 marking: use clear, green, amber, amber+strict or red")]
pub struct TlpError(pub String);

impl Tlp {
    pub const ALL: [Tlp; 5] = [Tlp::Clear, Tlp::Green, Tlp::Amber, Tlp::AmberStrict, Tlp::Red];

    /// The stored and API form: `clear`, `green`, `amber`, `amber+strict`, `red`.
    pub fn as_str(self) -> &'static str {
        match self {
            Tlp::Clear => "clear",
            Tlp::Green => "green",
            Tlp::Amber => "amber",
            Tlp::AmberStrict => "amber+strict",
            Tlp::Red => "red",
        }
    }

    /// As people write it: `TLP:AMBER+STRICT`.
    pub fn label(self) -> &'static str {
        match self {
            Tlp::Clear => "TLP:CLEAR",
            Tlp::Green => "TLP:GREEN",
            Tlp::Amber => "TLP:AMBER",
            Tlp::AmberStrict => "TLP:AMBER+STRICT",
            Tlp::Red => "TLP:RED",
        }
    }

    /// Accepts the stored form and the label, in any case (`amber+strict`, `TLP:AMBER+STRICT`).
    pub fn parse(text: &str) -> Result<Tlp, TlpError> {
        let lower = text.trim().to_ascii_lowercase();
        let bare = lower.strip_prefix("tlp:").unwrap_or(&lower);
        Tlp::ALL
            .into_iter()
            .find(|tlp| tlp.as_str() == bare)
            .ok_or_else(|| TlpError(text.chars().take(40).collect()))
    }
}

/// The stored form read back (`store` rows): a value outside the set is an error, never a default.
impl TryFrom<String> for Tlp {
    type Error = TlpError;

    fn try_from(value: String) -> Result<Self, TlpError> {
        Tlp::ALL
            .into_iter()
            .find(|tlp| tlp.as_str() == value)
            .ok_or_else(|| TlpError(value.chars().take(40).collect()))
    }
}

impl fmt::Display for Tlp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markings_parse_in_both_forms_and_nothing_else() {
        let cases = [
            ("clear", Ok(Tlp::Clear)),
            ("TLP:GREEN", Ok(Tlp::Green)),
            (" amber ", Ok(Tlp::Amber)),
            ("Amber+Strict", Ok(Tlp::AmberStrict)),
            ("tlp:red", Ok(Tlp::Red)),
            ("white", Err(())),
            ("amber strict", Err(())),
            ("", Err(())),
            ("TLP:", Err(())),
        ];
        for (text, expected) in cases {
            assert_eq!(Tlp::parse(text).map_err(|_| ()), expected, "{text:?}");
        }
    }

    #[test]
    fn markings_order_from_least_to_most_restrictive() {
        assert!(Tlp::Clear < Tlp::Green && Tlp::Green < Tlp::Amber);
        assert!(Tlp::Amber < Tlp::AmberStrict && Tlp::AmberStrict < Tlp::Red);
        for tlp in Tlp::ALL {
            assert_eq!(Tlp::parse(tlp.as_str()), Ok(tlp));
            assert_eq!(Tlp::parse(tlp.label()), Ok(tlp));
        }
    }
}
