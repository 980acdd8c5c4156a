//! The TAXII collections beyond the one per TLP marking (`taxii.rs`):
//!
//! - a **sharing community**'s collection: organisations a coordinator names share STIX objects among
//!   themselves. Its collection id is the community's id. Members read and post; to anyone else it does not
//!   exist (404, as an unknown id). Posted objects keep their own TLP marking (TLP:GREEN when unmarked), which
//!   still applies among members, are stored with the community's id, and are never filed as reports (a
//!   report would carry them out of the community). No other collection shows them.
//! - a collection **defined by a filter** (program administrators): STIX types, a TLP ceiling, optionally one
//!   community. Read-only; it shows what the caller may read anyway that matches (it narrows, never widens).
//!
//! Who reads what is decided by `policy` and compiled into the store's query (`TaxiiQuery::community`,
//! `TaxiiQuery::markings`), before its `LIMIT`.

use super::invalid;
use super::taxii::{Collection, Listing, STIX_MEDIA_TYPE, TaxiiFilter, TaxiiPage, manifest_versions, query};
use super::taxii_write::{
    MARKING_DEFINITION_NOTE, PostOutcome, outcome, post_status, posted_row, status_resource,
};
use crate::{App, AppError, AppResult, Caller, policy};
use chrono::{DateTime, Utc};
use clearinghouse::stix;
use clearinghouse::stix_import::{self, TYPES};
use clearinghouse::tlp::Tlp;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use store::{CommunityMember, CommunityRow, FilterCollectionRow};
use uuid::Uuid;

/// Bounds of the definitions.
pub const MAX_COMMUNITIES: usize = 100;
pub const MAX_MEMBERS: usize = 100;
pub const MAX_FILTER_COLLECTIONS: usize = 100;
const MAX_NAME_CHARS: usize = 100;
const MAX_DESCRIPTION_CHARS: usize = 2000;

/// A community as a coordinator defines it (create and replace).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommunityInput {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Member organisations' ids.
    pub organizations: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MemberView {
    pub id: Uuid,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CommunityView {
    pub id: Uuid,
    /// The id of its TAXII collection (the community's own).
    pub collection_id: Uuid,
    pub name: String,
    pub description: String,
    pub organizations: Vec<MemberView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A collection defined by a filter, as a program administrator writes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterCollectionInput {
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// STIX types; empty for every type.
    #[serde(default)]
    pub types: Vec<String>,
    /// The most restrictive marking shown: `clear`, `green`, `amber`, `amber+strict` or `red`.
    pub tlp_ceiling: String,
    /// Only objects of this community (then only its members see the collection).
    #[serde(default)]
    pub community: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FilterCollectionView {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub types: Vec<String>,
    pub tlp_ceiling: Tlp,
    pub community: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl From<&FilterCollectionRow> for FilterCollectionView {
    fn from(r: &FilterCollectionRow) -> Self {
        FilterCollectionView {
            id: r.id,
            title: r.title.clone(),
            description: r.description.clone(),
            types: r.types(),
            tlp_ceiling: r.tlp_ceiling,
            community: r.community_id,
            created_at: r.created_at,
        }
    }
}

/// A collection a TAXII path names, as this caller may use it.
#[derive(Debug, Clone, PartialEq)]
pub enum Served {
    Marking(Collection),
    Community(CommunityRow),
    Filter(FilterCollectionRow),
}

impl Served {
    pub fn id(&self) -> Uuid {
        match self {
            Served::Marking(c) => c.id,
            Served::Community(c) => c.id,
            Served::Filter(f) => f.id,
        }
    }

    /// The collection resource as TAXII lists it, for this caller (who may use it).
    pub fn resource(&self, caller: Option<&Caller>) -> Value {
        match self {
            Served::Marking(c) => c.resource(caller),
            Served::Community(c) => json!({
                "id": c.id,
                "title": c.name,
                "description": if c.description.is_empty() {
                    format!("The STIX objects the members of the sharing community {} share; TLP 2.0 applies among them.", c.name)
                } else {
                    c.description.clone()
                },
                "can_read": true,
                "can_write": true,
                "media_types": [STIX_MEDIA_TYPE],
            }),
            Served::Filter(f) => json!({
                "id": f.id,
                "title": f.title,
                "description": f.description,
                "can_read": true,
                "can_write": false,
                "media_types": [STIX_MEDIA_TYPE],
            }),
        }
    }
}

fn text(field: &str, value: &str, min: usize, max: usize) -> AppResult<String> {
    let value = value.trim();
    let n = value.chars().count();
    if n < min || n > max {
        return Err(invalid(
            field,
            if min > 0 {
                format!("must be {min} to {max} characters")
            } else {
                format!("must be at most {max} characters")
            },
        ));
    }
    if value.chars().any(|c| c.is_control() && c != '\n') {
        return Err(invalid(field, "must not hold control characters"));
    }
    Ok(value.to_owned())
}

fn member_views(members: &[CommunityMember], community: Uuid) -> Vec<MemberView> {
    members
        .iter()
        .filter(|m| m.community_id == community)
        .map(|m| MemberView {
            id: m.org_id,
            name: m.name.clone(),
        })
        .collect()
}

fn community_view(c: &CommunityRow, members: &[CommunityMember]) -> CommunityView {
    CommunityView {
        id: c.id,
        collection_id: c.id,
        name: c.name.clone(),
        description: c.description.clone(),
        organizations: member_views(members, c.id),
        created_at: c.created_at,
        updated_at: c.updated_at,
    }
}

impl App {
    /// The checked parts of a community definition: its name, description and member organisations.
    async fn community_parts(&self, input: &CommunityInput) -> AppResult<(String, String, Vec<Uuid>)> {
        let name = text("name", &input.name, 1, MAX_NAME_CHARS)?;
        let description = text("description", &input.description, 0, MAX_DESCRIPTION_CHARS)?;
        if input.organizations.is_empty() || input.organizations.len() > MAX_MEMBERS {
            return Err(invalid(
                "organizations",
                format!("must name 1 to {MAX_MEMBERS} organisations"),
            ));
        }
        let mut members = Vec::with_capacity(input.organizations.len());
        for (i, raw) in input.organizations.iter().enumerate() {
            let field = format!("organizations[{i}]");
            let id: Uuid = raw
                .trim()
                .parse()
                .map_err(|_| invalid(&field, "must be an organisation id"))?;
            if members.contains(&id) {
                return Err(invalid(&field, "names an organisation twice"));
            }
            if self.store.get_org(id).await?.is_none() {
                return Err(invalid(&field, "names no organisation"));
            }
            members.push(id);
        }
        Ok((name, description, members))
    }

    /// Defines a sharing community (coordinators).
    pub async fn create_taxii_community(
        &self,
        caller: &Caller,
        input: CommunityInput,
    ) -> AppResult<CommunityView> {
        if !policy::can_manage_taxii_communities(caller) {
            return Err(AppError::Forbidden(
                "only coordinators define sharing communities",
            ));
        }
        let (name, description, members) = self.community_parts(&input).await?;
        if self.store.taxii_communities().await?.len() >= MAX_COMMUNITIES {
            return Err(invalid(
                "name",
                format!("at most {MAX_COMMUNITIES} communities exist"),
            ));
        }
        let now = self.clock.now();
        let row = CommunityRow {
            id: Uuid::now_v7(),
            name,
            description,
            created_by: caller.user_id(),
            created_at: now,
            updated_at: now,
        };
        let event = self.event(
            caller.into(),
            "taxii_community.create",
            "taxii_community",
            Some(row.id),
            json!({"name": row.name, "organizations": members}),
        );
        self.store.create_taxii_community(&row, &members, &event).await?;
        self.taxii_community_view(Some(caller), row.id).await
    }

    /// Replaces a community's name, description and members (coordinators).
    pub async fn update_taxii_community(
        &self,
        caller: &Caller,
        id: Uuid,
        input: CommunityInput,
    ) -> AppResult<CommunityView> {
        if !policy::can_manage_taxii_communities(caller) {
            return Err(AppError::Forbidden(
                "only coordinators change sharing communities",
            ));
        }
        let Some(old) = self.store.taxii_community(id).await? else {
            return Err(AppError::NotFound("community"));
        };
        let (name, description, members) = self.community_parts(&input).await?;
        let row = CommunityRow {
            name,
            description,
            updated_at: self.clock.now(),
            ..old
        };
        let event = self.event(
            caller.into(),
            "taxii_community.update",
            "taxii_community",
            Some(row.id),
            json!({"name": row.name, "organizations": members}),
        );
        self.store.update_taxii_community(&row, &members, &event).await?;
        self.taxii_community_view(Some(caller), row.id).await
    }

    /// The communities the caller may see: every one for coordinators, their organisation's for others.
    pub async fn taxii_communities(&self, caller: &Caller) -> AppResult<Vec<CommunityView>> {
        let members = self.store.taxii_community_members(None).await?;
        let all = self.store.taxii_communities().await?;
        Ok(all
            .iter()
            .filter(|c| {
                policy::can_manage_taxii_communities(caller)
                    || policy::can_use_taxii_community(Some(caller), &member_ids(&members, c.id))
            })
            .map(|c| community_view(c, &members))
            .collect())
    }

    /// One community, for coordinators and its members; absent to anyone else.
    pub async fn taxii_community_view(&self, caller: Option<&Caller>, id: Uuid) -> AppResult<CommunityView> {
        let row = self
            .store
            .taxii_community(id)
            .await?
            .ok_or(AppError::NotFound("community"))?;
        let members = self.store.taxii_community_members(Some(id)).await?;
        let visible = caller.is_some_and(policy::can_manage_taxii_communities)
            || policy::can_use_taxii_community(caller, &member_ids(&members, id));
        if !visible {
            return Err(AppError::NotFound("community"));
        }
        Ok(community_view(&row, &members))
    }

    /// Defines a read-only collection by a filter (program administrators).
    pub async fn create_taxii_filter_collection(
        &self,
        caller: &Caller,
        input: FilterCollectionInput,
    ) -> AppResult<FilterCollectionView> {
        if !policy::can_define_taxii_collections(caller) {
            return Err(AppError::Forbidden(
                "only program administrators define collections",
            ));
        }
        let title = text("title", &input.title, 1, MAX_NAME_CHARS)?;
        let description = text("description", &input.description, 0, MAX_DESCRIPTION_CHARS)?;
        if input.types.len() > TYPES.len() {
            return Err(invalid("types", format!("lists at most {} types", TYPES.len())));
        }
        let mut types: Vec<String> = Vec::new();
        for (i, t) in input.types.iter().enumerate() {
            let t = t.trim();
            if t == "marking-definition" || !TYPES.contains(&t) {
                return Err(invalid(
                    format!("types[{i}]"),
                    "must be a STIX type this server stores (vulnerability, indicator, report, …)",
                ));
            }
            if types.iter().any(|s| s == t) {
                return Err(invalid(format!("types[{i}]"), "names a type twice"));
            }
            types.push(t.to_owned());
        }
        let tlp_ceiling = Tlp::parse(input.tlp_ceiling.trim())
            .map_err(|_| invalid("tlp_ceiling", "must be clear, green, amber, amber+strict or red"))?;
        // No community is the field left out (or null); anything given must be a community's id.
        let community = match input.community.as_deref() {
            None => None,
            Some(raw) => {
                let id: Uuid = raw
                    .parse()
                    .map_err(|_| invalid("community", "must be a community id"))?;
                if self.store.taxii_community(id).await?.is_none() {
                    return Err(invalid("community", "names no community"));
                }
                Some(id)
            }
        };
        if self.store.taxii_filter_collections().await?.len() >= MAX_FILTER_COLLECTIONS {
            return Err(invalid(
                "title",
                format!("at most {MAX_FILTER_COLLECTIONS} collections are defined"),
            ));
        }
        let row = FilterCollectionRow {
            id: Uuid::now_v7(),
            title,
            description,
            stix_types: types.join(","),
            tlp_ceiling,
            community_id: community,
            created_by: caller.user_id(),
            created_at: self.clock.now(),
        };
        let view = FilterCollectionView::from(&row);
        let event = self.event(
            caller.into(),
            "taxii_collection.create",
            "taxii_collection",
            Some(row.id),
            serde_json::to_value(&view).unwrap_or(Value::Null),
        );
        self.store.create_taxii_filter_collection(&row, &event).await?;
        Ok(view)
    }

    /// The collections defined by filters (program administrators).
    pub async fn taxii_filter_collections(&self, caller: &Caller) -> AppResult<Vec<FilterCollectionView>> {
        if !policy::can_define_taxii_collections(caller) {
            return Err(AppError::Forbidden(
                "only program administrators list collection definitions",
            ));
        }
        let rows = self.store.taxii_filter_collections().await?;
        Ok(rows.iter().map(FilterCollectionView::from).collect())
    }

    /// Removes a collection defined by a filter (program administrators); the objects stay.
    pub async fn delete_taxii_filter_collection(&self, caller: &Caller, id: Uuid) -> AppResult<()> {
        if !policy::can_define_taxii_collections(caller) {
            return Err(AppError::Forbidden(
                "only program administrators remove collections",
            ));
        }
        let event = self.event(
            caller.into(),
            "taxii_collection.delete",
            "taxii_collection",
            Some(id),
            json!({}),
        );
        if self.store.delete_taxii_filter_collection(id, &event).await? {
            Ok(())
        } else {
            Err(AppError::NotFound("collection"))
        }
    }

    /// The communities the caller's organisation is a member of.
    async fn communities_of(&self, caller: Option<&Caller>) -> AppResult<Vec<Uuid>> {
        match caller {
            None => Ok(Vec::new()),
            Some(c) => Ok(self.store.taxii_communities_of(c.org_id()).await?),
        }
    }

    /// Every collection the caller may read something in, in TAXII's `collections/` order: the TLP
    /// markings' (as before: all five, `can_read` saying which), then the communities they are members of,
    /// then those defined by filters (of no community, or of one they are a member of).
    pub async fn taxii_collections(&self, caller: Option<&Caller>) -> AppResult<Vec<Served>> {
        let mine = self.communities_of(caller).await?;
        let mut served: Vec<Served> = Collection::all().into_iter().map(Served::Marking).collect();
        for c in self.store.taxii_communities().await? {
            if policy::can_use_taxii_community(caller, &member_of(caller, &mine, c.id)) {
                served.push(Served::Community(c));
            }
        }
        for f in self.store.taxii_filter_collections().await? {
            let readable = match f.community_id {
                None => true,
                Some(c) => policy::can_use_taxii_community(caller, &member_of(caller, &mine, c)),
            };
            if readable {
                served.push(Served::Filter(f));
            }
        }
        Ok(served)
    }

    /// The collection a TAXII path names, if the caller may use it; anything else is absent, as an id that
    /// names nothing.
    pub async fn taxii_collection(&self, caller: Option<&Caller>, id: &str) -> AppResult<Served> {
        if let Some(c) = Collection::find(id) {
            return Ok(Served::Marking(c));
        }
        let id = Uuid::parse_str(id).map_err(|_| AppError::NotFound("collection"))?;
        self.taxii_collections(caller)
            .await?
            .into_iter()
            .find(|s| s.id() == id)
            .ok_or(AppError::NotFound("collection"))
    }

    /// A page of any collection's objects or manifest, as the caller may read them.
    pub async fn taxii_read(
        &self,
        caller: Option<&Caller>,
        served: &Served,
        filter: &TaxiiFilter,
        listing: Listing,
    ) -> AppResult<TaxiiPage> {
        let q = match served {
            Served::Marking(c) => return self.taxii_page(caller, *c, filter, listing).await,
            Served::Community(c) => {
                let mut q = query(Tlp::Clear, filter)?;
                q.markings = Some(Tlp::ALL.to_vec());
                q.community = Some(c.id);
                q
            }
            Served::Filter(f) => {
                let mut q = query(Tlp::Clear, filter)?;
                q.markings = Some(Tlp::ALL.into_iter().filter(|t| *t <= f.tlp_ceiling).collect());
                q.community = f.community_id;
                let wanted = f.types();
                if !wanted.is_empty() {
                    q.types = Some(match q.types.take() {
                        None => wanted,
                        // Both the filter and `match[type]`: the types in both (none, an empty page).
                        Some(asked) => asked.into_iter().filter(|t| wanted.contains(t)).collect(),
                    });
                }
                q
            }
        };
        if q.types.as_ref().is_some_and(Vec::is_empty) {
            return Ok(TaxiiPage {
                items: Vec::new(),
                more: false,
                next: None,
                first_added: None,
                last_added: None,
            });
        }
        self.taxii_query_page(caller, q, listing).await
    }

    /// The versions of one object in any collection, oldest first. An object the caller may not read is
    /// absent, as one that does not exist.
    pub async fn taxii_versions_in(
        &self,
        caller: Option<&Caller>,
        served: &Served,
        object: &str,
        filter: &TaxiiFilter,
    ) -> AppResult<TaxiiPage> {
        let mut filter = filter.clone();
        filter.ids = Some(object.to_owned());
        filter.versions = Some("all".to_owned());
        let page = self
            .taxii_read(caller, served, &filter, Listing::Manifest)
            .await?;
        if page.items.is_empty() && filter.next.is_none() {
            return Err(AppError::NotFound("object"));
        }
        Ok(TaxiiPage {
            items: manifest_versions(&page.items),
            ..page
        })
    }

    /// Posts an envelope to any collection: a marking's (`taxii_post`), a community's, or none of those
    /// defined by filters (read-only).
    pub async fn taxii_post_to(
        &self,
        caller: Option<&Caller>,
        served: &Served,
        body: &[u8],
    ) -> AppResult<PostOutcome> {
        match served {
            Served::Marking(c) => self.taxii_post(caller, *c, body).await,
            Served::Community(c) => self.taxii_post_community(caller, c, body).await,
            Served::Filter(_) => match caller {
                None => Err(AppError::Unauthenticated),
                Some(_) => Err(AppError::Forbidden(
                    "this collection is defined by a filter and read-only",
                )),
            },
        }
    }

    /// Deletes a posted object from a marking's collection (`taxii_delete`); community and filter
    /// collections delete nothing over TAXII.
    pub async fn taxii_delete_in(
        &self,
        caller: Option<&Caller>,
        served: &Served,
        object: &str,
        versions: Option<&str>,
    ) -> AppResult<u64> {
        match served {
            Served::Marking(c) => self.taxii_delete(caller, *c, object, versions).await,
            _ => match caller {
                None => Err(AppError::Unauthenticated),
                Some(_) => Err(AppError::Forbidden(
                    "objects are not deleted from this collection over TAXII",
                )),
            },
        }
    }

    /// Posts an envelope to a community's collection (the caller is a member: `taxii_collection` found it).
    /// Checked whole as any post; then each object is stored under its own marking (TLP:GREEN when it names
    /// none) with the community's id, unless its id is held elsewhere (another organisation, another
    /// collection, our advisories) or the version is stored. Nothing is filed as a report.
    async fn taxii_post_community(
        &self,
        caller: Option<&Caller>,
        community: &CommunityRow,
        body: &[u8],
    ) -> AppResult<PostOutcome> {
        let Some(caller) = caller else {
            return Err(AppError::Unauthenticated);
        };
        let checked = match stix_import::check_envelope(body) {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        let now = self.clock.now();
        let marking = |c: &stix_import::Checked| c.tlp.unwrap_or(Tlp::Green);
        let mut by_tlp: BTreeMap<Tlp, BTreeSet<String>> = BTreeMap::new();
        for c in &checked {
            by_tlp.entry(marking(c)).or_default().insert(c.id.clone());
        }
        let mut held: BTreeMap<(Tlp, String), (bool, BTreeSet<String>)> = BTreeMap::new();
        for (tlp, ids) in &by_tlp {
            let ids: Vec<String> = ids.iter().cloned().collect();
            for o in self.store.stix_origins(*tlp, &ids).await? {
                let entry = held.entry((*tlp, o.stix_id)).or_default();
                entry.0 |= o.advisory_id.is_some()
                    || o.added_org != Some(caller.org_id())
                    || o.community_id != Some(community.id);
                entry.1.insert(o.version);
            }
        }
        let (mut successes, mut failures, mut rows) = (Vec::new(), Vec::new(), Vec::new());
        let mut seen = BTreeSet::new();
        for c in &checked {
            let version = stix::version_key(c.version);
            let shown = stix::version_text(&version);
            if c.stix_type == "marking-definition" {
                successes.push(outcome(&c.id, &shown, Some(MARKING_DEFINITION_NOTE.into())));
                continue;
            }
            let tlp = marking(c);
            let (foreign, versions) = held.get(&(tlp, c.id.clone())).cloned().unwrap_or_default();
            if foreign {
                failures.push(outcome(
                    &c.id,
                    &shown,
                    Some("this id belongs to an object held elsewhere".into()),
                ));
                continue;
            }
            if versions.contains(&version) || !seen.insert((c.id.clone(), version.clone())) {
                failures.push(outcome(
                    &c.id,
                    &shown,
                    Some("this version of the object is already stored".into()),
                ));
                continue;
            }
            rows.push(posted_row(caller, c, tlp, version, now, None));
            successes.push(outcome(&c.id, &shown, None));
        }
        let status = post_status(caller, Tlp::Green, now, checked.len(), successes, failures);
        let stored = rows.iter().map(|r| json!({"id": r.stix_id})).collect();
        let event = self.taxii_post_event(caller, community.id, &status, stored);
        self.store
            .record_community_post(community.id, &status, &rows, &event)
            .await?;
        Ok(Ok(status_resource(&status)?))
    }
}

fn member_ids(members: &[CommunityMember], community: Uuid) -> Vec<Uuid> {
    members
        .iter()
        .filter(|m| m.community_id == community)
        .map(|m| m.org_id)
        .collect()
}

/// The caller's organisation as the one member policy needs to see, when it is a member of `community`.
fn member_of(caller: Option<&Caller>, mine: &[Uuid], community: Uuid) -> Vec<Uuid> {
    match caller {
        Some(c) if mine.contains(&community) => vec![c.org_id()],
        _ => Vec::new(),
    }
}
