//! Keeping out of everything an evaluator receives what they must not see: the developer's secrets (the
//! credential and the values of the extra headers) and what names the upstream (its model id, base URL, host,
//! port and path).
//!
//! A `Scrubber` is built once per connection, when its grant is loaded, and cached with it: one Aho–Corasick
//! automaton over every needle (ASCII case-insensitive, leftmost-longest), so a text is searched in one pass
//! whatever the number of needles, and a text without any needle is not copied.
//!
//! Streams add a difficulty: a secret may arrive split over two events (models stream a few characters per
//! event, and clients join them). The text clients join — a choice's content, a tool call's arguments, a
//! content block's text — therefore goes through `Tails`, which scrubs each piece together with what it held
//! of the same text before, and holds back the longest end of the result that could begin a needle, until the
//! next piece shows whether it does (or the text ends). Ordinary text ends with no such prefix, so nothing is
//! held and nothing is delayed.

use aho_corasick::{AhoCorasick, MatchKind};
use serde_json::Value;
use std::borrow::Cow;
use std::fmt;

/// What a secret becomes.
pub const REDACTED: &str = "[redacted]";
/// What a mention of the upstream becomes.
pub const UPSTREAM: &str = "[upstream]";
/// Secrets shorter than this are not hidden: they cannot be told apart from ordinary text, and replacing every
/// occurrence would garble answers. (A credential or header value this short protects nothing anyway.)
pub const MIN_SECRET_LEN: usize = 4;
/// The shortest mention of the upstream that is hidden.
const MIN_IDENTITY_LEN: usize = 3;

/// The automaton could not be built (needles far beyond what settings allow); the connection is not callable.
#[derive(Debug, thiserror::Error)]
#[error("the scrubber could not be built: {0}")]
pub struct ScrubError(#[from] aho_corasick::BuildError);

/// Finds and replaces one connection's needles. Holds secrets, so it has no `Debug` beyond a count.
pub struct Scrubber {
    finder: Option<AhoCorasick>,
    /// The replacement of each needle, by pattern id.
    replacements: Vec<&'static str>,
    /// Each needle lower-cased with its failure table, to find how much of a text's end could begin one.
    prefixes: Vec<Prefix>,
}

impl fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scrubber")
            .field("needles", &self.replacements.len())
            .finish()
    }
}

/// A needle, lower-cased, with its Knuth–Morris–Pratt failure table.
struct Prefix {
    needle: Vec<u8>,
    /// `fail[i]`: the length of the longest proper prefix of `needle[..=i]` that is also its suffix.
    fail: Vec<usize>,
}

impl Prefix {
    fn new(needle: &str) -> Self {
        let needle = needle.to_ascii_lowercase().into_bytes();
        let mut fail = vec![0; needle.len()];
        let mut k = 0;
        for i in 1..needle.len() {
            let b = needle.get(i).copied();
            while k > 0 && needle.get(k).copied() != b {
                k = fail.get(k - 1).copied().unwrap_or(0);
            }
            if needle.get(k).copied() == b {
                k += 1;
            }
            if let Some(slot) = fail.get_mut(i) {
                *slot = k;
            }
        }
        Prefix { needle, fail }
    }

    /// The longest end of `text` that is a proper prefix of the needle (case-insensitive), in
    /// O(length of the needle): only the last `needle.len() - 1` bytes can matter.
    fn overlap(&self, text: &[u8]) -> usize {
        let window = self.needle.len().saturating_sub(1).min(text.len());
        let mut q = 0;
        for &b in text.get(text.len() - window..).unwrap_or_default() {
            let b = b.to_ascii_lowercase();
            while q > 0 && self.needle.get(q).copied() != Some(b) {
                q = self.fail.get(q - 1).copied().unwrap_or(0);
            }
            if self.needle.get(q).copied() == Some(b) {
                q += 1;
            }
            if q == self.needle.len() {
                // A whole needle (only possible if scrubbing left one): not a prefix to hold.
                q = self.fail.get(q - 1).copied().unwrap_or(0);
            }
        }
        q
    }
}

impl Scrubber {
    /// The scrubber of one connection: its secrets, its upstream model id, its base URL and the path its calls
    /// go to under it.
    pub fn new(
        upstream_model: &str,
        base_url: &str,
        call_path: &str,
        secrets: &[&str],
    ) -> Result<Self, ScrubError> {
        let mut needles: Vec<(String, &'static str)> = Vec::new();
        for secret in secrets {
            if secret.len() >= MIN_SECRET_LEN {
                needles.push(((*secret).to_owned(), REDACTED));
            }
        }
        let base_url = base_url.trim_end_matches('/');
        let mut identity = vec![
            upstream_model.to_owned(),
            base_url.to_owned(),
            format!("{base_url}{call_path}"),
        ];
        if let Ok(url) = reqwest::Url::parse(base_url) {
            if let Some(host) = url.host_str() {
                identity.push(host.to_owned());
                if let Some(port) = url.port() {
                    identity.push(format!("{host}:{port}"));
                    identity.push(format!(":{port}"));
                }
            }
            // The path the upstream is called at, and its base path when it says more than a version.
            let path = url.path().trim_end_matches('/');
            identity.push(format!("{path}{call_path}"));
            if path.len() > 4 {
                identity.push(path.to_owned());
            }
        }
        for needle in identity {
            if needle.len() >= MIN_IDENTITY_LEN {
                needles.push((needle, UPSTREAM));
            }
        }
        // One entry per needle, whatever its case; a secret's replacement wins over the upstream's.
        let mut seen = std::collections::HashSet::new();
        needles.retain(|(needle, _)| seen.insert(needle.to_ascii_lowercase()));
        let finder = if needles.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    // Built on every load of a grant, inline in a call: an NFA builds in a quarter of the time
                    // of a DFA (about 30 µs against 120 for a typical connection) and scans short texts
                    // nearly as fast.
                    .kind(Some(aho_corasick::AhoCorasickKind::ContiguousNFA))
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(needles.iter().map(|(n, _)| n.as_str()))?,
            )
        };
        Ok(Scrubber {
            finder,
            replacements: needles.iter().map(|(_, r)| *r).collect(),
            prefixes: needles.iter().map(|(n, _)| Prefix::new(n)).collect(),
        })
    }

    /// Whether the text holds a needle.
    pub fn finds(&self, text: &str) -> bool {
        self.finder.as_ref().is_some_and(|f| f.is_match(text))
    }

    /// The text with every needle replaced; borrowed when there was none.
    pub fn scrub<'t>(&self, text: &'t str) -> Cow<'t, str> {
        match &self.finder {
            Some(finder) if finder.is_match(text) => match finder.try_replace_all(text, &self.replacements) {
                Ok(scrubbed) => Cow::Owned(scrubbed),
                // Cannot happen (one replacement per needle); if it did, nothing of the text goes out.
                Err(_) => Cow::Borrowed(REDACTED),
            },
            _ => Cow::Borrowed(text),
        }
    }

    /// Scrubs every string and every object key in a JSON value.
    pub fn scrub_value(&self, value: &mut Value) {
        match value {
            Value::String(s) => {
                if let Cow::Owned(scrubbed) = self.scrub(s) {
                    *s = scrubbed;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.scrub_value(v)),
            Value::Object(map) => {
                if map.keys().any(|k| self.finds(k)) {
                    for (key, mut v) in std::mem::take(map) {
                        self.scrub_value(&mut v);
                        map.insert(self.scrub(&key).into_owned(), v);
                    }
                } else {
                    map.values_mut().for_each(|v| self.scrub_value(v));
                }
            }
            _ => {}
        }
    }

    /// How many bytes at the end of `text` could be the beginning of a needle (case-insensitive): what must
    /// be held back until the next piece of the same text. Always ends on a character boundary.
    pub fn held_back(&self, text: &str) -> usize {
        let bytes = text.as_bytes();
        let mut hold = 0;
        for prefix in &self.prefixes {
            if prefix.needle.len().saturating_sub(1).min(bytes.len()) > hold {
                hold = hold.max(prefix.overlap(bytes));
            }
        }
        // A needle starts on a character boundary, so this holds; if it did not, hold more, never less.
        while hold < text.len() && !text.is_char_boundary(text.len() - hold) {
            hold += 1;
        }
        hold
    }
}

/// The most channels text is held for at once. Streams keep a few open (a choice's content, its tool calls);
/// beyond this, text that would be held is dropped instead, so a hostile stream cannot grow the held text or
/// the time to find it.
pub const MAX_HELD_CHANNELS: usize = 256;

/// Text held back per channel (one piece of joined text, such as a choice's content), so that a needle split
/// between two pieces is found once they are joined.
#[derive(Debug)]
pub struct Tails<K> {
    held: Vec<(K, String)>,
}

impl<K> Default for Tails<K> {
    fn default() -> Self {
        Tails { held: Vec::new() }
    }
}

impl<K: PartialEq + Clone> Tails<K> {
    /// The next piece of a channel's text, as it may be forwarded now: scrubbed together with what was held of
    /// the channel, less the end that could begin a needle, which is held in turn.
    pub fn pass(&mut self, scrubber: &Scrubber, channel: &K, piece: &str) -> String {
        let text = match self.take(channel) {
            Some(mut held) => {
                held.push_str(piece);
                held
            }
            None => piece.to_owned(),
        };
        let mut text = match scrubber.scrub(&text) {
            Cow::Owned(scrubbed) => scrubbed,
            Cow::Borrowed(_) => text,
        };
        let hold = scrubber.held_back(&text);
        if hold > 0 {
            let tail = text.split_off(text.len() - hold);
            if self.held.len() < MAX_HELD_CHANNELS {
                self.held.push((channel.clone(), tail));
            }
        }
        text
    }

    /// What is held of a channel, released (its text has ended).
    pub fn take(&mut self, channel: &K) -> Option<String> {
        let at = self.held.iter().position(|(k, _)| k == channel)?;
        Some(self.held.swap_remove(at).1)
    }

    /// What is held of every channel the predicate picks, released in the order it was held.
    pub fn take_where(&mut self, pick: impl Fn(&K) -> bool) -> Vec<(K, String)> {
        let (taken, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.held)
            .into_iter()
            .partition(|(k, _)| pick(k));
        self.held = kept;
        taken
    }

    /// The channel held longest.
    pub fn first(&self) -> Option<&K> {
        self.held.first().map(|(k, _)| k)
    }

    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CREDENTIAL: &str = "sk-live-Abc123-credential";
    const HEADER: &str = "org-Hidden-42";

    fn scrubber() -> Scrubber {
        Scrubber::new(
            "secret-model-7",
            "https://api.lab.example:8443/internal/llm",
            "/chat/completions",
            &[CREDENTIAL, HEADER, "abc"],
        )
        .unwrap()
    }

    #[test]
    fn needles_are_replaced_whatever_their_case() {
        let s = scrubber();
        let cases = [
            ("Bearer sk-live-Abc123-credential", "Bearer [redacted]"),
            ("BEARER SK-LIVE-ABC123-CREDENTIAL!", "BEARER [redacted]!"),
            ("x-org: ORG-hidden-42", "x-org: [redacted]"),
            ("served by Secret-Model-7", "served by [upstream]"),
            (
                "POST https://api.lab.example:8443/internal/llm/chat/completions",
                "POST [upstream]",
            ),
            ("host: api.lab.example:8443", "host: [upstream]"),
            ("Host: API.LAB.EXAMPLE", "Host: [upstream]"),
            ("port :8443 path /internal/llm", "port [upstream] path [upstream]"),
            ("GET /internal/llm/chat/completions", "GET [upstream]"),
            // Too short to be told from text: left alone.
            ("abc", "abc"),
            ("nothing to see", "nothing to see"),
        ];
        for (text, expected) in cases {
            assert_eq!(s.scrub(text), expected, "{text}");
        }
        assert!(matches!(s.scrub("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn keys_and_nested_values_are_scrubbed() {
        let s = scrubber();
        let mut value = serde_json::json!({
            "sk-live-abc123-credential": {"authorization": "Bearer SK-LIVE-ABC123-CREDENTIAL"},
            "list": ["org-hidden-42", 3, null, {"ORG-HIDDEN-42": true}],
        });
        s.scrub_value(&mut value);
        let text = value.to_string().to_ascii_lowercase();
        assert!(
            !text.contains("sk-live") && !text.contains("org-hidden"),
            "{text}"
        );
        assert_eq!(value["[redacted]"]["authorization"], "Bearer [redacted]");
        assert_eq!(value["list"][1], 3);
    }

    #[test]
    fn the_held_back_end_is_the_longest_that_could_begin_a_needle() {
        let s = scrubber();
        let cases = [
            ("help", 0),
            ("token sk-", 3),
            ("token SK-LIVE-a", 9),
            ("ends with s", 1),
            ("org-hid", 7),
            ("sk-live-Abc123-credentia", 24),
            ("", 0),
        ];
        for (text, held) in cases {
            assert_eq!(s.held_back(text), held, "{text:?}");
        }
    }

    #[test]
    fn a_secret_split_between_pieces_is_caught() {
        let s = scrubber();
        let mut tails = Tails::default();
        let pieces = ["your key is sK-liv", "E-abc1", "23-CREDENTIAL and ", "more"];
        let out: String = pieces.iter().map(|p| tails.pass(&s, &0, p)).collect();
        let rest = tails.take(&0).unwrap_or_default();
        assert_eq!(out + &rest, "your key is [redacted] and more");
    }

    #[test]
    fn the_held_channels_are_bounded() {
        let s = scrubber();
        let mut tails = Tails::default();
        for channel in 0..MAX_HELD_CHANNELS + 10 {
            assert_eq!(tails.pass(&s, &channel, "text sk-"), "text ");
        }
        assert_eq!(tails.held.len(), MAX_HELD_CHANNELS);
        assert_eq!(tails.take(&0).as_deref(), Some("sk-"));
        assert_eq!(
            tails.take(&(MAX_HELD_CHANNELS + 1)),
            None,
            "dropped, not let through"
        );
    }

    proptest! {
        /// However a text is cut into pieces, what goes out joined is the whole text scrubbed: no needle
        /// survives a cut, and nothing else is lost or changed.
        #[test]
        fn pieces_join_to_the_scrubbed_text(
            words in proptest::collection::vec(
                prop_oneof![
                    Just(CREDENTIAL.to_owned()),
                    Just(CREDENTIAL.to_ascii_uppercase()),
                    Just(HEADER.to_ascii_lowercase()),
                    Just("secret-MODEL-7".to_owned()),
                    "[a-zA-Z0-9 .:/-]{0,12}",
                ],
                0..12,
            ),
            cuts in proptest::collection::vec(0usize..400, 0..10),
        ) {
            // No needle here begins another, so joining the pieces gives exactly the whole text scrubbed.
            let s = Scrubber::new(
                "secret-model-7",
                "https://upstream.invalid/v1",
                "/chat/completions",
                &[CREDENTIAL, HEADER],
            )
            .unwrap();
            let text: String = words.concat();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (text.len() + 1)).collect();
            cuts.push(text.len());
            cuts.sort_unstable();
            let mut tails = Tails::default();
            let mut out = String::new();
            let mut from = 0;
            for cut in cuts {
                out.push_str(&tails.pass(&s, &(), &text[from..cut]));
                from = cut;
            }
            out.push_str(&tails.take(&()).unwrap_or_default());
            prop_assert_eq!(&out, &s.scrub(&text).into_owned());
            let lower = out.to_ascii_lowercase();
            prop_assert!(!lower.contains(&CREDENTIAL.to_ascii_lowercase()));
            prop_assert!(!lower.contains(&HEADER.to_ascii_lowercase()));
        }
    }
}
