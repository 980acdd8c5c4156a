//! Pieces of SQL that several query modules share, and the helpers they use.
//!
//! The statements are written once, in the dialect SQLite and PostgreSQL share (numbered `$n` parameters,
//! `ON CONFLICT`, `RETURNING`), in the files of `queries/`, each compiled once per backend. The fragments
//! here are macros only because `concat!` needs literals.

use crate::{NoticeQuery, NoticeSort, StoreError};
use chrono::{DateTime, Utc};

/// Maps a unique-constraint violation to `Conflict(what)`, and any other error through unchanged.
pub(crate) fn conflict(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |error| match error.as_database_error() {
        Some(db) if db.is_unique_violation() => StoreError::Conflict(what),
        _ => StoreError::Database(error),
    }
}

/// Whether a transaction failed only because PostgreSQL chose it as a deadlock's victim (or could not
/// serialise it): nothing it did was kept, so running it again is safe.
pub(crate) fn is_deadlock(error: &StoreError) -> bool {
    matches!(error, StoreError::Database(e)
        if e.as_database_error().and_then(|db| db.code()).is_some_and(|c| c == "40P01" || c == "40001"))
}

/// How many times a transaction chosen as a deadlock's victim is run in all.
pub(crate) const DEADLOCK_ATTEMPTS: usize = 4;

macro_rules! notice_select {
    () => {
        "SELECT n.id, n.developer_org_id, o.name AS developer_name, n.model_name, n.model_version, \
         n.model_card, n.planned_launch_at, n.filed_at, n.filed_by, n.window_days, n.shared_with_all, \
         n.launched_at, n.withdrawn_at, n.withdraw_reason, n.window_opens_at, n.window_closes_at \
         FROM notices n JOIN organizations o ON o.id = n.developer_org_id "
    };
}
pub(crate) use notice_select;

/// The conditions of a notice list after the audience's index condition: who may see it (the audience's
/// `notice_visible`), the developer, state and search (`$13`, a `like_pattern`) filters, then `$order`: the
/// keyset cursor and order of a `NoticeSort`. Every order also keeps `window_closes_at >= $12` (see
/// `closes_from`), so that the default order's database seeks into the `(…, window_closes_at, id)` indexes
/// instead of filtering from the first row.
macro_rules! notice_list_conditions {
    () => {
        $crate::sql::notice_list_conditions!($crate::sql::notice_order!(window))
    };
    ($order:expr) => {
        concat!(
            $crate::audience::notice_visible!("$1", "$2"),
            " AND ($3 IS NULL OR n.developer_org_id = $3) \
         AND (($4 AND n.withdrawn_at IS NULL AND n.window_opens_at > $8) \
           OR ($5 AND n.withdrawn_at IS NULL AND n.window_opens_at <= $8 AND n.window_closes_at > $8) \
           OR ($6 AND n.withdrawn_at IS NULL AND n.window_closes_at <= $8) \
           OR ($7 AND n.withdrawn_at IS NOT NULL)) \
         AND ($13 IS NULL OR LOWER(n.model_name) LIKE LOWER($13) ESCAPE '\\' \
           OR LOWER(n.model_version) LIKE LOWER($13) ESCAPE '\\' OR LOWER(o.name) LIKE LOWER($13) ESCAPE '\\') \
         AND n.window_closes_at >= $12 AND ",
            $order,
            " LIMIT $11"
        )
    };
}
pub(crate) use notice_list_conditions;

/// The keysets and orders of `NoticeSort`: `$9` the sort key of the cursor (a time, or the model name), `$10`
/// its id.
macro_rules! notice_order {
    (window) => {
        "($9 IS NULL OR n.window_closes_at > $9 OR (n.window_closes_at = $9 AND n.id > $10)) \
         ORDER BY n.window_closes_at, n.id"
    };
    (filed) => {
        "($9 IS NULL OR n.filed_at > $9 OR (n.filed_at = $9 AND n.id > $10)) ORDER BY n.filed_at, n.id"
    };
    (filed_desc) => {
        "($9 IS NULL OR n.filed_at < $9 OR (n.filed_at = $9 AND n.id < $10)) \
         ORDER BY n.filed_at DESC, n.id DESC"
    };
    (model) => {
        "($9 IS NULL OR n.model_name > $9 OR (n.model_name = $9 AND n.id > $10)) ORDER BY n.model_name, n.id"
    };
}
pub(crate) use notice_order;

/// The earliest `window_closes_at` a notice list can hold: a cursor's page starts at its time (in the default
/// order), and scheduled or in-review windows close after now (a window never closes before it opens). A bound
/// in SQL lets the database start its index scan there; the exact conditions still decide each row.
pub(crate) fn closes_from(q: &NoticeQuery) -> DateTime<Utc> {
    let [_, _, launched, withdrawn] = q.states;
    let mut from = DateTime::<Utc>::from_timestamp(-62_135_596_800, 0).unwrap_or_default(); // 0001-01-01
    if !launched && !withdrawn {
        from = from.max(q.now);
    }
    if let (Some((at, _)), NoticeSort::WindowCloses) = (q.after, q.sort) {
        from = from.max(at);
    }
    from
}

/// Whether a notice list is of one developer's notices, so that the `(developer_org_id, window_closes_at,
/// id)` index serves it: the developer filter is given, or the caller sees only its own organisation's.
pub(crate) fn one_developer(q: &NoticeQuery) -> bool {
    q.developer_org.is_some() || (q.audience.developer_org.is_some() && q.audience.agency_org.is_none())
}

/// The levels and indexes of ledger nodes as two PostgreSQL array literals (`{0,3,1}`), for `unnest`.
pub(crate) fn node_arrays(nodes: &[(u8, u64)]) -> (String, String) {
    let mut levels = String::from("{");
    let mut indexes = String::from("{");
    for (i, (level, index)) in nodes.iter().enumerate() {
        if i > 0 {
            levels.push(',');
            indexes.push(',');
        }
        levels.push_str(&level.to_string());
        indexes.push_str(&i64::try_from(*index).unwrap_or(i64::MAX).to_string());
    }
    levels.push('}');
    indexes.push('}');
    (levels, indexes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Audience;
    use chrono::{Duration, TimeZone};
    use uuid::Uuid;

    fn query(states: [bool; 4], after: Option<DateTime<Utc>>) -> NoticeQuery {
        NoticeQuery {
            audience: audience(None, None),
            now: Utc.with_ymd_and_hms(2027, 6, 1, 0, 0, 0).unwrap(),
            states,
            developer_org: None,
            after: after.map(|at| (at, Uuid::nil())),
            limit: 51,
            search: None,
            sort: NoticeSort::WindowCloses,
            after_model: None,
        }
    }

    fn audience(developer_org: Option<Uuid>, agency_org: Option<Uuid>) -> Audience {
        Audience {
            user_id: Uuid::nil(),
            org_id: Uuid::nil(),
            org_admin: false,
            program_admin: false,
            coordinator: false,
            developer_org,
            agency_org,
        }
    }

    #[test]
    fn a_list_seeks_past_rows_that_cannot_match() {
        let now = query([true; 4], None).now;
        let start = Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap();
        let (earlier, later) = (now - Duration::days(3), now + Duration::days(3));
        // [scheduled, in_review, launched, withdrawn]
        let cases = [
            ([true, true, true, true], None, start),
            ([true, true, false, false], None, now),
            ([false, true, false, false], None, now),
            ([true, false, false, false], None, now),
            ([false, false, true, false], None, start),
            ([false, false, false, true], None, start),
            ([false, true, false, true], None, start),
            ([true, true, true, true], Some(earlier), earlier),
            ([false, true, false, false], Some(earlier), now),
            ([false, true, false, false], Some(later), later),
        ];
        for (states, after, expected) in cases {
            assert_eq!(
                closes_from(&query(states, after)),
                expected,
                "{states:?} after {after:?}"
            );
        }
    }

    #[test]
    fn only_lists_of_one_developer_use_its_index() {
        let (a, b) = (Some(Uuid::now_v7()), Some(Uuid::now_v7()));
        // (audience developer, audience agency, developer filter)
        let cases = [
            ((a, None, None), true),
            ((None, b, None), false),
            ((None, b, a), true),
            ((a, None, a), true),
            ((a, b, None), false),
            ((None, None, None), false),
        ];
        for ((developer_org, agency_org, filter), expected) in cases {
            let mut q = query([true; 4], None);
            q.audience = audience(developer_org, agency_org);
            q.developer_org = filter;
            assert_eq!(one_developer(&q), expected, "{:?}", q.audience);
        }
    }

    #[test]
    fn node_lists_become_array_literals() {
        let cases = [
            (vec![], ("{}", "{}")),
            (vec![(0, 7)], ("{0}", "{7}")),
            (
                vec![(3, 1), (0, 1_000_000), (63, 0)],
                ("{3,0,63}", "{1,1000000,0}"),
            ),
        ];
        for (nodes, (levels, indexes)) in cases {
            assert_eq!(
                node_arrays(&nodes),
                (levels.to_owned(), indexes.to_owned()),
                "{nodes:?}"
            );
        }
    }
}
