//! A finding's life after filing (its status, the response thread, sharing with further agencies, edits with
//! history, evidence that cites gateway calls and evaluation runs) and an assessment's publication from draft.
//! Who may do what is `policy::finding_side` and `policy::finding_transition`.

use super::work::{AssessmentView, FindingView};
use crate::page::{PageRequest, Paged, paginate};
use crate::{App, AppError, AppResult, Caller, policy};
use chrono::{DateTime, Utc};
use review::validate::title;
use review::{Domain, EvidenceLinks, FindingStatus, FindingText, ResponseText, Severity, ValidationError};
use serde::Serialize;
use serde_json::json;
use store::{Finding, FindingResponse, FindingVersion, Json, Notice, StoreError};
use uuid::Uuid;

/// One message of a finding's response thread.
#[derive(Debug, Clone, Serialize)]
pub struct ResponseView {
    pub id: Uuid,
    pub finding_id: Uuid,
    pub author_id: Uuid,
    pub org_id: Uuid,
    /// Markdown, rendered by pages with raw HTML escaped.
    pub body: String,
    pub created_at: DateTime<Utc>,
}

impl From<FindingResponse> for ResponseView {
    fn from(r: FindingResponse) -> Self {
        ResponseView {
            id: r.id,
            finding_id: r.finding_id,
            author_id: r.author_id,
            org_id: r.org_id,
            body: r.body,
            created_at: r.created_at,
        }
    }
}

/// One version of a finding's text.
#[derive(Debug, Clone, Serialize)]
pub struct FindingVersionView {
    pub version: i32,
    pub title: String,
    pub domain: String,
    pub severity: String,
    pub description: String,
    pub evidence: Vec<String>,
    pub written_by: Uuid,
    pub written_at: DateTime<Utc>,
    /// Whether this is the finding as it reads now.
    pub current: bool,
}

impl From<FindingVersion> for FindingVersionView {
    fn from(v: FindingVersion) -> Self {
        FindingVersionView {
            version: v.version,
            title: v.title,
            domain: v.domain.as_str().into(),
            severity: v.severity.as_str().into(),
            description: v.description,
            evidence: v.evidence.0,
            written_by: v.written_by,
            written_at: v.written_at,
            current: false,
        }
    }
}

/// What an author changes in a finding: any of its fields.
#[derive(Debug, Clone, Default)]
pub struct FindingEdit {
    pub title: Option<String>,
    pub domain: Option<String>,
    pub severity: Option<String>,
    pub description: Option<String>,
    pub evidence: Option<Vec<String>>,
}

/// What an evidence link on this service cites.
enum Citation {
    EvalRun(Uuid),
    GatewayCall(Uuid),
}

/// `/eval-runs/{id}` (and its samples) and `/gateway-calls/{id}` cite our own objects; other links do not.
fn citation(link: &str) -> Option<Citation> {
    if let Some(rest) = link.strip_prefix("/eval-runs/") {
        let id = rest.split('/').next()?.parse().ok()?;
        return Some(Citation::EvalRun(id));
    }
    let rest = link.strip_prefix("/gateway-calls/")?;
    Some(Citation::GatewayCall(rest.parse().ok()?))
}

impl App {
    /// A finding the caller may see, with its notice.
    async fn finding_and_notice(&self, caller: &Caller, id: Uuid) -> AppResult<(Finding, Notice)> {
        let finding = self
            .store
            .visible_finding(id, &policy::audience(caller))
            .await?
            .ok_or(AppError::NotFound("finding"))?;
        let notice = self
            .store
            .get_notice(finding.notice_id)
            .await?
            .ok_or(AppError::NotFound("finding"))?;
        Ok((finding, notice))
    }

    fn side(caller: &Caller, finding: &Finding, notice: &Notice) -> policy::FindingSide {
        policy::finding_side(caller, notice.developer_org_id, finding.org_id, finding.author_id)
    }

    /// Checks that each evidence link citing a run or a gateway call names one that exists and that the
    /// caller may see (the same answer for both failures).
    pub(crate) async fn check_citations(
        &self,
        caller: &Caller,
        field: &str,
        links: &[String],
    ) -> AppResult<()> {
        for (i, link) in links.iter().enumerate() {
            let seen = match citation(link) {
                None => continue,
                Some(Citation::EvalRun(id)) => match self.get_eval_run_brief(caller, id).await {
                    Ok(_) => true,
                    Err(AppError::NotFound(_)) => false,
                    Err(other) => return Err(other),
                },
                Some(Citation::GatewayCall(id)) => self.readable_gateway_call(caller, id).await?.is_some(),
            };
            if !seen {
                return Err(ValidationError::new(
                    format!("{field}[{i}]"),
                    "cites an evaluation run or gateway call that does not exist or that you cannot see",
                )
                .into());
            }
        }
        Ok(())
    }

    /// A gateway call the caller may read (its evaluator, or an admin of their agency), if it exists.
    pub async fn readable_gateway_call(
        &self,
        caller: &Caller,
        id: Uuid,
    ) -> AppResult<Option<store::GatewayCall>> {
        self.settle_calls().await;
        Ok(self
            .store
            .get_gateway_call(id)
            .await?
            .filter(|c| policy::can_read_transcript(caller, c)))
    }

    /// Moves a finding's status (`policy::finding_transition`).
    pub async fn set_finding_status(
        &self,
        caller: &Caller,
        id: Uuid,
        status: &str,
    ) -> AppResult<FindingView> {
        let (finding, notice) = self.finding_and_notice(caller, id).await?;
        let to = FindingStatus::parse("status", status)?;
        let from = finding.status;
        match policy::finding_transition(Self::side(caller, &finding, &notice), from, to) {
            Ok(()) => {}
            Err(policy::StatusRefusal::NotYours) => {
                return Err(AppError::Forbidden(
                    "the developer acknowledges, mitigates or disputes a finding; its agency closes or reopens it",
                ));
            }
            Err(policy::StatusRefusal::NotFromHere) => {
                return Err(AppError::Conflict(format!(
                    "a finding that is {} cannot be marked {}",
                    from.label().to_lowercase(),
                    to.label().to_lowercase()
                )));
            }
        }
        let event = self.event(
            caller.into(),
            "finding.status",
            "finding",
            Some(id),
            json!({"notice": notice.id, "from": from.as_str(), "to": to.as_str()}),
        );
        self.store
            .set_finding_status(id, from, to, &event)
            .await
            .map_err(stale_as_conflict)?;
        self.notify_soon(&event).await;
        self.get_finding(caller, id).await
    }

    pub async fn respond_to_finding(&self, caller: &Caller, id: Uuid, body: &str) -> AppResult<ResponseView> {
        let (finding, notice) = self.finding_and_notice(caller, id).await?;
        if !policy::can_respond_to_finding(Self::side(caller, &finding, &notice)) {
            return Err(AppError::Forbidden(
                "the developer and the finding's agency write its responses",
            ));
        }
        let response = FindingResponse {
            id: Uuid::now_v7(),
            finding_id: id,
            author_id: caller.user_id(),
            org_id: caller.org_id(),
            body: ResponseText::parse("body", body)?.into_inner(),
            created_at: self.clock.now(),
        };
        let event = self.event(
            caller.into(),
            "finding.respond",
            "finding",
            Some(id),
            json!({"notice": notice.id, "response": response.id}),
        );
        self.store.add_finding_response(&response, &event).await?;
        self.notify_soon(&event).await;
        Ok(response.into())
    }

    /// The response thread, oldest first: the developer's people and the finding's agency's people read it;
    /// others who see the finding get 403, others 404.
    pub async fn list_finding_responses(
        &self,
        caller: &Caller,
        id: Uuid,
        page: &PageRequest,
    ) -> AppResult<Paged<ResponseView>> {
        let (finding, notice) = self.finding_and_notice(caller, id).await?;
        if !policy::can_read_finding_responses(caller, notice.developer_org_id, finding.org_id) {
            return Err(AppError::Forbidden(
                "only the developer and the finding's agency read its responses",
            ));
        }
        let (limit, fetch) = page.by_id()?;
        let rows = self.store.list_finding_responses(id, &fetch).await?;
        Ok(paginate(rows, limit, |r| r.id.to_string(), ResponseView::from))
    }

    /// Shares a finding with further agencies, among those the notice is shared with.
    pub async fn share_finding(
        &self,
        caller: &Caller,
        id: Uuid,
        agencies: Vec<Uuid>,
    ) -> AppResult<FindingView> {
        let (finding, notice) = self.finding_and_notice(caller, id).await?;
        if !policy::can_share_finding(Self::side(caller, &finding, &notice)) {
            return Err(AppError::Forbidden(
                "only the finding's author or their agency's admins share it",
            ));
        }
        let mut agencies = agencies;
        if agencies.is_empty() {
            return Err(ValidationError::new("shared_with", "name at least one agency").into());
        }
        if agencies.len() > 100 {
            return Err(ValidationError::new("shared_with", "at most 100 agencies").into());
        }
        agencies.sort();
        agencies.dedup();
        agencies.retain(|org| *org != finding.org_id);
        self.check_agencies("shared_with", &agencies).await?;
        let notice_shares = self.store.notice_shares(notice.id).await?;
        for (i, org) in agencies.iter().enumerate() {
            if !(notice.shared_with_all || notice_shares.contains(org)) {
                return Err(ValidationError::new(
                    format!("shared_with[{i}]"),
                    "the notice is not shared with this agency",
                )
                .into());
            }
        }
        let event = self.event(
            caller.into(),
            "finding.share",
            "finding",
            Some(id),
            json!({"notice": notice.id, "shared_with": agencies}),
        );
        self.store.share_finding(id, &agencies, &event).await?;
        self.get_finding(caller, id).await
    }

    /// The agencies a finding is shared with beyond its own, for its agency and the developer.
    pub async fn finding_shares(&self, caller: &Caller, id: Uuid) -> AppResult<Vec<Uuid>> {
        let (finding, notice) = self.finding_and_notice(caller, id).await?;
        if Self::side(caller, &finding, &notice) == policy::FindingSide::Neither
            && !policy::can_read_finding_responses(caller, notice.developer_org_id, finding.org_id)
        {
            return Ok(Vec::new());
        }
        Ok(self.store.notice_shares(id).await?)
    }

    /// The author edits their finding; the text it replaces is kept as a version.
    pub async fn edit_finding(&self, caller: &Caller, id: Uuid, edit: FindingEdit) -> AppResult<FindingView> {
        let (finding, notice) = self.finding_and_notice(caller, id).await?;
        if !policy::can_edit_finding(caller, finding.author_id) {
            return Err(AppError::Forbidden("only the finding's author edits it"));
        }
        let previous = FindingVersion {
            finding_id: id,
            version: finding.version,
            title: finding.title.clone(),
            domain: finding.domain,
            severity: finding.severity,
            description: finding.description.clone(),
            evidence: finding.evidence.clone(),
            written_by: finding.author_id,
            written_at: finding.edited_at.unwrap_or(finding.created_at),
        };
        let mut edited = finding;
        if let Some(t) = &edit.title {
            edited.title = title("title", t)?;
        }
        if let Some(d) = &edit.domain {
            edited.domain = Domain::parse("domain", d)?;
        }
        if let Some(s) = &edit.severity {
            edited.severity = Severity::parse("severity", s)?;
        }
        if let Some(d) = &edit.description {
            edited.description = FindingText::parse("description", d)?.into_inner();
        }
        if let Some(e) = &edit.evidence {
            let links = EvidenceLinks::parse("evidence", e)?.into_inner();
            self.check_citations(caller, "evidence", &links).await?;
            edited.evidence = Json(links);
        }
        edited.version = previous.version.saturating_add(1);
        edited.edited_at = Some(self.clock.now());
        let event = self.event(
            caller.into(),
            "finding.edit",
            "finding",
            Some(id),
            json!({"notice": notice.id, "version": edited.version, "severity": edited.severity.as_str()}),
        );
        self.store
            .edit_finding(&edited, &previous, &event)
            .await
            .map_err(stale_as_conflict)?;
        self.get_finding(caller, id).await
    }

    /// Every version of a finding, oldest first; the last is the current one.
    pub async fn finding_history(&self, caller: &Caller, id: Uuid) -> AppResult<Vec<FindingVersionView>> {
        let (finding, _) = self.finding_and_notice(caller, id).await?;
        let mut versions: Vec<FindingVersionView> = self
            .store
            .finding_history(id)
            .await?
            .into_iter()
            .map(FindingVersionView::from)
            .collect();
        versions.push(FindingVersionView {
            version: finding.version,
            title: finding.title,
            domain: finding.domain.as_str().into(),
            severity: finding.severity.as_str().into(),
            description: finding.description,
            evidence: finding.evidence.0,
            written_by: finding.author_id,
            written_at: finding.edited_at.unwrap_or(finding.created_at),
            current: true,
        });
        Ok(versions)
    }

    /// The agency's admin publishes a draft assessment: from then on it is read as any published one.
    pub async fn publish_draft_assessment(&self, caller: &Caller, id: Uuid) -> AppResult<AssessmentView> {
        let assessment = self
            .store
            .visible_assessment(id, &policy::audience(caller))
            .await?
            .ok_or(AppError::NotFound("assessment"))?;
        if !policy::can_publish_assessment(caller, assessment.org_id) {
            return Err(AppError::Forbidden(
                "only the agency's admins publish its assessments",
            ));
        }
        if !assessment.draft {
            return Err(AppError::Conflict("the assessment is already published".into()));
        }
        let shared_with = self.store.notice_shares(id).await?;
        let event = self.event(
            caller.into(),
            "assessment.publish",
            "assessment",
            Some(id),
            json!({"notice": assessment.notice_id, "levels": assessment.levels.0, "shared_with": shared_with, "drafted_by": assessment.author_id}),
        );
        self.store
            .publish_draft_assessment(id, self.clock.now(), &event)
            .await
            .map_err(stale_as_conflict)?;
        self.notify_soon(&event).await;
        self.get_assessment(caller, id).await
    }
}

fn stale_as_conflict(e: StoreError) -> AppError {
    match e {
        StoreError::Stale(what) => AppError::Conflict(format!(
            "the {what} was changed at the same time; reload and try again"
        )),
        other => other.into(),
    }
}
