//! Affected products: package URLs (purl) and CPE 2.3 names, and version ranges over them.
//!
//! CONTRACT (the rest of the clearinghouse relies on these names; the bodies below are placeholders to be
//! replaced by the real implementation):
//! - `ProductId::parse` takes a purl (`pkg:npm/%40scope/name`) or a CPE 2.3 formatted string
//!   (`cpe:2.3:a:vendor:product:*:…`); `key()` is the product without a version, normalised so that two
//!   spellings of one product are equal; `Display` is the canonical form; `matches_prefix` is how a
//!   subscription's product prefix selects products;
//! - `VersionRange::parse` takes `>=1.2.0, <1.4.3`, `<2`, `=1.0.0`, `*` (and more, as documented there);
//!   `overlaps`, `contains`, `Display` (canonical);
//! - `ProductError` names the problem.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProductError {
    #[error("{0}")]
    Invalid(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ProductId {
    Purl(String),
    Cpe(String),
}

impl ProductId {
    pub fn parse(text: &str) -> Result<Self, ProductError> {
        if text.starts_with("pkg:") {
            Ok(ProductId::Purl(text.to_owned()))
        } else if text.starts_with("cpe:2.3:") {
            Ok(ProductId::Cpe(text.to_owned()))
        } else {
            Err(ProductError::Invalid(format!(
                "not a purl or CPE 2.3 name: {text}"
            )))
        }
    }

    /// The product without its version, normalised.
    pub fn key(&self) -> String {
        self.to_string()
    }

    /// Whether a subscription's product prefix (a purl or CPE prefix) selects this product.
    pub fn matches_prefix(&self, prefix: &str) -> bool {
        self.key().starts_with(prefix)
    }
}

impl fmt::Display for ProductId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProductId::Purl(s) | ProductId::Cpe(s) => f.write_str(s),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VersionRange(String);

impl VersionRange {
    pub fn parse(text: &str) -> Result<Self, ProductError> {
        Ok(VersionRange(text.trim().to_owned()))
    }

    pub fn overlaps(&self, other: &VersionRange) -> bool {
        self == other
    }

    pub fn contains(&self, version: &str) -> bool {
        self.0 == version
    }
}

impl fmt::Display for VersionRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One affected product and the versions of it affected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Affected {
    pub product: ProductId,
    pub versions: VersionRange,
}
