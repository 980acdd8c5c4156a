//! A TAXII post is all or nothing: the reports it files, the objects it stores, its status resource and its
//! event are written in one store transaction. The database is made to refuse the status resource (a trigger
//! on `taxii_statuses`, the last write of a post), after the reports were filed in the same transaction:
//! nothing of the post may remain, and a retry once the database takes it again stores everything once.

use crate::support::*;
use crate::taxii_write::{TAXII, sid, stored, vulnerability};
use crate::tlp_matrix::{Cast, Who};
use app::clearinghouse::taxii::Collection;
use clearinghouse::tlp::Tlp;
use reqwest::Method;
use serde_json::json;

/// Makes the database refuse (`refuse`) or take again every new status resource.
async fn refuse_statuses(t: &TestApp, refuse: bool) {
    let sql = match (backend(), refuse) {
        (Backend::Sqlite, true) => {
            "CREATE TRIGGER refuse_status BEFORE INSERT ON taxii_statuses \
             BEGIN SELECT RAISE(ABORT, 'status refused'); END"
        }
        (Backend::Sqlite, false) => "DROP TRIGGER refuse_status",
        (Backend::Postgres, true) => {
            "CREATE FUNCTION refuse_status() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'status refused'; END $$; \
             CREATE TRIGGER refuse_status BEFORE INSERT ON taxii_statuses \
             FOR EACH ROW EXECUTE FUNCTION refuse_status()"
        }
        (Backend::Postgres, false) => "DROP TRIGGER refuse_status ON taxii_statuses",
    };
    macro_rules! run {
        ($conn:ty) => {{
            let mut conn = <$conn as sqlx::Connection>::connect(&t.database_url)
                .await
                .unwrap();
            sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
        }};
    }
    match backend() {
        Backend::Sqlite => run!(sqlx::SqliteConnection),
        Backend::Postgres => run!(sqlx::PgConnection),
    }
}

#[tokio::test]
async fn a_post_whose_recording_fails_stores_nothing_and_a_retry_stores_it_once() {
    let t = spawn_app().await;
    let cast = Cast::new(&t).await;
    let poster = cast.get(Who::Client);
    let path = format!("/taxii2/api/collections/{}/objects/", Collection::all()[1].id);
    assert_eq!(Collection::all()[1].tlp, Tlp::Green);
    let tool = json!({"type": "tool", "spec_version": "2.1", "id": sid("tool", 40), "created": "2026-03-01T10:00:00Z",
                      "modified": "2026-03-01T10:00:00Z", "name": "nmap"});
    let body = json!({"objects": [
        vulnerability(41, "Edge router TLS parser overflow"),
        vulnerability(42, "Water pump controller default password"),
        tool,
    ]})
    .to_string()
    .into_bytes();
    let post = || {
        t.raw(
            Method::POST,
            &path,
            Some(&poster.token),
            Some(TAXII),
            body.clone(),
        )
    };

    let before = stored(&t).await;
    let seq = t.audit_seq().await;
    refuse_statuses(&t, true).await;
    let failed = post().await;
    assert_eq!(failed.status.as_u16(), 500, "{:?}", failed.body);
    assert_eq!(stored(&t).await, before, "objects, statuses, reports");
    assert!(t.audit_after(seq).await.is_empty(), "no event of the post");

    refuse_statuses(&t, false).await;
    let taken = post().await;
    assert_eq!(taken.status.as_u16(), 202, "{:?}", taken.body);
    assert_eq!(
        (&taken.body["success_count"], &taken.body["failure_count"]),
        (&json!(3), &json!(0)),
        "{:?}",
        taken.body
    );
    let after = stored(&t).await;
    assert_eq!(
        (after[1], after[2]),
        (before[1] + 1, before[2] + 2),
        "one status, two reports"
    );
    for id in [
        sid("vulnerability", 41),
        sid("vulnerability", 42),
        sid("tool", 40),
    ] {
        let held = t
            .app
            .store
            .stix_origins(Tlp::Green, std::slice::from_ref(&id))
            .await
            .unwrap();
        assert_eq!(held.len(), 1, "{id}");
    }
    let posts: Vec<_> = t
        .audit_after(seq)
        .await
        .into_iter()
        .filter(|e| e.action == "taxii.post")
        .collect();
    assert_eq!(posts.len(), 1);

    // The same post again stores no version twice and files no report again.
    let again = post().await;
    assert_eq!(
        (again.status.as_u16(), &again.body["failure_count"]),
        (202, &json!(3)),
        "{:?}",
        again.body
    );
    assert_eq!(stored(&t).await[2], after[2]);
}
