//! TLP:AMBER's named clients: the recipient organisations of an AMBER report or case may share it with "the
//! clients they name". Naming them writes `tlp_clients`, which the store's `tlp_admits!` reads; who may name
//! them is `policy::can_name_tlp_clients`. (TLP:RED's named people are given when a report is filed.)

use super::invalid;
use crate::{App, AppError, AppResult, Caller, policy};
use clearinghouse::tlp::Tlp;
use serde::{Deserialize, Serialize};
use serde_json::json;
use store::{TlpClient, TlpObject};
use uuid::Uuid;

/// The most client organisations named on one object.
pub const MAX_TLP_CLIENTS: usize = 50;

/// `PUT …/tlp-clients`: the whole list of client organisations, replacing the one named before.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlpClientsInput {
    pub organizations: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TlpClientView {
    pub id: Uuid,
    pub name: String,
}

/// The clients named on an object, as a reader of it sees them.
#[derive(Debug, Clone, Serialize)]
pub struct TlpClientsView {
    pub object_id: Uuid,
    pub tlp: Tlp,
    pub tlp_label: &'static str,
    pub organizations: Vec<TlpClientView>,
    /// The object's version (after the change, for a `PUT`).
    pub version: i64,
}

/// The object whose clients are read or named: its kind, marking, version and owner organisation.
struct Named {
    kind: TlpObject,
    id: Uuid,
    tlp: Tlp,
    version: i64,
    owner_org: Option<Uuid>,
}

impl Named {
    fn noun(&self) -> &'static str {
        match self.kind {
            TlpObject::Report => "report",
            TlpObject::Case => "case",
        }
    }
}

/// The organisation ids of the input: well-formed, distinct, at most `MAX_TLP_CLIENTS`.
fn parse_ids(input: &TlpClientsInput) -> AppResult<Vec<Uuid>> {
    if input.organizations.len() > MAX_TLP_CLIENTS {
        return Err(invalid(
            "organizations",
            format!("names at most {MAX_TLP_CLIENTS} organisations"),
        ));
    }
    let mut ids: Vec<Uuid> = Vec::with_capacity(input.organizations.len());
    for (i, raw) in input.organizations.iter().enumerate() {
        let id: Uuid = raw
            .trim()
            .parse()
            .map_err(|_| invalid(format!("organizations[{i}]"), "must be an organisation id"))?;
        if ids.contains(&id) {
            return Err(invalid(
                format!("organizations[{i}]"),
                "names an organisation twice",
            ));
        }
        ids.push(id);
    }
    Ok(ids)
}

impl App {
    async fn named_object(&self, caller: Option<&Caller>, kind: TlpObject, id: Uuid) -> AppResult<Named> {
        let reader = policy::tlp_audience(caller);
        Ok(match kind {
            TlpObject::Report => {
                let r = self
                    .store
                    .readable_report(id, &reader)
                    .await?
                    .ok_or(AppError::NotFound("report"))?;
                Named {
                    kind,
                    id: r.id,
                    tlp: r.tlp,
                    version: r.version,
                    owner_org: Some(r.org_id),
                }
            }
            TlpObject::Case => {
                let c = self
                    .store
                    .visible_case(id, &reader)
                    .await?
                    .ok_or(AppError::NotFound("case"))?;
                Named {
                    kind,
                    id: c.id,
                    tlp: c.tlp,
                    version: c.version,
                    owner_org: None,
                }
            }
        })
    }

    fn clients_view(named: &Named, clients: Vec<TlpClient>, version: i64) -> TlpClientsView {
        let mut organizations: Vec<TlpClientView> = Vec::with_capacity(clients.len());
        for c in clients {
            if !organizations.iter().any(|o| o.id == c.org_id) {
                organizations.push(TlpClientView {
                    id: c.org_id,
                    name: c.name,
                });
            }
        }
        TlpClientsView {
            object_id: named.id,
            tlp: named.tlp,
            tlp_label: named.tlp.label(),
            organizations,
            version,
        }
    }

    /// The client organisations named on a report or case the caller may read (none unless it is AMBER).
    pub async fn tlp_clients(
        &self,
        caller: Option<&Caller>,
        kind: TlpObject,
        id: Uuid,
    ) -> AppResult<TlpClientsView> {
        let named = self.named_object(caller, kind, id).await?;
        let clients = if named.tlp == Tlp::Amber {
            self.store.tlp_clients(named.id).await?
        } else {
            Vec::new()
        };
        Ok(Self::clients_view(&named, clients, named.version))
    }

    /// Names the client organisations of an AMBER report (its organisation, or coordinators) or case
    /// (coordinators), replacing the list named before; audited, and the object's version is bumped.
    pub async fn set_tlp_clients(
        &self,
        caller: &Caller,
        kind: TlpObject,
        id: Uuid,
        input: TlpClientsInput,
    ) -> AppResult<TlpClientsView> {
        let named = self.named_object(Some(caller), kind, id).await?;
        if !policy::can_name_tlp_clients(caller, named.owner_org) {
            return Err(AppError::Forbidden(match kind {
                TlpObject::Report => "only the report's organisation or coordinators name its clients",
                TlpObject::Case => "only coordinators name a case's clients",
            }));
        }
        if named.tlp != Tlp::Amber {
            return Err(AppError::Conflict(format!(
                "clients are named only on TLP:AMBER; this {} is {}",
                named.noun(),
                named.tlp.label()
            )));
        }
        let ids = parse_ids(&input)?;
        let active = self.store.active_orgs(&ids).await?;
        if let Some(i) = ids.iter().position(|id| !active.contains(id)) {
            return Err(invalid(
                format!("organizations[{i}]"),
                "is not an active organisation",
            ));
        }
        let event = self.event(
            caller.into(),
            match kind {
                TlpObject::Report => "report.tlp_clients",
                TlpObject::Case => "case.tlp_clients",
            },
            named.noun(),
            Some(named.id),
            json!({"organizations": ids}),
        );
        let version = self
            .store
            .set_tlp_clients(
                kind,
                named.id,
                named.version,
                &ids,
                caller.org_id(),
                self.clock.now(),
                &event,
            )
            .await?
            .ok_or_else(|| {
                AppError::Conflict(format!("the {} changed meanwhile; read it again", named.noun()))
            })?;
        match kind {
            TlpObject::Report => self.record_report_stix(named.id).await,
            TlpObject::Case => self.record_case_stix(named.id).await,
        }
        let clients = self.store.tlp_clients(named.id).await?;
        Ok(Self::clients_view(&named, clients, version))
    }
}
