//! Package URLs (`pkg:type/namespace/name@version?qualifiers#subpath`), parsed as the package-url
//! specification's "how to parse" describes, normalised per type, and printed in canonical form.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use super::{ProductError, check_text, invalid};

/// A parsed package URL. Components are stored decoded; `Display` re-encodes them canonically.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Purl {
    ty: String,
    namespace: Vec<String>,
    name: String,
    version: Option<String>,
    qualifiers: BTreeMap<String, String>,
    subpath: Vec<String>,
}

/// At most this many qualifiers, and path segments in the namespace and the subpath.
const MAX_PARTS: usize = 32;

impl Purl {
    pub fn parse(text: &str) -> Result<Purl, ProductError> {
        check_text(text, "purl")?;
        let text = text.trim();
        let (rest, subpath) = match text.rsplit_once('#') {
            Some((rest, sub)) => (rest, decode_path(sub, "subpath")?),
            None => (text, Vec::new()),
        };
        let (rest, qualifiers) = match rest.rsplit_once('?') {
            Some((rest, q)) => (rest, parse_qualifiers(q)?),
            None => (rest, BTreeMap::new()),
        };
        let Some((scheme, rest)) = rest.split_once(':') else {
            return Err(invalid("not a purl: it must start with `pkg:`"));
        };
        if !scheme.eq_ignore_ascii_case("pkg") {
            return Err(invalid(format!(
                "not a purl: the scheme is `{scheme}`, not `pkg`"
            )));
        }
        let rest = rest.trim_matches('/');
        let Some((ty, rest)) = rest.split_once('/') else {
            return Err(invalid("a purl needs a type and a name: `pkg:type/name`"));
        };
        let ty = parse_type(ty)?;
        // An `@` followed by a `/` is an unencoded npm scope, not the version separator.
        let (rest, version) = match rest.rsplit_once('@').filter(|(_, v)| !v.contains('/')) {
            Some((rest, v)) => {
                let v = decode(v, "version")?;
                (rest, if v.is_empty() { None } else { Some(v) })
            }
            None => (rest, None),
        };
        let rest = rest.trim_end_matches('/');
        let (namespace, name) = match rest.rsplit_once('/') {
            Some((ns, name)) => (decode_path(ns, "namespace")?, name),
            None => (Vec::new(), rest),
        };
        let name = decode(name, "name")?;
        if name.is_empty() {
            return Err(invalid("the purl's name is empty"));
        }
        let namespace = namespace.iter().map(|s| normalise_segment(&ty, s)).collect();
        let name = normalise_segment(&ty, &name);
        Ok(Purl {
            ty,
            namespace,
            name,
            version,
            qualifiers,
            subpath,
        })
    }

    pub fn ty(&self) -> &str {
        &self.ty
    }

    pub fn namespace(&self) -> &[String] {
        &self.namespace
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    pub fn qualifiers(&self) -> &BTreeMap<String, String> {
        &self.qualifiers
    }

    /// `pkg:type/namespace/name`: the package without version, qualifiers or subpath.
    pub fn key(&self) -> String {
        let mut out = format!("pkg:{}", self.ty);
        for segment in self.namespace.iter().chain(std::iter::once(&self.name)) {
            out.push('/');
            encode_into(&mut out, segment);
        }
        out
    }

    /// The key's components, compared whole by prefix matching: type, namespace segments, name.
    pub(super) fn components(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.ty.as_str())
            .chain(self.namespace.iter().map(String::as_str))
            .chain(std::iter::once(self.name.as_str()))
    }
}

impl fmt::Display for Purl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = self.key();
        if let Some(v) = &self.version {
            out.push('@');
            encode_into(&mut out, v);
        }
        for (i, (k, v)) in self.qualifiers.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            out.push_str(k);
            out.push('=');
            encode_into(&mut out, v);
        }
        for (i, segment) in self.subpath.iter().enumerate() {
            out.push(if i == 0 { '#' } else { '/' });
            encode_into(&mut out, segment);
        }
        f.write_str(&out)
    }
}

/// A purl prefix for subscriptions: `pkg:npm`, `pkg:npm/`, `pkg:npm/%40angular`, `pkg:npm/%40angular/core`.
/// Returns the normalised components (type first).
pub(super) fn parse_prefix(text: &str) -> Result<Vec<String>, ProductError> {
    let Some(rest) = text.strip_prefix("pkg:").or_else(|| text.strip_prefix("PKG:")) else {
        return Err(invalid("a purl prefix starts with `pkg:`"));
    };
    let scoped = |(i, _): (usize, char)| i > 0 && rest.get(i - 1..i) == Some("/");
    if rest.contains(['?', '#']) || !rest.char_indices().filter(|(_, c)| *c == '@').all(scoped) {
        return Err(invalid(
            "a product prefix names a package, without version, qualifiers or subpath",
        ));
    }
    let rest = rest.trim_matches('/');
    let (ty, path) = rest.split_once('/').unwrap_or((rest, ""));
    let ty = parse_type(ty)?;
    let mut components = vec![ty.clone()];
    for segment in decode_path(path, "prefix")? {
        components.push(normalise_segment(&ty, &segment));
    }
    Ok(components)
}

fn parse_type(ty: &str) -> Result<String, ProductError> {
    let valid = ty
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-'))
        && ty.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    if !valid {
        return Err(invalid(format!(
            "`{ty}` is not a purl type: letters, digits, `.`, `+`, `-`, starting with a letter"
        )));
    }
    Ok(ty.to_ascii_lowercase())
}

/// Type-specific normalisation, so that two spellings of one package are equal: the types whose names are
/// case-insensitive are lowercased; PyPI names also fold runs of `-`, `_`, `.` to `-` (PEP 503).
fn normalise_segment(ty: &str, segment: &str) -> String {
    match ty {
        "npm" | "github" | "bitbucket" | "composer" | "deb" => segment.to_lowercase(),
        "pypi" => {
            let mut out = String::with_capacity(segment.len());
            for c in segment.chars() {
                if matches!(c, '-' | '_' | '.') {
                    if !out.ends_with('-') {
                        out.push('-');
                    }
                } else {
                    out.extend(c.to_lowercase());
                }
            }
            out
        }
        _ => segment.to_owned(),
    }
}

fn parse_qualifiers(text: &str) -> Result<BTreeMap<String, String>, ProductError> {
    let mut qualifiers = BTreeMap::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(invalid(format!("the purl qualifier `{pair}` has no `=`")));
        };
        let key = key.to_ascii_lowercase();
        let valid_key = key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            && key.chars().next().is_some_and(|c| !c.is_ascii_digit());
        if !valid_key {
            return Err(invalid(format!("`{key}` is not a purl qualifier key")));
        }
        let value = decode(value, "qualifier value")?;
        if value.is_empty() {
            continue;
        }
        if qualifiers.insert(key.clone(), value).is_some() {
            return Err(invalid(format!("the purl qualifier `{key}` is given twice")));
        }
        if qualifiers.len() > MAX_PARTS {
            return Err(invalid("too many purl qualifiers"));
        }
    }
    Ok(qualifiers)
}

/// Splits on `/`, drops empty, `.` and `..` segments (as the specification says for the subpath), decodes.
fn decode_path(text: &str, what: &str) -> Result<Vec<String>, ProductError> {
    let mut out = Vec::new();
    for segment in text.split('/') {
        let segment = decode(segment, what)?;
        if segment.is_empty() || (what == "subpath" && (segment == "." || segment == "..")) {
            continue;
        }
        out.push(segment);
    }
    if out.len() > MAX_PARTS {
        return Err(invalid(format!("the purl's {what} has too many segments")));
    }
    Ok(out)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes one component; the result must be UTF-8 without control characters.
pub(super) fn decode(text: &str, what: &str) -> Result<String, ProductError> {
    if !text.contains('%') {
        return Ok(text.to_owned());
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = bytes.get(i + 1).copied().and_then(hex_value);
            let lo = bytes.get(i + 2).copied().and_then(hex_value);
            let (Some(hi), Some(lo)) = (hi, lo) else {
                return Err(invalid(format!("bad percent-encoding in the {what} `{text}`")));
            };
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    let decoded = String::from_utf8(out)
        .map_err(|_| invalid(format!("the {what} `{text}` does not decode to UTF-8")))?;
    if decoded.chars().any(char::is_control) {
        return Err(invalid(format!("the {what} contains a control character")));
    }
    Ok(decoded)
}

/// Percent-encodes everything but unreserved characters and `:` (which the specification leaves as is).
fn encode_into(out: &mut String, text: &str) {
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~' | b':') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}
