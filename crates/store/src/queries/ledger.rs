//! The SQL of `LedgerStore` (the transparency ledger's entries, nodes and checkpoints) and the one path by which
//! every change records its audit event and ledger entry (`record`, `append`), compiled once for each backend
//! like every file of `queries/`.

use super::{Db, This};
use crate::{
    AuditEvent, Backend, LedgerEntry, LedgerEntryRow, LedgerStore, Result, SignedCheckpoint, StoreError,
};
use async_trait::async_trait;
use uuid::Uuid;

#[async_trait]
impl LedgerStore for This {
    async fn append_events(&self, events: &[AuditEvent]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        Self::append(&mut tx, events).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn ledger_size(&self) -> Result<u64> {
        let size: i64 = sqlx::query_scalar("SELECT size FROM ledger_head WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(size).unwrap_or(0))
    }

    async fn ledger_nodes(&self, level: u8, from: u64, count: u64) -> Result<Vec<[u8; 32]>> {
        let from = i64::try_from(from).unwrap_or(i64::MAX);
        let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(
            "SELECT idx, hash FROM ledger_nodes WHERE level = $1 AND idx >= $2 AND idx < $3 ORDER BY idx",
        )
        .bind(i64::from(level))
        .bind(from)
        .bind(from.saturating_add(i64::try_from(count).unwrap_or(i64::MAX)))
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for (expected, (idx, hash)) in (from..).zip(rows) {
            let Ok(hash) = <[u8; 32]>::try_from(hash.as_slice()) else {
                break;
            };
            if idx != expected {
                break;
            }
            out.push(hash);
        }
        Ok(out)
    }

    async fn ledger_nodes_at(&self, nodes: &[(u8, u64)]) -> Result<Vec<(u8, u64, [u8; 32])>> {
        let mut out = Vec::with_capacity(nodes.len());
        for chunk in nodes.chunks(200) {
            let rows: Vec<(i64, i64, Vec<u8>)> = if This::BACKEND == Backend::Postgres {
                // One statement text whatever the number of nodes, so each connection prepares and plans it
                // once (a text per count meant a fresh prepare and custom plans for each).
                let (levels, indexes) = crate::sql::node_arrays(chunk);
                sqlx::query_as(
                    "SELECT n.level, n.idx, n.hash FROM unnest($1::text::bigint[], $2::text::bigint[]) \
                     AS w(level, idx) JOIN ledger_nodes n ON n.level = w.level AND n.idx = w.idx",
                )
                .bind(levels)
                .bind(indexes)
                .fetch_all(&self.pool)
                .await?
            } else {
                let mut query =
                    sqlx::QueryBuilder::<Db>::new("SELECT level, idx, hash FROM ledger_nodes WHERE ");
                for (i, (level, index)) in chunk.iter().enumerate() {
                    if i > 0 {
                        query.push(" OR ");
                    }
                    query.push("(level = ").push_bind(i64::from(*level));
                    query
                        .push(" AND idx = ")
                        .push_bind(i64::try_from(*index).unwrap_or(i64::MAX))
                        .push(")");
                }
                query.build_query_as().fetch_all(&self.pool).await?
            };
            for (level, index, hash) in rows {
                if let (Ok(level), Ok(index), Ok(hash)) = (
                    u8::try_from(level),
                    u64::try_from(index),
                    <[u8; 32]>::try_from(hash.as_slice()),
                ) {
                    out.push((level, index, hash));
                }
            }
        }
        Ok(out)
    }

    async fn ledger_entries(&self, from: u64, count: u64) -> Result<Vec<LedgerEntry>> {
        let from = i64::try_from(from).unwrap_or(i64::MAX);
        let rows: Vec<LedgerEntryRow> = sqlx::query_as(
            "SELECT l.idx, l.salt, l.commitment, e.* FROM ledger_entries l \
             JOIN audit_events e ON e.id = l.event_id WHERE l.idx >= $1 AND l.idx < $2 ORDER BY l.idx",
        )
        .bind(from)
        .bind(from.saturating_add(i64::try_from(count).unwrap_or(i64::MAX)))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(LedgerEntry::from).collect())
    }

    async fn ledger_entry_of(&self, event_id: Uuid) -> Result<Option<LedgerEntry>> {
        let row: Option<LedgerEntryRow> = sqlx::query_as(
            "SELECT l.idx, l.salt, l.commitment, e.* FROM ledger_entries l \
             JOIN audit_events e ON e.id = l.event_id WHERE l.event_id = $1",
        )
        .bind(event_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(LedgerEntry::from))
    }

    async fn put_checkpoint(&self, c: &SignedCheckpoint) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO ledger_checkpoints (size, root, note, signed_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (size) DO NOTHING",
        )
        .bind(c.size)
        .bind(&c.root)
        .bind(&c.note)
        .bind(c.signed_at)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>> {
        Ok(
            sqlx::query_as("SELECT * FROM ledger_checkpoints ORDER BY size DESC LIMIT 1")
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn list_checkpoints(&self, before: Option<i64>, limit: i64) -> Result<Vec<SignedCheckpoint>> {
        Ok(sqlx::query_as(
            "SELECT * FROM ledger_checkpoints WHERE ($1 IS NULL OR size < $1) ORDER BY size DESC LIMIT $2",
        )
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }
}

impl This {
    /// Appends one event to the audit trail and to the ledger, inside the caller's transaction. Every
    /// state change goes through here.
    pub(super) async fn record(
        conn: &mut <Db as sqlx::Database>::Connection,
        event: &AuditEvent,
    ) -> Result<()> {
        Self::append(conn, std::slice::from_ref(event)).await
    }

    /// Writes events to the audit trail and appends them to the ledger. The ledger indexes come from
    /// `ledger_head`, whose row lock is held until the transaction ends, so indexes have no gaps and
    /// appends never interleave. Rows go in with multi-row inserts; only the nodes on the tree's right
    /// edge are read.
    pub(super) async fn append(
        conn: &mut <Db as sqlx::Database>::Connection,
        events: &[AuditEvent],
    ) -> Result<()> {
        const ROWS: usize = 500;
        for chunk in events.chunks(ROWS) {
            let mut insert = sqlx::QueryBuilder::<Db>::new(
                "INSERT INTO audit_events (id, at, actor_user_id, actor_org_id, action, object_type, \
                 object_id, details) ",
            );
            insert.push_values(chunk, |mut row, e| {
                row.push_bind(e.id)
                    .push_bind(e.at)
                    .push_bind(e.actor_user_id)
                    .push_bind(e.actor_org_id)
                    .push_bind(e.action.clone())
                    .push_bind(e.object_type.clone())
                    .push_bind(e.object_id)
                    .push_bind(e.details.clone());
            });
            insert.build().execute(&mut *conn).await?;
        }
        let count = i64::try_from(events.len()).map_err(|_| StoreError::Corrupt("ledger batch"))?;
        let size: i64 =
            sqlx::query_scalar("UPDATE ledger_head SET size = size + $1 WHERE id = 1 RETURNING size")
                .bind(count)
                .fetch_one(&mut *conn)
                .await?;
        let start = u64::try_from(size - count).map_err(|_| StoreError::Corrupt("ledger head"))?;
        let mut entries = Vec::with_capacity(events.len());
        let mut nodes: Vec<(u8, u64, [u8; 32])> = Vec::with_capacity(events.len() * 2);
        let mut fresh: std::collections::HashMap<(u8, u64), [u8; 32]> = std::collections::HashMap::new();
        for (offset, event) in events.iter().enumerate() {
            let index = start + offset as u64;
            let salt = ::ledger::commitment::salt();
            let commitment = ::ledger::commitment::commit(&salt, &event.canonical_bytes());
            let positions = ::ledger::merkle::append_siblings(index);
            // The siblings not written in this batch, read in one statement.
            let missing: Vec<(u8, u64)> = positions
                .iter()
                .copied()
                .filter(|p| !fresh.contains_key(p))
                .collect();
            if !missing.is_empty() {
                let mut q = sqlx::QueryBuilder::<Db>::new("SELECT level, idx, hash FROM ledger_nodes WHERE ");
                let mut or = q.separated(" OR ");
                for (level, i) in &missing {
                    or.push("(level = ");
                    or.push_bind_unseparated(i64::from(*level));
                    or.push_unseparated(" AND idx = ");
                    or.push_bind_unseparated(i64::try_from(*i).unwrap_or(i64::MAX));
                    or.push_unseparated(")");
                }
                let rows: Vec<(i64, i64, Vec<u8>)> = q.build_query_as().fetch_all(&mut *conn).await?;
                for (level, i, hash) in rows {
                    let position = (
                        u8::try_from(level).map_err(|_| StoreError::Corrupt("ledger node"))?,
                        u64::try_from(i).map_err(|_| StoreError::Corrupt("ledger node"))?,
                    );
                    let hash = ::ledger::merkle::hash_from_slice(&hash)
                        .map_err(|_| StoreError::Corrupt("ledger node"))?;
                    fresh.insert(position, hash);
                }
            }
            let mut siblings = Vec::with_capacity(positions.len());
            for position in &positions {
                siblings.push(
                    *fresh
                        .get(position)
                        .ok_or(StoreError::Corrupt("ledger node missing"))?,
                );
            }
            let leaf = ::ledger::merkle::leaf_hash(&commitment);
            for node in ::ledger::merkle::append_nodes(index, leaf, &siblings) {
                fresh.insert((node.0, node.1), node.2);
                nodes.push(node);
            }
            entries.push((index, event.id, salt, commitment));
        }
        for chunk in entries.chunks(ROWS) {
            let mut insert = sqlx::QueryBuilder::<Db>::new(
                "INSERT INTO ledger_entries (idx, event_id, salt, commitment) ",
            );
            insert.push_values(chunk, |mut row, (index, id, salt, commitment)| {
                row.push_bind(i64::try_from(*index).unwrap_or(i64::MAX))
                    .push_bind(*id)
                    .push_bind(salt.to_vec())
                    .push_bind(commitment.to_vec());
            });
            insert.build().execute(&mut *conn).await?;
        }
        for chunk in nodes.chunks(ROWS) {
            let mut insert = sqlx::QueryBuilder::<Db>::new("INSERT INTO ledger_nodes (level, idx, hash) ");
            insert.push_values(chunk, |mut row, (level, index, hash)| {
                row.push_bind(i64::from(*level))
                    .push_bind(i64::try_from(*index).unwrap_or(i64::MAX))
                    .push_bind(hash.to_vec());
            });
            insert.build().execute(&mut *conn).await?;
        }
        Ok(())
    }
}
