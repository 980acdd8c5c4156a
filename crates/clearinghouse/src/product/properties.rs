//! Property tests: canonical forms re-parse to the same value, and range operations agree with a
//! brute-force check over a grid of versions.

use proptest::prelude::*;

use super::*;

/// Versions `major.minor` with minor in 0..8, and a pre-release below them all; ranges use only even minors
/// as bounds, so testing every grid version (odd minors lie strictly between bounds, the pre-release below
/// the lowest) decides overlap and containment exactly.
fn grid() -> Vec<String> {
    let mut grid = vec!["0.0-dev".to_owned()];
    grid.extend((0..4).flat_map(|major| (0..8).map(move |minor| format!("{major}.{minor}"))));
    grid
}

fn comparator() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec![">=", ">", "<=", "<", "=", "!="]),
        0u32..4,
        0u32..4,
    )
        .prop_map(|(op, major, half)| format!("{op}{major}.{}", half * 2))
}

/// A native range: alternatives of one to three comparators; may match nothing (then parsing fails).
fn range_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::collection::vec(comparator(), 1..4), 1..4).prop_map(|alternatives| {
        alternatives
            .iter()
            .map(|c| c.join(", "))
            .collect::<Vec<_>>()
            .join(" || ")
    })
}

fn matches(text: &str, version: &Version) -> bool {
    text.split("||").any(|alternative| {
        alternative.split(',').map(str::trim).all(|c| {
            let (op, v) = [">=", "<=", "!=", ">", "<", "="]
                .iter()
                .find_map(|op| c.strip_prefix(op).map(|v| (*op, v)))
                .unwrap_or(("=", c));
            let v = Version::parse(v).unwrap_or_else(|e| panic!("{e}"));
            match op {
                ">=" => version >= &v,
                ">" => version > &v,
                "<=" => version <= &v,
                "<" => version < &v,
                "!=" => version != &v,
                _ => version == &v,
            }
        })
    })
}

proptest! {
    #[test]
    fn ranges_mean_what_their_comparators_say(text in range_text()) {
        let grid: Vec<Version> = grid().iter().map(|v| Version::parse(v).unwrap_or_else(|e| panic!("{e}"))).collect();
        match VersionRange::parse(&text) {
            Ok(range) => {
                for v in &grid {
                    prop_assert_eq!(range.contains_version(v), matches(&text, v), "{} at {}", text, v);
                }
                let canonical = range.to_string();
                prop_assert_eq!(VersionRange::parse(&canonical), Ok(range), "{} → {}", text, canonical);
            }
            Err(ProductError::Invalid(message)) => {
                // Only a range with an alternative that matches no version is refused.
                prop_assert!(message.contains("matches no version"), "{}: {}", text, message);
                let empty = text.split("||").any(|alternative| grid.iter().all(|v| !matches(alternative, v)));
                prop_assert!(empty, "{} refused but some alternative matches", text);
            }
        }
    }

    #[test]
    fn overlap_is_a_common_version(a in range_text(), b in range_text()) {
        if let (Ok(x), Ok(y)) = (VersionRange::parse(&a), VersionRange::parse(&b)) {
            let common = grid().iter().filter_map(|v| Version::parse(v).ok()).any(|v| x.contains_version(&v) && y.contains_version(&v));
            prop_assert_eq!(x.overlaps(&y), common, "{} / {}", a, b);
        }
    }

    #[test]
    fn version_order_is_total_and_consistent(a in "[0-9]{1,3}(\\.[0-9]{1,3}){0,3}(-(alpha|beta|rc|dev|post)(\\.[0-9])?)?",
                                             b in "[0-9]{1,3}(\\.[0-9]{1,3}){0,3}(-(alpha|beta|rc|dev|post)(\\.[0-9])?)?") {
        let (x, y) = (Version::parse(&a), Version::parse(&b));
        prop_assert!(x.is_ok() && y.is_ok());
        if let (Ok(x), Ok(y)) = (x, y) {
            prop_assert_eq!(x.cmp(&y), y.cmp(&x).reverse());
            prop_assert_eq!(x == y, x.cmp(&y) == std::cmp::Ordering::Equal);
        }
    }

    #[test]
    fn purls_round_trip_through_their_canonical_form(
        ty in prop::sample::select(vec!["npm", "pypi", "maven", "cargo", "golang", "github", "generic"]),
        namespace in prop::collection::vec("[A-Za-z0-9@._ -]{1,8}", 0..3),
        name in "[A-Za-z0-9@._ %/-]{1,12}",
        version in prop::option::of("[A-Za-z0-9.+:-]{1,8}"),
        subpath in prop::collection::vec("[a-z0-9]{1,5}", 0..3),
    ) {
        let encode = |s: &str| s.bytes().map(|b| if b.is_ascii_alphanumeric() || b"._-".contains(&b) { char::from(b).to_string() } else { format!("%{b:02X}") }).collect::<String>();
        let mut text = format!("pkg:{ty}");
        for segment in namespace.iter().chain(std::iter::once(&name)) {
            text.push('/');
            text.push_str(&encode(segment));
        }
        if let Some(v) = &version {
            text.push('@');
            text.push_str(&encode(v));
        }
        if !subpath.is_empty() {
            text.push('#');
            text.push_str(&subpath.join("/"));
        }
        let id = ProductId::parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let again = ProductId::parse(&id.to_string());
        prop_assert_eq!(again.as_ref(), Ok(&id), "{}", text);
        prop_assert!(id.matches_prefix(&id.key()), "{} selects itself", id.key());
        let ProductId::Purl(purl) = &id else { panic!("{text} is not a purl") };
        prop_assert_eq!(purl.namespace().len(), namespace.len());
    }

    #[test]
    fn parsers_refuse_garbage_without_panicking(text in "\\PC{0,64}") {
        let _ = ProductId::parse(&text);
        let _ = ProductPrefix::parse(&text);
        let _ = VersionRange::parse(&text);
        let _ = Version::parse(&text);
        for prefix in ["pkg:", "cpe:2.3:", "cpe:/", "vers:npm/"] {
            let _ = ProductId::parse(&format!("{prefix}{text}"));
            let _ = VersionRange::parse(&format!("{prefix}{text}"));
        }
    }
}
