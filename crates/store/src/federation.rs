//! Federation with other clearinghouses: the peers we follow over TAXII 2.1 and the objects pulled from them
//! (rows of `stix_objects` with their origin). The rules (who registers peers, the pull's bounds, the mapping to
//! intake) live in `app::federation`. The SQL is in `queries/federation.rs`, compiled once per backend.

use crate::taxii::StixObjectRow;
use crate::{AuditEvent, Page, Result};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use clearinghouse::tlp::Tlp;
use kernel::TlpAudience;
use uuid::Uuid;

/// A peer clearinghouse. `Debug` leaves the sealed credential out.
#[derive(Clone, PartialEq, sqlx::FromRow)]
pub struct PeerRow {
    pub id: Uuid,
    pub name: String,
    /// The peer's TAXII API root, ending in `/`.
    pub api_root: String,
    /// The peer's collection we follow.
    pub collection_id: String,
    /// Set for HTTP Basic (the token is the password); `None` sends the token as Bearer.
    pub username: Option<String>,
    /// The API token, sealed under the master key.
    pub sealed_secret: Vec<u8>,
    /// The marking the peer's objects get here at the least.
    #[sqlx(try_from = "String")]
    pub tlp: Tlp,
    pub interval_seconds: i64,
    pub enabled: bool,
    /// The peer's collection we publish to, if any.
    pub publish_collection_id: Option<String>,
    /// The peer's `X-TAXII-Date-Added-Last` of the last committed page.
    pub pull_cursor: Option<String>,
    /// The date added (ours) of the last object published to the peer.
    pub push_cursor: Option<DateTime<Utc>>,
    pub next_run_at: DateTime<Utc>,
    pub failures: i32,
    pub pulled_objects: i64,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    /// Set while a pull holds the peer: when its claim lapses at the latest.
    pub claimed_until: Option<DateTime<Utc>>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Publishing's own state.
    #[sqlx(flatten)]
    pub push: PushState,
}

/// Where publishing to a peer stands: the cursor (`PeerRow::push_cursor` and this row id: the last of our
/// objects the peer accepted or definitively refused), when the next push is due, and how the last one ended.
#[derive(Debug, Clone, Default, PartialEq, sqlx::FromRow)]
pub struct PushState {
    pub push_cursor_id: Option<Uuid>,
    pub push_next_run_at: Option<DateTime<Utc>>,
    pub push_failures: i32,
    pub pushed_objects: i64,
    pub push_last_success_at: Option<DateTime<Utc>>,
    pub push_last_error: Option<String>,
    pub push_last_error_at: Option<DateTime<Utc>>,
    /// Set while a push holds the peer: when its claim lapses at the latest.
    pub push_claimed_until: Option<DateTime<Utc>>,
}

/// An envelope the peer answered with a completed status: the cursor moves past its last object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedEnvelope {
    pub peer_id: Uuid,
    /// The date added and row id of the envelope's last object.
    pub to: (DateTime<Utc>, Uuid),
    /// The objects the peer accepted.
    pub accepted: i64,
}

impl std::fmt::Debug for PeerRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerRow")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("api_root", &self.api_root)
            .field("collection_id", &self.collection_id)
            .field("sealed_secret", &crate::REDACTED)
            .field("tlp", &self.tlp)
            .field("enabled", &self.enabled)
            .field("pull_cursor", &self.pull_cursor)
            .field("next_run_at", &self.next_run_at)
            .field("failures", &self.failures)
            .field("last_error", &self.last_error)
            .finish_non_exhaustive()
    }
}

/// A committed page of a pull: the objects (written unless already stored), and the cursor it moves from and
/// to. The page and the cursor commit together; a cursor that moved meanwhile (another pull of the same peer)
/// writes nothing and is `StoreError::Stale`.
#[derive(Debug, Clone)]
pub struct PulledPage<'a> {
    pub peer_id: Uuid,
    pub collection: &'a str,
    pub objects: &'a [StixObjectRow],
    /// Which of `objects` go to intake once written (vulnerabilities and indicators).
    pub for_intake: &'a [bool],
    pub from_cursor: Option<&'a str>,
    /// `None` keeps the cursor (a page whose answer named no date added).
    pub to_cursor: Option<&'a str>,
}

/// How a run ended, recorded on the peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerRunEnd {
    /// `refused` (the objects refused, as recorded) is kept as the last error, beside the success.
    Success {
        at: DateTime<Utc>,
        refused: Option<String>,
        next_run_at: DateTime<Utc>,
    },
    Failure {
        at: DateTime<Utc>,
        error: String,
        next_run_at: DateTime<Utc>,
    },
}

/// A peer's two runs, each with its own schedule and claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerRun {
    Pull,
    Push,
}

impl PeerRun {
    /// The prefix of this run's columns on the peer (`next_run_at`, `push_next_run_at`, …).
    #[must_use]
    pub const fn prefix(self) -> &'static str {
        match self {
            PeerRun::Pull => "",
            PeerRun::Push => "push_",
        }
    }
}

#[async_trait]
pub trait FederationStore: Send + Sync + 'static {
    async fn create_peer(&self, peer: &PeerRow, event: &AuditEvent) -> Result<()>;
    async fn get_peer(&self, id: Uuid) -> Result<Option<PeerRow>>;
    /// The peers by id (oldest first), after the page's cursor.
    async fn list_peers(&self, page: &Page<Uuid>) -> Result<Vec<PeerRow>>;
    /// Writes the peer's settings (name, api_root, collection_id, username, sealed_secret, tlp,
    /// interval_seconds, enabled, publish_collection_id, next_run_at, updated_at) with the event.
    async fn update_peer(&self, peer: &PeerRow, event: &AuditEvent) -> Result<()>;
    /// Removes the peer; the objects pulled from it stay, with their origin.
    async fn delete_peer(&self, id: Uuid, event: &AuditEvent) -> Result<()>;
    /// The enabled peers whose next run is due at `now`, at most `limit`.
    async fn due_peers(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<PeerRow>>;
    /// Writes a page's objects (a version already stored in the same marking is kept) and moves the cursor,
    /// in one transaction. Returns how many objects were new.
    async fn commit_pulled_page(&self, page: &PulledPage<'_>) -> Result<u64>;
    /// Claims the peer's `run` until `until`, in one statement: only an enabled peer that no other run holds
    /// (or whose holder's claim ran out before `now`), and with `if_due` only while the run is due at `now`.
    /// `false` when the claim is refused. Ending the run (`end_peer_run`, `end_push_run`) or
    /// `release_peer_run` gives the claim back.
    async fn claim_peer_run(
        &self,
        peer_id: Uuid,
        run: PeerRun,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        if_due: bool,
    ) -> Result<bool>;
    /// Gives a claim back without recording an end (a run that failed on our side, to be retried).
    async fn release_peer_run(&self, peer_id: Uuid, run: PeerRun) -> Result<()>;
    /// Records the end of a run on the peer, and gives its claim back.
    async fn end_peer_run(&self, peer_id: Uuid, end: &PeerRunEnd) -> Result<()>;
    /// Pulled objects of a peer still waiting for intake, oldest first, at most `limit`.
    async fn pending_intake(&self, peer_id: Uuid, limit: i64) -> Result<Vec<StixObjectRow>>;
    /// Marks an object's intake done: the report it was filed as, or `None` when it maps to none.
    async fn finish_intake(&self, object_id: Uuid, report_id: Option<Uuid>) -> Result<()>;
    /// The enabled peers with a publish collection whose next push is due at `now`, at most `limit`.
    async fn due_pushes(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<PeerRow>>;
    /// Our objects of the collection marked `tlp` to publish to a peer: those written here (our advisories'
    /// and reports' and our members' posts, never a peer's, never a community's) that `reader` may read (the
    /// same admission as a TAXII read), after `after` in (date added, row id) order, at most `limit`.
    async fn objects_to_push(
        &self,
        reader: &TlpAudience,
        tlp: Tlp,
        after: Option<(DateTime<Utc>, Uuid)>,
        limit: i64,
    ) -> Result<Vec<StixObjectRow>>;
    /// Moves the push cursor past an envelope the peer completed (unless it moved meanwhile).
    async fn advance_push(&self, envelope: &PushedEnvelope) -> Result<()>;
    /// Records the end of a push run on the peer, like `end_peer_run` for pulls.
    async fn end_push_run(&self, peer_id: Uuid, end: &PeerRunEnd) -> Result<()>;
}
