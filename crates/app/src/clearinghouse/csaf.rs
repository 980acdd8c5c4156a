//! Advisories as CSAF 2.0 documents (`clearinghouse::csaf`), read under the same TLP rule as the advisory
//! itself: the document is built from the advisory's stored snapshot (its reports' products, scores, CWE,
//! finders and the vendors' statuses at publication), so it never says more than the advisory does.

use crate::{App, AppError, AppResult, Caller, policy};
use clearinghouse::case::VendorStatus;
use clearinghouse::csaf::{
    self, Advisory, Finder, Generator, Product, Publisher, Reference, Revision, Status,
};
use serde_json::Value;
use store::AdvisoryRow;

/// A vendor's status as CSAF states it. Several vendors answering for one report's products: the most
/// cautious statement wins (affected, then under investigation, then fixed, then not affected); no statement
/// at all leaves the report's own claim, affected.
fn status_of(statuses: &[(VendorStatus, &str, &str)]) -> (Status, Option<(String, String)>) {
    let rank = |s: VendorStatus| match s {
        VendorStatus::Affected => 0,
        VendorStatus::UnderInvestigation => 1,
        VendorStatus::Fixed => 2,
        VendorStatus::NotAffected => 3,
    };
    let Some((status, vendor, statement)) = statuses.iter().min_by_key(|(s, _, _)| rank(*s)) else {
        return (Status::KnownAffected, None);
    };
    let status = match status {
        VendorStatus::Affected => Status::KnownAffected,
        VendorStatus::UnderInvestigation => Status::UnderInvestigation,
        VendorStatus::Fixed => Status::Fixed,
        VendorStatus::NotAffected => Status::KnownNotAffected,
    };
    (status, Some(((*vendor).to_owned(), (*statement).to_owned())))
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn list<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key).and_then(Value::as_array).into_iter().flatten()
}

/// The writer's input from an advisory row and its stored document.
pub(crate) fn advisory_input(app: &App, row: &AdvisoryRow) -> Advisory {
    let doc = &row.document.0;
    let statuses: Vec<(VendorStatus, &str, &str, &str)> = list(doc, "remediation")
        .filter_map(|r| {
            let status = VendorStatus::parse(text(r, "status")).ok()?;
            Some((
                status,
                text(r, "vendor"),
                text(r, "statement"),
                text(r, "report_id"),
            ))
        })
        .collect();
    let products = list(doc, "affected")
        .map(|a| {
            let report = a.get("report_id").and_then(Value::as_str);
            let these: Vec<(VendorStatus, &str, &str)> = statuses
                .iter()
                .filter(|(_, _, _, r)| report.is_none_or(|id| id == *r))
                .map(|(s, v, t, _)| (*s, *v, *t))
                .collect();
            let (status, statement) = status_of(&these);
            Product {
                product: text(a, "product").to_owned(),
                versions: text(a, "versions").to_owned(),
                fixed_in: list(a, "fixed_in")
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
                status,
                statement,
            }
        })
        .collect();
    let finders = list(doc, "credits")
        .map(|c| {
            let name = text(c, "name").to_owned();
            let ai_found = c.get("ai_found").and_then(Value::as_bool).unwrap_or(false);
            if text(c, "kind") == "organization" {
                Finder::Organization { name, ai_found }
            } else {
                Finder::Person { name, ai_found }
            }
        })
        .collect();
    let cwe = list(doc, "cwe")
        .filter_map(Value::as_str)
        .filter_map(|c| c.strip_prefix("CWE-")?.parse().ok())
        .collect();
    let vector = |version: &str| {
        doc.pointer(&format!("/scores/{version}/vector"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let base = app.config.public_url.trim_end_matches('/');
    let version = u32::try_from(row.version.max(1)).unwrap_or(1);
    let revisions = (1..=version)
        .map(|number| Revision {
            number,
            date: if number == 1 {
                row.published_at
            } else {
                row.modified_at
            },
            summary: if number == 1 { "Initial release" } else { "Update" }.to_owned(),
        })
        .collect();
    Advisory {
        reference: row.reference.clone(),
        title: row.title.clone(),
        summary: text(doc, "summary").to_owned(),
        tlp: row.tlp,
        publisher: Publisher {
            name: String::from("Prelaunch clearinghouse"),
            namespace: base.to_owned(),
            contact: None,
        },
        generator: Generator {
            name: String::from("Prelaunch"),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        },
        revisions,
        initial_release: row.published_at,
        current_release: row.modified_at.max(row.published_at),
        references: vec![Reference {
            url: format!("{base}/advisories/{}", row.id),
            summary: String::from("The advisory on the clearinghouse"),
            own: true,
        }],
        cve: None,
        cwe,
        cvss_v3: vector("cvss_v3"),
        cvss_v4: vector("cvss_v4"),
        products,
        finders,
    }
}

impl App {
    /// An advisory as a CSAF 2.0 document, if the reader may read the advisory; `None` is the public.
    pub async fn advisory_csaf(&self, caller: Option<&Caller>, id: uuid::Uuid) -> AppResult<Value> {
        let row = self
            .store
            .visible_advisory(id, &policy::tlp_audience(caller))
            .await?
            .ok_or(AppError::NotFound("advisory"))?;
        Ok(csaf::write(&advisory_input(self, &row)))
    }
}
