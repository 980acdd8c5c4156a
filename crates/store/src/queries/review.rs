//! The SQL of `ReviewStore` (release notices, their dates and shares, assignments, findings, assessments),
//! compiled once for each backend like every file of `queries/`. Reads decided by an audience are in
//! `audience.rs`.

use super::{Db, This};
use crate::sql::{conflict, notice_select};
use crate::{
    AccessEnded, Assessment, Assignment, AuditEvent, Finding, LaunchChange, LaunchChangeKind, Notice,
    NoticeDatesUpdate, NoticeEdit, NoticeQuery, NoticeSort, Result, ReviewStore, StoreError,
};
use async_trait::async_trait;
use uuid::Uuid;

#[async_trait]
impl ReviewStore for This {
    async fn create_notice(&self, notice: &Notice, shares: &[Uuid], event: &AuditEvent) -> Result<()> {
        let mut tx = self.begin().await?;
        Self::record(&mut tx, event).await?;
        sqlx::query(
            "INSERT INTO notices (id, developer_org_id, model_name, model_version, model_card, \
             planned_launch_at, filed_at, filed_by, window_days, shared_with_all, launched_at, \
             withdrawn_at, withdraw_reason, window_opens_at, window_closes_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(notice.id)
        .bind(notice.developer_org_id)
        .bind(&notice.model_name)
        .bind(&notice.model_version)
        .bind(&notice.model_card)
        .bind(notice.planned_launch_at)
        .bind(notice.filed_at)
        .bind(notice.filed_by)
        .bind(notice.window_days)
        .bind(notice.shared_with_all)
        .bind(notice.launched_at)
        .bind(notice.withdrawn_at)
        .bind(&notice.withdraw_reason)
        .bind(notice.window_opens_at)
        .bind(notice.window_closes_at)
        .execute(&mut *tx)
        .await?;
        Self::insert_shares(&mut tx, notice.id, shares).await?;
        Self::insert_launch_change(
            &mut tx,
            &LaunchChange {
                id: event.id,
                notice_id: notice.id,
                kind: LaunchChangeKind::Filed,
                previous_launch_at: None,
                new_launch_at: notice.planned_launch_at,
                reason: None,
                changed_by: notice.filed_by,
                changed_at: notice.filed_at,
                changes: None,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_notice(&self, id: Uuid) -> Result<Option<Notice>> {
        Ok(sqlx::query_as(concat!(notice_select!(), "WHERE n.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn notice_shares(&self, object_id: Uuid) -> Result<Vec<Uuid>> {
        Ok(
            sqlx::query_scalar("SELECT org_id FROM shares WHERE object_id = $1 ORDER BY org_id")
                .bind(object_id)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    async fn list_notices(&self, q: &NoticeQuery) -> Result<Vec<Notice>> {
        let [scheduled, in_review, launched, withdrawn] = q.states;
        // When `one_developer` holds the developer condition is implied by the others; it is stated so that
        // the developer's index is used.
        macro_rules! sql {
            ($order:tt) => {
                if crate::sql::one_developer(q) {
                    concat!(
                        notice_select!(),
                        "WHERE n.developer_org_id = COALESCE($3, $1) AND ",
                        crate::sql::notice_list_conditions!(crate::sql::notice_order!($order))
                    )
                } else {
                    concat!(
                        notice_select!(),
                        "WHERE ",
                        crate::sql::notice_list_conditions!(crate::sql::notice_order!($order))
                    )
                }
            };
        }
        let sql = match q.sort {
            NoticeSort::WindowCloses => sql!(window),
            NoticeSort::Filed => sql!(filed),
            NoticeSort::FiledDesc => sql!(filed_desc),
            NoticeSort::Model => sql!(model),
        };
        let query = sqlx::query_as(sql)
            .bind(q.audience.developer_org)
            .bind(q.audience.agency_org)
            .bind(q.developer_org)
            .bind(scheduled)
            .bind(in_review)
            .bind(launched)
            .bind(withdrawn)
            .bind(q.now);
        // `$9`, the cursor's sort key, is a time or (by model) a name; `$10` its id.
        let query = match q.sort {
            NoticeSort::Model => query
                .bind(q.after_model.as_ref().map(|(name, _)| name.clone()))
                .bind(q.after_model.as_ref().map(|(_, id)| *id)),
            _ => query
                .bind(q.after.map(|(t, _)| t))
                .bind(q.after.map(|(_, id)| id)),
        };
        Ok(query
            .bind(q.limit)
            .bind(crate::sql::closes_from(q))
            .bind(q.search.clone())
            .fetch_all(&self.pool)
            .await?)
    }

    async fn change_notice_dates(
        &self,
        d: &NoticeDatesUpdate,
        change: &LaunchChange,
        event: &AuditEvent,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        Self::record(&mut tx, event).await?;
        let done = sqlx::query(
            "UPDATE notices SET planned_launch_at = $2, launched_at = $3, withdrawn_at = $4, \
             withdraw_reason = $5, window_opens_at = $6, window_closes_at = $7 \
             WHERE id = $1 AND launched_at IS NULL AND withdrawn_at IS NULL",
        )
        .bind(d.notice_id)
        .bind(d.planned_launch_at)
        .bind(d.launched_at)
        .bind(d.withdrawn_at)
        .bind(&d.withdraw_reason)
        .bind(d.window_opens_at)
        .bind(d.window_closes_at)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Stale("notice"));
        }
        Self::insert_launch_change(&mut tx, change).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn launch_history(&self, notice_id: Uuid) -> Result<Vec<LaunchChange>> {
        Ok(
            sqlx::query_as("SELECT * FROM launch_changes WHERE notice_id = $1 ORDER BY changed_at, id")
                .bind(notice_id)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    async fn edit_notice(
        &self,
        edit: &NoticeEdit,
        change: &LaunchChange,
        event: &AuditEvent,
    ) -> Result<AccessEnded> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE notices SET model_version = $2, model_card = $3, shared_with_all = $4 \
             WHERE id = $1 AND withdrawn_at IS NULL",
        )
        .bind(edit.notice_id)
        .bind(&edit.model_version)
        .bind(&edit.model_card)
        .bind(edit.shared_with_all)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Stale("notice"));
        }
        let mut ended = AccessEnded::default();
        if edit.sharing_changed {
            sqlx::query("DELETE FROM shares WHERE object_id = $1")
                .bind(edit.notice_id)
                .execute(&mut *tx)
                .await?;
            if !edit.shared_with_all {
                Self::insert_shares(&mut tx, edit.notice_id, &edit.shared_with).await?;
            }
            // An agency the notice is no longer shared with: the condition both statements share.
            const UNSHARED: &str =
                "NOT $2 AND org_id NOT IN (SELECT org_id FROM shares WHERE object_id = $1)";
            let mut evaluators: Vec<Uuid> = sqlx::query_scalar(&format!(
                "DELETE FROM assignments WHERE notice_id = $1 AND {UNSHARED} RETURNING user_id"
            ))
            .bind(edit.notice_id)
            .bind(edit.shared_with_all)
            .fetch_all(&mut *tx)
            .await?;
            evaluators.sort();
            ended.evaluators = evaluators;
            ended.tokens_revoked = sqlx::query(&format!(
                "UPDATE gateway_tokens SET revoked_at = $3 \
                 WHERE notice_id = $1 AND revoked_at IS NULL AND {UNSHARED}"
            ))
            .bind(edit.notice_id)
            .bind(edit.shared_with_all)
            .bind(edit.now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        let mut event = event.clone();
        if let Some(details) = event.details.0.as_object_mut() {
            details.insert("access_ended".into(), serde_json::json!(ended.evaluators));
            details.insert("tokens_revoked".into(), serde_json::json!(ended.tokens_revoked));
        }
        Self::record(&mut tx, &event).await?;
        Self::insert_launch_change(&mut tx, change).await?;
        tx.commit().await?;
        Ok(ended)
    }

    async fn notice_of_model(
        &self,
        developer_org_id: Uuid,
        model_name: &str,
        model_version: &str,
    ) -> Result<Option<Notice>> {
        Ok(sqlx::query_as(concat!(
            notice_select!(),
            "WHERE n.developer_org_id = $1 AND n.model_name = $2 AND n.model_version = $3 \
             AND n.withdrawn_at IS NULL ORDER BY n.filed_at DESC, n.id DESC LIMIT 1"
        ))
        .bind(developer_org_id)
        .bind(model_name)
        .bind(model_version)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn assign(&self, a: &Assignment, event: &AuditEvent) -> Result<()> {
        let statement = sqlx::query(
            "INSERT INTO assignments (notice_id, user_id, org_id, assigned_by, assigned_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(a.notice_id)
        .bind(a.user_id)
        .bind(a.org_id)
        .bind(a.assigned_by)
        .bind(a.assigned_at);
        self.execute_recorded_or(event, statement, None, conflict("this assignment"))
            .await
    }

    async fn unassign(&self, notice_id: Uuid, user_id: Uuid, event: &AuditEvent) -> Result<()> {
        let statement = sqlx::query("DELETE FROM assignments WHERE notice_id = $1 AND user_id = $2")
            .bind(notice_id)
            .bind(user_id);
        self.execute_recorded(event, statement, Some("assignment")).await
    }

    async fn list_assignments(&self, notice_id: Uuid) -> Result<Vec<Assignment>> {
        Ok(sqlx::query_as(
            "SELECT a.notice_id, a.user_id, a.org_id, a.assigned_by, a.assigned_at, u.email, \
             u.display_name FROM assignments a JOIN users u ON u.id = a.user_id \
             WHERE a.notice_id = $1 ORDER BY a.assigned_at, a.user_id",
        )
        .bind(notice_id)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn create_finding(&self, f: &Finding, shares: &[Uuid], event: &AuditEvent) -> Result<()> {
        let mut tx = self.begin().await?;
        Self::record(&mut tx, event).await?;
        sqlx::query(
            "INSERT INTO findings (id, notice_id, org_id, author_id, title, domain, severity, \
             description, evidence, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(f.id)
        .bind(f.notice_id)
        .bind(f.org_id)
        .bind(f.author_id)
        .bind(&f.title)
        .bind(f.domain.as_str())
        .bind(f.severity.as_str())
        .bind(&f.description)
        .bind(&f.evidence)
        .bind(f.created_at)
        .execute(&mut *tx)
        .await?;
        Self::insert_shares(&mut tx, f.id, shares).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_assessment(&self, a: &Assessment, shares: &[Uuid], event: &AuditEvent) -> Result<()> {
        let mut tx = self.begin().await?;
        Self::record(&mut tx, event).await?;
        sqlx::query(
            "INSERT INTO assessments (id, notice_id, org_id, author_id, levels, rationale, evidence, \
             published_at, draft) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(a.id)
        .bind(a.notice_id)
        .bind(a.org_id)
        .bind(a.author_id)
        .bind(&a.levels)
        .bind(&a.rationale)
        .bind(&a.evidence)
        .bind(a.published_at)
        .bind(a.draft)
        .execute(&mut *tx)
        .await?;
        Self::insert_shares(&mut tx, a.id, shares).await?;
        tx.commit().await?;
        Ok(())
    }
}

impl This {
    async fn insert_shares(
        conn: &mut <Db as sqlx::Database>::Connection,
        object_id: Uuid,
        shares: &[Uuid],
    ) -> Result<()> {
        for org_id in shares {
            sqlx::query("INSERT INTO shares (object_id, org_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(object_id)
                .bind(org_id)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }

    async fn insert_launch_change(
        conn: &mut <Db as sqlx::Database>::Connection,
        c: &LaunchChange,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO launch_changes (id, notice_id, kind, previous_launch_at, new_launch_at, reason, \
             changed_by, changed_at, changes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(c.id)
        .bind(c.notice_id)
        .bind(c.kind.as_str())
        .bind(c.previous_launch_at)
        .bind(c.new_launch_at)
        .bind(&c.reason)
        .bind(c.changed_by)
        .bind(c.changed_at)
        .bind(c.changes.as_ref())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}
