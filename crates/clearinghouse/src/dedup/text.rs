//! What duplicate detection reads from a report's text: weighted tokens for MinHash, the functions of a
//! pasted stack trace, the sanitizer's bug class, and the flaw's location.
//!
//! Normalisation makes the same trace from two runs or two machines read the same: text is lowercased;
//! hex addresses, hashes, numbers (line numbers, offsets, sizes, PIDs, versions) are dropped; paths are
//! reduced to their file name; a function keeps its name without arguments, template parameters or a Rust
//! symbol hash. Prose words are stemmed lightly and common words of English, German, French and Spanish are
//! dropped, so that the trace and the identifiers, which do not change with the language of the prose, carry
//! most of the weight.

use super::minhash::{hash, mix};

/// Weights: how many MinHash elements a token contributes (weighted Jaccard by replication).
const W_WORD: u8 = 1;
const W_CODE: u8 = 3;
const W_FRAME_DEEP: u8 = 4;
const W_BUG_CLASS: u8 = 4;
const W_FRAME_TOP: u8 = 8;
/// The frames that make a crash's signature.
pub const TOP_FRAMES: usize = 3;
/// At most this many frames are read from one trace, and this many tokens from one report.
const MAX_FRAMES: usize = 64;
const MAX_TOKENS: usize = 4096;

/// The features of one report.
#[derive(Debug, Default)]
pub struct Features {
    /// (token hash, weight), deduplicated by hash with the highest weight kept.
    tokens: Vec<(u64, u8)>,
}

impl Features {
    pub fn add_text(&mut self, text: &str) {
        for raw in text.split(is_separator) {
            if self.tokens.len() >= MAX_TOKENS {
                return;
            }
            let Some(token) = clean(raw) else { continue };
            if is_code(raw, &token) {
                self.push(&token, W_CODE);
                // `module::func`, `pkg.Class.method`: the last component too, alone.
                if let Some(last) = last_component(&token) {
                    self.push(last, W_CODE);
                }
            } else if token.chars().all(char::is_alphabetic)
                && token.chars().count() >= 3
                && !is_stopword(&token)
                && !is_security_word(&token)
            {
                self.push(stem(&token), W_WORD);
            }
        }
    }

    pub fn add_frames(&mut self, frames: &[String]) {
        for (i, f) in frames.iter().enumerate() {
            self.push(f, if i < TOP_FRAMES { W_FRAME_TOP } else { W_FRAME_DEEP });
        }
    }

    pub fn add_bug_class(&mut self, class: &str) {
        self.push(class, W_BUG_CLASS);
    }

    fn push(&mut self, token: &str, weight: u8) {
        self.tokens.push((hash(0x7E87, token.as_bytes()), weight));
    }

    /// The weighted set as element hashes: token `t` of weight `w` is the elements (t, 0) … (t, w − 1).
    pub fn elements(mut self) -> Vec<u64> {
        self.tokens
            .sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        self.tokens.dedup_by_key(|t| t.0);
        let mut out = Vec::with_capacity(self.tokens.len() * 2);
        for (h, w) in self.tokens {
            for copy in 0..u64::from(w) {
                out.push(mix(h ^ copy.wrapping_mul(0xA076_1D64_78BD_642F)));
            }
        }
        out
    }
}

fn is_separator(c: char) -> bool {
    !(c.is_alphanumeric() || matches!(c, '_' | ':' | '.' | '/' | '\\' | '-' | '$' | '~'))
}

/// Lowercases, reduces a path to its file name, strips `:line:col` and surrounding punctuation; drops
/// numbers, hex addresses and hashes.
fn clean(raw: &str) -> Option<String> {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let base = base.trim_matches(|c: char| matches!(c, '.' | ':' | '-' | '~' | '$'));
    // `parser.c:123:5` → `parser.c`
    let base = base
        .split_once(":")
        .filter(|(_, rest)| rest.starts_with(|c: char| c.is_ascii_digit()))
        .map_or(base, |(b, _)| b);
    let first = base.chars().next()?;
    if first.is_ascii_digit() || is_hexish(base) {
        return None;
    }
    Some(strip_symbol_hash(&base.to_lowercase()).to_owned())
}

/// `foo::parse::h0123456789abcdef` → `foo::parse`: a Rust symbol's hash changes with every build.
fn strip_symbol_hash(symbol: &str) -> &str {
    match symbol.rsplit_once("::h") {
        Some((head, tail)) if tail.len() == 16 && tail.chars().all(|c| c.is_ascii_hexdigit()) => head,
        _ => symbol,
    }
}

/// Addresses and hashes: `0x…`, or eight or more hex digits with a digit among them.
fn is_hexish(token: &str) -> bool {
    if token.starts_with("0x") || token.starts_with("0X") {
        return true;
    }
    token.len() >= 8
        && token.chars().all(|c| c.is_ascii_hexdigit())
        && token.chars().any(|c| c.is_ascii_digit())
}

/// Identifiers and file names, as opposed to prose words.
fn is_code(raw: &str, token: &str) -> bool {
    token.contains(['_', ':', '.', '$'])
        || token.chars().any(|c| c.is_ascii_digit())
        || raw
            .chars()
            .zip(raw.chars().skip(1))
            .any(|(a, b)| a.is_lowercase() && b.is_uppercase())
}

fn last_component(token: &str) -> Option<&str> {
    let last = token.rsplit("::").next()?.rsplit('.').next()?;
    (last.len() >= 3 && last != token && !is_extension(last)).then_some(last)
}

fn is_extension(s: &str) -> bool {
    matches!(
        s,
        "c" | "h"
            | "cc"
            | "cpp"
            | "cxx"
            | "hpp"
            | "hh"
            | "rs"
            | "go"
            | "py"
            | "js"
            | "mjs"
            | "cjs"
            | "ts"
            | "java"
            | "kt"
            | "rb"
            | "php"
            | "cs"
            | "swift"
            | "m"
            | "mm"
            | "scala"
            | "pl"
            | "sh"
            | "lua"
            | "zig"
    )
}

/// Strips common English inflections (`parsing`, `parsed`, `parses` → `pars`); other languages' words pass.
fn stem(word: &str) -> &str {
    for suffix in ["ing", "ed", "es", "s"] {
        if let Some(stem) = word.strip_suffix(suffix).filter(|stem| stem.len() >= 4) {
            return stem;
        }
    }
    word
}

fn is_stopword(word: &str) -> bool {
    matches!(
        word,
        // English
        "the" | "and" | "for" | "with" | "that" | "this" | "from" | "into" | "when" | "which" | "can" | "are"
            | "was" | "were" | "has" | "have" | "not" | "but" | "its" | "via" | "may" | "will" | "been" | "being"
            | "there" | "their" | "our" | "you" | "your" | "any" | "all" | "also" | "than" | "then" | "such"
            | "these" | "those" | "would" | "could" | "should" | "does" | "did" | "before" | "after" | "while"
            | "because" | "other" | "some" | "more" | "most" | "only" | "very" | "about" | "over" | "under"
            | "function" | "file" | "line" | "version" | "versions"
            // German
            | "der" | "die" | "das" | "und" | "ein" | "eine" | "einen" | "einem" | "einer" | "ist" | "mit"
            | "von" | "den" | "dem" | "des" | "sich" | "auf" | "für" | "nicht" | "wird" | "werden" | "kann"
            | "durch" | "bei" | "wenn" | "oder" | "auch" | "als" | "aus" | "zu" | "zum" | "zur" | "funktion"
            | "datei" | "zeile" | "versionen"
            // French
            | "les" | "une" | "est" | "dans" | "par" | "pour" | "sur" | "pas" | "qui" | "que" | "avec"
            | "ce" | "cette" | "peut" | "sont" | "aux" | "fonction" | "fichier" | "ligne"
            // Spanish
            | "los" | "las" | "una" | "del" | "por" | "para" | "con" | "puede" | "esta" | "este" | "como"
            | "sin" | "función" | "archivo" | "línea" | "versión"
    )
}

/// The vocabulary every vulnerability report uses (`heap`, `overflow`, `attacker`, `crafted`, `denial`…):
/// it says what kind of flaw a report describes, which the CWE and the sanitizer's bug class already say,
/// not which flaw. Leaving it out works like a fixed inverse document frequency: unrelated reports of one
/// weakness class stop looking alike, and paraphrases (`out-of-bounds write` for `buffer overflow`) stop
/// looking different.
fn is_security_word(word: &str) -> bool {
    matches!(
        stem(word),
        "heap"
            | "stack"
            | "buffer"
            | "overflow"
            | "underflow"
            | "overrun"
            | "over-read"
            | "out-of-bound"
            | "bounds"
            | "bound"
            | "write"
            | "writ"
            | "read"
            | "use-after-free"
            | "after"
            | "free"
            | "freed"
            | "memory"
            | "pointer"
            | "null"
            | "dereference"
            | "dangling"
            | "integer"
            | "arithmetic"
            | "wrap-around"
            | "recursion"
            | "uncontrolled"
            | "unbounded"
            | "resource"
            | "consumption"
            | "exhaustion"
            | "crash"
            | "attacker"
            | "attack"
            | "remote"
            | "malicious"
            | "unauthenticated"
            | "user"
            | "peer"
            | "allow"
            | "execute"
            | "arbitrary"
            | "code"
            | "denial"
            | "service"
            | "corrupt"
            | "process"
            | "crafted"
            | "craft"
            | "malformed"
            | "oversized"
            | "input"
            | "vulnerability"
            | "vulnerable"
            | "issue"
            | "bug"
            | "flaw"
            | "affected"
            | "found"
            | "finding"
            | "report"
            | "reported"
            | "reproduce"
            | "reproducer"
            | "attached"
            | "sanitizer"
            | "addresssanitizer"
            | "fuzz"
            | "fuzzing"
            | "fuzzer"
            | "patch"
            | "fix"
            | "exploitation"
            | "exploit"
            | "successful"
            | "worst"
            | "case"
            | "trigger"
            | "triggers"
            | "pars"
            | "parse"
            | "handl"
            | "handle"
            | "length"
            | "size"
            | "check"
            | "validation"
            | "verification"
            | "please"
            | "thank"
            | "thanks"
            | "confidential"
            | "let"
            | "know"
            | "need"
            | "information"
            | "happy"
            | "help"
            | "test"
            | "latest"
            | "release"
            | "reliably"
            | "steps"
            | "step"
            | "build"
            | "compile"
            | "run"
            | "enabled"
            | "automated"
            | "analysis"
            | "pipeline"
            | "maintain"
            | "project"
    )
}

/// The function names of a pasted stack trace, top first, with sanitizer, runtime and allocator frames
/// left out. Understands AddressSanitizer/gdb (`#0 0x… in f …`), Java/JavaScript (`at f (…)`), Python
/// (`File "…", line n, in f`), Rust (`n: f` / `n: 0x… - f`) and Linux kernel (`f+0x1a/0x40`) frames.
pub fn frames(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        if out.len() >= MAX_FRAMES {
            break;
        }
        let Some(f) = frame_function(line.trim()).map(normalise_function) else {
            continue;
        };
        if !f.is_empty() && !is_runtime_frame(&f) {
            out.push(f);
        }
    }
    // Python prints the innermost frame last.
    if text.contains("most recent call last") {
        out.reverse();
    }
    out
}

fn frame_function(line: &str) -> Option<&str> {
    let skip = |t: &&str| t.starts_with("0x") || *t == "in" || *t == "-" || t.starts_with('[');
    if let Some(rest) = line.strip_prefix('#') {
        let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
        return rest.split_whitespace().find(|t| !skip(t));
    }
    if let Some(rest) = line.strip_prefix("at ") {
        // `at f (file:1:2)`, `at pkg.Class.f(File.java:1)`; not a location line (`at ./src/x.rs:1:2`).
        return rest
            .split(['(', ' '])
            .next()
            .filter(|f| !f.contains(['/', '\\']) && !f.contains(".rs:"));
    }
    if line.starts_with("File \"") {
        return line.rsplit_once(", in ").map(|(_, f)| f.trim());
    }
    let digits = line.len() - line.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if let Some(rest) = line
        .get(digits..)
        .and_then(|r| r.strip_prefix(':'))
        .filter(|_| digits > 0)
    {
        return rest.split_whitespace().find(|t| !skip(t));
    }
    if line.contains("+0x") && line.contains("/0x") {
        let token = line.split_whitespace().find(|t| t.contains("+0x"))?;
        return token.split('+').next();
    }
    None
}

/// `Parser::parse_header<T>(buf=0x…)` → `parser::parse_header`; drops a Rust symbol hash (`::h0123…`).
pub fn normalise_function(f: &str) -> String {
    let f = f.split('(').next().unwrap_or(f);
    let mut out = String::with_capacity(f.len());
    let mut depth = 0u32;
    for c in f.chars() {
        match c {
            '<' => depth += 1,
            '>' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.extend(c.to_lowercase()),
            _ => {}
        }
    }
    let kept = strip_symbol_hash(&out).len();
    out.truncate(kept);
    out.trim_matches(|c: char| matches!(c, '.' | ':' | ',' | ';'))
        .to_owned()
}

fn is_runtime_frame(f: &str) -> bool {
    const PREFIXES: [&str; 22] = [
        "__asan",
        "__interceptor",
        "__sanitizer",
        "__ubsan",
        "__msan",
        "__tsan",
        "__lsan",
        "__libc",
        "__gi_",
        "_start",
        "__kasan",
        "kasan_",
        "std::panicking",
        "core::panicking",
        "std::rt::",
        "std::sys",
        "core::ops::function",
        "rust_begin_unwind",
        "__rust",
        "backtrace::",
        "dump_stack",
        "print_address_description",
    ];
    const EXACT: [&str; 14] = [
        "memcpy",
        "memmove",
        "memset",
        "memcmp",
        "strcpy",
        "strncpy",
        "strlen",
        "malloc",
        "calloc",
        "realloc",
        "free",
        "abort",
        "raise",
        "start_thread",
    ];
    PREFIXES.iter().any(|p| f.starts_with(p)) || EXACT.contains(&f)
}

/// The bug class a sanitizer or runtime names: `heap-buffer-overflow`, `use-after-free`, `segv`,
/// `slab-out-of-bounds`, `signed integer overflow`, `panic`.
pub fn bug_class(text: &str) -> Option<String> {
    for line in text.lines().take(MAX_FRAMES * 2) {
        for marker in ["Sanitizer: ", "KASAN: ", "runtime error: "] {
            if let Some((_, rest)) = line.split_once(marker) {
                let words: Vec<&str> = rest
                    .split_whitespace()
                    .take_while(|w| !matches!(*w, "on" | "at" | "in" | "of" | "for") && !w.starts_with("0x"))
                    .take(3)
                    .collect();
                if !words.is_empty() {
                    return Some(words.join(" ").to_lowercase());
                }
            }
        }
        if line.contains("panicked at") {
            return Some("panic".to_owned());
        }
    }
    None
}

/// The function and the file a reporter's location names: `src/parser.c:123 parse_header()`,
/// `parse_header in parser.c`, `Parser::parse_header` → `parse_header`; `lib/parser.c:12` → `parser.c`. An
/// identifier that looks like code (`_`, `::`, `.`, camelCase, `()`) wins over a plain word, which is taken
/// only when there is no file.
pub fn location(text: &str) -> (Option<String>, Option<String>) {
    let mut file = None;
    let mut plain = None;
    for raw in text.split(|c: char| c.is_whitespace() || ",;`'\"[]".contains(c)) {
        let raw = raw.trim_start_matches('(').trim_end_matches([')', ':', '.']);
        let called = raw.contains('(');
        let raw = raw.split('(').next().unwrap_or(raw);
        if let Some(f) = file_name(raw) {
            file.get_or_insert(f);
            continue;
        }
        let f = normalise_function(raw);
        let name = f
            .rsplit("::")
            .next()
            .unwrap_or(&f)
            .rsplit('.')
            .next()
            .unwrap_or(&f);
        let identifier = name.starts_with(|c: char| c.is_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '$');
        if !identifier || is_stopword(name) || LOCATION_WORDS.contains(&name) {
            continue;
        }
        if called || name.contains('_') || raw.contains(['.', ':']) || is_code(raw, name) {
            return (Some(name.to_owned()), file);
        }
        plain.get_or_insert_with(|| name.to_owned());
    }
    if file.is_some() {
        (None, file)
    } else {
        (plain, None)
    }
}

/// `/src/lib/parser.c:123:5` → `parser.c`, for source files only (not `libc.so.6`).
fn file_name(raw: &str) -> Option<String> {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let base = base
        .split(':')
        .next()
        .unwrap_or(base)
        .trim_end_matches([')', ',', '"'])
        .to_lowercase();
    let (stem, ext) = base.rsplit_once('.')?;
    (!stem.is_empty() && is_extension(ext)).then_some(base)
}

/// The first source file a text names; in a Python traceback, the innermost frame's.
pub fn first_file(text: &str) -> Option<String> {
    let tokens = |line: &str| -> Option<String> {
        line.split(|c: char| c.is_whitespace() || "(),;`'\"[]".contains(c))
            .find_map(file_name)
    };
    if text.contains("most recent call last") {
        text.lines().rev().find_map(tokens)
    } else {
        text.lines().find_map(tokens)
    }
}

const LOCATION_WORDS: [&str; 12] = [
    "in", "at", "method", "of", "fn", "func", "def", "near", "inside", "module", "class", "called",
];

/// The function a report's prose names, when it has no location or trace: the first identifier that looks
/// like code (`parse_header`, `parseHeader`, `parse()`), file names and trace lines left out.
pub fn mentioned_function(text: &str) -> Option<String> {
    for line in text.lines().filter(|l| frame_function(l.trim()).is_none()) {
        for raw in line.split(|c: char| c.is_whitespace() || ",;`'\"[]".contains(c)) {
            let raw = raw
                .trim_start_matches('(')
                .trim_end_matches([')', ':', '.', '!', '?']);
            let called = raw.ends_with("()");
            let raw = raw.trim_end_matches("()");
            if raw.contains(['/', '\\', '.']) || raw.is_empty() {
                continue;
            }
            let f = normalise_function(raw);
            let name = f.rsplit("::").next().unwrap_or(&f);
            let identifier = name.starts_with(|c: char| c.is_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_alphanumeric() || c == '_');
            // `parseHeader` is code; `ClientHello`, `AddressSanitizer`, `WebSocket` are names of things.
            let camel = raw.starts_with(|c: char| c.is_lowercase()) && raw.chars().any(char::is_uppercase);
            if identifier && (called || name.contains('_') || camel) {
                return Some(name.to_owned());
            }
        }
    }
    None
}
