//! The JSON schema's requirements that reading a document relies on.

use super::*;

impl Checker<'_> {
    /// The JSON schema's requirements that reading the document relies on.
    pub(super) fn schema(&mut self) {
        let Some(_) = self.doc.as_object() else {
            self.fail("schema", "", "a CSAF document is a JSON object");
            return;
        };
        let doc = self.document();
        if !doc.is_object() {
            self.fail("schema", "/document", "is required and is an object");
            return;
        }
        if text(doc, "csaf_version") != Some("2.0") {
            self.fail("schema", "/document/csaf_version", "must be \"2.0\"");
        }
        for key in ["category", "title"] {
            if text(doc, key).is_none_or(str::is_empty) {
                self.fail(
                    "schema",
                    format!("/document/{key}"),
                    "is required and is a non-empty string",
                );
            }
        }
        match doc.get("publisher") {
            Some(p) if p.is_object() => {
                for key in ["category", "name", "namespace"] {
                    if text(p, key).is_none() {
                        self.fail("schema", format!("/document/publisher/{key}"), "is required");
                    }
                }
            }
            _ => self.fail("schema", "/document/publisher", "is required and is an object"),
        }
        match doc.get("tracking") {
            Some(t) if t.is_object() => {
                for key in [
                    "current_release_date",
                    "id",
                    "initial_release_date",
                    "status",
                    "version",
                ] {
                    if text(t, key).is_none() {
                        self.fail("schema", format!("/document/tracking/{key}"), "is required");
                    }
                }
                if !matches!(text(t, "status"), None | Some("draft" | "final" | "interim")) {
                    self.fail(
                        "schema",
                        "/document/tracking/status",
                        "must be draft, final or interim",
                    );
                }
                if arr(t.get("revision_history")).is_empty() {
                    self.fail(
                        "schema",
                        "/document/tracking/revision_history",
                        "needs at least one item",
                    );
                }
                for (i, r) in arr(t.get("revision_history")).iter().enumerate() {
                    for key in ["date", "number", "summary"] {
                        if text(r, key).is_none() {
                            self.fail(
                                "schema",
                                format!("/document/tracking/revision_history/{i}/{key}"),
                                "is required",
                            );
                        }
                    }
                }
            }
            _ => self.fail("schema", "/document/tracking", "is required and is an object"),
        }
        for (key, is_array) in [("product_tree", false), ("vulnerabilities", true)] {
            if let Some(v) = self.doc.get(key)
                && v.is_array() != is_array
            {
                let kind = if is_array { "an array" } else { "an object" };
                self.fail("schema", format!("/{key}"), format!("must be {kind}"));
            }
        }
    }
}
