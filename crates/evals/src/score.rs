//! Scores and the scorers that read a model's answer as text: exact, includes, match, pattern, choice and flag
//! capture. Their rules follow Inspect AI's scorers of the same names, so a task scores the same here and there;
//! flag capture is ours (a capture-the-flag answer is right when it contains the sample's fresh flag).
//! Model-graded scoring needs a model and lives with the runner.

use crate::sample::Target;
use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeSet;

/// A score's value as Inspect logs write it: `"C"`, `"I"`, `"P"`, `"N"` or a number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Correct,
    Incorrect,
    Partial,
    NoAnswer,
    Number(f64),
}

impl Value {
    /// The value metrics count: correct 1, partial ½, incorrect and no answer 0, a number itself.
    pub fn as_f64(&self) -> f64 {
        match self {
            Value::Correct => 1.0,
            Value::Partial => 0.5,
            Value::Incorrect | Value::NoAnswer => 0.0,
            Value::Number(n) => *n,
        }
    }

    fn from_bool(correct: bool) -> Value {
        if correct { Value::Correct } else { Value::Incorrect }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Correct => s.serialize_str("C"),
            Value::Incorrect => s.serialize_str("I"),
            Value::Partial => s.serialize_str("P"),
            Value::NoAnswer => s.serialize_str("N"),
            Value::Number(n) => s.serialize_f64(*n),
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => match s.as_str() {
                "C" => Ok(Value::Correct),
                "I" => Ok(Value::Incorrect),
                "P" => Ok(Value::Partial),
                "N" => Ok(Value::NoAnswer),
                other => Err(serde::de::Error::custom(format!(
                    "a score value must be C, I, P, N or a number, not {other:?}"
                ))),
            },
            serde_json::Value::Bool(b) => Ok(Value::from_bool(b)),
            serde_json::Value::Number(n) => n
                .as_f64()
                .map(Value::Number)
                .ok_or_else(|| serde::de::Error::custom("a score value out of range")),
            _ => Err(serde::de::Error::custom(
                "a score value must be C, I, P, N or a number",
            )),
        }
    }
}

/// One scorer's verdict on one answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub value: Value,
    /// What the scorer took as the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
}

/// Where `match` looks for the target in the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Location {
    Begin,
    End,
    Any,
    Exact,
}

/// A scorer that needs nothing but the answer's text, the target and (for choice) the choices shown.
#[derive(Debug, Clone)]
pub enum TextScorer {
    /// The normalised answer equals a normalised target (case, punctuation, articles, spacing and number
    /// formatting ignored).
    Exact,
    /// A target occurs in the answer.
    Includes { ignore_case: bool },
    /// A target at the answer's start, end, anywhere, or as all of it, punctuation at the edges ignored.
    Match { location: Location, ignore_case: bool },
    /// A regular expression extracts the answer (its groups, or the whole match); one group (or all, with
    /// `match_all`) must equal a target.
    Pattern {
        regex: Regex,
        ignore_case: bool,
        match_all: bool,
    },
    /// The letters after `ANSWER:` name the right choices, no more and no fewer.
    Choice,
    /// The answer contains one of the target flags, exactly.
    Flag,
}

/// Regular expressions from task files are compiled with this bound on their size.
const PATTERN_SIZE_LIMIT: usize = 1 << 20;

/// The choices a multiple-choice sample showed: `shown[i]` is the original position of the choice shown i-th.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownChoices {
    pub shown: Vec<usize>,
}

impl ShownChoices {
    /// Choices shown in their original order.
    pub fn in_order(count: usize) -> Self {
        ShownChoices {
            shown: (0..count).collect(),
        }
    }
}

/// A letter for a choice position: A, B, … Z, then the position as a number.
pub fn choice_letter(position: usize) -> String {
    match u8::try_from(position).ok().filter(|p| *p < 26) {
        Some(p) => char::from(b'A' + p).to_string(),
        None => (position + 1).to_string(),
    }
}

fn letter_position(token: &str) -> Option<usize> {
    let mut chars = token.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii_alphabetic() => Some(usize::from(c.to_ascii_uppercase() as u8 - b'A')),
        _ => token.parse::<usize>().ok().and_then(|n| n.checked_sub(1)),
    }
}

impl TextScorer {
    /// A pattern scorer; the expression is bounded in size and its error names what is wrong.
    pub fn pattern(expression: &str, ignore_case: bool, match_all: bool) -> Result<Self, String> {
        let regex = RegexBuilder::new(expression)
            .case_insensitive(ignore_case)
            .size_limit(PATTERN_SIZE_LIMIT)
            .build()
            .map_err(|e| format!("invalid pattern: {e}"))?;
        Ok(TextScorer::Pattern {
            regex,
            ignore_case,
            match_all,
        })
    }

    /// Scores `answer` against `target`; `choices` are those shown, for the choice scorer.
    pub fn score(&self, answer: &str, target: &Target, choices: Option<&ShownChoices>) -> Score {
        let targets = target.values();
        let verdict = |value: Value, taken: Option<String>| Score {
            value,
            answer: taken,
            explanation: None,
        };
        match self {
            TextScorer::Exact => {
                let normal = normalize(answer);
                let hit = targets
                    .iter()
                    .map(|t| normalize(t))
                    .any(|t| !t.is_empty() && t == normal);
                verdict(Value::from_bool(hit), Some(answer.to_string()))
            }
            TextScorer::Includes { ignore_case } => {
                let fold = |s: &str| {
                    if *ignore_case {
                        s.to_lowercase()
                    } else {
                        s.to_string()
                    }
                };
                let haystack = fold(answer);
                let hit = targets.iter().any(|t| haystack.contains(&fold(t)));
                verdict(Value::from_bool(hit), Some(answer.to_string()))
            }
            TextScorer::Match {
                location,
                ignore_case,
            } => {
                let clean = |s: &str| {
                    let s = strip_edges(s.trim());
                    if *ignore_case {
                        s.to_lowercase()
                    } else {
                        s.to_string()
                    }
                };
                let value = clean(answer);
                let hit = targets.iter().map(|t| clean(t)).any(|t| match location {
                    Location::Begin => value.starts_with(&t),
                    Location::End => value.ends_with(&t),
                    Location::Any => value.contains(&t),
                    Location::Exact => value == t,
                });
                verdict(Value::from_bool(hit), Some(answer.trim().to_string()))
            }
            TextScorer::Pattern {
                regex,
                ignore_case,
                match_all,
            } => {
                let Some(captures) = regex.captures(answer) else {
                    return Score {
                        value: Value::Incorrect,
                        answer: None,
                        explanation: Some("the answer does not match the scoring pattern".into()),
                    };
                };
                let groups: Vec<&str> = if captures.len() > 1 {
                    captures.iter().skip(1).flatten().map(|m| m.as_str()).collect()
                } else {
                    captures.get(0).map(|m| m.as_str()).into_iter().collect()
                };
                let equal = |g: &str| {
                    targets.iter().any(|t| {
                        if *ignore_case {
                            g.to_lowercase() == t.to_lowercase()
                        } else {
                            g == t
                        }
                    })
                };
                if *match_all {
                    let hit = !groups.is_empty() && groups.iter().all(|g| equal(g));
                    verdict(Value::from_bool(hit), hit.then(|| target.text()))
                } else {
                    match groups.iter().find(|g| equal(g)) {
                        Some(g) => verdict(Value::Correct, Some((*g).to_string())),
                        None => verdict(
                            Value::Incorrect,
                            groups
                                .first()
                                .filter(|_| groups.len() == 1)
                                .map(|g| (*g).to_string()),
                        ),
                    }
                }
            }
            TextScorer::Choice => {
                let count = choices.map_or(0, |c| c.shown.len());
                let picked: BTreeSet<usize> = parse_answers(answer)
                    .into_iter()
                    .filter_map(|shown| choices.and_then(|c| c.shown.get(shown)).copied())
                    .collect();
                let wanted: BTreeSet<usize> = targets
                    .iter()
                    .flat_map(|t| {
                        t.replace(',', " ")
                            .split_whitespace()
                            .map(str::to_string)
                            .collect::<Vec<_>>()
                    })
                    .flat_map(|token| {
                        if token.chars().all(|c| c.is_ascii_digit()) {
                            vec![token]
                        } else {
                            token.chars().map(String::from).collect()
                        }
                    })
                    .filter_map(|t| letter_position(&t))
                    .filter(|p| *p < count)
                    .collect();
                let taken = picked
                    .iter()
                    .map(|p| choice_letter(*p))
                    .collect::<Vec<_>>()
                    .join(", ");
                if picked.is_empty() {
                    let value = if answer.trim().is_empty() {
                        Value::NoAnswer
                    } else {
                        Value::Incorrect
                    };
                    return verdict(value, Some(String::new()));
                }
                verdict(
                    Value::from_bool(!wanted.is_empty() && picked == wanted),
                    Some(taken),
                )
            }
            TextScorer::Flag => {
                let found = targets
                    .iter()
                    .find(|f| !f.is_empty() && answer.contains(f.as_str()));
                verdict(Value::from_bool(found.is_some()), found.cloned())
            }
        }
    }
}

/// The positions (from 0, as shown) of the letters after the last `ANSWER:` in a completion; letters may be
/// written `AB`, `A,B` or `A B`, optionally in bold or between dollar signs or brackets.
pub fn parse_answers(completion: &str) -> BTreeSet<usize> {
    static LINE: std::sync::OnceLock<Option<Regex>> = std::sync::OnceLock::new();
    let line = LINE.get_or_init(|| {
        Regex::new(r"(?im)^\s*(?:\*\*)?ANSWER\s*:\s*(?:\*\*)?\s*\$?\s*([A-Za-z\d(][A-Za-z\d ,()]*)").ok()
    });
    let Some(line) = line else {
        return BTreeSet::new();
    };
    let Some(found) = line.captures_iter(completion).last().and_then(|c| c.get(1)) else {
        return BTreeSet::new();
    };
    let letters = found.as_str().replace(['(', ')'], " ");
    let tokens: Vec<&str> = letters.split([',', ' ']).filter(|t| !t.is_empty()).collect();
    let mut positions = BTreeSet::new();
    for token in tokens {
        if token.chars().all(|c| c.is_ascii_digit()) {
            positions.extend(letter_position(token));
        } else if token.chars().all(|c| c.is_ascii_alphabetic()) && token.len() <= 26 {
            positions.extend(token.chars().filter_map(|c| letter_position(&c.to_string())));
        }
    }
    positions
}

/// Punctuation and spacing trimmed from both ends.
fn strip_edges(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || c.is_ascii_punctuation())
}

fn is_finite_number(s: &str) -> bool {
    s.trim().parse::<f64>().is_ok_and(f64::is_finite)
}

/// Inspect's text normalisation for exact matching: split on spaces and hyphens; each piece case-folded,
/// its punctuation removed (a number keeps its own), numbers written one way, articles dropped; spacing collapsed.
fn normalize(text: &str) -> String {
    let mut tokens = Vec::new();
    for token in text.split([' ', '-']) {
        let folded = token.to_lowercase();
        let token = if is_finite_number(&folded) {
            folded
        } else if is_finite_number(strip_edges(&folded)) {
            strip_edges(&folded).to_string()
        } else {
            folded.chars().filter(|c| !c.is_ascii_punctuation()).collect()
        };
        let token = match token.trim().parse::<f64>() {
            Ok(n) if n.is_finite() => format!("{n:?}"),
            _ => token,
        };
        let words: Vec<&str> = token
            .split_whitespace()
            .filter(|w| !matches!(*w, "a" | "an" | "the"))
            .collect();
        let token = words.join(" ");
        if !token.is_empty() {
            tokens.push(token);
        }
    }
    tokens.join(" ")
}

#[cfg(test)]
mod tests;
