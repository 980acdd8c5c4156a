//! A generated corpus of vulnerability reports with known duplicate clusters, for the dedup quality test
//! and the intake benchmark. Seeded and deterministic: the same seed gives the same reports.
//!
//! Each cluster is one vulnerability (a product, a weakness, a function with its callers, a trace, a range
//! of affected versions). Its reports differ as reports from different finders do: paraphrased prose
//! (synonyms, reordered sentences, added or removed boilerplate), prose in English, German, French or
//! Spanish around the same trace, other addresses, PIDs and build paths in the trace, runtime frames on top or
//! not, the product spelled another way (`pkg:npm/Foo@1.2` for `pkg:npm/foo`, a CPE 2.2 URI for a 2.3
//! name), the range reordered, narrowed or written as `vers:` (always overlapping the others), the location
//! in another format, or no location and no trace at all (and 8% name no function anywhere). Deliberately close non-duplicates: a sibling
//! vulnerability in the same product and weakness class but another function (sharing the deeper frames),
//! and a regression — the same function and trace in versions that do not overlap.

use std::collections::HashSet;

use super::DedupInput;
use crate::product::{Affected, ProductId, VersionRange};

/// One generated report; reports with the same `cluster` are duplicates of each other.
#[derive(Debug, Clone)]
pub struct Report {
    pub title: String,
    pub description: String,
    pub affected: Vec<Affected>,
    pub cwe: Option<u32>,
    pub location: Option<String>,
    pub signature: Option<String>,
    pub finder: String,
    pub cluster: usize,
}

impl Report {
    pub fn input(&self) -> DedupInput<'_> {
        DedupInput {
            title: &self.title,
            description: &self.description,
            affected: &self.affected,
            cwe: self.cwe,
            location: self.location.as_deref(),
            signature: self.signature.as_deref(),
        }
    }
}

/// `count` reports of which about `duplicate_share` duplicate an earlier one, in intake order.
pub fn generate(seed: u64, count: usize, duplicate_share: f64) -> Vec<Report> {
    let mut rng = Rng(seed ^ 0x0C0B_5EED);
    let unique = ((count as f64) * (1.0 - duplicate_share.clamp(0.0, 1.0)))
        .round()
        .max(1.0) as usize;
    let unique = unique.min(count.max(1));
    let mut vulns: Vec<Vuln> = Vec::with_capacity(unique);
    // Distinct clusters must be distinct vulnerabilities: no product name is reused by accident, and a
    // product's siblings differ in function or in major version.
    let mut products = HashSet::new();
    let mut flaws = HashSet::new();
    for _ in 0..unique {
        let sibling = if vulns.is_empty() || !rng.chance(0.25) {
            None
        } else {
            Some(rng.below(vulns.len()))
        };
        let v = match sibling.and_then(|i| vulns.get(i)) {
            Some(base) => {
                let regression = base.regression();
                if rng.chance(0.5) && !flaws.contains(&regression.flaw()) {
                    regression
                } else {
                    let mut v = base.other_function(&mut rng);
                    while flaws.contains(&v.flaw()) {
                        v = base.other_function(&mut rng);
                    }
                    v
                }
            }
            None => Vuln::new(&mut rng, &mut products),
        };
        flaws.insert(v.flaw());
        vulns.push(v);
    }
    // Every cluster gets one report; the duplicates go to random clusters, then the order is shuffled.
    let mut clusters: Vec<usize> = (0..unique).collect();
    for _ in unique..count {
        clusters.push(rng.below(unique));
    }
    rng.shuffle(&mut clusters);
    clusters
        .into_iter()
        .filter_map(|c| vulns.get(c).map(|v| v.report(c, &mut rng)))
        .collect()
}

/// SplitMix64: small, fast, and deterministic everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        super::minhash::mix(self.0)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    fn pick(&mut self, items: &[&'static str]) -> &'static str {
        let i = self.below(items.len());
        items.get(i).copied().unwrap_or_default()
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Eco {
    C,
    Rust,
    Java,
    Python,
    Js,
}

/// A weakness class: CWE, an alternative CWE a finder may choose, the sanitizer's class, names per language.
struct Weakness {
    cwe: u32,
    alt_cwe: u32,
    asan: &'static str,
    en: [&'static str; 3],
    de: [&'static str; 2],
    fr: [&'static str; 2],
    es: [&'static str; 2],
}

const WEAKNESSES: [Weakness; 6] = [
    Weakness {
        cwe: 787,
        alt_cwe: 122,
        asan: "AddressSanitizer: heap-buffer-overflow on address",
        en: [
            "a heap buffer overflow",
            "an out-of-bounds write on the heap",
            "a heap-based buffer overflow",
        ],
        de: [
            "ein Heap-Pufferüberlauf",
            "ein Schreibzugriff außerhalb der Grenzen",
        ],
        fr: ["un dépassement de tampon sur le tas", "une écriture hors limites"],
        es: [
            "un desbordamiento de búfer en el heap",
            "una escritura fuera de límites",
        ],
    },
    Weakness {
        cwe: 125,
        alt_cwe: 126,
        asan: "AddressSanitizer: heap-buffer-overflow on address",
        en: [
            "an out-of-bounds read",
            "a buffer over-read",
            "a read past the end of a buffer",
        ],
        de: ["ein Lesezugriff außerhalb der Grenzen", "ein Pufferüberlesen"],
        fr: ["une lecture hors limites", "une lecture au-delà du tampon"],
        es: ["una lectura fuera de límites", "una sobrelectura de búfer"],
    },
    Weakness {
        cwe: 416,
        alt_cwe: 825,
        asan: "AddressSanitizer: heap-use-after-free on address",
        en: [
            "a use-after-free",
            "a use of freed memory",
            "a dangling pointer dereference",
        ],
        de: ["ein Use-after-free", "eine Verwendung von freigegebenem Speicher"],
        fr: [
            "une utilisation après libération",
            "un accès à de la mémoire libérée",
        ],
        es: ["un uso después de liberar", "un acceso a memoria liberada"],
    },
    Weakness {
        cwe: 476,
        alt_cwe: 690,
        asan: "AddressSanitizer: SEGV on unknown address",
        en: [
            "a NULL pointer dereference",
            "a null dereference",
            "a crash on a NULL pointer",
        ],
        de: [
            "eine NULL-Zeiger-Dereferenzierung",
            "ein Absturz durch einen Nullzeiger",
        ],
        fr: [
            "un déréférencement de pointeur NULL",
            "un plantage sur un pointeur nul",
        ],
        es: ["una desreferencia de puntero NULL", "un fallo por puntero nulo"],
    },
    Weakness {
        cwe: 190,
        alt_cwe: 680,
        asan: "runtime error: signed integer overflow",
        en: [
            "an integer overflow",
            "an arithmetic overflow",
            "a wrap-around in a size computation",
        ],
        de: ["ein Ganzzahlüberlauf", "ein arithmetischer Überlauf"],
        fr: ["un dépassement d'entier", "un débordement arithmétique"],
        es: ["un desbordamiento de entero", "un desbordamiento aritmético"],
    },
    Weakness {
        cwe: 400,
        alt_cwe: 770,
        asan: "AddressSanitizer: stack-overflow on address",
        en: [
            "uncontrolled recursion",
            "unbounded resource consumption",
            "a stack exhaustion",
        ],
        de: [
            "eine unkontrollierte Rekursion",
            "ein unbegrenzter Ressourcenverbrauch",
        ],
        fr: [
            "une récursion non contrôlée",
            "une consommation de ressources illimitée",
        ],
        es: ["una recursión no controlada", "un consumo de recursos sin límite"],
    },
];

const VERBS: [&str; 18] = [
    "parse", "read", "decode", "copy", "handle", "load", "process", "unpack", "inflate", "scan", "write",
    "render", "resolve", "validate", "convert", "split", "merge", "lookup",
];
const NOUNS: [&str; 20] = [
    "header", "chunk", "frame", "record", "token", "attr", "entry", "table", "segment", "packet", "field",
    "block", "string", "name", "path", "cookie", "tag", "node", "buffer", "list",
];
const SYLLABLES: [&str; 20] = [
    "ba", "ko", "ri", "tel", "mon", "sa", "vek", "lu", "dor", "pin", "gra", "zen", "fi", "mo", "ra", "nex",
    "tor", "li", "qua", "ver",
];
const THINGS: [&str; 12] = [
    "HTTP/2 SETTINGS frame",
    "PNG chunk",
    "TOML table",
    "TLS ClientHello",
    "ZIP central directory",
    "JSON document",
    "DNS response",
    "font file",
    "MQTT packet",
    "XML entity",
    "tar header",
    "WebSocket frame",
];
const FINDERS: [&str; 10] = [
    "alice@example.org",
    "Bob Lin",
    "Team Raptor",
    "fuzzer model redteam-7",
    "carol.security",
    "ACME Security Lab",
    "dmitri",
    "automated scanner v2",
    "eve@research.example",
    "OSS-Audit",
];
const USERS: [&str; 6] = ["alice", "bob", "ci", "builder", "runner", "dev"];

/// One underlying vulnerability.
#[derive(Debug, Clone)]
struct Vuln {
    eco: Eco,
    product: String,
    vendor: String,
    weakness: usize,
    function: String,
    file: String,
    /// Callers, nearest first; the last two are the product's entry points, shared by its vulnerabilities.
    callers: Vec<String>,
    thing: &'static str,
    line: u32,
    major: u32,
    /// A regression's ranges are bounded below, so they never reach back to the original's versions.
    regression: bool,
    low: u32,
    high: (u32, u32),
}

impl Vuln {
    fn flaw(&self) -> (String, String, u32) {
        (self.product.clone(), self.function.clone(), self.major)
    }

    fn new(rng: &mut Rng, taken: &mut HashSet<String>) -> Vuln {
        let eco = match rng.below(5) {
            0 => Eco::C,
            1 => Eco::Rust,
            2 => Eco::Java,
            3 => Eco::Python,
            _ => Eco::Js,
        };
        let mut product = String::new();
        for _ in 0..2 + rng.below(3) {
            product.push_str(rng.pick(&SYLLABLES));
        }
        while taken.contains(&product) {
            product.push_str(rng.pick(&SYLLABLES));
        }
        taken.insert(product.clone());
        let vendor = format!("{}{}", rng.pick(&SYLLABLES), rng.pick(&SYLLABLES));
        let function = function_name(eco, rng);
        let file = file_name(eco, rng);
        let callers = vec![
            function_name(eco, rng),
            function_name(eco, rng),
            ident(eco, &format!("{product}_dispatch")),
            ident(eco, &format!("{product}_main")),
        ];
        let low = rng.below(3) as u32;
        Vuln {
            eco,
            product,
            vendor,
            weakness: rng.below(WEAKNESSES.len()),
            function,
            file,
            callers,
            thing: rng.pick(&THINGS),
            line: 40 + rng.below(900) as u32,
            major: 1 + rng.below(6) as u32,
            regression: false,
            low,
            high: (low + 1 + rng.below(3) as u32, 1 + rng.below(9) as u32),
        }
    }

    /// Same product and weakness class, another function; the product's entry points are shared.
    fn other_function(&self, rng: &mut Rng) -> Vuln {
        let mut v = self.clone();
        while v.function == self.function {
            v.function = function_name(self.eco, rng);
        }
        v.file = file_name(self.eco, rng);
        if let Some(first) = v.callers.first_mut() {
            *first = function_name(self.eco, rng);
        }
        v.line = 40 + rng.below(900) as u32;
        v
    }

    /// The same flaw again in later, non-overlapping versions: another vulnerability for the advisory.
    fn regression(&self) -> Vuln {
        let mut v = self.clone();
        v.major += 3;
        v.regression = true;
        v
    }

    fn weakness(&self) -> &'static Weakness {
        let [first, ..] = &WEAKNESSES;
        WEAKNESSES.get(self.weakness).unwrap_or(first)
    }

    fn report(&self, cluster: usize, rng: &mut Rng) -> Report {
        let finder = rng.pick(&FINDERS).to_owned();
        let lang = match rng.below(10) {
            0 => Lang::De,
            1 => Lang::Fr,
            2 => Lang::Es,
            _ => Lang::En,
        };
        let trace = self.trace(rng);
        // A vague report names no function anywhere: only its text can find its duplicates.
        let vague = rng.chance(0.08);
        let (signature, pasted) = match rng.below(10) {
            _ if vague => (None, false),
            0..=4 => (Some(trace), false),
            5..=6 => (None, true),
            7 => (Some(trace), true),
            _ => (None, false),
        };
        let location = (!vague && rng.chance(0.6)).then(|| self.location(rng));
        let cwe = match rng.below(20) {
            0 => None,
            1 | 2 => Some(self.weakness().alt_cwe),
            _ => Some(self.weakness().cwe),
        };
        let mut description = self.prose(lang, &finder, vague, rng);
        if pasted {
            description.push_str("\n\n");
            description.push_str(&self.trace(rng));
        }
        Report {
            title: self.title(lang, vague, rng),
            description,
            affected: self.affected(rng).into_iter().collect(),
            cwe,
            location,
            signature,
            finder,
            cluster,
        }
    }

    fn affected(&self, rng: &mut Rng) -> Option<Affected> {
        let version = format!("{}.{}.{}", self.major, self.low, 1 + rng.below(3));
        let (p, v) = (&self.product, &self.vendor);
        let spellings: [String; 3] = match self.eco {
            Eco::C => [
                format!("cpe:2.3:a:{v}:{p}:*:*:*:*:*:*:*:*"),
                format!("cpe:2.3:a:{}:{p}:{version}:*:*:*:*:*:*:*", v.to_uppercase()),
                format!("cpe:/a:{v}:{p}:{version}"),
            ],
            Eco::Rust => [
                format!("pkg:cargo/{p}"),
                format!("pkg:cargo/{p}@{version}"),
                format!("pkg:cargo/{p}"),
            ],
            Eco::Java => [
                format!("pkg:maven/com.{v}/{p}"),
                format!("pkg:maven/com.{v}/{p}@{version}"),
                format!("pkg:maven/com.{v}/{p}@{version}?type=jar"),
            ],
            Eco::Python => [
                format!("pkg:pypi/{v}-{p}"),
                format!("pkg:pypi/{}_{p}@{version}", capitalise(v)),
                format!("pkg:pypi/{v}.{p}"),
            ],
            Eco::Js => [
                format!("pkg:npm/%40{v}/{p}"),
                format!("pkg:npm/@{v}/{}@{version}", capitalise(p)),
                format!("pkg:npm/%40{}/{p}", v.to_uppercase()),
            ],
        };
        let product = spellings.get(rng.below(3)).cloned().unwrap_or_default();
        let (m, lo, (hi, fix)) = (self.major, self.low, self.high);
        let scheme = match self.eco {
            Eco::C => "generic",
            Eco::Rust => "cargo",
            Eco::Java => "maven",
            Eco::Python => "pypi",
            Eco::Js => "npm",
        };
        // Every variant contains m.lo.1, so the ranges of one cluster overlap.
        let versions = match rng.below(8) {
            0 | 1 => format!(">={m}.{lo}.0, <{m}.{hi}.{fix}"),
            2 => format!("<{m}.{hi}.{fix}, >={m}.{lo}.0"),
            3 => format!("vers:{scheme}/>={m}.{lo}.0|<{m}.{hi}.{fix}"),
            4 if !self.regression => format!("<{m}.{hi}.{fix}"),
            4 => format!(">={m}.{lo}.0, <{m}.{hi}.{fix}"),
            5 => format!(">={m}.{lo}.1, <={m}.{hi}.{fix}"),
            6 => format!("={m}.{lo}.1"),
            _ => format!(">={m}.0, <{m}.{hi}.{fix} || >={}.0, <{}.1", m + 1, m + 1),
        };
        Some(Affected {
            product: ProductId::parse(&product).ok()?,
            versions: VersionRange::parse(&versions).ok()?,
        })
    }

    fn location(&self, rng: &mut Rng) -> String {
        let (f, file, line) = (&self.function, &self.file, self.line);
        match rng.below(6) {
            0 => format!("{file}:{line} ({f})"),
            1 => format!("{f}() in src/{file}"),
            2 => f.clone(),
            3 => format!("src/{file}, function {f}"),
            4 => format!("{}::{f}", self.product),
            _ => format!("`{f}` ({file}, line {line})"),
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn ident(eco: Eco, snake: &str) -> String {
    match eco {
        Eco::Java | Eco::Js => {
            let mut out = String::new();
            for (i, part) in snake.split('_').enumerate() {
                out.push_str(&if i == 0 { part.to_owned() } else { capitalise(part) });
            }
            out
        }
        _ => snake.to_owned(),
    }
}

fn function_name(eco: Eco, rng: &mut Rng) -> String {
    let name = format!("{}_{}", rng.pick(&VERBS), rng.pick(&NOUNS));
    let name = if rng.chance(0.3) {
        format!("{name}_{}", rng.pick(&NOUNS))
    } else {
        name
    };
    ident(eco, &name)
}

fn file_name(eco: Eco, rng: &mut Rng) -> String {
    let stem = if rng.chance(0.5) {
        rng.pick(&NOUNS).to_owned()
    } else {
        format!("{}s", rng.pick(&NOUNS))
    };
    match eco {
        Eco::C => format!("{stem}.c"),
        Eco::Rust => format!("{stem}.rs"),
        Eco::Java => format!("{}.java", capitalise(&stem)),
        Eco::Python => format!("{stem}.py"),
        Eco::Js => format!("{stem}.js"),
    }
}

mod render;
use render::Lang;
