//! Writes that read nothing back, batched where the backend allows (`Writes`), compiled once for each backend
//! like every file of `queries/`.

use super::{Db, This};
use crate::Result;

type Conn = <Db as sqlx::Database>::Connection;

/// The most bound parameters one multi-row statement carries (both backends allow far more).
const MAX_PARAMS: usize = 30_000;

/// Writes that read nothing back, run in order when `run`. On SQLite in one call to the connection's thread, the
/// statements joined by `;` (its `?` parameters are bound in turn across them), where each statement on its own
/// would be a round trip to that thread; PostgreSQL's extended protocol takes one statement per call, so there
/// one by one.
#[derive(Default)]
pub(super) struct Writes {
    /// The statements complete (PostgreSQL).
    done: Vec<sqlx::QueryBuilder<'static, Db>>,
    /// The statement being written; on SQLite, all of them.
    current: Option<sqlx::QueryBuilder<'static, Db>>,
}

impl Writes {
    /// Where the next statement goes.
    fn next(&mut self) -> &mut sqlx::QueryBuilder<'static, Db> {
        match self.current.take() {
            Some(mut q) if This::BACKEND == crate::Backend::Sqlite => {
                q.push("; ");
                self.current = Some(q);
            }
            Some(q) => self.done.push(q),
            None => {}
        }
        self.current.get_or_insert_with(|| sqlx::QueryBuilder::new(""))
    }

    /// A statement, built by `build` (which pushes its SQL and binds into the builder given).
    pub(super) fn statement(&mut self, build: impl FnOnce(&mut sqlx::QueryBuilder<'static, Db>)) {
        build(self.next());
    }

    /// `head` followed by `VALUES` rows of `width` parameters each, `tail` after them, in as many statements as
    /// `MAX_PARAMS` needs (none for no rows).
    pub(super) fn values<T>(
        &mut self,
        head: &str,
        tail: &str,
        rows: &[T],
        width: usize,
        mut push: impl FnMut(sqlx::query_builder::Separated<'_, 'static, Db, &'static str>, &T),
    ) {
        for chunk in rows.chunks((MAX_PARAMS / width.max(1)).max(1)) {
            let q = self.next();
            q.push(head);
            q.push_values(chunk, &mut push);
            q.push(tail);
        }
    }

    pub(super) async fn run(self, conn: &mut Conn) -> Result<()> {
        for mut q in self.done.into_iter().chain(self.current) {
            q.build().execute(&mut *conn).await?;
        }
        Ok(())
    }
}

/// `Writes::values` on its own.
pub(super) async fn insert_values<T>(
    conn: &mut Conn,
    head: &str,
    tail: &str,
    rows: &[T],
    width: usize,
    push: impl FnMut(sqlx::query_builder::Separated<'_, 'static, Db, &'static str>, &T),
) -> Result<()> {
    let mut writes = Writes::default();
    writes.values(head, tail, rows, width, push);
    writes.run(conn).await
}
