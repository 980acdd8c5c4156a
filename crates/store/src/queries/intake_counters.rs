//! The intake counters, compiled once for each backend like every file of `queries/`: the organisations' and
//! vendors' limits, counted in the database so that every process shares them (`queries/intake.rs` takes a
//! group's at once; `ReportStore::take_intake_count` one).

use super::writes::insert_values;
use super::{Db, This};
use crate::Result;
use crate::reports::{Intake, IntakeLimit, LimitReached};
use chrono::{DateTime, Utc};

type Conn = <Db as sqlx::Database>::Connection;

/// Counts one more in an intake counter unless it is full; false when full (nothing changed).
pub(super) async fn take_count(conn: &mut Conn, limit: &IntakeLimit) -> Result<bool> {
    let taken: Option<i64> = sqlx::query_scalar(
        "INSERT INTO intake_counters (scope, window_start, count) SELECT $1, $2, 1 WHERE $3 >= 1 \
         ON CONFLICT (scope, window_start) DO UPDATE SET count = intake_counters.count + 1 \
         WHERE intake_counters.count < $3 RETURNING count",
    )
    .bind(&limit.scope)
    .bind(limit.window_start)
    .bind(limit.max)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(taken.is_some())
}

/// Checks and takes the intake counters of a group of reports at once, in order: each report takes one from
/// every counter it names unless one of them is full, and then takes none and is refused by the first full one
/// (`LimitReached` with its index). Three statements whatever the group's size: the counters not yet stored made
/// at zero, all of them read (on PostgreSQL locked, in key order, so concurrent groups wait rather than lose
/// counts), the new counts written.
pub(super) async fn take_counts(conn: &mut Conn, intakes: &[&Intake]) -> Result<Vec<Option<LimitReached>>> {
    let mut keys: Vec<(&str, DateTime<Utc>)> = intakes
        .iter()
        .flat_map(|i| i.limits.iter().map(|l| (l.scope.as_str(), l.window_start)))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    if keys.is_empty() {
        return Ok(vec![None; intakes.len()]);
    }
    insert_values(
        conn,
        "INSERT INTO intake_counters (scope, window_start, count) ",
        " ON CONFLICT (scope, window_start) DO NOTHING",
        &keys,
        2,
        |mut row, (scope, at)| {
            row.push_bind(scope.to_string()).push_bind(*at).push("0");
        },
    )
    .await?;
    let mut q =
        sqlx::QueryBuilder::<Db>::new("SELECT scope, window_start, count FROM intake_counters WHERE ");
    let mut or = q.separated(" OR ");
    for (scope, at) in &keys {
        or.push("(scope = ");
        or.push_bind_unseparated(scope.to_string());
        or.push_unseparated(" AND window_start = ");
        or.push_bind_unseparated(*at);
        or.push_unseparated(")");
    }
    q.push(" ORDER BY scope, window_start");
    if This::BACKEND == crate::Backend::Postgres {
        q.push(" FOR UPDATE");
    }
    let stored: Vec<(String, DateTime<Utc>, i64)> = q.build_query_as().fetch_all(&mut *conn).await?;
    let mut counts: std::collections::HashMap<(&str, DateTime<Utc>), i64> =
        keys.iter().map(|k| (*k, 0)).collect();
    for (scope, at, count) in &stored {
        if let Some(c) = counts.get_mut(&(scope.as_str(), *at)) {
            *c = *count;
        }
    }
    let mut changed = std::collections::BTreeSet::new();
    let mut outcomes = Vec::with_capacity(intakes.len());
    for intake in intakes {
        let mut taken: Vec<(&str, DateTime<Utc>)> = Vec::with_capacity(intake.limits.len());
        let mut refused = None;
        for (i, limit) in intake.limits.iter().enumerate() {
            let key = (limit.scope.as_str(), limit.window_start);
            let before = counts.get(&key).copied().unwrap_or(0);
            let already = i64::try_from(taken.iter().filter(|k| **k == key).count()).unwrap_or(i64::MAX);
            if before.saturating_add(already) >= limit.max {
                refused = Some(LimitReached(i));
                break;
            }
            taken.push(key);
        }
        if refused.is_none() {
            for key in taken {
                *counts.entry(key).or_insert(0) += 1;
                changed.insert(key);
            }
        }
        outcomes.push(refused);
    }
    let changed: Vec<((&str, DateTime<Utc>), i64)> = changed
        .into_iter()
        .map(|k| (k, counts.get(&k).copied().unwrap_or(0)))
        .collect();
    insert_values(
        conn,
        "INSERT INTO intake_counters (scope, window_start, count) ",
        " ON CONFLICT (scope, window_start) DO UPDATE SET count = excluded.count",
        &changed,
        3,
        |mut row, ((scope, at), count)| {
            row.push_bind(scope.to_string()).push_bind(*at).push_bind(*count);
        },
    )
    .await?;
    Ok(outcomes)
}
