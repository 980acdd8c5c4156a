//! Rows as the store reads and writes them. Validation happens before a value gets here (`review`,
//! `accounts`); these types only carry it.

pub use accounts::{OrgKind, Role};
pub use review::{Domain, FindingStatus, Severity};

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use std::collections::BTreeMap;
use uuid::Uuid;

/// A page request: items after the cursor `after` (exclusive), at most `limit` of them.
#[derive(Debug, Clone)]
pub struct Page<K> {
    pub after: Option<K>,
    pub limit: i64,
}

impl<K> Page<K> {
    pub fn first(limit: i64) -> Self {
        Page { after: None, limit }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Organization {
    pub id: Uuid,
    #[sqlx(try_from = "String")]
    pub kind: OrgKind,
    pub name: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

/// A person. `Debug` leaves the password hash out.
#[derive(Clone, sqlx::FromRow)]
pub struct User {
    pub id: Uuid,
    pub org_id: Uuid,
    pub email: String,
    pub display_name: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub password_hash: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

/// `Debug` leaves the token's digest out.
#[derive(Clone, sqlx::FromRow)]
pub struct Invitation {
    pub id: Uuid,
    pub token_digest: String,
    pub org_id: Uuid,
    /// Set when the invitation (re)sets the password of an existing person.
    pub user_id: Option<Uuid>,
    pub email: Option<String>,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    /// Set when an admin revoked the link, or replaced it by inviting the same address again.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A browser session. `Debug` leaves the token's digest and the CSRF token out.
#[derive(Clone, sqlx::FromRow)]
pub struct Session {
    pub token_digest: String,
    pub user_id: Uuid,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The public id its holder names it by (to end it); the digest never leaves the server.
    pub id: Uuid,
    /// Updated at most every few minutes (`app::auth::LAST_SEEN_EVERY`), not on every request.
    pub last_seen_at: Option<DateTime<Utc>>,
    /// The browser's `User-Agent` when it signed in, cut to a bounded length; empty when none was sent.
    pub user_agent: String,
}

/// A password reset link, stored as its token's digest. `Debug` leaves the digest out.
#[derive(Clone, sqlx::FromRow)]
pub struct PasswordReset {
    pub id: Uuid,
    pub token_digest: String,
    pub user_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for PasswordReset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordReset")
            .field("id", &self.id)
            .field("token_digest", &REDACTED)
            .field("user_id", &self.user_id)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("used_at", &self.used_at)
            .finish()
    }
}

/// What a `Debug` shows in place of a secret.
pub const REDACTED: &str = "<redacted>";

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("org_id", &self.org_id)
            .field("email", &self.email)
            .field("display_name", &self.display_name)
            .field("role", &self.role)
            .field("password_hash", &self.password_hash.as_ref().map(|_| REDACTED))
            .field("active", &self.active)
            .field("created_at", &self.created_at)
            .finish()
    }
}

impl std::fmt::Debug for Invitation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invitation")
            .field("id", &self.id)
            .field("token_digest", &REDACTED)
            .field("org_id", &self.org_id)
            .field("user_id", &self.user_id)
            .field("email", &self.email)
            .field("role", &self.role)
            .field("created_by", &self.created_by)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("used_at", &self.used_at)
            .field("revoked_at", &self.revoked_at)
            .finish()
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("token_digest", &REDACTED)
            .field("user_id", &self.user_id)
            .field("csrf_token", &REDACTED)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("id", &self.id)
            .field("last_seen_at", &self.last_seen_at)
            .field("user_agent", &self.user_agent)
            .finish()
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiToken {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LoginFailures {
    pub subject: String,
    pub failures: i64,
    pub first_failure_at: DateTime<Utc>,
    pub locked_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Notice {
    pub id: Uuid,
    pub developer_org_id: Uuid,
    pub developer_name: String,
    pub model_name: String,
    pub model_version: String,
    pub model_card: String,
    pub planned_launch_at: DateTime<Utc>,
    pub filed_at: DateTime<Utc>,
    pub filed_by: Option<Uuid>,
    pub window_days: i64,
    pub shared_with_all: bool,
    pub launched_at: Option<DateTime<Utc>>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub withdraw_reason: Option<String>,
    pub window_opens_at: DateTime<Utc>,
    pub window_closes_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NoticeQuery {
    /// Who reads: the list holds only the notices they may see.
    pub audience: crate::Audience,
    pub now: DateTime<Utc>,
    /// Wanted states: scheduled, in review, launched, withdrawn.
    pub states: [bool; 4],
    pub developer_org: Option<Uuid>,
    /// The keyset of `sort` when it is by a time (the time its window closes, or it was filed), then id.
    pub after: Option<(DateTime<Utc>, Uuid)>,
    pub limit: i64,
    /// A `like_pattern`: only notices whose model name, version or developer's name contain it.
    pub search: Option<String>,
    pub sort: NoticeSort,
    /// The keyset of `NoticeSort::Model`: model name, then id.
    pub after_model: Option<(String, Uuid)>,
}

/// The orders of a notice list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NoticeSort {
    /// By the time the window closes, then id.
    #[default]
    WindowCloses,
    /// Oldest filed first.
    Filed,
    /// Newest filed first.
    FiledDesc,
    /// By model name, then id.
    Model,
}

/// The orders of a notice's findings. Finding ids are time-ordered (UUIDv7), so id order is filing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FindingSort {
    /// Oldest first.
    #[default]
    Filed,
    /// Newest first.
    FiledDesc,
    /// Most severe first (`severity_rank`), then oldest first.
    Severity,
}

/// A page of a notice's findings: `search` a `like_pattern` on the title; the keyset is the id, and for
/// `FindingSort::Severity` also the rank of the last row.
#[derive(Debug, Clone, Default)]
pub struct FindingList {
    pub search: Option<String>,
    pub sort: FindingSort,
    pub after: Option<Uuid>,
    pub after_rank: Option<i64>,
    pub limit: i64,
}

/// The rank `FindingSort::Severity` orders by: critical 0 … info 4.
pub fn severity_rank(severity: Severity) -> i64 {
    match severity {
        Severity::Critical => 0,
        Severity::High => 1,
        Severity::Medium => 2,
        Severity::Low => 3,
        Severity::Info => 4,
    }
}

/// The orders of a report list. Report ids are time-ordered (UUIDv7), so id order is filing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReportSort {
    /// Newest first.
    #[default]
    CreatedDesc,
    /// Oldest first.
    Created,
    /// By title, then id.
    Title,
}

/// A page of readable reports: `search` a `like_pattern` on the title; the keyset is the id, and for
/// `ReportSort::Title` also the title of the last row.
#[derive(Debug, Clone, Default)]
pub struct ReportList {
    pub search: Option<String>,
    pub sort: ReportSort,
    pub after: Option<Uuid>,
    pub after_title: Option<String>,
    pub limit: i64,
}

/// A caller's search text as a case-insensitive `LIKE … ESCAPE '\'` pattern matching it anywhere: the
/// wildcards `%` and `_` and the escape `\\` in the text are escaped, so they match themselves.
pub fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[derive(Debug, Clone)]
pub struct NoticeDatesUpdate {
    pub notice_id: Uuid,
    pub planned_launch_at: DateTime<Utc>,
    pub launched_at: Option<DateTime<Utc>>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub withdraw_reason: Option<String>,
    pub window_opens_at: DateTime<Utc>,
    pub window_closes_at: DateTime<Utc>,
}

/// An entry of a notice's history: its filing, a new date, the launch itself, its withdrawal, or an edit of
/// what was filed (model card, version, sharing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LaunchChangeKind {
    Filed,
    Moved,
    Launched,
    Withdrawn,
    Edited,
}

impl LaunchChangeKind {
    pub const ALL: [LaunchChangeKind; 5] = [
        LaunchChangeKind::Filed,
        LaunchChangeKind::Moved,
        LaunchChangeKind::Launched,
        LaunchChangeKind::Withdrawn,
        LaunchChangeKind::Edited,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LaunchChangeKind::Filed => "filed",
            LaunchChangeKind::Moved => "moved",
            LaunchChangeKind::Launched => "launched",
            LaunchChangeKind::Withdrawn => "withdrawn",
            LaunchChangeKind::Edited => "edited",
        }
    }
}

impl TryFrom<String> for LaunchChangeKind {
    type Error = UnknownValue;

    fn try_from(value: String) -> Result<Self, UnknownValue> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == value)
            .ok_or(UnknownValue {
                set: "launch change kind",
                value,
            })
    }
}

/// A stored value outside the closed set its column holds: corrupt data (`StoreError::CorruptValue`), never read
/// as a default.
#[derive(Debug, thiserror::Error)]
#[error("{value:?} is not a {set}")]
pub struct UnknownValue {
    pub set: &'static str,
    pub value: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LaunchChange {
    pub id: Uuid,
    pub notice_id: Uuid,
    #[sqlx(try_from = "String")]
    pub kind: LaunchChangeKind,
    pub previous_launch_at: Option<DateTime<Utc>>,
    pub new_launch_at: DateTime<Utc>,
    pub reason: Option<String>,
    pub changed_by: Option<Uuid>,
    pub changed_at: DateTime<Utc>,
    /// What an edit changed (kind `edited` only).
    pub changes: Option<sqlx::types::Json<Vec<NoticeChange>>>,
}

/// One field an edit of a notice changed: the short fields with their old and new values, the model card
/// only as changed (its text is in the notice), the agencies shared with as those added and removed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "field", rename_all = "snake_case")]
pub enum NoticeChange {
    ModelVersion { from: String, to: String },
    ModelCard,
    SharedWithAll { from: bool, to: bool },
    SharedWith { added: Vec<Uuid>, removed: Vec<Uuid> },
}

impl NoticeChange {
    /// Whether the change is to whom the notice is shared, which only its developer may know.
    pub fn is_sharing(&self) -> bool {
        matches!(
            self,
            NoticeChange::SharedWithAll { .. } | NoticeChange::SharedWith { .. }
        )
    }
}

/// An edit of a notice after filing: the fields as they are to be, and whether its sharing changes.
#[derive(Debug, Clone)]
pub struct NoticeEdit {
    pub notice_id: Uuid,
    pub model_version: String,
    pub model_card: String,
    pub shared_with_all: bool,
    /// The agencies it is shared with when not with all; written only when `sharing_changed`.
    pub shared_with: Vec<Uuid>,
    pub sharing_changed: bool,
    pub now: DateTime<Utc>,
}

/// What an edit ended: the evaluators whose assignments to the notice ended with their agency's access, and
/// how many of their gateway tokens for it were revoked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessEnded {
    pub evaluators: Vec<Uuid>,
    pub tokens_revoked: u64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Assignment {
    pub notice_id: Uuid,
    pub user_id: Uuid,
    pub org_id: Uuid,
    pub assigned_by: Option<Uuid>,
    pub assigned_at: DateTime<Utc>,
    pub email: String,
    pub display_name: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Finding {
    pub id: Uuid,
    pub notice_id: Uuid,
    pub org_id: Uuid,
    pub author_id: Uuid,
    pub title: String,
    #[sqlx(try_from = "String")]
    pub domain: Domain,
    #[sqlx(try_from = "String")]
    pub severity: Severity,
    pub description: String,
    pub evidence: Json<Vec<String>>,
    pub created_at: DateTime<Utc>,
    #[sqlx(try_from = "String")]
    pub status: FindingStatus,
    /// 1 when filed; each edit by the author adds one (the earlier text kept in `FindingVersion`).
    pub version: i32,
    /// When the current version was written, if it is an edit.
    pub edited_at: Option<DateTime<Utc>>,
}

/// An earlier version of a finding, as it read before an edit.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FindingVersion {
    pub finding_id: Uuid,
    pub version: i32,
    pub title: String,
    #[sqlx(try_from = "String")]
    pub domain: Domain,
    #[sqlx(try_from = "String")]
    pub severity: Severity,
    pub description: String,
    pub evidence: Json<Vec<String>>,
    pub written_by: Uuid,
    pub written_at: DateTime<Utc>,
}

/// One message of a finding's response thread.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FindingResponse {
    pub id: Uuid,
    pub finding_id: Uuid,
    pub author_id: Uuid,
    pub org_id: Uuid,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Assessment {
    pub id: Uuid,
    pub notice_id: Uuid,
    pub org_id: Uuid,
    pub author_id: Uuid,
    pub levels: Json<BTreeMap<String, String>>,
    pub rationale: String,
    pub evidence: Json<Vec<String>>,
    /// When it was published; while a draft, when it was drafted.
    pub published_at: DateTime<Utc>,
    /// A draft is visible to its agency only, until the agency's admin publishes it.
    pub draft: bool,
}

/// One entry of the audit trail: who did what to which object, when.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditEvent {
    /// Position in the trail; assigned by the database on insert.
    pub seq: i64,
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub actor_user_id: Option<Uuid>,
    pub actor_org_id: Option<Uuid>,
    pub action: String,
    pub object_type: String,
    pub object_id: Option<Uuid>,
    pub details: Json<Value>,
}

impl AuditEvent {
    /// The event's canonical encoding, which the ledger commits to: a JSON object with every field, keys
    /// sorted at every depth, times in RFC 3339 with microseconds. Stable across both backends.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let value = serde_json::json!({
            "v": 1,
            "id": self.id,
            "at": self.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "actor_user_id": self.actor_user_id,
            "actor_org_id": self.actor_org_id,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "details": self.details.0,
        });
        let mut out = String::new();
        canonical_json(&value, &mut out);
        out.into_bytes()
    }
}

fn canonical_json(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                if let Some(v) = map.get(key) {
                    canonical_json(v, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// One leaf of the ledger with the event it commits to.
#[derive(Debug, Clone)]
pub struct LedgerEntry {
    pub idx: i64,
    pub salt: Vec<u8>,
    pub commitment: Vec<u8>,
    pub event: AuditEvent,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SignedCheckpoint {
    pub size: i64,
    pub root: Vec<u8>,
    /// The whole signed note.
    pub note: String,
    pub signed_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct LedgerEntryRow {
    pub idx: i64,
    pub salt: Vec<u8>,
    pub commitment: Vec<u8>,
    #[sqlx(flatten)]
    pub event: AuditEvent,
}

impl From<LedgerEntryRow> for LedgerEntry {
    fn from(r: LedgerEntryRow) -> Self {
        LedgerEntry {
            idx: r.idx,
            salt: r.salt,
            commitment: r.commitment,
            event: r.event,
        }
    }
}
