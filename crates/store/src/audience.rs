//! Audiences: which rows a reader may see, as `app::policy` decides it, compiled into each query's `WHERE`.
//!
//! Every read of notices, findings, assessments and audit events takes an `Audience` and returns only what
//! it may see: a list page holds as many visible rows as asked for while more exist (nothing is filtered
//! after the `LIMIT`), and an invisible row reads exactly like one that does not exist. The SQL of each rule
//! is written once, in the macros below, and shared by the list and the single-row queries.

pub use kernel::{Audience, EventReaders};

use crate::{Assessment, AuditEvent, Finding, Notice, Result};
use async_trait::async_trait;
use uuid::Uuid;

/// A page of the audit trail as one reader sees it.
#[derive(Debug, Clone)]
pub struct EventQuery {
    pub audience: Audience,
    /// The readers of each kind of event (`app::policy::EVENT_KINDS`); other kinds are left out.
    pub kinds: &'static [(&'static str, EventReaders)],
    /// Only the events about this object.
    pub object_id: Option<Uuid>,
    /// Only this event.
    pub event_id: Option<Uuid>,
    /// Events after this position in the trail (before it, newest first).
    pub after: Option<i64>,
    pub limit: i64,
    /// The audit page's order and filters (none by default: oldest first).
    pub trail: TrailFilter,
}

/// How a reader of the whole trail narrows and orders it.
#[derive(Debug, Clone, Default)]
pub struct TrailFilter {
    pub newest_first: bool,
    pub action: Option<String>,
    pub actor_user_id: Option<Uuid>,
    pub object_type: Option<String>,
    /// Events at or after `from` and before `until`.
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    pub until: Option<chrono::DateTime<chrono::Utc>>,
}

/// Reads that return only what an audience may see.
#[async_trait]
pub trait AudienceStore {
    /// The notice, if the audience may see it.
    async fn visible_notice(&self, id: Uuid, audience: &Audience) -> Result<Option<Notice>>;
    /// A page of a notice's findings the audience may see, searched and ordered as `list` says.
    async fn list_findings(
        &self,
        notice_id: Uuid,
        audience: &Audience,
        list: &crate::FindingList,
    ) -> Result<Vec<Finding>>;
    async fn visible_finding(&self, id: Uuid, audience: &Audience) -> Result<Option<Finding>>;
    /// A notice's assessments the audience may see, by id.
    async fn list_assessments(
        &self,
        notice_id: Uuid,
        audience: &Audience,
        page: &crate::Page<Uuid>,
    ) -> Result<Vec<Assessment>>;
    async fn visible_assessment(&self, id: Uuid, audience: &Audience) -> Result<Option<Assessment>>;
    /// Audit events the audience may see, in trail order.
    async fn list_events(&self, query: &EventQuery) -> Result<Vec<AuditEvent>>;
}

/// Whether the notice `n` is visible to the reader whose developer and agency organisations are the SQL
/// expressions `$developer` and `$agency`: filed by the developer, or shared with the agency (by name, or with
/// every agency).
///
/// `OFFSET 0` keeps PostgreSQL from turning the share check into a hash of every notice shared with the
/// agency, built anew for each page (its choice ignores the LIMIT); probing the primary key for the few rows
/// a page reads is cheaper.
macro_rules! notice_visible {
    ($developer:literal, $agency:literal) => {
        concat!(
            "((",
            $developer,
            " IS NOT NULL AND n.developer_org_id = ",
            $developer,
            ") OR (",
            $agency,
            " IS NOT NULL AND (n.shared_with_all OR EXISTS (SELECT 1 FROM shares s WHERE s.object_id = n.id \
             AND s.org_id = ",
            $agency,
            " LIMIT 1 OFFSET 0))))"
        )
    };
}
pub(crate) use notice_visible;

/// Whether the finding or assessment `w` of the notice `n` is visible: the notice is, and the reader is its
/// developer, or the agency that wrote it, or an agency it was shared with.
macro_rules! work_visible {
    ($developer:literal, $agency:literal) => {
        concat!(
            "(",
            $crate::audience::notice_visible!($developer, $agency),
            " AND (n.developer_org_id = ",
            $developer,
            " OR w.org_id = ",
            $agency,
            " OR EXISTS (SELECT 1 FROM shares ws WHERE ws.object_id = w.id AND ws.org_id = ",
            $agency,
            ")))"
        )
    };
}
pub(crate) use work_visible;

/// A page of a notice's findings or assessments (`$table`) the reader may see: `$1`/`$2` the reader's
/// developer and agency organisations, `$3` the notice, `$4` the cursor, `$5` the page size.
macro_rules! work_page {
    ($table:literal) => {
        $crate::audience::work_page!($table, "1 = 1")
    };
    ($table:literal, $also:expr) => {
        concat!(
            "SELECT w.* FROM ",
            $table,
            " w JOIN notices n ON n.id = w.notice_id WHERE w.notice_id = $3 AND ($4 IS NULL OR w.id > $4) AND ",
            $crate::audience::work_visible!("$1", "$2"),
            " AND ",
            $also,
            " ORDER BY w.id LIMIT $5"
        )
    };
}
pub(crate) use work_page;

/// One finding or assessment (`$table`, id `$3`) if the reader may see it.
macro_rules! work_one {
    ($table:literal) => {
        $crate::audience::work_one!($table, "1 = 1")
    };
    ($table:literal, $also:expr) => {
        concat!(
            "SELECT w.* FROM ",
            $table,
            " w JOIN notices n ON n.id = w.notice_id WHERE w.id = $3 AND ",
            $crate::audience::work_visible!("$1", "$2"),
            " AND ",
            $also
        )
    };
}
pub(crate) use work_one;

/// A draft assessment `w` is visible to the agency that wrote it only (`$agency`), until published.
macro_rules! draft_visible {
    ($agency:literal) => {
        concat!("(NOT w.draft OR w.org_id = ", $agency, ")")
    };
}
pub(crate) use draft_visible;

/// Whether the object `$object` is shared with no organisation but the reader's agency: an event that lists
/// whom it is shared with then names no one the reader may not know of.
macro_rules! shared_with_reader_alone {
    ($object:literal) => {
        concat!(
            "NOT EXISTS (SELECT 1 FROM shares so WHERE so.object_id = ",
            $object,
            " AND so.org_id <> r.agency_org)"
        )
    };
}

/// The condition under which the reader `r` may see the event `e` of a kind with these readers.
pub(crate) fn event_condition(readers: EventReaders) -> &'static str {
    match readers {
        EventReaders::Everyone => "1 = 1",
        EventReaders::ProgramAdmins => "r.program_admin",
        EventReaders::Organization => "(r.program_admin OR (r.org_admin AND e.object_id = r.org_id))",
        EventReaders::Person => {
            "(r.program_admin OR e.object_id = r.user_id OR (r.org_admin AND EXISTS (SELECT 1 FROM users u \
             WHERE u.id = e.object_id AND u.org_id = r.org_id)))"
        }
        EventReaders::ApiTokenHolder => {
            "(r.program_admin OR EXISTS (SELECT 1 FROM api_tokens k JOIN users u ON u.id = k.user_id \
             WHERE k.id = e.object_id AND (k.user_id = r.user_id OR (r.org_admin AND u.org_id = r.org_id))))"
        }
        EventReaders::NoticeReaders => concat!(
            "(r.program_admin OR EXISTS (SELECT 1 FROM notices n WHERE n.id = e.object_id AND ",
            notice_visible!("r.developer_org", "r.agency_org"),
            "))"
        ),
        EventReaders::NoticeFiling => concat!(
            "(r.program_admin OR EXISTS (SELECT 1 FROM notices n WHERE n.id = e.object_id AND ",
            notice_visible!("r.developer_org", "r.agency_org"),
            " AND (n.developer_org_id = r.developer_org OR ",
            shared_with_reader_alone!("n.id"),
            ")))"
        ),
        EventReaders::NoticeDeveloper => {
            "(r.program_admin OR EXISTS (SELECT 1 FROM notices n WHERE n.id = e.object_id \
             AND n.developer_org_id = r.developer_org))"
        }
        EventReaders::Assignment => concat!(
            "(r.program_admin OR EXISTS (SELECT 1 FROM notices n WHERE n.id = e.object_id AND ",
            notice_visible!("r.developer_org", "r.agency_org"),
            " AND (n.developer_org_id = r.developer_org OR e.actor_org_id = r.agency_org)))"
        ),
        EventReaders::AgencyWork => concat!(
            "(r.program_admin OR EXISTS (SELECT 1 FROM findings w JOIN notices n ON n.id = w.notice_id \
             WHERE w.id = e.object_id AND ",
            work_visible!("r.developer_org", "r.agency_org"),
            " AND (n.developer_org_id = r.developer_org OR w.org_id = r.agency_org OR ",
            shared_with_reader_alone!("w.id"),
            ")) OR EXISTS (SELECT 1 FROM assessments w JOIN notices n ON n.id = w.notice_id \
             WHERE w.id = e.object_id AND ",
            work_visible!("r.developer_org", "r.agency_org"),
            " AND ",
            draft_visible!("r.agency_org"),
            " AND (n.developer_org_id = r.developer_org OR w.org_id = r.agency_org OR ",
            shared_with_reader_alone!("w.id"),
            ")))"
        ),
        EventReaders::Connection => {
            "((r.program_admin AND (e.details ->> 'base_url') IS NULL AND (e.details ->> 'upstream_model') IS NULL) \
             OR EXISTS (SELECT 1 FROM model_connections c JOIN notices n ON n.id = c.notice_id \
             WHERE c.id = e.object_id AND n.developer_org_id = r.developer_org))"
        }
        EventReaders::Report => concat!(
            "EXISTS (SELECT 1 FROM reports x LEFT JOIN cases c ON c.id = x.case_id WHERE x.id = e.object_id AND ",
            crate::tlp::tlp_admits!(
                tlp: "x.tlp",
                object: "x.id",
                owner_org: "x.org_id",
                owner_user: "x.reporter_id",
                case: "x.case_id",
                published: "c.published_at IS NOT NULL",
                reader: ("TRUE", "r.user_id", "r.org_id", "r.coordinator"),
            ),
            ")"
        ),
        EventReaders::Case => concat!(
            "EXISTS (SELECT 1 FROM cases c WHERE c.id = e.object_id AND ",
            crate::tlp::tlp_admits!(
                tlp: "c.tlp",
                object: "c.id",
                owner_org: "NULL",
                owner_user: "c.created_by",
                case: "c.id",
                published: "c.published_at IS NOT NULL",
                reader: ("TRUE", "r.user_id", "r.org_id", "r.coordinator"),
            ),
            ")"
        ),
        EventReaders::EvalRun => concat!(
            "(r.program_admin OR EXISTS (SELECT 1 FROM eval_runs w JOIN notices n ON n.id = w.notice_id \
             WHERE w.id = e.object_id AND ",
            work_visible!("r.developer_org", "r.agency_org"),
            "))"
        ),
        EventReaders::GatewayToken => {
            "(r.program_admin OR EXISTS (SELECT 1 FROM gateway_tokens g JOIN notices n ON n.id = g.notice_id \
             WHERE g.id = e.object_id AND (n.developer_org_id = r.developer_org OR g.user_id = r.user_id \
             OR (r.org_admin AND g.org_id = r.org_id))))"
        }
    }
}

/// The person who acted, and the admins of their organisation, know every fact of their own actions.
pub(crate) const ACTOR_CONDITION: &str =
    "(e.actor_user_id = r.user_id OR (r.org_admin AND e.actor_org_id = r.org_id))";
