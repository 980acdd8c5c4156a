//! Table tests for products, prefixes, versions and ranges.

use super::*;

fn err(result: Result<impl fmt::Debug, ProductError>) -> String {
    match result {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(ProductError::Invalid(m)) => m,
    }
}

#[test]
fn purls_parse_to_canonical_form_and_key() {
    // (input, canonical Display, key)
    let cases = [
        ("pkg:npm/foobar@12.3.1", "pkg:npm/foobar@12.3.1", "pkg:npm/foobar"),
        (
            "pkg:npm/%40angular/animation@12.3.1",
            "pkg:npm/%40angular/animation@12.3.1",
            "pkg:npm/%40angular/animation",
        ),
        (
            "pkg:npm/@Angular/Core@1.0",
            "pkg:npm/%40angular/core@1.0",
            "pkg:npm/%40angular/core",
        ),
        (
            "pkg:npm/@angular/core",
            "pkg:npm/%40angular/core",
            "pkg:npm/%40angular/core",
        ),
        ("PKG:NPM/Left-Pad", "pkg:npm/left-pad", "pkg:npm/left-pad"),
        (
            "pkg:pypi/Django_Rest.Framework@3.0",
            "pkg:pypi/django-rest-framework@3.0",
            "pkg:pypi/django-rest-framework",
        ),
        (
            "pkg:github/Package-URL/Purl-Spec@244fd47",
            "pkg:github/package-url/purl-spec@244fd47",
            "pkg:github/package-url/purl-spec",
        ),
        (
            "pkg:maven/org.apache.xmlgraphics/batik-anim@1.9.1?repository_url=repo.spring.io%2Frelease",
            "pkg:maven/org.apache.xmlgraphics/batik-anim@1.9.1?repository_url=repo.spring.io%2Frelease",
            "pkg:maven/org.apache.xmlgraphics/batik-anim",
        ),
        // Qualifiers sorted, keys lowercased, empty values dropped; subpath cleaned.
        (
            "pkg:deb/debian/curl@7.50.3-1?Distro=jessie&arch=i386&empty=#/./src//lib/../",
            "pkg:deb/debian/curl@7.50.3-1?arch=i386&distro=jessie#src/lib",
            "pkg:deb/debian/curl",
        ),
        (
            "pkg:docker/cassandra@sha256:244fd47e07d1004f0aed9c",
            "pkg:docker/cassandra@sha256:244fd47e07d1004f0aed9c",
            "pkg:docker/cassandra",
        ),
        (
            "pkg://golang/google.golang.org/genproto#googleapis/api",
            "pkg:golang/google.golang.org/genproto#googleapis/api",
            "pkg:golang/google.golang.org/genproto",
        ),
        (
            "pkg:cargo/Serde%20Json",
            "pkg:cargo/Serde%20Json",
            "pkg:cargo/Serde%20Json",
        ),
    ];
    for (input, canonical, key) in cases {
        let id = ProductId::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(id.to_string(), canonical, "{input}");
        assert_eq!(id.key(), key, "{input}");
        assert_eq!(
            ProductId::parse(canonical).as_ref(),
            Ok(&id),
            "{input}: canonical form round-trips"
        );
    }
}

#[test]
fn invalid_purls_name_the_problem() {
    let long = format!("pkg:npm/{}", "a".repeat(1100));
    let cases: [(&str, &str); 13] = [
        ("pkg:npm", "needs a type and a name"),
        ("pkg:npm/", "needs a type and a name"),
        ("pkg:npm/@1.0", "name is empty"),
        ("pkg:/foo", "needs a type and a name"),
        ("pkg:1npm/foo", "is not a purl type"),
        ("pkg:n%70m/foo", "is not a purl type"),
        ("pkg:npm/fo%zzo", "bad percent-encoding in the name"),
        ("pkg:npm/foo%00", "control character"),
        ("pkg:npm/foo\u{7}", "control character"),
        ("pkg:npm/foo%FF", "does not decode to UTF-8"),
        ("pkg:npm/foo?a=1&A=2", "given twice"),
        ("pkg:npm/foo?1a=b", "not a purl qualifier key"),
        (&long, "longer than 1024 bytes"),
    ];
    for (input, expected) in cases {
        let message = err(ProductId::parse(input));
        assert!(message.contains(expected), "{input}: {message}");
    }
    assert!(err(ProductId::parse("http://example.com")).contains("not a purl"));
    assert!(err(ProductId::parse("pkg")).contains("not a purl"));
}

#[test]
fn cpes_parse_to_canonical_form_and_key() {
    let cases = [
        (
            "cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*",
            "cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*",
            "cpe:2.3:a:apache:http_server",
        ),
        (
            "CPE:2.3:A:Microsoft:Internet_Explorer:8.0.6001:Beta:*:*:*:*:*:*",
            "cpe:2.3:a:microsoft:internet_explorer:8.0.6001:beta:*:*:*:*:*:*",
            "cpe:2.3:a:microsoft:internet_explorer",
        ),
        (
            "cpe:2.3:a:hp:insight_diagnostics:7.4.0.1570:-:*:*:online:win2003:x64:*",
            "cpe:2.3:a:hp:insight_diagnostics:7.4.0.1570:-:*:*:online:win2003:x64:*",
            "cpe:2.3:a:hp:insight_diagnostics",
        ),
        (
            "cpe:2.3:a:foo\\\\bar:big\\$money_manager_2010:*:*:*:*:*:*:*:*",
            "cpe:2.3:a:foo\\\\bar:big\\$money_manager_2010:*:*:*:*:*:*:*:*",
            "cpe:2.3:a:foo\\\\bar:big\\$money_manager_2010",
        ),
        (
            "cpe:2.3:o:linux:linux_kernel:\\-:*:*:*:*:*:*:*",
            "cpe:2.3:o:linux:linux_kernel:\\-:*:*:*:*:*:*:*",
            "cpe:2.3:o:linux:linux_kernel",
        ),
        // CPE 2.2 URIs are converted.
        (
            "cpe:/a:apache:http_server:2.4.49",
            "cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*",
            "cpe:2.3:a:apache:http_server",
        ),
        (
            "cpe:/o:Microsoft:Windows_XP::SP2:pro:en-us",
            "cpe:2.3:o:microsoft:windows_xp:*:sp2:pro:en-us:*:*:*:*",
            "cpe:2.3:o:microsoft:windows_xp",
        ),
        (
            "cpe:/a:hp:insight_diagnostics:7.4.0.1570:-:~~online~win2003~x64~",
            "cpe:2.3:a:hp:insight_diagnostics:7.4.0.1570:-:*:*:online:win2003:x64:*",
            "cpe:2.3:a:hp:insight_diagnostics",
        ),
        (
            "cpe:/a:foo%21:bar",
            "cpe:2.3:a:foo\\!:bar:*:*:*:*:*:*:*:*",
            "cpe:2.3:a:foo\\!:bar",
        ),
    ];
    for (input, canonical, key) in cases {
        let id = ProductId::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(id.to_string(), canonical, "{input}");
        assert_eq!(id.key(), key, "{input}");
        assert_eq!(
            ProductId::parse(canonical).as_ref(),
            Ok(&id),
            "{input}: canonical form round-trips"
        );
    }
}

#[test]
fn invalid_cpes_name_the_problem() {
    let cases = [
        (
            "cpe:2.3:a:apache:http_server",
            "has 13 colon-separated components, this one has 5",
        ),
        (
            "cpe:2.3:a:apache:http_server:*:*:*:*:*:*:*:*:*",
            "this one has 14",
        ),
        (
            "cpe:2.3:x:apache:http_server:*:*:*:*:*:*:*:*",
            "part of a CPE name must be `a`, `o` or `h`",
        ),
        (
            "cpe:2.3:a:*:http_server:*:*:*:*:*:*:*:*",
            "vendor of a CPE name must be given",
        ),
        (
            "cpe:2.3:a:apache:-:*:*:*:*:*:*:*:*",
            "product of a CPE name must be given",
        ),
        (
            "cpe:2.3:a:apache:http server:*:*:*:*:*:*:*:*",
            "character ` ` in the product",
        ),
        (
            "cpe:2.3:a:apache:http_server:2.4*:*:*:*:*:*:*:*",
            "wildcard inside a value",
        ),
        (
            "cpe:2.3:a:apache::*:*:*:*:*:*:*:*",
            "product of the CPE name is empty",
        ),
        ("cpe:2.3:a:apache:http_server:1\\", "backslash"),
        ("cpe:/a:apache:http_server:1:2:3:4:5", "at most seven components"),
        ("cpe:/a:apache:http server", "not a CPE 2.2 URI component"),
        ("cpe:2.2:a:apache:http_server", "must start with `cpe:2.3:`"),
    ];
    for (input, expected) in cases {
        let message = err(ProductId::parse(input));
        assert!(message.contains(expected), "{input}: {message}");
    }
}

#[test]
fn prefixes_select_whole_components() {
    // (product, prefix, selected)
    let cases = [
        ("pkg:npm/foo@1.0", "pkg:npm/", true),
        ("pkg:npm/foo@1.0", "pkg:npm", true),
        ("pkg:npm/foo@1.0", "pkg:npm/foo", true),
        ("pkg:npm/foo@1.0", "pkg:npm/FOO", true),
        ("pkg:npm/foobar", "pkg:npm/foo", false),
        ("pkg:npm/foo", "pkg:npm/foo/bar", false),
        ("pkg:npm/%40angular/core", "pkg:npm/%40angular", true),
        ("pkg:npm/%40angular/core", "pkg:npm/@angular/core", true),
        ("pkg:npm/%40angular/core", "pkg:npm/%40angul", false),
        ("pkg:npm/foo", "pkg:pypi/", false),
        ("pkg:npmx/foo", "pkg:npm", false),
        (
            "pkg:pypi/django-rest-framework",
            "pkg:pypi/Django_Rest_Framework",
            true,
        ),
        ("pkg:maven/org.apache/commons", "pkg:maven/org.apache", true),
        ("pkg:maven/org.apache/commons", "pkg:maven/org", false),
        (
            "cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*",
            "cpe:2.3:a:apache",
            true,
        ),
        (
            "cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*",
            "cpe:2.3:a",
            true,
        ),
        (
            "cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*",
            "cpe:2.3:a:apache:http_server",
            true,
        ),
        (
            "cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*",
            "cpe:2.3:a:Apache:",
            true,
        ),
        (
            "cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*",
            "cpe:/a:apache",
            true,
        ),
        (
            "cpe:2.3:a:apachefoundation:x:*:*:*:*:*:*:*:*",
            "cpe:2.3:a:apache",
            false,
        ),
        (
            "cpe:2.3:a:apache:http_server:*:*:*:*:*:*:*:*",
            "cpe:2.3:o:apache",
            false,
        ),
        ("cpe:2.3:a:apache:http_server:*:*:*:*:*:*:*:*", "pkg:npm", false),
        // Invalid prefixes select nothing.
        ("pkg:npm/foo", "pkg:npm/foo@1.0", false),
        (
            "cpe:2.3:a:apache:http_server:*:*:*:*:*:*:*:*",
            "cpe:2.3:a:apache:http_server:2.4",
            false,
        ),
        ("pkg:npm/foo", "", false),
    ];
    for (product, prefix, selected) in cases {
        let id = ProductId::parse(product).unwrap_or_else(|e| panic!("{product}: {e}"));
        assert_eq!(id.matches_prefix(prefix), selected, "{product} by {prefix}");
        // The canonical prefix is a string prefix of the keys it selects, at a component boundary.
        if let Ok(p) = ProductPrefix::parse(prefix) {
            let (canonical, key) = (p.to_string(), id.key());
            let textual = key == canonical
                || key
                    .strip_prefix(&canonical)
                    .is_some_and(|rest| rest.starts_with(['/', ':']));
            assert_eq!(textual, selected, "{product} by canonical {canonical}");
        }
    }
    for (prefix, expected) in [
        ("pkg:npm/foo@1", "without version"),
        ("cpe:2.3:a:x:y:1", "at most the part, vendor and product"),
        ("cpe:2.3:*:apache", "part of a CPE prefix must be given"),
        ("foo", "a product prefix is a purl"),
    ] {
        let message = err(ProductPrefix::parse(prefix));
        assert!(message.contains(expected), "{prefix}: {message}");
    }
}

#[test]
fn versions_order_as_semver_and_dotted_numbers() {
    use std::cmp::Ordering::{Equal, Greater, Less};
    let cases = [
        ("1.10", "1.9", Greater),
        ("1.2", "1.2.0", Equal),
        ("v1.2.0", "1.2", Equal),
        ("1.0.0-alpha", "1.0.0", Less),
        ("1.0.0-alpha", "1.0.0-alpha.1", Less),
        ("1.0.0-alpha.1", "1.0.0-alpha.beta", Less),
        ("1.0.0-alpha.beta", "1.0.0-beta", Less),
        ("1.0.0-beta.2", "1.0.0-beta.11", Less),
        ("1.0.0-beta.11", "1.0.0-rc.1", Less),
        ("1.0.0-rc.1", "1.0.0", Less),
        ("1.0.0+build.5", "1.0.0", Equal),
        ("1.0a1", "1.0b1", Less),
        ("1.0rc1", "1.0", Less),
        ("1.0.dev1", "1.0a1", Less),
        ("1.0.post1", "1.0", Greater),
        ("2.4.1p1", "2.4.1", Greater),
        ("2.4.1p1", "2.4.2", Less),
        ("1.0.Final", "1.0", Equal),
        ("1.0-SNAPSHOT", "1.0", Less),
        ("1:1.0", "2.0", Greater),
        ("20240101", "20231231", Greater),
        ("1.2.3.4", "1.2.3", Greater),
    ];
    for (a, b, expected) in cases {
        let (va, vb) = (
            Version::parse(a).unwrap_or_else(|e| panic!("{a}: {e}")),
            Version::parse(b).unwrap_or_else(|e| panic!("{b}: {e}")),
        );
        assert_eq!(va.cmp(&vb), expected, "{a} vs {b}");
        assert_eq!(vb.cmp(&va), expected.reverse(), "{b} vs {a}");
    }
    for (text, expected) in [
        ("", "empty"),
        ("abc", "starts with a digit"),
        ("1.0 beta", "` ` is not allowed"),
        ("1234567890123456789012", "more than 18 digits"),
    ] {
        let message = err(Version::parse(text));
        assert!(message.contains(expected), "{text}: {message}");
    }
}

#[test]
fn ranges_parse_to_canonical_form() {
    let cases = [
        (">=1.2.0, <1.4.3", ">=1.2.0, <1.4.3"),
        ("<1.4.3,>=1.2.0", ">=1.2.0, <1.4.3"),
        (">= 1.2.0 < 1.4.3", ">=1.2.0, <1.4.3"),
        ("<2", "<2"),
        ("<=2.0", "<=2.0"),
        (">1", ">1"),
        ("=1.0.0", "=1.0.0"),
        ("== 1.0.0", "=1.0.0"),
        ("1.0.0", "=1.0.0"),
        ("*", "*"),
        (" * ", "*"),
        (">=1.0, <1.2 || >=2.0, <2.1", ">=1.0, <1.2 || >=2.0, <2.1"),
        (">=2.0, <2.1 || >=1.0, <1.2", ">=1.0, <1.2 || >=2.0, <2.1"),
        // Overlapping or touching alternatives merge.
        (">=1.0, <1.5 || >=1.2, <2.0", ">=1.0, <2.0"),
        (">=1.0, <1.5 || >=1.5, <2.0", ">=1.0, <2.0"),
        ("<1.5 || >1.5", "<1.5 || >1.5"),
        ("!=1.5", "<1.5 || >1.5"),
        (">=1.0, <2.0, !=1.5", ">=1.0, <1.5 || >1.5, <2.0"),
        (">=1.0, <=1.0", "=1.0"),
        (">1.0 || *", "*"),
        // vers
        ("vers:npm/>=1.2.0|<1.4.3", ">=1.2.0, <1.4.3"),
        ("vers:npm/<1.4.3|>=1.2.0", ">=1.2.0, <1.4.3"),
        ("vers:pypi/1.0|2.0", "=1.0 || =2.0"),
        ("vers:npm/<1.0|>=2.0", "<1.0 || >=2.0"),
        ("vers:npm/>=1.0|<2.0|>=3.0", ">=1.0, <2.0 || >=3.0"),
        ("vers:npm/>=1.0|!=1.5|<2.0", ">=1.0, <1.5 || >1.5, <2.0"),
        ("vers:npm/!=1.5", "<1.5 || >1.5"),
        ("vers:npm/*", "*"),
    ];
    for (input, canonical) in cases {
        let range = VersionRange::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(range.to_string(), canonical, "{input}");
        assert_eq!(
            VersionRange::parse(canonical).as_ref(),
            Ok(&range),
            "{input}: canonical form round-trips"
        );
    }
}

#[test]
fn invalid_ranges_name_the_problem() {
    let cases = [
        (">=2, <1", "`>=2, <1` matches no version"),
        (">=1.0, <1.0", "matches no version"),
        (">=1.0, <1.2 || >=3, <2", "`>=3, <2` matches no version"),
        (">>1", "`>>1` is not a comparator: unexpected `>`"),
        ("=>1", "`=>1` is not a comparator"),
        ("^1.2", "`^1.2` is not a comparator: unexpected `^`"),
        ("~1.2", "`~1.2` is not a comparator: unexpected `~`"),
        ("garbage", "`garbage` is not a version"),
        ("", "the version range is empty"),
        (">=", "the comparator `>=` has no version"),
        (">=1.0,", "empty comparator between commas"),
        ("||", "an alternative of the version range is empty"),
        (">=1.0 |<2", "`|<2` is not a comparator"),
        ("vers:npm", "`vers:<scheme>/<constraints>`"),
        ("vers:NPM/1.0", "not a `vers` versioning scheme"),
        ("vers:npm/>=1.0|>=2.0", "two lower bounds"),
        ("vers:npm/<1.0|<2.0", "two upper bounds"),
        ("vers:npm/1.0|1.0.0", "appears twice"),
        ("vers:npm/>=1.0||<2", "empty constraint"),
        ("<1\u{0}", "control character"),
    ];
    for (input, expected) in cases {
        let message = err(VersionRange::parse(input));
        assert!(message.contains(expected), "{input}: {message}");
    }
    let huge = vec![">=1"; 400].join(", ");
    assert!(err(VersionRange::parse(&huge)).contains("longer than 1024"));
    let many = vec![">=1"; 100].join(",");
    assert!(err(VersionRange::parse(&many)).contains("at most 64 comparators"));
}

#[test]
fn overlaps_contains_and_fixed_in() {
    let range = |s: &str| VersionRange::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
    // (a, b, overlap)
    let overlaps = [
        (">=1.2.0, <1.4.3", ">=1.4.0, <1.5", true),
        (">=1.2.0, <1.4.3", ">=1.4.3", false),
        (">=1.2.0, <=1.4.3", ">=1.4.3", true),
        ("<2", ">1", true),
        ("<1", ">1", false),
        ("<=1", ">=1", true),
        ("=1.0.0", "1.0", true),
        ("=1.0.0", ">1.0", false),
        ("*", "=7", true),
        (">=1.0, <1.2 || >=2.0, <2.1", ">=1.5, <2.0", false),
        (">=1.0, <1.2 || >=2.0, <2.1", ">=1.5, <=2.0", true),
        ("<1.0.0", "=1.0.0-rc.1", true),
        (">=1.0.0", "=1.0.0-rc.1", false),
        ("!=1.5", "=1.5", false),
        ("vers:npm/<1.0|>=2.0", ">=1.1, <1.9", false),
    ];
    for (a, b, expected) in overlaps {
        assert_eq!(range(a).overlaps(&range(b)), expected, "{a} / {b}");
        assert_eq!(range(b).overlaps(&range(a)), expected, "{b} / {a}");
    }
    // (range, version, contained)
    let contains = [
        (">=1.2.0, <1.4.3", "1.2.0", true),
        (">=1.2.0, <1.4.3", "1.4.2", true),
        (">=1.2.0, <1.4.3", "1.4.3", false),
        (">=1.2.0, <1.4.3", "1.4.3-rc.1", true),
        (">=1.2.0, <1.4.3", "1.10.0", false),
        (">=1.2, <1.10", "1.9.9", true),
        ("<2", "2.0.0", false),
        ("<=2.0", "2", true),
        ("=1.0.0", "1.0", true),
        ("*", "0.0.1", true),
        ("*", "not a version", false),
        (">=1.0, <1.2 || >=2.0, <2.1", "2.0.5", true),
        (">=1.0, <1.2 || >=2.0, <2.1", "1.5", false),
    ];
    for (r, v, expected) in contains {
        assert_eq!(range(r).contains(v), expected, "{r} contains {v}");
    }
    let fixed = [
        (">=1.2.0, <1.4.3", Some("1.4.3"), vec!["1.4.3"]),
        ("<=1.4.2", None, vec![]),
        (">=1.2", None, vec![]),
        (">=1.0, <1.2 || >=2.0, <2.1", Some("2.1"), vec!["1.2", "2.1"]),
        (">=1.0, <1.2 || >=2.0", None, vec!["1.2"]),
    ];
    for (r, last, all) in fixed {
        let r = range(r);
        assert_eq!(r.fixed_in().map(Version::as_str), last, "{r}");
        assert_eq!(
            r.fixed_versions()
                .into_iter()
                .map(Version::as_str)
                .collect::<Vec<_>>(),
            all,
            "{r}"
        );
    }
}

#[test]
fn affected_and_serde_round_trip() {
    let a = Affected::parse("pkg:npm/%40angular/core", ">=1.0, <2").unwrap_or_else(|e| panic!("{e}"));
    let json = serde_json::to_string(&(&a.product, &a.versions)).unwrap_or_default();
    assert_eq!(json, r#"["pkg:npm/%40angular/core",">=1.0, <2"]"#);
    let back: (ProductId, VersionRange) = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, (a.product, a.versions));
    assert!(serde_json::from_str::<VersionRange>(r#"">=2, <1""#).is_err());
    assert!(err(Affected::parse("nope", "*")).starts_with("product: "));
    assert!(err(Affected::parse("pkg:npm/x", ">>1")).starts_with("versions: "));
}
