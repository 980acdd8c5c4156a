//! The tests of the document's metadata and revision history, and what each profile requires (§6.1.27).

use super::*;

impl Checker<'_> {
    pub(super) fn document_tests(&mut self) {
        let doc = self.document();
        // 6.1.12 Language
        for key in ["lang", "source_lang"] {
            if let Some(tag) = text(doc, key)
                && !language_tag(tag)
            {
                self.fail(
                    "6.1.12",
                    format!("/document/{key}"),
                    format!("{tag} is not a language tag"),
                );
            }
        }
        // 6.1.15 Translator
        let publisher = doc.get("publisher").unwrap_or(&Value::Null);
        if text(publisher, "category") == Some("translator") && doc.get("source_lang").is_none() {
            self.fail(
                "6.1.15",
                "/document/source_lang",
                "a translator's document names its source language",
            );
        }
        // 6.1.28 Translation
        if let (Some(lang), Some(source)) = (text(doc, "lang"), text(doc, "source_lang"))
            && lang.eq_ignore_ascii_case(source)
        {
            self.fail(
                "6.1.28",
                "/document/source_lang",
                "a translation's language differs from its source's",
            );
        }
        // 6.1.26 Prohibited Document Category Name
        let category = self.category();
        if !PROFILES.contains(&category) && category != "csaf_base" {
            let normal: String = category
                .chars()
                .filter(|c| !matches!(c, '-' | '_' | ' '))
                .collect::<String>()
                .to_lowercase();
            let prohibited = PROFILES.iter().any(|p| {
                let bare = p.trim_start_matches("csaf_").replace('_', "");
                normal == bare || normal == format!("csaf{bare}")
            }) || normal.starts_with("csaf");
            if prohibited {
                self.fail(
                    "6.1.26",
                    "/document/category",
                    format!("{category} is a prohibited category name"),
                );
            }
        }
        self.revisions();
    }

    pub(super) fn revisions(&mut self) {
        let tracking = self.document().get("tracking").unwrap_or(&Value::Null);
        let status = text(tracking, "status").unwrap_or("");
        let released = matches!(status, "final" | "interim");
        let version_text = text(tracking, "version").unwrap_or("");
        let version = parse_number(version_text);
        let history: Vec<(usize, Option<&str>, Option<Number>, &str)> = arr(tracking.get("revision_history"))
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let n = text(r, "number");
                (i, n, n.and_then(parse_number), text(r, "date").unwrap_or(""))
            })
            .collect();
        let path = |i: usize| format!("/document/tracking/revision_history/{i}/number");
        // 6.1.14 Sorted Revision History: ordered by date, the numbers ascend.
        let mut by_date: Vec<_> = history
            .iter()
            .filter_map(|(i, _, n, d)| Some((chrono::DateTime::parse_from_rfc3339(d).ok()?, *i, n.clone()?)))
            .collect();
        by_date.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        for pair in by_date.windows(2) {
            if let [a, b] = pair
                && b.2.key() < a.2.key()
            {
                self.fail(
                    "6.1.14",
                    path(b.1),
                    "the revision history is not sorted by date and number alike",
                );
                break;
            }
        }
        // 6.1.16 Latest Document Version: the item released last (by date, then by number) is the version.
        let latest = by_date
            .iter()
            .max_by(|a, b| a.0.cmp(&b.0).then(a.2.key().cmp(&b.2.key())))
            .map(|(_, _, n)| n.clone());
        if let (Some(latest), Some(v)) = (&latest, &version) {
            let same = latest.key() == v.key() && (latest.pre() == v.pre() || status == "draft");
            if !same {
                self.fail(
                    "6.1.16",
                    "/document/tracking/version",
                    "is not the number of the latest item of the revision history",
                );
            }
        }
        // 6.1.17 Document Status Draft: version 0 or 0.y.z, or a pre-release, is a draft.
        if let Some(v) = &version
            && (v.major() == 0 || v.pre())
            && status != "draft"
        {
            self.fail(
                "6.1.17",
                "/document/tracking/status",
                "a version 0 or pre-release document is a draft",
            );
        }
        for (i, n, parsed, _) in &history {
            if let Some(p) = parsed {
                // 6.1.18 Released Revision History
                if released && p.major() == 0 {
                    self.fail(
                        "6.1.18",
                        path(*i),
                        "a released document has no version 0 in its history",
                    );
                }
                // 6.1.19 Revision History Entries for Pre-release Versions
                if p.pre() {
                    self.fail(
                        "6.1.19",
                        path(*i),
                        "the revision history holds no pre-release versions",
                    );
                }
            }
            let _ = n;
        }
        // 6.1.20 Non-draft Document Version
        if released && version.as_ref().is_some_and(Number::pre) {
            self.fail(
                "6.1.20",
                "/document/tracking/version",
                "a released document's version is no pre-release",
            );
        }
        // 6.1.21 Missing Item in Revision History: in order of date, the (major) versions start at 0 or 1 and
        // none is left out.
        let mut majors: Vec<u64> = Vec::new();
        for (_, _, n) in &by_date {
            if !majors.contains(&n.major()) {
                majors.push(n.major());
            }
        }
        let history_path = "/document/tracking/revision_history";
        if let Some(first) = majors.first().copied() {
            if first > 1 {
                self.fail(
                    "6.1.21",
                    history_path,
                    "sorted by date, the history does not start at version 0 or 1",
                );
            }
            for (i, major) in (0u64..).zip(&majors) {
                if *major > first + i {
                    self.fail(
                        "6.1.21",
                        history_path,
                        format!("version {} is left out", first + i),
                    );
                }
            }
        }
        // 6.1.22 Multiple Definition in Revision History
        let mut numbers = BTreeSet::new();
        for (i, n, _, _) in &history {
            if let Some(n) = n
                && !numbers.insert(*n)
            {
                self.fail(
                    "6.1.22",
                    path(*i),
                    format!("{n} is in the revision history more than once"),
                );
            }
        }
        // 6.1.30 Mixed Integer and Semantic Versioning
        let integer = version.as_ref().map(|v| matches!(v, Number::Integer(_)));
        if let Some(integer) = integer {
            for (i, _, n, _) in &history {
                if let Some(n) = n
                    && matches!(n, Number::Integer(_)) != integer
                {
                    self.fail("6.1.30", path(*i), "integer and semantic versioning are mixed");
                }
            }
        }
    }

    /// §6.1.27: what each profile requires.
    pub(super) fn profile(&mut self) {
        let category = self.category();
        let doc = self.document();
        let vulns = self.vulnerabilities();
        let informative = matches!(
            category,
            "csaf_security_incident_response" | "csaf_informational_advisory"
        );
        if informative {
            let noted = arr(doc.get("notes")).iter().any(|n| {
                matches!(
                    text(n, "category"),
                    Some("description" | "details" | "general" | "summary")
                )
            });
            if !noted {
                self.fail(
                    "6.1.27.1",
                    "/document/notes",
                    "needs a note of category description, details, general or summary",
                );
            }
            let external = arr(doc.get("references"))
                .iter()
                .any(|r| text(r, "category") == Some("external"));
            if !external {
                self.fail("6.1.27.2", "/document/references", "needs an external reference");
            }
        }
        if category == "csaf_informational_advisory" && self.doc.get("vulnerabilities").is_some() {
            self.fail(
                "6.1.27.3",
                "/vulnerabilities",
                "an informational advisory has no vulnerabilities",
            );
        }
        let advisory = matches!(category, "csaf_security_advisory" | "csaf_vex");
        if advisory {
            if self.doc.get("product_tree").is_none() {
                self.fail("6.1.27.4", "/product_tree", "is required by the profile");
            }
            for (v, vuln) in vulns.iter().enumerate() {
                if vuln.get("notes").is_none() {
                    self.fail(
                        "6.1.27.5",
                        format!("/vulnerabilities/{v}/notes"),
                        "is required by the profile",
                    );
                }
                if vuln.get("product_status").is_none() {
                    self.fail(
                        "6.1.27.6",
                        format!("/vulnerabilities/{v}/product_status"),
                        "is required by the profile",
                    );
                }
            }
            if self.doc.get("vulnerabilities").is_none() {
                self.fail("6.1.27.11", "/vulnerabilities", "is required by the profile");
            }
        }
        if category == "csaf_vex" {
            let groups = self.group_members();
            for (v, vuln) in vulns.iter().enumerate() {
                let base = format!("/vulnerabilities/{v}");
                let status = vuln.get("product_status").unwrap_or(&Value::Null);
                let any = [
                    "fixed",
                    "known_affected",
                    "known_not_affected",
                    "under_investigation",
                ]
                .iter()
                .any(|k| status.get(*k).is_some());
                if !any {
                    self.fail(
                        "6.1.27.7",
                        format!("{base}/product_status"),
                        "a VEX names fixed, known_affected, known_not_affected or under_investigation",
                    );
                }
                if vuln.get("cve").is_none() && vuln.get("ids").is_none() {
                    self.fail("6.1.27.8", base.clone(), "a VEX vulnerability has a cve or ids");
                }
                let covered = |key: &str, filter: &dyn Fn(&Value) -> bool| -> BTreeSet<&str> {
                    let mut out = BTreeSet::new();
                    for item in arr(vuln.get(key)).iter().filter(|i| filter(i)) {
                        out.extend(arr(item.get("product_ids")).iter().filter_map(Value::as_str));
                        for g in arr(item.get("group_ids")).iter().filter_map(Value::as_str) {
                            out.extend(groups.get(g).into_iter().flatten().copied());
                        }
                    }
                    out
                };
                let flagged = covered("flags", &|_| true);
                let impact = covered("threats", &|t| text(t, "category") == Some("impact"));
                for (i, id) in arr(status.get("known_not_affected")).iter().enumerate() {
                    if let Some(id) = id.as_str()
                        && !flagged.contains(id)
                        && !impact.contains(id)
                    {
                        self.fail(
                            "6.1.27.9",
                            format!("{base}/product_status/known_not_affected/{i}"),
                            "needs a flag or an impact statement",
                        );
                    }
                }
                let remedied = covered("remediations", &|_| true);
                for (i, id) in arr(status.get("known_affected")).iter().enumerate() {
                    if let Some(id) = id.as_str()
                        && !remedied.contains(id)
                    {
                        self.fail(
                            "6.1.27.10",
                            format!("{base}/product_status/known_affected/{i}"),
                            "needs an action statement (a remediation)",
                        );
                    }
                }
            }
        }
    }
}
