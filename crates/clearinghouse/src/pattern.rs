//! STIX 2.1 patterns (the indicators of threat reports), validated against the patterning grammar of STIX 2.1
//! §9: observation expressions `[object-type:path op value]` joined by AND, OR and FOLLOWEDBY, grouped with
//! parentheses and qualified (WITHIN n SECONDS, REPEATS n TIMES, START t'…' STOP t'…'); comparison
//! expressions with `=`, `!=`, `<`, `>`, `<=`, `>=`, IN, LIKE, MATCHES, ISSUBSET, ISSUPERSET and EXISTS,
//! negated with NOT, joined by AND and OR; constants of every kind (string, integer, float, boolean, hex
//! `h'…'`, binary `b'…'`, timestamp `t'…'`). Comparisons joined by AND inside one observation expression
//! name one object type, as the specification requires. `validate` says where a pattern goes wrong (the
//! character position, counted from 1).

use std::fmt;

/// The longest pattern accepted, in bytes.
pub const MAX_PATTERN: usize = 4096;
/// How deeply parentheses and brackets may nest.
const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PatternError {
    /// The character (counted from 1) where the problem is; the pattern's length + 1 for its end.
    pub position: usize,
    pub message: String,
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "not a STIX 2.1 pattern: at character {}, {}",
            self.position, self.message
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LBracket,
    RBracket,
    LParen,
    RParen,
    Colon,
    Dot,
    Comma,
    Star,
    Op(&'static str),
    Word(String),
    Str,
    Int(i64),
    Float,
    Hex,
    Binary,
    Timestamp,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::LBracket => "`[`".into(),
            Tok::RBracket => "`]`".into(),
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::Colon => "`:`".into(),
            Tok::Dot => "`.`".into(),
            Tok::Comma => "`,`".into(),
            Tok::Star => "`*`".into(),
            Tok::Op(op) => format!("`{op}`"),
            Tok::Word(w) => format!("`{w}`"),
            Tok::Str => "a string".into(),
            Tok::Int(_) => "an integer".into(),
            Tok::Float => "a number".into(),
            Tok::Hex => "a hex constant".into(),
            Tok::Binary => "a binary constant".into(),
            Tok::Timestamp => "a timestamp".into(),
        }
    }
}

/// Checks a pattern; the error names the position and what was expected there.
pub fn validate(pattern: &str) -> Result<(), PatternError> {
    if pattern.len() > MAX_PATTERN {
        return Err(PatternError {
            position: 1,
            message: format!("a pattern is at most {MAX_PATTERN} bytes"),
        });
    }
    let tokens = lex(pattern)?;
    let mut p = Parser {
        tokens,
        at: 0,
        end: pattern.chars().count() + 1,
        depth: 0,
    };
    if p.tokens.is_empty() {
        return Err(p.error_here("the pattern is empty"));
    }
    p.observations()?;
    match p.peek() {
        None => Ok(()),
        Some(_) => Err(p.error_here(&format!("unexpected {}", p.describe_here()))),
    }
}

fn err(position: usize, message: impl Into<String>) -> PatternError {
    PatternError {
        position,
        message: message.into(),
    }
}

/// Splits the pattern into tokens with their character positions (from 1).
fn lex(text: &str) -> Result<Vec<(usize, Tok)>, PatternError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let pos = i + 1;
        let next = chars.get(i + 1).copied();
        match c {
            c if c.is_whitespace() => i += 1,
            '[' | ']' | '(' | ')' | ':' | ',' | '*' => {
                out.push((
                    pos,
                    match c {
                        '[' => Tok::LBracket,
                        ']' => Tok::RBracket,
                        '(' => Tok::LParen,
                        ')' => Tok::RParen,
                        ':' => Tok::Colon,
                        ',' => Tok::Comma,
                        _ => Tok::Star,
                    },
                ));
                i += 1;
            }
            '=' => {
                // `==` is accepted as `=`, as the reference grammar does.
                i += if next == Some('=') { 2 } else { 1 };
                out.push((pos, Tok::Op("=")));
            }
            '!' if next == Some('=') => {
                out.push((pos, Tok::Op("!=")));
                i += 2;
            }
            '<' | '>' => {
                let op = match (c, next) {
                    ('<', Some('=')) => "<=",
                    ('>', Some('=')) => ">=",
                    ('<', _) => "<",
                    _ => ">",
                };
                i += op.len();
                out.push((pos, Tok::Op(op)));
            }
            '\'' => {
                i = string_end(&chars, i, pos)?;
                out.push((pos, Tok::Str));
            }
            'h' | 'b' | 't' if next == Some('\'') => {
                let body_start = i + 2;
                i = string_end(&chars, i + 1, pos)?;
                let body: String = chars.get(body_start..i - 1).unwrap_or_default().iter().collect();
                let tok = match c {
                    'h' => {
                        if !body.len().is_multiple_of(2) || !body.chars().all(|c| c.is_ascii_hexdigit()) {
                            return Err(err(pos, "a hex constant holds an even number of hex digits"));
                        }
                        Tok::Hex
                    }
                    'b' => {
                        if !is_base64(&body) {
                            return Err(err(pos, "a binary constant holds base64"));
                        }
                        Tok::Binary
                    }
                    _ => {
                        if !is_timestamp(&body) {
                            return Err(err(
                                pos,
                                "a timestamp is t'YYYY-MM-DDTHH:MM:SS[.s+]Z' (RFC 3339, UTC)",
                            ));
                        }
                        Tok::Timestamp
                    }
                };
                out.push((pos, tok));
            }
            '.' if !next.is_some_and(|n| n.is_ascii_digit()) => {
                out.push((pos, Tok::Dot));
                i += 1;
            }
            c if c.is_ascii_digit() || c == '-' || c == '+' || c == '.' => {
                let start = i;
                i += 1;
                while chars.get(i).is_some_and(|c| c.is_ascii_digit() || *c == '.') {
                    i += 1;
                }
                let number: String = chars.get(start..i).unwrap_or_default().iter().collect();
                let digits = number.trim_start_matches(['-', '+']);
                if digits.is_empty() {
                    return Err(err(pos, format!("unexpected `{c}`")));
                }
                if digits.contains('.') {
                    if digits.matches('.').count() > 1
                        || digits.ends_with('.')
                        || number.parse::<f64>().is_err()
                    {
                        return Err(err(pos, format!("`{number}` is not a number")));
                    }
                    out.push((pos, Tok::Float));
                } else {
                    let n = number
                        .parse::<i64>()
                        .map_err(|_| err(pos, format!("`{number}` is not an integer within 64 bits")))?;
                    out.push((pos, Tok::Int(n)));
                }
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while chars
                    .get(i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                {
                    i += 1;
                }
                let word: String = chars.get(start..i).unwrap_or_default().iter().collect();
                if word.ends_with('-') {
                    return Err(err(pos, format!("`{word}` ends with a hyphen")));
                }
                out.push((pos, Tok::Word(word)));
            }
            other => return Err(err(pos, format!("unexpected `{other}`"))),
        }
    }
    Ok(out)
}

/// The index just past the closing quote of the string whose opening quote is at `open`.
fn string_end(chars: &[char], open: usize, pos: usize) -> Result<usize, PatternError> {
    let mut i = open + 1;
    loop {
        match chars.get(i) {
            None => return Err(err(pos, "the string is not closed (`'`)")),
            Some('\\') => match chars.get(i + 1) {
                Some('\\' | '\'') => i += 2,
                _ => return Err(err(i + 1, "in a string, `\\` escapes only `\\` and `'`")),
            },
            Some('\'') => return Ok(i + 1),
            Some(_) => i += 1,
        }
    }
}

fn is_base64(text: &str) -> bool {
    let body = text.trim_end_matches('=');
    text.len().is_multiple_of(4)
        && text.len() - body.len() <= 2
        && body
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/')
}

fn is_timestamp(text: &str) -> bool {
    let b = text.as_bytes();
    let digits =
        |range: std::ops::Range<usize>| b.get(range).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let shape = digits(0..4)
        && at(4, b'-')
        && digits(5..7)
        && at(7, b'-')
        && digits(8..10)
        && at(10, b'T')
        && digits(11..13)
        && at(13, b':')
        && digits(14..16)
        && at(16, b':')
        && digits(17..19);
    if !shape || !text.ends_with('Z') {
        return false;
    }
    let fraction = text.get(19..text.len() - 1).unwrap_or("");
    let fraction_ok = fraction.is_empty()
        || (fraction.len() > 1
            && fraction.starts_with('.')
            && fraction.chars().skip(1).all(|c| c.is_ascii_digit()));
    let num = |r: std::ops::Range<usize>| text.get(r).and_then(|s| s.parse::<u32>().ok()).unwrap_or(99);
    fraction_ok
        && (1..=12).contains(&num(5..7))
        && (1..=31).contains(&num(8..10))
        && num(11..13) <= 23
        && num(14..16) <= 59
        && num(17..19) <= 60
}

struct Parser {
    tokens: Vec<(usize, Tok)>,
    at: usize,
    end: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.at).map(|(_, t)| t)
    }

    fn position(&self) -> usize {
        self.tokens.get(self.at).map_or(self.end, |(p, _)| *p)
    }

    fn describe_here(&self) -> String {
        self.peek()
            .map_or_else(|| "the end of the pattern".into(), Tok::describe)
    }

    fn error_here(&self, message: &str) -> PatternError {
        err(self.position(), message)
    }

    fn expected(&self, what: &str) -> PatternError {
        self.error_here(&format!("expected {what}, found {}", self.describe_here()))
    }

    fn is_word(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w == word)
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        if self.peek() == Some(tok) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn eat_word(&mut self, word: &str) -> bool {
        if self.is_word(word) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn nest(&mut self) -> Result<(), PatternError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_here(&format!("nested more than {MAX_DEPTH} deep")));
        }
        Ok(())
    }

    /// observationExpressions: or-expressions joined by FOLLOWEDBY.
    fn observations(&mut self) -> Result<(), PatternError> {
        self.observation_or()?;
        while self.eat_word("FOLLOWEDBY") {
            self.observation_or()?;
        }
        Ok(())
    }

    fn observation_or(&mut self) -> Result<(), PatternError> {
        self.observation_and()?;
        while self.eat_word("OR") {
            self.observation_and()?;
        }
        Ok(())
    }

    fn observation_and(&mut self) -> Result<(), PatternError> {
        self.observation()?;
        while self.eat_word("AND") {
            self.observation()?;
        }
        Ok(())
    }

    /// `[comparison]` or `(observations)`, then qualifiers.
    fn observation(&mut self) -> Result<(), PatternError> {
        self.nest()?;
        if self.eat(&Tok::LBracket) {
            self.comparison_or()?;
            if !self.eat(&Tok::RBracket) {
                return Err(self.expected("`]`, AND or OR"));
            }
        } else if self.eat(&Tok::LParen) {
            self.observations()?;
            if !self.eat(&Tok::RParen) {
                return Err(self.expected("`)`, AND, OR or FOLLOWEDBY"));
            }
        } else {
            return Err(self.expected("an observation expression (`[` or `(`)"));
        }
        self.depth -= 1;
        self.qualifiers()
    }

    fn qualifiers(&mut self) -> Result<(), PatternError> {
        loop {
            if self.eat_word("WITHIN") {
                match self.peek() {
                    Some(Tok::Int(n)) if *n > 0 => self.at += 1,
                    Some(Tok::Float) => self.at += 1,
                    _ => return Err(self.expected("a positive number of seconds after WITHIN")),
                }
                if !self.eat_word("SECONDS") {
                    return Err(self.expected("SECONDS"));
                }
            } else if self.eat_word("REPEATS") {
                match self.peek() {
                    Some(Tok::Int(n)) if *n > 0 => self.at += 1,
                    _ => return Err(self.expected("a positive whole number after REPEATS")),
                }
                if !self.eat_word("TIMES") {
                    return Err(self.expected("TIMES"));
                }
            } else if self.eat_word("START") {
                if !self.eat(&Tok::Timestamp) {
                    return Err(self.expected("a timestamp (t'…') after START"));
                }
                if !self.eat_word("STOP") {
                    return Err(self.expected("STOP"));
                }
                if !self.eat(&Tok::Timestamp) {
                    return Err(self.expected("a timestamp (t'…') after STOP"));
                }
            } else {
                return Ok(());
            }
        }
    }

    /// Comparisons joined by OR; returns the object types they name.
    fn comparison_or(&mut self) -> Result<Vec<String>, PatternError> {
        let mut types = self.comparison_and()?;
        while self.eat_word("OR") {
            types.extend(self.comparison_and()?);
        }
        Ok(types)
    }

    /// Comparisons joined by AND, which must name one object type.
    fn comparison_and(&mut self) -> Result<Vec<String>, PatternError> {
        let start = self.position();
        let mut types = self.test()?;
        while self.eat_word("AND") {
            types.extend(self.test()?);
        }
        types.sort();
        types.dedup();
        if types.len() > 1 {
            return Err(err(
                start,
                format!(
                    "comparisons joined by AND must name one object type, not {}",
                    types.join(" and ")
                ),
            ));
        }
        Ok(types)
    }

    fn test(&mut self) -> Result<Vec<String>, PatternError> {
        if self.eat(&Tok::LParen) {
            self.nest()?;
            let types = self.comparison_or()?;
            if !self.eat(&Tok::RParen) {
                return Err(self.expected("`)`, AND or OR"));
            }
            self.depth -= 1;
            return Ok(types);
        }
        if self.eat_word("EXISTS") {
            return self.object_path().map(|t| vec![t]);
        }
        let ty = self.object_path()?;
        self.eat_word("NOT");
        let position = self.position();
        match self.peek().cloned() {
            Some(Tok::Op("=" | "!=")) => {
                self.at += 1;
                self.literal(true)?;
            }
            Some(Tok::Op(_)) => {
                self.at += 1;
                self.literal(false)?;
            }
            Some(Tok::Word(w)) if w == "IN" => {
                self.at += 1;
                self.set()?;
            }
            Some(Tok::Word(w)) if matches!(w.as_str(), "LIKE" | "MATCHES" | "ISSUBSET" | "ISSUPERSET") => {
                self.at += 1;
                if !self.eat(&Tok::Str) {
                    return Err(self.expected(&format!("a string after {w}")));
                }
            }
            _ => {
                return Err(err(
                    position,
                    format!(
                        "expected a comparison operator (=, !=, <, >, <=, >=, IN, LIKE, MATCHES, ISSUBSET, \
                         ISSUPERSET), found {}",
                        self.describe_here()
                    ),
                ));
            }
        }
        Ok(vec![ty])
    }

    /// `object-type:property[.property|[index]]…`; returns the object type.
    fn object_path(&mut self) -> Result<String, PatternError> {
        let ty = match self.peek() {
            Some(Tok::Word(w)) if is_object_type(w) => w.clone(),
            _ => return Err(self.expected("an object path (object-type:property)")),
        };
        self.at += 1;
        if !self.eat(&Tok::Colon) {
            return Err(self.expected("`:` after the object type"));
        }
        match self.peek() {
            Some(Tok::Word(w)) if is_property(w) => self.at += 1,
            Some(Tok::Str) => self.at += 1,
            _ => return Err(self.expected("a property name")),
        }
        loop {
            if self.eat(&Tok::Dot) {
                match self.peek() {
                    Some(Tok::Word(w)) if is_property(w) => self.at += 1,
                    Some(Tok::Str) => self.at += 1,
                    _ => return Err(self.expected("a property name after `.`")),
                }
            } else if self.eat(&Tok::LBracket) {
                if !(self.eat(&Tok::Star)
                    || matches!(self.peek(), Some(Tok::Int(_))) && {
                        self.at += 1;
                        true
                    })
                {
                    return Err(self.expected("a list index or `*`"));
                }
                if !self.eat(&Tok::RBracket) {
                    return Err(self.expected("`]` after the list index"));
                }
            } else {
                return Ok(ty);
            }
        }
    }

    /// A constant; booleans only where `equality` (=, !=) allows them.
    fn literal(&mut self, equality: bool) -> Result<(), PatternError> {
        match self.peek() {
            Some(Tok::Str | Tok::Int(_) | Tok::Float | Tok::Hex | Tok::Binary | Tok::Timestamp) => {
                self.at += 1;
                Ok(())
            }
            Some(Tok::Word(w)) if w == "true" || w == "false" => {
                if equality {
                    self.at += 1;
                    Ok(())
                } else {
                    Err(self.error_here("a boolean is compared only with = or !="))
                }
            }
            _ => Err(self.expected("a constant")),
        }
    }

    /// `(constant, …)`.
    fn set(&mut self) -> Result<(), PatternError> {
        if !self.eat(&Tok::LParen) {
            return Err(self.expected("`(` starting the set after IN"));
        }
        if self.eat(&Tok::RParen) {
            return Ok(());
        }
        loop {
            self.literal(true)?;
            if self.eat(&Tok::RParen) {
                return Ok(());
            }
            if !self.eat(&Tok::Comma) {
                return Err(self.expected("`,` or `)` in the set"));
            }
        }
    }
}

/// An object type: lowercase ASCII letters, digits and hyphens, starting with a letter (`ipv4-addr`), 3–250.
fn is_object_type(word: &str) -> bool {
    word.len() >= 3
        && word.len() <= 250
        && word.starts_with(|c: char| c.is_ascii_lowercase())
        && word
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// A property name: letters, digits and `_`, not starting with a digit; no hyphen.
fn is_property(word: &str) -> bool {
    !word.contains('-') && !word.starts_with(|c: char| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_patterns_pass() {
        let cases = [
            "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
            "[ipv4-addr:value = '198.51.100.1/32' OR ipv4-addr:value = '203.0.113.33/32']",
            "[domain-name:value LIKE '%.example.com']",
            "[file:name MATCHES '^Final Report.+\\\\.exe$']",
            "[ipv4-addr:value ISSUBSET '198.51.100.0/24']",
            "[ipv4-addr:value ISSUPERSET '198.51.100.0/24']",
            "[network-traffic:dst_port IN (80, 443, 8080)]",
            "[network-traffic:dst_port NOT IN (80)]",
            "[file:size > 1024 AND file:size <= 4096]",
            "[x509-certificate:issuer != 'CN=Evil']",
            "[email-message:from_ref.value = 'a@b.example'] FOLLOWEDBY [file:name = 'x.exe'] WITHIN 300 SECONDS",
            "[file:name = 'x'] REPEATS 5 TIMES WITHIN 1.5 SECONDS",
            "([file:name = 'a'] AND [file:name = 'b']) OR [process:pid = -1]",
            "[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = 'x']",
            "[email-message:body_multipart[*].body_raw_ref.name = 'x.doc']",
            "[email-message:body_multipart[0].content_type = 'text/plain']",
            "[file:content_ref.payload_bin = b'aGVsbG8=']",
            "[file:magic_number_hex = h'ffd8']",
            "[file:created = t'2026-01-01T00:00:00Z'] START t'2026-01-01T00:00:00Z' STOP t'2026-02-01T00:00:00.5Z'",
            "[process:is_hidden = true]",
            "[(file:name = 'a' OR file:name = 'b') AND file:size > 10]",
            "[EXISTS windows-registry-key:values]",
        ];
        for pattern in cases {
            assert_eq!(validate(pattern), Ok(()), "{pattern}");
        }
    }

    #[test]
    fn invalid_patterns_name_the_position() {
        // (pattern, position, part of the message)
        let cases = [
            ("", 1, "empty"),
            ("file:name = 'x'", 1, "observation expression"),
            ("[file:name = 'x'", 17, "`]`"),
            ("[file:name = 'x]", 14, "not closed"),
            ("[file:name 'x']", 12, "comparison operator"),
            ("[file:name = ]", 14, "constant"),
            (
                "[file:name == 'x' AND ipv4-addr:value = '1']",
                2,
                "one object type",
            ),
            ("[file:size > true]", 14, "boolean"),
            ("[file:name = 'x'] WITHIN SECONDS", 26, "positive number"),
            ("[file:name = 'x'] WITHIN 0 SECONDS", 26, "positive number"),
            ("[file:name = 'x'] REPEATS 2", 28, "TIMES"),
            (
                "[file:name = 'x'] START t'2026-13-01T00:00:00Z' STOP t'2026-01-01T00:00:00Z'",
                25,
                "timestamp",
            ),
            ("[file:hash = h'abc']", 14, "hex"),
            ("[file:bin = b'a$==']", 13, "base64"),
            ("[file:name IN 'x']", 15, "`(`"),
            ("[file:name IN (1, 2]", 20, "`,` or `)`"),
            ("[File:name = 'x']", 2, "object path"),
            ("[file:name = 'x'] AND", 22, "observation expression"),
            ("[file:name = 'x'] [file:name = 'y']", 19, "unexpected"),
            ("[file:names[x] = 'y']", 13, "list index"),
            ("[file:name = 'a\\b']", 16, "escapes"),
            ("[file:name = 'x'] FOLLOWEDBY", 29, "observation expression"),
            ("[file:name = 99999999999999999999]", 14, "64 bits"),
            ("[file:name = 'x' @]", 18, "unexpected `@`"),
        ];
        for (pattern, position, message) in cases {
            let error = validate(pattern).expect_err(pattern);
            assert_eq!(error.position, position, "{pattern}: {error}");
            assert!(error.to_string().contains(message), "{pattern}: {error}");
        }
    }

    #[test]
    fn long_and_deep_patterns_are_refused() {
        let long = format!("[file:name = '{}']", "a".repeat(MAX_PATTERN));
        assert!(validate(&long).is_err());
        let deep = format!("{}[file:name = 'x']{}", "(".repeat(40), ")".repeat(40));
        assert!(validate(&deep).unwrap_err().message.contains("nested"));
    }
}
