//! The store's rows carry typed values: a closed set's column read back with a value outside its set is corrupt
//! data, answered 500 with the cause logged, never read as a default nor as "not found".

use crate::support::*;
use sqlx::Connection;
use store::StoreError;
use uuid::Uuid;

/// Runs statements straight against the test's database, with the columns' CHECK constraints off, as a
/// damaged or hand-edited database would be.
async fn corrupt(t: &TestApp, statements: &[String]) {
    match backend() {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(&t.database_url).await.unwrap();
            sqlx::query("PRAGMA ignore_check_constraints = ON")
                .execute(&mut conn)
                .await
                .unwrap();
            for s in statements {
                sqlx::query(s).execute(&mut conn).await.unwrap();
            }
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&t.database_url).await.unwrap();
            for table in ["organizations", "users"] {
                sqlx::query(&format!(
                    "ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {table}_kind_check, \
                     DROP CONSTRAINT IF EXISTS {table}_role_check"
                ))
                .execute(&mut conn)
                .await
                .unwrap();
            }
            for s in statements {
                sqlx::query(s).execute(&mut conn).await.unwrap();
            }
        }
    }
}

fn quoted(id: Uuid) -> String {
    match backend() {
        // SQLite stores uuids as 16-byte blobs.
        Backend::Sqlite => format!("X'{}'", id.simple()),
        Backend::Postgres => format!("'{id}'"),
    }
}

#[tokio::test]
async fn a_stored_value_outside_its_closed_set_is_our_failure() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let notice = id_of(&t.file_notice(&w.dev_admin, 40, &[w.agency]).await);
    let finding = id_of(&t.file_finding(&w.agency_admin, notice, &[]).await);
    let vendor_org = w.vendor.org_id;
    // (statement that damages a row, the read through the API that must fail, the column named in the cause)
    let cases = [
        (
            format!(
                "UPDATE findings SET severity = 'catastrophic' WHERE id = {}",
                quoted(finding)
            ),
            (&w.agency_admin, format!("/api/v1/findings/{finding}")),
            "severity",
        ),
        (
            format!(
                "UPDATE findings SET severity = 'high', domain = 'weather' WHERE id = {}",
                quoted(finding)
            ),
            (&w.dev_admin, format!("/api/v1/findings/{finding}")),
            "domain",
        ),
        (
            format!(
                "UPDATE users SET role = 'owner' WHERE id = {}",
                quoted(w.dev_member.user_id)
            ),
            (&w.dev_admin, format!("/api/v1/users/{}", w.dev_member.user_id)),
            "role",
        ),
        (
            format!(
                "UPDATE organizations SET kind = 'bank' WHERE id = {}",
                quoted(vendor_org)
            ),
            (&w.program_admin, format!("/api/v1/organizations/{vendor_org}")),
            "kind",
        ),
    ];
    for (damage, (reader, path), column) in cases {
        corrupt(&t, std::slice::from_ref(&damage)).await;
        t.get(reader, &path).await.problem(500, "internal");
        // The store names the column in the error the server logs.
        let developer = store::Audience {
            user_id: w.dev_admin.user_id,
            org_id: w.dev_admin.org_id,
            org_admin: true,
            program_admin: false,
            coordinator: false,
            developer_org: Some(w.dev_admin.org_id),
            agency_org: None,
        };
        let read = match column {
            "severity" | "domain" => {
                let page = store::FindingList {
                    limit: 10,
                    ..store::FindingList::default()
                };
                t.app
                    .store
                    .list_findings(notice, &developer, &page)
                    .await
                    .map(drop)
            }
            "role" => t.app.store.get_user(w.dev_member.user_id).await.map(drop),
            _ => t.app.store.get_org(vendor_org).await.map(drop),
        };
        match read {
            Err(StoreError::CorruptValue { column: named, .. }) => assert_eq!(named, column, "{damage}"),
            other => panic!("{damage}: expected corrupt data in {column}, got {other:?}"),
        }
    }
}
