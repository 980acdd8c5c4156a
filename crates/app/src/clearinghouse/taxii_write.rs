//! The write side of the TAXII 2.1 server: posting an envelope of STIX 2.1 objects to a collection, reading
//! the status of a post, deleting a posted object.
//!
//! An envelope is checked whole first (`clearinghouse::stix_import`): if any object is not valid STIX as we
//! accept it, nothing is stored and the answer lists every problem. Then each object is taken or refused on
//! its own, and the status resource says which: an object marked more restrictively than the collection, an
//! id that another organisation (or one of our advisories) holds, a version already stored, or a
//! vulnerability or indicator that intake refuses is a failure of that object alone. A `vulnerability` that
//! names its affected products in our property extension (`stix::AFFECTED_EXTENSION`) is filed as a
//! vulnerability report; one that does not is stored as any other object, its status saying it was not
//! filed. An `indicator` with a STIX pattern is filed as a threat report. Filed reports are deduplicated as any report, and the
//! stored object keeps the report's id. The official TLP 2.0 marking definitions are acknowledged and not
//! stored (every client knows them; our objects refer to them). Objects are stored under the collection's
//! marking, with who posted them; TLP admission reads them as it reads any object in no case: the poster, their
//! organisation and coordinators, and whoever the marking admits (anyone for CLEAR, members for GREEN; AMBER
//! and AMBER+STRICT name no client organisations here, RED only the person who posted).
//!
//! A post is all or nothing: the reports it files, the objects it stores, its status resource and its event
//! are written in one store transaction (`TaxiiStore::file_taxii_post`); a failure stores none of them, and a
//! retry files each report once. The reports are checked and prepared as `file_report` prepares one (the same
//! validation, dedup and limits); a report an intake limit refuses is rolled back alone (its savepoint) and
//! fails its object with the limit's detail, the rest of the post going through, as before.

use super::taxii::{Collection, to_millis};
use super::validate::{AffectedInput, NewReport};
use crate::{App, AppError, AppResult, Caller, policy};
use clearinghouse::stix;
use clearinghouse::stix_import::{self, Checked, EnvelopeError};
use clearinghouse::tlp::Tlp;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use store::{StixObjectRow, TaxiiStatusRow};
use uuid::Uuid;

/// One object of a post: its id and version as the status shows them, taken (with a note) or refused (why),
/// the version stored when taken, and the index of the report it is filed as.
struct Entry {
    id: String,
    shown: String,
    outcome: Result<Option<String>, String>,
    row: Option<StixObjectRow>,
    report: Option<usize>,
}

/// The answer to a post: the status resource, or why the envelope was refused whole.
pub type PostOutcome = Result<Value, EnvelopeError>;

/// The status resource of a post, as TAXII shows it.
pub fn status_resource(s: &TaxiiStatusRow) -> AppResult<Value> {
    let parse = |text: &str| -> AppResult<Vec<Value>> {
        serde_json::from_str(text).map_err(|e| AppError::corrupt(format!("taxii status {}: {e}", s.id)))
    };
    let (successes, failures) = (parse(&s.successes)?, parse(&s.failures)?);
    Ok(json!({
        "id": s.id,
        "status": "complete",
        "request_timestamp": stix::timestamp(s.request_timestamp),
        "total_count": s.total_count,
        "success_count": successes.len(),
        "successes": successes,
        "failure_count": failures.len(),
        "failures": failures,
        "pending_count": 0,
        "pendings": [],
    }))
}

pub(crate) fn outcome(id: &str, version: &str, message: Option<String>) -> Value {
    match message {
        Some(message) => json!({"id": id, "version": version, "message": message}),
        None => json!({"id": id, "version": version}),
    }
}

/// What a post answers for the TLP 2.0 marking definitions it carries.
pub(crate) const MARKING_DEFINITION_NOTE: &str =
    "the official TLP 2.0 marking definition; known to every client, not stored";

/// The stored version of an object `caller` posted at `now`, marked `tlp`.
pub(crate) fn posted_row(
    caller: &Caller,
    c: &Checked,
    tlp: Tlp,
    version: String,
    now: chrono::DateTime<chrono::Utc>,
    report_id: Option<Uuid>,
) -> StixObjectRow {
    StixObjectRow {
        id: Uuid::now_v7(),
        tlp,
        stix_id: c.id.clone(),
        stix_type: c.stix_type.clone(),
        spec_version: "2.1".to_owned(),
        version,
        date_added: to_millis(now),
        body: c.object.to_string(),
        added_org: Some(caller.org_id()),
        added_by: Some(caller.user_id()),
        advisory_id: None,
        case_id: None,
        report_id,
    }
}

/// The status resource of a post by `caller` at `now` of `total` objects, complete: each object among the
/// `successes` or the `failures`.
pub(crate) fn post_status(
    caller: &Caller,
    tlp: Tlp,
    now: chrono::DateTime<chrono::Utc>,
    total: usize,
    successes: Vec<Value>,
    failures: Vec<Value>,
) -> TaxiiStatusRow {
    TaxiiStatusRow {
        id: Uuid::now_v7(),
        tlp,
        org_id: caller.org_id(),
        user_id: caller.user_id(),
        request_timestamp: now,
        total_count: i64::try_from(total).unwrap_or(i64::MAX),
        successes: Value::Array(successes).to_string(),
        failures: Value::Array(failures).to_string(),
    }
}

impl App {
    /// The ledger event of a post to a collection: its status and the objects it stored.
    pub(crate) fn taxii_post_event(
        &self,
        caller: &Caller,
        collection: Uuid,
        status: &TaxiiStatusRow,
        stored: Vec<Value>,
    ) -> store::AuditEvent {
        self.event(
            caller.into(),
            "taxii.post",
            "organization",
            Some(caller.org_id()),
            json!({
                "collection": collection, "status_id": status.id, "stored": stored,
                "total_count": status.total_count,
            }),
        )
    }
}

/// The report a vulnerability or an indicator is filed as; `None` for the other types. The one mapping of STIX
/// objects to reports: posted objects and objects pulled from federation peers (`federation::intake`) both
/// go through it.
pub(crate) fn report_of(c: &Checked, tlp: Tlp) -> Result<Option<NewReport>, String> {
    let text = |key: &str| c.object.get(key).and_then(Value::as_str).map(str::to_owned);
    let base = |kind: &str, title, description| NewReport::new(kind, title, description, tlp);
    match c.stix_type.as_str() {
        "vulnerability" => {
            let name = text("name").unwrap_or_default();
            let mut report = base("vulnerability", name.clone(), text("description").unwrap_or(name));
            let affected = c
                .object
                .get("extensions")
                .and_then(|e| e.get(stix::AFFECTED_EXTENSION))
                .and_then(|e| e.get("affected"));
            report.affected = match affected {
                Some(v) => serde_json::from_value::<Vec<AffectedInput>>(v.clone()).map_err(|e| {
                    format!(
                        "extensions.{}.affected: a list of {{purl or cpe, versions}} ({e})",
                        stix::AFFECTED_EXTENSION
                    )
                })?,
                // Most producers name no products in a form intake can match: the object is kept, as any
                // other STIX object, and the status says why it is not a report.
                None => return Ok(None),
            };
            report.cwe = c
                .object
                .get("external_references")
                .and_then(Value::as_array)
                .and_then(|refs| refs.iter().find(|r| r.get("source_name") == Some(&json!("cwe"))))
                .and_then(|r| r.get("external_id"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            Ok(Some(report))
        }
        "indicator" if text("pattern_type").as_deref() == Some("stix") => {
            let pattern = text("pattern").unwrap_or_default();
            let title = text("name").unwrap_or_else(|| format!("Indicator {}", c.id));
            let mut report = base(
                "threat",
                title,
                text("description").unwrap_or_else(|| pattern.clone()),
            );
            report.indicators = vec![pattern];
            Ok(Some(report))
        }
        _ => Ok(None),
    }
}

fn intake_message(e: &AppError) -> String {
    match e {
        AppError::Invalid(v) => format!("not filed as a report: {}: {}", v.field, v.message),
        AppError::Limited { detail, .. } => format!("not filed as a report: {detail}"),
        AppError::Forbidden(why) => format!("not filed as a report: {why}"),
        _ => "not filed as a report: the server failed".to_owned(),
    }
}

impl App {
    /// Posts an envelope to a collection (its body as sent). The caller must be allowed to write to it.
    pub async fn taxii_post(
        &self,
        caller: Option<&Caller>,
        collection: Collection,
        body: &[u8],
    ) -> AppResult<PostOutcome> {
        let Some(caller) = caller else {
            return Err(AppError::Unauthenticated);
        };
        if !policy::can_write_taxii(Some(caller), collection.tlp) {
            return Err(AppError::Forbidden("you may not post to this collection"));
        }
        let checked = match stix_import::check_envelope(body) {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        let now = self.clock.now();
        let ids: Vec<String> = checked
            .iter()
            .map(|c| c.id.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut held: BTreeMap<String, (bool, BTreeSet<String>)> = BTreeMap::new();
        for o in self.store.stix_origins(collection.tlp, &ids).await? {
            let entry = held.entry(o.stix_id).or_insert((false, BTreeSet::new()));
            entry.0 |= o.advisory_id.is_some() || o.added_org != Some(caller.org_id());
            entry.1.insert(o.version);
        }
        // Each object's entry in the status, in order; the reports to file are prepared first and filed with
        // the objects, the status and the event in one store transaction.
        let mut entries = Vec::new();
        let mut prepared = Vec::new();
        let mut seen = BTreeSet::new();
        for c in &checked {
            let version = stix::version_key(c.version);
            let shown = stix::version_text(&version);
            let mut entry = Entry {
                id: c.id.clone(),
                shown: shown.clone(),
                outcome: Ok(None),
                row: None,
                report: None,
            };
            if c.stix_type == "marking-definition" {
                entry.outcome = Ok(Some(MARKING_DEFINITION_NOTE.into()));
                entries.push(entry);
                continue;
            }
            let refusal = if let Some(tlp) = c.tlp
                && tlp > collection.tlp
            {
                Some(format!(
                    "marked {}, more restrictive than this collection's {}",
                    tlp.label(),
                    collection.tlp.label()
                ))
            } else {
                let (foreign, versions) = held.get(&c.id).cloned().unwrap_or_default();
                if foreign {
                    Some("this id belongs to another organisation's object in this collection".into())
                } else if versions.contains(&version) || !seen.insert((c.id.clone(), version.clone())) {
                    Some("this version of the object is already stored".into())
                } else {
                    None
                }
            };
            if let Some(message) = refusal {
                entry.outcome = Err(message);
                entries.push(entry);
                continue;
            }
            let report_id = match report_of(c, collection.tlp) {
                Err(message) => {
                    entry.outcome = Err(message);
                    entries.push(entry);
                    continue;
                }
                Ok(None) if c.stix_type == "vulnerability" => {
                    entry.outcome = Ok(Some(format!(
                        "stored; not filed as a report: it names no affected products (extensions.{}.affected)",
                        stix::AFFECTED_EXTENSION
                    )));
                    None
                }
                Ok(None) => None,
                Ok(Some(report)) => match self.prepare_report(caller, report).await {
                    Ok(p) => {
                        let id = p.intake.report.id;
                        entry.report = Some(prepared.len());
                        prepared.push(p);
                        Some(id)
                    }
                    Err(e) => {
                        if matches!(e, AppError::Internal(_)) {
                            tracing::error!(error = ?e, object = %c.id, "filing a posted STIX object failed");
                        }
                        entry.outcome = Err(intake_message(&e));
                        entries.push(entry);
                        continue;
                    }
                },
            };
            entry.row = Some(posted_row(caller, c, collection.tlp, version, now, report_id));
            entries.push(entry);
        }
        let record = |filed: &[Result<(), store::LimitReached>]| {
            let mut successes = Vec::new();
            let mut failures = Vec::new();
            let mut rows = Vec::new();
            for e in &entries {
                // A report a limit refused fails its object alone, as a refusal by intake does.
                let refused = e.report.and_then(|i| match (filed.get(i), prepared.get(i)) {
                    (Some(Err(store::LimitReached(limit))), Some(p)) => {
                        Some(intake_message(&p.limited(*limit)))
                    }
                    _ => None,
                });
                match (refused, &e.outcome) {
                    (Some(message), _) => failures.push(outcome(&e.id, &e.shown, Some(message))),
                    (None, Err(message)) => failures.push(outcome(&e.id, &e.shown, Some(message.clone()))),
                    (None, Ok(note)) => {
                        rows.extend(e.row.clone());
                        successes.push(outcome(&e.id, &e.shown, note.clone()));
                    }
                }
            }
            let status = post_status(caller, collection.tlp, now, checked.len(), successes, failures);
            let stored = rows
                .iter()
                .map(|r| json!({"id": r.stix_id, "report_id": r.report_id}))
                .collect();
            let event = self.taxii_post_event(caller, collection.id, &status, stored);
            store::TaxiiPost { status, rows, event }
        };
        let batch = super::reports::batch_of(&prepared);
        let refs: Vec<&super::reports::Prepared> = prepared.iter().collect();
        let export = super::stix_export::FiledStix::new(&refs, now);
        let (_, post) = self.store.file_taxii_post(&batch, &export, &record).await?;
        let status = post.status;
        Ok(Ok(status_resource(&status)?))
    }

    /// The status of a post, for the person who posted it; anyone else reads it as absent.
    pub async fn taxii_status(&self, caller: Option<&Caller>, id: &str) -> AppResult<Value> {
        let Some(caller) = caller else {
            return Err(AppError::Unauthenticated);
        };
        let id = Uuid::parse_str(id).map_err(|_| AppError::NotFound("status"))?;
        match self.store.taxii_status(id).await? {
            Some(s) if s.user_id == caller.user_id() => status_resource(&s),
            _ => Err(AppError::NotFound("status")),
        }
    }

    /// Deletes the posted versions of an object (all, or those `match[version]` selects): the organisation
    /// that posted it, or a coordinator. An object the caller may not read is absent (404); one they read but
    /// may not delete, or one derived from our advisories, is 403.
    pub async fn taxii_delete(
        &self,
        caller: Option<&Caller>,
        collection: Collection,
        object: &str,
        versions: Option<&str>,
    ) -> AppResult<u64> {
        let Some(caller) = caller else {
            return Err(AppError::Unauthenticated);
        };
        let filter = super::taxii::TaxiiFilter {
            ids: Some(object.to_owned()),
            versions: Some(versions.unwrap_or("all").to_owned()),
            ..Default::default()
        };
        let page = self
            .taxii_page(Some(caller), collection, &filter, super::taxii::Listing::Manifest)
            .await?;
        if page.items.is_empty() {
            return Err(AppError::NotFound("object"));
        }
        let origins = self
            .store
            .stix_origins(collection.tlp, &[object.to_owned()])
            .await?;
        if origins.iter().any(|o| o.advisory_id.is_some()) {
            return Err(AppError::Forbidden(
                "objects of the clearinghouse's advisories are not deleted over TAXII",
            ));
        }
        let allowed = origins.iter().all(|o| {
            o.added_org
                .is_some_and(|org| policy::can_delete_stix_object(caller, org))
        });
        if !allowed {
            return Err(AppError::Forbidden(
                "only the organisation that posted an object, or a coordinator, deletes it",
            ));
        }
        let matched = super::taxii::version_match_of(versions)?;
        let posted_by = origins.iter().find_map(|o| o.added_org);
        let event = self.event(
            caller.into(),
            "taxii.delete",
            "organization",
            posted_by,
            json!({"collection": collection.id, "id": object, "match_version": versions}),
        );
        Ok(self
            .store
            .delete_stix_object(collection.tlp, object, &matched, &event)
            .await?)
    }
}
