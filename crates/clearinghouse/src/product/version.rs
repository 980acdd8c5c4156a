//! Versions and their order: right for semantic versioning, sensible for other ecosystems' dotted versions.
//!
//! A version is `[v][epoch(:|!)]release[suffix][+build]`. The release is dotted numbers compared as numbers,
//! trailing zeros ignored (`1.10 > 1.9`, `1.2 == 1.2.0`). The suffix is split into numbers and words
//! (`-rc.1`, `a1`, `.post2`, `p1`) and decides how the version sorts against its release:
//! - words `dev` < `alpha`/`a` < `beta`/`b` < `pre`/`preview`/`c`/`rc` < any other word, all before the
//!   release (semver: every pre-release sorts before the release; unknown words compare as text);
//! - a suffix that starts with a number (`1.0.0-1`) is a semver pre-release too;
//! - `final`, `ga`, `release` are the release itself; `post`, `p`, `pl`, `patch`, `r`, `rev`, `sp` sort after
//!   it (`2.4.1p1 > 2.4.1`).
//!
//! Build metadata (`+…`) is ignored, as semver says. Equality follows the order, so `Version` implements
//! `Eq`/`Ord`/`Hash` on the normalised parts; `Display` prints the text as given (without a leading `v`).

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use super::{ProductError, invalid};

const MAX_LEN: usize = 128;
/// Numbers of more digits are rejected rather than compared as text (u64 holds 19).
const MAX_DIGITS: usize = 18;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Ident {
    Num(u64),
    /// A rank (see the module documentation) and the word, lowercased.
    Word(u8, String),
}

const RANK_OTHER: u8 = 4;
const RANK_RELEASE: u8 = 5;
const RANK_POST: u8 = 6;

fn rank(word: &str) -> u8 {
    match word {
        "dev" => 0,
        "alpha" | "a" => 1,
        "beta" | "b" => 2,
        "pre" | "preview" | "c" | "rc" => 3,
        "final" | "ga" | "release" => RANK_RELEASE,
        "post" | "p" | "pl" | "patch" | "r" | "rev" | "sp" => RANK_POST,
        _ => RANK_OTHER,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Class {
    Pre,
    Release,
    Post,
}

#[derive(Debug, Clone)]
pub struct Version {
    text: String,
    epoch: u64,
    /// Trailing zeros removed.
    release: Vec<u64>,
    class: Class,
    suffix: Vec<Ident>,
}

impl Version {
    pub fn parse(text: &str) -> Result<Version, ProductError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(invalid("a version is empty"));
        }
        if text.len() > MAX_LEN {
            return Err(invalid(format!("a version is longer than {MAX_LEN} bytes")));
        }
        if let Some(c) = text
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || "._-+~:!".contains(*c)))
        {
            return Err(invalid(format!(
                "`{}` is not a version: `{}` is not allowed",
                text,
                c.escape_default()
            )));
        }
        let shown = match text.strip_prefix(['v', 'V']) {
            Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => rest,
            _ => text,
        };
        if !shown.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(invalid(format!(
                "`{text}` is not a version: a version starts with a digit"
            )));
        }
        let body = shown.split_once('+').map_or(shown, |(body, _build)| body);
        let (epoch, body) = match body.split_once([':', '!']) {
            Some((e, rest)) => (number(e, text)?, rest),
            None => (0, body),
        };
        let release_end = body
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(body.len());
        let (release_text, suffix_text) = body.split_at(release_end);
        let mut release = Vec::new();
        for part in release_text.split('.').filter(|p| !p.is_empty()) {
            release.push(number(part, text)?);
        }
        if release.is_empty() {
            return Err(invalid(format!(
                "`{text}` is not a version: a version starts with a digit"
            )));
        }
        while release.last() == Some(&0) {
            release.pop();
        }
        let mut suffix = Vec::new();
        for ident in split_suffix(suffix_text) {
            let ident = if ident.starts_with(|c: char| c.is_ascii_digit()) {
                Ident::Num(number(ident, text)?)
            } else {
                let word = ident.to_ascii_lowercase();
                Ident::Word(rank(&word), word)
            };
            suffix.push(ident);
        }
        // `1.0.Final` is `1.0`.
        if matches!(suffix.first(), Some(Ident::Word(RANK_RELEASE, _))) {
            suffix.remove(0);
        }
        let class = match suffix.first() {
            None => Class::Release,
            Some(Ident::Word(r, _)) if *r == RANK_POST => Class::Post,
            Some(_) => Class::Pre,
        };
        Ok(Version {
            text: shown.to_owned(),
            epoch,
            release,
            class,
            suffix,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

fn number(digits: &str, text: &str) -> Result<u64, ProductError> {
    if digits.len() > MAX_DIGITS {
        return Err(invalid(format!(
            "`{text}` has a number of more than {MAX_DIGITS} digits"
        )));
    }
    digits
        .parse()
        .map_err(|_| invalid(format!("`{text}` is not a version: `{digits}` is not a number")))
}

/// `-rc.1` → `rc`, `1`; `a1` → `a`, `1`; `.post2` → `post`, `2`.
fn split_suffix(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        rest = rest.trim_start_matches(['.', '-', '_', '~']);
        let first = rest.chars().next()?;
        let digit = first.is_ascii_digit();
        let end = rest
            .find(|c: char| !c.is_ascii_alphanumeric() || c.is_ascii_digit() != digit)
            .unwrap_or(rest.len());
        let (ident, tail) = rest.split_at(end);
        rest = tail;
        Some(ident)
    })
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| self.release.cmp(&other.release))
            .then_with(|| self.class.cmp(&other.class))
            .then_with(|| self.suffix.cmp(&other.suffix))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl Hash for Version {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.epoch.hash(state);
        self.release.hash(state);
        self.class.hash(state);
        self.suffix.hash(state);
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}
