//! The one rule of who may read a clearinghouse object, as SQL compiled into every query that reads one
//! (reports, attachments, cases, advisories), so lists hold only readable rows before their `LIMIT` and an
//! unreadable object reads as absent. `clearinghouse::tlp` states the rule in words; the reader's side is
//! `kernel::TlpAudience`, built by `app::policy::tlp_audience`. `TlpStore` writes who an object is shared with
//! by name (its SQL in `queries/tlp.rs`).

use crate::{AuditEvent, Result};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// An object that TLP:AMBER clients are named on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlpObject {
    Report,
    Case,
}

/// A client organisation named on an AMBER object (`tlp_clients`), and the recipient organisation that
/// named it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TlpClient {
    pub org_id: Uuid,
    pub name: String,
    pub named_by: Uuid,
}

/// The people and organisations an object is shared with by name (TLP:RED people, TLP:AMBER clients).
#[async_trait]
pub trait TlpStore: Send + Sync + 'static {
    /// The client organisations named on an object, by name.
    async fn tlp_clients(&self, object: Uuid) -> Result<Vec<TlpClient>>;
    /// Of these organisations, the active ones.
    async fn active_orgs(&self, ids: &[Uuid]) -> Result<Vec<Uuid>>;
    /// Replaces the client organisations named on an AMBER object with `clients` (those kept keep who named
    /// them; new ones are named by `named_by`), bumps the object's version and modified time and records the
    /// event, in one transaction, only while the object is TLP:AMBER at `version`. `None` when it is not
    /// (anymore): nothing changed.
    #[allow(clippy::too_many_arguments)]
    async fn set_tlp_clients(
        &self,
        kind: TlpObject,
        object: Uuid,
        version: i64,
        clients: &[Uuid],
        named_by: Uuid,
        at: DateTime<Utc>,
        event: &AuditEvent,
    ) -> Result<Option<i64>>;
}

/// Whether the reader may read an object: true for the person who shared it; for RED, the people named in
/// `tlp_people`; otherwise its owner organisation, coordinators and the case's notified participants, and,
/// once the case is published (or for an object in no case), whoever the marking admits: anyone for CLEAR,
/// any signed-in member for GREEN, the client organisations named in `tlp_clients` for AMBER.
///
/// Every argument is a SQL literal: `tlp`, `object`, `owner_org`, `owner_user` and `case` name the object's
/// columns (`case` may be `NULL`), `published` is a condition true once its case is out of embargo, and the
/// reader is four parameters: signed in (bool), person, organisation, coordinator (bool).
macro_rules! tlp_admits {
    (
        tlp: $tlp:literal,
        object: $object:literal,
        owner_org: $owner_org:literal,
        owner_user: $owner_user:literal,
        case: $case:literal,
        published: $published:literal,
        reader: ($signed_in:literal, $user:literal, $org:literal, $coordinator:literal) $(,)?
    ) => {
        concat!(
            "(",
            $owner_user,
            " = ",
            $user,
            " OR (",
            $tlp,
            " = 'red' AND EXISTS (SELECT 1 FROM tlp_people tp WHERE tp.object_id = ",
            $object,
            " AND tp.user_id = ",
            $user,
            "))",
            " OR (",
            $tlp,
            " <> 'red' AND (",
            $owner_org,
            " = ",
            $org,
            " OR ",
            $coordinator,
            " OR EXISTS (SELECT 1 FROM case_participants cp WHERE cp.case_id = ",
            $case,
            " AND cp.org_id = ",
            $org,
            " AND cp.notified_at IS NOT NULL)",
            " OR ((",
            $case,
            " IS NULL OR ",
            $published,
            ") AND (",
            $tlp,
            " = 'clear'",
            " OR (",
            $tlp,
            " = 'green' AND ",
            $signed_in,
            ")",
            " OR (",
            $tlp,
            " = 'amber' AND EXISTS (SELECT 1 FROM tlp_clients tc WHERE tc.object_id = ",
            $object,
            " AND tc.client_org_id = ",
            $org,
            "))",
            ")))))"
        )
    };
}
pub(crate) use tlp_admits;

/// The condition that `column` holds one of `markings` (names of the closed set `Tlp`, never a caller's
/// text, so they are written into the SQL): `FALSE` for none.
pub(crate) fn marking_in(column: &str, markings: &[clearinghouse::tlp::Tlp]) -> String {
    if markings.is_empty() {
        return "FALSE".to_owned();
    }
    let names: Vec<String> = markings.iter().map(|m| format!("'{}'", m.as_str())).collect();
    format!("{column} IN ({})", names.join(", "))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_fragment_names_every_column_and_parameter_it_is_given() {
        let sql = tlp_admits!(
            tlp: "r.tlp",
            object: "r.id",
            owner_org: "r.org_id",
            owner_user: "r.reporter_id",
            case: "r.case_id",
            published: "c.published_at IS NOT NULL",
            reader: ("$1", "$2", "$3", "$4"),
        );
        for part in [
            "r.tlp",
            "r.id",
            "r.org_id",
            "r.reporter_id",
            "r.case_id",
            "c.published_at",
            "$1",
            "$2",
            "$3",
            "$4",
        ] {
            assert!(sql.contains(part), "{part} missing from {sql}");
        }
        assert_eq!(sql.matches('(').count(), sql.matches(')').count(), "{sql}");
    }
}
