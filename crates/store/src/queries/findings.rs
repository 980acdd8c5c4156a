//! The SQL of `FindingLifeStore` (a finding's status, responses, shares and versions; an assessment's
//! publication), compiled once for each backend like every file of `queries/`.

use super::This;
use crate::{
    AuditEvent, Finding, FindingLifeStore, FindingResponse, FindingStatus, FindingVersion, Page, Result,
    StoreError,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[async_trait]
impl FindingLifeStore for This {
    async fn get_finding_row(&self, id: Uuid) -> Result<Option<Finding>> {
        Ok(sqlx::query_as("SELECT * FROM findings WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn set_finding_status(
        &self,
        id: Uuid,
        from: FindingStatus,
        to: FindingStatus,
        event: &AuditEvent,
    ) -> Result<()> {
        let statement = sqlx::query("UPDATE findings SET status = $3 WHERE id = $1 AND status = $2")
            .bind(id)
            .bind(from.as_str())
            .bind(to.as_str());
        self.execute_recorded(event, statement, Some("finding")).await
    }

    async fn add_finding_response(&self, r: &FindingResponse, event: &AuditEvent) -> Result<()> {
        let statement = sqlx::query(
            "INSERT INTO finding_responses (id, finding_id, author_id, org_id, body, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(r.id)
        .bind(r.finding_id)
        .bind(r.author_id)
        .bind(r.org_id)
        .bind(&r.body)
        .bind(r.created_at);
        self.execute_recorded(event, statement, None).await
    }

    async fn list_finding_responses(
        &self,
        finding_id: Uuid,
        page: &Page<Uuid>,
    ) -> Result<Vec<FindingResponse>> {
        Ok(sqlx::query_as(
            "SELECT * FROM finding_responses WHERE finding_id = $1 AND ($2 IS NULL OR id > $2) \
             ORDER BY id LIMIT $3",
        )
        .bind(finding_id)
        .bind(page.after)
        .bind(page.limit)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn share_finding(&self, id: Uuid, orgs: &[Uuid], event: &AuditEvent) -> Result<()> {
        let mut tx = self.begin().await?;
        Self::record(&mut tx, event).await?;
        for org_id in orgs {
            sqlx::query("INSERT INTO shares (object_id, org_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(id)
                .bind(org_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn edit_finding(&self, f: &Finding, previous: &FindingVersion, event: &AuditEvent) -> Result<()> {
        let mut tx = self.begin().await?;
        Self::record(&mut tx, event).await?;
        sqlx::query(
            "INSERT INTO finding_versions (finding_id, version, title, domain, severity, description, \
             evidence, written_by, written_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(previous.finding_id)
        .bind(previous.version)
        .bind(&previous.title)
        .bind(previous.domain.as_str())
        .bind(previous.severity.as_str())
        .bind(&previous.description)
        .bind(&previous.evidence)
        .bind(previous.written_by)
        .bind(previous.written_at)
        .execute(&mut *tx)
        .await
        .map_err(|_| StoreError::Stale("finding"))?;
        let done = sqlx::query(
            "UPDATE findings SET title = $3, domain = $4, severity = $5, description = $6, evidence = $7, \
             version = $2, edited_at = $8 WHERE id = $1 AND version = $2 - 1",
        )
        .bind(f.id)
        .bind(f.version)
        .bind(&f.title)
        .bind(f.domain.as_str())
        .bind(f.severity.as_str())
        .bind(&f.description)
        .bind(&f.evidence)
        .bind(f.edited_at)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Stale("finding"));
        }
        tx.commit().await?;
        Ok(())
    }

    async fn finding_history(&self, finding_id: Uuid) -> Result<Vec<FindingVersion>> {
        Ok(
            sqlx::query_as("SELECT * FROM finding_versions WHERE finding_id = $1 ORDER BY version")
                .bind(finding_id)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    async fn publish_draft_assessment(&self, id: Uuid, at: DateTime<Utc>, event: &AuditEvent) -> Result<()> {
        let statement =
            sqlx::query("UPDATE assessments SET draft = FALSE, published_at = $2 WHERE id = $1 AND draft")
                .bind(id)
                .bind(at);
        self.execute_recorded(event, statement, Some("assessment")).await
    }
}
