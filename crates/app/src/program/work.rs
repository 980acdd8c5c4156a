//! The agencies' work on a notice: assignments of evaluators, findings and assessments (advisory only).

use crate::page::{
    ListParams, PageRequest, Paged, paginate, paginate_read_whole, parse_sorted_key, sorted_key,
};
use crate::{App, AppError, AppResult, Caller, policy};
use chrono::{DateTime, Utc};
use review::validate::title;
use review::{
    AssessmentLevels, Domain, EvidenceLinks, FindingStatus, FindingText, Severity, ValidationError,
};
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;
use store::{Assessment, Assignment, Finding, FindingList, FindingSort, Json};
use uuid::Uuid;

/// The orders a notice's findings list offers, the default (oldest first, as before sorting was offered)
/// first.
pub const FINDING_SORTS: [(&str, FindingSort); 3] = [
    ("filed", FindingSort::Filed),
    ("-filed", FindingSort::FiledDesc),
    ("severity", FindingSort::Severity),
];

#[derive(Debug, Clone, Serialize)]
pub struct AssignmentView {
    pub user_id: Uuid,
    pub org_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub assigned_at: DateTime<Utc>,
}

impl From<Assignment> for AssignmentView {
    fn from(a: Assignment) -> Self {
        AssignmentView {
            user_id: a.user_id,
            org_id: a.org_id,
            email: a.email,
            display_name: a.display_name,
            assigned_at: a.assigned_at,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct NewFinding {
    pub title: String,
    pub domain: String,
    pub severity: String,
    pub description: String,
    pub evidence: Vec<String>,
    pub shared_with: Vec<Uuid>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FindingView {
    pub id: Uuid,
    pub notice_id: Uuid,
    pub org_id: Uuid,
    pub author_id: Uuid,
    pub title: String,
    pub domain: String,
    pub severity: String,
    pub description: String,
    pub evidence: Vec<String>,
    pub created_at: DateTime<Utc>,
    /// open, acknowledged, mitigated, disputed or closed.
    pub status: String,
    /// 1 when filed; one more with each edit (`GET /findings/{id}/history`).
    pub version: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<DateTime<Utc>>,
    /// The clearinghouse report it was forwarded as, when the reader may read that report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_id: Option<Uuid>,
}

impl From<Finding> for FindingView {
    fn from(f: Finding) -> Self {
        FindingView {
            id: f.id,
            notice_id: f.notice_id,
            org_id: f.org_id,
            author_id: f.author_id,
            title: f.title,
            domain: f.domain.as_str().into(),
            severity: f.severity.as_str().into(),
            description: f.description,
            evidence: f.evidence.0,
            created_at: f.created_at,
            status: f.status.as_str().into(),
            version: f.version,
            edited_at: f.edited_at,
            report_id: None,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct NewAssessment {
    pub levels: BTreeMap<String, String>,
    pub rationale: String,
    pub evidence: Vec<String>,
    pub shared_with: Vec<Uuid>,
    /// Written as a draft, visible to the agency only until its admin publishes it.
    pub draft: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct AssessmentView {
    pub id: Uuid,
    pub notice_id: Uuid,
    pub org_id: Uuid,
    pub author_id: Uuid,
    pub levels: BTreeMap<String, String>,
    /// The highest level across domains.
    pub overall: String,
    pub rationale: String,
    pub evidence: Vec<String>,
    /// When it was published (while a draft: when it was drafted).
    pub published_at: DateTime<Utc>,
    /// A draft, visible to its agency only until the agency's admin publishes it.
    pub draft: bool,
}

impl From<Assessment> for AssessmentView {
    fn from(a: Assessment) -> Self {
        let overall = AssessmentLevels::parse("levels", &a.levels.0)
            .map(|l| l.overall().as_str())
            .unwrap_or("none")
            .to_owned();
        AssessmentView {
            id: a.id,
            notice_id: a.notice_id,
            org_id: a.org_id,
            author_id: a.author_id,
            levels: a.levels.0,
            overall,
            rationale: a.rationale,
            evidence: a.evidence.0,
            published_at: a.published_at,
            draft: a.draft,
        }
    }
}

impl App {
    pub async fn assign(&self, caller: &Caller, notice_id: Uuid, user_id: Uuid) -> AppResult<AssignmentView> {
        let (notice, _) = self.visible_notice(caller, notice_id).await?;
        if !policy::can_assign(caller) {
            return Err(AppError::Forbidden("only agency admins assign evaluators"));
        }
        Self::check_not_withdrawn(&notice)?;
        let user = self
            .store
            .get_user(user_id)
            .await?
            .filter(|u| u.active && policy::can_be_assigned(caller, u.org_id));
        let user =
            user.ok_or_else(|| ValidationError::new("user_id", "is not an active person of your agency"))?;
        let assignment = Assignment {
            notice_id,
            user_id,
            org_id: user.org_id,
            assigned_by: Some(caller.user_id()),
            assigned_at: self.clock.now(),
            email: user.email,
            display_name: user.display_name,
        };
        let event = self.event(
            caller.into(),
            "assignment.create",
            "notice",
            Some(notice_id),
            json!({"user": user_id, "email": assignment.email}),
        );
        self.store.assign(&assignment, &event).await?;
        self.notify_soon(&event).await;
        self.gateway_changed();
        Ok(assignment.into())
    }

    pub async fn unassign(&self, caller: &Caller, notice_id: Uuid, user_id: Uuid) -> AppResult<()> {
        let (notice, _) = self.visible_notice(caller, notice_id).await?;
        let assignments = self.store.list_assignments(notice_id).await?;
        let assignment = assignments
            .into_iter()
            .find(|a| a.user_id == user_id && policy::can_view_assignment(caller, &notice, a.org_id));
        let assignment = assignment.ok_or(AppError::NotFound("assignment"))?;
        if !policy::can_assign(caller) {
            return Err(AppError::Forbidden("only agency admins remove evaluators"));
        }
        let event = self.event(
            caller.into(),
            "assignment.delete",
            "notice",
            Some(notice_id),
            json!({"user": user_id, "email": assignment.email}),
        );
        self.store.unassign(notice_id, user_id, &event).await?;
        self.notify_soon(&event).await;
        self.gateway_changed();
        Ok(())
    }

    /// The evaluators assigned to a notice: the developer sees all, an agency its own.
    pub async fn list_assignments(&self, caller: &Caller, notice_id: Uuid) -> AppResult<Vec<AssignmentView>> {
        let (notice, _) = self.visible_notice(caller, notice_id).await?;
        let rows = self.store.list_assignments(notice_id).await?;
        Ok(rows
            .into_iter()
            .filter(|a| policy::can_view_assignment(caller, &notice, a.org_id))
            .map(AssignmentView::from)
            .collect())
    }

    /// The assignments a page at a time, for the API.
    pub async fn list_assignments_page(
        &self,
        caller: &Caller,
        notice_id: Uuid,
        page: &PageRequest,
    ) -> AppResult<Paged<AssignmentView>> {
        let assignments = self.list_assignments(caller, notice_id).await?;
        Ok(paginate_read_whole(assignments, page, |a| {
            (a.assigned_at, a.user_id)
        })?)
    }

    pub(crate) async fn is_assigned(&self, caller: &Caller, notice_id: Uuid) -> AppResult<bool> {
        let rows = self.store.list_assignments(notice_id).await?;
        Ok(rows.iter().any(|a| a.user_id == caller.user_id()))
    }

    /// Loads a notice on which the caller may write findings or assessments, and checks who they share with.
    async fn writable_notice(
        &self,
        caller: &Caller,
        notice_id: Uuid,
        shared_with: &mut Vec<Uuid>,
    ) -> AppResult<()> {
        let (notice, notice_shares) = self.visible_notice(caller, notice_id).await?;
        if !policy::can_write_agency_work(caller, self.is_assigned(caller, notice_id).await?) {
            return Err(AppError::Forbidden(
                "only evaluators assigned to this notice, or their agency's admins, write findings and assessments",
            ));
        }
        Self::check_not_withdrawn(&notice)?;
        shared_with.sort();
        shared_with.dedup();
        shared_with.retain(|org| *org != caller.org_id());
        self.check_agencies("shared_with", shared_with).await?;
        for (i, org) in shared_with.iter().enumerate() {
            if !(notice.shared_with_all || notice_shares.contains(org)) {
                return Err(ValidationError::new(
                    format!("shared_with[{i}]"),
                    "the notice is not shared with this agency",
                )
                .into());
            }
        }
        Ok(())
    }

    pub async fn file_finding(
        &self,
        caller: &Caller,
        notice_id: Uuid,
        input: NewFinding,
    ) -> AppResult<FindingView> {
        let mut shared_with = input.shared_with;
        self.writable_notice(caller, notice_id, &mut shared_with).await?;
        let finding = Finding {
            id: Uuid::now_v7(),
            notice_id,
            org_id: caller.org_id(),
            author_id: caller.user_id(),
            title: title("title", &input.title)?,
            domain: Domain::parse("domain", &input.domain)?,
            severity: Severity::parse("severity", &input.severity)?,
            description: FindingText::parse("description", &input.description)?.into_inner(),
            evidence: Json(EvidenceLinks::parse("evidence", &input.evidence)?.into_inner()),
            created_at: self.clock.now(),
            status: FindingStatus::Open,
            version: 1,
            edited_at: None,
        };
        self.check_citations(caller, "evidence", &finding.evidence.0)
            .await?;
        let event = self.event(
            caller.into(),
            "finding.file",
            "finding",
            Some(finding.id),
            json!({"notice": notice_id, "severity": finding.severity.as_str(), "domain": finding.domain.as_str(), "shared_with": shared_with}),
        );
        self.store.create_finding(&finding, &shared_with, &event).await?;
        self.notify_soon(&event).await;
        Ok(finding.into())
    }

    /// A page of a notice's findings the caller may see: `q` searches the titles, `sort` is one of
    /// `FINDING_SORTS` (the first when absent).
    pub async fn list_findings(
        &self,
        caller: &Caller,
        notice_id: Uuid,
        params: &ListParams,
        page: &PageRequest,
    ) -> AppResult<Paged<FindingView>> {
        let search = crate::page::search(params.q.as_deref())?;
        let sort = crate::page::sort(params.sort.as_deref(), &FINDING_SORTS)?;
        let limit = page.limit()?;
        let mut list = FindingList {
            search,
            sort,
            limit: limit + 1,
            ..FindingList::default()
        };
        match sort {
            // The default's cursor is the id alone, as before sorting was offered.
            FindingSort::Filed => list.after = page.after(|k| k.parse::<Uuid>().ok())?,
            FindingSort::FiledDesc => {
                list.after = page.after(|k| parse_sorted_key("-filed", k)?.parse::<Uuid>().ok())?;
            }
            FindingSort::Severity => {
                if let Some((rank, id)) = page.after(|k| {
                    let (rank, id) = parse_sorted_key("severity", k)?.split_once('|')?;
                    Some((rank.parse::<i64>().ok()?, id.parse::<Uuid>().ok()?))
                })? {
                    list.after_rank = Some(rank);
                    list.after = Some(id);
                }
            }
        }
        self.visible_notice(caller, notice_id).await?;
        let rows = self
            .store
            .list_findings(notice_id, &policy::audience(caller), &list)
            .await?;
        let key = |f: &store::Finding| match sort {
            FindingSort::Filed => f.id.to_string(),
            FindingSort::FiledDesc => sorted_key("-filed", &f.id.to_string()),
            FindingSort::Severity => sorted_key(
                "severity",
                &format!("{}|{}", store::severity_rank(f.severity), f.id),
            ),
        };
        let mut page = paginate(rows, limit, key, FindingView::from);
        let ids: Vec<Uuid> = page.items.iter().map(|f| f.id).collect();
        for (finding, report) in self.reports_of_findings(caller, &ids).await? {
            if let Some(view) = page.items.iter_mut().find(|f| f.id == finding) {
                view.report_id = Some(report);
            }
        }
        Ok(page)
    }

    pub async fn get_finding(&self, caller: &Caller, id: Uuid) -> AppResult<FindingView> {
        let finding = self
            .store
            .visible_finding(id, &policy::audience(caller))
            .await?
            .ok_or(AppError::NotFound("finding"))?;
        let report_id = self.report_of_finding(caller, id).await?;
        Ok(FindingView {
            report_id,
            ..finding.into()
        })
    }

    pub async fn get_assessment(&self, caller: &Caller, id: Uuid) -> AppResult<AssessmentView> {
        let assessment = self
            .store
            .visible_assessment(id, &policy::audience(caller))
            .await?
            .ok_or(AppError::NotFound("assessment"))?;
        Ok(assessment.into())
    }

    pub async fn publish_assessment(
        &self,
        caller: &Caller,
        notice_id: Uuid,
        input: NewAssessment,
    ) -> AppResult<AssessmentView> {
        let mut shared_with = input.shared_with;
        self.writable_notice(caller, notice_id, &mut shared_with).await?;
        let levels = AssessmentLevels::parse("levels", &input.levels)?;
        let assessment = Assessment {
            id: Uuid::now_v7(),
            notice_id,
            org_id: caller.org_id(),
            author_id: caller.user_id(),
            levels: Json(
                levels
                    .as_map()
                    .iter()
                    .map(|(d, l)| (d.as_str().to_owned(), l.as_str().to_owned()))
                    .collect(),
            ),
            rationale: FindingText::parse("rationale", &input.rationale)?.into_inner(),
            evidence: Json(EvidenceLinks::parse("evidence", &input.evidence)?.into_inner()),
            published_at: self.clock.now(),
            draft: input.draft,
        };
        self.check_citations(caller, "evidence", &assessment.evidence.0)
            .await?;
        let event = self.event(
            caller.into(),
            if assessment.draft {
                "assessment.draft"
            } else {
                "assessment.publish"
            },
            "assessment",
            Some(assessment.id),
            json!({"notice": notice_id, "levels": assessment.levels.0, "shared_with": shared_with}),
        );
        self.store
            .create_assessment(&assessment, &shared_with, &event)
            .await?;
        self.notify_soon(&event).await;
        Ok(assessment.into())
    }

    pub async fn list_assessments(
        &self,
        caller: &Caller,
        notice_id: Uuid,
        page: &PageRequest,
    ) -> AppResult<Paged<AssessmentView>> {
        self.visible_notice(caller, notice_id).await?;
        let (limit, fetch) = page.by_id()?;
        let rows = self
            .store
            .list_assessments(notice_id, &policy::audience(caller), &fetch)
            .await?;
        Ok(paginate(rows, limit, |a| a.id.to_string(), AssessmentView::from))
    }
}
