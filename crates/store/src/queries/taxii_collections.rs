//! The SQL of `TaxiiCollectionStore`, compiled once for each backend (see `queries/limits.rs`).

use super::This;
use crate::sql::conflict;
use crate::taxii::{StixObjectRow, TaxiiStatusRow};
use crate::taxii_collections::{CommunityMember, CommunityRow, FilterCollectionRow, TaxiiCollectionStore};
use crate::{AuditEvent, Result, StoreError};
use async_trait::async_trait;
use uuid::Uuid;

const COMMUNITY_COLUMNS: &str = "id, name, description, created_by, created_at, updated_at";
const FILTER_COLUMNS: &str =
    "id, title, description, stix_types, tlp_ceiling, community_id, created_by, created_at";

async fn insert_members(
    tx: &mut sqlx::Transaction<'static, super::Db>,
    community: Uuid,
    members: &[Uuid],
) -> Result<()> {
    for org in members {
        sqlx::query("INSERT INTO taxii_community_members (community_id, org_id) VALUES ($1, $2)")
            .bind(community)
            .bind(org)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

#[async_trait]
impl TaxiiCollectionStore for This {
    async fn taxii_communities(&self) -> Result<Vec<CommunityRow>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COMMUNITY_COLUMNS} FROM taxii_communities ORDER BY lower(name), id"
        ))
        .fetch_all(&self.pool)
        .await?)
    }

    async fn taxii_community(&self, id: Uuid) -> Result<Option<CommunityRow>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COMMUNITY_COLUMNS} FROM taxii_communities WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn taxii_community_members(&self, community: Option<Uuid>) -> Result<Vec<CommunityMember>> {
        Ok(sqlx::query_as(
            "SELECT m.community_id, m.org_id, o.name FROM taxii_community_members m \
             JOIN organizations o ON o.id = m.org_id WHERE ($1 IS NULL OR m.community_id = $1) \
             ORDER BY m.community_id, lower(o.name), o.id",
        )
        .bind(community)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn taxii_communities_of(&self, org_id: Uuid) -> Result<Vec<Uuid>> {
        let rows: Vec<(Uuid,)> =
            sqlx::query_as("SELECT community_id FROM taxii_community_members WHERE org_id = $1")
                .bind(org_id)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    async fn create_taxii_community(
        &self,
        c: &CommunityRow,
        members: &[Uuid],
        event: &AuditEvent,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        This::append(&mut tx, std::slice::from_ref(event)).await?;
        sqlx::query(
            "INSERT INTO taxii_communities (id, name, description, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(c.id)
        .bind(&c.name)
        .bind(&c.description)
        .bind(c.created_by)
        .bind(c.created_at)
        .bind(c.updated_at)
        .execute(&mut *tx)
        .await
        .map_err(conflict("a community of this name"))?;
        insert_members(&mut tx, c.id, members).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn update_taxii_community(
        &self,
        c: &CommunityRow,
        members: &[Uuid],
        event: &AuditEvent,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        This::append(&mut tx, std::slice::from_ref(event)).await?;
        let changed = sqlx::query(
            "UPDATE taxii_communities SET name = $2, description = $3, updated_at = $4 WHERE id = $1",
        )
        .bind(c.id)
        .bind(&c.name)
        .bind(&c.description)
        .bind(c.updated_at)
        .execute(&mut *tx)
        .await
        .map_err(conflict("a community of this name"))?
        .rows_affected();
        if changed == 0 {
            return Err(StoreError::Stale("community"));
        }
        sqlx::query("DELETE FROM taxii_community_members WHERE community_id = $1")
            .bind(c.id)
            .execute(&mut *tx)
            .await?;
        insert_members(&mut tx, c.id, members).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn taxii_filter_collections(&self) -> Result<Vec<FilterCollectionRow>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {FILTER_COLUMNS} FROM taxii_filter_collections ORDER BY created_at, id"
        ))
        .fetch_all(&self.pool)
        .await?)
    }

    async fn create_taxii_filter_collection(
        &self,
        c: &FilterCollectionRow,
        event: &AuditEvent,
    ) -> Result<()> {
        let sql = format!(
            "INSERT INTO taxii_filter_collections ({FILTER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        );
        let statement = sqlx::query(&sql)
            .bind(c.id)
            .bind(&c.title)
            .bind(&c.description)
            .bind(&c.stix_types)
            .bind(c.tlp_ceiling.as_str())
            .bind(c.community_id)
            .bind(c.created_by)
            .bind(c.created_at);
        self.execute_recorded(event, statement, None).await
    }

    async fn delete_taxii_filter_collection(&self, id: Uuid, event: &AuditEvent) -> Result<bool> {
        let mut tx = self.begin().await?;
        let deleted = sqlx::query("DELETE FROM taxii_filter_collections WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Ok(false);
        }
        This::append(&mut tx, std::slice::from_ref(event)).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn record_community_post(
        &self,
        community: Uuid,
        status: &TaxiiStatusRow,
        rows: &[StixObjectRow],
        event: &AuditEvent,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        This::append(&mut tx, std::slice::from_ref(event)).await?;
        super::taxii::insert_objects(&mut tx, rows).await?;
        // Only the rows this post wrote are marked: a version already stored stays where it is.
        for row in rows {
            sqlx::query("UPDATE stix_objects SET community_id = $1 WHERE id = $2")
                .bind(community)
                .bind(row.id)
                .execute(&mut *tx)
                .await?;
        }
        super::taxii::insert_status(&mut tx, status).await?;
        tx.commit().await?;
        Ok(())
    }
}
