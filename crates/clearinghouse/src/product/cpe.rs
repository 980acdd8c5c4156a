//! CPE names: the 2.3 formatted string binding (`cpe:2.3:part:vendor:product:version:…`, 13 components) and,
//! converted to it, the 2.2 URI binding (`cpe:/a:vendor:product:version`). Values are case-insensitive, so
//! they are kept lowercased; `Display` prints the canonical formatted string.

use std::fmt;

use super::{ProductError, check_text, invalid, purl::decode};

/// One attribute value: `*` (ANY), `-` (NA) or a value, stored unescaped.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CpeValue {
    Any,
    Na,
    Value(String),
}

const NAMES: [&str; 11] = [
    "part",
    "vendor",
    "product",
    "version",
    "update",
    "edition",
    "language",
    "sw_edition",
    "target_sw",
    "target_hw",
    "other",
];

/// A CPE name: the eleven attributes of a well-formed name, in the binding's order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cpe {
    attributes: [CpeValue; 11],
}

impl Cpe {
    pub fn parse(text: &str) -> Result<Cpe, ProductError> {
        check_text(text, "CPE name")?;
        let text = text.trim();
        let attributes = if let Some(rest) = strip_prefix_ci(text, "cpe:2.3:") {
            let values = split_formatted(rest)?;
            if values.len() != 11 {
                return Err(invalid(format!(
                    "a CPE 2.3 name has 13 colon-separated components, this one has {}",
                    values.len() + 2
                )));
            }
            values
        } else if let Some(rest) = strip_prefix_ci(text, "cpe:/") {
            split_uri(rest)?
        } else {
            return Err(invalid(
                "not a CPE name: it must start with `cpe:2.3:` (or `cpe:/` for CPE 2.2)",
            ));
        };
        let attributes: [CpeValue; 11] = attributes
            .try_into()
            .map_err(|_| invalid("a CPE name has eleven attributes"))?;
        let [part, vendor, product, ..] = &attributes;
        check_head(part, vendor, product, "CPE name")?;
        Ok(Cpe { attributes })
    }

    pub fn part(&self) -> &CpeValue {
        let [part, ..] = &self.attributes;
        part
    }

    pub fn vendor(&self) -> &CpeValue {
        let [_, vendor, ..] = &self.attributes;
        vendor
    }

    pub fn product(&self) -> &CpeValue {
        let [_, _, product, ..] = &self.attributes;
        product
    }

    pub fn version(&self) -> &CpeValue {
        let [_, _, _, version, ..] = &self.attributes;
        version
    }

    /// `cpe:2.3:part:vendor:product`: the product without version or the other attributes.
    pub fn key(&self) -> String {
        let mut out = String::from("cpe:2.3");
        for value in self.attributes.iter().take(3) {
            out.push(':');
            format_value(&mut out, value);
        }
        out
    }

    /// The key's components, compared whole by prefix matching: part, vendor, product.
    pub(super) fn components(&self) -> impl Iterator<Item = &str> {
        self.attributes.iter().take(3).map(|v| match v {
            CpeValue::Value(s) => s.as_str(),
            CpeValue::Any => "*",
            CpeValue::Na => "-",
        })
    }
}

impl fmt::Display for Cpe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::from("cpe:2.3");
        for value in &self.attributes {
            out.push(':');
            format_value(&mut out, value);
        }
        f.write_str(&out)
    }
}

/// A CPE prefix for subscriptions: `cpe:2.3:a`, `cpe:2.3:a:apache`, `cpe:2.3:a:apache:http_server` (or the
/// same in the 2.2 URI form). Returns the normalised components.
pub(super) fn parse_prefix(text: &str) -> Result<Vec<String>, ProductError> {
    let values = if let Some(rest) = strip_prefix_ci(text, "cpe:2.3:") {
        split_formatted(rest.trim_end_matches(':'))?
    } else if let Some(rest) = strip_prefix_ci(text, "cpe:/") {
        let mut values = split_uri(rest.trim_end_matches(':'))?;
        values.truncate(rest.trim_end_matches(':').split(':').count());
        values
    } else {
        return Err(invalid("a CPE prefix starts with `cpe:2.3:`"));
    };
    if values.len() > 3 {
        return Err(invalid("a CPE prefix names at most the part, vendor and product"));
    }
    let mut components = Vec::new();
    for (value, name) in values.into_iter().zip(NAMES) {
        match value {
            CpeValue::Value(s) if name != "part" || is_part(&s) => components.push(s),
            _ => return Err(invalid(format!("the {name} of a CPE prefix must be given"))),
        }
    }
    Ok(components)
}

fn is_part(s: &str) -> bool {
    matches!(s, "a" | "o" | "h")
}

fn check_head(
    part: &CpeValue,
    vendor: &CpeValue,
    product: &CpeValue,
    what: &str,
) -> Result<(), ProductError> {
    match part {
        CpeValue::Value(p) if is_part(p) => {}
        _ => return Err(invalid(format!("the part of a {what} must be `a`, `o` or `h`"))),
    }
    for (value, name) in [(vendor, "vendor"), (product, "product")] {
        if !matches!(value, CpeValue::Value(_)) {
            return Err(invalid(format!(
                "the {name} of a {what} must be given, not `*` or `-`"
            )));
        }
    }
    Ok(())
}

fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| text.get(prefix.len()..))
        .flatten()
}

/// Splits a formatted string's attributes on unescaped colons and unescapes each value.
fn split_formatted(text: &str) -> Result<Vec<CpeValue>, ProductError> {
    let mut values = Vec::new();
    let mut current = String::new();
    let mut quoted_any = false;
    let mut chars = text.chars();
    let finish = |current: &mut String, quoted: bool, values: &mut Vec<CpeValue>| {
        let name = NAMES.get(values.len()).copied().unwrap_or("extra component");
        let value = match current.as_str() {
            "*" if !quoted => CpeValue::Any,
            "-" if !quoted => CpeValue::Na,
            "" => {
                return Err(invalid(format!(
                    "the {name} of the CPE name is empty (use `*` for any)"
                )));
            }
            _ if !quoted && current.contains('*') => {
                return Err(invalid(format!(
                    "the {name} of the CPE name has a wildcard inside a value"
                )));
            }
            _ => CpeValue::Value(current.to_lowercase()),
        };
        values.push(value);
        current.clear();
        Ok(())
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e) if e.is_ascii_punctuation() => {
                    current.push(e);
                    quoted_any = true;
                }
                _ => {
                    return Err(invalid(
                        "a backslash in a CPE name must escape a punctuation character",
                    ));
                }
            },
            ':' => {
                finish(&mut current, quoted_any, &mut values)?;
                quoted_any = false;
            }
            c if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '*') => current.push(c),
            c => {
                let name = NAMES.get(values.len()).copied().unwrap_or("extra component");
                return Err(invalid(format!(
                    "the character `{}` in the {name} of a CPE name must be escaped with a backslash",
                    c.escape_default()
                )));
            }
        }
        if values.len() > NAMES.len() {
            break;
        }
    }
    finish(&mut current, quoted_any, &mut values)?;
    Ok(values)
}

/// Converts a CPE 2.2 URI's components (after `cpe:/`) to the eleven attributes, unpacking a packed edition
/// (`~edition~sw_edition~target_sw~target_hw~other`).
fn split_uri(text: &str) -> Result<Vec<CpeValue>, ProductError> {
    let raw: Vec<&str> = text.split(':').collect();
    if raw.len() > 7 {
        return Err(invalid(
            "a CPE 2.2 URI has at most seven components after `cpe:/`",
        ));
    }
    let mut values = Vec::with_capacity(11);
    let mut packed = false;
    for (i, component) in raw.iter().enumerate() {
        if i == 5 && component.starts_with('~') {
            let fields: Vec<&str> = component.split('~').skip(1).collect();
            if fields.len() != 5 {
                return Err(invalid("a packed CPE 2.2 edition has five `~`-separated fields"));
            }
            for field in fields {
                values.push(uri_value(field)?);
            }
            packed = true;
        } else {
            values.push(uri_value(component)?);
        }
    }
    // The URI's language comes after the packed fields but precedes them among the attributes.
    if packed {
        let language = if raw.len() == 7 {
            values.pop().unwrap_or(CpeValue::Any)
        } else {
            CpeValue::Any
        };
        values.insert(6, language);
    }
    while values.len() < 11 {
        values.push(CpeValue::Any);
    }
    Ok(values)
}

fn uri_value(text: &str) -> Result<CpeValue, ProductError> {
    let ok = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '~' | '%'));
    if !ok {
        return Err(invalid(format!(
            "`{}` is not a CPE 2.2 URI component",
            text.escape_default()
        )));
    }
    Ok(match text {
        "" => CpeValue::Any,
        "-" => CpeValue::Na,
        _ => {
            let decoded = decode(text, "CPE component")?;
            if !decoded.chars().all(|c| c.is_ascii_graphic()) {
                return Err(invalid(
                    "a CPE component decodes to a character that is not printable ASCII",
                ));
            }
            CpeValue::Value(decoded.to_lowercase())
        }
    })
}

fn format_value(out: &mut String, value: &CpeValue) {
    match value {
        CpeValue::Any => out.push('*'),
        CpeValue::Na => out.push('-'),
        CpeValue::Value(s) if s == "-" => out.push_str("\\-"),
        CpeValue::Value(s) => {
            for c in s.chars() {
                if !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) {
                    out.push('\\');
                }
                out.push(c);
            }
        }
    }
}
