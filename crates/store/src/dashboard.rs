//! What each role's dashboard reads: `DashboardStore`, its SQL in `queries/dashboard.rs`. Every read that
//! returns notices, findings or assessments takes the reader's `Audience` and compiles it into its query
//! (`audience.rs`); every list is bounded by its `limit`.

use crate::{Assessment, Audience, Finding, Notice, Result};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// The program at a glance, in counts only: nothing a developer or agency wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct ProgramCounts {
    pub scheduled: i64,
    pub in_review: i64,
    pub launched: i64,
    pub withdrawn: i64,
    /// Open windows closing before the horizon.
    pub closing_soon: i64,
    /// Windows that open and close at the same instant (a launch at filing time).
    pub zero_length: i64,
    /// Notices filed, findings filed and assessments published since the activity bound.
    pub notices_filed: i64,
    pub findings_filed: i64,
    pub assessments_published: i64,
}

#[async_trait]
pub trait DashboardStore {
    /// The notices the reader is assigned to and may see, not withdrawn: open windows first, then upcoming,
    /// then closed, each by the time the window closes.
    async fn assigned_notices(
        &self,
        audience: &Audience,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Notice>>;
    /// Notices the reader's agency may see whose window has not closed and to which no one of the agency is
    /// assigned, soonest close first.
    async fn unstaffed_notices(
        &self,
        audience: &Audience,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Notice>>;
    /// Findings on the reader's developer's notices, filed since `since`, that the reader may see; newest first.
    async fn recent_findings(
        &self,
        audience: &Audience,
        since: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Finding>>;
    /// Assessments on the reader's developer's notices, published since `since`; newest first.
    async fn recent_assessments(
        &self,
        audience: &Audience,
        since: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Assessment>>;
    /// Counts over the whole program at `now`: windows closing before `horizon`, activity since `since`.
    async fn program_counts(
        &self,
        now: DateTime<Utc>,
        horizon: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> Result<ProgramCounts>;
}
