//! Our reports and cases in the TAXII collections (`clearinghouse::stix_reports` builds the objects).
//!
//! Each version of a report or case gets its objects in `stix_objects`. Intake (the queue's groups, imports,
//! TAXII posts) writes those of the reports it files and of their cases inside its own transaction
//! (`FiledStix`), so that they commit together. The other changes (naming clients, a case's moves and
//! publication) write them right after: a failure there is logged, not returned, and the `taxii.backfill` job
//! (and start-up) writes every version still missing, in bounded batches. A report's rows carry its id and no
//! poster, and the read query admits them by the report's own TLP rule; a case's row carries the case and is
//! admitted by the case's rule — its participants, coordinators and creator at once, everyone the marking
//! admits once it is published — exactly as the case itself reads.

use super::taxii::to_millis;
use crate::{App, AppResult, policy};
use chrono::{DateTime, Utc};
use clearinghouse::stix::version_key;
use clearinghouse::stix_reports::{CaseExport, ReportExport, Subject};
use serde_json::Value;
use store::{CaseRow, FinderKind, Report, ReportAffected, ReportKind, ReportScope, StixObjectRow};
use uuid::Uuid;

/// Reports and cases the backfill exports per batch, and the most batches of each one run writes.
const BATCH: i64 = 100;
const MAX_BATCHES: usize = 50;

fn row(
    tlp: clearinghouse::tlp::Tlp,
    object: Value,
    modified: DateTime<Utc>,
    added: DateTime<Utc>,
) -> StixObjectRow {
    let text = |key: &str| {
        object
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    StixObjectRow {
        id: Uuid::now_v7(),
        tlp,
        stix_id: text("id"),
        stix_type: text("type"),
        spec_version: "2.1".to_owned(),
        version: version_key(to_millis(modified)),
        date_added: to_millis(added),
        body: object.to_string(),
        added_org: None,
        added_by: None,
        advisory_id: None,
        case_id: None,
        report_id: None,
    }
}

impl App {
    /// The rows of the current version of a report's objects, read from the store.
    async fn report_rows(&self, r: &Report, added: DateTime<Utc>) -> AppResult<Vec<StixObjectRow>> {
        let affected = self.store.report_affected(r.id).await?;
        let cve = match r.case_id {
            Some(case) => self.store.get_case(case).await?.and_then(|c| c.cve),
            None => None,
        };
        Ok(report_rows_of(r, &affected, cve.as_deref(), added))
    }

    /// The row of the current version of a case's object; none when it carries no report.
    async fn case_rows(&self, id: Uuid, added: DateTime<Utc>) -> AppResult<(Vec<StixObjectRow>, i64)> {
        let Some(case) = self.store.get_case(id).await? else {
            return Ok((Vec::new(), 0));
        };
        let reports = self
            .store
            .case_reports(case.id, ReportScope::Markings(policy::advisory_carries(case.tlp)))
            .await?;
        let rows = case_rows_of(&case, reports.iter().map(|r| r.id).collect(), added);
        Ok((rows, case.version))
    }

    async fn export_case(&self, id: Uuid) -> AppResult<()> {
        let (rows, version) = self.case_rows(id, self.clock.now()).await?;
        self.store.add_stix_export(&[(rows.as_slice(), version)]).await?;
        Ok(())
    }

    /// Writes the current version of a report's objects and of its case's object (called right after a
    /// change). A failure is logged; the backfill writes what is missing.
    pub(crate) async fn record_report_stix(&self, report: Uuid) {
        let result = async {
            if let Some(r) = self.store.report_for_stix(report).await? {
                let rows = self.report_rows(&r, self.clock.now()).await?;
                self.store_report_stix(&r, rows).await?;
            }
            AppResult::Ok(())
        }
        .await;
        if let Err(e) = result {
            tracing::error!(error = ?e, %report, "storing a report's STIX objects failed");
        }
    }

    /// A report's rows and its case's, in one write.
    async fn store_report_stix(&self, r: &Report, rows: Vec<StixObjectRow>) -> AppResult<()> {
        let (case_rows, case_version) = match r.case_id {
            Some(case) => self.case_rows(case, self.clock.now()).await?,
            None => (Vec::new(), 0),
        };
        self.store
            .add_stix_export(&[(rows.as_slice(), r.version), (case_rows.as_slice(), case_version)])
            .await?;
        Ok(())
    }

    /// Writes the current version of a case's object (called right after a change); failures as above.
    pub(crate) async fn record_case_stix(&self, case: Uuid) {
        if let Err(e) = self.export_case(case).await {
            tracing::error!(error = ?e, %case, "storing a case's STIX object failed");
        }
    }

    /// Writes the objects of every report and case version that has none, in batches of `BATCH`, at most
    /// `MAX_BATCHES` of each per run (the next run goes on). Returns how many rows were written.
    pub async fn backfill_report_stix(&self) -> AppResult<u64> {
        let mut written = 0;
        let mut after = None;
        for _ in 0..MAX_BATCHES {
            let reports = self.store.reports_without_stix(after, BATCH).await?;
            for r in &reports {
                let rows = self.report_rows(r, self.clock.now()).await?;
                written += self
                    .store
                    .add_stix_export(&[(rows.as_slice(), r.version)])
                    .await?;
            }
            after = reports.last().map(|r| r.id);
            if (reports.len() as i64) < BATCH {
                break;
            }
        }
        let mut after = None;
        for _ in 0..MAX_BATCHES {
            let cases = self.store.cases_without_stix(after, BATCH).await?;
            for case in &cases {
                let (rows, version) = self.case_rows(*case, self.clock.now()).await?;
                written += self.store.add_stix_export(&[(rows.as_slice(), version)]).await?;
            }
            after = cases.last().copied();
            if (cases.len() as i64) < BATCH {
                break;
            }
        }
        Ok(written)
    }
}

/// The objects of reports filed together and of their cases, made inside the filing transaction
/// (`store::FiledExport`) from what intake holds: each report as filed, its products and its case's CVE id;
/// each case as that transaction reads it. The objects are written with the reports, in the same commit.
pub(super) struct FiledStix<'a> {
    prepared: &'a [&'a super::reports::Prepared],
    added: DateTime<Utc>,
}

impl<'a> FiledStix<'a> {
    pub(super) fn new(prepared: &'a [&'a super::reports::Prepared], added: DateTime<Utc>) -> Self {
        FiledStix { prepared, added }
    }
}

impl store::FiledExport for FiledStix<'_> {
    fn report_rows(&self, at: usize, filed: &store::Filed) -> Vec<StixObjectRow> {
        let Some(p) = self.prepared.get(at) else {
            return Vec::new();
        };
        let report = Report {
            case_id: filed.case_id,
            case_reference: filed.case_reference.clone(),
            duplicate_of: filed.duplicate_of,
            ..p.intake.report.clone()
        };
        report_rows_of(&report, &p.intake.affected, filed.case_cve.as_deref(), self.added)
    }

    fn carried(&self, case: clearinghouse::tlp::Tlp) -> &'static [clearinghouse::tlp::Tlp] {
        policy::advisory_carries(case)
    }

    fn case_rows(&self, case: &CaseRow, reports: Vec<Uuid>) -> Vec<StixObjectRow> {
        case_rows_of(case, reports, self.added)
    }
}

/// The row of a case's object listing these reports; none when it lists none.
fn case_rows_of(case: &CaseRow, reports: Vec<Uuid>, added: DateTime<Utc>) -> Vec<StixObjectRow> {
    let export = CaseExport {
        id: case.id,
        reference: &case.reference,
        title: &case.title,
        summary: Some(case.summary.as_str()),
        tlp: case.tlp,
        cve: case.cve.as_deref(),
        reports,
        created: case.created_at,
        modified: case.modified_at,
        published: case.published_at,
    };
    export
        .object()
        .map(|o| StixObjectRow {
            case_id: Some(case.id),
            ..row(case.tlp, o, case.modified_at.max(case.created_at), added)
        })
        .into_iter()
        .collect()
}

/// The rows of a report's objects, from the report as stored, its products and its case's CVE id.
fn report_rows_of(
    r: &Report,
    affected: &[ReportAffected],
    cve: Option<&str>,
    added: DateTime<Utc>,
) -> Vec<StixObjectRow> {
    let subject = match (r.kind, &r.threat) {
        (ReportKind::Threat, Some(threat)) => Subject::Threat(&threat.0),
        _ => Subject::Vulnerability {
            cwe: r.cwe.map(|c| format!("CWE-{c}")),
            cves: cve.into_iter().collect(),
            cvss_v3: r.cvss_v3.as_deref().zip(r.cvss_v3_score),
            cvss_v4: r.cvss_v4.as_deref().zip(r.cvss_v4_score),
            affected: affected
                .iter()
                .map(|a| (a.product.as_str(), a.versions.as_str()))
                .collect(),
        },
    };
    let export = ReportExport {
        id: r.id,
        title: &r.title,
        description: &r.description,
        tlp: r.tlp,
        subject,
        // A person's name is theirs: only an organisation that found it is an identity.
        finder_org: (r.finder_kind == FinderKind::Organization).then_some(r.finder_name.as_str()),
        created: r.created_at,
        modified: r.modified_at,
    };
    export
        .objects()
        .into_iter()
        .map(|o| StixObjectRow {
            report_id: Some(r.id),
            ..row(r.tlp, o, r.modified_at.max(r.created_at), added)
        })
        .collect()
}
