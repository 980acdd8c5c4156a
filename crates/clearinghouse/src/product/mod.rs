//! Affected products: package URLs (purl) and CPE names, and version ranges over them.
//!
//! - `ProductId::parse` takes a purl (`pkg:npm/%40scope/name`), a CPE 2.3 formatted string
//!   (`cpe:2.3:a:vendor:product:*:…`) or a CPE 2.2 URI (`cpe:/a:vendor:product`, converted to 2.3);
//!   `Display` is the canonical form; `key()` is the product without a version, normalised so that two
//!   spellings of one product are equal (`pkg:npm/%40angular/core`, `cpe:2.3:a:apache:http_server`);
//! - `matches_prefix` (or `ProductPrefix::parse` + `ProductId::matches`) is how a subscription's product prefix
//!   selects products: by whole components, so `pkg:npm/foo` selects `pkg:npm/foo` and `pkg:npm/foo/bar` but
//!   not `pkg:npm/foobar`;
//! - `VersionRange` (see `range`) and `Version` (see `version`);
//! - every text is at most `MAX_TEXT` bytes without control characters; `ProductError` names the problem.

mod cpe;
mod purl;
mod range;
mod version;

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;

use std::fmt;

pub use cpe::{Cpe, CpeValue};
pub use purl::Purl;
pub use range::{Edge, VersionRange};
pub use version::Version;

/// The longest product name, prefix or version range accepted, in bytes.
pub const MAX_TEXT: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProductError {
    #[error("{0}")]
    Invalid(String),
}

fn invalid(message: impl Into<String>) -> ProductError {
    ProductError::Invalid(message.into())
}

fn check_text(text: &str, what: &str) -> Result<(), ProductError> {
    if text.len() > MAX_TEXT {
        return Err(invalid(format!("the {what} is longer than {MAX_TEXT} bytes")));
    }
    if text.chars().any(char::is_control) {
        return Err(invalid(format!("the {what} contains a control character")));
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ProductId {
    Purl(Purl),
    Cpe(Cpe),
}

impl ProductId {
    pub fn parse(text: &str) -> Result<Self, ProductError> {
        let trimmed = text.trim_start();
        if starts_with_ci(trimmed, "pkg:") {
            Ok(ProductId::Purl(Purl::parse(text)?))
        } else if starts_with_ci(trimmed, "cpe:") {
            Ok(ProductId::Cpe(Cpe::parse(text)?))
        } else {
            check_text(text, "product")?;
            Err(invalid("not a purl (`pkg:…`) or a CPE name (`cpe:2.3:…`)"))
        }
    }

    /// The product without its version, normalised: a purl's `pkg:type/namespace/name`, a CPE's
    /// `cpe:2.3:part:vendor:product`.
    pub fn key(&self) -> String {
        match self {
            ProductId::Purl(p) => p.key(),
            ProductId::Cpe(c) => c.key(),
        }
    }

    /// Whether a subscription's product prefix (a purl or CPE prefix) selects this product; an invalid prefix
    /// selects nothing.
    pub fn matches_prefix(&self, prefix: &str) -> bool {
        ProductPrefix::parse(prefix).is_ok_and(|p| self.matches(&p))
    }

    pub fn matches(&self, prefix: &ProductPrefix) -> bool {
        match (self, &prefix.kind) {
            (ProductId::Purl(p), Kind::Purl) => starts_with_components(p.components(), &prefix.components),
            (ProductId::Cpe(c), Kind::Cpe) => starts_with_components(c.components(), &prefix.components),
            _ => false,
        }
    }
}

fn starts_with_ci(text: &str, prefix: &str) -> bool {
    text.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

fn starts_with_components<'a>(mut components: impl Iterator<Item = &'a str>, prefix: &[String]) -> bool {
    prefix.iter().all(|p| components.next() == Some(p.as_str()))
}

impl fmt::Display for ProductId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProductId::Purl(p) => p.fmt(f),
            ProductId::Cpe(c) => c.fmt(f),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Purl,
    Cpe,
}

/// A subscription's product prefix, validated: a purl type with leading namespace/name segments
/// (`pkg:npm`, `pkg:npm/%40angular`), or a CPE's part with optional vendor and product (`cpe:2.3:a:apache`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProductPrefix {
    kind: Kind,
    components: Vec<String>,
}

impl ProductPrefix {
    pub fn parse(text: &str) -> Result<ProductPrefix, ProductError> {
        check_text(text, "product prefix")?;
        let text = text.trim();
        if starts_with_ci(text, "pkg:") {
            Ok(ProductPrefix {
                kind: Kind::Purl,
                components: purl::parse_prefix(text)?,
            })
        } else if starts_with_ci(text, "cpe:") {
            Ok(ProductPrefix {
                kind: Kind::Cpe,
                components: cpe::parse_prefix(text)?,
            })
        } else {
            Err(invalid(
                "a product prefix is a purl (`pkg:npm/…`) or a CPE name (`cpe:2.3:a:vendor`) prefix",
            ))
        }
    }
}

impl fmt::Display for ProductPrefix {
    /// Canonical, and itself a prefix of the keys it selects: a selected key equals it or continues it
    /// with `/` (purl) or `:` (CPE).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            Kind::Purl => {
                let mut parts = self.components.iter();
                let ty = parts.next().map_or("", String::as_str);
                let rest: Vec<String> = parts.map(|s| encode_component(s)).collect();
                if rest.is_empty() {
                    write!(f, "pkg:{ty}")
                } else {
                    write!(f, "pkg:{ty}/{}", rest.join("/"))
                }
            }
            Kind::Cpe => {
                let parts: Vec<String> = self.components.iter().map(|s| escape_cpe(s)).collect();
                write!(f, "cpe:2.3:{}", parts.join(":"))
            }
        }
    }
}

fn encode_component(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~' | b':') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn escape_cpe(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Serialised as the canonical text, parsed (and validated) when deserialised.
impl serde::Serialize for ProductId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ProductId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        ProductId::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for VersionRange {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for VersionRange {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        VersionRange::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// One affected product and the versions of it affected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Affected {
    pub product: ProductId,
    pub versions: VersionRange,
}

impl Affected {
    /// Parses both parts; the error names which one is wrong.
    pub fn parse(product: &str, versions: &str) -> Result<Affected, ProductError> {
        let product = ProductId::parse(product).map_err(|e| invalid(format!("product: {e}")))?;
        let versions = VersionRange::parse(versions).map_err(|e| invalid(format!("versions: {e}")))?;
        Ok(Affected { product, versions })
    }
}
