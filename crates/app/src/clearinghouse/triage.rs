//! The coordinators' triage: cases in state `new` with their reports and the candidates intake stored, and
//! merging and splitting cases. Every finder of a merged case stays credited on their own report
//! (`duplicate_of` says of which report theirs was a duplicate).

use super::reports::ReportView;
use crate::page::{PageRequest, Paged, paginate};
use crate::{App, AppError, AppResult, Caller, policy};
use chrono::{DateTime, Datelike, Utc};
use clearinghouse::tlp::Tlp;
use review::ValidationError;
use serde::Serialize;
use serde_json::json;
use store::{NewCase, Page, TriageCase};
use uuid::Uuid;

/// At most this many reports move to a new case in one split.
pub const MAX_SPLIT: usize = 100;

#[derive(Debug, Clone, Serialize)]
pub struct CandidateView {
    pub report_id: Uuid,
    pub case_id: Option<Uuid>,
    pub score: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TriageReport {
    #[serde(flatten)]
    pub report: ReportView,
    /// The stored reports intake found similar (those the coordinator may read), best first.
    pub candidates: Vec<CandidateView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TriageCaseView {
    pub id: Uuid,
    pub reference: String,
    pub title: String,
    pub state: &'static str,
    pub tlp: Tlp,
    pub created_at: DateTime<Utc>,
    pub reports: Vec<TriageReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MergedView {
    pub case_id: Uuid,
    pub into: Uuid,
    pub state: &'static str,
    /// The reports moved into `into`.
    pub reports: Vec<Uuid>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SplitView {
    pub case_id: Uuid,
    pub reference: String,
    pub state: &'static str,
    pub reports: Vec<Uuid>,
}

impl App {
    /// The triage queue and its decisions are coordinators' work: anyone else is refused (403), on the API
    /// and the pages alike.
    pub fn check_triage(caller: &Caller) -> AppResult<()> {
        if policy::can_triage(caller) {
            Ok(())
        } else {
            Err(AppError::Forbidden("only coordinators triage cases"))
        }
    }

    /// A case the coordinator may read; 404 otherwise.
    async fn triage_case(&self, caller: &Caller, id: Uuid, field: Option<&str>) -> AppResult<TriageCase> {
        let found = self
            .store
            .readable_case(id, &policy::tlp_audience(Some(caller)))
            .await?;
        match (found, field) {
            (Some(case), _) => Ok(case),
            (None, None) => Err(AppError::NotFound("case")),
            (None, Some(field)) => Err(ValidationError::new(field, "is not a case you can see").into()),
        }
    }

    /// The triage queue: cases in state new, oldest first, with their reports and candidates.
    pub async fn triage(&self, caller: &Caller, page: &PageRequest) -> AppResult<Paged<TriageCaseView>> {
        Self::check_triage(caller)?;
        let reader = policy::tlp_audience(Some(caller));
        let limit = page.limit()?.min(50);
        let after = page.after(|s| s.parse::<Uuid>().ok())?;
        let rows = self
            .store
            .triage_cases(
                &reader,
                &Page {
                    after,
                    limit: limit + 1,
                },
            )
            .await?;
        let paged = paginate(rows, limit, |c| c.id.to_string(), |c| c);
        let case_ids: Vec<Uuid> = paged.items.iter().map(|c| c.id).collect();
        let reports = self.store.reports_of_cases(&case_ids, &reader).await?;
        let report_ids: Vec<Uuid> = reports.iter().map(|r| r.id).collect();
        let candidates = self.store.candidates_of(&report_ids, &reader).await?;
        let mut items = Vec::with_capacity(paged.items.len());
        for case in paged.items {
            let mut views = Vec::new();
            for report in reports.iter().filter(|r| r.case_id == Some(case.id)) {
                let candidates = candidates
                    .iter()
                    .filter(|c| c.report_id == report.id)
                    .map(|c| CandidateView {
                        report_id: c.candidate_id,
                        case_id: c.candidate_case_id,
                        score: c.score,
                    })
                    .collect();
                views.push(TriageReport {
                    report: self.report_view(report.clone(), &reader).await?,
                    candidates,
                });
            }
            items.push(TriageCaseView {
                id: case.id,
                reference: case.reference,
                title: case.title,
                state: case.state.as_str(),
                tlp: case.tlp,
                created_at: case.created_at,
                reports: views,
            });
        }
        Ok(Paged {
            items,
            next_cursor: paged.next_cursor,
        })
    }

    /// Merges a case into another: its reports move, it closes as a duplicate, participants are merged.
    pub async fn merge_case(&self, caller: &Caller, id: Uuid, into: Uuid) -> AppResult<MergedView> {
        let from = self.triage_case(caller, id, None).await?;
        Self::check_triage(caller)?;
        if into == id {
            return Err(ValidationError::new("into", "is the case itself").into());
        }
        let target = self.triage_case(caller, into, Some("into")).await?;
        for case in [&from, &target] {
            if matches!(
                case.state,
                clearinghouse::case::CaseState::Duplicate
                    | clearinghouse::case::CaseState::Published
                    | clearinghouse::case::CaseState::Rejected
            ) {
                return Err(AppError::Conflict(format!(
                    "case {} is closed ({})",
                    case.reference,
                    case.state.label()
                )));
            }
        }
        let now = self.clock.now();
        let event = self.event(
            caller.into(),
            "case.merge",
            "case",
            Some(id),
            json!({"into": into, "reference": from.reference, "into_reference": target.reference}),
        );
        let moved = self.store.merge_cases(id, into, now, &event).await?;
        Ok(MergedView {
            case_id: id,
            into,
            state: clearinghouse::case::CaseState::Duplicate.as_str(),
            reports: moved.into_iter().map(|m| m.id).collect(),
        })
    }

    /// Moves some reports of a case into a new case (state new).
    pub async fn split_case(&self, caller: &Caller, id: Uuid, reports: &[Uuid]) -> AppResult<SplitView> {
        let from = self.triage_case(caller, id, None).await?;
        Self::check_triage(caller)?;
        if reports.is_empty() || reports.len() > MAX_SPLIT {
            return Err(ValidationError::new(
                "reports",
                format!("name between 1 and {MAX_SPLIT} reports of the case"),
            )
            .into());
        }
        let reader = policy::tlp_audience(Some(caller));
        let of_case = self.store.reports_of_cases(&[id], &reader).await?;
        let mut chosen: Vec<Uuid> = Vec::new();
        for (i, report) in reports.iter().enumerate() {
            if !of_case.iter().any(|r| r.id == *report) {
                return Err(
                    ValidationError::new(format!("reports[{i}]"), "is not a report of this case").into(),
                );
            }
            if !chosen.contains(report) {
                chosen.push(*report);
            }
        }
        let now = self.clock.now();
        let title = of_case
            .iter()
            .find(|r| r.id == chosen.first().copied().unwrap_or_default())
            .map(|r| r.title.clone())
            .unwrap_or_else(|| from.title.clone());
        let new_case = NewCase {
            id: Uuid::now_v7(),
            year: now.year(),
            title,
            sectors: Vec::new(),
        };
        let events = [
            self.event(
                caller.into(),
                "case.split",
                "case",
                Some(id),
                json!({"new_case": new_case.id, "reports": chosen}),
            ),
            self.event(
                caller.into(),
                "case.open",
                "case",
                Some(new_case.id),
                json!({"split_from": id, "reports": chosen}),
            ),
        ];
        let reference = self
            .store
            .split_case(id, &chosen, &new_case, caller.user_id(), now, &events)
            .await
            .map_err(|e| match e {
                store::StoreError::Stale(_) => AppError::Conflict(
                    "a split leaves at least one report in the case, and moves only reports still in it"
                        .into(),
                ),
                other => other.into(),
            })?;
        Ok(SplitView {
            case_id: new_case.id,
            reference,
            state: clearinghouse::case::CaseState::New.as_str(),
            reports: chosen,
        })
    }

    /// The stored candidates of one report (those the coordinator may read), best first: coordinators only;
    /// a report the caller may not read is "not found" first, as for no report at all.
    pub async fn report_candidates(&self, caller: &Caller, id: Uuid) -> AppResult<Vec<CandidateView>> {
        let reader = policy::tlp_audience(Some(caller));
        self.store
            .readable_report(id, &reader)
            .await?
            .ok_or(AppError::NotFound("report"))?;
        Self::check_triage(caller)?;
        Ok(self
            .store
            .candidates_of(&[id], &reader)
            .await?
            .into_iter()
            .map(|c| CandidateView {
                report_id: c.candidate_id,
                case_id: c.candidate_case_id,
                score: c.score,
            })
            .collect())
    }
}
