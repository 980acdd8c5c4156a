//! The SQL of `DashboardStore`, compiled once for each backend like every file of `queries/`. Visibility is
//! the audience's, compiled into each `WHERE` with the macros of `audience.rs`.

use super::This;
use crate::audience::{draft_visible, notice_visible, work_visible};
use crate::sql::notice_select;
use crate::{Assessment, Audience, DashboardStore, Finding, Notice, ProgramCounts, Result};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

#[async_trait]
impl DashboardStore for This {
    async fn assigned_notices(
        &self,
        audience: &Audience,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Notice>> {
        Ok(sqlx::query_as(concat!(
            notice_select!(),
            "JOIN assignments a ON a.notice_id = n.id AND a.user_id = $3 \
             WHERE n.withdrawn_at IS NULL AND ",
            notice_visible!("$1", "$2"),
            " ORDER BY CASE WHEN n.window_closes_at <= $4 THEN 2 WHEN n.window_opens_at > $4 THEN 1 ELSE 0 END, \
             n.window_closes_at, n.id LIMIT $5"
        ))
        .bind(audience.developer_org)
        .bind(audience.agency_org)
        .bind(audience.user_id)
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn unstaffed_notices(
        &self,
        audience: &Audience,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Notice>> {
        self.audience_rows(
            concat!(
                notice_select!(),
                "WHERE $2 IS NOT NULL AND n.withdrawn_at IS NULL AND n.window_closes_at > $3 AND ",
                notice_visible!("$1", "$2"),
                " AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.notice_id = n.id AND a.org_id = $2) \
                 ORDER BY n.window_closes_at, n.id LIMIT $4"
            ),
            audience,
            now,
            limit,
        )
        .await
    }

    async fn recent_findings(
        &self,
        audience: &Audience,
        since: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Finding>> {
        self.audience_rows(
            concat!(
                "SELECT w.* FROM findings w JOIN notices n ON n.id = w.notice_id \
                 WHERE n.developer_org_id = $1 AND w.created_at >= $3 AND ",
                work_visible!("$1", "$2"),
                " ORDER BY w.created_at DESC, w.id DESC LIMIT $4"
            ),
            audience,
            since,
            limit,
        )
        .await
    }

    async fn recent_assessments(
        &self,
        audience: &Audience,
        since: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Assessment>> {
        self.audience_rows(
            concat!(
                "SELECT w.* FROM assessments w JOIN notices n ON n.id = w.notice_id \
                 WHERE n.developer_org_id = $1 AND w.published_at >= $3 AND ",
                work_visible!("$1", "$2"),
                " AND ",
                draft_visible!("$2"),
                " ORDER BY w.published_at DESC, w.id DESC LIMIT $4"
            ),
            audience,
            since,
            limit,
        )
        .await
    }

    async fn program_counts(
        &self,
        now: DateTime<Utc>,
        horizon: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> Result<ProgramCounts> {
        Ok(sqlx::query_as(
            "SELECT \
             COUNT(CASE WHEN withdrawn_at IS NULL AND window_opens_at > $1 THEN 1 END) AS scheduled, \
             COUNT(CASE WHEN withdrawn_at IS NULL AND window_opens_at <= $1 AND window_closes_at > $1 \
               THEN 1 END) AS in_review, \
             COUNT(CASE WHEN withdrawn_at IS NULL AND window_closes_at <= $1 THEN 1 END) AS launched, \
             COUNT(CASE WHEN withdrawn_at IS NOT NULL THEN 1 END) AS withdrawn, \
             COUNT(CASE WHEN withdrawn_at IS NULL AND window_opens_at <= $1 AND window_closes_at > $1 \
               AND window_closes_at <= $2 THEN 1 END) AS closing_soon, \
             COUNT(CASE WHEN window_opens_at = window_closes_at THEN 1 END) AS zero_length, \
             COUNT(CASE WHEN filed_at >= $3 THEN 1 END) AS notices_filed, \
             (SELECT COUNT(*) FROM findings WHERE created_at >= $3) AS findings_filed, \
             (SELECT COUNT(*) FROM assessments WHERE published_at >= $3) AS assessments_published \
             FROM notices",
        )
        .bind(now)
        .bind(horizon)
        .bind(since)
        .fetch_one(&self.pool)
        .await?)
    }
}

impl This {
    /// The rows of a dashboard query whose parameters are the audience's two organisations (`$1`, `$2`), an
    /// instant (`$3`) and a limit (`$4`).
    async fn audience_rows<T>(
        &self,
        sql: &'static str,
        audience: &Audience,
        at: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<T>>
    where
        T: for<'r> sqlx::FromRow<'r, <super::Db as sqlx::Database>::Row> + Send + Unpin,
    {
        Ok(sqlx::query_as(sql)
            .bind(audience.developer_org)
            .bind(audience.agency_org)
            .bind(at)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }
}
