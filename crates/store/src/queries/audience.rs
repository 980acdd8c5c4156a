//! The SQL of `AudienceStore` (reads that return only what an audience may see), compiled once for each backend
//! like every file of `queries/`. Each visibility rule's SQL is a fragment in `crate::audience`, shared by the
//! list and the single-row queries.

use super::{Db, This};
use crate::sql::notice_select;
use crate::{
    Assessment, Audience, AudienceStore, AuditEvent, EventQuery, EventReaders, Finding, FindingList,
    FindingSort, Notice, Page, Result,
};
use async_trait::async_trait;
use uuid::Uuid;

#[async_trait]
impl AudienceStore for This {
    async fn visible_notice(&self, id: Uuid, audience: &Audience) -> Result<Option<Notice>> {
        Ok(sqlx::query_as(concat!(
            notice_select!(),
            "WHERE n.id = $3 AND ",
            crate::audience::notice_visible!("$1", "$2")
        ))
        .bind(audience.developer_org)
        .bind(audience.agency_org)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn list_findings(
        &self,
        notice_id: Uuid,
        audience: &Audience,
        list: &FindingList,
    ) -> Result<Vec<Finding>> {
        macro_rules! sql {
            ($keyset:literal) => {
                concat!(
                    "SELECT w.* FROM findings w JOIN notices n ON n.id = w.notice_id WHERE w.notice_id = $3 AND ",
                    crate::audience::work_visible!("$1", "$2"),
                    " AND ($6 IS NULL OR LOWER(w.title) LIKE LOWER($6) ESCAPE '\\') AND ",
                    $keyset,
                    " LIMIT $5"
                )
            };
        }
        // Critical first; the rank is `severity_rank`.
        macro_rules! rank {
            () => {
                "(CASE w.severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 \
                 WHEN 'low' THEN 3 ELSE 4 END)"
            };
        }
        let sql = match list.sort {
            FindingSort::Filed => sql!("($4 IS NULL OR w.id > $4) ORDER BY w.id"),
            FindingSort::FiledDesc => sql!("($4 IS NULL OR w.id < $4) ORDER BY w.id DESC"),
            FindingSort::Severity => concat!(
                "SELECT w.* FROM findings w JOIN notices n ON n.id = w.notice_id WHERE w.notice_id = $3 AND ",
                crate::audience::work_visible!("$1", "$2"),
                " AND ($6 IS NULL OR LOWER(w.title) LIKE LOWER($6) ESCAPE '\\') AND ($7 IS NULL OR ",
                rank!(),
                " > $7 OR (",
                rank!(),
                " = $7 AND w.id > $4)) ORDER BY ",
                rank!(),
                ", w.id LIMIT $5"
            ),
        };
        let query = sqlx::query_as(sql)
            .bind(audience.developer_org)
            .bind(audience.agency_org)
            .bind(notice_id)
            .bind(list.after)
            .bind(list.limit)
            .bind(list.search.clone());
        let query = match list.sort {
            FindingSort::Severity => query.bind(list.after_rank),
            _ => query,
        };
        Ok(query.fetch_all(&self.pool).await?)
    }

    async fn visible_finding(&self, id: Uuid, audience: &Audience) -> Result<Option<Finding>> {
        Ok(sqlx::query_as(concat!(crate::audience::work_one!("findings")))
            .bind(audience.developer_org)
            .bind(audience.agency_org)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn list_assessments(
        &self,
        notice_id: Uuid,
        audience: &Audience,
        page: &Page<Uuid>,
    ) -> Result<Vec<Assessment>> {
        Ok(sqlx::query_as(concat!(crate::audience::work_page!(
            "assessments",
            crate::audience::draft_visible!("$2")
        )))
        .bind(audience.developer_org)
        .bind(audience.agency_org)
        .bind(notice_id)
        .bind(page.after)
        .bind(page.limit)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn visible_assessment(&self, id: Uuid, audience: &Audience) -> Result<Option<Assessment>> {
        Ok(sqlx::query_as(concat!(crate::audience::work_one!(
            "assessments",
            crate::audience::draft_visible!("$2")
        )))
        .bind(audience.developer_org)
        .bind(audience.agency_org)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn list_events(&self, q: &EventQuery) -> Result<Vec<AuditEvent>> {
        let a = &q.audience;
        // The reader is a one-row table `r`, so that each kind's condition can name it.
        let mut query = sqlx::QueryBuilder::<Db>::new("SELECT e.* FROM audit_events e CROSS JOIN (SELECT ");
        query.push_bind(a.developer_org).push(" AS developer_org, ");
        query.push_bind(a.agency_org).push(" AS agency_org, ");
        query.push_bind(a.user_id).push(" AS user_id, ");
        query.push_bind(a.org_id).push(" AS org_id, ");
        query.push_bind(a.org_admin).push(" AS org_admin, ");
        query.push_bind(a.program_admin).push(" AS program_admin, ");
        query.push_bind(a.coordinator).push(" AS coordinator) r WHERE ");
        if let Some(object_id) = q.object_id {
            query.push("e.object_id = ").push_bind(object_id).push(" AND ");
        }
        if let Some(event_id) = q.event_id {
            query.push("e.id = ").push_bind(event_id).push(" AND ");
        }
        let t = &q.trail;
        if let Some(after) = q.after {
            let op = if t.newest_first { "e.seq < " } else { "e.seq > " };
            query.push(op).push_bind(after).push(" AND ");
        }
        if let Some(action) = &t.action {
            query.push("e.action = ").push_bind(action.clone()).push(" AND ");
        }
        if let Some(actor) = t.actor_user_id {
            query.push("e.actor_user_id = ").push_bind(actor).push(" AND ");
        }
        if let Some(kind) = &t.object_type {
            query
                .push("e.object_type = ")
                .push_bind(kind.clone())
                .push(" AND ");
        }
        if let Some(from) = t.from {
            query.push("e.at >= ").push_bind(from).push(" AND ");
        }
        if let Some(until) = t.until {
            query.push("e.at < ").push_bind(until).push(" AND ");
        }
        query.push("(");
        // Grouped by readers, in a fixed order, so the same kinds make the same statement (which each
        // backend then prepares once).
        let mut kinds = std::collections::BTreeMap::<EventReaders, Vec<&str>>::new();
        for (action, readers) in q.kinds {
            kinds.entry(*readers).or_default().push(action);
        }
        let known: Vec<&str> = q.kinds.iter().map(|(action, _)| *action).collect();
        // With no kind known, nothing is visible; `1 = 0` keeps the statement well-formed.
        query.push("1 = 0");
        for (readers, actions) in &kinds {
            query.push(" OR (");
            Self::push_actions(&mut query, actions);
            query
                .push(" AND ")
                .push(crate::audience::event_condition(*readers))
                .push(")");
        }
        if !known.is_empty() {
            query.push(" OR (");
            Self::push_actions(&mut query, &known);
            query
                .push(" AND ")
                .push(crate::audience::ACTOR_CONDITION)
                .push(")");
        }
        let order = if t.newest_first { "e.seq DESC" } else { "e.seq" };
        query
            .push(") ORDER BY ")
            .push(order)
            .push(" LIMIT ")
            .push_bind(q.limit);
        Ok(query.build_query_as().fetch_all(&self.pool).await?)
    }
}

impl This {
    /// `e.action IN (…)`, one bound value per action.
    fn push_actions(query: &mut sqlx::QueryBuilder<'_, Db>, actions: &[&str]) {
        query.push("e.action IN (");
        let mut list = query.separated(", ");
        for action in actions {
            list.push_bind(action.to_string());
        }
        query.push(")");
    }
}
