//! A failing database or corrupt data is our failure (a 5xx), not the caller's.

use super::*;

/// Runs one statement on the test's database, as the operator of a broken server would find it.
async fn break_database(t: &TestApp, sqlite: &str, postgres: &str) {
    use sqlx::Connection;
    match backend() {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(&t.database_url).await.unwrap();
            sqlx::query(sqlite).execute(&mut conn).await.unwrap();
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&t.database_url).await.unwrap();
            sqlx::query(postgres).execute(&mut conn).await.unwrap();
        }
    }
}

#[tokio::test]
async fn a_failing_database_or_corrupt_data_is_our_failure_not_the_caller_s() {
    // (what breaks, SQLite, PostgreSQL, the request that meets it)
    let cases: [(&str, &str, &str, &str); 3] = [
        (
            "the table of shares is gone while a finding is read",
            "ALTER TABLE shares RENAME TO shares_gone",
            "ALTER TABLE shares RENAME TO shares_gone",
            "finding",
        ),
        (
            "the ledger's right edge holds a hash of the wrong length",
            "UPDATE ledger_nodes SET hash = X'00'",
            "UPDATE ledger_nodes SET hash = '\\x00'::bytea",
            "file",
        ),
        (
            "the stored review window does not read back",
            "UPDATE settings SET value = 'thirty' WHERE name = 'window_days'",
            "UPDATE settings SET value = 'thirty' WHERE name = 'window_days'",
            "file",
        ),
    ];
    for (what, sqlite, postgres, request) in cases {
        let t = spawn_app().await;
        let w = World::new(&t).await;
        t.put(&w.program_admin, "/api/v1/policy", json!({"window_days": 30}))
            .await
            .ok();
        let notice = id_of(&t.file_notice(&w.dev_admin, 40, &[w.agency]).await);
        t.assign(&w.agency_admin, notice, &w.evaluator).await;
        let finding = id_of(&t.file_finding(&w.evaluator, notice, &[]).await);
        // An append reads the ledger's right edge only for a leaf at an odd index.
        if t.app.store.ledger_size().await.unwrap() % 2 == 0 {
            t.put(&w.program_admin, "/api/v1/policy", json!({"window_days": 30}))
                .await
                .ok();
        }
        break_database(&t, sqlite, postgres).await;
        let reply = match request {
            "finding" => t.get(&w.dev_admin, &format!("/api/v1/findings/{finding}")).await,
            _ => {
                let launch = t.clock_now() + chrono::Duration::days(40);
                let body = json!({
                    "model_name": "Orion", "model_version": "2", "planned_launch_at": launch,
                    "model_card": "# Orion", "shared_with": [w.agency],
                });
                t.post(&w.dev_admin, "/api/v1/notices", body).await
            }
        };
        assert_eq!(reply.status, 500, "{what}: {}", reply.body);
        let problem = reply.problem(500, "internal");
        let text = problem.to_string();
        for leak in ["shares", "ledger", "thirty", "window_days", "sql", "SQL"] {
            assert!(!text.contains(leak), "{what}: the answer tells {leak}: {text}");
        }
    }
}
