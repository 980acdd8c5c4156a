//! A completed run's results are computed once, when it completes, and stored with it: reading the run reads
//! that row, not every sample's record. What is stored equals a recomputation from the recorded items, and a
//! run whose results were not stored gets them computed (and stored) on its first read.

use crate::eval_runs::wait_for_run;
use crate::gateway::{MODEL, gateway_with};
use crate::support::*;
use serde_json::{Value, json};
use sqlx::Connection;
use uuid::Uuid;

/// Two reducers over three epochs, grouped by a metadata field: results with more than one summary.
const TASK: &str = "name = \"echo\"\ndataset = \"inline.jsonl\"\nepochs = 3\nreducers = [\"mean\", \"max\"]\n\
group_by = [\"kind\"]\n\n[scorer]\ntype = \"includes\"\n";

/// The scripted upstream answers `echo: <input>`: samples whose target is their input are right.
fn dataset(samples: usize) -> String {
    (0..samples)
        .map(|i| {
            let target = if i % 3 == 0 { format!("other{i}") } else { format!("word{i}") };
            let kind = if i % 2 == 0 { "even" } else { "odd" };
            format!(
                "{}\n",
                json!({"id": format!("s{i}"), "input": format!("word{i}"), "target": target, "metadata": {"kind": kind}})
            )
        })
        .collect()
}

/// Sets the run's stored results (`None`: none stored) straight in the table.
async fn set_stored(t: &TestApp, id: Uuid, results: Option<&str>) {
    macro_rules! set {
        ($conn:ty) => {{
            let mut conn = <$conn>::connect(&t.database_url).await.unwrap();
            let done = sqlx::query("UPDATE eval_runs SET results = $1 WHERE id = $2")
                .bind(results)
                .bind(id)
                .execute(&mut conn)
                .await
                .unwrap();
            assert_eq!(done.rows_affected(), 1);
        }};
    }
    match backend() {
        Backend::Sqlite => set!(sqlx::SqliteConnection),
        Backend::Postgres => set!(sqlx::PgConnection),
    }
}

async fn stored(t: &TestApp, id: Uuid) -> Option<Value> {
    t.app
        .store
        .eval_run_results(id)
        .await
        .unwrap()
        .map(|json| serde_json::from_str(&json).unwrap())
}

#[tokio::test]
async fn a_completed_runs_results_are_stored_once_and_equal_a_recomputation() {
    let g = gateway_with(10, json!({})).await;
    let (t, w) = (&g.t, &g.w);
    let body = json!({"notice_id": g.notice, "model": MODEL, "task": TASK, "dataset": dataset(10)});
    let id = id_of(t.post(&w.evaluator, "/api/v1/eval-runs", body).await.ok());
    let run = wait_for_run(t, &w.evaluator, id, 60, "completed", |r| {
        r["state"] == "completed"
    })
    .await;
    assert_eq!((&run["done"], &run["errors"]), (&json!(30), &json!(0)), "{run}");

    // Stored by the worker that completed the run, equal to a recomputation from every recorded item.
    let recomputed = serde_json::to_value(t.app.summarize_eval_run(id).await.unwrap().unwrap()).unwrap();
    let kept = stored(t, id).await.expect("the results stored at completion");
    assert_eq!(kept, recomputed);
    assert_eq!(run["results"], recomputed, "{run}");
    // 10 samples, 30 items; 6 right (i not a multiple of 3), under both reducers; grouped even/odd.
    assert_eq!(
        (&kept["samples"], &kept["completed"]),
        (&json!(10), &json!(30)),
        "{kept}"
    );
    let reducers: Vec<&Value> = kept["reducers"].as_array().unwrap().iter().collect();
    assert_eq!(reducers.len(), 2, "{kept}");
    for r in reducers {
        assert!(
            (r["summary"]["accuracy"].as_f64().unwrap() - 0.6).abs() < 1e-9,
            "{kept}"
        );
    }
    assert_eq!(kept["groups"][0]["field"], "kind", "{kept}");

    // Reading the run reads the stored row: what is stored is what is answered.
    set_stored(t, id, Some(r#"{"stored": true}"#)).await;
    let read = t
        .get(&w.evaluator, &format!("/api/v1/eval-runs/{id}"))
        .await
        .ok()
        .clone();
    assert_eq!(read["results"], json!({"stored": true}), "{read}");

    // Results missing (their worker could not store them): the first read computes and stores them.
    set_stored(t, id, None).await;
    let read = t
        .get(&w.dev_admin, &format!("/api/v1/eval-runs/{id}"))
        .await
        .ok()
        .clone();
    assert_eq!(read["results"], recomputed, "{read}");
    assert_eq!(stored(t, id).await, Some(recomputed));
}
