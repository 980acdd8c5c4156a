//! Reports: filing (API and forwarded findings), with validation of every field, duplicate detection and the
//! intake limits in the store's one transaction; reading them under TLP.

use super::validate::{
    FinderInput, ForwardFinding, MAX_DESCRIPTION_CHARS, MAX_FINDER_NAME_CHARS, MAX_TITLE_CHARS, NewReport,
    Validated, parse_tlp,
};
use crate::page::{
    ListParams, PageRequest, Paged, paginate, parse_sorted_key, parse_text_id_key, sorted_key, text_id_key,
};
use crate::{App, AppError, AppResult, Caller, policy};
use chrono::{DateTime, Datelike, Duration, Timelike, Utc};
use clearinghouse::cvss::{Score, Severity};
use clearinghouse::dedup::{self, BAND_BUCKET_LIMIT, DedupInput, Fingerprint, Thresholds};
use clearinghouse::product::{Affected, ProductId};
use clearinghouse::tlp::Tlp;
use serde::Serialize;
use serde_json::{Value, json};
use store::{
    Candidate, CandidateSearch, Decision, Intake, NewCase, OptionalSeverity, Report, ReportAffected,
    ReportKind, ReportList, ReportOrigin, ReportSort,
};
use uuid::Uuid;

/// Candidates compared per intake, at most (the newest sharing a key).
pub const MAX_CANDIDATES: i64 = dedup::KEY_BUCKET_LIMIT as i64;

/// The orders a report list offers, the default (newest first) first.
pub const REPORT_SORTS: [(&str, ReportSort); 3] = [
    ("-created", ReportSort::CreatedDesc),
    ("created", ReportSort::Created),
    ("title", ReportSort::Title),
];
/// Candidates listed per report, at most.
const MAX_LISTED: usize = 20;

#[derive(Debug, Clone, Serialize)]
pub struct Scores {
    pub cvss_v3: Option<Score>,
    pub cvss_v4: Option<Score>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DuplicateView {
    pub report_id: Uuid,
    pub case_id: Option<Uuid>,
    pub score: f64,
}

/// Duplicate suggestions a person may ask for per hour (as they type a report).
pub const SUGGESTIONS_PER_HOUR: i64 = 600;

/// A stored report that a report being written may repeat, as its writer may see it.
#[derive(Debug, Clone, Serialize)]
pub struct SuggestionView {
    pub report_id: Uuid,
    /// The report's case, when the caller may read the case.
    pub case_id: Option<Uuid>,
    pub case_reference: Option<String>,
    pub score: f64,
    pub title: String,
}

/// The answer to a duplicate search: the candidates the caller may read, best first.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Suggestions {
    pub duplicates: Vec<SuggestionView>,
}

/// The answer to filing.
#[derive(Debug, Clone, Serialize)]
pub struct FiledView {
    pub id: Uuid,
    pub kind: &'static str,
    pub tlp: Tlp,
    pub case_id: Option<Uuid>,
    pub case_reference: Option<String>,
    /// Whether the report joined the case of a duplicate (rather than opening one).
    pub joined: bool,
    pub duplicate_of: Option<Uuid>,
    pub scores: Scores,
    /// Candidate duplicates the reporter may read, best first.
    pub duplicates: Vec<DuplicateView>,
    pub created_at: DateTime<Utc>,
    /// How long duplicate detection took (the candidate search and scoring, in the store's transaction):
    /// not part of the answer's body, sent as `Server-Timing: dedup;dur=…`.
    #[serde(skip)]
    pub dedup_time: std::time::Duration,
}

#[derive(Debug, Clone, Serialize)]
pub struct FinderView {
    pub kind: &'static str,
    pub name: String,
    pub notice_id: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AffectedView {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpe: Option<String>,
    pub versions: String,
}

/// A report as a reader sees it.
#[derive(Debug, Clone, Serialize)]
pub struct ReportView {
    pub id: Uuid,
    pub kind: &'static str,
    pub case_id: Option<Uuid>,
    pub case_reference: Option<String>,
    pub title: String,
    pub description: String,
    pub tlp: Tlp,
    pub tlp_label: &'static str,
    pub org_id: Uuid,
    pub reporter_id: Uuid,
    pub finder: FinderView,
    pub ai_found: bool,
    pub affected: Vec<AffectedView>,
    pub cwe: Option<String>,
    pub scores: Scores,
    pub severity: Option<Severity>,
    pub location: Option<String>,
    pub crash_signature: Option<String>,
    pub threat_model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threat: Option<Value>,
    /// TLP:RED: the people it is shared with by name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub people: Vec<Uuid>,
    /// Whether the report was found to repeat another (joined automatically or merged by a coordinator).
    pub duplicate: bool,
    /// The report it repeats, when the reader may read that one.
    pub duplicate_of: Option<Uuid>,
    pub duplicate_score: Option<f64>,
    pub finding_id: Option<Uuid>,
    /// An imported report: the format, the document's id and version, and the CVE id it names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<ReportOrigin>,
    pub created_at: DateTime<Utc>,
    pub modified_at: DateTime<Utc>,
    pub version: i64,
}

impl App {
    pub async fn file_report(&self, caller: &Caller, input: NewReport) -> AppResult<FiledView> {
        let report = self.checked_report(caller, &input).await?;
        self.intake(caller, report, None).await
    }

    /// A report the caller may file, validated.
    async fn checked_report(&self, caller: &Caller, input: &NewReport) -> AppResult<Validated> {
        if !policy::can_file_report(caller) {
            return Err(AppError::Forbidden("you may not file reports"));
        }
        self.validate_report(caller, input).await
    }

    /// A report checked as `file_report` checks it and ready for the store, for a write that files it with
    /// others in one transaction (a TAXII post); `filed` then finishes each one the store filed.
    pub(super) async fn prepare_report(&self, caller: &Caller, input: NewReport) -> AppResult<Prepared> {
        let v = self.checked_report(caller, &input).await?;
        let mut p = self.prepare_intake(caller, v, None, None).await?;
        p.settle(&self.intake_settings().await?);
        Ok(p)
    }

    /// Files a validated report: fingerprint, limits, and the store's transaction, with the other reports
    /// arriving meanwhile (`intake_queue`); the answer's duplicates are those the reporter may read.
    pub(crate) async fn intake(
        &self,
        caller: &Caller,
        v: Validated,
        finding: Option<Uuid>,
    ) -> AppResult<FiledView> {
        let prepared = self.prepare_intake(caller, v, finding, None).await?;
        let (prepared, filed) = self.file_queued(prepared).await?;
        match filed {
            Ok(filed) => self.filed_view(caller, &prepared, filed).await,
            Err(store::LimitReached(i)) => Err(prepared.limited(i)),
        }
    }

    /// Files several validated reports in one store transaction: all of them, or none when a limit refuses
    /// one (each is deduplicated against the stored reports and those before it).
    pub(crate) async fn intake_all(
        &self,
        caller: &Caller,
        reports: Vec<(Validated, Option<ReportOrigin>)>,
    ) -> AppResult<Vec<FiledView>> {
        let settings = self.intake_settings().await?;
        let mut prepared = Vec::with_capacity(reports.len());
        for (v, origin) in reports {
            let mut p = self.prepare_intake(caller, v, None, origin).await?;
            p.settle(&settings);
            prepared.push(p);
        }
        let batch = batch_of(&prepared);
        let refs: Vec<&Prepared> = prepared.iter().collect();
        let export = super::stix_export::FiledStix::new(&refs, self.clock.now());
        let filed = match self.store.file_reports(&batch, &export).await? {
            Ok(filed) => filed,
            Err((i, store::LimitReached(limit))) => {
                let p = prepared
                    .get(i)
                    .ok_or_else(|| AppError::corrupt("intake refused a report it was not given"))?;
                return Err(p.limited(limit));
            }
        };
        let mut views = Vec::with_capacity(filed.len());
        for (p, f) in prepared.iter().zip(filed) {
            views.push(self.filed_view(caller, p, f).await?);
        }
        Ok(views)
    }

    /// Everything intake writes for one validated report, and what deciding on its candidates takes.
    async fn prepare_intake(
        &self,
        caller: &Caller,
        v: Validated,
        finding: Option<Uuid>,
        origin: Option<ReportOrigin>,
    ) -> AppResult<Prepared> {
        let now = self.clock.now();
        let id = Uuid::now_v7();
        let fingerprint = fingerprint_of(&v);
        let severity = [&v.cvss_v3, &v.cvss_v4]
            .into_iter()
            .flatten()
            .map(|s| s.base_severity)
            .max();
        let report = Report {
            id,
            kind: v.kind,
            case_id: None,
            case_reference: None,
            title: v.title.clone(),
            description: v.description,
            tlp: v.tlp,
            org_id: caller.org_id(),
            reporter_id: caller.user_id(),
            finder_kind: v.finder.0,
            finder_name: v.finder.1,
            finder_notice_id: v.finder.2,
            ai_found: v.ai_found,
            cwe: v.cwe.and_then(|c| i32::try_from(c).ok()),
            cvss_v3: v.cvss_v3.as_ref().map(|s| s.vector.clone()),
            cvss_v3_score: v.cvss_v3.as_ref().map(|s| s.base_score),
            cvss_v4: v.cvss_v4.as_ref().map(|s| s.vector.clone()),
            cvss_v4_score: v.cvss_v4.as_ref().map(|s| s.base_score),
            severity: OptionalSeverity(severity),
            location: v.location,
            crash_signature: v.crash_signature,
            threat_model: v.threat_model,
            threat: v.threat.map(store::Json),
            duplicate_of: None,
            duplicate_score: None,
            finding_id: finding,
            created_at: now,
            modified_at: now,
            version: 1,
        };
        let affected = v
            .affected
            .iter()
            .enumerate()
            .map(|(i, a)| ReportAffected {
                report_id: id,
                idx: i32::try_from(i).unwrap_or(i32::MAX),
                product: a.product.to_string(),
                product_key: a.product.key(),
                versions: a.versions.to_string(),
            })
            .collect();
        let (action, mut details) = match finding {
            Some(finding) => (
                "report.forward",
                json!({"kind": v.kind.as_str(), "tlp": v.tlp.as_str(), "finding": finding}),
            ),
            None => (
                "report.file",
                json!({"kind": v.kind.as_str(), "tlp": v.tlp.as_str()}),
            ),
        };
        if let (Some(o), Some(map)) = (&origin, details.as_object_mut()) {
            map.insert(
                "origin".into(),
                json!({"format": o.format, "document_id": o.document_id, "version": o.version}),
            );
        }
        let event = self.event(caller.into(), action, "report", Some(id), details);
        let open_event = self.event(caller.into(), "case.open", "case", None, json!({"report": id}));
        let join_event = self.event(caller.into(), "case.join", "case", None, json!({"report": id}));
        let intake = Intake {
            report,
            affected,
            people: v.people,
            fingerprint: fingerprint
                .as_ref()
                .map(|f| (f.to_bytes(), f.exact_keys.clone(), f.bands.clone())),
            band_limit: i64::try_from(BAND_BUCKET_LIMIT).unwrap_or(32),
            candidate_limit: MAX_CANDIDATES,
            new_case: (v.kind == ReportKind::Vulnerability).then(|| NewCase {
                id: Uuid::now_v7(),
                year: now.year(),
                title: v.title,
                sectors: v.sectors,
            }),
            // Set by `Prepared::settle` from the settings in force when the report is filed.
            limits: Vec::new(),
            event,
            open_event,
            join_event,
            origin,
        };
        Ok(Prepared {
            intake,
            fingerprint,
            affected: v.affected,
            thresholds: Thresholds::default(),
            limits: Vec::new(),
            now,
            scores: Scores {
                cvss_v3: v.cvss_v3,
                cvss_v4: v.cvss_v4,
            },
        })
    }

    /// The answer to filing (its STIX objects written): the duplicates listed are those the reporter may read.
    async fn filed_view(&self, caller: &Caller, p: &Prepared, filed: store::Filed) -> AppResult<FiledView> {
        let ids: Vec<Uuid> = filed.candidates.iter().map(|(id, _, _)| *id).collect();
        let readable = self
            .store
            .readable_report_ids(&ids, &policy::tlp_audience(Some(caller)))
            .await?;
        let r = &p.intake.report;
        Ok(FiledView {
            id: r.id,
            kind: r.kind.as_str(),
            tlp: r.tlp,
            case_id: filed.case_id,
            case_reference: filed.case_reference,
            joined: filed.joined,
            duplicate_of: filed.duplicate_of.filter(|d| readable.contains(d)),
            scores: p.scores.clone(),
            duplicates: filed
                .candidates
                .into_iter()
                .filter(|(id, _, _)| readable.contains(id))
                .map(|(report_id, case_id, score)| DuplicateView {
                    report_id,
                    case_id,
                    score,
                })
                .collect(),
            created_at: p.now,
            dedup_time: filed.dedup,
        })
    }

    /// The duplicate thresholds in force.
    async fn thresholds(&self) -> AppResult<Thresholds> {
        Ok(thresholds_of(&self.intake_policy().await?))
    }

    /// The duplicates intake would list for this report, without storing anything: the same validation,
    /// fingerprint, candidate search and scores as filing, then only the candidates the caller may read (each
    /// through the TLP read of a report), best first. Counted against the caller's hourly allowance of
    /// suggestions (`SUGGESTIONS_PER_HOUR`), not against the intake limits.
    pub async fn suggest_duplicates(&self, caller: &Caller, input: NewReport) -> AppResult<Suggestions> {
        if !policy::can_file_report(caller) {
            return Err(AppError::Forbidden("you may not file reports"));
        }
        let v = self.validate_report(caller, &input).await?;
        let now = self.clock.now();
        let hour = hour_start(now);
        let allowance = store::IntakeLimit {
            scope: format!("suggest:{}", caller.user_id()),
            window_start: hour,
            max: SUGGESTIONS_PER_HOUR,
        };
        if !self.store.take_intake_count(&allowance).await? {
            let next = hour + Duration::hours(1);
            return Err(AppError::Limited {
                retry_after: (next - now).num_seconds().max(1),
                detail: format!(
                    "you have asked for the {SUGGESTIONS_PER_HOUR} duplicate suggestions you may ask for per \
                     hour; retry after {}",
                    next.format("%Y-%m-%dT%H:%M:%SZ")
                ),
            });
        }
        let Some(fingerprint) = fingerprint_of(&v) else {
            return Ok(Suggestions::default());
        };
        let found = self
            .store
            .dedup_candidates(&CandidateSearch {
                keys: &fingerprint.exact_keys,
                bands: &fingerprint.bands,
                band_limit: i64::try_from(BAND_BUCKET_LIMIT).unwrap_or(32),
                candidate_limit: MAX_CANDIDATES,
            })
            .await?;
        let ranked = rank(&fingerprint, &v.affected, &found, self.thresholds().await?);
        let reader = policy::tlp_audience(Some(caller));
        let mut duplicates = Vec::new();
        for (id, score) in ranked.into_iter().take(MAX_LISTED) {
            let Some(report) = self.store.readable_report(id, &reader).await? else {
                continue;
            };
            let case_id = match report.case_id {
                Some(case) => self.store.visible_case(case, &reader).await?.map(|c| c.id),
                None => None,
            };
            duplicates.push(SuggestionView {
                report_id: report.id,
                case_id,
                case_reference: case_id.and(report.case_reference),
                score,
                title: report.title,
            });
        }
        Ok(Suggestions { duplicates })
    }

    /// A report the caller (or the public, `None`) may read; 404 otherwise.
    pub async fn get_report(&self, caller: Option<&Caller>, id: Uuid) -> AppResult<ReportView> {
        let reader = policy::tlp_audience(caller);
        let report = self
            .store
            .readable_report(id, &reader)
            .await?
            .ok_or(AppError::NotFound("report"))?;
        self.report_view(report, &reader).await
    }

    /// The reports the caller may read (`mine`: those they filed): `q` searches the titles, `sort` is one of
    /// `REPORT_SORTS` (the first, newest first, when absent).
    pub async fn list_reports(
        &self,
        caller: Option<&Caller>,
        mine: bool,
        tlp: Option<&str>,
        list: &ListParams,
        page: &PageRequest,
    ) -> AppResult<Paged<ReportView>> {
        let tlp = tlp.map(|t| parse_tlp("tlp", t)).transpose()?;
        let reader = policy::tlp_audience(caller);
        let search = crate::page::search(list.q.as_deref())?;
        let sort = crate::page::sort(list.sort.as_deref(), &REPORT_SORTS)?;
        let limit = page.limit()?;
        let mut fetch = ReportList {
            search,
            sort,
            limit: limit + 1,
            ..ReportList::default()
        };
        match sort {
            // The default's cursor is the id alone, as before sorting was offered.
            ReportSort::CreatedDesc => fetch.after = page.after(|k| k.parse::<Uuid>().ok())?,
            ReportSort::Created => {
                fetch.after = page.after(|k| parse_sorted_key("created", k)?.parse::<Uuid>().ok())?;
            }
            ReportSort::Title => {
                if let Some((title, id)) = page.after(|k| parse_text_id_key(parse_sorted_key("title", k)?))? {
                    fetch.after_title = Some(title);
                    fetch.after = Some(id);
                }
            }
        }
        let rows = self
            .store
            .list_readable_reports(&reader, mine && caller.is_some(), tlp, &fetch)
            .await?;
        let key = |r: &Report| match sort {
            ReportSort::CreatedDesc => r.id.to_string(),
            ReportSort::Created => sorted_key("created", &r.id.to_string()),
            ReportSort::Title => sorted_key("title", &text_id_key(&r.title, r.id)),
        };
        let paged = paginate(rows, limit, key, |r| r);
        let mut items = Vec::with_capacity(paged.items.len());
        for report in paged.items {
            items.push(self.report_view(report, &reader).await?);
        }
        Ok(Paged {
            items,
            next_cursor: paged.next_cursor,
        })
    }

    pub(crate) async fn report_view(&self, r: Report, reader: &store::TlpAudience) -> AppResult<ReportView> {
        let duplicate_of = match r.duplicate_of {
            Some(of) => self
                .store
                .readable_report_ids(&[of], reader)
                .await?
                .first()
                .copied(),
            None => None,
        };
        let affected = self
            .store
            .report_affected(r.id)
            .await?
            .into_iter()
            .map(|a| {
                let purl = a.product.starts_with("pkg:");
                AffectedView {
                    purl: purl.then(|| a.product.clone()),
                    cpe: (!purl).then_some(a.product),
                    versions: a.versions,
                }
            })
            .collect();
        let people = if r.tlp == Tlp::Red {
            self.store.report_people(r.id).await?
        } else {
            Vec::new()
        };
        let origin = self.store.report_origin(r.id).await?;
        let rescore = |vector: &Option<String>| -> AppResult<Option<Score>> {
            vector
                .as_deref()
                .map(|v| {
                    clearinghouse::cvss::score(v)
                        .map_err(|e| AppError::corrupt(format!("a stored CVSS vector does not score: {e}")))
                })
                .transpose()
        };
        Ok(ReportView {
            id: r.id,
            kind: r.kind.as_str(),
            case_id: r.case_id,
            case_reference: r.case_reference,
            title: r.title,
            description: r.description,
            tlp: r.tlp,
            tlp_label: r.tlp.label(),
            org_id: r.org_id,
            reporter_id: r.reporter_id,
            finder: FinderView {
                kind: r.finder_kind.as_str(),
                name: r.finder_name,
                notice_id: r.finder_notice_id,
            },
            ai_found: r.ai_found,
            affected,
            cwe: r.cwe.map(|c| format!("CWE-{c}")),
            scores: Scores {
                cvss_v3: rescore(&r.cvss_v3)?,
                cvss_v4: rescore(&r.cvss_v4)?,
            },
            severity: r.severity.0,
            location: r.location,
            crash_signature: r.crash_signature,
            threat_model: r.threat_model,
            threat: r.threat.map(|t| t.0),
            people,
            duplicate: r.duplicate_of.is_some(),
            duplicate_of,
            duplicate_score: r.duplicate_score,
            finding_id: r.finding_id,
            origin,
            created_at: r.created_at,
            modified_at: r.modified_at,
            version: r.version,
        })
    }

    /// Forwards a review finding as a vulnerability report in one step: the finder is the model under the
    /// finding's notice, found by AI; the finding keeps the link.
    pub async fn forward_finding(
        &self,
        caller: &Caller,
        finding_id: Uuid,
        input: ForwardFinding,
    ) -> AppResult<FiledView> {
        let finding = self
            .store
            .visible_finding(finding_id, &policy::audience(caller))
            .await?
            .ok_or(AppError::NotFound("finding"))?;
        if !policy::can_forward_finding(caller, finding.org_id) {
            return Err(AppError::Forbidden(
                "only the agency that wrote a finding forwards it as a report",
            ));
        }
        if let Some(existing) = self.store.report_of_finding(finding_id).await? {
            return Err(AppError::Conflict(format!(
                "the finding was already forwarded as report {existing}"
            )));
        }
        let notice = self
            .store
            .get_notice(finding.notice_id)
            .await?
            .ok_or_else(|| AppError::corrupt("a finding's notice is missing"))?;
        let truncate = |text: &str, max: usize| text.chars().take(max).collect::<String>();
        let report = NewReport {
            kind: "vulnerability".into(),
            title: truncate(&finding.title, MAX_TITLE_CHARS),
            description: truncate(&finding.description, MAX_DESCRIPTION_CHARS),
            tlp: input.tlp,
            affected: input.affected,
            cwe: input.cwe,
            cvss_v3: input.cvss_v3,
            cvss_v4: input.cvss_v4,
            finder: Some(FinderInput {
                kind: "model".into(),
                name: truncate(
                    &format!("{} {}", notice.model_name, notice.model_version),
                    MAX_FINDER_NAME_CHARS,
                ),
                notice_id: Some(notice.id),
            }),
            ai_found: true,
            location: input.location,
            crash_signature: input.crash_signature,
            threat_model: input.threat_model,
            sectors: input.sectors,
            people: input.people,
            indicators: Vec::new(),
            attack_patterns: Vec::new(),
            misuse: None,
        };
        let validated = self.validate_report(caller, &report).await?;
        self.intake(caller, validated, Some(finding_id))
            .await
            .map_err(|e| match e {
                AppError::Conflict(_) => AppError::Conflict("the finding was already forwarded".into()),
                other => other,
            })
    }

    /// Of these findings, those forwarded as reports the caller may read: (finding, report). Two queries.
    pub async fn reports_of_findings(
        &self,
        caller: &Caller,
        findings: &[Uuid],
    ) -> AppResult<Vec<(Uuid, Uuid)>> {
        let pairs = self.store.reports_of_findings(findings).await?;
        let ids: Vec<Uuid> = pairs.iter().map(|(_, report)| *report).collect();
        let readable = self
            .store
            .readable_report_ids(&ids, &policy::tlp_audience(Some(caller)))
            .await?;
        Ok(pairs.into_iter().filter(|(_, r)| readable.contains(r)).collect())
    }

    /// The report forwarded from a finding, when the caller may read it.
    pub async fn report_of_finding(&self, caller: &Caller, finding_id: Uuid) -> AppResult<Option<Uuid>> {
        let Some(id) = self.store.report_of_finding(finding_id).await? else {
            return Ok(None);
        };
        let readable = self
            .store
            .readable_report_ids(&[id], &policy::tlp_audience(Some(caller)))
            .await?;
        Ok(readable.first().copied())
    }
}

/// One report ready for the store, with what deciding on its candidates and answering take.
pub(super) struct Prepared {
    pub(super) intake: Intake,
    fingerprint: Option<Fingerprint>,
    affected: Vec<Affected>,
    thresholds: Thresholds,
    limits: Vec<super::intake::Limit>,
    now: DateTime<Utc>,
    scores: Scores,
}

impl store::Decider for Prepared {
    fn rank(&self, candidates: &[Candidate]) -> Vec<(Uuid, f64)> {
        match &self.fingerprint {
            Some(f) => rank(f, &self.affected, candidates, self.thresholds),
            None => Vec::new(),
        }
    }

    fn choose(&self, ranked: &[(Uuid, Option<Uuid>, f64)]) -> Decision {
        choose(ranked, self.thresholds)
    }
}

/// Prepared reports as the store files them: each one's rows and decision rule.
pub(super) fn batch_of<'a>(
    prepared: impl IntoIterator<Item = &'a Prepared>,
) -> Vec<(&'a Intake, &'a store::Decide<'a>)> {
    prepared
        .into_iter()
        .map(|p| (&p.intake, p as &store::Decide<'a>))
        .collect()
}

impl Prepared {
    /// Applies the intake settings (read once for a group of reports): the duplicate thresholds, and the
    /// counters the report is checked against.
    pub(super) fn settle(&mut self, settings: &super::intake::IntakeSettings) {
        self.thresholds = thresholds_of(&settings.policy);
        let products: Vec<ProductId> = self.affected.iter().map(|a| a.product.clone()).collect();
        self.limits = settings.limits(self.intake.report.org_id, &products, self.now);
        self.intake.limits = self.limits.iter().map(|l| l.counter.clone()).collect();
    }

    /// The answer when the limit at this index refused the report.
    pub(super) fn limited(&self, i: usize) -> AppError {
        match self.limits.get(i) {
            Some(limit) => AppError::Limited {
                retry_after: super::intake::retry_after(limit.counter.window_start, self.now),
                detail: limit.detail.clone(),
            },
            None => AppError::corrupt("intake refused by a limit it was not given"),
        }
    }
}

/// A vulnerability report's fingerprint (threat reports have none).
fn thresholds_of(policy: &crate::clearinghouse::IntakePolicy) -> Thresholds {
    Thresholds {
        join: policy.dedup_join_threshold,
        suggest: policy.dedup_suggest_threshold,
    }
}

fn fingerprint_of(v: &Validated) -> Option<Fingerprint> {
    (v.kind == ReportKind::Vulnerability).then(|| {
        dedup::fingerprint(&DedupInput {
            title: &v.title,
            description: &v.description,
            affected: &v.affected,
            cwe: v.cwe,
            location: v.location.as_deref(),
            signature: v.crash_signature.as_deref(),
        })
    })
}

/// The start of the UTC hour holding `now`: the window of the suggestion allowance.
fn hour_start(now: DateTime<Utc>) -> DateTime<Utc> {
    now.date_naive()
        .and_hms_opt(now.hour(), 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or(now)
}

/// Scores the candidates against the new report: those at or above `suggest`, best first (among equals the
/// oldest, the report the others repeat).
fn rank(
    new: &Fingerprint,
    affected: &[Affected],
    candidates: &[Candidate],
    t: Thresholds,
) -> Vec<(Uuid, f64)> {
    let mut scored: Vec<(Uuid, f64)> = candidates
        .iter()
        .filter_map(|c| {
            let stored = Fingerprint::from_bytes(&c.fingerprint)?;
            let stored_affected: Vec<Affected> = c
                .affected
                .iter()
                .filter_map(|a| Affected::parse(&a.product, &a.versions).ok())
                .collect();
            Some((
                c.report_id,
                dedup::similarity(new, affected, &stored, &stored_affected),
            ))
        })
        .filter(|(_, score)| *score >= t.suggest)
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    scored
}

/// From the ranked candidates with their cases: the best at or above `join` that is in a case is joined, the
/// first `MAX_LISTED` are listed.
fn choose(ranked: &[(Uuid, Option<Uuid>, f64)], t: Thresholds) -> Decision {
    Decision {
        join: ranked
            .iter()
            .find(|(_, case, score)| case.is_some() && *score >= t.join)
            .map(|(id, _, score)| (*id, *score)),
        suggest: ranked
            .iter()
            .take(MAX_LISTED)
            .map(|(id, _, score)| (*id, *score))
            .collect(),
    }
}
