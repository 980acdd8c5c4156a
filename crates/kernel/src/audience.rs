//! Who reads: the audience value that `app::policy` computes for a caller and every store compiles into its
//! queries, and the readers of each kind of event. Shared by every domain, so that each domain's store and
//! policy speak of visibility in the same terms.

use uuid::Uuid;

/// The reader, in the terms the visibility rules use. `app::policy::audience` builds it from the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Audience {
    pub user_id: Uuid,
    pub org_id: Uuid,
    /// An admin of `org_id`: sees what its people did.
    pub org_admin: bool,
    /// A program administrator: sees events of every kind the policy lets them (see `EventReaders`).
    pub program_admin: bool,
    /// A clearinghouse coordinator: reads clearinghouse objects as `TlpAudience::coordinator` says.
    pub coordinator: bool,
    /// Sees the notices this organisation filed, with all their findings and assessments.
    pub developer_org: Option<Uuid>,
    /// Sees the notices shared with this organisation (by name or with every agency), and of their findings
    /// and assessments those it wrote or was given.
    pub agency_org: Option<Uuid>,
}

/// Who may see an event of a kind, beside the person who acted and the admins of their organisation (who
/// know every fact of their own actions). `app::policy::EVENT_KINDS` gives each kind of event its readers;
/// a kind it does not name is seen by no one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventReaders {
    /// Every signed-in person (facts that are public anyway, like the ledger's key).
    Everyone,
    /// Program administrators.
    ProgramAdmins,
    /// The admins of the organisation the event is about, and program administrators.
    Organization,
    /// The person the event is about, the admins of their organisation, and program administrators.
    Person,
    /// The holder of the API token the event is about, the admins of their organisation, and program
    /// administrators.
    ApiTokenHolder,
    /// Everyone who may see the notice, and program administrators.
    NoticeReaders,
    /// A notice's filing names every agency it is shared with: its developer, an agency only when the notice
    /// names no other agency (shared with every agency, or with it alone), and program administrators.
    NoticeFiling,
    /// An edit of a notice names the agencies it was and is shared with, and the evaluators whose access ended:
    /// the notice's developer, and program administrators.
    NoticeDeveloper,
    /// An assignment names an agency's evaluator: the notice's developer, the people of the agency that
    /// assigned (who may see the notice), and program administrators.
    Assignment,
    /// A finding's or assessment's publication names the agencies it is shared with: the notice's developer,
    /// the agency that wrote it, an agency it was given only when it names no other agency, and program
    /// administrators.
    AgencyWork,
    /// A model connection's settings are the developer's: the notice's developer, and program administrators
    /// only when the event names no upstream (`base_url`, `upstream_model`; events written before those were
    /// left out of connection events name them).
    Connection,
    /// A gateway token: the notice's developer, the token's holder, the admins of the holder's agency, and
    /// program administrators.
    GatewayToken,
    /// An evaluation run: whoever may see the run (as its evaluator's findings: the notice's developer, the
    /// evaluator's agency), and program administrators.
    EvalRun,
    /// Whoever may read the clearinghouse report the event is about (TLP 2.0 and its case's embargo, as
    /// `store::tlp::tlp_admits!` decides).
    Report,
    /// Whoever may read the clearinghouse case the event is about (its TLP marking and embargo).
    Case,
}

/// A reader of the clearinghouse, in the terms of its TLP rules (`store::tlp::tlp_admits!`).
/// `app::policy::tlp_audience` builds it; the public (not signed in) is `TlpAudience::PUBLIC`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlpAudience {
    /// A signed-in member of an active organisation (GREEN).
    pub signed_in: bool,
    /// The person (RED, their own reports); nil for the public.
    pub user_id: Uuid,
    /// Their organisation (owner, case participant, named client); nil for the public.
    pub org_id: Uuid,
    /// A coordinator, a member of the clearinghouse: sees every object but RED ones not naming them.
    pub coordinator: bool,
}

impl TlpAudience {
    pub const PUBLIC: TlpAudience = TlpAudience {
        signed_in: false,
        user_id: Uuid::nil(),
        org_id: Uuid::nil(),
        coordinator: false,
    };
}
