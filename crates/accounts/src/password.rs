//! What a new password must be, after NIST SP 800-63B (5.1.1.2): long enough, no composition rules, and not
//! one that attackers try first. The length rules are ours; whether a password is guessable — commonly used,
//! a common one with a predictable addition, repeats, sequences, keyboard walks, or built on the service's
//! name or the person's own address or name — is zxcvbn's estimate, which must reach 10^8 guesses.
//!
//! Every refusal names the `password` field and says why, so that the person can choose better.

use crate::secret::Secret;
use kernel::ValidationError;
use zxcvbn::feedback::{Feedback, Warning};
use zxcvbn::matching::patterns::MatchPattern;
use zxcvbn::{Entropy, Score};

pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// zxcvbn sees only this many characters. Its cost grows steeply with the length once the twenty-odd symbols
/// its l33t matcher reads as letters are in it: on 1024 bytes of them, its own cut at 100 characters takes
/// about 1.1 s, this one 0.1 s (an argon2id hash, 0.03 s), a passphrase 0.25 ms. The cut can only make a
/// password look weaker, never stronger: whoever guesses the whole has guessed its start.
const ESTIMATED_CHARS: usize = 32;

/// The service's name, which no password may be built on, besides the person's own words.
const SERVICE_NAME: &str = "prelaunch";

/// Shorter parts of the person's words are not context (they occur by chance in good passwords).
const MIN_CONTEXT_WORD_CHARS: usize = 3;

fn invalid(message: impl Into<String>) -> ValidationError {
    ValidationError::new("password", message)
}

/// Checks a new password. `context` holds the person's own words — their e-mail address and name — which the
/// password must not be built on.
pub fn check_new_password(password: &Secret, context: &[&str]) -> Result<(), ValidationError> {
    let raw = password.expose();
    if raw.len() > MAX_PASSWORD_BYTES {
        return Err(invalid(format!("must be at most {MAX_PASSWORD_BYTES} bytes")));
    }
    // Spaces at either end and runs of spaces add nothing an attacker has to guess.
    let collapsed = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.is_empty() && !raw.is_empty() {
        return Err(invalid("must not be only spaces"));
    }
    if collapsed.chars().count() < MIN_PASSWORD_CHARS {
        return Err(invalid(if raw.chars().count() < MIN_PASSWORD_CHARS {
            format!("must be at least {MIN_PASSWORD_CHARS} characters")
        } else {
            format!(
                "must be at least {MIN_PASSWORD_CHARS} characters, not counting spaces at either end or repeated spaces"
            )
        }));
    }
    let words = context_words(context);
    let inputs: Vec<&str> = words.iter().map(String::as_str).collect();
    // zxcvbn counts each space as a guess of its own; an attacker tries "pass word" right after "password".
    let start: String = raw
        .chars()
        .filter(|c| !c.is_whitespace())
        .take(ESTIMATED_CHARS)
        .collect();
    let estimate = zxcvbn::zxcvbn(&start, &inputs);
    if estimate.score() >= Score::Three {
        return Ok(());
    }
    Err(invalid(format!(
        "is too easy to guess: {}",
        reason(&estimate, &words)
    )))
}

/// The service's name and the person's words, lower-cased: each text and each side of an address's `@`
/// whole, their parts between punctuation, and those parts run together ("gracehopper").
fn context_words(context: &[&str]) -> Vec<String> {
    let mut words = vec![SERVICE_NAME.to_owned()];
    for text in context
        .iter()
        .flat_map(|text| std::iter::once(*text).chain(text.split('@')))
    {
        let text = text.to_lowercase();
        let parts: Vec<&str> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|part| !part.is_empty())
            .collect();
        words.push(parts.concat());
        words.extend(parts.iter().map(|part| (*part).to_owned()));
        words.push(text);
    }
    words.retain(|word| word.chars().count() >= MIN_CONTEXT_WORD_CHARS);
    words
}

/// Why zxcvbn finds the password guessable, in our words: the context first, then its own warning.
fn reason(estimate: &Entropy, words: &[String]) -> &'static str {
    let on_context = estimate.sequence().iter().any(
        |part| matches!(&part.pattern, MatchPattern::Dictionary(word) if words.contains(&word.matched_word)),
    );
    if on_context {
        return "it is built on the name of this service, your e-mail address or your name";
    }
    match estimate.feedback().and_then(Feedback::warning) {
        Some(
            Warning::ThisIsATop10Password
            | Warning::ThisIsATop100Password
            | Warning::ThisIsACommonPassword
            | Warning::ThisIsSimilarToACommonlyUsedPassword,
        ) => "it is one of the most commonly used passwords, or close to one",
        Some(Warning::StraightRowsOfKeysAreEasyToGuess | Warning::ShortKeyboardPatternsAreEasyToGuess) => {
            "it follows a row or a short pattern of the keyboard"
        }
        Some(
            Warning::RepeatsLikeAaaAreEasyToGuess | Warning::RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess,
        ) => "it repeats characters or a group of them",
        Some(Warning::SequencesLikeAbcAreEasyToGuess) => "it follows a sequence, such as abc or 6543",
        Some(Warning::RecentYearsAreEasyToGuess | Warning::DatesAreOftenEasyToGuess) => {
            "it rests on a date or a recent year"
        }
        Some(
            Warning::AWordByItselfIsEasyToGuess
            | Warning::NamesAndSurnamesByThemselvesAreEasyToGuess
            | Warning::CommonNamesAndSurnamesAreEasyToGuess,
        ) => "it is a common word or name with little added",
        None => "it is made of common words, names or patterns; a few uncommon words are better",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_passwords() {
        const SHORT: &str = "must be at least 12 characters";
        const SPACES: &str = "must not be only spaces";
        const PADDED: &str = "not counting spaces";
        const COMMON: &str = "most commonly used passwords";
        const KEYBOARD: &str = "pattern of the keyboard";
        const REPEATS: &str = "repeats characters";
        const SEQUENCE: &str = "follows a sequence";
        const CONTEXT: &str = "name of this service, your e-mail address or your name";
        let ada = ["ada.lovelace@lab.example", "Ada Lovelace"];
        let long = "x".repeat(MAX_PASSWORD_BYTES + 1);
        let weak_start = format!("{} {}", "a".repeat(32), "tangerine orbit velvet");
        let strong_start = format!("{} {}", "correct horse battery staple", "a".repeat(900));
        let cases: &[(&str, &str, Option<&str>)] = &[
            // Accepted: long and not guessable, whatever their composition.
            ("a passphrase", "correct horse battery staple", None),
            ("another passphrase", "a long enough passphrase", None),
            ("with spaces inside", "tangerine  orbit   velvet", None),
            ("unicode", "éléphant rose à vélo", None),
            ("a common word inside a phrase", "my password is a secret", None),
            ("a common word with a long addition", "dragon7391&kq", None),
            (
                "the person's first name among other words",
                "adamant ocean lighthouse",
                None,
            ),
            (
                "the service name with enough besides",
                "prelaunch of the orange moons",
                None,
            ),
            ("exactly 12 characters", "v8#kq2!mzt0w", None),
            ("long, judged on its start", strong_start.as_str(), None),
            // Length.
            ("empty", "", Some(SHORT)),
            ("short", "short", Some(SHORT)),
            ("eleven", "v8#kq2!mzt0", Some(SHORT)),
            ("too long", long.as_str(), Some("must be at most 1024 bytes")),
            // Whitespace.
            ("twelve spaces", "            ", Some(SPACES)),
            ("tabs and newlines", "\t\t\t\n\n\n      ", Some(SPACES)),
            ("padded with spaces", "   kq2!m     ", Some(PADDED)),
            // Common passwords, alone and with predictable additions.
            ("common", "password1234", Some(COMMON)),
            ("common, capitalised, with digits", "Password1234", Some(COMMON)),
            ("common with a year", "iloveyou2024", Some(COMMON)),
            ("common with a run", "letmein12345", Some(COMMON)),
            ("common with a keyboard row", "123456qwerty", Some(COMMON)),
            ("common, spaced out", "p a s s w o r d 1 2 3 4", Some(COMMON)),
            // Keyboard walks, repetition and sequences.
            ("a keyboard row", "qwertyuiop[]", Some(KEYBOARD)),
            ("a row of shifted digits", "!@#$%^&*()!@", Some(KEYBOARD)),
            ("one character", "aaaaaaaaaaaa", Some(REPEATS)),
            ("two characters", "abababababab", Some(REPEATS)),
            ("a short unit repeated", "abcabcabcabc", Some(REPEATS)),
            ("common twice", "trustno1trustno1", Some(REPEATS)),
            ("a weak start to a long one", weak_start.as_str(), Some(REPEATS)),
            ("letters in a row", "abcdefghijkl", Some(SEQUENCE)),
            ("digits in a row", "123456789012", Some(SEQUENCE)),
            ("digits backwards", "987654321098", Some(SEQUENCE)),
            // Context: the service's name, the person's address and name.
            ("the service name", "Prelaunch2027!", Some(CONTEXT)),
            ("the service name with a run", "prelaunch123456", Some(CONTEXT)),
            ("the e-mail address", "ada.lovelace@lab.example", Some(CONTEXT)),
            ("the local part", "ada.lovelace1234", Some(CONTEXT)),
            ("the name with a year", "Ada Lovelace 1815", Some(CONTEXT)),
            ("the name run together", "AdaLovelace1815", Some(CONTEXT)),
            ("the domain with a run", "lab.example123456", Some(CONTEXT)),
        ];
        let mut failures = Vec::new();
        for (what, password, expected) in cases {
            let result = check_new_password(&Secret::new((*password).to_owned()), &ada);
            match (expected, result) {
                (None, Ok(())) => {}
                (Some(message), Err(error))
                    if error.field == "password" && error.message.contains(message) => {}
                (expected, result) => failures.push(format!("{what}: expected {expected:?}, got {result:?}")),
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}
