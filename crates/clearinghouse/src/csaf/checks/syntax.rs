//! The forms of values the tests judge: version numbers, language tags, version ranges.

/// A version number of the document: an integer, or semantic versioning (major, minor, patch, pre-release).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Number {
    Integer(u64),
    Semver {
        major: u64,
        minor: u64,
        patch: u64,
        pre: bool,
    },
}

pub(super) fn parse_number(s: &str) -> Option<Number> {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
        if s.len() > 1 && s.starts_with('0') {
            return None;
        }
        return s.parse().ok().map(Number::Integer);
    }
    let core = s.split('+').next().unwrap_or(s);
    let (core, pre) = match core.split_once('-') {
        Some((c, p)) => (c, !p.is_empty()),
        None => (core, false),
    };
    let parts: Vec<u64> = core.split('.').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    match parts.as_slice() {
        [major, minor, patch] => Some(Number::Semver {
            major: *major,
            minor: *minor,
            patch: *patch,
            pre,
        }),
        _ => None,
    }
}

impl Number {
    pub(super) fn major(&self) -> u64 {
        match self {
            Number::Integer(n) => *n,
            Number::Semver { major, .. } => *major,
        }
    }
    pub(super) fn pre(&self) -> bool {
        matches!(self, Number::Semver { pre: true, .. })
    }
    /// Ordering without the pre-release and build parts.
    pub(super) fn key(&self) -> (u64, u64, u64) {
        match self {
            Number::Integer(n) => (*n, 0, 0),
            Number::Semver {
                major, minor, patch, ..
            } => (*major, *minor, *patch),
        }
    }
}

/// The form of a language tag (RFC 5646): language (2–3 letters, optionally extended, or 4–8), script,
/// region, variants, extensions, private use; or a private-use tag (`x-…`).
pub(super) fn language_tag(tag: &str) -> bool {
    let alpha = |s: &str, lo: usize, hi: usize| {
        (lo..=hi).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphabetic())
    };
    let alnum = |s: &str, lo: usize, hi: usize| {
        (lo..=hi).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric())
    };
    let parts: Vec<&str> = tag.split('-').collect();
    let mut it = parts.iter().peekable();
    let Some(first) = it.next() else { return false };
    if first.eq_ignore_ascii_case("x") {
        return it.len() > 0 && it.all(|p| alnum(p, 1, 8));
    }
    if !alpha(first, 2, 8) {
        return false;
    }
    let mut stage = 0; // 0 extlang, 1 script, 2 region, 3 variants, 4 extensions
    while let Some(p) = it.next() {
        if p.len() == 1 {
            if p.eq_ignore_ascii_case("x") {
                return it.len() > 0 && it.all(|p| alnum(p, 1, 8));
            }
            // An extension: a singleton and one or more subtags of 2–8.
            let mut any = false;
            while let Some(next) = it.peek() {
                if next.len() >= 2 && alnum(next, 2, 8) {
                    any = true;
                    it.next();
                } else {
                    break;
                }
            }
            if !any {
                return false;
            }
            stage = 4;
            continue;
        }
        if stage >= 4 {
            return false;
        }
        if stage == 0 && first.len() <= 3 && alpha(p, 3, 3) {
            stage = 1;
            continue;
        }
        if stage <= 1 && alpha(p, 4, 4) {
            stage = 2;
            continue;
        }
        if stage <= 2 && (alpha(p, 2, 2) || (p.len() == 3 && p.chars().all(|c| c.is_ascii_digit()))) {
            stage = 3;
            continue;
        }
        let variant =
            alnum(p, 5, 8) || (p.len() == 4 && p.starts_with(|c: char| c.is_ascii_digit()) && alnum(p, 4, 4));
        if variant {
            stage = 3;
            continue;
        }
        return false;
    }
    true
}

/// Whether a `product_version`'s name reads as a range of versions.
pub(super) fn reads_as_range(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    if name.contains(['<', '>']) || lower.starts_with("vers:") {
        return true;
    }
    let words = ["after", "all", "before", "earlier", "later", "prior", "versions"];
    lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| words.contains(&w))
}
