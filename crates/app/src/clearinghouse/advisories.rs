//! Publication, advisories and subscriptions.
//!
//! A case is published when its embargo ends (the `case.publish` job, scheduled at the embargo's end under a
//! key naming the case's version, so that a moved date schedules a new job and the old one finds the date
//! changed and does nothing) or when a coordinator publishes it. Publication writes, in one transaction, the
//! case's new state, its advisory (`PLA-<year>-<n>`, built from the case's reports and vendor statuses), and the
//! events `case.publish`, `advisory.publish` and `advisory.fanout`. The fan-out event names every subscriber
//! organisation entitled to the advisory (its TLP marking admits them and a subscription matches) and the
//! time: the outbox turns it into one batch of notifications to all of them (inbox, e-mail, webhooks), and the
//! ledger proves that no one was told earlier than the others.

use super::{invalid, sector};
use crate::jobs::{Completion, JobError, JobHandler, JobRequest};
use crate::page::{PageRequest, Paged, paginate, parse_time_id_key, time_id_key};
use crate::{App, AppError, AppResult, Caller, policy};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use clearinghouse::case::{CaseState, VendorStatus};
use clearinghouse::cvss::Severity;
use clearinghouse::product::{ProductId, ProductPrefix, VersionRange};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;
use store::{AdvisoryRow, CaseRow, Job, Json, NewJob, Publication, Subscription};
use uuid::Uuid;

/// The job kind that publishes a case when its embargo ends.
pub const PUBLISH: &str = "case.publish";
/// The most subscriptions an organisation holds, and the most a fan-out considers.
pub const MAX_SUBSCRIPTIONS: i64 = 50;
const FANOUT_LIMIT: i64 = 100_000;

/// The publication job for the embargo ending at `ends`, keyed by the case's version after the change that
/// sets it.
pub(crate) fn publish_job(case_id: Uuid, version: i64, ends: DateTime<Utc>, now: DateTime<Utc>) -> NewJob {
    JobRequest::new(
        PUBLISH,
        json!({"case_id": case_id, "embargo_ends_at": ends, "version": version}),
    )
    .at(ends)
    .key(format!("{PUBLISH}:{case_id}:{version}"))
    .into_new_job(now)
}

fn severity_rank(text: &str) -> Option<Severity> {
    [
        Severity::None,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ]
    .into_iter()
    .find(|s| severity_name(*s) == text)
}

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::None => "none",
        Severity::Low => "low",
        Severity::Medium => "medium",
        Severity::High => "high",
        Severity::Critical => "critical",
    }
}

/// An advisory: its row's fields and its document's.
#[derive(Debug, Clone, Serialize)]
pub struct AdvisoryView(pub Value);

impl From<AdvisoryRow> for AdvisoryView {
    fn from(a: AdvisoryRow) -> Self {
        let mut object = match a.document.0 {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        let fields = [
            ("id", json!(a.id)),
            ("case_id", json!(a.case_id)),
            ("reference", json!(a.reference)),
            ("title", json!(a.title)),
            ("tlp", json!(a.tlp)),
            ("tlp_label", json!(a.tlp.label())),
            ("severity", json!(a.severity)),
            ("published_at", json!(a.published_at)),
            ("modified_at", json!(a.modified_at)),
            ("version", json!(a.version)),
        ];
        for (key, value) in fields {
            object.insert(key.to_owned(), value);
        }
        AdvisoryView(Value::Object(object))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SubscriptionView {
    pub id: Uuid,
    pub org_id: Uuid,
    pub sector: Option<String>,
    pub product_prefix: Option<String>,
    pub min_severity: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<Subscription> for SubscriptionView {
    fn from(s: Subscription) -> Self {
        SubscriptionView {
            id: s.id,
            org_id: s.org_id,
            sector: s.sector,
            product_prefix: s.product_prefix,
            min_severity: s.min_severity,
            created_at: s.created_at,
        }
    }
}

/// A subscription as given; every criterion is optional, and all given must match.
#[derive(Debug, Clone)]
pub struct NewSubscription {
    pub sector: Option<String>,
    pub product_prefix: Option<String>,
    pub min_severity: Option<String>,
}

/// What an advisory is about, for matching subscriptions.
struct Matter {
    sectors: Vec<String>,
    products: Vec<ProductId>,
    severity: Option<Severity>,
}

fn matches(s: &Subscription, m: &Matter) -> bool {
    let sector = s.sector.as_ref().is_none_or(|x| m.sectors.contains(x));
    let product = s
        .product_prefix
        .as_ref()
        .is_none_or(|prefix| m.products.iter().any(|p| p.matches_prefix(prefix)));
    let severity = match s.min_severity.as_deref().and_then(severity_rank) {
        None => true,
        Some(min) => m.severity.is_some_and(|sev| sev >= min),
    };
    sector && product && severity
}

impl App {
    /// Publishes the case: its advisory, the state change and the fan-out, in one transaction. `None` when
    /// there was nothing to do (already published or closed, or changed since it was read).
    pub(crate) async fn publish(
        &self,
        case: &CaseRow,
        by: Option<&Caller>,
        reason: &str,
    ) -> AppResult<Option<AdvisoryRow>> {
        let now = self.clock.now();
        // The advisory carries only reports whose marking admits everyone it reaches (never RED): their
        // finders, scores, CWE, products and vendors' statements, each read under that rule in the store.
        let scope = store::ReportScope::Markings(policy::advisory_carries(case.tlp));
        let reports = self.store.case_reports(case.id, scope).await?;
        let affected = self.store.case_affected(case.id, scope).await?;
        let statuses = self.store.case_vendor_statuses(case.id, scope).await?;
        let best = |scores: &mut dyn Iterator<Item = (f64, &String)>| {
            scores
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(score, vector)| json!({"vector": vector, "base_score": score, "severity": Severity::of(score)}))
        };
        let v3 = best(
            &mut reports
                .iter()
                .filter_map(|r| r.cvss_v3_score.zip(r.cvss_v3.as_ref())),
        );
        let v4 = best(
            &mut reports
                .iter()
                .filter_map(|r| r.cvss_v4_score.zip(r.cvss_v4.as_ref())),
        );
        let top = reports
            .iter()
            .flat_map(|r| [r.cvss_v3_score, r.cvss_v4_score])
            .flatten()
            .max_by(f64::total_cmp);
        let severity = top.map(Severity::of);
        let cwe: BTreeSet<String> = reports
            .iter()
            .filter_map(|r| r.cwe)
            .map(|c| format!("CWE-{c}"))
            .collect();
        let mut products = Vec::new();
        let mut affected_json = Vec::new();
        let mut seen = BTreeSet::new();
        for a in &affected {
            if !seen.insert((a.product.clone(), a.versions.clone())) {
                continue;
            }
            let fixed_in: Vec<String> = VersionRange::parse(&a.versions)
                .map(|r| r.fixed_versions().iter().map(ToString::to_string).collect())
                .unwrap_or_default();
            if let Ok(p) = ProductId::parse(&a.product) {
                products.push(p);
            }
            affected_json.push(json!({
                "product": a.product, "versions": a.versions, "fixed_in": fixed_in, "report_id": a.report_id,
            }));
        }
        let fixed_by: Vec<Value> = statuses
            .iter()
            .filter(|s| s.status == VendorStatus::Fixed)
            .map(|s| json!({"vendor": s.org_name, "org_id": s.org_id, "report_id": s.report_id}))
            .collect();
        let remediation: Vec<Value> = statuses
            .iter()
            .map(|s| {
                json!({
                    "vendor": s.org_name, "org_id": s.org_id, "report_id": s.report_id,
                    "status": s.status, "status_label": s.status.label(), "statement": s.statement,
                })
            })
            .collect();
        let credits: Vec<Value> = reports
            .iter()
            .map(|r| json!({"name": r.finder_name, "kind": r.finder_kind, "ai_found": r.ai_found}))
            .collect();
        let advisory_id = Uuid::now_v7();
        let document = json!({
            "summary": case.summary,
            "case_reference": case.reference,
            "affected": affected_json,
            "fixed": fixed_by,
            "scores": {"cvss_v3": v3, "cvss_v4": v4},
            "cwe": cwe,
            "credits": credits,
            "references": [
                {"type": "case", "reference": case.reference},
                {"type": "advisory", "url": format!("{}/advisories/{advisory_id}", self.config.public_url)},
            ],
            "remediation": remediation,
        });
        let matter = Matter {
            sectors: case.sectors.0.clone(),
            products,
            severity,
        };
        let recipients: BTreeSet<Uuid> = self
            .store
            .entitled_subscriptions(case.id, FANOUT_LIMIT)
            .await?
            .iter()
            .filter(|s| matches(s, &matter))
            .map(|s| s.org_id)
            .collect();
        let actor = by.map_or(crate::Actor::Operator, crate::Actor::from);
        let events = vec![
            self.event(
                actor,
                "case.publish",
                "case",
                Some(case.id),
                json!({"from": case.state.as_str(), "reason": reason, "advisory_id": advisory_id}),
            ),
            self.event(
                actor,
                "advisory.publish",
                "case",
                Some(case.id),
                json!({"advisory_id": advisory_id, "title": case.title, "tlp": case.tlp.as_str()}),
            ),
            self.event(
                actor,
                "advisory.fanout",
                "case",
                Some(case.id),
                json!({
                    "advisory_id": advisory_id, "title": case.title, "reference": case.reference,
                    "at": now, "recipients": recipients,
                }),
            ),
        ];
        let publication = Publication {
            case_id: case.id,
            version: Some(case.version),
            from: case.state,
            reason: reason.to_owned(),
            by: by.map(Caller::user_id),
            advisory: AdvisoryRow {
                id: advisory_id,
                case_id: case.id,
                reference: String::new(),
                title: case.title.clone(),
                tlp: case.tlp,
                severity: severity.map(|s| severity_name(s).to_owned()),
                document: Json(document),
                published_at: now,
                modified_at: now,
                version: 1,
                cve: case.cve.clone(),
            },
        };
        let stored = self.store.publish_case(&publication, &events).await?;
        if let Some(advisory) = &stored {
            self.record_advisory_stix(advisory).await;
            self.record_case_stix(case.id).await;
        }
        Ok(stored)
    }

    /// An advisory, if the reader may read it; `None` is the public (not signed in).
    pub async fn get_advisory(&self, caller: Option<&Caller>, id: Uuid) -> AppResult<AdvisoryView> {
        self.store
            .visible_advisory(id, &policy::tlp_audience(caller))
            .await?
            .map(AdvisoryView::from)
            .ok_or(AppError::NotFound("advisory"))
    }

    /// The advisories the reader may read, newest first.
    pub async fn list_advisories(
        &self,
        caller: Option<&Caller>,
        page: &PageRequest,
    ) -> AppResult<Paged<AdvisoryView>> {
        let limit = page.limit()?;
        let before = page.after(parse_time_id_key)?;
        let rows = self
            .store
            .list_advisories(&policy::tlp_audience(caller), before, limit + 1)
            .await?;
        Ok(paginate(
            rows,
            limit,
            |a| time_id_key(a.published_at, a.id),
            AdvisoryView::from,
        ))
    }

    pub async fn list_subscriptions(
        &self,
        caller: &Caller,
        page: &PageRequest,
    ) -> AppResult<Paged<SubscriptionView>> {
        check_subscriptions(caller)?;
        let limit = page.limit()?;
        let after = page.after(|s| s.parse::<Uuid>().ok())?;
        let rows = self
            .store
            .list_subscriptions(caller.org_id(), after, limit + 1)
            .await?;
        Ok(paginate(
            rows,
            limit,
            |s| s.id.to_string(),
            SubscriptionView::from,
        ))
    }

    pub async fn create_subscription(
        &self,
        caller: &Caller,
        input: NewSubscription,
    ) -> AppResult<SubscriptionView> {
        check_subscriptions(caller)?;
        let sector = input.sector.as_deref().map(|s| sector("sector", s)).transpose()?;
        let product_prefix = match input.product_prefix.as_deref() {
            None => None,
            Some(p) => {
                ProductPrefix::parse(p).map_err(|e| invalid("product_prefix", e.to_string()))?;
                Some(p.trim().to_owned())
            }
        };
        let min_severity = match input.min_severity.as_deref() {
            None => None,
            Some(s) => Some(
                severity_rank(s)
                    .map(|s| severity_name(s).to_owned())
                    .ok_or_else(|| invalid("min_severity", "use none, low, medium, high or critical"))?,
            ),
        };
        if self.store.count_subscriptions(caller.org_id()).await? >= MAX_SUBSCRIPTIONS {
            return Err(AppError::Conflict(format!(
                "an organisation holds at most {MAX_SUBSCRIPTIONS} subscriptions"
            )));
        }
        let row = Subscription {
            id: Uuid::now_v7(),
            org_id: caller.org_id(),
            sector,
            product_prefix,
            min_severity,
            created_by: caller.user_id(),
            created_at: self.clock.now(),
        };
        let event = self.event(
            caller.into(),
            "subscription.create",
            "organization",
            Some(caller.org_id()),
            json!({
                "subscription_id": row.id, "sector": row.sector, "product_prefix": row.product_prefix,
                "min_severity": row.min_severity,
            }),
        );
        self.store.create_subscription(&row, &event).await?;
        Ok(row.into())
    }

    pub async fn delete_subscription(&self, caller: &Caller, id: Uuid) -> AppResult<()> {
        let found = self
            .store
            .get_subscription(id)
            .await?
            .filter(|s| s.org_id == caller.org_id())
            .ok_or(AppError::NotFound("subscription"))?;
        check_subscriptions(caller)?;
        let event = self.event(
            caller.into(),
            "subscription.delete",
            "organization",
            Some(caller.org_id()),
            json!({"subscription_id": found.id}),
        );
        self.store.delete_subscription(found.id, &event).await?;
        Ok(())
    }
}

fn check_subscriptions(caller: &Caller) -> AppResult<()> {
    if policy::can_manage_subscriptions(caller) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "only an organisation's admins manage its subscriptions",
        ))
    }
}

/// Publishes a case whose embargo ended, unless the date moved since the job was scheduled (a newer job
/// carries the new date), or the case was published or closed meanwhile. Publishing twice is impossible:
/// the store publishes only an unpublished case at the version read.
pub struct PublishHandler;

#[async_trait]
impl JobHandler for PublishHandler {
    async fn run(&self, app: &App, job: &Job) -> Result<Completion, JobError> {
        let field = |name: &str| job.payload.get(name).and_then(Value::as_str);
        let case_id: Uuid = field("case_id")
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| JobError::permanent("the payload names no case"))?;
        let ends: DateTime<Utc> = field("embargo_ends_at")
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| JobError::permanent("the payload names no embargo"))?;
        let Some(case) = app.store.get_case(case_id).await? else {
            return Ok(Completion::done());
        };
        let current = case.embargo_ends_at.map(|t| t.timestamp_micros());
        if case.published_at.is_some() || case.state.is_final() || current != Some(ends.timestamp_micros()) {
            return Ok(Completion::done());
        }
        if app.clock.now() < ends {
            return Err(JobError::retry("the embargo has not ended yet"));
        }
        let reason = "the embargo ended";
        match app.publish(&case, None, reason).await? {
            Some(advisory) => {
                tracing::info!(case = %case.id, advisory = %advisory.reference, "published at the embargo's end");
                Ok(Completion::done())
            }
            // The case changed between the read and the publication: read it again.
            None if case.state != CaseState::Published => Err(JobError::retry("the case changed meanwhile")),
            None => Ok(Completion::done()),
        }
    }
}
