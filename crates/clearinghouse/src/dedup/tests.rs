//! Duplicate detection: unit cases, and its quality on a generated corpus searched as the store searches.

use std::collections::{HashMap, HashSet};

use super::corpus::{self, Report};
use super::*;
use crate::product::Affected;

fn affected(product: &str, versions: &str) -> Vec<Affected> {
    vec![Affected::parse(product, versions).unwrap_or_else(|e| panic!("{e}"))]
}

const ASAN_RUN_1: &str = "==4711==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x602000000031 at pc 0x55d3a4b2c3d4
WRITE of size 8 at 0x602000000031 thread T0
    #0 0x7f3a2b1c5e10 in __asan_memcpy (/usr/lib/llvm-14/lib/clang/14.0.0/lib/linux/libclang_rt.asan-x86_64.so+0xc3a2b)
    #1 0x55d3a4b2c3d4 in parse_header /home/alice/src/libfoo/src/parser.c:123:5
    #2 0x55d3a4b2c100 in read_request /home/alice/src/libfoo/src/request.c:88:12
    #3 0x55d3a4b2b000 in foo_main /home/alice/src/libfoo/tools/foo.c:40:3
SUMMARY: AddressSanitizer: heap-buffer-overflow /home/alice/src/libfoo/src/parser.c:123:5 in parse_header";

const ASAN_RUN_2: &str =
    "==90210==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x6020000000f1 at pc 0x5601aa0b13d4
WRITE of size 8 at 0x6020000000f1 thread T0
    #0 0x5601aa0b13d4 in parse_header /build/libfoo-1a2b3c4d/src/parser.c:131:5
    #1 0x5601aa0b1100 in read_request /build/libfoo-1a2b3c4d/src/request.c:90:12
    #2 0x5601aa0b0000 in foo_main /build/libfoo-1a2b3c4d/tools/foo.c:40:3
SUMMARY: AddressSanitizer: heap-buffer-overflow /build/libfoo-1a2b3c4d/src/parser.c:131:5 in parse_header";

#[test]
fn traces_from_two_runs_and_machines_read_the_same() {
    assert_eq!(
        text::frames(ASAN_RUN_1),
        ["parse_header", "read_request", "foo_main"]
    );
    assert_eq!(text::frames(ASAN_RUN_1), text::frames(ASAN_RUN_2));
    assert_eq!(
        text::bug_class(ASAN_RUN_1).as_deref(),
        Some("heap-buffer-overflow")
    );
    let frames = [
        (
            "\tat com.acme.Parser.parseHeader(Parser.java:123)",
            "com.acme.parser.parseheader",
        ),
        (
            "    at parseHeader (/srv/app/node_modules/foo/lib/parser.js:12:7)",
            "parseheader",
        ),
        (
            "  File \"/x/foo/parser.py\", line 12, in parse_header",
            "parse_header",
        ),
        ("   3: foo::parser::parse_header", "foo::parser::parse_header"),
        (
            "  12:     0x55d3a4b2c3d4 - foo::parser::parse_header::h0123456789abcdef",
            "foo::parser::parse_header",
        ),
        (" [<ffffffff81234567>] parse_header+0x1a/0x40", "parse_header"),
        ("#0  Parser::parse<int>(buf=0x0) at parser.cc:12", "parser::parse"),
    ];
    for (line, expected) in frames {
        assert_eq!(text::frames(line), [expected], "{line}");
    }
    // Not frames: a Rust location line, prose.
    assert!(text::frames("             at ./src/parser.rs:123:9\nThe parser at fault.").is_empty());
}

#[test]
fn locations_name_the_function_or_file() {
    let cases = [
        ("src/parser.c:123 (parse_header)", Some("parse_header")),
        ("parse_header() in lib/parser.c", Some("parse_header")),
        ("Parser::parse_header", Some("parse_header")),
        ("com.acme.Parser.parseHeader", Some("parseheader")),
        ("`parseHeader` (parser.js, line 12)", Some("parseheader")),
        ("src/parser.c, function parse_header", Some("parse_header")),
        ("lib/parser.c:123", Some("parser.c")),
        ("heap overflow in parser.c", Some("parser.c")),
        ("", None),
    ];
    for (input, expected) in cases {
        let (function, file) = text::location(input);
        assert_eq!(function.or(file).as_deref(), expected, "{input}");
    }
}

#[test]
fn fingerprints_round_trip_and_garbage_is_rejected() {
    let a = affected("pkg:npm/foo", ">=1.0, <2");
    let input = DedupInput {
        title: "Heap overflow in parse_header",
        description: "A heap buffer overflow in parse_header() allows remote attackers to crash the process.",
        affected: &a,
        cwe: Some(787),
        location: Some("src/parser.c:123 parse_header"),
        signature: Some(ASAN_RUN_1),
    };
    let fp = fingerprint(&input);
    assert_eq!(fp.bands.len(), BANDS);
    assert!(!fp.exact_keys.is_empty() && fp.exact_keys.len() <= MAX_EXACT_KEYS);
    let bytes = fp.to_bytes();
    assert!(bytes.len() < 320, "{} bytes", bytes.len());
    assert_eq!(Fingerprint::from_bytes(&bytes), Some(fp.clone()));
    assert_eq!(fingerprint(&input), fp, "deterministic");
    let mut flipped = bytes.clone();
    if let Some(b) = flipped.get_mut(40) {
        *b ^= 1;
    }
    for garbage in [
        &b""[..],
        b"\x01",
        &bytes[..bytes.len() - 1],
        &flipped,
        &[0u8; 300][..],
        b"not a fingerprint at all",
    ] {
        assert_eq!(Fingerprint::from_bytes(garbage), None, "{garbage:?}");
    }
    // No text at all: no bands, no MinHash, still encodable.
    let empty = fingerprint(&DedupInput {
        title: "",
        description: "",
        affected: &[],
        cwe: None,
        location: None,
        signature: None,
    });
    assert!(empty.bands.is_empty() && empty.exact_keys.is_empty());
    assert_eq!(Fingerprint::from_bytes(&empty.to_bytes()), Some(empty.clone()));
    assert_eq!(similarity(&empty, &[], &empty, &[]), 0.0);
}

#[test]
fn similarity_weighs_keys_ranges_and_text() {
    let input = |description: &'static str,
                 location: Option<&'static str>,
                 signature: Option<&'static str>| { (description, location, signature) };
    let fp = |(description, location, signature): (&str, Option<&str>, Option<&str>), a: &[Affected]| {
        fingerprint(&DedupInput {
            title: "Memory corruption",
            description,
            affected: a,
            cwe: Some(787),
            location,
            signature,
        })
    };
    let foo_1 = affected("pkg:npm/foo", ">=1.0, <1.4");
    let foo_1b = affected("pkg:npm/FOO@1.2", "vers:npm/<1.3|>=1.1");
    let foo_3 = affected("pkg:npm/foo", ">=3.0, <3.2");
    let bar = affected("pkg:npm/bar", ">=1.0, <1.4");
    let original = fp(
        input(
            "A heap buffer overflow in parse_header() when parsing a header.",
            None,
            Some(ASAN_RUN_1),
        ),
        &foo_1,
    );
    let german = fp(
        input(
            "Ein Heap-Pufferüberlauf in parse_header() beim Parsen eines Headers.",
            None,
            Some(ASAN_RUN_2),
        ),
        &foo_1b,
    );
    let regression = fp(
        input(
            "A heap buffer overflow in parse_header() when parsing a header.",
            None,
            Some(ASAN_RUN_2),
        ),
        &foo_3,
    );
    let other_product = fp(
        input(
            "A heap buffer overflow in parse_header() when parsing a header.",
            None,
            Some(ASAN_RUN_1),
        ),
        &bar,
    );
    let other_function = fp(
        input(
            "A heap buffer overflow in parse_footer() when parsing a footer.",
            Some("parse_footer"),
            None,
        ),
        &foo_1,
    );
    let t = Thresholds::default();
    let s = |x: &Fingerprint, xa: &[Affected], y: &Fingerprint, ya: &[Affected]| {
        let s = similarity(x, xa, y, ya);
        assert!((0.0..=1.0).contains(&s));
        assert_eq!(s, similarity(y, ya, x, xa), "symmetric");
        s
    };
    assert_eq!(s(&original, &foo_1, &original, &foo_1), 1.0);
    assert!(
        s(&original, &foo_1, &german, &foo_1b) >= t.suggest,
        "same trace, other language, other spelling"
    );
    assert!(
        s(&original, &foo_1, &regression, &foo_3) < t.suggest,
        "same trace, versions apart"
    );
    assert!(
        s(&original, &foo_1, &other_product, &bar) < t.suggest,
        "another product"
    );
    assert!(
        s(&original, &foo_1, &other_function, &foo_1) < t.suggest,
        "another function"
    );
}

/// What the store does: one row per exact key and per (band, key); candidates are reports sharing any
/// (at most `BAND_BUCKET_LIMIT` per band key, the most recent).
#[derive(Default)]
struct Index {
    exact: HashMap<i64, Vec<usize>>,
    bands: HashMap<(usize, i64), Vec<usize>>,
    rows: usize,
}

impl Index {
    fn candidates(&self, fp: &Fingerprint) -> HashSet<usize> {
        let mut out = HashSet::new();
        for k in &fp.exact_keys {
            out.extend(self.exact.get(k).into_iter().flatten());
        }
        for (i, k) in fp.bands.iter().enumerate() {
            let bucket = self.bands.get(&(i, *k)).map_or(&[][..], Vec::as_slice);
            out.extend(bucket.iter().rev().take(BAND_BUCKET_LIMIT));
        }
        out
    }

    fn insert(&mut self, id: usize, fp: &Fingerprint) {
        for k in &fp.exact_keys {
            self.exact.entry(*k).or_default().push(id);
        }
        for (i, k) in fp.bands.iter().enumerate() {
            self.bands.entry((i, *k)).or_default().push(id);
        }
        self.rows += fp.exact_keys.len() + fp.bands.len();
    }
}

struct Quality {
    precision: f64,
    recall: f64,
    candidates_per_report: f64,
    rows_per_report: f64,
    bytes_per_report: f64,
}

/// For each report in intake order: is it a duplicate of an earlier one? Predicted yes when the best
/// candidate scores at least `threshold`; a true positive only if that candidate is of the same cluster.
fn quality(reports: &[Report], threshold: f64) -> Quality {
    let mut index = Index::default();
    let mut stored: Vec<Fingerprint> = Vec::with_capacity(reports.len());
    let mut seen = HashSet::new();
    let (mut tp, mut fp_, mut fn_, mut candidates, mut bytes) = (0usize, 0usize, 0usize, 0usize, 0usize);
    for (id, report) in reports.iter().enumerate() {
        let fp = fingerprint(&report.input());
        let encoded = fp.to_bytes();
        bytes += encoded.len();
        let found = index.candidates(&fp);
        candidates += found.len();
        let best = found
            .iter()
            .filter_map(|&c| {
                Some((
                    similarity(&fp, &report.affected, stored.get(c)?, &reports.get(c)?.affected),
                    c,
                ))
            })
            .max_by(|a, b| a.0.total_cmp(&b.0));
        let is_duplicate = seen.contains(&report.cluster);
        match best {
            Some((score, c)) if score >= threshold => {
                if reports.get(c).is_some_and(|r| r.cluster == report.cluster) {
                    tp += 1;
                } else {
                    fp_ += 1;
                    if is_duplicate {
                        fn_ += 1;
                    }
                }
            }
            _ if is_duplicate => fn_ += 1,
            _ => {}
        }
        seen.insert(report.cluster);
        index.insert(id, &fp);
        stored
            .push(Fingerprint::from_bytes(&encoded).unwrap_or_else(|| panic!("report {id} does not decode")));
    }
    let n = reports.len().max(1) as f64;
    Quality {
        precision: tp as f64 / (tp + fp_).max(1) as f64,
        recall: tp as f64 / (tp + fn_).max(1) as f64,
        candidates_per_report: candidates as f64 / n,
        rows_per_report: index.rows as f64 / n,
        bytes_per_report: bytes as f64 / n,
    }
}

#[test]
fn the_corpus_is_deterministic_and_has_the_duplicates_asked_for() {
    let a = corpus::generate(7, 500, 0.3);
    let b = corpus::generate(7, 500, 0.3);
    assert_eq!(a.len(), 500);
    assert!(
        a.iter()
            .zip(&b)
            .all(|(x, y)| x.description == y.description && x.cluster == y.cluster)
    );
    assert!(
        a.iter().all(|r| r.affected.len() == 1),
        "every generated product and range parses"
    );
    let clusters: HashSet<usize> = a.iter().map(|r| r.cluster).collect();
    assert_eq!(a.len() - clusters.len(), 150);
    let c = corpus::generate(8, 500, 0.3);
    assert!(a.iter().zip(&c).any(|(x, y)| x.description != y.description));
}

#[test]
fn duplicates_are_found_with_precision_and_recall_of_at_least_0_9() {
    let reports = corpus::generate(2026, 3000, 0.3);
    let t = Thresholds::default();
    for (name, threshold) in [("suggest", t.suggest), ("join", t.join)] {
        let q = quality(&reports, threshold);
        println!(
            "dedup quality at {name} = {threshold}: precision {:.3}, recall {:.3}; {:.1} candidates, {:.1} rows \
             (exact keys + bands) and {:.0} fingerprint bytes per report",
            q.precision, q.recall, q.candidates_per_report, q.rows_per_report, q.bytes_per_report
        );
        if name == "suggest" {
            assert!(q.precision >= 0.9, "precision {:.3}", q.precision);
            assert!(q.recall >= 0.9, "recall {:.3}", q.recall);
            assert!(q.rows_per_report <= (MAX_EXACT_KEYS + BANDS) as f64);
        }
    }
}

/// Fingerprinting a 2 KiB report takes well under a millisecond, a similarity microseconds (release build;
/// a debug build only reports the figures).
#[test]
fn fingerprints_and_similarities_are_fast() {
    let reports = corpus::generate(3, 400, 0.3);
    let mut sized: Vec<&Report> = reports
        .iter()
        .filter(|r| {
            (1500..=2600).contains(&(r.description.len() + r.signature.as_ref().map_or(0, String::len)))
        })
        .collect();
    sized.truncate(100);
    assert!(sized.len() >= 20, "{} reports of about 2 KiB", sized.len());
    // The best of three rounds: the machine may be busy.
    let mut per_fingerprint = std::time::Duration::MAX;
    let mut fps = Vec::new();
    for _ in 0..3 {
        let start = std::time::Instant::now();
        fps = sized.iter().map(|r| fingerprint(&r.input())).collect();
        per_fingerprint = per_fingerprint.min(start.elapsed() / sized.len() as u32);
    }
    let start = std::time::Instant::now();
    let mut total = 0.0;
    let mut pairs = 0u32;
    for (a, ra) in fps.iter().zip(&sized) {
        for (b, rb) in fps.iter().zip(&sized) {
            total += similarity(a, &ra.affected, b, &rb.affected);
            pairs += 1;
        }
    }
    let per_similarity = start.elapsed() / pairs;
    println!(
        "fingerprint of a ~2 KiB report: {per_fingerprint:?}; similarity: {per_similarity:?} (sum {total:.1})"
    );
    if !cfg!(debug_assertions) {
        assert!(
            per_fingerprint < std::time::Duration::from_micros(500),
            "{per_fingerprint:?}"
        );
        assert!(
            per_similarity < std::time::Duration::from_micros(20),
            "{per_similarity:?}"
        );
    }
}

proptest::proptest! {
    #[test]
    fn from_bytes_refuses_garbage_and_damage(garbage in proptest::collection::vec(proptest::num::u8::ANY, 0..400), at in 0usize..400, bit in 0u8..8) {
        proptest::prop_assert_eq!(Fingerprint::from_bytes(&garbage), None);
        let report = corpus::generate(at as u64, 1, 0.0);
        let fp = fingerprint(&report.first().unwrap_or_else(|| panic!("one report")).input());
        let mut bytes = fp.to_bytes();
        let len = bytes.len();
        if let Some(b) = bytes.get_mut(at % len) {
            *b ^= 1 << bit;
        }
        proptest::prop_assert_eq!(Fingerprint::from_bytes(&bytes), None);
    }
}
