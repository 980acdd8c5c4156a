//! The TAXII collections beyond the one per TLP marking: sharing communities (organisations that share STIX
//! objects in their own collection, readable by members only) and collections a program administrator defines
//! by a filter over the stored objects. The objects themselves stay in `stix_objects` (`taxii.rs`), a
//! community's marked with its id; who may read them is compiled into `TaxiiStore::taxii_objects`. The SQL is
//! in `queries/taxii_collections.rs`, compiled once per backend.

use crate::taxii::{StixObjectRow, TaxiiStatusRow};
use crate::{AuditEvent, Result};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use clearinghouse::tlp::Tlp;
use uuid::Uuid;

/// A sharing community, as defined (its members are read apart).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CommunityRow {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A member organisation of a community, with its name.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CommunityMember {
    pub community_id: Uuid,
    pub org_id: Uuid,
    pub name: String,
}

/// A collection defined by a filter: STIX types (empty for every type), a TLP ceiling, optionally one
/// community.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FilterCollectionRow {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    /// Comma-separated STIX types; empty for every type.
    pub stix_types: String,
    #[sqlx(try_from = "String")]
    pub tlp_ceiling: Tlp,
    pub community_id: Option<Uuid>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
}

impl FilterCollectionRow {
    /// The STIX types the filter names; empty for every type.
    pub fn types(&self) -> Vec<String> {
        self.stix_types
            .split(',')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

#[async_trait]
pub trait TaxiiCollectionStore: Send + Sync + 'static {
    /// Every community, by name.
    async fn taxii_communities(&self) -> Result<Vec<CommunityRow>>;
    async fn taxii_community(&self, id: Uuid) -> Result<Option<CommunityRow>>;
    /// The members of these communities (all when `None`), by community and name.
    async fn taxii_community_members(&self, community: Option<Uuid>) -> Result<Vec<CommunityMember>>;
    /// The communities an organisation is a member of.
    async fn taxii_communities_of(&self, org_id: Uuid) -> Result<Vec<Uuid>>;
    /// Defines a community and its members, with the event; a name taken (case aside) is `Conflict`.
    async fn create_taxii_community(
        &self,
        community: &CommunityRow,
        members: &[Uuid],
        event: &AuditEvent,
    ) -> Result<()>;
    /// Replaces a community's name, description and members, with the event; `Stale` when it is gone.
    async fn update_taxii_community(
        &self,
        community: &CommunityRow,
        members: &[Uuid],
        event: &AuditEvent,
    ) -> Result<()>;
    /// Every filter-defined collection, oldest first.
    async fn taxii_filter_collections(&self) -> Result<Vec<FilterCollectionRow>>;
    async fn create_taxii_filter_collection(
        &self,
        collection: &FilterCollectionRow,
        event: &AuditEvent,
    ) -> Result<()>;
    /// Removes a filter-defined collection (the objects stay); false when there was none.
    async fn delete_taxii_filter_collection(&self, id: Uuid, event: &AuditEvent) -> Result<bool>;
    /// Stores the accepted objects of an envelope posted to a community (marked with its id), the status and
    /// the event, in one transaction; a version already stored is kept as it is.
    async fn record_community_post(
        &self,
        community: Uuid,
        status: &TaxiiStatusRow,
        rows: &[StixObjectRow],
        event: &AuditEvent,
    ) -> Result<()>;
}
