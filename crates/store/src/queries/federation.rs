//! The SQL of `FederationStore`, compiled once for each backend (see `queries/limits.rs`).

use super::This;
use super::readers::reader_query_as;
use crate::federation::{FederationStore, PeerRow, PeerRun, PeerRunEnd, PulledPage, PushedEnvelope};
use crate::taxii::StixObjectRow;
use crate::{AuditEvent, Backend, Page, Result, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use clearinghouse::tlp::Tlp;
use kernel::TlpAudience;
use uuid::Uuid;

/// The columns a new peer is written with (publishing's state starts at its defaults).
const INSERT_COLUMNS: &str = "id, name, api_root, collection_id, username, sealed_secret, tlp, interval_seconds, \
     enabled, publish_collection_id, pull_cursor, push_cursor, next_run_at, failures, pulled_objects, \
     last_success_at, last_error, last_error_at, created_by, created_at, updated_at";

const PEER_COLUMNS: &str = "id, name, api_root, collection_id, username, sealed_secret, tlp, interval_seconds, \
     enabled, publish_collection_id, pull_cursor, push_cursor, next_run_at, failures, pulled_objects, \
     last_success_at, last_error, last_error_at, claimed_until, created_by, created_at, updated_at, \
     push_cursor_id, push_next_run_at, push_failures, pushed_objects, push_last_success_at, push_last_error, \
     push_last_error_at, push_claimed_until";

const OBJECT_COLUMNS: &str = "id, tlp, stix_id, stix_type, spec_version, version, date_added, body, added_org, \
     added_by, advisory_id, case_id, report_id";

/// Binds a peer's id and settings as `$1`–`$10`: id, name, API root, collection, user name, sealed
/// credential, marking, interval, enabled and publish collection, as both its insert and its update take them.
fn bind_settings<'q>(
    query: sqlx::query::Query<'q, super::Db, <super::Db as sqlx::Database>::Arguments<'q>>,
    p: &'q PeerRow,
) -> sqlx::query::Query<'q, super::Db, <super::Db as sqlx::Database>::Arguments<'q>> {
    query
        .bind(p.id)
        .bind(&p.name)
        .bind(&p.api_root)
        .bind(&p.collection_id)
        .bind(&p.username)
        .bind(&p.sealed_secret)
        .bind(p.tlp.as_str())
        .bind(p.interval_seconds)
        .bind(p.enabled)
        .bind(&p.publish_collection_id)
}

/// Records how a run ended in the peer's columns of that kind of run, named with `prefix`: `""` for pulls,
/// `"push_"` for pushes. A success resets the failures in a row and keeps what was refused as the last error.
async fn end_run(pool: &sqlx::Pool<super::Db>, peer_id: Uuid, end: &PeerRunEnd, prefix: &str) -> Result<()> {
    let p = prefix;
    let (sql, at, next_run_at, error) = match end {
        PeerRunEnd::Success {
            at,
            refused,
            next_run_at,
        } => (
            format!(
                "UPDATE federation_peers SET {p}last_success_at = $2, {p}next_run_at = $3, {p}failures = 0, \
                 {p}claimed_until = NULL, {p}last_error = $4, {p}last_error_at = CASE WHEN $4 IS NULL THEN NULL ELSE $2 END WHERE id = $1"
            ),
            at,
            next_run_at,
            refused.as_deref(),
        ),
        PeerRunEnd::Failure {
            at,
            error,
            next_run_at,
        } => (
            format!(
                "UPDATE federation_peers SET {p}last_error_at = $2, {p}next_run_at = $3, {p}last_error = $4, \
                 {p}failures = {p}failures + 1, {p}claimed_until = NULL WHERE id = $1"
            ),
            at,
            next_run_at,
            Some(error.as_str()),
        ),
    };
    sqlx::query(&sql)
        .bind(peer_id)
        .bind(at)
        .bind(next_run_at)
        .bind(error)
        .execute(pool)
        .await?;
    Ok(())
}

/// Null-safe equality of the cursor column and a parameter.
fn cursor_is(param: &str) -> String {
    match This::BACKEND {
        Backend::Sqlite => format!("pull_cursor IS {param}"),
        Backend::Postgres => format!("pull_cursor IS NOT DISTINCT FROM {param}"),
    }
}

/// Whether the publish collection differs from a parameter (null-safe).
fn publish_changed(param: &str) -> String {
    match This::BACKEND {
        Backend::Sqlite => format!("publish_collection_id IS NOT {param}"),
        Backend::Postgres => format!("publish_collection_id IS DISTINCT FROM {param}"),
    }
}

#[async_trait]
impl FederationStore for This {
    async fn create_peer(&self, p: &PeerRow, event: &AuditEvent) -> Result<()> {
        let sql = format!(
            "INSERT INTO federation_peers ({INSERT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
             $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)"
        );
        let statement = bind_settings(sqlx::query(&sql), p)
            .bind(&p.pull_cursor)
            .bind(p.push_cursor)
            .bind(p.next_run_at)
            .bind(p.failures)
            .bind(p.pulled_objects)
            .bind(p.last_success_at)
            .bind(&p.last_error)
            .bind(p.last_error_at)
            .bind(p.created_by)
            .bind(p.created_at)
            .bind(p.updated_at);
        self.execute_recorded(event, statement, None).await
    }

    async fn get_peer(&self, id: Uuid) -> Result<Option<PeerRow>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {PEER_COLUMNS} FROM federation_peers WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn list_peers(&self, page: &Page<Uuid>) -> Result<Vec<PeerRow>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {PEER_COLUMNS} FROM federation_peers WHERE ($1 IS NULL OR id > $1) ORDER BY id LIMIT $2"
        ))
        .bind(page.after)
        .bind(page.limit)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn update_peer(&self, p: &PeerRow, event: &AuditEvent) -> Result<()> {
        let sql = format!(
            "UPDATE federation_peers SET name = $2, api_root = $3, collection_id = $4, username = $5, \
             sealed_secret = $6, tlp = $7, interval_seconds = $8, enabled = $9, publish_collection_id = $10, \
             next_run_at = $11, pull_cursor = $12, failures = $13, updated_at = $14, \
             push_cursor = CASE WHEN {changed} THEN NULL ELSE push_cursor END, \
             push_cursor_id = CASE WHEN {changed} THEN NULL ELSE push_cursor_id END, \
             push_next_run_at = CASE WHEN {changed} OR NOT enabled THEN $11 ELSE push_next_run_at END, \
             push_failures = CASE WHEN {changed} OR NOT enabled THEN 0 ELSE push_failures END \
             WHERE id = $1",
            changed = publish_changed("$10"),
        );
        let statement = bind_settings(sqlx::query(&sql), p)
            .bind(p.next_run_at)
            .bind(&p.pull_cursor)
            .bind(p.failures)
            .bind(p.updated_at);
        self.execute_recorded(event, statement, Some("federation peer"))
            .await
    }

    async fn delete_peer(&self, id: Uuid, event: &AuditEvent) -> Result<()> {
        let statement = sqlx::query("DELETE FROM federation_peers WHERE id = $1").bind(id);
        self.execute_recorded(event, statement, Some("federation peer"))
            .await
    }

    async fn due_peers(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<PeerRow>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {PEER_COLUMNS} FROM federation_peers WHERE enabled AND next_run_at <= $1 \
             ORDER BY next_run_at, id LIMIT $2"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn commit_pulled_page(&self, page: &PulledPage<'_>) -> Result<u64> {
        let mut tx = self.begin().await?;
        // The cursor first: a pull that lost the race to another writes nothing.
        let moved = sqlx::query(&format!(
            "UPDATE federation_peers SET pull_cursor = COALESCE($2, pull_cursor) WHERE id = $1 AND {}",
            cursor_is("$3")
        ))
        .bind(page.peer_id)
        .bind(page.to_cursor)
        .bind(page.from_cursor)
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() != 1 {
            return Err(StoreError::Stale("federation peer's cursor"));
        }
        let insert = format!(
            "INSERT INTO stix_objects ({OBJECT_COLUMNS}, peer_id, peer_collection, intake_pending) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
             ON CONFLICT (stix_id, version, tlp) DO NOTHING"
        );
        let mut written: u64 = 0;
        for (i, row) in page.objects.iter().enumerate() {
            let intake = page.for_intake.get(i).copied().unwrap_or(false);
            let done = super::taxii::bind_object(sqlx::query(&insert), row)
                .bind(page.peer_id)
                .bind(page.collection)
                .bind(intake)
                .execute(&mut *tx)
                .await?;
            written += done.rows_affected();
        }
        sqlx::query("UPDATE federation_peers SET pulled_objects = pulled_objects + $2 WHERE id = $1")
            .bind(page.peer_id)
            .bind(i64::try_from(written).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(written)
    }

    async fn claim_peer_run(
        &self,
        peer_id: Uuid,
        run: PeerRun,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        if_due: bool,
    ) -> Result<bool> {
        // A push that never ran has no due time: it is due.
        let p = run.prefix();
        let claimed = sqlx::query(&format!(
            "UPDATE federation_peers SET {p}claimed_until = $2 WHERE id = $1 AND enabled \
             AND ({p}claimed_until IS NULL OR {p}claimed_until <= $3) \
             AND (NOT $4 OR {p}next_run_at IS NULL OR {p}next_run_at <= $3)"
        ))
        .bind(peer_id)
        .bind(until)
        .bind(now)
        .bind(if_due)
        .execute(&self.pool)
        .await?;
        Ok(claimed.rows_affected() == 1)
    }

    async fn release_peer_run(&self, peer_id: Uuid, run: PeerRun) -> Result<()> {
        let p = run.prefix();
        sqlx::query(&format!(
            "UPDATE federation_peers SET {p}claimed_until = NULL WHERE id = $1"
        ))
        .bind(peer_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn end_peer_run(&self, peer_id: Uuid, end: &PeerRunEnd) -> Result<()> {
        end_run(&self.pool, peer_id, end, PeerRun::Pull.prefix()).await
    }

    async fn pending_intake(&self, peer_id: Uuid, limit: i64) -> Result<Vec<StixObjectRow>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {OBJECT_COLUMNS} FROM stix_objects WHERE intake_pending AND peer_id = $1 ORDER BY id LIMIT $2"
        ))
        .bind(peer_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn finish_intake(&self, object_id: Uuid, report_id: Option<Uuid>) -> Result<()> {
        sqlx::query("UPDATE stix_objects SET intake_pending = FALSE, report_id = $2 WHERE id = $1")
            .bind(object_id)
            .bind(report_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn due_pushes(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<PeerRow>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {PEER_COLUMNS} FROM federation_peers WHERE enabled AND publish_collection_id IS NOT NULL \
             AND (push_next_run_at IS NULL OR push_next_run_at <= $1) \
             ORDER BY push_next_run_at, id LIMIT $2"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn objects_to_push(
        &self,
        reader: &TlpAudience,
        tlp: Tlp,
        after: Option<(DateTime<Utc>, Uuid)>,
        limit: i64,
    ) -> Result<Vec<StixObjectRow>> {
        let (at, id) = match after {
            Some((at, id)) => (Some(at), Some(id)),
            None => (None, None),
        };
        let columns: Vec<String> = OBJECT_COLUMNS
            .split(", ")
            .map(|c| format!("s.{}", c.trim()))
            .collect();
        let sql = format!(
            "SELECT {} FROM stix_objects s {} WHERE s.tlp = $5 AND s.peer_id IS NULL \
             AND s.community_id IS NULL AND {} \
             AND ($6 IS NULL OR s.date_added > $6 OR (s.date_added = $6 AND s.id > $7)) \
             ORDER BY s.date_added, s.id LIMIT $8",
            columns.join(", "),
            super::taxii::ADMISSION_JOINS,
            super::taxii::admission(),
        );
        Ok(reader_query_as(&sql, reader)
            .bind(tlp.as_str())
            .bind(at)
            .bind(id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    async fn advance_push(&self, envelope: &PushedEnvelope) -> Result<()> {
        let (at, id) = envelope.to;
        sqlx::query(
            "UPDATE federation_peers SET push_cursor = $2, push_cursor_id = $3, \
             pushed_objects = pushed_objects + $4 WHERE id = $1",
        )
        .bind(envelope.peer_id)
        .bind(at)
        .bind(id)
        .bind(envelope.accepted)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn end_push_run(&self, peer_id: Uuid, end: &PeerRunEnd) -> Result<()> {
        end_run(&self.pool, peer_id, end, PeerRun::Push.prefix()).await
    }
}
