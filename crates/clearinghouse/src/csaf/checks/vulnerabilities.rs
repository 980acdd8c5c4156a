//! The tests of the vulnerabilities: product status, scores (CVSS v3), remediations, threats.

use super::*;

/// The CVSS v3 properties a vector's metrics determine: (property, metric key, value letter → name).
/// (property, metric key, value letter → name).
type Property = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const V3_PROPERTIES: [Property; 8] = [
    (
        "attackVector",
        "AV",
        &[
            ("N", "NETWORK"),
            ("A", "ADJACENT_NETWORK"),
            ("L", "LOCAL"),
            ("P", "PHYSICAL"),
        ],
    ),
    ("attackComplexity", "AC", &[("L", "LOW"), ("H", "HIGH")]),
    (
        "privilegesRequired",
        "PR",
        &[("N", "NONE"), ("L", "LOW"), ("H", "HIGH")],
    ),
    ("userInteraction", "UI", &[("N", "NONE"), ("R", "REQUIRED")]),
    ("scope", "S", &[("U", "UNCHANGED"), ("C", "CHANGED")]),
    (
        "confidentialityImpact",
        "C",
        &[("H", "HIGH"), ("L", "LOW"), ("N", "NONE")],
    ),
    (
        "integrityImpact",
        "I",
        &[("H", "HIGH"), ("L", "LOW"), ("N", "NONE")],
    ),
    (
        "availabilityImpact",
        "A",
        &[("H", "HIGH"), ("L", "LOW"), ("N", "NONE")],
    ),
];

fn severity_name(s: cvss::Severity) -> String {
    s.as_str().to_ascii_uppercase()
}

impl<'a> Checker<'a> {
    pub(super) fn vulnerability_tests(&mut self) {
        let mut cves: BTreeMap<&str, usize> = BTreeMap::new();
        for (v, vuln) in self.vulnerabilities().iter().enumerate() {
            let base = format!("/vulnerabilities/{v}");
            // 6.1.6 Contradicting Product Status
            let mut groups_of: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
            for (group, keys) in STATUS_GROUPS {
                for key in keys {
                    for id in arr(vuln.get("product_status").and_then(|s| s.get(*key))) {
                        if let Some(id) = id.as_str() {
                            groups_of.entry(id).or_default().insert(group);
                        }
                    }
                }
            }
            for (id, groups) in &groups_of {
                if groups.len() > 1 {
                    let names: Vec<&str> = groups.iter().copied().collect();
                    self.fail(
                        "6.1.6",
                        format!("{base}/product_status"),
                        format!("{id} is in contradicting status groups: {}", names.join(", ")),
                    );
                }
            }
            // 6.1.7 Multiple Scores with same Version per Product; 6.1.8–6.1.10 CVSS
            let mut scored: BTreeSet<(&str, String)> = BTreeSet::new();
            for (s, score) in arr(vuln.get("scores")).iter().enumerate() {
                for key in ["cvss_v2", "cvss_v3"] {
                    let Some(c) = score.get(key) else { continue };
                    let version = text(c, "version").unwrap_or("").to_owned();
                    for product in arr(score.get("products")).iter().filter_map(Value::as_str) {
                        if !scored.insert((product, format!("{key}:{version}"))) {
                            self.fail(
                                "6.1.7",
                                format!("{base}/scores/{s}"),
                                format!("{product} has more than one {key} score of version {version}"),
                            );
                        }
                    }
                    if key == "cvss_v3" {
                        self.cvss_v3(c, &format!("{base}/scores/{s}/cvss_v3"));
                    }
                }
            }
            // 6.1.11 CWE
            if let Some(c) = vuln.get("cwe") {
                let id = text(c, "id").unwrap_or("");
                let number = id.strip_prefix("CWE-").and_then(|n| n.parse::<u32>().ok());
                match number.map(|n| (n, cwe::name(n))) {
                    None => self.fail("6.1.11", format!("{base}/cwe/id"), "is not a CWE id"),
                    Some((_, Some(name))) if text(c, "name") != Some(name) => self.fail(
                        "6.1.11",
                        format!("{base}/cwe/name"),
                        format!("the name of {id} is \"{name}\""),
                    ),
                    _ => {}
                }
            }
            // 6.1.23 Multiple Use of Same CVE
            if let Some(cve) = text(vuln, "cve")
                && cves.insert(cve, v).is_some()
            {
                self.fail(
                    "6.1.23",
                    format!("{base}/cve"),
                    format!("{cve} is used by more than one vulnerability"),
                );
            }
            // 6.1.24 Multiple Definition in Involvements
            let mut parties = BTreeSet::new();
            for (i, inv) in arr(vuln.get("involvements")).iter().enumerate() {
                let key = (text(inv, "party"), text(inv, "date"));
                if !parties.insert(key) {
                    self.fail(
                        "6.1.24",
                        format!("{base}/involvements/{i}"),
                        "the same party is involved more than once at the same date",
                    );
                }
            }
            // 6.1.29 Remediation without Product Reference; 6.1.32 Flag without Product Reference
            for (key, test) in [("remediations", "6.1.29"), ("flags", "6.1.32")] {
                for (i, item) in arr(vuln.get(key)).iter().enumerate() {
                    if item.get("product_ids").is_none() && item.get("group_ids").is_none() {
                        self.fail(
                            test,
                            format!("{base}/{key}/{i}"),
                            "names neither product_ids nor group_ids",
                        );
                    }
                }
            }
            // 6.1.33 Multiple Flags with VEX Justification Codes per Product
            let groups = self.group_members();
            let mut flagged = BTreeSet::new();
            for (i, flag) in arr(vuln.get("flags")).iter().enumerate() {
                let mut these = BTreeSet::new();
                for id in arr(flag.get("product_ids")).iter().filter_map(Value::as_str) {
                    these.insert(id);
                }
                for g in arr(flag.get("group_ids")).iter().filter_map(Value::as_str) {
                    these.extend(groups.get(g).into_iter().flatten().copied());
                }
                for id in these {
                    if !flagged.insert(id) {
                        self.fail(
                            "6.1.33",
                            format!("{base}/flags/{i}"),
                            format!("{id} has more than one flag"),
                        );
                    }
                }
            }
        }
    }

    pub(super) fn group_members(&self) -> BTreeMap<&'a str, Vec<&'a str>> {
        let tree = self.doc.get("product_tree").unwrap_or(&Value::Null);
        arr(tree.get("product_groups"))
            .iter()
            .filter_map(|g| {
                let ids = arr(g.get("product_ids"))
                    .iter()
                    .filter_map(Value::as_str)
                    .collect();
                Some((text(g, "group_id")?, ids))
            })
            .collect()
    }

    pub(super) fn cvss_v3(&mut self, c: &Value, path: &str) {
        // 6.1.8 Invalid CVSS: the CVSS v3 schema's required properties and the vector's form.
        let vector = text(c, "vectorString");
        let version = text(c, "version");
        let score_given = c.get("baseScore").and_then(Value::as_f64);
        let severity_given = text(c, "baseSeverity");
        if vector.is_none() || score_given.is_none() || severity_given.is_none() || version.is_none() {
            self.fail(
                "6.1.8",
                path,
                "a CVSS v3 object has version, vectorString, baseScore and baseSeverity",
            );
            return;
        }
        let Some(vector) = vector else { return };
        let parsed = match cvss::score(vector) {
            Ok(s) if matches!(s.version, cvss::Version::V3_0 | cvss::Version::V3_1) => s,
            _ => {
                self.fail(
                    "6.1.8",
                    format!("{path}/vectorString"),
                    "is not a valid CVSS v3 vector",
                );
                return;
            }
        };
        if version != Some(parsed.version.as_str()) {
            self.fail(
                "6.1.8",
                format!("{path}/version"),
                "does not match the vector's version",
            );
            return;
        }
        // 6.1.9 Invalid CVSS computation
        let mut computed: Vec<(&str, Option<f64>)> = vec![("baseScore", Some(parsed.base_score))];
        computed.push(("temporalScore", parsed.temporal_score));
        computed.push(("environmentalScore", parsed.environmental_score));
        for (key, value) in computed {
            if let (Some(given), Some(value)) = (c.get(key).and_then(Value::as_f64), value)
                && (given - value).abs() > 1e-9
            {
                self.fail(
                    "6.1.9",
                    format!("{path}/{key}"),
                    format!("the vector computes {value}"),
                );
            }
        }
        if severity_given != Some(severity_name(parsed.base_severity).as_str()) {
            self.fail(
                "6.1.9",
                format!("{path}/baseSeverity"),
                format!("the vector computes {}", severity_name(parsed.base_severity)),
            );
        }
        // 6.1.10 Inconsistent CVSS: properties that contradict the vector.
        let metrics: BTreeMap<&str, &str> = vector
            .split('/')
            .skip(1)
            .filter_map(|m| m.split_once(':'))
            .collect();
        for (property, key, values) in V3_PROPERTIES {
            let Some(given) = text(c, property) else { continue };
            let expected = metrics
                .get(key)
                .and_then(|letter| values.iter().find(|(l, _)| l == letter))
                .map(|(_, name)| *name);
            if expected.is_some_and(|e| e != given) {
                self.fail(
                    "6.1.10",
                    format!("{path}/{property}"),
                    format!("the vector says {}", expected.unwrap_or_default()),
                );
            }
        }
    }
}
