//! Advisories as CSAF 2.0 documents (`clearinghouse::csaf`), read under the same TLP rule as the advisory
//! itself: the document is built from the advisory's stored snapshot (its reports' products, scores, CWE,
//! finders and the vendors' statuses at publication), so it never says more than the advisory does.
//!
//! The trusted provider's layout under `/.well-known/csaf/`: `provider-metadata.json`, and per CSAF 2.0 TLP
//! label a directory (`white`, `green`, `amber`, `red`) holding `<year>/<id>.json` (the year of the initial
//! release, the file name CSAF derives from the tracking id) with its `.sha256` and `.sha512`, `index.txt`,
//! `changes.csv` and the ROLIE feed `csaf-feed-tlp-<label>.json`. Every listing and file is read through the
//! store under the reader's TLP audience (the public reads TLP:CLEAR only), so a reader sees in the feeds
//! exactly the documents it may fetch, and a document it may not read is the same 404 as one that does not
//! exist. Each document also has its detached OpenPGP signature `<file>.asc` (see `csaf_sign`), read under
//! the same rule, and the provider's public key lies at `openpgp/<fingerprint>.asc`, named in the metadata.

use crate::{App, AppError, AppResult, Caller, policy};
use chrono::{DateTime, Datelike, SecondsFormat, Utc};
use clearinghouse::case::VendorStatus;
use clearinghouse::csaf::{
    self, Advisory, Finder, Generator, Product, Publisher, Reference, Revision, Status,
};
use clearinghouse::tlp::Tlp;
use serde_json::{Value, json};
use sha2::{Digest, Sha256, Sha512};
use std::fmt::Write;
use store::AdvisoryRow;

/// The directories of the CSAF 2.0 TLP labels: the name, the label, and the markings each holds.
const DIRECTORIES: [(&str, &str, [Tlp; 2]); 4] = [
    ("white", "WHITE", [Tlp::Clear, Tlp::Clear]),
    ("green", "GREEN", [Tlp::Green, Tlp::Green]),
    ("amber", "AMBER", [Tlp::Amber, Tlp::AmberStrict]),
    ("red", "RED", [Tlp::Red, Tlp::Red]),
];

/// The most documents a directory's listings name (the newest).
const MAX_LISTED: i64 = 10_000;

const CSAF_SCHEMA: &str = "https://docs.oasis-open.org/csaf/csaf/v2.0/csaf_json_schema.json";

/// What a `/.well-known/csaf/<label>/<year>/<file>` request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsafFile {
    Document,
    Sha256,
    Sha512,
    /// The detached OpenPGP signature (`.asc`).
    Signature,
}

fn directory(name: &str) -> AppResult<(&'static str, &'static str, [Tlp; 2])> {
    DIRECTORIES
        .into_iter()
        .find(|(n, _, _)| *n == name)
        .ok_or(AppError::NotFound("CSAF directory"))
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `<year>/<file>`: where an advisory's document lies in its directory.
fn location(row: &AdvisoryRow) -> String {
    format!("{}/{}", row.published_at.year(), csaf::file_name(&row.reference))
}

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
        cve: row.cve.clone(),
        cwe,
        cvss_v3: vector("cvss_v3"),
        cvss_v4: vector("cvss_v4"),
        products,
        finders,
        // Not held for advisories yet: the 2.1 writer carries them when they are.
        epss: None,
        ssvc: None,
    }
}

impl App {
    /// An advisory as a CSAF 2.0 document, if the reader may read the advisory; `None` is the public.
    pub async fn advisory_csaf(&self, caller: Option<&Caller>, id: uuid::Uuid) -> AppResult<Value> {
        self.advisory_csaf_version(caller, id, csaf::CsafVersion::V2_0)
            .await
    }

    /// The same in the CSAF version asked for (2.1 is Committee Specification Draft 03).
    pub async fn advisory_csaf_version(
        &self,
        caller: Option<&Caller>,
        id: uuid::Uuid,
        version: csaf::CsafVersion,
    ) -> AppResult<Value> {
        let row = self
            .store
            .visible_advisory(id, &policy::tlp_audience(caller))
            .await?
            .ok_or(AppError::NotFound("advisory"))?;
        Ok(csaf::write_version(&advisory_input(self, &row), version))
    }
}

impl App {
    fn csaf_base(&self) -> String {
        format!(
            "{}/.well-known/csaf",
            self.config.public_url.trim_end_matches('/')
        )
    }

    /// `provider-metadata.json`: a trusted provider's, naming the directories and a ROLIE feed per label, and
    /// the public key that signs the documents (none without a master key).
    pub async fn csaf_provider_metadata(&self) -> AppResult<Value> {
        let base = self.csaf_base();
        let feeds: Vec<Value> = DIRECTORIES
            .iter()
            .map(|(name, label, _)| {
                json!({
                    "summary": format!("The TLP:{label} advisories of the Prelaunch clearinghouse."),
                    "tlp_label": label,
                    "url": format!("{base}/{name}/csaf-feed-tlp-{name}.json"),
                })
            })
            .collect();
        let mut metadata = json!({
            "canonical_url": format!("{base}/provider-metadata.json"),
            "distributions": [{"rolie": {"feeds": feeds}}],
            "last_updated": time(self.clock.now()),
            "list_on_CSAF_aggregators": true,
            "metadata_version": "2.0",
            "mirror_on_CSAF_aggregators": true,
            "publisher": {
                "category": "coordinator",
                "name": "Prelaunch clearinghouse",
                "namespace": self.config.public_url.trim_end_matches('/'),
            },
            "role": "csaf_trusted_provider",
        });
        if let (Some(signer), Some(object)) = (self.csaf_signer().await?, metadata.as_object_mut()) {
            object.insert(
                "public_openpgp_keys".into(),
                json!([{
                    "fingerprint": signer.fingerprint,
                    "url": format!("{base}/openpgp/{}.asc", signer.fingerprint),
                }]),
            );
        }
        Ok(metadata)
    }

    /// `openpgp/<fingerprint>.asc`: the provider's armoured public key, public like the metadata.
    pub async fn csaf_public_key(&self, file: &str) -> AppResult<String> {
        let signer = self
            .csaf_signer()
            .await?
            .filter(|s| file.strip_suffix(".asc") == Some(s.fingerprint.as_str()))
            .ok_or(AppError::NotFound("CSAF file"))?;
        Ok(signer.public_key.clone())
    }

    async fn csaf_listed(&self, caller: Option<&Caller>, dir: &str) -> AppResult<Vec<AdvisoryRow>> {
        let (_, _, markings) = directory(dir)?;
        Ok(self
            .store
            .list_advisories_marked(&policy::tlp_audience(caller), markings, MAX_LISTED)
            .await?)
    }

    /// A document, or its hash file, if the reader may read the advisory and it lies at this place.
    pub async fn csaf_file(
        &self,
        caller: Option<&Caller>,
        dir: &str,
        year: &str,
        file: &str,
        what: CsafFile,
    ) -> AppResult<Vec<u8>> {
        let (_, _, markings) = directory(dir)?;
        let stem = file
            .strip_suffix(".json")
            .filter(|s| !s.is_empty() && s.len() <= 64)
            .ok_or(AppError::NotFound("CSAF document"))?;
        let row = self
            .store
            .visible_advisory_by_reference(&stem.to_ascii_uppercase(), &policy::tlp_audience(caller))
            .await?
            .filter(|row| markings.contains(&row.tlp) && location(row) == format!("{year}/{file}"))
            .ok_or(AppError::NotFound("CSAF document"))?;
        let bytes = serde_json::to_vec(&csaf::write(&advisory_input(self, &row)))
            .map_err(|e| AppError::Internal(Box::new(e)))?;
        Ok(match what {
            CsafFile::Document => bytes,
            CsafFile::Sha256 => format!("{}  {file}\n", hex(&Sha256::digest(&bytes))).into_bytes(),
            CsafFile::Sha512 => format!("{}  {file}\n", hex(&Sha512::digest(&bytes))).into_bytes(),
            CsafFile::Signature => {
                // Without a master key there is no key, so no signature: the file does not exist.
                let signer = self
                    .csaf_signer()
                    .await?
                    .ok_or(AppError::NotFound("CSAF document"))?;
                signer
                    .sign(&bytes, row.modified_at.max(row.published_at))?
                    .into_bytes()
            }
        })
    }

    /// `index.txt`: the documents of the directory the reader may read, one `<year>/<file>` a line.
    pub async fn csaf_index(&self, caller: Option<&Caller>, dir: &str) -> AppResult<String> {
        let rows = self.csaf_listed(caller, dir).await?;
        Ok(rows.iter().map(|r| format!("{}\n", location(r))).collect())
    }

    /// `changes.csv`: `"<year>/<file>","<current release date>"`, the latest change first.
    pub async fn csaf_changes(&self, caller: Option<&Caller>, dir: &str) -> AppResult<String> {
        let mut rows = self.csaf_listed(caller, dir).await?;
        rows.sort_by(|a, b| b.modified_at.cmp(&a.modified_at).then(b.id.cmp(&a.id)));
        Ok(rows
            .iter()
            .map(|r| {
                format!(
                    "\"{}\",\"{}\"\n",
                    location(r),
                    time(r.modified_at.max(r.published_at))
                )
            })
            .collect())
    }

    /// The directory's ROLIE feed: an entry per document the reader may read.
    pub async fn csaf_feed(&self, caller: Option<&Caller>, dir: &str) -> AppResult<Value> {
        let (name, label, _) = directory(dir)?;
        let rows = self.csaf_listed(caller, dir).await?;
        let base = self.csaf_base();
        let url = format!("{base}/{name}/csaf-feed-tlp-{name}.json");
        let entries: Vec<Value> = rows
            .iter()
            .map(|r| {
                let href = format!("{base}/{name}/{}", location(r));
                json!({
                    "id": r.reference,
                    "title": r.title,
                    "link": [
                        {"rel": "self", "href": href},
                        {"rel": "hash", "href": format!("{href}.sha256")},
                        {"rel": "hash", "href": format!("{href}.sha512")},
                        {"rel": "signature", "href": format!("{href}.asc")},
                    ],
                    "published": time(r.published_at),
                    "updated": time(r.modified_at.max(r.published_at)),
                    "content": {"type": "application/json", "src": href},
                    "format": {"schema": CSAF_SCHEMA, "version": "2.0"},
                })
            })
            .collect();
        let updated = rows
            .iter()
            .map(|r| r.modified_at.max(r.published_at))
            .max()
            .unwrap_or_else(|| self.clock.now());
        Ok(json!({
            "feed": {
                "id": format!("prelaunch-csaf-feed-tlp-{name}"),
                "title": format!("Prelaunch clearinghouse CSAF feed (TLP:{label})"),
                "link": [{"rel": "self", "href": url}],
                "category": [{"scheme": "urn:ietf:params:rolie:category:information-type", "term": "csaf"}],
                "updated": time(updated),
                "entry": entries,
            }
        }))
    }
}
