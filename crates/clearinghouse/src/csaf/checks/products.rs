//! The product tree: definitions, references, identification helpers (§6.1.1, §6.1.2, …).

use super::*;

/// Every product definition of a branch tree: (product id, pointer, the branch's category and name).
fn branch_products<'a>(
    branches: &'a [Value],
    path: &str,
    out: &mut Vec<(&'a str, String, Option<&'a str>, Option<&'a str>)>,
    depth: usize,
) {
    if depth > 30 {
        return;
    }
    for (i, b) in branches.iter().enumerate() {
        let here = format!("{path}/{i}");
        if let Some(id) = b.get("product").and_then(|p| text(p, "product_id")) {
            out.push((
                id,
                format!("{here}/product/product_id"),
                text(b, "category"),
                text(b, "name"),
            ));
        }
        branch_products(
            arr(b.get("branches")),
            &format!("{here}/branches"),
            out,
            depth + 1,
        );
    }
}

/// Every `product_identification_helper` in the product tree, with its pointer.
fn helpers(tree: &Value) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    fn walk<'a>(branches: &'a [Value], path: &str, out: &mut Vec<(String, &'a Value)>, depth: usize) {
        if depth > 30 {
            return;
        }
        for (i, b) in branches.iter().enumerate() {
            let here = format!("{path}/{i}");
            if let Some(h) = b
                .get("product")
                .and_then(|p| p.get("product_identification_helper"))
            {
                out.push((format!("{here}/product/product_identification_helper"), h));
            }
            walk(
                arr(b.get("branches")),
                &format!("{here}/branches"),
                out,
                depth + 1,
            );
        }
    }
    walk(arr(tree.get("branches")), "/product_tree/branches", &mut out, 0);
    for (i, p) in arr(tree.get("full_product_names")).iter().enumerate() {
        if let Some(h) = p.get("product_identification_helper") {
            out.push((
                format!("/product_tree/full_product_names/{i}/product_identification_helper"),
                h,
            ));
        }
    }
    for (i, r) in arr(tree.get("relationships")).iter().enumerate() {
        if let Some(h) = r
            .get("full_product_name")
            .and_then(|p| p.get("product_identification_helper"))
        {
            out.push((
                format!("/product_tree/relationships/{i}/full_product_name/product_identification_helper"),
                h,
            ));
        }
    }
    out
}

impl<'a> Checker<'a> {
    /// Definitions: (id, pointer) of every product, and the referenced ids with their pointers.
    pub(super) fn product_definitions(&self) -> Vec<(&'a str, String)> {
        let tree = self.doc.get("product_tree").unwrap_or(&Value::Null);
        let mut found = Vec::new();
        branch_products(arr(tree.get("branches")), "/product_tree/branches", &mut found, 0);
        let mut out: Vec<(&str, String)> = found.into_iter().map(|(id, p, _, _)| (id, p)).collect();
        for (i, p) in arr(tree.get("full_product_names")).iter().enumerate() {
            if let Some(id) = text(p, "product_id") {
                out.push((id, format!("/product_tree/full_product_names/{i}/product_id")));
            }
        }
        for (i, r) in arr(tree.get("relationships")).iter().enumerate() {
            if let Some(id) = r.get("full_product_name").and_then(|p| text(p, "product_id")) {
                out.push((
                    id,
                    format!("/product_tree/relationships/{i}/full_product_name/product_id"),
                ));
            }
        }
        out
    }

    pub(super) fn product_references(&self) -> Vec<(&'a str, String)> {
        let mut out = Vec::new();
        let list = |values: &'a [Value], path: String, out: &mut Vec<(&'a str, String)>| {
            for (i, v) in values.iter().enumerate() {
                if let Some(id) = v.as_str() {
                    out.push((id, format!("{path}/{i}")));
                }
            }
        };
        let tree = self.doc.get("product_tree").unwrap_or(&Value::Null);
        for (i, g) in arr(tree.get("product_groups")).iter().enumerate() {
            list(
                arr(g.get("product_ids")),
                format!("/product_tree/product_groups/{i}/product_ids"),
                &mut out,
            );
        }
        for (i, r) in arr(tree.get("relationships")).iter().enumerate() {
            for key in ["product_reference", "relates_to_product_reference"] {
                if let Some(id) = text(r, key) {
                    out.push((id, format!("/product_tree/relationships/{i}/{key}")));
                }
            }
        }
        for (v, vuln) in self.vulnerabilities().iter().enumerate() {
            let base = format!("/vulnerabilities/{v}");
            if let Some(status) = vuln.get("product_status").and_then(Value::as_object) {
                for (key, ids) in status {
                    list(arr(Some(ids)), format!("{base}/product_status/{key}"), &mut out);
                }
            }
            for (key, field) in [
                ("remediations", "product_ids"),
                ("scores", "products"),
                ("threats", "product_ids"),
                ("flags", "product_ids"),
            ] {
                for (i, item) in arr(vuln.get(key)).iter().enumerate() {
                    list(
                        arr(item.get(field)),
                        format!("{base}/{key}/{i}/{field}"),
                        &mut out,
                    );
                }
            }
        }
        out
    }

    pub(super) fn products(&mut self) {
        let defined = self.product_definitions();
        let ids: BTreeSet<&str> = defined.iter().map(|(id, _)| *id).collect();
        // 6.1.1 Missing Definition of Product ID
        for (id, path) in self.product_references() {
            if !ids.contains(id) {
                self.fail("6.1.1", path, format!("the product id {id} is not defined"));
            }
        }
        // 6.1.2 Multiple Definition of Product ID
        let mut seen = BTreeSet::new();
        for (id, path) in &defined {
            if !seen.insert(*id) {
                self.fail(
                    "6.1.2",
                    path.clone(),
                    format!("the product id {id} is defined more than once"),
                );
            }
        }
        // 6.1.3 Circular Definition of Product ID
        let tree = self.doc.get("product_tree").unwrap_or(&Value::Null);
        for (i, r) in arr(tree.get("relationships")).iter().enumerate() {
            if let Some(id) = r.get("full_product_name").and_then(|p| text(p, "product_id")) {
                for key in ["product_reference", "relates_to_product_reference"] {
                    if text(r, key) == Some(id) {
                        self.fail(
                            "6.1.3",
                            format!("/product_tree/relationships/{i}/{key}"),
                            format!("the relationship defining {id} refers to {id} itself"),
                        );
                    }
                }
            }
        }
        // 6.1.4 Missing Definition of Product Group ID, 6.1.5 Multiple Definition of Product Group ID
        let mut groups = BTreeSet::new();
        for (i, g) in arr(tree.get("product_groups")).iter().enumerate() {
            if let Some(id) = text(g, "group_id")
                && !groups.insert(id)
            {
                self.fail(
                    "6.1.5",
                    format!("/product_tree/product_groups/{i}/group_id"),
                    format!("the group id {id} is defined more than once"),
                );
            }
        }
        for (v, vuln) in self.vulnerabilities().iter().enumerate() {
            for key in ["remediations", "threats", "flags"] {
                for (i, item) in arr(vuln.get(key)).iter().enumerate() {
                    for (j, id) in arr(item.get("group_ids")).iter().enumerate() {
                        if let Some(id) = id.as_str()
                            && !groups.contains(id)
                        {
                            self.fail(
                                "6.1.4",
                                format!("/vulnerabilities/{v}/{key}/{i}/group_ids/{j}"),
                                format!("the group id {id} is not defined"),
                            );
                        }
                    }
                }
            }
        }
        // 6.1.13 PURL
        for (path, helper) in helpers(tree) {
            if let Some(purl) = helper.get("purl") {
                let ok = purl.as_str().is_some_and(|p| Purl::parse(p).is_ok());
                if !ok {
                    self.fail("6.1.13", format!("{path}/purl"), "is not a valid purl");
                }
            }
            // 6.1.25 Multiple Use of Same Hash Algorithm
            for (h, hash) in arr(helper.get("hashes")).iter().enumerate() {
                let mut seen = BTreeSet::new();
                for (f, file) in arr(hash.get("file_hashes")).iter().enumerate() {
                    if let Some(a) = text(file, "algorithm")
                        && !seen.insert(a)
                    {
                        self.fail(
                            "6.1.25",
                            format!("{path}/hashes/{h}/file_hashes/{f}/algorithm"),
                            format!("the hash algorithm {a} is used more than once for the file"),
                        );
                    }
                }
            }
        }
        // 6.1.31 Version Range in Product Version
        let mut found = Vec::new();
        branch_products(arr(tree.get("branches")), "/product_tree/branches", &mut found, 0);
        let mut branches = Vec::new();
        fn walk<'b>(bs: &'b [Value], path: &str, out: &mut Vec<(String, &'b Value)>, depth: usize) {
            if depth > 30 {
                return;
            }
            for (i, b) in bs.iter().enumerate() {
                let here = format!("{path}/{i}");
                out.push((here.clone(), b));
                walk(
                    arr(b.get("branches")),
                    &format!("{here}/branches"),
                    out,
                    depth + 1,
                );
            }
        }
        walk(
            arr(tree.get("branches")),
            "/product_tree/branches",
            &mut branches,
            0,
        );
        for (path, b) in branches {
            if text(b, "category") == Some("product_version")
                && let Some(name) = text(b, "name")
                && reads_as_range(name)
            {
                self.fail(
                    "6.1.31",
                    format!("{path}/name"),
                    "a product_version names one version, not a range (use product_version_range)",
                );
            }
        }
    }
}
