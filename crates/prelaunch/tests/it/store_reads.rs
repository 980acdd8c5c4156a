//! Reads tuned for PostgreSQL's round trips: the ledger's node reads (one statement text whatever the number of
//! nodes) and the node cache in front of them, and the pool's liveness check, which pings only connections
//! that sat idle.

use crate::support::*;
use app::{App, Config, SystemClock};
use chrono::{Duration, TimeZone, Utc};
use ledger::merkle::{self, MemoryTree, NodeReader};
use std::sync::Arc;
use store::{AuditEvent, Json, Store};
use uuid::Uuid;

fn event(n: u64) -> AuditEvent {
    AuditEvent {
        seq: 0,
        id: Uuid::now_v7(),
        at: Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap() + Duration::seconds(n as i64),
        actor_user_id: None,
        actor_org_id: None,
        action: "notice.moved".into(),
        object_type: "notice".into(),
        object_id: Some(Uuid::now_v7()),
        details: Json(serde_json::json!({ "n": n })),
    }
}

async fn append(store: &Arc<dyn Store>, from: u64, count: u64) {
    let events: Vec<AuditEvent> = (from..from + count).map(event).collect();
    store.append_events(&events).await.unwrap();
}

/// The tree as the stored leaves build it, independently of the stored inner nodes.
async fn memory_tree(store: &Arc<dyn Store>) -> MemoryTree {
    let size = store.ledger_size().await.unwrap();
    let mut tree = MemoryTree::new();
    for leaf in store.ledger_nodes(0, 0, size).await.unwrap() {
        tree.push(leaf).unwrap();
    }
    tree
}

/// A fresh service over the same database: its node cache is empty.
fn cold(store: &Arc<dyn Store>) -> App {
    App::new(store.clone(), Arc::new(SystemClock), Config::default())
}

/// Inclusion proofs at these tree sizes, for a spread of indexes including both ends.
fn inclusion_cases(sizes: &[u64]) -> Vec<(u64, u64)> {
    let mut cases = Vec::new();
    for &size in sizes {
        for index in [0, 1, size / 3, size / 2, size.saturating_sub(2), size - 1] {
            if index < size {
                cases.push((index, size));
            }
        }
    }
    cases
}

#[tokio::test]
async fn proofs_from_a_warm_node_cache_match_a_cold_one_and_verify() {
    let url = fresh_database_url().await;
    let (app, _clock) = app_on(&url, "http://prelaunch.test").await;
    let store = app.store.clone();
    let base = store.ledger_size().await.unwrap();
    // Sizes around tile and subtree boundaries; the cache warms on the smaller trees and must stay right
    // as the tree grows past them (only complete subtrees are cached, and those never change).
    let mut sizes = Vec::new();
    for grow_to in [255u64, 256, 257, 700, 1025] {
        let size = store.ledger_size().await.unwrap();
        append(&store, size, base + grow_to - size).await;
        app.sign_checkpoint().await.unwrap();
        sizes.push(base + grow_to);
        let tree = memory_tree(&store).await;
        let fresh = cold(&store);
        for (index, size) in inclusion_cases(&sizes) {
            let root = merkle::root(size, &tree).unwrap();
            let leaf = tree.node(0, index).unwrap();
            // Twice from the warm service: the second answer comes from the cache alone.
            let warm = app.inclusion_proof(index, size).await.unwrap();
            assert_eq!(
                app.inclusion_proof(index, size).await.unwrap(),
                warm,
                "{index} of {size}"
            );
            assert_eq!(
                fresh.inclusion_proof(index, size).await.unwrap(),
                warm,
                "{index} of {size}"
            );
            assert_eq!(
                merkle::inclusion_proof(index, size, &tree).unwrap(),
                warm,
                "{index} of {size}"
            );
            merkle::verify_inclusion(index, size, &leaf, &warm, &root).unwrap();
        }
        for &old in &sizes {
            for new in sizes.iter().copied().filter(|&new| new >= old) {
                let (old_root, new_root) = (
                    merkle::root(old, &tree).unwrap(),
                    merkle::root(new, &tree).unwrap(),
                );
                let warm = app.consistency_proof(old, new).await.unwrap();
                assert_eq!(
                    app.consistency_proof(old, new).await.unwrap(),
                    warm,
                    "{old} to {new}"
                );
                assert_eq!(
                    fresh.consistency_proof(old, new).await.unwrap(),
                    warm,
                    "{old} to {new}"
                );
                merkle::verify_consistency(old, new, &old_root, &new_root, &warm).unwrap();
            }
        }
    }
}

#[tokio::test]
async fn node_reads_return_exactly_the_stored_nodes_asked_for() {
    let url = fresh_database_url().await;
    let (app, _clock) = app_on(&url, "http://prelaunch.test").await;
    let store = app.store.clone();
    let size = store.ledger_size().await.unwrap();
    append(&store, size, 600 - size.min(600)).await;
    let tree = memory_tree(&store).await;
    let size = tree.size();
    let stored = |level: u8, index: u64| tree.node(level, index).ok();
    let every_leaf: Vec<(u8, u64)> = (0..size).map(|i| (0, i)).collect();
    let cases: Vec<(&str, Vec<(u8, u64)>)> = vec![
        ("nothing", vec![]),
        ("one leaf", vec![(0, 5)]),
        ("one inner node", vec![(3, 2)]),
        (
            "a proof's worth",
            vec![(0, 1), (1, 1), (2, 1), (3, 1), (4, 1), (5, 1)],
        ),
        ("more than one statement's worth", every_leaf),
        ("the same node twice", vec![(2, 4), (2, 4)]),
        (
            "nodes not stored",
            vec![(0, size), (9, 0), (63, 1 << 40), (0, u64::MAX)],
        ),
        ("stored and not", vec![(1, 0), (9, 7), (0, size - 1)]),
    ];
    for (name, asked) in cases {
        let mut got = store.ledger_nodes_at(&asked).await.unwrap();
        got.sort();
        got.dedup();
        let mut expected: Vec<(u8, u64, [u8; 32])> = asked
            .iter()
            .filter_map(|&(level, index)| stored(level, index).map(|hash| (level, index, hash)))
            .collect();
        expected.sort();
        expected.dedup();
        assert_eq!(got, expected, "{name}");
    }
}

/// The pool pings a connection before use only when it sat idle: one the server dropped while idle is found
/// out and replaced, not handed to a request.
#[tokio::test]
async fn connections_the_database_dropped_while_idle_are_replaced() {
    if backend() != Backend::Postgres {
        return; // A SQLite connection is a file handle in this process; nothing can drop it.
    }
    let url = fresh_database_url().await;
    let t = spawn_app_on(&url).await;
    let w = World::new(&t).await;
    assert_eq!(t.get(&w.evaluator, "/api/v1/notices").await.status, 200);
    let admin = std::env::var("PRELAUNCH_TEST_PG_URL").unwrap();
    let database = url.rsplit_once('/').unwrap().1.to_owned();
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
        .await
        .unwrap();
    let dropped: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(&database)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(!dropped.is_empty() && dropped.iter().all(|d| *d), "{dropped:?}");
    // Idle for longer than the pool trusts a connection without a ping.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    for _ in 0..20 {
        let reply = t.get(&w.evaluator, "/api/v1/notices").await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
}
