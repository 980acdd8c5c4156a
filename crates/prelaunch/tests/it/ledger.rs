//! The transparency ledger end to end: every change is an entry, nothing else is; proofs, tiles and
//! receipts verify; tampering and crashes are caught by `prelaunch ledger verify`.

use crate::cli::{Server, run};
use crate::support::*;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ledger::merkle::{self, Hash};
use ledger::receipt::Receipt;
use ledger::{Checkpoint, VerifierKey};
use reqwest::Method;
use serde_json::{Value, json};

async fn text(t: &TestApp, path: &str) -> String {
    let response = t.client.get(t.url(path)).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

async fn key_of(t: &TestApp) -> VerifierKey {
    VerifierKey::parse(text(t, "/ledger/key").await.trim()).unwrap()
}

async fn sign_now(t: &TestApp, admin: &Persona) -> Checkpoint {
    let reply = t
        .call(
            Method::POST,
            "/api/v1/ledger/checkpoints",
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let key = key_of(t).await;
    Checkpoint::parse(key.verify(reply.body["note"].as_str().unwrap()).unwrap()).unwrap()
}

fn hashes(value: &Value) -> Vec<Hash> {
    value["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| merkle::hash_from_slice(&STANDARD.decode(h.as_str().unwrap()).unwrap()).unwrap())
        .collect()
}

#[tokio::test]
async fn every_change_is_one_entry_and_a_failed_change_none() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let before = t.app.store.ledger_size().await.unwrap();
    assert_eq!(before, t.app.store.count_audit().await.unwrap() as u64);
    // Concurrent writers through the API: indexes stay gapless and every event has exactly one entry.
    let launch = (t.clock_now() + chrono::Duration::days(40)).to_rfc3339();
    let mut filings = tokio::task::JoinSet::new();
    for i in 0..12 {
        let (client, url, token) = (
            t.client.clone(),
            t.url("/api/v1/notices"),
            w.dev_admin.token.clone(),
        );
        let body = json!({"model_name": format!("M{i}"), "model_version": "1", "planned_launch_at": launch, "shared_with_all": true});
        filings.spawn(async move {
            client
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
        });
    }
    while let Some(status) = filings.join_next().await {
        assert_eq!(status.unwrap(), 201);
    }
    let size = t.app.store.ledger_size().await.unwrap();
    assert_eq!(size, before + 12);
    assert_eq!(size, t.app.store.count_audit().await.unwrap() as u64);
    let entries = t.app.store.ledger_entries(0, size).await.unwrap();
    assert_eq!(
        entries.iter().map(|e| e.idx).collect::<Vec<_>>(),
        (0..size as i64).collect::<Vec<_>>()
    );

    // A change that fails (a second person with the same e-mail) writes no entry.
    assert!(
        t.app
            .provision_user("Frontier Lab", "admin@lab.example", "member")
            .await
            .is_err()
    );
    assert_eq!(t.app.store.ledger_size().await.unwrap(), size);
    let audit = t.app.audit_ledger().await.unwrap();
    assert_eq!((audit.entries, audit.broken), (size, None));
}

#[tokio::test]
async fn checkpoints_proofs_and_tiles_verify() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let first = sign_now(&t, &w.program_admin).await;
    for _ in 0..5 {
        t.file_notice(&w.dev_admin, 40, &[w.agency]).await;
    }
    let second = sign_now(&t, &w.program_admin).await;
    assert_eq!(second.size, first.size + 5);
    assert_eq!(
        text(&t, "/ledger/checkpoint").await.lines().nth(1).unwrap(),
        second.size.to_string()
    );

    let proof = t
        .call(
            Method::GET,
            &format!("/ledger/proof/consistency?old={}&new={}", first.size, second.size),
            None,
            None,
        )
        .await;
    merkle::verify_consistency(
        first.size,
        second.size,
        &first.root,
        &second.root,
        &hashes(proof.ok()),
    )
    .unwrap();

    // Every leaf, from the entry tile, is included in the signed root.
    let width = second.size; // fewer than 256 entries: one partial tile
    let entries = t
        .client
        .get(t.url(&format!("/ledger/tile/entries/000.p/{width}")))
        .send()
        .await
        .unwrap();
    assert_eq!(entries.status(), 200);
    let bundle = ledger::tile::parse_entry_bundle(&entries.bytes().await.unwrap()).unwrap();
    let leaves = t
        .client
        .get(t.url(&format!("/ledger/tile/0/000.p/{width}")))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(bundle.len() as u64, width);
    for (index, entry) in bundle.iter().enumerate() {
        let leaf = merkle::leaf_hash(entry);
        assert_eq!(&leaves[index * 32..index * 32 + 32], leaf.as_slice());
        let proof = t
            .call(
                Method::GET,
                &format!("/ledger/proof/inclusion?index={index}&size={}", second.size),
                None,
                None,
            )
            .await;
        merkle::verify_inclusion(
            index as u64,
            second.size,
            &leaf,
            &hashes(proof.ok()),
            &second.root,
        )
        .unwrap();
    }

    // Tiles the published tree does not have, and bad proof requests, are refused.
    let cases = [
        ("/ledger/tile/0/000", 404),
        (&format!("/ledger/tile/0/000.p/{}", width + 1) as &str, 404),
        ("/ledger/tile/0/1", 404),
        ("/ledger/tile/9/000", 404),
        (
            &format!(
                "/ledger/proof/inclusion?index={}&size={}",
                second.size, second.size
            ),
            422,
        ),
        (
            &format!("/ledger/proof/inclusion?index=0&size={}", second.size + 1),
            422,
        ),
        ("/ledger/proof/consistency?old=0&new=1", 422),
        ("/ledger/proof/consistency?old=x&new=1", 422),
        ("/ledger/proof/inclusion?index=0", 422),
    ];
    for (path, status) in cases {
        let reply = t.call(Method::GET, path, None, None).await;
        assert_eq!(reply.status.as_u16(), status, "{path}: {}", reply.body);
    }
    // Only program administrators sign on demand.
    let refused = t
        .call(
            Method::POST,
            "/api/v1/ledger/checkpoints",
            Some(&w.dev_admin.token),
            None,
        )
        .await;
    refused.problem(403, "forbidden");
}

#[tokio::test]
async fn receipts_go_to_those_entitled_and_verify_offline() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    let notice = t.file_notice(&w.dev_admin, 40, &[w.agency]).await;
    let notice_id: uuid::Uuid = notice["id"].as_str().unwrap().parse().unwrap();
    let event = t
        .app
        .store
        .list_audit(Some(notice_id), &store::Page::first(10))
        .await
        .unwrap();
    let event_id = event[0].id;
    let path = format!("/api/v1/audit/{event_id}/receipt");

    let key = key_of(&t).await;
    for who in [&w.dev_admin, &w.dev_member, &w.evaluator, &w.program_admin] {
        let response = t
            .client
            .get(t.url(&path))
            .bearer_auth(&who.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{}", who.name);
        let receipt = Receipt::parse(&response.text().await.unwrap()).unwrap();
        let checkpoint = receipt.verify(&key).unwrap();
        assert!(checkpoint.size > receipt.index);
        let event: Value = serde_json::from_slice(&receipt.event).unwrap();
        assert_eq!(event["action"], "notice.file");
        assert_eq!(event["object_id"], notice_id.to_string());
    }
    for who in [&w.other_evaluator, &w.other_dev, &w.vendor, &w.coordinator] {
        t.get(who, &path).await.problem(404, "not-found");
    }

    // The binary checks the receipt offline; a tampered one fails.
    let body = t
        .client
        .get(t.url(&path))
        .bearer_auth(&w.dev_admin.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let dir = TestDir::new("ledger");
    let good = dir.join("event.tlog-proof");
    std::fs::write(&good, &body).unwrap();
    let key_text = key.to_string();
    let out = run(
        &t.database_url,
        &[
            "ledger",
            "verify",
            "--receipt",
            good.to_str().unwrap(),
            "--key",
            &key_text,
        ],
    )
    .await;
    assert!(out.ok, "{}", out.stderr);
    assert!(out.stdout.contains("notice.file"), "{}", out.stdout);
    let mut receipt = Receipt::parse(&body).unwrap();
    receipt.event = String::from_utf8(receipt.event)
        .unwrap()
        .replace("notice.file", "notice.fake")
        .into_bytes();
    let bad = dir.join("tampered.tlog-proof");
    std::fs::write(&bad, receipt.encode()).unwrap();
    let out = run(
        &t.database_url,
        &[
            "ledger",
            "verify",
            "--receipt",
            bad.to_str().unwrap(),
            "--key",
            &key_text,
        ],
    )
    .await;
    assert!(!out.ok);
    assert!(out.stderr.contains("does not verify"), "{}", out.stderr);
}

/// Runs the database check of the binary on the test's database.
async fn verify_database(url: &str) -> crate::cli::Run {
    run(url, &["ledger", "verify", "--database"]).await
}

async fn tamper(url: &str, sql: &str, id: uuid::Uuid) {
    match backend() {
        Backend::Sqlite => {
            use sqlx::Connection;
            let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
            let done = sqlx::query(sql).bind(id).execute(&mut conn).await.unwrap();
            assert_eq!(done.rows_affected(), 1, "{sql}");
        }
        Backend::Postgres => {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            let done = sqlx::query(sql).bind(id).execute(&mut conn).await.unwrap();
            assert_eq!(done.rows_affected(), 1, "{sql}");
        }
    }
}

#[tokio::test]
async fn editing_the_database_behind_the_ledgers_back_is_caught_at_the_entry() {
    // Each case edits one stored row directly; the check names the entry it belongs to.
    let cases: &[(&str, &str)] = &[
        (
            "UPDATE audit_events SET action = 'notice.forged' WHERE id = $1",
            "does not match its commitment",
        ),
        (
            "UPDATE ledger_entries SET commitment = salt WHERE event_id = $1",
            "does not match its commitment",
        ),
        (
            "UPDATE ledger_nodes SET hash = (SELECT salt FROM ledger_entries WHERE event_id = $1) \
             WHERE level = 0 AND idx = (SELECT idx FROM ledger_entries WHERE event_id = $1)",
            "leaf hash",
        ),
    ];
    for (sql, expected) in cases {
        let t = spawn_app().await;
        let w = World::new(&t).await;
        for _ in 0..3 {
            t.file_notice(&w.dev_admin, 40, &[w.agency]).await;
        }
        let clean = verify_database(&t.database_url).await;
        assert!(clean.ok, "{}", clean.stderr);
        let target = t.app.store.ledger_entries(7, 1).await.unwrap().remove(0);
        tamper(&t.database_url, sql, target.event.id).await;
        let out = verify_database(&t.database_url).await;
        assert!(!out.ok, "{sql}");
        assert!(
            out.stderr.contains("ledger entry 7 is broken"),
            "{sql}: {}",
            out.stderr
        );
        assert!(out.stderr.contains(expected), "{sql}: {}", out.stderr);
    }
}

#[tokio::test]
async fn a_monitor_rebuilds_the_log_and_notices_a_rewrite() {
    let t = spawn_app().await;
    let w = World::new(&t).await;
    for _ in 0..4 {
        t.file_notice(&w.dev_admin, 40, &[w.agency]).await;
    }
    let saved = {
        let reply = t
            .call(
                Method::POST,
                "/api/v1/ledger/checkpoints",
                Some(&w.program_admin.token),
                None,
            )
            .await;
        reply.ok()["note"].as_str().unwrap().to_owned()
    };
    let dir = TestDir::new("ledger");
    let saved_path = dir.join("checkpoint");
    std::fs::write(&saved_path, &saved).unwrap();
    for _ in 0..3 {
        t.file_notice(&w.dev_admin, 40, &[w.agency]).await;
    }
    sign_now(&t, &w.program_admin).await;
    let key = key_of(&t).await.to_string();
    let follow = [
        "ledger", "verify", "--url", &t.base, "--key", &key, "--follow", "--once",
    ];
    let out = run(&t.database_url, &follow).await;
    assert!(out.ok, "{}", out.stderr);
    let consistent = [
        "ledger",
        "verify",
        "--url",
        &t.base,
        "--key",
        &key,
        "--checkpoint",
        saved_path.to_str().unwrap(),
    ];
    let out = run(&t.database_url, &consistent).await;
    assert!(out.ok, "{}", out.stderr);

    // Rewrite entry 2 consistently (commitment and leaf hash): tiles agree with each other, but no longer
    // with the signed root.
    let target = t.app.store.ledger_entries(2, 1).await.unwrap().remove(0);
    tamper(
        &t.database_url,
        "UPDATE ledger_entries SET commitment = salt WHERE event_id = $1",
        target.event.id,
    )
    .await;
    let forged = merkle::leaf_hash(&target.salt);
    let sql = format!(
        "UPDATE ledger_nodes SET hash = {} WHERE level = 0 AND idx = (SELECT idx FROM ledger_entries WHERE event_id = $1)",
        match backend() {
            Backend::Sqlite => format!("X'{}'", hex(&forged)),
            Backend::Postgres => format!("'\\x{}'::bytea", hex(&forged)),
        }
    );
    tamper(&t.database_url, &sql, target.event.id).await;
    let out = run(&t.database_url, &follow).await;
    assert!(!out.ok);
    assert!(out.stderr.contains("ALARM"), "{}", out.stderr);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn a_crash_in_a_burst_of_appends_leaves_a_consistent_ledger() {
    let url = fresh_database_url().await;
    let (seed, clock) = app_on(&url, "http://seed").await;
    clock.set(wall_clock());
    let (_, token) = seed.init_admin("admin@ch.example").await.unwrap();
    let token = token.expose().to_owned();
    drop(seed);

    let server = Server::start(&url).await;
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let saved = client
        .post(format!("{}/api/v1/ledger/checkpoints", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["note"]
        .as_str()
        .unwrap()
        .to_owned();
    // A burst of concurrent appends (organisations created through the API), killed midway.
    let mut writers = tokio::task::JoinSet::new();
    for worker in 0..8 {
        let (client, base, token) = (client.clone(), server.base.clone(), token.clone());
        writers.spawn(async move {
            for i in 0..200 {
                let body = json!({"kind": "vendor", "name": format!("Vendor {worker}-{i}")});
                if client
                    .post(format!("{base}/api/v1/organizations"))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await
                    .is_err()
                {
                    return;
                }
            }
        });
    }
    // Killed once a few dozen appends have landed (by their count, not a time: a loaded machine is slow).
    let saved_size: u64 = saved.lines().nth(1).unwrap().parse().unwrap();
    let (watcher, _) = app_on(&url, "http://watch").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while watcher.store.ledger_size().await.unwrap() < saved_size + 30 {
        assert!(
            std::time::Instant::now() < deadline,
            "the burst never reached 30 appends"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    drop(watcher);
    let mut child = server.child;
    child.start_kill().unwrap(); // SIGKILL
    child.wait().await.unwrap();
    while writers.join_next().await.is_some() {}

    let restarted = Server::start(&url).await;
    let (after, _) = app_on(&url, "http://after").await;
    let size = after.store.ledger_size().await.unwrap();
    assert!(
        size > saved_size + 10 && size < saved_size + 1600,
        "the kill landed mid-burst: {saved_size} → {size}"
    );
    let out = run(&url, &["ledger", "verify", "--database"]).await;
    assert!(out.ok, "{}", out.stderr);
    let key = client
        .get(format!("{}/ledger/key", restarted.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let dir = TestDir::new("ledger");
    std::fs::write(dir.join("saved"), &saved).unwrap();
    let saved_path = dir.join("saved");
    let out = run(
        &url,
        &[
            "ledger",
            "verify",
            "--url",
            &restarted.base,
            "--key",
            key.trim(),
            "--checkpoint",
            saved_path.to_str().unwrap(),
        ],
    )
    .await;
    assert!(out.ok, "{}", out.stderr);
    restarted.stop().await;
}
